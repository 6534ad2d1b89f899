//! A WebSocket session (Ktor's `DefaultWebSocketSession`): what a handler reads from and writes to,
//! and the two loops that drive the connection under it.
//!
//! The handler, a reader loop and a writer loop run side by side in the upgraded connection's task:
//! - the reader takes frames from tungstenite (which unmasks, reassembles fragments, answers pings
//!   and the peer's Close, RFC 6455 §5.5) and hands data and Close messages to the handler through
//!   a bounded queue; it reads only when the queue has room, so a slow handler pushes back on the
//!   peer through TCP;
//! - the writer sends what the handler queued (batched into one flush), the server's pings, and
//!   the Close frame, and ends the connection when the close handshake is over or times out;
//! - a frame the peer got wrong ends the session with the Close code RFC 6455 §7.4.1 gives it:
//!   1002 for a protocol error, 1007 for invalid UTF-8, 1009 for a frame or message over the limit.
//!
//! When the handler returns, the session is closed with 1000 (or 1011 if it failed); when the
//! server stops, with 1001.

use super::{CloseCode, CloseFrame, Message, WebSocketsConfig};
use crate::upgrade::Upgraded;
use crate::{ApplicationCall, Error};
use bytes::Bytes;
use futures_core::Stream;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use http::StatusCode;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tungstenite::error::{Error as WsError, ProtocolError};
use tungstenite::protocol::Role;

type Socket = WebSocketStream<Upgraded>;

/// Messages fed before one flush: enough to batch a burst of small frames into few writes.
const BATCH: usize = 64;

/// The largest Close reason: a control frame carries at most 125 bytes, two of them the code
/// (RFC 6455 §5.5).
const MAX_REASON: usize = 123;

/// One side of a WebSocket conversation, handed to a route's handler.
///
/// The connection lives until the handler returns: a handler should return once `recv` gives
/// `None` or `send` fails. A message `send` accepted is queued, not yet written: one over the
/// peer's Close, or one still queued when the connection breaks, is lost without an error.
///
/// ```no_run
/// use engine_core::websocket::{CloseCode, Message, WebSocketSession};
///
/// async fn chat(mut session: WebSocketSession) -> Result<(), engine_core::Error> {
///     session.send(Message::text("welcome")).await?;
///     while let Some(message) = session.recv().await {
///         if let Message::Text(text) = message? {
///             if text.as_str() == "bye" {
///                 return session.close(CloseCode::Normal, "bye").await;
///             }
///             session.send(Message::text(format!("you said {text}"))).await?;
///         }
///     }
///     // The peer closed: its reason, if it gave one.
///     let _reason = session.close_reason();
///     Ok(())
/// }
/// ```
pub struct WebSocketSession {
    call: ApplicationCall,
    incoming: mpsc::Receiver<Result<Message, Error>>,
    outgoing: mpsc::Sender<Command>,
    shared: Arc<Shared>,
}

impl fmt::Debug for WebSocketSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketSession")
            .field("call", &self.call)
            .field("is_closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// What the handler asks the writer to do.
enum Command {
    Send(Message),
    Close(CloseFrame),
}

/// What the reader tells the writer.
enum Control {
    /// The peer broke the protocol: send this Close and end.
    Fail(CloseFrame),
    /// The connection is over.
    ReaderDone,
}

#[derive(Default)]
struct Shared {
    /// No more messages can be sent: we sent a Close, the peer did, or the connection ended.
    closed: AtomicBool,
    /// A ping went out and no pong came back yet.
    pong_pending: AtomicBool,
    /// The peer's Close frame.
    close_reason: Mutex<Option<CloseFrame>>,
}

impl WebSocketSession {
    /// The call that opened the session: its request, parameters and attributes.
    pub fn call(&self) -> &ApplicationCall {
        &self.call
    }

    /// The next message from the peer: text, binary, or the peer's Close (then `None`). Pings and
    /// pongs are answered and consumed here. `None` once the connection is over; an error if the
    /// peer broke the protocol (the session is then closed with the matching code).
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        self.incoming.recv().await
    }

    /// The messages from the peer as a stream, as [`recv`](Self::recv) returns them.
    pub fn incoming(&mut self) -> impl Stream<Item = Result<Message, Error>> + Send + '_ {
        futures_util::stream::poll_fn(|cx| self.incoming.poll_recv(cx))
    }

    /// Queues `message` for the peer; waits while the outgoing queue is full. A `Close` message
    /// closes the session. Fails once the session is closed.
    pub async fn send(&self, message: Message) -> Result<(), Error> {
        match message {
            Message::Close(frame) => {
                let frame = frame.unwrap_or_else(|| close_frame(CloseCode::Normal, ""));
                self.close_with(frame).await
            }
            message => {
                if self.is_closed() {
                    return Err(closed());
                }
                self.outgoing
                    .send(Command::Send(message))
                    .await
                    .map_err(|_| closed())
            }
        }
    }

    /// Starts the close handshake with `code` and `reason` (cut to 123 bytes); later sends fail.
    /// Keep calling [`recv`](Self::recv) to see the peer's answer, or return.
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.close_with(close_frame(code, reason)).await
    }

    /// Whether the session is closed for sending.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    /// The peer's Close frame, once it sent one.
    pub fn close_reason(&self) -> Option<CloseFrame> {
        self.shared
            .close_reason
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    async fn close_with(&self, frame: CloseFrame) -> Result<(), Error> {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return Err(closed());
        }
        self.outgoing
            .send(Command::Close(frame))
            .await
            .map_err(|_| closed())
    }
}

