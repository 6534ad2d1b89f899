//! `ForwardedHeaders` (Ktor's plugin of the same name): the standard `Forwarded` field (RFC 7239),
//! applied to the call's [`RequestOrigin`](super::RequestOrigin). Every `Forwarded` field of the
//! request is parsed ([`parse_forwarded`]) and their elements joined in order; the configured
//! [`ProxyChoice`] picks one element, whose `proto` (§5.4), `host` (§5.3) and `for` (§5.2) become
//! the origin's scheme, host and port, and client. `by` is not used.
//!
//! A field that does not parse makes the plugin ignore `Forwarded` for that call (logged at
//! `DEBUG`): a malformed list cannot be split into hops reliably, and a half-read one could give a
//! client's entry the place of a proxy's.

use super::{
    CallOrigin, ORIGIN, ProxyChoice, is_scheme, is_trusted, parse_forwarded, parse_host,
    parse_node, update,
};
use crate::pipeline::done;
use crate::{Application, ApplicationCall, CallPipeline, Plugin};
use std::net::IpAddr;

/// The `ForwardedHeaders` plugin.
///
/// ```
/// use engine_core::Application;
/// use engine_core::plugins::forwarded::{ForwardedHeaders, ProxyChoice};
///
/// let mut app = Application::new();
/// app.install(ForwardedHeaders, |c| {
///     c.choice = ProxyChoice::SkipLast(1);
///     c.trusted_peers = Some(vec!["10.0.0.2".parse().unwrap()]);
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ForwardedHeaders;

/// The configuration of [`ForwardedHeaders`].
#[derive(Debug, Clone, Default)]
pub struct ForwardedHeadersConfig {
    /// Which element to believe. [`ProxyChoice::Last`] by default.
    pub choice: ProxyChoice,
    /// The peers (your proxies) whose headers are read; `None`, the default, reads every peer's.
    pub trusted_peers: Option<Vec<IpAddr>>,
}

impl Plugin for ForwardedHeaders {
    type Config = ForwardedHeadersConfig;
    const NAME: &'static str = "ForwardedHeaders";

    fn install(self, app: &mut Application, config: ForwardedHeadersConfig) {
        app.call_pipeline()
            .intercept_boxed(CallPipeline::SETUP, move |ctx| {
                apply(&ctx.context, &config);
                done()
            });
    }
}

fn apply(call: &ApplicationCall, config: &ForwardedHeadersConfig) {
    let remote = call.request().remote_addr().ip();
    if !is_trusted(config.trusted_peers.as_deref(), remote) {
        return;
    }
    let headers = call.request().headers();
    let mut elements = Vec::new();
    for value in headers.get_all_bytes("forwarded") {
        match parse_forwarded(value) {
            Ok(parsed) => elements.extend(parsed),
            Err(error) => {
                tracing::debug!(%error, "ignoring a malformed Forwarded field");
                return;
            }
        }
    }
    let Some(element) = config.choice.pick(&elements) else {
        return;
    };
    let proto = element.proto.clone().filter(|p| is_scheme(p));
    let host = element.host.as_deref().and_then(parse_host);
    let client = element.for_node.as_deref().and_then(parse_node);
    if proto.is_none() && host.is_none() && client.is_none() {
        return;
    }
    let mut origin = call.origin();
    update(&mut origin, proto, host, None);
    if let Some(node) = client {
        origin.remote_host = node.name.to_string();
        origin.remote_port = node.port;
    }
    call.attributes().put(&ORIGIN, origin);
}
