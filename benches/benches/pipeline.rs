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

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use engine_core::call::ConnectionInfo;
use engine_core::conn::{ConnConfig, ShutdownTrigger, serve_connection, shutdown_pair};
use engine_core::pipeline::{Chain, Pipeline, PipelineContext};
use engine_core::testing::{MemoryStream, memory_pair};
use engine_core::{Application, ApplicationCall, CallPipeline, Error};
use futures_util::FutureExt;
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

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

/// One keep-alive connection served on a current-thread runtime, and its client end.
struct Connection {
    runtime: Runtime,
    client: MemoryStream,
    /// Kept alive for the whole bench: dropping it would stop the connection.
    _trigger: ShutdownTrigger,
    requests: Vec<u8>,
    buf: Vec<u8>,
    finder: memchr::memmem::Finder<'static>,
}

impl Connection {
    fn new(interceptors: usize) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (client, server) = memory_pair();
        let (trigger, signal) = shutdown_pair();
        let info = ConnectionInfo {
            local: SocketAddr::from((Ipv4Addr::LOCALHOST, 80)),
            remote: SocketAddr::from((Ipv4Addr::LOCALHOST, 49152)),
        };
        let serve = serve_connection(
            server,
            plaintext_app(interceptors),
            Arc::new(ConnConfig::default()),
            info,
            signal,
        );
        runtime.spawn(serve);
        Self {
            runtime,
            client,
            _trigger: trigger,
            requests: REQUEST.repeat(PIPELINE_DEPTH),
            buf: vec![0; 64 * 1024],
            finder: memchr::memmem::Finder::new(RESPONSE_END),
        }
    }

    /// Writes sixteen pipelined requests and reads until their sixteen responses arrived.
    fn round_trip(&mut self) {
        let Self {
            runtime,
            client,
            requests,
            buf,
            finder,
            ..
        } = self;
        runtime.block_on(async {
            client.write_all(requests).await.expect("write");
            let mut seen = 0;
            // Bytes kept from the previous read: an end marker may straddle two reads.
            let mut kept = 0;
            while seen < PIPELINE_DEPTH {
                let n = client.read(&mut buf[kept..]).await.expect("read");
                assert!(n > 0, "the server closed the connection");
                let filled = kept + n;
                seen += finder.find_iter(&buf[..filled]).count();
                kept = (RESPONSE_END.len() - 1).min(filled);
                buf.copy_within(filled - kept..filled, 0);
            }
            assert_eq!(seen, PIPELINE_DEPTH, "more responses than requests");
        });
    }
}

fn call(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(PIPELINE_DEPTH as u64));
    for (name, interceptors) in [("routing_hello", 0), ("routing_hello_5_interceptors", 5)] {
        let mut connection = Connection::new(interceptors);
        connection.round_trip();
        group.bench_function(BenchmarkId::new("call", name), |b| {
            b.iter(|| connection.round_trip());
        });
    }
    group.finish();
}

criterion_group!(benches, execute, call);
criterion_main!(benches);
