//! The connection driver: one async function that serves a connection for every engine. It moves
//! bytes between an engine's [`Io`] and the sans-I/O [`Conn`], runs each request's call through the
//! application, and writes responses in request order.
//!
//! A handler's future is polled here, in the connection's task, never spawned. While it runs, the
//! driver feeds its body reads (one chunk per demand: backpressure), sends `100 Continue` when it
//! first asks for the body, and watches for the client going away. Pipelined responses accumulate
//! in one write buffer and go out in one write when the driver needs bytes again, when the buffer is
//! full, or when a handler has to wait.

use super::buffers;
use super::state::{After, BodyError, BodyEvent, Conn, RequestStart, ResponsePlan};
use super::timer::Timer;
use super::{ConnConfig, Io, ReadResult, ShutdownSignal};
use crate::Error;
use crate::application::AppRuntime;
use crate::call::{
    ApplicationCall, BodyPhase, BodyStream, Committed, ConnectionInfo, ResponseBody, ResponseState,
    UpgradeHandler,
};
use crate::hooks::SentResponse;
use crate::http::FieldIndex;
use crate::http::response::BodySize;
use crate::routing::HandlerSlot;
use crate::upgrade::Upgraded;
use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use futures_util::future::Either;
use http::StatusCode;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::time::{Instant, timeout};

/// Serves one connection until it closes: the whole life of a connection on every engine.
pub async fn serve_connection<I: Io>(
    io: I,
    app: Arc<AppRuntime>,
    config: Arc<ConnConfig>,
    info: ConnectionInfo,
    shutdown: ShutdownSignal,
) {
    let _guard = shutdown.track();
    let upgrade = {
        let mut serve = pin!(serve(&io, app, config, info, &shutdown));
        // Polled first at every wake-up: the watch wakes this task when shutdown begins (the
        // driver then checks `is_stopping` where it waits) and when it is forced.
        let mut watch = shutdown.watch();
        poll_fn(|cx| {
            if watch.poll_forced(cx).is_ready() {
                return Poll::Ready(None);
            }
            serve.as_mut().poll(cx).map(Some)
        })
        .await
    };
    let upgrade = match upgrade {
        Some(upgrade) => upgrade,
        None => {
            io.abort();
            None
        }
    };
    if let Some((handler, leftover)) = upgrade {
        match io.into_upgraded() {
            Ok(stream) => {
                let session = handler(Upgraded::new(leftover, stream));
                tokio::select! {
                    () = session => {}
                    () = shutdown.forced() => {}
                }
            }
            Err(error) => tracing::debug!(%error, "upgrade failed"),
        }
    }
}

/// Why the connection stopped.
enum Stop {
    /// Close it (after a final flush, if any).
    Close,
    /// It was reset ([`Io::reset`]): drop it, sending nothing more.
    Reset,
    /// Hand it to an upgrade handler.
    Upgrade(UpgradeHandler, Bytes),
}

/// The connection's buffers and state, shared by the steps below.
struct State {
    conn: Conn,
    /// The read buffer; `None` while a read owns it.
    buf: Option<BytesMut>,
    /// The peer ended its side (or the read failed).
    eof: bool,
    out: Vec<u8>,
    call: ApplicationCall,
    /// The next request's head and field index, as the parser fills them; the call hands back its
    /// previous pair when it takes these (see [`fill_call`]).
    head: Vec<u8>,
    fields: Vec<FieldIndex>,
    /// Every deadline of the connection: one wait at a time.
    timer: Timer,
}

async fn serve<I: Io>(
    io: &I,
    app: Arc<AppRuntime>,
    config: Arc<ConnConfig>,
    info: ConnectionInfo,
    shutdown: &ShutdownSignal,
) -> Option<(UpgradeHandler, Bytes)> {
    let mut state = State {
        buf: Some(buffers::take_read(config.read_buffer_size)),
        // Taken from the thread's pool when there is something to write (`ensure_out`).
        out: Vec::new(),
        conn: Conn::new(config),
        eof: false,
        call: ApplicationCall::new(app.clone(), info),
        head: Vec::new(),
        fields: Vec::new(),
        timer: Timer::new(),
    };
    let mut reading = pin!(None);
    let start_read = |buf: BytesMut| io.read(buf);
    // Outside `state`: the handler's future borrows it while the driver works on `state`.
    let mut slot = HandlerSlot::new();
    let stop = loop {
        match next_request(io, &mut state, reading.as_mut(), &start_read, shutdown).await {
            Ok(start) => match handle(
                io,
                &app,
                &mut state,
                &mut slot,
                reading.as_mut(),
                &start_read,
                start,
                shutdown,
            )
            .await
            {
                Ok(()) => {}
                Err(stop) => break stop,
            },
            Err(stop) => break stop,
        }
    };
    match stop {
        Stop::Close => {
            linger(io, &mut state, reading.as_mut(), &start_read).await;
            None
        }
        Stop::Reset => None,
        Stop::Upgrade(handler, leftover) => Some((handler, leftover)),
    }
}

