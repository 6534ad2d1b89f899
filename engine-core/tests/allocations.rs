//! Heap allocations per request through the connection driver, pinned so that a change that adds
//! one to every request fails here (PERFORMANCE.md: "nothing allocated per request on the plaintext
//! path"; "a call should box at most what it cannot avoid").
//!
//! A counting global allocator counts the allocations and reallocations of each thread separately.
//! Each test drives `serve_connection` over an in-memory connection on a current-thread runtime in
//! its own thread, so the driver, the pipeline and the handler are counted and other tests are not.
//! The client in the same thread allocates nothing once it is set up: it writes pre-built request
//! bytes and reads into one fixed buffer, parsing responses in place.
//!
//! When a budget is exceeded, `ALLOCATIONS_BACKTRACE=1 cargo test -p engine-core --test allocations
//! -- --nocapture` prints where the counted allocations come from: their engine-core frames,
//! grouped, with how many each place made.

use bytes::Bytes;
use engine_core::call::ConnectionInfo;
use engine_core::conn::{ConnConfig, ShutdownTrigger, serve_connection, shutdown_pair};
use engine_core::pipeline::PipelineContext;
use engine_core::testing::{MemoryStream, memory_pair};
use engine_core::{Application, ApplicationCall, CallPipeline};
use http::HeaderValue;
use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Requests on the connection before counting starts: buffers, maps and caches reach their size.
const WARM_UP: usize = 200;
/// Requests counted.
const MEASURED: usize = 1_000;

// The budgets: what each request costs today (measured 2026-11-24, the handler's future in the
// connection's slot since 2026-12-04), with where each allocation is made.
// `ALLOCATIONS_BACKTRACE=1` (see above) prints the same places.

/// `GET /plaintext` through routing to a handler that responds with a static text: nothing. With
/// Routing the call pipeline's only interceptor and a route without interceptors of its own, the
/// driver runs the handler itself, its future in memory the connection reuses (`HandlerSlot`,
/// `routing/slot.rs`).
///
/// Nothing else per request either: the call, its response header map, the field index and the
/// vector the request head is copied into are reused across requests (so the read buffer is never
/// shared and is reclaimed in place), the body a static `Bytes`, the `Date` value a per-thread
/// cache.
const PLAINTEXT: u64 = 0;

/// The handler's future when the call pipeline holds more than Routing: executed by the Routing
/// interceptor, it is boxed (`impl Handler for F`: `Box::pin(self(call))`, `routing/plugin.rs`);
/// the chain's own future (`Chain::execute`) is not.
const HANDLER_IN_PIPELINE: u64 = 1;

/// Each app-level interceptor that runs: its boxed future (`FromFn::intercept`,
/// `pipeline/chain.rs`), and nothing more (`proceed` is not boxed).
const PER_INTERCEPTOR: u64 = 1;

/// `POST /echo` with a 1 KiB `Content-Length` body, received with `receive_bytes` and sent back
/// with `respond_bytes`: nothing, as for [`PLAINTEXT`]. The body arrives in one chunk, a slice of
/// the read buffer, and is collected without a copy or a boxed stream.
const ECHO: u64 = 0;

/// `GET /plaintext` through the plugins that have nothing to do on a plain `GET` over plain HTTP
/// (AutoHeadResponse, CachingHeaders, ConditionalHeaders, HSTS, XForwardedHeaders, DefaultHeaders'
/// send interceptor): they continue with `pipeline::done()`, a zero-sized boxed future, so they add
/// nothing. What remains is DefaultHeaders' call interceptor, which waits for the rest of the call
/// (`ctx.proceed().await`) and so boxes an `async` block, and the handler's future, which that
/// interceptor in the call pipeline puts back in the pipeline ([`HANDLER_IN_PIPELINE`]).
const PASS_THROUGH_PLUGINS: u64 = PER_INTERCEPTOR + HANDLER_IN_PIPELINE;

