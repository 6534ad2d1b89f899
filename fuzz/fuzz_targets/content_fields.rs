//! The negotiation fields' readers on arbitrary text: `Accept`, `Accept-Encoding`, entity-tag lists
//! and `qvalue`s. No panic; every choice is one of the offered; every entity tag read prints as one
//! that reads back to itself.
#![no_main]

use engine_core::plugins::compression::accept_encoding::{self, Coding};
use engine_core::plugins::conditional_headers::{EntityTag, EntityTagList};
use engine_core::plugins::content_negotiation::accept;
use engine_core::plugins::field_values::{parse_qvalue, parse_weighted, split_list};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let offered = ["application/json", "text/html"];
    assert!(accept::negotiate(Some(text), &offered).is_none_or(|i| i < offered.len()));
    let codings = [Coding::Br, Coding::Gzip, Coding::Deflate];
    assert!(accept_encoding::choose(text, &codings).is_none_or(|i| i < codings.len()));
    for element in split_list(text) {
        let _ = parse_weighted(element);
    }
    assert!(parse_qvalue(text).is_none_or(|q| q <= 1000));
    if let EntityTagList::Tags(tags) = EntityTagList::parse(text) {
        for tag in tags {
            assert_eq!(EntityTag::parse(&tag.to_string()), Some(tag));
        }
    }
});
