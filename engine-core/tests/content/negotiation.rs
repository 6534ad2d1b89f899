//! ContentNegotiation: typed responses by `Accept`, typed bodies by `Content-Type`.

use super::{get, gzip, send};
use bytes::Bytes;
use engine_core::call::{OutgoingContent, ResponseBody};
use engine_core::pipeline::done;
use engine_core::plugins::content_negotiation::{
    ContentConverter, JsonConverter, Serializable, Visit, erased_serde,
};
use engine_core::plugins::{Compression, ContentNegotiation, TypedContent};
use engine_core::testing::test_application;
use engine_core::{Application, ApplicationCall, Error, SendPipeline};
use http::{HeaderValue, Method, StatusCode};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Item {
    id: u32,
    name: String,
}

/// JSON under another media type: a second converter to negotiate between.
struct Vendor;

impl ContentConverter for Vendor {
    fn content_type(&self) -> HeaderValue {
        HeaderValue::from_static("application/vnd.test")
    }
    fn serialize(&self, value: &dyn erased_serde::Serialize) -> Result<Bytes, Error> {
        let json = JsonConverter.serialize(value)?;
        Ok([b"vnd:".as_slice(), &json].concat().into())
    }
    fn deserialize<'de>(&self, body: &'de [u8], visit: &mut Visit<'_, 'de>) -> Result<(), Error> {
        JsonConverter.deserialize(body.strip_prefix(b"vnd:").unwrap_or(body), visit)
    }
}

fn routes(app: &mut Application) {
    app.routing(|route| {
        route.get("/item", |call: ApplicationCall| async move {
            call.respond_value(Item {
                id: 7,
                name: "seven".into(),
            })
            .await
        });
        route.post("/item", |call: ApplicationCall| async move {
            let item: Item = call.receive_value().await?;
            call.respond(
                OutgoingContent::from(Serializable::new(item)).with_status(StatusCode::CREATED),
            )
            .await
        });
    });
}

fn json_only(app: &mut Application) {
    app.install(ContentNegotiation, |_| {});
    routes(app);
}

fn two_converters(app: &mut Application) {
    app.install(ContentNegotiation, |c| {
        c.register(Vendor);
    });
    routes(app);
}

const SEVEN: &str = r#"{"id":7,"name":"seven"}"#;

#[tokio::test]
async fn values_are_json_for_any_accept_that_allows_it() {
    let app = test_application(json_only);
    for accept in [
        None,
        Some("application/json"),
        Some("*/*"),
        Some("application/*"),
    ] {
        let headers: Vec<_> = accept.iter().map(|a| ("accept", *a)).collect();
        let response = get(&app, "/item", &headers).await;
        assert_eq!(response.status, StatusCode::OK, "{accept:?}");
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.text(), SEVEN);
        assert_eq!(
            response.header("vary"),
            None,
            "one converter: nothing varies"
        );
    }
}

#[tokio::test]
async fn an_accept_no_converter_meets_is_406() {
    let app = test_application(json_only);
    for accept in ["text/html", "application/json;q=0", "text/*, */*;q=0"] {
        let response = get(&app, "/item", &[("accept", accept)]).await;
        assert_eq!(response.status, StatusCode::NOT_ACCEPTABLE, "{accept}");
    }
}

#[tokio::test]
async fn accept_weights_choose_the_converter() {
    let app = test_application(two_converters);
    let cases = [
        ("application/vnd.test", "application/vnd.test"),
        (
            "application/json;q=0.4, application/vnd.test;q=0.5",
            "application/vnd.test",
        ),
        (
            "application/vnd.test;q=0.5, application/json",
            "application/json",
        ),
        ("*/*", "application/json"),
    ];
    for (accept, chosen) in cases {
        let response = get(&app, "/item", &[("accept", accept)]).await;
        assert_eq!(response.header("content-type"), Some(chosen), "{accept}");
        assert_eq!(response.header_all("vary"), ["accept"]);
    }
    let vendor = get(&app, "/item", &[("accept", "application/vnd.test")]).await;
    assert_eq!(vendor.text(), format!("vnd:{SEVEN}"));
}

#[tokio::test]
async fn typed_bodies_are_received_by_content_type() {
    let app = test_application(two_converters);
    let body = r#"{"id":1,"name":"one"}"#;
    for content_type in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/problem+json",
    ] {
        let headers = [("content-type", content_type)];
        let response = send(&app, Method::POST, "/item", &headers, body).await;
        assert_eq!(response.status, StatusCode::CREATED, "{content_type}");
        assert_eq!(response.text(), body);
    }
    let headers = [("content-type", "application/vnd.test")];
    let response = send(&app, Method::POST, "/item", &headers, format!("vnd:{body}")).await;
    assert_eq!(response.status, StatusCode::CREATED);
}

