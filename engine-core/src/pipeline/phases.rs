//! Building a pipeline: phases in an order, interceptors in each phase (Ktor's `Pipeline`,
//! `PipelinePhase`, `insertPhaseBefore` / `insertPhaseAfter`, `merge`).

use super::chain::{
    BoxFuture, Chain, FromBoxed, FromFn, Interceptor, InterceptorFn, PipelineContext,
};
use crate::Error;
use std::fmt;
use std::sync::Arc;

/// A named phase. Two phases are the same phase when their names are equal.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Phase(&'static str);

impl Phase {
    /// A phase with this name.
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The phase's name.
    pub const fn name(self) -> &'static str {
        self.0
    }
}

impl fmt::Debug for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phase({})", self.0)
    }
}

/// Where a phase was put, so that later insertions and merges keep the order Ktor keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relation {
    Last,
    Before(Phase),
    After(Phase),
}

struct Slot<S, C> {
    phase: Phase,
    relation: Relation,
    interceptors: Vec<Arc<dyn Interceptor<S, C>>>,
}

impl<S, C> Clone for Slot<S, C> {
    fn clone(&self) -> Self {
        Self {
            phase: self.phase,
            relation: self.relation,
            interceptors: self.interceptors.clone(),
        }
    }
}

/// Phases in order, each with its interceptors. Built at configuration time; [`Pipeline::chain`]
/// makes the executable form.
///
/// ```
/// use engine_core::pipeline::{Phase, Pipeline, PipelineContext};
/// # use engine_core::Error;
/// const A: Phase = Phase::new("A");
/// const B: Phase = Phase::new("B");
/// let mut pipeline = Pipeline::<Vec<&str>, ()>::new(&[A, B]);
/// pipeline.intercept_boxed(B, |ctx| Box::pin(async move { ctx.subject.push("b"); Ok(()) }));
/// pipeline.intercept_boxed(A, |ctx| Box::pin(async move {
///     ctx.subject.push("a: before");
///     ctx.proceed().await?; // runs B now
///     ctx.subject.push("a: after");
///     Ok(())
/// }));
/// let chain = pipeline.chain();
/// let trace = futures_util::FutureExt::now_or_never(chain.execute((), Vec::new())).unwrap().unwrap();
/// assert_eq!(trace, ["a: before", "b", "a: after"]);
/// ```
pub struct Pipeline<S, C> {
    slots: Vec<Slot<S, C>>,
}

impl<S, C> Clone for Pipeline<S, C> {
    fn clone(&self) -> Self {
        Self {
            slots: self.slots.clone(),
        }
    }
}

impl<S, C> fmt::Debug for Pipeline<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for slot in &self.slots {
            list.entry(&format_args!(
                "{} ({})",
                slot.phase.0,
                slot.interceptors.len()
            ));
        }
        list.finish()
    }
}

impl<S: Send + 'static, C: Send + 'static> Pipeline<S, C> {
    /// A pipeline with these phases, in this order, and no interceptors.
    pub fn new(phases: &[Phase]) -> Self {
        let mut pipeline = Self { slots: Vec::new() };
        for &phase in phases {
            pipeline.add_phase(phase);
        }
        pipeline
    }

