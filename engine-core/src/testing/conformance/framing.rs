//! Connection and framing cases (CONFORMANCE.md "Connection and framing").

use super::EngineUnderTest;
use super::support::*;
use crate::Error;
use crate::call::OutgoingContent;
use crate::engine::ServerConfig;
use crate::pipeline::BoxFuture;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use std::time::Duration;

fn text_stream(parts: &'static [&'static str]) -> OutgoingContent {
    let stream = futures_util::stream::iter(
        parts
            .iter()
            .map(|p| Ok::<_, Error>(Bytes::from_static(p.as_bytes()))),
    );
    OutgoingContent::stream(stream, HeaderValue::from_static("text/plain"))
}

/// A fixed-size text response has `Content-Length` and no `Transfer-Encoding`.
pub fn fixed_length_response_has_content_length(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(
            engine,
            |call| async move { call.respond_text("Hello").await },
        );
        let response = exchange(&*server, &get("/")).await;
        assert_eq!(response.status, StatusCode::OK);
        assert_framing(&response);
        assert_eq!(response.header_all("content-length"), ["5"]);
        assert!(response.header("transfer-encoding").is_none());
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(response.text(), "Hello");
    })
}

/// A streamed body of unknown length is chunked, with exactly one `Transfer-Encoding: chunked`.
pub fn streamed_response_is_chunked_once(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            call.respond(text_stream(&["a", "bc", "def"])).await
        });
        let response = exchange(&*server, &get("/")).await;
        assert!(response.chunked);
        assert_framing(&response);
        assert_eq!(response.header_all("transfer-encoding"), ["chunked"]);
        assert!(response.header("content-length").is_none());
        assert_eq!(response.text(), "abcdef");
    })
}

/// Two requests with `Connection: close`, on two connections, both succeed; each connection closes.
pub fn connection_close_requests_each_succeed(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move { call.respond_text("ok").await });
        for _ in 0..2 {
            let mut conn = connect(&*server).await;
            conn.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let response = conn.read_response(false).await.unwrap();
            assert_eq!(response.text(), "ok");
            assert_eq!(response.header("connection"), Some("close"));
            assert!(
                conn.is_closed().await,
                "the server closes after Connection: close"
            );
        }
    })
}

/// Two keep-alive requests on one connection both succeed.
pub fn keep_alive_requests_share_a_connection(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            let path = call.request().path().to_owned();
            call.respond_text(path).await
        });
        let mut conn = connect(&*server).await;
        for path in ["/one", "/two"] {
            conn.send(get(path)).await.unwrap();
            let response = conn.read_response(false).await.unwrap();
            assert_eq!(response.text(), path);
            assert!(response.header("connection").is_none());
        }
    })
}

/// 100 sequential requests on one connection all succeed.
pub fn hundred_sequential_requests(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            let uri = call.request().uri().to_owned();
            call.respond_text(uri).await
        });
        let mut conn = connect(&*server).await;
        for i in 0..100 {
            conn.send(get(&format!("/{i}"))).await.unwrap();
            assert_eq!(
                conn.read_response(false).await.unwrap().text(),
                format!("/{i}")
            );
        }
    })
}

/// 16 pipelined GETs written in one burst get 16 responses in request order.
pub fn pipelined_gets_answer_in_order(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            let uri = call.request().uri().to_owned();
            call.respond_text(uri).await
        });
        let mut conn = connect(&*server).await;
        let burst: String = (0..16).map(|i| get(&format!("/{i}"))).collect();
        conn.send(burst).await.unwrap();
        for i in 0..16 {
            assert_eq!(
                conn.read_response(false).await.unwrap().text(),
                format!("/{i}")
            );
        }
    })
}

/// Pipelined requests whose handlers finish out of order are answered in request order.
pub fn pipelined_out_of_order_handlers_answer_in_order(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            if call.request().path() == "/slow" {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let path = call.request().path().to_owned();
            call.respond_text(path).await
        });
        let mut conn = connect(&*server).await;
        conn.send(format!("{}{}{}", get("/slow"), get("/fast"), get("/slow")))
            .await
            .unwrap();
        for expected in ["/slow", "/fast", "/slow"] {
            assert_eq!(conn.read_response(false).await.unwrap().text(), expected);
        }
    })
}

