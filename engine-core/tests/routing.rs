//! The Routing plugin through the in-memory engine: matches, parameters, 404/405/400, nested routes,
//! route-scoped interceptors, and routes from several modules.

use engine_core::pipeline::done;
use engine_core::testing::test_application;
use engine_core::{Application, ApplicationCall, CallPipeline, Error};
use http::{Method, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

async fn echo_path(call: ApplicationCall) -> Result<(), Error> {
    let text = format!("{} {}", call.request().method(), call.request().path());
    call.respond_text(text).await
}

fn landing(app: &mut Application) {
    app.routing(|route| {
        route.get("/", |call: ApplicationCall| async move {
            call.respond_text("Hello World!").await
        });
        route.get("/a b", |call: ApplicationCall| async move {
            call.respond_text("space").await
        });
        route.get("/a+b", |call: ApplicationCall| async move {
            call.respond_text("plus").await
        });
        route.get("/users/{id}", |call: ApplicationCall| async move {
            let id = call.parameters().get("id").unwrap_or("?").to_owned();
            call.respond_text(format!("user {id}")).await
        });
        route.get("/files/{path...}", |call: ApplicationCall| async move {
            let parts: Vec<_> = call.parameters().get_all("path").collect();
            call.respond_text(parts.join("|")).await
        });
        route.post("/users/{id}", echo_path);
    });
}

fn api(app: &mut Application) {
    app.routing(|route| {
        route.route("/api", |api| {
            api.intercept_boxed(CallPipeline::PLUGINS, |ctx| {
                ctx.context
                    .response()
                    .set_header("x-api", http::HeaderValue::from_static("v1"));
                done()
            });
            api.get("/items", echo_path);
            api.route("/admin", |admin| {
                admin.intercept_boxed(CallPipeline::PLUGINS, |ctx| {
                    Box::pin(async move {
                        if ctx.context.request().header("authorization").is_none() {
                            ctx.context.respond_status(StatusCode::UNAUTHORIZED).await?;
                            ctx.finish();
                        }
                        Ok(())
                    })
                });
                admin.get("/stats", echo_path);
            });
        });
    });
}

#[tokio::test]
async fn routes_match_with_parameters_and_decoding() {
    let app = test_application(|app: &mut Application| {
        landing(app);
        api(app);
    });
    let client = app.client();
    let cases = [
        ("/", "Hello World!"),
        ("/a%20b", "space"),
        ("/a+b", "plus"),
        ("/users/42", "user 42"),
        ("/users/caf%C3%A9", "user café"),
        ("/files/x/y/z.txt", "x|y|z.txt"),
        ("/api/items", "GET /api/items"),
    ];
    for (path, body) in cases {
        let response = client.get(path).await.unwrap();
        assert_eq!(
            (response.status, response.text().as_str()),
            (StatusCode::OK, body),
            "{path}"
        );
    }
    let api = client.get("/api/items").await.unwrap();
    assert_eq!(
        api.header("x-api"),
        Some("v1"),
        "route-scoped interceptors run for the route"
    );
    assert_eq!(
        client.get("/").await.unwrap().header("x-api"),
        None,
        "and only under it"
    );
}

#[tokio::test]
async fn not_found_method_not_allowed_and_bad_paths() {
    let app = test_application(landing);
    let client = app.client();
    assert_eq!(
        client.get("/missing").await.unwrap().status,
        StatusCode::NOT_FOUND
    );
    let response = client
        .request(Method::DELETE, "/users/1", &[], bytes::Bytes::new())
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.header("allow"), Some("GET, POST"));
    assert_eq!(
        client.get("/users/%zz").await.unwrap().status,
        StatusCode::BAD_REQUEST
    );
    let posted = client.post("/users/7", "body").await.unwrap();
    assert_eq!(posted.text(), "POST /users/7");
}

