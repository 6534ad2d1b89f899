//! `HSTS` (Ktor's plugin of the same name): `Strict-Transport-Security` (RFC 6797 §6.1) on the
//! responses to requests made over https, telling browsers to use https for the host from then on.
//!
//! Only secure requests get it: RFC 6797 §7.2, "An HSTS Host MUST NOT include the STS header field
//! in HTTP responses conveyed over non-secure transport." No engine here terminates TLS, so a
//! request is secure when its [`origin`](super::forwarded::CallOrigin) says `https`: install
//! [`XForwardedHeaders`](super::forwarded::XForwardedHeaders) or
//! [`ForwardedHeaders`](super::forwarded::ForwardedHeaders) behind a TLS-terminating proxy.
//!
//! The field is set in [`CallPipeline::PLUGINS`], after the forwarding plugins of
//! [`CallPipeline::SETUP`], before the handler; a handler may replace it.

use super::forwarded::CallOrigin;
use crate::pipeline::done;
use crate::{Application, CallPipeline, Plugin};
use http::HeaderValue;
use http::header::STRICT_TRANSPORT_SECURITY;
use std::time::Duration;

/// The `HSTS` plugin.
///
/// ```
/// use engine_core::Application;
/// use engine_core::plugins::Hsts;
/// use engine_core::plugins::forwarded::XForwardedHeaders;
/// use std::time::Duration;
///
/// let mut app = Application::new();
/// app.install(XForwardedHeaders, |_| {});
/// app.install(Hsts, |c| {
///     c.max_age = Duration::from_secs(2 * 365 * 24 * 3600);
///     c.preload = true;
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Hsts;

/// The directives of [`Hsts`].
#[derive(Debug, Clone)]
pub struct HstsConfig {
    /// `max-age`, whole seconds (§6.1.1). One year by default (Ktor's).
    pub max_age: Duration,
    /// `includeSubDomains` (§6.1.2). On by default (Ktor's).
    pub include_sub_domains: bool,
    /// `preload`, the browsers' preload lists' opt-in (not in RFC 6797; the lists also ask for a
    /// `max-age` of a year or more and `includeSubDomains`). Off by default.
    pub preload: bool,
}

impl Default for HstsConfig {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(365 * 24 * 3600),
            include_sub_domains: true,
            preload: false,
        }
    }
}

impl HstsConfig {
    /// The field value: `max-age=N[; includeSubDomains][; preload]`.
    pub fn header_value(&self) -> HeaderValue {
        let mut value = format!("max-age={}", self.max_age.as_secs());
        if self.include_sub_domains {
            value.push_str("; includeSubDomains");
        }
        if self.preload {
            value.push_str("; preload");
        }
        HeaderValue::from_str(&value).expect("digits and fixed words are a valid field value")
    }
}

impl Plugin for Hsts {
    type Config = HstsConfig;
    const NAME: &'static str = "HSTS";

    fn install(self, app: &mut Application, config: HstsConfig) {
        let value = config.header_value();
        app.call_pipeline()
            .intercept_boxed(CallPipeline::PLUGINS, move |ctx| {
                let call = &ctx.context;
                if call.is_https_origin() {
                    call.response()
                        .set_header(STRICT_TRANSPORT_SECURITY, value.clone());
                }
                done()
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values() {
        let year = HstsConfig::default();
        assert_eq!(year.header_value(), "max-age=31536000; includeSubDomains");
        let all = HstsConfig {
            max_age: Duration::from_millis(1500),
            include_sub_domains: true,
            preload: true,
        };
        assert_eq!(all.header_value(), "max-age=1; includeSubDomains; preload");
        let bare = HstsConfig {
            max_age: Duration::ZERO,
            include_sub_domains: false,
            preload: false,
        };
        assert_eq!(bare.header_value(), "max-age=0");
    }
}
