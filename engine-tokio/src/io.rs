//! A tokio `TcpStream` as the connection driver's [`Io`]: reads and writes with `&self`, so a read
//! can wait while a response is written.
//!
//! The stream is split into its owned halves, each behind a mutex that is only ever taken inside
//! one poll (the driver never polls two reads, or two writes, at once, so it is never contended),
//! for one reason: the halves' `AsyncRead`/`AsyncWrite` clear the socket's readiness when a read
//! returns less than the room it was given (the socket is drained) or a write is short. Then the
//! next read waits for the reactor instead of trying the socket and getting `EAGAIN`.
//! `TcpStream`'s `&self` API (`readable` + `try_read_buf`) cannot do that, and cost one extra
//! `recvfrom` per request: `perf stat -e syscalls:sys_enter_recvfrom` under wrk counted 2.0 per
//! unpipelined `/plaintext` request before and 1.0 after.

use bytes::{Bytes, BytesMut};
use engine_core::conn::{Io, ReadResult, buffers};
use engine_core::upgrade::UpgradedIo;
use socket2::SockRef;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Room a read gets when the driver hands over a full buffer (it normally leaves at least half
/// its `read_buffer_size` free, so this only guards against a zero-sized read).
const MIN_READ: usize = 4 * 1024;

/// One accepted connection.
#[derive(Debug)]
pub(crate) struct TokioIo {
    read: Mutex<OwnedReadHalf>,
    /// `None` once [`Io::reset`] has forgotten it.
    write: Mutex<Option<OwnedWriteHalf>>,
}

/// Takes a half's lock. Nothing panics while it is held, so a poisoned lock is still consistent.
fn lock<T>(half: &Mutex<T>) -> MutexGuard<'_, T> {
    half.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl TokioIo {
    pub(crate) fn new(stream: TcpStream) -> Self {
        let (read, write) = stream.into_split();
        Self {
            read: Mutex::new(read),
            write: Mutex::new(Some(write)),
        }
    }

    /// Reads into `buf`. With nothing of a request in it, a read that has to wait gives it to the
    /// thread's pool ([`buffers`]) and waits for readiness without it, so that an idle connection
    /// holds no buffer; the poll that follows takes one with room for `capacity`.
    fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        capacity: usize,
    ) -> Poll<io::Result<usize>> {
        if buf.capacity() == 0 {
            *buf = buffers::take_read(capacity);
        } else if buf.capacity() == buf.len() {
            buf.reserve(MIN_READ);
        }
        let mut read = lock(&self.read);
        let mut spare = ReadBuf::uninit(buf.spare_capacity_mut());
        match Pin::new(&mut *read).poll_read(cx, &mut spare) {
            Poll::Ready(Ok(())) => {
                let n = spare.filled().len();
                // SAFETY: the read initialised the first `n` bytes of the spare capacity.
                unsafe { buf.set_len(buf.len() + n) };
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                // Nothing was read into it, and readiness now wakes this task.
                if buf.is_empty() {
                    buffers::give_read(std::mem::take(buf));
                }
                Poll::Pending
            }
        }
    }

    async fn write_slice(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = poll_fn(|cx| match &mut *lock(&self.write) {
                Some(write) => Pin::new(write).poll_write(cx, data),
                None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
            })
            .await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            data = &data[n..];
        }
        Ok(())
    }

    /// The next unread byte, without taking it: `Ok(0)` at the end of the stream.
    fn poll_peek(&self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut byte = [0u8; 1];
        lock(&self.read).poll_peek(cx, &mut ReadBuf::new(&mut byte))
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        SockRef::from(lock(&self.read).as_ref()).shutdown(how)
    }
}

impl Io for TokioIo {
    async fn read(&self, mut buf: BytesMut) -> ReadResult {
        let capacity = buf.capacity().max(MIN_READ);
        // Cancel-safe: bytes land in `buf` only inside a poll that returns them.
        let result = poll_fn(|cx| self.poll_read(cx, &mut buf, capacity)).await;
        (result, buf)
    }

    async fn closed(&self) {
        match poll_fn(|cx| self.poll_peek(cx)).await {
            // End of stream with nothing unread, or a reset: the client is gone.
            Ok(0) | Err(_) => {}
            // Unread bytes (more requests): the client is there. Nothing more to learn without
            // reading them, and readiness would fire again at once; wait forever.
            Ok(_) => std::future::pending().await,
        }
    }

    async fn write_all(&self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        let result = self.write_slice(&buf).await;
        (result, buf)
    }

    async fn write_bytes(&self, data: Bytes) -> io::Result<()> {
        self.write_slice(&data).await
    }

    async fn shutdown_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }

    fn abort(&self) {
        // Not an error if the peer is already gone.
        let _ = self.shutdown(Shutdown::Both);
    }

    fn reset(&self) {
        // A zero linger makes the close that ends the connection (when the driver drops it) send
        // RST instead of FIN. Dropping the write half would first shut the write side, a FIN that
        // the client takes for the end: forgotten, it leaves the socket to the read half's drop.
        let _ = SockRef::from(lock(&self.read).as_ref()).set_linger(Some(Duration::ZERO));
        if let Some(write) = lock(&self.write).take() {
            write.forget();
        }
    }

    fn into_upgraded(self) -> io::Result<Box<dyn UpgradedIo>> {
        let read = self.read.into_inner().unwrap_or_else(|p| p.into_inner());
        let write = self.write.into_inner().unwrap_or_else(|p| p.into_inner());
        let write = write.ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        let stream = read
            .reunite(write)
            .map_err(|_| io::Error::other("the halves of one stream did not reunite"))?;
        Ok(Box::new(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    async fn poll_once<F: Future>(mut future: Pin<&mut F>) -> Poll<F::Output> {
        poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
    }

    /// A read with nothing of a request in its buffer gives the buffer to the thread's pool while
    /// the socket has nothing to read, and takes it back for the bytes when they come; a read with
    /// part of a request keeps its buffer.
    #[tokio::test(flavor = "current_thread")]
    async fn an_idle_read_holds_no_buffer() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let io = TokioIo::new(listener.accept().await.unwrap().0);
        let buf = BytesMut::with_capacity(8192);
        let at = buf.as_ptr();
        let mut read = pin!(io.read(buf));
        assert!(poll_once(read.as_mut()).await.is_pending());
        assert_eq!(
            buffers::pooled().0,
            1,
            "the waiting read gave its buffer back"
        );
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let (n, buf) = read.await;
        assert_eq!(n.unwrap(), 16);
        assert_eq!((&buf[..], buf.as_ptr()), (&b"GET / HTTP/1.1\r\n"[..], at));
        assert_eq!(buffers::pooled().0, 0, "and took it back to read into");

        let mut read = pin!(io.read(buf));
        assert!(poll_once(read.as_mut()).await.is_pending());
        assert_eq!(
            buffers::pooled().0,
            0,
            "a partial request stays in its buffer"
        );
        client.write_all(b"Host: t\r\n\r\n").await.unwrap();
        let (n, buf) = read.await;
        assert_eq!(n.unwrap(), 11);
        assert_eq!(&buf[..], b"GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    }
}
