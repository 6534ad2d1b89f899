//! The example backend's modules. `main.rs` chooses the engine and starts them; tests run them on
//! the in-memory engine.

use engine_core::{Application, ApplicationCall};

/// The landing page (Ktor's seed `landing` module).
pub fn landing(app: &mut Application) {
    app.routing(|route| {
        route.get("/", |call: ApplicationCall| async move {
            call.respond_text("Hello World!").await
        });
    });
}

/// Login (Ktor's seed `login` module): a form posted to `/login`. Sessions arrive with the Sessions
/// plugin; until then it checks the form and answers.
pub fn login(app: &mut Application) {
    app.routing(|route| {
        route.post("/login", |call: ApplicationCall| async move {
            let form = call.receive_form().await?;
            match (form.get("user"), form.get("password")) {
                (Some(user), Some(password)) if !user.is_empty() && !password.is_empty() => {
                    let greeting = format!("Welcome, {user}!");
                    call.respond_text(greeting).await
                }
                _ => call.respond_status(http::StatusCode::UNAUTHORIZED).await,
            }
        });
    });
}

/// The README's examples compile (and those not marked `no_run` run) as doctests of this crate,
/// which has every engine at hand.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
