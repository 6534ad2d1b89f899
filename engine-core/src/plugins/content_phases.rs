//! The send-pipeline phases the content plugins share, and what they all read off a response.
//!
//! Whatever order the plugins are installed in, their phases sit in one order between
//! [`SendPipeline::RENDER`] and [`SendPipeline::CONTENT_ENCODING`]:
//!
//! ```text
//! Before, Transform, Render          ContentNegotiation turns a typed value into bytes
//!   CachingHeaders                   Cache-Control / Expires from the content type
//!   ConditionalHeaders               304 / 412 from ETag and Last-Modified
//!   PartialContent                   206 / 416 from Range, on the identity representation
//! ContentEncoding                    Compression (never a 206)
//! TransferEncoding, After            AutoHeadResponse needs nothing here: the driver drops the body
//! ```
//!
//! Why this order: caching headers must be on a 304 too (RFC 9110 §15.4.5), so they come before the
//! 304 replaces the content; a 304 or 412 answers before any range is cut (RFC 9110 §13.2.2: the
//! preconditions first, Range last); ranges are of the identity representation, so they are cut
//! before compression, which then leaves the 206 alone.

use crate::call::OutgoingContent;
use crate::pipeline::Phase;
use crate::{Application, ApplicationCall, SendPipeline};
use http::StatusCode;

/// Where `CachingHeaders` runs: after rendering, before a 304 can replace the content.
pub const CACHING_HEADERS_PHASE: Phase = Phase::new("CachingHeaders");
/// Where `ConditionalHeaders` runs.
pub const CONDITIONAL_HEADERS_PHASE: Phase = Phase::new("ConditionalHeaders");
/// Where `PartialContent` runs: after the preconditions, before compression.
pub const PARTIAL_CONTENT_PHASE: Phase = Phase::new("PartialContent");

/// Adds the three phases, in their order, unless they are there already.
pub fn insert(app: &mut Application) {
    let pipeline = app.send_pipeline();
    pipeline.insert_phase_before(SendPipeline::CONTENT_ENCODING, CACHING_HEADERS_PHASE);
    pipeline.insert_phase_after(CACHING_HEADERS_PHASE, CONDITIONAL_HEADERS_PHASE);
    pipeline.insert_phase_after(CONDITIONAL_HEADERS_PHASE, PARTIAL_CONTENT_PHASE);
}

/// The status the response will have: the content's, the one the handler set, or 200.
pub fn effective_status(call: &ApplicationCall, content: &OutgoingContent) -> StatusCode {
    content
        .status
        .or_else(|| call.response().get_status())
        .unwrap_or(StatusCode::OK)
}

/// The response's media type without parameters, lowercased: the content's `Content-Type`, or one
/// the handler set as a header.
pub fn media_type(call: &ApplicationCall, content: &OutgoingContent) -> Option<String> {
    let value = match &content.content_type {
        Some(value) => Some(value.clone()),
        None => call
            .response()
            .with_headers(|h| h.get(http::header::CONTENT_TYPE).cloned()),
    }?;
    let text = value.to_str().ok()?;
    Some(super::field_values::essence(text).to_ascii_lowercase())
}

/// Adds `field` (a request field name, lowercase) to the response's `Vary`, unless it is there or
/// `Vary` is `*` (RFC 9110 §12.5.5).
pub fn add_vary(call: &ApplicationCall, field: &str) {
    call.response().with_headers(|headers| {
        let listed = headers
            .get_all(http::header::VARY)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|name| {
                let name = name.trim();
                name == "*" || name.eq_ignore_ascii_case(field)
            });
        if !listed && let Ok(value) = http::HeaderValue::from_str(field) {
            headers.append(http::header::VARY, value);
        }
    });
}
