//! Graceful shutdown, shared by every engine: a signal each connection watches (stop taking
//! requests; then stop everything) and a count of open connections the engine waits on.
//!
//! A connection polls its [`ShutdownWatch`] every time its task wakes, so the watch is built to
//! cost an atomic load and a waker comparison per poll: the connection's waker is registered once
//! (again only if the task's waker changes) in a table the trigger wakes, rather than a fresh
//! `Notify` or `watch` registration per request (which took a lock per poll: about 700 instructions
//! per unpipelined request in `callgrind` on the app's `/plaintext`).

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use tokio::sync::Notify;

// The state, only ever raised: 0 running (the default), then graceful, then forced.
const GRACEFUL: u8 = 1;
const FORCED: u8 = 2;

/// The engine's side: starts the graceful phase, then forces.
#[derive(Debug)]
pub struct ShutdownTrigger {
    shared: Arc<Shared>,
}

/// A connection's side: watched by the connection driver.
#[derive(Debug, Clone)]
pub struct ShutdownSignal {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    state: AtomicU8,
    /// The wakers of the watches that wait, by slot; `free` lists the empty slots.
    wakers: Mutex<Wakers>,
    open: AtomicUsize,
    closed: Notify,
}

#[derive(Debug, Default)]
struct Wakers {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl Shared {
    fn wakers(&self) -> MutexGuard<'_, Wakers> {
        // Every update is a push, a pop or an assignment: a panic cannot leave it half-done.
        self.wakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn advance(&self, to: u8) {
        if self.state.fetch_max(to, Ordering::AcqRel) >= to {
            return;
        }
        // After the store: a watch that registers from now on sees the new state when it re-reads
        // it under the lock; one registered before is woken here.
        for waker in self.wakers().slots.iter().flatten() {
            waker.wake_by_ref();
        }
    }
}

/// Held by each open connection; dropping it counts the connection closed.
#[derive(Debug)]
pub struct ConnectionGuard {
    shared: Arc<Shared>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if self.shared.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.closed.notify_waiters();
        }
    }
}

/// A new trigger and the signal its connections watch.
pub fn shutdown_pair() -> (ShutdownTrigger, ShutdownSignal) {
    let shared = Arc::new(Shared::default());
    (
        ShutdownTrigger {
            shared: shared.clone(),
        },
        ShutdownSignal { shared },
    )
}

impl ShutdownTrigger {
    /// Idle connections close, connections with a request in flight close after its response.
    pub fn graceful(&self) {
        self.shared.advance(GRACEFUL);
    }

    /// Every connection closes now, in flight or not.
    pub fn force(&self) {
        self.shared.advance(FORCED);
    }

    /// Open connections.
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::Acquire)
    }

    /// Waits until no connection is open.
    pub async fn all_closed(&self) {
        all_closed(&self.shared).await;
    }
}

async fn all_closed(shared: &Shared) {
    loop {
        let notified = shared.closed.notified();
        if shared.open.load(Ordering::Acquire) == 0 {
            return;
        }
        notified.await;
    }
}

impl ShutdownSignal {
    /// Counts a new connection open until the guard drops.
    pub fn track(&self) -> ConnectionGuard {
        self.shared.open.fetch_add(1, Ordering::AcqRel);
        ConnectionGuard {
            shared: self.shared.clone(),
        }
    }

    /// Whether shutdown began (graceful or forced).
    pub fn is_stopping(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) >= GRACEFUL
    }

    /// Whether connections must close at once.
    pub fn is_forced(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) >= FORCED
    }

    /// A watch that wakes its task at every change of the shutdown state.
    pub fn watch(&self) -> ShutdownWatch {
        ShutdownWatch {
            shared: self.shared.clone(),
            slot: None,
        }
    }

    /// Resolves when shutdown begins.
    pub async fn stopping(&self) {
        let mut watch = self.watch();
        std::future::poll_fn(|cx| watch.poll_at_least(cx, GRACEFUL)).await;
    }

    /// Resolves when no connection is open.
    pub async fn all_closed(&self) {
        all_closed(&self.shared).await;
    }

    /// Resolves when connections must close at once.
    pub async fn forced(&self) {
        let mut watch = self.watch();
        std::future::poll_fn(|cx| watch.poll_at_least(cx, FORCED)).await;
    }
}

