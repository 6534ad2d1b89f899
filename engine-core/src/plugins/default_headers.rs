//! `DefaultHeaders` (Ktor's plugin of the same name): headers added to every response, each only
//! when the handler did not set it, so a handler's own `Server` appears once.
//!
//! The headers are added in [`SendPipeline::AFTER`], which runs inside `respond`, once the handler
//! has set what it wants; and, for calls that end without `respond` (a bare status, or nobody
//! answering: the engine's 404), after the call pipeline. Error responses the engine writes for an
//! unhandled error carry no headers but its own (see `StatusPages` to answer errors). `Date` is
//! written by the engine on every response and is not this plugin's business.

use crate::pipeline::done;
use crate::{Application, ApplicationCall, CallPipeline, Plugin, SendPipeline};
use http::header::{HeaderName, HeaderValue, SERVER};
use std::sync::Arc;

/// The `DefaultHeaders` plugin.
///
/// ```
/// use engine_core::Application;
/// use engine_core::plugins::DefaultHeaders;
/// use http::HeaderValue;
///
/// let mut app = Application::new();
/// app.install(DefaultHeaders, |c| {
///     c.server = Some(HeaderValue::from_static("engine-core"));
///     c.header("x-frame-options", "DENY");
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultHeaders;

/// What [`DefaultHeaders`] adds.
#[derive(Debug, Clone, Default)]
pub struct DefaultHeadersConfig {
    /// Headers added to every response that does not have them.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The `Server` header; none by default.
    pub server: Option<HeaderValue>,
}

impl DefaultHeadersConfig {
    /// Adds a header from strings.
    ///
    /// # Panics
    /// On a name or value HTTP cannot carry: a configuration mistake.
    #[track_caller]
    pub fn header(&mut self, name: &str, value: &str) -> &mut Self {
        let name = HeaderName::from_bytes(name.as_bytes())
            .unwrap_or_else(|e| panic!("DefaultHeaders: invalid header name {name:?}: {e}"));
        let value = HeaderValue::from_str(value)
            .unwrap_or_else(|e| panic!("DefaultHeaders: invalid value for {name}: {e}"));
        self.headers.push((name, value));
        self
    }
}

impl Plugin for DefaultHeaders {
    type Config = DefaultHeadersConfig;
    const NAME: &'static str = "DefaultHeaders";

    fn install(self, app: &mut Application, config: DefaultHeadersConfig) {
        let mut headers = config.headers;
        if let Some(server) = config.server {
            headers.push((SERVER, server));
        }
        let headers: Arc<[Field]> = group_by_name(headers).into();
        let sent = headers.clone();
        app.send_pipeline()
            .intercept_boxed(SendPipeline::AFTER, move |ctx| {
                add_missing(&ctx.context, &sent);
                done()
            });
        app.call_pipeline()
            .intercept_boxed(CallPipeline::SETUP, move |ctx| {
                let headers = headers.clone();
                Box::pin(async move {
                    ctx.proceed().await?;
                    if !ctx.context.response().is_committed() {
                        add_missing(&ctx.context, &headers);
                    }
                    Ok(())
                })
            });
    }
}

/// A configured name with its values, in the order they were configured.
type Field = (HeaderName, Vec<HeaderValue>);

/// The configured headers grouped by name, in the order each name first appears: so that a name
/// configured twice is added with both values, or not at all.
fn group_by_name(headers: Vec<(HeaderName, HeaderValue)>) -> Vec<Field> {
    let mut fields: Vec<Field> = Vec::new();
    for (name, value) in headers {
        match fields.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => fields.push((name, vec![value])),
        }
    }
    fields
}

/// Adds each header the response does not have yet. A name configured twice keeps both values,
/// unless the handler set that name.
fn add_missing(call: &ApplicationCall, fields: &[Field]) {
    call.response().with_headers(|map| {
        for (name, values) in fields {
            if !map.contains_key(name) {
                for value in values {
                    map.append(name.clone(), value.clone());
                }
            }
        }
    });
}
