//! The app binary under SIGTERM and SIGINT: a request in flight is answered, then the process exits
//! cleanly; on each engine.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

mod common;

use common::App;

fn drains_then_exits(engine: &str, signal: &str) {
    let mut app = App::start(engine);
    let mut conn = TcpStream::connect(("127.0.0.1", app.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello")
        .unwrap();
    // The echo streams back what arrives: once "hello" is back, the handler is in flight.
    let mut response = Vec::new();
    read_until(&mut conn, &mut response, b"5\r\nhello\r\n");
    app.signal(signal);
    // Once new connections are refused, the stop has begun: the rest of the body arrives during it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", app.port)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the server still accepts after SIG{signal}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    conn.write_all(b"world").unwrap();
    let _ = conn.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    // Both halves, then the last chunk, and then the draining server closes the connection
    // (read_to_end returned).
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.ends_with("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"),
        "{response}"
    );
    let status = app.wait(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
}

/// Reads from `conn` into `buf` until it ends with `end`.
fn read_until(conn: &mut TcpStream, buf: &mut Vec<u8>, end: &[u8]) {
    let mut chunk = [0u8; 1024];
    while !buf.ends_with(end) {
        let n = conn.read(&mut chunk).expect("the response goes on");
        assert!(
            n > 0,
            "the connection ended early: {}",
            String::from_utf8_lossy(buf)
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[test]
fn sigterm_drains_in_flight_requests_on_tokio() {
    drains_then_exits("tokio", "TERM");
}

#[test]
fn sigint_drains_in_flight_requests_on_tokio() {
    drains_then_exits("tokio", "INT");
}

#[test]
fn sigterm_drains_in_flight_requests_on_uring() {
    common::require_uring();
    drains_then_exits("uring", "TERM");
}
