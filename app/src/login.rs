//! Session-based login and logout (Ktor's seed `login` module), on the `Sessions` and
//! `Authentication` plugins.
//!
//! | request | answer |
//! |---|---|
//! | `GET /login` | the login form (HTML) |
//! | `POST /login` | a form with `user` and `password`: for a user of [`LoginConfig::users`] with that password, the signed session cookie [`SESSION_COOKIE`] and 303 to `/me`; otherwise 401 and the form again, and no cookie |
//! | `GET /me` | the user of the session; without a valid session (absent, tampered with, expired, signed with another key, or of a user no longer in the table), 302 to `/login` |
//! | `POST /logout` | the cookie removed (`Max-Age=0`), 303 to `/login` |
//!
//! The session is a [`UserSession`] held by the client, signed with HMAC-SHA256 under
//! [`LoginConfig::session_key`]: readable but not forgeable without the key. Two instances with
//! the same key accept each other's sessions; a key generated at start-up
//! ([`LoginConfig::with_generated_key`]) makes every session end with the process. The cookie is
//! `HttpOnly`, `SameSite=Lax` (so a cross-site form cannot post `/logout` with it) and, unless
//! [`LoginConfig::secure_cookie`] is off, `Secure`. Being held by the client, a session cannot be
//! revoked: logging out removes the cookie, but a copy stays valid until it expires
//! ([`LoginConfig::session_max_age`]); server-side sessions (`SessionConfig::storage`) would end
//! at logout, at the price of a store every instance shares.
//!
//! The form's body is limited to [`MAX_FORM_BODY`] by the `RequestBodyLimit` plugin; a password is
//! checked on the blocking pool (Argon2 is slow on purpose, see [`crate::users`]).

use crate::users::Users;
use engine_core::call::OutgoingContent;
use engine_core::plugins::RequestBodyLimit;
use engine_core::plugins::auth::{
    AuthenticateExt, Authentication, Challenge, PrincipalExt, UserIdPrincipal,
};
use engine_core::plugins::sessions::{SessionKey, Sessions, SessionsExt};
use engine_core::{Application, ApplicationCall, Error};
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "app_session";

/// The largest login form body, in bytes: 4 KiB, room for any user name and a long password.
/// Past it, 413.
pub const MAX_FORM_BODY: u64 = 4096;

/// What the session cookie carries: who logged in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSession {
    /// The user's name, a key of [`LoginConfig::users`].
    pub user: String,
}

/// The login module's configuration.
#[derive(Debug, Clone)]
pub struct LoginConfig {
    /// The key that signs sessions. From the app's configuration (`APP_SESSION_KEY`), so that
    /// sessions survive a restart and every instance accepts them.
    pub session_key: SessionKey,
    /// Whether the cookie is `Secure` (sent over HTTPS only): on by default. Browsers send
    /// `Secure` cookies to `http://localhost` too; elsewhere over plain HTTP, turn it off.
    pub secure_cookie: bool,
    /// How long a login lasts: 12 hours by default. A client-side session cannot be revoked
    /// before it expires (logging out removes the cookie from the browser, but a copy of it stays
    /// valid until then), so this is kept short.
    pub session_max_age: Duration,
    /// Who can log in: [`Users::demo`] by default.
    pub users: Users,
}

impl LoginConfig {
    /// Sessions signed with `session_key`, `Secure` cookies, the demo users.
    pub fn new(session_key: SessionKey) -> Self {
        Self {
            session_key,
            secure_cookie: true,
            session_max_age: Duration::from_secs(12 * 60 * 60),
            users: Users::demo(),
        }
    }

    /// As [`new`](Self::new), with a key generated now, and a warning logged: sessions then do not
    /// survive a restart, and no other instance accepts them.
    ///
    /// # Panics
    /// If the OS CSPRNG gives no key (at start-up).
    #[track_caller]
    pub fn with_generated_key() -> Self {
        let key = SessionKey::generate()
            .unwrap_or_else(|e| panic!("login: no session key from the OS CSPRNG: {e}"));
        tracing::warn!(
            "no session key configured (APP_SESSION_KEY, --session-key, [session] key): \
             using one generated at start-up, so sessions end when the process does"
        );
        Self::new(key)
    }
}

/// The login module with a key generated at start-up ([`LoginConfig::with_generated_key`]).
pub fn login(app: &mut Application) {
    login_with(LoginConfig::with_generated_key())(app);
}

/// The login module with `config`.
pub fn login_with(config: LoginConfig) -> impl FnOnce(&mut Application) {
    move |app: &mut Application| {
        install_plugins(app, config);
        routes(app);
    }
}

