//! The quality rule of `super::super::resolve`, case by case: ordering, backtracking, the method
//! rule, and 404 versus 405 with its `Allow` list.

use super::Outcome::NotFound;
use super::{allow, check, found};

#[test]
fn constant_beats_parameter_beats_wildcard_beats_tailcard() {
    let routes = [
        ("GET", "/x/{...}", "tail"),
        ("GET", "/x/*/b", "wild"),
        ("GET", "/x/{id}/a", "param"),
        ("GET", "/x/const/a", "const"),
    ];
    check(
        &routes,
        &[
            ("GET", "/x/const/a", found("const", &[])),
            ("GET", "/x/1/a", found("param", &[("id", "1")])),
            ("GET", "/x/const/b", found("wild", &[])),
            ("GET", "/x/1/c", found("tail", &[])),
            ("GET", "/x/1", found("tail", &[])),
            ("GET", "/x", found("tail", &[])),
        ],
    );
}

#[test]
fn affix_parameter_beats_plain_parameter_in_either_registration_order() {
    let forward = [("GET", "/f/{n}.json", "json"), ("GET", "/f/{n}", "plain")];
    let backward = [("GET", "/f/{n}", "plain"), ("GET", "/f/{n}.json", "json")];
    for routes in [forward, backward] {
        check(
            &routes,
            &[
                ("GET", "/f/a.json", found("json", &[("n", "a")])),
                ("GET", "/f/a.xml", found("plain", &[("n", "a.xml")])),
            ],
        );
    }
}

#[test]
fn plain_parameter_is_tried_before_an_optional_one() {
    let routes = [("GET", "/o/{b?}", "optional"), ("GET", "/o/{a}", "param")];
    check(
        &routes,
        &[
            ("GET", "/o/1", found("param", &[("a", "1")])),
            ("GET", "/o", found("optional", &[])),
        ],
    );
}

/// Selector by selector: an absent optional scores 0.2 where the other route has a parameter (0.8),
/// even though the optional route would have matched the next segment with a constant.
#[test]
fn absent_optional_loses_to_a_parameter_at_the_same_position() {
    let routes = [("GET", "/p/{x?}/c", "optional"), ("GET", "/p/{y}", "param")];
    check(
        &routes,
        &[
            ("GET", "/p/c", found("param", &[("y", "c")])),
            ("GET", "/p/1/c", found("optional", &[("x", "1")])),
        ],
    );
}

#[test]
fn exact_route_beats_one_continuing_with_zero_width_matches() {
    let all = [
        ("GET", "/e", "exact"),
        ("GET", "/e/{x?}", "optional"),
        ("GET", "/e/{...}", "tail"),
    ];
    check(
        &all,
        &[
            ("GET", "/e", found("exact", &[])),
            ("GET", "/e/1", found("optional", &[("x", "1")])),
            ("GET", "/e/1/2", found("tail", &[])),
        ],
    );
    let no_exact = [("GET", "/e/{...}", "tail"), ("GET", "/e/{x?}", "optional")];
    check(&no_exact, &[("GET", "/e", found("optional", &[]))]);
}

#[test]
fn a_failing_constant_branch_backtracks_to_parameters() {
    let routes = [
        ("GET", "/a/b/c", "abc"),
        ("GET", "/a/{x}/d", "xd"),
        ("GET", "/a/b/c/d", "abcd"),
        ("GET", "/a/{x}/c/e", "xce"),
        ("GET", "/a/{...}", "rest"),
    ];
    check(
        &routes,
        &[
            ("GET", "/a/b/c", found("abc", &[])),
            ("GET", "/a/b/d", found("xd", &[("x", "b")])),
            ("GET", "/a/z/d", found("xd", &[("x", "z")])),
            ("GET", "/a/b/c/e", found("xce", &[("x", "b")])),
            ("GET", "/a/b/c/f", found("rest", &[])),
        ],
    );
}

#[test]
fn equal_quality_siblings_of_different_shapes_go_in_registration_order() {
    let v_first = [("GET", "/s/v{n}", "v"), ("GET", "/s/{n}.json", "json")];
    check(
        &v_first,
        &[("GET", "/s/v1.json", found("v", &[("n", "1.json")]))],
    );
    let json_first = [("GET", "/s/{n}.json", "json"), ("GET", "/s/v{n}", "v")];
    check(
        &json_first,
        &[("GET", "/s/v1.json", found("json", &[("n", "v1")]))],
    );
}

#[test]
fn method_handler_beats_method_less_one_on_the_same_route() {
    let routes = [("*", "/m", "any"), ("GET", "/m", "get")];
    check(
        &routes,
        &[
            ("GET", "/m", found("get", &[])),
            ("POST", "/m", found("any", &[])),
            ("DELETE", "/m", found("any", &[])),
        ],
    );
}

#[test]
fn better_path_quality_beats_a_method_match() {
    let routes = [("GET", "/x/{id}", "get"), ("*", "/x/me", "any")];
    check(
        &routes,
        &[
            ("GET", "/x/me", found("any", &[])),
            ("GET", "/x/1", found("get", &[("id", "1")])),
            ("POST", "/x/1", allow(&["GET"])),
        ],
    );
}

#[test]
fn a_route_without_the_method_backtracks_to_a_worse_path() {
    let routes = [
        ("GET", "/users/me", "me"),
        ("POST", "/users/{id}", "create"),
    ];
    check(
        &routes,
        &[
            ("POST", "/users/me", found("create", &[("id", "me")])),
            ("GET", "/users/me", found("me", &[])),
            ("GET", "/users/5", allow(&["POST"])),
        ],
    );
}

#[test]
fn not_found_versus_method_not_allowed() {
    let routes = [
        ("GET", "/r", "list"),
        ("POST", "/r", "create"),
        ("PUT", "/r/{id}", "put"),
        ("DELETE", "/r/{id}", "delete"),
        ("GET", "/deep/a/b", "deep"),
    ];
    check(
        &routes,
        &[
            ("PATCH", "/r", allow(&["GET", "POST"])),
            ("PATCH", "/r/1", allow(&["DELETE", "PUT"])),
            ("GET", "/r/1/2", NotFound),
            ("GET", "/nope", NotFound),
            ("GET", "/deep/a", NotFound),
            ("POST", "/deep/a", NotFound),
            ("POST", "/deep/a/b", allow(&["GET"])),
        ],
    );
}

#[test]
fn allow_is_the_sorted_deduplicated_union_over_every_matching_route() {
    let routes = [
        ("GET", "/u/me", "me"),
        ("PUT", "/u/{id}", "put"),
        ("GET", "/u/{id}", "get"),
        ("DELETE", "/u/{...}", "delete"),
        ("POST", "/u/{x}/y", "elsewhere"),
    ];
    check(
        &routes,
        &[("PATCH", "/u/me", allow(&["DELETE", "GET", "PUT"]))],
    );
}

#[test]
fn head_is_not_implied_by_get() {
    let routes = [("GET", "/h", "get"), ("HEAD", "/h2", "head")];
    check(
        &routes,
        &[
            ("HEAD", "/h", allow(&["GET"])),
            ("HEAD", "/h2", found("head", &[])),
            ("GET", "/h2", allow(&["HEAD"])),
        ],
    );
}

#[test]
fn extension_methods_route_like_any_other() {
    let routes = [("PURGE", "/c", "purge"), ("GET", "/c", "get")];
    check(
        &routes,
        &[
            ("PURGE", "/c", found("purge", &[])),
            ("GET", "/c", found("get", &[])),
            ("POST", "/c", allow(&["GET", "PURGE"])),
        ],
    );
}
