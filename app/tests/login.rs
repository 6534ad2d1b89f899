//! The login module: the form, signed session cookies, `/me` and logout on the in-memory engine;
//! the same conversation with hyper's client over a real socket on each engine; and the session
//! key taken from the app's configuration (flags, environment, file) by the app binary itself.

use app::config::{Args, Settings};
use app::login::{LoginConfig, SESSION_COOKIE, UserSession, login_with};
use app::users::{Users, hash_password};
use clap::Parser;
use engine_core::plugins::sessions::{SessionKey, SessionTransform, codec};
use engine_core::testing::{TestApplication, TestResponse, test_application};
use engine_core::{ServerConfig, embedded_server};
use http::{Method, StatusCode};
use std::time::{Duration, SystemTime};

mod common;

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const ADA: &str = "user=ada&password=analytical-engine";

fn key(byte: u8) -> SessionKey {
    SessionKey::from_slice(&[byte; 32]).unwrap()
}

fn app(config: LoginConfig) -> TestApplication {
    test_application(login_with(config))
}

async fn post_form(app: &TestApplication, path: &str, form: &str, cookie: &str) -> TestResponse {
    let mut headers = vec![FORM];
    if !cookie.is_empty() {
        headers.push(("Cookie", cookie));
    }
    app.client()
        .request(Method::POST, path, &headers, form.to_owned().into())
        .await
        .unwrap()
}

/// `GET /me` with `cookie` (none when empty).
async fn me(app: &TestApplication, cookie: &str) -> TestResponse {
    let headers: &[(&str, &str)] = if cookie.is_empty() {
        &[]
    } else {
        &[("Cookie", cookie)]
    };
    app.client()
        .request(Method::GET, "/me", headers, Default::default())
        .await
        .unwrap()
}

/// The session's `Set-Cookie`, whole, if the response has one.
fn set_cookie(response: &TestResponse) -> Option<String> {
    let all = response.header_all("set-cookie");
    assert!(all.len() <= 1, "{}", response.raw_head);
    all.first().map(|c| (*c).to_owned())
}

/// `name=value` of a `Set-Cookie`, as a `Cookie` field sends it back.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// Logs `ada` in: the `Cookie` value to send back.
async fn ada_cookie(app: &TestApplication) -> String {
    let response = post_form(app, "/login", ADA, "").await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.raw_head
    );
    pair(&set_cookie(&response).expect("a session cookie"))
}

/// `/me`'s answer without a valid session: the way to the form, and no session.
fn assert_refused(response: &TestResponse, what: &str) {
    assert_eq!(
        response.status,
        StatusCode::FOUND,
        "{what}: {}",
        response.raw_head
    );
    assert_eq!(response.header("location"), Some("/login"), "{what}");
    assert!(
        set_cookie(response).is_none(),
        "{what}: {}",
        response.raw_head
    );
}

#[tokio::test]
async fn the_login_form() {
    let app = app(LoginConfig::new(key(1)));
    let page = app.client().get("/login").await.unwrap();
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();
    for part in [
        r#"<form method="post" action="/login">"#,
        r#"name="user""#,
        r#"name="password" type="password""#,
    ] {
        assert!(html.contains(part), "{part} in {html}");
    }
    assert!(!html.contains("alert"), "{html}");
}

