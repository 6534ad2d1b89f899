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

/// A handler that keeps its call past the response (here in a list; a spawned task would do the
/// same) does not have it refilled with the connection's next request: each request, sequential
/// or pipelined, is a call of its own, and a kept call still shows its own request afterwards.
pub fn calls_kept_past_their_response_stay_their_own(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let list = kept.clone();
        let server = serve(engine, move |call| {
            let list = list.clone();
            async move {
                let path = call.request().path().to_owned();
                // Every other call is kept: the driver meets a held call and a free one in turn.
                if path.ends_with(['0', '2', '4']) {
                    list.lock().unwrap().push(call.clone());
                }
                call.response()
                    .set_header("x-path", HeaderValue::from_str(&path)?);
                call.respond_text(path).await
            }
        });
        let mut conn = connect(&*server).await;
        for path in ["/0", "/1"] {
            conn.send(get(path)).await.unwrap();
            let response = conn.read_response(false).await.unwrap();
            assert_eq!(response.text(), path);
            assert_eq!(response.header("x-path"), Some(path));
        }
        conn.send(["/2", "/3", "/4", "/5"].map(get).concat())
            .await
            .unwrap();
        for path in ["/2", "/3", "/4", "/5"] {
            let response = conn.read_response(false).await.unwrap();
            assert_eq!(response.text(), path);
            assert_eq!(response.header("x-path"), Some(path));
        }
        let kept: Vec<String> = kept
            .lock()
            .unwrap()
            .iter()
            .map(|call| call.request().path().to_owned())
            .collect();
        assert_eq!(kept, ["/0", "/2", "/4"]);
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
        // The reader read to the end of the connection: a close-delimited body does not claim a
        // connection that persists (RFC 9112 §6.3, §9.3).
        assert!(
            response.header("content-length").is_none(),
            "{}",
            response.raw_head
        );
        assert_ne!(
            response.header("connection"),
            Some("keep-alive"),
            "{}",
            response.raw_head
        );
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

/// HEAD returns the headers GET would, `Content-Length` included, and no body; for a streamed
/// response too (no chunk, not even the last).
pub fn head_has_get_headers_and_no_body(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            if call.request().path() == "/stream" {
                return call.respond(text_stream(&["stre", "amed"])).await;
            }
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
        assert_same_headers(&head, &next);
        conn.send("HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        let head = conn.read_response(true).await.unwrap();
        assert_eq!(head.status, StatusCode::OK);
        conn.send(get("/stream")).await.unwrap();
        let next = conn.read_response(false).await.unwrap();
        assert_eq!(next.text(), "streamed", "{}", next.raw_head);
        // A length known only at the stream's end is not in the HEAD response, and RFC 9112 §6.1
        // lets it leave out `Transfer-Encoding` too; every other field is GET's.
        let mut get_fields = next.clone();
        get_fields.headers.remove("transfer-encoding");
        assert_same_headers(&head, &get_fields);
    })
}

/// Every header the GET response has, the HEAD response has, with the same values (the clock's
/// aside).
fn assert_same_headers(head: &crate::testing::TestResponse, get: &crate::testing::TestResponse) {
    let (mut head_headers, mut get_headers) = (head.headers.clone(), get.headers.clone());
    head_headers.remove("date");
    get_headers.remove("date");
    assert_eq!(
        head_headers, get_headers,
        "{}{}",
        head.raw_head, get.raw_head
    );
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
             3;name=value\r\nabc\r\n4;q=\"a;b\\\"c\"\r\ndefg\r\n2;flag\r\nhi\r\n2 ; a = b ;c\r\njk\r\n0;last\r\nX-Trailer: yes\r\nGET: /not-a-request\r\n\r\n",
        )
        .await
        .unwrap();
        assert_eq!(
            conn.read_response(false).await.unwrap().text(),
            "abcdefghijk"
        );
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

