//! Throttling login attempts: per account, per client address, and a pace per address.
//!
//! Argon2 makes each guess slow for someone holding a stolen hash; it does nothing against
//! someone guessing through the login form. So every login (and every current password
//! given to `POST /api/password`) passes three limits ([`LoginLimits`]), and past any of
//! them is refused with 429 and `Retry-After`:
//!
//! - **per account**: guessing one user's password, from however many addresses;
//! - **per address**: one address trying many accounts; the budget a botnet has is its
//!   addresses times this;
//! - **a pace per address**: how fast one address may go (see
//!   [`LoginLimits::address_pace`] for why a storm needs it).
//!
//! Each is counted in this process's memory ([`SlidingWindow`]), which refuses a burst in
//! microseconds, before it waits for anything. The first two must also hold across every
//! server that shares the database, so where the store is shared they are counted there as
//! well ([`AttemptStore`]: MongoDB's `login_attempts`). The pace protects this process's own
//! hashing queue, so memory is where it belongs.
//!
//! ```text
//! login ─► memory: pace, address, account ─429─► refused, no Argon2, no database
//!            │ ok
//!            ▼
//!          a place in the hashing queue ─503─► refused (memory given back)
//!            │ ok
//!            ▼
//!          store: account, address ─429─► refused (all given back)
//!            │ ok
//!            ▼
//!          the password check ─► failed: kept · succeeded or not checked: given back
//! ```
//!
//! # Attempts are counted before they are checked
//!
//! An attempt takes its places *before* the password is verified, and a place in flight
//! counts against the limit like a failure does. Counting failures only once they are known
//! would let a burst through: 200 guesses sent at once would all pass the check while the
//! first was still hashing, and all 200 would be tried. Reserved first, `limit` of them are
//! tried and the rest are refused at once, without any Argon2 work. Afterwards the
//! [`LoginAttempt`] says how it ended: a failure keeps its places; a success gives them back
//! and, for the account, forgets the earlier failures too; an attempt that never reached
//! the check (the hashing queue was full) gives them back.
//!
//! # When the database is down
//!
//! Reserving fails, and the login is answered 503: closed, not open. Letting logins through
//! uncounted would hand an attacker unlimited guesses for as long as the outage lasts (or
//! as long as he can make it last), and the accounts are in the same database, so no login
//! could succeed meanwhile anyway.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::sliding_window::{Attempt, SlidingWindow};
use crate::store::StoreError;
use crate::store::attempts::{AttemptKind, AttemptStore, Reservation, Reserved, Rule};

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

/// The limits a login passes: counted in this process's memory, and in the store where the
/// store is shared.
#[derive(Debug)]
pub struct LoginThrottle {
    limits: LoginLimits,
    /// Every limit, counted locally; for the embedded store this is the whole count.
    account: SlidingWindow,
    address: SlidingWindow,
    pace: SlidingWindow,
}

/// Why a login may not be attempted now.
#[derive(Debug)]
pub enum Refused {
    /// A limit is reached: retry after this long.
    Wait(Duration),
    /// The store could not count the attempt (503).
    Store(StoreError),
}

/// A login's attempt, counted in this process's memory (see [`LoginThrottle::reserve`]).
#[derive(Debug)]
#[must_use = "count it in the store (count_in) or say it was not checked"]
pub struct LocalAttempt<'a> {
    throttle: &'a LoginThrottle,
    account_key: String,
    address_key: String,
    account: Attempt,
    address: Attempt,
    pace: Attempt,
}

/// A login's attempt, counted everywhere it counts, until the password check says how it
/// ended.
#[derive(Debug)]
#[must_use = "say how the attempt ended: failed, succeeded or not_checked"]
pub struct LoginAttempt<'a, S> {
    local: LocalAttempt<'a>,
    store: &'a S,
    account: Reserved,
    address: Reserved,
}

impl LoginThrottle {
    /// The throttle for `limits`.
    pub fn new(limits: &LoginLimits) -> LoginThrottle {
        LoginThrottle {
            limits: limits.clone(),
            account: SlidingWindow::default(),
            address: SlidingWindow::default(),
            pace: SlidingWindow::default(),
        }
    }

    fn account_rule(&self) -> Rule {
        Rule {
            limit: self.limits.per_account,
            window: self.limits.window,
        }
    }

    fn address_rule(&self) -> Rule {
        Rule {
            limit: self.limits.per_address,
            window: self.limits.window,
        }
    }