#[tokio::test]
async fn good_credentials_set_a_signed_cookie_and_me_shows_the_user() {
    let app = app(LoginConfig::new(key(1)));
    let response = post_form(&app, "/login", ADA, "").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header("location"), Some("/me"));
    let set = set_cookie(&response).expect("a session cookie");
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
        "Path=/",
        "Max-Age=43200",
    ] {
        assert!(set.contains(attribute), "{attribute} in {set}");
    }
    // The value is the session, signed with the configured key.
    let cookie = pair(&set);
    let value = cookie.strip_prefix("app_session=").expect(SESSION_COOKIE);
    let payload = SessionTransform::signed([key(1)])
        .decode(SESSION_COOKIE, value)
        .expect("signed with the configured key");
    let session: UserSession = codec::decode(&payload, SystemTime::now()).unwrap();
    assert_eq!(session.user, "ada");
    assert_eq!(
        SessionTransform::signed([key(2)]).decode(SESSION_COOKIE, value),
        None
    );

    let page = me(&app, &cookie).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        page.text().contains(r#"<span id="user">ada</span>"#),
        "{}",
        page.text()
    );
    // Among other cookies, too; and the other demo user.
    assert_eq!(
        me(&app, &format!("a=b; {cookie}")).await.status,
        StatusCode::OK
    );
    let alan = post_form(&app, "/login", "user=alan&password=enigma", "").await;
    let alan = pair(&set_cookie(&alan).unwrap());
    assert!(me(&app, &alan).await.text().contains(">alan<"));
}

