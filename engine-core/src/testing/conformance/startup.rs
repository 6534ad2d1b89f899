//! Start-up and lifecycle cases (CONFORMANCE.md "Lifecycle"), and routing seen over the wire.

use super::support::*;
use super::{EngineUnderTest, TestServer};
use crate::engine::{Connector, EmbeddedServer, ServerConfig, embedded_server};
use crate::pipeline::BoxFuture;
use crate::plugins::CallOrigin;
use crate::{Application, ApplicationCall, Error, LifecycleEvent, Module};
use http::StatusCode;
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A port nothing listens on right now (as far as the machine's sockets go).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn listen(ports: &[(&str, u16)]) -> ServerConfig {
    ServerConfig {
        connectors: ports
            .iter()
            .map(|&(host, port)| Connector {
                host: host.into(),
                port,
            })
            .collect(),
        workers: Some(2),
        ..ServerConfig::default()
    }
}

/// Answers with the local address the connection reached, and the server host and port the
/// request names (its origin: from `Host`, or the local address without one).
fn where_am_i() -> Box<dyn Module> {
    handler_module(|call| async move {
        let origin = call.origin();
        let text = format!(
            "{} {} {}",
            call.request().local_addr(),
            origin.host,
            origin.port
        );
        call.respond_text(text).await
    })
}

/// What [`where_am_i`] answers for a request to `addr` that names it in `Host`.
fn here(addr: SocketAddr) -> String {
    format!("{addr} {} {}", addr.ip(), addr.port())
}

/// `GET /` to `addr` with `Host: addr`.
async fn ask(server: &dyn TestServer, addr: SocketAddr) -> String {
    ask_with(
        server,
        addr,
        &format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
    )
    .await
}

async fn ask_with(server: &dyn TestServer, addr: SocketAddr, request: &str) -> String {
    let stream = server
        .connect_to(addr)
        .await
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    let mut conn = crate::testing::ResponseReader::new(stream);
    conn.send(request).await.unwrap();
    conn.read_response(false).await.unwrap().text()
}

/// Two listeners, one on port 0 and one on a fixed port, both report their real bound ports and
/// both serve.
pub fn two_listeners_report_real_ports(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let fixed = free_port();
        let server = engine
            .try_start(
                listen(&[("127.0.0.1", 0), ("127.0.0.1", fixed)]),
                where_am_i(),
            )
            .expect("start");
        let addrs = server.addrs();
        assert_eq!(addrs.len(), 2, "{addrs:?}");
        assert_ne!(addrs[0].port(), 0, "port 0 resolved to the real port");
        assert_eq!(addrs[1].port(), fixed);
        for addr in addrs {
            assert_eq!(ask(&*server, addr).await, here(addr));
        }
    })
}

/// Starting on a port in use fails with a clear error, and leaks nothing: the other listener of the
/// failed start is free again.
pub fn port_in_use_fails_and_leaks_nothing(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let first = engine
            .try_start(listen(&[("127.0.0.1", 0)]), where_am_i())
            .expect("start");
        let taken = first.addr().expect("an address").port();
        let other = free_port();
        let error = match engine.try_start(
            listen(&[("127.0.0.1", other), ("127.0.0.1", taken)]),
            where_am_i(),
        ) {
            Ok(_) => panic!("a second server on port {taken} started"),
            Err(error) => error.to_string(),
        };
        assert!(
            error.contains(&taken.to_string()),
            "the error names the address: {error}"
        );
        let again = engine.try_start(listen(&[("127.0.0.1", other)]), where_am_i());
        assert!(
            again.is_ok(),
            "port {other} of the failed start is free again"
        );
        let addr = first.addr().expect("an address");
        assert_eq!(
            ask(&*first, addr).await,
            here(addr),
            "the first server serves on"
        );
    })
}

/// A module that fails during start makes start fail, with that module run exactly once.
pub fn failing_module_fails_start_once(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let module = Box::new(move |_: &mut Application| -> Result<(), Error> {
            counted.fetch_add(1, Ordering::SeqCst);
            Err(Error::msg("the database is unreachable"))
        });
        let port = free_port();
        let result = engine.try_start(listen(&[("127.0.0.1", port)]), module);
        let error = result.err().expect("start fails").to_string();
        assert!(error.contains("the database is unreachable"), "{error}");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let again = engine.try_start(listen(&[("127.0.0.1", port)]), where_am_i());
        assert!(
            again.is_ok(),
            "port {port} of the failed start is free again"
        );
    })
}

/// The start returns once the server is bound (the ready signal); a request right after succeeds.
pub fn ready_then_request_succeeds(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        for _ in 0..3 {
            let server = serve(
                engine,
                |call| async move { call.respond_text("ready").await },
            );
            assert_eq!(exchange(&*server, &get("/")).await.text(), "ready");
        }
    })
}

