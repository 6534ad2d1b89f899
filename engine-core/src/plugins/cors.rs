//! `CORS` (Ktor's plugin of the same name): cross-origin resource sharing as the Fetch standard
//! defines it (§3.2, "CORS protocol"): which other origins a browser lets read the responses.
//!
//! - A preflight, an `OPTIONS` request with `Origin` and `Access-Control-Request-Method`, is
//!   answered here, before routing: `204` with the `Access-Control-Allow-*` fields when the origin,
//!   the method and every header of `Access-Control-Request-Headers` are allowed, `403` otherwise.
//!   A route needs no `OPTIONS` handler.
//! - Any other request with an allowed `Origin` gets `Access-Control-Allow-Origin` (and
//!   `-Allow-Credentials`, `-Expose-Headers` as configured); a disallowed one gets no CORS field at
//!   all and runs as usual: the browser, not the server, withholds the response from the page.
//! - `Access-Control-Allow-Origin` is `*` only for [`CorsConfig::allow_any_origin`] without
//!   credentials; otherwise it names the request's origin (Fetch §3.2.5: `*` never goes with
//!   credentials), and every response carries `Vary: Origin` so caches keep them apart.
//!
//! `GET`, `HEAD` and `POST` are always allowed (the CORS-safelisted methods), and so are the
//! request headers `Accept`, `Accept-Language` and `Content-Language` (safelisted headers;
//! `Content-Type` appears in a preflight only with a value that is not safelisted, so it must be
//! allowed by name). The plugin runs in [`CallPipeline::PLUGINS`]: install it before plugins of
//! that phase that may refuse a call (authentication), since a preflight carries no credentials.

use super::content_phases::add_vary;
use super::forwarded::{is_scheme, parse_host};
use crate::{Application, ApplicationCall, CallPipeline, Error, Plugin};
use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
};
use http::{HeaderName, HeaderValue, Method, StatusCode};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The `CORS` plugin.
///
/// ```
/// use engine_core::Application;
/// use engine_core::plugins::Cors;
/// use http::Method;
/// use std::time::Duration;
///
/// let mut app = Application::new();
/// app.install(Cors, |c| {
///     c.allow_origin("https://app.example.com")
///         .allow_origin_predicate(|origin| origin.ends_with(".example.org"))
///         .allow_method(Method::PUT)
///         .allow_header("content-type")
///         .expose_header("x-request-id");
///     c.allow_credentials = true;
///     c.max_age = Some(Duration::from_secs(600));
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Cors;

type OriginPredicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// What [`Cors`] allows. Nothing by default: add origins with the `allow_*` methods.
#[derive(Clone, Default)]
pub struct CorsConfig {
    any_origin: bool,
    origins: Vec<String>,
    predicates: Vec<OriginPredicate>,
    methods: Vec<Method>,
    headers: Vec<HeaderName>,
    exposed: Vec<HeaderName>,
    /// Any request header is allowed. Off by default.
    pub any_header: bool,
    /// `Access-Control-Allow-Credentials: true`: pages may send cookies and read the answers.
    /// Off by default.
    pub allow_credentials: bool,
    /// `Access-Control-Max-Age`: how long a browser may cache a preflight's answer. `None`, the
    /// default, leaves it to the browser (5 s in the Fetch standard).
    pub max_age: Option<Duration>,
}

impl fmt::Debug for CorsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CorsConfig")
            .field("any_origin", &self.any_origin)
            .field("origins", &self.origins)
            .field("predicates", &self.predicates.len())
            .field("methods", &self.methods)
            .field("headers", &self.headers)
            .field("exposed", &self.exposed)
            .field("any_header", &self.any_header)
            .field("allow_credentials", &self.allow_credentials)
            .field("max_age", &self.max_age)
            .finish()
    }
}

impl CorsConfig {
    /// Allows one origin, `scheme://host[:port]` (compared case-insensitively).
    ///
    /// # Panics
    /// If `origin` is not of that form: a configuration mistake.
    #[track_caller]
    pub fn allow_origin(&mut self, origin: &str) -> &mut Self {
        let normalized = normalize_origin(origin)
            .unwrap_or_else(|| panic!("CORS: {origin:?} is not an origin (scheme://host[:port])"));
        self.origins.push(normalized);
        self
    }

