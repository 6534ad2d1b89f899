//! The worker's ring, driven by hand with the `io-uring` crate: a submission queue the worker's
//! tasks fill, a table of operations in flight, and the completions handed back to them.
//!
//! The ring lives in a thread-local of the worker thread, next to a tokio current-thread runtime
//! (so handlers keep tokio's timers and sockets). How it is driven:
//! - Operations are pushed to the submission queue as tasks make them, and submitted together
//!   when the runtime is about to park (its `on_thread_park` hook): one `io_uring_enter` for every
//!   operation a round of tasks made, never one per operation.
//! - The ring is set up with `SINGLE_ISSUER | COOP_TASKRUN | TASKRUN_FLAG` where the kernel has
//!   them (6.0): the kernel then runs completion work when this thread next enters the kernel
//!   instead of interrupting it with an IPI while it runs. A registered eventfd, which tokio's
//!   reactor watches, is signalled as completions are posted; the reactor task then reaps them
//!   and wakes their tasks. The park hook reaps too, and enters the ring whenever the kernel
//!   flags waiting work (`IORING_SQ_TASKRUN`). `DEFER_TASKRUN` (work run only on an
//!   `io_uring_enter` with `GETEVENTS`) was used until 2026-12-04: on Linux 6.18.44 requests then
//!   waited ~16 ms each for the thread to wake.
//! - A dropped operation is not cancelled: its buffer moves into the table and is freed when the
//!   kernel completes it. Timeouts therefore shut their socket down (`UringIo::abort`), which
//!   completes what is in flight at once.
//! - A descriptor whose operations may still sit unsubmitted in the queue is closed only after the
//!   next submission, so the kernel never sees its number after it was reused.
//!
//! `PERFORMANCE.md`'s floors price tokio-uring at ~20% more server CPU per unpipelined request
//! than a ring driven like this one; engine-uring/README.md has this engine's own figures.

use io_uring::{IoUring, squeue};
use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use tokio::io::unix::AsyncFd;

/// Submission queue entries per ring; the kernel gives twice as many completion entries. A full
/// queue is submitted early; completions past the completion queue wait in the kernel
/// (`IORING_FEAT_NODROP`): slower, never lost.
const RING_ENTRIES: u32 = 256;

thread_local! {
    static DRIVER: RefCell<Option<Driver>> = const { RefCell::new(None) };
}

/// Distinguishes the rings of different threads, so that an operation polled on a thread other
/// than its own is a loud bug rather than a confusion of two tables.
static NEXT_RING: AtomicU64 = AtomicU64::new(1);

/// One thread's ring and its operations.
struct Driver {
    ring: IoUring,
    id: u64,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Descriptors to close after the next submission.
    closing: Vec<OwnedFd>,
    /// Signalled by the kernel when completion work waits (registered with the ring).
    eventfd: OwnedFd,
}

/// An operation's entry in the table, indexed by its `user_data`.
enum Slot {
    Free,
    /// In flight; the waker of the task that waits for it.
    Waiting(Option<Waker>),
    /// Completed; the result waits for its future's next poll.
    Done(i32),
    /// Its future was dropped while in flight: what the kernel may still write to or read from.
    Abandoned(#[allow(dead_code, reason = "kept alive, never read")] Box<dyn Any>),
}

/// How a ring was set up, for the probe's log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Setup {
    /// `SINGLE_ISSUER | COOP_TASKRUN | TASKRUN_FLAG` (Linux 6.0+).
    Cooperative,
    /// The default setup (older kernels).
    Default,
}

/// Builds this thread's ring. Fails where io_uring cannot run (the probe explains why).
pub(crate) fn install() -> io::Result<Setup> {
    let (ring, setup) = build_ring()?;
    let eventfd = eventfd()?;
    ring.submitter().register_eventfd(eventfd.as_raw_fd())?;
    let driver = Driver {
        ring,
        id: NEXT_RING.fetch_add(1, Ordering::Relaxed),
        slots: Vec::new(),
        free: Vec::new(),
        closing: Vec::new(),
        eventfd,
    };
    DRIVER.with(|cell| *cell.borrow_mut() = Some(driver));
    Ok(setup)
}

