//! `multipart/form-data` bodies (RFC 7578 §4, with the body syntax of RFC 2046 §5.1.1): a push-fed
//! state machine that turns a body into events (a part's header fields, its data as ranges of the
//! caller's buffer, its end), and [`boundary_from_content_type`] to read the boundary from the
//! request's `Content-Type` (RFC 9110 §8.3.1, §5.6.6; RFC 2046 §5.1.1).
//!
//! It owns the multipart framing and the part header section only. Reading the body, the limits on
//! a part's and the body's size, and where file data goes belong to the caller
//! (`call.receive_multipart()`). No I/O, no async: bytes in, [`Event`]s out.
//!
//! ```text
//! multipart-body    := [preamble CRLF] dash-boundary transport-padding CRLF
//!                      body-part *encapsulation close-delimiter transport-padding [CRLF epilogue]
//! encapsulation     := delimiter transport-padding CRLF body-part
//! delimiter         := CRLF dash-boundary
//! close-delimiter   := delimiter "--"
//! dash-boundary     := "--" boundary
//! transport-padding := *LWSP-char        ; SP / HTAB
//! body-part         := MIME-part-headers [CRLF *OCTET]
//! ```
//!
//! Part data is never copied: it comes back as ranges of the input, so a file of any size streams
//! through. The parser only declines to consume the few bytes at the end of the input that could
//! begin a delimiter (at most [`MultipartParser::max_pending`]); the caller keeps them and calls
//! again with more bytes appended. A part's header section is copied into the parser, bounded by
//! [`MultipartLimits::max_header_bytes`], because its fields are parsed and handed out.
//!
//! Choices where the RFCs leave room:
//! - A delimiter is recognised as Go's `mime/multipart` does: CRLF "--" boundary followed by SP,
//!   HTAB, CR, LF or "--". Anything else after it (`--boundaryX`, `--boundary-x`) is part data,
//!   and a recognised delimiter whose line is not padding then CRLF is an error, not data: a
//!   parser that guessed differently from an upstream filter would see different parts.
//! - A dash-boundary at the very start of a part's data ends the part: RFC 2046 forbids body-part
//!   lines that start with one, so the header section's final CRLF is taken as the delimiter's.
//! - A body with no part (`--boundary--`) is accepted, although RFC 2046 asks for one: browsers
//!   send exactly that for a form without fields.

use std::fmt;
use std::ops::Range;

use memchr::memmem::Finder;

use crate::http::chars::is_tchar;
use crate::http::fields::{FieldIndex, Parsed, Span, parse_field_section};

/// Limits the multipart parser enforces. The size of a part's data is not among them: data streams
/// through, so bounding it is the caller's job, per field or per file.
///
/// ```
/// use engine_core::multipart::MultipartLimits;
/// let limits = MultipartLimits { max_parts: 10, ..MultipartLimits::default() };
/// assert_eq!(limits.max_header_bytes, 8 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MultipartLimits {
    /// Largest header section of one part, its final empty line included: 8 KiB. A form part needs
    /// a `Content-Disposition` and perhaps a `Content-Type`, a few hundred bytes; the section is the
    /// only thing the parser copies. Past it: 413 ([`MultipartError::HeaderSectionTooLarge`]).
    pub max_header_bytes: usize,
    /// Most parts in one body: 1000. Each part costs the caller its header strings, so a body of
    /// many empty parts is a cheap way to make a server allocate. Past it: 413
    /// ([`MultipartError::TooManyParts`]).
    pub max_parts: usize,
}

impl MultipartLimits {
    /// The defaults documented on each field.
    pub const DEFAULT: Self = Self {
        max_header_bytes: 8 * 1024,
        max_parts: 1000,
    };
}

