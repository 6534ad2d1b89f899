//! The response side of a call: status, headers and cookies set before the content is sent, and the
//! committed content the connection driver writes.

use super::content::{OutgoingContent, ResponseBody};
use crate::Error;
use cookie::Cookie;
use http::header::{IntoHeaderName, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

/// What the driver needs to write a response: taken once per call.
pub(crate) struct Committed {
    pub(crate) status: StatusCode,
    pub(crate) body: ResponseBody,
}

/// The mutable response state of a call.
#[derive(Default)]
pub(crate) struct ResponseState {
    pub(crate) status: Option<StatusCode>,
    /// Reused across the calls of a connection: `clear` keeps its allocation.
    pub(crate) headers: HeaderMap,
    /// The content's `Content-Type`, kept out of `headers`: most responses have no other header,
    /// and an empty map costs nothing to clear.
    pub(crate) content_type: Option<HeaderValue>,
    /// Set by `respond`; `Some` until the driver takes it.
    pub(crate) committed: Option<Committed>,
}

impl ResponseState {
    fn reset(&mut self) {
        self.status = None;
        if !self.headers.is_empty() {
            self.headers.clear();
        }
        self.content_type = None;
        self.committed = None;
    }
}

/// A call's response state, and whether it has responded.
#[derive(Default)]
pub(crate) struct ResponseCell {
    state: Mutex<ResponseState>,
    /// Whether `respond` ran (the content may already be taken by the driver). Written only with
    /// `state` locked, so that checking and recording a response is one step; read without the
    /// lock: plugins ask it on every call, and a lock is two atomic read-modify-writes.
    responded: AtomicBool,
}

impl ResponseCell {
    /// The state, reached through the only reference to the call: no lock.
    pub(crate) fn state_mut(&mut self) -> &mut ResponseState {
        self.state
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes the cell as new for the next call of a connection, keeping the header map's allocation.
    pub(crate) fn reset(&mut self) {
        self.state_mut().reset();
        *self.responded.get_mut() = false;
    }
}

/// The response of a call: status, headers, cookies (Ktor's `call.response`).
pub struct Response<'c> {
    cell: &'c ResponseCell,
}

impl std::fmt::Debug for Response<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Response")
            .field("status", &state.status)
            .field("headers", &state.headers)
            .finish()
    }
}

impl<'c> Response<'c> {
    pub(crate) fn new(cell: &'c ResponseCell) -> Self {
        Self { cell }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'c, ResponseState> {
        // Every update below is a single assignment or map operation: a panic cannot leave the
        // state half-written, so a poisoned lock is still consistent.
        self.cell
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets the status the response will have.
    pub fn status(&self, status: StatusCode) {
        self.lock().status = Some(status);
    }

    /// The status set so far, if any.
    pub fn get_status(&self) -> Option<StatusCode> {
        self.lock().status
    }

    /// Appends a header; a name set twice keeps both values.
    pub fn append_header<K: IntoHeaderName>(&self, name: K, value: HeaderValue) {
        self.lock().headers.append(name, value);
    }

    /// Sets a header, replacing the values it had.
    pub fn set_header<K: IntoHeaderName>(&self, name: K, value: HeaderValue) {
        self.lock().headers.insert(name, value);
    }

    /// Appends a header from strings; fails on a name or value HTTP cannot carry.
    pub fn header(&self, name: &str, value: &str) -> Result<(), Error> {
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| Error::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        let value = HeaderValue::from_str(value)
            .map_err(|e| Error::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        self.append_header(name, value);
        Ok(())
    }

    /// Calls `f` with the headers set so far.
    pub fn with_headers<R>(&self, f: impl FnOnce(&mut HeaderMap) -> R) -> R {
        f(&mut self.lock().headers)
    }

    /// Adds a `Set-Cookie` for `cookie`.
    pub fn cookie(&self, cookie: Cookie<'_>) -> Result<(), Error> {
        let value = HeaderValue::from_str(&cookie.encoded().to_string())
            .map_err(|e| Error::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        self.append_header(SET_COOKIE, value);
        Ok(())
    }

    /// The response's `Content-Type`: the responded content's, or else one set as a header.
    pub fn content_type(&self) -> Option<HeaderValue> {
        let state = self.lock();
        state
            .content_type
            .clone()
            .or_else(|| state.headers.get(http::header::CONTENT_TYPE).cloned())
    }

    /// Whether the call has responded.
    pub fn is_committed(&self) -> bool {
        self.cell.responded.load(Ordering::Acquire)
    }

    /// Records the content as the call's response. Fails if the call already responded.
    pub(crate) fn commit(&self, content: OutgoingContent) -> Result<(), Error> {
        let mut state = self.lock();
        if self.cell.responded.load(Ordering::Relaxed) {
            return Err(already_responded());
        }
        self.record(&mut state, content);
        Ok(())
    }

    /// [`commit`](Self::commit) for content that came out of the send pipeline, which the call had
    /// not responded to when it went in: if the call has responded now, a plugin in the pipeline
    /// answered in the content's place, and the content is dropped.
    pub(crate) fn commit_unless_answered(&self, content: OutgoingContent) -> Result<(), Error> {
        let mut state = self.lock();
        if !self.cell.responded.load(Ordering::Relaxed) {
            self.record(&mut state, content);
        }
        Ok(())
    }

    /// Records `content` in `state`, which the caller locked.
    fn record(&self, state: &mut ResponseState, content: OutgoingContent) {
        let status = content
            .status
            .or(state.status)
            .unwrap_or(match content.body {
                ResponseBody::Upgrade(_) => StatusCode::SWITCHING_PROTOCOLS,
                _ => StatusCode::OK,
            });
        if let Some(content_type) = content.content_type {
            // The content's type wins over one set as a header, and travels beside the map: a
            // plain response then inserts nothing into it (about 240 instructions a call in
            // `callgrind`, with the map's clear).
            if !state.headers.is_empty() {
                state.headers.remove(http::header::CONTENT_TYPE);
            }
            state.content_type = Some(content_type);
        }
        state.status = Some(status);
        state.committed = Some(Committed {
            status,
            body: content.body,
        });
        // Release: who sees `responded` set without the lock sees the response recorded.
        self.cell.responded.store(true, Ordering::Release);
    }
}

/// The error of a second response.
pub(crate) fn already_responded() -> Error {
    Error::status(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the call has already responded",
    )
}
