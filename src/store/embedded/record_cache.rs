//! The embedded store's memory of the records every signed-in request reads.
//!
//! A cookie-checked request reads three things: the session its cookie names, that session's
//! user, and (for `GET /api/me`) the user's other sessions. Read from redb, each is a read
//! transaction and a BSON decode, which together cost more than the rest of the request. The
//! records change seldom (a login, a logout, the idle expiry sliding once a minute), so the
//! embedded store keeps the ones it has read in memory and answers the next read from there.
//!
//! **Why the cache is never stale.** redb locks its file, so this process is the only writer,
//! and every write goes through [`EmbeddedStore`](super::EmbeddedStore), which tells
//! the cache which records it changed, after committing. The one race left is a reader that
//! read the database just before a write committed and puts the old record into the cache just
//! after the write cleared it. A generation number closes it: a reader notes the generation
//! before its read transaction begins, every write advances it when it clears, and a record is
//! remembered only if the generation has not moved in between. A reader that loses the race
//! still returns what its snapshot held, exactly as an uncached read that began a moment
//! earlier would.
//!
//! The MongoDB backend has no such cache: other processes may write to the same database, and
//! no write of theirs would reach this one's memory.
//!
//! **What it keeps.** Only records that exist: a miss is not remembered, so ids a client makes
//! up cannot fill memory. Expiry is not decided here: a cached session is checked against the
//! clock on every read, like one read from disk. Each map holds at most [`CAPACITY`] entries;
//! a full map is emptied and fills again from reads, which keeps the bound without the
//! bookkeeping of an LRU.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};

use bson::oid::ObjectId;

use crate::store::{SessionRecord, User};

/// The most entries any one map holds.
pub const CAPACITY: usize = 16_384;

/// The cache. Reads clone a record out under a short lock, never across an `.await`.
#[derive(Default)]
pub struct RecordCache {
    inner: Mutex<Maps>,
}

/// The generation a reader saw before it read the database (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Generation(u64);

#[derive(Default)]
struct Maps {
    generation: u64,
    /// Sessions by the sha256 of their id, alive or not.
    sessions: HashMap<String, SessionRecord>,
    users: HashMap<ObjectId, User>,
    /// Every session of a user that was alive when read, in `list_for_user` order.
    user_sessions: HashMap<ObjectId, Vec<SessionRecord>>,
}

/// What a committed write changed, for [`RecordCache::forget`].
#[derive(Debug, Default)]
pub struct Changed<'a> {
    /// Sessions written or deleted, by id hash.
    pub sessions: &'a [&'a str],
    /// Users whose record was written.
    pub user: Option<ObjectId>,
    /// Users one of whose sessions was created, written or deleted.
    pub sessions_of: &'a [ObjectId],
}

impl RecordCache {
    fn lock(&self) -> MutexGuard<'_, Maps> {
        // The maps are consistent between statements, so a panic elsewhere leaves them usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The generation to hand back to a `remember_*` call after reading the database.
    pub fn generation(&self) -> Generation {
        Generation(self.lock().generation)
    }

    /// A session by id hash, alive or not.
    pub fn session(&self, id_hash: &str) -> Option<SessionRecord> {
        self.lock().sessions.get(id_hash).cloned()
    }

    /// A user by id.
    pub fn user(&self, id: ObjectId) -> Option<User> {
        self.lock().users.get(&id).cloned()
    }

    /// A user's sessions as last listed.
    pub fn user_sessions(&self, user_id: ObjectId) -> Option<Vec<SessionRecord>> {
        self.lock().user_sessions.get(&user_id).cloned()
    }

    /// Keeps a session read from the database while the cache was at `seen`.
    pub fn remember_session(&self, seen: Generation, record: &SessionRecord) {
        let mut maps = self.lock();
        if maps.generation == seen.0 {
            insert(&mut maps.sessions, record.id_hash.clone(), record.clone());
        }
    }

    /// Keeps a user read from the database while the cache was at `seen`.
    pub fn remember_user(&self, seen: Generation, user: &User) {
        let mut maps = self.lock();
        if maps.generation == seen.0 {
            insert(&mut maps.users, user.id, user.clone());
        }
    }

    /// Keeps a user's session list read from the database while the cache was at `seen`.
    pub fn remember_user_sessions(
        &self,
        seen: Generation,
        user_id: ObjectId,
        list: &[SessionRecord],
    ) {
        let mut maps = self.lock();
        if maps.generation == seen.0 {
            insert(&mut maps.user_sessions, user_id, list.to_vec());
        }
    }

    /// Called after a write has committed: drops what it changed and moves the generation on,
    /// so that no read that began before the commit is remembered.
    pub fn forget(&self, changed: &Changed<'_>) {
        let mut maps = self.lock();
        maps.generation += 1;
        for id_hash in changed.sessions {
            maps.sessions.remove(*id_hash);
        }
        if let Some(id) = changed.user {
            maps.users.remove(&id);
        }
        for id in changed.sessions_of {
            maps.user_sessions.remove(id);
        }
    }
}

/// Inserts into a map that is emptied first when full.
fn insert<K: Eq + Hash, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= CAPACITY && !map.contains_key(&key) {
        map.clear();
    }
    map.insert(key, value);
}

#[cfg(test)]
mod tests {
    use bson::DateTime;

    use super::*;

    fn session(id_hash: &str, user_id: ObjectId) -> SessionRecord {
        let now = DateTime::now();
        SessionRecord {
            id_hash: id_hash.to_string(),
            user: crate::store::Identity {
                id: user_id,
                username: "u".into(),
                email: None,
                created_at: now,
            },
            csrf_token: "t".into(),
            created_at: now,
            last_seen: now,
            idle_expires_at: now,
            absolute_expires_at: now,
        }
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_remembered() {
        let cache = RecordCache::default();
        let user = ObjectId::new();
        let seen = cache.generation();
        // A write commits and clears between the reader's read and its remember.
        cache.forget(&Changed {
            sessions: &["a"],
            ..Changed::default()
        });
        cache.remember_session(seen, &session("a", user));
        assert_eq!(cache.session("a"), None);
        // A read that began after the write is remembered.
        let seen = cache.generation();
        cache.remember_session(seen, &session("a", user));
        assert_eq!(cache.session("a").map(|s| s.id_hash), Some("a".into()));
    }

    #[test]
    fn forget_drops_exactly_what_changed() {
        let cache = RecordCache::default();
        let (alice, bob) = (ObjectId::new(), ObjectId::new());
        let seen = cache.generation();
        cache.remember_session(seen, &session("a", alice));
        cache.remember_session(seen, &session("b", bob));
        cache.remember_user_sessions(seen, alice, &[session("a", alice)]);
        cache.remember_user_sessions(seen, bob, &[session("b", bob)]);
        cache.forget(&Changed {
            sessions: &["a"],
            sessions_of: &[alice],
            ..Changed::default()
        });
        assert_eq!(cache.session("a"), None);
        assert_eq!(cache.user_sessions(alice), None);
        assert!(cache.session("b").is_some());
        assert_eq!(cache.user_sessions(bob).map(|list| list.len()), Some(1));
    }

    #[test]
    fn a_full_map_starts_over_instead_of_growing() {
        let cache = RecordCache::default();
        let user = ObjectId::new();
        let seen = cache.generation();
        for n in 0..=CAPACITY {
            cache.remember_session(seen, &session(&n.to_string(), user));
        }
        let maps = cache.lock();
        assert_eq!(
            maps.sessions.len(),
            1,
            "emptied at the cap, then the last one added"
        );
        assert!(maps.sessions.contains_key(&CAPACITY.to_string()));
    }
}
