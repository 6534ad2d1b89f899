//! Executing a flattened pipeline: the context, the verbs, and how interceptors are called.

use crate::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future: what an interceptor returns once it is type-erased.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The future of an interceptor that has nothing to wait for and continues: complete at once with
/// `Ok(())`. It is zero-sized, so boxing it allocates nothing, unlike `Box::pin(async { Ok(()) })`.
///
/// ```
/// # use engine_core::pipeline::{done, Pipeline, Phase};
/// let mut pipeline: Pipeline<(), ()> = Pipeline::new(&[Phase::new("Only")]);
/// pipeline.intercept_boxed(Phase::new("Only"), |_ctx| done());
/// ```
pub fn done<'a>() -> BoxFuture<'a, Result<(), Error>> {
    Box::pin(Done)
}

/// The future of an interceptor that has already finished its work with `result`: [`done`] when it
/// is `Ok`, so the common path allocates nothing; the error boxed otherwise.
pub fn finished<'a>(result: Result<(), Error>) -> BoxFuture<'a, Result<(), Error>> {
    match result {
        Ok(()) => done(),
        Err(error) => Box::pin(std::future::ready(Err(error))),
    }
}

/// The zero-sized future behind [`done`].
struct Done;

impl Future for Done {
    type Output = Result<(), Error>;

    fn poll(
        self: Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// One interceptor of a pipeline with subject `S` and context `C`.
///
/// Implemented for `async fn`s and non-capturing async closures taking `&mut PipelineContext<S, C>`
/// (through [`InterceptorFn`]); capturing closures are registered with
/// [`Pipeline::intercept_boxed`](super::Pipeline::intercept_boxed).
pub trait Interceptor<S, C>: Send + Sync + 'static {
    /// Runs the interceptor.
    fn intercept<'a>(
        &'a self,
        ctx: &'a mut PipelineContext<S, C>,
    ) -> BoxFuture<'a, Result<(), Error>>;
}

/// An `async fn(&mut PipelineContext<S, C>) -> Result<(), Error>`, or an async closure of the same
/// shape that captures nothing. The lifetime parameter lets the future borrow the context, which a
/// plain `Fn` bound cannot say.
pub trait InterceptorFn<'a, S: 'a, C: 'a>: Send + Sync + 'static {
    /// The future the function returns.
    type Future: Future<Output = Result<(), Error>> + Send + 'a;
    /// Calls the function.
    fn call(&self, ctx: &'a mut PipelineContext<S, C>) -> Self::Future;
}

impl<'a, S: 'a, C: 'a, F, Fut> InterceptorFn<'a, S, C> for F
where
    F: Fn(&'a mut PipelineContext<S, C>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'a,
{
    type Future = Fut;
    fn call(&self, ctx: &'a mut PipelineContext<S, C>) -> Fut {
        self(ctx)
    }
}

/// Adapts an [`InterceptorFn`] to [`Interceptor`].
pub(super) struct FromFn<F>(pub(super) F);

impl<S: 'static, C: 'static, F> Interceptor<S, C> for FromFn<F>
where
    F: for<'a> InterceptorFn<'a, S, C>,
{
    fn intercept<'a>(
        &'a self,
        ctx: &'a mut PipelineContext<S, C>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(self.0.call(ctx))
    }
}

/// Adapts a closure that returns a boxed future to [`Interceptor`].
pub(crate) struct FromBoxed<F>(pub(crate) F);

impl<S: 'static, C: 'static, F> Interceptor<S, C> for FromBoxed<F>
where
    F: for<'a> Fn(&'a mut PipelineContext<S, C>) -> BoxFuture<'a, Result<(), Error>>
        + Send
        + Sync
        + 'static,
{
    fn intercept<'a>(
        &'a self,
        ctx: &'a mut PipelineContext<S, C>,
    ) -> BoxFuture<'a, Result<(), Error>> {
        (self.0)(ctx)
    }
}

/// A pipeline flattened for execution: its interceptors in order, empty phases gone. Cloning is a
/// reference count.
pub struct Chain<S, C> {
    interceptors: Arc<[Arc<dyn Interceptor<S, C>>]>,
}

impl<S, C> Clone for Chain<S, C> {
    fn clone(&self) -> Self {
        Self {
            interceptors: self.interceptors.clone(),
        }
    }
}

