//! `stack`: one call through a typical plugin stack, so its cost per call is known: `CallLogging`
//! (its event formatted by a `tracing-subscriber` writing to a sink), `DefaultHeaders`,
//! `Sessions` (a signed cookie read and verified each call) and routing, over the in-memory
//! connection of `pipeline`'s `call/*` benches (sixteen pipelined requests per iteration).
//!
//! - `stack/routing`: routing alone, the same request (cookie included) and response.
//! - `stack/logging_default_headers`: plus `CallLogging` and `DefaultHeaders`.
//! - `stack/logging_default_headers_sessions`: plus the session read (HMAC-SHA256 and JSON).
//! - `stack/session_verify`: the session read's pure part alone, no call: the cookie value's
//!   HMAC checked and its payload decoded into the session type.
//!
//! Run: `taskset -c 1 cargo bench -p benches --bench stack -- --warm-up-time 1 --measurement-time 3`.

use benches::connection::Connection;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use engine_core::plugins::sessions::{SessionKey, SessionTransform, Sessions, SessionsExt, codec};
use engine_core::plugins::{CallLogging, DefaultHeaders};
use engine_core::testing::test_application;
use engine_core::{AppRuntime, Application, ApplicationCall};
use http::HeaderValue;
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

const PIPELINE_DEPTH: usize = 16;

/// What ends every response: the blank line after its head, then the body.
const RESPONSE_END: &[u8] = b"\r\n\r\nHello, ann!";

#[derive(Clone, Serialize, Deserialize)]
struct User {
    name: String,
    visits: u32,
}

fn key() -> SessionKey {
    SessionKey::from_slice(&[7; 32]).expect("a 32-byte key")
}

/// The signed `SESSION` cookie's value.
fn signed_session() -> String {
    let user = User {
        name: "ann".into(),
        visits: 12,
    };
    let payload = codec::encode(&user, Some(u64::MAX)).expect("a payload");
    SessionTransform::signed([key()])
        .encode("SESSION", &payload)
        .expect("a signed value")
}

/// A browser-like request carrying a signed `SESSION` cookie among two others.
fn request() -> Vec<u8> {
    let signed = signed_session();
    format!(
        "GET /hello HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\n\
         Cookie: theme=dark; SESSION={signed}; _ga=GA1.2.1234567890\r\n\r\n"
    )
    .into_bytes()
}

/// The stack under test, as a module.
fn module(
    logging_and_headers: bool,
    sessions: bool,
) -> impl FnOnce(&mut Application) + Send + 'static {
    move |app: &mut Application| configure(app, logging_and_headers, sessions)
}

fn configure(app: &mut Application, logging_and_headers: bool, sessions: bool) {
    if logging_and_headers {
        app.install(CallLogging, |_| {});
        app.install(DefaultHeaders, |c| {
            c.server = Some(HeaderValue::from_static("engine-core"));
            c.header("x-frame-options", "DENY");
        });
    }
    if sessions {
        app.install(Sessions, |s| {
            s.cookie::<User>("SESSION", |c| {
                c.sign([key()]);
            });
        });
        app.routing(|r| {
            r.get("/hello", |call: ApplicationCall| async move {
                let user = call.sessions().get::<User>().await?;
                let name = user.map_or_else(|| "nobody".to_owned(), |u| u.name);
                call.respond_text(format!("Hello, {name}!")).await
            });
        });
    } else {
        app.routing(|r| {
            r.get("/hello", |call: ApplicationCall| async move {
                call.respond_text("Hello, ann!").await
            });
        });
    }
}

/// Checks once, through the in-memory engine, that the stack answers the request as the bench
/// expects: a wrong key or a broken cookie would answer "Hello, nobody!", which never ends a
/// response the bench waits for.
fn check(logging_and_headers: bool, sessions: bool, request: &[u8]) {
    let test = test_application(module(logging_and_headers, sessions));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let response = runtime.block_on(async {
        let mut conn = test.connect().expect("connect");
        conn.send(request).await.expect("send");
        conn.read_response(false).await.expect("a response")
    });
    assert_eq!(response.text(), "Hello, ann!", "{}", response.raw_head);
}

fn app(logging_and_headers: bool, sessions: bool) -> Arc<AppRuntime> {
    let mut app = Application::new();
    configure(&mut app, logging_and_headers, sessions);
    app.freeze()
}

fn stack(c: &mut Criterion) {
    // CallLogging's events are formatted, as in production, and discarded.
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::sink)
        .with_max_level(tracing::Level::INFO)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let request = request();
    let mut group = c.benchmark_group("stack");
    group.throughput(Throughput::Elements(PIPELINE_DEPTH as u64));
    for (name, logging_and_headers, sessions) in [
        ("routing", false, false),
        ("logging_default_headers", true, false),
        ("logging_default_headers_sessions", true, true),
    ] {
        check(logging_and_headers, sessions, &request);
        let app = app(logging_and_headers, sessions);
        let mut connection = Connection::new(app, &request, PIPELINE_DEPTH, RESPONSE_END);
        connection.round_trip();
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter(|| connection.round_trip());
        });
    }
    group.finish();
}

fn session_verify(c: &mut Criterion) {
    let signed = signed_session();
    let transform = SessionTransform::signed([key()]);
    let verify = || {
        let payload = transform.decode("SESSION", black_box(&signed))?;
        codec::decode::<User>(&payload, SystemTime::now()).ok()
    };
    assert_eq!(verify().map(|u| u.name).as_deref(), Some("ann"));
    c.bench_function("stack/session_verify", |b| b.iter(verify));
}

criterion_group!(benches, stack, session_verify);
criterion_main!(benches);
