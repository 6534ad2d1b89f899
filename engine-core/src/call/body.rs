//! The request body between the connection driver and the handler.
//!
//! The handler and the driver run in one task: the handler's future is polled by the driver. When
//! the handler wants bytes it records a demand and waits; after every poll the driver looks at the
//! demand and supplies one chunk (a zero-copy slice of its read buffer), the end, or an error. So a
//! body is read only as fast as the handler consumes it (backpressure), the driver knows when the
//! handler starts reading (that is when `100 Continue` goes out), and it knows whether the body was
//! read to its end when the response is done (or must be drained).

use super::ApplicationCall;
use crate::Error;
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use http::StatusCode;
use std::fmt;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// Where a request body stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum BodyPhase {
    /// The request has no body.
    #[default]
    None,
    /// There is a body and nobody asked for it yet.
    Unread,
    /// The handler is reading it.
    Reading,
    /// It was read to its end.
    Ended,
    /// It failed; the error went to the reader.
    Failed,
}

#[derive(Default)]
struct BodyState {
    phase: BodyPhase,
    chunk: Option<Bytes>,
    error: Option<Error>,
    waker: Option<Waker>,
    demand: bool,
    /// `receive_*` was called: a second receive is an error.
    taken: bool,
    /// The most body bytes the reader may get (`ApplicationCall::limit_request_body`); `None`
    /// leaves only the connection's limit.
    limit: Option<u64>,
    /// Body bytes handed to the reader so far.
    delivered: u64,
}

/// The channel between the driver and the reader of a call's body.
#[derive(Default)]
pub(crate) struct BodyChannel {
    state: Mutex<BodyState>,
}

impl fmt::Debug for BodyChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyChannel")
            .field("phase", &self.lock().phase)
            .finish()
    }
}

impl BodyChannel {
    fn lock(&self) -> MutexGuard<'_, BodyState> {
        // Each update is a handful of assignments that cannot panic half-way.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts a request: with a body or without one.
    pub(crate) fn reset(&mut self, has_body: bool) {
        let state = self
            .state
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *state = BodyState {
            phase: if has_body {
                BodyPhase::Unread
            } else {
                BodyPhase::None
            },
            ..BodyState::default()
        };
    }

    /// Whether the reader waits for bytes the driver has not supplied.
    pub(crate) fn wants_data(&self) -> bool {
        let state = self.lock();
        state.demand && state.chunk.is_none()
    }

    pub(crate) fn phase(&self) -> BodyPhase {
        self.lock().phase
    }

    /// Supplies one chunk to the waiting reader.
    pub(crate) fn push(&self, chunk: Bytes) {
        let mut state = self.lock();
        state.chunk = Some(chunk);
        state.demand = false;
        wake(&mut state);
    }

    /// The body ended.
    pub(crate) fn end(&self) {
        let mut state = self.lock();
        if state.phase != BodyPhase::Failed {
            state.phase = BodyPhase::Ended;
        }
        state.demand = false;
        wake(&mut state);
    }

    /// The body failed: the reader gets `error`.
    pub(crate) fn fail(&self, error: Error) {
        let mut state = self.lock();
        state.phase = BodyPhase::Failed;
        state.error = Some(error);
        state.demand = false;
        wake(&mut state);
    }

    /// Lowers the reader's limit to `max` bytes.
    pub(crate) fn limit(&self, max: u64) {
        let mut state = self.lock();
        state.limit = Some(state.limit.map_or(max, |limit| limit.min(max)));
    }

    fn take(&self) -> Result<(), Error> {
        let mut state = self.lock();
        if std::mem::replace(&mut state.taken, true) {
            return Err(Error::status(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the request body was already received",
            ));
        }
        Ok(())
    }

    fn poll_chunk(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Error>>> {
        let mut state = self.lock();
        if let Some(chunk) = state.chunk.take() {
            state.delivered = state.delivered.saturating_add(chunk.len() as u64);
            if state.limit.is_some_and(|limit| state.delivered > limit) {
                // The rest of the body stays unread: the driver drains it or closes.
                state.phase = BodyPhase::Failed;
                return Poll::Ready(Some(Err(Error::status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body larger than the call's limit",
                ))));
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        match state.phase {
            BodyPhase::None | BodyPhase::Ended => Poll::Ready(None),
            BodyPhase::Failed => Poll::Ready(state.error.take().map(Err)),
            BodyPhase::Unread | BodyPhase::Reading => {
                state.phase = BodyPhase::Reading;
                state.demand = true;
                match &state.waker {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => state.waker = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

fn wake(state: &mut BodyState) {
    if let Some(waker) = state.waker.take() {
        waker.wake();
    }
}

/// The request body as a stream of chunks (Ktor's `ByteReadChannel`): chunks arrive as the handler
/// asks for them, without being collected.
pub struct RequestBody {
    call: ApplicationCall,
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody").finish_non_exhaustive()
    }
}

impl RequestBody {
    pub(crate) fn take(call: &ApplicationCall) -> Result<Self, Error> {
        call.inner.body.take()?;
        Ok(Self { call: call.clone() })
    }
}

impl Stream for RequestBody {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.call.inner.body.poll_chunk(cx)
    }
}

/// The subject of the receive pipeline: the body as it will be read. A plugin in the pipeline may
/// replace it (decompress it, say, or substitute bytes) before the handler sees it.
pub enum IncomingBody {
    /// The body as it comes off the connection.
    Stream(RequestBody),
    /// A body a plugin has already collected or substituted.
    Bytes(Bytes),
    /// A body a plugin transforms while it is read.
    Transformed(super::content::BodyStream),
}

impl fmt::Debug for IncomingBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stream(_) => f.write_str("IncomingBody::Stream"),
            Self::Bytes(b) => write!(f, "IncomingBody::Bytes({} bytes)", b.len()),
            Self::Transformed(_) => f.write_str("IncomingBody::Transformed"),
        }
    }
}

impl IncomingBody {
    /// Collects the whole body. A body in one chunk is returned without a copy.
    pub async fn bytes(self) -> Result<Bytes, Error> {
        match self {
            Self::Bytes(bytes) => Ok(bytes),
            Self::Stream(mut body) => collect(&mut body).await,
            Self::Transformed(mut stream) => collect(&mut stream).await,
        }
    }

    /// The body as a stream of chunks.
    pub fn into_stream(self) -> super::content::BodyStream {
        match self {
            Self::Stream(body) => Box::pin(body),
            Self::Bytes(bytes) => Box::pin(futures_util::stream::iter(
                (!bytes.is_empty()).then_some(Ok(bytes)),
            )),
            Self::Transformed(stream) => stream,
        }
    }
}

async fn collect<S: Stream<Item = Result<Bytes, Error>> + Unpin>(
    stream: &mut S,
) -> Result<Bytes, Error> {
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await {
        let chunk = chunk?;
        match &first {
            None if rest.is_empty() => first = Some(chunk),
            _ => {
                if let Some(first) = first.take() {
                    rest.extend_from_slice(&first);
                }
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| rest.freeze()))
}
