use super::*;
use proptest::prelude::*;

const SECOND: Duration = Duration::from_secs(1);

fn limiter(limit: u64, period: Duration, max_keys: usize) -> (Limiter, ManualClock) {
    let clock = ManualClock::default();
    let limiter = Limiter::new(limit, period, max_keys, Arc::new(clock.clone()));
    (limiter, clock)
}

#[test]
fn a_burst_takes_the_whole_bucket_then_waits_for_one_token() {
    // 3 tokens per 3 s: one token a second.
    let (limiter, clock) = limiter(3, 3 * SECOND, 100);
    let decisions: Vec<_> = (0..4).map(|_| limiter.acquire(7)).collect();
    let seen: Vec<_> = decisions
        .iter()
        .map(|d| (d.allowed, d.remaining, d.reset, d.retry_after))
        .collect();
    assert_eq!(
        seen,
        [
            (true, 2, SECOND, Duration::ZERO),
            (true, 1, 2 * SECOND, Duration::ZERO),
            (true, 0, 3 * SECOND, Duration::ZERO),
            (false, 0, 3 * SECOND, SECOND),
        ]
    );
    assert!(decisions.iter().all(|d| d.limit == 3));
    clock.advance(SECOND / 2);
    let refused = limiter.acquire(7);
    assert!(!refused.allowed);
    assert_eq!(refused.retry_after, SECOND / 2);
    clock.advance(SECOND / 2);
    let again = limiter.acquire(7);
    assert_eq!((again.allowed, again.remaining), (true, 0));
    assert!(!limiter.acquire(7).allowed);
}

#[test]
fn a_bucket_refills_to_its_size_and_no_further() {
    let (limiter, clock) = limiter(2, 2 * SECOND, 100);
    assert!(limiter.acquire(1).allowed);
    assert!(limiter.acquire(1).allowed);
    clock.advance(60 * SECOND);
    let decisions: Vec<bool> = (0..3).map(|_| limiter.acquire(1).allowed).collect();
    assert_eq!(decisions, [true, true, false]);
}

#[test]
fn keys_have_buckets_of_their_own() {
    let (limiter, _clock) = limiter(1, SECOND, 100);
    assert!(limiter.acquire(1).allowed);
    assert!(!limiter.acquire(1).allowed);
    assert!(limiter.acquire(2).allowed);
    assert_eq!(limiter.len(), 2);
}

#[test]
fn a_full_shard_evicts_stale_buckets_and_shares_one_bucket_until_then() {
    // One key per shard; keys 0, 16 and 32 land in shard 0.
    let (limiter, clock) = limiter(1, SECOND, SHARDS);
    assert!(limiter.acquire(0).allowed);
    // Key 0's bucket is still refilling: key 16 gets the shard's overflow bucket, and so does
    // key 32, which finds that bucket empty.
    assert!(limiter.acquire(16).allowed);
    assert!(!limiter.acquire(32).allowed);
    assert_eq!(limiter.len(), 1);
    // Once key 0's bucket is full again (and a sweep is due), it is evicted for key 16's.
    clock.advance(SWEEP_SPACING);
    assert!(limiter.acquire(16).allowed);
    assert!(
        !limiter.acquire(16).allowed,
        "key 16 has a bucket of its own"
    );
    assert_eq!(limiter.len(), 1);
    // Key 0 comes back with a full bucket: evicting lost nothing.
    clock.advance(SWEEP_SPACING);
    assert!(limiter.acquire(0).allowed);
}

#[test]
fn sweeps_of_a_full_shard_are_spaced() {
    let (limiter, clock) = limiter(1, SECOND / 10, SHARDS);
    assert!(limiter.acquire(0).allowed);
    assert!(
        limiter.acquire(16).allowed,
        "overflow: the sweep found nothing stale"
    );
    // Key 0's bucket is full again, but the last sweep was too recent for another one.
    clock.advance(SECOND / 5);
    assert!(limiter.acquire(32).allowed, "overflow again");
    assert!(!limiter.acquire(48).allowed, "the overflow bucket is empty");
    clock.advance(SWEEP_SPACING);
    assert!(limiter.acquire(48).allowed);
    assert!(
        !limiter.acquire(48).allowed,
        "key 48 has a bucket of its own"
    );
}

#[test]
#[should_panic(expected = "refuses everything")]
fn a_limit_of_zero_is_a_configuration_mistake() {
    let _ = limiter(0, SECOND, 1);
}

#[test]
#[should_panic(expected = "too short")]
fn a_period_shorter_than_a_nanosecond_per_token_is_a_configuration_mistake() {
    let _ = limiter(10, Duration::from_nanos(5), 1);
}

proptest! {
    /// Over any sequence of requests, a key gets at most its bucket plus what refilled meanwhile,
    /// and a key that waited a whole refill period is never refused.
    #[test]
    fn allowed_requests_never_exceed_the_rate(
        limit in 1u64..20,
        period_ms in 1u64..5_000,
        steps in proptest::collection::vec((0u64..2_000, 0u64..4), 1..200),
    ) {
        let period = Duration::from_millis(period_ms);
        let (limiter, clock) = limiter(limit, period, 64);
        let interval = Duration::from_millis(period_ms) / u32::try_from(limit).unwrap();
        let mut allowed = [0u64; 4];
        let mut last_request = [None::<Duration>; 4];
        for (wait_ms, key) in steps {
            clock.advance(Duration::from_millis(wait_ms));
            let now = clock.now();
            let decision = limiter.acquire(key);
            let k = usize::try_from(key).unwrap();
            if last_request[k].is_none_or(|at| now - at >= period) {
                prop_assert!(decision.allowed, "a rested key was refused");
            }
            last_request[k] = Some(now);
            prop_assert!(decision.remaining < limit);
            prop_assert!(decision.reset <= period);
            if decision.allowed {
                allowed[k] += 1;
                prop_assert_eq!(decision.retry_after, Duration::ZERO);
            } else {
                prop_assert!(decision.retry_after > Duration::ZERO);
                prop_assert!(decision.retry_after <= interval);
            }
            let refilled = u64::try_from(now.as_nanos() / interval.as_nanos()).unwrap();
            prop_assert!(allowed[k] <= limit + refilled);
        }
    }
}
