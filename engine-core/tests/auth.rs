//! The Authentication plugin through the in-memory engine: each provider, each strategy, and the
//! challenges (RFC 7617, RFC 6750).

use engine_core::plugins::auth::{
    AuthenticateExt, Authentication, AuthenticationStrategy, Challenge, FORM_PARAMETERS,
    PrincipalExt, UserIdPrincipal,
};
use engine_core::plugins::sessions::{SessionKey, Sessions, SessionsExt};
use engine_core::testing::{TestApplication, TestResponse, test_application};
use engine_core::{Application, ApplicationCall};
use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

const BASIC_CHALLENGE: &str = r#"Basic realm="Admin", charset="UTF-8""#;
/// `ann:secret`
const ANN: &str = "Basic YW5uOnNlY3JldA==";
/// `ann:wrong`
const ANN_WRONG: &str = "Basic YW5uOndyb25n";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Login {
    user: String,
}

/// A token's principal.
#[derive(Debug, Clone, PartialEq)]
struct Client(String);

fn providers(app: &mut Application) {
    app.install(Sessions, |s| {
        s.cookie::<Login>("LOGIN", |c| {
            c.sign([SessionKey::from_slice(&[3; 32]).unwrap()]);
        });
    });
    app.install(Authentication, |auth| {
        auth.basic("basic", |b| {
            b.realm = "Admin".into();
            b.validate(|_call, c| async move {
                (c.name == "ann" && c.password == "secret").then(|| UserIdPrincipal::new(c.name))
            });
        });
        auth.bearer("bearer", |b| {
            b.realm = Some("api".into());
            b.authenticate(
                |_call, c| async move { (c.token == "t0k3n").then(|| Client("app".into())) },
            );
        });
        auth.form("form", |f| {
            f.validate(|_call, c| async move {
                (c.name == "ann" && c.password == "secret").then(|| UserIdPrincipal::new(c.name))
            });
        });
        auth.form("form-redirect", |f| {
            f.challenge = Challenge::Redirect("/login".into());
        });
        auth.session::<Login>("session", |s| {
            s.challenge = Challenge::Redirect("/login".into());
            s.validate(|_call, login: Login| async move { Some(UserIdPrincipal::new(login.user)) });
        });
    });
}

/// Who the call is: every principal it carries.
async fn whoami(call: ApplicationCall) -> engine_core::Result<()> {
    let user = call.principal::<UserIdPrincipal>().map(|p| p.name);
    let client = call.principal::<Client>().map(|c| c.0);
    let form_extra = call
        .attributes()
        .get(&FORM_PARAMETERS)
        .and_then(|f| f.get("extra").map(str::to_owned));
    call.respond_text(format!(
        "user={user:?} client={client:?} extra={form_extra:?}"
    ))
    .await
}

fn app() -> TestApplication {
    test_application(|app: &mut Application| {
        providers(app);
        app.routing(|route| {
            route.get("/open", whoami);
            route.get("/login", |call: ApplicationCall| async move {
                call.sessions().set(Login { user: "sam".into() }).await?;
                call.respond_text("logged in").await
            });
            route.authenticate(["basic"], |r| {
                r.get("/basic", whoami);
            });
            route.authenticate(["bearer"], |r| {
                r.get("/bearer", whoami);
            });
            route.authenticate(["form"], |r| {
                r.post("/form", whoami);
            });
            route.authenticate(["form-redirect"], |r| {
                r.post("/form-redirect", whoami);
            });
            route.authenticate(["session"], |r| {
                r.get("/session", whoami);
            });
            route.authenticate(["basic", "bearer"], |r| {
                r.get("/either", whoami);
            });
            route.authenticate_with(["basic", "bearer"], AuthenticationStrategy::Optional, |r| {
                r.get("/optional", whoami);
            });
            route.authenticate_with(
                ["basic", "session"],
                AuthenticationStrategy::Required,
                |r| {
                    r.get("/both", whoami);
                },
            );
            route.authenticate(["nobody"], |r| {
                r.get("/misconfigured", whoami);
            });
        });
    })
}

async fn get(app: &TestApplication, path: &str, headers: &[(&str, &str)]) -> TestResponse {
    app.client()
        .request(Method::GET, path, headers, Default::default())
        .await
        .unwrap()
}

/// The `LOGIN` cookie `/login` sets, as a `Cookie` value.
async fn login_cookie(app: &TestApplication) -> String {
    let login = get(app, "/login", &[]).await;
    let set = login.header("set-cookie").expect("a session cookie");
    set.split(';').next().unwrap_or_default().to_owned()
}

fn assert_unauthorized(response: &TestResponse, challenges: &[&str]) {
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        response.raw_head
    );
    assert_eq!(
        response.header_all("www-authenticate"),
        challenges,
        "{}",
        response.raw_head
    );
}

#[tokio::test]
async fn basic_challenges_and_admits() {
    let app = app();
    for headers in [
        &[][..],
        &[("authorization", ANN_WRONG)][..],
        &[("authorization", "Basic !!!")][..],
        &[("authorization", "Basic dXNlcnBhc3M=")][..],
        &[("authorization", "Bearer t0k3n")][..],
        &[("authorization", "Basic")][..],
    ] {
        assert_unauthorized(&get(&app, "/basic", headers).await, &[BASIC_CHALLENGE]);
    }
    let admitted = get(&app, "/basic", &[("authorization", ANN)]).await;
    assert_eq!(
        admitted.text(),
        r#"user=Some("ann") client=None extra=None"#
    );
    // The scheme is case-insensitive (RFC 9110 §11.1).
    let lower = get(
        &app,
        "/basic",
        &[("authorization", "basic YW5uOnNlY3JldA==")],
    )
    .await;
    assert_eq!(lower.status, StatusCode::OK);
    // A route outside every scope is open.
    assert_eq!(
        get(&app, "/open", &[]).await.text(),
        "user=None client=None extra=None"
    );
}

