//! The chunked transfer coding decoder (RFC 9112 §7.1, §7.1.1, §7.1.2): a push-fed state machine that
//! turns a chunked body into ranges of the caller's buffer holding body data, then a trailer section.
//!
//! It owns the chunk framing only. Deciding that a body is chunked is [`super::framing`]'s job, the
//! chunk encoder lives in [`super::response`], and the total body size limit belongs to the
//! connection driver. No I/O, no async: bytes in, [`Decoded`] out.
//!
//! ```text
//! chunked-body    = *chunk last-chunk trailer-section CRLF
//! chunk           = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//! chunk-size      = 1*HEXDIG
//! last-chunk      = 1*("0") [ chunk-ext ] CRLF
//! chunk-ext       = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//! chunk-ext-name  = token
//! chunk-ext-val   = token / quoted-string
//! trailer-section = *( field-line CRLF )
//! ```
//!
//! The caller never has to keep bytes the decoder consumed: sizes, extensions and CRLFs are folded
//! into the state byte by byte, and chunk data comes back as a range of the input, so a chunk split
//! over many reads comes back as several ranges. Only the trailer section is copied (bounded by
//! [`Limits::max_trailer_bytes`]), because its fields are parsed and kept.

use std::ops::Range;

use super::chars::{is_ows, is_tchar};
use super::fields::{FieldIndex, Parsed, parse_field_section};
use super::{Limits, ParseError};

/// What one call to [`ChunkedDecoder::decode`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Decoded {
    /// `input[range]` is body data; the range ends where the consumed prefix ends. Never empty.
    Data(Range<usize>),
    /// Every byte given was consumed and the body is not complete: feed more.
    NeedMore,
    /// The last chunk and the trailer section are complete. Input past the consumed prefix is not
    /// part of this body (it is the next request on the connection).
    Done,
}

/// Where the decoder stands in the chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Inside a chunk-size line (size, extensions, CRLF).
    Line(Line),
    /// Inside chunk-data, with this many bytes (at least one) still to come.
    Data(u64),
    /// After chunk-data: the CRLF that must follow it; `true` once its CR was seen.
    DataEnd { cr: bool },
    /// Inside the trailer section.
    Trailer(TrailerLine),
    /// The body is complete.
    Done,
    /// The body was refused; every later call returns the same error.
    Failed(ParseError),
}

/// Position inside a chunk-size line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// In chunk-size; `empty` until its first HEXDIG.
    Size { empty: bool },
    /// In chunk-ext.
    Ext(Ext),
    /// After the CR that ends the line.
    Lf,
}

/// Position inside chunk-ext (RFC 9112 §7.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ext {
    /// BWS after chunk-size or a value: only more BWS or ";" may follow, not CRLF.
    Bws,
    /// After ";": BWS, then chunk-ext-name.
    NameStart,
    /// In chunk-ext-name.
    Name,
    /// BWS after a name: ";" or "=" follows.
    NameBws,
    /// After "=": BWS, then a token or a quoted-string.
    ValueStart,
    /// In a token value.
    Token,
    /// In a quoted-string, after its opening DQUOTE.
    Quoted,
    /// After a backslash in a quoted-string.
    QuotedPair,
    /// After the closing DQUOTE.
    QuotedEnd,
}

/// Position inside the trailer section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TrailerLine {
    /// At the start of a line.
    Start,
    /// Inside a field line.
    Field,
    /// After a CR; `empty` when the CR started its line, so an LF ends the section.
    Cr { empty: bool },
}

