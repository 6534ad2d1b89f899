//! A tokio-uring `TcpStream` as the connection driver's [`Io`]: completion-based reads and writes
//! that take the driver's buffers and give them back, plus the three things tokio-uring lacks,
//! done on the raw socket: `abort` (a `shutdown(2)`, because a dropped io_uring operation is not
//! cancelled), `closed` (tokio's readiness on the descriptor and a non-blocking `MSG_PEEK`), and
//! `into_upgraded` (a duplicate of the descriptor handed to tokio's own `TcpStream`).

use bytes::{Bytes, BytesMut};
use engine_core::conn::{Io, ReadResult};
use engine_core::upgrade::UpgradedIo;
use socket2::SockRef;
use std::io;
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio_uring::buf::BoundedBuf;
use tokio_uring::net::TcpStream;

/// Room a read gets when the driver hands over a full buffer (it normally leaves at least half its
/// `read_buffer_size` free, so this only guards against a zero-sized read).
const MIN_READ: usize = 4 * 1024;

/// One accepted connection.
pub(crate) struct UringIo {
    stream: TcpStream,
}

impl std::fmt::Debug for UringIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UringIo")
            .field("fd", &self.stream.as_raw_fd())
            .finish()
    }
}

impl UringIo {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Self { stream }
    }

    /// The local address the connection was accepted on (for a listener on `0.0.0.0`, the
    /// address the client dialled).
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        with_socket(&self.stream, |socket| socket.local_addr())?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP socket"))
    }

    /// Responses are written whole: Nagle's algorithm would only delay them.
    pub(crate) fn set_nodelay(&self) -> io::Result<()> {
        self.stream.set_nodelay(true)
    }
}

impl Io for UringIo {
    async fn read(&self, mut buf: BytesMut) -> ReadResult {
        let len = buf.len();
        if buf.capacity() == len {
            buf.reserve(MIN_READ);
        }
        // A read writes at the start of what it is given, for all of it: the slice from `len` to
        // the capacity is exactly the spare room, so the bytes land after the buffer's contents and
        // the slice's `set_init` grows the length by what was read (tokio-uring's `Slice` adds its
        // start). Reading into `buf` itself would overwrite the unparsed bytes at its front.
        let (result, slice) = self.stream.read(buf.slice(len..)).await;
        (result, slice.into_inner())
    }

    async fn closed(&self) {
        let fd = self.stream.as_raw_fd();
        // Registered on first poll only: the driver polls this solely while pipelined requests
        // wait and a handler is pending, so the common path never pays for the registration.
        // SAFETY: `fd` stays open, the same socket, for as long as this future (which owns the
        // registration) lives: the future borrows `self`, whose stream owns the descriptor.
        let watched = unsafe { AsyncFd::register_with_interest(Watched(fd), Interest::READABLE) };
        let watched = match watched {
            Ok(watched) => watched,
            Err(error) => {
                // No reactor to watch with: a departure is then noticed by the next read instead.
                tracing::debug!(%error, "cannot watch the connection for its close");
                return std::future::pending().await;
            }
        };
        loop {
            let Ok(mut ready) = watched.readable().await else {
                return;
            };
            match peek(&self.stream) {
                // End of stream with nothing unread, or a reset: the client is gone.
                Ok(0) => return,
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return,
                // Unread bytes (more requests): the client is there, and nothing more can be
                // learnt without reading them; readiness would fire again at once. Wait forever.
                Ok(_) => return std::future::pending().await,
                Err(_) => ready.clear_ready(),
            }
        }
    }

    async fn write_all(&self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        self.stream.write_all(buf).await
    }

    async fn write_bytes(&self, data: Bytes) -> io::Result<()> {
        self.stream.write_all(data).await.0
    }

    async fn shutdown_write(&self) -> io::Result<()> {
        self.stream.shutdown(Shutdown::Write)
    }