/// Not per request: new read buffers over [`MEASURED`] requests (none: the buffer is reclaimed).
const PLAINTEXT_READ_BUFFERS: u64 = 0;
/// The same for 1 KiB echo requests, one at a time.
const ECHO_READ_BUFFERS_UNPIPELINED: u64 = 0;
/// The same for 1 KiB echo requests sixteen at a time.
const ECHO_READ_BUFFERS_PIPELINED: u64 = 0;

const PLAINTEXT_REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";
const PLAINTEXT_BODY: &[u8] = b"Hello, World!";
const ECHO_BODY_LEN: usize = 1024;

// ---------------------------------------------------------------------------------------------
// The counting allocator.

thread_local! {
    /// Allocations and reallocations made by this thread. `const`-initialised and without a
    /// destructor, so reaching it from the allocator neither allocates nor registers anything.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// Whether to record a backtrace of each allocation (off while one is being recorded).
    static TRACING: Cell<bool> = const { Cell::new(false) };
    static TRACES: RefCell<Vec<Backtrace>> = const { RefCell::new(Vec::new()) };
}

struct Counting;

fn count() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    if TRACING.try_with(|t| t.replace(false)).unwrap_or(false) {
        // Recording allocates: neither trace nor count those allocations.
        let before = allocations();
        let trace = Backtrace::force_capture();
        let _ = TRACES.try_with(|traces| traces.borrow_mut().push(trace));
        let _ = ALLOCATIONS.try_with(|n| n.set(before));
        let _ = TRACING.try_with(|t| t.set(true));
    }
}

fn allocations() -> u64 {
    ALLOCATIONS.try_with(Cell::get).unwrap_or(0)
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s contract;
// counting only touches thread locals (see `count`), and never the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `alloc`'s contract, which is `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout (every allocation goes through here).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as for `dealloc`; the caller upholds `realloc`'s contract on `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

// ---------------------------------------------------------------------------------------------
// The server and an allocation-free client.

fn plaintext_app(interceptors: usize) -> Application {
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
            call.respond_text(PLAINTEXT_BODY).await
        });
    });
    app
}

fn echo_app() -> Application {
    let mut app = Application::new();
    app.routing(|r| {
        r.post("/echo", |call: ApplicationCall| async move {
            let body: Bytes = call.receive_bytes().await?;
            let content_type = HeaderValue::from_static("application/octet-stream");
            call.respond_bytes(body, content_type).await
        });
    });
    app
}

fn echo_request() -> Vec<u8> {
    let mut request = format!(
        "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: {ECHO_BODY_LEN}\r\n\r\n"
    )
    .into_bytes();
    request.extend(
        b"abcdefghijklmnopqrstuvwxyz"
            .iter()
            .cycle()
            .take(ECHO_BODY_LEN),
    );
    request
}

/// One keep-alive connection served on a current-thread runtime in this thread, and its client.
struct Connection {
    runtime: tokio::runtime::Runtime,
    client: Client,
    /// Kept for the connection's life: dropping it stops the connection.
    _trigger: ShutdownTrigger,
}

/// The client end, reading responses into one buffer allocated up front.
struct Client {
    stream: MemoryStream,
    buf: Box<[u8]>,
    filled: usize,
}

impl Connection {
    fn new(app: Application) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (client, server) = memory_pair();
        let (trigger, signal) = shutdown_pair();
        let info = ConnectionInfo {
            local: SocketAddr::from((Ipv4Addr::LOCALHOST, 80)),
            remote: SocketAddr::from((Ipv4Addr::LOCALHOST, 49_152)),
        };
        let config = Arc::new(ConnConfig::default());
        runtime.spawn(serve_connection(server, app.freeze(), config, info, signal));
        Self {
            runtime,
            client: Client {
                stream: client,
                buf: vec![0; 256 * 1024].into_boxed_slice(),
                filled: 0,
            },
            _trigger: trigger,
        }
    }

    /// Sends `count` requests, `depth` at a time in one write (`batch` holds `depth` of them), and
    /// reads a 200 with `body` for each.
    fn run(&mut self, batch: &[u8], depth: usize, count: usize, body: &[u8]) {
        let request_len = batch.len() / depth;
        let mut left = count;
        while left > 0 {
            let n = left.min(depth);
            let client = &mut self.client;
            self.runtime.block_on(async {
                client
                    .stream
                    .write_all(&batch[..n * request_len])
                    .await
                    .expect("write");
                for _ in 0..n {
                    client.read_response(body).await;
                }
            });
            left -= n;
        }
    }
}

