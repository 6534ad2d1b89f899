//! CORS through the in-memory engine: preflights answered before routing, allowed and disallowed
//! origins, methods and headers, credentials, and `Vary`.

use engine_core::plugins::{Cors, CorsConfig};
use engine_core::testing::{TestApplication, TestResponse, test_application};
use engine_core::{Application, ApplicationCall};
use http::{Method, StatusCode};
use std::time::Duration;

fn cors_app(configure: impl FnOnce(&mut CorsConfig) + Send + 'static) -> TestApplication {
    test_application(move |app: &mut Application| {
        app.install(Cors, configure);
        app.routing(|route| {
            route.get("/api/items", |call: ApplicationCall| async move {
                call.response()
                    .set_header("x-total", http::HeaderValue::from_static("3"));
                call.respond_text("items").await
            });
            route.put("/api/items", |call: ApplicationCall| async move {
                call.respond_text("put").await
            });
        });
    })
}

fn example(c: &mut CorsConfig) {
    c.allow_origin("https://app.example.com")
        .allow_origin_predicate(|origin| origin.ends_with(".trusted.org"))
        .allow_method(Method::PUT)
        .allow_header("content-type")
        .allow_header("X-Custom")
        .expose_header("x-total");
    c.max_age = Some(Duration::from_secs(600));
}

async fn request(app: &TestApplication, method: Method, headers: &[(&str, &str)]) -> TestResponse {
    app.client()
        .request(method, "/api/items", headers, Default::default())
        .await
        .unwrap()
}

async fn preflight(
    app: &TestApplication,
    origin: &str,
    method: &str,
    headers: Option<&str>,
) -> TestResponse {
    let mut fields = vec![
        ("origin", origin),
        ("access-control-request-method", method),
    ];
    if let Some(headers) = headers {
        fields.push(("access-control-request-headers", headers));
    }
    request(app, Method::OPTIONS, &fields).await
}

#[tokio::test]
async fn an_allowed_preflight_is_answered_without_an_options_route() {
    let app = cors_app(example);
    let response = preflight(
        &app,
        "https://app.example.com",
        "PUT",
        Some("Content-Type, x-custom"),
    )
    .await;
    assert_eq!(
        response.status,
        StatusCode::NO_CONTENT,
        "{}",
        response.raw_head
    );
    assert_eq!(
        response.header_all("access-control-allow-origin"),
        ["https://app.example.com"]
    );
    assert_eq!(
        response.header("access-control-allow-methods"),
        Some("GET, HEAD, POST, PUT")
    );
    assert_eq!(
        response.header("access-control-allow-headers"),
        Some("content-type, x-custom")
    );
    assert_eq!(response.header("access-control-max-age"), Some("600"));
    assert_eq!(response.header_all("vary"), ["origin"]);
    assert_eq!(response.header("access-control-allow-credentials"), None);
    assert!(response.body.is_empty());
    // Safelisted headers and methods need no configuration; origins compare case-insensitively.
    let response = preflight(
        &app,
        "https://APP.example.com",
        "GET",
        Some("accept, accept-language"),
    )
    .await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    let response = preflight(&app, "https://api.trusted.org", "POST", None).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert_eq!(response.header("access-control-allow-headers"), None);
}

#[tokio::test]
async fn a_refused_preflight_is_403_without_cors_fields() {
    let app = cors_app(example);
    let cases = [
        ("https://evil.example", "PUT", None),
        ("https://app.example.com", "DELETE", None),
        (
            "https://app.example.com",
            "PUT",
            Some("x-custom, authorization"),
        ),
        ("https://app.example.com", "not a method", None),
        ("null", "GET", None),
        ("https://app.example.com.evil", "GET", None),
    ];
    for (origin, method, headers) in cases {
        let response = preflight(&app, origin, method, headers).await;
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "{origin} {method} {headers:?}"
        );
        for name in [
            "access-control-allow-origin",
            "access-control-allow-credentials",
            "access-control-allow-methods",
            "access-control-allow-headers",
        ] {
            assert!(response.header(name).is_none(), "{origin} {method}: {name}");
        }
    }
    // Not even with credentials allowed.
    let app = cors_app(|c| {
        c.allow_origin("https://app.example.com");
        c.allow_credentials = true;
    });
    let response = preflight(&app, "https://app.example.com", "DELETE", None).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(response.header("access-control-allow-origin").is_none());
    assert!(
        response
            .header("access-control-allow-credentials")
            .is_none()
    );
}

#[tokio::test]
async fn an_allowed_origin_gets_the_fields_on_an_actual_request() {
    let app = cors_app(example);
    let response = request(&app, Method::GET, &[("origin", "https://app.example.com")]).await;
    assert_eq!(response.text(), "items");
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(
        response.header("access-control-expose-headers"),
        Some("x-total")
    );
    assert_eq!(response.header_all("vary"), ["origin"]);
    let response = request(&app, Method::PUT, &[("origin", "https://app.example.com")]).await;
    assert_eq!(response.text(), "put");
    assert!(response.header("access-control-allow-methods").is_none());
}

#[tokio::test]
async fn a_disallowed_origin_runs_without_cors_fields() {
    let app = cors_app(example);
    for headers in [
        vec![("origin", "https://evil.example")],
        vec![
            ("origin", "https://app.example.com"),
            ("origin", "https://app.example.com"),
        ],
        vec![("origin", "not an origin")],
        vec![],
    ] {
        let response = request(&app, Method::GET, &headers).await;
        assert_eq!(response.text(), "items", "{headers:?}");
        assert!(
            response.header("access-control-allow-origin").is_none(),
            "{headers:?}"
        );
        assert!(response.header("access-control-expose-headers").is_none());
        // The answer depends on the origin, so caches are told even when there was none.
        assert_eq!(response.header_all("vary"), ["origin"], "{headers:?}");
    }
    // An OPTIONS that is not a preflight goes to routing like any request.
    let response = request(
        &app,
        Method::OPTIONS,
        &[("origin", "https://app.example.com")],
    )
    .await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn any_origin_is_a_wildcard_until_credentials_are_allowed() {
    let app = cors_app(|c| {
        c.allow_any_origin();
    });
    let response = request(&app, Method::GET, &[("origin", "https://anyone.example")]).await;
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert!(response.header("vary").is_none());
    assert!(
        response
            .header("access-control-allow-credentials")
            .is_none()
    );

    let app = cors_app(|c| {
        c.allow_any_origin();
        c.allow_credentials = true;
    });
    let response = request(&app, Method::GET, &[("origin", "https://anyone.example")]).await;
    // Fetch §3.2.5: never `*` with credentials.
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://anyone.example")
    );
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(response.header_all("vary"), ["origin"]);
    let response = preflight(&app, "https://anyone.example", "GET", None).await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://anyone.example")
    );
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
}

#[tokio::test]
async fn any_header_allows_every_requested_header() {
    let app = cors_app(|c| {
        c.allow_origin("http://localhost:3000");
        c.any_header = true;
    });
    let response = preflight(
        &app,
        "http://localhost:3000",
        "GET",
        Some("x-a,X-B , authorization"),
    )
    .await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    assert_eq!(
        response.header("access-control-allow-headers"),
        Some("x-a, x-b, authorization")
    );
    let response = preflight(&app, "http://localhost:3000", "GET", Some("bad header")).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}
