//! `StatusPages` (Ktor's plugin of the same name): responses for calls that fail or end without a
//! body.
//!
//! Two kinds of handler, each keyed by a status code:
//! - [`StatusPagesConfig::error`]: runs when the pipeline returns an error whose
//!   [`Error::status_code`] is that status, and the call has not responded yet;
//!   [`StatusPagesConfig::any_error`] catches the errors no keyed handler takes.
//! - [`StatusPagesConfig::status`]: runs for a response of that status without a body: a call that
//!   ends without responding (a handler that only set a status, or nobody answering: the engine's
//!   404), and a bare status responded with `respond_status` (routing's 405 and 400, a plugin's
//!   413 or 429).
//!
//! A handler responds itself, with any status: to replace a 404's body and keep the status, it sets
//! `404` and responds with the body. What a handler sends is not handled again: an error from it is
//! answered by the engine with its status (500 for most errors), and a bare status from it is sent
//! as it is.
//!
//! The plugin runs in its own phase, `StatusPages`, right after [`CallPipeline::MONITORING`]: it
//! wraps every plugin and the handler, and monitoring (`CallLogging`) sees the final status. Bare
//! statuses that were responded are caught in [`SendPipeline::BEFORE`] (as Ktor does it, in the send
//! pipeline): the handler's page is sent in their place, and the rest of the send pipeline skips the
//! bare status.

use crate::call::{AttributeKey, ResponseBody};
use crate::pipeline::{BoxFuture, Phase, done};
use crate::{Application, ApplicationCall, CallPipeline, Error, Plugin, SendPipeline};
use http::StatusCode;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// The phase `StatusPages` inserts after [`CallPipeline::MONITORING`].
pub const STATUS_PAGES_PHASE: Phase = Phase::new("StatusPages");

/// Set on a call once one of its handlers runs: what that handler sends is not handled again.
static HANDLED: AttributeKey<()> = AttributeKey::new("StatusPagesHandled");

type ErrorHandler =
    Arc<dyn Fn(ApplicationCall, Error) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>;
type StatusHandler =
    Arc<dyn Fn(ApplicationCall, StatusCode) -> BoxFuture<'static, Result<(), Error>> + Send + Sync>;

/// The `StatusPages` plugin.
///
/// ```
/// use engine_core::{Application, ApplicationCall, Error};
/// use engine_core::plugins::StatusPages;
/// use http::StatusCode;
///
/// let mut app = Application::new();
/// app.install(StatusPages, |c| {
///     c.status(StatusCode::NOT_FOUND, |call: ApplicationCall, status| async move {
///         call.response().status(status);
///         call.respond_text("nothing here").await
///     });
///     c.any_error(|call: ApplicationCall, error: Error| async move {
///         call.response().status(error.status_code());
///         call.respond_text("sorry").await
///     });
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct StatusPages;

/// The handlers of [`StatusPages`].
#[derive(Default)]
pub struct StatusPagesConfig {
    errors: HashMap<StatusCode, ErrorHandler>,
    any_error: Option<ErrorHandler>,
    statuses: HashMap<StatusCode, StatusHandler>,
}

impl fmt::Debug for StatusPagesConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusPagesConfig")
            .field("errors", &self.errors.keys().collect::<Vec<_>>())
            .field("any_error", &self.any_error.is_some())
            .field("statuses", &self.statuses.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl StatusPagesConfig {
    /// Handles the errors with status `status`; a later handler for the same status replaces it.
    pub fn error<F, Fut>(&mut self, status: StatusCode, handler: F) -> &mut Self
    where
        F: Fn(ApplicationCall, Error) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.errors.insert(status, boxed_error(handler));
        self
    }

    /// Handles the errors no [`error`](Self::error) handler takes.
    pub fn any_error<F, Fut>(&mut self, handler: F) -> &mut Self
    where
        F: Fn(ApplicationCall, Error) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.any_error = Some(boxed_error(handler));
        self
    }

    /// Handles the calls that end without responding, with status `status` (404 when nothing set
    /// one).
    pub fn status<F, Fut>(&mut self, status: StatusCode, handler: F) -> &mut Self
    where
        F: Fn(ApplicationCall, StatusCode) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        self.statuses.insert(
            status,
            Arc::new(move |call, status| Box::pin(handler(call, status))),
        );
        self
    }

    fn error_handler(&self, status: StatusCode) -> Option<ErrorHandler> {
        self.errors
            .get(&status)
            .or(self.any_error.as_ref())
            .cloned()
    }
}

fn boxed_error<F, Fut>(handler: F) -> ErrorHandler
where
    F: Fn(ApplicationCall, Error) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    Arc::new(move |call, error| Box::pin(handler(call, error)))
}

impl Plugin for StatusPages {
    type Config = StatusPagesConfig;
    const NAME: &'static str = "StatusPages";

    fn install(self, app: &mut Application, config: StatusPagesConfig) {
        let config = Arc::new(config);
        intercept_bare_statuses(app, config.clone());
        let pipeline = app.call_pipeline();
        pipeline.insert_phase_after(CallPipeline::MONITORING, STATUS_PAGES_PHASE);
        pipeline.intercept_boxed(STATUS_PAGES_PHASE, move |ctx| {
            let config = config.clone();
            Box::pin(async move {
                let result = ctx.proceed().await;
                let call = ctx.context.clone();
                if call.response().is_committed() || call.attributes().contains(&HANDLED) {
                    return result;
                }
                match result {
                    Err(error) => match config.error_handler(error.status_code()) {
                        Some(handler) => {
                            call.attributes().put(&HANDLED, ());
                            handler(call, error).await
                        }
                        None => Err(error),
                    },
                    Ok(()) => {
                        let status = call
                            .response()
                            .get_status()
                            .unwrap_or(StatusCode::NOT_FOUND);
                        match config.statuses.get(&status) {
                            Some(handler) => {
                                call.attributes().put(&HANDLED, ());
                                handler(call, status).await
                            }
                            None => Ok(()),
                        }
                    }
                }
            })
        });
    }
}

/// Catches bare statuses on their way out: a response without a body whose status has a handler
/// is replaced by the handler's page.
fn intercept_bare_statuses(app: &mut Application, config: Arc<StatusPagesConfig>) {
    app.send_pipeline()
        .intercept_boxed(SendPipeline::BEFORE, move |ctx| {
            let call = &ctx.context;
            let content = &ctx.subject;
            let status = content
                .status
                .or_else(|| call.response().get_status())
                .unwrap_or(StatusCode::OK);
            let handler = match content.body {
                ResponseBody::Empty if !call.attributes().contains(&HANDLED) => {
                    config.statuses.get(&status).cloned()
                }
                _ => None,
            };
            let Some(handler) = handler else {
                return done();
            };
            let call = call.clone();
            Box::pin(async move {
                // The page responds in the bare status's place: nothing after this runs on it.
                ctx.finish();
                call.attributes().put(&HANDLED, ());
                handler(call, status).await
            })
        });
}
