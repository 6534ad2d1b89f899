//! Content codings and choosing one by `Accept-Encoding` (RFC 9110 §8.4.1, §12.5.3): pure,
//! table-tested.
//!
//! ```text
//! Accept-Encoding = #( codings [ weight ] )
//! codings         = content-coding / "identity" / "*"
//! ```
//!
//! A coding's weight is its own entry's, else the `*` entry's, else zero: not listed means not
//! acceptable (§12.5.3: "*" matches "any available content-coding not explicitly listed"). The best
//! weight above zero wins; among equal weights the server's order decides. `identity` needs no
//! choosing: when no coding wins, the response goes out unencoded, which is what §12.5.3 asks for
//! even when `identity;q=0` excludes it ("the origin server SHOULD send a response without any
//! content coding" rather than fail).

use crate::plugins::field_values::{best_weight, parse_weighted, split_list};

/// A content coding this crate can apply and remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    /// `gzip` (RFC 1952), `x-gzip` read as its alias (RFC 9110 §8.4.1.3).
    Gzip,
    /// `deflate`: the zlib format (RFC 1950) around a deflate stream (RFC 9110 §8.4.1.2).
    Deflate,
    /// `br`: Brotli (RFC 7932).
    Br,
}

impl Coding {
    /// The coding's name in `Content-Encoding`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Deflate => "deflate",
            Self::Br => "br",
        }
    }

    /// The coding a `Content-Encoding` or `Accept-Encoding` name stands for (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            ("gzip", Self::Gzip),
            ("x-gzip", Self::Gzip),
            ("deflate", Self::Deflate),
            ("br", Self::Br),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, coding)| coding)
    }
}

/// The weight, in thousandths, that `accept_encoding` gives to `coding`.
pub fn quality(accept_encoding: &str, coding: Coding) -> u16 {
    let mut any = None;
    for element in split_list(accept_encoding) {
        let Some(weighted) = parse_weighted(element) else {
            continue;
        };
        if weighted.value == "*" {
            any = Some(weighted.q);
        } else if Coding::from_name(weighted.value) == Some(coding) {
            return weighted.q;
        }
    }
    any.unwrap_or(0)
}

/// The coding to apply for `accept_encoding`, among `offered` in the server's order of preference:
/// the index of the best acceptable one, or `None` to send the response unencoded.
pub fn choose(accept_encoding: &str, offered: &[Coding]) -> Option<usize> {
    best_weight(offered.iter().map(|&c| quality(accept_encoding, c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Coding::{Br, Deflate, Gzip};
    use proptest::prelude::*;

    const SERVER: [Coding; 3] = [Br, Gzip, Deflate];

    #[test]
    fn choice_table() {
        let cases = [
            ("gzip", Some(Gzip)),
            ("GZIP", Some(Gzip)),
            ("x-gzip", Some(Gzip)),
            ("gzip, deflate, br", Some(Br)),
            ("gzip;q=1.0, br;q=0.5", Some(Gzip)),
            ("deflate;q=0.5, gzip;q=0.5", Some(Gzip)),
            ("*", Some(Br)),
            ("*;q=0.1, gzip;q=0.2", Some(Gzip)),
            ("br;q=0, *", Some(Gzip)),
            ("*;q=0", None),
            ("identity", None),
            ("identity;q=0", None),
            ("", None),
            ("zstd", None),
            ("gzip;q=0", None),
            ("gzip;q=bad, deflate", Some(Deflate)),
            (" , gzip ; q=0.8 ,, ", Some(Gzip)),
        ];
        for (accept, expected) in cases {
            let chosen = choose(accept, &SERVER).map(|i| SERVER[i]);
            assert_eq!(chosen, expected, "{accept:?}");
        }
    }

    #[test]
    fn names_round_trip() {
        for coding in SERVER {
            assert_eq!(Coding::from_name(coding.name()), Some(coding));
        }
        assert_eq!(Coding::from_name("compress"), None);
    }

    proptest! {
        /// Whatever the field, the choice is an offered coding the field gives a weight above zero.
        #[test]
        fn choice_is_acceptable(accept in "[ -~]{0,60}") {
            if let Some(i) = choose(&accept, &SERVER) {
                prop_assert!(quality(&accept, SERVER[i]) > 0);
            }
        }
    }
}
