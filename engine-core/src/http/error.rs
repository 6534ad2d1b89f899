//! The one error type of the wire layer, and the one function that maps each variant to the status a
//! server answers with (RFC 9112 §2.2, §3, §5, §6, §7; RFC 9110 §15).
//!
//! Every failure a peer can cause while sending a request head or a chunked body is a variant here.
//! "Need more bytes" is never an error: the parsers return their own `Partial` variant for it.

use std::fmt;

/// A request the wire layer refuses. Each variant maps to exactly one status in [`ParseError::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// A byte outside `tchar` in the method token, or an empty method (RFC 9112 §3.1).
    InvalidMethod,
    /// A byte not allowed in a request-target, an empty target, or a target whose form does not fit the
    /// method (RFC 9112 §3.2).
    InvalidTarget,
    /// The HTTP-version is not `HTTP/DIGIT.DIGIT` (RFC 9112 §2.3).
    InvalidVersion,
    /// `HTTP/x.y` with a major version other than 1 (RFC 9110 §15.6.6: 505).
    UnsupportedVersion,
    /// A line not ended by CRLF where the grammar needs one, or a bare CR (RFC 9112 §2.2).
    InvalidLineEnding,
    /// The request line is longer than [`Limits::max_request_line`](super::Limits::max_request_line).
    RequestLineTooLong,
    /// A field name with a byte outside `tchar`, or an empty field name (RFC 9110 §5.1).
    InvalidFieldName,
    /// Whitespace between a field name and the colon (RFC 9112 §5.1: MUST reject with 400).
    WhitespaceBeforeColon,
    /// A control character other than HTAB in a field value (RFC 9110 §5.5).
    InvalidFieldValue,
    /// A field line starting with SP or HTAB: obsolete line folding (RFC 9112 §5.2).
    ObsoleteLineFolding,
    /// The header section is larger than [`Limits::max_header_bytes`](super::Limits::max_header_bytes).
    HeaderSectionTooLarge,
    /// More field lines than [`Limits::max_headers`](super::Limits::max_headers).
    TooManyHeaders,
    /// An HTTP/1.1 request without `Host`, or a request with more than one (RFC 9112 §3.2).
    InvalidHost,
    /// A `Content-Length` that is not `1*DIGIT`, overflows 64 bits, or repeats with different values
    /// (RFC 9110 §8.6, RFC 9112 §6.3).
    InvalidContentLength,
    /// `Content-Length` and `Transfer-Encoding` together (RFC 9112 §6.1, §6.3: 400 and close).
    ContentLengthWithTransferEncoding,
    /// `Transfer-Encoding` whose final coding is not `chunked`, with `chunked` twice, or malformed
    /// (RFC 9112 §6.1, §6.3: 400 and close).
    InvalidTransferEncoding,
    /// `Transfer-Encoding` on an HTTP/1.0 request (RFC 9112 §6.1: the framing is faulty).
    TransferEncodingOnHttp10,
    /// A well-formed transfer coding before `chunked` that this server does not implement (RFC 9112
    /// §6.1: SHOULD respond with 501).
    UnsupportedTransferCoding,
    /// A chunk size that is empty, not hex, or overflows 64 bits (RFC 9112 §7.1).
    InvalidChunkSize,
    /// A malformed chunk extension (RFC 9112 §7.1.1).
    InvalidChunkExtension,
    /// Chunk data not followed by CRLF (RFC 9112 §7.1).
    MissingChunkTerminator,
    /// The trailer section is malformed or larger than the limit (RFC 9112 §7.1.2).
    InvalidTrailer,
}

impl ParseError {
    /// The status a server answers this error with. The one place where a peer's mistake becomes a
    /// status; every engine and the connection driver go through it.
    pub const fn status(self) -> u16 {
        match self {
            Self::RequestLineTooLong => 414,
            Self::HeaderSectionTooLarge | Self::TooManyHeaders => 431,
            Self::UnsupportedVersion => 505,
            Self::UnsupportedTransferCoding => 501,
            Self::InvalidMethod
            | Self::InvalidTarget
            | Self::InvalidVersion
            | Self::InvalidLineEnding
            | Self::InvalidFieldName
            | Self::WhitespaceBeforeColon
            | Self::InvalidFieldValue
            | Self::ObsoleteLineFolding
            | Self::InvalidHost
            | Self::InvalidContentLength
            | Self::ContentLengthWithTransferEncoding
            | Self::InvalidTransferEncoding
            | Self::TransferEncodingOnHttp10
            | Self::InvalidChunkSize
            | Self::InvalidChunkExtension
            | Self::MissingChunkTerminator
            | Self::InvalidTrailer => 400,
        }
    }

    /// A short, fixed description for logs. It never echoes peer bytes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidMethod => "invalid method token",
            Self::InvalidTarget => "invalid request-target",
            Self::InvalidVersion => "invalid HTTP-version",
            Self::UnsupportedVersion => "unsupported HTTP major version",
            Self::InvalidLineEnding => "line not terminated by CRLF",
            Self::RequestLineTooLong => "request line too long",
            Self::InvalidFieldName => "invalid field name",
            Self::WhitespaceBeforeColon => "whitespace between field name and colon",
            Self::InvalidFieldValue => "invalid character in field value",
            Self::ObsoleteLineFolding => "obsolete line folding",
            Self::HeaderSectionTooLarge => "header section too large",
            Self::TooManyHeaders => "too many header fields",
            Self::InvalidHost => "missing or repeated Host",
            Self::InvalidContentLength => "invalid Content-Length",
            Self::ContentLengthWithTransferEncoding => "Content-Length with Transfer-Encoding",
            Self::InvalidTransferEncoding => "invalid Transfer-Encoding",
            Self::TransferEncodingOnHttp10 => "Transfer-Encoding on HTTP/1.0",
            Self::UnsupportedTransferCoding => "unsupported transfer coding",
            Self::InvalidChunkSize => "invalid chunk size",
            Self::InvalidChunkExtension => "invalid chunk extension",
            Self::MissingChunkTerminator => "chunk data not followed by CRLF",
            Self::InvalidTrailer => "invalid trailer section",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for ParseError {}
