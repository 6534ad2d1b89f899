//! A WebSocket session (Ktor's `DefaultWebSocketSession`, or `WebSocketServerSession` in raw
//! mode): what a handler reads from and writes to. The loops under it are in [`super::driver`].
//!
//! The session and the loops share a [`Shared`]: whether the session is closed for sending, the
//! peer's Close, and the signals the reader and the handler give the writer.

use super::{CloseCode, CloseFrame, Message, ProtocolError};
use crate::{ApplicationCall, Error};
use bytes::Bytes;
use futures_core::Stream;
use http::StatusCode;
use std::fmt;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{Notify, mpsc};

/// The largest Close reason: a control frame carries at most 125 bytes, two of them the code
/// (RFC 6455 §5.5).
pub(super) const MAX_REASON: usize = 123;

/// One side of a WebSocket conversation, handed to a route's handler.
///
/// The session ends when the handler returns (with Close 1000, or 1011 if it failed), when the
/// close handshake is over, or when the connection breaks. Once the connection is over, `recv`
/// gives what was already queued and then `None`, `send` fails, and a handler that then waits for
/// anything else is cancelled (dropped at that wait), as an HTTP handler is when its client leaves.
/// A message `send` accepted is queued, not yet written: one still queued when the connection
/// breaks is lost.
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
///     // The peer closed (its Close frame), or the connection broke (1006).
///     let _reason = session.closed().await;
///     Ok(())
/// }
/// ```
pub struct WebSocketSession {
    pub(super) call: ApplicationCall,
    pub(super) incoming: mpsc::Receiver<Result<Message, Error>>,
    pub(super) outgoing: mpsc::Sender<Command>,
    pub(super) shared: Arc<Shared>,
    /// `WebSocketsConfig::outgoing_queue_bytes`.
    pub(super) outgoing_bytes: usize,
    pub(super) raw: bool,
    pub(super) permessage_deflate: bool,
}

impl fmt::Debug for WebSocketSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocketSession")
            .field("call", &self.call)
            .field("raw", &self.raw)
            .field("is_closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// Why a session operation failed; the source of the [`Error`] `send` and `recv` return.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The session is closed for sending: a Close went out, the peer's came in, or the
    /// connection is over.
    Closed,
    /// A ping, pong or Close payload over 125 bytes (RFC 6455 §5.5).
    ControlTooLong,
    /// The peer broke the protocol; the session was closed with the error's code.
    Protocol(ProtocolError),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("the WebSocket session is closed"),
            Self::ControlTooLong => f.write_str("a control frame payload over 125 bytes"),
            Self::Protocol(error) => write!(f, "WebSocket protocol error: {error}"),
        }
    }
}

impl std::error::Error for SessionError {}

/// What the handler asks the writer to do.
pub(super) enum Command {
    Send(Message),
    /// Send this Close; later sends fail.
    Close(CloseFrame),
}

/// State the session and its loops share.
#[derive(Default)]
pub(super) struct Shared {
    /// No more messages can be sent: a Close was queued, the peer's arrived (outside raw mode), or
    /// the connection ended.
    pub(super) closed: AtomicBool,
    /// A ping went out and no pong came back yet.
    pub(super) pong_pending: AtomicBool,
    /// The first Close frame either side sent, or 1006 once the connection ended without one
    /// ([`WebSocketSession::close_reason`]); `reason_known` wakes `closed`.
    pub(super) close_reason: Mutex<Option<CloseFrame>>,
    pub(super) reason_known: Notify,
    /// What the reader and the session tell the writer; `writer` wakes it.
    pub(super) signals: Mutex<Signals>,
    pub(super) writer: Notify,
    /// The bytes of the messages queued for the handler; `room` wakes the reader when the handler
    /// takes one.
    pub(super) queued_bytes: AtomicUsize,
    pub(super) room: Notify,
    /// How many times the reader waited for the handler to take messages, and whether it waits
    /// now: the peer's pongs are not read meanwhile, so the pong deadline waits too.
    pub(super) reader_waits: AtomicUsize,
    pub(super) reader_waiting: AtomicBool,
    /// The bytes of the messages `send` queued that the writer has not written yet; `written`
    /// wakes the senders waiting for room (and, once the writer ends, all of them).
    pub(super) unwritten_bytes: AtomicUsize,
    pub(super) written: Notify,
    /// What the writer tells the reader when it is done (0 while it runs, then `driver::DRAIN` or `ABORT`);
    /// `stop_reader` wakes it.
    pub(super) reader_state: AtomicU8,
    pub(super) stop_reader: Notify,
}