#[tokio::test]
async fn wrong_credentials_get_401_and_the_form_and_no_session() {
    let app = app(LoginConfig::new(key(1)));
    for form in [
        "user=ada&password=enigma",
        "user=ada&password=",
        "user=ada",
        "password=analytical-engine",
        "user=eve&password=analytical-engine",
        "user=ADA&password=analytical-engine",
        "",
    ] {
        let response = post_form(&app, "/login", form, "").await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{form}");
        assert!(
            set_cookie(&response).is_none(),
            "{form}: {}",
            response.raw_head
        );
        let html = response.text();
        assert!(html.contains("Wrong user name or password."), "{html}");
        assert!(html.contains(r#"action="/login""#), "{html}");
    }
    assert_refused(&me(&app, "").await, "no cookie");
    // A form that is not one is the client's mistake, and a huge one is refused unread.
    let json = app
        .client()
        .request(
            Method::POST,
            "/login",
            &[("Content-Type", "application/json")],
            "{}".into(),
        )
        .await
        .unwrap();
    assert_eq!(json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = format!("{ADA}&padding={}", "x".repeat(5000));
    let response = post_form(&app, "/login", &huge, "").await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(set_cookie(&response).is_none());
}

#[tokio::test]
async fn tampered_and_forged_cookies_are_not_trusted() {
    let app = app(LoginConfig::new(key(1)));
    let good = ada_cookie(&app).await;
    let value = good.strip_prefix("app_session=").unwrap();
    let (payload, tag) = value.rsplit_once('.').unwrap();
    let signed = SessionTransform::signed([key(1)]);
    let forged_payload = codec::encode(
        &UserSession {
            user: "alan".into(),
        },
        None,
    )
    .unwrap();
    let mut flipped = value.as_bytes().to_vec();
    flipped[2] = if flipped[2] == b'A' { b'B' } else { b'A' };
    let past = codec::unix_seconds(SystemTime::now()) - 1;
    let expired = codec::encode(&UserSession { user: "ada".into() }, Some(past)).unwrap();
    let gone = codec::encode(&UserSession { user: "eve".into() }, None).unwrap();
    for (cookie, what) in [
        (String::from_utf8(flipped).unwrap(), "a byte changed"),
        (
            format!("{forged_payload}.{tag}"),
            "another user under ada's tag",
        ),
        (forged_payload.clone(), "unsigned"),
        (payload.to_owned(), "the tag cut off"),
        (value[..value.len() - 3].to_owned(), "truncated"),
        (
            SessionTransform::signed([key(2)])
                .encode(SESSION_COOKIE, &forged_payload)
                .unwrap(),
            "signed with another key",
        ),
        (signed.encode(SESSION_COOKIE, &expired).unwrap(), "expired"),
        (
            signed.encode(SESSION_COOKIE, &gone).unwrap(),
            "of a user not in the table",
        ),
        (String::new(), "empty"),
    ] {
        assert_refused(&me(&app, &format!("app_session={cookie}")).await, what);
    }
    assert_eq!(me(&app, &good).await.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_removes_the_cookie_and_me_then_refuses() {
    let app = app(LoginConfig::new(key(1)));
    let cookie = ada_cookie(&app).await;
    let response = post_form(&app, "/logout", "", &cookie).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.header("location"), Some("/login"));
    let removal = set_cookie(&response).expect("the cookie's removal");
    assert!(
        removal.starts_with("app_session=;") && removal.contains("Max-Age=0"),
        "{removal}"
    );
    // What the browser sends now: the emptied cookie, or none.
    assert_refused(&me(&app, &pair(&removal)).await, "the emptied cookie");
    assert_refused(&me(&app, "").await, "no cookie");
}

#[tokio::test]
async fn instances_with_one_key_accept_each_others_sessions() {
    let first = app(LoginConfig::new(key(7)));
    let second = app(LoginConfig::new(key(7)));
    let other = app(LoginConfig::new(key(8)));
    let cookie = ada_cookie(&first).await;
    assert_eq!(me(&second, &cookie).await.status, StatusCode::OK);
    assert_refused(&me(&other, &cookie).await, "another key");
    // The key of the configuration is the key the module signs with.
    let base64 = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="; // 32 bytes of 7
    let settings = Settings::resolve(Args::parse_from(["app", "--session-key", base64])).unwrap();
    let configured = app(LoginConfig::new(settings.session_key.unwrap()));
    assert_eq!(me(&configured, &cookie).await.status, StatusCode::OK);
    // A generated key is nobody else's.
    let generated = app(LoginConfig::with_generated_key());
    assert_refused(&me(&generated, &cookie).await, "a generated key");
    assert_eq!(
        me(&generated, &ada_cookie(&generated).await).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_table_of_ones_own_and_insecure_cookies() {
    let mut users = Users::new();
    users.add("grace", &hash_password("cobol").unwrap());
    let app = app(LoginConfig {
        secure_cookie: false,
        session_max_age: Duration::from_secs(60),
        users,
        ..LoginConfig::new(key(1))
    });
    assert_eq!(
        post_form(&app, "/login", ADA, "").await.status,
        StatusCode::UNAUTHORIZED
    );
    let response = post_form(&app, "/login", "user=grace&password=cobol", "").await;
    let set = set_cookie(&response).unwrap();
    assert!(
        !set.contains("Secure") && set.contains("Max-Age=60"),
        "{set}"
    );
    assert!(me(&app, &pair(&set)).await.text().contains(">grace<"));
}

#[test]
fn session_keys_from_the_configuration() {
    let resolve = |args: &[&str]| Settings::resolve(Args::parse_from(args));
    let settings = resolve(&["app"]).unwrap();
    assert!(settings.session_key.is_none() && settings.secure_cookie);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.toml");
    let key_one = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="; // 32 bytes of 1
    std::fs::write(
        &file,
        format!("[session]\nkey = \"{key_one}\"\nsecure_cookie = false\n"),
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let from_file = resolve(&["app", "--config", path]).unwrap();
    assert_eq!(from_file.session_key, Some(key(1)));
    assert!(!from_file.secure_cookie);
    // The flag wins over the file.
    let key_two = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    let flagged = resolve(&["app", "--config", path, "--session-key", key_two]).unwrap();
    assert_eq!(flagged.session_key, Some(key(2)));
    for bad in ["not base64!", "AQEB", ""] {
        let error = resolve(&["app", "--session-key", bad]).unwrap_err();
        assert!(error.contains("session key"), "{error}");
        assert!(
            bad.is_empty() || !error.contains(bad),
            "the secret is not repeated: {error}"
        );
    }
}

/// hyper's HTTP/1.1 client over one keep-alive connection against the login module on `engine`:
/// refused, logged in, `/me`, logged out.
async fn hyper_conversation(engine: Box<dyn engine_core::Engine>) {
    let mut server = embedded_server(
        engine,
        ServerConfig::listen("127.0.0.1", 0),
        login_with(LoginConfig::new(key(3))),
    );
    server.start(false).unwrap();
    let mut client = common::hyper_client(server.local_addrs()[0]).await;
    let (status, headers, _) = client.request("GET", "/me", &[], "").await;
    assert_eq!(status, StatusCode::FOUND);
    assert_eq!(headers["location"], "/login");
    let (status, _, body) = client.request("GET", "/login", &[], "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("<form"));
    let wrong = "user=ada&password=wrong";
    let (status, headers, _) = client.request("POST", "/login", &[FORM], wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get("set-cookie").is_none());
    let (status, headers, _) = client.request("POST", "/login", &[FORM], ADA).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/me");
    let cookie = pair(headers["set-cookie"].to_str().unwrap());
    let with_cookie = [("Cookie", cookie.as_str())];
    let (status, _, body) = client.request("GET", "/me", &with_cookie, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains(">ada<"));
    let (status, headers, _) = client.request("POST", "/logout", &with_cookie, "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let removal = pair(headers["set-cookie"].to_str().unwrap());
    assert_eq!(removal, "app_session=");
    let (status, _, _) = client
        .request("GET", "/me", &[("Cookie", removal.as_str())], "")
        .await;
    assert_eq!(status, StatusCode::FOUND);
    server.stop(Duration::from_secs(1), Duration::from_secs(2));
}

common::hyper_on_each_engine!(hyper_conversation);

/// Logs `ada` in on the app binary `issuer` and asks `verifier` for `/me` with the cookie: whether
/// it let her in (otherwise it sent her to the form).
async fn accepted_by(issuer: &common::App, verifier: &common::App) -> bool {
    let addr = |app: &common::App| std::net::SocketAddr::from(([127, 0, 0, 1], app.port));
    let mut client = common::hyper_client(addr(issuer)).await;
    let (status, headers, _) = client.request("POST", "/login", &[FORM], ADA).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", issuer.log());
    let cookie = pair(headers["set-cookie"].to_str().unwrap());
    let mut client = common::hyper_client(addr(verifier)).await;
    let (status, _, _) = client
        .request("GET", "/me", &[("Cookie", cookie.as_str())], "")
        .await;
    assert!(
        status == StatusCode::OK || status == StatusCode::FOUND,
        "{status}"
    );
    status == StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_signs_with_the_key_it_is_configured_with() {
    common::require_uring();
    let key_one = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    let key_two = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.toml");
    std::fs::write(&file, format!("[session]\nkey = \"{key_two}\"\n")).unwrap();
    // One key through the environment on tokio, and through the flag on io_uring.
    let by_env = common::App::start_with("tokio", |c| {
        c.env("APP_SESSION_KEY", key_one);
    });
    let by_flag = common::App::start_with("uring", |c| {
        c.env_remove("APP_SESSION_KEY")
            .args(["--session-key", key_one]);
    });
    let by_file = common::App::start_with("tokio", |c| {
        c.env_remove("APP_SESSION_KEY").arg("--config").arg(&file);
    });
    let generated = common::App::start_with("tokio", |c| {
        c.env_remove("APP_SESSION_KEY");
    });
    assert!(accepted_by(&by_env, &by_flag).await);
    assert!(accepted_by(&by_flag, &by_env).await);
    assert!(accepted_by(&by_file, &by_file).await);
    assert!(!accepted_by(&by_env, &by_file).await);
    assert!(!accepted_by(&by_file, &by_flag).await);
    assert!(accepted_by(&generated, &generated).await);
    assert!(!accepted_by(&generated, &by_env).await);
    assert!(!accepted_by(&by_env, &generated).await);
    for configured in [&by_env, &by_flag, &by_file] {
        assert!(
            !configured.log().contains("no session key"),
            "{}",
            configured.log()
        );
    }
    let warning = "no session key configured";
    assert!(generated.log().contains(warning), "{}", generated.log());
}

#[test]
fn a_bad_key_stops_the_app_at_start_up_without_repeating_it() {
    let secret = "c2hvcnQ="; // "short": 5 bytes
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_app"))
        .args(["--port", "0", "--session-key", secret])
        .env_remove("APP_SESSION_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("32 bytes, not 5"), "{stderr}");
    assert!(!stderr.contains(secret), "{stderr}");
}