    /// Allows every origin.
    pub fn allow_any_origin(&mut self) -> &mut Self {
        self.any_origin = true;
        self
    }

    /// Allows the origins `predicate` accepts; it gets the origin lowercased.
    pub fn allow_origin_predicate(
        &mut self,
        predicate: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> &mut Self {
        self.predicates.push(Arc::new(predicate));
        self
    }

    /// Allows a method besides the safelisted `GET`, `HEAD` and `POST`.
    pub fn allow_method(&mut self, method: Method) -> &mut Self {
        if !self.methods.contains(&method) {
            self.methods.push(method);
        }
        self
    }

    /// Allows a request header.
    ///
    /// # Panics
    /// If `name` is not a header name.
    #[track_caller]
    pub fn allow_header(&mut self, name: &str) -> &mut Self {
        self.headers.push(header_name(name));
        self
    }

    /// Lets pages read a response header (`Access-Control-Expose-Headers`).
    ///
    /// # Panics
    /// If `name` is not a header name.
    #[track_caller]
    pub fn expose_header(&mut self, name: &str) -> &mut Self {
        self.exposed.push(header_name(name));
        self
    }

    fn allows_origin(&self, origin: &str) -> bool {
        self.any_origin
            || self.origins.iter().any(|allowed| allowed == origin)
            || self.predicates.iter().any(|predicate| predicate(origin))
    }

    fn allows_method(&self, method: &Method) -> bool {
        SAFELISTED_METHODS.contains(method) || self.methods.contains(method)
    }

    fn allows_header(&self, name: &str) -> bool {
        self.any_header
            || SAFELISTED_HEADERS.contains(&name)
            || self.headers.iter().any(|allowed| allowed == name)
    }

    /// Whether every response is `*`: then nothing depends on the request's origin.
    fn is_wildcard(&self) -> bool {
        self.any_origin && !self.allow_credentials
    }
}

#[track_caller]
fn header_name(name: &str) -> HeaderName {
    HeaderName::from_bytes(name.as_bytes())
        .unwrap_or_else(|e| panic!("CORS: {name:?} is not a header name: {e}"))
}

const SAFELISTED_METHODS: [Method; 3] = [Method::GET, Method::HEAD, Method::POST];
const SAFELISTED_HEADERS: [&str; 3] = ["accept", "accept-language", "content-language"];

/// An origin (RFC 6454 §6.2's serialization, `scheme "://" host [ ":" port ]`) lowercased, or
/// `None` when `text` is not one. `null` is not an origin here: allow it with a predicate.
pub fn normalize_origin(text: &str) -> Option<String> {
    let (scheme, rest) = text.split_once("://")?;
    if !is_scheme(scheme) {
        return None;
    }
    parse_host(rest)?;
    Some(text.to_ascii_lowercase())
}

/// The headers a preflight or an actual request gets, computed once at install.
struct Prepared {
    config: CorsConfig,
    methods: HeaderValue,
    exposed: Option<HeaderValue>,
    max_age: Option<HeaderValue>,
}

impl Plugin for Cors {
    type Config = CorsConfig;
    const NAME: &'static str = "CORS";

