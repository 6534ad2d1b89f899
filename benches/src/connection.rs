//! One keep-alive connection served by the connection driver over the in-memory pipe, on a
//! current-thread runtime, and its client end: what the `call/*` benches of `pipeline` and the
//! `stack` bench drive. No socket and no syscall; the client's side (the pipe's copies, the scan
//! for each response's end) is measured too.

use engine_core::AppRuntime;
use engine_core::call::ConnectionInfo;
use engine_core::conn::{ConnConfig, ShutdownTrigger, serve_connection, shutdown_pair};
use engine_core::testing::{MemoryStream, memory_pair};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

/// A served connection that answers `depth` pipelined copies of one request per round trip.
pub struct Connection {
    runtime: Runtime,
    client: MemoryStream,
    /// Kept alive for the whole bench: dropping it would stop the connection.
    _trigger: ShutdownTrigger,
    requests: Vec<u8>,
    depth: usize,
    response_end: &'static [u8],
    buf: Vec<u8>,
    finder: memchr::memmem::Finder<'static>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Serves `app`; each round trip writes `request` `depth` times in one write and reads until
    /// `depth` responses ended, each response's end being `response_end` (the blank line after its
    /// head, then the body: unique per response).
    pub fn new(
        app: Arc<AppRuntime>,
        request: &[u8],
        depth: usize,
        response_end: &'static [u8],
    ) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let (client, server) = memory_pair();
        let (trigger, signal) = shutdown_pair();
        let info = ConnectionInfo {
            local: SocketAddr::from((Ipv4Addr::LOCALHOST, 80)),
            remote: SocketAddr::from((Ipv4Addr::LOCALHOST, 49152)),
        };
        let serve = serve_connection(server, app, Arc::new(ConnConfig::default()), info, signal);
        runtime.spawn(serve);
        Self {
            runtime,
            client,
            _trigger: trigger,
            requests: request.repeat(depth),
            depth,
            response_end,
            buf: vec![0; 64 * 1024],
            finder: memchr::memmem::Finder::new(response_end),
        }
    }

    /// Writes the pipelined requests and reads until all their responses arrived.
    ///
    /// # Panics
    /// If the server closes the connection or answers more than it was asked.
    pub fn round_trip(&mut self) {
        let Self {
            runtime,
            client,
            requests,
            depth,
            response_end,
            buf,
            finder,
            ..
        } = self;
        runtime.block_on(async {
            client.write_all(requests).await.expect("write");
            let mut seen = 0;
            // Bytes kept from the previous read: an end marker may straddle two reads.
            let mut kept = 0;
            while seen < *depth {
                let n = client.read(&mut buf[kept..]).await.expect("read");
                assert!(n > 0, "the server closed the connection");
                let filled = kept + n;
                seen += finder.find_iter(&buf[..filled]).count();
                kept = (response_end.len() - 1).min(filled);
                buf.copy_within(filled - kept..filled, 0);
            }
            assert_eq!(seen, *depth, "more responses than requests");
        });
    }
}
