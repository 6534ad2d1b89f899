//! Lifecycle cases: aborted response bodies, clients that leave, late request bodies, protocol
//! upgrade and long-lived streams (CONFORMANCE.md "Connection and framing", "Bad input" on
//! truncated bodies, and "SSE").

use super::support::*;
use super::{EngineUnderTest, TestServer};
use crate::Error;
use crate::call::{OutgoingContent, ResponseBody};
use crate::pipeline::BoxFuture;
use bytes::Bytes;
use futures_core::Stream;
use http::{HeaderValue, StatusCode};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long the server may take to notice that a client left or a body failed.
const NOTICE: Duration = Duration::from_secs(5);

/// A body that yields a chunk every `period` and never ends; `guard` lives as long as it does.
fn endless_stream(
    guard: LiveGuard,
    period: Duration,
    chunk: &'static str,
) -> impl Stream<Item = Result<Bytes, Error>> + Send + 'static {
    futures_util::stream::unfold(guard, move |guard| async move {
        tokio::time::sleep(period).await;
        Some((Ok(Bytes::from_static(chunk.as_bytes())), guard))
    })
}

/// A server whose every response is an endless stream of `tick\n` chunks, 50 ms apart.
fn endless_server(engine: &dyn EngineUnderTest, live: &Liveness) -> Box<dyn TestServer> {
    let live = live.clone();
    serve(engine, move |call| {
        let guard = live.guard();
        async move {
            let ticks = endless_stream(guard, Duration::from_millis(50), "tick\n");
            call.respond_stream(ticks, HeaderValue::from_static("text/plain"))
                .await
        }
    })
}

/// A server whose responses are a stream that yields `first part`, pauses (so that the head and
/// the first part are flushed), then fails; `/ok` is answered whole.
fn failing_stream_server(engine: &dyn EngineUnderTest) -> Box<dyn TestServer> {
    serve(engine, |call| async move {
        if call.request().path() == "/ok" {
            return call.respond_text("ok").await;
        }
        let parts = futures_util::stream::unfold(0, |step| async move {
            match step {
                0 => Some((Ok(Bytes::from_static(b"first part")), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let error = Error::msg("the body failed midway (expected by the test)");
                    Some((Err(error), 2))
                }
                _ => None,
            }
        });
        call.respond_stream(parts, HeaderValue::from_static("text/plain"))
            .await
    })
}

/// A response body stream that fails after its head and first chunk went out aborts the
/// connection: the client sees the connection end without the last chunk, never a complete body
/// and never a hang.
pub fn stream_failing_midway_aborts_connection(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = failing_stream_server(engine);
        let mut conn = connect(&*server).await;
        conn.send(get("/")).await.unwrap();
        let raw = read_until_closed(&mut conn, NOTICE).await;
        let text = String::from_utf8_lossy(&raw);
        assert!(
            text.starts_with("HTTP/1.1 200") && text.contains("first part"),
            "the head and the first chunk before the failure: {text:?}"
        );
        assert!(!raw.ends_with(b"0\r\n\r\n"), "the body was ended: {text:?}");
        assert_incomplete(&raw).await;
        assert_eq!(exchange(&*server, &get("/ok")).await.text(), "ok");
    })
}

/// To an HTTP/1.0 client a streamed body is close-delimited, so only a reset can tell it the body
/// was cut (RFC 9112 §6.3: such a body ends when the connection closes). A stream that fails
/// midway resets the connection: the client's read ends with an error, never with the clean end
/// of stream that would make the truncated body look complete.
pub fn stream_failing_midway_resets_a_close_delimited_body(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = failing_stream_server(engine);
        let mut stream = connect_raw(&*server).await;
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
        let mut raw = Vec::new();
        let end = tokio::time::timeout(NOTICE, stream.read_to_end(&mut raw))
            .await
            .expect("the connection ends within 5 s");
        let text = String::from_utf8_lossy(&raw);
        // A reset may discard what was sent but not yet read; what did arrive is the stream's.
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 200"),
            "{text:?}"
        );
        assert!(
            head_values(&text, "content-length").is_empty()
                && head_values(&text, "transfer-encoding").is_empty(),
            "a close-delimited body: {text:?}"
        );
        assert!(
            end.is_err(),
            "a clean end of stream after {text:?}: the truncated body looks complete"
        );
        assert_eq!(exchange(&*server, &get("/ok")).await.text(), "ok");
    })
}