impl Default for MultipartLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A multipart body the parser refuses. Each variant maps to one status in [`MultipartError::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MultipartError {
    /// The boundary is empty, longer than 70 characters, ends in a space, or holds a character
    /// outside `bchars` (RFC 2046 §5.1.1).
    InvalidBoundary,
    /// A delimiter followed by something other than transport padding and CRLF, or "--" (RFC 2046
    /// §5.1.1).
    InvalidDelimiter,
    /// A part header section with a bare CR or LF, a malformed field line, a value that is not
    /// UTF-8, or `Content-Type` twice (RFC 2046 §5.1, RFC 9110 §5).
    InvalidHeader,
    /// `Content-Disposition` missing, repeated, malformed, not `form-data`, without `name`, or with
    /// a parameter twice (RFC 7578 §4.2).
    InvalidContentDisposition,
    /// A part header section larger than [`MultipartLimits::max_header_bytes`].
    HeaderSectionTooLarge,
    /// More parts than [`MultipartLimits::max_parts`].
    TooManyParts,
    /// The body ended before the close delimiter (RFC 2046 §5.1.1).
    Truncated,
}

impl MultipartError {
    /// The status a server answers this error with: 413 Content Too Large for a limit (RFC 9110
    /// §15.5.14), 400 for a malformed body. The one place where these errors become a status.
    pub const fn status(self) -> u16 {
        match self {
            Self::HeaderSectionTooLarge | Self::TooManyParts => 413,
            Self::InvalidBoundary
            | Self::InvalidDelimiter
            | Self::InvalidHeader
            | Self::InvalidContentDisposition
            | Self::Truncated => 400,
        }
    }

    /// A short, fixed description for logs. It never echoes peer bytes.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidBoundary => "invalid multipart boundary",
            Self::InvalidDelimiter => "invalid multipart delimiter line",
            Self::InvalidHeader => "invalid part header section",
            Self::InvalidContentDisposition => "invalid or missing part Content-Disposition",
            Self::HeaderSectionTooLarge => "part header section too large",
            Self::TooManyParts => "too many parts",
            Self::Truncated => "multipart body ended before its close delimiter",
        }
    }
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for MultipartError {}

/// A part's header section, with the fields RFC 7578 gives a meaning to picked out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartHeaders {
    /// The `name` parameter of `Content-Disposition`: the form field's name (RFC 7578 §4.2).
    pub name: String,
    /// The `filename` parameter, or `filename*` when it decodes (RFC 7578 §4.2, RFC 8187): set for
    /// file parts. A hint from the client; RFC 7578 §7 warns against using it as a path.
    pub filename: Option<String>,
    /// The `Content-Type` value as sent; absent means `text/plain` (RFC 7578 §4.4).
    pub content_type: Option<String>,
    /// Every field of the section in the order sent, names as sent, values without surrounding OWS.
    pub headers: Vec<(String, String)>,
}

/// What one call to [`MultipartParser::parse`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Event {
    /// A part begins; its data follows as [`Event::Data`], then [`Event::PartEnd`].
    PartStart(PartHeaders),
    /// `input[range]` is data of the current part; the range ends where the consumed prefix ends.
    /// Never empty. One part's data may come back as many ranges.
    Data(Range<usize>),
    /// The current part's data is complete.
    PartEnd,
    /// The close delimiter was read. Every byte given is consumed: what follows is epilogue, which
    /// RFC 2046 §5.1.1 says to ignore. Every later call returns `(input.len(), End)`.
    End,
    /// More bytes are needed. `input[consumed..]` (at most [`MultipartParser::max_pending`] bytes,
    /// often none) may begin a delimiter: keep it, append the next bytes, and call again.
    NeedMore,
}

/// Where the parser stands in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter; `at_start` until the first byte is consumed, since the first
    /// dash-boundary may come without the CRLF of a delimiter.
    Preamble { at_start: bool },
    /// After a dash-boundary: the rest of its line.
    Delimiter(Line),
    /// Inside a part's header section.
    Headers(HeadLine),
    /// Inside a part's data; `at_start` until its first byte is consumed.
    Data { at_start: bool },
    /// After the close delimiter.
    End,
    /// The body was refused; every later call returns the same error.
    Failed(MultipartError),
}

/// Position in a delimiter line after the boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Line {
    /// Right after the boundary.
    Boundary,
    /// After the first "-" of a close delimiter.
    Dash,
    /// In transport padding.
    Padding,
    /// After the CR that ends the line.
    Cr,
}

/// Position in a part's header section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadLine {
    /// At the start of a line.
    Start,
    /// Inside a field line.
    Field,
    /// After a CR; `empty` when the CR started its line, so an LF ends the section.
    Cr { empty: bool },
}

/// What follows a possible delimiter in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Candidate {
    Delimiter,
    NotDelimiter,
    /// The input ends before the bytes that decide.
    Undecided,
}

/// A push-fed parser for one `multipart/form-data` body (RFC 7578). Create one per body.
///
/// The caller loops over its buffer: parse the unread bytes, handle the event, advance by the
/// consumed count. On [`Event::NeedMore`] it keeps the unconsumed tail, appends the next read and
/// goes on; at the end of the body it calls [`finish`](Self::finish), which reports a truncated
/// body.
///
/// ```
/// use engine_core::multipart::{Event, MultipartLimits, MultipartParser, boundary_from_content_type};
///
/// let boundary = boundary_from_content_type("multipart/form-data; boundary=XyZ").unwrap();
/// let mut parser = MultipartParser::new(&boundary, &MultipartLimits::default())?;
/// let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--XyZ--\r\n";
/// let (mut buf, mut fields) = (Vec::new(), Vec::new());
/// for read in body.chunks(7) {
///     buf.extend_from_slice(read);
///     let mut start = 0;
///     loop {
///         let (consumed, event) = parser.parse(&buf[start..])?;
///         match event {
///             Event::PartStart(part) => fields.push((part.name, Vec::new())),
///             Event::Data(range) => fields.last_mut().unwrap().1.extend(&buf[start..][range]),
///             Event::PartEnd => {}
///             Event::NeedMore | Event::End => {
///                 start += consumed;
///                 break;
///             }
///         }
///         start += consumed;
///     }
///     // Keep only the bytes the parser declined: at most `max_pending`.
///     buf.drain(..start);
/// }
/// parser.finish()?;
/// assert_eq!(fields, [("a".to_string(), b"hello".to_vec())]);
/// # Ok::<(), engine_core::multipart::MultipartError>(())
/// ```
#[derive(Debug, Clone)]
pub struct MultipartParser {
    state: State,
    /// Finds the delimiter, CRLF "--" boundary.
    finder: Finder<'static>,
    /// The current part's header section as received, its final CRLF included.
    head: Vec<u8>,
    /// The fields of `head`; kept to reuse the allocation from part to part.
    fields: Vec<FieldIndex>,
    /// Parts started so far.
    parts: usize,
    limits: MultipartLimits,
}

impl MultipartParser {
    /// A parser at the start of a body delimited by `boundary` (from
    /// [`boundary_from_content_type`]). [`MultipartError::InvalidBoundary`] unless the boundary
    /// follows RFC 2046 §5.1.1: it comes from the peer.
    pub fn new(boundary: &str, limits: &MultipartLimits) -> Result<Self, MultipartError> {
        if !is_valid_boundary(boundary.as_bytes()) {
            return Err(MultipartError::InvalidBoundary);
        }
        let delimiter = [b"\r\n--", boundary.as_bytes()].concat();
        Ok(Self {
            state: State::Preamble { at_start: true },
            finder: Finder::new(&delimiter).into_owned(),
            head: Vec::new(),
            fields: Vec::new(),
            parts: 0,
            limits: *limits,
        })
    }

    /// Consumes a prefix of `input` and returns its length with what it held; one event per call.
    /// On [`Event::NeedMore`] the unconsumed tail must be passed again, in front of the next bytes.
    /// After an error every call returns that error.
    pub fn parse(&mut self, input: &[u8]) -> Result<(usize, Event), MultipartError> {
        let result = self.run(input);
        if let Err(error) = result {
            self.state = State::Failed(error);
        }
        result
    }

    /// At the end of the body: `Ok` once the close delimiter was read, else
    /// [`MultipartError::Truncated`] (or the error already returned).
    pub fn finish(&mut self) -> Result<(), MultipartError> {
        match self.state {
            State::End => Ok(()),
            State::Failed(error) => Err(error),
            _ => {
                self.state = State::Failed(MultipartError::Truncated);
                Err(MultipartError::Truncated)
            }
        }
    }

    /// Whether the close delimiter was read.
    pub fn is_done(&self) -> bool {
        self.state == State::End
    }

    /// The most bytes [`Event::NeedMore`] leaves unconsumed: a delimiter and one "-", that is the
    /// boundary's length plus 5 (75 at most).
    pub fn max_pending(&self) -> usize {
        self.finder.needle().len() + 1
    }

    fn run(&mut self, input: &[u8]) -> Result<(usize, Event), MultipartError> {
        let mut pos = 0;
        loop {
            match self.state {
                State::Failed(error) => return Err(error),
                State::End => return Ok((input.len(), Event::End)),
                State::Data { at_start } => return Ok(self.data(input, pos, at_start)),
                State::Headers(line) => return self.headers(input, pos, line),
                // The preamble is skipped: no event until the first delimiter.
                State::Preamble { at_start } => match self.scan(input, pos, at_start) {
                    (at, Some(len)) => {
                        self.state = State::Delimiter(Line::Boundary);
                        pos = at + len;
                    }
                    (at, None) => {
                        let at_start = at_start && at == pos;
                        self.state = State::Preamble { at_start };
                        return Ok((at, Event::NeedMore));
                    }
                },
                State::Delimiter(line) => {
                    let Some(&b) = input.get(pos) else {
                        return Ok((pos, Event::NeedMore));
                    };
                    pos += 1;
                    self.state = self.delimiter_line(line, b)?;
                }
            }
        }
    }

    /// Part data from `input[pos..]` up to the next delimiter or the first byte that may begin one.
    fn data(&mut self, input: &[u8], pos: usize, at_start: bool) -> (usize, Event) {
        match self.scan(input, pos, at_start) {
            (at, _) if at > pos => {
                self.state = State::Data { at_start: false };
                (at, Event::Data(pos..at))
            }
            (_, None) => (pos, Event::NeedMore),
            (at, Some(len)) => {
                self.state = State::Delimiter(Line::Boundary);
                (at + len, Event::PartEnd)
            }
        }
    }

    /// Where the preamble or part data in `input[from..]` ends, with the length of the delimiter
    /// that starts there; without one, the end is the first byte that may begin a delimiter but
    /// the input ends before it is decided (`input.len()` if none).
    ///
    /// A delimiter's CRLF is not data: "The CRLF preceding the boundary delimiter line is
    /// conceptually attached to the boundary" (RFC 2046 §5.1.1). `at_start`, where the body or a
    /// part's data begins, a dash-boundary without CRLF also counts: the body may start with one
    /// ("[preamble CRLF] dash-boundary"), and "Lines in a body-part must not start with the
    /// specified dash-boundary", so after a header section it is a delimiter whose CRLF ended the
    /// section (an empty part, as Go's `mime/multipart` reads it).
    fn scan(&self, input: &[u8], mut from: usize, at_start: bool) -> (usize, Option<usize>) {
        let needle = self.finder.needle();
        if at_start {
            match classify(&input[from..], &needle[2..]) {
                Candidate::Delimiter => return (from, Some(needle.len() - 2)),
                Candidate::Undecided => return (from, None),
                Candidate::NotDelimiter => {}
            }
        }
        while let Some(i) = self.finder.find(&input[from..]) {
            let at = from + i;
            match classify(&input[at..], needle) {
                Candidate::Delimiter => return (at, Some(needle.len())),
                Candidate::Undecided => return (at, None),
                Candidate::NotDelimiter => from = at + 1,
            }
        }
        // No whole delimiter from `from` on: one may still begin in the last bytes, at a CR since
        // the needle starts with the only CR it holds.
        let tail = input.len().saturating_sub(needle.len() - 1).max(from);
        for i in memchr::memchr_iter(b'\r', &input[tail..]) {
            if classify(&input[tail + i..], needle) == Candidate::Undecided {
                return (tail + i, None);
            }
        }
        (input.len(), None)
    }

    /// One byte of a delimiter line after its boundary: "transport-padding CRLF", or "--".
    fn delimiter_line(&mut self, line: Line, b: u8) -> Result<State, MultipartError> {
        Ok(match (line, b) {
            (Line::Boundary, b'-') => State::Delimiter(Line::Dash),
            // The close delimiter: padding and epilogue may follow, and are ignored.
            (Line::Dash, b'-') => State::End,
            (Line::Boundary | Line::Padding, b' ' | b'\t') => State::Delimiter(Line::Padding),
            (Line::Boundary | Line::Padding, b'\r') => State::Delimiter(Line::Cr),
            (Line::Cr, b'\n') => {
                self.parts = self.parts.saturating_add(1);
                if self.parts > self.limits.max_parts {
                    return Err(MultipartError::TooManyParts);
                }
                State::Headers(HeadLine::Start)
            }
            // A bare LF too: RFC 2046 lines end in CRLF, and two parsers that disagree on where
            // a line ends disagree on the parts.
            _ => return Err(MultipartError::InvalidDelimiter),
        })
    }

    /// Copies header section bytes from `input[pos..]` until the empty line that ends it.
    fn headers(
        &mut self,
        input: &[u8],
        pos: usize,
        mut line: HeadLine,
    ) -> Result<(usize, Event), MultipartError> {
        let mut end = pos;
        let complete = loop {
            let Some(&b) = input.get(end) else {
                break false;
            };
            end += 1;
            if self.head.len().saturating_add(end - pos) > self.limits.max_header_bytes {
                return Err(MultipartError::HeaderSectionTooLarge);
            }
            line = match (line, b) {
                (HeadLine::Cr { empty: true }, b'\n') => break true,
                (HeadLine::Cr { empty: false }, b'\n') => HeadLine::Start,
                // A bare CR or LF, refused as in delimiter lines.
                (HeadLine::Cr { .. }, _) | (_, b'\n') => return Err(MultipartError::InvalidHeader),
                (HeadLine::Start, b'\r') => HeadLine::Cr { empty: true },
                (_, b'\r') => HeadLine::Cr { empty: false },
                _ => HeadLine::Field,
            };
        };
        self.head.extend_from_slice(&input[pos..end]);
        if !complete {
            self.state = State::Headers(line);
            return Ok((end, Event::NeedMore));
        }
        let part = self.part_headers()?;
        self.head.clear();
        self.state = State::Data { at_start: true };
        Ok((end, Event::PartStart(part)))
    }

    /// Parses the complete section in `head` with the HTTP field line parser (RFC 2046 §5.1 takes
    /// its header syntax from RFC 822; obsolete line folding is refused, as in HTTP).
    fn part_headers(&mut self) -> Result<PartHeaders, MultipartError> {
        use MultipartError::{InvalidContentDisposition, InvalidHeader};
        self.fields.clear();
        let (head, len) = (&self.head, self.head.len());
        if parse_field_section(head, 0, len, usize::MAX, &mut self.fields)
            != Ok(Parsed::Complete(len))
        {
            return Err(InvalidHeader);
        }
        let text = |span: Span| std::str::from_utf8(span.of(head)).map_err(|_| InvalidHeader);
        let mut part = PartHeaders::default();
        let mut disposition = None;
        for field in &self.fields {
            let value = text(field.value)?;
            if field.is(head, "content-disposition") {
                if disposition.replace(content_disposition(value)?).is_some() {
                    return Err(InvalidContentDisposition);
                }
            } else if field.is(head, "content-type")
                && part.content_type.replace(value.to_owned()).is_some()
            {
                return Err(InvalidHeader);
            }
            part.headers
                .push((text(field.name)?.to_owned(), value.to_owned()));
        }
        // RFC 7578 §4.2: "Each part MUST contain a Content-Disposition header field".
        (part.name, part.filename) = disposition.ok_or(InvalidContentDisposition)?;
        Ok(part)
    }
}

/// Whether `bytes` begins with `prefix` (a delimiter or a dash-boundary) followed by what makes it
/// one: SP, HTAB, CR, LF or "--", the rule of Go's `mime/multipart`. RFC 2046 §5.1.1 only allows
/// padding and CRLF or "--" there; other bytes after a recognised boundary are then an error.
fn classify(bytes: &[u8], prefix: &[u8]) -> Candidate {
    let shared = prefix.len().min(bytes.len());
    if bytes[..shared] != prefix[..shared] {
        return Candidate::NotDelimiter;
    }
    match &bytes[shared..] {
        [] | [b'-'] => Candidate::Undecided,
        [b' ' | b'\t' | b'\r' | b'\n', ..] | [b'-', b'-', ..] => Candidate::Delimiter,
        _ => Candidate::NotDelimiter,
    }
}

/// RFC 2046 §5.1.1: "boundary := 0*69<bchars> bcharsnospace".
fn is_valid_boundary(boundary: &[u8]) -> bool {
    // bchars := bcharsnospace / " "
    // bcharsnospace := DIGIT / ALPHA / "'" / "(" / ")" / "+" / "_" / "," / "-" / "." / "/" / ":" /
    //                  "=" / "?"
    let is_bchar = |b: u8| b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b);
    matches!(boundary.last(), Some(&last) if last != b' ')
        && boundary.len() <= 70
        && boundary.iter().all(|&b| is_bchar(b))
}

