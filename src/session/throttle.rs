//! Throttling login attempts, per account and per client address.
//!
//! Argon2 makes each guess slow for someone holding a stolen hash; it does
//! nothing against someone guessing through the login form. A [`Throttle`]
//! counts attempts per key inside a sliding window and, past a limit, refuses
//! further ones (429 with `Retry-After`) until the oldest leaves the window.
//! A login passes three ([`LoginThrottle`]): one keyed by the account
//! (guessing one user's password from many addresses), one by the client
//! address (one address trying many users), and a short one by the address
//! that sets the pace one address may keep (see [`LoginLimits`]).
//!
//! # Attempts are counted before they are checked
//!
//! An attempt takes its place with [`Throttle::reserve`] *before* the
//! password is verified, and a place in flight counts against the limit like
//! a failure does. Counting failures only once they are known would let a
//! burst through: 200 guesses sent at once would all pass the check while
//! the first was still hashing, and all 200 would be tried. Reserved first,
//! `limit` of them are tried and the rest are refused at once, without any
//! Argon2 work. Afterwards a failure simply keeps its place; a success gives
//! it back ([`Throttle::release`]) and, for the account, forgets the earlier
//! failures too ([`Throttle::clear`]).
//!
//! # A bound that evicts, never resets
//!
//! At most `max_keys` keys are tracked. When a new key finds the table full,
//! keys whose attempts have all left the window go first; if that is not
//! enough, an eighth of the table goes, the keys with the fewest attempts
//! first and, among those, the least recently tried. An attacker who floods
//! the table with new keys (one attempt each) pushes out his own keys, not
//! the account he has been guessing at, which sits at the limit: to push that
//! one out he would have to bring `max_keys` other keys to the same count,
//! `limit × max_keys` attempts that each cost an Argon2 hash in the bounded
//! [`hash_pool`](super::hash_pool). Dropping the whole table instead, the
//! simple bound, would have cleared the counter under attack.
//!
//! The clock is a parameter (`now`), so tests step time instead of sleeping.
//! State is in memory: a restart forgets it, and two server processes count
//! separately, a trade-off stated in the README.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many keys a throttle tracks by default. An entry is its key (an
/// account name or an address, under 300 bytes) and a few instants: about
/// 100 000 × 400 bytes, 40 MiB at the most.
pub const MAX_KEYS: usize = 100_000;

/// Attempts per key in a sliding window.
#[derive(Debug)]
pub struct Throttle {
    limit: usize,
    window: Duration,
    max_keys: usize,
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// One reserved attempt: it counts against its key until it leaves the
/// window, unless it is given back with [`Throttle::release`].
#[derive(Debug)]
#[must_use = "an attempt counts until released; drop it only to keep it counted"]
pub struct Attempt {
    key: String,
    at: Instant,
}

impl Throttle {
    /// Allows `limit` attempts per key in any `window`, tracking at most
    /// [`MAX_KEYS`] keys.
    pub fn new(limit: usize, window: Duration) -> Throttle {
        Throttle::with_max_keys(limit, window, MAX_KEYS)
    }

