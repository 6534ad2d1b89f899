//! Graceful shutdown, shared by every engine: a signal each connection watches (stop taking
//! requests; then stop everything) and a count of open connections the engine waits on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Notify, watch};

const RUNNING: u8 = 0;
const GRACEFUL: u8 = 1;
const FORCED: u8 = 2;

/// The engine's side: starts the graceful phase, then forces.
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: watch::Sender<u8>,
    tracker: Arc<Tracker>,
}

/// A connection's side: watched by the connection driver.
#[derive(Debug, Clone)]
pub struct ShutdownSignal {
    rx: watch::Receiver<u8>,
    tracker: Arc<Tracker>,
}

#[derive(Debug, Default)]
struct Tracker {
    open: AtomicUsize,
    closed: Notify,
}

/// Held by each open connection; dropping it counts the connection closed.
#[derive(Debug)]
pub struct ConnectionGuard {
    tracker: Arc<Tracker>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if self.tracker.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.tracker.closed.notify_waiters();
        }
    }
}

/// A new trigger and the signal its connections watch.
pub fn shutdown_pair() -> (ShutdownTrigger, ShutdownSignal) {
    let (tx, rx) = watch::channel(RUNNING);
    let tracker = Arc::new(Tracker::default());
    (
        ShutdownTrigger {
            tx,
            tracker: tracker.clone(),
        },
        ShutdownSignal { rx, tracker },
    )
}

impl ShutdownTrigger {
    /// Idle connections close, connections with a request in flight close after its response.
    pub fn graceful(&self) {
        self.tx.send_if_modified(|state| {
            let changed = *state < GRACEFUL;
            *state = (*state).max(GRACEFUL);
            changed
        });
    }

    /// Every connection closes now, in flight or not.
    pub fn force(&self) {
        self.tx.send_replace(FORCED);
    }

    /// Open connections.
    pub fn open_connections(&self) -> usize {
        self.tracker.open.load(Ordering::Acquire)
    }

    /// Waits until no connection is open.
    pub async fn all_closed(&self) {
        loop {
            let notified = self.tracker.closed.notified();
            if self.open_connections() == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl ShutdownSignal {
    /// Counts a new connection open until the guard drops.
    pub fn track(&self) -> ConnectionGuard {
        self.tracker.open.fetch_add(1, Ordering::AcqRel);
        ConnectionGuard {
            tracker: self.tracker.clone(),
        }
    }

    /// Whether shutdown began (graceful or forced).
    pub fn is_stopping(&self) -> bool {
        *self.rx.borrow() >= GRACEFUL
    }

    /// Resolves when shutdown begins.
    pub async fn stopping(&self) {
        let mut rx = self.rx.clone();
        // An error means the trigger is gone: treat it as a shutdown.
        let _ = rx.wait_for(|state| *state >= GRACEFUL).await;
    }

    /// Resolves when no connection is open.
    pub async fn all_closed(&self) {
        loop {
            let notified = self.tracker.closed.notified();
            if self.tracker.open.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Resolves when connections must close at once.
    pub async fn forced(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|state| *state >= FORCED).await;
    }
}
