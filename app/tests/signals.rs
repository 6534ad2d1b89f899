//! The app binary under SIGTERM and SIGINT: a request in flight is answered, then the process exits
//! cleanly; on each engine.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

mod common;

use common::App;

fn drains_then_exits(engine: &str, signal: &str) {
    let mut app = App::start(engine);
    let mut conn = TcpStream::connect(("127.0.0.1", app.port)).unwrap();
    conn.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    app.signal(signal);
    std::thread::sleep(Duration::from_millis(200));
    conn.write_all(b"world").unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut response = Vec::new();
    let _ = conn.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    // The echo streams back (chunked) what arrives: both halves, then the last chunk, and then the
    // draining server closes the connection (read_to_end returned).
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.ends_with("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"),
        "{response}"
    );
    let status = app.wait(Duration::from_secs(10));
    assert!(status.success(), "exit status {status}");
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
