//! Bad input cases (CONFORMANCE.md "Bad input"): each gets its status line, then a close where the
//! framing is no longer trusted, and nothing else on the server is affected; limits and timeouts;
//! failing and panicking handlers.

use super::EngineUnderTest;
use super::logs::{errors_logged_for, record_errors};
use super::support::*;
use crate::engine::ServerConfig;
use crate::pipeline::BoxFuture;
use crate::{Application, CallPipeline, Error};
use http::{HeaderValue, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a case waits for an answer the server owes at once.
const NOTICE: Duration = Duration::from_secs(5);

/// An echo handler: reads the body, sends it back.
fn echo() -> Box<dyn crate::Module> {
    handler_module(|call| async move {
        let body = call.receive_bytes().await?;
        call.respond_bytes(body, HeaderValue::from_static("text/plain"))
            .await
    })
}

/// Malformed requests, each with the status it must get.
#[rustfmt::skip] // A table: one input a line.
fn bad_requests() -> Vec<(&'static str, String, u16)> {
    let post = |fields: &str, body: &str| format!("POST / HTTP/1.1\r\nHost: t\r\n{fields}\r\n{body}");
    let chunked = |body: &str| post("Transfer-Encoding: chunked\r\n", body);
    let get_with = |field: &str| format!("GET / HTTP/1.1\r\nHost: t\r\n{field}\r\n\r\n");
    let many: String = (0..120).map(|i| format!("X-{i}: v\r\n")).collect();
    vec![
        ("CL and TE", post("Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), 400),
        ("two CLs", post("Content-Length: 3\r\nContent-Length: 4\r\n", "abcd"), 400),
        ("CL list", post("Content-Length: 3, 4\r\n", "abcd"), 400),
        ("CL sign", post("Content-Length: +3\r\n", "abc"), 400),
        ("CL minus", post("Content-Length: -3\r\n", "abc"), 400),
        ("CL inner space", post("Content-Length: 1 2\r\n", "abc"), 400),
        ("CL non-digit", post("Content-Length: 3a\r\n", "abc"), 400),
        ("TE not chunked last", post("Transfer-Encoding: chunked, smuggle\r\n", ""), 400),
        ("TE vertical tab", post("Transfer-Encoding: \x0bchunked\r\n", ""), 400),
        ("TE form feed", post("Transfer-Encoding: chunked\x0c\r\n", ""), 400),
        ("TE on 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), 400),
        ("space before colon", "GET / HTTP/1.1\r\nHost : t\r\n\r\n".into(), 400),
        ("tab before colon", "GET / HTTP/1.1\r\nHost\t: t\r\n\r\n".into(), 400),
        ("obs-fold", get_with("X: a\r\n b"), 400),
        ("obs-fold with tab", get_with("X: a\r\n\tb"), 400),
        ("bare CR", "GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n".into(), 400),
        ("bare CR in request line", "GET / HTTP/1.1\rHost: t\r\n\r\n".into(), 400),
        ("NUL in method", "G\0T / HTTP/1.1\r\nHost: t\r\n\r\n".into(), 400),
        ("separator in method", "GE(T / HTTP/1.1\r\nHost: t\r\n\r\n".into(), 400),
        ("control in target", "GET /a\x01b HTTP/1.1\r\nHost: t\r\n\r\n".into(), 400),
        ("NUL in target", "GET /a\0b HTTP/1.1\r\nHost: t\r\n\r\n".into(), 400),
        ("control in field name", get_with("X\x01Y: v"), 400),
        ("separator in field name", get_with("X(Y: v"), 400),
        ("control in field value", get_with("X: a\x01b"), 400),
        ("NUL in field value", get_with("X: a\0b"), 400),
        ("DEL in field value", get_with("X: a\x7fb"), 400),
        ("no Host", "GET / HTTP/1.1\r\n\r\n".into(), 400),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".into(), 400),
        ("bad chunk size", chunked("zz\r\n"), 400),
        // Read as 0, the empty size would end the body: it must be refused, not taken as the end.
        ("empty chunk size", chunked("\r\n\r\n"), 400),
        ("chunk size overflow", chunked("10000000000000000\r\n"), 400),
        ("chunk without CRLF", chunked("3\r\nabcX\r\n0\r\n\r\n"), 400),
        ("long target", format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000)), 414),
        ("big header section", get_with(&format!("X-Big: {}", "b".repeat(70_000))), 431),
        ("too many fields", format!("GET / HTTP/1.1\r\nHost: t\r\n{many}\r\n"), 431),
        ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: t\r\n\r\n".into(), 505),
        ("unknown coding", post("Transfer-Encoding: gzip, chunked\r\n", ""), 501),
    ]
}

/// Each bad input gets its status, then the connection closes; a keep-alive connection opened
/// before them is unaffected, and so are new ones.
pub fn bad_requests_get_their_status(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(ServerConfig::default(), echo());
        let ok = "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok";
        let mut bystander = connect(&*server).await;
        bystander.send(ok).await.unwrap();
        assert_eq!(bystander.read_response(false).await.unwrap().text(), "ok");
        for (name, request, status) in bad_requests() {
            let mut conn = connect(&*server).await;
            conn.send(&request).await.ok();
            let response = tokio::time::timeout(NOTICE, conn.read_response(false))
                .await
                .unwrap_or_else(|_| panic!("{name}: no response within {NOTICE:?}"))
                .unwrap_or_else(|e| panic!("{name}: no response: {e}"));
            assert_eq!(response.status.as_u16(), status, "{name}");
            assert!(conn.is_closed().await, "{name}: the connection closes");
        }
        bystander.send(ok).await.unwrap();
        let after = bystander.read_response(false).await;
        assert_eq!(after.expect("the bystander still served").text(), "ok");
        assert_eq!(exchange(&*server, ok).await.text(), "ok");
    })
}