/// A push-fed decoder for one chunked body (RFC 9112 §7.1). Create one per body.
///
/// The caller loops: decode the unread bytes, take the [`Decoded::Data`] range, advance by the
/// consumed count, and read more on [`Decoded::NeedMore`] until [`Decoded::Done`].
///
/// ```
/// use engine_core::http::{ChunkedDecoder, Decoded, Limits};
///
/// let mut decoder = ChunkedDecoder::new(&Limits::default());
/// let mut input: &[u8] = b"5;ext=\"a;b\"\r\nhello\r\n0\r\nX-Sum: 42\r\n\r\nGET / HTTP/1.1\r\n";
/// let mut body = Vec::new();
/// while !decoder.is_done() {
///     // With the whole body in `input`, NeedMore never comes; a real caller reads more on it.
///     let (consumed, decoded) = decoder.decode(input)?;
///     if let Decoded::Data(range) = decoded {
///         body.extend_from_slice(&input[range]);
///     }
///     input = &input[consumed..];
/// }
/// assert_eq!(body, b"hello");
/// assert_eq!(input, b"GET / HTTP/1.1\r\n");
/// assert!(decoder.trailers().eq([(&b"X-Sum"[..], &b"42"[..])]));
/// # Ok::<(), engine_core::http::ParseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// The chunk-size read so far on the current line.
    chunk_size: u64,
    /// Bytes of the current chunk-size line, CRLF included.
    line_len: usize,
    /// The trailer field lines, each with its CRLF; the empty line that ends the section is not kept.
    trailer: Vec<u8>,
    /// Bytes of the trailer section so far, its final CRLF included.
    section_len: usize,
    /// The parsed trailer fields, offsets into `trailer`; filled once the section is complete.
    fields: Vec<FieldIndex>,
    max_chunk_line: usize,
    max_trailer_bytes: usize,
    max_trailers: usize,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body, enforcing the chunk line and trailer `limits`.
    pub fn new(limits: &Limits) -> Self {
        Self {
            state: State::Line(Line::Size { empty: true }),
            chunk_size: 0,
            line_len: 0,
            trailer: Vec::new(),
            section_len: 0,
            fields: Vec::new(),
            max_chunk_line: limits.max_chunk_line,
            max_trailer_bytes: limits.max_trailer_bytes,
            max_trailers: limits.max_trailers,
        }
    }

    /// Consumes a prefix of `input` and returns its length with what it held. Stops after each data
    /// range, so one call returns at most one. Framing bytes are consumed into the decoder's state, so
    /// the caller may drop every consumed byte. After an error every call returns that error; after
    /// [`Decoded::Done`] every call returns `(0, Done)`.
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, Decoded), ParseError> {
        let result = self.run(input);
        if let Err(error) = result {
            self.state = State::Failed(error);
        }
        result
    }

    /// Whether the last chunk and the trailer section are complete.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The trailer fields as (name, value), in the order sent, values without surrounding OWS. Empty
    /// until [`is_done`](Self::is_done).
    pub fn trailers(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|f| (f.name.of(&self.trailer), f.value.of(&self.trailer)))
    }

    /// The trailer fields as an [`http::HeaderMap`]. It stays apart from the header map on purpose:
    /// RFC 9110 §6.5.1 forbids merging trailer fields into the header section unless their
    /// definition allows it, and that policy is the application's.
    ///
    /// The fields were validated as they arrived, so the conversion does not fail in practice; a map
    /// past [`http::header::MaxSizeReached`] or a field `http` refuses is [`ParseError::InvalidTrailer`].
    pub fn trailer_map(&self) -> Result<http::HeaderMap, ParseError> {
        let mut map = http::HeaderMap::new();
        for (name, value) in self.trailers() {
            let name =
                http::HeaderName::from_bytes(name).map_err(|_| ParseError::InvalidTrailer)?;
            let value =
                http::HeaderValue::from_bytes(value).map_err(|_| ParseError::InvalidTrailer)?;
            map.try_append(name, value)
                .map_err(|_| ParseError::InvalidTrailer)?;
        }
        Ok(map)
    }

    fn run(&mut self, input: &[u8]) -> Result<(usize, Decoded), ParseError> {
        let mut pos = 0;
        loop {
            match self.state {
                State::Done => return Ok((pos, Decoded::Done)),
                State::Failed(error) => return Err(error),
                State::Data(remaining) => return Ok(self.data(input, pos, remaining)),
                State::Trailer(line) => return self.trailer(input, pos, line),
                State::Line(line) => {
                    let Some(&b) = input.get(pos) else {
                        return Ok((pos, Decoded::NeedMore));
                    };
                    pos += 1;
                    self.state = self.line(line, b)?;
                }
                State::DataEnd { cr } => {
                    let Some(&b) = input.get(pos) else {
                        return Ok((pos, Decoded::NeedMore));
                    };
                    pos += 1;
                    self.state = data_end(cr, b)?;
                }
            }
        }
    }

    /// One byte of a chunk-size line.
    fn line(&mut self, line: Line, b: u8) -> Result<State, ParseError> {
        // Extensions are ignored, so a long line only makes the server spend time on bytes it throws
        // away; `max_chunk_line` counts size, extensions and CRLF.
        self.line_len = self.line_len.saturating_add(1);
        if self.line_len > self.max_chunk_line {
            return Err(ParseError::InvalidChunkExtension);
        }
        // RFC 9112 §2.2: a recipient "MAY recognize a single LF as a line terminator". We do not:
        // two parsers that disagree on where a chunk line ends let a request be smuggled past a
        // proxy.
        if b == b'\n' && line != Line::Lf {
            return Err(ParseError::InvalidLineEnding);
        }
        let next = match line {
            Line::Size { empty } => self.size(empty, b)?,
            Line::Ext(ext) => ext.step(b)?,
            Line::Lf => return self.line_end(b),
        };
        Ok(State::Line(next))
    }

    /// A byte of chunk-size, or the one after it.
    fn size(&mut self, empty: bool, b: u8) -> Result<Line, ParseError> {
        if let Some(digit) = hex_value(b) {
            // Leading zeros are allowed ("1*HEXDIG"), so only overflow bounds the digit count.
            self.chunk_size = self
                .chunk_size
                .checked_mul(16)
                .and_then(|size| size.checked_add(u64::from(digit)))
                .ok_or(ParseError::InvalidChunkSize)?;
            return Ok(Line::Size { empty: false });
        }
        match b {
            // "chunk-size = 1*HEXDIG": at least one digit.
            _ if empty => Err(ParseError::InvalidChunkSize),
            b'\r' => Ok(Line::Lf),
            b';' => Ok(Line::Ext(Ext::NameStart)),
            _ if is_ows(b) => Ok(Line::Ext(Ext::Bws)),
            _ => Err(ParseError::InvalidChunkSize),
        }
    }

    /// The byte after the CR that ends a chunk-size line.
    fn line_end(&mut self, b: u8) -> Result<State, ParseError> {
        if b != b'\n' {
            // A bare CR (RFC 9112 §2.2).
            return Err(ParseError::InvalidLineEnding);
        }
        self.line_len = 0;
        Ok(match std::mem::take(&mut self.chunk_size) {
            // "last-chunk = 1*("0") [ chunk-ext ] CRLF", then the trailer section.
            0 => State::Trailer(TrailerLine::Start),
            size => State::Data(size),
        })
    }

    /// Hands back as much of the `remaining` chunk data as `input[pos..]` holds.
    fn data(&mut self, input: &[u8], pos: usize, remaining: u64) -> (usize, Decoded) {
        let available = input.len().saturating_sub(pos);
        if available == 0 {
            return (pos, Decoded::NeedMore);
        }
        let (taken, left) = match usize::try_from(remaining) {
            Ok(remaining) if remaining <= available => (remaining, 0),
            // `available < remaining`, so it fits in u64 and the subtraction cannot wrap.
            _ => (available, remaining - available as u64),
        };
        self.state = if left == 0 {
            State::DataEnd { cr: false }
        } else {
            State::Data(left)
        };
        let end = pos + taken;
        (end, Decoded::Data(pos..end))
    }

    /// Trailer bytes from `input[pos..]`, copied until the empty line that ends the section.
    fn trailer(
        &mut self,
        input: &[u8],
        mut pos: usize,
        mut line: TrailerLine,
    ) -> Result<(usize, Decoded), ParseError> {
        while let Some(&b) = input.get(pos) {
            pos += 1;
            self.section_len = self.section_len.saturating_add(1);
            if self.section_len > self.max_trailer_bytes {
                return Err(ParseError::InvalidTrailer);
            }
            line = match (line, b) {
                (TrailerLine::Cr { empty: true }, b'\n') => {
                    self.finish_trailers()?;
                    self.state = State::Done;
                    return Ok((pos, Decoded::Done));
                }
                (TrailerLine::Cr { empty: false }, b'\n') => TrailerLine::Start,
                // A bare CR or a bare LF (RFC 9112 §2.2), refused as in chunk-size lines.
                (TrailerLine::Cr { .. }, _) | (_, b'\n') => return Err(ParseError::InvalidTrailer),
                (TrailerLine::Start, b'\r') => TrailerLine::Cr { empty: true },
                (_, b'\r') => TrailerLine::Cr { empty: false },
                _ => TrailerLine::Field,
            };
            // The empty line that ends the section is not kept, so a body without trailers
            // allocates nothing.
            if line != (TrailerLine::Cr { empty: true }) {
                self.trailer.push(b);
            }
        }
        self.state = State::Trailer(line);
        Ok((pos, Decoded::NeedMore))
    }

    /// Parses the complete trailer section (RFC 9112 §7.1.2: "trailer-section = *( field-line CRLF
    /// )") with the header section's parser; any failure there is a malformed trailer.
    fn finish_trailers(&mut self) -> Result<(), ParseError> {
        if self.trailer.is_empty() {
            return Ok(());
        }
        self.trailer.extend_from_slice(b"\r\n");
        let parsed = parse_field_section(
            &self.trailer,
            0,
            self.max_trailer_bytes,
            self.max_trailers,
            &mut self.fields,
        );
        match parsed {
            Ok(Parsed::Complete(end)) if end == self.trailer.len() => Ok(()),
            _ => Err(ParseError::InvalidTrailer),
        }
    }
}