#[tokio::test]
async fn route_interceptors_can_answer_and_finish() {
    let app = test_application(api);
    let client = app.client();
    let refused = client.get("/api/admin/stats").await.unwrap();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.header("x-api"),
        Some("v1"),
        "outer route interceptors ran first"
    );
    let allowed = client
        .request(
            Method::GET,
            "/api/admin/stats",
            &[("Authorization", "yes")],
            bytes::Bytes::new(),
        )
        .await
        .unwrap();
    assert_eq!(allowed.text(), "GET /api/admin/stats");
}

#[tokio::test]
async fn a_route_interceptor_wraps_the_handler() {
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = order.clone();
    let app = test_application(move |app: &mut Application| {
        let order = seen.clone();
        app.routing(move |route| {
            let wrap = order.clone();
            route.intercept_boxed(CallPipeline::CALL, move |ctx| {
                let order = wrap.clone();
                Box::pin(async move {
                    order.lock().unwrap().push("before");
                    ctx.proceed().await?;
                    order.lock().unwrap().push("after");
                    Ok(())
                })
            });
            let handler = order.clone();
            route.get("/", move |call: ApplicationCall| {
                let order = handler.clone();
                async move {
                    order.lock().unwrap().push("handler");
                    call.respond_text("ok").await
                }
            });
        });
    });
    assert_eq!(app.client().get("/").await.unwrap().text(), "ok");
    assert_eq!(*order.lock().unwrap(), ["before", "handler", "after"]);
}

#[tokio::test]
async fn routes_from_several_modules_join_one_tree() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = test_application(move |app: &mut Application| {
        landing(app);
        let counter = counter.clone();
        app.routing(move |route| {
            route.get("/count", move |call: ApplicationCall| {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                async move { call.respond_text(n.to_string()).await }
            });
        });
    });
    let client = app.client();
    assert_eq!(client.get("/").await.unwrap().text(), "Hello World!");
    assert_eq!(client.get("/count").await.unwrap().text(), "1");
    assert_eq!(client.get("/count").await.unwrap().text(), "2");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[test]
#[should_panic(expected = "/dup")]
fn two_handlers_for_one_route_stop_the_start() {
    let _app = test_application(|app: &mut Application| {
        app.routing(|route| {
            route.get("/dup", echo_path);
        });
        app.routing(|route| {
            route.get("/dup", echo_path);
        });
    });
}

#[tokio::test]
async fn a_group_intercepts_only_the_handlers_registered_in_it() {
    let app = test_application(|app: &mut Application| {
        app.routing(|route| {
            route.get("/open", echo_path);
            route.group(
                |pipeline| {
                    pipeline.intercept_boxed(CallPipeline::PLUGINS, |ctx| {
                        let call = ctx.context.clone();
                        Box::pin(async move {
                            if call.request().header("x-pass").is_none() {
                                call.respond_status(StatusCode::FORBIDDEN).await?;
                                ctx.finish();
                            }
                            Ok(())
                        })
                    });
                },
                |group| {
                    group.get("/closed", echo_path);
                    group.route("/nested", |nested| {
                        nested.post("/deep", echo_path);
                    });
                },
            );
            // The same path as a grouped route, another method: outside the group.
            route.post("/closed", echo_path);
        });
    });
    let client = app.client();
    let open = client.get("/open").await.unwrap();
    assert_eq!(
        (open.status, open.text().as_str()),
        (StatusCode::OK, "GET /open")
    );
    for (method, path) in [(Method::GET, "/closed"), (Method::POST, "/nested/deep")] {
        let stopped = client
            .request(method.clone(), path, &[], Default::default())
            .await
            .unwrap();
        assert_eq!(stopped.status, StatusCode::FORBIDDEN, "{method} {path}");
        let passed = client
            .request(method.clone(), path, &[("x-pass", "1")], Default::default())
            .await
            .unwrap();
        assert_eq!(passed.text(), format!("{method} {path}"));
    }
    let outside = client.post("/closed", "").await.unwrap();
    assert_eq!(outside.text(), "POST /closed");
}
