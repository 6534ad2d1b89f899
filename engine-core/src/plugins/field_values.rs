//! Pure readers for the list-valued request fields the content plugins negotiate on: `Accept`
//! (RFC 9110 §12.5.1) and `Accept-Encoding` (§12.5.3). Text in, elements and weights out; nothing
//! here knows which plugin asked.
//!
//! ```text
//! #element      = [ element ] *( OWS "," OWS [ element ] )        ; §5.6.1, empty elements allowed
//! parameters    = *( OWS ";" OWS [ parameter ] )                   ; §5.6.6
//! parameter     = token "=" ( token / quoted-string )
//! quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE          ; §5.6.4
//! weight        = OWS ";" OWS "q=" qvalue                          ; §12.4.2
//! qvalue        = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
//! ```
//!
//! Leniency, and why: an element that does not parse is skipped rather than failing the whole
//! field, so one odd entry from a client does not cost it the others (the worst outcome is the
//! unencoded, default representation). Commas and semicolons inside a quoted-string do not split.

use crate::http::chars::is_tchar;

/// The elements of a list-valued field: split at commas outside quoted-strings, OWS trimmed,
/// empty elements skipped.
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    split_outside_quotes(value, b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// One element with its weight: `value` is what comes before the first `;`, `q` the weight in
/// thousandths (1000 when absent). `None` when the weight is not a valid `qvalue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weighted<'a> {
    /// The element's value without parameters, OWS trimmed.
    pub value: &'a str,
    /// The weight, 0 to 1000.
    pub q: u16,
}

/// Reads an element as a value with parameters and a weight (RFC 9110 §12.4.2). Parameters other
/// than `q` are not kept: the plugins match on the value alone. `None` for an empty value or a
/// malformed weight.
pub fn parse_weighted(element: &str) -> Option<Weighted<'_>> {
    let mut parts = split_outside_quotes(element, b';').map(trim_ows);
    let value = parts.next().filter(|v| !v.is_empty())?;
    let mut q = 1000;
    for parameter in parts {
        let Some((name, v)) = parameter.split_once('=') else {
            continue;
        };
        if trim_ows(name).eq_ignore_ascii_case("q") {
            q = parse_qvalue(trim_ows(v))?;
            // Parameters after the weight are accept-ext (RFC 7231 §5.3.2): nothing to read.
            break;
        }
    }
    Some(Weighted { value, q })
}

/// A `qvalue` in thousandths: `0`, `0.5`, `1`, `1.000`; `None` for anything else (`1.5`, `.5`,
/// `0.1234`).
pub fn parse_qvalue(text: &str) -> Option<u16> {
    let bytes = text.as_bytes();
    let (&first, rest) = bytes.split_first()?;
    let fraction = match rest {
        [] => &[][..],
        [b'.', fraction @ ..] if fraction.len() <= 3 => fraction,
        _ => return None,
    };
    if !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths = 0u16;
    for i in 0..3 {
        let digit = fraction.get(i).map_or(0, |d| u16::from(d - b'0'));
        thousandths = thousandths * 10 + digit;
    }
    match first {
        b'0' => Some(thousandths),
        b'1' if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The index of the highest weight above zero, the first among equals: how both negotiations pick
/// among what the server offers, in its order of preference.
pub fn best_weight(weights: impl IntoIterator<Item = u16>) -> Option<usize> {
    let mut best: Option<(usize, u16)> = None;
    for (i, q) in weights.into_iter().enumerate() {
        if q > 0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((i, q));
        }
    }
    best.map(|(i, _)| i)
}

/// Whether `text` is a non-empty `token` (RFC 9110 §5.6.2).
pub fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_tchar)
}

/// `type "/" subtype` split into its two tokens, or `None`.
pub fn media_type_parts(media_type: &str) -> Option<(&str, &str)> {
    let (kind, subtype) = media_type.split_once('/')?;
    (is_token(kind) && is_token(subtype)).then_some((kind, subtype))
}

