//! The embedded store: everything in one `redb` file, with MongoDB's semantics.
//!
//! `redb` is a key-value store: ordered tables of byte keys to byte values, with ACID
//! transactions. This file builds the three collections on top of it:
//!
//! | table | key | value | role |
//! |---|---|---|---|
//! | `users` | `_id` (12 bytes) | BSON document | the collection |
//! | `users_by_username` | username | `_id` | unique index |
//! | `users_by_email` | email | `_id` | unique index (only users with an email) |
//! | `sessions` | id hash | BSON document | the collection (`_id` is the hash) |
//! | `sessions_by_user` | user `_id` | id hashes (multimap) | index for "log out everywhere" |
//! | `sessions_by_expiry` | (expiry in ms, id hash) | nothing | index for the sweep of expired sessions |
//! | `posts` | `_id` (12 bytes) | BSON document | the collection |
//! | `meta` | a name | a number | the file's format version (`format`) |
//!
//! A unique index is just a table checked and written in the same write transaction as the
//! document, so two concurrent registrations cannot both win: redb runs one write
//! transaction at a time.
//!
//! **Durability.** Every write transaction commits with [`Durability::Immediate`]: redb
//! flushes (fsync) before `commit` returns, and only then do we return to the caller. An
//! acknowledged write therefore survives `kill -9` or a power cut; `tests/store_durability.rs`
//! checks the first.
//!
//! **Where each call runs.** A write blocks on the disk: its commit is an fsync, which takes
//! milliseconds, so writes run on tokio's blocking thread pool (`spawn_blocking`) and the
//! async workers stay free for sockets. A point read (a user, a session, a post by key, a
//! user's handful of sessions) runs inline on the async worker instead. A redb read
//! transaction waits for no writer (it reads the last committed snapshot) and never syncs; it
//! reads a few pages that the operating system has cached, which takes microseconds. Handing
//! it to the blocking pool and back would cost two thread switches and wake-ups, several
//! times the read itself: a cookie-checked request makes three such reads, and with them on
//! the pool it spent most of its CPU time switching threads. `find` is not a point read (it
//! may walk the whole table), so it keeps its read transaction open on a blocking thread and
//! sends documents through a bounded channel (see [`PostCursor`]).
//!
//! **Expired sessions are deleted**, not only ignored: every read already treats them as
//! missing, but without deletion the table would grow with every login, forever. The
//! `sessions_by_expiry` index orders sessions by the moment they expire, so
//! [`SessionStore::delete_expired`] reads the expired ones off its front, a batch per write
//! transaction, however large the table; the [`sweep`](super::sweep) task calls it.
//!
//! **Format versions.** `meta` records which layout the file has: 1 (no `meta` table yet),
//! 2 (`sessions_by_expiry` added), 3 (each session carries a copy of its user, see
//! [`super::Identity`]). Opening an older file brings it up to date in the same
//! write transaction that creates the tables: sessions get their user copied in (a session
//! whose user is gone is deleted), the expiry index is built, the version recorded. A crash
//! midway leaves the old file, which the next open upgrades again. A file from a newer
//! groundup is refused rather than misread.
//!
//! **Sorting** needs to see every matching post before the first can be returned. The
//! reader keeps only `(sort key, _id)` pairs, never the documents, then fetches each
//! document by id as the consumer asks for it.

use std::borrow::Borrow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, RawDocument};
use redb::{
    Database, Durability, MultimapTableDefinition, ReadableDatabase, ReadableMultimapTable,
    ReadableTable, TableDefinition, WriteTransaction,
};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::attempts::{AttemptKind, AttemptStore, Reservation, Reserved, Rule, Slot};
use super::config::{POSTS, SESSIONS, USERS};
use super::cursor::{CHANNEL_DEPTH, PostCursor};
use super::models::to_document;
use super::query::{FindOptions, PostFilter, after_matches};
use super::record_cache::{Changed, Generation, RecordCache};
use super::{
    Identity, NewPost, NewUser, PostStore, SessionRecord, SessionStore, StoreError, Update,
    UpdateOutcome, User, UserStore, update_engine,
};

