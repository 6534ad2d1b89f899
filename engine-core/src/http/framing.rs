//! The body framing decision for a parsed request head (RFC 9112 §6.1, §6.3; RFC 9110 §8.6), with
//! the rules that keep two parsers of the same bytes from disagreeing on where a request ends
//! (request smuggling):
//!
//! - `Transfer-Encoding` and `Content-Length` together: 400, and the connection closes (§6.3 ¶3).
//! - `Transfer-Encoding` whose final coding is not `chunked`, `chunked` twice, or a malformed list:
//!   400 (§6.3 ¶4: "the server MUST respond with the 400 (Bad Request) status code and then close").
//! - A well-formed coding before `chunked` that this server does not implement (`gzip, chunked`):
//!   501 (§6.1: "SHOULD respond with the 501 (Not Implemented) status code").
//! - `Transfer-Encoding` on an HTTP/1.0 request: 400 (§6.1: the framing "ought to be treated as
//!   faulty").
//! - `Content-Length` that is not `1*DIGIT`, overflows 64 bits, or repeats with different values:
//!   400. Repeats of one value, as separate lines or a list (`42, 42`), are one value (RFC 9110 §8.6
//!   lets a recipient either reject them or use the single value).
//! - Neither field: no body (§6.3 ¶7).

use super::chars::{is_ows, is_tchar};
use super::{FieldIndex, ParseError, RequestHead, Version};

/// How a request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// The chunked transfer coding ([`super::ChunkedDecoder`]).
    Chunked,
}

/// Decides how the body of the request whose head is `head` is framed. `buf` and `fields` are what
/// [`super::parse_request_head`] parsed the head from and into.
///
/// ```
/// use engine_core::http::{BodyFraming, Limits, Parsed, body_framing, parse_request_head};
/// let buf = b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
/// let mut fields = Vec::new();
/// let Ok(Parsed::Complete(head)) = parse_request_head(buf, &Limits::default(), &mut fields) else {
///     panic!("complete");
/// };
/// assert_eq!(body_framing(&head, buf, &fields), Ok(BodyFraming::Length(5)));
/// ```
pub fn body_framing(
    head: &RequestHead,
    buf: &[u8],
    fields: &[FieldIndex],
) -> Result<BodyFraming, ParseError> {
    let mut length: Option<u64> = None;
    let mut codings = Codings::default();
    for field in fields {
        // Compare lengths first: most fields are neither, and this rules them out in one compare.
        match field.name.len() {
            14 if field.is(buf, "content-length") => {
                let value = parse_content_length(field.value.of(buf))?;
                if length.is_some_and(|seen| seen != value) {
                    return Err(ParseError::InvalidContentLength);
                }
                length = Some(value);
            }
            17 if field.is(buf, "transfer-encoding") => codings.add(field.value.of(buf))?,
            _ => {}
        }
    }
    if !codings.present {
        return Ok(length.map_or(BodyFraming::None, BodyFraming::Length));
    }
    if head.version == Version::Http10 {
        return Err(ParseError::TransferEncodingOnHttp10);
    }
    if length.is_some() {
        return Err(ParseError::ContentLengthWithTransferEncoding);
    }
    match (codings.last_is_chunked, codings.others) {
        (false, _) => Err(ParseError::InvalidTransferEncoding),
        (true, false) => Ok(BodyFraming::Chunked),
        (true, true) => Err(ParseError::UnsupportedTransferCoding),
    }
}

/// `Content-Length = 1*DIGIT`, or a list of one repeated value (RFC 9110 §8.6).
fn parse_content_length(value: &[u8]) -> Result<u64, ParseError> {
    let mut result = None;
    for element in value.split(|&b| b == b',') {
        let element = trim_ows(element);
        if element.is_empty() {
            return Err(ParseError::InvalidContentLength);
        }
        let mut n: u64 = 0;
        for &b in element {
            if !b.is_ascii_digit() {
                return Err(ParseError::InvalidContentLength);
            }
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(b - b'0')))
                .ok_or(ParseError::InvalidContentLength)?;
        }
        if result.is_some_and(|seen| seen != n) {
            return Err(ParseError::InvalidContentLength);
        }
        result = Some(n);
    }
    result.ok_or(ParseError::InvalidContentLength)
}