/// With nothing answering (no routing at all, or a routing with no routes), every path is 404.
pub fn empty_routing_is_404(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let nothing: Box<dyn crate::Module> = Box::new(|_: &mut crate::Application| {});
        let no_routes: Box<dyn crate::Module> =
            Box::new(|app: &mut crate::Application| app.routing(|_| {}));
        for module in [nothing, no_routes] {
            let server = engine.start(ServerConfig::default(), module);
            for path in ["/", "/anything", "/a/b?c=d"] {
                let response = exchange(&*server, &get(path)).await;
                assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
                assert_framing(&response);
            }
            let post = "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx";
            assert_eq!(exchange(&*server, post).await.status, StatusCode::NOT_FOUND);
        }
    })
}

/// Seconds since the epoch.
fn epoch_secs(time: std::time::SystemTime) -> u64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// `Date` is on every response, one per response, and correct to the second: between the second
/// before the request went out and the second after its response came (a second's slack each side
/// for the coarse clock the cache reads). Fixed, streamed, failed, refused and HTTP/1.0 responses.
pub fn date_header_on_every_response(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = serve(engine, |call| async move {
            match call.request().path() {
                "/stream" => call.respond(text_stream(&["da", "ted"])).await,
                "/fail" => Err(Error::msg("failed (expected by the test)")),
                _ => call.respond_text("dated").await,
            }
        });
        for request in [
            get("/"),
            get("/stream"),
            get("/fail"),
            "GET / HTTP/1.1\r\n\r\n".to_owned(),
            "GET / HTTP/1.0\r\n\r\n".to_owned(),
        ] {
            let before = epoch_secs(std::time::SystemTime::now());
            let response = exchange(&*server, &request).await;
            let after = epoch_secs(std::time::SystemTime::now());
            let dates = response.header_all("date");
            assert_eq!(dates.len(), 1, "{}", response.raw_head);
            let date = httpdate::parse_http_date(dates[0]).expect("an IMF-fixdate");
            let date = epoch_secs(date);
            assert!(
                before.saturating_sub(1) <= date && date <= after + 1,
                "{request:?}: Date is {date}, the request ran from {before} to {after}"
            );
        }
    })
}

/// A server that answers without reading the body, its drain limit 4 KiB.
fn small_drain_server(engine: &dyn EngineUnderTest) -> Box<dyn super::TestServer> {
    let mut config = ServerConfig::default();
    config.conn.max_drain = 4096;
    engine.start(
        config,
        handler_module(|call| async move { call.respond_text("ignored").await }),
    )
}

/// An unread body past `max_drain`: the response is sent whole, then the connection closes; a
/// body within it is drained and the connection serves the next request. Both framings.
pub fn unread_body_past_drain_limit_closes_after_response(
    engine: &dyn EngineUnderTest,
) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let server = small_drain_server(engine);
        let length = |n: usize| {
            let body = "x".repeat(n);
            format!("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: {n}\r\n\r\n{body}")
        };
        let chunked = |n: usize| {
            let chunks: String = (0..n / 1024)
                .map(|_| format!("400\r\n{}\r\n", "y".repeat(1024)))
                .collect();
            format!(
                "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{chunks}0\r\n\r\n"
            )
        };
        for (name, request, drained) in [
            ("length within", length(2048), true),
            ("chunked within", chunked(2048), true),
            ("length past", length(16 * 1024), false),
            ("chunked past", chunked(16 * 1024), false),
        ] {
            let mut conn = connect(&*server).await;
            conn.send(&request).await.unwrap();
            let response = conn.read_response(false).await.expect("the whole response");
            assert_eq!(response.text(), "ignored", "{name}");
            if drained {
                conn.send(get("/next")).await.unwrap();
                let next = conn.read_response(false).await;
                assert_eq!(next.expect("the next response").text(), "ignored", "{name}");
            } else {
                let rest = read_until_closed(&mut conn, Duration::from_secs(5)).await;
                assert!(rest.is_empty(), "{name}: more after the response: {rest:?}");
            }
        }
    })
}
