//! What an engine provides for one connection: owned-buffer reads and writes that fit io_uring
//! (the buffer moves into the operation and comes back with its result) as well as readiness-based
//! sockets, and a hand-over for protocol switches.

use crate::upgrade::UpgradedIo;
use bytes::{Bytes, BytesMut};
use std::future::Future;
use std::io;

/// The result of a read: bytes read (0 at end of stream) and the buffer back.
pub type ReadResult = (io::Result<usize>, BytesMut);

/// One connection's byte stream, as the connection driver uses it. Reads and writes take `&self`
/// so that a read can be in flight while a response is written.
pub trait Io: 'static {
    /// Reads into the spare capacity of `buf`, after its current contents, and gives `buf` back.
    /// The driver drops a read before it completes only when the connection ends (after
    /// [`abort`](Io::abort)), so a completion-based engine may lose what such a read brings.
    /// An engine that can wait for readiness without a buffer may give an empty `buf` to
    /// [`buffers::give_read`](super::buffers::give_read) while it waits and read into one from
    /// [`buffers::take_read`](super::buffers::take_read), so that an idle connection holds none.
    fn read(&self, buf: BytesMut) -> impl Future<Output = ReadResult>;

    /// Resolves when the peer has closed or reset the connection and no unread byte is left before
    /// that end; stays pending while unread bytes wait (they are the client's next requests). Must
    /// not consume anything, and must be cancel-safe. Used to notice a client that leaves while its
    /// pipelined requests sit in the read buffer.
    fn closed(&self) -> impl Future<Output = ()>;

    /// Writes all of `buf` and gives it back (for reuse: the driver clears it).
    fn write_all(&self, buf: Vec<u8>) -> impl Future<Output = (io::Result<()>, Vec<u8>)>;

    /// Writes all of `data` (a large body chunk, without copying it into the write buffer).
    fn write_bytes(&self, data: Bytes) -> impl Future<Output = io::Result<()>>;

    /// Ends the write side (FIN) once the last response is written, so that the client reads a
    /// close-delimited body to its end.
    fn shutdown_write(&self) -> impl Future<Output = io::Result<()>>;

    /// Closes both directions at once: every operation still in flight ends with an error, so its
    /// buffer and the descriptor are freed (io_uring does not cancel an operation whose future is
    /// dropped). Called on timeouts and forced shutdown.
    fn abort(&self);

    /// Resets the connection: the peer's reads fail (a TCP RST) instead of reaching an end of
    /// stream, and what was written but not yet read may be lost. A read still in flight ends as
    /// after [`abort`](Io::abort). The reset may go out only when the connection is dropped (a
    /// zero `SO_LINGER`, then the close), so after it the driver calls nothing else on the
    /// connection. Used when a close-delimited response body fails midway: for such a body an
    /// orderly end would pass for the body's end.
    fn reset(&self);

    /// The connection as an async byte stream, after `101 Switching Protocols`.
    fn into_upgraded(self) -> io::Result<Box<dyn UpgradedIo>>;
}
