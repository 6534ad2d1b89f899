//! The `Date` field value (RFC 9110 §6.6.1) as an IMF-fixdate (RFC 9110 §5.6.7), formatted at most
//! once a second and copied into every response head.
//!
//! ```text
//! IMF-fixdate  = day-name "," SP date1 SP time-of-day SP GMT
//!              ; fixed length/zone/capitalization subset of the format
//!              ; see Section 3.3 of [RFC5322]
//! ```
//!
//! Always 29 bytes: `Sun, 06 Nov 1994 08:49:37 GMT`. This module owns the formatting and two caches:
//! [`DateCache`], which an engine refreshes from its own timer, and [`with_date`], a thread-local one
//! that refreshes itself when the wall-clock second changes. It does not parse dates.
//!
//! IMF-fixdate has a four-digit year after 1970 in practice, so times are clamped to
//! `1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z`, the range `httpdate` accepts too.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const DATE_LEN: usize = 29;

/// `9999-12-31T23:59:59Z`, the last second a four-digit year can name.
const MAX_SECS: u64 = 253_402_300_799;

const SECS_PER_DAY: u64 = 86_400;

const DAY_NAMES: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];

const MONTH_NAMES: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// A formatted `Date` value and the second it names. An engine holds one per worker and calls
/// [`DateCache::update`] from a timer (or once per batch of responses); only a new second costs a
/// re-format.
///
/// ```
/// use engine_core::http::date::DateCache;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let mut cache = DateCache::new();
/// assert!(cache.update(UNIX_EPOCH + Duration::from_secs(784_111_777)));
/// assert_eq!(cache.bytes(), b"Sun, 06 Nov 1994 08:49:37 GMT");
/// // Same second: nothing to do.
/// assert!(!cache.update(UNIX_EPOCH + Duration::from_millis(784_111_777_900)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateCache {
    /// Seconds since the epoch of `bytes`, after clamping; `u64::MAX` until first formatted.
    secs: u64,
    bytes: [u8; DATE_LEN],
}

impl DateCache {
    /// A cache not yet formatted, for `const` contexts; [`DateCache::update`] fills it.
    const UNSET: Self = Self {
        secs: u64::MAX,
        bytes: [0; DATE_LEN],
    };

    /// A cache holding the current second.
    pub fn new() -> Self {
        let mut cache = Self::UNSET;
        cache.update(SystemTime::now());
        cache
    }

    /// Re-formats the value if `now` falls in another second than the cached one. Returns whether it
    /// did. Times outside the IMF-fixdate range are clamped to it.
    pub fn update(&mut self, now: SystemTime) -> bool {
        self.update_secs(clamp_secs(now))
    }

    /// [`update`](Self::update) with the seconds since the epoch, already clamped.
    fn update_secs(&mut self, secs: u64) -> bool {
        if secs == self.secs {
            return false;
        }
        self.secs = secs;
        self.bytes = imf_fixdate(secs);
        true
    }

    /// The formatted value, ready to copy after `date: `.
    #[inline]
    pub fn bytes(&self) -> &[u8; DATE_LEN] {
        &self.bytes
    }
}

impl Default for DateCache {
    fn default() -> Self {
        Self::new()
    }
}

thread_local! {
    static CACHE: RefCell<DateCache> = const { RefCell::new(DateCache::UNSET) };
}

/// Calls `f` with the `Date` value of the current second, from a thread-local cache that re-formats
/// when the wall-clock second changed. Each call reads the clock once (a vDSO call on Linux); an
/// engine with a per-second timer can drive a [`DateCache`] instead and skip even that.
///
/// ```
/// use engine_core::http::date::with_date;
/// let mut head = Vec::new();
/// with_date(|date| head.extend_from_slice(date));
/// assert_eq!(head.len(), 29);
/// assert!(head.ends_with(b" GMT"));
/// ```
pub fn with_date<R>(f: impl FnOnce(&[u8; DATE_LEN]) -> R) -> R {
    let secs = now_secs();
    // Copy the 29 bytes out so that `f` runs without the cell borrowed: a nested `with_date` then
    // cannot panic. During thread teardown the cache may be gone; format directly then.
    let bytes = CACHE
        .try_with(|cache| {
            let mut cache = cache.borrow_mut();
            cache.update_secs(secs);
            *cache.bytes()
        })
        .unwrap_or_else(|_| imf_fixdate(secs));
    f(&bytes)
}

/// The wall clock's second, clamped. On Linux from `CLOCK_REALTIME_COARSE`: the time of the last
/// tick (a few milliseconds behind at most, which a value to the second does not show), read
/// without the TSC, so a response pays about 60 instructions less than with `SystemTime::now`
/// (callgrind, the app's pipelined `/plaintext`).
fn now_secs() -> u64 {
    #[cfg(target_os = "linux")]
    {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid, writable `timespec`; the call writes only it.
        if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) } == 0 {
            return u64::try_from(now.tv_sec).unwrap_or(0).min(MAX_SECS);
        }
    }
    clamp_secs(SystemTime::now())
}

/// Seconds since the epoch, clamped to the range an IMF-fixdate can name.
fn clamp_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
        .min(MAX_SECS)
}

/// Formats `secs` seconds after the epoch (clamped to year 9999) as an IMF-fixdate.
///
/// ```
/// use engine_core::http::date::imf_fixdate;
/// assert_eq!(&imf_fixdate(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
/// ```
pub fn imf_fixdate(secs: u64) -> [u8; DATE_LEN] {
    let secs = secs.min(MAX_SECS);
    let days = secs / SECS_PER_DAY;
    let secs_of_day = secs % SECS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = index((days + 4) % 7);

    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[0..3].copy_from_slice(DAY_NAMES[weekday]);
    put_digits(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTH_NAMES[index(month - 1)]);
    put_digits(&mut out[12..16], year);
    put_digits(&mut out[17..19], secs_of_day / 3600);
    put_digits(&mut out[20..22], secs_of_day / 60 % 60);
    put_digits(&mut out[23..25], secs_of_day % 60);
    out
}