/// The `boundary` parameter of a `multipart/form-data` media type (RFC 7578 §4.1, RFC 9110 §8.3.1),
/// or `None` when `value` is another type, is malformed, has no boundary or two, or its boundary
/// breaks RFC 2046 §5.1.1. Type and parameter names are case-insensitive; the boundary is a token
/// or a quoted-string.
///
/// ```
/// use engine_core::multipart::boundary_from_content_type;
/// let value = "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b:c\"";
/// assert_eq!(boundary_from_content_type(value).as_deref(), Some("a b:c"));
/// assert_eq!(boundary_from_content_type("multipart/mixed; boundary=x"), None);
/// ```
pub fn boundary_from_content_type(value: &str) -> Option<String> {
    // media-type = type "/" subtype parameters
    let (kind, rest) = split_token(value.trim_matches([' ', '\t']))?;
    let (subtype, rest) = split_token(rest.strip_prefix('/')?)?;
    if !kind.eq_ignore_ascii_case("multipart") || !subtype.eq_ignore_ascii_case("form-data") {
        return None;
    }
    let mut boundary = None;
    for (name, value) in parameters(rest)? {
        // Two boundaries: whichever one we picked, another parser may pick the other.
        if name.eq_ignore_ascii_case("boundary") && boundary.replace(value).is_some() {
            return None;
        }
    }
    boundary.filter(|b| is_valid_boundary(b.as_bytes()))
}