fn build_ring() -> io::Result<(IoUring, Setup)> {
    // Not `DEFER_TASKRUN`: with it, on Linux 6.18.44, a request waited 16 ms at the median (wrk
    // with one connection, `--latency`) and the unpipelined rate fell to a third, the thread
    // asleep in `epoll_wait` while completions waited (engine-uring/README.md).
    let cooperative = IoUring::builder()
        .setup_single_issuer()
        .setup_coop_taskrun()
        .setup_taskrun_flag()
        .build(RING_ENTRIES);
    match cooperative {
        Ok(ring) => Ok((ring, Setup::Cooperative)),
        // A kernel before 6.0 does not know the flags.
        Err(error) if error.raw_os_error() == Some(libc::EINVAL) => {
            Ok((IoUring::new(RING_ENTRIES)?, Setup::Default))
        }
        Err(error) => Err(error),
    }
}

fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: a plain syscall; a non-negative result is a new descriptor we own.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just created and nothing else owns it.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// Takes this thread's ring down. Operations still in flight after `settle` keep their buffers
/// forever (leaked): the kernel may still write to them.
pub(crate) fn uninstall(settle: std::time::Duration) {
    let Some(mut driver) = DRIVER.with(|cell| cell.borrow_mut().take()) else {
        return;
    };
    // What is left belongs to connections that were dropped without an abort: cancel it all.
    if driver.in_flight() > 0 {
        let cancel = io_uring::opcode::AsyncCancel2::new(io_uring::types::CancelBuilder::any())
            .build()
            .user_data(IGNORED);
        driver.push(&cancel);
    }
    let deadline = std::time::Instant::now() + settle;
    while driver.in_flight() > 0 && std::time::Instant::now() < deadline {
        let _ = driver.ring.submit();
        driver.reap();
        if driver.in_flight() > 0 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
    for slot in driver.slots.drain(..) {
        if let Slot::Abandoned(keep) = slot {
            std::mem::forget(keep);
        }
    }
    driver.closing.clear();
}

fn with<R>(f: impl FnOnce(&mut Driver) -> R) -> R {
    DRIVER.with(|cell| {
        let mut driver = cell.borrow_mut();
        let driver = driver
            .as_mut()
            .expect("an io_uring operation outside an engine-uring worker thread");
        f(driver)
    })
}

impl Driver {
    fn in_flight(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| matches!(slot, Slot::Waiting(_) | Slot::Abandoned(_)))
            .count()
    }

    fn submit(&mut self) {
        match self.ring.submit() {
            Ok(_) => {}
            // Completions wait in the kernel past a full completion queue: reap, then retry.
            Err(error) if error.raw_os_error() == Some(libc::EBUSY) => {
                self.reap();
                let _ = self.ring.submit();
            }
            Err(error) => tracing::warn!(%error, "io_uring submission failed"),
        }
        // Every entry naming these descriptors has reached the kernel.
        self.closing.clear();
    }

    fn push(&mut self, entry: &squeue::Entry) {
        loop {
            // SAFETY: the entry's buffers belong to the operation that owns its slot, and stay
            // alive (in the operation, or in the slot once abandoned) until its completion.
            if unsafe { self.ring.submission().push(entry) }.is_ok() {
                return;
            }
            self.submit();
        }
    }

    fn reap(&mut self) {
        let mut completion = self.ring.completion();
        completion.sync();
        for cqe in completion {
            let Ok(index) = usize::try_from(cqe.user_data()) else {
                continue;
            };
            let Some(slot) = self.slots.get_mut(index) else {
                continue;
            };
            match std::mem::replace(slot, Slot::Done(cqe.result())) {
                Slot::Waiting(Some(waker)) => waker.wake(),
                Slot::Waiting(None) => {}
                Slot::Abandoned(_) | Slot::Done(_) | Slot::Free => {
                    *slot = Slot::Free;
                    self.free.push(index_u32(index));
                }
            }
        }
    }

    fn alloc(&mut self) -> u32 {
        match self.free.pop() {
            Some(index) => {
                self.slots[index as usize] = Slot::Waiting(None);
                index
            }
            None => {
                self.slots.push(Slot::Waiting(None));
                index_u32(self.slots.len() - 1)
            }
        }
    }

    fn release(&mut self, index: u32) {
        self.slots[index as usize] = Slot::Free;
        self.free.push(index);
    }
}

