//! The WebSockets plugin (Ktor's `WebSockets`): RFC 6455 sessions on every engine, over the raw
//! connection a `101 Switching Protocols` hands over ([`crate::upgrade`]).
//!
//! - [`WebSockets`] stores a [`WebSocketsConfig`] in the application's state: ping period, pong,
//!   close and write timeouts, frame and message limits, queue sizes, permessage-deflate.
//! - [`WebSocketRoute`] adds `route.web_socket(path, handler)`, `web_socket_protocol` (a
//!   subprotocol) and `web_socket_raw` (every frame to the handler) to routing's
//!   [`Route`](crate::routing::Route).
//! - `handshake` checks the opening handshake (RFC 6455 §4.2.1) and builds the answer (§4.2.2);
//!   `extensions` and `deflate` negotiate permessage-deflate (RFC 7692).
//! - The wire layer is sans-I/O and ours: [`frame`] parses and encodes frame heads and masks
//!   (§5.2, §5.3), [`Decoder`] turns bytes into messages (fragments §5.4, UTF-8 §8.1, Close §5.5.1,
//!   inflating), `encoder` messages into frames. Every error a peer can cause is a
//!   [`ProtocolError`] with its Close code (§7.4.1).
//! - [`WebSocketSession`] is what a handler talks to; `driver` runs the reader and writer loops
//!   under it (ping/pong §5.5.2-3, the close handshake §7.1).
//!
//! The message types are tungstenite's ([`Message`], [`CloseFrame`], [`CloseCode`]), so that a
//! tokio-tungstenite client and a handler speak the same values.
//!
//! ```
//! use engine_core::Application;
//! use engine_core::websocket::{
//!     DeflateConfig, Message, WebSocketRoute, WebSocketSession, WebSockets,
//! };
//! use std::time::Duration;
//!
//! let mut app = Application::new();
//! app.install(WebSockets, |c| {
//!     c.ping_period = Some(Duration::from_secs(15));
//!     // permessage-deflate for clients that offer it (browsers do).
//!     c.deflate = Some(DeflateConfig::default());
//! });
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

mod decoder;
mod deflate;
mod driver;
mod encoder;
mod error;
mod extensions;
pub mod frame;
mod handshake;
mod read_buffer;
mod route;
mod session;

pub use decoder::{Decoder, DecoderConfig};
pub use deflate::DeflateConfig;
pub use error::ProtocolError;
pub use handshake::HandshakeRejection;
pub use route::{WebSocketHandler, WebSocketRoute};
pub use session::{SessionError, WebSocketSession};
pub use tungstenite::Message;
pub use tungstenite::protocol::CloseFrame;
pub use tungstenite::protocol::frame::coding::CloseCode;
pub use tungstenite::protocol::frame::{Frame, FrameHeader, Utf8Bytes};

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
    /// Pongs are seen as frames are read, and the server stops reading while the incoming queue
    /// is full: if that happened since the ping, the peer gets another `pong_timeout`, so a
    /// handler that falls behind does not get a live peer taken for a dead one.
    pub pong_timeout: Duration,
    /// How long after our Close frame the peer has to answer with its own before the connection is
    /// dropped (RFC 6455 §7.1.1), and how long after the close handshake the server waits for the
    /// peer to close TCP. Default 5 s.
    pub close_timeout: Duration,
    /// How long one write may wait for a peer that does not read before the connection is
    /// dropped. Default 30 s (the HTTP side's `ConnConfig::write_timeout`).
    pub write_timeout: Duration,
    /// The largest frame payload accepted; a larger frame is answered with Close 1009 as soon as
    /// its head is read. Default 16 MiB, so that one frame cannot make the server buffer more.
    pub max_frame_size: usize,
    /// The largest message (all its fragments, decompressed) accepted; a larger one is answered
    /// with Close 1009, a compressed one as soon as it inflates past this. Default 64 MiB.
    pub max_message_size: usize,
    /// Messages the handler may queue before `send` waits for the connection. Default 32: enough to
    /// batch small frames into one write, small enough to push back on a handler faster than the
    /// peer.
    pub outgoing_queue_size: usize,
    /// `send` also waits while the messages sent and not yet written hold this many bytes (a
    /// message larger than this still goes through, alone), so that what the peer has not taken
    /// yet waits in the handler rather than in the server's memory. Without it a peer that never
    /// reads made the server hold `outgoing_queue_size` messages of whatever size the handler
    /// sent, per session; with it, about this much plus one message. Default 128 KiB, as for
    /// `incoming_queue_bytes`.
    pub outgoing_queue_bytes: usize,
    /// Messages read ahead of the handler before the server stops reading (TCP then pushes back on
    /// the peer). Default 32.
    pub incoming_queue_size: usize,
    /// The reader also stops reading once the messages queued for the handler hold this many
    /// bytes (a message larger than this still goes through, alone), so that the read-ahead of
    /// large messages stays in the kernel's socket buffer rather than the server's memory.
    /// Default 128 KiB.
    pub incoming_queue_bytes: usize,
    /// permessage-deflate (RFC 7692), accepted when a client offers it. Default `None` (Ktor's:
    /// the extension is opt-in): sessions are not compressed. Raw-mode routes never negotiate it.
    pub deflate: Option<DeflateConfig>,
}

impl Default for WebSocketsConfig {
    fn default() -> Self {
        Self {
            ping_period: None,
            pong_timeout: Duration::from_secs(15),
            close_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(30),
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            outgoing_queue_size: 32,
            outgoing_queue_bytes: 128 << 10,
            incoming_queue_size: 32,
            incoming_queue_bytes: 128 << 10,
            deflate: None,
        }
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
        if let Some(deflate) = &config.deflate {
            deflate.check();
        }
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
