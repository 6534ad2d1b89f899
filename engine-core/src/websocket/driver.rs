//! The loops under a [`WebSocketSession`]: they move bytes between the upgraded connection and the
//! session's queues, in the connection's task, on every engine.
//!
//! - The reader owns the session's read buffer ([`ReadBuffer`]: a few blocks it cycles through).
//!   It reads only while the bounded incoming queue has room, so a slow handler pushes back on the
//!   peer through TCP; it decodes frames in place ([`Decoder`]), hands messages over as slices of
//!   the buffer, and tells the writer about pings, the peer's Close and protocol errors.
//! - The writer encodes what the handler queued into one write buffer (payloads from
//!   [`COPY_MAX`](super::encoder::COPY_MAX) on are written from where they are, in a vectored
//!   write), batches a burst into one write, answers pings, sends the server's pings, and runs the
//!   close handshake (RFC 6455 §7.1): after its Close it ends the write side, and the reader
//!   discards what still comes until the peer closes, so the peer reads the Close before the
//!   connection goes.
//! - [`run`] polls the handler beside them; once both are done, a handler that waits for anything
//!   but the session is dropped (cancelled).

use super::decoder::{Decoder, close_frame as parse_close};
use super::deflate::Negotiated;
use super::encoder::Encoder;
use super::read_buffer::ReadBuffer;
use super::session::{
    Command, SessionError, Shared, WebSocketSession, close_frame, failed, has_room, is_close_frame,
    lock,
};
use super::{CloseCode, CloseFrame, DecoderConfig, Message, WebSocketsConfig};
use crate::http::Parsed;
use crate::upgrade::Upgraded;
use crate::{ApplicationCall, Error};
use bytes::{BufMut, Bytes};
use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Messages encoded before one write: a burst of small frames goes out in few writes.
const BATCH: usize = 64;

/// The write buffer is written once it holds this much.
const WRITE_BATCH_BYTES: usize = 64 << 10;

/// Payloads sent from where they are (from [`COPY_MAX`](super::encoder::COPY_MAX) bytes on) gathered
/// into one vectored write, at most: a burst of large messages goes out in few writes too.
const MAX_TAILS: usize = 8;

/// A batch is written once its payloads add up to this much.
const WRITE_BATCH_TAIL_BYTES: usize = 256 << 10;

/// What a session runs with, decided at the handshake.
#[derive(Debug)]
pub(super) struct Setup {
    pub(super) config: WebSocketsConfig,
    pub(super) raw: bool,
    pub(super) deflate: Option<Negotiated>,
    /// The server's stop signal, if the plugin is installed.
    pub(super) stopping: Option<watch::Receiver<bool>>,
}