/// A `Content-Length` over 2^31-1 is framed with 64-bit arithmetic, then refused by the body limit
/// before the handler runs: 2^32 + 5 is not 5 (a 32-bit truncation would serve it), `u64::MAX`
/// is a length too; one past it cannot frame a body at all (400).
pub fn content_length_over_2_31_is_413(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let handled = Arc::new(AtomicUsize::new(0));
        let counted = handled.clone();
        let server = serve(engine, move |call| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { call.respond_text("unreachable").await }
        });
        for (length, status) in [
            ("3000000000", StatusCode::PAYLOAD_TOO_LARGE),
            ("4294967301", StatusCode::PAYLOAD_TOO_LARGE),
            ("18446744073709551615", StatusCode::PAYLOAD_TOO_LARGE),
            ("18446744073709551616", StatusCode::BAD_REQUEST),
        ] {
            let request =
                format!("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {length}\r\n\r\nhello");
            let mut conn = connect(&*server).await;
            conn.send(request).await.unwrap();
            let response = conn.read_response(false).await.expect("a response");
            assert_eq!(response.status, status, "Content-Length: {length}");
            assert_eq!(response.header("connection"), Some("close"), "{length}");
            assert!(conn.is_closed().await, "{length}: the connection closes");
        }
        assert_eq!(handled.load(Ordering::SeqCst), 0, "a handler ran");
    })
}

