//! Sans-I/O HTTP/1.1 (RFC 9112): bytes in, decisions out. No socket, no runtime, no allocation on the
//! partial path. The connection driver and every engine build on these pieces; nothing here knows
//! about either.
//!
//! # Layout
//! - [`chars`]: byte classes of the RFC grammar as `const` tables.
//! - [`fields`]: field lines (headers and trailers) as offsets into the read buffer.
//! - [`request`]: the request head parser (request line and header section).
//! - [`framing`]: the body framing decision from a parsed head, with the smuggling rules.
//! - [`chunked`]: the push-fed chunked body decoder, trailers included.
//! - [`response`]: the response head encoder, framing rules, and the chunk encoder.
//! - [`date`]: the cached IMF-fixdate `Date` value, formatted at most once a second.
//! - [`limits`] and [`error`]: every limit with its default, and every error with its status.

pub mod chars;
pub mod chunked;
pub mod date;
pub mod error;
pub mod fields;
pub mod framing;
pub mod limits;
pub mod request;
pub mod response;

pub use chunked::{ChunkedDecoder, Decoded};
pub use error::ParseError;
pub use fields::{FieldIndex, Span};
pub use framing::{BodyFraming, body_framing};
pub use limits::Limits;
pub use request::{Method, Parsed, RequestHead, TargetForm, Version, parse_request_head};
