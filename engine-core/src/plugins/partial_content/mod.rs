//! `PartialContent` (Ktor's plugin of the same name): range requests (RFC 9110 §14).
//!
//! For a GET or HEAD whose response would be `200` with a body of known length (bytes, or a stream
//! with a length):
//! - the response says `Accept-Ranges: bytes` (§14.3);
//! - one satisfiable range: `206` with `Content-Range: bytes first-last/length` and those bytes;
//! - several: `206` as `multipart/byteranges` (§14.6), each part with the original `Content-Type`
//!   and its `Content-Range`; overlapping ranges are merged first ([`range::resolve`]);
//! - none satisfiable: `416` with `Content-Range: bytes */length` (§15.5.17);
//! - an `If-Range` (§13.1.5) that does not match the response's strong `ETag` or exact
//!   `Last-Modified`, a `Range` this does not read, or more than [`PartialContentConfig::max_ranges`]
//!   ranges: the whole `200`, as §14.2 allows.
//!
//! A stream is skipped to each range and dropped after the last, never collected; several ranges
//! of a stream are served only in ascending order (a stream cannot go back), otherwise the whole
//! body is sent. Bytes are sliced without a copy.
//!
//! It runs in the `PartialContent` phase, after `ConditionalHeaders` (a 304 or 412 comes first,
//! §13.2.2) and before `Compression`, which leaves a 206 alone: ranges are of the identity
//! representation. See [`content_phases`].
//!
//! ```
//! use engine_core::plugins::PartialContent;
//! use engine_core::testing::test_application;
//! use engine_core::{Application, ApplicationCall};
//! use http::Method;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let app = test_application(|app: &mut Application| {
//!     app.install(PartialContent, |_| {});
//!     app.routing(|route| {
//!         route.get("/", |call: ApplicationCall| async move { call.respond_text("0123456789").await });
//!     });
//! });
//! let headers = [("range", "bytes=2-4")];
//! let response = app.client().request(Method::GET, "/", &headers, Default::default()).await.unwrap();
//! assert_eq!(response.status, 206);
//! assert_eq!(response.header("content-range"), Some("bytes 2-4/10"));
//! assert_eq!(response.text(), "234");
//! # });
//! ```

mod body;
pub mod range;

pub use range::{RangeError, RangeSpec, parse_range};

use super::call_id::generate_call_id;
use super::conditional_headers::EntityTag;
use super::content_phases::{self, PARTIAL_CONTENT_PHASE, effective_status};
use crate::call::{OutgoingContent, ResponseBody};
use crate::pipeline::done;
use crate::{Application, ApplicationCall, Plugin};
use http::header::{ACCEPT_RANGES, CONTENT_RANGE, CONTENT_TYPE, ETAG, LAST_MODIFIED};
use http::{HeaderValue, Method, StatusCode};
use std::ops::Range;

/// The `PartialContent` plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct PartialContent;

/// The configuration of [`PartialContent`].
#[derive(Debug, Clone)]
pub struct PartialContentConfig {
    /// The most ranges one request may ask for; a `Range` with more is ignored (the whole body is
    /// sent). 10 by default (Ktor's `maxRangeCount`): every range costs a part header, and many
    /// small ranges are a way to make a small request cost a large response.
    pub max_ranges: usize,
}

impl Default for PartialContentConfig {
    fn default() -> Self {
        Self { max_ranges: 10 }
    }
}

impl Plugin for PartialContent {
    type Config = PartialContentConfig;
    const NAME: &'static str = "PartialContent";

    fn install(self, app: &mut Application, config: PartialContentConfig) {
        content_phases::insert(app);
        app.send_pipeline()
            .intercept_boxed(PARTIAL_CONTENT_PHASE, move |ctx| {
                serve_ranges(&config, &ctx.context, &mut ctx.subject);
                done()
            });
    }
}

fn serve_ranges(
    config: &PartialContentConfig,
    call: &ApplicationCall,
    content: &mut OutgoingContent,
) {
    let method = call.request().method();
    if (method != Method::GET && method != Method::HEAD)
        || effective_status(call, content) != StatusCode::OK
    {
        return;
    }
    let length = match &content.body {
        ResponseBody::Bytes(data) => data.len() as u64,
        ResponseBody::Stream {
            length: Some(length),
            ..
        } => *length,
        _ => return,
    };
    call.response().with_headers(|h| {
        h.entry(ACCEPT_RANGES)
            .or_insert(HeaderValue::from_static("bytes"));
    });
    let headers = call.request().headers();
    let mut fields = headers.get_all_bytes("range");
    // A repeated `Range` is not a field this reads.
    let (Some(field), None) = (fields.next(), fields.next()) else {
        return;
    };
    if !if_range_holds(call) {
        return;
    }
    let Ok(specs) = parse_range(field, config.max_ranges) else {
        return;
    };
    let Some(ranges) = range::resolve(&specs, length) else {
        set_content_range(call, &format!("bytes */{length}"));
        *content = OutgoingContent::status(StatusCode::RANGE_NOT_SATISFIABLE);
        call.response().with_headers(|h| h.remove(CONTENT_TYPE));
        return;
    };
    if matches!(content.body, ResponseBody::Stream { .. }) && !range::is_ascending(&ranges) {
        return;
    }
    cut(call, content, &ranges, length);
}

/// Replaces the body by `ranges` of it, as a 206.
fn cut(call: &ApplicationCall, content: &mut OutgoingContent, ranges: &[Range<u64>], length: u64) {
    let body = std::mem::replace(&mut content.body, ResponseBody::Empty);
    content.status = Some(StatusCode::PARTIAL_CONTENT);
    if let [range] = ranges {
        set_content_range(call, &body::content_range(range, length));
        content.body = match body {
            ResponseBody::Bytes(data) => ResponseBody::Bytes(body::slice(&data, range)),
            ResponseBody::Stream { stream, .. } => body::stream_range(stream, range.clone()),
            other => other,
        };
        return;
    }
    let original_type = content
        .content_type
        .clone()
        .or_else(|| {
            call.response()
                .with_headers(|h| h.get(CONTENT_TYPE).cloned())
        })
        .and_then(|v| v.to_str().ok().map(str::to_owned));
    let boundary = generate_call_id();
    let multipart = body::Multipart::new(ranges, length, original_type.as_deref(), &boundary);
    content.body = match body {
        ResponseBody::Bytes(data) => multipart.over_bytes(&data),
        ResponseBody::Stream { stream, .. } => multipart.over_stream(stream),
        other => other,
    };
    content.content_type =
        HeaderValue::from_str(&format!("multipart/byteranges; boundary={boundary}")).ok();
}

fn set_content_range(call: &ApplicationCall, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        call.response().set_header(CONTENT_RANGE, value);
    }
}

/// Whether the request has no `If-Range`, or one that holds (§13.1.5): an entity-tag that strongly
/// matches the response's `ETag`, or a date equal to its `Last-Modified`.
fn if_range_holds(call: &ApplicationCall) -> bool {
    let Some(condition) = call.request().header("if-range") else {
        return true;
    };
    call.response().with_headers(|h| {
        let header = |name| h.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
        if condition.trim_start().starts_with(['"', 'W']) {
            let current = header(ETAG).and_then(EntityTag::parse);
            let given = EntityTag::parse(&condition);
            return matches!((given, current), (Some(g), Some(c)) if g.strong_eq(&c));
        }
        let date = |v: &str| httpdate::parse_http_date(v.trim()).ok();
        match (date(&condition), header(LAST_MODIFIED).and_then(date)) {
            (Some(given), Some(current)) => given == current,
            _ => false,
        }
    })
}