/// Reads until a request head is complete. Flushes pending responses before waiting for bytes.
async fn next_request<I: Io, R: Future<Output = ReadResult>>(
    io: &I,
    state: &mut State,
    mut reading: Pin<&mut Option<R>>,
    start_read: &impl Fn(BytesMut) -> R,
    shutdown: &ShutdownSignal,
) -> Result<RequestStart, Stop> {
    let mut head_deadline: Option<Instant> = None;
    loop {
        if let Some(buf) = state.buf.as_mut() {
            match state
                .conn
                .parse_head(buf, &mut state.fields, &mut state.head)
            {
                Ok(Some(start)) => return Ok(start),
                Ok(None) => {}
                Err(rejection) => {
                    tracing::debug!(?rejection, "request rejected");
                    let status = rejection.status();
                    ensure_out(state);
                    state.conn.encode_rejection(&mut state.out, status);
                    return Err(Stop::Close);
                }
            }
            if !buf.is_empty() && head_deadline.is_none() {
                head_deadline = Some(Instant::now() + state.conn.config().header_read_timeout);
            }
        }
        flush(io, state).await?;
        if state.eof {
            return Err(Stop::Close);
        }
        let idle = state.buf.as_ref().is_none_or(|b| b.is_empty()) && head_deadline.is_none();
        if idle && shutdown.is_stopping() {
            return Err(Stop::Close);
        }
        if reading.is_none() {
            let buf = take_buf(state);
            reading.set(Some(start_read(buf)));
        }
        // The idle deadline is computed (a clock read) only if the read has to wait.
        let mut deadline = head_deadline;
        let idle_timeout = state.conn.config().idle_timeout;
        let (timer, out) = (&mut state.timer, &mut state.out);
        let waited = poll_fn(|cx| {
            if let Some(read) = reading.as_mut().as_pin_mut()
                && let Poll::Ready(done) = read.poll(cx)
            {
                return Poll::Ready(Wait::Read(done));
            }
            // Flushed, and waiting: a connection waiting for its next request keeps no write
            // buffer.
            if out.capacity() > 0 {
                buffers::give_write(std::mem::take(out));
            }
            if idle && shutdown.is_stopping() {
                return Poll::Ready(Wait::Stopping);
            }
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + idle_timeout);
            timer.poll_elapsed(cx, deadline).map(|()| Wait::TimedOut)
        })
        .await;
        match waited {
            Wait::Read((result, buf)) => {
                reading.set(None);
                state.buf = Some(buf);
                match result {
                    Ok(0) | Err(_) => state.eof = true,
                    Ok(_) => {}
                }
            }
            Wait::TimedOut => {
                if head_deadline.is_some() {
                    // RFC 9110 §15.5.9: the server did not receive a complete request in time.
                    let status = StatusCode::REQUEST_TIMEOUT;
                    ensure_out(state);
                    state.conn.encode_rejection(&mut state.out, status);
                    let out = std::mem::take(&mut state.out);
                    let _ = timeout(state.conn.config().write_timeout, io.write_all(out)).await;
                }
                // The read still owns the buffer: end it (and every other operation) now.
                io.abort();
                return Err(Stop::Close);
            }
            Wait::Stopping => return Err(Stop::Close),
        }
    }
}

/// What a connection waiting for its next request got first.
enum Wait {
    Read(ReadResult),
    TimedOut,
    Stopping,
}

