//! Sessions in the embedded store: a table by id hash, an index by user (for "log out
//! everywhere") and one by expiry (for the sweep), all three written in each write
//! transaction that changes a session.

use bson::DateTime;
use bson::oid::ObjectId;
use redb::{ReadableDatabase, ReadableMultimapTable, ReadableTable, WriteTransaction};

use super::format::{SESSIONS_BY_EXPIRY, SESSIONS_BY_USER, SESSIONS_TABLE, expiry_key};
use super::record_cache::Changed;
use super::{EmbeddedStore, backend, begin_write, decode_record, encode, get_record};
use crate::store::models::to_document;
use crate::store::{SessionRecord, SessionStore, StoreError};

/// Reads a session record by id hash, alive or not.
fn get_session(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id_hash: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    get_record(table, id_hash)
}

/// Removes a session from the table and both of its indexes; the removed record, if there
/// was one.
fn remove_session(
    txn: &WriteTransaction,
    id_hash: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    let mut sessions = txn.open_table(SESSIONS_TABLE).map_err(backend)?;
    let Some(removed) = sessions.remove(id_hash).map_err(backend)? else {
        return Ok(None);
    };
    let record: SessionRecord = decode_record(removed.value())?;
    drop(removed);
    let mut by_user = txn.open_multimap_table(SESSIONS_BY_USER).map_err(backend)?;
    by_user
        .remove(record.user.id.bytes().as_slice(), id_hash)
        .map_err(backend)?;
    let mut by_expiry = txn.open_table(SESSIONS_BY_EXPIRY).map_err(backend)?;
    by_expiry.remove(expiry_key(&record)).map_err(backend)?;
    Ok(Some(record))
}

