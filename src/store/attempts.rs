//! Login attempts, counted where every server that shares the database sees them.
//!
//! The login throttle ([`crate::session::throttle`]) limits attempts per account and per
//! client address. Each server counts in its own memory first; but N servers that each
//! allow 5 guesses allow 5 × N, so where servers share a database, the count that decides
//! lives in it: [`AttemptStore`].
//!
//! - **MongoDB**: one document per key and window in the `login_attempts` collection,
//!   `{_id: "account:1970:ada", count: 3, expireAt: …}`, where `1970` is the number of the
//!   window since the epoch. Reserving is one atomic operation on the server, an upsert that
//!   matches only while `count` is below the limit:
//!
//!   ```text
//!   updateOne({_id: "account:1970:ada", count: {$lt: 5}},
//!             {$inc: {count: 1}, $setOnInsert: {expireAt: <end of window 1970>}},
//!             {upsert: true})
//!   ```
//!
//!   Below the limit it increments (or creates the document with count 1). At the limit the
//!   filter matches nothing, so the upsert tries to insert a second document with the same
//!   `_id`, and the unique `_id` index refuses it (duplicate key, 11000): that refusal *is*
//!   the answer "at the limit", given by the database to whichever server asked, with no
//!   read-then-write race between them. Windows are fixed (aligned to the epoch), so up to
//!   twice the limit can fall within one window's length across a boundary; the long-run
//!   rate is the limit. A TTL index on `expireAt` deletes old windows where the server has
//!   one; the [`sweep`](super::sweep) deletes them where it does not (FerretDB).
//! - **Embedded**: one process owns the file, so the count in that process's memory is the
//!   whole count, and the store has nothing to add: it reserves nothing, and always agrees.

use std::future::Future;
use std::time::Duration;

use bson::DateTime;

use super::StoreError;

/// What an attempt is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptKind {
    /// The account named in the login (its identifier, lowercased).
    Account,
    /// The client's address.
    Address,
}

impl AttemptKind {
    /// The prefix of this kind's keys: `account` or `address`.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptKind::Account => "account",
            AttemptKind::Address => "address",
        }
    }
}

/// A limit: at most `limit` attempts in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Attempts allowed.
    pub limit: usize,
    /// Over how long.
    pub window: Duration,
}

/// The outcome of asking for an attempt.
#[derive(Debug)]
pub enum Reservation {
    /// The attempt may go ahead, and counts from now.
    Reserved(Reserved),
    /// The key is at its limit: the next attempt may come after this long.
    Refused {
        /// At least a moment, at most the rule's window.
        wait: Duration,
    },
}

/// An attempt that counts against its key until it leaves the window, unless it is given
/// back ([`AttemptStore::release_attempt`]) or its key cleared.
#[derive(Debug)]
#[must_use = "an attempt counts until released; drop it only to keep it counted"]
pub struct Reserved(pub(super) Slot);

/// Where a reservation was made: what giving it back has to undo.
#[derive(Debug)]
pub(super) enum Slot {
    /// Nowhere: the store does not count (the embedded store; see the module docs).
    Uncounted,
    /// In a window document: its `_id`.
    Window(String),
}

/// Counting login attempts: the store half of the login throttle.
pub trait AttemptStore {
    /// Counts one attempt by `key` of `kind` under `rule`, or says how long until one may
    /// be made. Attempts in flight count like finished ones.
    fn reserve_attempt(
        &self,
        kind: AttemptKind,
        key: &str,
        rule: Rule,
    ) -> impl Future<Output = Result<Reservation, StoreError>> + Send;

    /// Gives one attempt back: it succeeded, or it never reached the password check.
    fn release_attempt(
        &self,
        attempt: Reserved,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets every attempt by the attempt's key in its window, this one included (the
    /// account, after a successful login).
    fn clear_attempts(
        &self,
        attempt: Reserved,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes up to `at_most` counts whose windows ended before `now`; how many it deleted.
    /// For the [`sweep`](super::sweep).
    fn delete_expired_attempts(
        &self,
        now: DateTime,
        at_most: usize,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
