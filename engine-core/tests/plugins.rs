//! The standard plugins through the in-memory engine: what each does, and what it must not do.

use engine_core::plugins::{
    CALL_ID, CallId, CallLogging, DefaultHeaders, StatusPages, call_id::MAX_CALL_ID_LEN,
};
use engine_core::testing::test_application;
use engine_core::{Application, ApplicationCall, Error};
use http::{HeaderValue, Method, StatusCode};
use std::sync::{Mutex, OnceLock};

fn routes(app: &mut Application) {
    app.routing(|route| {
        route.get("/", |call: ApplicationCall| async move {
            call.respond_text("home").await
        });
        route.get("/own-server", |call: ApplicationCall| async move {
            call.response()
                .set_header("server", HeaderValue::from_static("mine"));
            call.respond_text("own").await
        });
        route.get("/teapot", |call: ApplicationCall| async move {
            call.response().status(StatusCode::IM_A_TEAPOT);
            Ok(())
        });
        route.get("/fail", |_call: ApplicationCall| async move {
            Err(Error::msg("boom"))
        });
        route.get("/forbidden", |_call: ApplicationCall| async move {
            Err(Error::status(StatusCode::FORBIDDEN, "no"))
        });
        route.get("/id", |call: ApplicationCall| async move {
            let id = call.attributes().get(&CALL_ID).unwrap_or_default();
            call.respond_text(id).await
        });
    });
}

fn default_headers(app: &mut Application) {
    app.install(DefaultHeaders, |c| {
        c.server = Some(HeaderValue::from_static("engine-core"));
        c.header("x-frame-options", "DENY");
    });
    routes(app);
}

#[tokio::test]
async fn default_headers_are_added_to_every_response() {
    let app = test_application(default_headers);
    let client = app.client();
    for (path, status) in [
        ("/", StatusCode::OK),
        ("/teapot", StatusCode::IM_A_TEAPOT),
        ("/missing", StatusCode::NOT_FOUND),
    ] {
        let response = client.get(path).await.unwrap();
        assert_eq!(response.status, status, "{path}");
        assert_eq!(response.header_all("server"), ["engine-core"], "{path}");
        assert_eq!(response.header_all("x-frame-options"), ["DENY"], "{path}");
        assert_eq!(response.header_all("date").len(), 1, "{path}");
    }
}

#[tokio::test]
async fn default_headers_never_duplicate_the_handlers_header() {
    let app = test_application(default_headers);
    let response = app.client().get("/own-server").await.unwrap();
    assert_eq!(response.text(), "own");
    assert_eq!(response.header_all("server"), ["mine"]);
    assert_eq!(response.header_all("x-frame-options"), ["DENY"]);
}

/// A name configured twice keeps both values and a name the handler set keeps only the handler's,
/// with few configured headers and with many.
#[tokio::test]
async fn default_headers_keep_repeated_names_with_few_or_many_headers() {
    for extra in [0, 70] {
        let app = test_application(move |app: &mut Application| {
            app.install(DefaultHeaders, move |c| {
                c.server = Some(HeaderValue::from_static("engine-core"));
                c.header("x-twice", "1");
                c.header("x-twice", "2");
                for i in 0..extra {
                    c.header(&format!("x-extra-{i}"), "e");
                }
            });
            routes(app);
        });
        let response = app.client().get("/own-server").await.unwrap();
        assert_eq!(response.header_all("server"), ["mine"], "{extra} extra");
        assert_eq!(response.header_all("x-twice"), ["1", "2"], "{extra} extra");
        for i in 0..extra {
            assert_eq!(response.header_all(&format!("x-extra-{i}")), ["e"]);
        }
    }
}

fn status_pages(app: &mut Application) {
    app.install(StatusPages, |c| {
        c.status(
            StatusCode::NOT_FOUND,
            |call: ApplicationCall, status| async move {
                call.response().status(status);
                call.respond_text(format!("no page at {}", call.request().path()))
                    .await
            },
        );
        c.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            |call: ApplicationCall, error: Error| async move {
                call.response().status(StatusCode::SERVICE_UNAVAILABLE);
                call.respond_text(format!("handled: {error}")).await
            },
        );
    });
    routes(app);
    app.routing(|route| {
        route.get("/bad-page", |_call: ApplicationCall| async move {
            Err(Error::status(StatusCode::BAD_REQUEST, "bad"))
        });
    });
}