/// Runs a session on an upgraded connection until the handler and the connection are done.
pub(super) async fn run<F>(
    io: Upgraded,
    call: ApplicationCall,
    setup: Setup,
    handler: impl FnOnce(WebSocketSession) -> F,
) where
    F: Future<Output = Result<(), Error>>,
{
    let Setup {
        config,
        raw,
        deflate,
        stopping,
    } = setup;
    let (read, write) = tokio::io::split(io);
    let (incoming_tx, incoming) = mpsc::channel(config.incoming_queue_size);
    let (outgoing, outgoing_rx) = mpsc::channel(config.outgoing_queue_size);
    let shared = Arc::new(Shared::default());
    let closer = outgoing.clone();
    let session = WebSocketSession {
        call,
        incoming,
        outgoing,
        shared: shared.clone(),
        outgoing_bytes: config.outgoing_queue_bytes,
        raw,
        permessage_deflate: deflate.is_some(),
    };
    let decoder = Decoder::new(&DecoderConfig {
        max_frame_size: config.max_frame_size,
        max_message_size: config.max_message_size,
        permessage_deflate: deflate.is_some(),
        client_no_context_takeover: deflate
            .as_ref()
            .is_some_and(|d| d.client_no_context_takeover),
        raw,
    });
    let closing = shared.clone();
    let ended = shared.clone();
    let handler = async move {
        let code = match handler(session).await {
            Ok(()) => CloseCode::Normal,
            Err(error) => {
                tracing::debug!(%error, "WebSocket handler failed");
                CloseCode::Error
            }
        };
        // Through the queue, after what the handler sent; not if a Close went out already.
        if !closing.closed.swap(true, Ordering::AcqRel) {
            let _ = closer.send(Command::Close(close_frame(code, ""))).await;
        }
    };
    let reader = Reader {
        io: read,
        buf: ReadBuffer::default(),
        decoder,
        incoming: Some(incoming_tx),
        shared: shared.clone(),
        raw,
        close_timeout: config.close_timeout,
        queue_bytes: config.incoming_queue_bytes,
    };
    let writer = Writer {
        io: write,
        out: Vec::new(),
        tails: Vec::with_capacity(MAX_TAILS),
        tail_bytes: 0,
        unwritten: 0,
        encoder: Encoder::new(deflate.as_ref()),
        outgoing: outgoing_rx,
        shared,
        config,
        stopping,
        raw,
        close_sent: false,
        close_deadline: None,
        peer_closed: false,
    };
    let connection = async {
        tokio::join!(reader.run(), writer.run());
        ended.connection_ended();
    };
    drive(handler, connection).await;
}

