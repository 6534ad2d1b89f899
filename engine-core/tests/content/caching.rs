//! CachingHeaders and AutoHeadResponse.

use super::{get, send};
use bytes::Bytes;
use engine_core::plugins::caching_headers::{CACHING, CacheControl, CachingOptions, Visibility};
use engine_core::plugins::{AutoHeadResponse, CachingHeaders};
use engine_core::testing::test_application;
use engine_core::{Application, ApplicationCall};
use http::{HeaderValue, Method, StatusCode};
use std::time::{Duration, UNIX_EPOCH};

fn routes(app: &mut Application) {
    app.routing(|route| {
        route.get("/style.css", |call: ApplicationCall| async move {
            call.respond_bytes("body {}", HeaderValue::from_static("text/css"))
                .await
        });
        route.get("/page", |call: ApplicationCall| async move {
            call.respond_text("page").await
        });
        route.get("/own", |call: ApplicationCall| async move {
            call.response()
                .set_header("cache-control", HeaderValue::from_static("no-store"));
            call.respond_bytes("own", HeaderValue::from_static("text/css"))
                .await
        });
        route.get("/per-call", |call: ApplicationCall| async move {
            call.attributes().put(
                &CACHING,
                CachingOptions {
                    cache_control: Some(CacheControl::NoCache(Some(Visibility::Private))),
                    expires: Some(UNIX_EPOCH + Duration::from_secs(1_704_067_200)),
                },
            );
            call.respond_bytes("x", HeaderValue::from_static("text/css"))
                .await
        });
        route.get("/stream", |call: ApplicationCall| async move {
            let chunks = futures_util::stream::iter([Ok(Bytes::from_static(b"streamed"))]);
            call.respond_stream(chunks, HeaderValue::from_static("text/plain"))
                .await
        });
        route.post("/form", |call: ApplicationCall| async move {
            call.respond_text("posted").await
        });
    });
}

fn by_content_type(app: &mut Application) {
    app.install(CachingHeaders, |c| {
        c.options(|_, content| {
            let content_type = content.content_type.as_ref()?.to_str().ok()?;
            content_type
                .starts_with("text/css")
                .then(|| CachingOptions::cache_control(CacheControl::max_age(3600)))
        });
        c.options(|_, _| Some(CachingOptions::cache_control(CacheControl::NoCache(None))));
    });
    routes(app);
}

#[tokio::test]
async fn options_by_content_type_first_match_wins() {
    let app = test_application(by_content_type);
    let css = get(&app, "/style.css", &[]).await;
    assert_eq!(css.header_all("cache-control"), ["max-age=3600"]);
    assert_eq!(css.header("expires"), None);
    let page = get(&app, "/page", &[]).await;
    assert_eq!(page.header_all("cache-control"), ["no-cache"]);
}

#[tokio::test]
async fn the_handler_s_own_choices_win() {
    let app = test_application(by_content_type);
    let own = get(&app, "/own", &[]).await;
    assert_eq!(own.header_all("cache-control"), ["no-store"]);
    let per_call = get(&app, "/per-call", &[]).await;
    assert_eq!(per_call.header_all("cache-control"), ["no-cache, private"]);
    assert_eq!(
        per_call.header("expires"),
        Some("Mon, 01 Jan 2024 00:00:00 GMT")
    );
}

fn auto_head(app: &mut Application) {
    app.install(AutoHeadResponse, |_| {});
    routes(app);
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let app = test_application(auto_head);
    for path in ["/page", "/style.css", "/stream"] {
        let get = get(&app, path, &[]).await;
        let head = send(&app, Method::HEAD, path, &[], Bytes::new()).await;
        assert_eq!(head.status, StatusCode::OK, "{path}");
        assert!(head.body.is_empty(), "{path}");
        for name in ["content-type", "content-length"] {
            assert_eq!(head.header(name), get.header(name), "{path} {name}");
        }
    }
    // The connection is still in step: a HEAD's response had no stray body bytes.
    let mut conn = app.connect().unwrap();
    conn.send("HEAD /page HTTP/1.1\r\nHost: t\r\n\r\nGET /page HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    assert!(conn.read_response(true).await.unwrap().body.is_empty());
    assert_eq!(conn.read_response(false).await.unwrap().text(), "page");
}

#[tokio::test]
async fn head_follows_get_routing() {
    let with = test_application(auto_head);
    let head = send(&with, Method::HEAD, "/form", &[], Bytes::new()).await;
    assert_eq!(head.status, StatusCode::METHOD_NOT_ALLOWED);
    let missing = send(&with, Method::HEAD, "/nowhere", &[], Bytes::new()).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let without = test_application(routes);
    let head = send(&without, Method::HEAD, "/page", &[], Bytes::new()).await;
    assert_eq!(
        head.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "routing alone does not imply HEAD"
    );
}
