//! Whether a request's `Accept-Encoding` (RFC 9110 §12.5.3) allows a content coding: enough of
//! the field to pick a pre-compressed file, no more (choosing among codings by weight is a
//! compression plugin's job; here the configured order decides).
//!
//! ```text
//! Accept-Encoding = #( codings [ weight ] )
//! codings         = content-coding / "identity" / "*"
//! weight          = OWS ";" OWS "q=" qvalue
//! qvalue          = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
//! ```
//!
//! A coding is allowed when it is listed with a weight above 0, or when it is not listed and `*`
//! is, with a weight above 0. A weight that is not a qvalue counts as 0: a malformed preference
//! never turns into an encoding the client did not ask for.

/// Whether `accept_encoding` (every field joined with `,`) allows `coding`.
///
/// ```
/// use engine_core::plugins::static_files::accepts_encoding;
///
/// assert!(accepts_encoding("gzip, br;q=0.5", "br"));
/// assert!(!accepts_encoding("gzip, br;q=0", "br"));
/// assert!(accepts_encoding("*", "gzip"));
/// assert!(!accepts_encoding("*, gzip;q=0", "gzip"));
/// ```
pub fn accepts_encoding(accept_encoding: &str, coding: &str) -> bool {
    let mut wildcard = false;
    for entry in accept_encoding.split(',') {
        let mut parts = entry.split(';');
        let name = parts.next().unwrap_or("").trim();
        let weighted = parts.all(|param| {
            let param = param.trim();
            match param.split_once('=') {
                Some((key, value)) if key.trim().eq_ignore_ascii_case("q") => {
                    is_positive_qvalue(value.trim())
                }
                _ => true,
            }
        });
        if name.eq_ignore_ascii_case(coding) {
            return weighted;
        }
        if name == "*" {
            wildcard = weighted;
        }
    }
    wildcard
}

/// Whether `value` is a qvalue above 0.
fn is_positive_qvalue(value: &str) -> bool {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = fraction.len() <= 3 && fraction.bytes().all(|b| b.is_ascii_digit());
    match whole {
        "0" => digits && fraction.bytes().any(|b| b != b'0'),
        "1" => digits && fraction.bytes().all(|b| b == b'0'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codings() {
        let cases = [
            ("gzip", "gzip", true),
            ("GZIP", "gzip", true),
            ("deflate, gzip", "gzip", true),
            ("gzip;q=1.000", "gzip", true),
            ("gzip ; q=0.001", "gzip", true),
            ("gzip;q=0", "gzip", false),
            ("gzip;q=0.000", "gzip", false),
            ("gzip;q=1.5", "gzip", false),
            ("gzip;q=0.0001", "gzip", false),
            ("gzip;q=", "gzip", false),
            ("gzip;q=abc", "gzip", false),
            ("gzip;level=9", "gzip", true),
            ("br", "gzip", false),
            ("", "gzip", false),
            ("*", "br", true),
            ("*;q=0", "br", false),
            ("*, br;q=0", "br", false),
            ("br;q=0, *", "br", false),
            ("identity", "gzip", false),
            ("x-gzip", "gzip", false),
        ];
        for (header, coding, expected) in cases {
            assert_eq!(
                accepts_encoding(header, coding),
                expected,
                "{header:?} {coding}"
            );
        }
    }

    proptest! {
        /// Any field value: no panic; a coding listed alone with q=0 is never accepted.
        #[test]
        fn never_panics(header in "[ -~]{0,40}") {
            let _ = accepts_encoding(&header, "gzip");
            let refused = format!("gzip;q=0, {header}");
            if !header.to_ascii_lowercase().contains("gzip") {
                prop_assert!(!accepts_encoding(&refused, "gzip"));
            }
        }
    }
}
