//! `ConditionalHeaders` (Ktor's plugin of the same name): conditional requests (RFC 9110 §13)
//! answered from the response's validators: `304 Not Modified` for a GET or HEAD whose client copy
//! is current, `412 Precondition Failed` when `If-Match` or `If-Unmodified-Since` fails (or
//! `If-None-Match` matches on another method).
//!
//! The validators are the response's `ETag` and `Last-Modified` headers, as the handler set them,
//! and what the configured [`version`](ConditionalHeadersConfig::version) providers return (added to
//! the response when the handler did not set them). The evaluation is [`preconditions::evaluate`],
//! a pure function a handler can also call itself.
//!
//! It runs in the send pipeline's `ConditionalHeaders` phase (see
//! [`content_phases`]): after rendering, so a provider may look at the
//! bytes; after `CachingHeaders`, so a 304 keeps `Cache-Control` and `Expires`; before
//! `PartialContent` and `Compression`. Only responses that would be 2xx are evaluated (§13.2.1).
//! A 304 keeps the response's headers (`ETag`, `Cache-Control`, `Vary`, ...) but not its
//! `Content-Type` or body (§15.4.5).
//!
//! Being a send-pipeline plugin, it decides once the handler has responded: right for GET and HEAD,
//! but a handler of a state-changing method (PUT, DELETE) that must not act on a failed `If-Match`
//! evaluates the preconditions itself before acting, with [`preconditions::evaluate`].
//!
//! ```
//! use engine_core::plugins::ConditionalHeaders;
//! use engine_core::testing::test_application;
//! use engine_core::{Application, ApplicationCall};
//! use http::{HeaderValue, Method};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let app = test_application(|app: &mut Application| {
//!     app.install(ConditionalHeaders, |_| {});
//!     app.routing(|route| {
//!         route.get("/", |call: ApplicationCall| async move {
//!             call.response().set_header("etag", HeaderValue::from_static("\"v1\""));
//!             call.respond_text("hello").await
//!         });
//!     });
//! });
//! let headers = [("if-none-match", "\"v1\"")];
//! let response = app.client().request(Method::GET, "/", &headers, Default::default()).await.unwrap();
//! assert_eq!(response.status, 304);
//! assert_eq!(response.header("etag"), Some("\"v1\""));
//! assert!(response.body.is_empty());
//! # });
//! ```

pub mod preconditions;

pub use preconditions::{Conditions, EntityTag, EntityTagList, Outcome, Validators};

use super::content_phases::{self, CONDITIONAL_HEADERS_PHASE, effective_status};
use crate::call::{OutgoingContent, ResponseBody};
use crate::pipeline::done;
use crate::{Application, ApplicationCall, Plugin};
use http::StatusCode;
use http::header::{CONTENT_TYPE, ETAG, LAST_MODIFIED};
use std::fmt;
use std::sync::Arc;

/// The `ConditionalHeaders` plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConditionalHeaders;

/// A function that tells a response's validators.
pub type VersionProvider =
    Arc<dyn Fn(&ApplicationCall, &OutgoingContent) -> Validators + Send + Sync>;

/// The configuration of [`ConditionalHeaders`]: validator providers, none by default.
#[derive(Clone, Default)]
pub struct ConditionalHeadersConfig {
    providers: Vec<VersionProvider>,
}

impl fmt::Debug for ConditionalHeadersConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConditionalHeadersConfig")
            .field("providers", &self.providers.len())
            .finish()
    }
}

impl ConditionalHeadersConfig {
    /// Adds a provider of validators (Ktor's `version { call, content -> ... }`): what it returns
    /// counts where the response's own `ETag` / `Last-Modified` are missing, and is written to the
    /// response. Providers run in the order they were added; the first to give a validator wins.
    pub fn version(
        &mut self,
        provider: impl Fn(&ApplicationCall, &OutgoingContent) -> Validators + Send + Sync + 'static,
    ) -> &mut Self {
        self.providers.push(Arc::new(provider));
        self
    }
}

impl Plugin for ConditionalHeaders {
    type Config = ConditionalHeadersConfig;
    const NAME: &'static str = "ConditionalHeaders";

    fn install(self, app: &mut Application, config: ConditionalHeadersConfig) {
        content_phases::insert(app);
        let providers: Arc<[VersionProvider]> = config.providers.into();
        app.send_pipeline()
            .intercept_boxed(CONDITIONAL_HEADERS_PHASE, move |ctx| {
                check(&providers, &ctx.context, &mut ctx.subject);
                done()
            });
    }
}

fn check(providers: &[VersionProvider], call: &ApplicationCall, content: &mut OutgoingContent) {
    if matches!(
        content.body,
        ResponseBody::Upgrade(_) | ResponseBody::Value(_)
    ) || !effective_status(call, content).is_success()
    {
        return;
    }
    let validators = validators(providers, call, content);
    let headers = call.request().headers();
    let (if_match, if_none_match) = (headers.joined("if-match"), headers.joined("if-none-match"));
    let conditions = Conditions {
        if_match: if_match.as_deref(),
        if_none_match: if_none_match.as_deref(),
        if_modified_since: single(&headers, "if-modified-since"),
        if_unmodified_since: single(&headers, "if-unmodified-since"),
    };
    let status = match preconditions::evaluate(call.request().method(), &conditions, &validators) {
        Outcome::Proceed => return,
        Outcome::NotModified => StatusCode::NOT_MODIFIED,
        Outcome::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
    };
    *content = OutgoingContent::status(status);
    call.response().with_headers(|h| h.remove(CONTENT_TYPE));
}

/// The response's validators: its headers first, then the providers'; those from providers are
/// written to the response.
fn validators(
    providers: &[VersionProvider],
    call: &ApplicationCall,
    content: &OutgoingContent,
) -> Validators {
    let mut validators = call.response().with_headers(|h| Validators {
        etag: h
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .and_then(EntityTag::parse),
        last_modified: h
            .get(LAST_MODIFIED)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok()),
    });
    for provider in providers {
        if validators.etag.is_some() && validators.last_modified.is_some() {
            break;
        }
        let provided = provider(call, content);
        if validators.etag.is_none()
            && let Some(etag) = provided.etag
            && let Some(value) = etag.to_header_value()
        {
            call.response().set_header(ETAG, value);
            validators.etag = Some(etag);
        }
        if validators.last_modified.is_none()
            && let Some(time) = provided.last_modified
            && let Ok(value) = httpdate::fmt_http_date(time).parse()
        {
            call.response().set_header(LAST_MODIFIED, value);
            validators.last_modified = Some(time);
        }
    }
    validators
}

/// A date field's value: `None` when absent or repeated (§13.1.3: "more than one member" is to be
/// ignored).
fn single<'h>(headers: &'h crate::call::Headers, name: &str) -> Option<&'h str> {
    let mut values = headers.get_all(name);
    let first = values.next()?;
    values.next().is_none().then_some(first)
}
