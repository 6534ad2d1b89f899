//! engine-core: Ktor's server model in Rust.
//!
//! Engines (io_uring in `engine-uring`, tokio in `engine-tokio`, and the in-memory test engine here)
//! only move bytes, drive timers and hand calls to the pipeline. Everything about HTTP/1.1 is decided
//! once, here.
//!
//! # Layout
//! - [`http`]: sans-I/O HTTP/1.1 (RFC 9112): request head parser, body framing decision, chunked
//!   decoder, response head encoder, limits, parse errors with their status.
//! - [`conn`]: the connection state machine and the one driver every engine runs.
//! - [`call`]: `ApplicationCall`: request view, response, attributes, body receive and respond.
//! - [`Application`], [`Plugin`], [`Module`]: what modules configure, frozen into [`AppRuntime`].
//! - [`Engine`], [`embedded_server`], [`ServerConfig`]: the engine seam and the server around it.
//! - `testing` (feature `testing`): the in-memory engine, a test client, the conformance suite.
//! - [`listen`]: binding listeners with socket2, the same for every engine, or serving inherited ones.
//! - [`systemd`]: readiness notification (`sd_notify`) and socket activation (`LISTEN_FDS`).
//! - [`upgrade`]: the raw connection after `101 Switching Protocols`.
//! - [`pipeline`]: phases, interceptors, `proceed` / `proceed_with` / `finish`.
//! - [`routing`]: the route tree (pure, table-tested) and its builder.
//! - [`hooks`]: plugins built from hooks (`on_call`, `on_call_receive`, `on_call_respond`,
//!   `ResponseSent`), application-wide or route-scoped.
//! - [`plugins`]: the standard plugins: `DefaultHeaders`, `StatusPages`, `CallId`, `CallLogging`,
//!   `RateLimit`, `RequestBodyLimit`, and the content plugins `ContentNegotiation`, `Compression`,
//!   `AutoHeadResponse`, `ConditionalHeaders`, `PartialContent`, `CachingHeaders`;
//!   `Sessions` and `Authentication`; and the web plugins `CORS`, static files, SSE,
//!   `XForwardedHeaders` / `ForwardedHeaders`, `HSTS`.
//! - [`websocket`]: the WebSockets plugin (RFC 6455): handshake, `route.web_socket`, sessions,
//!   a sans-I/O frame layer and decoder, permessage-deflate (RFC 7692).

mod application;
pub mod call;
pub mod conn;
mod engine;
mod error;
pub mod hooks;
pub mod http;
pub mod listen;
pub mod multipart;
pub mod pipeline;
pub mod plugins;
pub mod routing;
pub mod systemd;
#[cfg(feature = "testing")]
pub mod testing;
pub mod upgrade;
pub mod websocket;

pub use application::{
    AppRuntime, Application, CallPipeline, LifecycleEvent, Module, ModuleOutput, Plugin,
    ReceivePipeline, SendPipeline,
};
pub use call::ApplicationCall;
pub use engine::{Connector, EmbeddedServer, Engine, ServerConfig, StartError, embedded_server};
pub use error::{BoxError, Error, Result};
