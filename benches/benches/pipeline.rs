//! `pipeline`: what the call pipeline costs, alone and around a whole call.
//!
//! - `execute/*`: [`Chain::execute`] of a chain with the call pipeline's five phases, run to its end
//!   without a runtime (`now_or_never`). The context is a `u32` and the subject a `u64` counter each
//!   interceptor bumps: an [`ApplicationCall`] has no public constructor, and the chain's cost does
//!   not depend on what the context is.
//! - `call/*`: one request's share of sixteen pipelined `GET /plaintext` through the connection
//!   driver (`serve_connection`) over an in-memory connection: parse, routing, handler, response
//!   encoding, and the client's side too (the in-memory pipe's copies, the scan for each response's
//!   end), with no socket and no syscall.
//!
//! Run: `taskset -c 1 cargo bench -p benches --bench pipeline -- --warm-up-time 1 --measurement-time 3`.

use benches::connection::Connection;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use engine_core::pipeline::{Chain, Pipeline, PipelineContext};
use engine_core::{Application, ApplicationCall, CallPipeline, Error};
use futures_util::FutureExt;
use std::hint::black_box;
use std::sync::Arc;

type Ctx = PipelineContext<u64, u32>;

/// Wraps the rest of the chain, as a Monitoring interceptor that measures would.
async fn wrapping(ctx: &mut Ctx) -> Result<(), Error> {
    ctx.subject += 1;
    ctx.proceed().await?;
    ctx.subject += 1;
    Ok(())
}

/// Does its work and lets the next interceptor run after it returns.
async fn implicit(ctx: &mut Ctx) -> Result<(), Error> {
    ctx.subject += 1;
    Ok(())
}

/// A chain over the call pipeline's five phases with one interceptor in each of the first `n`:
/// [`wrapping`] when `proceed`, [`implicit`] otherwise.
fn chain(n: usize, proceed: bool) -> Chain<u64, u32> {
    let mut pipeline = Pipeline::<u64, u32>::new(&CallPipeline::PHASES);
    for &phase in CallPipeline::PHASES.iter().take(n) {
        if proceed {
            pipeline.intercept(phase, wrapping);
        } else {
            pipeline.intercept(phase, implicit);
        }
    }
    pipeline.chain()
}

fn execute(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline");
    let cases = [
        ("execute/empty", chain(0, false), 0),
        ("execute/1_interceptor", chain(1, false), 1),
        ("execute/5_proceed", chain(5, true), 10),
        ("execute/5_implicit", chain(5, false), 5),
    ];
    for (name, chain, expected) in cases {
        let run = |chain: &Chain<u64, u32>| {
            chain
                .execute(black_box(7), black_box(0))
                .now_or_never()
                .expect("no interceptor waits")
                .expect("no interceptor fails")
        };
        assert_eq!(run(&chain), expected, "{name}");
        group.bench_function(name, |b| b.iter(|| run(&chain)));
    }
    group.finish();
}

/// Requests sent per iteration of a `call/*` bench, as one write (wrk's TechEmpower script).
const PIPELINE_DEPTH: usize = 16;

const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// What ends every response: the blank line after its head, then the body.
const RESPONSE_END: &[u8] = b"\r\n\r\nHello, World!";

/// The plaintext app; `interceptors` app-level interceptors that `proceed`, spread over Setup,
/// Monitoring and Plugins.
fn plaintext_app(interceptors: usize) -> Arc<engine_core::AppRuntime> {
    let mut app = Application::new();
    let phases = [
        CallPipeline::SETUP,
        CallPipeline::MONITORING,
        CallPipeline::PLUGINS,
    ];
    for i in 0..interceptors {
        app.call_pipeline().intercept(
            phases[i % phases.len()],
            async |ctx: &mut PipelineContext<(), ApplicationCall>| ctx.proceed().await,
        );
    }
    app.routing(|r| {
        r.get("/plaintext", |call: ApplicationCall| async move {
            call.respond_text("Hello, World!").await
        });
    });
    app.freeze()
}

fn call(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(PIPELINE_DEPTH as u64));
    for (name, interceptors) in [("routing_hello", 0), ("routing_hello_5_interceptors", 5)] {
        let app = plaintext_app(interceptors);
        let mut connection = Connection::new(app, REQUEST, PIPELINE_DEPTH, RESPONSE_END);
        connection.round_trip();
        group.bench_function(BenchmarkId::new("call", name), |b| {
            b.iter(|| connection.round_trip());
        });
    }
    group.finish();
}

criterion_group!(benches, execute, call);
criterion_main!(benches);
