//! ConditionalHeaders: 304 and 412 from the response's validators, with the headers a 304 keeps.

use super::{get, long_text, send};
use bytes::Bytes;
use engine_core::plugins::caching_headers::{CacheControl, CachingOptions};
use engine_core::plugins::conditional_headers::{EntityTag, Validators};
use engine_core::plugins::{CachingHeaders, Compression, ConditionalHeaders, PartialContent};
use engine_core::testing::test_application;
use engine_core::{Application, ApplicationCall};
use http::{HeaderValue, Method, StatusCode};
use std::time::{Duration, UNIX_EPOCH};

const MODIFIED: &str = "Mon, 01 Jan 2024 00:00:00 GMT";

fn routes(app: &mut Application) {
    app.routing(|route| {
        route.get("/doc", |call: ApplicationCall| async move {
            call.response()
                .set_header("etag", HeaderValue::from_static("\"v1\""));
            call.response()
                .set_header("last-modified", HeaderValue::from_static(MODIFIED));
            call.respond_text(long_text()).await
        });
        route.put("/doc", |call: ApplicationCall| async move {
            call.response()
                .set_header("etag", HeaderValue::from_static("\"v1\""));
            call.respond_text("stored").await
        });
        route.get("/provided", |call: ApplicationCall| async move {
            call.respond_text("from a provider").await
        });
        route.get("/missing", |call: ApplicationCall| async move {
            call.response()
                .set_header("etag", HeaderValue::from_static("\"v1\""));
            call.response().status(StatusCode::NOT_FOUND);
            call.respond_text("no such thing").await
        });
    });
}

fn conditional(app: &mut Application) {
    app.install(ConditionalHeaders, |c| {
        c.version(|call, _content| Validators {
            etag: (call.request().path() == "/provided")
                .then(|| EntityTag::strong("p1"))
                .flatten(),
            last_modified: Some(UNIX_EPOCH + Duration::from_secs(1_704_067_200)),
        });
    });
    routes(app);
}

#[tokio::test]
async fn a_current_copy_gets_304_with_validators_and_no_body() {
    let app = test_application(conditional);
    for headers in [
        &[("if-none-match", "\"v1\"")][..],
        &[("if-none-match", "\"v0\", W/\"v1\"")],
        &[("if-none-match", "*")],
        &[("if-modified-since", MODIFIED)],
        &[("if-modified-since", "Tue, 02 Jan 2024 00:00:00 GMT")],
    ] {
        let response = get(&app, "/doc", headers).await;
        assert_eq!(response.status, StatusCode::NOT_MODIFIED, "{headers:?}");
        assert_eq!(response.header("etag"), Some("\"v1\""));
        assert_eq!(response.header("last-modified"), Some(MODIFIED));
        assert_eq!(response.header("content-type"), None);
        assert_eq!(response.header("content-length"), None);
        assert!(response.body.is_empty());
    }
}

#[tokio::test]
async fn a_stale_copy_gets_the_whole_response() {
    let app = test_application(conditional);
    for headers in [
        &[][..],
        &[("if-none-match", "\"v0\"")],
        &[("if-modified-since", "Sun, 31 Dec 2023 00:00:00 GMT")],
        // If-None-Match decides alone when both are present (RFC 9110 §13.1.3).
        &[("if-none-match", "\"v0\""), ("if-modified-since", MODIFIED)],
        &[("if-modified-since", "not a date")],
    ] {
        let response = get(&app, "/doc", headers).await;
        assert_eq!(response.status, StatusCode::OK, "{headers:?}");
        assert_eq!(response.text(), long_text());
    }
}

#[tokio::test]
async fn failed_preconditions_are_412() {
    let app = test_application(conditional);
    let cases = [
        (
            Method::PUT,
            ("if-match", "\"v0\""),
            StatusCode::PRECONDITION_FAILED,
        ),
        (Method::PUT, ("if-match", "\"v1\""), StatusCode::OK),
        (Method::PUT, ("if-match", "*"), StatusCode::OK),
        (
            Method::PUT,
            ("if-none-match", "\"v1\""),
            StatusCode::PRECONDITION_FAILED,
        ),
        (
            Method::GET,
            ("if-match", "W/\"v1\""),
            StatusCode::PRECONDITION_FAILED,
        ),
        (
            Method::GET,
            ("if-unmodified-since", "Sun, 31 Dec 2023 00:00:00 GMT"),
            StatusCode::PRECONDITION_FAILED,
        ),
        (
            Method::GET,
            ("if-unmodified-since", MODIFIED),
            StatusCode::OK,
        ),
    ];
    for (method, header, status) in cases {
        let response = send(&app, method.clone(), "/doc", &[header], Bytes::new()).await;
        assert_eq!(response.status, status, "{method} {header:?}");
    }
}

#[tokio::test]
async fn providers_fill_in_validators_the_handler_did_not_set() {
    let app = test_application(conditional);
    let response = get(&app, "/provided", &[]).await;
    assert_eq!(response.header("etag"), Some("\"p1\""));
    assert_eq!(response.header("last-modified"), Some(MODIFIED));
    let again = get(&app, "/provided", &[("if-none-match", "\"p1\"")]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    // The handler's own validator wins over the provider's date.
    let own = get(&app, "/doc", &[]).await;
    assert_eq!(own.header_all("last-modified"), [MODIFIED]);
}

#[tokio::test]
async fn responses_other_than_2xx_ignore_preconditions() {
    let app = test_application(conditional);
    let response = get(&app, "/missing", &[("if-none-match", "\"v1\"")]).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.text(), "no such thing");
}

#[tokio::test]
async fn a_304_keeps_cache_control_and_vary() {
    let app = test_application(|app: &mut Application| {
        // Installed in the order that would be wrong if order of installation decided.
        app.install(Compression, |_| {});
        app.install(ConditionalHeaders, |_| {});
        app.install(CachingHeaders, |c| {
            // By content type: a 304 has none, so this works only before the 304 replaces the body.
            c.options(|_, content| {
                let text = content.content_type.as_ref()?.to_str().ok()?;
                text.starts_with("text/plain")
                    .then(|| CachingOptions::cache_control(CacheControl::max_age(60)))
            });
        });
        routes(app);
    });
    let response = get(
        &app,
        "/doc",
        &[("if-none-match", "\"v1\""), ("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(response.status, StatusCode::NOT_MODIFIED);
    assert_eq!(response.header("cache-control"), Some("max-age=60"));
    assert_eq!(response.header("vary"), Some("accept-encoding"));
    assert_eq!(response.header("content-encoding"), None);
    let full = get(&app, "/doc", &[("accept-encoding", "gzip")]).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.header("content-encoding"), Some("gzip"));
    // The tag seen on the encoded 200 is weak, and still matches (weak comparison).
    assert_eq!(full.header("etag"), Some("W/\"v1\""));
    let revalidated = get(
        &app,
        "/doc",
        &[("if-none-match", "W/\"v1\""), ("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn if_range_sees_a_provided_etag() {
    let app = test_application(|app: &mut Application| {
        app.install(PartialContent, |_| {});
        conditional(app);
    });
    let headers = [("range", "bytes=0-3"), ("if-range", "\"p1\"")];
    let response = get(&app, "/provided", &headers).await;
    assert_eq!(response.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(response.text(), "from");
}