/// One task's registration with a [`ShutdownSignal`]: [`poll_forced`](Self::poll_forced) arranges
/// for the task to be woken when shutdown begins and when it is forced.
#[derive(Debug)]
pub struct ShutdownWatch {
    shared: Arc<Shared>,
    /// The slot holding this watch's waker, and a copy to compare the next poll's with.
    slot: Option<(usize, Waker)>,
}

impl ShutdownWatch {
    /// Ready when connections must close at once; otherwise the task is woken at the next change
    /// (graceful, then forced), when [`ShutdownSignal::is_stopping`] may have become true.
    pub fn poll_forced(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_at_least(cx, FORCED)
    }

    fn poll_at_least(&mut self, cx: &mut Context<'_>, state: u8) -> Poll<()> {
        if self.shared.state.load(Ordering::Acquire) >= state {
            return Poll::Ready(());
        }
        if self
            .slot
            .as_ref()
            .is_some_and(|(_, waker)| waker.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        let mut wakers = self.shared.wakers();
        let waker = cx.waker().clone();
        let index = match &self.slot {
            Some((index, _)) => *index,
            None => match wakers.free.pop() {
                Some(index) => index,
                None => {
                    wakers.slots.push(None);
                    wakers.slots.len() - 1
                }
            },
        };
        wakers.slots[index] = Some(waker.clone());
        drop(wakers);
        self.slot = Some((index, waker));
        // Re-read after registering: a change made before it is not missed.
        if self.shared.state.load(Ordering::Acquire) >= state {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for ShutdownWatch {
    fn drop(&mut self) {
        if let Some((index, _)) = self.slot.take() {
            let mut wakers = self.shared.wakers();
            wakers.slots[index] = None;
            wakers.free.push(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_watch_is_woken_at_each_change_and_ready_when_forced() {
        let (trigger, signal) = shutdown_pair();
        let count = Arc::new(Count::default());
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut watch = signal.watch();
        assert!(watch.poll_forced(&mut cx).is_pending());
        assert!(watch.poll_forced(&mut cx).is_pending(), "polled again");
        trigger.graceful();
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(signal.is_stopping() && !signal.is_forced());
        assert!(watch.poll_forced(&mut cx).is_pending());
        trigger.graceful();
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "no change, no wake");
        trigger.force();
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert!(watch.poll_forced(&mut cx).is_ready());
    }

    #[test]
    fn dropped_watches_free_their_slots() {
        let (trigger, signal) = shutdown_pair();
        let waker = Waker::from(Arc::new(Count::default()));
        let mut cx = Context::from_waker(&waker);
        for _ in 0..3 {
            let mut a = signal.watch();
            let mut b = signal.watch();
            assert!(a.poll_forced(&mut cx).is_pending());
            assert!(b.poll_forced(&mut cx).is_pending());
        }
        assert_eq!(trigger.shared.wakers().slots.len(), 2);
        assert!(trigger.shared.wakers().slots.iter().all(Option::is_none));
    }

    #[tokio::test]
    async fn stopping_and_forced_resolve_in_turn() {
        let (trigger, signal) = shutdown_pair();
        let stopping = tokio::spawn({
            let signal = signal.clone();
            async move { signal.stopping().await }
        });
        let forced = tokio::spawn({
            let signal = signal.clone();
            async move { signal.forced().await }
        });
        tokio::task::yield_now().await;
        trigger.graceful();
        stopping.await.unwrap();
        assert!(!forced.is_finished());
        trigger.force();
        forced.await.unwrap();
    }
}