/// A stream that ends short of its declared `Content-Length` aborts the connection: the client
/// reads fewer bytes than declared, then the end of the connection.
pub fn stream_short_of_content_length_aborts_connection(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            let parts = futures_util::stream::unfold(false, |done| async move {
                if done {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    return None;
                }
                Some((Ok::<_, Error>(Bytes::from_static(b"abc")), true))
            });
            call.respond(OutgoingContent {
                status: None,
                content_type: Some(HeaderValue::from_static("text/plain")),
                body: ResponseBody::Stream {
                    stream: Box::pin(parts),
                    length: Some(10),
                },
            })
            .await
        });
        let mut conn = connect(&*server).await;
        conn.send(get("/")).await.unwrap();
        let raw = read_until_closed(&mut conn, NOTICE).await;
        let text = String::from_utf8_lossy(&raw);
        assert!(text.starts_with("HTTP/1.1 200"), "{text:?}");
        assert_eq!(head_values(&text, "content-length"), ["10"], "{text:?}");
        assert!(text.ends_with("\r\n\r\nabc"), "{text:?}");
        assert_incomplete(&raw).await;
    })
}

/// A client that closes during a slow streamed response ends the stream within seconds.
pub fn slow_stream_ends_when_client_closes(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(slow_stream_ends_when_client_leaves(engine, Leave::Close))
}

/// A client that resets the connection during a slow streamed response ends the stream within
/// seconds.
pub fn slow_stream_ends_when_client_resets(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(slow_stream_ends_when_client_leaves(engine, Leave::Reset))
}

/// How a client leaves a connection.
#[derive(Debug, Clone, Copy)]
enum Leave {
    /// Closes it (FIN) after reading the first chunk.
    Close,
    /// Resets it (RST) with chunks left unread.
    Reset,
}

async fn slow_stream_ends_when_client_leaves(engine: &dyn EngineUnderTest, leave: Leave) {
    let live = Liveness::default();
    let server = endless_server(engine, &live);
    let mut stream = connect_raw(&*server).await;
    stream.write_all(get("/").as_bytes()).await.unwrap();
    let head = read_head_raw(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    match leave {
        Leave::Close => {
            let mut chunk = [0u8; 8];
            stream.read_exact(&mut chunk).await.unwrap();
            assert_eq!(&chunk, b"5\r\ntick\n");
            drop(stream);
        }
        Leave::Reset => {
            // Leave a few chunks unread: closing a socket with unread bytes resets it too.
            tokio::time::sleep(Duration::from_millis(200)).await;
            reset(stream);
        }
    }
    assert!(
        eventually(NOTICE, || live.all_ended()).await,
        "the stream ended within {NOTICE:?} of the {leave:?} ({} started, {} ended)",
        live.started(),
        live.ended()
    );
}

/// Holds `guard` for 10 s, then answers: a handler that a close must cancel first.
async fn sleep_then_answer(call: crate::ApplicationCall, guard: LiveGuard) -> Result<(), Error> {
    let _guard = guard;
    tokio::time::sleep(Duration::from_secs(10)).await;
    call.respond_text("too late").await
}

/// A server whose handlers sleep 10 s before answering, each holding a guard of `live`.
fn sleeping_server(engine: &dyn EngineUnderTest, live: &Liveness) -> Box<dyn TestServer> {
    let handlers = live.clone();
    serve(engine, move |call| {
        sleep_then_answer(call, handlers.guard())
    })
}

/// A handler that sleeps (no streaming) is cancelled when its client closes the connection.
pub fn sleeping_handler_is_cancelled_on_close(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let live = Liveness::default();
        let server = sleeping_server(engine, &live);
        let mut stream = connect_raw(&*server).await;
        stream.write_all(get("/").as_bytes()).await.unwrap();
        assert!(eventually(NOTICE, || live.started() == 1).await);
        drop(stream);
        assert!(
            eventually(NOTICE, || live.all_ended()).await,
            "the handler was cancelled within {NOTICE:?} of the close"
        );
    })
}

