//! The smallest session store there is: a map in memory.
//!
//! It is the [`SessionStore`] trait's worked example (the whole contract in a page: keys are
//! id hashes, every read treats an expired session as missing, a touch never revives one),
//! and what the session layer's unit tests run on, with no socket, no file and no database.
//! The server itself never uses it: its sessions must outlive the process.
//!
//! ```
//! use bson::DateTime;
//! use bson::oid::ObjectId;
//! use groundup::session::manager::{self, Lookup, SessionPolicy};
//! use groundup::store::Identity;
//! use groundup::store::memory::MemorySessions;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = MemorySessions::default();
//! let policy = SessionPolicy::default();
//! let ada = Identity {
//!     id: ObjectId::new(),
//!     username: "ada".into(),
//!     email: None,
//!     created_at: DateTime::now(),
//! };
//! let (id, _) = manager::start(&store, &policy, ada).await.unwrap();
//! let cookie = id.cookie_value();
//! let found = manager::resolve(&store, &policy, Some(&cookie)).await.unwrap();
//! assert!(matches!(found, Lookup::Active(session) if session.record.user.username == "ada"));
//! # });
//! ```

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use bson::DateTime;
use bson::oid::ObjectId;

use super::{SessionRecord, SessionStore, StoreError};

/// Sessions by id hash, in memory.
#[derive(Debug, Default)]
pub struct MemorySessions {
    sessions: Mutex<HashMap<String, SessionRecord>>,
}

impl MemorySessions {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, SessionRecord>> {
        // Every operation leaves the map whole, so a panic elsewhere leaves it usable.
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SessionStore for MemorySessions {
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let mut sessions = self.lock();
        if sessions.contains_key(&record.id_hash) {
            return Err(StoreError::Duplicate {
                field: "id_hash".into(),
            });
        }
        sessions.insert(record.id_hash.clone(), record.clone());
        Ok(())
    }

    async fn load(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let now = DateTime::now();
        Ok(self
            .lock()
            .get(id_hash)
            .filter(|record| record.is_alive(now))
            .cloned())
    }

    async fn touch(&self, record: &SessionRecord) -> Result<bool, StoreError> {
        let now = DateTime::now();
        match self.lock().get_mut(&record.id_hash) {
            Some(stored) if stored.is_alive(now) => {
                stored.last_seen = record.last_seen;
                stored.idle_expires_at = record.idle_expires_at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete(&self, id_hash: &str) -> Result<bool, StoreError> {
        Ok(self.lock().remove(id_hash).is_some())
    }

    async fn delete_all_for_user(
        &self,
        user_id: ObjectId,
        except: Option<&str>,
    ) -> Result<u64, StoreError> {
        let mut sessions = self.lock();
        let before = sessions.len();
        sessions.retain(|hash, record| record.user.id != user_id || Some(hash.as_str()) == except);
        Ok(u64::try_from(before - sessions.len()).unwrap_or(u64::MAX))
    }

    async fn list_for_user(&self, user_id: ObjectId) -> Result<Vec<SessionRecord>, StoreError> {
        let now = DateTime::now();
        let mut listed: Vec<SessionRecord> = self
            .lock()
            .values()
            .filter(|record| record.user.id == user_id && record.is_alive(now))
            .cloned()
            .collect();
        listed.sort_by(|a, b| (a.created_at, &a.id_hash).cmp(&(b.created_at, &b.id_hash)));
        Ok(listed)
    }

    async fn delete_expired(&self, now: DateTime, at_most: usize) -> Result<u64, StoreError> {
        let mut sessions = self.lock();
        let mut expired: Vec<(DateTime, String)> = sessions
            .values()
            .filter(|record| !record.is_alive(now))
            .map(|record| (record.expires_at(), record.id_hash.clone()))
            .collect();
        expired.sort();
        expired.truncate(at_most);
        for (_, hash) in &expired {
            sessions.remove(hash);
        }
        Ok(u64::try_from(expired.len()).unwrap_or(u64::MAX))
    }
}