const USERS_TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new(USERS);
const USERS_BY_USERNAME: TableDefinition<&str, &[u8]> = TableDefinition::new("users_by_username");
const USERS_BY_EMAIL: TableDefinition<&str, &[u8]> = TableDefinition::new("users_by_email");
const SESSIONS_TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new(SESSIONS);
const SESSIONS_BY_USER: MultimapTableDefinition<&[u8], &str> =
    MultimapTableDefinition::new("sessions_by_user");
/// Sessions by the moment they expire (ms since the epoch), then id hash.
const SESSIONS_BY_EXPIRY: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("sessions_by_expiry");
const POSTS_TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new(POSTS);
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The layout this code reads and writes (see "Format versions").
const FORMAT_VERSION: u64 = 3;
/// The layout of a file that has no `meta` table: before `sessions_by_expiry`.
const FIRST_FORMAT: u64 = 1;

/// The embedded store. Cheap to clone: clones share one open database.
#[derive(Clone)]
pub struct EmbeddedStore {
    /// The open redb file, shared with the blocking threads that use it.
    db: Arc<Database>,
    /// The file's path, for [`describe`](Self::describe).
    path: PathBuf,
    /// Sessions and users already read (see [`RecordCache`]); every write that changes one
    /// tells it, from the thread that committed.
    cache: Arc<RecordCache>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Any redb failure is a backend failure: the disk, not the request, is at fault.
fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("embedded store: {e}"))
}

/// BSON bytes of a document.
fn encode(doc: &Document) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::new();
    doc.to_writer(&mut bytes).map_err(backend)?;
    Ok(bytes)
}

/// A document from BSON bytes.
fn decode(bytes: &[u8]) -> Result<Document, StoreError> {
    Document::from_reader(bytes).map_err(|e| StoreError::Decode(e.to_string()))
}

/// A typed record (a user, a session) straight from its BSON bytes. The raw deserializer
/// reads ids and dates in place; going through a [`Document`] first would build a map of the
/// fields and turn each date into extended JSON and parse it back, several times the work.
fn decode_record<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    bson::from_slice(bytes).map_err(|e| StoreError::Decode(e.to_string()))
}

/// Starts a write transaction that will be durable when committed.
fn begin_write(db: &Database) -> Result<WriteTransaction, StoreError> {
    let mut txn = db.begin_write().map_err(backend)?;
    txn.set_durability(Durability::Immediate).map_err(backend)?;
    Ok(txn)
}

impl EmbeddedStore {
    /// Opens (or creates) `<data_dir>/<database>.redb`, creating the directory and tables.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the directory or file cannot be created or opened, for
    /// instance because another process holds it.
    pub async fn open(data_dir: &Path, database: &str) -> Result<Self, StoreError> {
        let path = data_dir.join(format!("{database}.redb"));
        let dir = data_dir.to_path_buf();
        let file = path.clone();
        let db = tokio::task::spawn_blocking(move || -> Result<Database, StoreError> {
            std::fs::create_dir_all(&dir)
                .map_err(|e| backend(format!("creating {}: {e}", dir.display())))?;
            let db = Database::create(&file)
                .map_err(|e| backend(format!("opening {}: {e}", file.display())))?;
            // Create every table up front, so read transactions never meet a missing one,
            // and bring an older file up to this format, in the same transaction.
            let txn = begin_write(&db)?;
            let found = txn
                .open_table(META)
                .map_err(backend)?
                .get("format")
                .map_err(backend)?
                .map_or(FIRST_FORMAT, |version| version.value());
            if found > FORMAT_VERSION {
                return Err(backend(format!(
                    "{} has format {found}, newer than this groundup reads ({FORMAT_VERSION})",
                    file.display()
                )));
            }
            txn.open_table(USERS_TABLE).map_err(backend)?;
            txn.open_table(USERS_BY_USERNAME).map_err(backend)?;
            txn.open_table(USERS_BY_EMAIL).map_err(backend)?;
            txn.open_table(SESSIONS_TABLE).map_err(backend)?;
            txn.open_multimap_table(SESSIONS_BY_USER).map_err(backend)?;
            txn.open_table(SESSIONS_BY_EXPIRY).map_err(backend)?;
            txn.open_table(POSTS_TABLE).map_err(backend)?;
            if found < FORMAT_VERSION {
                if found < 3 {
                    copy_users_into_sessions(&txn)?;
                }
                if found < 2 {
                    index_session_expiry(&txn)?;
                }
                txn.open_table(META)
                    .map_err(backend)?
                    .insert("format", FORMAT_VERSION)
                    .map_err(backend)?;
                tracing::info!(
                    "{}: upgraded from format {found} to {FORMAT_VERSION}",
                    file.display()
                );
            }
            txn.commit().map_err(backend)?;
            Ok(db)
        })
        .await
        .map_err(backend)??;
        Ok(EmbeddedStore {
            db: Arc::new(db),
            path,
            cache: Arc::default(),
        })
    }

