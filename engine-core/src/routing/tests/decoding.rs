//! Matching on percent-decoded segments, and malformed paths.

use std::borrow::Cow;

use super::Outcome::{BadRequest, NotFound};
use super::{Method, PathError, Resolution, RouteBuilder, check, found};

#[test]
fn segments_are_decoded_before_matching() {
    let routes = [
        ("GET", "/a b", "space"),
        ("GET", "/a+b", "plus"),
        ("GET", "/A", "upper-a"),
        ("GET", "/café", "cafe"),
        ("GET", "/100%", "percent"),
        ("GET", "/p/{x}", "param"),
        ("GET", "/t/{rest...}", "tail"),
    ];
    check(
        &routes,
        &[
            ("GET", "/a%20b", found("space", &[])),
            ("GET", "/a%20b/", found("space", &[])),
            ("GET", "/a+b", found("plus", &[])),
            ("GET", "/a%2Bb", found("plus", &[])),
            ("GET", "/a%2bb", found("plus", &[])),
            ("GET", "/%41", found("upper-a", &[])),
            ("GET", "/caf%C3%A9", found("cafe", &[])),
            ("GET", "/caf%c3%a9", found("cafe", &[])),
            // A constant holding `%` matches its encoded form; written raw, the path is malformed.
            ("GET", "/100%25", found("percent", &[])),
            (
                "GET",
                "/100%",
                BadRequest(PathError::InvalidPercentEncoding),
            ),
            ("GET", "/p/a%2Fb", found("param", &[("x", "a/b")])),
            ("GET", "/p/%2F", found("param", &[("x", "/")])),
            ("GET", "/p/a/b", NotFound),
            ("GET", "/p/%25", found("param", &[("x", "%")])),
            ("GET", "/p/a+b", found("param", &[("x", "a+b")])),
            (
                "GET",
                "/t/a%2Fb/c",
                found("tail", &[("rest", "a/b"), ("rest", "c")]),
            ),
        ],
    );
}

#[test]
fn malformed_paths_are_bad_requests_whatever_the_routes() {
    let routes = [("GET", "/p/{x}", "param"), ("GET", "/{...}", "all")];
    check(
        &routes,
        &[
            (
                "GET",
                "/p/%zz",
                BadRequest(PathError::InvalidPercentEncoding),
            ),
            (
                "GET",
                "/p/%4",
                BadRequest(PathError::InvalidPercentEncoding),
            ),
            (
                "GET",
                "/p/a%",
                BadRequest(PathError::InvalidPercentEncoding),
            ),
            ("GET", "/p/%C3", BadRequest(PathError::InvalidUtf8)),
            ("GET", "/p/%FF%FE", BadRequest(PathError::InvalidUtf8)),
            (
                "GET",
                "/nowhere/%zz",
                BadRequest(PathError::InvalidPercentEncoding),
            ),
            (
                "POST",
                "/%zz",
                BadRequest(PathError::InvalidPercentEncoding),
            ),
        ],
    );
}

/// Values borrow the request path unless their segment needed decoding.
#[test]
fn parameter_values_borrow_the_path_when_they_can() {
    let mut routes = RouteBuilder::new();
    routes.get("/p/{x}/{n}.json", ());
    let router = routes.build();
    let cases = [
        ("/p/abc/n.json", true, true),
        ("/p/a%20c/n.json", false, true),
        ("/p/a/%6E.json", true, false),
    ];
    for (path, x_borrowed, n_borrowed) in cases {
        let Resolution::Found(found) = router.resolve(&Method::GET, path) else {
            panic!("{path}")
        };
        let borrowed: Vec<bool> = found
            .params
            .entries
            .iter()
            .map(|(_, v)| matches!(v, Cow::Borrowed(_)))
            .collect();
        assert_eq!(borrowed, [x_borrowed, n_borrowed], "{path}");
        assert_eq!(found.params.get("n"), Some("n"), "{path}");
    }
}
