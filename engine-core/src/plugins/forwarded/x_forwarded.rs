//! `XForwardedHeaders` (Ktor's plugin of the same name): the de-facto `X-Forwarded-For`,
//! `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Forwarded-Port` headers, applied to the call's
//! [`RequestOrigin`]. Each header is a comma-separated list (several fields join into one, RFC 9110
//! §5.3); the configured [`ProxyChoice`] picks the entry of each. An entry that is not a valid
//! address, scheme, host or port is ignored, and the origin keeps what it had for that part.
//!
//! Precedence of the port: `X-Forwarded-Port`, then the port in `X-Forwarded-Host`, then the
//! default port of the forwarded scheme.

use super::{
    CallOrigin, ORIGIN, ProxyChoice, is_scheme, is_trusted, parse_host, parse_node, parse_port,
    update,
};
use crate::call::Headers;
use crate::pipeline::done;
use crate::{Application, ApplicationCall, CallPipeline, Plugin};
use http::HeaderName;
use std::net::IpAddr;

/// The `XForwardedHeaders` plugin; see the [module](super) for an example.
#[derive(Debug, Clone, Copy, Default)]
pub struct XForwardedHeaders;

/// The configuration of [`XForwardedHeaders`].
#[derive(Debug, Clone)]
pub struct XForwardedHeadersConfig {
    /// Which entry of each list to believe. [`ProxyChoice::Last`] by default.
    pub choice: ProxyChoice,
    /// The peers (your proxies) whose headers are read; `None`, the default, reads every peer's.
    pub trusted_peers: Option<Vec<IpAddr>>,
    /// The client's address. `X-Forwarded-For` by default.
    pub for_header: HeaderName,
    /// The scheme. `X-Forwarded-Proto` by default.
    pub proto_header: HeaderName,
    /// The host, with an optional port. `X-Forwarded-Host` by default.
    pub host_header: HeaderName,
    /// The port. `X-Forwarded-Port` by default.
    pub port_header: HeaderName,
}

impl Default for XForwardedHeadersConfig {
    fn default() -> Self {
        Self {
            choice: ProxyChoice::default(),
            trusted_peers: None,
            for_header: HeaderName::from_static("x-forwarded-for"),
            proto_header: HeaderName::from_static("x-forwarded-proto"),
            host_header: HeaderName::from_static("x-forwarded-host"),
            port_header: HeaderName::from_static("x-forwarded-port"),
        }
    }
}

impl Plugin for XForwardedHeaders {
    type Config = XForwardedHeadersConfig;
    const NAME: &'static str = "XForwardedHeaders";

    fn install(self, app: &mut Application, config: XForwardedHeadersConfig) {
        app.call_pipeline()
            .intercept_boxed(CallPipeline::SETUP, move |ctx| {
                apply(&ctx.context, &config);
                done()
            });
    }
}

fn apply(call: &ApplicationCall, config: &XForwardedHeadersConfig) {
    let remote = call.request().remote_addr().ip();
    if !is_trusted(config.trusted_peers.as_deref(), remote) {
        return;
    }
    let headers = call.request().headers();
    let pick = |name: &HeaderName| -> Option<String> {
        let entries = list(&headers, name.as_str());
        config
            .choice
            .pick(&entries)
            .map(|entry| (*entry).to_owned())
    };
    let proto = pick(&config.proto_header).filter(|p| is_scheme(p));
    let host = pick(&config.host_header).and_then(|h| parse_host(&h));
    let port = pick(&config.port_header).and_then(|p| parse_port(&p));
    let client = pick(&config.for_header).and_then(|c| parse_client(&c));
    if proto.is_none() && host.is_none() && port.is_none() && client.is_none() {
        return;
    }
    let mut origin = call.origin();
    update(&mut origin, proto, host, port);
    if let Some((remote_host, remote_port)) = client {
        origin.remote_host = remote_host;
        origin.remote_port = remote_port;
    }
    call.attributes().put(&ORIGIN, origin);
}

/// The non-empty, trimmed entries of every `name` field, in order.
fn list<'h>(headers: &'h Headers, name: &str) -> Vec<&'h str> {
    headers
        .get_all(name)
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect()
}

/// An `X-Forwarded-For` entry: a bare IP address (IPv6 included), or a node as in `Forwarded`
/// (`[v6]:port`, `v4:port`, `unknown`, `_hidden`).
fn parse_client(entry: &str) -> Option<(String, Option<u16>)> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some((ip.to_string(), None));
    }
    let node = parse_node(entry)?;
    Some((node.name.to_string(), node.port))
}
