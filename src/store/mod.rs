//! The database seam: users, sessions and posts, in MongoDB or in an embedded file.
//!
//! # MongoDB in one paragraph
//!
//! A MongoDB *cluster* (one server, or a replica set) holds *databases*; a database holds
//! *collections*; a collection holds *documents*. A document is an ordered set of named
//! fields whose values may be numbers, strings, dates, arrays or documents again, stored as
//! BSON (binary JSON). Every document has a unique `_id`. There is no schema: two documents
//! in one collection may have different fields, which is why the update operators below can
//! add, rename and remove fields. This store uses one database (`GROUNDUP_DB`, default
//! `groundup`) with three collections: `users`, `sessions` and `posts`.
//!
//! # The seed's operations, and where they live here
//!
//! | `pymongo` in the notes | here |
//! |---|---|
//! | `MongoClient(os.environ["MONGO_CLIENT_URL"])` | [`StoreConfig::from_env`] then [`open`] |
//! | `client["groundup"]["posts"]` | the `posts` collection, behind [`PostStore`] |
//! | `posts.insert_one(doc)` | [`PostStore::insert_one`] |
//! | `posts.insert_many([a, b])` (ordered) | [`PostStore::insert_many`] |
//! | `posts.find_one({"_id": id})` | [`PostStore::find_one`] |
//! | `for p in posts.find({})` | [`PostStore::find`] with `PostFilter::default()`, then [`PostCursor::next`] in a loop |
//! | `posts.find({"author": a}).sort(...).skip(n).limit(m)` | [`PostFilter`] and [`FindOptions`] |
//! | `posts.update_one({"_id": id}, {"$inc": {"likes": 1}}, upsert=True)` | [`PostStore::update_one`] with an [`Update`] |
//! | `posts.delete_one({"_id": id})` | [`PostStore::delete_one`] |
//!
//! The nine update operators (`$currentDate $inc $min $max $mul $rename $set $setOnInsert
//! $unset`) are described in [`update`] (what is accepted) and `update_engine.rs` (what each
//! does to a document).
//!
//! # Two backends, one behaviour
//!
//! - [`mongo::MongoStore`] talks to a real MongoDB (or a compatible server such as FerretDB)
//!   through the official `mongodb` driver.
//! - [`embedded::EmbeddedStore`] keeps everything in one `redb` file, so `groundup` runs
//!   with nothing installed. It re-implements the query and update semantics in Rust.
//!
//! `tests/store_conformance.rs` runs every case against both and expects the same documents
//! and the same errors.
//!
//! # The seam: four traits, one enum
//!
//! [`UserStore`], [`SessionStore`], [`PostStore`] and [`attempts::AttemptStore`] say what a
//! store does, each in a few verbs. Code that needs only a part of a store is written against
//! its trait: the session manager (`SessionStore`), the login throttle (`AttemptStore`), the
//! [`sweep`] (both). [`memory::MemorySessions`] is the `SessionStore` contract in a page, and
//! what the session layer's unit tests run on, with no socket and no file.
//!
//! The app itself holds an `Arc<Store>`: [`Store`] is an enum over the two backends that
//! implements every trait by delegating. The backend is a choice made at run time (an
//! environment variable), and an enum makes it once, with calls dispatched statically: no
//! boxing, and no type parameter threaded through every handler and page for a choice the
//! handlers never care about.
//!
//! Each backend is a folder, one file per collection: [`embedded`] and [`mongo`]. The
//! neutral pieces sit here: the models ([`Identity`], [`Post`]…), typed queries
//! ([`PostFilter`], with both backends' reading of it side by side in `query.rs`),
//! [`update`] and `update_engine.rs` (the operators applied to a document: the embedded
//! store's way of running an update, and the MongoDB store's way of explaining a refusal),
//! MongoDB's order of values (`compare.rs`), the [`PostCursor`] a list streams
//! from, and [`StoreError`].
//!
//! # Safety rules this module enforces
//!
//! - No client JSON becomes a filter: queries are typed ([`PostFilter`], lookups by id or
//!   name), and updates are parsed into [`Update`] and validated before they run.
//! - Session ids are stored hashed ([`SessionRecord::id_hash`]); expired sessions are
//!   treated as missing on every read, and deleted in bounded batches by the [`sweep`]
//!   (beside MongoDB's TTL index, where the server has one).
//! - An unreachable database is [`StoreError::Unavailable`], never a hang: the HTTP layer
//!   answers 503 and the next request tries again.

