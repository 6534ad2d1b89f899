//! Byte classes of the HTTP grammar as `const [bool; 256]` tables, with the RFC rule beside each, and
//! word-at-a-time scanners for the long runs (request-target, field values).

/// Builds a 256-entry table at compile time from a `matches!` pattern over the byte.
macro_rules! byte_table {
    ($b:ident => $pred:expr) => {{
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            // `i < 256`: the cast is exact.
            #[allow(clippy::cast_possible_truncation)]
            let $b = i as u8;
            t[i] = $pred;
            i += 1;
        }
        t
    }};
}

/// RFC 9110 §5.6.2:
/// ```text
/// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
///         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
/// ```
pub static TCHAR: [bool; 256] = byte_table!(b => {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
        )
});

/// Bytes of a request-target (RFC 9112 §3.2, RFC 3986 §2): visible ASCII. Control bytes, SP, DEL
/// and bytes >= 0x80 are never part of a target; non-ASCII paths arrive percent-encoded. Looser
/// than RFC 3986 in one way, as httparse and browsers: `"`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`,
/// `}` pass, because clients send them unencoded and they cannot end a target.
pub static TARGET: [bool; 256] = byte_table!(b => matches!(b, 0x21..=0x7e));

/// RFC 9110 §5.5:
/// ```text
/// field-value = *field-content
/// field-vchar = VCHAR / obs-text
/// obs-text    = %x80-FF
/// ```
/// plus SP and HTAB between field-vchars.
pub static FIELD_VALUE: [bool; 256] =
    byte_table!(b => matches!(b, b'\t' | 0x20..=0x7e | 0x80..=0xff));

/// `tchar` per RFC 9110 §5.6.2.
#[inline(always)]
pub fn is_tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// A byte allowed in a request-target (see [`TARGET`]).
#[inline(always)]
pub fn is_target_char(b: u8) -> bool {
    TARGET[b as usize]
}

/// A byte allowed in a field value, SP and HTAB included (see [`FIELD_VALUE`]).
#[inline(always)]
pub fn is_field_value_char(b: u8) -> bool {
    FIELD_VALUE[b as usize]
}

/// Optional whitespace, RFC 9110 §5.6.3: `OWS = *( SP / HTAB )`.
#[inline(always)]
pub fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in each byte of `x` that is below `n` (`n <= 128`). Borrows can flag bytes above a
/// real match, never below one, so the lowest flagged byte is exact.
#[inline(always)]
const fn bytes_below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(LO.wrapping_mul(n as u64)) & !x & HI
}

/// High bit set in each byte of `x` equal to `v` (same exactness as [`bytes_below`]).
#[inline(always)]
const fn bytes_equal(x: u64, v: u8) -> u64 {
    bytes_below(x ^ LO.wrapping_mul(v as u64), 1)
}

/// Index of the first byte of `bytes[from..]` that cannot continue a request-target (SP, a control
/// byte, DEL or a byte >= 0x80), as an absolute index; `bytes.len()` when every byte can.
#[inline]
pub fn scan_target(bytes: &[u8], from: usize) -> usize {
    let from = scan_blocks(bytes, from, Class::Target);
    from + bytes[from..]
        .iter()
        .position(|&b| !is_target_char(b))
        .unwrap_or(bytes.len() - from)
}

/// Scans a field line from `from` for its first `:` and its first control byte (or DEL), in one
/// pass: returns `(colon, end)`, where `colon` is the first `:` before `end` and `end` the index of
/// that control byte (normally the line's CR; HTAB too, which the caller steps over) or
/// `bytes.len()`. The name's bytes still have to be checked with [`all_tchar`].
#[inline]
pub fn scan_field_line(bytes: &[u8], from: usize) -> (Option<usize>, usize) {
    #[cfg(target_arch = "x86_64")]
    let (colon, from) = sse2::scan_line(bytes, from);
    #[cfg(not(target_arch = "x86_64"))]
    let colon = None;
    let mut colon = colon;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        if b < 0x20 || b == 0x7f {
            return (colon, i);
        }
        if b == b':' && colon.is_none() {
            colon = Some(i);
        }
    }
    (colon, bytes.len())
}