impl Ext {
    /// One byte of chunk-ext (LF excluded: [`ChunkedDecoder::line`] refuses it first). Written as
    /// one transition table rather than a function per state: the grammar is a single rule, and
    /// its nine positions share most transitions.
    fn step(self, b: u8) -> Result<Line, ParseError> {
        use Ext::{
            Bws, Name, NameBws, NameStart, Quoted, QuotedEnd, QuotedPair, Token, ValueStart,
        };
        let next = match (self, b) {
            // "BWS = OWS": optional SP / HTAB around ";" and "=".
            (Bws | NameStart | NameBws | ValueStart, b' ' | b'\t') => self,
            (Name, b' ' | b'\t') => NameBws,
            (Token | QuotedEnd, b' ' | b'\t') => Bws,
            (Name | Token | QuotedEnd, b'\r') => return Ok(Line::Lf),
            (Bws | Name | NameBws | Token | QuotedEnd, b';') => NameStart,
            (Name | NameBws, b'=') => ValueStart,
            (NameStart | Name, _) if is_tchar(b) => Name,
            (ValueStart | Token, _) if is_tchar(b) => Token,
            (ValueStart, b'"') => Quoted,
            (Quoted, b'"') => QuotedEnd,
            (Quoted, b'\\') => QuotedPair,
            (Quoted, _) if is_qdtext(b) => Quoted,
            (QuotedPair, _) if is_quoted_pair_char(b) => Quoted,
            _ => return Err(ParseError::InvalidChunkExtension),
        };
        Ok(Line::Ext(next))
    }
}

/// The CRLF after chunk-data: "chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF".
fn data_end(cr: bool, b: u8) -> Result<State, ParseError> {
    match (cr, b) {
        (false, b'\r') => Ok(State::DataEnd { cr: true }),
        (true, b'\n') => Ok(State::Line(Line::Size { empty: true })),
        _ => Err(ParseError::MissingChunkTerminator),
    }
}

/// "HEXDIG = DIGIT / "A" / "B" / "C" / "D" / "E" / "F"" (RFC 5234 B.1), case-insensitive.
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 9110 §5.6.4: "qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text".
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff)
}

/// RFC 9110 §5.6.4: "quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )".
fn is_quoted_pair_char(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff)
}

#[cfg(test)]
mod tests;