/// HTTP/1.0 without `Connection: keep-alive` closes after the response; with it, stays open.
pub fn http10_without_keep_alive_closes(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move { call.respond_text("ten").await });
        let mut conn = connect(&*server).await;
        conn.send("GET / HTTP/1.0\r\n\r\n").await.unwrap();
        assert_eq!(conn.read_response(false).await.unwrap().text(), "ten");
        assert!(conn.is_closed().await);

        let mut conn = connect(&*server).await;
        for _ in 0..2 {
            conn.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                .await
                .unwrap();
            let response = conn.read_response(false).await.unwrap();
            assert_eq!(response.header("connection"), Some("keep-alive"));
            assert_eq!(response.text(), "ten");
        }
    })
}

/// A streamed body to an HTTP/1.0 client is never chunked: it ends with the connection.
pub fn http10_is_never_chunked(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            call.respond(text_stream(&["one ", "two"])).await
        });
        let mut conn = connect(&*server).await;
        conn.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .await
            .unwrap();
        let response = conn.read_response(false).await.unwrap();
        assert!(!response.chunked && response.header("transfer-encoding").is_none());
        assert_eq!(response.text(), "one two");
    })
}

/// A handler that ignores a 64 KiB body: 10 keep-alive requests on one socket are all answered.
pub fn ignored_bodies_are_drained(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(
            engine,
            |call| async move { call.respond_text("ignored").await },
        );
        let mut conn = connect(&*server).await;
        let body = vec![b'x'; 64 * 1024];
        for _ in 0..10 {
            let head = format!(
                "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            conn.send(head).await.unwrap();
            conn.send(&body).await.unwrap();
            assert_eq!(conn.read_response(false).await.unwrap().text(), "ignored");
        }
    })
}

/// A GET with a body can be received and echoed.
pub fn get_with_body_is_echoed(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            let body = call.receive_bytes().await?;
            call.respond_bytes(body, HeaderValue::from_static("application/octet-stream"))
                .await
        });
        let response = exchange(
            &*server,
            "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nping",
        )
        .await;
        assert_eq!(response.text(), "ping");
    })
}

/// A `Content-Length` over 2^31-1 is framed with 64-bit arithmetic, then refused by the body limit.
pub fn content_length_over_2_31_is_413(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            call.respond_text("unreachable").await
        });
        let response = exchange(
            &*server,
            "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3000000000\r\n\r\nabc",
        )
        .await;
        assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(response.header("connection"), Some("close"));
    })
}

fn echo_module() -> Box<dyn crate::Module> {
    handler_module(|call| async move {
        let body = call.receive_bytes().await?;
        call.respond_bytes(body, HeaderValue::from_static("application/octet-stream"))
            .await
    })
}

/// `Expect: 100-continue`: the interim 100 comes when the handler starts reading, before the body.
pub fn expect_continue_only_when_reading(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(ServerConfig::default(), echo_module());
        let mut conn = connect(&*server).await;
        conn.send(
            "POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        )
        .await
        .unwrap();
        let interim = conn.read_response(false).await.unwrap();
        assert_eq!(interim.status, StatusCode::CONTINUE);
        conn.send("hello").await.unwrap();
        let response = conn.read_response(false).await.unwrap();
        assert_eq!(response.text(), "hello");
    })
}

/// A handler that answers without reading gets no 100: the final response comes first.
pub fn expect_continue_not_sent_when_unread(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            call.respond_status(StatusCode::UNAUTHORIZED).await
        });
        let mut conn = connect(&*server).await;
        conn.send(
            "POST / HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
        )
        .await
        .unwrap();
        let response = conn.read_response(false).await.unwrap();
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        // Either the connection closes, or the body is drained and the connection serves the next.
        conn.send("hello").await.ok();
        if conn.send(get("/")).await.is_ok()
            && let Ok(next) = conn.read_response(false).await
        {
            assert_eq!(next.status, StatusCode::UNAUTHORIZED);
        }
    })
}

/// HTTP/1.0 requests with `Expect` get no 100.
pub fn expect_continue_ignored_for_http10(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(ServerConfig::default(), echo_module());
        let response = exchange(
            &*server,
            "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi",
        )
        .await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.text(), "hi");
    })
}

/// An expectation other than `100-continue` gets 417.
pub fn unsupported_expectation_is_417(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(ServerConfig::default(), echo_module());
        let response = exchange(
            &*server,
            "POST / HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\nhi",
        )
        .await;
        assert_eq!(response.status, StatusCode::EXPECTATION_FAILED);
    })
}