#[tokio::test]
async fn status_pages_replace_a_404_body_and_keep_the_status() {
    let app = test_application(status_pages);
    let response = app.client().get("/nowhere").await.unwrap();
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.text(), "no page at /nowhere");
}

#[tokio::test]
async fn status_pages_map_handler_errors_by_status() {
    let app = test_application(status_pages);
    let client = app.client();
    let response = client.get("/fail").await.unwrap();
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    // The error's `Display` names it, then its status.
    assert!(
        response.text().starts_with("handled: boom"),
        "{}",
        response.text()
    );
    // No handler for 403: the engine answers the error as usual.
    let response = client.get("/forbidden").await.unwrap();
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.text(), "Forbidden");
}

#[tokio::test]
async fn status_pages_leave_answered_calls_and_other_statuses_alone() {
    let app = test_application(status_pages);
    let client = app.client();
    let response = client.get("/").await.unwrap();
    assert_eq!(
        (response.status, response.text().as_str()),
        (StatusCode::OK, "home")
    );
    let response = client.get("/teapot").await.unwrap();
    assert_eq!(response.status, StatusCode::IM_A_TEAPOT);
    assert_eq!(response.text(), "");
}

#[tokio::test]
async fn status_pages_replace_a_bare_status_that_was_responded() {
    let app = test_application(|app: &mut Application| {
        app.install(StatusPages, |c| {
            c.status(
                StatusCode::METHOD_NOT_ALLOWED,
                |call: ApplicationCall, status| async move {
                    call.response().status(status);
                    call.respond_text("use another method").await
                },
            );
            // A page that is itself a bare status is sent as it is, not handled again.
            c.status(
                StatusCode::GONE,
                |call: ApplicationCall, status| async move { call.respond_status(status).await },
            );
        });
        routes(app);
        app.routing(|route| {
            route.get("/gone", |call: ApplicationCall| async move {
                call.respond_status(StatusCode::GONE).await
            });
        });
    });
    let client = app.client();
    // Routing answers 405 with `respond_status`; the page keeps its `Allow`.
    let response = client.post("/", "body").await.unwrap();
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header_all("allow"), ["GET"]);
    assert_eq!(response.text(), "use another method");
    let response = client.get("/gone").await.unwrap();
    assert_eq!(response.status, StatusCode::GONE);
    assert!(response.body.is_empty());
}

#[tokio::test]
async fn an_error_in_a_status_pages_handler_gives_500() {
    let app = test_application(|app: &mut Application| {
        app.install(StatusPages, |c| {
            c.any_error(|_call: ApplicationCall, _error: Error| async move {
                Err(Error::msg("the page itself failed"))
            });
        });
        routes(app);
    });
    let response = app.client().get("/forbidden").await.unwrap();
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
}

fn call_id(app: &mut Application) {
    app.install(CallId, |_| {});
    routes(app);
}

#[tokio::test]
async fn call_id_is_taken_from_the_request_and_echoed() {
    let app = test_application(call_id);
    let response = app
        .client()
        .request(
            Method::GET,
            "/id",
            &[("x-request-id", "abc-123")],
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(response.header_all("x-request-id"), ["abc-123"]);
    assert_eq!(response.text(), "abc-123");
}

#[tokio::test]
async fn call_id_is_generated_when_absent_and_differs_per_call() {
    let app = test_application(call_id);
    let client = app.client();
    let first = client.get("/id").await.unwrap();
    let second = client.get("/id").await.unwrap();
    let id = first.header("x-request-id").unwrap().to_owned();
    assert!(!id.is_empty() && id.len() <= MAX_CALL_ID_LEN, "{id}");
    assert_eq!(first.text(), id);
    assert_ne!(second.header("x-request-id"), Some(id.as_str()));
}

#[tokio::test]
async fn invalid_incoming_call_id_is_replaced() {
    let app = test_application(call_id);
    let client = app.client();
    let too_long = "a".repeat(MAX_CALL_ID_LEN + 1);
    for bad in ["has space", too_long.as_str()] {
        let response = client
            .request(
                Method::GET,
                "/id",
                &[("x-request-id", bad)],
                Default::default(),
            )
            .await
            .unwrap();
        let id = response.header("x-request-id").unwrap();
        assert_ne!(id, bad);
        assert!(!id.contains(' ') && id.len() <= MAX_CALL_ID_LEN, "{id}");
        assert_eq!(response.text(), id);
    }
}

/// One `CallLogging` event as the test subscriber recorded it: its fields, as text.
type Fields = Vec<(String, String)>;

/// Records every event of the `call_logging` target, process-wide: the engine runs calls on its
/// own runtime's threads, so a thread-local subscriber would miss them. Tests tell their events
/// apart by path.
fn logged() -> &'static Mutex<Vec<Fields>> {
    static EVENTS: OnceLock<&'static Mutex<Vec<Fields>>> = OnceLock::new();
    EVENTS.get_or_init(|| {
        let events: &'static Mutex<Vec<Fields>> = Box::leak(Box::default());
        tracing::subscriber::set_global_default(Recorder(events)).expect("no other subscriber");
        events
    })
}

