//! What the conformance suite does not show about this engine, over real sockets: connections are
//! spread over the worker threads and never leave theirs, the connection limit holds new ones in
//! the backlog, a client that stops reading is cut off at the write timeout (the write in flight
//! is ended by the abort), the port checks, and a stop called from async code.

use engine_core::conn::ConnConfig;
use engine_core::{Application, ApplicationCall, EmbeddedServer, ServerConfig, embedded_server};
use engine_uring::{UringEngine, io_uring_available};
use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A big body: far more than the socket buffers of both ends hold.
const BIG: usize = 32 << 20;

fn routes(app: &mut Application) {
    app.routing(|route| {
        route.get("/thread", |call: ApplicationCall| async move {
            let name = std::thread::current()
                .name()
                .unwrap_or("unnamed")
                .to_owned();
            call.respond_text(name).await
        });
        route.get("/big", |call: ApplicationCall| async move {
            call.respond_text(vec![b'x'; BIG]).await
        });
    });
}

fn start(config: ServerConfig) -> (EmbeddedServer, SocketAddr) {
    if let Err(reason) = io_uring_available() {
        panic!("io_uring is not available, so the uring engine cannot be tested here: {reason}");
    }
    let config = ServerConfig {
        connectors: ServerConfig::listen("127.0.0.1", 0).connectors,
        ..config
    };
    let mut server = embedded_server(UringEngine::new(), config, routes);
    server.start(false).expect("the server starts");
    let addr = server.local_addrs()[0];
    (server, addr)
}

/// A blocking keep-alive client that reads `Content-Length` responses.
struct Client {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Self {
            stream,
            pending: Vec::new(),
        }
    }

    fn send(&mut self, path: &str) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
        self.stream.write_all(request.as_bytes()).expect("send");
    }

    /// The next response's body.
    fn body(&mut self) -> std::io::Result<String> {
        loop {
            if let Some(end) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.pending[..end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .expect("a Content-Length");
                if self.pending.len() >= end + 4 + length {
                    let body = self.pending[end + 4..end + 4 + length].to_vec();
                    self.pending.drain(..end + 4 + length);
                    return Ok(String::from_utf8_lossy(&body).into_owned());
                }
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk)? {
                0 => return Err(ErrorKind::UnexpectedEof.into()),
                n => self.pending.extend_from_slice(&chunk[..n]),
            }
        }
    }

    fn get(&mut self, path: &str) -> String {
        self.send(path);
        self.body().expect("a response")
    }
}

#[test]
fn connections_spread_over_workers_and_stay_on_theirs() {
    let (_server, addr) = start(ServerConfig {
        workers: Some(2),
        ..ServerConfig::default()
    });
    let mut threads = HashSet::new();
    for _ in 0..40 {
        let mut client = Client::connect(addr);
        let first = client.get("/thread");
        assert!(first.starts_with("engine-uring-"), "served on {first}");
        for _ in 0..3 {
            assert_eq!(
                client.get("/thread"),
                first,
                "a connection stays on its thread"
            );
        }
        threads.insert(first);
    }
    // 40 connections all hashed to one of two listeners would be a 1 in 2^39 chance.
    assert_eq!(threads.len(), 2, "both workers accept: {threads:?}");
}

#[test]
fn connections_past_the_limit_wait_in_the_backlog() {
    let (_server, addr) = start(ServerConfig {
        workers: Some(1),
        max_connections: 1,
        ..ServerConfig::default()
    });
    let mut first = Client::connect(addr);
    assert_eq!(first.get("/thread"), "engine-uring-0");
    let mut second = Client::connect(addr);
    second.send("/thread");
    second
        .stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let waiting = second
        .body()
        .expect_err("no answer while the first is open");
    assert!(
        matches!(waiting.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{waiting}"
    );
    drop(first);
    second
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(
        second.body().expect("answered once the first closed"),
        "engine-uring-0"
    );
}

#[test]
fn a_client_that_stops_reading_is_cut_off_at_the_write_timeout() {
    let (_server, addr) = start(ServerConfig {
        workers: Some(1),
        conn: ConnConfig {
            write_timeout: Duration::from_millis(300),
            ..ConnConfig::default()
        },
        ..ServerConfig::default()
    });
    let mut client = Client::connect(addr);
    client.send("/big");
    std::thread::sleep(Duration::from_millis(1500));
    // The write in flight was ended by the abort: the client gets what the buffers held, then the
    // end (or a reset), well short of the body.
    let mut received = 0;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        match client.stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => received += n,
        }
    }
    assert!(received < BIG, "received {received} bytes of {BIG}");
    // The server goes on serving.
    assert_eq!(Client::connect(addr).get("/thread"), "engine-uring-0");
}

#[test]
fn a_port_another_socket_holds_fails_the_start_and_names_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut server = embedded_server(
        UringEngine::new(),
        ServerConfig {
            workers: Some(2),
            ..ServerConfig::listen("127.0.0.1", port)
        },
        routes,
    );
    let error = server
        .start(false)
        .expect_err("the port is in use")
        .to_string();
    assert!(error.contains(&port.to_string()), "{error}");
}

#[test]
fn stop_inside_async_code_returns() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (mut server, addr) = start(ServerConfig {
            workers: Some(2),
            ..ServerConfig::default()
        });
        let mut idle = Client::connect(addr);
        assert!(idle.get("/thread").starts_with("engine-uring-"));
        // The client leaves when the server closes (a closing server waits a moment for that, so
        // that its last response is read).
        let client = std::thread::spawn(move || idle.body().is_err());
        let started = Instant::now();
        server.stop(Duration::from_secs(5), Duration::from_secs(10));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "an idle connection closes at once: the stop took {:?}",
            started.elapsed()
        );
        assert!(client.join().unwrap(), "the idle connection was closed");
    });
}