#[tokio::test]
async fn bearer_challenges_name_the_error_only_for_a_refused_token() {
    let app = app();
    assert_unauthorized(&get(&app, "/bearer", &[]).await, &[r#"Bearer realm="api""#]);
    let refused = get(&app, "/bearer", &[("authorization", "Bearer nope")]).await;
    assert_unauthorized(&refused, &[r#"Bearer realm="api", error="invalid_token""#]);
    let malformed = get(&app, "/bearer", &[("authorization", "Bearer a b")]).await;
    assert_unauthorized(
        &malformed,
        &[r#"Bearer realm="api", error="invalid_token""#],
    );
    let admitted = get(&app, "/bearer", &[("authorization", "Bearer t0k3n")]).await;
    assert_eq!(
        admitted.text(),
        r#"user=None client=Some("app") extra=None"#
    );
}

async fn post_form(app: &TestApplication, path: &str, body: &'static str) -> TestResponse {
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    app.client()
        .request(Method::POST, path, &headers, body.into())
        .await
        .unwrap()
}

#[tokio::test]
async fn form_admits_and_keeps_the_fields_for_the_handler() {
    let app = app();
    let admitted = post_form(&app, "/form", "user=ann&password=secret&extra=42").await;
    assert_eq!(
        admitted.text(),
        r#"user=Some("ann") client=None extra=Some("42")"#
    );
    for body in ["user=ann&password=nope", "user=ann", ""] {
        assert_unauthorized(&post_form(&app, "/form", body).await, &[]);
    }
    let not_a_form = app
        .client()
        .post("/form", "user=ann&password=secret")
        .await
        .unwrap();
    assert_unauthorized(&not_a_form, &[]);
    let redirected = post_form(&app, "/form-redirect", "user=ann&password=secret").await;
    assert_eq!(redirected.status, StatusCode::FOUND);
    assert_eq!(redirected.header("location"), Some("/login"));
}

#[tokio::test]
async fn session_provider_admits_a_session_and_redirects_without_one() {
    let app = app();
    let refused = get(&app, "/session", &[]).await;
    assert_eq!(refused.status, StatusCode::FOUND);
    assert_eq!(refused.header("location"), Some("/login"));
    let cookie = login_cookie(&app).await;
    let admitted = get(&app, "/session", &[("cookie", &cookie)]).await;
    assert_eq!(
        admitted.text(),
        r#"user=Some("sam") client=None extra=None"#
    );
    let forged = get(
        &app,
        "/session",
        &[("cookie", "LOGIN=.eyJ1c2VyIjoiZXZlIn0")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FOUND);
}

#[tokio::test]
async fn first_successful_takes_either_and_challenges_with_both() {
    let app = app();
    assert_eq!(
        get(&app, "/either", &[("authorization", ANN)]).await.status,
        StatusCode::OK
    );
    let bearer = get(&app, "/either", &[("authorization", "Bearer t0k3n")]).await;
    assert_eq!(bearer.text(), r#"user=None client=Some("app") extra=None"#);
    assert_unauthorized(
        &get(&app, "/either", &[]).await,
        &[BASIC_CHALLENGE, r#"Bearer realm="api""#],
    );
    let wrong = get(&app, "/either", &[("authorization", "Bearer nope")]).await;
    assert_unauthorized(
        &wrong,
        &[
            BASIC_CHALLENGE,
            r#"Bearer realm="api", error="invalid_token""#,
        ],
    );
}

#[tokio::test]
async fn optional_admits_anonymous_calls_but_not_refused_credentials() {
    let app = app();
    let anonymous = get(&app, "/optional", &[]).await;
    assert_eq!(anonymous.text(), "user=None client=None extra=None");
    assert_eq!(
        get(&app, "/optional", &[("authorization", ANN)])
            .await
            .status,
        StatusCode::OK
    );
    let wrong = get(&app, "/optional", &[("authorization", ANN_WRONG)]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn required_needs_every_provider() {
    let app = app();
    let cookie = login_cookie(&app).await;
    assert_unauthorized(
        &get(&app, "/both", &[("cookie", &cookie)]).await,
        &[BASIC_CHALLENGE],
    );
    let basic_only = get(&app, "/both", &[("authorization", ANN)]).await;
    assert_eq!(
        basic_only.status,
        StatusCode::FOUND,
        "the session provider's challenge"
    );
    let both = get(
        &app,
        "/both",
        &[("authorization", ANN), ("cookie", &cookie)],
    )
    .await;
    assert_eq!(both.status, StatusCode::OK);
    // Both principals are there; `principal` gives the first.
    assert_eq!(both.text(), r#"user=Some("ann") client=None extra=None"#);
}

#[tokio::test]
async fn a_scope_naming_an_unknown_provider_fails_with_500() {
    let app = app();
    assert_eq!(
        get(&app, "/misconfigured", &[]).await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}