impl<S, C> fmt::Debug for Chain<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chain")
            .field("interceptors", &self.interceptors.len())
            .finish()
    }
}

impl<S: Send + 'static, C: Send + 'static> Chain<S, C> {
    pub(super) fn new(interceptors: Vec<Arc<dyn Interceptor<S, C>>>) -> Self {
        Self {
            interceptors: interceptors.into(),
        }
    }

    /// Whether executing this chain would run nothing.
    pub fn is_empty(&self) -> bool {
        self.interceptors.is_empty()
    }

    /// Number of interceptors.
    pub fn len(&self) -> usize {
        self.interceptors.len()
    }

    /// Runs every interceptor in order on `subject` with `context`, and returns the final subject. An
    /// empty chain returns at once, without allocating.
    pub async fn execute(&self, context: C, subject: S) -> Result<S, Error> {
        if self.is_empty() {
            return Ok(subject);
        }
        let mut ctx = self.context(context, subject);
        // `self` is the context's chain and outlives the run: no second reference count.
        ctx.run(self).await?;
        Ok(ctx.subject)
    }

    /// A context positioned before the first interceptor; [`PipelineContext::proceed`] runs them.
    pub fn context(&self, context: C, subject: S) -> PipelineContext<S, C> {
        PipelineContext {
            subject,
            context,
            chain: self.clone(),
            index: 0,
            finished: false,
        }
    }
}

/// What an interceptor gets: the subject, the context, and the verbs that steer the execution.
pub struct PipelineContext<S, C> {
    /// The subject flowing through the pipeline (`()` for the call pipeline, the body for the receive
    /// and send pipelines).
    pub subject: S,
    /// The context of the execution: the call, for the server's pipelines.
    pub context: C,
    chain: Chain<S, C>,
    index: usize,
    finished: bool,
}

impl<S: Send + 'static, C: Send + 'static> PipelineContext<S, C> {
    /// Runs every interceptor after the current one, then returns here. Returns at once when the
    /// execution finished or nothing is left. On an error the rest of the chain is abandoned and the
    /// error returned; a caller that handles it decides what the call becomes.
    pub async fn proceed(&mut self) -> Result<(), Error> {
        if self.finished || self.index >= self.chain.interceptors.len() {
            return Ok(());
        }
        // The interceptors borrow the context mutably, so the chain they are taken from is held
        // apart from it.
        let chain = self.chain.clone();
        self.run(&chain).await
    }

    /// Runs the interceptors of `chain`, which is this context's chain held by the caller, from the
    /// current one on.
    async fn run(&mut self, chain: &Chain<S, C>) -> Result<(), Error> {
        while !self.finished {
            let Some(interceptor) = chain.interceptors.get(self.index) else {
                break;
            };
            self.index += 1;
            if let Err(error) = interceptor.intercept(self).await {
                // The rest of the chain is abandoned, also for a wrapper that catches the error and
                // returns normally: what came after the failure never runs.
                self.index = chain.interceptors.len();
                return Err(error);
            }
        }
        Ok(())
    }

    /// Replaces the subject and proceeds.
    pub async fn proceed_with(&mut self, subject: S) -> Result<(), Error> {
        self.subject = subject;
        self.proceed().await
    }

    /// Ends the execution after the current interceptor: nothing after it runs.
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// Whether [`finish`](Self::finish) was called.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Executes `chain` on this context's subject and context, as a nested pipeline: its `finish`
    /// ends only its own execution. Then this execution goes on where it was. Routing runs a route's
    /// own pipeline this way, without a second context.
    pub async fn execute_nested(&mut self, chain: &Chain<S, C>) -> Result<(), Error> {
        let outer = std::mem::replace(&mut self.chain, chain.clone());
        let outer_index = std::mem::replace(&mut self.index, 0);
        let outer_finished = std::mem::replace(&mut self.finished, false);
        let result = self.run(chain).await;
        self.chain = outer;
        self.index = outer_index;
        self.finished = outer_finished;
        result
    }
}

impl<S: fmt::Debug, C> fmt::Debug for PipelineContext<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipelineContext")
            .field("subject", &self.subject)
            .field("index", &self.index)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}