/// Gives the connection a write buffer from the thread's pool if it gave its own back while it
/// waited.
fn ensure_out(state: &mut State) {
    if state.out.capacity() == 0 {
        let capacity = state.conn.config().write_buffer_size.min(16 * 1024);
        state.out = buffers::take_write(capacity);
    }
}

/// Takes the read buffer for a read, with room for what comes next.
fn take_buf(state: &mut State) -> BytesMut {
    let mut buf = state.buf.take().unwrap_or_default();
    let want = state.conn.config().read_buffer_size;
    if buf.capacity() - buf.len() < want / 2 {
        buf.reserve(want);
    }
    buf
}

/// Runs one call and writes its response; then keeps, drains or closes the connection.
// The connection's parts come apart, not in one struct: the call's future borrows `app` and
// `slot` while the driver works on `state` and the read.
#[allow(clippy::too_many_arguments)]
async fn handle<I: Io, R: Future<Output = ReadResult>>(
    io: &I,
    app: &AppRuntime,
    state: &mut State,
    slot: &mut HandlerSlot,
    mut reading: Pin<&mut Option<R>>,
    start_read: &impl Fn(BytesMut) -> R,
    start: RequestStart,
    shutdown: &ShutdownSignal,
) -> Result<(), Stop> {
    let wants_upgrade = start.wants_upgrade;
    ensure_out(state);
    prepare_call(state, start);
    // Routing alone in the call pipeline and a route without interceptors: the pipeline would
    // run only the handler, so the driver runs it with its future in the connection's slot (no
    // allocation, no pipeline execution). Otherwise the chain, borrowed from the connection's
    // `app`, with the call as its one clone: each reference count saved is an atomic
    // read-modify-write per request.
    let direct = app
        .direct_routing
        .as_ref()
        .and_then(|routing| routing.direct(&state.call));
    let pipeline = match direct {
        Some(handler) => {
            handler.call_in(state.call.clone(), slot);
            Either::Left(poll_fn(|cx| slot.poll(cx)))
        }
        None => Either::Right(app.call_chain.execute(state.call.clone(), ())),
    };
    // Pinned here and lent to `drive`: moved into `drive`'s state instead, it was copied there.
    let pipeline = pin!(AssertUnwindSafe(pipeline).catch_unwind());
    let watch = if wants_upgrade {
        Watch::Body
    } else {
        Watch::BodyAndDisconnect
    };
    let outcome = drive(io, state, reading.as_mut(), start_read, pipeline, watch).await;
    // A handler the driver abandoned (the client left) is dropped now, as the pipeline's is; a
    // panicked one too.
    slot.clear();
    let outcome = outcome?;
    if shutdown.is_stopping() {
        state.conn.close_after_response();
    }
    let (committed, plan) = resolve_response(state, outcome);
    let status = committed.status;
    let written = write_response(io, state, reading.as_mut(), start_read, committed, plan).await;
    response_sent(io, state, status, written).await?;
    match state.conn.after_response() {
        After::KeepAlive => Ok(()),
        After::Drain => drain(io, state, reading, start_read).await,
        After::Close => Err(Stop::Close),
    }
}

fn prepare_call(state: &mut State, start: RequestStart) {
    if let Some(inner) = state.call.recycle() {
        return fill_call(inner, start, &mut state.head, &mut state.fields);
    }
    // Something still holds the previous call (a spawned task, a body stream): start afresh.
    let app = state.call.inner.app.clone();
    let request = &state.call.inner.request;
    let info = ConnectionInfo {
        local: request.local_addr(),
        remote: request.remote_addr(),
    };
    state.call = ApplicationCall::new(app, info);
    let Some(inner) = state.call.inner_mut() else {
        unreachable!("a new call has one owner");
    };
    fill_call(inner, start, &mut state.head, &mut state.fields);
}

/// Fills the call from the request parsed into `head` and `fields`, which then hold the previous
/// request's vectors, emptied, for the next parse: no allocation and no reference count per request.
fn fill_call(
    inner: &mut crate::call::CallInner,
    start: RequestStart,
    head: &mut Vec<u8>,
    fields: &mut Vec<FieldIndex>,
) {
    (*head, *fields) =
        inner
            .request
            .fill(std::mem::take(head), &start.parsed, std::mem::take(fields));
    inner.body.reset(start.has_body);
}