/// HEAD returns the headers GET would, `Content-Length` included, and no body.
pub fn head_has_get_headers_and_no_body(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            call.respond_text("twelve bytes").await
        });
        let mut conn = connect(&*server).await;
        conn.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        let head = conn.read_response(true).await.unwrap();
        assert_eq!(head.header("content-length"), Some("12"));
        assert!(head.body.is_empty());
        // No stray body bytes: the next response on the connection parses.
        conn.send(get("/")).await.unwrap();
        let next = conn.read_response(false).await.unwrap();
        assert_eq!(next.text(), "twelve bytes");
        assert_eq!(head.header("content-type"), next.header("content-type"));
    })
}

/// Chunk extensions (a quoted string too) are ignored; trailers are accepted, never a new request.
pub fn chunk_extensions_and_trailers_are_accepted(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(ServerConfig::default(), echo_module());
        let mut conn = connect(&*server).await;
        conn.send(
            "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
             3;name=value\r\nabc\r\n4;q=\"a;b\\\"c\"\r\ndefg\r\n0\r\nX-Trailer: yes\r\nGET: /not-a-request\r\n\r\n",
        )
        .await
        .unwrap();
        assert_eq!(conn.read_response(false).await.unwrap().text(), "abcdefg");
        conn.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nnext")
            .await
            .unwrap();
        assert_eq!(conn.read_response(false).await.unwrap().text(), "next");
    })
}

/// Response headers reach the client before the body exists: the handler streams back a request
/// body the client sends only after it has seen the response headers.
pub fn full_duplex_echo(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            let body = call.receive_stream().await?;
            call.respond_stream(body, HeaderValue::from_static("application/octet-stream"))
                .await
        });
        let mut conn = connect(&*server).await;
        conn.send("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        // Read the response head alone: nothing of the body has been sent yet.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8];
            tokio::io::AsyncReadExt::read_exact(conn.stream(), &mut byte)
                .await
                .expect("the response head before any body");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        assert!(
            head.starts_with("http/1.1 200") && head.contains("transfer-encoding: chunked"),
            "{head}"
        );
        for word in ["ping", "pong"] {
            conn.send(format!("4\r\n{word}\r\n")).await.unwrap();
            let mut echoed = [0u8; 9];
            tokio::io::AsyncReadExt::read_exact(conn.stream(), &mut echoed)
                .await
                .unwrap();
            assert_eq!(&echoed, format!("4\r\n{word}\r\n").as_bytes());
        }
        conn.send("0\r\n\r\n").await.unwrap();
        let mut end = [0u8; 5];
        tokio::io::AsyncReadExt::read_exact(conn.stream(), &mut end)
            .await
            .unwrap();
        assert_eq!(&end, b"0\r\n\r\n");
    })
}

/// A handler's error is a 500 that names nothing internal; the connection and server go on.
pub fn handler_failure_is_500_and_connection_goes_on(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            if call.request().path() == "/fail" {
                return Err(Error::msg("secret database password in this message"));
            }
            call.respond_text("fine").await
        });
        let mut conn = connect(&*server).await;
        conn.send(get("/fail")).await.unwrap();
        let failed = conn.read_response(false).await.unwrap();
        assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !failed.text().contains("secret"),
            "the body names no internal detail: {}",
            failed.text()
        );
        conn.send(get("/")).await.unwrap();
        assert_eq!(conn.read_response(false).await.unwrap().text(), "fine");
    })
}

/// A handler that panics gets a 500; the server goes on.
pub fn handler_panic_is_500(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            if call.request().path() == "/panic" {
                panic!("handler panic (expected by the test)");
            }
            call.respond_text("alive").await
        });
        let response = exchange(&*server, &get("/panic")).await;
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(exchange(&*server, &get("/")).await.text(), "alive");
    })
}

/// A handler that only sets a status (202) and a header, never a body, sends exactly that.
pub fn status_only_response(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            call.response().status(StatusCode::ACCEPTED);
            call.response()
                .set_header("x-only", HeaderValue::from_static("header"));
            Ok(())
        });
        let response = exchange(&*server, &get("/")).await;
        assert_eq!(response.status, StatusCode::ACCEPTED);
        assert_eq!(response.header("x-only"), Some("header"));
        assert_eq!(response.header("content-length"), Some("0"));
        assert!(response.body.is_empty());
    })
}

