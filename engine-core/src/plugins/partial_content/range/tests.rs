use super::*;
use RangeSpec::{From, FromTo, Suffix};
use proptest::prelude::*;

#[test]
fn parse_table() {
    let ok = |specs: &[RangeSpec]| Ok(specs.to_vec());
    let cases: [(&str, Result<Vec<RangeSpec>, RangeError>); 22] = [
        ("bytes=0-0", ok(&[FromTo(0, 0)])),
        ("bytes=1-2", ok(&[FromTo(1, 2)])),
        ("bytes=500-", ok(&[From(500)])),
        ("bytes=-500", ok(&[Suffix(500)])),
        ("BYTES=0-1", ok(&[FromTo(0, 1)])),
        (
            " bytes=0-1, 5-,-3 ",
            ok(&[FromTo(0, 1), From(5), Suffix(3)]),
        ),
        ("bytes=0-1,,\t,2-3", ok(&[FromTo(0, 1), FromTo(2, 3)])),
        (
            "bytes=0-99999999999999999999999",
            ok(&[FromTo(0, u64::MAX)]),
        ),
        ("bytes=2-1", Err(RangeError::Malformed)),
        ("bytes=-", Err(RangeError::Malformed)),
        ("bytes=", Err(RangeError::Malformed)),
        ("bytes=,", Err(RangeError::Malformed)),
        ("bytes=a-b", Err(RangeError::Malformed)),
        ("bytes=0-1-2", Err(RangeError::Malformed)),
        ("bytes=0 -1", Err(RangeError::Malformed)),
        ("bytes=+1-2", Err(RangeError::Malformed)),
        ("bytes 0-1", Err(RangeError::Malformed)),
        ("bytes =0-1", Err(RangeError::Malformed)),
        ("=0-1", Err(RangeError::Malformed)),
        ("items=0-1", Err(RangeError::OtherUnit)),
        ("bytes=0-0,1-1,2-2,3-3", Err(RangeError::TooMany)),
        ("", Err(RangeError::Malformed)),
    ];
    for (value, expected) in cases {
        assert_eq!(parse_range(value.as_bytes(), 3), expected, "{value:?}");
    }
}

type ResolveCase = (&'static [RangeSpec], u64, Option<Vec<Range<u64>>>);

#[test]
#[allow(
    clippy::single_range_in_vec_init,
    reason = "a list of one range is what is meant"
)]
fn resolve_table() {
    let cases: [ResolveCase; 12] = [
        (&[FromTo(0, 0)], 10, Some(vec![0..1])),
        (&[FromTo(1, 2)], 10, Some(vec![1..3])),
        (&[FromTo(5, 100)], 10, Some(vec![5..10])),
        (&[From(9)], 10, Some(vec![9..10])),
        (&[From(10)], 10, None),
        (&[Suffix(3)], 10, Some(vec![7..10])),
        (&[Suffix(30)], 10, Some(vec![0..10])),
        (&[Suffix(0)], 10, None),
        (&[Suffix(1)], 0, None),
        (&[From(20), FromTo(2, 3)], 10, Some(vec![2..4])),
        // The request's order is kept when nothing overlaps.
        (&[FromTo(6, 7), FromTo(0, 1)], 10, Some(vec![6..8, 0..2])),
        // Overlaps merge into ascending ranges.
        (
            &[From(0), From(0), FromTo(8, 9), FromTo(2, 3)],
            10,
            Some(vec![0..10]),
        ),
    ];
    for (specs, length, expected) in cases {
        assert_eq!(resolve(specs, length), expected, "{specs:?} of {length}");
    }
    assert!(is_ascending(&[0..2, 2..4, 6..8]));
    assert!(!is_ascending(&[6..8, 0..2]));
}

fn spec() -> impl Strategy<Value = RangeSpec> {
    prop_oneof![
        (0u64..1000, 0u64..1000).prop_map(|(a, b)| FromTo(a.min(b), a.max(b))),
        (0u64..1000).prop_map(From),
        (0u64..1000).prop_map(Suffix),
    ]
}

fn format(specs: &[RangeSpec]) -> String {
    let parts: Vec<String> = specs
        .iter()
        .map(|s| match s {
            FromTo(a, b) => format!("{a}-{b}"),
            From(a) => format!("{a}-"),
            Suffix(n) => format!("-{n}"),
        })
        .collect();
    format!("bytes={}", parts.join(", "))
}

proptest! {
    /// Whatever the bytes, parsing does not panic and resolved ranges are non-empty and inside the
    /// representation.
    #[test]
    fn any_bytes_resolve_inside(value in proptest::collection::vec(any::<u8>(), 0..64), length in 0u64..2000) {
        if let Ok(specs) = parse_range(&value, 16) {
            prop_assert!(!specs.is_empty() && specs.len() <= 16);
            for range in resolve(&specs, length).unwrap_or_default() {
                prop_assert!(range.start < range.end && range.end <= length);
            }
        }
    }

    /// A formatted range set parses back to itself.
    #[test]
    fn format_parse_round_trip(specs in proptest::collection::vec(spec(), 1..8)) {
        prop_assert_eq!(parse_range(format(&specs).as_bytes(), 8), Ok(specs));
    }

    /// Resolution covers exactly the bytes the specs select: each selected byte is in one range,
    /// and no range holds a byte no spec selects.
    #[test]
    fn resolution_covers_the_selected_bytes(specs in proptest::collection::vec(spec(), 1..6), length in 0u64..300) {
        let selected = |byte: u64| specs.iter().any(|s| s.resolve(length).is_some_and(|r| r.contains(&byte)));
        match resolve(&specs, length) {
            None => prop_assert!((0..length).all(|b| !selected(b))),
            Some(ranges) => {
                for byte in 0..length {
                    let holders = ranges.iter().filter(|r| r.contains(&byte)).count();
                    prop_assert_eq!(holders, usize::from(selected(byte)), "byte {}", byte);
                }
            }
        }
    }
}