/// The `name` and file name of a `Content-Disposition` value (RFC 7578 §4.2, RFC 6266 §4.1):
/// `form-data; name="field"; filename="a.txt"`.
fn content_disposition(value: &str) -> Result<(String, Option<String>), MultipartError> {
    let invalid = MultipartError::InvalidContentDisposition;
    let (kind, rest) = split_token(value).ok_or(invalid)?;
    if !kind.eq_ignore_ascii_case("form-data") {
        return Err(invalid);
    }
    let (mut name, mut filename, mut filename_ext) = (None, None, None);
    for (param, value) in parameters(rest).ok_or(invalid)? {
        let slot = match param.to_ascii_lowercase().as_str() {
            "name" => &mut name,
            "filename" => &mut filename,
            "filename*" => &mut filename_ext,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(invalid);
        }
    }
    // RFC 6266 §4.3: "filename*" is preferred when both are present and it is understood; RFC 7578
    // §4.2 tells senders not to use it, so one we cannot decode falls back to "filename".
    let filename = filename_ext.and_then(|v| decode_ext_value(&v)).or(filename);
    Ok((name.ok_or(invalid)?, filename))
}

/// RFC 8187 §3.2.1: `ext-value = charset "'" [ language ] "'" value-chars`, in the two charsets a
/// recipient must support (UTF-8 and ISO-8859-1). `None` for any other, or for bytes that are not
/// UTF-8.
fn decode_ext_value(value: &str) -> Option<String> {
    let mut pieces = value.splitn(3, '\'');
    let (charset, _language, chars) = (pieces.next()?, pieces.next()?, pieces.next()?);
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(chars).collect();
    if charset.eq_ignore_ascii_case("utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case("iso-8859-1") {
        Some(bytes.into_iter().map(char::from).collect())
    } else {
        None
    }
}