/// Polls the handler and the connection until both are done; a handler still waiting once the
/// connection is over waits for something else than the session, and is dropped.
async fn drive(handler: impl Future<Output = ()>, connection: impl Future<Output = ()>) {
    let mut handler = pin!(handler);
    let mut connection = pin!(connection);
    let (mut handler_done, mut connection_done) = (false, false);
    poll_fn(|cx| {
        if !connection_done {
            connection_done = connection.as_mut().poll(cx).is_ready();
        }
        if !handler_done {
            handler_done = if connection_done {
                // Out of tokio's cooperative budget, so that a `recv` of an already queued
                // message cannot look like a wait.
                let poll = pin!(tokio::task::unconstrained(handler.as_mut())).poll(cx);
                // Ready, or cancelled: `recv` and `send` never wait once the connection is over.
                let _ = poll;
                true
            } else {
                handler.as_mut().poll(cx).is_ready()
            };
        }
        if handler_done && connection_done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}

/// Queues `message` for the handler once the queue has room, in messages and in bytes.
async fn queue(
    tx: Option<&mpsc::Sender<Result<Message, Error>>>,
    shared: &Shared,
    limit: usize,
    message: Message,
) -> Result<(), ()> {
    let tx = tx.ok_or(())?;
    let permit = loop {
        if has_room(shared.queued_bytes.load(Ordering::Acquire), limit) {
            match tx.try_reserve() {
                Ok(permit) => break permit,
                Err(mpsc::error::TrySendError::Closed(())) => return Err(()),
                Err(mpsc::error::TrySendError::Full(())) => {}
            }
        }
        // The handler is behind: wait for it, and tell the pong deadline that what the peer
        // sends meanwhile (its pongs too) is not read.
        shared.reader_waits.fetch_add(1, Ordering::AcqRel);
        shared.reader_waiting.store(true, Ordering::Release);
        let waited = if has_room(shared.queued_bytes.load(Ordering::Acquire), limit) {
            // Room in bytes: the wait is for a slot, and ends holding it.
            tx.reserve().await.map(Some)
        } else {
            // A permit stored by a `recv` since the load wakes this at once.
            shared.room.notified().await;
            Ok(None)
        };
        shared.reader_waiting.store(false, Ordering::Release);
        if let Some(permit) = waited.map_err(drop)? {
            break permit;
        }
    };
    shared
        .queued_bytes
        .fetch_add(message.len(), Ordering::AcqRel);
    permit.send(Ok(message));
    Ok(())
}

/// The close reason a raw Close frame's payload gives: its code and reason, 1005 when it has
/// none, 1002 when it is not a valid one.
fn raw_close_reason(payload: &[u8]) -> CloseFrame {
    match parse_close(Bytes::copy_from_slice(payload)) {
        Ok(Some(frame)) => frame,
        Ok(None) => close_frame(CloseCode::Status, ""),
        Err(_) => close_frame(CloseCode::Protocol, "invalid Close payload"),
    }
}

// What the writer tells the reader through `Shared::reader_state` (0 while it runs):
/// The write side is closed: discard what still comes until the peer closes, for a while.
const DRAIN: u8 = 1;
/// The connection is gone: stop now.
const ABORT: u8 = 2;

struct Reader {
    io: ReadHalf<Upgraded>,
    buf: ReadBuffer,
    decoder: Decoder,
    incoming: Option<mpsc::Sender<Result<Message, Error>>>,
    shared: Arc<Shared>,
    raw: bool,
    close_timeout: std::time::Duration,
    /// `WebSocketsConfig::incoming_queue_bytes`.
    queue_bytes: usize,
}

/// Why the reader stopped decoding.
enum ReadEnd {
    /// The peer's Close, a protocol error, or the writer is done: drain.
    Drain,
    /// End of stream or an I/O error: the peer is gone.
    Gone,
    /// The writer says stop.
    Abort,
}

impl Reader {
    async fn run(mut self) {
        let end = self.decode_loop().await;
        if !matches!(end, ReadEnd::Drain) {
            // Before `recv` gives `None`, so that the reason is there when it does.
            self.shared.connection_ended();
        }
        // The handler's `recv` now gives what is queued, then `None`.
        self.incoming = None;
        match end {
            ReadEnd::Gone => {
                self.shared.set_closed();
                self.shared.signal(|s| s.reader_done = true);
            }
            ReadEnd::Drain => self.drain().await,
            ReadEnd::Abort => {}
        }
    }

    async fn decode_loop(&mut self) -> ReadEnd {
        loop {
            loop {
                match self.decoder.decode(&mut self.buf.current) {
                    Ok(Parsed::Complete(message)) => {
                        if let Some(end) = self.deliver(message).await {
                            return end;
                        }
                    }
                    Ok(Parsed::Partial) => break,
                    Err(error) => {
                        tracing::debug!(%error, "WebSocket protocol error");
                        let frame = close_frame(error.close_code(), "");
                        self.shared.signal(|s| s.failure = Some(frame));
                        if let Some(tx) = &self.incoming {
                            let _ = tx.try_send(Err(failed(SessionError::Protocol(error))));
                        }
                        return ReadEnd::Drain;
                    }
                }
            }
            let limit = self
                .buf
                .prepare_read(self.decoder.wants(), self.decoder.last_frame_len());
            let mut room = (&mut self.buf.current).limit(limit);
            let stop = self.shared.stop_reader.notified();
            let read = tokio::select! {
                biased;
                () = stop => return self.stop_requested(),
                read = self.io.read_buf(&mut room) => read,
            };
            match read {
                Ok(0) | Err(_) => return ReadEnd::Gone,
                Ok(_) => {}
            }
        }
    }

    fn stop_requested(&self) -> ReadEnd {
        match self.shared.reader_state.load(Ordering::Acquire) {
            ABORT => ReadEnd::Abort,
            _ => ReadEnd::Drain,
        }
    }

    /// Hands `message` to the handler, or acts on it; `Some` once reading is over.
    async fn deliver(&mut self, message: Message) -> Option<ReadEnd> {
        let mut end = None;
        match &message {
            Message::Ping(data) if !self.raw => {
                let data = data.clone();
                self.shared.signal(|s| s.pong = Some(data));
                return None;
            }
            Message::Pong(_) if !self.raw => {
                self.shared.pong_pending.store(false, Ordering::Release);
                return None;
            }
            Message::Close(frame) => {
                let frame = frame.clone();
                self.shared
                    .record_close(|| frame.unwrap_or_else(|| close_frame(CloseCode::Status, "")));
                self.shared.set_closed();
                self.shared.signal(|s| s.peer_closed = true);
                end = Some(ReadEnd::Drain);
            }
            Message::Frame(frame) if is_close_frame(&message) => {
                // Raw mode: the handler answers; the session stays open for that answer.
                self.shared
                    .record_close(|| raw_close_reason(frame.payload()));
                self.shared.signal(|s| s.peer_closed = true);
                end = Some(ReadEnd::Drain);
            }
            _ => {}
        }
        if self.incoming.is_some() {
            let len = message.len();
            let stop = self.shared.stop_reader.notified();
            tokio::select! {
                biased;
                () = stop => return Some(self.stop_requested()),
                sent = queue(self.incoming.as_ref(), &self.shared, self.queue_bytes, message) => {
                    if sent.is_err() {
                        // The handler dropped its session: read on for the close handshake.
                        self.incoming = None;
                        self.shared.queued_bytes.fetch_sub(len, Ordering::AcqRel);
                    }
                }
            }
        }
        end
    }

    /// Discards what the peer still sends until it closes, the writer says stop, or the close
    /// timeout: closing with unread bytes would reset the connection before the peer reads our
    /// Close.
    async fn drain(&mut self) {
        let (io, buf, shared) = (&mut self.io, &mut self.buf, &*self.shared);
        let discard = async {
            loop {
                buf.clear();
                match io.read_buf(&mut buf.current).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        };
        let stop = async {
            while shared.reader_state.load(Ordering::Acquire) != ABORT {
                shared.stop_reader.notified().await;
            }
        };
        tokio::select! {
            () = discard => {}
            () = stop => {}
            () = tokio::time::sleep(self.close_timeout) => {}
        }
    }
}

struct Writer {
    io: WriteHalf<Upgraded>,
    out: Vec<u8>,
    /// Payloads that follow the write buffer's bytes up to an offset, in order: written with it.
    tails: Vec<(usize, Bytes)>,
    /// What `tails` add up to.
    tail_bytes: usize,
    /// The bytes of the messages `send` queued that were taken for this write (counted as
    /// `Shared::unwritten_bytes` until written).
    unwritten: usize,
    encoder: Encoder,
    outgoing: mpsc::Receiver<Command>,
    shared: Arc<Shared>,
    config: WebSocketsConfig,
    stopping: Option<watch::Receiver<bool>>,
    raw: bool,
    /// Our Close went out: nothing else may follow (RFC 6455 §5.5.1).
    close_sent: bool,
    /// When the peer's answer to our Close, or (raw mode) the handler's answer to the peer's, is
    /// given up on.
    close_deadline: Option<Instant>,
    peer_closed: bool,
}

/// How the writer ended.
enum WriteEnd {
    /// The close handshake is over or our last Close went out: end the write side, let the
    /// reader drain.
    Clean,
    /// The connection is broken or given up on.
    Abort,
}

impl Writer {
    async fn run(mut self) {
        let end = self.write_loop().await;
        self.shared.set_closed();
        // Senders waiting for room in the queue now fail.
        self.shared.written.notify_waiters();
        let state = match end {
            WriteEnd::Clean => {
                let shutdown = tokio::time::timeout(self.config.write_timeout, self.io.shutdown());
                match shutdown.await {
                    Ok(Ok(())) => DRAIN,
                    _ => ABORT,
                }
            }
            WriteEnd::Abort => ABORT,
        };
        self.shared.reader_state.store(state, Ordering::Release);
        self.shared.stop_reader.notify_one();
    }

    async fn write_loop(&mut self) -> WriteEnd {
        let mut ping = self.config.ping_period.filter(|_| !self.raw).map(|period| {
            let mut ping = tokio::time::interval_at(Instant::now() + period, period);
            ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ping
        });
        let mut pong_deadline: Option<Instant> = None;
        // `Shared::reader_waits` when the ping went out.
        let mut waits_at_ping = 0;
        loop {
            let signal = self.shared.writer.notified();
            let step = tokio::select! {
                biased;
                () = signal => self.on_signals().await,
                () = sleep_until(self.close_deadline), if self.close_deadline.is_some() => {
                    Err(WriteEnd::Abort)
                }
                () = stopped(&mut self.stopping), if !self.close_sent => {
                    self.send_close(close_frame(CloseCode::Away, "server stopping")).await
                }
                () = sleep_until(pong_deadline), if pong_deadline.is_some() => {
                    pong_deadline = None;
                    let waits = self.shared.reader_waits.load(Ordering::Acquire);
                    if !self.shared.pong_pending.load(Ordering::Acquire) {
                        Ok(())
                    } else if self.shared.reader_waiting.load(Ordering::Acquire)
                        || waits != waits_at_ping
                    {
                        // The reader stopped for the handler since the ping: the pong may wait
                        // unread behind the peer's messages, so the peer gets another timeout.
                        waits_at_ping = waits;
                        pong_deadline = Some(Instant::now() + self.config.pong_timeout);
                        Ok(())
                    } else {
                        let _ = self.send_close(close_frame(CloseCode::Error, "ping timeout")).await;
                        Err(WriteEnd::Abort)
                    }
                }
                _ = tick(&mut ping), if !self.close_sent => {
                    // One ping at a time: an unanswered one is the pong deadline's business.
                    if self.shared.pong_pending.swap(true, Ordering::AcqRel) {
                        Ok(())
                    } else {
                        pong_deadline = Some(Instant::now() + self.config.pong_timeout);
                        waits_at_ping = self.shared.reader_waits.load(Ordering::Acquire);
                        self.write_message(Message::Ping(Bytes::new())).await
                    }
                }
                command = self.outgoing.recv(), if !self.close_sent => match command {
                    Some(command) => self.write_batch(command).await,
                    // The handler and its session are gone without a Close (cancelled).
                    None => self.send_close(close_frame(CloseCode::Normal, "")).await,
                },
            };
            if let Err(end) = step {
                return end;
            }
            if self.close_sent && self.peer_closed {
                return WriteEnd::Clean;
            }
        }
    }

    /// Acts on what the reader signalled.
    async fn on_signals(&mut self) -> Result<(), WriteEnd> {
        let signals = std::mem::take(&mut *lock(&self.shared.signals));
        if signals.reader_done {
            return Err(WriteEnd::Abort);
        }
        if let Some(frame) = signals.failure {
            self.send_close(frame).await?;
            return Err(WriteEnd::Clean);
        }
        if let Some(data) = signals.pong
            && !self.close_sent
        {
            self.write_message(Message::Pong(data)).await?;
        }
        if signals.peer_closed && !self.peer_closed {
            self.peer_closed = true;
            if self.raw {
                // The handler answers the peer's Close; give it the close timeout to.
                self.close_deadline
                    .get_or_insert(Instant::now() + self.config.close_timeout);
            } else if !self.close_sent {
                // §5.5.1: "the endpoint MUST send a Close frame in response ... typically echoing
                // the status code it received" (none for a Close without one: 1005 stands for
                // that and must not be sent). What is still queued is dropped.
                let echo = lock(&self.shared.close_reason)
                    .as_ref()
                    .filter(|frame| frame.code != CloseCode::Status)
                    .map(|frame| CloseFrame {
                        code: frame.code,
                        reason: "".into(),
                    });
                self.write_message(Message::Close(echo)).await?;
                self.close_sent = true;
            }
        }
        Ok(())
    }

    /// Writes `first` and whatever else is queued, in as few writes as the sizes allow.
    async fn write_batch(&mut self, first: Command) -> Result<(), WriteEnd> {
        let mut next = Some(first);
        let mut fed = 0;
        while let Some(command) = next.take() {
            let closes = match &command {
                Command::Send(message) => is_close_frame(message),
                Command::Close(_) => true,
            };
            let message = match command {
                Command::Send(message) => {
                    if let Message::Frame(frame) = &message
                        && closes
                    {
                        self.shared
                            .record_close(|| raw_close_reason(frame.payload()));
                    }
                    self.unwritten += message.len();
                    message
                }
                Command::Close(frame) => {
                    self.shared.record_close(|| frame.clone());
                    Message::Close(Some(frame))
                }
            };
            self.encode(message)?;
            if self.out.len() >= WRITE_BATCH_BYTES
                || self.tails.len() == MAX_TAILS
                || self.tail_bytes >= WRITE_BATCH_TAIL_BYTES
            {
                self.flush().await?;
            }
            if closes {
                self.mark_close_sent();
                break;
            }
            fed += 1;
            if fed < BATCH {
                next = self.outgoing.try_recv().ok();
            }
        }
        self.flush().await
    }

    /// Encodes `message` into the write buffer; a payload sent from where it is joins `tails`.
    fn encode(&mut self, message: Message) -> Result<(), WriteEnd> {
        let tail = self
            .encoder
            .encode(message, &mut self.out)
            .map_err(|error| {
                tracing::warn!(%error, "WebSocket compression failed");
                WriteEnd::Abort
            })?;
        if let Some(tail) = tail {
            self.tail_bytes += tail.len();
            self.tails.push((self.out.len(), tail));
        }
        Ok(())
    }

    /// Sends `frame` as our Close; the peer then has the close timeout to answer.
    async fn send_close(&mut self, frame: CloseFrame) -> Result<(), WriteEnd> {
        self.shared.set_closed();
        self.shared.record_close(|| frame.clone());
        self.write_message(Message::Close(Some(frame))).await?;
        self.mark_close_sent();
        Ok(())
    }

    fn mark_close_sent(&mut self) {
        self.close_sent = true;
        self.shared.set_closed();
        if !self.peer_closed {
            self.close_deadline = Some(Instant::now() + self.config.close_timeout);
        }
    }

    async fn write_message(&mut self, message: Message) -> Result<(), WriteEnd> {
        self.encode(message)?;
        self.flush().await
    }

    /// Writes the write buffer with the payloads that follow its parts, each write given the
    /// write timeout.
    async fn flush(&mut self) -> Result<(), WriteEnd> {
        let written = write_all(
            &mut self.io,
            &self.out,
            &self.tails,
            self.config.write_timeout,
        )
        .await;
        self.out.clear();
        self.tails.clear();
        self.tail_bytes = 0;
        if self.unwritten > 0 {
            let bytes = std::mem::take(&mut self.unwritten);
            self.shared.wrote(bytes, self.config.outgoing_queue_bytes);
        }
        written.map_err(|_| WriteEnd::Abort)
    }
}

/// Writes `out` with each of `tails` after the bytes of `out` up to its offset, in vectored
/// writes; each write may wait `timeout` for the peer.
async fn write_all(
    io: &mut WriteHalf<Upgraded>,
    out: &[u8],
    tails: &[(usize, Bytes)],
    timeout: std::time::Duration,
) -> io::Result<()> {
    let mut slices = [IoSlice::new(&[]); 2 * MAX_TAILS + 1];
    let mut count = 0;
    let mut from = 0;
    for (offset, tail) in tails {
        slices[count] = IoSlice::new(&out[from..*offset]);
        slices[count + 1] = IoSlice::new(tail);
        count += 2;
        from = *offset;
    }
    slices[count] = IoSlice::new(&out[from..]);
    let mut rest = &mut slices[..=count];
    IoSlice::advance_slices(&mut rest, 0);
    while !rest.is_empty() {
        let n = tokio::time::timeout(timeout, io.write_vectored(rest))
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(&mut rest, n);
    }
    Ok(())
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