/// Slots are bounded by the operations in flight at once (a few per connection).
fn index_u32(index: usize) -> u32 {
    u32::try_from(index).expect("more than u32::MAX io_uring operations in flight")
}

/// The runtime's park hook: submits what the round of tasks queued, and reaps what the kernel
/// has waiting. Wakes from here go straight to the runtime's run queue.
pub(crate) fn before_park() {
    DRIVER.with(|cell| {
        let Ok(mut driver) = cell.try_borrow_mut() else {
            return;
        };
        let Some(driver) = driver.as_mut() else {
            return;
        };
        let mut submission = driver.ring.submission();
        submission.sync();
        let pending = !submission.is_empty() || submission.taskrun();
        drop(submission);
        if pending || !driver.closing.is_empty() {
            driver.submit();
        }
        driver.reap();
    });
}

/// Reaps completions whenever the kernel signals the eventfd: the backstop for rounds in which
/// the runtime does not park (it still polls its reactor, which wakes this task).
pub(crate) async fn reactor() {
    let fd = with(|driver| driver.eventfd.as_raw_fd());
    // SAFETY: the descriptor is the driver's and outlives this task: the driver is uninstalled
    // only after the runtime (and so this task) is gone.
    let watched = match unsafe { AsyncFd::register(Watched(fd)) } {
        Ok(watched) => watched,
        Err(error) => {
            tracing::error!(%error, "cannot watch the ring's eventfd");
            return;
        }
    };
    loop {
        let Ok(mut ready) = watched.readable().await else {
            return;
        };
        ready.clear_ready();
        with(|driver| {
            driver.submit();
            driver.reap();
        });
    }
}

/// A descriptor tokio's reactor watches without owning it.
struct Watched(std::os::fd::RawFd);

impl AsRawFd for Watched {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.0
    }
}

/// Closes `fd` once every operation queued for it has been submitted.
pub(crate) fn close_after_submit(fd: OwnedFd) {
    let mut fd = Some(fd);
    let _ = DRIVER.try_with(|cell| {
        if let Ok(mut driver) = cell.try_borrow_mut()
            && let Some(driver) = driver.as_mut()
            && let Some(fd) = fd.take()
        {
            driver.closing.push(fd);
        }
    });
    // No ring on this thread (any more): nothing can be queued for it, so it closes now.
    drop(fd);
}

/// An operation in flight: resolves to the kernel's result and gives back `data`, which owns the
/// memory the entry points into.
pub(crate) struct Op<T: Any> {
    index: u32,
    ring: u64,
    data: Option<T>,
}

impl<T: Any> Op<T> {
    /// Queues `entry`, which points into `data`'s heap memory (never into `data` itself, which
    /// moves into the operation).
    pub(crate) fn new(entry: squeue::Entry, data: T) -> Self {
        with(|driver| {
            let index = driver.alloc();
            driver.push(&entry.user_data(u64::from(index)));
            Op {
                index,
                ring: driver.id,
                data: Some(data),
            }
        })
    }
}

impl<T: Any> Op<T> {
    /// Asks the kernel to cancel this operation: it then completes with `ECANCELED`, unless it
    /// completed already. The slot stays this operation's until it is polled to the end or
    /// dropped, so the cancellation cannot reach another operation.
    pub(crate) fn cancel(&self) {
        let cancel = io_uring::opcode::AsyncCancel::new(u64::from(self.index))
            .build()
            .user_data(IGNORED);
        with(|driver| driver.push(&cancel));
    }
}

/// The `user_data` of entries whose completion nobody waits for (cancellations): no slot has it.
const IGNORED: u64 = u64::MAX;

impl<T: Any + Unpin> Future for Op<T> {
    type Output = (i32, T);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<(i32, T)> {
        let this = &mut *self;
        let result = with(|driver| {
            assert_eq!(
                driver.id, this.ring,
                "an io_uring operation polled on another thread than its own"
            );
            let slot = &mut driver.slots[this.index as usize];
            match slot {
                Slot::Done(result) => {
                    let result = *result;
                    driver.release(this.index);
                    Some(result)
                }
                Slot::Waiting(waker) => {
                    if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        *waker = Some(cx.waker().clone());
                    }
                    None
                }
                Slot::Free | Slot::Abandoned(_) => {
                    unreachable!("an operation's slot is its own until it completes")
                }
            }
        });
        match result {
            Some(result) => {
                let data = this.data.take().expect("polled after completion");
                Poll::Ready((result, data))
            }
            None => Poll::Pending,
        }
    }
}

