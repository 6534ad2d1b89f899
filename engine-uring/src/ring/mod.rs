//! Everything that touches io_uring, in one place: a worker thread's ring ([`driver`]) next to a
//! tokio current-thread runtime, its accept loops, the per-connection
//! [`Io`](engine_core::conn::Io) ([`io::UringIo`]), and the probe.
//!
//! A worker runs one tokio current-thread runtime, whose park hook submits the ring's queue, and
//! an accept loop per listener it was given, accepting through the ring. A connection accepted
//! here is served here: the runtime has one thread, so its tasks never leave it.
//!
//! What io_uring does not do for us, and how this module makes up for it:
//! - A dropped operation is not cancelled. Connections: the driver calls `Io::abort` (a
//!   `shutdown(2)` of both directions) on every timeout and on a forced stop, which completes what
//!   is in flight. Listeners: a stopping accept loop shuts its listener down and then waits for its
//!   accept to complete, instead of dropping it. At the end, the worker lets what is left complete
//!   (and leaks the buffers of anything the kernel still holds, rather than free them under it).
//! - No `AsyncRead`/`AsyncWrite`: an upgraded connection is handed to tokio's `TcpStream`
//!   ([`io::UringIo`]'s `into_upgraded`).
//! - No readiness: `closed` asks tokio's reactor about the descriptor.

mod driver;
mod io;

use crate::Shared;
use driver::{Op, entries, install, uninstall};
use engine_core::call::ConnectionInfo;
use engine_core::conn::serve_connection;
use io::UringIo;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

/// How long a stopping worker lets aborted operations complete, and a closed listener's accept
/// come back, before it gives up on them.
const SETTLE: Duration = Duration::from_secs(1);

/// Builds a ring and runs a no-op through it: whether io_uring works for this process.
pub(crate) fn probe() -> std::io::Result<()> {
    let runtime = runtime()?;
    install()?;
    let outcome = runtime.block_on(async {
        let nop = Op::new(entries::Nop::new().build(), ());
        match tokio::time::timeout(SETTLE, nop).await {
            Ok((result, ())) => driver::result(result).map(drop),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "a no-op submitted to the ring did not complete",
            )),
        }
    });
    drop(runtime);
    uninstall(SETTLE);
    outcome
}

/// The worker's runtime: tokio's current-thread scheduler (timers and sockets for handlers), whose
/// every park first submits the ring's queue and reaps its completions.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_park(driver::before_park)
        .build()
}

/// Runs a worker on the calling thread until the engine stops: builds its ring and runtime,
/// accepts on `listeners`, reports through `ready` once every listener accepts (or why none can),
/// then serves until every connection is closed or the stop is forced.
pub(crate) fn run_worker(
    listeners: Vec<std::net::TcpListener>,
    shared: Arc<Shared>,
    ready: impl FnOnce(Result<(), String>),
) {
    let runtime = match runtime().and_then(|runtime| install().map(|_| runtime)) {
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
        let reactor = tokio::spawn(driver::reactor());
        let accepting: Vec<_> = acceptors
            .into_iter()
            .map(|acceptor| tokio::spawn(acceptor.run()))
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
        reactor.abort();
    });
    // Dropping the runtime drops any task left; their operations stay in the ring's table until
    // the kernel completes them, which `uninstall` waits for.
    drop(runtime);
    uninstall(SETTLE);
}

/// Runs `test` on a worker-like thread: a runtime with its ring, torn down afterwards.
#[cfg(test)]
pub(crate) fn run_test<F: Future>(test: F) -> F::Output {
    let runtime = runtime().expect("a runtime");
    install().expect("io_uring works on the test machine");
    let output = runtime.block_on(async {
        let reactor = tokio::spawn(driver::reactor());
        let output = test.await;
        reactor.abort();
        output
    });
    drop(runtime);
    uninstall(SETTLE);
    output
}

/// One listener's accept loop.
struct Acceptor {
    listener: std::net::TcpListener,
    local: SocketAddr,
    shared: Arc<Shared>,
}

/// Where an accept writes the peer's address.
struct PeerAddr {
    storage: socket2::SockAddrStorage,
    len: libc::socklen_t,
}

impl Acceptor {
    /// The std listeners, each with its accept loop's state.
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
                    listener,
                    local,
                    shared: shared.clone(),
                })
            })
            .collect()
    }

    /// An accept through the ring; [`accepted`] reads its result.
    fn accept(&self) -> Op<Box<PeerAddr>> {
        let storage = socket2::SockAddrStorage::zeroed();
        let len = storage.size_of();
        let mut peer = Box::new(PeerAddr { storage, len });
        // SAFETY: `sockaddr` is one of the platform's socket address types.
        let addr: *mut libc::sockaddr = unsafe { peer.storage.view_as::<libc::sockaddr>() };
        let entry = entries::Accept::new(
            entries::Fd(self.listener.as_raw_fd()),
            addr,
            &raw mut peer.len,
        )
        .flags(libc::SOCK_CLOEXEC)
        .build();
        Op::new(entry, peer)
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
            let mut accept = self.accept();
            let done = tokio::select! {
                done = &mut accept => done,
                () = signal.stopping() => {
                    // Cancelled, not dropped: a dropped accept would stay in the ring and keep the
                    // listener taking connections. Cancelling leaves the socket as it is, which
                    // matters for one inherited from systemd: it must go on listening.
                    accept.cancel();
                    if let Ok((fd, _)) = accepted(accept.await) {
                        // Accepted in the last instant: shutdown began, so it closes unanswered.
                        drop(fd);
                    }
                    return;
                }
            };
            match accepted(done) {
                Ok((fd, remote)) => self.serve(fd, remote, permit),
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
        fd: OwnedFd,
        remote: Option<SocketAddr>,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) {
        let io = UringIo::new(fd);
        let _ = io.set_nodelay();
        let local = io.local_addr().unwrap_or(self.local);
        let remote = remote.unwrap_or(self.local);
        let info = ConnectionInfo { local, remote };
        let serve = serve_connection(
            io,
            self.shared.app.clone(),
            self.shared.conn.clone(),
            info,
            self.shared.signal.clone(),
        );
        tokio::spawn(async move {
            serve.await;
            drop(permit);
        });
    }
}

/// A completed accept: the new connection's descriptor and the peer's address.
fn accepted(
    (result, peer): (i32, Box<PeerAddr>),
) -> std::io::Result<(OwnedFd, Option<SocketAddr>)> {
    let fd = io::accepted(result)?;
    let PeerAddr { storage, len } = *peer;
    // SAFETY: the kernel wrote a socket address of `len` bytes into `storage`.
    let addr = unsafe { socket2::SockAddr::new(storage, len) };
    Ok((fd, addr.as_socket()))
}
