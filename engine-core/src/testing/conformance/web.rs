//! The web plugins over every engine (CONFORMANCE.md "Static files" and "SSE"): files from a real
//! directory served byte for byte through the engine's file I/O, and server-sent events framed,
//! flushed one by one, and never holding up other connections.

use super::EngineUnderTest;
use super::support::*;
use crate::engine::ServerConfig;
use crate::pipeline::BoxFuture;
use crate::plugins::sse::{ServerSentEvent, SseRoute, SseSession};
use crate::plugins::static_files::StaticFilesRoute;
use crate::{Application, ApplicationCall, Module};
use http::StatusCode;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

/// A directory of its own under the system's temporary directory, removed when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "engine-core-conformance-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        // Left over from a run that crashed with the same process id.
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("a scratch directory");
        Self(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every byte value, then a pattern long enough to be streamed in many chunks: 1 MiB.
fn file_bytes() -> Vec<u8> {
    (0..=255u8)
        .chain((0..(1u32 << 20) - 256).map(|i| (i % 251).to_le_bytes()[0] ^ 0x5a))
        .collect()
}

/// A static file is served byte-exact (a small one and a 1 MiB one, with their
/// `Content-Length`), and a missing file is 404; the connection serves both in turn.
pub fn static_file_is_served_byte_exact(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let dir = ScratchDir::new();
        let big = file_bytes();
        std::fs::write(dir.path().join("small.bin"), &big[..256]).unwrap();
        std::fs::write(dir.path().join("big.bin"), &big).unwrap();
        let root = dir.path().to_owned();
        let module: Box<dyn Module> = Box::new(move |app: &mut Application| {
            app.routing(|route| {
                route.static_files("/files", root, |_| {});
            });
        });
        let server = engine.start(ServerConfig::default(), module);
        let mut conn = connect(&*server).await;
        for (name, expected) in [("small.bin", &big[..256]), ("big.bin", &big[..])] {
            conn.send(get(&format!("/files/{name}"))).await.unwrap();
            let response = conn.read_response(false).await.unwrap();
            assert_eq!(response.status, StatusCode::OK, "{name}");
            assert_framing(&response);
            assert_eq!(
                response.header("content-length"),
                Some(expected.len().to_string().as_str()),
                "{name}: {}",
                response.raw_head
            );
            assert!(response.body == expected, "{name}: the body differs");
        }
        conn.send(get("/files/missing.bin")).await.unwrap();
        let missing = conn.read_response(false).await.unwrap();
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        conn.send(get("/files/%2e%2e/etc/passwd")).await.unwrap();
        let outside = conn.read_response(false).await.unwrap();
        assert_eq!(outside.status, StatusCode::NOT_FOUND);
    })
}

/// Reads one chunk of a chunked body; `None` for the last chunk.
async fn read_chunk(stream: &mut (impl AsyncRead + Unpin)) -> Option<String> {
    let mut line = Vec::new();
    while !line.ends_with(b"\r\n") {
        line.push(stream.read_u8().await.expect("a chunk-size line"));
    }
    let size = std::str::from_utf8(&line[..line.len() - 2])
        .ok()
        .and_then(|hex| usize::from_str_radix(hex, 16).ok())
        .unwrap_or_else(|| panic!("a chunk size, got {line:?}"));
    let mut data = vec![0; size + 2];
    stream.read_exact(&mut data).await.expect("the chunk");
    assert!(data.ends_with(b"\r\n"), "a chunk ends with CRLF");
    data.truncate(size);
    (size > 0).then(|| String::from_utf8(data).expect("events are UTF-8"))
}

/// SSE: `text/event-stream` with `Cache-Control: no-cache`, each event framed with its `data:`
/// lines and the empty line that dispatches it, and the stream ends when the handler returns.
pub fn sse_events_are_framed(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let module: Box<dyn Module> = Box::new(|app: &mut Application| {
            app.routing(|route| {
                route.sse("/events", |session: SseSession| async move {
                    session.send(ServerSentEvent::data("hello")).await?;
                    let multi = ServerSentEvent::data("a\nb")
                        .with_event("pair")
                        .with_id("2");
                    session.send(multi).await
                });
            });
        });
        let server = engine.start(ServerConfig::default(), module);
        let response = exchange(&*server, &get("/events")).await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.header_all("content-type"), ["text/event-stream"]);
        assert_eq!(response.header_all("cache-control"), ["no-cache"]);
        assert_framing(&response);
        assert_eq!(
            response.text(),
            "data: hello\n\nevent: pair\nid: 2\ndata: a\ndata: b\n\n"
        );
    })
}

/// A long-lived SSE stream does not delay other requests: while its handler waits, a request on
/// another connection is answered, and it is that request's handler that lets the stream go on.
/// An engine that ran one connection at a time would never get there (the suite's timeout).
pub fn sse_stream_does_not_delay_others(engine: &dyn EngineUnderTest) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let go_on = Arc::new(Notify::new());
        let (waiting, waking) = (go_on.clone(), go_on);
        let module: Box<dyn Module> = Box::new(move |app: &mut Application| {
            app.routing(|route| {
                route.sse("/events", move |session: SseSession| {
                    let go_on = waiting.clone();
                    async move {
                        session.send(ServerSentEvent::data("first")).await?;
                        go_on.notified().await;
                        session.send(ServerSentEvent::data("second")).await
                    }
                });
                route.get("/other", move |call: ApplicationCall| {
                    let go_on = waking.clone();
                    async move {
                        go_on.notify_one();
                        call.respond_text("answered").await
                    }
                });
            });
        });
        let server = engine.start(ServerConfig::default(), module);
        let mut events = connect_raw(&*server).await;
        events.write_all(get("/events").as_bytes()).await.unwrap();
        let head = read_head_raw(&mut events).await;
        assert_eq!(head_values(&head, "content-type"), ["text/event-stream"]);
        assert_eq!(
            read_chunk(&mut events).await.as_deref(),
            Some("data: first\n\n")
        );
        let other = exchange(&*server, &get("/other")).await;
        assert_eq!(other.text(), "answered");
        assert_eq!(
            read_chunk(&mut events).await.as_deref(),
            Some("data: second\n\n")
        );
        assert_eq!(read_chunk(&mut events).await, None);
    })
}
