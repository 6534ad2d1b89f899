//! The request's origin as the client saw it, behind proxies (Ktor's `call.request.origin`):
//! scheme, host, port and the client's address, from the connection or from what trusted proxies
//! forwarded.
//!
//! - [`CallOrigin::origin`] reads a call's [`RequestOrigin`]: the one a forwarding plugin stored,
//!   or the connection's own (`http`, the `Host` field, the peer's address).
//! - [`XForwardedHeaders`] applies `X-Forwarded-For`, `-Proto`, `-Host` and `-Port`.
//! - [`ForwardedHeaders`] applies `Forwarded` (RFC 7239), parsed by [`parse_forwarded`].
//!
//! Both are trusted only as configured: a [`ProxyChoice`] says which hop of a list to believe
//! (the last by default: the one the proxy nearest this server wrote), and `trusted_peers`
//! limits the connections whose headers are read at all. Install them only behind proxies that
//! overwrite or append these headers; otherwise any client can claim any origin. Both run in
//! [`CallPipeline::SETUP`](crate::CallPipeline::SETUP), so every later interceptor sees the origin.
//!
//! ```
//! use engine_core::plugins::forwarded::{CallOrigin, ProxyChoice, XForwardedHeaders};
//! use engine_core::testing::test_application;
//! use engine_core::{Application, ApplicationCall};
//! use http::Method;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let app = test_application(|app: &mut Application| {
//!     app.install(XForwardedHeaders, |c| c.choice = ProxyChoice::Last);
//!     app.routing(|route| {
//!         route.get("/", |call: ApplicationCall| async move {
//!             let origin = call.origin();
//!             call.respond_text(format!("{}://{}:{} for {}", origin.scheme, origin.host, origin.port, origin.remote_host)).await
//!         });
//!     });
//! });
//! let headers = [("x-forwarded-proto", "https"), ("x-forwarded-host", "example.com"),
//!                ("x-forwarded-for", "203.0.113.9, 192.0.2.7")];
//! let response = app.client().request(Method::GET, "/", &headers, Default::default()).await.unwrap();
//! assert_eq!(response.text(), "https://example.com:443 for 192.0.2.7");
//! # });
//! ```

mod forwarded_headers;
mod parse;
mod x_forwarded;

pub use forwarded_headers::{ForwardedHeaders, ForwardedHeadersConfig};
pub use parse::{
    ForwardedElement, ForwardedError, ForwardedNode, NodeName, is_scheme, parse_forwarded,
    parse_host, parse_node, parse_port,
};
pub use x_forwarded::{XForwardedHeaders, XForwardedHeadersConfig};

use crate::ApplicationCall;
use crate::call::AttributeKey;
use std::net::IpAddr;

/// Where a forwarding plugin stores the origin it computed.
pub static ORIGIN: AttributeKey<RequestOrigin> = AttributeKey::new("RequestOrigin");

/// The request as the client made it (Ktor's `RequestConnectionPoint` of `origin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOrigin {
    /// `http` or `https` (or another scheme a proxy named), lowercase.
    pub scheme: String,
    /// The host the client asked for, lowercase, IPv6 without brackets.
    pub host: String,
    /// The port the client connected to: explicit, or the scheme's default.
    pub port: u16,
    /// The client: an IP address as text, or what a proxy wrote instead (`unknown`, `_hidden`).
    pub remote_host: String,
    /// The client's port, when known.
    pub remote_port: Option<u16>,
}

impl RequestOrigin {
    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// The origin of the connection itself, before any proxy header: `http` (no engine terminates
    /// TLS), the `Host` field's host and port (the local address when there is none, or it is
    /// malformed), and the peer's address.
    pub fn local(call: &ApplicationCall) -> Self {
        let request = call.request();
        let local = request.local_addr();
        let remote = request.remote_addr();
        let (host, port) = request
            .header("host")
            .and_then(|value| parse_host(&value))
            .map_or_else(
                || (local.ip().to_string(), Some(local.port())),
                |(host, port)| (host, port),
            );
        Self {
            scheme: "http".to_owned(),
            host,
            port: port.unwrap_or(80),
            remote_host: remote.ip().to_string(),
            remote_port: Some(remote.port()),
        }
    }
}

/// The default port of a scheme: 443 for `https` and `wss`, 80 otherwise.
pub fn default_port(scheme: &str) -> u16 {
    match scheme {
        "https" | "wss" => 443,
        _ => 80,
    }
}