impl Client {
    async fn read_response(&mut self, body: &[u8]) {
        loop {
            if let Some((len, status, range)) = parse_response(&self.buf[..self.filled]) {
                assert_eq!(status, b"200", "status");
                assert!(self.buf[range] == *body, "response body");
                self.buf.copy_within(len..self.filled, 0);
                self.filled -= len;
                return;
            }
            let n = self
                .stream
                .read(&mut self.buf[self.filled..])
                .await
                .expect("read");
            assert!(n > 0, "the server closed the connection");
            self.filled += n;
        }
    }
}

/// A complete response at the start of `buf`: its length, status code and body range. The server
/// sends `content-length` in lower case.
fn parse_response(buf: &[u8]) -> Option<(usize, &[u8], std::ops::Range<usize>)> {
    let head_end = memchr::memmem::find(buf, b"\r\n\r\n")? + 4;
    let head = &buf[..head_end];
    let field = b"\r\ncontent-length: ";
    let at = memchr::memmem::find(head, field).expect("a content-length") + field.len();
    let digits = head[at..].iter().take_while(|b| b.is_ascii_digit());
    let length = digits.fold(0, |n, d| n * 10 + usize::from(d - b'0'));
    let end = head_end + length;
    (buf.len() >= end).then(|| (end, &head[9..12], head_end..end))
}

/// Allocations for [`MEASURED`] requests sent `depth` at a time on one connection, after
/// [`WARM_UP`] of them.
fn count_allocations(app: Application, request: &[u8], depth: usize, body: &[u8]) -> u64 {
    let mut connection = Connection::new(app);
    let batch = request.repeat(depth);
    connection.run(&batch, depth, WARM_UP, body);
    let tracing = std::env::var_os("ALLOCATIONS_BACKTRACE").is_some();
    TRACING.set(tracing);
    let before = allocations();
    connection.run(&batch, depth, MEASURED, body);
    let counted = allocations() - before;
    TRACING.set(false);
    if tracing {
        print_traces();
    }
    counted
}

/// Prints where the recorded allocations come from: their engine-core frames, grouped, with how
/// many allocations each place made.
fn print_traces() {
    let mut places: Vec<(String, usize)> = Vec::new();
    for trace in TRACES.take() {
        let text = trace.to_string();
        let frames: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|line| line.contains("engine_core") && !line.starts_with("at "))
            .take(8)
            .collect();
        let place = frames.join("\n  ");
        match places.iter_mut().find(|(p, _)| *p == place) {
            Some((_, n)) => *n += 1,
            None => places.push((place, 1)),
        }
    }
    for (place, n) in places {
        println!("{n} allocations at\n  {place}");
    }
}

fn assert_budget(name: &str, counted: u64, budget: u64) {
    println!("{name}: {counted} allocations for {MEASURED} requests (budget {budget})");
    assert!(
        counted <= budget,
        "{name}: {counted} allocations for {MEASURED} requests, over the budget of {budget}"
    );
}

#[test]
fn plaintext_unpipelined() {
    let counted = count_allocations(plaintext_app(0), PLAINTEXT_REQUEST, 1, PLAINTEXT_BODY);
    let budget = PLAINTEXT * MEASURED as u64 + PLAINTEXT_READ_BUFFERS;
    assert_budget("plaintext, unpipelined", counted, budget);
}

#[test]
fn plaintext_pipelined_16() {
    let counted = count_allocations(plaintext_app(0), PLAINTEXT_REQUEST, 16, PLAINTEXT_BODY);
    let budget = PLAINTEXT * MEASURED as u64 + PLAINTEXT_READ_BUFFERS;
    assert_budget("plaintext, pipelined", counted, budget);
}