/// Runs the application's `ResponseSent` hooks ([`crate::hooks`]) once the response is out: flushed
/// first, so that "sent" means handed to the engine, or failed. Without hooks it returns at once: no
/// flush, no lock, no allocation.
async fn response_sent<I: Io>(
    io: &I,
    state: &mut State,
    status: StatusCode,
    written: Result<(), Stop>,
) -> Result<(), Stop> {
    if !state.call.inner.app.has_response_sent_hooks() {
        return written;
    }
    let written = match written {
        Ok(()) => flush(io, state).await,
        failed => failed,
    };
    let completed = !matches!(written, Err(Stop::Close | Stop::Reset));
    crate::hooks::run_response_sent(&state.call, SentResponse { status, completed });
    written
}

/// What a call's pipeline left behind, turned into a response, with its head encoded.
fn resolve_response(
    state: &mut State,
    outcome: std::thread::Result<Result<(), Error>>,
) -> (Committed, ResponsePlan) {
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error),
        Err(_panic) => Some(Error::msg("the handler panicked")),
    };
    if let Some(error) = &error {
        let request = state.call.request();
        tracing::error!(method = %request.local_method(), path = request.path(), status = %error.status_code(), %error, "call failed");
    }
    let development = state.call.application().is_development();
    // The pipeline is over, so the call usually has one owner again and its response state is
    // reached without the lock: two atomic read-modify-writes fewer than locking it.
    if let Some(inner) = state.call.inner_mut() {
        return resolve(
            inner.response.state_mut(),
            error,
            development,
            &mut state.conn,
            &mut state.out,
        );
    }
    let response = state.call.response();
    resolve(
        &mut response.lock(),
        error,
        development,
        &mut state.conn,
        &mut state.out,
    )
}

/// [`resolve_response`] once it holds the response state: takes the committed response (or makes
/// the error's, or the bare status's) and encodes its head.
fn resolve(
    response: &mut ResponseState,
    error: Option<Error>,
    development: bool,
    conn: &mut Conn,
    out: &mut Vec<u8>,
) -> (Committed, ResponsePlan) {
    let committed = match (response.committed.take(), error) {
        (Some(committed), _) => committed,
        (None, Some(error)) => {
            let status = error.status_code();
            let text = if development {
                error.to_string()
            } else {
                status.canonical_reason().unwrap_or("Error").to_owned()
            };
            response.headers.clear();
            response.content_type =
                Some(http::HeaderValue::from_static("text/plain; charset=utf-8"));
            Committed {
                status,
                body: ResponseBody::Bytes(Bytes::from(text)),
            }
        }
        // A handler that set only a status sends exactly that; nobody answering is a 404.
        (None, None) => Committed {
            status: response.status.unwrap_or(StatusCode::NOT_FOUND),
            body: ResponseBody::Empty,
        },
    };
    let size = match &committed.body {
        ResponseBody::Empty | ResponseBody::Upgrade(_) | ResponseBody::Value(_) => BodySize::None,
        ResponseBody::Bytes(data) => BodySize::Known(data.len() as u64),
        ResponseBody::Stream {
            length: Some(n), ..
        } => BodySize::Known(*n),
        ResponseBody::Stream { length: None, .. } => BodySize::Unknown,
    };
    let plan = conn.encode_head(
        out,
        committed.status,
        response.content_type.as_ref(),
        &response.headers,
        size,
    );
    (committed, plan)
}

/// What to watch for besides the future being driven.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Watch {
    /// Only feed body reads.
    Body,
    /// Also notice the client going away, when no body is expected from it.
    BodyAndDisconnect,
}

/// Why a drive step returned before the future finished.
enum Interrupt {
    /// The future waits and responses are pending: write them first.
    Flush,
    /// The handler asked for the body of a request that expects `100 Continue`.
    Continue,
    /// The client closed its side or reset the connection.
    Disconnected,
}

