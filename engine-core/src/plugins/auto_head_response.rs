//! `AutoHeadResponse` (Ktor's plugin of the same name): every `GET` route answers `HEAD` too, with
//! the headers `GET` would send and no body (RFC 9110 §9.3.2).
//!
//! Routing does not imply `HEAD` for `GET` (see `routing::resolve`); this plugin does, the way Ktor
//! does it: in [`CallPipeline::PLUGINS`], before routing, a `HEAD` request's method is overridden to
//! `GET` ([`Request::override_method`](crate::call::Request::override_method)), so routing, the
//! handler and the send pipeline see a `GET`. The body needs nothing from the plugin: the connection
//! driver frames a response by the method the client sent ([`Request::local_method`]), so a `HEAD`
//! keeps `Content-Length` (a body of known length) and gets no body bytes, and a streamed body is
//! never polled.
//!
//! Explicit `route.head(...)` handlers are shadowed by their `GET` sibling once this plugin is
//! installed (as in Ktor); a `HEAD` to a path with no `GET` gets the `405` or `404` a `GET` would.
//!
//! [`Request::local_method`]: crate::call::Request::local_method
//!
//! ```
//! use engine_core::plugins::AutoHeadResponse;
//! use engine_core::testing::test_application;
//! use engine_core::{Application, ApplicationCall};
//! use http::Method;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let app = test_application(|app: &mut Application| {
//!     app.install(AutoHeadResponse, |_| {});
//!     app.routing(|route| {
//!         route.get("/", |call: ApplicationCall| async move { call.respond_text("twelve bytes").await });
//!     });
//! });
//! let response = app.client().request(Method::HEAD, "/", &[], Default::default()).await.unwrap();
//! assert_eq!(response.status, 200);
//! assert_eq!(response.header("content-length"), Some("12"));
//! assert!(response.body.is_empty());
//! # });
//! ```

use crate::pipeline::done;
use crate::{Application, CallPipeline, Plugin};
use http::Method;

/// The `AutoHeadResponse` plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct AutoHeadResponse;

/// The configuration of [`AutoHeadResponse`]: nothing to configure.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AutoHeadResponseConfig {}

impl Plugin for AutoHeadResponse {
    type Config = AutoHeadResponseConfig;
    const NAME: &'static str = "AutoHeadResponse";

    fn install(self, app: &mut Application, _config: AutoHeadResponseConfig) {
        app.call_pipeline()
            .intercept_boxed(CallPipeline::PLUGINS, |ctx| {
                let request = ctx.context.request();
                if request.local_method() == Method::HEAD {
                    // Refused only if another plugin overrode the method first: its choice stands.
                    let _ = request.override_method(Method::GET);
                }
                done()
            });
    }
}