    /// As [`new`](Throttle::new), with a bound of `max_keys` keys (at least 1).
    pub fn with_max_keys(limit: usize, window: Duration, max_keys: usize) -> Throttle {
        Throttle {
            limit,
            window,
            max_keys: max_keys.max(1),
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a place for one attempt by `key`, or says how long until one
    /// frees up.
    ///
    /// # Errors
    ///
    /// The wait, when `key` already has `limit` attempts in the window
    /// (finished failures and attempts still in flight alike).
    pub fn reserve(&self, key: &str, now: Instant) -> Result<Attempt, Duration> {
        let mut table = self.lock();
        if !table.contains_key(key) && table.len() >= self.max_keys {
            self.make_room(&mut table, now);
        }
        if self.limit == 0 {
            return Err(self.window);
        }
        let times = table.entry(key.to_owned()).or_default();
        forget_before(times, now, self.window);
        if times.len() >= self.limit
            && let Some(&oldest) = times.front()
        {
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        times.push_back(now);
        Ok(Attempt {
            key: key.to_owned(),
            at: now,
        })
    }

    /// Gives an attempt's place back: it succeeded, or it never reached the
    /// password check (the hashing queue was full).
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

    /// Forgets every attempt by `key` (the account, after a successful login).
    pub fn clear(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Makes room for a new key in a full table: drops keys whose attempts
    /// have all left the window, then, if the table is still full, the eighth
    /// with the fewest attempts, least recently tried first.
    fn make_room(&self, table: &mut HashMap<String, VecDeque<Instant>>, now: Instant) {
        table.retain(|_, times| {
            forget_before(times, now, self.window);
            !times.is_empty()
        });
        if table.len() < self.max_keys {
            return;
        }
        // An eighth at a time, so a flood of new keys pays for this scan
        // once per `max_keys / 8` keys rather than once per key.
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
        // A panic while holding this lock cannot leave the map inconsistent
        // (each operation is a single insert or removal), so a poisoned lock
        // is safe to keep using.
        self.attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// How many login attempts are allowed, and over what time.
///
/// Only attempts that fail keep counting (a success gives its place back),
/// so people who type their password right never meet these limits, however
/// many of them share one address behind a NAT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLimits {
    /// Attempts per account within `window`: what stops guessing one
    /// user's password, from however many addresses.
    pub per_account: usize,
    /// Attempts per client address within `window`: higher, since many
    /// people can share one address. What caps a botnet: its addresses ×
    /// this, per window.
    pub per_address: usize,
    /// The sliding window of the two limits above.
    pub window: Duration,
    /// Attempts per client address within `pace_window`: the pace one
    /// address may keep. Without it, an address that sends its next guess
    /// the moment the last is answered takes the place in the hashing queue
    /// it has just freed, before anyone else has a chance, and a few hundred
    /// such addresses keep every place to themselves for as long as they go
    /// on, while real users meet a full queue at every try. With one attempt
    /// per address every two seconds, a freed place goes to whoever comes
    /// next, so a real user's chance is its share of the arrivals (measured:
    /// `benches/run`, scenario `storm`). A person who mistypes needs longer
    /// than that to type again.
    pub address_pace: usize,
    /// The sliding window of `address_pace`.
    pub pace_window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_account: 5,
            per_address: 50,
            window: Duration::from_secs(15 * 60),
            address_pace: 1,
            pace_window: Duration::from_secs(2),
        }
    }
}

/// The throttles a login passes: per account, per client address, and the
/// address's short-term pace.
#[derive(Debug)]
pub struct LoginThrottle {
    account: Throttle,
    address: Throttle,
    address_pace: Throttle,
}

/// A login's reserved attempts, until the password check says how they end.
#[derive(Debug)]
#[must_use = "say how the attempt ended: failed, succeeded or not_checked"]
pub struct LoginAttempt<'a> {
    throttle: &'a LoginThrottle,
    account: Attempt,
    address: Attempt,
    address_pace: Attempt,
}

impl LoginThrottle {
    /// The throttles for `limits`.
    pub fn new(limits: &LoginLimits) -> LoginThrottle {
        LoginThrottle {
            account: Throttle::new(limits.per_account, limits.window),
            address: Throttle::new(limits.per_address, limits.window),
            address_pace: Throttle::new(limits.address_pace, limits.pace_window),
        }
    }

    /// Reserves one attempt against each limit, or none.
    ///
    /// # Errors
    ///
    /// The wait, when any of them is reached.
    pub fn reserve(
        &self,
        account: &str,
        address: IpAddr,
        now: Instant,
    ) -> Result<LoginAttempt<'_>, Duration> {
        let address = address.to_string();
        let account = self.account.reserve(account, now)?;
        let by_address = match self.address.reserve(&address, now) {
            Ok(attempt) => attempt,
            Err(wait) => {
                self.account.release(account);
                return Err(wait);
            }
        };
        match self.address_pace.reserve(&address, now) {
            Ok(address_pace) => Ok(LoginAttempt {
                throttle: self,
                account,
                address: by_address,
                address_pace,
            }),
            Err(wait) => {
                self.account.release(account);
                self.address.release(by_address);
                Err(wait)
            }
        }
    }
}

impl LoginAttempt<'_> {
    /// A wrong password (or no such account): every attempt keeps counting.
    pub fn failed(self) {}

    /// The right password: the address's attempts are given back, and the
    /// account's earlier failures are forgotten with it.
    pub fn succeeded(self) {
        self.throttle.account.clear(&self.account.key);
        self.throttle.address.release(self.address);
        self.throttle.address_pace.release(self.address_pace);
    }