fn closed() -> Error {
    Error::new(StatusCode::INTERNAL_SERVER_ERROR, WsError::AlreadyClosed)
}

fn close_frame(code: CloseCode, reason: &str) -> CloseFrame {
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    CloseFrame {
        code,
        reason: reason[..end].into(),
    }
}

/// The Close a read error calls for (RFC 6455 §7.4.1), if the connection can still carry one.
fn failure_frame(error: &WsError) -> Option<CloseFrame> {
    let code = match error {
        WsError::Capacity(_) => CloseCode::Size,
        WsError::Utf8(_) => CloseCode::Invalid,
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => return None,
        WsError::Protocol(_) | WsError::AttackAttempt => CloseCode::Protocol,
        _ => return None,
    };
    Some(close_frame(code, ""))
}

/// Runs a session on an upgraded connection: the handler, the reader and the writer, until all
/// three are done.
pub(super) async fn run<F>(
    io: Upgraded,
    call: ApplicationCall,
    config: WebSocketsConfig,
    stopping: Option<watch::Receiver<bool>>,
    handler: impl FnOnce(WebSocketSession) -> F,
) where
    F: Future<Output = Result<(), Error>>,
{
    let socket =
        WebSocketStream::from_raw_socket(io, Role::Server, Some(config.protocol_config())).await;
    let (sink, stream) = socket.split();
    let (incoming_tx, incoming) = mpsc::channel(config.incoming_queue_size);
    let (outgoing, outgoing_rx) = mpsc::channel(config.outgoing_queue_size);
    let (control, control_rx) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared::default());
    let closer = outgoing.clone();
    let session = WebSocketSession {
        call,
        incoming,
        outgoing,
        shared: shared.clone(),
    };
    let handler = async move {
        let code = match handler(session).await {
            Ok(()) => CloseCode::Normal,
            Err(error) => {
                tracing::debug!(%error, "WebSocket handler failed");
                CloseCode::Error
            }
        };
        // Ignored if the handler closed already or the connection is gone.
        let _ = closer.send(Command::Close(close_frame(code, ""))).await;
    };
    let reader = Reader {
        stream,
        incoming: Some(incoming_tx),
        control,
        shared: shared.clone(),
        stop: stop_rx,
    };
    let writer = Writer {
        sink,
        outgoing: outgoing_rx,
        control: control_rx,
        shared,
        config,
        stop,
        stopping,
    };
    tokio::join!(handler, reader.run(), writer.run());
}

struct Reader {
    stream: SplitStream<Socket>,
    incoming: Option<mpsc::Sender<Result<Message, Error>>>,
    control: mpsc::UnboundedSender<Control>,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
}

impl Reader {
    async fn run(mut self) {
        loop {
            // Room for the next message first: a slow handler stops the reading, not the memory.
            let permit = match self.incoming.clone() {
                Some(tx) => tokio::select! {
                    permit = tx.reserve_owned() => permit.ok(),
                    _ = self.stop.changed() => break,
                },
                None => None,
            };
            if permit.is_none() {
                // The handler dropped its session: keep reading for the close handshake only.
                self.incoming = None;
            }
            let next = tokio::select! {
                next = self.stream.next() => next,
                _ = self.stop.changed() => break,
            };
            let message = match next {
                None => break,
                Some(Ok(Message::Pong(_))) => {
                    self.shared.pong_pending.store(false, Ordering::Release);
                    continue;
                }
                // tungstenite queued the pong; the next read sends it.
                Some(Ok(Message::Ping(_) | Message::Frame(_))) => continue,
                Some(Ok(message)) => Ok(message),
                Some(Err(error)) => {
                    if let Some(frame) = failure_frame(&error) {
                        let _ = self.control.send(Control::Fail(frame));
                    }
                    if let Some(permit) = permit {
                        permit.send(Err(Error::new(StatusCode::BAD_REQUEST, error)));
                    }
                    break;
                }
            };
            if let Ok(Message::Close(frame)) = &message {
                self.shared.closed.store(true, Ordering::Release);
                *self
                    .shared
                    .close_reason
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()) = frame.clone();
            }
            if let Some(permit) = permit {
                permit.send(message);
            }
        }
        self.shared.closed.store(true, Ordering::Release);
        let _ = self.control.send(Control::ReaderDone);
    }
}