/// What the `Transfer-Encoding` lines said, across all of them, in order (RFC 9112 §6.1).
#[derive(Default)]
struct Codings {
    present: bool,
    /// The last coding seen is `chunked`.
    last_is_chunked: bool,
    /// A coding other than `chunked` came before it.
    others: bool,
}

impl Codings {
    /// Adds one field line's `#transfer-coding` list.
    fn add(&mut self, value: &[u8]) -> Result<(), ParseError> {
        self.present = true;
        let mut any = false;
        for element in value.split(|&b| b == b',') {
            let element = trim_ows(element);
            // RFC 9110 §5.6.1: empty list elements are ignored.
            if element.is_empty() {
                continue;
            }
            any = true;
            // transfer-coding = token *( OWS ";" OWS transfer-parameter )
            let name_end = element
                .iter()
                .position(|&b| b == b';')
                .unwrap_or(element.len());
            let name = trim_ows(&element[..name_end]);
            if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
                return Err(ParseError::InvalidTransferEncoding);
            }
            let is_chunked = name.eq_ignore_ascii_case(b"chunked");
            if is_chunked && name_end != element.len() {
                // `chunked` takes no parameters (RFC 9112 §7).
                return Err(ParseError::InvalidTransferEncoding);
            }
            if self.last_is_chunked {
                // Something after `chunked`: chunked twice, or chunked not final.
                return Err(ParseError::InvalidTransferEncoding);
            }
            if !is_chunked {
                if !element[name_end..].iter().all(|&b| b != b'"' && b != b'\\') {
                    // Quoted parameters are legal but unused by every coding we could name; refusing
                    // them keeps the list scan simple and the answer the same (the coding is refused).
                    return Err(ParseError::InvalidTransferEncoding);
                }
                self.others = true;
            }
            self.last_is_chunked = is_chunked;
        }
        if any {
            Ok(())
        } else {
            Err(ParseError::InvalidTransferEncoding)
        }
    }
}

fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = bytes
        && is_ows(*first)
    {
        bytes = rest;
    }
    while let [rest @ .., last] = bytes
        && is_ows(*last)
    {
        bytes = rest;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Limits, Parsed, parse_request_head};
    use ParseError::*;

    fn framing(fields: &str, version: &str) -> Result<BodyFraming, ParseError> {
        let buf = format!("POST / {version}\r\nHost: a\r\n{fields}\r\n");
        let mut parsed = Vec::new();
        let Ok(Parsed::Complete(head)) =
            parse_request_head(buf.as_bytes(), &Limits::default(), &mut parsed)
        else {
            panic!("{buf:?} did not parse");
        };
        body_framing(&head, buf.as_bytes(), &parsed)
    }

    #[test]
    fn framing_follows_rfc_9112_section_6() {
        let cases: &[(&str, &str, Result<BodyFraming, ParseError>)] = &[
            ("", "HTTP/1.1", Ok(BodyFraming::None)),
            (
                "Content-Length: 0\r\n",
                "HTTP/1.1",
                Ok(BodyFraming::Length(0)),
            ),
            (
                "Content-Length: 42\r\n",
                "HTTP/1.0",
                Ok(BodyFraming::Length(42)),
            ),
            (
                "content-LENGTH: 007\r\n",
                "HTTP/1.1",
                Ok(BodyFraming::Length(7)),
            ),
            (
                "Content-Length: 18446744073709551615\r\n",
                "HTTP/1.1",
                Ok(BodyFraming::Length(u64::MAX)),
            ),
            (
                "Content-Length: 4294967296\r\n",
                "HTTP/1.1",
                Ok(BodyFraming::Length(1 << 32)),
            ),
            (
                "Content-Length: 42, 42\r\n",
                "HTTP/1.1",
                Ok(BodyFraming::Length(42)),
            ),
            (
                "Content-Length: 42\r\nContent-Length: 42\r\n",
                "HTTP/1.1",
                Ok(BodyFraming::Length(42)),
            ),
            (
                "Transfer-Encoding: chunked\r\n",
                "HTTP/1.1",
                Ok(BodyFraming::Chunked),
            ),
            (
                "Transfer-Encoding: CHUNKED\r\n",
                "HTTP/1.1",
                Ok(BodyFraming::Chunked),
            ),
            (
                "Transfer-Encoding: , chunked\r\n",
                "HTTP/1.1",
                Ok(BodyFraming::Chunked),
            ),
            (
                "Transfer-Encoding: chunked\r\nX: y\r\n",
                "HTTP/1.1",
                Ok(BodyFraming::Chunked),
            ),
            // Bad input, CONFORMANCE.md "Bad input".
            (
                "Content-Length: 18446744073709551616\r\n",
                "HTTP/1.1",
                Err(InvalidContentLength),
            ),
            (
                "Content-Length: 1, 2\r\n",
                "HTTP/1.1",
                Err(InvalidContentLength),
            ),
            (
                "Content-Length: 1\r\nContent-Length: 2\r\n",
                "HTTP/1.1",
                Err(InvalidContentLength),
            ),
            (
                "Content-Length: +1\r\n",
                "HTTP/1.1",
                Err(InvalidContentLength),
            ),
            (
                "Content-Length: -1\r\n",
                "HTTP/1.1",
                Err(InvalidContentLength),
            ),
            (
                "Content-Length: 1 2\r\n",
                "HTTP/1.1",
                Err(InvalidContentLength),
            ),
            (
                "Content-Length: 0x10\r\n",
                "HTTP/1.1",
                Err(InvalidContentLength),
            ),
            ("Content-Length:\r\n", "HTTP/1.1", Err(InvalidContentLength)),
            (
                "Content-Length: 1,\r\n",
                "HTTP/1.1",
                Err(InvalidContentLength),
            ),
            (
                "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
                "HTTP/1.1",
                Err(ContentLengthWithTransferEncoding),
            ),
            (
                "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                "HTTP/1.1",
                Err(ContentLengthWithTransferEncoding),
            ),
            (
                "Transfer-Encoding: chunked\r\n",
                "HTTP/1.0",
                Err(TransferEncodingOnHttp10),
            ),
            (
                "Transfer-Encoding: chunked, smuggle\r\n",
                "HTTP/1.1",
                Err(InvalidTransferEncoding),
            ),
            (
                "Transfer-Encoding: gzip\r\n",
                "HTTP/1.1",
                Err(InvalidTransferEncoding),
            ),
            (
                "Transfer-Encoding: chunked, chunked\r\n",
                "HTTP/1.1",
                Err(InvalidTransferEncoding),
            ),
            (
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                "HTTP/1.1",
                Err(InvalidTransferEncoding),
            ),
            (
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
                "HTTP/1.1",
                Err(InvalidTransferEncoding),
            ),
            (
                "Transfer-Encoding:\r\n",
                "HTTP/1.1",
                Err(InvalidTransferEncoding),
            ),
            (
                "Transfer-Encoding: ,\r\n",
                "HTTP/1.1",
                Err(InvalidTransferEncoding),
            ),
            (
                "Transfer-Encoding: chunked;q=1\r\n",
                "HTTP/1.1",
                Err(InvalidTransferEncoding),
            ),
            (
                "Transfer-Encoding: \"chunked\"\r\n",
                "HTTP/1.1",
                Err(InvalidTransferEncoding),
            ),
            (
                "Transfer-Encoding: chunked x\r\n",
                "HTTP/1.1",
                Err(InvalidTransferEncoding),
            ),
            (
                "Transfer-Encoding: gzip, chunked\r\n",
                "HTTP/1.1",
                Err(UnsupportedTransferCoding),
            ),
            (
                "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
                "HTTP/1.1",
                Err(UnsupportedTransferCoding),
            ),
        ];
        for (fields, version, expected) in cases {
            assert_eq!(framing(fields, version), *expected, "{fields:?} {version}");
        }
    }

    #[test]
    fn odd_whitespace_in_transfer_encoding_is_refused_by_the_head_parser() {
        let buf = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0bchunked\r\n\r\n";
        assert_eq!(
            parse_request_head(buf, &Limits::default(), &mut Vec::new()),
            Err(InvalidFieldValue)
        );
    }
}
