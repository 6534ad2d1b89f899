//! One timer per connection for every deadline the driver keeps (header read, idle, write,
//! drain), re-armed lazily.
//!
//! A connection waits on one thing at a time, so one tokio `Sleep` serves all its deadlines. A
//! later deadline does not touch the timer wheel: the sleep fires at the earlier time and is then
//! moved on. Only an earlier deadline (a header timeout shorter than the idle one) re-arms it at
//! once. So a keep-alive connection pays no timer registration per request; a fresh `sleep_until`
//! or `timeout` per wait registered and removed a wheel entry each time (about 450 instructions per
//! unpipelined request in `callgrind` on the app's `/plaintext`).

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::task::coop::unconstrained;
use tokio::time::{Instant, Sleep, sleep_until};

/// A connection's timer.
pub(crate) struct Timer {
    sleep: Pin<Box<Sleep>>,
    /// When the sleep fires; `None` until first armed.
    armed: Option<Instant>,
    /// The waker the armed sleep was last polled with. Polling it again with the same waker
    /// before it elapses would only re-register that waker (an atomic exchange and a clone, about
    /// 200 instructions per request on the io_uring engine, whose every write waits once). The
    /// sleep is polled outside tokio's cooperative budget, so that a poll always registers the
    /// waker: with the task's budget spent, a budgeted poll returns `Pending` without registering
    /// it, and a wait that then trusted `polled_with` was never woken (a write that stalled after
    /// a burst of work outlived its `write_timeout`; conformance case
    /// `write_timeout_closes_a_stalled_connection` on engine-tokio, 2026-12-04).
    polled_with: Option<Waker>,
}

impl Timer {
    pub(crate) fn new() -> Self {
        Self {
            // Not registered with the timer wheel until first polled.
            sleep: Box::pin(sleep_until(Instant::now())),
            armed: None,
            polled_with: None,
        }
    }

    /// Ready once `deadline` has passed; otherwise the task is woken no later than at `deadline`.
    pub(crate) fn poll_elapsed(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        if self.armed.is_none_or(|armed| armed > deadline) {
            self.arm(deadline);
        }
        if !self.sleep.is_elapsed()
            && self
                .polled_with
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        while Pin::new(&mut unconstrained(self.sleep.as_mut()))
            .poll(cx)
            .is_ready()
        {
            match self.armed {
                Some(armed) if armed >= deadline => return Poll::Ready(()),
                // It fired for an earlier deadline: move it on to this one.
                _ => self.arm(deadline),
            }
        }
        if !self
            .polled_with
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            self.polled_with = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    fn arm(&mut self, deadline: Instant) {
        self.sleep.as_mut().reset(deadline);
        self.armed = Some(deadline);
        self.polled_with = None;
    }

    /// Runs `future` for at most `limit`: `None` if it did not finish in time. The clock is read
    /// only if `future` does not finish on its first poll.
    pub(crate) async fn limit<F: Future>(
        &mut self,
        limit: Duration,
        future: F,
    ) -> Option<F::Output> {
        let mut future = pin!(future);
        let mut deadline = None;
        poll_fn(|cx| {
            if let Poll::Ready(output) = future.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            let deadline = *deadline.get_or_insert_with(|| Instant::now() + limit);
            self.poll_elapsed(cx, deadline).map(|()| None)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fires_at_the_deadline_it_is_polled_with() {
        let mut timer = Timer::new();
        let start = Instant::now();
        let first = start + Duration::from_secs(5);
        poll_fn(|cx| timer.poll_elapsed(cx, first)).await;
        assert_eq!(Instant::now(), first);
        // A later deadline: the elapsed sleep is moved on to it.
        let later = start + Duration::from_secs(60);
        poll_fn(|cx| timer.poll_elapsed(cx, later)).await;
        assert_eq!(Instant::now(), later);
    }

    /// A wait that starts after the task spent its cooperative budget (a connection busy
    /// writing) is still woken at its deadline, including the next wait that finds the sleep
    /// armed and polled with the same waker.
    #[tokio::test(start_paused = true)]
    async fn a_wait_after_the_budget_ran_out_still_wakes_at_its_deadline() {
        let mut timer = Timer::new();
        let start = Instant::now();
        let deadline = start + Duration::from_secs(1);
        let mut polls = 0;
        let waited = tokio::time::timeout(
            Duration::from_secs(10),
            poll_fn(|cx| {
                polls += 1;
                if polls == 1 {
                    // Spend the budget within this poll: the last one yields (and wakes the task).
                    while pin!(tokio::task::consume_budget()).poll(cx).is_ready() {}
                }
                timer.poll_elapsed(cx, deadline)
            }),
        )
        .await;
        assert!(waited.is_ok(), "the wait was not woken at its deadline");
        assert_eq!(Instant::now(), deadline);
        assert!(polls >= 3, "{polls} polls: the budget did not run out");
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_deadline_waits_past_the_armed_one() {
        let mut timer = Timer::new();
        let start = Instant::now();
        let near = start + Duration::from_secs(1);
        let far = start + Duration::from_secs(10);
        // Armed for `near`, then asked for `far` before `near` passes.
        assert!(
            poll_fn(|cx| Poll::Ready(timer.poll_elapsed(cx, near)))
                .await
                .is_pending()
        );
        poll_fn(|cx| timer.poll_elapsed(cx, far)).await;
        assert_eq!(Instant::now(), far);
        // An earlier deadline than the armed one re-arms at once.
        let soon = far + Duration::from_secs(2);
        let much_later = far + Duration::from_secs(100);
        assert!(
            poll_fn(|cx| Poll::Ready(timer.poll_elapsed(cx, much_later)))
                .await
                .is_pending()
        );
        poll_fn(|cx| timer.poll_elapsed(cx, soon)).await;
        assert_eq!(Instant::now(), soon);
    }

    #[tokio::test(start_paused = true)]
    async fn limit_gives_up_at_its_limit_and_passes_results_through() {
        let mut timer = Timer::new();
        assert_eq!(
            timer.limit(Duration::from_secs(1), async { 7 }).await,
            Some(7)
        );
        let start = Instant::now();
        let never = timer
            .limit(Duration::from_secs(3), std::future::pending::<()>())
            .await;
        assert_eq!(never, None);
        assert_eq!(Instant::now(), start + Duration::from_secs(3));
    }
}