    /// The phases, in order.
    pub fn phases(&self) -> impl Iterator<Item = Phase> + '_ {
        self.slots.iter().map(|slot| slot.phase)
    }

    /// Whether `phase` is in the pipeline.
    pub fn has_phase(&self, phase: Phase) -> bool {
        self.index_of(phase).is_some()
    }

    /// Whether no phase has an interceptor.
    pub fn is_empty(&self) -> bool {
        self.slots.iter().all(|slot| slot.interceptors.is_empty())
    }

    /// Adds `phase` at the end, unless it is there already.
    pub fn add_phase(&mut self, phase: Phase) {
        if !self.has_phase(phase) {
            self.slots.push(Slot {
                phase,
                relation: Relation::Last,
                interceptors: Vec::new(),
            });
        }
    }

    /// Inserts `phase` right before `reference` (after phases inserted before it earlier).
    ///
    /// # Panics
    /// If `reference` is not in the pipeline: a configuration mistake.
    #[track_caller]
    pub fn insert_phase_before(&mut self, reference: Phase, phase: Phase) {
        if self.has_phase(phase) {
            return;
        }
        let at = self.require(reference);
        self.slots.insert(
            at,
            Slot {
                phase,
                relation: Relation::Before(reference),
                interceptors: Vec::new(),
            },
        );
    }

    /// Inserts `phase` after `reference` and after the phases inserted after it earlier, so that
    /// repeated insertions after one phase keep their order (Ktor's rule).
    ///
    /// # Panics
    /// If `reference` is not in the pipeline: a configuration mistake.
    #[track_caller]
    pub fn insert_phase_after(&mut self, reference: Phase, phase: Phase) {
        if self.has_phase(phase) {
            return;
        }
        let mut at = self.require(reference) + 1;
        while at < self.slots.len() && self.slots[at].relation == Relation::After(reference) {
            at += 1;
        }
        self.slots.insert(
            at,
            Slot {
                phase,
                relation: Relation::After(reference),
                interceptors: Vec::new(),
            },
        );
    }

    /// Adds an interceptor to `phase`: an `async fn(&mut PipelineContext<S, C>) -> Result<(), Error>`
    /// or a non-capturing async closure. Interceptors of one phase run in the order they were added.
    ///
    /// # Panics
    /// If `phase` is not in the pipeline: a configuration mistake.
    #[track_caller]
    pub fn intercept<F>(&mut self, phase: Phase, interceptor: F)
    where
        F: for<'a> InterceptorFn<'a, S, C>,
    {
        self.intercept_with(phase, Arc::new(FromFn(interceptor)));
    }

    /// Adds an interceptor that returns a boxed future: the form for closures that capture state.
    ///
    /// # Panics
    /// If `phase` is not in the pipeline: a configuration mistake.
    #[track_caller]
    pub fn intercept_boxed<F>(&mut self, phase: Phase, interceptor: F)
    where
        F: for<'a> Fn(&'a mut PipelineContext<S, C>) -> BoxFuture<'a, Result<(), Error>>
            + Send
            + Sync
            + 'static,
    {
        self.intercept_with(phase, Arc::new(FromBoxed(interceptor)));
    }

    /// Adds an interceptor already behind the [`Interceptor`] trait.
    ///
    /// # Panics
    /// If `phase` is not in the pipeline: a configuration mistake.
    #[track_caller]
    pub fn intercept_with(&mut self, phase: Phase, interceptor: Arc<dyn Interceptor<S, C>>) {
        let at = self.require(phase);
        self.slots[at].interceptors.push(interceptor);
    }

    /// Merges `other` into this pipeline (Ktor's `merge`): its phases join this pipeline's order with
    /// the relation they were added with, and its interceptors follow this pipeline's in each phase.
    /// Routing builds each route's pipeline by merging from the root down.
    pub fn merge(&mut self, other: &Self) {
        for slot in &other.slots {
            if !self.has_phase(slot.phase) {
                match slot.relation {
                    Relation::Before(reference) if self.has_phase(reference) => {
                        self.insert_phase_before(reference, slot.phase);
                    }
                    Relation::After(reference) if self.has_phase(reference) => {
                        self.insert_phase_after(reference, slot.phase);
                    }
                    _ => self.add_phase(slot.phase),
                }
            }
            let at = self.require(slot.phase);
            self.slots[at]
                .interceptors
                .extend(slot.interceptors.iter().cloned());
        }
    }

    /// The executable form: every interceptor in phase order, empty phases gone.
    pub fn chain(&self) -> Chain<S, C> {
        Chain::new(self.interceptors().cloned().collect())
    }

    /// Every interceptor, in phase order.
    pub(crate) fn interceptors(&self) -> impl Iterator<Item = &Arc<dyn Interceptor<S, C>>> {
        self.slots.iter().flat_map(|slot| slot.interceptors.iter())
    }

    fn index_of(&self, phase: Phase) -> Option<usize> {
        self.slots.iter().position(|slot| slot.phase == phase)
    }

    #[track_caller]
    fn require(&self, phase: Phase) -> usize {
        match self.index_of(phase) {
            Some(at) => at,
            None => panic!(
                "pipeline phase {:?} is not registered; phases: {:?}",
                phase.0, self
            ),
        }
    }
}
