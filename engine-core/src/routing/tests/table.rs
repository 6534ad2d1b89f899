//! Whole tables: a 100-route REST table where every route resolves to itself, and a property test
//! over random constant routes and random percent-encodings of their paths.

use proptest::prelude::*;

use super::{Method, Resolution, RouteBuilder, Router, method};

/// `(method, template, request path, expected params)`.
type Row = (
    &'static str,
    String,
    String,
    Vec<(&'static str, &'static str)>,
);

/// 20 resources × 5 routes.
fn rest_table() -> Vec<Row> {
    let mut rows = Vec::new();
    for i in 0..20 {
        let base = format!("/api/v1/res{i}");
        rows.push(("GET", base.clone(), base.clone(), vec![]));
        rows.push(("POST", base.clone(), format!("{base}/"), vec![]));
        rows.push((
            "GET",
            format!("{base}/{{id}}"),
            format!("{base}/42"),
            vec![("id", "42")],
        ));
        rows.push((
            "PUT",
            format!("{base}/{{id}}"),
            format!("{base}/a%20b"),
            vec![("id", "a b")],
        ));
        rows.push((
            "GET",
            format!("{base}/{{id}}/items/{{item}}"),
            format!("{base}/1/items/2"),
            vec![("id", "1"), ("item", "2")],
        ));
    }
    rows
}

#[test]
fn a_hundred_route_table_resolves_every_route_to_itself() {
    let rows = rest_table();
    assert_eq!(rows.len(), 100);
    let mut builder = RouteBuilder::new();
    for (index, (m, template, _, _)) in rows.iter().enumerate() {
        builder.method(method(m), template, index);
    }
    let router = builder.build();
    for (index, (m, template, path, params)) in rows.iter().enumerate() {
        let Resolution::Found(found) = router.resolve(&method(m), path) else {
            panic!("{m} {path} did not resolve")
        };
        assert_eq!(
            (*found.value, found.route.path()),
            (index, template.as_str()),
            "{m} {path}"
        );
        assert_eq!(
            found.params.iter().collect::<Vec<_>>(),
            *params,
            "{m} {path}"
        );
    }
    match router.resolve(&Method::DELETE, "/api/v1/res7/3") {
        Resolution::MethodNotAllowed { allow } => assert_eq!(allow, [Method::GET, Method::PUT]),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        router.resolve(&Method::GET, "/api/v1/res20"),
        Resolution::NotFound
    ));
}

#[test]
fn a_hundred_constant_routes_resolve_without_params() {
    let mut builder = RouteBuilder::new();
    for i in 0..10 {
        for j in 0..10 {
            builder.get(&format!("/section{i}/page{j}"), i * 10 + j);
        }
    }
    let router = builder.build();
    for i in 0..10 {
        for j in 0..10 {
            let path = format!("/section{i}/page{j}");
            let Resolution::Found(found) = router.resolve(&Method::GET, &path) else {
                panic!("{path}")
            };
            assert_eq!(*found.value, i * 10 + j);
            assert_eq!(
                found.params.entries.capacity(),
                0,
                "no allocation for params"
            );
        }
    }
}

/// Characters of constant segments: `/`, braces and `*` are template syntax, everything else goes,
/// `%` and non-ASCII included.
fn segment() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ._~+!$&'()=:@,;%?#é日-]{1,6}"
}

/// splitmix64: a deterministic stream of choices from one proptest-chosen seed.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Writes `segments` as a request path, percent-encoding each character where it must be (`%`,
/// `?`, `#`) and elsewhere when the seed says so, in either hex case, with random empty segments.
fn encode(segments: &[String], seed: &mut u64) -> String {
    let mut path = String::new();
    for segment in segments {
        path.push('/');
        if next(seed).is_multiple_of(4) {
            path.push('/');
        }
        for c in segment.chars() {
            let must = matches!(c, '%' | '?' | '#');
            if !must && next(seed).is_multiple_of(2) {
                path.push(c);
                continue;
            }
            let mut utf8 = [0; 4];
            for byte in c.encode_utf8(&mut utf8).bytes() {
                let hex = if next(seed).is_multiple_of(2) {
                    format!("%{byte:02X}")
                } else {
                    format!("%{byte:02x}")
                };
                path.push_str(&hex);
            }
        }
    }
    if next(seed).is_multiple_of(3) {
        path.push('/');
    }
    path
}

fn constant_router(paths: &[Vec<String>]) -> Router<usize> {
    let mut builder = RouteBuilder::new();
    for (index, segments) in paths.iter().enumerate() {
        builder.get(&format!("/{}", segments.join("/")), index);
    }
    builder.build()
}

proptest! {
    #[test]
    fn constant_routes_resolve_to_themselves_however_encoded(
        paths in prop::collection::hash_set(prop::collection::vec(segment(), 1..5), 1..24),
        seed in any::<u64>(),
    ) {
        let paths: Vec<Vec<String>> = paths.into_iter().collect();
        let router = constant_router(&paths);
        let mut seed = seed;
        for (index, segments) in paths.iter().enumerate() {
            for _ in 0..3 {
                let path = encode(segments, &mut seed);
                match router.resolve(&Method::GET, &path) {
                    Resolution::Found(found) => prop_assert_eq!(*found.value, index, "{}", path),
                    other => prop_assert!(false, "{} resolved to {:?}", path, other),
                }
            }
        }
    }
}