/// IPv6: requests to `[::1]` see the right server host and port.
pub fn ipv6_requests_see_host_and_port(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        if TcpListener::bind("[::1]:0").is_err() {
            panic!("this machine has no IPv6 loopback: the case cannot run here");
        }
        let server = engine
            .try_start(listen(&[("::1", 0)]), where_am_i())
            .expect("start on [::1]");
        let addr = server.addr().expect("an address");
        assert!(addr.is_ipv6() && addr.ip().is_loopback(), "{addr}");
        // `Host: [::1]:port`: the host without its brackets, and the port.
        assert_eq!(
            ask(&*server, addr).await,
            format!("{addr} ::1 {}", addr.port())
        );
        // No `Host` (HTTP/1.0): the address the connection reached.
        let bare = ask_with(&*server, addr, "GET / HTTP/1.0\r\n\r\n").await;
        assert_eq!(bare, format!("{addr} ::1 {}", addr.port()));
    })
}

/// Lifecycle events fire once each, in order: Starting, Started, Stopping, Stopped.
pub fn lifecycle_events_fire_in_order(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = events.clone();
        let module = Box::new(move |app: &mut Application| {
            for event in [
                LifecycleEvent::Starting,
                LifecycleEvent::Started,
                LifecycleEvent::Stopping,
                LifecycleEvent::Stopped,
            ] {
                let seen = seen.clone();
                app.subscribe(event, move |_| seen.lock().unwrap().push(event));
            }
        });
        let server = engine
            .try_start(listen(&[("127.0.0.1", 0)]), module)
            .expect("start");
        assert_eq!(
            *events.lock().unwrap(),
            [LifecycleEvent::Starting, LifecycleEvent::Started]
        );
        tokio::task::spawn_blocking(move || {
            server.stop(Duration::from_secs(1), Duration::from_secs(2))
        })
        .await
        .unwrap();
        let all = [
            LifecycleEvent::Starting,
            LifecycleEvent::Started,
            LifecycleEvent::Stopping,
            LifecycleEvent::Stopped,
        ];
        assert_eq!(*events.lock().unwrap(), all);
    })
}

/// Stopping a server that never started is instant.
pub fn stopping_a_never_started_server_is_instant(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let mut server: EmbeddedServer = embedded_server(
            engine.engine(),
            listen(&[("127.0.0.1", 0)]),
            |_: &mut Application| {},
        );
        let started = Instant::now();
        server.stop(Duration::from_secs(5), Duration::from_secs(10));
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "stop took {:?}",
            started.elapsed()
        );
    })
}

fn routes() -> Box<dyn Module> {
    Box::new(|app: &mut Application| {
        app.routing(|route| {
            route.get("/a b", |call: ApplicationCall| async move {
                call.respond_text("space").await
            });
            route.get("/a+b", |call: ApplicationCall| async move {
                call.respond_text("plus").await
            });
            route.post("/only-post", |call: ApplicationCall| async move {
                call.respond_text("posted").await
            });
        });
    })
}

/// `/a%20b` matches the route for `a b`; `/a+b` matches the literal `a+b` (plus is not a space).
pub fn percent_encoded_and_plus_paths_route(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(ServerConfig::default(), routes());
        assert_eq!(exchange(&*server, &get("/a%20b")).await.text(), "space");
        assert_eq!(exchange(&*server, &get("/a+b")).await.text(), "plus");
        assert_eq!(exchange(&*server, &get("/a%2Bb")).await.text(), "plus");
    })
}

/// A path that exists for another method: 405 with `Allow`; an unknown path: 404.
pub fn method_not_allowed_has_allow(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(ServerConfig::default(), routes());
        let response = exchange(&*server, &get("/only-post")).await;
        assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.header("allow"), Some("POST"));
        assert_eq!(
            exchange(&*server, &get("/nowhere")).await.status,
            StatusCode::NOT_FOUND
        );
    })
}

fn multipart_body(boundary: &str, lines: usize) -> String {
    let file: String = (0..lines).map(|i| format!("line {i}\r\n")).collect();
    format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nreport\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"lines.txt\"\r\n\
         Content-Type: text/plain\r\n\r\n{file}\r\n--{boundary}--\r\n"
    )
}

/// Answers with each part's name, file name and content, parts separated by `|`.
fn multipart_summary() -> Box<dyn Module> {
    handler_module(|call| async move {
        let mut multipart = call.receive_multipart().await?;
        let mut summary = Vec::new();
        while let Some(part) = multipart.next_part().await? {
            let mut content = Vec::new();
            while let Some(chunk) = multipart.part_chunk().await? {
                content.extend_from_slice(&chunk);
            }
            summary.push(format!(
                "{}:{}:{}",
                part.name,
                part.filename.unwrap_or_default(),
                String::from_utf8_lossy(&content)
            ));
        }
        call.respond_text(summary.join("|")).await
    })
}

/// multipart/form-data with a field and a file part, the file streamed: 10 lines, then 10,000;
/// both parts arrive byte for byte.
pub fn multipart_field_and_file_parts(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(ServerConfig::default(), multipart_summary());
        for lines in [10, 10_000] {
            let body = multipart_body("XyZ", lines);
            let request = format!(
                "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let file: String = (0..lines).map(|i| format!("line {i}\r\n")).collect();
            let expected = format!("title::report|upload:lines.txt:{file}");
            let response = exchange(&*server, &request).await;
            assert_eq!(response.status, StatusCode::OK, "{lines} lines");
            assert!(
                response.text() == expected,
                "{lines} lines: the parts differ ({} bytes back, {} expected)",
                response.body.len(),
                expected.len()
            );
        }
    })
}
