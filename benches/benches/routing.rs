//! `routing`: [`Router::resolve`] on a 100-route table shaped like a real API's: constants
//! (`/about`, `/api/v1/status`), parameters (`/api/v1/users/{id}`, `/shop/{category}/{item}.json`),
//! optional parameters, and tailcards (`/static/{path...}`), over several methods.
//!
//! - `hit`: 16 request paths that match a route and method, from a constant to a tailcard;
//! - `miss`: 16 paths no route matches (404), some sharing long prefixes with real routes;
//! - `method_not_allowed`: 16 paths that match with the wrong method (405, with its `Allow` list).
//!
//! One iteration resolves the 16 paths of its case: `Throughput::Elements(16)`, so criterion reports
//! resolutions per second.
//!
//! Run: `taskset -c 1 cargo bench -p benches --bench routing -- --warm-up-time 1 --measurement-time 3`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine_core::routing::{Resolution, RouteBuilder, Router};
use http::Method;
use std::hint::black_box;

/// The table: 100 (method, template) pairs.
fn table() -> Vec<(Method, String)> {
    let mut routes: Vec<(Method, String)> = Vec::new();
    let mut add = |method: Method, template: &str| routes.push((method, template.to_owned()));
    for page in [
        "/", "/about", "/pricing", "/contact", "/login", "/logout", "/signup", "/terms",
    ] {
        add(Method::GET, page);
    }
    add(Method::POST, "/login");
    add(Method::POST, "/signup");
    // A versioned REST API: 8 resources, each a collection and an item, 5 methods between them.
    for resource in [
        "users", "orders", "products", "invoices", "teams", "projects", "tickets", "webhooks",
    ] {
        let collection = format!("/api/v1/{resource}");
        let item = format!("{collection}/{{id}}");
        add(Method::GET, &collection);
        add(Method::POST, &collection);
        add(Method::GET, &item);
        add(Method::PUT, &item);
        add(Method::DELETE, &item);
        add(Method::GET, &format!("{item}/history"));
        add(Method::GET, &format!("{item}/comments/{{comment}}"));
        add(Method::POST, &format!("{item}/comments"));
    }
    // 74 so far; nested resources, affixes, wildcards, tailcards, the app's own endpoints.
    add(
        Method::GET,
        "/api/v1/users/{id}/orders/{order}/items/{item}",
    );
    add(Method::GET, "/api/v1/teams/{id}/members/{member?}");
    add(Method::GET, "/api/v1/status");
    add(Method::GET, "/api/v2/users/{id}");
    add(Method::PATCH, "/api/v2/users/{id}");
    add(Method::GET, "/shop/{category}");
    add(Method::GET, "/shop/{category}/{item}.json");
    add(Method::GET, "/blog/{year}/{month}/{slug}");
    add(Method::GET, "/blog/tag/{tag}");
    add(Method::GET, "/docs/v{version}/{page...}");
    add(Method::GET, "/static/{path...}");
    add(Method::GET, "/assets/*/{file}");
    add(Method::GET, "/files/{...}");
    add(Method::PUT, "/files/{...}");
    add(Method::GET, "/admin/users");
    add(Method::GET, "/admin/users/{id}");
    add(Method::POST, "/admin/users/{id}/ban");
    add(Method::GET, "/admin/settings");
    add(Method::PUT, "/admin/settings");
    add(Method::GET, "/ws/chat");
    add(Method::GET, "/ws/echo");
    add(Method::GET, "/plaintext");
    add(Method::GET, "/json");
    add(Method::POST, "/echo");
    add(Method::GET, "/u/{username}");
    add(Method::GET, "/metrics");
    routes
}

fn router() -> Router<usize> {
    let table = table();
    assert_eq!(table.len(), 100, "the table has 100 routes");
    let mut builder = RouteBuilder::new();
    for (index, (method, template)) in table.into_iter().enumerate() {
        builder.method(method, &template, index);
    }
    builder.build()
}

const HITS: [(Method, &str); 16] = [
    (Method::GET, "/"),
    (Method::GET, "/pricing"),
    (Method::GET, "/plaintext"),
    (Method::GET, "/api/v1/status"),
    (Method::GET, "/api/v1/users"),
    (Method::POST, "/api/v1/orders"),
    (Method::GET, "/api/v1/users/42"),
    (Method::PUT, "/api/v1/products/1234"),
    (Method::DELETE, "/api/v1/webhooks/abc"),
    (Method::GET, "/api/v1/tickets/7/comments/99"),
    (Method::GET, "/api/v1/users/42/orders/7/items/3"),
    (Method::GET, "/shop/fruit/apple.json"),
    (Method::GET, "/blog/2026/11/hello-world"),
    (Method::GET, "/docs/v2/guide/routing/tailcards"),
    (Method::GET, "/static/css/site.css"),
    (Method::GET, "/files/a/b/c/d.txt"),
];

const MISSES: [(Method, &str); 16] = [
    (Method::GET, "/nope"),
    (Method::GET, "/abouts"),
    (Method::GET, "/api"),
    (Method::GET, "/api/v1"),
    (Method::GET, "/api/v3/users"),
    (Method::GET, "/api/v1/customers"),
    (Method::GET, "/api/v1/users/42/unknown"),
    (Method::GET, "/api/v1/users/42/orders/7/items"),
    (Method::GET, "/api/v1/tickets/7/comments/99/extra"),
    (Method::GET, "/shop/fruit/apple.xml"),
    (Method::GET, "/blog/2026/11"),
    (Method::GET, "/blog/tag"),
    (Method::GET, "/docs/latest/guide"),
    (Method::GET, "/admin/users/1/extra"),
    (Method::GET, "/u"),
    (Method::GET, "/wp-login.php"),
];

const NOT_ALLOWED: [(Method, &str); 16] = [
    (Method::POST, "/"),
    (Method::DELETE, "/about"),
    (Method::PUT, "/login"),
    (Method::DELETE, "/api/v1/users"),
    (Method::PATCH, "/api/v1/orders/5"),
    (Method::POST, "/api/v1/products/5"),
    (Method::DELETE, "/api/v1/users/42/history"),
    (Method::PUT, "/api/v1/status"),
    (Method::DELETE, "/shop/fruit"),
    (Method::POST, "/blog/2026/11/hello-world"),
    (Method::POST, "/static/app.js"),
    (Method::DELETE, "/files/a/b"),
    (Method::DELETE, "/admin/settings"),
    (Method::POST, "/plaintext"),
    (Method::GET, "/echo"),
    (Method::PUT, "/metrics"),
];

/// Which outcome each case expects, checked once before measuring.
fn is_expected(case: &str, resolution: &Resolution<'_, usize>) -> bool {
    matches!(
        (case, resolution),
        ("hit", Resolution::Found(_))
            | ("miss", Resolution::NotFound)
            | ("method_not_allowed", Resolution::MethodNotAllowed { .. })
    )
}

fn resolve(c: &mut Criterion) {
    let router = router();
    let mut group = c.benchmark_group("routing");
    for (case, requests) in [
        ("hit", &HITS),
        ("miss", &MISSES),
        ("method_not_allowed", &NOT_ALLOWED),
    ] {
        for (method, path) in requests {
            let resolution = router.resolve(method, path);
            assert!(
                is_expected(case, &resolution),
                "{case}: {method} {path} resolved to {resolution:?}"
            );
        }
        group.throughput(Throughput::Elements(requests.len() as u64));
        group.bench_function(case, |b| {
            b.iter(|| {
                for (method, path) in requests {
                    black_box(router.resolve(black_box(method), black_box(path)));
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, resolve);
criterion_main!(benches);
