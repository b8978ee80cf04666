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
//! | `posts_by_created`, `_by_author`, `_by_tag`, `_by_title`, `posts_unindexed` | see `post_index.rs` | nothing | the lists' orders |
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
//! the pool it spent most of its CPU time switching threads. A list is a run of such reads:
//! its cursor keeps one read transaction open and reads the next post off an index each
//! time it is polled (`find.rs`), so the worker is held for one read at a time. Reading
//! the list on a blocking thread instead, and handing the posts over in batches, cost two
//! thread switches per batch: a quarter of a 100-post page's CPU time (161 µs against 121
//! when it was measured).
//!
//! **Expired sessions are deleted**, not only ignored: every read already treats them as
//! missing, but without deletion the table would grow with every login, forever. The
//! `sessions_by_expiry` index orders sessions by the moment they expire, so
//! [`SessionStore::delete_expired`](crate::store::SessionStore::delete_expired) reads the expired ones off its front, a batch per write
//! transaction, however large the table; the [`sweep`](super::sweep) task calls it.
//!
//! **Format versions.** `meta` records which layout the file has; an older file is brought
//! up to date when opened ([`format`]).
//!
//! **Lists** are read off an index in the order asked for, so a page costs what it returns,
//! not what the collection holds (`find.rs`).

//!
//! The code, by what it serves: `format.rs` (the tables and their versions), `users.rs`,
//! `sessions.rs`, `posts.rs` (with `post_index.rs`, the posts' indexes; and `find.rs`, a list read through
//! them), and `record_cache.rs` (the reads a signed-in request repeats, answered from
//! memory). How a query reads, on MongoDB and here side by side, is in
//! `store/query.rs`.

mod find;
mod format;
mod post_index;
mod posts;
mod record_cache;
mod sessions;
mod users;

use std::borrow::Borrow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bson::{DateTime, Document};
use redb::{Database, Durability, ReadableTable, WriteTransaction};
use serde::de::DeserializeOwned;

use super::StoreError;
use super::attempts::{AttemptKind, AttemptStore, Reservation, Reserved, Rule, Slot};
use super::config::{POSTS, SESSIONS, USERS};
use super::update_engine::StampClock;
use record_cache::{Generation, RecordCache};

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
    /// The stamps `$currentDate {$type: "timestamp"}` writes, ordered within a second.
    stamps: Arc<StampClock>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Any redb failure is a backend failure: the disk, not the request, is at fault.
pub(super) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("embedded store: {e}"))
}

/// BSON bytes of a document.
pub(super) fn encode(doc: &Document) -> Result<Vec<u8>, StoreError> {
    let mut bytes = Vec::new();
    doc.to_writer(&mut bytes).map_err(backend)?;
    Ok(bytes)
}

/// A document from BSON bytes.
pub(super) fn decode(bytes: &[u8]) -> Result<Document, StoreError> {
    Document::from_reader(bytes).map_err(|e| StoreError::Decode(e.to_string()))
}

/// A typed record (a user, a session) straight from its BSON bytes. The raw deserializer
/// reads ids and dates in place; going through a [`Document`] first would build a map of the
/// fields and turn each date into extended JSON and parse it back, several times the work.
pub(super) fn decode_record<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    bson::from_slice(bytes).map_err(|e| StoreError::Decode(e.to_string()))
}

/// Starts a write transaction that will be durable when committed.
pub(super) fn begin_write(db: &Database) -> Result<WriteTransaction, StoreError> {
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
            format::prepare(&db, &file)?;
            Ok(db)
        })
        .await
        .map_err(backend)??;
        Ok(EmbeddedStore {
            db: Arc::new(db),
            path,
            cache: Arc::default(),
            stamps: Arc::default(),
        })
    }

    /// One line for the start-up log.
    pub fn describe(&self) -> String {
        format!(
            "embedded store (redb) at {}, tables {USERS}, {SESSIONS}, {POSTS}",
            self.path.display()
        )
    }

    /// A point read through the cache: `cached` if the cache had the answer, else `work` on
    /// the database, whose answer `remember` offers to the cache. The cache's generation is
    /// read before the read transaction begins, as [`RecordCache`] requires.
    pub(super) fn read_through<T>(
        &self,
        cached: Option<T>,
        work: impl FnOnce(&Database) -> Result<T, StoreError>,
        remember: impl FnOnce(&RecordCache, Generation, &T),
    ) -> Result<T, StoreError> {
        if let Some(hit) = cached {
            return Ok(hit);
        }
        let seen = self.cache.generation();
        let read = work(&self.db)?;
        remember(&self.cache, seen, &read);
        Ok(read)
    }

    /// Runs `work` with the database on the blocking thread pool.
    ///
    /// `work` also gets the cache, to tell it what it changed once its transaction has
    /// committed. That happens on the blocking thread, not after the `.await` here: a request
    /// dropped mid-write (its client gone) stops waiting, but the write still commits, and the
    /// cache must still hear of it.
    pub(super) async fn blocking<T: Send + 'static>(
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
pub(super) fn get_record<'k, K: redb::Key + 'static, T: DeserializeOwned>(
    table: &impl ReadableTable<K, &'static [u8]>,
    key: impl Borrow<K::SelfType<'k>>,
) -> Result<Option<T>, StoreError> {
    match table.get(key).map_err(backend)? {
        Some(bytes) => decode_record(bytes.value()).map(Some),
        None => Ok(None),
    }
}

/// Reads one document from a table keyed by bytes.
pub(super) fn get_doc(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<Document>, StoreError> {
    match table.get(key).map_err(backend)? {
        Some(bytes) => decode(bytes.value()).map(Some),
        None => Ok(None),
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