/// The same through routing, where the driver runs a route's handler itself (its future in the
/// connection's `HandlerSlot`, not in the call pipeline): cancelled when the client closes, for
/// a request alone and for pipelined ones.
pub fn routed_handler_is_cancelled_on_close(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let live = Liveness::default();
        let handlers = live.clone();
        let module = Box::new(move |app: &mut crate::Application| {
            let handlers = handlers.clone();
            app.routing(move |route| {
                route.get("/slow/{n}", move |call: crate::ApplicationCall| {
                    sleep_then_answer(call, handlers.guard())
                });
            });
        });
        let server = engine.start(crate::engine::ServerConfig::default(), module);
        // The handlers started so far, counted over both connections: of the pipelined pair
        // only the first starts before the close.
        for (requests, started) in [
            (get("/slow/1"), 1),
            (format!("{}{}", get("/slow/2"), get("/slow/3")), 2),
        ] {
            let mut stream = connect_raw(&*server).await;
            stream.write_all(requests.as_bytes()).await.unwrap();
            assert!(eventually(NOTICE, || live.started() == started).await);
            drop(stream);
            assert!(
                eventually(NOTICE, || live.all_ended()).await,
                "the routed handler was cancelled within {NOTICE:?} of the close ({} started, {} ended)",
                live.started(),
                live.ended()
            );
        }
    })
}

/// Pipelined requests to slow handlers, then a close: every handler that started is cancelled
/// within seconds, and none starts afterwards.
pub fn pipelined_slow_handlers_are_cancelled_on_close(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let live = Liveness::default();
        let server = sleeping_server(engine, &live);
        let mut stream = connect_raw(&*server).await;
        let burst = format!("{}{}{}", get("/1"), get("/2"), get("/3"));
        stream.write_all(burst.as_bytes()).await.unwrap();
        assert!(eventually(NOTICE, || live.started() >= 1).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(stream);
        assert!(
            eventually(NOTICE, || live.all_ended()).await,
            "every started handler was cancelled within {NOTICE:?} of the close ({} started, {} ended)",
            live.started(),
            live.ended()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            live.all_ended(),
            "a handler started after the close ({} started, {} ended)",
            live.started(),
            live.ended()
        );
    })
}

/// A `Connection: close` request whose body arrives after the handler started is not a
/// disconnect: the handler reads the body and the whole response is written.
pub fn late_body_with_connection_close_is_answered(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let live = Liveness::default();
        let handlers = live.clone();
        let server = serve(engine, move |call| {
            let guard = handlers.guard();
            async move {
                let _guard = guard;
                let body = call.receive_bytes().await?;
                call.respond_bytes(body, HeaderValue::from_static("application/octet-stream"))
                    .await
            }
        });
        let mut conn = connect(&*server).await;
        conn.send("POST / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 5\r\n\r\n")
            .await
            .unwrap();
        assert!(eventually(NOTICE, || live.started() == 1).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
        conn.send("hello").await.unwrap();
        let response = conn.read_response(false).await.expect("the whole response");
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.text(), "hello");
        assert_eq!(response.header("connection"), Some("close"));
        assert!(conn.is_closed().await);
    })
}

