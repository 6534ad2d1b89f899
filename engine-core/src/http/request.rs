//! The request head parser (RFC 9112 §2, §3, §5): request line and header section, incremental and
//! zero-copy. Bytes in; out comes a [`RequestHead`] of offsets into those bytes with the number of
//! bytes consumed, [`Parsed::Partial`], or a [`ParseError`] that names its status.
//!
//! ```text
//! HTTP-message   = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
//! request-line   = method SP request-target SP HTTP-version
//! method         = token
//! HTTP-version   = HTTP-name "/" DIGIT "." DIGIT
//! ```
//!
//! Strict where RFC 9112 allows leniency: line endings are CRLF (a bare LF is refused, §2.2 allows
//! either), one SP separates the request-line parts (§3), and obsolete line folding is refused
//! (§5.2). Leading empty lines before the request line are ignored (§2.2). Whether the head frames a
//! body is [`super::framing`]'s job.

use super::ParseError;
use super::chars::{is_tchar, scan_target};
use super::fields::{MAX_HEAD, parse_field_section};
use super::{FieldIndex, Limits, Span};

pub use super::fields::Parsed;

/// HTTP-version of a request. Minor versions above 1 are treated as 1.1 (RFC 9110 §2.5: a recipient
/// uses the highest minor version it implements that is not above the sender's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// `HTTP/1.0`.
    Http10,
    /// `HTTP/1.1` (and `HTTP/1.x`, x > 1).
    Http11,
}

/// The method, with the registered ones recognised without allocation (RFC 9110 §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `CONNECT`
    Connect,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
    /// `PATCH` (RFC 5789)
    Patch,
    /// Any other token; its bytes are [`RequestHead::method_span`].
    Extension,
}

impl Method {
    #[inline]
    fn from_token(token: &[u8]) -> Self {
        match token {
            b"GET" => Self::Get,
            b"HEAD" => Self::Head,
            b"POST" => Self::Post,
            b"PUT" => Self::Put,
            b"DELETE" => Self::Delete,
            b"CONNECT" => Self::Connect,
            b"OPTIONS" => Self::Options,
            b"TRACE" => Self::Trace,
            b"PATCH" => Self::Patch,
            _ => Self::Extension,
        }
    }
}

/// The form of a request-target (RFC 9112 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetForm {
    /// `absolute-path [ "?" query ]`: `/where?q=now`.
    Origin,
    /// `absolute-URI`: `http://www.example.org/pub`. Accepted with `scheme "://"`, the only shape
    /// clients send to servers (§3.2.2).
    Absolute,
    /// `uri-host ":" port`, only for CONNECT (§3.2.3).
    Authority,
    /// `*`, only for OPTIONS (§3.2.4).
    Asterisk,
}

/// A parsed request head: offsets into the buffer given to [`parse_request_head`], whose fields went
/// to the caller's `fields` vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The method token's bytes.
    pub method_span: Span,
    /// The request-target as sent.
    pub target: Span,
    /// Which form the target has; it fits the method.
    pub target_form: TargetForm,
    /// The HTTP-version.
    pub version: Version,
    /// The `Host` field's value, if one was sent (at most one is).
    pub host: Option<Span>,
    /// Bytes the head took from the buffer: leading empty lines, request line, header section and
    /// its final CRLF. The body, if any, starts here.
    pub len: usize,
}