use std::future::Future;

use bson::oid::ObjectId;
use bson::{DateTime, Document};

pub mod attempts;
mod compare;
pub mod config;
mod cursor;
pub mod embedded;
mod error;
pub mod memory;
mod models;
pub mod mongo;
mod query;
pub mod sweep;
pub mod update;
mod update_engine;

use attempts::{AttemptKind, AttemptStore, Reservation, Reserved, Rule};
pub use config::{Backend, StoreChoice, StoreConfig};
pub use cursor::PostCursor;
pub use error::{StoreError, UpdateFailure};
pub use models::{Identity, NewPost, NewUser, Post, SessionRecord, UpdateOutcome, User};
pub use query::{FindOptions, PostFilter, PostSort};
pub use update::{Operator, Update, UpdateOp};

/// Accounts: create, look up, change the password hash.
pub trait UserStore {
    /// Creates a user with a fresh id and the current time.
    ///
    /// # Errors
    ///
    /// [`StoreError::Duplicate`] with field `username` or `email` when taken.
    fn create_user(&self, user: NewUser) -> impl Future<Output = Result<User, StoreError>> + Send;

    /// The user with this id, if any.
    fn user_by_id(
        &self,
        id: ObjectId,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// The user with this id without the password hash: what a bearer token's request needs.
    /// MongoDB leaves the hash out of the reply (a projection), so it never crosses the wire.
    fn identity_by_id(
        &self,
        id: ObjectId,
    ) -> impl Future<Output = Result<Option<Identity>, StoreError>> + Send;

    /// The user with exactly this username, if any.
    fn user_by_username(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// The user whose username, or else whose email, is `identifier`: what a login form's
    /// "username or email" field means. Usernames win, so the answer never depends on
    /// which record the database happens to return first.
    fn user_by_identifier(
        &self,
        identifier: &str,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Replaces a user's password hash. Returns false when there is no such user.
    fn set_password_hash(
        &self,
        id: ObjectId,
        password_hash: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Login sessions, keyed by the SHA-256 of the cookie's id.
///
/// Every read checks both expiries against the current time, so an expired record is
/// "missing" even if no cleanup has removed it yet.
pub trait SessionStore {
    /// Stores a new session.
    ///
    /// # Errors
    ///
    /// [`StoreError::Duplicate`] with field `id_hash` if the hash exists (a 256-bit random
    /// id makes that a bug, not bad luck).
    fn create(&self, record: &SessionRecord)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The live session with this id hash, if any.
    fn load(
        &self,
        id_hash: &str,
    ) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Saves `record.last_seen` and `record.idle_expires_at` (sliding the idle expiry) if
    /// the stored session is still alive. Returns false when it is gone or expired.
    fn touch(
        &self,
        record: &SessionRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes one session (logout). Returns false when there was none.
    fn delete(&self, id_hash: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes all of a user's sessions, except the one whose hash is `except` ("log out
    /// everywhere else"). Returns how many were deleted.
    fn delete_all_for_user(
        &self,
        user_id: ObjectId,
        except: Option<&str>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// A user's live sessions, oldest first. A user has a handful, so this returns a `Vec`.
    fn list_for_user(
        &self,
        user_id: ObjectId,
    ) -> impl Future<Output = Result<Vec<SessionRecord>, StoreError>> + Send;

    /// Deletes up to `at_most` sessions that have expired by `now` (either expiry), soonest
    /// expired first, and returns how many it deleted. A bounded batch, so the
    /// [`sweep`] that calls it never holds the store for long.
    fn delete_expired(
        &self,
        now: DateTime,
        at_most: usize,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Posts, with the seed's collection operations.
pub trait PostStore {
    /// `insert_one`: stores a post under a fresh `_id` and returns it.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidDocument`] for an unsafe field name in [`NewPost::extra`].
    fn insert_one(
        &self,
        post: NewPost,
    ) -> impl Future<Output = Result<ObjectId, StoreError>> + Send;

    /// `insert_many` (ordered): stores the posts in order and returns their ids in order.
    /// Every post is checked before any is written.
    fn insert_many(
        &self,
        posts: Vec<NewPost>,
    ) -> impl Future<Output = Result<Vec<ObjectId>, StoreError>> + Send;

    /// `find_one({_id: id})`.
    fn find_one(
        &self,
        id: ObjectId,
    ) -> impl Future<Output = Result<Option<Document>, StoreError>> + Send;

    /// `find(filter).sort(..).skip(..).limit(..)`, as a streaming [`PostCursor`].
    ///
    /// # Errors
    ///
    /// [`StoreError::AfterPostMissing`] when [`FindOptions::after`] names a missing post,
    /// [`StoreError::InvalidQuery`] when that post lacks the sorted field.
    fn find(
        &self,
        filter: PostFilter,
        options: FindOptions,
    ) -> impl Future<Output = Result<PostCursor, StoreError>> + Send;

    /// `update_one({_id: id}, update, upsert)`. With `upsert` and no such post, a document
    /// `{_id: id}` is created and the update (including `$setOnInsert`) applied to it.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidUpdate`] from [`Update::validate`]; [`StoreError::UpdateFailed`]
    /// when the update does not fit the stored post. Either way nothing is written.
    fn update_one(
        &self,
        id: ObjectId,
        update: &Update,
        upsert: bool,
    ) -> impl Future<Output = Result<UpdateOutcome, StoreError>> + Send;

    /// `delete_one({_id: id})`: returns the number deleted (0 or 1).
    fn delete_one(&self, id: ObjectId) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The store the app holds (as `Arc<Store>`): one of the two backends.
#[derive(Debug)]
pub enum Store {
    /// A MongoDB deployment.
    Mongo(mongo::MongoStore),
    /// The embedded redb file.
    Embedded(embedded::EmbeddedStore),
}

/// Opens the configured store.
///
/// MongoDB connects lazily: if the database is down, this still succeeds (after at most the
/// server-selection timeout spent trying to create indexes), operations return
/// [`StoreError::Unavailable`] until it is back, and indexes are created on the first
/// operation that reaches it.
///
/// # Errors
///
/// [`StoreError::Config`] naming the variable for a malformed MongoDB URI;
/// [`StoreError::Backend`] when the embedded file cannot be created or opened.
pub async fn open(config: &StoreConfig) -> Result<Store, StoreError> {
    match &config.backend {
        Backend::Mongo { uri, variable } => Ok(Store::Mongo(
            mongo::MongoStore::open(uri, variable, &config.database).await?,
        )),
        Backend::Embedded { data_dir } => Ok(Store::Embedded(
            embedded::EmbeddedStore::open(data_dir, &config.database).await?,
        )),
    }
}

impl Store {
    /// One line for the start-up log: which backend, where, which database and collections.
    /// Never includes credentials.
    pub fn describe(&self) -> String {
        match self {
            Store::Mongo(store) => store.describe(),
            Store::Embedded(store) => store.describe(),
        }
    }

    /// Whether the store can serve right now, answered without waiting: what `/health`
    /// reports. MongoDB can be down (see [`mongo::MongoStore::is_reachable`]); the embedded
    /// file is part of the process, so it is always there.
    pub fn is_reachable(&self) -> bool {
        match self {
            Store::Mongo(store) => store.is_reachable(),
            Store::Embedded(_) => true,
        }
    }
}

/// Forwards a call to whichever backend `$store` holds; MongoDB's outcome also tells the
/// store whether the database is reachable.
macro_rules! dispatch {
    ($store:expr, $backend:ident => $call:expr) => {
        match $store {
            Store::Mongo($backend) => $backend.observe($call.await),
            Store::Embedded($backend) => $call.await,
        }
    };
}

impl UserStore for Store {
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        dispatch!(self, s => s.create_user(user))
    }

    async fn user_by_id(&self, id: ObjectId) -> Result<Option<User>, StoreError> {
        dispatch!(self, s => s.user_by_id(id))
    }

    async fn identity_by_id(&self, id: ObjectId) -> Result<Option<Identity>, StoreError> {
        dispatch!(self, s => s.identity_by_id(id))
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        dispatch!(self, s => s.user_by_username(username))
    }

    async fn user_by_identifier(&self, identifier: &str) -> Result<Option<User>, StoreError> {
        dispatch!(self, s => s.user_by_identifier(identifier))
    }

    async fn set_password_hash(
        &self,
        id: ObjectId,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        dispatch!(self, s => s.set_password_hash(id, password_hash))
    }
}

impl SessionStore for Store {
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        dispatch!(self, s => s.create(record))
    }

    async fn load(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        dispatch!(self, s => s.load(id_hash))
    }

    async fn touch(&self, record: &SessionRecord) -> Result<bool, StoreError> {
        dispatch!(self, s => s.touch(record))
    }

    async fn delete(&self, id_hash: &str) -> Result<bool, StoreError> {
        dispatch!(self, s => s.delete(id_hash))
    }

    async fn delete_all_for_user(
        &self,
        user_id: ObjectId,
        except: Option<&str>,
    ) -> Result<u64, StoreError> {
        dispatch!(self, s => s.delete_all_for_user(user_id, except))
    }

    async fn list_for_user(&self, user_id: ObjectId) -> Result<Vec<SessionRecord>, StoreError> {
        dispatch!(self, s => s.list_for_user(user_id))
    }

    async fn delete_expired(&self, now: DateTime, at_most: usize) -> Result<u64, StoreError> {
        dispatch!(self, s => s.delete_expired(now, at_most))
    }
}

impl AttemptStore for Store {
    async fn reserve_attempt(
        &self,
        kind: AttemptKind,
        key: &str,
        rule: Rule,
    ) -> Result<Reservation, StoreError> {
        dispatch!(self, s => s.reserve_attempt(kind, key, rule))
    }

    async fn release_attempt(&self, attempt: Reserved) -> Result<(), StoreError> {
        dispatch!(self, s => s.release_attempt(attempt))
    }

    async fn clear_attempts(&self, attempt: Reserved) -> Result<(), StoreError> {
        dispatch!(self, s => s.clear_attempts(attempt))
    }

    async fn delete_expired_attempts(
        &self,
        now: DateTime,
        at_most: usize,
    ) -> Result<u64, StoreError> {
        dispatch!(self, s => s.delete_expired_attempts(now, at_most))
    }
}

impl PostStore for Store {
    async fn insert_one(&self, post: NewPost) -> Result<ObjectId, StoreError> {
        dispatch!(self, s => s.insert_one(post))
    }

    async fn insert_many(&self, posts: Vec<NewPost>) -> Result<Vec<ObjectId>, StoreError> {
        dispatch!(self, s => s.insert_many(posts))
    }

    async fn find_one(&self, id: ObjectId) -> Result<Option<Document>, StoreError> {
        dispatch!(self, s => s.find_one(id))
    }

    async fn find(
        &self,
        filter: PostFilter,
        options: FindOptions,
    ) -> Result<PostCursor, StoreError> {
        dispatch!(self, s => s.find(filter, options))
    }

    async fn update_one(
        &self,
        id: ObjectId,
        update: &Update,
        upsert: bool,
    ) -> Result<UpdateOutcome, StoreError> {
        dispatch!(self, s => s.update_one(id, update, upsert))
    }

    async fn delete_one(&self, id: ObjectId) -> Result<u64, StoreError> {
        dispatch!(self, s => s.delete_one(id))
    }
}
