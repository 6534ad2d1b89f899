//! The `Range` parser and its resolution on arbitrary bytes: no panic, at most the limit of specs,
//! and every resolved range non-empty and inside a representation whose length the input picks.
#![no_main]

use engine_core::plugins::partial_content::range::{parse_range, resolve};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (length, value) = match data.split_first() {
        Some((&first, rest)) => (u64::from(first) * 37, rest),
        None => (0, data),
    };
    if let Ok(specs) = parse_range(value, 16) {
        assert!(!specs.is_empty() && specs.len() <= 16);
        for range in resolve(&specs, length).unwrap_or_default() {
            assert!(range.start < range.end && range.end <= length);
        }
    }
});
