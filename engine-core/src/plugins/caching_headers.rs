//! `CachingHeaders` (Ktor's plugin of the same name): `Cache-Control` (RFC 9111 §5.2.2) and
//! `Expires` (§5.3) chosen per response, typically by content type.
//!
//! The options for a response are the call's own, if the handler put some under [`CACHING`], else
//! the first of the configured [`options`](CachingHeadersConfig::options) functions that returns
//! some. A header the handler set itself is kept: the options fill in only what is missing.
//!
//! It runs in the send pipeline's `CachingHeaders` phase, after rendering (the content type is
//! known) and before `ConditionalHeaders`, so that a 304 carries the same `Cache-Control` and
//! `Expires` the 200 would (RFC 9110 §15.4.5). See [`content_phases`].
//!
//! ```
//! use engine_core::plugins::caching_headers::{CacheControl, CachingHeaders, CachingOptions};
//! use engine_core::testing::test_application;
//! use engine_core::{Application, ApplicationCall};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let app = test_application(|app: &mut Application| {
//!     app.install(CachingHeaders, |c| {
//!         c.options(|_call, content| {
//!             let text = content.content_type.as_ref()?.to_str().ok()?;
//!             text.starts_with("text/css").then(|| CachingOptions::cache_control(CacheControl::max_age(3600)))
//!         });
//!     });
//!     app.routing(|route| {
//!         route.get("/style.css", |call: ApplicationCall| async move {
//!             call.respond_bytes("body {}", "text/css".parse().unwrap()).await
//!         });
//!     });
//! });
//! let response = app.client().get("/style.css").await.unwrap();
//! assert_eq!(response.header("cache-control"), Some("max-age=3600"));
//! # });
//! ```

use super::content_phases::{self, CACHING_HEADERS_PHASE};
use crate::call::{AttributeKey, OutgoingContent, ResponseBody};
use crate::pipeline::done;
use crate::{Application, ApplicationCall, Plugin};
use http::HeaderValue;
use http::header::{CACHE_CONTROL, EXPIRES};
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// Options a handler sets for its own call; they win over the configured functions.
pub static CACHING: AttributeKey<CachingOptions> = AttributeKey::new("CachingOptions");

/// Who may store a response (RFC 9111 §5.2.2.6, §5.2.2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// `public`: shared caches too.
    Public,
    /// `private`: only the user's own cache.
    Private,
}

/// A `Cache-Control` response value (Ktor's `CacheControl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheControl {
    /// `no-cache`: store, but revalidate before every use (§5.2.2.4).
    NoCache(Option<Visibility>),
    /// `no-store`: do not store at all (§5.2.2.5).
    NoStore(Option<Visibility>),
    /// `max-age`: fresh for this long (§5.2.2.1), with the other freshness directives.
    MaxAge {
        /// `max-age`, seconds.
        max_age: u32,
        /// `s-maxage`, seconds, for shared caches (§5.2.2.10).
        proxy_max_age: Option<u32>,
        /// `must-revalidate` (§5.2.2.2).
        must_revalidate: bool,
        /// `proxy-revalidate` (§5.2.2.8).
        proxy_revalidate: bool,
        /// `public` or `private`.
        visibility: Option<Visibility>,
    },
}

impl CacheControl {
    /// `max-age=seconds` and nothing else.
    pub fn max_age(seconds: u32) -> Self {
        Self::MaxAge {
            max_age: seconds,
            proxy_max_age: None,
            must_revalidate: false,
            proxy_revalidate: false,
            visibility: None,
        }
    }
}

impl fmt::Display for CacheControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let visibility = |v: &Option<Visibility>| match v {
            Some(Visibility::Public) => ", public",
            Some(Visibility::Private) => ", private",
            None => "",
        };
        match self {
            Self::NoCache(v) => write!(f, "no-cache{}", visibility(v)),
            Self::NoStore(v) => write!(f, "no-store{}", visibility(v)),
            Self::MaxAge {
                max_age,
                proxy_max_age,
                must_revalidate,
                proxy_revalidate,
                visibility: v,
            } => {
                write!(f, "max-age={max_age}")?;
                if let Some(s) = proxy_max_age {
                    write!(f, ", s-maxage={s}")?;
                }
                if *must_revalidate {
                    f.write_str(", must-revalidate")?;
                }
                if *proxy_revalidate {
                    f.write_str(", proxy-revalidate")?;
                }
                f.write_str(visibility(v))
            }
        }
    }
}