/// Year, month (1..=12) and day (1..=31) of the proleptic Gregorian calendar for `days` days after
/// 1970-01-01: Howard Hinnant's `civil_from_days`, restricted to non-negative days. Eras are 400-year
/// cycles starting on 0000-03-01, so the leap day is the last day of a shifted year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365], from March 1
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    (year, month, day)
}

/// Writes the low `dst.len()` decimal digits of `n`, zero-padded.
fn put_digits(dst: &mut [u8], mut n: u64) {
    for byte in dst.iter_mut().rev() {
        *byte = b"0123456789"[index(n % 10)];
        n /= 10;
    }
}

/// A table index from a value the caller has already reduced below the table's length.
#[allow(
    clippy::cast_possible_truncation,
    reason = "every caller passes a value below 12"
)]
#[inline]
fn index(small: u64) -> usize {
    small as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn reference(secs: u64) -> String {
        httpdate::fmt_http_date(at(secs))
    }

    #[test]
    fn known_dates() {
        let cases: &[(u64, &[u8; DATE_LEN])] = &[
            (0, b"Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, b"Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, b"Tue, 29 Feb 2000 00:00:00 GMT"),
            (2_147_483_647, b"Tue, 19 Jan 2038 03:14:07 GMT"),
            (2_147_483_648, b"Tue, 19 Jan 2038 03:14:08 GMT"),
            (4_107_542_399, b"Sun, 28 Feb 2100 23:59:59 GMT"),
            (4_107_542_400, b"Mon, 01 Mar 2100 00:00:00 GMT"),
            (MAX_SECS, b"Fri, 31 Dec 9999 23:59:59 GMT"),
        ];
        for &(secs, expected) in cases {
            assert_eq!(&imf_fixdate(secs), expected, "{secs}");
        }
    }

    #[test]
    fn matches_httpdate_at_boundaries() {
        let day = SECS_PER_DAY;
        let mut cases = vec![0, 1, day - 1, day, MAX_SECS, MAX_SECS - day];
        // Around every Feb 28 / Feb 29 / Mar 1 and New Year from 1970 to 2500: leap years, the
        // century rule (2100, 2200, 2300 are not leap, 2000 and 2400 are), and the 2038 boundary.
        let mut jan1 = 0;
        for year in 1970..2500u64 {
            for offset in [0, 58, 59, 60, 364, 365] {
                let start = jan1 + offset * day;
                cases.extend([start, start + day - 1]);
            }
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            jan1 += (365 + u64::from(leap)) * day;
        }
        cases.extend([2_147_483_647, 2_147_483_648, 4_294_967_295, 4_294_967_296]);
        for secs in cases {
            assert_eq!(
                imf_fixdate(secs).as_slice(),
                reference(secs).as_bytes(),
                "{secs}"
            );
        }
    }

    #[test]
    fn clamps_out_of_range_times() {
        assert_eq!(imf_fixdate(u64::MAX), imf_fixdate(MAX_SECS));
        let mut cache = DateCache::UNSET;
        assert!(cache.update(UNIX_EPOCH - Duration::from_secs(10)));
        assert_eq!(cache.bytes(), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert!(cache.update(at(u64::MAX / 2)));
        assert_eq!(cache.bytes(), b"Fri, 31 Dec 9999 23:59:59 GMT");
    }

    #[test]
    fn cache_reformats_only_on_a_new_second() {
        let mut cache = DateCache::UNSET;
        assert!(cache.update(at(784_111_777)));
        assert!(!cache.update(at(784_111_777) + Duration::from_millis(999)));
        assert_eq!(cache.bytes(), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert!(cache.update(at(784_111_778)));
        assert_eq!(cache.bytes(), b"Sun, 06 Nov 1994 08:49:38 GMT");
        // A clock stepped back is a new second too.
        assert!(cache.update(at(784_111_700)));
        assert_eq!(cache.bytes(), b"Sun, 06 Nov 1994 08:48:20 GMT");
    }

    #[test]
    fn new_and_with_date_hold_the_current_second() {
        let before = clamp_secs(SystemTime::now());
        let from_cache = DateCache::new();
        let from_thread = with_date(|date| *date);
        let after = clamp_secs(SystemTime::now());
        for bytes in [*from_cache.bytes(), from_thread] {
            let text = std::str::from_utf8(&bytes).expect("ASCII");
            let secs = clamp_secs(httpdate::parse_http_date(text).expect("IMF-fixdate"));
            assert!((before..=after).contains(&secs), "{text}");
        }
    }

    #[test]
    fn with_date_can_nest() {
        // The thread-local cell is not borrowed while `f` runs, so this does not panic.
        let (outer, inner) = with_date(|a| with_date(|b| (*a, *b)));
        assert!(outer.ends_with(b" GMT") && inner.ends_with(b" GMT"));
    }

    proptest! {
        #[test]
        fn matches_httpdate(secs in 0..=MAX_SECS) {
            let (ours, theirs) = (imf_fixdate(secs), reference(secs));
            prop_assert_eq!(ours.as_slice(), theirs.as_bytes());
        }

        #[test]
        fn cache_equals_direct_formatting(secs in 0..=MAX_SECS, millis in 0u64..1000) {
            let mut cache = DateCache::UNSET;
            cache.update(at(secs) + Duration::from_millis(millis));
            prop_assert_eq!(cache.bytes(), &imf_fixdate(secs));
        }
    }
}
