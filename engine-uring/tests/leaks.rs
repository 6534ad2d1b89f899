//! Descriptors: a connection whose timeout fires while a read is in flight is closed then, not when
//! the kernel happens to complete the read (io_uring does not cancel a dropped operation; the
//! engine's abort ends it), and a stopped engine leaves no descriptor behind: listeners, sockets,
//! rings and runtimes all closed. One test in its own binary, so that no other test's descriptors
//! come and go while it counts.

use engine_core::conn::ConnConfig;
use engine_core::{Application, ApplicationCall, ServerConfig, embedded_server};
use engine_uring::{UringEngine, io_uring_available};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// This process's open descriptors, and how many of them are sockets.
fn descriptors() -> (usize, usize) {
    let mut all = 0;
    let mut sockets = 0;
    for entry in std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd") {
        let Ok(entry) = entry else { continue };
        all += 1;
        if std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        {
            sockets += 1;
        }
    }
    (all, sockets)
}

fn hello(app: &mut Application) {
    app.routing(|route| {
        route.get("/", |call: ApplicationCall| async move {
            call.respond_text("hello").await
        });
    });
}

#[test]
fn timed_out_and_stopped_connections_leave_no_descriptor() {
    if let Err(reason) = io_uring_available() {
        panic!("io_uring is not available, so the uring engine cannot be tested here: {reason}");
    }
    let (before_start, _) = descriptors();
    let config = ServerConfig {
        workers: Some(2),
        conn: ConnConfig {
            idle_timeout: Duration::from_millis(200),
            ..ConnConfig::default()
        },
        ..ServerConfig::listen("127.0.0.1", 0)
    };
    let mut server = embedded_server(UringEngine::new(), config, hello);
    server.start(false).expect("the server starts");
    let addr = server.local_addrs()[0];
    let (_, listening) = descriptors();

    // Clients that make a request, then stay connected and silent: each server side idles with a
    // read in flight until its idle timeout.
    let clients: Vec<TcpStream> = (0..6)
        .map(|_| {
            let mut client = TcpStream::connect(addr).expect("connect");
            client
                .write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                .unwrap();
            let mut response = [0u8; 512];
            assert!(client.read(&mut response).unwrap() > 0);
            client
        })
        .collect();
    let (_, connected) = descriptors();
    assert_eq!(
        connected,
        listening + 2 * clients.len(),
        "both ends of each"
    );
    std::thread::sleep(Duration::from_millis(800));
    let (_, idled_out) = descriptors();
    assert_eq!(
        idled_out,
        listening + clients.len(),
        "the server's ends are closed at the idle timeout, the clients' remain"
    );

    drop(clients);
    server.stop(Duration::from_secs(1), Duration::from_secs(2));
    let (after_stop, _) = descriptors();
    assert_eq!(
        after_stop, before_start,
        "no listener, socket, ring or runtime descriptor outlives the stop"
    );
}