/// A body shorter than its `Content-Length`, then the client's end of stream: the handler's receive
/// fails, and the server goes on.
pub fn truncated_body_fails_receive(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let outcome: Slot<String> = Slot::default();
        let seen = outcome.clone();
        let server = serve(engine, move |call| {
            let seen = seen.clone();
            async move {
                if call.request().path() == "/ok" {
                    return call.respond_text("ok").await;
                }
                match call.receive_bytes().await {
                    Ok(body) => {
                        seen.set(format!("received {body:?}"));
                        call.respond_text("complete?").await
                    }
                    Err(error) => {
                        seen.set("error".to_owned());
                        Err(error)
                    }
                }
            }
        });
        let mut stream = connect_raw(&*server).await;
        stream
            .write_all(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
            .await
            .unwrap();
        stream.shutdown().await.unwrap();
        assert!(
            eventually(NOTICE, || outcome.get().is_some()).await,
            "the handler's receive returned within {NOTICE:?}"
        );
        assert_eq!(outcome.get().as_deref(), Some("error"));
        assert_eq!(exchange(&*server, &get("/ok")).await.text(), "ok");
    })
}

/// 16 pipelined POSTs whose handler echoes the body as a stream are all answered, in order.
pub fn pipelined_streamed_echo_posts_answer_in_order(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            let body = call.receive_stream().await?;
            call.respond_stream(body, HeaderValue::from_static("application/octet-stream"))
                .await
        });
        let bodies: Vec<String> = (0..16)
            .map(|i| format!("{i}:{}", "x".repeat(i * 200)))
            .collect();
        let burst: String = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                format!(
                    "POST /{i} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                )
            })
            .collect();
        let mut conn = connect(&*server).await;
        conn.send(burst).await.unwrap();
        for body in &bodies {
            let response = conn.read_response(false).await.unwrap();
            assert_eq!(response.status, StatusCode::OK);
            assert!(response.chunked, "{}", response.raw_head);
            assert_eq!(&response.text(), body);
        }
    })
}

/// A module that answers `101` with `Upgrade: raw` and echoes raw bytes until the end of stream.
fn raw_echo_module() -> Box<dyn crate::Module> {
    handler_module(|call| async move {
        call.response()
            .set_header(http::header::UPGRADE, HeaderValue::from_static("raw"));
        call.response().set_header(
            http::header::CONNECTION,
            HeaderValue::from_static("Upgrade"),
        );
        call.respond_upgrade(|mut io| async move {
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = io.read(&mut buf).await {
                if io.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
            let _ = io.shutdown().await;
        })
        .await
    })
}

const UPGRADE_REQUEST: &str =
    "GET /raw HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n";

/// Reads the 101 head and checks its fields: `Upgrade` and `Connection` exactly once, no framing.
async fn read_switching_protocols(stream: &mut Box<dyn super::TestStream>) {
    let head = read_head_raw(stream).await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert_eq!(head_values(&head, "upgrade"), ["raw"], "{head}");
    let connection = head_values(&head, "connection");
    assert!(
        connection.len() == 1 && connection[0].eq_ignore_ascii_case("upgrade"),
        "{head}"
    );
    assert!(head_values(&head, "content-length").is_empty(), "{head}");
    assert!(head_values(&head, "transfer-encoding").is_empty(), "{head}");
}

/// Sends `word` and reads it back, within seconds.
async fn echo_round_trip(stream: &mut Box<dyn super::TestStream>, word: &[u8]) {
    stream.write_all(word).await.unwrap();
    let mut back = vec![0u8; word.len()];
    tokio::time::timeout(NOTICE, stream.read_exact(&mut back))
        .await
        .expect("the echo within 5 s")
        .expect("the echo");
    assert_eq!(back, word);
}

/// Ends the client's side and expects a clean end of stream from the server, nothing before it.
async fn expect_clean_eof(stream: &mut Box<dyn super::TestStream>) {
    stream.shutdown().await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(NOTICE, stream.read_to_end(&mut rest))
        .await
        .expect("the end of stream within 5 s")
        .expect("a clean end of stream, not an error");
    assert!(rest.is_empty(), "{rest:?}");
}

/// Protocol upgrade: 101 with `Upgrade` and `Connection` once each, then raw bytes both ways,
/// ending with a clean end of stream.
pub fn upgrade_switches_to_raw_bytes(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(Default::default(), raw_echo_module());
        let mut stream = connect_raw(&*server).await;
        stream.write_all(UPGRADE_REQUEST.as_bytes()).await.unwrap();
        read_switching_protocols(&mut stream).await;
        echo_round_trip(&mut stream, b"ping").await;
        echo_round_trip(&mut stream, b"\0\x01\xffbinary\r\n\r\n").await;
        expect_clean_eof(&mut stream).await;
    })
}