#[test]
fn each_interceptor_costs_one_boxed_future() {
    let counted = count_allocations(plaintext_app(5), PLAINTEXT_REQUEST, 16, PLAINTEXT_BODY);
    let budget =
        (HANDLER_IN_PIPELINE + 5 * PER_INTERCEPTOR) * MEASURED as u64 + PLAINTEXT_READ_BUFFERS;
    assert_budget("plaintext, 5 interceptors, pipelined", counted, budget);
    // The counter sees every interceptor: the budget is not loose enough to hide one.
    assert!(
        counted
            > (HANDLER_IN_PIPELINE + 4 * PER_INTERCEPTOR) * MEASURED as u64
                + PLAINTEXT_READ_BUFFERS,
        "fewer allocations than budgeted: lower the budgets to what is measured now"
    );
}

#[test]
fn echo_1kib_unpipelined() {
    let request = echo_request();
    let body = &request[request.len() - ECHO_BODY_LEN..];
    let counted = count_allocations(echo_app(), &request, 1, body);
    let budget = ECHO * MEASURED as u64 + ECHO_READ_BUFFERS_UNPIPELINED;
    assert_budget("echo 1 KiB, unpipelined", counted, budget);
}

#[test]
fn echo_1kib_pipelined_16() {
    let request = echo_request();
    let body = &request[request.len() - ECHO_BODY_LEN..];
    let counted = count_allocations(echo_app(), &request, 16, body);
    let budget = ECHO * MEASURED as u64 + ECHO_READ_BUFFERS_PIPELINED;
    assert_budget("echo 1 KiB, pipelined", counted, budget);
}

#[test]
fn pass_through_plugins_allocate_nothing() {
    use engine_core::plugins::{
        AutoHeadResponse, CachingHeaders, ConditionalHeaders, DefaultHeaders, Hsts,
        XForwardedHeaders,
    };
    let mut app = plaintext_app(0);
    app.install(AutoHeadResponse, |_| {});
    app.install(CachingHeaders, |_| {});
    app.install(ConditionalHeaders, |_| {});
    app.install(Hsts, |_| {});
    app.install(XForwardedHeaders, |_| {});
    app.install(DefaultHeaders, |c| {
        c.server = Some(HeaderValue::from_static("engine-core"));
        c.header("x-frame-options", "DENY");
    });
    let counted = count_allocations(app, PLAINTEXT_REQUEST, 16, PLAINTEXT_BODY);
    let budget = PASS_THROUGH_PLUGINS * MEASURED as u64 + PLAINTEXT_READ_BUFFERS;
    assert_budget(
        "plaintext through pass-through plugins, pipelined",
        counted,
        budget,
    );
}

/// A `ResponseSent` hook: running it, and the flush before it, adds no allocation.
#[test]
fn a_response_sent_hook_allocates_nothing() {
    use engine_core::hooks::{ResponseSent, SentResponse, create_application_plugin};
    use std::sync::atomic::{AtomicU64, Ordering};
    static SENT: AtomicU64 = AtomicU64::new(0);
    let mut app = plaintext_app(0);
    app.install(
        create_application_plugin("CountSent", |plugin, ()| {
            plugin.on(ResponseSent, |_: &ApplicationCall, _: SentResponse| {
                SENT.fetch_add(1, Ordering::Relaxed);
            });
        }),
        |()| {},
    );
    // Each response is written on its own once a hook waits for it: pipelining gathers nothing.
    let counted = count_allocations(app, PLAINTEXT_REQUEST, 16, PLAINTEXT_BODY);
    let budget = PLAINTEXT * MEASURED as u64 + PLAINTEXT_READ_BUFFERS;
    assert_budget(
        "plaintext with a ResponseSent hook, pipelined",
        counted,
        budget,
    );
    // One runtime thread: the driver ran the last hook before it yielded to the client.
    assert_eq!(SENT.load(Ordering::Relaxed), (WARM_UP + MEASURED) as u64);
}
