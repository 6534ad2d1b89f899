//! An accepted socket as the connection driver's [`Io`]: completion-based reads and writes on the
//! worker's ring ([`super::driver`]) that take the driver's buffers and give them back, plus what
//! the ring is not the tool for, done on the socket itself: `abort` (a `shutdown(2)`, because a
//! dropped io_uring operation is not cancelled), `closed` (tokio's readiness on the descriptor and
//! a non-blocking `MSG_PEEK`), and `into_upgraded` (a duplicate of the descriptor handed to tokio's
//! own `TcpStream`).

use super::driver::{Op, close_after_submit, entries, result};
use bytes::{Bytes, BytesMut};
use engine_core::conn::{Io, ReadResult};
use engine_core::upgrade::UpgradedIo;
use socket2::SockRef;
use std::io;
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Room a read gets when the driver hands over a full buffer (it normally leaves at least half its
/// `read_buffer_size` free, so this only guards against a zero-sized read).
const MIN_READ: usize = 4 * 1024;

/// The most a single send or receive asks for: the kernel's count is an `i32`.
const MAX_OP: usize = 1 << 30;

/// One accepted connection.
#[derive(Debug)]
pub(crate) struct UringIo {
    /// `None` only once handed over by `into_upgraded`.
    fd: Option<OwnedFd>,
}

impl UringIo {
    pub(crate) fn new(fd: OwnedFd) -> Self {
        Self { fd: Some(fd) }
    }

    fn raw(&self) -> RawFd {
        self.fd.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    fn socket(&self) -> SockRef<'_> {
        SockRef::from(self)
    }

    /// The local address the connection was accepted on (for a listener on `0.0.0.0`, the
    /// address the client dialled).
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket()
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP socket"))
    }

    /// Responses are written whole: Nagle's algorithm would only delay them.
    pub(crate) fn set_nodelay(&self) -> io::Result<()> {
        self.socket().set_tcp_nodelay(true)
    }

    /// Sends all of `data[from..]`, one operation after another until the kernel took it all.
    async fn send_all<B: AsRef<[u8]> + Unpin + 'static>(&self, data: B) -> (io::Result<()>, B) {
        let mut data = data;
        let mut sent = 0;
        while sent < data.as_ref().len() {
            let rest = &data.as_ref()[sent..];
            let len = u32::try_from(rest.len().min(MAX_OP)).unwrap_or(u32::MAX);
            let entry = entries::Send::new(entries::Fd(self.raw()), rest.as_ptr(), len)
                .flags(libc::MSG_NOSIGNAL)
                .build();
            let (n, back) = Op::new(entry, data).await;
            data = back;
            match result(n) {
                Ok(0) => return (Err(io::ErrorKind::WriteZero.into()), data),
                Ok(n) => sent += n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return (Err(error), data),
            }
        }
        (Ok(()), data)
    }
}

impl AsFd for UringIo {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.fd {
            Some(fd) => fd.as_fd(),
            // SAFETY: -1 is never a valid descriptor; calls on it fail with EBADF. Unreachable in
            // practice: `fd` is only taken by `into_upgraded`, which consumes `self`.
            None => unsafe { BorrowedFd::borrow_raw(-1) },
        }
    }
}

impl Drop for UringIo {
    fn drop(&mut self) {
        if let Some(fd) = self.fd.take() {
            close_after_submit(fd);
        }
    }
}

impl Io for UringIo {
    async fn read(&self, mut buf: BytesMut) -> ReadResult {
        if buf.capacity() == buf.len() {
            buf.reserve(MIN_READ);
        }
        let len = buf.len();
        let spare = buf.spare_capacity_mut();
        let room = u32::try_from(spare.len().min(MAX_OP)).unwrap_or(u32::MAX);
        // The kernel writes after the buffer's contents, into its spare capacity; the heap block
        // does not move when `buf` moves into the operation.
        let entry =
            entries::Recv::new(entries::Fd(self.raw()), spare.as_mut_ptr().cast(), room).build();
        let (n, mut buf) = Op::new(entry, buf).await;
        let n = result(n);
        if let Ok(n) = n {
            // SAFETY: the kernel initialised `n` bytes after the first `len`.
            unsafe { buf.set_len(len + n) };
        }
        (n, buf)
    }

