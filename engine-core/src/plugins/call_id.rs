//! `CallId` (Ktor's plugin of the same name): an id per call, for logs and for correlating a
//! response with its request.
//!
//! The id is taken from a request header (`X-Request-Id` by default) when it is valid, generated
//! otherwise, stored in the call's attributes under [`CALL_ID`], and echoed in the response under
//! the same header. A valid id is 1 to [`MAX_CALL_ID_LEN`] visible ASCII characters (RFC 9110
//! section 5.5 `VCHAR`, `%x21-7E`): an id that goes into logs and headers must not carry spaces,
//! control characters or unbounded length from a peer. An invalid id is replaced, not rejected.

use crate::call::AttributeKey;
use crate::pipeline::done;
use crate::{Application, CallPipeline, Plugin};
use http::header::{HeaderName, HeaderValue};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Where the call's id is stored.
pub static CALL_ID: AttributeKey<String> = AttributeKey::new("CallId");

/// The longest id accepted from a request.
pub const MAX_CALL_ID_LEN: usize = 64;

/// The `CallId` plugin.
///
/// ```
/// use engine_core::Application;
/// use engine_core::plugins::CallId;
///
/// let mut app = Application::new();
/// app.install(CallId, |_| {});
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CallId;

/// The configuration of [`CallId`].
#[derive(Debug, Clone)]
pub struct CallIdConfig {
    /// The request header the id is read from, and the response header it is echoed in.
    /// `X-Request-Id` by default.
    pub header: HeaderName,
    /// Whether to read the id from the request; when `false`, every id is generated.
    /// `true` by default.
    pub retrieve: bool,
    /// Whether to echo the id in the response. `true` by default.
    pub echo: bool,
}

impl Default for CallIdConfig {
    fn default() -> Self {
        Self {
            header: HeaderName::from_static("x-request-id"),
            retrieve: true,
            echo: true,
        }
    }
}

/// Whether `id` is acceptable as a call id: 1 to [`MAX_CALL_ID_LEN`] visible ASCII characters.
pub fn is_valid_call_id(id: &str) -> bool {
    (1..=MAX_CALL_ID_LEN).contains(&id.len()) && id.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// A new id: 32 hex digits, unique within the process (a counter) and unpredictable across
/// processes (hashed with a randomly keyed hasher, as std seeds `HashMap`'s).
pub fn generate_call_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(count);
    let high = hasher.finish();
    hasher.write_u64(high);
    let low = hasher.finish();
    format!("{high:016x}{low:016x}")
}

impl Plugin for CallId {
    type Config = CallIdConfig;
    const NAME: &'static str = "CallId";

    fn install(self, app: &mut Application, config: CallIdConfig) {
        app.call_pipeline()
            .intercept_boxed(CallPipeline::SETUP, move |ctx| {
                let call = &ctx.context;
                let incoming = if config.retrieve {
                    call.request()
                        .header(config.header.as_str())
                        .filter(|id| is_valid_call_id(id))
                } else {
                    None
                };
                let id = incoming.unwrap_or_else(generate_call_id);
                if config.echo {
                    // A valid id is visible ASCII, and a generated one hex: both are valid values.
                    if let Ok(value) = HeaderValue::from_str(&id) {
                        call.response().set_header(config.header.clone(), value);
                    }
                }
                call.attributes().put(&CALL_ID, id);
                done()
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        let long = "a".repeat(MAX_CALL_ID_LEN);
        let too_long = "a".repeat(MAX_CALL_ID_LEN + 1);
        let cases = [
            ("abc-123", true),
            ("!~", true),
            (long.as_str(), true),
            ("", false),
            ("a b", false),
            ("a\tb", false),
            ("caf\u{e9}", false),
            (too_long.as_str(), false),
        ];
        for (id, valid) in cases {
            assert_eq!(is_valid_call_id(id), valid, "{id:?}");
        }
    }

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let a = generate_call_id();
        let b = generate_call_id();
        assert!(is_valid_call_id(&a), "{a}");
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
