//! `route.web_socket(path, handler)`: a GET route that checks the opening handshake, answers
//! `101 Switching Protocols` and runs the handler on a [`WebSocketSession`] (Ktor's
//! `webSocket(path) { ... }`, and `webSocketRaw` for raw mode).

use super::WebSocketsConfig;
use super::deflate;
use super::driver::{self, Setup};
use super::handshake::{self, HandshakeRejection};
use super::session::WebSocketSession;
use crate::pipeline::BoxFuture;
use crate::routing::Route;
use crate::{ApplicationCall, Error};
use http::HeaderValue;
use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL, UPGRADE,
};
use std::future::Future;
use std::sync::Arc;

/// A WebSocket handler: `async fn(WebSocketSession) -> Result<(), Error>`, or a closure returning
/// such a future. Returning closes the session with 1000, failing with 1011.
pub trait WebSocketHandler: Send + Sync + 'static {
    /// Runs the session.
    fn call(&self, session: WebSocketSession) -> BoxFuture<'static, Result<(), Error>>;
}

impl<F, Fut> WebSocketHandler for F
where
    F: Fn(WebSocketSession) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    fn call(&self, session: WebSocketSession) -> BoxFuture<'static, Result<(), Error>> {
        Box::pin(self(session))
    }
}

/// WebSocket routes on routing's [`Route`].
///
/// A request that is not a valid opening handshake gets its [`HandshakeRejection`] status. The
/// session uses the [`WebSockets`](super::WebSockets) plugin's configuration, or the defaults if it
/// is not installed.
pub trait WebSocketRoute {
    /// A WebSocket endpoint at `path`.
    fn web_socket(&mut self, path: &str, handler: impl WebSocketHandler) -> &mut Self;

    /// A WebSocket endpoint at `path` that speaks subprotocol `protocol`: chosen in
    /// `Sec-WebSocket-Protocol` when the client offers it, left out (and the session run without
    /// one) when it does not (RFC 6455 §4.2.2 item 5.4).
    ///
    /// # Panics
    /// If `protocol` cannot be a header value.
    fn web_socket_protocol(
        &mut self,
        path: &str,
        protocol: &str,
        handler: impl WebSocketHandler,
    ) -> &mut Self;

    /// A WebSocket endpoint at `path` in raw mode (Ktor's `webSocketRaw`): the handler gets every
    /// frame as [`Message::Frame`](super::Message::Frame), fragments, pings, pongs and Close
    /// included, and answers them itself; the server pings nobody, joins nothing, checks no UTF-8
    /// and negotiates no extension. It still unmasks, keeps the frame rules and limits (§5), and
    /// ends the connection once both Close frames went by.
    fn web_socket_raw(&mut self, path: &str, handler: impl WebSocketHandler) -> &mut Self;
}

impl WebSocketRoute for Route<'_> {
    #[track_caller]
    fn web_socket(&mut self, path: &str, handler: impl WebSocketHandler) -> &mut Self {
        self.get(path, endpoint(Mode::default(), handler))
    }

    #[track_caller]
    fn web_socket_raw(&mut self, path: &str, handler: impl WebSocketHandler) -> &mut Self {
        let mode = Mode {
            raw: true,
            ..Mode::default()
        };
        self.get(path, endpoint(mode, handler))
    }

    #[track_caller]
    fn web_socket_protocol(
        &mut self,
        path: &str,
        protocol: &str,
        handler: impl WebSocketHandler,
    ) -> &mut Self {
        let valid = !protocol.is_empty()
            && protocol
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
        assert!(valid, "WebSocket subprotocol {protocol:?} is not a token");
        let value = HeaderValue::from_str(protocol).expect("a token is a header value");
        let mode = Mode {
            protocol: Some(value),
            raw: false,
        };
        self.get(path, endpoint(mode, handler))
    }
}

/// How a route's sessions run.
#[derive(Debug, Clone, Default)]
struct Mode {
    /// The subprotocol the route speaks, chosen when offered.
    protocol: Option<HeaderValue>,
    raw: bool,
}

/// The route handler around a WebSocket handler.
fn endpoint(
    mode: Mode,
    handler: impl WebSocketHandler,
) -> impl Fn(ApplicationCall) -> BoxFuture<'static, Result<(), Error>> + Send + Sync + 'static {
    let handler: Arc<dyn WebSocketHandler> = Arc::new(handler);
    move |call| Box::pin(open(call, mode.clone(), handler.clone()))
}

async fn open(
    call: ApplicationCall,
    mode: Mode,
    handler: Arc<dyn WebSocketHandler>,
) -> Result<(), Error> {
    let headers = call.request().headers();
    let accept = match handshake::accept(&headers) {
        Ok(accept) => accept,
        Err(rejection) => return reject(&call, rejection).await,
    };
    let protocol = mode.protocol.filter(|p| {
        p.to_str()
            .is_ok_and(|p| handshake::offers_protocol(&headers, p))
    });
    let config = call
        .state::<WebSocketsConfig>()
        .cloned()
        .unwrap_or_default();
    let deflate = match &config.deflate {
        Some(deflate) if !mode.raw => {
            deflate::negotiate(headers.get_all("sec-websocket-extensions"), deflate)
        }
        _ => None,
    };
    drop(headers);
    let response = call.response();
    response.set_header(UPGRADE, HeaderValue::from_static("websocket"));
    response.set_header(CONNECTION, HeaderValue::from_static("Upgrade"));
    let accept =
        HeaderValue::from_str(&accept).map_err(|_| Error::msg("Sec-WebSocket-Accept is base64"))?;
    response.set_header(SEC_WEBSOCKET_ACCEPT, accept);
    if let Some(protocol) = protocol {
        response.set_header(SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    if let Some(deflate) = &deflate {
        let value = HeaderValue::from_str(&deflate.response)
            .map_err(|_| Error::msg("the extension answer is tokens"))?;
        response.set_header(SEC_WEBSOCKET_EXTENSIONS, value);
    }
    let setup = Setup {
        config,
        raw: mode.raw,
        deflate,
        stopping: super::stopping(&call),
    };
    let session_call = call.clone();
    call.respond_upgrade(move |io| async move {
        let handler = |session| handler.call(session);
        driver::run(io, session_call, setup, handler).await;
    })
    .await
}

async fn reject(call: &ApplicationCall, rejection: HandshakeRejection) -> Result<(), Error> {
    if let Some((name, value)) = rejection.headers() {
        call.response().set_header(name, value);
    }
    call.respond_status(rejection.status()).await
}