/// The media type of a `Content-Type` value without its parameters, OWS trimmed.
pub fn essence(content_type: &str) -> &str {
    trim_ows(content_type.split(';').next().unwrap_or(""))
}

fn trim_ows(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// Splits at `separator` bytes that are outside quoted-strings; a backslash inside a quoted-string
/// escapes the next byte. An unterminated quoted-string runs to the end.
fn split_outside_quotes(text: &str, separator: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        let bytes = current.as_bytes();
        let (mut quoted, mut escaped) = (false, false);
        for (i, &b) in bytes.iter().enumerate() {
            if escaped {
                escaped = false;
            } else if quoted && b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                quoted = !quoted;
            } else if !quoted && b == separator {
                // The separator is ASCII, so `i` and `i + 1` are character boundaries.
                rest = Some(&current[i + 1..]);
                return Some(&current[..i]);
            }
        }
        rest = None;
        Some(current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lists_split_outside_quotes() {
        let cases: [(&str, &[&str]); 6] = [
            ("gzip, br", &["gzip", "br"]),
            (" , gzip,,\tbr , ", &["gzip", "br"]),
            ("a;x=\"1,2\", b", &["a;x=\"1,2\"", "b"]),
            ("a;x=\"q\\\",\", b", &["a;x=\"q\\\",\"", "b"]),
            ("a;x=\"unterminated, b", &["a;x=\"unterminated, b"]),
            ("", &[]),
        ];
        for (value, expected) in cases {
            assert_eq!(split_list(value).collect::<Vec<_>>(), expected, "{value:?}");
        }
    }

    #[test]
    fn qvalues() {
        let cases = [
            ("0", Some(0)),
            ("0.", Some(0)),
            ("0.5", Some(500)),
            ("0.125", Some(125)),
            ("1", Some(1000)),
            ("1.000", Some(1000)),
            ("1.001", None),
            ("0.1234", None),
            ("2", None),
            (".5", None),
            ("0.a", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_qvalue(text), expected, "{text:?}");
        }
    }

    #[test]
    fn weighted_elements() {
        let w = |value, q| Some(Weighted { value, q });
        let cases = [
            ("gzip", w("gzip", 1000)),
            ("gzip;q=0.5", w("gzip", 500)),
            ("gzip ; Q = 0", w("gzip", 0)),
            ("text/html;level=1;q=0.7;ext=1", w("text/html", 700)),
            ("text/html;x=\"a;q=0\"", w("text/html", 1000)),
            ("gzip;q=2", None),
            (";q=1", None),
        ];
        for (element, expected) in cases {
            assert_eq!(parse_weighted(element), expected, "{element:?}");
        }
    }

    #[test]
    fn media_types() {
        assert_eq!(
            media_type_parts("application/json"),
            Some(("application", "json"))
        );
        assert_eq!(media_type_parts("*/*"), Some(("*", "*")));
        assert_eq!(media_type_parts("text"), None);
        assert_eq!(media_type_parts("te xt/html"), None);
        assert_eq!(
            essence("application/json; charset=utf-8"),
            "application/json"
        );
    }

    proptest! {
        /// Splitting never loses a byte that is not a separator or OWS around one, and never panics.
        #[test]
        fn split_keeps_every_other_byte(value in "[ -~\t]{0,64}") {
            let joined: String = split_list(&value).collect::<Vec<_>>().concat();
            let significant = |s: &str| s.bytes().filter(|b| !matches!(b, b' ' | b'\t' | b',')).count();
            prop_assert_eq!(significant(&joined), significant(&value));
            for element in split_list(&value) {
                let _ = parse_weighted(element);
            }
        }

        /// Every valid qvalue reads back as its thousandths.
        #[test]
        fn qvalue_round_trip(q in 0u16..=1000) {
            let text = format!("{}.{:03}", q / 1000, q % 1000);
            prop_assert_eq!(parse_qvalue(&text), Some(q));
        }
    }
}