    /// One line for the start-up log.
    pub fn describe(&self) -> String {
        format!(
            "embedded store (redb) at {}, tables {USERS}, {SESSIONS}, {POSTS}",
            self.path.display()
        )
    }

    /// Runs a point read right here, on the calling worker (see "Where each call runs").
    fn read<T>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        work(&self.db)
    }

    /// A point read through the cache: `cached` if the cache had the answer, else `work` on
    /// the database, whose answer `remember` offers to the cache. The cache's generation is
    /// read before the read transaction begins, as [`RecordCache`] requires.
    fn read_through<T>(
        &self,
        cached: Option<T>,
        work: impl FnOnce(&Database) -> Result<T, StoreError>,
        remember: impl FnOnce(&RecordCache, Generation, &T),
    ) -> Result<T, StoreError> {
        if let Some(hit) = cached {
            return Ok(hit);
        }
        let seen = self.cache.generation();
        let read = self.read(work)?;
        remember(&self.cache, seen, &read);
        Ok(read)
    }

    /// Runs `work` with the database on the blocking thread pool.
    ///
    /// `work` also gets the cache, to tell it what it changed once its transaction has
    /// committed. That happens on the blocking thread, not after the `.await` here: a request
    /// dropped mid-write (its client gone) stops waiting, but the write still commits, and the
    /// cache must still hear of it.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database, &RecordCache) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = Arc::clone(&self.db);
        let cache = Arc::clone(&self.cache);
        tokio::task::spawn_blocking(move || work(&db, &cache))
            .await
            .map_err(backend)?
    }
}

/// Reads one typed record (a user, a session) by key.
fn get_record<'k, K: redb::Key + 'static, T: DeserializeOwned>(
    table: &impl ReadableTable<K, &'static [u8]>,
    key: impl Borrow<K::SelfType<'k>>,
) -> Result<Option<T>, StoreError> {
    match table.get(key).map_err(backend)? {
        Some(bytes) => decode_record(bytes.value()).map(Some),
        None => Ok(None),
    }
}