struct Writer {
    sink: SplitSink<Socket, Message>,
    outgoing: mpsc::Receiver<Command>,
    control: mpsc::UnboundedReceiver<Control>,
    shared: Arc<Shared>,
    config: WebSocketsConfig,
    stop: watch::Sender<bool>,
    /// The server's stop signal.
    stopping: Option<watch::Receiver<bool>>,
}

impl Writer {
    async fn run(mut self) {
        let mut ping = self.config.ping_period.map(|period| {
            let mut ping = tokio::time::interval_at(Instant::now() + period, period);
            ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ping
        });
        let mut pong_deadline: Option<Instant> = None;
        let mut close_deadline: Option<Instant> = None;
        loop {
            tokio::select! {
                biased;
                control = self.control.recv() => {
                    if let Some(Control::Fail(frame)) = control {
                        self.close_now(frame).await;
                    }
                    break;
                }
                () = sleep_until(close_deadline), if close_deadline.is_some() => break,
                () = stopped(&mut self.stopping), if close_deadline.is_none() => {
                    let frame = close_frame(CloseCode::Away, "server stopping");
                    match self.sink.send(Message::Close(Some(frame))).await {
                        Ok(()) => close_deadline = Some(Instant::now() + self.config.close_timeout),
                        Err(_) => break,
                    }
                }
                () = sleep_until(pong_deadline), if pong_deadline.is_some() => {
                    if self.shared.pong_pending.load(Ordering::Acquire) {
                        self.close_now(close_frame(CloseCode::Error, "ping timeout")).await;
                        break;
                    }
                    pong_deadline = None;
                }
                _ = tick(&mut ping), if close_deadline.is_none() => {
                    // One ping at a time: an unanswered one is the pong deadline's business.
                    if self.shared.pong_pending.swap(true, Ordering::AcqRel) {
                        continue;
                    }
                    if self.sink.send(Message::Ping(Bytes::new())).await.is_err() {
                        break;
                    }
                    pong_deadline = Some(Instant::now() + self.config.pong_timeout);
                }
                command = self.outgoing.recv(), if close_deadline.is_none() => {
                    let Some(command) = command else { break };
                    match self.write_batch(command).await {
                        Ok(false) => {}
                        Ok(true) => close_deadline = Some(Instant::now() + self.config.close_timeout),
                        Err(WsError::Io(_)) => break,
                        // Sending after the peer's Close: the message is dropped, the reader is
                        // finishing the handshake.
                        Err(_) => {}
                    }
                }
            }
        }
        self.shared.closed.store(true, Ordering::Release);
        let _ = self.stop.send(true);
    }

    /// Writes `first` and whatever else is queued, then flushes. `true` once a Close went out.
    async fn write_batch(&mut self, first: Command) -> Result<bool, WsError> {
        let mut command = Some(first);
        let mut fed = 0;
        while let Some(next) = command.take() {
            match next {
                Command::Send(message) => {
                    self.sink.feed(message).await?;
                    fed += 1;
                    if fed < BATCH {
                        command = self.outgoing.try_recv().ok();
                    }
                }
                Command::Close(frame) => {
                    self.sink.send(Message::Close(Some(frame))).await?;
                    return Ok(true);
                }
            }
        }
        self.sink.flush().await?;
        Ok(false)
    }

    /// Sends `frame` as the last thing on the connection, giving up after the close timeout.
    async fn close_now(&mut self, frame: CloseFrame) {
        let send = self.sink.send(Message::Close(Some(frame)));
        let _ = tokio::time::timeout(self.config.close_timeout, send).await;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Resolves once the server is stopping; never without a stop signal.
async fn stopped(stopping: &mut Option<watch::Receiver<bool>>) {
    if let Some(rx) = stopping
        && rx.wait_for(|stopping| *stopping).await.is_ok()
    {
        return;
    }
    std::future::pending().await
}

async fn tick(interval: &mut Option<tokio::time::Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_a_control_frame() {
        let long = "é".repeat(100);
        let frame = close_frame(CloseCode::Normal, &long);
        assert!(frame.reason.len() <= MAX_REASON);
        assert_eq!(frame.reason.len(), 122);
    }

    #[test]
    fn read_errors_map_to_close_codes() {
        let table = [
            (
                WsError::Protocol(ProtocolError::NonZeroReservedBits),
                Some(1002),
            ),
            (WsError::Utf8(String::new()), Some(1007)),
            (
                WsError::Capacity(tungstenite::error::CapacityError::MessageTooLong {
                    size: 2,
                    max_size: 1,
                }),
                Some(1009),
            ),
            (
                WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake),
                None,
            ),
            (WsError::ConnectionClosed, None),
        ];
        for (error, code) in table {
            let got = failure_frame(&error).map(|frame| u16::from(frame.code));
            assert_eq!(got, code, "{error}");
        }
    }
}