/// The origin of a call.
pub trait CallOrigin {
    /// The origin a forwarding plugin computed, or the connection's own
    /// ([`RequestOrigin::local`]).
    fn origin(&self) -> RequestOrigin;

    /// Whether the origin's scheme is `https`: [`origin`](Self::origin)`().is_https()`, which
    /// an implementation may answer without building the origin (the call's does: the
    /// connection's own origin is always `http`, so it allocates nothing).
    fn is_https_origin(&self) -> bool {
        self.origin().is_https()
    }
}

impl CallOrigin for ApplicationCall {
    fn origin(&self) -> RequestOrigin {
        self.attributes()
            .get(&ORIGIN)
            .unwrap_or_else(|| RequestOrigin::local(self))
    }

    fn is_https_origin(&self) -> bool {
        self.attributes()
            .with(&ORIGIN, RequestOrigin::is_https)
            .unwrap_or(false)
    }
}

/// Which entry of a proxy list to believe. A list grows as the request passes proxies: the first
/// entry is what the client (or the first proxy) wrote, the last what the proxy nearest this
/// server wrote. Only entries written by your own proxies can be trusted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProxyChoice {
    /// The first entry (Ktor's default): right only when every proxy in front overwrites the
    /// header, since a client can put anything first.
    First,
    /// The last entry: right behind one proxy that appends. The default.
    #[default]
    Last,
    /// The entry before the last `n`: right behind `n + 1` proxies that append.
    SkipLast(usize),
}

impl ProxyChoice {
    /// The chosen entry of `entries`, if there is one.
    pub fn pick<'e, T>(&self, entries: &'e [T]) -> Option<&'e T> {
        match self {
            Self::First => entries.first(),
            Self::Last => entries.last(),
            Self::SkipLast(n) => {
                let at = entries.len().checked_sub(*n)?.checked_sub(1)?;
                entries.get(at)
            }
        }
    }
}

/// Applies a forwarded scheme, host and port to `origin`: the port is the explicit one, else the
/// host's, else the scheme's default.
fn update(
    origin: &mut RequestOrigin,
    proto: Option<String>,
    host: Option<(String, Option<u16>)>,
    port: Option<u16>,
) {
    if let Some(proto) = proto {
        origin.scheme = proto.to_ascii_lowercase();
        origin.port = default_port(&origin.scheme);
    }
    if let Some((host, host_port)) = host {
        origin.host = host;
        origin.port = host_port.unwrap_or_else(|| default_port(&origin.scheme));
    }
    if let Some(port) = port {
        origin.port = port;
    }
}

/// Whether headers from the peer `remote` are read: any peer when `trusted` is `None`.
/// An IPv4 peer of a dual-stack listener arrives as `::ffff:a.b.c.d`, and is compared as `a.b.c.d`.
fn is_trusted(trusted: Option<&[IpAddr]>, remote: IpAddr) -> bool {
    let remote = remote.to_canonical();
    trusted.is_none_or(|peers| peers.iter().any(|peer| peer.to_canonical() == remote))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_choice_picks() {
        let entries = ["client", "proxy1", "proxy2"];
        let cases = [
            (ProxyChoice::First, Some("client")),
            (ProxyChoice::Last, Some("proxy2")),
            (ProxyChoice::SkipLast(0), Some("proxy2")),
            (ProxyChoice::SkipLast(2), Some("client")),
            (ProxyChoice::SkipLast(3), None),
            (ProxyChoice::SkipLast(usize::MAX), None),
        ];
        for (choice, expected) in cases {
            assert_eq!(choice.pick(&entries).copied(), expected, "{choice:?}");
        }
        assert_eq!(ProxyChoice::First.pick::<&str>(&[]), None);
    }

    #[test]
    fn trusted_peers() {
        let v4: IpAddr = "10.0.0.2".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.2".parse().unwrap();
        let other: IpAddr = "10.0.0.3".parse().unwrap();
        assert!(is_trusted(None, other));
        assert!(is_trusted(Some(&[v4]), v4));
        assert!(is_trusted(Some(&[v4]), mapped));
        assert!(is_trusted(Some(&[mapped]), v4));
        assert!(!is_trusted(Some(&[v4]), other));
        assert!(!is_trusted(Some(&[]), v4));
    }
}