struct Recorder(&'static Mutex<Vec<Fields>>);

struct Visitor<'a>(&'a mut Fields);

impl tracing::field::Visit for Visitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target().ends_with("call_logging")
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields::new();
        event.record(&mut Visitor(&mut fields));
        self.0.lock().unwrap().push(fields);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The events logged for `path`, each as a map of its fields.
fn events_for(path: &str) -> Vec<std::collections::HashMap<String, String>> {
    logged()
        .lock()
        .unwrap()
        .iter()
        .map(|fields| {
            fields
                .iter()
                .cloned()
                .collect::<std::collections::HashMap<_, _>>()
        })
        .filter(|fields| fields.get("path").map(String::as_str) == Some(path))
        .collect()
}

#[tokio::test]
async fn call_logging_logs_one_event_per_call_with_its_fields() {
    logged();
    let app = test_application(|app: &mut Application| {
        app.install(CallLogging, |_| {});
        routes(app);
        app.routing(|route| {
            route.get("/logged/ok", |call: ApplicationCall| async move {
                call.respond_text("ok").await
            });
            route.get("/logged/fail", |_call: ApplicationCall| async move {
                Err(Error::status(StatusCode::FORBIDDEN, "no"))
            });
        });
    });
    let client = app.client();
    for (path, status) in [
        ("/logged/ok", "200"),
        ("/logged/missing", "404"),
        ("/logged/fail", "403"),
    ] {
        let response = client.get(path).await.unwrap();
        assert_eq!(response.status.as_str(), status);
        let events = events_for(path);
        assert_eq!(events.len(), 1, "{path}: {events:?}");
        let event = &events[0];
        assert_eq!(event["method"], "GET");
        assert_eq!(event["status"], status, "{path}");
        assert!(event["duration_us"].parse::<u64>().is_ok(), "{event:?}");
        assert!(!event.contains_key("call_id"), "{event:?}");
    }
}

#[tokio::test]
async fn call_logging_logs_the_method_the_client_sent() {
    logged();
    let app = test_application(|app: &mut Application| {
        app.install(engine_core::plugins::AutoHeadResponse, |_| {});
        app.install(CallLogging, |_| {});
        app.routing(|route| {
            route.get("/logged/head", |call: ApplicationCall| async move {
                call.respond_text("ok").await
            });
        });
    });
    let response = app
        .client()
        .request(Method::HEAD, "/logged/head", &[], Default::default())
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    let events = events_for("/logged/head");
    assert_eq!(events.len(), 1, "{events:?}");
    // AutoHeadResponse routed it as a GET; the log says what arrived.
    assert_eq!(events[0]["method"], "HEAD");
}

#[tokio::test]
async fn call_logging_names_the_call_id() {
    logged();
    let app = test_application(|app: &mut Application| {
        app.install(CallId, |_| {});
        app.install(CallLogging, |_| {});
        app.routing(|route| {
            route.get("/logged/id", |call: ApplicationCall| async move {
                call.respond_text("ok").await
            });
        });
    });
    let response = app
        .client()
        .request(
            Method::GET,
            "/logged/id",
            &[("x-request-id", "log-me")],
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    let events = events_for("/logged/id");
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["call_id"], "log-me");
    assert_eq!(events[0]["status"], "200");
}