/// Polls `future` to completion while feeding the call's body reads and watching the connection.
async fn drive<I: Io, R: Future<Output = ReadResult>, F: Future>(
    io: &I,
    state: &mut State,
    mut reading: Pin<&mut Option<R>>,
    start_read: &impl Fn(BytesMut) -> R,
    future: F,
    watch: Watch,
) -> Result<F::Output, Stop> {
    let mut future = pin!(future);
    let mut closed = pin!(io.closed());
    loop {
        let step = poll_fn(|cx| {
            let step = poll_drive(
                cx,
                state,
                reading.as_mut(),
                start_read,
                future.as_mut(),
                watch,
            );
            if step.is_pending()
                && watch == Watch::BodyAndDisconnect
                && watches_close(state, reading.is_none())
            {
                // Pipelined requests fill the buffer, so no read is in flight: ask the engine
                // whether the client has gone, without reading.
                if closed.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(Interrupt::Disconnected));
                }
            }
            step
        })
        .await;
        match step {
            Ok(output) => return Ok(output),
            Err(Interrupt::Flush) => flush(io, state).await?,
            Err(Interrupt::Continue) => {
                state.conn.encode_continue(&mut state.out);
                flush(io, state).await?;
            }
            Err(Interrupt::Disconnected) => {
                io.abort();
                return Err(Stop::Close);
            }
        }
    }
}

fn poll_drive<R: Future<Output = ReadResult>, F: Future>(
    cx: &mut Context<'_>,
    state: &mut State,
    mut reading: Pin<&mut Option<R>>,
    start_read: &impl Fn(BytesMut) -> R,
    future: Pin<&mut F>,
    watch: Watch,
) -> Poll<Result<F::Output, Interrupt>> {
    let mut future = future;
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        if !state.out.is_empty() {
            return Poll::Ready(Err(Interrupt::Flush));
        }
        let mut progressed = false;
        if let Some(read) = reading.as_mut().as_pin_mut()
            && let Poll::Ready((result, buf)) = read.poll(cx)
        {
            reading.set(None);
            state.buf = Some(buf);
            if !matches!(result, Ok(n) if n > 0) {
                state.eof = true;
            }
            progressed = true;
        }
        let body = &state.call.inner.body;
        if body.wants_data() {
            if state.conn.wants_continue() {
                return Poll::Ready(Err(Interrupt::Continue));
            }
            if let Some(buf) = state.buf.as_mut() {
                progressed = true;
                match state.conn.read_body(buf) {
                    Ok(BodyEvent::Data(data)) => body.push(data),
                    Ok(BodyEvent::End) => body.end(),
                    Ok(BodyEvent::NeedMore) if state.eof => {
                        body.fail(body_error(state.conn.body_truncated()))
                    }
                    Ok(BodyEvent::NeedMore) => {
                        let buf = take_buf(state);
                        reading.set(Some(start_read(buf)));
                    }
                    Err(error) => {
                        state.conn.close_after_response();
                        body.fail(body_error(error));
                    }
                }
            }
        } else if watch == Watch::BodyAndDisconnect && state.conn.config().cancel_on_disconnect {
            let body_done = matches!(body.phase(), BodyPhase::None | BodyPhase::Ended);
            if state.eof && body_done {
                return Poll::Ready(Err(Interrupt::Disconnected));
            }
            // With nothing buffered and no body to come, a read can only bring the next request
            // (kept for later) or the end of the connection (the client left: cancel the handler).
            if body_done
                && reading.is_none()
                && state.buf.as_ref().is_some_and(|b| b.is_empty())
                && !state.eof
            {
                let buf = take_buf(state);
                reading.set(Some(start_read(buf)));
                progressed = true;
            }
        }
        if !progressed {
            return Poll::Pending;
        }
    }
}

/// Whether the client's leaving must be noticed with [`Io::closed`]: its request needs no more body,
/// no read is in flight, and bytes of later requests wait in the buffer.
fn watches_close(state: &State, idle_reader: bool) -> bool {
    idle_reader
        && state.conn.config().cancel_on_disconnect
        && !state.call.inner.body.wants_data()
        && matches!(
            state.call.inner.body.phase(),
            BodyPhase::None | BodyPhase::Ended
        )
        && state.buf.as_ref().is_some_and(|b| !b.is_empty())
}

fn body_error(error: BodyError) -> Error {
    Error::status(error.status(), error.as_str())
}