    /// The password was never checked (the hashing queue was full, the
    /// store was down): nothing was learned, so nothing counts.
    pub fn not_checked(self) {
        self.throttle.account.release(self.account);
        self.throttle.address.release(self.address);
        self.throttle.address_pace.release(self.address_pace);
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

    #[test]
    fn limit_attempts_are_allowed_and_the_next_waits_for_the_oldest() {
        let throttle = Throttle::new(3, MINUTE);
        let start = Instant::now();
        for second in 0..3 {
            let _kept = throttle
                .reserve("a", start + Duration::from_secs(second))
                .unwrap();
        }
        let now = start + Duration::from_secs(10);
        assert_eq!(
            throttle.reserve("a", now).unwrap_err(),
            Duration::from_secs(50)
        );
        assert!(throttle.reserve("b", now).is_ok(), "keys are independent");
        assert!(
            throttle.reserve("a", start + MINUTE).is_ok(),
            "the oldest left"
        );
    }

    #[test]
    fn attempts_in_flight_count_before_they_fail() {
        let throttle = Throttle::new(5, MINUTE);
        let now = Instant::now();
        // Nothing is released or recorded: five guesses still being checked.
        let in_flight: Vec<Attempt> = (0..5)
            .map(|_| throttle.reserve("a", now).unwrap())
            .collect();
        assert!(throttle.reserve("a", now).is_err());
        assert_eq!(in_flight.len(), 5);
    }

    #[test]
    fn a_released_attempt_frees_its_place_and_only_its_own() {
        let throttle = Throttle::new(2, MINUTE);
        let now = Instant::now();
        let _failed = throttle.reserve("a", now).unwrap();
        let succeeded = throttle.reserve("a", now).unwrap();
        assert!(throttle.reserve("a", now).is_err());
        throttle.release(succeeded);
        let _again = throttle
            .reserve("a", now)
            .expect("a released place is free");
        assert!(
            throttle.reserve("a", now).is_err(),
            "the failure still counts"
        );
    }

    #[test]
    fn clear_forgets_every_attempt() {
        let throttle = Throttle::new(1, MINUTE);
        let now = Instant::now();
        let _failed = throttle.reserve("a", now).unwrap();
        assert!(throttle.reserve("a", now).is_err());
        throttle.clear("a");
        assert!(throttle.reserve("a", now).is_ok());
    }

    #[test]
    fn a_limit_of_zero_refuses_everything() {
        let throttle = Throttle::new(0, MINUTE);
        assert_eq!(throttle.reserve("a", Instant::now()).unwrap_err(), MINUTE);
    }

    #[test]
    fn flooding_new_keys_does_not_clear_the_attacked_account() {
        let throttle = Throttle::with_max_keys(5, MINUTE, 1000);
        let start = Instant::now();
        for _ in 0..5 {
            let _failed = throttle.reserve("account:victim", start).unwrap();
        }
        assert!(throttle.reserve("account:victim", start).is_err());
        // Ten times the table's bound in fresh keys, each tried once, all
        // after the guesses at the victim.
        for n in 0..10_000 {
            let later = start + Duration::from_millis(1 + n / 1000);
            let _flood = throttle
                .reserve(&format!("account:flood{n}"), later)
                .unwrap();
        }
        let now = start + Duration::from_secs(20);
        assert_eq!(
            throttle.reserve("account:victim", now).unwrap_err(),
            Duration::from_secs(40),
            "the victim's counter survived the flood"
        );
        assert!(
            throttle.lock().len() <= 1000,
            "the table stays within its bound"
        );
    }

    fn login_throttle(per_account: usize, per_address: usize, pace: usize) -> LoginThrottle {
        LoginThrottle::new(&LoginLimits {
            per_account,
            per_address,
            window: MINUTE,
            address_pace: pace,
            pace_window: Duration::from_secs(10),
        })
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn a_refusal_by_one_limit_leaves_the_others_untouched() {
        let throttle = login_throttle(1, 5, 5);
        let now = Instant::now();
        throttle.reserve("ada", HOME, now).unwrap().failed();
        // Refused by the account: the address's limits must not count it.
        for _ in 0..10 {
            assert!(throttle.reserve("ada", HOME, now).is_err());
        }
        for n in 0..4 {
            throttle
                .reserve(&format!("user{n}"), HOME, now)
                .unwrap()
                .failed();
        }
        assert!(
            throttle.reserve("user9", HOME, now).is_err(),
            "five failures from HOME"
        );
    }

    #[test]
    fn the_pace_frees_up_before_the_long_window_does() {
        let throttle = login_throttle(100, 50, 3);
        let start = Instant::now();
        for n in 0..3 {
            throttle
                .reserve(&format!("u{n}"), HOME, start)
                .unwrap()
                .failed();
        }
        assert_eq!(
            throttle.reserve("u3", HOME, start).unwrap_err(),
            Duration::from_secs(10)
        );
        let later = start + Duration::from_secs(10);
        throttle.reserve("u3", HOME, later).unwrap().failed();
    }

    #[test]
    fn a_success_gives_back_the_address_places_and_clears_the_account() {
        let throttle = login_throttle(2, 2, 2);
        let now = Instant::now();
        throttle.reserve("ada", HOME, now).unwrap().failed();
        throttle.reserve("ada", HOME, now).unwrap().succeeded();
        // The account is clear, and the address has one failure, not two.
        throttle.reserve("ada", HOME, now).unwrap().failed();
        assert!(throttle.reserve("bob", HOME, now).is_err());
    }

    #[test]
    fn an_attempt_never_checked_counts_nowhere() {
        let throttle = login_throttle(1, 1, 1);
        let now = Instant::now();
        throttle.reserve("ada", HOME, now).unwrap().not_checked();
        throttle.reserve("ada", HOME, now).unwrap().failed();
    }

    #[test]
    fn a_full_table_drops_expired_keys_before_live_ones() {
        let throttle = Throttle::with_max_keys(5, MINUTE, 3);
        let start = Instant::now();
        let _old = throttle.reserve("old", start).unwrap();
        let later = start + Duration::from_secs(30);
        let _b = throttle.reserve("b", later).unwrap();
        let _c = throttle.reserve("c", later).unwrap();
        // "old" has left the window by now; "b" and "c" have not.
        let now = start + MINUTE;
        let _d = throttle.reserve("d", now).unwrap();
        let table = throttle.lock();
        assert!(!table.contains_key("old"));
        assert!(table.contains_key("b") && table.contains_key("c") && table.contains_key("d"));
    }
}
