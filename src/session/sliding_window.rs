//! Attempts per key in a sliding window, in this process's memory: the data structure under
//! the login throttle ([`throttle`](super::throttle)).
//!
//! For each key, the instants of its attempts within the window, oldest first. An attempt
//! is allowed while fewer than the limit are in the window, and then counts from the moment
//! it was allowed; when the limit is reached, the wait is until the oldest leaves. Exact to
//! the instant, where fixed windows (MongoDB's count, see
//! [`attempts`](crate::store::attempts)) let up to twice the limit through across a boundary.
//!
//! # A bound that evicts, never resets
//!
//! At most `max_keys` keys are tracked. When a new key finds the table full, keys whose
//! attempts have all left the window go first; if that is not enough, an eighth of the
//! table goes, the keys with the fewest attempts first and, among those, the least recently
//! tried. An attacker who floods the table with new keys (one attempt each) pushes out his
//! own keys, not the account he has been guessing at, which sits at the limit: to push that
//! one out he would have to bring `max_keys` other keys to the same count, `limit ×
//! max_keys` attempts that each cost an Argon2 hash in the bounded
//! [`hash_pool`](super::hash_pool). Dropping the whole table instead, the simple bound,
//! would have cleared the counter under attack.
//!
//! The clock is a parameter (`now`), so tests step time instead of sleeping.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::attempts::Rule;

/// How many keys a [`SlidingWindow`] tracks by default. An entry is its key (an account name or
/// an address, under 300 bytes) and a few instants: about 100 000 × 400 bytes, 40 MiB at the
/// most.
pub const MAX_KEYS: usize = 100_000;