/// RFC 9110 §5.6.6, the names and values of:
/// ```text
/// parameters      = *( OWS ";" OWS [ parameter ] )
/// parameter       = parameter-name "=" parameter-value
/// parameter-value = ( token / quoted-string )
/// ```
/// `None` when `s` does not match.
fn parameters(s: &str) -> Option<Vec<(&str, String)>> {
    let mut params = Vec::new();
    let mut rest = s.trim_start_matches([' ', '\t']);
    while !rest.is_empty() {
        rest = rest.strip_prefix(';')?.trim_start_matches([' ', '\t']);
        if rest.is_empty() || rest.starts_with(';') {
            continue;
        }
        let (name, after) = split_token(rest)?;
        let after = after.strip_prefix('=')?;
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => quoted_string(quoted)?,
            None => split_token(after).map(|(token, after)| (token.to_owned(), after))?,
        };
        params.push((name, value));
        rest = after.trim_start_matches([' ', '\t']);
    }
    Some(params)
}

/// RFC 9110 §5.6.4, after the opening DQUOTE: the unescaped value and the text after the closing
/// one.
/// ```text
/// qdtext      = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
/// quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
/// ```
/// Browsers do not escape with backslashes (the HTML standard percent-encodes `"`, CR and LF in
/// names instead), so a literal backslash from one is read as an escape: the RFC grammar wins.
fn quoted_string(s: &str) -> Option<(String, &str)> {
    // Non-ASCII chars come from obs-text bytes; every class above is "not a control but HTAB".
    let allowed = |c: char| c == '\t' || !c.is_ascii_control();
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, &s[i + 1..])),
            '\\' => value.push(chars.next().map(|(_, c)| c).filter(|&c| allowed(c))?),
            c if allowed(c) => value.push(c),
            _ => return None,
        }
    }
    None
}

/// A non-empty `token` (RFC 9110 §5.6.2) at the start of `s`, and the rest.
fn split_token(s: &str) -> Option<(&str, &str)> {
    let end = s.bytes().position(|b| !is_tchar(b)).unwrap_or(s.len());
    (end > 0).then(|| s.split_at(end))
}

#[cfg(test)]
mod tests;
