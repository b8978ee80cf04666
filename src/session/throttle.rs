//! Throttling failed logins, per account and per client address.
//!
//! Argon2 makes each guess slow for someone holding a stolen hash; it does
//! nothing against someone guessing through the login form. A [`Throttle`]
//! counts failures per key inside a sliding window and, past a limit, refuses
//! further attempts (429 with `Retry-After`) until the oldest failure leaves
//! the window. Login keeps two: one keyed by the account (guessing one user's
//! password from many addresses) and one by the client address (one address
//! trying many users).
//!
//! The clock is a parameter (`now`), so tests step time instead of sleeping.
//! State is in memory: a restart forgets it, and two server processes count
//! separately, a trade-off stated in the README.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// At most this many keys are tracked; past it, keys whose failures have all
/// expired are dropped first, then the whole table. An attacker who rotates
/// keys to exhaust memory gets a reset table, not an out-of-memory server.
const MAX_KEYS: usize = 100_000;

/// Failure counts per key in a sliding window.
#[derive(Debug)]
pub struct Throttle {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    /// Allows `limit` failures per key in any `window`.
    pub fn new(limit: usize, window: Duration) -> Throttle {
        Throttle {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` if `key` may try now; otherwise how long until it may.
    ///
    /// # Errors
    ///
    /// The wait, when the key is over its limit.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut failures = self.lock();
        let Some(times) = failures.get_mut(key) else {
            return Ok(());
        };
        forget_before(times, now, self.window);
        match times.front() {
            Some(&oldest) if times.len() >= self.limit => {
                Err(self.window.saturating_sub(now - oldest))
            }
            _ => Ok(()),
        }
    }

    /// Counts one failure for `key`.
    pub fn record_failure(&self, key: &str, now: Instant) {
        let mut failures = self.lock();
        if failures.len() >= MAX_KEYS && !failures.contains_key(key) {
            failures.retain(|_, times| {
                forget_before(times, now, self.window);
                !times.is_empty()
            });
            if failures.len() >= MAX_KEYS {
                failures.clear();
            }
        }
        let times = failures.entry(key.to_owned()).or_default();
        forget_before(times, now, self.window);
        times.push_back(now);
    }

    /// Forgets `key`'s failures (after a successful login).
    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (each operation is a single insert or removal), so a poisoned lock
        // is safe to keep using.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn forget_before(times: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while times
        .front()
        .is_some_and(|&time| now.duration_since(time) >= window)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_failures_are_allowed_and_the_next_attempt_waits() {
        let throttle = Throttle::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for second in 0..3 {
            assert_eq!(throttle.check("a", start), Ok(()));
            throttle.record_failure("a", start + Duration::from_secs(second));
        }
        let now = start + Duration::from_secs(10);
        assert_eq!(throttle.check("a", now), Err(Duration::from_secs(50)));
        assert_eq!(throttle.check("b", now), Ok(()), "keys are independent");
        assert_eq!(throttle.check("a", start + Duration::from_secs(60)), Ok(()));
    }

    #[test]
    fn success_clears_the_count() {
        let throttle = Throttle::new(1, Duration::from_secs(60));
        let now = Instant::now();
        throttle.record_failure("a", now);
        assert!(throttle.check("a", now).is_err());
        throttle.clear("a");
        assert_eq!(throttle.check("a", now), Ok(()));
    }
}