/// Parses a request head from the start of `buf`.
///
/// `fields` is cleared and receives the header fields; a caller that keeps the vector across
/// requests allocates only while it grows. On `Partial` the caller feeds more bytes and calls again
/// with the whole buffer. Errors come as soon as the bytes show them, complete or not: a request line
/// longer than `limits.max_request_line` is [`ParseError::RequestLineTooLong`] even before its end
/// arrives.
///
/// ```
/// use engine_core::http::{Limits, Method, Parsed, parse_request_head};
/// let buf = b"GET /hello?x=1 HTTP/1.1\r\nHost: example.org\r\n\r\n";
/// let mut fields = Vec::new();
/// let Parsed::Complete(head) = parse_request_head(buf, &Limits::default(), &mut fields).unwrap() else {
///     panic!("complete");
/// };
/// assert_eq!(head.method, Method::Get);
/// assert_eq!(head.target.of(buf), b"/hello?x=1");
/// assert_eq!(fields[0].value.of(buf), b"example.org");
/// assert_eq!(head.len, buf.len());
/// ```
pub fn parse_request_head(
    buf: &[u8],
    limits: &Limits,
    fields: &mut Vec<FieldIndex>,
) -> Result<Parsed<RequestHead>, ParseError> {
    fields.clear();
    let buf = &buf[..buf.len().min(MAX_HEAD)];
    let Parsed::Complete(line) = parse_request_line(buf, limits.max_request_line)? else {
        return Ok(Parsed::Partial);
    };
    let Parsed::Complete(len) = parse_field_section(
        buf,
        line.end,
        limits.max_header_bytes,
        limits.max_headers,
        fields,
    )?
    else {
        return Ok(Parsed::Partial);
    };
    let host = find_host(buf, fields, line.version)?;
    Ok(Parsed::Complete(RequestHead {
        method: line.method,
        method_span: line.method_span,
        target: line.target,
        target_form: line.target_form,
        version: line.version,
        host,
        len,
    }))
}

struct RequestLine {
    method: Method,
    method_span: Span,
    target: Span,
    target_form: TargetForm,
    version: Version,
    /// Offset just past the request line's CRLF.
    end: usize,
}

fn parse_request_line(buf: &[u8], max_line: usize) -> Result<Parsed<RequestLine>, ParseError> {
    // The limit counts from the start of the buffer, leading empty lines included, so a peer cannot
    // grow the buffer with CRLFs alone.
    let limit = max_line.min(MAX_HEAD);
    let clipped = buf.len() >= limit;
    let buf = &buf[..buf.len().min(limit)];
    let partial = || {
        if clipped {
            Err(ParseError::RequestLineTooLong)
        } else {
            Ok(Parsed::Partial)
        }
    };

    let mut pos = 0;
    // RFC 9112 §2.2: "a server that is expecting to receive and parse a request-line SHOULD ignore at
    // least one empty line (CRLF) received prior to the request-line."
    loop {
        match buf.get(pos..pos + 2) {
            Some(b"\r\n") => pos += 2,
            Some([b'\r', _] | [b'\n', _]) => return Err(ParseError::InvalidLineEnding),
            Some(_) => break,
            None if buf.get(pos) == Some(&b'\n') => return Err(ParseError::InvalidLineEnding),
            None => return partial(),
        }
    }

    let method_start = pos;
    // `GET ` in one compare: the token loop and the match cost about 35 instructions a request.
    let method = if buf[pos..].starts_with(b"GET ") {
        pos += 3;
        Method::Get
    } else {
        while pos < buf.len() && is_tchar(buf[pos]) {
            pos += 1;
        }
        match buf.get(pos) {
            None => return partial(),
            Some(b' ') if pos > method_start => {}
            Some(_) => return Err(ParseError::InvalidMethod),
        }
        Method::from_token(&buf[method_start..pos])
    };
    let method_span = Span::new(method_start, pos);
    pos += 1;

    let target_start = pos;
    pos = scan_target(buf, pos);
    match buf.get(pos) {
        None => return partial(),
        Some(b' ') if pos > target_start => {}
        Some(_) => return Err(ParseError::InvalidTarget),
    }
    let target = Span::new(target_start, pos);
    let target_form = target_form(method, &buf[target_start..pos])?;
    pos += 1;

    // "HTTP/" DIGIT "." DIGIT CRLF: 10 bytes. Check each one that has arrived, so a wrong byte is
    // an error at once rather than after the line ends.
    let version_bytes = &buf[pos..buf.len().min(pos + 10)];
    let version = match check_version(version_bytes)? {
        Parsed::Complete(version) => version,
        Parsed::Partial => return partial(),
    };
    Ok(Parsed::Complete(RequestLine {
        method,
        method_span,
        target,
        target_form,
        version,
        end: pos + 10,
    }))
}

