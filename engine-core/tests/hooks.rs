//! Plugins built from hooks, through the in-memory engine: what each hook can change, where a
//! route-scoped plugin applies, and what `ResponseSent` reports.

use bytes::Bytes;
use engine_core::call::{IncomingBody, OutgoingContent};
use engine_core::hooks::{
    ApplicationPlugin, ResponseSent, RouteScopedPlugin, SentResponse, create_application_plugin,
    create_route_scoped_plugin,
};
use engine_core::testing::test_application;
use engine_core::{Application, ApplicationCall, Error};
use http::{HeaderValue, StatusCode};
use std::sync::{Arc, Mutex};

/// Answers 401 from `on_call` for requests without `x-token`; the handler must not run then.
const GUARD: ApplicationPlugin = create_application_plugin("Guard", |plugin, ()| {
    plugin.on_call(|call: ApplicationCall| async move {
        if call.request().headers().get("x-token").is_none() {
            call.respond_status(StatusCode::UNAUTHORIZED).await?;
        }
        Ok(())
    });
});

/// Upper-cases request bodies and wraps responses.
const SHOUT: ApplicationPlugin = create_application_plugin("Shout", |plugin, ()| {
    plugin
        .on_call_receive(|_call: ApplicationCall, body: IncomingBody| async move {
            let bytes = body.bytes().await?;
            Ok(IncomingBody::Bytes(Bytes::from(bytes.to_ascii_uppercase())))
        })
        .on_call_respond(
            |_call: ApplicationCall, content: OutgoingContent| async move {
                match content.body {
                    engine_core::call::ResponseBody::Bytes(bytes) => {
                        let text = format!("<{}>", String::from_utf8_lossy(&bytes));
                        Ok(OutgoingContent::text(text).with_status(StatusCode::CREATED))
                    }
                    _ => Ok(content),
                }
            },
        );
});

fn echo_routes(app: &mut Application) {
    app.routing(|route| {
        route.post("/echo", |call: ApplicationCall| async move {
            let text = call.receive_text().await?;
            call.respond_text(text).await
        });
    });
}

#[tokio::test]
async fn an_on_call_hook_that_responds_ends_the_call() {
    let app = test_application(|app: &mut Application| {
        app.install(GUARD, |()| {});
        echo_routes(app);
    });
    let client = app.client();
    let refused = client.post("/echo", "hello").await.unwrap();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.is_empty());
    let allowed = client
        .request(
            http::Method::POST,
            "/echo",
            &[("x-token", "t")],
            Bytes::from_static(b"hello"),
        )
        .await
        .unwrap();
    assert_eq!(allowed.text(), "hello");
}

#[tokio::test]
async fn receive_and_respond_hooks_replace_the_body_and_the_content() {
    let app = test_application(|app: &mut Application| {
        app.install(SHOUT, |()| {});
        echo_routes(app);
    });
    let response = app.client().post("/echo", "hello").await.unwrap();
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.text(), "<HELLO>");
}

#[test]
fn plugins_of_one_config_type_install_side_by_side_but_each_once() {
    let mut app = Application::new();
    app.install(GUARD, |()| {});
    app.install(SHOUT, |()| {});
    assert!(app.is_installed_named("Guard") && app.is_installed_named("Shout"));
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        app.install(GUARD, |()| {});
    }));
    let message = again.expect_err("a second install panics");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("plugin Guard is already installed"),
        "{message}"
    );
}

#[derive(Default)]
struct TagConfig {
    value: &'static str,
}

/// Tags the responses of the routes it is installed on.
const TAG: RouteScopedPlugin<TagConfig> = create_route_scoped_plugin("Tag", |plugin, config| {
    let value = HeaderValue::from_static(config.value);
    plugin.on_call(move |call: ApplicationCall| {
        call.response().set_header("x-tag", value.clone());
        async { Ok(()) }
    });
});

#[tokio::test]
async fn a_route_scoped_plugin_applies_to_its_route_and_those_under_it() {
    let app = test_application(|app: &mut Application| {
        app.routing(|route| {
            route.route("/api", |api| {
                api.install(TAG, |c| c.value = "api");
                api.get("/users", |call: ApplicationCall| async move {
                    call.respond_text("users").await
                });
            });
            route.get("/", |call: ApplicationCall| async move {
                call.respond_text("home").await
            });
        });
    });
    let client = app.client();
    assert_eq!(
        client.get("/api/users").await.unwrap().header("x-tag"),
        Some("api")
    );
    assert_eq!(client.get("/").await.unwrap().header("x-tag"), None);
}

#[tokio::test]
async fn a_route_scoped_plugin_installed_on_the_application_applies_everywhere() {
    let app = test_application(|app: &mut Application| {
        app.install(TAG, |c| c.value = "all");
        echo_routes(app);
    });
    let response = app.client().get("/nowhere").await.unwrap();
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.header("x-tag"), Some("all"));
}

type Sent = Arc<Mutex<Vec<(String, SentResponse)>>>;

#[derive(Default)]
struct SentConfig {
    sent: Sent,
}

/// Records what `ResponseSent` reports, after a hook that panics: the panic must not matter.
const SENT: ApplicationPlugin<SentConfig> = create_application_plugin("Sent", |plugin, config| {
    plugin.on(ResponseSent, |_: &ApplicationCall, _: SentResponse| {
        panic!("a hook that panics");
    });
    let sent = config.sent;
    plugin.on(
        ResponseSent,
        move |call: &ApplicationCall, response: SentResponse| {
            let path = call.request().path().to_owned();
            sent.lock().unwrap().push((path, response));
        },
    );
});

#[tokio::test]
async fn response_sent_reports_a_failed_stream_as_incomplete_and_survives_a_panicking_hook() {
    let sent = Sent::default();
    let recorded = sent.clone();
    let app = test_application(move |app: &mut Application| {
        app.install(SENT, |c| c.sent = recorded);
        app.routing(|route| {
            route.get("/broken", |call: ApplicationCall| async move {
                let chunks = futures_util::stream::iter([
                    Ok(Bytes::from_static(b"part")),
                    Err(Error::msg("the stream broke")),
                ]);
                call.respond_stream(chunks, HeaderValue::from_static("text/plain"))
                    .await
            });
            route.get("/fine", |call: ApplicationCall| async move {
                call.respond_text("fine").await
            });
        });
    });
    let mut conn = app.connect().unwrap();
    conn.send("GET /fine HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(conn.read_response(false).await.unwrap().text(), "fine");
    // The hooks of the first response ran before the second request was read.
    conn.send("GET /broken HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    assert!(
        conn.read_response(false).await.is_err(),
        "the stream aborts"
    );
    // The driver aborts the connection, then runs the failed response's hooks: wait for them.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while sent.lock().unwrap().len() < 2 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let recorded = sent.lock().unwrap().clone();
    let seen: Vec<_> = recorded
        .iter()
        .map(|(path, r)| (path.as_str(), r.status, r.completed))
        .collect();
    assert_eq!(
        seen,
        [
            ("/fine", StatusCode::OK, true),
            ("/broken", StatusCode::OK, false)
        ]
    );
}
