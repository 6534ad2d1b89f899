//! `CallLogging` (Ktor's plugin of the same name): one `tracing` event per call, at `INFO`, target
//! `engine_core::plugins::call_logging`, with the fields `method`, `path`, `status`, `duration_us`,
//! and `call_id` when [`CallId`](super::CallId) is installed.
//!
//! It wraps the rest of the call pipeline in [`CallPipeline::MONITORING`] and measures it. The
//! status is the response's; a call nobody answered is logged as 404 (what the engine sends), and a
//! call that failed with the error's status (what the engine sends for it). Install `StatusPages`
//! to have handled errors logged with the status of the page that answered them.

use super::call_id::CALL_ID;
use crate::{Application, CallPipeline, Plugin};
use http::StatusCode;
use std::time::Instant;

/// The `CallLogging` plugin.
///
/// ```
/// use engine_core::Application;
/// use engine_core::plugins::CallLogging;
///
/// let mut app = Application::new();
/// app.install(CallLogging, |_| {});
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CallLogging;

/// The configuration of [`CallLogging`]: nothing yet; the level and format are fixed.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallLoggingConfig {}

impl Plugin for CallLogging {
    type Config = CallLoggingConfig;
    const NAME: &'static str = "CallLogging";

    fn install(self, app: &mut Application, _config: CallLoggingConfig) {
        app.call_pipeline()
            .intercept_boxed(CallPipeline::MONITORING, |ctx| {
                Box::pin(async move {
                    let start = Instant::now();
                    let result = ctx.proceed().await;
                    let duration_us =
                        u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
                    let call = &ctx.context;
                    let response = call.response();
                    let status = match (&result, response.is_committed()) {
                        (Err(error), false) => error.status_code(),
                        _ => response.get_status().unwrap_or(StatusCode::NOT_FOUND),
                    };
                    let request = call.request();
                    // What the client sent, not what AutoHeadResponse made of a HEAD.
                    let method = request.local_method();
                    let path = request.path();
                    let status = status.as_u16();
                    match call.attributes().get(&CALL_ID) {
                        Some(call_id) => tracing::info!(
                            %method, path, status, duration_us, call_id, "call"
                        ),
                        None => tracing::info!(%method, path, status, duration_us, "call"),
                    }
                    result
                })
            });
    }
}
