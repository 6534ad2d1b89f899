//! `RateLimit` (Ktor's plugin of the same name): token buckets per client, for the whole
//! application (`global`) or for the routes a named limiter is applied to.
//!
//! Each limiter keeps a bucket per key: the client's IP address by default (not its port: every
//! connection of a client shares one bucket), or what its key function takes from the call (an
//! API key, a user). A call takes a token; a call that finds its bucket empty is answered
//! `429 Too Many Requests` (RFC 6585 §4) with `Retry-After` (RFC 9110 §10.2.3: seconds until a
//! token is back) and the handler does not run. Every call a limiter sees carries:
//!
//! | header | value |
//! |---|---|
//! | `X-RateLimit-Limit` | the bucket's size |
//! | `X-RateLimit-Remaining` | tokens left after this call |
//! | `X-RateLimit-Reset` | seconds until the bucket is full again (delta-seconds, as the IETF `RateLimit-Reset` field; Ktor sends a clock time) |
//!
//! When a global and a route limiter both apply, both take a token and the headers are the route
//! limiter's. Memory is bounded: a limiter holds at most [`RateLimiterConfig::max_keys`] buckets;
//! when it is full, buckets that have refilled (which say nothing a missing bucket would not) are
//! evicted, and until some are, new keys share one bucket. Time comes from a [`Clock`], which tests
//! replace with a [`ManualClock`].
//!
//! A route names the limiter it applies with [`RateLimitRoute::rate_limit`]; the limiter is looked
//! up on the route's first call, and a name `RateLimit` did not register fails that call with 500.

mod limiter;

pub use limiter::{Clock, Decision, Limiter, ManualClock, MonotonicClock};

use crate::pipeline::{BoxFuture, PipelineContext, done};
use crate::routing::Route;
use crate::{Application, ApplicationCall, CallPipeline, Error, Plugin};
use http::StatusCode;
use http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The name of a limiter registered with [`RateLimitConfig::register`] (Ktor's `RateLimitName`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimitName(&'static str);

impl RateLimitName {
    /// A limiter name.
    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    /// The name.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

type KeyFn = Arc<dyn Fn(&ApplicationCall, &Limiter) -> u64 + Send + Sync>;

/// One limiter: its bucket size, refill period, key and table size.
#[derive(Clone)]
pub struct RateLimiterConfig {
    /// Tokens in a full bucket: the calls a client may make at once. 60 by default.
    pub limit: u64,
    /// Time for an empty bucket to refill, one token at a time (`refill_period / limit` per
    /// token): 60 s by default.
    pub refill_period: Duration,
    /// Most keys the limiter keeps a bucket for: 100,000 by default (a few megabytes). Past it,
    /// refilled buckets are evicted (at most once a second), and meanwhile new keys share one
    /// bucket.
    pub max_keys: usize,
    key: KeyFn,
}

impl Default for RateLimiterConfig {
    fn default() -> Self {
        Self {
            limit: 60,
            refill_period: Duration::from_secs(60),
            max_keys: 100_000,
            key: Arc::new(|call, limiter| limiter.hash_key(&call.request().remote_addr().ip())),
        }
    }
}

impl fmt::Debug for RateLimiterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiterConfig")
            .field("limit", &self.limit)
            .field("refill_period", &self.refill_period)
            .field("max_keys", &self.max_keys)
            .finish_non_exhaustive()
    }
}

impl RateLimiterConfig {
    /// Sets the bucket size and refill period (Ktor's `rateLimiter(limit, refillPeriod)`).
    pub fn rate(&mut self, limit: u64, refill_period: Duration) -> &mut Self {
        self.limit = limit;
        self.refill_period = refill_period;
        self
    }

    /// Keys buckets by what `key` takes from the call instead of the client's IP address (Ktor's
    /// `requestKey`). The key is hashed, so a long one costs no more memory than a short one.
    pub fn key<K, F>(&mut self, key: F) -> &mut Self
    where
        K: Hash,
        F: Fn(&ApplicationCall) -> K + Send + Sync + 'static,
    {
        self.key = Arc::new(move |call, limiter| limiter.hash_key(&key(call)));
        self
    }
}

/// The `RateLimit` plugin.
///
/// ```
/// use engine_core::plugins::{RateLimit, RateLimitName, RateLimitRoute};
/// use engine_core::{Application, ApplicationCall};
/// use std::time::Duration;
///
/// const LOGIN: RateLimitName = RateLimitName::new("login");
///
/// let mut app = Application::new();
/// app.install(RateLimit, |c| {
///     c.global(|l| {
///         l.rate(600, Duration::from_secs(60));
///     });
///     c.register(LOGIN, |l| {
///         l.rate(5, Duration::from_secs(60))
///             .key(|call| call.request().headers().get("x-user").map(str::to_owned));
///     });
/// });
/// app.routing(|route| {
///     route.route("/login", |login| {
///         login.rate_limit(LOGIN);
///         login.post("", |call: ApplicationCall| async move { call.respond_text("welcome").await });
///     });
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RateLimit;

/// The limiters of [`RateLimit`].
#[derive(Default)]
pub struct RateLimitConfig {
    global: Option<RateLimiterConfig>,
    named: Vec<(RateLimitName, RateLimiterConfig)>,
    clock: Option<Arc<dyn Clock>>,
}

impl fmt::Debug for RateLimitConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitConfig")
            .field("global", &self.global)
            .field("named", &self.named)
            .finish_non_exhaustive()
    }
}

