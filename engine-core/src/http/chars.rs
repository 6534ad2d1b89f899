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
pub fn scan_target(bytes: &[u8], mut from: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        from = sse2::scan(bytes, from, sse2::Class::Target);
    }
    while let Some(chunk) = bytes.get(from..from + 8) {
        let x = u64::from_le_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        let stop = bytes_below(x, 0x21) | bytes_equal(x, 0x7f) | (x & HI);
        if stop != 0 {
            return from + (stop.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    while from < bytes.len() && is_target_char(bytes[from]) {
        from += 1;
    }
    from
}

/// Index of the first byte of `bytes[from..]` that is a control byte other than HTAB, or DEL: the
/// end of a field value (normally its CR) or an invalid byte. `bytes.len()` when there is none.
#[inline]
pub fn scan_field_value(bytes: &[u8], mut from: usize) -> usize {
    loop {
        #[cfg(target_arch = "x86_64")]
        {
            from = sse2::scan(bytes, from, sse2::Class::FieldValue);
        }
        while let Some(chunk) = bytes.get(from..from + 8) {
            let x = u64::from_le_bytes([
                chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
            ]);
            let stop = bytes_below(x, 0x20) | bytes_equal(x, 0x7f);
            if stop != 0 {
                from += (stop.trailing_zeros() / 8) as usize;
                break;
            }
            from += 8;
        }
        if bytes.get(from..from + 8).is_none() {
            while from < bytes.len() && is_field_value_char(bytes[from]) {
                from += 1;
            }
            return from;
        }
        // The word loop stopped on a control byte; HTAB is allowed, so step over it and go on.
        if bytes[from] != b'\t' {
            return from;
        }
        from += 1;
    }
}

/// Sixteen bytes a step with SSE2, which every x86_64 processor has (no runtime detection).
/// Measured with `cargo bench -p benches --bench parse`: on the browser fixture, whose long field
/// values dominate, the parser went from 310 ns (eight-byte words alone) to the figure in
/// BENCHMARKS.md.
#[cfg(target_arch = "x86_64")]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    #[derive(Clone, Copy, PartialEq, Eq)]
    pub(super) enum Class {
        /// Stops at bytes <= 0x20, 0x7f and >= 0x80.
        Target,
        /// Stops at bytes < 0x20 and 0x7f (HTAB included: the caller steps over it).
        FieldValue,
    }

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

#[cfg(test)]
mod tests {
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
                        assert_eq!(
                            scan_field_value(&bytes, from),
                            byte_loop(&bytes, from, is_field_value_char),
                            "value {bad:#04x} at {pos} of {len} from {from}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn scanners_find_the_first_of_several_stops() {
        let bytes = b"abc\x01\x00\x7f\x1fdefgh\r\n";
        assert_eq!(scan_field_value(bytes, 0), 3);
        assert_eq!(scan_target(b"/abcdefghij k\x00", 0), 11);
        assert_eq!(scan_field_value(b"a\tb\tc\td\te\tf\tg\th\r\n", 0), 15);
    }
}
