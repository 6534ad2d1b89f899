//! The pipeline's semantics, pinned: order, proceed, proceed_with, finish, implicit continue, errors,
//! phase insertion and merging.

use super::*;
use crate::Error;
use futures_util::FutureExt;

const SETUP: Phase = Phase::new("Setup");
const PLUGINS: Phase = Phase::new("Plugins");
const CALL: Phase = Phase::new("Call");

type Trace = Vec<String>;
type P = Pipeline<Trace, u32>;

fn run(pipeline: &P) -> Result<Trace, Error> {
    pipeline
        .chain()
        .execute(7, Vec::new())
        .now_or_never()
        .expect("no interceptor here waits")
}

fn push(pipeline: &mut P, phase: Phase, label: &'static str) {
    pipeline.intercept_boxed(phase, move |ctx| {
        Box::pin(async move {
            ctx.subject.push(label.to_owned());
            Ok(())
        })
    });
}

async fn wrapping(ctx: &mut PipelineContext<Trace, u32>) -> Result<(), Error> {
    ctx.subject
        .push(format!("wrap in (context {})", ctx.context));
    ctx.proceed().await?;
    ctx.subject.push("wrap out".into());
    Ok(())
}

#[test]
fn interceptors_run_in_phase_order_then_insertion_order() {
    let mut p = P::new(&[SETUP, PLUGINS, CALL]);
    push(&mut p, CALL, "call");
    push(&mut p, PLUGINS, "plugins 1");
    push(&mut p, SETUP, "setup");
    push(&mut p, PLUGINS, "plugins 2");
    assert_eq!(
        run(&p).unwrap(),
        ["setup", "plugins 1", "plugins 2", "call"]
    );
}

#[test]
fn proceed_runs_the_rest_then_returns_so_an_interceptor_can_wrap() {
    let mut p = P::new(&[SETUP, PLUGINS, CALL]);
    push(&mut p, CALL, "call");
    p.intercept(SETUP, wrapping);
    push(&mut p, PLUGINS, "plugins");
    assert_eq!(
        run(&p).unwrap(),
        ["wrap in (context 7)", "plugins", "call", "wrap out"]
    );
}

#[test]
fn an_interceptor_that_does_nothing_continues_implicitly() {
    let mut p = P::new(&[SETUP, CALL]);
    p.intercept(SETUP, async |_ctx: &mut PipelineContext<Trace, u32>| Ok(()));
    push(&mut p, CALL, "call");
    assert_eq!(run(&p).unwrap(), ["call"]);
}

#[test]
fn proceed_with_replaces_the_subject_for_the_rest() {
    let mut p = P::new(&[SETUP, CALL]);
    p.intercept_boxed(SETUP, |ctx| {
        Box::pin(async move {
            ctx.proceed_with(vec!["replaced".to_owned()]).await?;
            ctx.subject.push("after".into());
            Ok(())
        })
    });
    push(&mut p, CALL, "call");
    assert_eq!(run(&p).unwrap(), ["replaced", "call", "after"]);
}

#[test]
fn finish_skips_everything_after_the_current_interceptor() {
    let mut p = P::new(&[SETUP, PLUGINS, CALL]);
    p.intercept_boxed(PLUGINS, |ctx| {
        Box::pin(async move {
            ctx.subject.push("finishing".into());
            ctx.finish();
            Ok(())
        })
    });
    push(&mut p, SETUP, "setup");
    push(&mut p, PLUGINS, "skipped");
    push(&mut p, CALL, "skipped too");
    assert_eq!(run(&p).unwrap(), ["setup", "finishing"]);
}

#[test]
fn finish_inside_a_proceed_returns_to_the_wrapper_which_goes_on() {
    let mut p = P::new(&[SETUP, PLUGINS, CALL]);
    p.intercept(SETUP, wrapping);
    p.intercept_boxed(PLUGINS, |ctx| {
        Box::pin(async move {
            ctx.finish();
            Ok(())
        })
    });
    push(&mut p, CALL, "skipped");
    assert_eq!(run(&p).unwrap(), ["wrap in (context 7)", "wrap out"]);
}

