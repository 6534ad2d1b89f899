//! Everything that touches tokio-uring, in one place, so that a move to the `io-uring` crate (or
//! another ring library) stays inside this module: a worker thread's runtime, its accept loops,
//! the per-connection [`Io`](engine_core::conn::Io) ([`io::UringIo`]), and the probe.
//!
//! A worker runs one tokio-uring runtime (a tokio current-thread runtime whose reactor also watches
//! the ring's descriptor) and an accept loop per listener it was given. A connection accepted here
//! is served here, in a local task: it never leaves the thread, and nothing it holds needs `Send`.
//!
//! What tokio-uring does not do, and how this module makes up for it:
//! - A dropped operation is not cancelled. Connections: the driver calls `Io::abort` (a
//!   `shutdown(2)` of both directions) on every timeout and on a forced stop, which completes what
//!   is in flight. Listeners: a stopping accept loop shuts its listener down and then waits for its
//!   accept to complete, instead of dropping it. At the end, the runtime's driver cancels (and
//!   waits for) whatever is left.
//! - No `AsyncRead`/`AsyncWrite`: an upgraded connection is handed to tokio's `TcpStream`
//!   ([`io::UringIo`]'s `into_upgraded`).
//! - No readiness: `closed` asks tokio's reactor about the descriptor.

mod io;

use crate::Shared;
use engine_core::call::ConnectionInfo;
use engine_core::conn::serve_connection;
use io::UringIo;
use std::net::{Shutdown, SocketAddr};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio_uring::net::{TcpListener, TcpStream};

/// Submission queue entries per ring (tokio-uring's default; the kernel gives twice as many
/// completion entries). A full submission queue is submitted early and completions past the
/// completion queue wait in the kernel (`IORING_FEAT_NODROP`): slower, never lost. Measured on the
/// plaintext test pipelined 16 deep (ARCHITECTURE-uring.md): 1024 entries cost 8% more server CPU
/// per request than 256, with 256 connections and with 1000 alike.
const RING_ENTRIES: u32 = 256;

/// How long a stopping worker lets aborted operations complete, and a closed listener's accept
/// come back, before its runtime's driver cancels what is left.
const SETTLE: Duration = Duration::from_secs(1);

/// Builds a ring and runs a no-op through it: whether io_uring works for this process.
pub(crate) fn probe() -> std::io::Result<()> {
    let runtime = runtime()?;
    runtime.block_on(async {
        tokio::time::timeout(SETTLE, tokio_uring::no_op())
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "a no-op submitted to the ring did not complete",
                )
            })?
    })
}

fn runtime() -> std::io::Result<tokio_uring::Runtime> {
    tokio_uring::Runtime::new(tokio_uring::builder().entries(RING_ENTRIES))
}

/// Runs a worker on the calling thread until the engine stops: builds its runtime, accepts on
/// `listeners`, reports through `ready` once every listener accepts (or why none can), then serves
/// until every connection is closed or the stop is forced.
pub(crate) fn run_worker(
    listeners: Vec<std::net::TcpListener>,
    shared: Arc<Shared>,
    ready: impl FnOnce(Result<(), String>),
) {
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(error) => return ready(Err(crate::probe::explain(&error))),
    };
    runtime.block_on(async move {
        let acceptors = match Acceptor::all(listeners, &shared) {
            Ok(acceptors) => acceptors,
            Err(error) => {
                return ready(Err(format!("cannot hand a listener to the ring: {error}")));
            }
        };
        let accepting: Vec<_> = acceptors
            .into_iter()
            .map(|acceptor| tokio_uring::spawn(acceptor.run()))
            .collect();
        ready(Ok(()));
        for task in accepting {
            let _ = task.await;
        }
        // Every accept loop has ended: shutdown began. Connections finish their requests in the
        // graceful phase; a forced stop aborts them, and their operations then complete at once.
        let signal = &shared.signal;
        tokio::select! {
            () = signal.all_closed() => {}
            () = signal.forced() => {
                let _ = tokio::time::timeout(SETTLE, signal.all_closed()).await;
            }
        }
    });
    // Dropping the runtime drops any task left and has its driver cancel, and wait for, every
    // operation still in flight: buffers and descriptors are freed before the thread ends.
    drop(runtime);
}

/// One listener's accept loop.
struct Acceptor {
    listener: TcpListener,
    local: SocketAddr,
    shared: Arc<Shared>,
}

impl Acceptor {
    /// The std listeners as tokio-uring ones, each with its accept loop's state.
    fn all(
        listeners: Vec<std::net::TcpListener>,
        shared: &Arc<Shared>,
    ) -> std::io::Result<Vec<Self>> {
        listeners
            .into_iter()
            .map(|listener| {
                // The ring does the waiting. In blocking mode an accept never comes back with
                // `EAGAIN`, which some kernels return for an `O_NONBLOCK` listener when they retry
                // the accept off their fast path.
                listener.set_nonblocking(false)?;
                let local = listener.local_addr()?;
                Ok(Self {
                    listener: TcpListener::from_std(listener),
                    local,
                    shared: shared.clone(),
                })
            })
            .collect()
    }

    async fn run(self) {
        let signal = &self.shared.signal;
        loop {
            // At the connection limit, stop accepting: new connections wait in the backlog.
            let permit = tokio::select! {
                permit = self.shared.limit.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
                () = signal.stopping() => return,
            };
            let mut accept = pin!(self.listener.accept());
            let accepted = tokio::select! {
                accepted = &mut accept => accepted,
                () = signal.stopping() => {
                    self.close(accept).await;
                    return;
                }
            };
            match accepted {
                Ok((stream, remote)) => self.serve(stream, remote, permit),
                Err(error) => {
                    // Out of descriptors, or a connection reset before it was accepted: back off.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    /// Serves one connection in a task of this thread.
    fn serve(
        &self,
        stream: TcpStream,
        remote: SocketAddr,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        let io = UringIo::new(stream);
        let _ = io.set_nodelay();
        let local = io.local_addr().unwrap_or(self.local);
        let info = ConnectionInfo { local, remote };
        let serve = serve_connection(
            io,
            self.shared.app.clone(),
            self.shared.conn.clone(),
            info,
            self.shared.signal.clone(),
        );
        tokio_uring::spawn(async move {
            serve.await;
            drop(permit);
        });
    }

    /// Stops listening with the accept still in flight. Dropping it would leave it in the ring,
    /// keeping the listener open (and taking connections) until the runtime ends. Shutting a
    /// listening socket down takes it out of the `SO_REUSEPORT` group, resets what waits in its
    /// backlog, and completes the accept with `EINVAL`.
    async fn close<F>(&self, accept: std::pin::Pin<&mut F>)
    where
        F: Future<Output = std::io::Result<(TcpStream, SocketAddr)>>,
    {
        if let Err(error) = io::with_socket(&self.listener, |s| s.shutdown(Shutdown::Read)) {
            tracing::debug!(%error, "cannot shut the listener down");
        }
        match tokio::time::timeout(SETTLE, accept).await {
            // Accepted in the last instant: shutdown began, so it closes unanswered.
            Ok(Ok((stream, _))) => drop(stream),
            Ok(Err(_)) => {}
            Err(_) => tracing::warn!("a stopped listener's accept did not complete"),
        }
    }
}
