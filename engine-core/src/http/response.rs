//! The response side of the wire: how a response body is framed, the response head encoder, and
//! the chunk encoder (RFC 9112 §4, §6, §7, §9.3; RFC 9110 §6.4.1, §6.6.1, §8.6, §15.2).
//!
//! The rules live here once, so that no engine repeats them:
//!
//! - 1xx, 204 and 304 responses, and 2xx responses to CONNECT, carry no body and neither
//!   `Content-Length` nor `Transfer-Encoding` (RFC 9110 §6.4.1, §8.6; RFC 9112 §6.1). A 304 MAY carry
//!   the `Content-Length` of the 200 it stands for; we send none, so a handler cannot get it wrong.
//! - A HEAD response sends the `Content-Length` a GET would, when the handler knows it, and no body
//!   (RFC 9110 §9.3.2, §8.6). When it does not know it, neither field is sent.
//! - A body of unknown length is chunked for HTTP/1.1 and close-delimited for HTTP/1.0: never chunked
//!   to a 1.0 client (RFC 9112 §6.1, §7).
//! - A response never carries both framing fields (RFC 9112 §6.1): the app's own `Content-Length`
//!   and `Transfer-Encoding` are dropped and the framing decision writes the one it needs.
//!
//! Not here: whether the connection stays open (the connection driver decides and passes `close`),
//! the `Date` value ([`super::date`]), and any I/O. The status line is always `HTTP/1.1`: a server
//! sends the highest 1.x it conforms to (RFC 9110 §2.5), and an HTTP/1.0 client reads it as 1.x.

use super::date::DATE_LEN;
use super::{Method, Version};
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

const CRLF: &[u8] = b"\r\n";

/// The last chunk with no trailers: the end of a chunked body (RFC 9112 §7.1).
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// What follows the data of every chunk, for an engine that writes chunk data itself after
/// [`encode_chunk_header`].
pub const CHUNK_DATA_END: &[u8] = CRLF;

/// How a response body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseFraming {
    /// No body, and neither `Content-Length` nor `Transfer-Encoding`: 1xx, 204, 304, a 2xx to
    /// CONNECT, or a HEAD response whose length the handler did not know.
    Empty,
    /// `content-length: N`. For a HEAD response, the length a GET would have sent.
    Length(u64),
    /// `transfer-encoding: chunked`: the body goes through [`encode_chunk`] and ends with
    /// [`encode_last_chunk`]. Only to HTTP/1.1 peers.
    Chunked,
    /// Neither field: the body ends when the server closes the connection (RFC 9112 §6.3 ¶8). Only
    /// for an HTTP/1.0 peer and a body of unknown length.
    CloseDelimited,
}

impl ResponseFraming {
    /// Whether the connection has to close after the body to mark its end.
    #[inline]
    pub const fn closes_connection(self) -> bool {
        matches!(self, Self::CloseDelimited)
    }
}

/// What the handler has to send, as far as framing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodySize {
    /// No body at all.
    None,
    /// Exactly this many bytes. For HEAD: what a GET would send.
    Known(u64),
    /// A stream whose length is known only at its end.
    Unknown,
}

/// The result of [`response_framing`]: the framing fields to write, and whether body bytes follow
/// the head at all (not for HEAD, 1xx, 204, 205, 304, a 2xx to CONNECT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
pub struct FramingDecision {
    /// What [`encode_head`] writes as framing fields.
    pub framing: ResponseFraming,
    /// Whether the handler's body bytes are written after the head. When false, the engine
    /// discards them (or never asks for them).
    pub write_body: bool,
}