#[test]
fn an_error_stops_the_rest_and_reaches_the_waiting_wrappers() {
    let mut p = P::new(&[SETUP, PLUGINS, CALL]);
    p.intercept_boxed(SETUP, |ctx| {
        Box::pin(async move {
            if let Err(error) = ctx.proceed().await {
                ctx.subject.push(format!("caught: {error}"));
            }
            Ok(())
        })
    });
    p.intercept_boxed(PLUGINS, |_ctx| {
        Box::pin(async move { Err(Error::msg("boom")) })
    });
    push(&mut p, CALL, "skipped");
    assert_eq!(
        run(&p).unwrap(),
        ["caught: boom (500 Internal Server Error)"]
    );

    let mut uncaught = P::new(&[CALL]);
    uncaught.intercept_boxed(CALL, |_ctx| {
        Box::pin(async move { Err(Error::msg("boom")) })
    });
    assert_eq!(
        run(&uncaught).unwrap_err().status_code(),
        http::StatusCode::INTERNAL_SERVER_ERROR
    );
}

#[test]
fn phases_without_interceptors_leave_nothing_in_the_chain() {
    let mut p = P::new(&[SETUP, PLUGINS, CALL]);
    assert!(p.is_empty() && p.chain().is_empty());
    push(&mut p, CALL, "call");
    assert_eq!(p.chain().len(), 1);
}

#[test]
fn inserted_phases_keep_ktors_order() {
    let mut p = P::new(&[SETUP, CALL]);
    let (a, b, c, d) = (
        Phase::new("A"),
        Phase::new("B"),
        Phase::new("C"),
        Phase::new("D"),
    );
    p.insert_phase_after(SETUP, a);
    p.insert_phase_after(SETUP, b); // after A, which was inserted after Setup before it
    p.insert_phase_before(CALL, c);
    p.insert_phase_before(CALL, d); // right before Call, after C
    p.insert_phase_after(SETUP, a); // already there: no change
    let names: Vec<_> = p.phases().map(Phase::name).collect();
    assert_eq!(names, ["Setup", "A", "B", "C", "D", "Call"]);
}

#[test]
#[should_panic(expected = "pipeline phase \"Missing\" is not registered")]
fn intercepting_an_unknown_phase_is_a_configuration_error() {
    let mut p = P::new(&[SETUP]);
    push(&mut p, Phase::new("Missing"), "never");
}

#[test]
fn merge_appends_interceptors_per_phase_and_brings_new_phases_in_place() {
    let mut root = P::new(&[SETUP, PLUGINS, CALL]);
    push(&mut root, PLUGINS, "root plugins");
    push(&mut root, CALL, "root call");
    let mut route = P::new(&[SETUP, PLUGINS, CALL]);
    let auth = Phase::new("Authenticate");
    route.insert_phase_after(PLUGINS, auth);
    push(&mut route, auth, "route auth");
    push(&mut route, PLUGINS, "route plugins");
    root.merge(&route);
    let names: Vec<_> = root.phases().map(Phase::name).collect();
    assert_eq!(names, ["Setup", "Plugins", "Authenticate", "Call"]);
    assert_eq!(
        run(&root).unwrap(),
        ["root plugins", "route plugins", "route auth", "root call"]
    );
}

#[test]
fn a_nested_execution_finishes_only_itself() {
    let mut inner = P::new(&[CALL]);
    inner.intercept_boxed(CALL, |ctx| {
        Box::pin(async move {
            ctx.subject.push("inner".into());
            ctx.finish();
            Ok(())
        })
    });
    push(&mut inner, CALL, "inner skipped");
    let inner = inner.chain();
    let mut outer = P::new(&[PLUGINS, CALL]);
    outer.intercept_boxed(PLUGINS, move |ctx| {
        let inner = inner.clone();
        Box::pin(async move { ctx.execute_nested(&inner).await })
    });
    push(&mut outer, CALL, "outer goes on");
    assert_eq!(run(&outer).unwrap(), ["inner", "outer goes on"]);
}
