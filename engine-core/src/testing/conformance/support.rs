//! Helpers the cases share: apps from one handler, connections, assertions.

use super::{EngineUnderTest, TestServer, TestStream};
use crate::engine::ServerConfig;
use crate::testing::{ResponseReader, TestResponse};
use crate::{Application, ApplicationCall, CallPipeline, Error, Module};
use bytes::Bytes;
use std::any::Any;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// A module whose every call is answered by `handler`.
pub(super) fn handler_module<F, Fut>(handler: F) -> Box<dyn Module>
where
    F: Fn(ApplicationCall) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    Box::new(move |app: &mut Application| {
        app.call_pipeline()
            .intercept_boxed(CallPipeline::CALL, move |ctx| {
                Box::pin(handler(ctx.context.clone()))
            });
    })
}

/// Starts a server for `handler` with the default configuration.
pub(super) fn serve<F, Fut>(engine: &dyn EngineUnderTest, handler: F) -> Box<dyn TestServer>
where
    F: Fn(ApplicationCall) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    engine.start(ServerConfig::default(), handler_module(handler))
}

/// Opens a connection wrapped in a response reader.
pub(super) async fn connect(server: &dyn TestServer) -> ResponseReader<Box<dyn TestStream>> {
    ResponseReader::new(
        server
            .connect()
            .await
            .expect("connect to the server under test"),
    )
}

/// Sends `request` on a new connection and reads one response.
pub(super) async fn exchange(server: &dyn TestServer, request: &str) -> TestResponse {
    let mut conn = connect(server).await;
    conn.send(request).await.expect("send");
    conn.read_response(request.starts_with("HEAD "))
        .await
        .expect("a response")
}

/// `GET path` with `Host`.
pub(super) fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// Asserts a response has exactly one framing: a `Content-Length` or one `Transfer-Encoding: chunked`.
pub(super) fn assert_framing(response: &TestResponse) {
    let lengths = response.header_all("content-length").len();
    let encodings = response.header_all("transfer-encoding");
    assert!(
        (lengths == 1 && encodings.is_empty())
            || (lengths == 0 && encodings == ["chunked"])
            || (lengths == 0 && encodings.is_empty()),
        "framing headers: {}",
        response.raw_head
    );
}

/// Opens a connection without a response reader, for cases that read raw bytes.
pub(super) async fn connect_raw(server: &dyn TestServer) -> Box<dyn TestStream> {
    server
        .connect()
        .await
        .expect("connect to the server under test")
}

/// Reads a response head byte by byte, so that nothing after it is consumed: what follows belongs
/// to a body or to another protocol.
pub(super) async fn read_head_raw(stream: &mut (impl AsyncRead + Unpin)) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        stream
            .read_exact(&mut byte)
            .await
            .unwrap_or_else(|e| panic!("a complete response head, got {head:?}: {e}"));
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// The values of `name` in a raw head, names compared case-insensitively.
pub(super) fn head_values<'h>(head: &'h str, name: &str) -> Vec<&'h str> {
    head.split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

/// Reads until the server closes the connection, which it must do `within`; a hang fails the case.
pub(super) async fn read_until_closed(
    conn: &mut ResponseReader<Box<dyn TestStream>>,
    within: Duration,
) -> Bytes {
    tokio::time::timeout(within, conn.read_to_end())
        .await
        .unwrap_or_else(|_| panic!("the server closed the connection within {within:?}"))
}

/// Asserts `raw` does not parse as a complete response: the client can tell the body was cut.
pub(super) async fn assert_incomplete(raw: &Bytes) {
    let mut reader = ResponseReader::new(std::io::Cursor::new(raw.to_vec()));
    if let Ok(response) = reader.read_response(false).await {
        panic!(
            "a response that looks complete: {}{:?}",
            response.raw_head, response.body
        );
    }
}

/// Resets a connection like a TCP RST: the in-memory stream's own reset, or a zero linger on a
/// socket before it is dropped. Another stream type is only dropped.
pub(super) fn reset(stream: Box<dyn TestStream>) {
    let any: Box<dyn Any> = stream;
    if let Some(memory) = any.downcast_ref::<crate::testing::MemoryStream>() {
        memory.reset();
    } else if let Some(tcp) = any.downcast_ref::<tokio::net::TcpStream>() {
        tcp.set_zero_linger()
            .expect("SO_LINGER 0 on the test socket");
    }
}

/// Polls `condition` every 10 ms until it holds or `within` passes; whether it held.
pub(super) async fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if condition() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Counts the handlers (or streams) that started and those that ended: each holds a
/// [`LiveGuard`] whose drop counts it ended, whether it finished or was cancelled.
#[derive(Debug, Clone, Default)]
pub(super) struct Liveness {
    counts: Arc<(AtomicUsize, AtomicUsize)>,
}

/// Held by a handler or moved into a stream; see [`Liveness`].
#[derive(Debug)]
pub(super) struct LiveGuard(Liveness);

impl Liveness {
    /// Counts one more started, ended when the guard drops.
    pub(super) fn guard(&self) -> LiveGuard {
        self.counts.0.fetch_add(1, Ordering::SeqCst);
        LiveGuard(self.clone())
    }

    pub(super) fn started(&self) -> usize {
        self.counts.0.load(Ordering::SeqCst)
    }

    pub(super) fn ended(&self) -> usize {
        self.counts.1.load(Ordering::SeqCst)
    }

    /// Whether everything that started has ended (and something did start).
    pub(super) fn all_ended(&self) -> bool {
        let started = self.started();
        started > 0 && self.ended() == started
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.counts.1.fetch_add(1, Ordering::SeqCst);
    }
}

/// A value a handler records for the case to check: what its `receive` returned, say.
#[derive(Debug, Clone)]
pub(super) struct Slot<T> {
    value: Arc<Mutex<Option<T>>>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            value: Arc::new(Mutex::new(None)),
        }
    }
}

impl<T: Clone> Slot<T> {
    pub(super) fn set(&self, value: T) {
        *self.lock() = Some(value);
    }

    pub(super) fn get(&self) -> Option<T> {
        self.lock().clone()
    }

    /// Empties the slot, for the next value.
    pub(super) fn clear(&self) {
        *self.lock() = None;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<T>> {
        self.value
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