/// Writes a response whose head is encoded: the body as its kind requires.
async fn write_response<I: Io, R: Future<Output = ReadResult>>(
    io: &I,
    state: &mut State,
    mut reading: Pin<&mut Option<R>>,
    start_read: &impl Fn(BytesMut) -> R,
    committed: Committed,
    plan: ResponsePlan,
) -> Result<(), Stop> {
    let Committed { status, body } = committed;
    match body {
        ResponseBody::Bytes(data) if plan.write_body => write_bytes(io, state, plan, data).await?,
        ResponseBody::Stream { stream, length } if plan.write_body => {
            write_stream(
                io,
                state,
                reading.as_mut(),
                start_read,
                plan,
                stream,
                length,
            )
            .await?;
        }
        ResponseBody::Upgrade(handler) if status == StatusCode::SWITCHING_PROTOCOLS => {
            flush(io, state).await?;
            if reading.is_some() {
                // A read owns the buffer and may never complete: the connection cannot be handed over.
                return Err(Stop::Close);
            }
            // The bytes read past the request (usually none), copied out: frozen in place, they
            // kept the whole read buffer alive as long as the upgraded connection (8 KiB of
            // every idle WebSocket session, `benches/wrk/idle_memory.sh`).
            let leftover = match state.buf.take() {
                Some(buf) => {
                    let leftover = Bytes::copy_from_slice(&buf);
                    buffers::give_read(buf);
                    leftover
                }
                None => Bytes::new(),
            };
            return Err(Stop::Upgrade(handler, leftover));
        }
        _ => {}
    }
    Conn::encode_end(plan, &mut state.out);
    if state.out.len() >= state.conn.config().write_buffer_size {
        flush(io, state).await?;
    }
    Ok(())
}

/// Bytes this large skip the write buffer and go out as they are.
const DIRECT_WRITE: usize = 16 * 1024;

async fn write_bytes<I: Io>(
    io: &I,
    state: &mut State,
    plan: ResponsePlan,
    data: Bytes,
) -> Result<(), Stop> {
    if data.len() < DIRECT_WRITE {
        Conn::encode_data(plan, &mut state.out, &data);
        return Ok(());
    }
    if plan.framing == crate::http::response::ResponseFraming::Chunked {
        crate::http::response::encode_chunk_header(&mut state.out, data.len());
    }
    flush(io, state).await?;
    let limit = state.conn.config().write_timeout;
    match state.timer.limit(limit, io.write_bytes(data)).await {
        Some(Ok(())) => {}
        _ => {
            io.abort();
            return Err(Stop::Close);
        }
    }
    if plan.framing == crate::http::response::ResponseFraming::Chunked {
        state
            .out
            .extend_from_slice(crate::http::response::CHUNK_DATA_END);
    }
    Ok(())
}

/// Streams a body: each chunk as it comes, flushed whenever the stream has to wait.
async fn write_stream<I: Io, R: Future<Output = ReadResult>>(
    io: &I,
    state: &mut State,
    mut reading: Pin<&mut Option<R>>,
    start_read: &impl Fn(BytesMut) -> R,
    plan: ResponsePlan,
    mut stream: BodyStream,
    length: Option<u64>,
) -> Result<(), Stop> {
    let mut sent: u64 = 0;
    loop {
        let next = poll_fn(|cx| stream.as_mut().poll_next(cx));
        match drive(
            io,
            state,
            reading.as_mut(),
            start_read,
            next,
            Watch::BodyAndDisconnect,
        )
        .await?
        {
            Some(Ok(chunk)) => {
                sent += chunk.len() as u64;
                if length.is_some_and(|n| sent > n) {
                    tracing::error!(
                        "response stream longer than its declared length; aborting the connection"
                    );
                    return abort(io, state);
                }
                write_bytes(io, state, plan, chunk).await?;
                if state.out.len() >= state.conn.config().write_buffer_size {
                    flush(io, state).await?;
                }
            }
            Some(Err(error)) => {
                // The head is out: the only way to tell the client is to abort without ending the body.
                tracing::error!(%error, "response stream failed; aborting the connection");
                if plan.framing.closes_connection() {
                    return reset(io, state);
                }
                return abort(io, state);
            }
            None if length.is_some_and(|n| sent != n) => {
                tracing::error!(
                    "response stream shorter than its declared length; aborting the connection"
                );
                return abort(io, state);
            }
            None => return Ok(()),
        }
    }
}

/// Drops the connection without ending the body: what is encoded but not yet written is discarded,
/// so the client never sees an end it could take for a complete body.
fn abort<I: Io>(io: &I, state: &mut State) -> Result<(), Stop> {
    state.out.clear();
    io.abort();
    Err(Stop::Close)
}

