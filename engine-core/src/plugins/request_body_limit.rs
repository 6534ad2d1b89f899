//! `RequestBodyLimit` (Ktor's plugin of the same name): a request body limit stricter than the
//! connection's [`ConnConfig::max_body_size`], for the whole application or for one route and the
//! routes under it.
//!
//! - A request whose `Content-Length` is over the limit is answered 413 before the handler runs,
//!   so the body is never read: no `100 Continue` goes out, and the unread body is drained (up to
//!   [`ConnConfig::max_drain`]) or the connection closed, as for any unread body.
//! - A body whose length is not declared (chunked) fails the handler's receive with a 413 error as
//!   soon as it grows past the limit ([`ApplicationCall::limit_request_body`]); the handler's error
//!   becomes the 413 response unless it answers otherwise.
//!
//! Installed both on the application and on a route, the stricter limit wins. The limit counts the
//! body as it comes off the connection (RFC 9112 §6: the message body after its transfer coding is
//! removed), not what a receive-pipeline plugin may make of it.
//!
//! [`ConnConfig::max_body_size`]: crate::conn::ConnConfig::max_body_size
//! [`ConnConfig::max_drain`]: crate::conn::ConnConfig::max_drain

use crate::pipeline::{BoxFuture, PipelineContext, done};
use crate::routing::{Route, RoutePlugin};
use crate::{Application, ApplicationCall, CallPipeline, Error, Plugin};
use http::StatusCode;

/// The `RequestBodyLimit` plugin, for an application or a route.
///
/// ```
/// use engine_core::{Application, ApplicationCall};
/// use engine_core::plugins::RequestBodyLimit;
///
/// let mut app = Application::new();
/// app.install(RequestBodyLimit, |c| c.max_body_size = 1024 * 1024);
/// app.routing(|route| {
///     route.route("/avatar", |avatar| {
///         avatar.install(RequestBodyLimit, |c| c.max_body_size = 64 * 1024);
///         avatar.put("", |call: ApplicationCall| async move {
///             let image = call.receive_bytes().await?;
///             call.respond_text(format!("{} bytes", image.len())).await
///         });
///     });
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestBodyLimit;

/// The configuration of [`RequestBodyLimit`].
#[derive(Debug, Clone)]
pub struct RequestBodyLimitConfig {
    /// The largest request body accepted, in bytes: 1 MiB by default. Past it: 413.
    pub max_body_size: u64,
}

impl Default for RequestBodyLimitConfig {
    fn default() -> Self {
        Self {
            max_body_size: 1024 * 1024,
        }
    }
}

impl Plugin for RequestBodyLimit {
    type Config = RequestBodyLimitConfig;
    const NAME: &'static str = "RequestBodyLimit";

    fn install(self, app: &mut Application, config: RequestBodyLimitConfig) {
        let limit = config.max_body_size;
        app.call_pipeline()
            .intercept_boxed(CallPipeline::PLUGINS, move |ctx| enforce(ctx, limit));
    }
}

impl RoutePlugin for RequestBodyLimit {
    type Config = RequestBodyLimitConfig;

    fn install(self, route: &mut Route, config: RequestBodyLimitConfig) {
        let limit = config.max_body_size;
        route.intercept_boxed(CallPipeline::PLUGINS, move |ctx| enforce(ctx, limit));
    }
}

/// Limits the call's body to `limit`, and answers 413 at once when its declared length is over it.
fn enforce(
    ctx: &mut PipelineContext<(), ApplicationCall>,
    limit: u64,
) -> BoxFuture<'_, Result<(), Error>> {
    let call = &ctx.context;
    call.limit_request_body(limit);
    // The connection checked the framing: a `Content-Length` that reached the call is one valid
    // length (a list of equal values is read by the body count instead).
    let declared = call
        .request()
        .headers()
        .get("content-length")
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_none_or(|length| length <= limit) {
        return done();
    }
    Box::pin(async move {
        ctx.context
            .respond_status(StatusCode::PAYLOAD_TOO_LARGE)
            .await?;
        ctx.finish();
        Ok(())
    })
}