/// Decides how the response to a request with `method` and `version` frames `body`.
///
/// ```
/// use engine_core::http::response::{BodySize, ResponseFraming, response_framing};
/// use engine_core::http::{Method, Version};
/// use http::StatusCode;
///
/// let head = response_framing(StatusCode::OK, Method::Head, Version::Http11, BodySize::Known(5));
/// assert_eq!(head.framing, ResponseFraming::Length(5));
/// assert!(!head.write_body);
///
/// let old = response_framing(StatusCode::OK, Method::Get, Version::Http10, BodySize::Unknown);
/// assert_eq!(old.framing, ResponseFraming::CloseDelimited);
/// ```
pub fn response_framing(
    status: StatusCode,
    method: Method,
    version: Version,
    body: BodySize,
) -> FramingDecision {
    use ResponseFraming::{Chunked, CloseDelimited, Empty, Length};
    let decision = |framing, write_body| FramingDecision {
        framing,
        write_body,
    };
    if forbids_framing_fields(status, method) {
        return decision(Empty, false);
    }
    if status == StatusCode::RESET_CONTENT {
        // RFC 9110 §15.3.6: "a server MUST NOT generate content in a 205 response"; an explicit
        // zero length keeps the connection reusable.
        return decision(Length(0), false);
    }
    let is_head = method == Method::Head;
    match body {
        // A HEAD handler with no body may not know what GET would send; `content-length: 0` could
        // be a lie (RFC 9110 §8.6: MUST NOT unless it equals the GET length), so send no field.
        BodySize::None if is_head => decision(Empty, false),
        BodySize::None => decision(Length(0), false),
        BodySize::Known(n) => decision(Length(n), !is_head),
        BodySize::Unknown if is_head => decision(Empty, false),
        BodySize::Unknown => match version {
            Version::Http11 => decision(Chunked, true),
            Version::Http10 => decision(CloseDelimited, true),
        },
    }
}

/// RFC 9110 §8.6 and RFC 9112 §6.1: no `Content-Length` or `Transfer-Encoding` in a 1xx or 204
/// response or a 2xx response to CONNECT; RFC 9110 §6.4.1: 304 has no content either.
fn forbids_framing_fields(status: StatusCode, method: Method) -> bool {
    status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || (method == Method::Connect && status.is_success())
}

/// Appends a response head to `dst`: status line, the app's `headers`, the framing field, a
/// `Connection` field when needed, `Date`, and the empty line. Returns whether the connection must
/// close after this response: `close` was asked, `framing` is close-delimited, or the app's own
/// `Connection` field says `close`.
///
/// - `framing` comes from [`response_framing`]. For 1xx and 204 it is treated as
///   [`ResponseFraming::Empty`] whatever it says (RFC 9110 §8.6: MUST NOT).
/// - The app's `Content-Length` and `Transfer-Encoding` are always dropped; the length of a HEAD
///   response comes through [`BodySize::Known`]. This covers 101 too: after it the bytes on the
///   connection belong to another protocol, not to a body.
/// - Every other app field is written as given, repeated names kept, in `HeaderMap` order.
/// - `version` is the request's: an HTTP/1.0 peer needs `connection: keep-alive` to keep the
///   connection open (RFC 9112 §9.3, Appendix C.2.2), a 1.1 peer needs nothing. `connection: close` is written
///   when closing, unless the app's `Connection` already has `close`.
/// - A 1xx response gets no `Connection` field from here: an interim response says nothing about
///   the connection, the final one does. The app's (`connection: upgrade` for 101) is kept.
/// - `date` is written unless the app set its own `Date`.
///
/// ```
/// use engine_core::http::response::{ResponseFraming, encode_head};
/// use engine_core::http::Version;
/// use http::{HeaderMap, HeaderValue, StatusCode, header};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
/// let mut dst = Vec::new();
/// let date = b"Sun, 06 Nov 1994 08:49:37 GMT";
/// let framing = ResponseFraming::Length(13);
/// let close = encode_head(&mut dst, StatusCode::OK, &headers, framing, Version::Http11, false, date);
/// assert!(!close);
/// assert_eq!(
///     dst,
///     b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 13\r\n\
///       date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
/// );
/// ```
pub fn encode_head(
    dst: &mut Vec<u8>,
    status: StatusCode,
    headers: &HeaderMap,
    framing: ResponseFraming,
    version: Version,
    close: bool,
    date: &[u8; DATE_LEN],
) -> bool {
    let head = Head {
        status,
        content_type: None,
        headers,
        framing,
        version,
        close,
    };
    encode(dst, &head, date)
}

/// A response head to encode: [`encode_head`]'s arguments, plus a `Content-Type` kept apart from the
/// header map (the connection driver keeps it so, which spares a map insert per response).
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    /// The status.
    pub status: StatusCode,
    /// `Content-Type`, written first when present; the map should then not hold one.
    pub content_type: Option<&'a HeaderValue>,
    /// The app's headers.
    pub headers: &'a HeaderMap,
    /// How the body is framed.
    pub framing: ResponseFraming,
    /// The request's version.
    pub version: Version,
    /// Whether the connection closes after this response.
    pub close: bool,
}

