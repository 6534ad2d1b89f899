//! The `Range` field (RFC 9110 §14.1.2) and its resolution against a representation's length
//! (§14.1.1): pure functions, table-tested, property-tested, fuzzed (`fuzz/fuzz_targets/range.rs`).
//!
//! ```text
//! Range            = ranges-specifier
//! ranges-specifier = range-unit "=" range-set
//! range-unit       = token                            ; only "bytes" is understood (§14.1)
//! range-set        = 1#range-spec                     ; commas, OWS, empty elements (§5.6.1)
//! range-spec       = int-range / suffix-range / other-range
//! int-range        = first-pos "-" [ last-pos ]       ; 1*DIGIT each
//! suffix-range     = "-" suffix-length
//! ```
//!
//! A field this does not read is ignored by the caller, as §14.2 allows: another unit, any
//! malformed spec (`other-range` included), `last-pos` below `first-pos` (§14.1.1: invalid), or
//! more specs than the caller's limit. Numbers too large for `u64` saturate: they still mean "past
//! the end", which is what such a number says of any real representation.

use crate::http::chars::is_tchar;
use std::ops::Range;

/// One `range-spec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `first-last`: both inclusive.
    FromTo(u64, u64),
    /// `first-`: from `first` to the end.
    From(u64),
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

/// Why a `Range` field is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeError {
    /// A unit other than `bytes`.
    OtherUnit,
    /// Not the grammar above.
    Malformed,
    /// More specs than the limit.
    TooMany,
}

/// Reads a `Range` field value of at most `max_ranges` specs.
pub fn parse_range(value: &[u8], max_ranges: usize) -> Result<Vec<RangeSpec>, RangeError> {
    let value = trim(value);
    let at = memchr::memchr(b'=', value).ok_or(RangeError::Malformed)?;
    let (unit, set) = (&value[..at], &value[at + 1..]);
    if unit.is_empty() || !unit.iter().all(|&b| is_tchar(b)) {
        return Err(RangeError::Malformed);
    }
    if !unit.eq_ignore_ascii_case(b"bytes") {
        return Err(RangeError::OtherUnit);
    }
    let mut specs = Vec::new();
    for element in set.split(|&b| b == b',').map(trim) {
        if element.is_empty() {
            continue;
        }
        if specs.len() == max_ranges {
            return Err(RangeError::TooMany);
        }
        specs.push(parse_spec(element).ok_or(RangeError::Malformed)?);
    }
    if specs.is_empty() {
        return Err(RangeError::Malformed);
    }
    Ok(specs)
}

fn parse_spec(spec: &[u8]) -> Option<RangeSpec> {
    let dash = memchr::memchr(b'-', spec)?;
    let (first, last) = (&spec[..dash], &spec[dash + 1..]);
    match (first.is_empty(), last.is_empty()) {
        (true, true) => None,
        (true, false) => number(last).map(RangeSpec::Suffix),
        (false, true) => number(first).map(RangeSpec::From),
        (false, false) => {
            let (first, last) = (number(first)?, number(last)?);
            (last >= first).then_some(RangeSpec::FromTo(first, last))
        }
    }
}

/// `1*DIGIT`, saturating at `u64::MAX`.
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0u64, |n, &d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// OWS trimmed. A field value holds no whitespace but SP and HTAB (RFC 9110 §5.5), so ASCII
/// whitespace is OWS here.
fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

impl RangeSpec {
    /// The bytes this spec selects of a representation of `length` bytes, as a half-open range;
    /// `None` when it selects none (§14.1.1: unsatisfiable).
    pub fn resolve(self, length: u64) -> Option<Range<u64>> {
        match self {
            Self::FromTo(first, _) | Self::From(first) if first >= length => None,
            Self::FromTo(first, last) => Some(first..last.min(length - 1) + 1),
            Self::From(first) => Some(first..length),
            Self::Suffix(0) => None,
            Self::Suffix(_) if length == 0 => None,
            Self::Suffix(n) => Some(length.saturating_sub(n)..length),
        }
    }
}

/// The ranges `specs` select of a representation of `length` bytes, or `None` when none is
/// satisfiable (416). Ranges that overlap are merged, in ascending order (§14.2 allows it; it
/// keeps `bytes=0-,0-,0-` from sending the whole body three times); otherwise the request's order
/// is kept.
pub fn resolve(specs: &[RangeSpec], length: u64) -> Option<Vec<Range<u64>>> {
    let ranges: Vec<Range<u64>> = specs.iter().filter_map(|s| s.resolve(length)).collect();
    if ranges.is_empty() {
        return None;
    }
    let mut sorted = ranges.clone();
    sorted.sort_by_key(|r| r.start);
    if sorted.windows(2).all(|w| w[0].end <= w[1].start) {
        return Some(ranges);
    }
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(sorted.len());
    for range in sorted {
        match merged.last_mut() {
            Some(last) if range.start < last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    Some(merged)
}

/// Whether `ranges` are in ascending order without overlap: what a body read once, front to back,
/// can serve.
pub fn is_ascending(ranges: &[Range<u64>]) -> bool {
    ranges.windows(2).all(|w| w[0].end <= w[1].start)
}

#[cfg(test)]
mod tests;
