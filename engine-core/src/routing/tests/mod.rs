//! Table tests of the routing module as a whole: a route table is built into a router, and a table
//! of requests is resolved against it. Each file covers one concern; unit tests of the pieces
//! (template parsing, decoding, params) sit beside them.

use ::http::Method;

use super::*;

mod building;
mod decoding;
mod quality;
mod segments;
mod table;

/// A resolution, in a form tables can spell and compare.
#[derive(Debug, PartialEq)]
enum Outcome {
    Found(&'static str, Vec<(String, String)>),
    NotAllowed(Vec<String>),
    NotFound,
    BadRequest(PathError),
}

fn found(value: &'static str, params: &[(&str, &str)]) -> Outcome {
    let params = params
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    Outcome::Found(value, params)
}

fn allow(methods: &[&str]) -> Outcome {
    Outcome::NotAllowed(methods.iter().map(|m| m.to_string()).collect())
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).expect("a method token")
}

/// Builds a router from `(method, template, value)` rows; the method `*` registers with `handle`.
#[track_caller]
fn router(routes: &[(&str, &str, &'static str)]) -> Router<&'static str> {
    let mut builder = RouteBuilder::new();
    for &(m, template, value) in routes {
        match m {
            "*" => builder.handle(template, value),
            m => builder.method(method(m), template, value),
        };
    }
    builder.build()
}

fn outcome(router: &Router<&'static str>, m: &str, path: &str) -> Outcome {
    let outcome = outcome_of(router.resolve(&method(m), path));
    // The exact-path table is a shortcut: the tree search alone must agree with it.
    assert_eq!(
        outcome,
        outcome_of(router.search(&method(m), path)),
        "{m} {path:?}: the exact-path table and the search disagree"
    );
    outcome
}

fn outcome_of(resolution: Resolution<'_, &'static str>) -> Outcome {
    match resolution {
        Resolution::Found(found) => {
            let params = found
                .params
                .iter()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect();
            Outcome::Found(found.value, params)
        }
        Resolution::MethodNotAllowed { allow } => {
            Outcome::NotAllowed(allow.iter().map(|m| m.to_string()).collect())
        }
        Resolution::NotFound => Outcome::NotFound,
        Resolution::BadRequest(err) => Outcome::BadRequest(err),
    }
}

/// Resolves every `(method, path, expected)` row against the router built from `routes`.
#[track_caller]
fn check(routes: &[(&str, &str, &'static str)], requests: &[(&str, &str, Outcome)]) {
    let router = router(routes);
    for (m, path, expected) in requests {
        assert_eq!(
            &outcome(&router, m, path),
            expected,
            "{m} {path:?} against {routes:?}"
        );
    }
}