/// Encodes `head`, as [`encode_head`] does; returns whether the connection must close.
pub fn encode(dst: &mut Vec<u8>, head: &Head<'_>, date: &[u8; DATE_LEN]) -> bool {
    let Head {
        status,
        content_type,
        headers,
        framing,
        version,
        close,
    } = *head;
    write_status_line(dst, status);
    if let Some(content_type) = content_type {
        dst.extend_from_slice(b"content-type: ");
        dst.extend_from_slice(content_type.as_bytes());
        dst.extend_from_slice(CRLF);
    }
    let app = write_app_fields(dst, headers);
    let interim = status.is_informational();
    let framing = if interim || status == StatusCode::NO_CONTENT {
        ResponseFraming::Empty
    } else {
        framing
    };
    match framing {
        ResponseFraming::Length(n) => {
            dst.extend_from_slice(b"content-length: ");
            dst.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            dst.extend_from_slice(CRLF);
        }
        ResponseFraming::Chunked => dst.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        ResponseFraming::Empty | ResponseFraming::CloseDelimited => {}
    }
    let close = close || framing.closes_connection() || app.close;
    if !interim {
        if close && !app.close {
            dst.extend_from_slice(b"connection: close\r\n");
        } else if !close && version == Version::Http10 && !app.keep_alive {
            dst.extend_from_slice(b"connection: keep-alive\r\n");
        }
    }
    if !app.date {
        dst.extend_from_slice(b"date: ");
        dst.extend_from_slice(date);
        dst.extend_from_slice(CRLF);
    }
    dst.extend_from_slice(CRLF);
    close
}

/// Appends `HTTP/1.1 100 Continue` and the empty line: the interim answer to `Expect: 100-continue`
/// (RFC 9110 §10.1.1, §15.2.1).
#[inline]
pub fn encode_continue(dst: &mut Vec<u8>) {
    dst.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\n");
}

/// Appends one chunk holding `data` (RFC 9112 §7.1): `chunk-size CRLF chunk-data CRLF`. An empty
/// `data` writes nothing, since a zero-size chunk is the last chunk and would end the body.
///
/// ```
/// let mut dst = Vec::new();
/// engine_core::http::response::encode_chunk(&mut dst, b"hello, world");
/// assert_eq!(dst, b"c\r\nhello, world\r\n");
/// ```
pub fn encode_chunk(dst: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    encode_chunk_header(dst, data.len());
    dst.extend_from_slice(data);
    dst.extend_from_slice(CHUNK_DATA_END);
}

/// Appends only the `chunk-size CRLF` line for `len` bytes of chunk data, for an engine that writes
/// the data from its own buffer (vectored I/O) followed by [`CHUNK_DATA_END`]. A `len` of zero
/// writes nothing, as in [`encode_chunk`].
pub fn encode_chunk_header(dst: &mut Vec<u8>, len: usize) {
    if len == 0 {
        return;
    }
    // chunk-size = 1*HEXDIG, without leading zeros.
    let mut digits = [0u8; 2 * size_of::<usize>()];
    let mut start = digits.len();
    let mut rest = len;
    while rest != 0 {
        start -= 1;
        digits[start] = b"0123456789abcdef"[rest & 0xf];
        rest >>= 4;
    }
    dst.extend_from_slice(&digits[start..]);
    dst.extend_from_slice(CRLF);
}

/// Appends the end of a chunked body: `0 CRLF`, the `trailers` as field lines, and the empty line
/// (RFC 9112 §7.1, §7.1.2). Trailer fields named `content-length` or `transfer-encoding` are
/// dropped: framing fields are not allowed in a trailer section (RFC 9110 §6.5.1).
pub fn encode_last_chunk(dst: &mut Vec<u8>, trailers: Option<&HeaderMap>) {
    let Some(trailers) = trailers.filter(|t| !t.is_empty()) else {
        dst.extend_from_slice(LAST_CHUNK);
        return;
    };
    dst.extend_from_slice(b"0\r\n");
    for (name, value) in trailers {
        if !is_framing_field(name) {
            write_field(dst, name, value);
        }
    }
    dst.extend_from_slice(CRLF);
}

/// What the app's own fields said about the fields the encoder would otherwise add.
#[derive(Debug, Default, Clone, Copy)]
struct AppFields {
    date: bool,
    close: bool,
    keep_alive: bool,
}

