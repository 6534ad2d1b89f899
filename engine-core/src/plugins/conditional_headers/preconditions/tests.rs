use super::*;
use proptest::prelude::*;
use std::time::Duration;

fn strong(tag: &str) -> EntityTag {
    EntityTag::strong(tag).unwrap()
}

fn weak(tag: &str) -> EntityTag {
    EntityTag::weak(tag).unwrap()
}

#[test]
fn entity_tags_parse_and_print() {
    assert_eq!(EntityTag::parse("\"abc\""), Some(strong("abc")));
    assert_eq!(EntityTag::parse(" W/\"abc\" "), Some(weak("abc")));
    assert_eq!(EntityTag::parse("\"\""), Some(strong("")));
    assert_eq!(EntityTag::parse("abc"), None);
    assert_eq!(EntityTag::parse("\"a\"b\""), None);
    assert_eq!(EntityTag::parse("w/\"abc\""), None, "W is case-sensitive");
    assert_eq!(EntityTag::strong("a b"), None);
    assert_eq!(weak("x").to_string(), "W/\"x\"");
    assert_eq!(strong("x").to_header_value().unwrap(), "\"x\"");
}

#[test]
fn comparisons() {
    // RFC 9110 §8.8.3.2's table.
    let cases = [
        (weak("1"), weak("1"), false, true),
        (weak("1"), weak("2"), false, false),
        (weak("1"), strong("1"), false, true),
        (strong("1"), strong("1"), true, true),
    ];
    for (a, b, strong_eq, weak_eq) in cases {
        assert_eq!(a.strong_eq(&b), strong_eq, "{a} {b}");
        assert_eq!(a.weak_eq(&b), weak_eq, "{a} {b}");
    }
}

#[test]
fn lists() {
    use EntityTagList::{Any, Tags};
    let cases = [
        ("*", Any),
        (" * ", Any),
        ("\"a\"", Tags(vec![strong("a")])),
        ("\"a\", W/\"b\"", Tags(vec![strong("a"), weak("b")])),
        ("\"a,b\", \"c\"", Tags(vec![strong("a,b"), strong("c")])),
        ("junk, \"c\"", Tags(vec![strong("c")])),
        ("\"a\"junk, \"c\"", Tags(vec![strong("c")])),
        ("W/junk, \"c\",,", Tags(vec![strong("c")])),
        ("\"unterminated", Tags(vec![])),
        ("", Tags(vec![])),
    ];
    for (value, expected) in cases {
        assert_eq!(EntityTagList::parse(value), expected, "{value:?}");
    }
}

const JAN_1: u64 = 1_704_067_200; // Mon, 01 Jan 2024 00:00:00 GMT
const BEFORE: &str = "Sun, 31 Dec 2023 23:59:59 GMT";
const AT: &str = "Mon, 01 Jan 2024 00:00:00 GMT";
const AFTER: &str = "Mon, 01 Jan 2024 00:00:01 GMT";

fn validators() -> Validators {
    Validators {
        etag: Some(strong("v1")),
        // Sub-second precision is not compared: HTTP dates are whole seconds.
        last_modified: Some(UNIX_EPOCH + Duration::from_millis(JAN_1 * 1000 + 500)),
    }
}

#[test]
fn evaluation_table() {
    use Outcome::{NotModified, PreconditionFailed, Proceed};
    let none = Conditions::default();
    let c = |if_match, if_none_match, if_modified_since, if_unmodified_since| Conditions {
        if_match,
        if_none_match,
        if_modified_since,
        if_unmodified_since,
    };
    let cases = [
        (Method::GET, none, Proceed),
        (
            Method::GET,
            c(None, Some("\"v1\""), None, None),
            NotModified,
        ),
        (
            Method::HEAD,
            c(None, Some("W/\"v1\""), None, None),
            NotModified,
        ),
        (Method::GET, c(None, Some("\"v2\""), None, None), Proceed),
        (Method::GET, c(None, Some("*"), None, None), NotModified),
        (
            Method::PUT,
            c(None, Some("\"v1\""), None, None),
            PreconditionFailed,
        ),
        (Method::GET, c(Some("\"v1\""), None, None, None), Proceed),
        (
            Method::GET,
            c(Some("W/\"v1\""), None, None, None),
            PreconditionFailed,
        ),
        (
            Method::PUT,
            c(Some("\"v0\", \"v1\""), None, None, None),
            Proceed,
        ),
        (
            Method::PUT,
            c(Some("\"v0\""), None, None, None),
            PreconditionFailed,
        ),
        (Method::PUT, c(Some("*"), None, None, None), Proceed),
        (Method::GET, c(None, None, Some(AT), None), NotModified),
        (Method::GET, c(None, None, Some(AFTER), None), NotModified),
        (Method::GET, c(None, None, Some(BEFORE), None), Proceed),
        (Method::GET, c(None, None, Some("yesterday"), None), Proceed),
        (Method::POST, c(None, None, Some(AT), None), Proceed),
        // If-None-Match wins over If-Modified-Since (§13.1.3).
        (
            Method::GET,
            c(None, Some("\"v2\""), Some(AT), None),
            Proceed,
        ),
        (Method::PUT, c(None, None, None, Some(AT)), Proceed),
        (
            Method::PUT,
            c(None, None, None, Some(BEFORE)),
            PreconditionFailed,
        ),
        (Method::PUT, c(None, None, None, Some("garbage")), Proceed),
        // If-Match wins over If-Unmodified-Since (§13.1.4).
        (
            Method::PUT,
            c(Some("\"v1\""), None, None, Some(BEFORE)),
            Proceed,
        ),
        // Preconditions first: a failed If-Match is 412 even where If-None-Match would be 304.
        (
            Method::GET,
            c(Some("\"v0\""), Some("\"v1\""), None, None),
            PreconditionFailed,
        ),
    ];
    for (method, conditions, expected) in cases {
        assert_eq!(
            evaluate(&method, &conditions, &validators()),
            expected,
            "{method} {conditions:?}"
        );
    }
}

#[test]
fn without_validators() {
    let nothing = Validators::default();
    let c = |if_match, if_none_match| Conditions {
        if_match,
        if_none_match,
        if_modified_since: Some(AT),
        if_unmodified_since: Some(BEFORE),
    };
    assert_eq!(
        evaluate(&Method::GET, &c(None, Some("\"a\"")), &nothing),
        Outcome::Proceed
    );
    assert_eq!(
        evaluate(&Method::GET, &c(None, Some("*")), &nothing),
        Outcome::NotModified
    );
    assert_eq!(
        evaluate(&Method::PUT, &c(Some("\"a\""), None), &nothing),
        Outcome::PreconditionFailed
    );
}

proptest! {
    /// Any field value parses without panicking, and every tag it yields prints as an entity-tag
    /// that parses back to itself.
    #[test]
    fn lists_never_panic(value in "[ -~\u{80}-\u{ff}]{0,64}") {
        if let EntityTagList::Tags(tags) = EntityTagList::parse(&value) {
            for tag in tags {
                prop_assert_eq!(EntityTag::parse(&tag.to_string()), Some(tag));
            }
        }
    }
}
