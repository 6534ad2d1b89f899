//! The standard plugins, one module each, built only on the public plugin API ([`Plugin`],
//! the pipelines, the call API), as a third-party plugin would be.
//!
//! - [`auth`]: `Authentication`: Basic, Bearer, form and session providers; route scopes that
//!   require them; 401 with `WWW-Authenticate`; the principal on the call.
//! - [`default_headers`]: headers every response carries (`Server`, ...), never duplicated.
//! - [`status_pages`]: responses for handler errors and for calls that end with a bare status.
//! - [`call_id`]: an id per call, taken from a request header or generated, echoed in the response.
//! - [`call_logging`]: one `tracing` event per call: method, path, status, duration, call id.
//! - [`rate_limit`]: token buckets per client, global or per route; 429 with `Retry-After`.
//! - [`request_body_limit`]: a body limit per application or route, stricter than the connection's.
//! - [`content_negotiation`]: typed values in and out (`respond_value`, `receive_value`), JSON built
//!   in, by `Accept` and `Content-Type` (406, 415, 400).
//! - [`compression`]: gzip, deflate and br responses by `Accept-Encoding`, streamed; request bodies
//!   decompressed within a limit.
//! - [`auto_head_response`]: every `GET` route answers `HEAD`.
//! - [`conditional_headers`]: `ETag` / `Last-Modified` preconditions: 304 and 412.
//! - [`partial_content`]: `Range` requests: 206, `multipart/byteranges`, 416.
//! - [`caching_headers`]: `Cache-Control` and `Expires` by content type.
//! - [`sessions`]: typed sessions in cookies or headers, signed or encrypted, client- or
//!   server-side.
//! - [`cors`]: cross-origin resource sharing (Fetch standard): preflights, allowed origins.
//! - [`static_files`]: `route.static_files(path, dir)`: files under a directory, safely.
//! - [`sse`]: `route.sse(path, handler)`: server-sent events, with heartbeats.
//! - [`forwarded`]: the request's origin behind proxies: `XForwardedHeaders`, `ForwardedHeaders`.
//! - [`hsts`]: `Strict-Transport-Security` on https requests.
//!
//! The content plugins share an order of send-pipeline phases, whatever order they are installed
//! in: see [`content_phases`].
//!
//! [`Plugin`]: crate::Plugin

pub mod auth;
pub mod auto_head_response;
pub mod caching_headers;
pub mod call_id;
pub mod call_logging;
pub mod compression;
pub mod conditional_headers;
pub mod content_negotiation;
pub mod content_phases;
pub mod cors;
pub mod default_headers;
pub mod field_values;
pub mod forwarded;
pub mod hsts;
pub mod partial_content;
pub mod rate_limit;
pub mod request_body_limit;
pub mod sessions;
pub mod sse;
pub mod static_files;
pub mod status_pages;

pub use auth::{Authentication, AuthenticationConfig};
pub use auto_head_response::{AutoHeadResponse, AutoHeadResponseConfig};
pub use caching_headers::{CachingHeaders, CachingHeadersConfig};
pub use call_id::{CALL_ID, CallId, CallIdConfig};
pub use call_logging::{CallLogging, CallLoggingConfig};
pub use compression::{Compression, CompressionConfig};
pub use conditional_headers::{ConditionalHeaders, ConditionalHeadersConfig};
pub use content_negotiation::{ContentNegotiation, ContentNegotiationConfig, TypedContent};
pub use cors::{Cors, CorsConfig};
pub use default_headers::{DefaultHeaders, DefaultHeadersConfig};
pub use forwarded::{CallOrigin, ForwardedHeaders, RequestOrigin, XForwardedHeaders};
pub use hsts::{Hsts, HstsConfig};
pub use partial_content::{PartialContent, PartialContentConfig};
pub use rate_limit::{
    RateLimit, RateLimitConfig, RateLimitName, RateLimitRoute, RateLimiterConfig,
};
pub use request_body_limit::{RequestBodyLimit, RequestBodyLimitConfig};
pub use sessions::{Sessions, SessionsConfig, SessionsExt};
pub use sse::{ServerSentEvent, Sse, SseRoute, SseSession};
pub use static_files::StaticFilesRoute;
pub use status_pages::{StatusPages, StatusPagesConfig};