/// Reads one document from a table keyed by bytes.
fn get_doc(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<Document>, StoreError> {
    match table.get(key).map_err(backend)? {
        Some(bytes) => decode(bytes.value()).map(Some),
        None => Ok(None),
    }
}

impl UserStore for EmbeddedStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        let user = User {
            id: ObjectId::new(),
            username: user.username,
            email: user.email,
            password_hash: user.password_hash,
            created_at: DateTime::now(),
        };
        let stored = user.clone();
        self.blocking(move |db, _| {
            let bytes = encode(&to_document(&stored)?)?;
            let key = stored.id.bytes();
            let txn = begin_write(db)?;
            {
                let mut by_username = txn.open_table(USERS_BY_USERNAME).map_err(backend)?;
                if by_username
                    .get(stored.username.as_str())
                    .map_err(backend)?
                    .is_some()
                {
                    return Err(StoreError::Duplicate {
                        field: "username".into(),
                    });
                }
                let mut by_email = txn.open_table(USERS_BY_EMAIL).map_err(backend)?;
                if let Some(email) = &stored.email {
                    if by_email.get(email.as_str()).map_err(backend)?.is_some() {
                        return Err(StoreError::Duplicate {
                            field: "email".into(),
                        });
                    }
                    by_email
                        .insert(email.as_str(), key.as_slice())
                        .map_err(backend)?;
                }
                by_username
                    .insert(stored.username.as_str(), key.as_slice())
                    .map_err(backend)?;
                let mut users = txn.open_table(USERS_TABLE).map_err(backend)?;
                users
                    .insert(key.as_slice(), bytes.as_slice())
                    .map_err(backend)?;
            }
            // Returning early above drops `txn`, which aborts it: nothing was written.
            txn.commit().map_err(backend)
        })
        .await?;
        Ok(user)
    }

    async fn user_by_id(&self, id: ObjectId) -> Result<Option<User>, StoreError> {
        self.read_through(
            self.cache.user(id).map(Some),
            |db| {
                let txn = db.begin_read().map_err(backend)?;
                let users = txn.open_table(USERS_TABLE).map_err(backend)?;
                get_record(&users, id.bytes().as_slice())
            },
            |cache, seen, user: &Option<User>| {
                if let Some(user) = user {
                    cache.remember_user(seen, user);
                }
            },
        )
    }

    async fn identity_by_id(&self, id: ObjectId) -> Result<Option<Identity>, StoreError> {
        let user = self.user_by_id(id).await?;
        Ok(user.as_ref().map(User::identity))
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.read(|db| user_by_index(db, USERS_BY_USERNAME, username))
    }

    async fn user_by_identifier(&self, identifier: &str) -> Result<Option<User>, StoreError> {
        self.read(
            |db| match user_by_index(db, USERS_BY_USERNAME, identifier)? {
                Some(user) => Ok(Some(user)),
                None => user_by_index(db, USERS_BY_EMAIL, identifier),
            },
        )
    }

    async fn set_password_hash(
        &self,
        id: ObjectId,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        let password_hash = password_hash.to_string();
        self.blocking(move |db, cache| {
            let txn = begin_write(db)?;
            let found = {
                let mut users = txn.open_table(USERS_TABLE).map_err(backend)?;
                match get_doc(&users, &id.bytes())? {
                    Some(mut doc) => {
                        doc.insert("password_hash", password_hash);
                        users
                            .insert(id.bytes().as_slice(), encode(&doc)?.as_slice())
                            .map_err(backend)?;
                        true
                    }
                    None => false,
                }
            };
            txn.commit().map_err(backend)?;
            cache.forget(&Changed {
                user: Some(id),
                ..Changed::default()
            });
            Ok(found)
        })
        .await
    }
}

/// Looks a user up through one of the unique index tables.
fn user_by_index(
    db: &Database,
    index: TableDefinition<&str, &[u8]>,
    value: &str,
) -> Result<Option<User>, StoreError> {
    let txn = db.begin_read().map_err(backend)?;
    let index = txn.open_table(index).map_err(backend)?;
    let Some(id) = index.get(value).map_err(backend)? else {
        return Ok(None);
    };
    let users = txn.open_table(USERS_TABLE).map_err(backend)?;
    get_record(&users, id.value())
}

/// Reads a session record by id hash, alive or not.
fn get_session(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id_hash: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    get_record(table, id_hash)
}

/// The `sessions_by_expiry` key of a session.
fn expiry_key(record: &SessionRecord) -> (i64, &str) {
    (
        record.expires_at().timestamp_millis(),
        record.id_hash.as_str(),
    )
}

