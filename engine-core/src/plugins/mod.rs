//! The standard plugins, one module each, built only on the public plugin API ([`Plugin`],
//! the pipelines, the call API), as a third-party plugin would be.
//!
//! - [`default_headers`]: headers every response carries (`Server`, ...), never duplicated.
//! - [`status_pages`]: responses for handler errors and for calls that end with a bare status.
//! - [`call_id`]: an id per call, taken from a request header or generated, echoed in the response.
//! - [`call_logging`]: one `tracing` event per call: method, path, status, duration, call id.
//! - [`rate_limit`]: token buckets per client, global or per route; 429 with `Retry-After`.
//! - [`request_body_limit`]: a body limit per application or route, stricter than the connection's.
//!
//! [`Plugin`]: crate::Plugin

pub mod call_id;
pub mod call_logging;
pub mod default_headers;
pub mod rate_limit;
pub mod request_body_limit;
pub mod status_pages;

pub use call_id::{CALL_ID, CallId, CallIdConfig};
pub use call_logging::{CallLogging, CallLoggingConfig};
pub use default_headers::{DefaultHeaders, DefaultHeadersConfig};
pub use rate_limit::{
    RateLimit, RateLimitConfig, RateLimitName, RateLimitRoute, RateLimiterConfig,
};
pub use request_body_limit::{RequestBodyLimit, RequestBodyLimitConfig};
pub use status_pages::{StatusPages, StatusPagesConfig};