type Headers = &'static [(&'static str, &'static str)];

#[tokio::test]
async fn bodies_no_converter_reads_are_415_and_bad_ones_400() {
    let app = test_application(json_only);
    let good = r#"{"id":1,"name":"one"}"#;
    let cases: [(Headers, &str, StatusCode); 6] = [
        (&[], good, StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (
            &[("content-type", "text/plain")],
            good,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            &[("content-type", "application/json")],
            "{",
            StatusCode::BAD_REQUEST,
        ),
        (
            &[("content-type", "application/json")],
            r#"{"id":"x"}"#,
            StatusCode::BAD_REQUEST,
        ),
        (
            &[("content-type", "application/json")],
            &format!("{good} trailing"),
            StatusCode::BAD_REQUEST,
        ),
        (
            &[("content-type", "application/json")],
            &"[".repeat(1000),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (headers, body, status) in cases {
        let response = send(&app, Method::POST, "/item", headers, body.to_owned()).await;
        assert_eq!(response.status, status, "{headers:?} {body:.20}");
    }
}

#[tokio::test]
async fn a_compressed_typed_body_is_decompressed_first() {
    let app = test_application(|app: &mut Application| {
        app.install(Compression, |_| {});
        json_only(app);
    });
    let body = gzip(br#"{"id":2,"name":"two"}"#);
    let headers = [
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
    ];
    let response = send(&app, Method::POST, "/item", &headers, body).await;
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.text(), r#"{"id":2,"name":"two"}"#);
}

#[tokio::test]
async fn values_without_the_plugin_are_500() {
    let app = test_application(routes);
    assert_eq!(
        get(&app, "/item", &[]).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let headers = [("content-type", "application/json")];
    let response = send(&app, Method::POST, "/item", &headers, "{}").await;
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
}

/// A renderer of `&'static str` values that counts the contents it was given.
fn counting_renderer(app: &mut Application, seen: &'static AtomicUsize) {
    app.intercept_send_values(SendPipeline::RENDER, move |ctx| {
        seen.fetch_add(1, Ordering::Relaxed);
        if let ResponseBody::Value(value) = &ctx.subject.body
            && let Some(&text) = value.downcast_ref::<&'static str>()
        {
            ctx.subject = OutgoingContent::text(text);
        }
        done()
    });
}

fn text_and_value_routes(app: &mut Application) {
    app.routing(|route| {
        route.get("/text", |call: ApplicationCall| async move {
            call.respond_text("text").await
        });
        route.get("/value", |call: ApplicationCall| async move {
            call.respond(OutgoingContent::value("value")).await
        });
    });
}

/// While the send pipeline holds only renderers, rendered content skips it and values still go
/// through it.
#[tokio::test]
async fn rendered_content_skips_a_send_pipeline_of_renderers() {
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    let app = test_application(|app: &mut Application| {
        counting_renderer(app, &SEEN);
        text_and_value_routes(app);
    });
    let text = get(&app, "/text", &[]).await;
    assert_eq!(
        (text.status, text.text().as_str()),
        (StatusCode::OK, "text")
    );
    assert_eq!(
        SEEN.load(Ordering::Relaxed),
        0,
        "text went through the pipeline"
    );
    let value = get(&app, "/value", &[]).await;
    assert_eq!(
        (value.status, value.text().as_str()),
        (StatusCode::OK, "value")
    );
    assert_eq!(SEEN.load(Ordering::Relaxed), 1);
}

/// Any other interceptor in the send pipeline makes every content run all of it: one may turn
/// rendered content into a value, which the renderer after it must still see.
#[tokio::test]
async fn rendered_content_runs_a_send_pipeline_with_other_interceptors() {
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    let app = test_application(|app: &mut Application| {
        counting_renderer(app, &SEEN);
        app.send_pipeline()
            .intercept_boxed(SendPipeline::TRANSFORM, |ctx| {
                if ctx.context.request().path() == "/text" {
                    ctx.subject = OutgoingContent::value("made a value");
                }
                done()
            });
        text_and_value_routes(app);
    });
    let text = get(&app, "/text", &[]).await;
    assert_eq!(
        (text.status, text.text().as_str()),
        (StatusCode::OK, "made a value")
    );
    assert_eq!(SEEN.load(Ordering::Relaxed), 1);
    let value = get(&app, "/value", &[]).await;
    assert_eq!(
        (value.status, value.text().as_str()),
        (StatusCode::OK, "value")
    );
    assert_eq!(SEEN.load(Ordering::Relaxed), 2);
}
