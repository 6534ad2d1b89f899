//! Per-thread pools of the connections' read and write buffers, so that a connection waiting
//! idle for its next request holds neither: PERFORMANCE.md measures memory per idle keep-alive
//! connection, and a buffer of each kind per connection was most of it (a touched page each).
//!
//! The driver gives its write buffer back before it waits for the next request and takes one
//! when it has a response to encode; an engine whose reads wait for readiness first
//! (engine-tokio) gives the read buffer back while it waits. A pool keeps at most [`POOLED`]
//! buffers of each kind per thread and frees the rest; taking from an empty pool allocates.

use bytes::BytesMut;
use std::cell::RefCell;

/// Buffers of each kind a thread keeps for the next connection that needs one.
pub const POOLED: usize = 128;

thread_local! {
    static READ: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
    static WRITE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// Keeps `buf`, emptied, for the next [`take_read`] on this thread (or frees it if the pool is full).
pub fn give_read(mut buf: BytesMut) {
    buf.clear();
    give(&READ, buf);
}

/// A read buffer with room for `capacity` bytes: a pooled one, else a new one.
pub fn take_read(capacity: usize) -> BytesMut {
    match take(&READ) {
        Some(mut buf) => {
            // An emptied buffer gets its whole allocation back here, without allocating.
            buf.reserve(capacity);
            buf
        }
        None => BytesMut::with_capacity(capacity),
    }
}

/// Keeps `buf`, emptied, for the next [`take_write`] on this thread (or frees it if the pool is full).
pub fn give_write(mut buf: Vec<u8>) {
    buf.clear();
    if buf.capacity() > 0 {
        give(&WRITE, buf);
    }
}

/// A write buffer with room for `capacity` bytes: a pooled one, else a new one.
pub fn take_write(capacity: usize) -> Vec<u8> {
    match take(&WRITE) {
        Some(mut buf) => {
            buf.reserve(capacity);
            buf
        }
        None => Vec::with_capacity(capacity),
    }
}

/// How many read and write buffers this thread's pools hold.
pub fn pooled() -> (usize, usize) {
    (len(&READ), len(&WRITE))
}

fn len<T>(pool: &'static std::thread::LocalKey<RefCell<Vec<T>>>) -> usize {
    pool.try_with(|pool| pool.try_borrow().map_or(0, |pool| pool.len()))
        .unwrap_or(0)
}

fn give<T>(pool: &'static std::thread::LocalKey<RefCell<Vec<T>>>, buf: T) {
    // A thread being torn down keeps nothing.
    let _ = pool.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut()
            && pool.len() < POOLED
        {
            if pool.capacity() == 0 {
                pool.reserve_exact(POOLED);
            }
            pool.push(buf);
        }
    });
}

fn take<T>(pool: &'static std::thread::LocalKey<RefCell<Vec<T>>>) -> Option<T> {
    pool.try_with(|pool| pool.try_borrow_mut().ok()?.pop())
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer given back is the next one taken, emptied, with its room; past `POOLED` they are
    /// freed, and an empty pool allocates.
    #[test]
    fn buffers_come_back_emptied_and_the_pool_is_bounded() {
        std::thread::spawn(|| {
            let mut buf = take_read(8192);
            buf.extend_from_slice(b"GET / HTTP/1.1\r\n");
            let at = buf.as_ptr();
            give_read(buf);
            let again = take_read(8192);
            assert_eq!((again.as_ptr(), again.len()), (at, 0));
            assert!(again.capacity() >= 8192);

            let mut out = take_write(16 << 10);
            out.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
            let at = out.as_ptr();
            give_write(out);
            let again = take_write(16 << 10);
            assert_eq!((again.as_ptr(), again.len()), (at, 0));

            for _ in 0..POOLED + 10 {
                give_write(Vec::with_capacity(16));
            }
            let kept = std::iter::from_fn(|| take(&WRITE)).count();
            assert_eq!(kept, POOLED);
            assert!(take(&READ).is_none());
        })
        .join()
        .unwrap();
    }
}