/// With nothing answering, every path is 404.
pub fn empty_routing_is_404(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = engine.start(
            ServerConfig::default(),
            Box::new(|_: &mut crate::Application| {}),
        );
        for path in ["/", "/anything", "/a/b?c=d"] {
            assert_eq!(
                exchange(&*server, &get(path)).await.status,
                StatusCode::NOT_FOUND
            );
        }
    })
}

/// `Date` is on every response and correct to the second; one per response.
pub fn date_header_on_every_response(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(
            engine,
            |call| async move { call.respond_text("dated").await },
        );
        for response in [
            exchange(&*server, &get("/")).await,
            exchange(&*server, "GET / HTTP/1.1\r\n\r\n").await,
        ] {
            let dates = response.header_all("date");
            assert_eq!(dates.len(), 1, "{}", response.raw_head);
            let date = httpdate::parse_http_date(dates[0]).expect("an IMF-fixdate");
            let skew = std::time::SystemTime::now()
                .duration_since(date)
                .unwrap_or_default();
            assert!(skew < Duration::from_secs(3), "Date is {skew:?} old");
        }
    })
}

/// A head sent slower than the header timeout gets 408 and the connection is freed.
pub fn header_timeout_gives_408(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let mut config = ServerConfig::default();
        config.conn.header_read_timeout = Duration::from_millis(300);
        let server = engine.start(
            config,
            handler_module(|call| async move { call.respond_text("late").await }),
        );
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

/// Each bad input gets its status, then the connection closes; the server is unaffected.
pub fn bad_requests_get_their_status(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            let body = call.receive_bytes().await?;
            call.respond_bytes(body, HeaderValue::from_static("text/plain"))
                .await
        });
        let long_target = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9000));
        let big_header = format!(
            "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
            "b".repeat(70_000)
        );
        let many: String = (0..120).map(|i| format!("X-{i}: v\r\n")).collect();
        let many_headers = format!("GET / HTTP/1.1\r\nHost: t\r\n{many}\r\n");
        let cases: Vec<(&str, String, u16)> = vec![
            ("CL and TE", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), 400),
            ("two CLs", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".into(), 400),
            ("CL list", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 4\r\n\r\nabcd".into(), 400),
            ("CL sign", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +3\r\n\r\nabc".into(), 400),
            ("TE not chunked last", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, smuggle\r\n\r\n".into(), 400),
            ("TE vertical tab", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: \x0bchunked\r\n\r\n".into(), 400),
            ("TE on 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), 400),
            ("space before colon", "GET / HTTP/1.1\r\nHost : t\r\n\r\n".into(), 400),
            ("obs-fold", "GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n".into(), 400),
            ("bare CR", "GET / HTTP/1.1\r\nHost: t\rX: y\r\n\r\n".into(), 400),
            ("NUL in method", "G\0T / HTTP/1.1\r\nHost: t\r\n\r\n".into(), 400),
            ("control in target", "GET /a\x01b HTTP/1.1\r\nHost: t\r\n\r\n".into(), 400),
            ("control in field value", "GET / HTTP/1.1\r\nHost: t\r\nX: a\x01b\r\n\r\n".into(), 400),
            ("no Host", "GET / HTTP/1.1\r\n\r\n".into(), 400),
            ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".into(), 400),
            ("bad chunk size", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".into(), 400),
            ("chunk size overflow", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n".into(), 400),
            ("chunk without CRLF", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n".into(), 400),
            ("long target", long_target, 414),
            ("big header section", big_header, 431),
            ("too many fields", many_headers, 431),
            ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: t\r\n\r\n".into(), 505),
            ("unknown coding", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".into(), 501),
        ];
        for (name, request, status) in cases {
            let mut conn = connect(&*server).await;
            conn.send(&request).await.ok();
            let response = conn
                .read_response(false)
                .await
                .unwrap_or_else(|e| panic!("{name}: no response: {e}"));
            assert_eq!(response.status.as_u16(), status, "{name}");
            assert!(conn.is_closed().await, "{name}: the connection closes");
        }
        assert_eq!(
            exchange(
                &*server,
                "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok"
            )
            .await
            .text(),
            "ok"
        );
    })
}