    /// Counts one attempt for `account` from `address` in this process's memory, against
    /// every limit, or against none.
    ///
    /// This comes first and costs microseconds, so a burst of guesses at one account is
    /// refused here, before anything waits for the hashing queue or the database. It is
    /// never looser than the store's count: this process's attempts are among the
    /// database's.
    ///
    /// # Errors
    ///
    /// The wait, when a limit is reached.
    pub fn reserve(
        &self,
        account: &str,
        address: IpAddr,
        now: Instant,
    ) -> Result<LocalAttempt<'_>, Duration> {
        let address_key = address.to_string();
        let pace_rule = Rule {
            limit: self.limits.address_pace,
            window: self.limits.pace_window,
        };
        let pace = self.pace.reserve(&address_key, pace_rule, now)?;
        let by_address = match self.address.reserve(&address_key, self.address_rule(), now) {
            Ok(attempt) => attempt,
            Err(wait) => {
                self.pace.release(pace);
                return Err(wait);
            }
        };
        match self.account.reserve(account, self.account_rule(), now) {
            Ok(by_account) => Ok(LocalAttempt {
                throttle: self,
                account_key: account.to_owned(),
                address_key,
                account: by_account,
                address: by_address,
                pace,
            }),
            Err(wait) => {
                self.pace.release(pace);
                self.address.release(by_address);
                Err(wait)
            }
        }
    }
}

impl<'a> LocalAttempt<'a> {
    /// Counts the attempt in the store too, so that every server sharing it enforces one
    /// limit (MongoDB; the embedded store has nothing to add).
    ///
    /// # Errors
    ///
    /// [`Refused::Wait`] when the shared count is at a limit, [`Refused::Store`] when the
    /// store fails; either way the local count is given back.
    pub async fn count_in<S: AttemptStore>(
        self,
        store: &'a S,
    ) -> Result<LoginAttempt<'a, S>, Refused> {
        let throttle = self.throttle;
        let account = store
            .reserve_attempt(
                AttemptKind::Account,
                &self.account_key,
                throttle.account_rule(),
            )
            .await;
        let account = match reserved(account) {
            Ok(account) => account,
            Err(refused) => {
                self.not_checked();
                return Err(refused);
            }
        };
        let address = store
            .reserve_attempt(
                AttemptKind::Address,
                &self.address_key,
                throttle.address_rule(),
            )
            .await;
        let address = match reserved(address) {
            Ok(address) => address,
            Err(refused) => {
                self.not_checked();
                give_back(store, account, false).await;
                return Err(refused);
            }
        };
        Ok(LoginAttempt {
            local: self,
            store,
            account,
            address,
        })
    }

    /// The attempt went no further (the hashing queue was full): it does not count.
    pub fn not_checked(self) {
        let throttle = self.throttle;
        throttle.account.release(self.account);
        throttle.address.release(self.address);
        throttle.pace.release(self.pace);
    }

    /// The right password: the address's places are given back, and the account's earlier
    /// failures are forgotten.
    fn succeeded(self) {
        let throttle = self.throttle;
        throttle.account.clear(&self.account_key);
        throttle.address.release(self.address);
        throttle.pace.release(self.pace);
    }
}

/// A reservation's outcome as "go ahead" or the refusal.
fn reserved(outcome: Result<Reservation, StoreError>) -> Result<Reserved, Refused> {
    match outcome {
        Ok(Reservation::Reserved(reserved)) => Ok(reserved),
        Ok(Reservation::Refused { wait }) => Err(Refused::Wait(wait)),
        Err(error) => Err(Refused::Store(error)),
    }
}

/// Gives a store reservation back (or, with `clear`, forgets its key), logging a failure:
/// the answer to the client is decided, and a count left behind only errs on the strict side.
async fn give_back<S: AttemptStore>(store: &S, attempt: Reserved, clear: bool) {
    let undone = if clear {
        store.clear_attempts(attempt).await
    } else {
        store.release_attempt(attempt).await
    };
    if let Err(error) = undone {
        tracing::warn!(%error, "a login attempt could not be given back; it counts until its window ends");
    }
}

impl<S: AttemptStore> LoginAttempt<'_, S> {
    /// A wrong password (or no such account): every count keeps it.
    pub fn failed(self) {}

    /// The right password: the address's attempts are given back, and the account's
    /// earlier failures are forgotten, here and in the store.
    pub async fn succeeded(self) {
        self.local.succeeded();
        give_back(self.store, self.account, true).await;
        give_back(self.store, self.address, false).await;
    }

    /// The password was never checked (the store failed, the hashing failed): nothing was
    /// learned, so nothing counts.
    pub async fn not_checked(self) {
        self.local.not_checked();
        give_back(self.store, self.account, false).await;
        give_back(self.store, self.address, false).await;
    }
}