/// Checks the prefix of `HTTP/x.y\r\n` that has arrived.
fn check_version(bytes: &[u8]) -> Result<Parsed<Version>, ParseError> {
    // The common case first: the byte loop below was 2% of a whole call's instructions
    // (callgrind on `cargo bench -p benches --bench pipeline -- call/routing_hello`).
    if bytes == b"HTTP/1.1\r\n" {
        return Ok(Parsed::Complete(Version::Http11));
    }
    const PATTERN: &[u8; 10] = b"HTTP/0.0\r\n";
    for (i, (&b, &p)) in bytes.iter().zip(PATTERN).enumerate() {
        let ok = match i {
            5 | 7 => b.is_ascii_digit(),
            // A version followed by anything but CRLF: a bad line ending if the version was complete.
            8 | 9 if b != p => return Err(ParseError::InvalidLineEnding),
            _ => b == p,
        };
        if !ok {
            return Err(ParseError::InvalidVersion);
        }
    }
    if bytes.len() < PATTERN.len() {
        return Ok(Parsed::Partial);
    }
    match (bytes[5], bytes[7]) {
        (b'1', b'0') => Ok(Parsed::Complete(Version::Http10)),
        (b'1', _) => Ok(Parsed::Complete(Version::Http11)),
        // RFC 9110 §15.6.6: 505 for a major version the server does not support.
        _ => Err(ParseError::UnsupportedVersion),
    }
}

/// Classifies a request-target and checks that its form fits the method (RFC 9112 §3.2).
fn target_form(method: Method, target: &[u8]) -> Result<TargetForm, ParseError> {
    let form = match target {
        [b'/', ..] => TargetForm::Origin,
        b"*" => TargetForm::Asterisk,
        _ if method == Method::Connect => TargetForm::Authority,
        _ if has_scheme_and_authority(target) => TargetForm::Absolute,
        _ => return Err(ParseError::InvalidTarget),
    };
    let fits = match form {
        TargetForm::Origin | TargetForm::Absolute => method != Method::Connect,
        TargetForm::Asterisk => method == Method::Options,
        TargetForm::Authority => is_authority(target),
    };
    if fits {
        Ok(form)
    } else {
        Err(ParseError::InvalidTarget)
    }
}

/// `scheme "://"` with `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 §3.1).
fn has_scheme_and_authority(target: &[u8]) -> bool {
    let Some(colon) = target.iter().position(|&b| b == b':') else {
        return false;
    };
    let scheme = &target[..colon];
    scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && target[colon..].starts_with(b"://")
}

/// `authority-form = uri-host ":" port` (RFC 9112 §3.2.3), with a non-empty host and a numeric port.
fn is_authority(target: &[u8]) -> bool {
    let Some(colon) = target.iter().rposition(|&b| b == b':') else {
        return false;
    };
    let (host, port) = (&target[..colon], &target[colon + 1..]);
    !host.is_empty()
        && host.iter().all(|&b| is_host_char(b))
        && !port.is_empty()
        && port.len() <= 5
        && port.iter().all(u8::is_ascii_digit)
}

/// Bytes of `uri-host [ ":" port ]` (RFC 3986 §3.2.2): unreserved, pct-encoded, sub-delims, and the
/// brackets and colons of an IP literal.
static HOST: [bool; 256] = {
    let mut table = [false; 256];
    let allowed = b"-._~%!$&'()*+,;=:[]";
    let mut i = 0;
    while i < allowed.len() {
        table[allowed[i] as usize] = true;
        i += 1;
    }
    let mut b = 0;
    while b < 128 {
        // `b < 128`: the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        if (b as u8).is_ascii_alphanumeric() {
            table[b] = true;
        }
        b += 1;
    }
    table
};

fn is_host_char(b: u8) -> bool {
    HOST[b as usize]
}

/// Whether every byte is a host byte; branch-free, as [`super::chars::all_tchar`], since every
/// request has a `Host` to check.
fn all_host_chars(bytes: &[u8]) -> bool {
    bytes.iter().fold(true, |ok, &b| ok & is_host_char(b))
}

/// RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
/// request message that lacks a Host header field and to any request message that contains more
/// than one Host header field line or a Host header field with an invalid field value."
fn find_host(
    buf: &[u8],
    fields: &[FieldIndex],
    version: Version,
) -> Result<Option<Span>, ParseError> {
    let mut host = None;
    for field in fields {
        if field.is(buf, "host") {
            if host.is_some() || !all_host_chars(field.value.of(buf)) {
                return Err(ParseError::InvalidHost);
            }
            host = Some(field.value);
        }
    }
    if host.is_none() && version == Version::Http11 {
        return Err(ParseError::InvalidHost);
    }
    Ok(host)
}

#[cfg(test)]
mod tests;