fn write_app_fields(dst: &mut Vec<u8>, headers: &HeaderMap) -> AppFields {
    let mut app = AppFields::default();
    for (name, value) in headers {
        if is_framing_field(name) {
            continue;
        }
        if *name == DATE {
            app.date = true;
        } else if *name == CONNECTION {
            app.close |= has_token(value.as_bytes(), b"close");
            app.keep_alive |= has_token(value.as_bytes(), b"keep-alive");
        }
        write_field(dst, name, value);
    }
    app
}

#[inline]
fn is_framing_field(name: &HeaderName) -> bool {
    *name == CONTENT_LENGTH || *name == TRANSFER_ENCODING
}

/// `field-name ": " field-value CRLF`. `HeaderValue` refuses control bytes, CR and LF among them, so a
/// value cannot end the line early (response splitting) unless the app built it with an `unchecked` constructor.
#[inline]
fn write_field(dst: &mut Vec<u8>, name: &HeaderName, value: &HeaderValue) {
    dst.extend_from_slice(name.as_str().as_bytes());
    dst.extend_from_slice(b": ");
    dst.extend_from_slice(value.as_bytes());
    dst.extend_from_slice(CRLF);
}

/// Whether the `#token` list `value` holds `token`, case-insensitively (RFC 9110 §5.6.1, §7.6.1).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&b| b == b',')
        .any(|element| element.trim_ascii().eq_ignore_ascii_case(token))
}

fn write_status_line(dst: &mut Vec<u8>, status: StatusCode) {
    if let Some(line) = static_status_line(status) {
        dst.extend_from_slice(line);
        return;
    }
    // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4): the SP stays
    // when the reason is empty.
    dst.extend_from_slice(b"HTTP/1.1 ");
    dst.extend_from_slice(status.as_str().as_bytes());
    dst.push(b' ');
    if let Some(reason) = status.canonical_reason() {
        dst.extend_from_slice(reason.as_bytes());
    }
    dst.extend_from_slice(CRLF);
}

/// Whole status lines of the common codes, one copy each instead of four pieces.
fn static_status_line(status: StatusCode) -> Option<&'static [u8]> {
    let line: &'static [u8] = match status.as_u16() {
        100 => b"HTTP/1.1 100 Continue\r\n",
        101 => b"HTTP/1.1 101 Switching Protocols\r\n",
        200 => b"HTTP/1.1 200 OK\r\n",
        201 => b"HTTP/1.1 201 Created\r\n",
        202 => b"HTTP/1.1 202 Accepted\r\n",
        204 => b"HTTP/1.1 204 No Content\r\n",
        206 => b"HTTP/1.1 206 Partial Content\r\n",
        301 => b"HTTP/1.1 301 Moved Permanently\r\n",
        302 => b"HTTP/1.1 302 Found\r\n",
        303 => b"HTTP/1.1 303 See Other\r\n",
        304 => b"HTTP/1.1 304 Not Modified\r\n",
        307 => b"HTTP/1.1 307 Temporary Redirect\r\n",
        308 => b"HTTP/1.1 308 Permanent Redirect\r\n",
        400 => b"HTTP/1.1 400 Bad Request\r\n",
        401 => b"HTTP/1.1 401 Unauthorized\r\n",
        403 => b"HTTP/1.1 403 Forbidden\r\n",
        404 => b"HTTP/1.1 404 Not Found\r\n",
        405 => b"HTTP/1.1 405 Method Not Allowed\r\n",
        408 => b"HTTP/1.1 408 Request Timeout\r\n",
        409 => b"HTTP/1.1 409 Conflict\r\n",
        411 => b"HTTP/1.1 411 Length Required\r\n",
        413 => b"HTTP/1.1 413 Payload Too Large\r\n",
        414 => b"HTTP/1.1 414 URI Too Long\r\n",
        415 => b"HTTP/1.1 415 Unsupported Media Type\r\n",
        417 => b"HTTP/1.1 417 Expectation Failed\r\n",
        422 => b"HTTP/1.1 422 Unprocessable Entity\r\n",
        429 => b"HTTP/1.1 429 Too Many Requests\r\n",
        431 => b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        500 => b"HTTP/1.1 500 Internal Server Error\r\n",
        501 => b"HTTP/1.1 501 Not Implemented\r\n",
        502 => b"HTTP/1.1 502 Bad Gateway\r\n",
        503 => b"HTTP/1.1 503 Service Unavailable\r\n",
        504 => b"HTTP/1.1 504 Gateway Timeout\r\n",
        505 => b"HTTP/1.1 505 HTTP Version Not Supported\r\n",
        _ => return None,
    };
    Some(line)
}

#[cfg(test)]
mod tests;
