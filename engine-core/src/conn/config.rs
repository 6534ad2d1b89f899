//! Every limit and timeout of a connection: a named field with its default, the reason for it, and
//! what a peer gets past it.

use crate::http::Limits;
use std::time::Duration;

/// Limits and timeouts of one connection. Engines pass it to the connection driver unchanged.
///
/// ```
/// use engine_core::conn::ConnConfig;
/// use std::time::Duration;
/// let config = ConnConfig { idle_timeout: Duration::from_secs(5), ..ConnConfig::default() };
/// assert_eq!(config.max_body_size, 16 * 1024 * 1024);
/// ```
#[derive(Debug, Clone)]
pub struct ConnConfig {
    /// The wire layer's limits: request line (414), header section and field count (431), chunk
    /// lines and trailers (400).
    pub limits: Limits,
    /// Largest request body: 16 MiB. A `Content-Length` above it is refused before the handler
    /// runs; a chunked body that grows past it fails the handler's read. Either way: 413, then close.
    pub max_body_size: u64,
    /// Most unread body bytes drained after a response so the connection can be reused: 256 KiB. A
    /// handler that ignores a larger body gets its response sent, then the connection closes.
    pub max_drain: u64,
    /// Time for a complete request head, from its first byte: 15 s. Past it (a slow sender, a
    /// slowloris attack): 408, then close.
    pub header_read_timeout: Duration,
    /// How long a keep-alive connection may sit idle between requests: 60 s; then it closes without
    /// a response. A request being handled is never cut by it.
    pub idle_timeout: Duration,
    /// Time for one write to complete: 30 s. A peer that stops reading is closed after it.
    pub write_timeout: Duration,
    /// Initial read buffer size: 8 KiB. It grows as a head or pipelined requests need, up to the
    /// head limits.
    pub read_buffer_size: usize,
    /// Response bytes gathered before a write: 64 KiB. Pipelined responses are encoded into one
    /// buffer and written together up to this size.
    pub write_buffer_size: usize,
    /// Whether a client that closes or resets its connection while its request is handled cancels
    /// the handler (Ktor's `HttpRequestLifecycle.cancelCallOnClose`): on by default. Off, a client
    /// may half-close after sending its request and still get the response.
    pub cancel_on_disconnect: bool,
}

impl Default for ConnConfig {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            max_body_size: 16 * 1024 * 1024,
            max_drain: 256 * 1024,
            header_read_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            read_buffer_size: 8 * 1024,
            write_buffer_size: 64 * 1024,
            cancel_on_disconnect: true,
        }
    }
}
