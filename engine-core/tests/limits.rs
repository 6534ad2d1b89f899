//! `RateLimit` and `RequestBodyLimit` through the in-memory engine: what a client gets past each
//! limit, and that calls within them are untouched. Time is a `ManualClock`: nothing here sleeps.

use engine_core::plugins::rate_limit::ManualClock;
use engine_core::plugins::{
    RateLimit, RateLimitName, RateLimitRoute, RequestBodyLimit, StatusPages,
};
use engine_core::testing::{TestResponse, test_application};
use engine_core::{Application, ApplicationCall};
use http::{Method, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const LOGIN: RateLimitName = RateLimitName::new("login");

fn limited(clock: ManualClock) -> impl FnOnce(&mut Application) {
    move |app: &mut Application| {
        app.install(RateLimit, |c| {
            c.clock(clock);
            c.register(LOGIN, |l| {
                l.rate(2, Duration::from_secs(10))
                    .key(|call| call.request().headers().get("x-user").map(str::to_owned));
            });
        });
        app.routing(|route| {
            route.get("/open", |call: ApplicationCall| async move {
                call.respond_text("open").await
            });
            route.route("/login", |login| {
                login.rate_limit(LOGIN);
                login.get("", |call: ApplicationCall| async move {
                    call.respond_text("welcome").await
                });
            });
        });
    }
}

async fn get_as(
    app: &engine_core::testing::TestApplication,
    path: &str,
    user: &str,
) -> TestResponse {
    app.client()
        .request(Method::GET, path, &[("x-user", user)], Default::default())
        .await
        .unwrap()
}

fn rate_headers(response: &TestResponse) -> [Option<&str>; 4] {
    [
        response.header("x-ratelimit-limit"),
        response.header("x-ratelimit-remaining"),
        response.header("x-ratelimit-reset"),
        response.header("retry-after"),
    ]
}

#[tokio::test]
async fn a_named_limiter_answers_429_with_retry_after_once_the_bucket_is_empty() {
    let clock = ManualClock::default();
    let app = test_application(limited(clock.clone()));
    // Two tokens per 10 s: one every 5 s.
    let first = get_as(&app, "/login", "ann").await;
    assert_eq!(first.text(), "welcome");
    assert_eq!(
        rate_headers(&first),
        [Some("2"), Some("1"), Some("5"), None]
    );
    let second = get_as(&app, "/login", "ann").await;
    assert_eq!(
        rate_headers(&second),
        [Some("2"), Some("0"), Some("10"), None]
    );
    let refused = get_as(&app, "/login", "ann").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.body.is_empty());
    assert_eq!(
        rate_headers(&refused),
        [Some("2"), Some("0"), Some("10"), Some("5")]
    );
    // Another key has a bucket of its own; a route without the limiter is not limited.
    assert_eq!(get_as(&app, "/login", "bob").await.status, StatusCode::OK);
    let open = get_as(&app, "/open", "ann").await;
    assert_eq!(open.status, StatusCode::OK);
    assert_eq!(open.header("x-ratelimit-limit"), None);
    // Retry-After is rounded up: 4.5 s later the token is not back yet, 5 s later it is.
    clock.advance(Duration::from_millis(4_500));
    let early = get_as(&app, "/login", "ann").await;
    assert_eq!(early.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(early.header("retry-after"), Some("1"));
    clock.advance(Duration::from_millis(500));
    assert_eq!(get_as(&app, "/login", "ann").await.text(), "welcome");
}

#[tokio::test]
async fn the_global_limiter_keys_by_client_address_and_stops_the_handler() {
    let clock = ManualClock::default();
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    let app = test_application(move |app: &mut Application| {
        app.install(RateLimit, |c| {
            c.clock(clock);
            c.global(|l| {
                l.rate(3, Duration::from_secs(60));
            });
        });
        app.routing(move |route| {
            route.get("/", move |call: ApplicationCall| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move { call.respond_text("counted").await }
            });
        });
    });
    // Every in-memory client has the same address: one bucket, whatever the connection.
    let client = app.client();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(client.get("/").await.unwrap().status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    assert_eq!(handled.load(Ordering::SeqCst), 3);
    // Nobody answering is limited too: the limiter runs before routing.
    assert_eq!(
        client.get("/missing").await.unwrap().status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn status_pages_can_give_a_429_a_body() {
    let clock = ManualClock::default();
    let app = test_application(move |app: &mut Application| {
        app.install(StatusPages, |c| {
            c.status(
                StatusCode::TOO_MANY_REQUESTS,
                |call: ApplicationCall, status| async move {
                    call.response().status(status);
                    call.respond_text("slow down").await
                },
            );
        });
        limited(clock)(app);
    });
    get_as(&app, "/login", "ann").await;
    get_as(&app, "/login", "ann").await;
    let refused = get_as(&app, "/login", "ann").await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.text(), "slow down");
    assert_eq!(refused.header("retry-after"), Some("5"));
}

#[tokio::test]
async fn a_route_naming_an_unregistered_limiter_fails_with_500() {
    let app = test_application(|app: &mut Application| {
        app.install(RateLimit, |_| {});
        app.routing(|route| {
            route.route("/x", |x| {
                x.rate_limit(RateLimitName::new("nobody-registered-me"));
                x.get("", |call: ApplicationCall| async move {
                    call.respond_text("unreachable").await
                });
            });
        });
    });
    let response = app.client().get("/x").await.unwrap();
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
}

fn body_limited(app: &mut Application) {
    app.install(RequestBodyLimit, |c| c.max_body_size = 100);
    app.routing(|route| {
        route.post("/upload", |call: ApplicationCall| async move {
            let body = call.receive_bytes().await?;
            call.respond_text(format!("{} bytes", body.len())).await
        });
        route.route("/small", |small| {
            small.install(RequestBodyLimit, |c| c.max_body_size = 10);
            small.post("", |call: ApplicationCall| async move {
                let body = call.receive_bytes().await?;
                call.respond_text(format!("{} bytes", body.len())).await
            });
        });
    });
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_413_before_the_handler_reads() {
    let app = test_application(body_limited);
    let client = app.client();
    let ok = client.post("/upload", vec![b'a'; 100]).await.unwrap();
    assert_eq!(ok.text(), "100 bytes");
    let refused = client.post("/upload", vec![b'a'; 101]).await.unwrap();
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    // The route's limit is stricter than the application's.
    assert_eq!(
        client.post("/small", vec![b'a'; 10]).await.unwrap().text(),
        "10 bytes"
    );
    assert_eq!(
        client.post("/small", vec![b'a'; 11]).await.unwrap().status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test]
async fn expect_continue_over_the_limit_gets_413_and_no_100() {
    let app = test_application(body_limited);
    let mut conn = app.connect().unwrap();
    conn.send(
        "POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let response = conn.read_response(false).await.unwrap();
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_chunked_body_growing_past_the_limit_fails_the_receive_with_413() {
    let app = test_application(body_limited);
    let mut conn = app.connect().unwrap();
    // 8 + 8 bytes to a route that takes 10: the second chunk crosses the limit.
    conn.send(
        "POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
         8\r\naaaaaaaa\r\n8\r\nbbbbbbbb\r\n0\r\n\r\n",
    )
    .await
    .unwrap();
    let response = conn.read_response(false).await.unwrap();
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    // The rest of the body was drained: the connection serves the next request.
    conn.send(
        "POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
         4\r\naaaa\r\n0\r\n\r\n",
    )
    .await
    .unwrap();
    assert_eq!(conn.read_response(false).await.unwrap().text(), "4 bytes");
}