/// Resets the connection: the end of a close-delimited body that cannot be finished. An orderly
/// close would complete it in the client's eyes (RFC 9112 §8: such a response "is considered
/// complete unless an error was indicated by the underlying connection").
fn reset<I: Io>(io: &I, state: &mut State) -> Result<(), Stop> {
    state.out.clear();
    io.reset();
    Err(Stop::Reset)
}

/// Discards the rest of an unread body, within the drain budget.
async fn drain<I: Io, R: Future<Output = ReadResult>>(
    io: &I,
    state: &mut State,
    mut reading: Pin<&mut Option<R>>,
    start_read: &impl Fn(BytesMut) -> R,
) -> Result<(), Stop> {
    let mut budget = state.conn.drain_budget();
    loop {
        if let Some(buf) = state.buf.as_mut() {
            match state.conn.read_body(buf) {
                Ok(BodyEvent::End) => return Ok(()),
                Ok(BodyEvent::Data(data)) if (data.len() as u64) <= budget => {
                    budget -= data.len() as u64;
                    continue;
                }
                Ok(BodyEvent::Data(_)) | Err(_) => return Err(Stop::Close),
                Ok(BodyEvent::NeedMore) => {}
            }
        }
        if state.eof
            || !read_more(io, state, reading.as_mut(), start_read, state_idle(state)).await?
        {
            return Err(Stop::Close);
        }
    }
}

fn state_idle(state: &State) -> std::time::Duration {
    state.conn.config().idle_timeout
}

/// Flushes, then waits up to `wait` for more bytes. `false` when none came (end, error or timeout).
async fn read_more<I: Io, R: Future<Output = ReadResult>>(
    io: &I,
    state: &mut State,
    mut reading: Pin<&mut Option<R>>,
    start_read: &impl Fn(BytesMut) -> R,
    wait: std::time::Duration,
) -> Result<bool, Stop> {
    flush(io, state).await?;
    if reading.is_none() {
        let buf = take_buf(state);
        reading.set(Some(start_read(buf)));
    }
    let read = poll_fn(|cx| {
        reading
            .as_mut()
            .as_pin_mut()
            .map_or(Poll::Pending, |r| r.poll(cx))
    });
    match state.timer.limit(wait, read).await {
        Some((result, buf)) => {
            reading.set(None);
            state.buf = Some(buf);
            let got = matches!(result, Ok(n) if n > 0);
            state.eof |= !got;
            Ok(got)
        }
        None => Ok(false),
    }
}

/// After the last response: end the write side, then read and discard what the client still sends
/// for a moment, so that closing does not reset the connection before the client read the response
/// (a client still sending a refused body would otherwise get a reset instead of the 413).
async fn linger<I: Io, R: Future<Output = ReadResult>>(
    io: &I,
    state: &mut State,
    mut reading: Pin<&mut Option<R>>,
    start_read: &impl Fn(BytesMut) -> R,
) {
    if flush(io, state).await.is_err() {
        return;
    }
    let _ = timeout(state.conn.config().write_timeout, io.shutdown_write()).await;
    let deadline = Instant::now() + LINGER_TIME;
    let mut discarded = 0;
    while !state.eof && discarded < LINGER_BYTES {
        if let Some(buf) = state.buf.as_mut() {
            discarded += buf.len();
            buf.clear();
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero()
            || !matches!(
                read_more(io, state, reading.as_mut(), start_read, left).await,
                Ok(true)
            )
        {
            break;
        }
    }
    io.abort();
}

/// How long, and how much, a closing connection reads and discards (see [`linger`]).
const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(2);
const LINGER_BYTES: usize = 1024 * 1024;

/// Writes the write buffer out, if it holds anything.
async fn flush<I: Io>(io: &I, state: &mut State) -> Result<(), Stop> {
    if state.out.is_empty() {
        return Ok(());
    }
    let out = std::mem::take(&mut state.out);
    let limit = state.conn.config().write_timeout;
    match state.timer.limit(limit, io.write_all(out)).await {
        Some((Ok(()), mut out)) => {
            out.clear();
            state.out = out;
            Ok(())
        }
        Some((Err(_), _)) | None => {
            io.abort();
            Err(Stop::Close)
        }
    }
}