/// Bytes the client sent right after the upgrade request, in the same write, reach the handler.
pub fn upgrade_keeps_bytes_sent_with_the_request(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(Default::default(), raw_echo_module());
        let mut stream = connect_raw(&*server).await;
        stream
            .write_all(format!("{UPGRADE_REQUEST}early bytes").as_bytes())
            .await
            .unwrap();
        read_switching_protocols(&mut stream).await;
        let mut early = [0u8; 11];
        tokio::time::timeout(NOTICE, stream.read_exact(&mut early))
            .await
            .expect("the early bytes echoed within 5 s")
            .expect("the early bytes echoed");
        assert_eq!(&early, b"early bytes");
        echo_round_trip(&mut stream, b"later").await;
        expect_clean_eof(&mut stream).await;
    })
}

/// A long-lived event stream on one connection does not delay a request on another.
pub fn long_lived_stream_does_not_delay_others(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let live = Liveness::default();
        let handlers = live.clone();
        let server = serve(engine, move |call| {
            let guard = handlers.guard();
            async move {
                if call.request().path() != "/events" {
                    return call.respond_text("prompt").await;
                }
                let events = endless_stream(guard, Duration::from_millis(100), "data: tick\n\n");
                call.respond_stream(events, HeaderValue::from_static("text/event-stream"))
                    .await
            }
        });
        let mut events = connect_raw(&*server).await;
        events.write_all(get("/events").as_bytes()).await.unwrap();
        let head = read_head_raw(&mut events).await;
        assert_eq!(head_values(&head, "content-type"), ["text/event-stream"]);
        let mut event = [0u8; 17];
        events.read_exact(&mut event).await.unwrap();
        assert_eq!(&event, b"c\r\ndata: tick\n\n\r\n");
        let other = tokio::time::timeout(Duration::from_secs(2), exchange(&*server, &get("/")))
            .await
            .expect("another connection's request answered within 2 s");
        assert_eq!(other.text(), "prompt");
        events.read_exact(&mut event).await.unwrap();
        assert_eq!(&event, b"c\r\ndata: tick\n\n\r\n");
    })
}

/// A client that stops reading while its response streams: once a write has waited longer than
/// `ConnConfig::write_timeout`, the connection is closed and the stream ends.
pub fn write_timeout_closes_a_stalled_connection(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let live = Liveness::default();
        let streams = live.clone();
        let mut config = crate::engine::ServerConfig::default();
        config.conn.write_timeout = Duration::from_millis(300);
        let module = handler_module(move |call| {
            let guard = streams.guard();
            async move {
                // 64 KiB chunks as fast as the connection takes them: socket buffers fill up soon.
                let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
                let flood = futures_util::stream::unfold(guard, move |guard| {
                    let chunk = chunk.clone();
                    async move { Some((Ok::<_, Error>(chunk), guard)) }
                });
                call.respond_stream(flood, HeaderValue::from_static("application/octet-stream"))
                    .await
            }
        });
        let server = engine.start(config, module);
        let mut stream = connect_raw(&*server).await;
        stream.write_all(get("/").as_bytes()).await.unwrap();
        assert!(eventually(NOTICE, || live.started() == 1).await);
        // Never read: the server's writes stall, and the write timeout must end the connection.
        assert!(
            eventually(Duration::from_secs(10), || live.all_ended()).await,
            "the stalled response was dropped within 10 s ({} started, {} ended)",
            live.started(),
            live.ended()
        );
        drop(stream);
    })
}