    fn abort(&self) {
        // io_uring does not cancel an operation whose future is dropped: a read or write still in
        // flight keeps its buffer and the descriptor until the kernel completes it. Shutting both
        // directions completes every one of them at once (reads see the end, writes `EPIPE`).
        // Not an error if the peer is already gone.
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    fn into_upgraded(self) -> io::Result<Box<dyn UpgradedIo>> {
        // tokio-uring has no `AsyncRead`/`AsyncWrite`. tokio's reactor runs inside tokio-uring's
        // runtime, so a duplicate of the descriptor becomes a tokio `TcpStream` on the same thread.
        // The driver hands over only with no read in flight, so when `self` drops here the original
        // descriptor closes at once and the duplicate is the socket's only owner.
        let owned: OwnedFd = with_fd(&self.stream, |fd| fd.try_clone_to_owned())?;
        let std = std::net::TcpStream::from(owned);
        std.set_nonblocking(true)?;
        let stream = tokio::net::TcpStream::from_std(std)?;
        drop(self);
        Ok(Box::new(stream))
    }
}

/// A descriptor for tokio's reactor to watch. It does not own it: the uring stream does.
struct Watched(RawFd);

impl AsRawFd for Watched {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// Looks at the next unread byte without taking it and without waiting.
fn peek(stream: &TcpStream) -> io::Result<usize> {
    let mut byte = [MaybeUninit::<u8>::uninit()];
    with_socket(stream, |socket| {
        socket.recv_with_flags(&mut byte, libc::MSG_PEEK | libc::MSG_DONTWAIT)
    })
}

/// The descriptor under a tokio-uring socket, borrowed for a call tokio-uring does not wrap.
pub(super) fn with_fd<S: AsRawFd, R>(socket: &S, f: impl FnOnce(BorrowedFd<'_>) -> R) -> R {
    // SAFETY: the descriptor stays open while `socket` is borrowed: tokio-uring closes it only
    // once the socket and every operation holding it are dropped, and the borrow ends with `f`.
    let fd = unsafe { BorrowedFd::borrow_raw(socket.as_raw_fd()) };
    f(fd)
}

/// [`with_fd`], as a socket2 socket.
pub(super) fn with_socket<S: AsRawFd, R>(socket: &S, f: impl FnOnce(SockRef<'_>) -> R) -> R {
    with_fd(socket, |fd| f(SockRef::from(&fd)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const SOON: Duration = Duration::from_secs(2);

    /// A server-side `UringIo` and its blocking std client.
    fn connected() -> (UringIo, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (UringIo::new(TcpStream::from_std(server)), client)
    }

    async fn within<F: Future>(future: F) -> F::Output {
        tokio::time::timeout(SOON, future)
            .await
            .expect("completes within 2 s")
    }

    /// Whether `future` is still pending after a moment.
    async fn stays_pending<F: Future>(future: F) -> bool {
        tokio::time::timeout(Duration::from_millis(100), future)
            .await
            .is_err()
    }

    #[test]
    fn read_appends_after_existing_bytes() {
        tokio_uring::start(async {
            let (io, mut client) = connected();
            let mut buf = BytesMut::with_capacity(64);
            buf.extend_from_slice(b"GET / HT");
            client.write_all(b"TP/1.1\r\n").unwrap();
            let (result, buf) = within(io.read(buf)).await;
            assert_eq!(result.unwrap(), 8);
            assert_eq!(&buf[..], b"GET / HTTP/1.1\r\n");
            // A full buffer grows instead of being read into at its start.
            let mut full = BytesMut::with_capacity(4);
            full.extend_from_slice(b"abcd");
            full.truncate(full.capacity());
            let kept = full.clone();
            client.write_all(b"efgh").unwrap();
            let (result, full) = within(io.read(full)).await;
            assert_eq!(result.unwrap(), 4);
            assert_eq!(&full[..kept.len()], &kept[..]);
            assert!(full.ends_with(b"efgh"));
        });
    }

    #[test]
    fn read_of_a_closed_peer_is_the_end() {
        tokio_uring::start(async {
            let (io, client) = connected();
            drop(client);
            let (result, buf) = within(io.read(BytesMut::with_capacity(16))).await;
            assert_eq!(result.unwrap(), 0);
            assert!(buf.is_empty());
        });
    }

    #[test]
    fn closed_resolves_when_the_peer_leaves_with_nothing_unread() {
        tokio_uring::start(async {
            let (io, client) = connected();
            assert!(stays_pending(io.closed()).await, "open and quiet");
            client.shutdown(Shutdown::Write).unwrap();
            within(io.closed()).await;
        });
    }

    #[test]
    fn closed_resolves_on_a_reset() {
        tokio_uring::start(async {
            let (io, client) = connected();
            socket2::SockRef::from(&client)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            let closed = io.closed();
            drop(client);
            within(closed).await;
        });
    }

    #[test]
    fn closed_stays_pending_while_bytes_wait_and_takes_none() {
        tokio_uring::start(async {
            let (io, mut client) = connected();
            client.write_all(b"next request").unwrap();
            client.shutdown(Shutdown::Write).unwrap();
            assert!(stays_pending(io.closed()).await, "unread bytes first");
            let (result, buf) = within(io.read(BytesMut::with_capacity(64))).await;
            assert_eq!(result.unwrap(), 12);
            assert_eq!(&buf[..], b"next request");
        });
    }

    #[test]
    fn abort_completes_a_read_in_flight() {
        tokio_uring::start(async {
            let (io, _client) = connected();
            let io = std::rc::Rc::new(io);
            let reader = io.clone();
            let read =
                tokio_uring::spawn(async move { reader.read(BytesMut::with_capacity(16)).await });
            tokio::time::sleep(Duration::from_millis(50)).await;
            io.abort();
            let (result, _) = within(read).await.unwrap();
            assert!(matches!(result, Ok(0) | Err(_)), "{result:?}");
        });
    }

    #[test]
    fn abort_completes_a_write_the_peer_does_not_read() {
        tokio_uring::start(async {
            let (io, _client) = connected();
            let io = std::rc::Rc::new(io);
            let writer = io.clone();
            // Far more than the socket buffers hold: the write waits for a reader that never comes.
            let write =
                tokio_uring::spawn(async move { writer.write_all(vec![b'x'; 64 << 20]).await });
            tokio::time::sleep(Duration::from_millis(100)).await;
            io.abort();
            let (result, buf) = within(write).await.unwrap();
            assert!(result.is_err(), "the write ends with an error");
            assert_eq!(buf.len(), 64 << 20, "and the buffer comes back");
        });
    }

    #[test]
    fn upgraded_stream_carries_bytes_and_owns_the_socket() {
        tokio_uring::start(async {
            let (io, mut client) = connected();
            let mut upgraded = io.into_upgraded().unwrap();
            client.write_all(b"ping").unwrap();
            let mut ping = [0u8; 4];
            within(upgraded.read_exact(&mut ping)).await.unwrap();
            assert_eq!(&ping, b"ping");
            within(upgraded.write_all(b"pong")).await.unwrap();
            let mut pong = [0u8; 4];
            client.read_exact(&mut pong).unwrap();
            assert_eq!(&pong, b"pong");
            // Once the upgraded stream is gone the client sees the end: no other descriptor (the
            // uring stream's) kept the socket open.
            drop(upgraded);
            client.set_read_timeout(Some(SOON)).unwrap();
            assert_eq!(client.read(&mut pong).unwrap(), 0);
        });
    }
}