/// Attempts per key in a sliding window (see the module docs).
#[derive(Debug)]
pub struct SlidingWindow {
    max_keys: usize,
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// One attempt reserved in a [`SlidingWindow`]: it counts against its key until it leaves the
/// window, unless it is given back with [`SlidingWindow::release`].
#[derive(Debug)]
#[must_use = "an attempt counts until released; drop it only to keep it counted"]
pub struct Attempt {
    key: String,
    at: Instant,
}

impl Default for SlidingWindow {
    fn default() -> Self {
        SlidingWindow::with_max_keys(MAX_KEYS)
    }
}

impl SlidingWindow {
    /// A throttle that tracks at most `max_keys` keys (at least 1).
    pub fn with_max_keys(max_keys: usize) -> SlidingWindow {
        SlidingWindow {
            max_keys: max_keys.max(1),
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a place for one attempt by `key` under `rule`, or says how long until one frees
    /// up.
    ///
    /// # Errors
    ///
    /// The wait, when `key` already has `rule.limit` attempts in the window (finished
    /// failures and attempts still in flight alike).
    pub fn reserve(&self, key: &str, rule: Rule, now: Instant) -> Result<Attempt, Duration> {
        if rule.limit == 0 {
            return Err(rule.window);
        }
        let mut table = self.lock();
        if !table.contains_key(key) && table.len() >= self.max_keys {
            self.make_room(&mut table, rule.window, now);
        }
        let times = table.entry(key.to_owned()).or_default();
        forget_before(times, now, rule.window);
        if times.len() >= rule.limit
            && let Some(&oldest) = times.front()
        {
            return Err(rule.window.saturating_sub(now.duration_since(oldest)));
        }
        times.push_back(now);
        Ok(Attempt {
            key: key.to_owned(),
            at: now,
        })
    }

    /// Gives an attempt's place back.
    pub fn release(&self, attempt: Attempt) {
        let mut table = self.lock();
        if let Some(times) = table.get_mut(&attempt.key) {
            if let Some(index) = times.iter().position(|&at| at == attempt.at) {
                times.remove(index);
            }
            if times.is_empty() {
                table.remove(&attempt.key);
            }
        }
    }

    /// Forgets every attempt by `key`.
    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Makes room for a new key in a full table: drops keys whose attempts have all left
    /// the window, then, if the table is still full, the eighth with the fewest attempts,
    /// least recently tried first (see the module docs).
    fn make_room(
        &self,
        table: &mut HashMap<String, VecDeque<Instant>>,
        window: Duration,
        now: Instant,
    ) {
        table.retain(|_, times| {
            forget_before(times, now, window);
            !times.is_empty()
        });
        if table.len() < self.max_keys {
            return;
        }
        // An eighth at a time, so a flood of new keys pays for this scan once per
        // `max_keys / 8` keys rather than once per key.
        let evict = (self.max_keys / 8).max(1);
        let mut ranked: Vec<(usize, Instant, &String)> = table
            .iter()
            .map(|(key, times)| (times.len(), times.back().copied().unwrap_or(now), key))
            .collect();
        ranked.select_nth_unstable(evict - 1);
        let doomed: Vec<String> = ranked[..evict]
            .iter()
            .map(|(_, _, key)| (*key).clone())
            .collect();
        for key in doomed {
            table.remove(&key);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        // A panic while holding this lock cannot leave the map inconsistent (each operation
        // is a single insert or removal), so a poisoned lock is safe to keep using.
        self.attempts
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

    const MINUTE: Duration = Duration::from_secs(60);

    fn rule(limit: usize) -> Rule {
        Rule {
            limit,
            window: MINUTE,
        }
    }

    #[test]
    fn limit_attempts_are_allowed_and_the_next_waits_for_the_oldest() {
        let window = SlidingWindow::default();
        let start = Instant::now();
        for second in 0..3 {
            let _kept = window
                .reserve("a", rule(3), start + Duration::from_secs(second))
                .unwrap();
        }
        let now = start + Duration::from_secs(10);
        assert_eq!(
            window.reserve("a", rule(3), now).unwrap_err(),
            Duration::from_secs(50)
        );
        assert!(
            window.reserve("b", rule(3), now).is_ok(),
            "keys are independent"
        );
        assert!(
            window.reserve("a", rule(3), start + MINUTE).is_ok(),
            "the oldest left"
        );
    }

    #[test]
    fn attempts_in_flight_count_before_they_fail() {
        let window = SlidingWindow::default();
        let now = Instant::now();
        // Nothing is released: five guesses still being checked.
        let in_flight: Vec<Attempt> = (0..5)
            .map(|_| window.reserve("a", rule(5), now).unwrap())
            .collect();
        assert!(window.reserve("a", rule(5), now).is_err());
        assert_eq!(in_flight.len(), 5);
    }

    #[test]
    fn a_released_attempt_frees_its_place_and_only_its_own() {
        let window = SlidingWindow::default();
        let now = Instant::now();
        let _failed = window.reserve("a", rule(2), now).unwrap();
        let succeeded = window.reserve("a", rule(2), now).unwrap();
        assert!(window.reserve("a", rule(2), now).is_err());
        window.release(succeeded);
        let _again = window
            .reserve("a", rule(2), now)
            .expect("a released place is free");
        assert!(
            window.reserve("a", rule(2), now).is_err(),
            "the failure still counts"
        );
    }

    #[test]
    fn clear_forgets_every_attempt() {
        let window = SlidingWindow::default();
        let now = Instant::now();
        let _failed = window.reserve("a", rule(1), now).unwrap();
        assert!(window.reserve("a", rule(1), now).is_err());
        window.clear("a");
        assert!(window.reserve("a", rule(1), now).is_ok());
    }

    #[test]
    fn a_limit_of_zero_refuses_everything() {
        let window = SlidingWindow::default();
        assert_eq!(
            window.reserve("a", rule(0), Instant::now()).unwrap_err(),
            MINUTE
        );
    }

    #[test]
    fn flooding_new_keys_does_not_clear_the_attacked_account() {
        let window = SlidingWindow::with_max_keys(1000);
        let start = Instant::now();
        for _ in 0..5 {
            let _failed = window.reserve("account:victim", rule(5), start).unwrap();
        }
        assert!(window.reserve("account:victim", rule(5), start).is_err());
        // Ten times the table's bound in fresh keys, each tried once, all after the
        // guesses at the victim.
        for n in 0..10_000 {
            let later = start + Duration::from_millis(1 + n / 1000);
            let _flood = window
                .reserve(&format!("account:flood{n}"), rule(5), later)
                .unwrap();
        }
        let now = start + Duration::from_secs(20);
        assert_eq!(
            window.reserve("account:victim", rule(5), now).unwrap_err(),
            Duration::from_secs(40),
            "the victim's counter survived the flood"
        );
        assert!(
            window.lock().len() <= 1000,
            "the table stays within its bound"
        );
    }

    #[test]
    fn a_full_table_drops_expired_keys_before_live_ones() {
        let window = SlidingWindow::with_max_keys(3);
        let start = Instant::now();
        let _old = window.reserve("old", rule(5), start).unwrap();
        let later = start + Duration::from_secs(30);
        let _b = window.reserve("b", rule(5), later).unwrap();
        let _c = window.reserve("c", rule(5), later).unwrap();
        // "old" has left the window by now; "b" and "c" have not.
        let now = start + MINUTE;
        let _d = window.reserve("d", rule(5), now).unwrap();
        let table = window.lock();
        assert!(!table.contains_key("old"));
        assert!(table.contains_key("b") && table.contains_key("c") && table.contains_key("d"));
    }
}
