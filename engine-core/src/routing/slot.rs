//! [`HandlerSlot`]: memory for a handler's future that a connection reuses call after call.
//!
//! A handler is type-erased ([`Handler`](super::Handler)), so its future has to live behind a
//! pointer. Boxed, that is one `malloc` and one `free` per request (about 140 instructions with
//! glibc, `benches/wrk/atomics.sh`); in a slot the connection keeps, it is written over the
//! previous call's future once that is dropped, and allocates only when a future needs more room or
//! alignment than the slot has.
//!
//! The unit tests below also run under Miri (`cargo +nightly miri test -p engine-core --lib
//! routing::slot`, clean on 2026-12-04); CI cannot, since a fresh machine has no nightly.

use crate::Error;
use std::alloc::{Layout, alloc, dealloc, handle_alloc_error};
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, ready};

type HandlerFuture = dyn Future<Output = Result<(), Error>> + Send;

/// Memory kept past a call only up to this size: a handler with a larger future allocates per call,
/// as a boxed one would, instead of holding that much for the connection's whole life.
pub const MAX_KEPT: usize = 4096;

/// Where the connection driver puts a handler's future: see
/// [`Handler::call_in`](super::Handler::call_in).
pub struct HandlerSlot {
    /// `layout.size()` bytes, or a dangling pointer aligned to `layout.align()` when the size is 0.
    memory: NonNull<u8>,
    layout: Layout,
    /// The future in `memory`, from [`set`](Self::set) until it completes or is cleared.
    future: Option<NonNull<HandlerFuture>>,
}

// SAFETY: the slot owns its memory and only ever holds `Send` futures.
unsafe impl Send for HandlerSlot {}

impl std::fmt::Debug for HandlerSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandlerSlot")
            .field("bytes", &self.layout.size())
            .field("occupied", &self.future.is_some())
            .finish()
    }
}

impl HandlerSlot {
    /// An empty slot, holding no memory.
    pub(crate) fn new() -> Self {
        Self {
            memory: NonNull::dangling(),
            layout: Layout::new::<()>(),
            future: None,
        }
    }

    /// Drops the future it holds, if any, and puts `future` in its place, in the same memory when
    /// it fits.
    pub fn set<F: Future<Output = Result<(), Error>> + Send + 'static>(&mut self, future: F) {
        self.set_with(|| future);
    }

    /// [`set`](Self::set) with the future made by `make`, written straight into the slot's memory.
    #[inline(always)]
    pub fn set_with<F: Future<Output = Result<(), Error>> + Send + 'static>(
        &mut self,
        make: impl FnOnce() -> F,
    ) {
        self.clear();
        let layout = Layout::new::<F>();
        if layout.size() > self.layout.size() || layout.align() > self.layout.align() {
            self.release();
            self.memory = if layout.size() == 0 {
                // A zero-sized future needs an aligned address and no memory.
                NonNull::<F>::dangling().cast()
            } else {
                // SAFETY: the layout's size is not zero.
                let memory = unsafe { alloc(layout) };
                NonNull::new(memory).unwrap_or_else(|| handle_alloc_error(layout))
            };
            self.layout = layout;
        }
        let at = self.memory.cast::<F>();
        // SAFETY: `memory` holds `layout.size()` bytes aligned to `layout.align()`, at least what
        // `F` needs, and nothing lives in them since `clear`.
        unsafe { at.as_ptr().write(make()) };
        let future: NonNull<HandlerFuture> = at;
        self.future = Some(future);
    }

    /// Polls the future; once it completes it is dropped in place. An empty slot is complete.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let Some(future) = self.future else {
            return Poll::Ready(Ok(()));
        };
        // SAFETY: the future stays where `set` wrote it until `clear` drops it there: pinned.
        let future = unsafe { Pin::new_unchecked(&mut *future.as_ptr()) };
        let result = ready!(future.poll(cx));
        self.clear();
        Poll::Ready(result)
    }

    /// Drops the future it holds, if any (a call the driver abandons: its handler is cancelled
    /// here). Memory past [`MAX_KEPT`] is given back.
    pub(crate) fn clear(&mut self) {
        if let Some(future) = self.future.take() {
            // SAFETY: `set` wrote a live future there; taken out first, it is dropped only once.
            unsafe { future.as_ptr().drop_in_place() };
        }
        if self.layout.size() > MAX_KEPT {
            self.release();
        }
    }

    /// Gives the memory back; the slot must hold no future.
    fn release(&mut self) {
        debug_assert!(self.future.is_none());
        if self.layout.size() > 0 {
            // SAFETY: allocated in `set` with this layout, and no future lives in it.
            unsafe { dealloc(self.memory.as_ptr(), self.layout) };
        }
        self.memory = NonNull::dangling();
        self.layout = Layout::new::<()>();
    }
}

