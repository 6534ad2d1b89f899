//! Allocations per request on the steady path, counted on the worker thread only: a counting global
//! allocator that counts on threads the engine's start hook marked, one worker, and a keep-alive
//! client on a thread of its own.
//!
//! The engine's part of a request must be zero: its reads and writes reuse the connection's
//! buffers, and the ring's operations live in a table reused by every operation. engine-core's
//! part is zero too since the handler's future lives in memory the connection reuses. The same
//! test on engine-tokio counts the same (see engine-uring/README.md).

use engine_core::{Application, ApplicationCall, EmbeddedServer, ServerConfig, embedded_server};
use engine_uring::{UringEngine, io_uring_available};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Set on the worker thread by the engine's start hook. `const`, without a destructor: reading
    /// it never allocates, so the allocator can.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call goes to `System` as it came; counting touches only an atomic and a `const`
// thread-local.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n";

/// What engine-core allocates per request here: nothing (its own `tests/allocations.rs` pins that
/// budget over its in-memory connection; when it changes there, it changes here). Until
/// 2026-12-04 it was one, the handler's boxed future.
const CORE_ALLOCATIONS: f64 = 0.0;

fn plaintext(app: &mut Application) {
    app.routing(|route| {
        route.get("/plaintext", |call: ApplicationCall| async move {
            call.respond_text("Hello, World!").await
        });
    });
}

fn start() -> (EmbeddedServer, SocketAddr) {
    if let Err(reason) = io_uring_available() {
        panic!("io_uring is not available, so this cannot be measured here: {reason}");
    }
    let engine = UringEngine::new().on_thread_start(|| COUNTED.with(|c| c.set(true)));
    let config = ServerConfig {
        workers: Some(1),
        ..ServerConfig::listen("127.0.0.1", 0)
    };
    let mut server = embedded_server(engine, config, plaintext);
    server.start(false).expect("the server starts");
    let addr = server.local_addrs()[0];
    (server, addr)
}

/// Reads one response (head and `Content-Length` body) from `stream`, keeping what follows in
/// `pending`.
fn read_response(stream: &mut TcpStream, pending: &mut Vec<u8>) {
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&pending[..end]).expect("an ASCII head");
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length").then_some(value)
                })
                .expect("a Content-Length")
                .trim()
                .parse()
                .expect("a length");
            if pending.len() >= end + 4 + length {
                pending.drain(..end + 4 + length);
                return;
            }
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).expect("the response");
        assert!(n > 0, "the server closed the connection");
        pending.extend_from_slice(&chunk[..n]);
    }
}

/// Sends `rounds` rounds of `depth` pipelined requests on one keep-alive connection, from a client
/// thread, and returns the allocations the worker made per request (after a warm-up that lets the
/// buffers, the `Date` cache and the runtime's tables reach their size).
fn allocations_per_request(addr: SocketAddr, depth: usize, rounds: usize) -> f64 {
    let client = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let batch = REQUEST.repeat(depth);
        let mut pending = Vec::with_capacity(64 * 1024);
        let mut round = |stream: &mut TcpStream| {
            stream.write_all(&batch).expect("send");
            for _ in 0..depth {
                read_response(stream, &mut pending);
            }
        };
        for _ in 0..200 {
            round(&mut stream);
        }
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        for _ in 0..rounds {
            round(&mut stream);
        }
        ALLOCATIONS.load(Ordering::SeqCst) - before
    });
    let allocations = client.join().expect("the client ran");
    allocations as f64 / (depth * rounds) as f64
}

#[test]
fn steady_keep_alive_requests_allocate_only_what_engine_core_does() {
    let (mut server, addr) = start();
    let unpipelined = allocations_per_request(addr, 1, 5_000);
    let pipelined = allocations_per_request(addr, 16, 500);
    server.stop(Duration::from_secs(1), Duration::from_secs(2));
    println!(
        "allocations per request: {unpipelined:.3} unpipelined, {pipelined:.3} pipelined 16 deep"
    );
    // Whatever the engine added per request (a buffer, a boxed operation) would show as one more
    // allocation per request; the margin only absorbs a `Date` value formatted in the window.
    for (case, measured) in [("unpipelined", unpipelined), ("pipelined", pipelined)] {
        assert!(
            measured <= CORE_ALLOCATIONS + 0.01,
            "{case}: {measured:.3} allocations per request on the worker, {CORE_ALLOCATIONS} expected"
        );
    }
}
