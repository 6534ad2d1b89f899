//! Server-sent events through the in-memory engine: the head, the framing, events sent while the
//! handler still runs, heartbeats, and the end of the stream from either side.

use engine_core::Application;
use engine_core::plugins::sse::{ServerSentEvent, Sse, SseConfig, SseRoute, SseSession};
use engine_core::testing::{MemoryStream, ResponseReader, TestApplication, test_application};
use http::{Method, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

fn sse_app(
    config: impl FnOnce(&mut SseConfig) + Send + 'static,
    handler: impl Fn(
        SseSession,
    ) -> engine_core::pipeline::BoxFuture<'static, Result<(), engine_core::Error>>
    + Send
    + Sync
    + 'static,
) -> TestApplication {
    test_application(move |app: &mut Application| {
        app.install(Sse, config);
        app.routing(|route| {
            route.sse("/events", handler);
        });
    })
}

/// Sends `GET /events` and reads the head, byte by byte so that no body byte is taken with it.
async fn open_events(app: &TestApplication, headers: &str) -> (Conn, String) {
    let mut conn = app.connect().unwrap();
    let stream = conn.stream();
    let request = format!("GET /events HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.unwrap());
    }
    (conn, String::from_utf8(head).unwrap())
}

type Conn = ResponseReader<MemoryStream>;

/// The next chunk of a chunked body; `None` at the last chunk.
async fn next_chunk(conn: &mut Conn) -> Option<String> {
    let stream = conn.stream();
    let mut line = Vec::new();
    while !line.ends_with(b"\r\n") {
        line.push(stream.read_u8().await.unwrap());
    }
    let size =
        usize::from_str_radix(std::str::from_utf8(&line[..line.len() - 2]).unwrap(), 16).unwrap();
    let mut data = vec![0; size + 2];
    stream.read_exact(&mut data).await.unwrap();
    assert!(data.ends_with(b"\r\n"));
    data.truncate(size);
    (size > 0).then(|| String::from_utf8(data).unwrap())
}

#[tokio::test]
async fn events_are_framed_and_the_stream_ends_with_the_handler() {
    let app = sse_app(
        |_| {},
        |session| {
            Box::pin(async move {
                session.send(ServerSentEvent::data("one")).await?;
                let second = ServerSentEvent::data("two\nlines")
                    .with_event("x")
                    .with_id("2");
                session.send(second).await?;
                session
                    .send(ServerSentEvent::comment("bye").with_retry(Duration::from_secs(1)))
                    .await
            })
        },
    );
    let response = app.client().get("/events").await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header_all("content-type"), ["text/event-stream"]);
    assert_eq!(response.header_all("cache-control"), ["no-cache"]);
    assert!(response.chunked, "{}", response.raw_head);
    assert_eq!(
        response.text(),
        "data: one\n\nevent: x\nid: 2\ndata: two\ndata: lines\n\n: bye\nretry: 1000\n\n"
    );
}

#[tokio::test]
async fn each_event_is_sent_while_the_handler_waits() {
    let go_on = Arc::new(Notify::new());
    let handler_go_on = go_on.clone();
    let app = sse_app(
        |_| {},
        move |session| {
            let go_on = handler_go_on.clone();
            Box::pin(async move {
                session.send(ServerSentEvent::data("first")).await?;
                go_on.notified().await;
                session.send(ServerSentEvent::data("second")).await
            })
        },
    );
    let (mut stream, head) = open_events(&app, "").await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // The handler waits for this test: the first event can only arrive if it was not held back.
    assert_eq!(
        next_chunk(&mut stream).await.as_deref(),
        Some("data: first\n\n")
    );
    go_on.notify_one();
    assert_eq!(
        next_chunk(&mut stream).await.as_deref(),
        Some("data: second\n\n")
    );
    assert_eq!(next_chunk(&mut stream).await, None);
}

