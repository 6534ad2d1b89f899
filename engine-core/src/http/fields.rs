//! Field lines (RFC 9112 §5, RFC 9110 §5): the header section of a request and the trailer section of
//! a chunked body share this parser. Fields are kept as offsets into the buffer they were read from,
//! so parsing copies nothing; a field's bytes are borrowed back with [`Span::of`].
//!
//! ```text
//! field-line   = field-name ":" OWS field-value OWS
//! field-name   = token
//! ```

use super::ParseError;
use super::chars::{all_tchar, is_ows, is_tchar, scan_field_line};

/// The outcome of feeding bytes to an incremental parser: done, or more bytes needed. "Need more
/// bytes" is not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Parsed<T> {
    /// The element is complete.
    Complete(T),
    /// The bytes so far are a valid prefix; feed more.
    Partial,
}

/// A range of bytes in the read buffer. Offsets are `u32`: a head is bounded by its limits, which
/// [`Span`]'s users keep far below 4 GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from `usize` offsets; callers guarantee both fit in `u32` (see [`MAX_HEAD`]).
    #[inline(always)]
    pub(crate) fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end && end <= MAX_HEAD);
        // Every offset a parser produces is below MAX_HEAD (checked at its entry), so the casts are exact.
        #[allow(clippy::cast_possible_truncation)]
        Self {
            start: start as u32,
            end: end as u32,
        }
    }

    /// The bytes of this span in `buf`, the buffer it was parsed from.
    ///
    /// # Panics
    /// If `buf` is not that buffer and is shorter than the span.
    #[inline(always)]
    pub fn of(self, buf: &[u8]) -> &[u8] {
        &buf[self.start as usize..self.end as usize]
    }

    /// Number of bytes in the span.
    #[inline(always)]
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    /// Whether the span is empty.
    #[inline(always)]
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// The largest buffer prefix the parsers look at: offsets below it fit a [`Span`]. Heads longer than
/// this are refused by their limits long before.
pub const MAX_HEAD: usize = u32::MAX as usize;

/// One field line: name and value (surrounding whitespace trimmed) as offsets into the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct FieldIndex {
    /// The field name, as sent (case preserved).
    pub name: Span,
    /// The field value without leading and trailing OWS.
    pub value: Span,
}

impl FieldIndex {
    /// Whether the name equals `lower`, ASCII case-insensitively. `lower` must be lowercase.
    #[inline]
    pub fn is(&self, buf: &[u8], lower: &str) -> bool {
        self.name.len() == lower.len() && self.name.of(buf).eq_ignore_ascii_case(lower.as_bytes())
    }
}

/// Parses field lines from `buf[start..]` through the empty line that ends the section, appending
/// them to `fields`. Returns the offset just past the final CRLF.
///
/// `max_bytes` bounds the section (final CRLF included) and `max_fields` the number of lines; past
/// them the result is [`ParseError::HeaderSectionTooLarge`] or [`ParseError::TooManyHeaders`], as
/// soon as the bytes show it, complete or not. On `Partial` and on error `fields` is left as it was.
pub fn parse_field_section(
    buf: &[u8],
    start: usize,
    max_bytes: usize,
    max_fields: usize,
    fields: &mut Vec<FieldIndex>,
) -> Result<Parsed<usize>, ParseError> {
    let initial = fields.len();
    let result = parse_lines(buf, start, max_bytes, max_fields, fields);
    if !matches!(result, Ok(Parsed::Complete(_))) {
        fields.truncate(initial);
    }
    result
}

/// What is wrong with a field name that is empty or holds a byte that is not a `tchar`.
fn name_error(name: &[u8]) -> ParseError {
    // RFC 9112 §5.1: "No whitespace is allowed between the field name and colon."
    match name.iter().find(|&&b| !is_tchar(b)) {
        Some(b' ' | b'\t') => ParseError::WhitespaceBeforeColon,
        _ => ParseError::InvalidFieldName,
    }
}

fn parse_lines(
    buf: &[u8],
    start: usize,
    max_bytes: usize,
    max_fields: usize,
    fields: &mut Vec<FieldIndex>,
) -> Result<Parsed<usize>, ParseError> {
    let limit = start.saturating_add(max_bytes).min(MAX_HEAD);
    let clipped = buf.len() >= limit;
    let buf = &buf[..buf.len().min(limit)];
    // Where the bytes ran out: partial, unless the limit is what cut them.
    let partial = || {
        if clipped {
            Err(ParseError::HeaderSectionTooLarge)
        } else {
            Ok(Parsed::Partial)
        }
    };
    let max_fields = fields.len().saturating_add(max_fields);
    let mut pos = start;
    loop {
        let Some(&first) = buf.get(pos) else {
            return partial();
        };
        match first {
            b'\r' => {
                return match buf.get(pos + 1) {
                    Some(b'\n') => Ok(Parsed::Complete(pos + 2)),
                    Some(_) => Err(ParseError::InvalidLineEnding),
                    None => partial(),
                };
            }
            b'\n' => return Err(ParseError::InvalidLineEnding),
            // RFC 9112 §5.2: obs-fold, and §2.2: whitespace before the first field line.
            b' ' | b'\t' => return Err(ParseError::ObsoleteLineFolding),
            _ => {}
        }

        let name_start = pos;
        let (mut colon, mut end) = scan_field_line(buf, pos);
        // HTAB is a control byte the line scan stops at, but the line may hold it: go on after it.
        while buf.get(end) == Some(&b'\t') {
            let (later_colon, later_end) = scan_field_line(buf, end + 1);
            colon = colon.or(later_colon);
            end = later_end;
        }
        let Some(colon) = colon else {
            // The name so far must already be a token: a bad byte is an error at once, not after
            // the line ends.
            return if end == buf.len() && all_tchar(&buf[name_start..end]) {
                partial()
            } else {
                Err(name_error(&buf[name_start..end]))
            };
        };
        let name = &buf[name_start..colon];
        if name.is_empty() || !all_tchar(name) {
            return Err(name_error(name));
        }
        pos = colon + 1;
        pos += buf[pos..end]
            .iter()
            .position(|&b| !is_ows(b))
            .unwrap_or(end - pos);
        let value_start = pos;
        pos = end;
        match buf.get(pos) {
            None => return partial(),
            Some(b'\r') => {}
            Some(b'\n') => return Err(ParseError::InvalidLineEnding),
            Some(_) => return Err(ParseError::InvalidFieldValue),
        }
        match buf.get(pos + 1) {
            None => return partial(),
            Some(b'\n') => {}
            // A bare CR (RFC 9112 §2.2).
            Some(_) => return Err(ParseError::InvalidLineEnding),
        }
        let mut value_end = pos;
        while value_end > value_start && is_ows(buf[value_end - 1]) {
            value_end -= 1;
        }
        if fields.len() >= max_fields {
            return Err(ParseError::TooManyHeaders);
        }
        fields.push(FieldIndex {
            name: Span::new(name_start, colon),
            value: Span::new(value_start, value_end),
        });
        pos += 2;
    }
}
