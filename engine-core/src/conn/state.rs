//! The connection state machine, sans I/O: bytes in, request heads and body chunks out, response
//! bytes encoded, and the keep-alive decision (RFC 9112 §9). Every engine's connections go through
//! it (via [`super::driver`]); it never touches a socket, a timer or a task.

use super::ConnConfig;
use crate::http::date::with_date;
use crate::http::response::{self as wire, BodySize, ResponseFraming};
use crate::http::{
    BodyFraming, ChunkedDecoder, Decoded, FieldIndex, Method, ParseError, Parsed, RequestHead,
    Version, body_framing, parse_request_head,
};
use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, StatusCode};
use std::sync::Arc;

/// Why a request is refused before any handler sees it. Each maps to its status in [`Self::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The head or its framing is malformed or over a limit.
    Parse(ParseError),
    /// `Content-Length` above [`ConnConfig::max_body_size`].
    PayloadTooLarge,
    /// An `Expect` other than `100-continue` (RFC 9110 §10.1.1: 417).
    ExpectationFailed,
}

impl Rejection {
    /// The status the client gets.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Parse(error) => {
                StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST)
            }
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ExpectationFailed => StatusCode::EXPECTATION_FAILED,
        }
    }
}

/// Why reading a request body failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// The chunked framing is malformed (400); the connection cannot be trusted.
    Framing(ParseError),
    /// The body grew past [`ConnConfig::max_body_size`] (413).
    TooLarge,
    /// The connection ended before the body did.
    Truncated,
}

impl BodyError {
    /// The status the client gets.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Framing(_) | Self::Truncated => StatusCode::BAD_REQUEST,
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    /// A fixed description for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Framing(error) => error.as_str(),
            Self::TooLarge => "request body larger than the limit",
            Self::Truncated => "connection closed before the request body ended",
        }
    }
}

/// A request head, taken off the read buffer (its bytes are copied out by [`Conn::parse_head`]).
#[derive(Debug)]
pub struct RequestStart {
    /// The parsed head: offsets into the head's bytes.
    pub parsed: RequestHead,
    /// Whether a body follows.
    pub has_body: bool,
    /// Whether the client asked to switch protocols (`Connection: upgrade` with `Upgrade`).
    pub wants_upgrade: bool,
}

/// One step of reading a body.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyEvent {
    /// Body bytes: a slice of the read buffer, no copy.
    Data(Bytes),
    /// The buffer holds no more of the body: read from the peer.
    NeedMore,
    /// The body is complete.
    End,
}

/// What happens to the connection once a response is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Read the next request.
    KeepAlive,
    /// Discard the rest of the unread body (within [`ConnConfig::max_drain`]), then read the next.
    Drain,
    /// Close the connection.
    Close,
}

/// How a response's body goes out; from [`Conn::encode_head`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponsePlan {
    /// Whether body bytes are written at all (not for HEAD, 204, 304).
    pub write_body: bool,
    /// Chunked, with a length, or until close.
    pub framing: ResponseFraming,
}

enum Body {
    None,
    Length(u64),
    Chunked(Box<ChunkedDecoder>),
    Done,
}