impl RateLimitConfig {
    /// A limiter for every call of the application (Ktor's `global`).
    pub fn global(&mut self, configure: impl FnOnce(&mut RateLimiterConfig)) -> &mut Self {
        let mut limiter = RateLimiterConfig::default();
        configure(&mut limiter);
        self.global = Some(limiter);
        self
    }

    /// A limiter routes apply by name with [`RateLimitRoute::rate_limit`]; every route that names
    /// it shares its buckets.
    ///
    /// # Panics
    /// If `name` is registered already: a configuration mistake.
    #[track_caller]
    pub fn register(
        &mut self,
        name: RateLimitName,
        configure: impl FnOnce(&mut RateLimiterConfig),
    ) -> &mut Self {
        assert!(
            self.named.iter().all(|(n, _)| *n != name),
            "rate limiter {:?} is registered twice",
            name.as_str()
        );
        let mut limiter = RateLimiterConfig::default();
        configure(&mut limiter);
        self.named.push((name, limiter));
        self
    }

    /// The clock of every limiter: [`MonotonicClock`] by default; tests use a [`ManualClock`].
    pub fn clock(&mut self, clock: impl Clock) -> &mut Self {
        self.clock = Some(Arc::new(clock));
        self
    }
}

/// A built limiter and its key function.
struct KeyedLimiter {
    limiter: Limiter,
    key: KeyFn,
}

impl KeyedLimiter {
    #[track_caller]
    fn new(config: RateLimiterConfig, clock: &Arc<dyn Clock>) -> Arc<Self> {
        let limiter = Limiter::new(
            config.limit,
            config.refill_period,
            config.max_keys,
            clock.clone(),
        );
        Arc::new(Self {
            limiter,
            key: config.key,
        })
    }
}

/// The named limiters, in the application's state for routes to find.
struct Named(HashMap<RateLimitName, Arc<KeyedLimiter>>);

impl Plugin for RateLimit {
    type Config = RateLimitConfig;
    const NAME: &'static str = "RateLimit";

    #[track_caller]
    fn install(self, app: &mut Application, config: RateLimitConfig) {
        let clock = config
            .clock
            .unwrap_or_else(|| Arc::new(MonotonicClock::default()));
        let named = config
            .named
            .into_iter()
            .map(|(name, limiter)| (name, KeyedLimiter::new(limiter, &clock)))
            .collect();
        app.state(Named(named));
        if let Some(global) = config.global {
            let limiter = KeyedLimiter::new(global, &clock);
            app.call_pipeline()
                .intercept_boxed(CallPipeline::PLUGINS, move |ctx| {
                    apply(ctx, limiter.clone())
                });
        }
    }
}

/// Applying a named limiter to routes.
pub trait RateLimitRoute {
    /// Limits this route and every route under it with the limiter registered as `name` (Ktor's
    /// `rateLimit(name) { }`, which makes a child route; here the route itself is limited).
    fn rate_limit(&mut self, name: RateLimitName) -> &mut Self;
}

impl RateLimitRoute for Route<'_> {
    fn rate_limit(&mut self, name: RateLimitName) -> &mut Self {
        let found: Arc<OnceLock<Arc<KeyedLimiter>>> = Arc::default();
        self.intercept_boxed(CallPipeline::PLUGINS, move |ctx| {
            let limiter = match found.get() {
                Some(limiter) => limiter.clone(),
                None => match lookup(&ctx.context, name) {
                    Some(limiter) => found.get_or_init(|| limiter).clone(),
                    None => return Box::pin(async move { Err(unregistered(name)) }),
                },
            };
            apply(ctx, limiter)
        })
    }
}

fn lookup(call: &ApplicationCall, name: RateLimitName) -> Option<Arc<KeyedLimiter>> {
    call.application()
        .state::<Named>()
        .and_then(|named| named.0.get(&name).cloned())
}

fn unregistered(name: RateLimitName) -> Error {
    tracing::error!(
        limiter = name.as_str(),
        "a route applies a rate limiter that RateLimit did not register"
    );
    Error::status(
        StatusCode::INTERNAL_SERVER_ERROR,
        "a route applies an unregistered rate limiter",
    )
}

/// Takes a token for the call, sets the headers, and answers 429 when there was none.
fn apply(
    ctx: &mut PipelineContext<(), ApplicationCall>,
    limiter: Arc<KeyedLimiter>,
) -> BoxFuture<'_, Result<(), Error>> {
    let call = &ctx.context;
    let key = (limiter.key)(call, &limiter.limiter);
    let decision = limiter.limiter.acquire(key);
    let response = call.response();
    response.set_header(X_RATELIMIT_LIMIT, number(decision.limit));
    response.set_header(X_RATELIMIT_REMAINING, number(decision.remaining));
    response.set_header(X_RATELIMIT_RESET, number(seconds(decision.reset)));
    if decision.allowed {
        return done();
    }
    response.set_header(RETRY_AFTER, number(seconds(decision.retry_after)));
    Box::pin(async move {
        ctx.context
            .respond_status(StatusCode::TOO_MANY_REQUESTS)
            .await?;
        ctx.finish();
        Ok(())
    })
}

const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

fn number(n: u64) -> HeaderValue {
    HeaderValue::from(n)
}

/// Whole seconds, rounded up: a client that waits this long finds what was promised.
fn seconds(duration: Duration) -> u64 {
    duration
        .as_nanos()
        .div_ceil(1_000_000_000)
        .try_into()
        .unwrap_or(u64::MAX)
}