/// Whether every byte is a `tchar`; branch-free, so a name costs a table load per byte.
#[inline]
pub fn all_tchar(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(0u8, |bad, &b| bad | NOT_TCHAR[b as usize])
        == 0
}

/// 1 for every byte that is not a `tchar`, for [`all_tchar`]'s branch-free fold.
static NOT_TCHAR: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = !TCHAR[i] as u8;
        i += 1;
    }
    t
};

/// Which bytes end a run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Bytes <= 0x20, 0x7f and >= 0x80.
    Target,
    /// Bytes < 0x20 (HTAB included: the caller steps over it) and 0x7f.
    FieldValue,
}

/// Advances `from` over whole blocks of allowed bytes, stopping at the block that holds a stop
/// byte (at that byte on x86_64) or where fewer than a block's bytes remain; the caller finishes
/// byte by byte.
#[inline(always)]
fn scan_blocks(bytes: &[u8], from: usize, class: Class) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::scan(bytes, from, class)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        swar_scan(bytes, from, class)
    }
}

/// Eight bytes a step in a `u64`, for targets without SSE2.
#[cfg_attr(
    target_arch = "x86_64",
    allow(dead_code, reason = "x86_64 scans with SSE2; tests still cover this")
)]
#[inline]
fn swar_scan(bytes: &[u8], mut from: usize, class: Class) -> usize {
    while let Some(chunk) = bytes.get(from..from + 8) {
        let x = u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        let stop = match class {
            Class::Target => bytes_below(x, 0x21) | bytes_equal(x, 0x7f) | (x & HI),
            Class::FieldValue => bytes_below(x, 0x20) | bytes_equal(x, 0x7f),
        };
        if stop != 0 {
            return from + (stop.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    from
}

/// Sixteen bytes a step with SSE2, which every x86_64 processor has (no runtime detection).
/// Measured with `cargo bench -p benches --bench parse` (see BENCHMARKS.md): with the byte tails
/// that follow, it took the browser fixture from 306 ns (eight-byte words) to the figure there.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    use super::Class;

    /// Advances `from` over whole 16-byte blocks of allowed bytes; stops at the first disallowed
    /// byte, or before the last partial block (the caller finishes it).
    #[inline]
    pub(super) fn scan(bytes: &[u8], mut from: usize, class: Class) -> usize {
        while let Some(block) = bytes.get(from..from + 16) {
            // SAFETY: `block` is 16 readable bytes; `_mm_loadu_si128` has no alignment requirement.
            let x = unsafe { _mm_loadu_si128(block.as_ptr().cast::<__m128i>()) };
            let mask = stops(x, class);
            if mask != 0 {
                return from + mask.trailing_zeros() as usize;
            }
            from += 16;
        }
        from
    }

    /// [`super::scan_field_line`]'s block part: returns the first `:` seen before the first control
    /// byte, and where the byte-by-byte part goes on (at that control byte, or the last partial
    /// block).
    #[inline]
    pub(super) fn scan_line(bytes: &[u8], mut from: usize) -> (Option<usize>, usize) {
        let mut colon = None;
        while let Some(block) = bytes.get(from..from + 16) {
            // SAFETY: `block` is 16 readable bytes; `_mm_loadu_si128` has no alignment requirement.
            let x = unsafe { _mm_loadu_si128(block.as_ptr().cast::<__m128i>()) };
            let ends = stops(x, Class::FieldValue);
            if colon.is_none() {
                // SAFETY: SSE2 is part of the x86_64 baseline.
                let colons = unsafe {
                    _mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(b':'.cast_signed())))
                }
                .cast_unsigned();
                // Only a colon before the first control byte counts.
                let before_end = if ends == 0 {
                    u32::MAX
                } else {
                    (1 << ends.trailing_zeros()) - 1
                };
                let colons = colons & before_end;
                if colons != 0 {
                    colon = Some(from + colons.trailing_zeros() as usize);
                }
            }
            if ends != 0 {
                return (colon, from + ends.trailing_zeros() as usize);
            }
            from += 16;
        }
        (colon, from)
    }

    #[inline(always)]
    fn stops(x: __m128i, class: Class) -> u32 {
        // `min(x, c) == x` is an unsigned `x <= c`; SSE2 has no unsigned compare.
        let (limit, high) = match class {
            Class::Target => (0x20, true),
            Class::FieldValue => (0x1f, false),
        };
        // SAFETY: SSE2 is part of the x86_64 baseline: these intrinsics are always available.
        unsafe {
            let low = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(limit)), x);
            let del = _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f));
            let mut mask = _mm_movemask_epi8(_mm_or_si128(low, del)).cast_unsigned();
            if high {
                // The sign bit of each byte: bytes >= 0x80.
                mask |= _mm_movemask_epi8(x).cast_unsigned();
            }
            mask
        }
    }
}

