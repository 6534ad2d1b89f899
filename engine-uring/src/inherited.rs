//! Stopping the accept loops of inherited listeners (systemd socket activation) without shutting
//! their socket down.
//!
//! tokio-uring cannot cancel an operation, so a stopping accept loop completes its pending accept
//! by shutting its listener down (`ring`'s `Acceptor::close`). On a socket this process bound that
//! is right: the socket is closed next. On an inherited one it is not: every worker's listener is
//! a descriptor of the one socket systemd also holds, and `shutdown(2)` on a listening socket ends
//! its listening for every holder, for good (a later `listen(2)` does not bring it back on Linux
//! 6.x). systemd would then see the socket hang up, fail the socket unit ("the service probably
//! invoked shutdown() on it"), and connections would be refused until it is recreated, where
//! socket activation promises they wait in the backlog for the next start.
//!
//! So before the stop is signalled, [`end_accepts`] ends those loops another way: it closes the
//! connection-limit semaphore, on which each loop waits before its next accept (an accept loop
//! ends when the semaphore is closed), and completes each pending accept with a connection of its
//! own: one per worker, each half-closed at once, so the engine serves it as a client that left
//! and closes it. Once that connection reads its end of file, the worker that accepted it has
//! left its accept loop without a `shutdown(2)`; the next connection goes to another worker's
//! pending accept. A client that arrives meanwhile is served like ours; one of our connections
//! then waits in the backlog and is seen by the next instance as a client that left.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How long a wake-up connection waits to be accepted and closed. Past it, no accept is taken to
/// be pending on that socket (every worker at the connection limit, or ended), and no further
/// connection is made to it.
const WAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// Ends every accept loop on the inherited listeners at `addrs`, each shared by `workers` accept
/// loops, without shutting the sockets down. Blocks until they ended, at most [`WAKE_TIMEOUT`]
/// per socket once a wake-up goes unanswered.
pub(crate) fn end_accepts(limit: &Semaphore, addrs: &[SocketAddr], workers: usize) {
    limit.close();
    for &addr in addrs {
        let target = reachable(addr);
        for _ in 0..workers {
            if let Err(error) = wake(target) {
                tracing::debug!(%error, %addr, "no accept left to wake on the inherited listener");
                break;
            }
        }
    }
}

/// One wake-up: connect, half-close, and wait for the server to close (accepted and served).
fn wake(target: SocketAddr) -> std::io::Result<()> {
    let deadline = Instant::now() + WAKE_TIMEOUT;
    let mut stream = TcpStream::connect_timeout(&target, WAKE_TIMEOUT)?;
    stream.shutdown(Shutdown::Write)?;
    let mut sink = [0u8; 64];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut sink) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            // A reset is a close too: the connection was accepted.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Where to connect to reach a listener bound to `addr`: the loopback address of its family for a
/// wildcard bind.
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}
