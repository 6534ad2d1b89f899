//! An in-memory connection: two bounded pipes. The server end is an [`Io`] for the connection
//! driver; the client end is a tokio `AsyncRead + AsyncWrite`, so tests speak raw bytes to the
//! in-memory engine exactly as they do to a socket, half-close and reset included.

use crate::conn::{Io, ReadResult};
use crate::upgrade::UpgradedIo;
use bytes::{Buf, Bytes, BytesMut};
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes a pipe holds before its writer waits: like a socket's send buffer.
const PIPE_CAPACITY: usize = 256 * 1024;

#[derive(Default)]
struct PipeState {
    data: BytesMut,
    /// The writer ended its side (FIN).
    closed: bool,
    /// The connection was reset: both ends fail.
    reset: bool,
    /// The reader is gone: writes fail.
    reader_gone: bool,
    /// The reading end aborted its side: its reads fail.
    aborted: bool,
    reader: Option<Waker>,
    writer: Option<Waker>,
}

#[derive(Default)]
struct Pipe {
    state: Mutex<PipeState>,
}

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, PipeState> {
        // No update below can panic half-way.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn poll_read(
        &self,
        cx: &mut Context<'_>,
        dst: &mut dyn FnMut(&mut BytesMut) -> usize,
    ) -> Poll<io::Result<usize>> {
        let mut state = self.lock();
        if state.reset {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        if state.aborted {
            return Poll::Ready(Err(io::ErrorKind::ConnectionAborted.into()));
        }
        if !state.data.is_empty() {
            let n = dst(&mut state.data);
            if let Some(writer) = state.writer.take() {
                writer.wake();
            }
            return Poll::Ready(Ok(n));
        }
        if state.closed {
            return Poll::Ready(Ok(0));
        }
        state.reader = Some(cx.waker().clone());
        Poll::Pending
    }

    fn poll_write(&self, cx: &mut Context<'_>, src: &[u8]) -> Poll<io::Result<usize>> {
        let mut state = self.lock();
        if state.reset {
            return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
        }
        if state.reader_gone || state.closed {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let room = PIPE_CAPACITY.saturating_sub(state.data.len());
        if room == 0 {
            state.writer = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(src.len());
        state.data.extend_from_slice(&src[..n]);
        if let Some(reader) = state.reader.take() {
            reader.wake();
        }
        Poll::Ready(Ok(n))
    }

    fn update(&self, f: impl FnOnce(&mut PipeState)) {
        let mut state = self.lock();
        f(&mut state);
        for waker in [state.reader.take(), state.writer.take()]
            .into_iter()
            .flatten()
        {
            waker.wake();
        }
    }
}

/// One end of an in-memory connection.
pub struct MemoryStream {
    rx: Arc<Pipe>,
    tx: Arc<Pipe>,
}

impl std::fmt::Debug for MemoryStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStream").finish_non_exhaustive()
    }
}

/// A connected pair: (client end, server end).
pub fn memory_pair() -> (MemoryStream, MemoryStream) {
    let (a, b) = (Arc::new(Pipe::default()), Arc::new(Pipe::default()));
    (
        MemoryStream {
            rx: a.clone(),
            tx: b.clone(),
        },
        MemoryStream { rx: b, tx: a },
    )
}

impl MemoryStream {
    /// Resets the connection (like a TCP RST): both ends' pending and later operations fail.
    pub fn reset(&self) {
        self.rx.update(|s| s.reset = true);
        self.tx.update(|s| s.reset = true);
    }

    async fn write_slice(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = poll_fn(|cx| self.tx.poll_write(cx, data)).await?;
            data = &data[n..];
        }
        Ok(())
    }
}

impl Drop for MemoryStream {
    fn drop(&mut self) {
        self.tx.update(|s| s.closed = true);
        self.rx.update(|s| s.reader_gone = true);
    }
}

impl AsyncRead for MemoryStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let poll = self.rx.poll_read(cx, &mut |data| {
            let n = data.len().min(buf.remaining());
            buf.put_slice(&data[..n]);
            data.advance(n);
            n
        });
        poll.map_ok(drop)
    }
}

impl AsyncWrite for MemoryStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.tx.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tx.update(|s| s.closed = true);
        Poll::Ready(Ok(()))
    }
}

impl Io for MemoryStream {
    async fn read(&self, mut buf: BytesMut) -> ReadResult {
        let result = poll_fn(|cx| {
            self.rx.poll_read(cx, &mut |data| {
                let n = data.len().min(64 * 1024);
                buf.extend_from_slice(&data[..n]);
                data.advance(n);
                n
            })
        })
        .await;
        (result, buf)
    }

    async fn closed(&self) {
        poll_fn(|cx| {
            let mut state = self.rx.lock();
            if state.reset || state.aborted || (state.closed && state.data.is_empty()) {
                return Poll::Ready(());
            }
            if state.data.is_empty() {
                state.reader = Some(cx.waker().clone());
            }
            Poll::Pending
        })
        .await;
    }

    async fn write_all(&self, buf: Vec<u8>) -> (io::Result<()>, Vec<u8>) {
        let result = self.write_slice(&buf).await;
        (result, buf)
    }

    async fn write_bytes(&self, data: Bytes) -> io::Result<()> {
        self.write_slice(&data).await
    }

    async fn shutdown_write(&self) -> io::Result<()> {
        self.tx.update(|s| s.closed = true);
        Ok(())
    }

    fn reset(&self) {
        MemoryStream::reset(self);
    }

    fn abort(&self) {
        // Like shutdown(2) of both directions: what was written still reaches the peer, then its end
        // of stream; reads here and the peer's writes fail.
        self.tx.update(|s| s.closed = true);
        self.rx.update(|s| {
            s.aborted = true;
            s.reader_gone = true;
        });
    }

    fn into_upgraded(self) -> io::Result<Box<dyn UpgradedIo>> {
        Ok(Box::new(self))
    }
}
