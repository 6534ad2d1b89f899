//! The WebSockets plugin (Ktor's `WebSockets`): RFC 6455 sessions on every engine, over the raw
//! connection a `101 Switching Protocols` hands over ([`crate::upgrade`]).
//!
//! - [`WebSockets`] stores a [`WebSocketsConfig`] in the application's state: ping period, pong
//!   timeout, close timeout, frame and message limits, queue sizes.
//! - [`WebSocketRoute`] adds `route.web_socket(path, handler)` and
//!   `route.web_socket_protocol(path, "chat", handler)` to routing's [`Route`](crate::routing::Route).
//! - `handshake` checks the opening handshake (RFC 6455 §4.2.1) and builds the answer (§4.2.2).
//! - [`WebSocketSession`] is what a handler talks to; framing, masking, ping/pong and the close
//!   handshake (§5, §7) are tungstenite's, driven by this module's reader and writer loops.
//!
//! Not here: extensions. tungstenite 0.30 has no extension support, so `permessage-deflate`
//! (RFC 7692) is never negotiated and a client offering it gets a session without it.
//!
//! ```
//! use engine_core::Application;
//! use engine_core::websocket::{Message, WebSocketRoute, WebSocketSession, WebSockets};
//! use std::time::Duration;
//!
//! let mut app = Application::new();
//! app.install(WebSockets, |c| c.ping_period = Some(Duration::from_secs(15)));
//! app.routing(|route| {
//!     route.web_socket("/echo", |mut session: WebSocketSession| async move {
//!         while let Some(message) = session.recv().await {
//!             if let message @ (Message::Text(_) | Message::Binary(_)) = message? {
//!                 session.send(message).await?;
//!             }
//!         }
//!         Ok(())
//!     });
//! });
//! ```

mod handshake;
mod route;
mod session;

pub use handshake::HandshakeRejection;
pub use route::{WebSocketHandler, WebSocketRoute};
pub use session::WebSocketSession;
pub use tungstenite::Message;
pub use tungstenite::protocol::CloseFrame;
pub use tungstenite::protocol::frame::coding::CloseCode;

use crate::application::{Application, LifecycleEvent, Plugin};
use std::time::Duration;

/// The WebSockets plugin. Install it to configure sessions and to have them closed with 1001 when
/// the server stops; routes added with [`WebSocketRoute`] in an application without it use
/// [`WebSocketsConfig::default`] and are not told of the stop.
#[derive(Debug, Clone, Copy)]
pub struct WebSockets;

/// How sessions behave. Every field has a documented default.
#[derive(Debug, Clone)]
pub struct WebSocketsConfig {
    /// How often the server pings an otherwise quiet peer. Default `None` (Ktor's default): no
    /// pings; a proxy that drops idle connections makes 30 s a common choice.
    pub ping_period: Option<Duration>,
    /// How long after a ping the peer has to answer with a pong before the session is closed with
    /// 1011 and the connection dropped. Default 15 s (Ktor's). Only used with a `ping_period`.
    /// Pongs are seen as frames are read, so a handler that leaves `incoming_queue_size` messages
    /// unread for longer than this gets its session closed too.
    pub pong_timeout: Duration,
    /// How long after our Close frame the peer has to answer with its own before the connection is
    /// dropped (RFC 6455 §7.1.1). Default 5 s.
    pub close_timeout: Duration,
    /// The largest frame payload accepted; a larger frame is answered with Close 1009. Default
    /// 16 MiB (tungstenite's), so that one frame cannot make the server buffer more.
    pub max_frame_size: usize,
    /// The largest message (all its fragments) accepted; a larger one is answered with Close 1009.
    /// Default 64 MiB (tungstenite's).
    pub max_message_size: usize,
    /// Messages the handler may queue before `send` waits for the connection. Default 32: enough to
    /// batch small frames into one write, small enough to push back on a handler faster than the
    /// peer.
    pub outgoing_queue_size: usize,
    /// Messages read ahead of the handler before the server stops reading (TCP then pushes back on
    /// the peer). Default 32.
    pub incoming_queue_size: usize,
}

impl Default for WebSocketsConfig {
    fn default() -> Self {
        Self {
            ping_period: None,
            pong_timeout: Duration::from_secs(15),
            close_timeout: Duration::from_secs(5),
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            outgoing_queue_size: 32,
            incoming_queue_size: 32,
        }
    }
}

impl WebSocketsConfig {
    /// tungstenite's configuration for a server session.
    fn protocol_config(&self) -> tungstenite::protocol::WebSocketConfig {
        tungstenite::protocol::WebSocketConfig::default()
            .max_frame_size(Some(self.max_frame_size))
            .max_message_size(Some(self.max_message_size))
    }
}

impl Plugin for WebSockets {
    type Config = WebSocketsConfig;
    const NAME: &'static str = "WebSockets";

    #[track_caller]
    fn install(self, app: &mut Application, config: WebSocketsConfig) {
        assert!(
            config.outgoing_queue_size > 0 && config.incoming_queue_size > 0,
            "WebSockets: queue sizes must be at least 1"
        );
        assert!(
            config.ping_period != Some(Duration::ZERO),
            "WebSockets: a ping period must be longer than zero"
        );
        app.state(config);
        // Stop (RFC 6455 §7.4.1, 1001 "going away"): every session closes when the server stops.
        let (stopping, _) = tokio::sync::watch::channel(false);
        app.state(Stopping(stopping));
        app.subscribe(LifecycleEvent::Stopping, |runtime| {
            if let Some(Stopping(stopping)) = runtime.state::<Stopping>() {
                stopping.send_replace(true);
            }
        });
    }
}

/// Tells the application's sessions that the server is stopping.
struct Stopping(tokio::sync::watch::Sender<bool>);

/// A receiver of the stop signal, if the plugin is installed.
fn stopping(call: &crate::ApplicationCall) -> Option<tokio::sync::watch::Receiver<bool>> {
    call.state::<Stopping>().map(|Stopping(tx)| tx.subscribe())
}
