//! The example backend's modules. `main.rs` chooses the engine and starts them; tests run them on
//! the in-memory engine.

pub mod api;
pub mod chat;
pub mod config;
pub mod login;
pub mod users;

pub use login::login;

use engine_core::websocket::{self, DeflateConfig, WebSocketRoute, WebSocketSession, WebSockets};
use engine_core::{Application, ApplicationCall};
use http::HeaderValue;

/// The landing page (Ktor's seed `landing` module).
pub fn landing(app: &mut Application) {
    app.routing(|route| {
        route.get("/", |call: ApplicationCall| async move {
            call.respond_text("Hello World!").await
        });
    });
}

/// TechEmpower's endpoints and probes: `GET /plaintext`, `GET /json` (serialized per request),
/// `POST /echo` (the body streamed back as it arrives), and the WebSocket `/ws/echo` (every text and
/// binary message sent back; the peer's Close ends the session; permessage-deflate for clients that
/// offer it).
pub fn techempower(app: &mut Application) {
    // The application's modules share one application: the plugin is installed once.
    if !app.is_installed::<WebSockets>() {
        app.install(WebSockets, |c| c.deflate = Some(DeflateConfig::default()));
    }
    app.routing(|route| {
        route.web_socket("/ws/echo", |mut session: WebSocketSession| async move {
            while let Some(message) = session.recv().await {
                match message? {
                    message @ (websocket::Message::Text(_) | websocket::Message::Binary(_)) => {
                        session.send(message).await?;
                    }
                    websocket::Message::Close(_) => break,
                    websocket::Message::Ping(_)
                    | websocket::Message::Pong(_)
                    | websocket::Message::Frame(_) => {}
                }
            }
            Ok(())
        });
        route.get("/plaintext", |call: ApplicationCall| async move {
            call.respond_text("Hello, World!").await
        });
        route.get("/json", |call: ApplicationCall| async move {
            let body = serde_json::to_vec(&Message {
                message: "Hello, World!",
            })?;
            call.respond_bytes(body, HeaderValue::from_static("application/json"))
                .await
        });
        route.post("/echo", |call: ApplicationCall| async move {
            let content_type = call
                .request()
                .headers()
                .get("content-type")
                .and_then(|v| HeaderValue::from_str(v).ok())
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            let body = call.receive_stream().await?;
            call.respond_stream(body, content_type).await
        });
    });
}

#[derive(serde::Serialize)]
struct Message {
    message: &'static str,
}

/// The README's examples compile (and those not marked `no_run` run) as doctests of this crate,
/// which has every engine at hand.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