impl Drop for HandlerSlot {
    fn drop(&mut self) {
        self.clear();
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl HandlerSlot {
        fn is_occupied(&self) -> bool {
            self.future.is_some()
        }

        fn capacity(&self) -> usize {
            self.layout.size()
        }
    }
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Waker;

    /// Counts its drops; `ready` decides whether it completes when polled.
    struct Probe<const N: usize> {
        drops: Arc<AtomicUsize>,
        ready: bool,
        bytes: [u8; N],
    }

    impl<const N: usize> Future for Probe<N> {
        type Output = Result<(), Error>;
        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
            if self.ready {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        }
    }

    impl<const N: usize> Drop for Probe<N> {
        fn drop(&mut self) {
            assert!(
                self.bytes.iter().all(|&b| b == 7),
                "the future was overwritten"
            );
            self.drops.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn probe<const N: usize>(drops: &Arc<AtomicUsize>, ready: bool) -> Probe<N> {
        Probe {
            drops: drops.clone(),
            ready,
            bytes: [7; N],
        }
    }

    fn poll(slot: &mut HandlerSlot) -> Poll<Result<(), Error>> {
        slot.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn a_completed_future_is_dropped_and_its_memory_reused() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut slot = HandlerSlot::new();
        slot.set(probe::<200>(&drops, true));
        let memory = slot.memory;
        assert!(poll(&mut slot).is_ready());
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        assert!(!slot.is_occupied());
        // Smaller or equal: the same memory.
        slot.set(probe::<100>(&drops, true));
        assert_eq!(slot.memory, memory);
        assert!(poll(&mut slot).is_ready());
        assert_eq!(drops.load(Ordering::Relaxed), 2);
        assert!(poll(&mut slot).is_ready(), "an empty slot is complete");
    }

    #[test]
    fn a_pending_future_is_dropped_by_clear_by_set_and_with_the_slot() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut slot = HandlerSlot::new();
        slot.set(probe::<64>(&drops, false));
        assert!(poll(&mut slot).is_pending());
        slot.clear();
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        slot.set(probe::<64>(&drops, false));
        assert!(poll(&mut slot).is_pending());
        // Larger: the old one is dropped, then the memory grows.
        slot.set(probe::<1000>(&drops, false));
        assert_eq!(drops.load(Ordering::Relaxed), 2);
        assert!(slot.capacity() >= 1000);
        drop(slot);
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn alignment_and_zero_sized_futures() {
        #[repr(align(64))]
        struct Aligned(u8);
        impl Future for Aligned {
            type Output = Result<(), Error>;
            fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
                assert_eq!(self.0, 9);
                Poll::Ready(Ok(()))
            }
        }
        struct Empty;
        impl Future for Empty {
            type Output = Result<(), Error>;
            fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
                Poll::Ready(Ok(()))
            }
        }
        let mut slot = HandlerSlot::new();
        slot.set(Empty);
        assert!(poll(&mut slot).is_ready());
        assert_eq!(slot.capacity(), 0, "a zero-sized future takes no memory");
        slot.set(Aligned(9));
        assert_eq!(slot.memory.as_ptr() as usize % 64, 0);
        assert!(poll(&mut slot).is_ready());
        slot.set(async { Err(Error::msg("no")) });
        assert!(matches!(poll(&mut slot), Poll::Ready(Err(_))));
    }

    #[test]
    fn memory_past_the_limit_is_not_kept() {
        let drops = Arc::new(AtomicUsize::new(0));
        let mut slot = HandlerSlot::new();
        slot.set(probe::<{ MAX_KEPT * 2 }>(&drops, true));
        assert!(slot.capacity() > MAX_KEPT);
        assert!(poll(&mut slot).is_ready());
        assert_eq!(slot.capacity(), 0, "a large future's memory is given back");
        slot.set(probe::<{ MAX_KEPT / 2 }>(&drops, true));
        assert!(poll(&mut slot).is_ready());
        assert!(slot.capacity() > 0, "a small one's is kept");
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    }
}
