//! Choosing a media type by `Accept` (RFC 9110 §12.5.1): pure, table-tested.
//!
//! ```text
//! Accept      = #( media-range [ weight ] )
//! media-range = ( "*/*" / ( type "/" "*" ) / ( type "/" subtype ) ) parameters
//! ```
//!
//! Each offered type gets the weight of the most specific range that matches it (`text/html` over
//! `text/*` over `*/*`, §12.5.1: "the most specific reference has precedence"); the best weight above
//! zero wins, and among equal weights the server's order decides. Range parameters other than the
//! weight are not matched: `text/html;level=1` is read as `text/html`.

use crate::plugins::field_values::{best_weight, media_type_parts, parse_weighted, split_list};

/// One media range of an `Accept` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MediaRange<'a> {
    kind: &'a str,
    subtype: &'a str,
    q: u16,
}

impl MediaRange<'_> {
    /// How specifically this range names `kind/subtype`: 3 exact, 2 `type/*`, 1 `*/*`, 0 not at all.
    fn specificity(&self, kind: &str, subtype: &str) -> u8 {
        match (self.kind, self.subtype) {
            ("*", "*") => 1,
            (k, "*") if k.eq_ignore_ascii_case(kind) => 2,
            (k, s) if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(subtype) => 3,
            _ => 0,
        }
    }
}

fn media_ranges(accept: &str) -> impl Iterator<Item = MediaRange<'_>> {
    split_list(accept).filter_map(|element| {
        let weighted = parse_weighted(element)?;
        let (kind, subtype) = media_type_parts(weighted.value)?;
        // `*/html` is not a media range.
        if kind == "*" && subtype != "*" {
            return None;
        }
        Some(MediaRange {
            kind,
            subtype,
            q: weighted.q,
        })
    })
}

/// The weight, in thousandths, that `accept` gives to `media_type` (`type/subtype`); 0 when no range
/// matches it.
pub fn quality(accept: &str, media_type: &str) -> u16 {
    let Some((kind, subtype)) = media_type_parts(media_type) else {
        return 0;
    };
    media_ranges(accept)
        .map(|range| (range.specificity(kind, subtype), range.q))
        .filter(|(specificity, _)| *specificity > 0)
        // Parameters are not matched, so two ranges can be equally specific: the kinder one counts.
        .max()
        .map_or(0, |(_, q)| q)
}

/// Which of `offered` (media types in the server's order of preference) to send for `accept`: the
/// index of the best one, or `None` when `accept` excludes them all (406). No `Accept` field, or
/// one with no readable range, accepts anything (§12.5.1), so the first is chosen.
pub fn negotiate(accept: Option<&str>, offered: &[&str]) -> Option<usize> {
    let accept = accept.filter(|a| media_ranges(a).next().is_some());
    let Some(accept) = accept else {
        return (!offered.is_empty()).then_some(0);
    };
    best_weight(offered.iter().map(|t| quality(accept, t)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OFFERED: [&str; 2] = ["application/json", "application/cbor"];

    #[test]
    fn negotiation_table() {
        let cases = [
            (None, Some(0)),
            (Some(""), Some(0)),
            (Some("garbage"), Some(0)),
            (Some("*/*"), Some(0)),
            (Some("application/json"), Some(0)),
            (Some("application/cbor"), Some(1)),
            (Some("APPLICATION/CBOR"), Some(1)),
            (Some("application/*"), Some(0)),
            (Some("application/json;q=0.5, application/cbor"), Some(1)),
            (Some("application/json;q=0.5, */*;q=0.6"), Some(1)),
            (Some("application/*;q=0.9, application/json;q=0.1"), Some(1)),
            (Some("text/html"), None),
            (Some("text/html, */*;q=0"), None),
            (Some("application/json;q=0, application/cbor;q=0"), None),
            (Some("text/html, application/json;level=1;q=0.3"), Some(0)),
            (Some("*/json"), Some(0)),
        ];
        for (accept, expected) in cases {
            assert_eq!(negotiate(accept, &OFFERED), expected, "{accept:?}");
        }
        assert_eq!(negotiate(None, &[]), None);
    }

    #[test]
    fn most_specific_range_decides() {
        let accept = "text/*;q=0.3, text/html;q=0.7, text/html;level=1, */*;q=0.5";
        assert_eq!(quality(accept, "text/html"), 1000);
        assert_eq!(quality(accept, "text/plain"), 300);
        assert_eq!(quality(accept, "image/png"), 500);
        assert_eq!(quality("text/plain", "not a type"), 0);
    }

    proptest! {
        /// Whatever the field, the choice is one of the offered types, and never panics.
        #[test]
        fn choice_is_offered(accept in "[ -~]{0,80}") {
            if let Some(i) = negotiate(Some(&accept), &OFFERED) {
                prop_assert!(i < OFFERED.len());
                prop_assert!(quality(&accept, OFFERED[i]) > 0 || media_ranges(&accept).next().is_none());
            }
        }
    }
}