/// A body over the configured `max_body_size` is 413 and the connection closes: a
/// `Content-Length` over it before the handler runs, a chunked body on the handler's read. A body
/// of exactly the limit is served.
pub fn body_over_configured_limit_is_413(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let handled = Arc::new(AtomicUsize::new(0));
        let counted = handled.clone();
        let mut config = ServerConfig::default();
        config.conn.max_body_size = 1024;
        let module = handler_module(move |call| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                let body = call.receive_bytes().await?;
                call.respond_text(format!("{} bytes", body.len())).await
            }
        });
        let server = engine.start(config, module);
        let length = |n: usize| {
            let body = "x".repeat(n);
            format!("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {n}\r\n\r\n{body}")
        };
        let chunked = |n: usize| {
            let (first, rest) = ("y".repeat(n / 2), "z".repeat(n - n / 2));
            format!(
                "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
                 {:x}\r\n{first}\r\n{:x}\r\n{rest}\r\n0\r\n\r\n",
                first.len(),
                rest.len()
            )
        };
        for request in [length(1024), chunked(1024)] {
            let response = exchange(&*server, &request).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.raw_head);
            assert_eq!(response.text(), "1024 bytes");
        }
        for (name, request) in [("length", length(1025)), ("chunked", chunked(1025))] {
            let mut conn = connect(&*server).await;
            conn.send(&request).await.ok();
            let response = conn.read_response(false).await.expect("a response");
            assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE, "{name}");
            assert_eq!(response.header("connection"), Some("close"), "{name}");
            assert!(conn.is_closed().await, "{name}: the connection closes");
            if name == "length" {
                assert_eq!(
                    handled.load(Ordering::SeqCst),
                    2,
                    "the handler ran for {name}"
                );
            }
        }
    })
}

/// A server whose handlers fail at `/fail` and panic at `/panic`, and answer otherwise.
fn failing_server(
    engine: &dyn EngineUnderTest,
    prefix: &'static str,
) -> Box<dyn super::TestServer> {
    record_errors();
    serve(engine, move |call| async move {
        let path = call.request().path().to_owned();
        if path == format!("{prefix}/fail") {
            return Err(Error::msg("secret database password in this message"));
        }
        if path == format!("{prefix}/panic") {
            panic!("secret handler panic (expected by the test)");
        }
        call.respond_text("fine").await
    })
}

/// A handler's error is a 500 that names nothing internal, logged once; the connection and the
/// server go on.
pub fn handler_failure_is_500_and_connection_goes_on(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = failing_server(engine, "/handler-failure");
        failure_is_500_logged_once(&*server, "/handler-failure/fail").await;
    })
}

/// A handler that panics gets a 500 that names nothing internal, logged once; the connection and
/// the server go on.
pub fn handler_panic_is_500(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = failing_server(engine, "/handler-panic");
        failure_is_500_logged_once(&*server, "/handler-panic/panic").await;
    })
}

/// Through routing, where the driver runs a route's handler itself: a panic is a 500, and the
/// same connection goes on to the next requests, route parameters included.
pub fn routed_handler_panic_is_500_and_the_connection_goes_on(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        record_errors();
        let module = Box::new(|app: &mut Application| {
            app.routing(|route| {
                route.get(
                    "/routed/panic",
                    |_call: crate::ApplicationCall| async move {
                        panic!("secret routed handler panic (expected by the test)");
                        #[allow(unreachable_code)]
                        Ok(())
                    },
                );
                route.get(
                    "/routed/items/{id}",
                    |call: crate::ApplicationCall| async move {
                        let id = call.parameters().get("id").unwrap_or_default().to_owned();
                        call.respond_text(id).await
                    },
                );
            });
        });
        let server = engine.start(ServerConfig::default(), module);
        let mut conn = connect(&*server).await;
        for round in 1..=2 {
            conn.send(get("/routed/panic")).await.unwrap();
            let failed = conn.read_response(false).await.unwrap();
            assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
            assert!(!failed.text().contains("secret"), "{}", failed.text());
            assert_eq!(errors_logged_for("/routed/panic"), round);
            conn.send(get(&format!("/routed/items/{round}")))
                .await
                .unwrap();
            let item = conn.read_response(false).await.unwrap();
            assert_eq!(
                (item.status, item.text()),
                (StatusCode::OK, round.to_string())
            );
        }
    })
}