    fn install(self, app: &mut Application, config: CorsConfig) {
        let methods = SAFELISTED_METHODS
            .iter()
            .chain(
                config
                    .methods
                    .iter()
                    .filter(|m| !SAFELISTED_METHODS.contains(m)),
            )
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let exposed = (!config.exposed.is_empty())
            .then(|| HeaderValue::from_str(&join_names(&config.exposed)))
            .and_then(Result::ok);
        let prepared = Arc::new(Prepared {
            methods: HeaderValue::from_str(&methods).expect("method tokens are a valid value"),
            exposed,
            max_age: config.max_age.map(|age| HeaderValue::from(age.as_secs())),
            config,
        });
        app.call_pipeline()
            .intercept_boxed(CallPipeline::PLUGINS, move |ctx| {
                let prepared = prepared.clone();
                Box::pin(async move {
                    if handle(&ctx.context, &prepared).await? {
                        ctx.finish();
                    }
                    Ok(())
                })
            });
    }
}

/// Adds the CORS fields to the call; `true` when it answered a preflight.
async fn handle(call: &ApplicationCall, prepared: &Prepared) -> Result<bool, Error> {
    let config = &prepared.config;
    let response = call.response();
    if !config.is_wildcard() {
        add_vary(call, "origin");
    }
    let headers = call.request().headers();
    let mut origins = headers.get_all("origin");
    let origin = match (origins.next(), origins.next()) {
        (Some(origin), None) => normalize_origin(origin),
        _ => None,
    }
    .filter(|o| config.allows_origin(o));
    let preflight = *call.request().local_method() == Method::OPTIONS
        && headers.contains("access-control-request-method");
    if !preflight {
        if let Some(origin) = origin {
            allow_origin(call, config, &origin);
            if let Some(exposed) = &prepared.exposed {
                response.set_header(ACCESS_CONTROL_EXPOSE_HEADERS, exposed.clone());
            }
        }
        return Ok(false);
    }
    let requested_method = headers.get("access-control-request-method");
    let requested_headers = headers.joined("access-control-request-headers");
    let allowed = origin.and_then(|origin| {
        let allowed = preflight_headers(prepared, requested_method, requested_headers)?;
        Some((origin, allowed))
    });
    let Some((origin, allowed_headers)) = allowed else {
        call.respond_status(StatusCode::FORBIDDEN).await?;
        return Ok(true);
    };
    allow_origin(call, config, &origin);
    response.set_header(ACCESS_CONTROL_ALLOW_METHODS, prepared.methods.clone());
    if let Some(allowed_headers) = allowed_headers {
        response.set_header(ACCESS_CONTROL_ALLOW_HEADERS, allowed_headers);
    }
    if let Some(max_age) = &prepared.max_age {
        response.set_header(ACCESS_CONTROL_MAX_AGE, max_age.clone());
    }
    call.respond_status(StatusCode::NO_CONTENT).await?;
    Ok(true)
}

/// `Access-Control-Allow-Origin` (and `-Allow-Credentials`) for an allowed origin.
fn allow_origin(call: &ApplicationCall, config: &CorsConfig, origin: &str) {
    let response = call.response();
    let value = if config.is_wildcard() {
        HeaderValue::from_static("*")
    } else {
        // The origin came from a field value and was checked to be `scheme://host[:port]`.
        match HeaderValue::from_str(origin) {
            Ok(value) => value,
            Err(_) => return,
        }
    };
    response.set_header(ACCESS_CONTROL_ALLOW_ORIGIN, value);
    if config.allow_credentials {
        response.set_header(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// Checks a preflight's method and headers: `None` when one is not allowed, otherwise the
/// `Access-Control-Allow-Headers` value (the requested names, lowercased), if any were requested.
fn preflight_headers(
    prepared: &Prepared,
    method: Option<&str>,
    headers: Option<String>,
) -> Option<Option<HeaderValue>> {
    let method = Method::from_bytes(method?.trim().as_bytes()).ok()?;
    if !prepared.config.allows_method(&method) {
        return None;
    }
    let Some(headers) = headers else {
        return Some(None);
    };
    let mut names = Vec::new();
    for name in headers.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let name = HeaderName::from_bytes(name.as_bytes()).ok()?;
        if !prepared.config.allows_header(name.as_str()) {
            return None;
        }
        names.push(name);
    }
    if names.is_empty() {
        return Some(None);
    }
    HeaderValue::from_str(&join_names(&names)).ok().map(Some)
}

fn join_names(names: &[HeaderName]) -> String {
    names
        .iter()
        .map(HeaderName::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_normalize() {
        let cases = [
            ("https://Example.com", Some("https://example.com")),
            ("http://localhost:8080", Some("http://localhost:8080")),
            ("https://[::1]:8443", Some("https://[::1]:8443")),
            ("null", None),
            ("example.com", None),
            ("https://", None),
            ("https://a b", None),
            ("https://a/path", None),
            ("1x://a", None),
            ("https://a:99999", None),
        ];
        for (text, expected) in cases {
            assert_eq!(normalize_origin(text).as_deref(), expected, "{text:?}");
        }
    }

    #[test]
    #[should_panic(expected = "is not an origin")]
    fn a_malformed_configured_origin_panics() {
        CorsConfig::default().allow_origin("example.com");
    }
}
