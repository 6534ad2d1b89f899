//! Every segment kind, trailing slashes and empty segments.

use super::Outcome::NotFound;
use super::{check, found};

#[test]
fn constants_are_exact_and_case_sensitive() {
    let routes = [
        ("GET", "/", "root"),
        ("GET", "/users", "users"),
        ("GET", "/users/list", "list"),
    ];
    check(
        &routes,
        &[
            ("GET", "/", found("root", &[])),
            ("GET", "", found("root", &[])),
            ("GET", "//", found("root", &[])),
            ("GET", "/users", found("users", &[])),
            ("GET", "/users/", found("users", &[])),
            ("GET", "//users//", found("users", &[])),
            ("GET", "users", found("users", &[])),
            ("GET", "/users/list", found("list", &[])),
            ("GET", "/users//list/", found("list", &[])),
            ("GET", "/Users", NotFound),
            ("GET", "/user", NotFound),
            ("GET", "/users/lis", NotFound),
            ("GET", "/users/list/x", NotFound),
        ],
    );
}

#[test]
fn trailing_slash_in_the_template_is_ignored() {
    let routes = [("GET", "/a/", "a"), ("GET", "//b//c//", "bc")];
    check(
        &routes,
        &[
            ("GET", "/a", found("a", &[])),
            ("GET", "/a/", found("a", &[])),
            ("GET", "/b/c", found("bc", &[])),
            ("GET", "/b", NotFound),
        ],
    );
}

#[test]
fn parameters_take_one_segment() {
    let routes = [
        ("GET", "/users/{id}", "user"),
        ("GET", "/users/{id}/posts/{post}", "post"),
    ];
    check(
        &routes,
        &[
            ("GET", "/users/5", found("user", &[("id", "5")])),
            ("GET", "/users/5/", found("user", &[("id", "5")])),
            (
                "GET",
                "/users/5/posts/7",
                found("post", &[("id", "5"), ("post", "7")]),
            ),
            ("GET", "/users", NotFound),
            ("GET", "/users/5/posts", NotFound),
            ("GET", "/users/5/comments/7", NotFound),
        ],
    );
}

#[test]
fn parameters_with_prefix_or_suffix() {
    let routes = [
        ("GET", "/files/{name}.json", "json"),
        ("GET", "/files/{name}", "file"),
        ("GET", "/api/v{version}/status", "status"),
        ("GET", "/img/{id}@2x.png", "retina"),
    ];
    check(
        &routes,
        &[
            ("GET", "/files/a.json", found("json", &[("name", "a")])),
            ("GET", "/files/a.b.json", found("json", &[("name", "a.b")])),
            ("GET", "/files/.json", found("file", &[("name", ".json")])),
            ("GET", "/files/a.txt", found("file", &[("name", "a.txt")])),
            (
                "GET",
                "/api/v2/status",
                found("status", &[("version", "2")]),
            ),
            ("GET", "/api/v/status", NotFound),
            ("GET", "/api/x2/status", NotFound),
            ("GET", "/img/cat@2x.png", found("retina", &[("id", "cat")])),
            ("GET", "/img/cat.png", NotFound),
        ],
    );
}

#[test]
fn optional_parameters_present_and_absent() {
    let routes = [("GET", "/items/{id?}", "items"), ("GET", "/a/{x?}/b", "ab")];
    check(
        &routes,
        &[
            ("GET", "/items", found("items", &[])),
            ("GET", "/items/", found("items", &[])),
            ("GET", "/items/3", found("items", &[("id", "3")])),
            ("GET", "/items/3/4", NotFound),
            ("GET", "/a/b", found("ab", &[])),
            ("GET", "/a/1/b", found("ab", &[("x", "1")])),
            ("GET", "/a/b/b", found("ab", &[("x", "b")])),
            ("GET", "/a/1", NotFound),
            ("GET", "/a/1/2/b", NotFound),
        ],
    );
}

#[test]
fn wildcards_take_exactly_one_segment_and_capture_nothing() {
    let routes = [("GET", "/w/*/x", "w"), ("GET", "/*", "any")];
    check(
        &routes,
        &[
            ("GET", "/w/anything/x", found("w", &[])),
            ("GET", "/w/x", NotFound),
            ("GET", "/w/a/b/x", NotFound),
            ("GET", "/zzz", found("any", &[])),
            ("GET", "/", NotFound),
        ],
    );
}

#[test]
fn tailcards_take_zero_or_more_segments() {
    let routes = [
        ("GET", "/static/{...}", "static"),
        ("GET", "/files/{path...}", "files"),
    ];
    check(
        &routes,
        &[
            ("GET", "/static", found("static", &[])),
            ("GET", "/static/", found("static", &[])),
            ("GET", "/static/a/b/c", found("static", &[])),
            ("GET", "/files", found("files", &[])),
            ("GET", "/files/a", found("files", &[("path", "a")])),
            (
                "GET",
                "/files/a//b%2Fc/d/",
                found("files", &[("path", "a"), ("path", "b/c"), ("path", "d")]),
            ),
            ("GET", "/stat", NotFound),
        ],
    );
}

#[test]
fn a_tailcard_at_the_root_matches_every_path() {
    let routes = [("GET", "/{...}", "all")];
    let requests: Vec<_> = ["/", "", "/a", "/a/b/c", "//x//"]
        .into_iter()
        .map(|path| ("GET", path, found("all", &[])))
        .collect();
    check(&routes, &requests);
}

#[test]
fn repeated_names_keep_every_value_in_path_order() {
    let routes = [
        ("GET", "/{id}/x/{id}", "twice"),
        ("GET", "/t/{a}/{rest...}", "mixed"),
    ];
    check(
        &routes,
        &[
            ("GET", "/1/x/2", found("twice", &[("id", "1"), ("id", "2")])),
            (
                "GET",
                "/t/1/2/3",
                found("mixed", &[("a", "1"), ("rest", "2"), ("rest", "3")]),
            ),
        ],
    );
}

#[test]
fn deep_paths_match_with_and_without_percent() {
    let deep: String = (0..40).map(|i| format!("/s{i}")).collect();
    let encoded = deep.replace("/s39", "/%73%33%39");
    let other = deep.replace("/s39", "/x");
    let values: Vec<String> = (1..39)
        .map(|i| format!("s{i}"))
        .chain(["x".into()])
        .collect();
    let rest: Vec<(&str, &str)> = values.iter().map(|v| ("rest", v.as_str())).collect();
    let routes = [
        ("GET", deep.as_str(), "deep"),
        ("GET", "/s0/{rest...}", "rest"),
    ];
    check(
        &routes,
        &[
            ("GET", deep.as_str(), found("deep", &[])),
            ("GET", encoded.as_str(), found("deep", &[])),
            ("GET", other.as_str(), found("rest", &rest)),
        ],
    );
}