/// The users in the application's state; Sessions with the signed cookie; Authentication with
/// the session provider, which sends a refused call to the form.
fn install_plugins(app: &mut Application, config: LoginConfig) {
    let LoginConfig {
        session_key,
        secure_cookie,
        session_max_age,
        users,
    } = config;
    app.state(Logins {
        users: Arc::new(users),
    });
    app.install(Sessions, |sessions| {
        sessions.cookie::<UserSession>(SESSION_COOKIE, |session| {
            session.sign([session_key]);
            session.cookie.secure = secure_cookie;
            session.max_age = Some(session_max_age);
        });
    });
    app.install(Authentication, |auth| {
        auth.session::<UserSession>("session", |provider| {
            provider.challenge = Challenge::Redirect("/login".into());
            // A session is as good as its user: one of a user this table does not have (another
            // instance's, or from before a restart with other users) does not get in.
            provider.validate(|call: ApplicationCall, session: UserSession| async move {
                let known = call
                    .state::<Logins>()
                    .is_some_and(|l| l.users.contains(&session.user));
                known.then(|| UserIdPrincipal::new(session.user))
            });
        });
    });
}

fn routes(app: &mut Application) {
    app.routing(|route| {
        route.route("/login", |login| {
            login.install(RequestBodyLimit, |c| c.max_body_size = MAX_FORM_BODY);
            login.get("", |call: ApplicationCall| async move {
                respond_html(&call, StatusCode::OK, &form_page(None)).await
            });
            login.post("", log_in);
        });
        route.post("/logout", |call: ApplicationCall| async move {
            call.sessions().clear::<UserSession>().await?;
            see_other(&call, "/login").await
        });
        route.authenticate(["session"], |protected| {
            protected.get("/me", |call: ApplicationCall| async move {
                let user = call.principal::<UserIdPrincipal>().map(|p| p.name);
                let page = me_page(&user.unwrap_or_default());
                respond_html(&call, StatusCode::OK, &page).await
            });
        });
    });
}

/// The users, in the application's state.
struct Logins {
    users: Arc<Users>,
}

/// `POST /login`: checks the form's credentials, then sets the session or shows the form again.
async fn log_in(call: ApplicationCall) -> Result<(), Error> {
    let form = call.receive_form().await?;
    let user = form.get("user").unwrap_or_default().to_owned();
    let password = form.get("password").unwrap_or_default().to_owned();
    let users = call
        .state::<Logins>()
        .ok_or_else(|| Error::msg("the login module's state is missing"))?
        .users
        .clone();
    let checked = user.clone();
    let verified = tokio::task::spawn_blocking(move || users.verify(&checked, &password))
        .await
        .map_err(|e| Error::msg(format!("the password check failed: {e}")))?;
    if !verified {
        let page = form_page(Some("Wrong user name or password."));
        return respond_html(&call, StatusCode::UNAUTHORIZED, &page).await;
    }
    call.sessions().set(UserSession { user }).await?;
    see_other(&call, "/me").await
}

/// 303 See Other to `location` (RFC 9110 §15.4.4): the browser follows a POST's answer with a GET.
async fn see_other(call: &ApplicationCall, location: &'static str) -> Result<(), Error> {
    call.response()
        .set_header(header::LOCATION, HeaderValue::from_static(location));
    call.respond_status(StatusCode::SEE_OTHER).await
}

async fn respond_html(call: &ApplicationCall, status: StatusCode, page: &str) -> Result<(), Error> {
    let html = HeaderValue::from_static("text/html; charset=utf-8");
    let content = OutgoingContent::bytes(page.to_owned(), html);
    call.respond(content.with_status(status)).await
}

/// The login form, with an error message after a refusal. Nothing the client sent is shown.
fn form_page(error: Option<&'static str>) -> String {
    let error = error.map_or(String::new(), |e| format!("<p role=\"alert\">{e}</p>\n"));
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Log in</title></head>\n\
         <body><h1>Log in</h1>\n{error}<form method=\"post\" action=\"/login\">\n\
         <label>User <input name=\"user\" autocomplete=\"username\" required></label>\n\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\n\
         <button type=\"submit\">Log in</button>\n</form></body></html>\n"
    )
}

/// The page of a logged-in user. `user` is a name of the table, which `Users::add` keeps to
/// characters HTML shows as they are.
fn me_page(user: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{user}</title></head>\n\
         <body><h1>Logged in as <span id=\"user\">{user}</span></h1>\n\
         <form method=\"post\" action=\"/logout\"><button type=\"submit\">Log out</button></form>\n\
         </body></html>\n"
    )
}
