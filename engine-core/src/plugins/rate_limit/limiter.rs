//! The token buckets behind `RateLimit`, as pure code over an injectable [`Clock`]: one bucket per
//! key, in a table of bounded size.
//!
//! Each bucket holds `limit` tokens and gains one every `refill_period / limit`; a request takes
//! one or is refused. A bucket is kept as one number, the time at which it will be full again (the
//! generic cell rate algorithm's "theoretical arrival time", equivalent to a token bucket): a
//! request at `now` is allowed when taking a token leaves that time at most one full refill ahead
//! of `now`. A bucket whose time has passed is full, so it says nothing a missing bucket would not:
//! such stale buckets are what the table evicts when it is full.
//!
//! Keys are hashed with a randomly keyed SipHash (std's `RandomState`) before they are stored, so a
//! key from the request (a header, say) costs eight bytes however long it is, and a peer cannot
//! choose keys that collide. The table is split into shards, each behind its own lock, so calls on
//! different cores rarely wait for each other.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A source of monotonic time for rate limiting: the time since an origin of the clock's choosing.
/// Tests inject a [`ManualClock`] and never wait on real time.
pub trait Clock: Send + Sync + 'static {
    /// The time since the clock's origin; never goes backwards.
    fn now(&self) -> Duration;
}

/// The real clock: `std::time::Instant`, from the clock's creation.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to; clones share the time.
///
/// ```
/// use engine_core::plugins::rate_limit::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let clock = ManualClock::default();
/// let seen_by_the_plugin = clock.clone();
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(seen_by_the_plugin.now(), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.nanos.fetch_add(nanos(by), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// What a limiter decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// The bucket's size.
    pub limit: u64,
    /// Tokens left after this request.
    pub remaining: u64,
    /// Time until the bucket is full again.
    pub reset: Duration,
    /// For a refused request, the time until a token is back; zero otherwise.
    pub retry_after: Duration,
}

/// How often, at most, a full shard looks for stale buckets to evict: a sweep visits the whole
/// shard, so a flood of new keys must not make every request pay for one.
const SWEEP_SPACING: Duration = Duration::from_secs(1);

/// Shards of the table: enough that calls on different cores rarely share a lock.
const SHARDS: usize = 16;

struct Shard {
    /// Per hashed key, when its bucket is full again (nanoseconds of the clock).
    buckets: HashMap<u64, u64>,
    /// The bucket shared by the keys that found the shard full of active buckets.
    overflow: u64,
    /// When the shard was last swept; `None` before the first sweep.
    swept: Option<u64>,
}

/// Token buckets per key, at most `max_keys` of them.
pub struct Limiter {
    limit: u64,
    /// Nanoseconds per token.
    interval: u64,
    /// Nanoseconds for a full refill: `limit * interval`.
    window: u64,
    shard_capacity: usize,
    shards: Box<[Mutex<Shard>]>,
    keys: RandomState,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limiter")
            .field("limit", &self.limit)
            .field("interval_ns", &self.interval)
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// Buckets of `limit` tokens refilled in `refill_period`, for at most `max_keys` keys (rounded
    /// up to a multiple of the shard count).
    ///
    /// # Panics
    /// If `limit` or `max_keys` is zero, or `refill_period` is shorter than `limit` nanoseconds: a
    /// configuration mistake.
    #[track_caller]
    pub fn new(
        limit: u64,
        refill_period: Duration,
        max_keys: usize,
        clock: Arc<dyn Clock>,
    ) -> Self {
        assert!(limit > 0, "a rate limit of 0 requests refuses everything");
        assert!(max_keys > 0, "a rate limiter needs room for one key");
        let interval = nanos(refill_period) / limit;
        assert!(
            interval > 0,
            "a refill period of {refill_period:?} is too short for {limit} tokens"
        );
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    buckets: HashMap::new(),
                    overflow: 0,
                    swept: None,
                })
            })
            .collect();
        Self {
            limit,
            interval,
            window: interval * limit,
            shard_capacity: max_keys.div_ceil(SHARDS),
            shards,
            keys: RandomState::new(),
            clock,
        }
    }

    /// The hash a key is stored under.
    pub fn hash_key<K: Hash>(&self, key: &K) -> u64 {
        self.keys.hash_one(key)
    }

    /// Takes a token from the bucket of the key hashed to `key`, if it has one.
    pub fn acquire(&self, key: u64) -> Decision {
        let now = nanos(self.clock.now());
        // The shard index is below `SHARDS`: it fits a `usize`.
        #[allow(clippy::cast_possible_truncation)]
        let shard = &self.shards[(key % SHARDS as u64) as usize];
        let mut shard = lock(shard);
        if let Some(full_at) = shard.buckets.get_mut(&key) {
            return self.take(full_at, now);
        }
        if shard.buckets.len() >= self.shard_capacity {
            self.sweep(&mut shard, now);
        }
        if shard.buckets.len() >= self.shard_capacity {
            return self.take(&mut shard.overflow, now);
        }
        let mut full_at = now;
        let decision = self.take(&mut full_at, now);
        shard.buckets.insert(key, full_at);
        decision
    }

    /// How many keys hold a bucket now (stale ones included until a sweep evicts them).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock(shard).buckets.len())
            .sum()
    }

    /// Whether no key holds a bucket.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One request against the bucket that is full at `full_at`.
    fn take(&self, full_at: &mut u64, now: u64) -> Decision {
        let start = (*full_at).max(now);
        let after = start.saturating_add(self.interval);
        if after - now <= self.window {
            *full_at = after;
            return Decision {
                allowed: true,
                limit: self.limit,
                remaining: (self.window - (after - now)) / self.interval,
                reset: Duration::from_nanos(after - now),
                retry_after: Duration::ZERO,
            };
        }
        Decision {
            allowed: false,
            limit: self.limit,
            remaining: 0,
            reset: Duration::from_nanos(start - now),
            retry_after: Duration::from_nanos(after - now - self.window),
        }
    }

    /// Evicts the buckets that are full again, unless the shard was swept less than
    /// [`SWEEP_SPACING`] ago.
    fn sweep(&self, shard: &mut Shard, now: u64) {
        if shard
            .swept
            .is_some_and(|at| now.saturating_sub(at) < nanos(SWEEP_SPACING))
        {
            return;
        }
        shard.swept = Some(now);
        shard.buckets.retain(|_, full_at| *full_at > now);
    }
}

fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    // Every update of a shard is one map operation or one assignment: a panic cannot leave it
    // half-written.
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A duration in nanoseconds, saturating at `u64::MAX` (584 years).
fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