impl<T: Any> Drop for Op<T> {
    fn drop(&mut self) {
        let Some(data) = self.data.take() else {
            return;
        };
        let (index, ring) = (self.index, self.ring);
        let mut data = Some(data);
        let _ = DRIVER.try_with(|cell| {
            if let Ok(mut driver) = cell.try_borrow_mut()
                && let Some(driver) = driver.as_mut()
                && driver.id == ring
                && let Some(data) = data.take()
            {
                match &driver.slots[index as usize] {
                    Slot::Done(_) => driver.release(index),
                    _ => driver.slots[index as usize] = Slot::Abandoned(Box::new(data)),
                }
            }
        });
        // Not on its ring's thread (or the ring is gone): the kernel may still use the memory.
        if let Some(data) = data {
            std::mem::forget(data);
        }
    }
}

/// A completion's result as an `io::Result`: the kernel's `-errno`, or the count.
pub(crate) fn result(result: i32) -> io::Result<usize> {
    usize::try_from(result).map_err(|_| io::Error::from_raw_os_error(-result))
}

/// Entries, for the operations this engine makes.
pub(crate) mod entries {
    pub(crate) use io_uring::opcode::{Accept, Nop, Recv, Send};
    pub(crate) use io_uring::types::Fd;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    /// The worker waits in tokio's `epoll_wait` on the ring's eventfd (edge-triggered, never
    /// read), never in the ring, then submits and reaps as the reactor does: each receive that
    /// completes while it waits must signal the eventfd by itself, the second and third as well as
    /// the first. Waits up to 5 s for each, as for a hang, not for a speed. (This passes with
    /// `DEFER_TASKRUN` too, so it does not reproduce the engine's 16 ms waits with it that made
    /// the engine leave that flag; it pins the wake-up the engine relies on.)
    #[test]
    fn receives_completing_while_the_thread_waits_signal_the_eventfd() {
        if let Err(reason) = crate::io_uring_available() {
            panic!("io_uring is not available, so this cannot be checked here: {reason}");
        }
        let (mut ring, _) = build_ring().unwrap();
        let eventfd = eventfd().unwrap();
        ring.submitter()
            .register_eventfd(eventfd.as_raw_fd())
            .unwrap();
        // SAFETY: plain epoll calls on descriptors this test owns.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(epoll >= 0);
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLET) as u32,
            u64: 1,
        };
        // SAFETY: as above.
        let added =
            unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, eventfd.as_raw_fd(), &mut event) };
        assert_eq!(added, 0);
        let (ours, theirs) = UnixStream::pair().unwrap();
        let mut buf = [0u8; 16];
        for round in 0..3u64 {
            let entry = entries::Recv::new(entries::Fd(ours.as_raw_fd()), buf.as_mut_ptr(), 16)
                .build()
                .user_data(round);
            // SAFETY: `buf` outlives the operation: each round waits for its completion.
            unsafe { ring.submission().push(&entry).unwrap() };
            ring.submit().unwrap();
            let mut writer = theirs.try_clone().unwrap();
            let write = std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(20));
                writer.write_all(b"hello").unwrap();
            });
            let mut ready = [libc::epoll_event { events: 0, u64: 0 }];
            let n = loop {
                // SAFETY: one valid event slot.
                let n = unsafe { libc::epoll_wait(epoll, ready.as_mut_ptr(), 1, 5_000) };
                // The completion's work interrupts the wait (`COOP_TASKRUN`), then signals the
                // eventfd; tokio's reactor waits again on `EINTR` too.
                if n >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    break n;
                }
            };
            write.join().unwrap();
            assert_eq!(
                n, 1,
                "round {round}: the eventfd was signalled while the thread waited"
            );
            // What the reactor does once woken.
            ring.submit().unwrap();
            let done: Vec<_> = ring
                .completion()
                .map(|cqe| (cqe.user_data(), cqe.result()))
                .collect();
            assert_eq!(done, [(round, 5)], "round {round}");
        }
        // SAFETY: the test's own descriptor.
        unsafe { libc::close(epoll) };
    }
}