/// Builds `sessions_by_expiry` from the sessions table (format 1 → 2).
fn index_session_expiry(txn: &WriteTransaction) -> Result<(), StoreError> {
    let sessions = txn.open_table(SESSIONS_TABLE).map_err(backend)?;
    let mut by_expiry = txn.open_table(SESSIONS_BY_EXPIRY).map_err(backend)?;
    for entry in sessions.iter().map_err(backend)? {
        let (_, bytes) = entry.map_err(backend)?;
        let record: SessionRecord = decode_record(bytes.value())?;
        by_expiry.insert(expiry_key(&record), ()).map_err(backend)?;
    }
    Ok(())
}

/// Format 2 → 3: each session gets a copy of its user in place of the bare `user_id`; a
/// session whose user no longer exists is deleted, with its index entries.
fn copy_users_into_sessions(txn: &WriteTransaction) -> Result<(), StoreError> {
    let mut sessions = txn.open_table(SESSIONS_TABLE).map_err(backend)?;
    let users = txn.open_table(USERS_TABLE).map_err(backend)?;
    let mut rewritten = Vec::new();
    let mut orphans = Vec::new();
    for entry in sessions.iter().map_err(backend)? {
        let (hash, bytes) = entry.map_err(backend)?;
        let mut doc = decode(bytes.value())?;
        let Ok(user_id) = doc.get_object_id("user_id") else {
            continue; // already in the new shape
        };
        match get_record::<&[u8], User>(&users, user_id.bytes().as_slice())? {
            Some(user) => {
                doc.remove("user_id");
                doc.insert("user", to_document(&user.identity())?);
                rewritten.push((hash.value().to_owned(), encode(&doc)?));
            }
            None => {
                let expires = doc
                    .get_datetime("idle_expires_at")
                    .ok()
                    .zip(doc.get_datetime("absolute_expires_at").ok())
                    .map(|(idle, absolute)| (*idle).min(*absolute));
                orphans.push((hash.value().to_owned(), user_id, expires));
            }
        }
    }
    for (hash, bytes) in &rewritten {
        sessions
            .insert(hash.as_str(), bytes.as_slice())
            .map_err(backend)?;
    }
    let mut by_user = txn.open_multimap_table(SESSIONS_BY_USER).map_err(backend)?;
    let mut by_expiry = txn.open_table(SESSIONS_BY_EXPIRY).map_err(backend)?;
    for (hash, user_id, expires) in &orphans {
        sessions.remove(hash.as_str()).map_err(backend)?;
        by_user
            .remove(user_id.bytes().as_slice(), hash.as_str())
            .map_err(backend)?;
        if let Some(expires) = expires {
            by_expiry
                .remove((expires.timestamp_millis(), hash.as_str()))
                .map_err(backend)?;
        }
    }
    Ok(())
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

/// One process owns the file, so its memory's count is the whole count: nothing to add here
/// (see [`attempts`](super::attempts)).
impl AttemptStore for EmbeddedStore {
    async fn reserve_attempt(
        &self,
        _: AttemptKind,
        _: &str,
        _: Rule,
    ) -> Result<Reservation, StoreError> {
        Ok(Reservation::Reserved(Reserved(Slot::Uncounted)))
    }

    async fn release_attempt(&self, _: Reserved) -> Result<(), StoreError> {
        Ok(())
    }

    async fn clear_attempts(&self, _: Reserved) -> Result<(), StoreError> {
        Ok(())
    }

    async fn delete_expired_attempts(&self, _: DateTime, _: usize) -> Result<u64, StoreError> {
        Ok(0)
    }
}

impl PostStore for EmbeddedStore {
    async fn insert_one(&self, post: NewPost) -> Result<ObjectId, StoreError> {
        let mut ids = self.insert_many(vec![post]).await?;
        ids.pop()
            .ok_or_else(|| StoreError::Backend("insert_many returned no id for one post".into()))
    }

    async fn insert_many(&self, posts: Vec<NewPost>) -> Result<Vec<ObjectId>, StoreError> {
        // Build and check every document before writing any: one bad post fails the call.
        let mut docs = Vec::with_capacity(posts.len());
        for post in posts {
            let id = ObjectId::new();
            docs.push((id, encode(&post.into_document(id)?)?));
        }
        self.blocking(move |db, _| {
            let txn = begin_write(db)?;
            {
                let mut table = txn.open_table(POSTS_TABLE).map_err(backend)?;
                for (id, bytes) in &docs {
                    table
                        .insert(id.bytes().as_slice(), bytes.as_slice())
                        .map_err(backend)?;
                }
            }
            txn.commit().map_err(backend)?;
            Ok(docs.into_iter().map(|(id, _)| id).collect())
        })
        .await
    }

    async fn find_one(&self, id: ObjectId) -> Result<Option<Document>, StoreError> {
        self.read(|db| {
            let txn = db.begin_read().map_err(backend)?;
            let posts = txn.open_table(POSTS_TABLE).map_err(backend)?;
            get_doc(&posts, &id.bytes())
        })
    }

    async fn find(
        &self,
        filter: PostFilter,
        options: FindOptions,
    ) -> Result<PostCursor, StoreError> {
        let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
        let db = Arc::clone(&self.db);
        // The first message is the plan's outcome: an error for a bad `after`, else the
        // documents follow. Waiting for it lets `find` itself return that error.
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        tokio::task::spawn_blocking(move || {
            stream_posts(&db, &filter, &options, ready_tx, &sender)
        });
        ready_rx
            .await
            .map_err(|_| StoreError::Backend("embedded reader stopped before starting".into()))??;
        Ok(PostCursor::embedded(receiver))
    }

    async fn update_one(
        &self,
        id: ObjectId,
        update: &Update,
        upsert: bool,
    ) -> Result<UpdateOutcome, StoreError> {
        update.validate()?;
        let update = update.clone();
        self.blocking(move |db, _| {
            let txn = begin_write(db)?;
            let outcome = {
                let mut posts = txn.open_table(POSTS_TABLE).map_err(backend)?;
                let now = DateTime::now();
                let (mut doc, inserting) = match get_doc(&posts, &id.bytes())? {
                    Some(doc) => (doc, false),
                    None if upsert => (bson::doc! { "_id": id }, true),
                    None => {
                        return Ok(UpdateOutcome {
                            matched: 0,
                            modified: 0,
                            upserted_id: None,
                        });
                    }
                };
                let modified = update_engine::apply(&mut doc, &update, inserting, now)?;
                if modified || inserting {
                    posts
                        .insert(id.bytes().as_slice(), encode(&doc)?.as_slice())
                        .map_err(backend)?;
                }
                if inserting {
                    UpdateOutcome {
                        matched: 0,
                        modified: 0,
                        upserted_id: Some(id),
                    }
                } else {
                    UpdateOutcome {
                        matched: 1,
                        modified: u64::from(modified),
                        upserted_id: None,
                    }
                }
            };
            txn.commit().map_err(backend)?;
            Ok(outcome)
        })
        .await
    }

    async fn delete_one(&self, id: ObjectId) -> Result<u64, StoreError> {
        self.blocking(move |db, _| {
            let txn = begin_write(db)?;
            let deleted = {
                let mut posts = txn.open_table(POSTS_TABLE).map_err(backend)?;
                u64::from(
                    posts
                        .remove(id.bytes().as_slice())
                        .map_err(backend)?
                        .is_some(),
                )
            };
            txn.commit().map_err(backend)?;
            Ok(deleted)
        })
        .await
    }
}

/// The sort key of a post, read from its stored bytes: the sorted field's value, or null
/// when missing (MongoDB sorts a missing field as null).
fn sort_key(doc: &RawDocument, field: &str) -> Result<Bson, StoreError> {
    let decode_error = |e: bson::raw::Error| StoreError::Decode(e.to_string());
    match doc.get(field).map_err(decode_error)? {
        Some(value) => Bson::try_from(value).map_err(decode_error),
        None => Ok(Bson::Null),
    }
}

/// What the reader decided to send: the snapshot's posts table and the ids, in order.
type Plan = (
    redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    Vec<ObjectId>,
);

/// The reader behind an embedded [`PostCursor`], run on a blocking thread.
///
/// 1. Scan the posts, keeping `(sort key, _id)` of those that match the filter and come
///    after the `after` anchor. The scan reads each post's bytes in place, decoding nothing
///    but the sort key; only the posts sent are decoded whole.
/// 2. Sort those pairs, apply skip and limit.
/// 3. Fetch each document by id and send it; stop early if the cursor was dropped.
///
/// Everything happens in one read transaction, so the results are one consistent snapshot,
/// whatever is written meanwhile.
fn stream_posts(
    db: &Database,
    filter: &PostFilter,
    options: &FindOptions,
    ready: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
    sender: &mpsc::Sender<Result<Document, StoreError>>,
) {
    let plan = || -> Result<Plan, StoreError> {
        let txn = db.begin_read().map_err(backend)?;
        let posts = txn.open_table(POSTS_TABLE).map_err(backend)?;
        let field = options.sort.field();
        let anchor = match options.after {
            Some(after) => {
                let doc =
                    get_doc(&posts, &after.bytes())?.ok_or_else(|| StoreError::InvalidQuery {
                        reason: format!("`after` names post {after}, which does not exist"),
                    })?;
                let key = doc
                    .get(field)
                    .cloned()
                    .ok_or_else(|| StoreError::InvalidQuery {
                        reason: format!("`after` post {after} has no `{field}` to page by"),
                    })?;
                Some((key, after))
            }
            None => None,
        };
        let mut keys: Vec<(Bson, ObjectId)> = Vec::new();
        for entry in posts.iter().map_err(backend)? {
            let (id, bytes) = entry.map_err(backend)?;
            let doc = RawDocument::from_bytes(bytes.value())
                .map_err(|e| StoreError::Decode(e.to_string()))?;
            if !filter.matches(doc) {
                continue;
            }
            let Ok(id_bytes) = <[u8; 12]>::try_from(id.value()) else {
                return Err(StoreError::Decode("a post key is not 12 bytes".into()));
            };
            let key = sort_key(doc, field)?;
            let id = ObjectId::from_bytes(id_bytes);
            if let Some((anchor_key, anchor_id)) = &anchor
                && !after_matches(options.sort, (anchor_key, anchor_id), (&key, &id))
            {
                continue;
            }
            keys.push((key, id));
        }
        let skip = usize::try_from(options.skip.unwrap_or(0)).unwrap_or(usize::MAX);
        let limit = options
            .limit
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let order = |a: &(Bson, ObjectId), b: &(Bson, ObjectId)| {
            options.sort.order((&a.0, &a.1), (&b.0, &b.1))
        };
        // A page needs only its first `skip + limit` keys in order. Selecting them first
        // (linear time) and sorting just those costs far less than sorting every match when
        // a page of 100 is wanted from thousands.
        let wanted = skip.saturating_add(limit);
        if wanted < keys.len() {
            keys.select_nth_unstable_by(wanted, order);
            keys.truncate(wanted);
        }
        keys.sort_by(order);
        let ids = keys
            .into_iter()
            .skip(skip)
            .take(limit)
            .map(|(_, id)| id)
            .collect();
        Ok((posts, ids))
    };
    let (posts, ids) = match plan() {
        Ok(planned) => {
            // A closed receiver means `find` was cancelled; nobody wants the documents.
            if ready.send(Ok(())).is_err() {
                return;
            }
            planned
        }
        Err(e) => {
            // `find` reports this error itself; if it was cancelled, there is no one to tell.
            let _ = ready.send(Err(e));
            return;
        }
    };
    for id in ids {
        // A post deleted after the snapshot is still in it: the read transaction is stable.
        let item = get_doc(&posts, &id.bytes()).and_then(|doc| {
            doc.ok_or_else(|| StoreError::Backend(format!("post {id} vanished from a snapshot")))
        });
        let failed = item.is_err();
        if sender.blocking_send(item).is_err() || failed {
            return;
        }
    }
}