/// Events for the writer, collected until it looks.
#[derive(Default)]
pub(super) struct Signals {
    /// Answer this ping. Only the latest is kept (RFC 6455 §5.5.3: an endpoint "MAY elect to send
    /// a Pong frame for only the most recently processed Ping frame"), so a ping flood takes no
    /// memory.
    pub(super) pong: Option<Bytes>,
    /// The peer's Close arrived.
    pub(super) peer_closed: bool,
    /// The peer broke the protocol: send this Close and end.
    pub(super) failure: Option<CloseFrame>,
    /// The read side ended without a Close: the connection is gone.
    pub(super) reader_done: bool,
}

impl Shared {
    pub(super) fn signal(&self, update: impl FnOnce(&mut Signals)) {
        update(&mut lock(&self.signals));
        self.writer.notify_one();
    }

    /// The handler took `message` off the incoming queue.
    fn taken(&self, message: &Option<Result<Message, Error>>) {
        if let Some(Ok(message)) = message {
            self.queued_bytes.fetch_sub(message.len(), Ordering::AcqRel);
            self.room.notify_one();
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The writer wrote `bytes` of the messages `send` queued; wakes the senders once there is
    /// room under `limit` again.
    pub(super) fn wrote(&self, bytes: usize, limit: usize) {
        let before = self.unwritten_bytes.fetch_sub(bytes, Ordering::AcqRel);
        if !has_room(before, limit) && has_room(before - bytes, limit) {
            self.written.notify_waiters();
        }
    }

    /// Records `frame` as the session's close reason unless one is known, and wakes `closed`.
    pub(super) fn record_close(&self, frame: impl FnOnce() -> CloseFrame) {
        let mut reason = lock(&self.close_reason);
        if reason.is_none() {
            *reason = Some(frame());
            drop(reason);
            self.reason_known.notify_waiters();
        }
    }

    /// The connection ended: with no Close frame seen either way, the reason is 1006 (§7.1.5).
    pub(super) fn connection_ended(&self) {
        self.record_close(|| close_frame(CloseCode::Abnormal, "closed without a Close frame"));
    }

    pub(super) fn set_closed(&self) {
        self.closed.store(true, Ordering::Release);
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl WebSocketSession {
    /// The call that opened the session: its request, parameters and attributes.
    pub fn call(&self) -> &ApplicationCall {
        &self.call
    }

    /// Whether permessage-deflate (RFC 7692) was negotiated: messages are compressed on the wire.
    pub fn is_compressed(&self) -> bool {
        self.permessage_deflate
    }

    /// The next message from the peer: text, binary, or the peer's Close (then `None`). Pings and
    /// pongs are answered and consumed here. `None` once the connection is over; an error if the
    /// peer broke the protocol (the session is then closed with the matching code).
    ///
    /// In raw mode ([`WebSocketRoute::web_socket_raw`](super::WebSocketRoute::web_socket_raw))
    /// every frame comes as [`Message::Frame`]: fragments, pings, pongs and Close, unanswered.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        let next = self.incoming.recv().await;
        self.shared.taken(&next);
        next
    }

    /// The messages from the peer as a stream, as [`recv`](Self::recv) returns them.
    pub fn incoming(&mut self) -> impl Stream<Item = Result<Message, Error>> + Send + '_ {
        futures_util::stream::poll_fn(|cx| {
            let next = std::task::ready!(self.incoming.poll_recv(cx));
            self.shared.taken(&next);
            std::task::Poll::Ready(next)
        })
    }

    /// Queues `message` for the peer; waits while the outgoing queue is full. A Close (as a
    /// message, or a raw frame with the Close opcode) closes the session. Fails once the session
    /// is closed, or for a control payload over 125 bytes.
    pub async fn send(&self, message: Message) -> Result<(), Error> {
        match message {
            Message::Close(frame) => {
                let frame = frame.unwrap_or_else(|| close_frame(CloseCode::Normal, ""));
                if frame.reason.len() > MAX_REASON {
                    return Err(failed(SessionError::ControlTooLong));
                }
                self.close_with(frame).await
            }
            message => {
                let control = match &message {
                    Message::Ping(data) | Message::Pong(data) => Some(data.len()),
                    Message::Frame(frame) if u8::from(frame.header().opcode) & 0x8 != 0 => {
                        Some(frame.payload().len())
                    }
                    _ => None,
                };
                if control.is_some_and(|len| len > super::frame::MAX_CONTROL_PAYLOAD) {
                    return Err(failed(SessionError::ControlTooLong));
                }
                // A raw Close frame closes the session as a Close message does.
                let closed = if is_close_frame(&message) {
                    self.shared.closed.swap(true, Ordering::AcqRel)
                } else {
                    self.is_closed()
                };
                if closed {
                    return Err(failed(SessionError::Closed));
                }
                self.queue(message).await
            }
        }
    }

    /// Queues `message` for the writer once the queue has room, in messages and in bytes. The
    /// bytes are counted only as the message goes into the queue, with no wait in between, so
    /// that a `send` dropped while it waits leaves nothing counted.
    async fn queue(&self, message: Message) -> Result<(), Error> {
        let shared = &*self.shared;
        let room = || {
            has_room(
                shared.unwritten_bytes.load(Ordering::Acquire),
                self.outgoing_bytes,
            )
        };
        loop {
            if !room() {
                // Registered before the second look, so that a write in between still wakes it;
                // only here, since registering takes the `Notify`'s lock.
                let mut written = pin!(shared.written.notified());
                written.as_mut().enable();
                if room() {
                    continue;
                }
                // The writer wakes every waiter as it ends, after it marked the session closed.
                if shared.is_closed() {
                    return Err(failed(SessionError::Closed));
                }
                written.await;
                continue;
            }
            let permit = self
                .outgoing
                .reserve()
                .await
                .map_err(|_| failed(SessionError::Closed))?;
            shared
                .unwritten_bytes
                .fetch_add(message.len(), Ordering::AcqRel);
            permit.send(Command::Send(message));
            return Ok(());
        }
    }

    /// Starts the close handshake with `code` and `reason` (cut to 123 bytes); later sends fail.
    /// Keep calling [`recv`](Self::recv) to see the peer's answer, or return.
    pub async fn close(&self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.close_with(close_frame(code, reason)).await
    }

    /// Whether the session is closed for sending.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Why the conversation ended (Ktor's `closeReason`), once known: the first Close frame that
    /// either side sent (the peer's, code 1005 if it had none; or the server's: the handler's
    /// [`close`](Self::close), 1011 after a ping timeout, 1002 / 1007 / 1009 after a protocol
    /// error, 1001 when the server stops), or code 1006 once the connection ended without one
    /// (RFC 6455 §7.1.5). `None` while the conversation goes on.
    pub fn close_reason(&self) -> Option<CloseFrame> {
        lock(&self.shared.close_reason).clone()
    }

    /// Waits until the close reason is known and gives it (see
    /// [`close_reason`](Self::close_reason)): for a handler that only sends, what tells it that
    /// the peer left.
    pub async fn closed(&self) -> CloseFrame {
        loop {
            let mut known = pin!(self.shared.reason_known.notified());
            known.as_mut().enable();
            if let Some(frame) = self.close_reason() {
                return frame;
            }
            known.await;
        }
    }

    async fn close_with(&self, frame: CloseFrame) -> Result<(), Error> {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return Err(failed(SessionError::Closed));
        }
        self.outgoing
            .send(Command::Close(frame))
            .await
            .map_err(|_| failed(SessionError::Closed))
    }
}

/// Whether a queue holding `held` bytes takes another message under `limit`: it does below the limit,
/// and when it is empty, so that one message larger than the limit (or any, with a limit of 0)
/// still goes through, alone.
pub(super) fn has_room(held: usize, limit: usize) -> bool {
    held == 0 || held < limit
}

/// A raw frame with the Close opcode.
pub(super) fn is_close_frame(message: &Message) -> bool {
    matches!(message, Message::Frame(frame) if u8::from(frame.header().opcode) == 0x8)
}

pub(super) fn failed(error: SessionError) -> Error {
    let status = match error {
        SessionError::Protocol(_) => StatusCode::BAD_REQUEST,
        SessionError::Closed | SessionError::ControlTooLong => StatusCode::INTERNAL_SERVER_ERROR,
    };
    Error::new(status, error)
}

/// A Close frame with `reason` cut to fit a control frame, at a character boundary.
pub(super) fn close_frame(code: CloseCode, reason: &str) -> CloseFrame {
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    CloseFrame {
        code,
        reason: reason[..end].into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queue under its limit takes a message; an empty one takes any (one larger than the
    /// limit goes alone), also with a limit of 0, which then means one message at a time.
    #[test]
    fn an_empty_queue_always_has_room() {
        assert!(has_room(0, 128));
        assert!(has_room(127, 128));
        assert!(!has_room(128, 128));
        assert!(!has_room(1 << 20, 128));
        assert!(has_room(0, 0));
        assert!(!has_room(1, 0));
    }

    #[test]
    fn close_reasons_fit_a_control_frame() {
        let long = "é".repeat(100);
        let frame = close_frame(CloseCode::Normal, &long);
        assert!(frame.reason.len() <= MAX_REASON);
        assert_eq!(frame.reason.len(), 122);
    }
}