impl SessionStore for EmbeddedStore {
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.blocking(move |db, cache| {
            let bytes = encode(&to_document(&record)?)?;
            let txn = begin_write(db)?;
            {
                let mut sessions = txn.open_table(SESSIONS_TABLE).map_err(backend)?;
                if sessions
                    .get(record.id_hash.as_str())
                    .map_err(backend)?
                    .is_some()
                {
                    return Err(StoreError::Duplicate {
                        field: "id_hash".into(),
                    });
                }
                sessions
                    .insert(record.id_hash.as_str(), bytes.as_slice())
                    .map_err(backend)?;
                let mut by_user = txn.open_multimap_table(SESSIONS_BY_USER).map_err(backend)?;
                by_user
                    .insert(record.user.id.bytes().as_slice(), record.id_hash.as_str())
                    .map_err(backend)?;
                let mut by_expiry = txn.open_table(SESSIONS_BY_EXPIRY).map_err(backend)?;
                by_expiry.insert(expiry_key(&record), ()).map_err(backend)?;
            }
            txn.commit().map_err(backend)?;
            cache.forget(&Changed {
                sessions: &[&record.id_hash],
                sessions_of: &[record.user.id],
                ..Changed::default()
            });
            Ok(())
        })
        .await
    }

    async fn load(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let record = self.read_through(
            self.cache.session(id_hash).map(Some),
            |db| {
                let txn = db.begin_read().map_err(backend)?;
                let sessions = txn.open_table(SESSIONS_TABLE).map_err(backend)?;
                get_session(&sessions, id_hash)
            },
            |cache, seen, record| {
                if let Some(record) = record {
                    cache.remember_session(seen, record);
                }
            },
        )?;
        let now = DateTime::now();
        Ok(record.filter(|record| record.is_alive(now)))
    }

    async fn touch(&self, record: &SessionRecord) -> Result<bool, StoreError> {
        let update = record.clone();
        self.blocking(move |db, cache| {
            let txn = begin_write(db)?;
            let touched = {
                let mut sessions = txn.open_table(SESSIONS_TABLE).map_err(backend)?;
                match get_session(&sessions, &update.id_hash)? {
                    Some(mut stored) if stored.is_alive(DateTime::now()) => {
                        let mut by_expiry = txn.open_table(SESSIONS_BY_EXPIRY).map_err(backend)?;
                        by_expiry.remove(expiry_key(&stored)).map_err(backend)?;
                        stored.last_seen = update.last_seen;
                        stored.idle_expires_at = update.idle_expires_at;
                        by_expiry.insert(expiry_key(&stored), ()).map_err(backend)?;
                        let bytes = encode(&to_document(&stored)?)?;
                        sessions
                            .insert(stored.id_hash.as_str(), bytes.as_slice())
                            .map_err(backend)?;
                        true
                    }
                    _ => false,
                }
            };
            txn.commit().map_err(backend)?;
            cache.forget(&Changed {
                sessions: &[&update.id_hash],
                sessions_of: &[update.user.id],
                ..Changed::default()
            });
            Ok(touched)
        })
        .await
    }

    async fn delete(&self, id_hash: &str) -> Result<bool, StoreError> {
        let id_hash = id_hash.to_string();
        self.blocking(move |db, cache| {
            let txn = begin_write(db)?;
            // The user whose session this was, if there was one.
            let owner = remove_session(&txn, &id_hash)?.map(|record| record.user.id);
            txn.commit().map_err(backend)?;
            cache.forget(&Changed {
                sessions: &[&id_hash],
                sessions_of: owner.as_slice(),
                ..Changed::default()
            });
            Ok(owner.is_some())
        })
        .await
    }

    async fn delete_all_for_user(
        &self,
        user_id: ObjectId,
        except: Option<&str>,
    ) -> Result<u64, StoreError> {
        let except = except.map(str::to_string);
        self.blocking(move |db, cache| {
            let txn = begin_write(db)?;
            let mut deleted = 0;
            // Collect first: the index cannot change while we iterate over it.
            let mut hashes = Vec::new();
            {
                let by_user = txn.open_multimap_table(SESSIONS_BY_USER).map_err(backend)?;
                for hash in by_user.get(user_id.bytes().as_slice()).map_err(backend)? {
                    hashes.push(hash.map_err(backend)?.value().to_string());
                }
            }
            for hash in hashes
                .iter()
                .filter(|h| Some(h.as_str()) != except.as_deref())
            {
                // Expired records count too: "delete all" means all that exist.
                if remove_session(&txn, hash)?.is_some() {
                    deleted += 1;
                }
            }
            txn.commit().map_err(backend)?;
            let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
            cache.forget(&Changed {
                sessions: &hashes,
                sessions_of: &[user_id],
                ..Changed::default()
            });
            Ok(deleted)
        })
        .await
    }

    async fn list_for_user(&self, user_id: ObjectId) -> Result<Vec<SessionRecord>, StoreError> {
        let now = DateTime::now();
        let mut listed = self.read_through(
            self.cache.user_sessions(user_id),
            |db| {
                let txn = db.begin_read().map_err(backend)?;
                let by_user = txn.open_multimap_table(SESSIONS_BY_USER).map_err(backend)?;
                let sessions = txn.open_table(SESSIONS_TABLE).map_err(backend)?;
                let mut live = Vec::new();
                for hash in by_user.get(user_id.bytes().as_slice()).map_err(backend)? {
                    let hash = hash.map_err(backend)?;
                    if let Some(record) = get_session(&sessions, hash.value())?
                        && record.is_alive(now)
                    {
                        live.push(record);
                    }
                }
                // The same order as the MongoDB backend's sort {created_at: 1, _id: 1}.
                live.sort_by(|a, b| (a.created_at, &a.id_hash).cmp(&(b.created_at, &b.id_hash)));
                Ok(live)
            },
            |cache, seen, listed| cache.remember_user_sessions(seen, user_id, listed),
        )?;
        // A remembered list may hold sessions that have expired since.
        listed.retain(|record| record.is_alive(now));
        Ok(listed)
    }

    async fn delete_expired(&self, now: DateTime, at_most: usize) -> Result<u64, StoreError> {
        self.blocking(move |db, cache| {
            let txn = begin_write(db)?;
            // Expired means `expires_at <= now`: every key before (now + 1 ms, "").
            let cutoff = (now.timestamp_millis().saturating_add(1), "");
            let mut expired = Vec::new();
            {
                let by_expiry = txn.open_table(SESSIONS_BY_EXPIRY).map_err(backend)?;
                for entry in by_expiry.range(..cutoff).map_err(backend)?.take(at_most) {
                    let (key, _) = entry.map_err(backend)?;
                    expired.push(key.value().1.to_string());
                }
            }
            let mut owners = Vec::new();
            for hash in &expired {
                if let Some(record) = remove_session(&txn, hash)? {
                    owners.push(record.user.id);
                }
            }
            txn.commit().map_err(backend)?;
            let hashes: Vec<&str> = expired.iter().map(String::as_str).collect();
            cache.forget(&Changed {
                sessions: &hashes,
                sessions_of: &owners,
                ..Changed::default()
            });
            Ok(u64::try_from(expired.len()).unwrap_or(u64::MAX))
        })
        .await
    }
}