    async fn closed(&self) {
        let fd = self.raw();
        // Registered on first poll only: the driver polls this solely while pipelined requests
        // wait and a handler is pending, so the common path never pays for the registration.
        // SAFETY: `fd` stays open, the same socket, for as long as this future (which owns the
        // registration) lives: the future borrows `self`, which owns the descriptor.
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
            match self.peek() {
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
        self.send_all(buf).await
    }

    async fn write_bytes(&self, data: Bytes) -> io::Result<()> {
        self.send_all(data).await.0
    }

    async fn shutdown_write(&self) -> io::Result<()> {
        self.socket().shutdown(Shutdown::Write)
    }

    fn abort(&self) {
        // io_uring does not cancel an operation whose future is dropped: a read or write still in
        // flight keeps its buffer until the kernel completes it. Shutting both directions
        // completes every one of them at once (reads see the end, writes `EPIPE`). Not an error
        // if the peer is already gone.
        let _ = self.socket().shutdown(Shutdown::Both);
    }

    fn reset(&self) {
        // A zero linger makes the close that ends the connection send RST instead of FIN. That
        // close frees the socket only once no operation holds it: shutting the read side (which
        // sends nothing) completes a read still in flight, as in `abort`.
        let socket = self.socket();
        let _ = socket.set_linger(Some(std::time::Duration::ZERO));
        let _ = socket.shutdown(Shutdown::Read);
    }

    fn into_upgraded(mut self) -> io::Result<Box<dyn UpgradedIo>> {
        // No `AsyncRead`/`AsyncWrite` on the ring: tokio's reactor runs on this thread too, so
        // the socket becomes a tokio `TcpStream`. The driver hands over only with no operation in
        // flight, so the descriptor moves over whole.
        let fd = self
            .fd
            .take()
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        let std = std::net::TcpStream::from(fd);
        std.set_nonblocking(true)?;
        Ok(Box::new(tokio::net::TcpStream::from_std(std)?))
    }
}

impl UringIo {
    /// Looks at the next unread byte without taking it and without waiting.
    fn peek(&self) -> io::Result<usize> {
        let mut byte = [MaybeUninit::<u8>::uninit()];
        self.socket()
            .recv_with_flags(&mut byte, libc::MSG_PEEK | libc::MSG_DONTWAIT)
    }
}

/// A descriptor for tokio's reactor to watch. It does not own it: the connection does.
struct Watched(RawFd);

impl AsRawFd for Watched {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// An accepted descriptor, from an accept's result.
pub(crate) fn accepted(fd: i32) -> io::Result<OwnedFd> {
    let fd = RawFd::try_from(result(fd)?).map_err(io::Error::other)?;
    // SAFETY: the kernel just created `fd` for this accept, and nothing else owns it.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
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
        (UringIo::new(server.into()), client)
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
        super::super::run_test(async {
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
        super::super::run_test(async {
            let (io, client) = connected();
            drop(client);
            let (result, buf) = within(io.read(BytesMut::with_capacity(16))).await;
            assert_eq!(result.unwrap(), 0);
            assert!(buf.is_empty());
        });
    }

    #[test]
    fn writes_arrive_whole_and_give_their_buffers_back() {
        super::super::run_test(async {
            let (io, mut client) = connected();
            let (result, buf) = within(io.write_all(b"hello, ".to_vec())).await;
            result.unwrap();
            assert_eq!(buf, b"hello, ");
            within(io.write_bytes(Bytes::from_static(b"world")))
                .await
                .unwrap();
            let mut got = [0u8; 12];
            client.read_exact(&mut got).unwrap();
            assert_eq!(&got, b"hello, world");
        });
    }

    #[test]
    fn closed_resolves_when_the_peer_leaves_with_nothing_unread() {
        super::super::run_test(async {
            let (io, client) = connected();
            assert!(stays_pending(io.closed()).await, "open and quiet");
            client.shutdown(Shutdown::Write).unwrap();
            within(io.closed()).await;
        });
    }

    #[test]
    fn closed_resolves_on_a_reset() {
        super::super::run_test(async {
            let (io, client) = connected();
            SockRef::from(&client)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            let closed = io.closed();
            drop(client);
            within(closed).await;
        });
    }

    #[test]
    fn closed_stays_pending_while_bytes_wait_and_takes_none() {
        super::super::run_test(async {
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
        super::super::run_test(async {
            let (io, _client) = connected();
            let io = std::sync::Arc::new(io);
            let reader = io.clone();
            let read = tokio::spawn(async move { reader.read(BytesMut::with_capacity(16)).await });
            tokio::time::sleep(Duration::from_millis(50)).await;
            io.abort();
            let (result, _) = within(read).await.unwrap();
            assert!(matches!(result, Ok(0) | Err(_)), "{result:?}");
        });
    }

    #[test]
    fn abort_completes_a_write_the_peer_does_not_read() {
        super::super::run_test(async {
            let (io, _client) = connected();
            let io = std::sync::Arc::new(io);
            let writer = io.clone();
            // Far more than the socket buffers hold: the write waits for a reader that never comes.
            let write = tokio::spawn(async move { writer.write_all(vec![b'x'; 64 << 20]).await });
            tokio::time::sleep(Duration::from_millis(100)).await;
            io.abort();
            let (result, buf) = within(write).await.unwrap();
            assert!(result.is_err(), "the write ends with an error");
            assert_eq!(buf.len(), 64 << 20, "and the buffer comes back");
        });
    }

    #[test]
    fn a_dropped_read_keeps_its_buffer_until_the_kernel_is_done() {
        super::super::run_test(async {
            let (io, mut client) = connected();
            // Dropped in flight: the kernel still owns the buffer's memory, which the ring's table
            // now keeps. The bytes it receives are lost with it; the connection goes on.
            assert!(stays_pending(io.read(BytesMut::with_capacity(16))).await);
            client.write_all(b"lost").unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            client.write_all(b"next").unwrap();
            let (result, buf) = within(io.read(BytesMut::with_capacity(16))).await;
            assert_eq!(result.unwrap(), 4);
            assert_eq!(&buf[..], b"next");
        });
    }

    #[test]
    fn upgraded_stream_carries_bytes_and_owns_the_socket() {
        super::super::run_test(async {
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
            // Once the upgraded stream is gone the client sees the end: nothing else kept the
            // socket open.
            drop(upgraded);
            client.set_read_timeout(Some(SOON)).unwrap();
            assert_eq!(client.read(&mut pong).unwrap(), 0);
        });
    }
}
