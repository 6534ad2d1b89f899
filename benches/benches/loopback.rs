//! `loopback`: whole requests over real loopback sockets, for each engine: the app's `techempower`
//! module served by `engine-uring` and `engine-tokio` (one worker each), and a minimal raw-HTTP/1.1
//! client on keep-alive connections in the bench's thread (blocking std sockets; heads parsed with
//! httparse, bodies framed by `Content-Length`).
//!
//! - `{engine}/sequential`: one connection, one `GET /plaintext` at a time: latency-bound.
//! - `{engine}/concurrent_4`: four connections, a request written on each before the four
//!   responses are read.
//! - `{engine}/pipelined_16`: one connection, sixteen requests written at once, then read.
//!
//! Each iteration's requests are its `Throughput::Elements`: criterion reports requests per
//! second. The uring cases are skipped, saying so, where io_uring is unavailable.
//!
//! Run: `cargo bench -p benches --bench loopback -- --warm-up-time 1 --measurement-time 3`
//! (both cores: the server's worker and the client each need one).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine_core::{EmbeddedServer, Engine, ServerConfig, embedded_server};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

const REQUEST: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n";
const BODY: &[u8] = b"Hello, World!";

/// A keep-alive connection that writes requests and reads whole responses.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Bytes of `buf` that belong to responses not yet taken.
    filled: usize,
}

impl Client {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            buf: vec![0; 64 << 10],
            filled: 0,
        }
    }

    fn send(&mut self, requests: usize) {
        let batch = REQUEST.repeat(requests);
        self.stream.write_all(&batch).unwrap();
    }

    /// Reads `count` responses, checking each is `200` with the expected body.
    fn receive(&mut self, count: usize) {
        for _ in 0..count {
            let len = loop {
                if let Some(len) = complete_response(&self.buf[..self.filled]) {
                    break len;
                }
                let n = self.stream.read(&mut self.buf[self.filled..]).unwrap();
                assert!(n > 0, "the server closed the connection");
                self.filled += n;
            };
            assert!(self.buf[..len].ends_with(BODY), "unexpected response");
            self.buf.copy_within(len..self.filled, 0);
            self.filled -= len;
        }
    }
}

/// The length of the complete `200` response at the start of `buf`, if it is all there.
fn complete_response(buf: &[u8]) -> Option<usize> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(buf).expect("a valid response head") {
        httparse::Status::Complete(head) => head,
        httparse::Status::Partial => return None,
    };
    assert_eq!(response.code, Some(200));
    let length = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok())
        .expect("a Content-Length");
    (buf.len() >= head + length).then_some(head + length)
}

fn serve(engine: impl Engine) -> EmbeddedServer {
    let config = ServerConfig {
        workers: Some(1),
        ..ServerConfig::listen("127.0.0.1", 0)
    };
    let mut server = embedded_server(engine, config, app::techempower);
    server.start(false).unwrap();
    server
}

fn bench_engine(c: &mut Criterion, name: &str, server: &EmbeddedServer) {
    let addr = server.local_addrs()[0];
    let mut group = c.benchmark_group(format!("loopback/{name}"));

    let mut one = Client::connect(addr);
    group.throughput(Throughput::Elements(1));
    group.bench_function("sequential", |b| {
        b.iter(|| {
            one.send(1);
            one.receive(1);
        });
    });

    let mut four: Vec<Client> = (0..4).map(|_| Client::connect(addr)).collect();
    group.throughput(Throughput::Elements(4));
    group.bench_function("concurrent_4", |b| {
        b.iter(|| {
            four.iter_mut().for_each(|client| client.send(1));
            four.iter_mut().for_each(|client| client.receive(1));
        });
    });

    group.throughput(Throughput::Elements(16));
    group.bench_function("pipelined_16", |b| {
        b.iter(|| {
            one.send(16);
            one.receive(16);
        });
    });
    group.finish();
}

fn loopback(c: &mut Criterion) {
    match engine_uring::io_uring_available() {
        Ok(()) => {
            let server = serve(engine_uring::UringEngine::new());
            bench_engine(c, "uring", &server);
        }
        Err(why) => eprintln!("SKIP loopback/uring: io_uring is unavailable here ({why})"),
    }
    let server = serve(engine_tokio::TokioEngine::new());
    bench_engine(c, "tokio", &server);
}

criterion_group!(benches, loopback);
criterion_main!(benches);