async fn failure_is_500_logged_once(server: &dyn super::TestServer, path: &str) {
    let mut conn = connect(server).await;
    for round in 1..=2 {
        conn.send(get(path)).await.unwrap();
        let failed = conn.read_response(false).await.unwrap();
        assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert!(
            !failed.text().contains("secret"),
            "the body names no internal detail: {}",
            failed.text()
        );
        conn.send(get("/")).await.unwrap();
        assert_eq!(conn.read_response(false).await.unwrap().text(), "fine");
        assert_eq!(errors_logged_for(path), round, "errors logged for {path}");
    }
    assert_eq!(exchange(server, &get("/")).await.text(), "fine");
}

/// In development mode, configured by the application, a failure's 500 names the error.
pub fn development_error_body_names_the_error(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let module = Box::new(|app: &mut Application| {
            app.set_development(true);
            app.call_pipeline()
                .intercept_boxed(CallPipeline::CALL, |_| {
                    Box::pin(async { Err(Error::msg("the cache is cold (expected)")) })
                });
        });
        let server = engine.start(ServerConfig::default(), module);
        let response = exchange(&*server, &get("/")).await;
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            response.text().contains("the cache is cold"),
            "{}",
            response.text()
        );
    })
}

/// A server whose header timeout is 300 ms.
fn short_header_timeout_server(engine: &dyn EngineUnderTest) -> Box<dyn super::TestServer> {
    let mut config = ServerConfig::default();
    config.conn.header_read_timeout = Duration::from_millis(300);
    engine.start(
        config,
        handler_module(|call| async move { call.respond_text("late").await }),
    )
}

/// A head sent slower than the header timeout gets 408 and the connection is freed.
pub fn header_timeout_gives_408(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = short_header_timeout_server(engine);
        let mut conn = connect(&*server).await;
        conn.send("GET / HTTP/1.1\r\nHost: t\r\n").await.unwrap();
        let response = conn
            .read_response(false)
            .await
            .expect("a 408 before the close");
        assert_eq!(response.status, StatusCode::REQUEST_TIMEOUT);
        assert!(conn.is_closed().await);
    })
}

/// A head that trickles in, each byte well within the header timeout but the whole far past it
/// (slowloris), gets 408 and a close while the client is still sending: the timeout runs from the
/// head's first byte, not from the last read.
pub fn slow_header_trickle_gets_408(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = short_header_timeout_server(engine);
        let (mut read, mut write) = tokio::io::split(connect_raw(&*server).await);
        // 400 bytes, one every 25 ms: 10 s of a head that never ends.
        let head = format!("GET / HTTP/1.1\r\nHost: t\r\nX-Slow: {}", "a".repeat(360));
        let trickle = async move {
            for byte in head.bytes() {
                if write.write_all(&[byte]).await.is_err() {
                    // The server closed: wait for the reader to report it.
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        };
        let mut answer = Vec::new();
        tokio::select! {
            _ = read.read_to_end(&mut answer) => {}
            () = trickle => panic!("the whole 10 s trickle went in past a 300 ms header timeout"),
        }
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408 "),
            "a 408 or a close: {answer:?}"
        );
    })
}

/// An idle keep-alive connection is closed after the idle timeout; a request being handled is not
/// cut by it.
pub fn idle_connection_is_closed(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let mut config = ServerConfig::default();
        config.conn.idle_timeout = Duration::from_millis(300);
        let server = engine.start(
            config,
            handler_module(|call| async move {
                tokio::time::sleep(Duration::from_millis(600)).await;
                call.respond_text("slow but whole").await
            }),
        );
        let mut conn = connect(&*server).await;
        conn.send(get("/")).await.unwrap();
        assert_eq!(
            conn.read_response(false).await.unwrap().text(),
            "slow but whole"
        );
        let started = std::time::Instant::now();
        assert!(conn.is_closed().await);
        assert!(started.elapsed() < Duration::from_secs(5));
    })
}