/// One connection's protocol state.
pub struct Conn {
    config: Arc<ConnConfig>,
    /// Buffer length at the last head parse that needed more bytes: the parse is repeated only once
    /// the buffer holds a new `\r\n\r\n` or has doubled, so a head trickling in byte by byte costs
    /// linear time, not quadratic.
    scanned: usize,
    method: Method,
    version: Version,
    keep_alive: bool,
    body: Body,
    received: u64,
    expects_continue: bool,
    close_after_response: bool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// A connection with no request yet.
    pub fn new(config: Arc<ConnConfig>) -> Self {
        Self {
            config,
            scanned: 0,
            method: Method::Get,
            version: Version::Http11,
            keep_alive: true,
            body: Body::Done,
            received: 0,
            expects_continue: false,
            close_after_response: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ConnConfig {
        &self.config
    }

    /// Takes the next request head off `buf`, if it is complete: `head` receives its bytes (which
    /// the returned offsets index) and `fields` its fields.
    ///
    /// The head is copied out rather than split off as a `Bytes`: a head is short, and a slice
    /// would cost two atomic reference counts per request and keep the read buffer shared, so that
    /// it could not be reclaimed in place until the call let go of its head.
    pub fn parse_head(
        &mut self,
        buf: &mut BytesMut,
        fields: &mut Vec<FieldIndex>,
        head: &mut Vec<u8>,
    ) -> Result<Option<RequestStart>, Rejection> {
        if self.scanned > 0 && !self.worth_parsing(buf) {
            return Ok(None);
        }
        let parsed =
            match parse_request_head(buf, &self.config.limits, fields).map_err(Rejection::Parse)? {
                Parsed::Partial => {
                    self.scanned = buf.len().max(1);
                    return Ok(None);
                }
                Parsed::Complete(parsed) => parsed,
            };
        self.scanned = 0;
        let framing = body_framing(&parsed, buf, fields).map_err(Rejection::Parse)?;
        let options = ConnectionOptions::read(&parsed, buf, fields);
        if options.expect_unsupported {
            return Err(Rejection::ExpectationFailed);
        }
        self.body = match framing {
            BodyFraming::None | BodyFraming::Length(0) => Body::None,
            BodyFraming::Length(n) if n > self.config.max_body_size => {
                return Err(Rejection::PayloadTooLarge);
            }
            BodyFraming::Length(n) => Body::Length(n),
            BodyFraming::Chunked => {
                Body::Chunked(Box::new(ChunkedDecoder::new(&self.config.limits)))
            }
        };
        self.method = parsed.method;
        self.version = parsed.version;
        self.keep_alive = options.keep_alive;
        self.received = 0;
        // RFC 9110 §10.1.1: a 1.0 client cannot have meant it; no body means nothing to wait for.
        self.expects_continue = options.expect_continue
            && parsed.version == Version::Http11
            && !matches!(self.body, Body::None);
        self.close_after_response = false;
        let has_body = !matches!(self.body, Body::None);
        head.clear();
        head.extend_from_slice(&buf[..parsed.len]);
        buf.advance(parsed.len);
        Ok(Some(RequestStart {
            parsed,
            has_body,
            wants_upgrade: options.upgrade,
        }))
    }

    fn worth_parsing(&self, buf: &[u8]) -> bool {
        let limit = self
            .config
            .limits
            .max_request_line
            .saturating_add(self.config.limits.max_header_bytes);
        buf.len() >= self.scanned.saturating_mul(2)
            || buf.len() >= limit
            || memchr::memmem::find(
                &buf[self.scanned.saturating_sub(3).min(buf.len())..],
                b"\r\n\r\n",
            )
            .is_some()
    }

    /// Whether the handler must see `100 Continue` before the client sends the body. True until
    /// [`encode_continue`](Self::encode_continue) or a final response.
    pub fn wants_continue(&self) -> bool {
        self.expects_continue
    }

    /// Writes `100 Continue` (RFC 9110 §15.2.1), once.
    pub fn encode_continue(&mut self, dst: &mut Vec<u8>) {
        if std::mem::take(&mut self.expects_continue) {
            wire::encode_continue(dst);
        }
    }

    /// The next piece of the request body from `buf`.
    pub fn read_body(&mut self, buf: &mut BytesMut) -> Result<BodyEvent, BodyError> {
        let event = match &mut self.body {
            Body::None | Body::Done => return Ok(BodyEvent::End),
            Body::Length(0) => BodyEvent::End,
            Body::Length(_) if buf.is_empty() => return Ok(BodyEvent::NeedMore),
            Body::Length(remaining) => {
                // `min` with a `usize` length: the result fits a `usize`.
                #[allow(clippy::cast_possible_truncation)]
                let n = (*remaining).min(buf.len() as u64) as usize;
                *remaining -= n as u64;
                BodyEvent::Data(buf.split_to(n).freeze())
            }
            Body::Chunked(decoder) => match decoder.decode(buf).map_err(BodyError::Framing)? {
                (consumed, Decoded::Data(range)) => {
                    BodyEvent::Data(buf.split_to(consumed).freeze().slice(range))
                }
                (consumed, Decoded::NeedMore) => {
                    buf.advance(consumed);
                    return Ok(BodyEvent::NeedMore);
                }
                (consumed, Decoded::Done) => {
                    buf.advance(consumed);
                    BodyEvent::End
                }
            },
        };
        match &event {
            BodyEvent::Data(data) => {
                self.received += data.len() as u64;
                if self.received > self.config.max_body_size {
                    self.close_after_response = true;
                    return Err(BodyError::TooLarge);
                }
            }
            BodyEvent::End => self.body = Body::Done,
            BodyEvent::NeedMore => {}
        }
        Ok(event)
    }

    /// The peer closed before the body ended.
    pub fn body_truncated(&mut self) -> BodyError {
        self.close_after_response = true;
        BodyError::Truncated
    }

    /// Marks the connection to close after the current response (a failed body, a failed handler).
    pub fn close_after_response(&mut self) {
        self.close_after_response = true;
    }

    /// Encodes a response head and decides how its body goes out.
    pub fn encode_head(
        &mut self,
        dst: &mut Vec<u8>,
        status: StatusCode,
        content_type: Option<&HeaderValue>,
        headers: &HeaderMap,
        body: BodySize,
    ) -> ResponsePlan {
        // A final response answers the expectation: no 100 after it (RFC 9110 §10.1.1).
        if !status.is_informational() {
            self.expects_continue = false;
        }
        let decision = wire::response_framing(status, self.method, self.version, body);
        let close = !self.keep_alive || self.close_after_response;
        let head = wire::Head {
            status,
            content_type,
            headers,
            framing: decision.framing,
            version: self.version,
            close,
        };
        if with_date(|date| wire::encode(dst, &head, date)) {
            self.close_after_response = true;
        }
        ResponsePlan {
            write_body: decision.write_body,
            framing: decision.framing,
        }
    }

    /// Encodes a rejection: its status, no body, `connection: close`.
    pub fn encode_rejection(&mut self, dst: &mut Vec<u8>, status: StatusCode) {
        self.close_after_response = true;
        self.keep_alive = false;
        let empty = HeaderMap::new();
        with_date(|date| {
            wire::encode_head(
                dst,
                status,
                &empty,
                ResponseFraming::Length(0),
                Version::Http11,
                true,
                date,
            )
        });
    }

    /// Encodes body bytes for `plan`.
    pub fn encode_data(plan: ResponsePlan, dst: &mut Vec<u8>, data: &[u8]) {
        match plan.framing {
            ResponseFraming::Chunked => wire::encode_chunk(dst, data),
            _ => dst.extend_from_slice(data),
        }
    }

    /// Encodes the end of the body for `plan`.
    pub fn encode_end(plan: ResponsePlan, dst: &mut Vec<u8>) {
        if plan.write_body && plan.framing == ResponseFraming::Chunked {
            wire::encode_last_chunk(dst, None);
        }
    }

    /// What to do once the response is complete.
    pub fn after_response(&self) -> After {
        if self.close_after_response || !self.keep_alive {
            return After::Close;
        }
        match &self.body {
            Body::None | Body::Done => After::KeepAlive,
            Body::Length(remaining) if *remaining > self.config.max_drain => After::Close,
            Body::Length(_) | Body::Chunked(_) => After::Drain,
        }
    }

    /// The drain budget for the current body: what may still be discarded before giving up.
    pub fn drain_budget(&self) -> u64 {
        self.config.max_drain
    }
}

/// What the `Connection`, `Expect` and `Upgrade` fields ask for.
struct ConnectionOptions {
    keep_alive: bool,
    upgrade: bool,
    expect_continue: bool,
    expect_unsupported: bool,
}

impl ConnectionOptions {
    fn read(head: &RequestHead, buf: &[u8], fields: &[FieldIndex]) -> Self {
        let (mut close, mut keep_alive, mut upgrade_token, mut upgrade_field) =
            (false, false, false, false);
        let (mut expect_continue, mut expect_unsupported) = (false, false);
        for field in fields {
            match field.name.len() {
                10 if field.is(buf, "connection") => {
                    for token in field.value.of(buf).split(|&b| b == b',') {
                        let token = token.trim_ascii();
                        close |= token.eq_ignore_ascii_case(b"close");
                        keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                        upgrade_token |= token.eq_ignore_ascii_case(b"upgrade");
                    }
                }
                7 if field.is(buf, "upgrade") => upgrade_field = true,
                6 if field.is(buf, "expect") => {
                    if field.value.of(buf).eq_ignore_ascii_case(b"100-continue") {
                        expect_continue = true;
                    } else if head.version == Version::Http11 {
                        expect_unsupported = true;
                    }
                }
                _ => {}
            }
        }
        // RFC 9112 §9.3: 1.1 persists unless `close`; 1.0 only with `keep-alive`.
        let keep_alive = match head.version {
            Version::Http11 => !close,
            Version::Http10 => keep_alive && !close,
        };
        Self {
            keep_alive,
            upgrade: upgrade_token && upgrade_field,
            expect_continue,
            expect_unsupported,
        }
    }
}

#[cfg(test)]
mod tests;