/// What [`CachingHeaders`] writes for one response (Ktor's `CachingOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CachingOptions {
    /// The `Cache-Control` value.
    pub cache_control: Option<CacheControl>,
    /// The `Expires` date.
    pub expires: Option<SystemTime>,
}

impl CachingOptions {
    /// Only a `Cache-Control`.
    pub fn cache_control(cache_control: CacheControl) -> Self {
        Self {
            cache_control: Some(cache_control),
            expires: None,
        }
    }
}

/// A function that chooses a response's options; `None` leaves it to the next one.
pub type OptionsProvider =
    Arc<dyn Fn(&ApplicationCall, &OutgoingContent) -> Option<CachingOptions> + Send + Sync>;

/// The `CachingHeaders` plugin.
#[derive(Debug, Clone, Copy, Default)]
pub struct CachingHeaders;

/// The configuration of [`CachingHeaders`]: option functions, none by default.
#[derive(Clone, Default)]
pub struct CachingHeadersConfig {
    providers: Vec<OptionsProvider>,
}

impl fmt::Debug for CachingHeadersConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachingHeadersConfig")
            .field("providers", &self.providers.len())
            .finish()
    }
}

impl CachingHeadersConfig {
    /// Adds a function choosing options (Ktor's `options { call, content -> ... }`); the first to
    /// return some wins.
    pub fn options(
        &mut self,
        provider: impl Fn(&ApplicationCall, &OutgoingContent) -> Option<CachingOptions>
        + Send
        + Sync
        + 'static,
    ) -> &mut Self {
        self.providers.push(Arc::new(provider));
        self
    }
}

impl Plugin for CachingHeaders {
    type Config = CachingHeadersConfig;
    const NAME: &'static str = "CachingHeaders";

    fn install(self, app: &mut Application, config: CachingHeadersConfig) {
        content_phases::insert(app);
        let providers: Arc<[OptionsProvider]> = config.providers.into();
        app.send_pipeline()
            .intercept_boxed(CACHING_HEADERS_PHASE, move |ctx| {
                apply(&providers, &ctx.context, &ctx.subject);
                done()
            });
    }
}

fn apply(providers: &[OptionsProvider], call: &ApplicationCall, content: &OutgoingContent) {
    if matches!(
        content.body,
        ResponseBody::Upgrade(_) | ResponseBody::Value(_)
    ) {
        return;
    }
    let options = call
        .attributes()
        .get(&CACHING)
        .or_else(|| providers.iter().find_map(|p| p(call, content)));
    let Some(options) = options else {
        return;
    };
    let cache_control = options
        .cache_control
        .and_then(|c| HeaderValue::from_str(&c.to_string()).ok());
    let expires = options
        .expires
        .and_then(|t| HeaderValue::from_str(&httpdate::fmt_http_date(t)).ok());
    call.response().with_headers(|headers| {
        if let Some(value) = cache_control {
            headers.entry(CACHE_CONTROL).or_insert(value);
        }
        if let Some(value) = expires {
            headers.entry(EXPIRES).or_insert(value);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_values() {
        let cases = [
            (CacheControl::NoCache(None), "no-cache"),
            (
                CacheControl::NoStore(Some(Visibility::Private)),
                "no-store, private",
            ),
            (CacheControl::max_age(60), "max-age=60"),
            (
                CacheControl::MaxAge {
                    max_age: 60,
                    proxy_max_age: Some(120),
                    must_revalidate: true,
                    proxy_revalidate: true,
                    visibility: Some(Visibility::Public),
                },
                "max-age=60, s-maxage=120, must-revalidate, proxy-revalidate, public",
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(value.to_string(), expected);
        }
    }
}