#[tokio::test]
async fn heartbeats_fill_the_gaps() {
    let app = sse_app(
        |c| {
            c.heartbeat = Some(Duration::from_millis(20));
            c.heartbeat_event = ServerSentEvent::comment("ping");
        },
        |session| {
            Box::pin(async move {
                session.send(ServerSentEvent::data("first")).await?;
                std::future::pending().await
            })
        },
    );
    let (mut stream, _) = open_events(&app, "").await;
    assert_eq!(
        next_chunk(&mut stream).await.as_deref(),
        Some("data: first\n\n")
    );
    for _ in 0..3 {
        assert_eq!(next_chunk(&mut stream).await.as_deref(), Some(": ping\n\n"));
    }
}

/// Sets its flag when dropped: the handler's future was dropped or finished.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_client_that_leaves_ends_the_handler() {
    let ended = Arc::new(AtomicBool::new(false));
    let flag = ended.clone();
    let app = sse_app(
        |_| {},
        move |session| {
            let guard = Dropped(flag.clone());
            Box::pin(async move {
                let _guard = guard;
                loop {
                    session.send(ServerSentEvent::data("tick")).await?;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        },
    );
    let (mut stream, _) = open_events(&app, "").await;
    assert_eq!(
        next_chunk(&mut stream).await.as_deref(),
        Some("data: tick\n\n")
    );
    assert!(!ended.load(Ordering::SeqCst));
    drop(stream);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !ended.load(Ordering::SeqCst) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the handler ends once the client left"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn the_handler_sees_last_event_id() {
    let app = sse_app(
        |_| {},
        |session| {
            Box::pin(async move {
                let last = session.last_event_id().unwrap_or_else(|| "none".into());
                let path = session.call().request().path().to_owned();
                session
                    .send(ServerSentEvent::data(format!("{last} {path}")))
                    .await
            })
        },
    );
    let response = app
        .client()
        .request(
            Method::GET,
            "/events",
            &[("last-event-id", "41")],
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(response.text(), "data: 41 /events\n\n");
    assert_eq!(
        app.client().get("/events").await.unwrap().text(),
        "data: none /events\n\n"
    );
}

#[tokio::test]
async fn a_failing_handler_aborts_the_stream() {
    let app = sse_app(
        |_| {},
        |session| {
            Box::pin(async move {
                session.send(ServerSentEvent::data("partial")).await?;
                Err(engine_core::Error::msg("the feed broke"))
            })
        },
    );
    // The body never ends properly: the client can tell it from a complete stream.
    let result = app.client().get("/events").await;
    assert!(result.is_err(), "{result:?}");
    // The server goes on.
    let again = app
        .client()
        .request(Method::POST, "/events", &[], Default::default())
        .await
        .unwrap();
    assert_eq!(again.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
#[should_panic(expected = "queue size")]
fn a_zero_queue_is_a_configuration_mistake() {
    let mut app = Application::new();
    app.install(Sse, |c| c.queue_size = 0);
}

#[tokio::test]
async fn compression_leaves_an_event_stream_alone() {
    use engine_core::plugins::Compression;
    let go_on = Arc::new(Notify::new());
    let handler_go_on = go_on.clone();
    let app = test_application(move |app: &mut Application| {
        app.install(Compression, |_| {});
        app.routing(|route| {
            route.sse("/events", move |session: SseSession| {
                let go_on = handler_go_on.clone();
                async move {
                    session
                        .send(ServerSentEvent::data("x".repeat(2000)))
                        .await?;
                    go_on.notified().await;
                    Ok(())
                }
            });
        });
    });
    let (mut conn, head) = open_events(&app, "Accept-Encoding: gzip\r\n").await;
    assert!(
        !head.to_ascii_lowercase().contains("content-encoding"),
        "{head}"
    );
    // Readable before the handler goes on: an encoder would have held it back.
    let expected = format!("data: {}\n\n", "x".repeat(2000));
    assert_eq!(next_chunk(&mut conn).await, Some(expected));
    go_on.notify_one();
    assert_eq!(next_chunk(&mut conn).await, None);
}