/// The first `needle` in `haystack`. Request paths and targets are short: below 32 bytes a plain
/// loop beats `memchr`'s vector set-up, which cost about 90 instructions a call for the app's
/// `/plaintext` (callgrind, `memchr_raw::find_avx2` inclusive, twice per request: routing's `%`
/// test and the request's `?` split).
#[inline]
pub fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    if haystack.len() < 32 {
        haystack.iter().position(|&b| b == needle)
    } else {
        memchr::memchr(needle, haystack)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn find_byte_agrees_with_memchr_on_both_sides_of_its_cut() {
        for len in [0usize, 1, 5, 31, 32, 33, 100] {
            let mut bytes = vec![b'a'; len];
            assert_eq!(super::find_byte(&bytes, b'?'), None, "{len}");
            for at in 0..len {
                bytes[at] = b'?';
                assert_eq!(super::find_byte(&bytes, b'?'), memchr::memchr(b'?', &bytes));
                assert_eq!(
                    super::find_byte(&bytes, b'?'),
                    Some(bytes.iter().position(|&b| b == b'?').unwrap())
                );
                bytes[at] = b'a';
            }
        }
    }

    use super::*;

    fn byte_loop(bytes: &[u8], from: usize, ok: fn(u8) -> bool) -> usize {
        bytes[from..]
            .iter()
            .position(|&b| !ok(b))
            .map_or(bytes.len(), |i| from + i)
    }

    #[test]
    fn tchar_matches_the_grammar() {
        let listed = b"!#$%&'*+-.^_`|~";
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || listed.contains(&b);
            assert_eq!(is_tchar(b), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn word_scanners_agree_with_the_tables_for_every_byte_at_every_position() {
        for bad in 0..=255u8 {
            for len in 0..40 {
                for pos in 0..=len {
                    let mut bytes = vec![b'a'; len];
                    if pos < len {
                        bytes[pos] = bad;
                    }
                    for from in 0..=len.min(3) {
                        assert_eq!(
                            scan_target(&bytes, from),
                            byte_loop(&bytes, from, is_target_char),
                            "target {bad:#04x} at {pos} of {len} from {from}"
                        );
                        let line_end = byte_loop(&bytes, from, |b| b >= 0x20 && b != 0x7f);
                        let colon = bytes[from..line_end]
                            .iter()
                            .position(|&b| b == b':')
                            .map(|i| from + i);
                        assert_eq!(
                            scan_field_line(&bytes, from),
                            (colon, line_end),
                            "line {bad:#04x} at {pos} of {len}"
                        );
                        let swar = swar_scan(&bytes, from, Class::Target);
                        assert!(
                            swar <= byte_loop(&bytes, from, is_target_char),
                            "swar overshot"
                        );
                        assert_eq!(
                            swar + bytes[swar..]
                                .iter()
                                .position(|&b| !is_target_char(b))
                                .unwrap_or(bytes.len() - swar),
                            byte_loop(&bytes, from, is_target_char),
                            "swar target {bad:#04x} at {pos} of {len} from {from}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn scanners_find_the_first_of_several_stops() {
        let bytes = b"abc\x01\x00\x7f\x1fdefgh\r\n";
        assert_eq!(scan_field_line(bytes, 0), (None, 3));
        assert_eq!(scan_target(b"/abcdefghij k\x00", 0), 11);
        assert_eq!(
            scan_field_line(b"name:a\tb\tc\td\te\tf\tg\th\r\n", 0),
            (Some(4), 6)
        );
        assert_eq!(
            scan_field_line(b"0123456789abcdefghij:klmnopqrstuvwxyz\r\n", 0),
            (Some(20), 37)
        );
        assert_eq!(scan_field_line(b"0123456789abcdef\r:late", 0), (None, 16));
    }
}
