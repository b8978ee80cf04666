//! The MongoDB backend, over the official `mongodb` driver.
//!
//! **Connecting.** `Client::with_options` does not connect: the driver opens connections
//! in the background and each operation waits for a usable server for at most the
//! *server-selection timeout*. Its default is 30 s, far too long for a web request, so we
//! use [`DEFAULT_TIMEOUT`] (2 s) for both that and the TCP connect timeout, unless the URI
//! sets `serverSelectionTimeoutMS` / `connectTimeoutMS` itself. A database that is down
//! therefore costs a request 2 s and a [`StoreError::Unavailable`] (a 503), not a hang; when
//! it comes back, the driver's monitor finds it and the same client works again.
//!
//! **Knowing it is down.** `/health` must answer at once, so it cannot ask the database.
//! Instead the store keeps one flag, `reachable`: every operation's outcome sets it (an
//! `Unavailable` error clears it, anything else sets it), and a monitor task pings the
//! database every [`MONITOR_INTERVAL`] so the flag stays true to life when no requests
//! come, and turns back to reachable by itself when the database returns.
//!
//! **Indexes** are created by [`MongoStore::open`]. If the database is down then, the
//! store still opens, and the first operation that reaches the database creates them
//! before doing its own work; the unique indexes are what make `Duplicate` errors possible,
//! so no operation runs without them. Creating an index that exists is a no-op in MongoDB.
//!
//! | collection | index | why |
//! |---|---|---|
//! | users | `{username: 1}` unique | one account per name |
//! | users | `{email: 1}` unique, partial on `{email: {$type: "string"}}` | one account per email, many without |
//! | sessions | `_id` (the id hash) | unique by construction, MongoDB indexes `_id` itself |
//! | sessions | `{"user._id": 1}` | "log out everywhere" (a session keeps a copy of its user, [`super::Identity`]) |
//! | sessions | `{expireAt: 1}`, `expireAfterSeconds: 0` | TTL: the server deletes expired sessions (about once a minute); where the server refuses TTL indexes (FerretDB), a plain index on `expireAt` for the [`sweep`](super::sweep) |
//! | login_attempts | `_id` (kind, window, key) | one count per key and window (see [`attempts`](super::attempts)) |
//! | login_attempts | `{expireAt: 1}`, TTL as for sessions | old windows go |
//! | posts | `{author: 1, created_at: -1}` | a user's posts, newest first |
//! | posts | `{created_at: -1}` | the front page |
//!
//! **Errors** are translated by `map_error`: duplicate key (11000) becomes
//! [`StoreError::Duplicate`], update failures (codes 14, 28, 2) become
//! [`StoreError::UpdateFailed`] with the same [`UpdateFailure`] the embedded store reports,
//! and anything meaning "could not reach a server" becomes [`StoreError::Unavailable`].
//!
//! **FerretDB.** The test server is FerretDB (MongoDB's wire protocol over SQLite). Where it
//! differs from MongoDB the code below does what is right for MongoDB and tolerates FerretDB;
//! each place says so in a comment.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use tokio::sync::Mutex;

use super::attempts::{AttemptKind, AttemptStore, Reservation, Reserved, Rule, Slot};
use super::config::{LOGIN_ATTEMPTS, POSTS, SESSIONS, USERS};
use super::cursor::PostCursor;
use super::models::to_document;
use super::query::{FindOptions, PostFilter, after_to_mongo};
use super::{
    Identity, NewPost, NewUser, PostStore, SessionRecord, SessionStore, StoreError, Update,
    UpdateFailure, UpdateOutcome, User, UserStore,
};

/// Server-selection and connect timeout unless the URI says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How often the monitor task pings the database.
pub const MONITOR_INTERVAL: Duration = Duration::from_secs(1);

/// The MongoDB store: a driver client and the three collections.
#[derive(Debug)]
pub struct MongoStore {
    /// The driver's handle; it owns the connection pool and server monitoring.
    client: Client,
    /// The collections. Writes go through documents (a session's document has an
    /// `expireAt` its record does not); the reads every request makes are typed, so the
    /// driver deserializes straight from the reply's bytes, with no `Document` between.
    users: Collection<Document>,
    sessions: Collection<Document>,
    /// `users` read as [`User`].
    typed_users: Collection<User>,
    /// `users` read as [`Identity`], for reads that leave the password hash out.
    identities: Collection<Identity>,
    /// `sessions` read as [`SessionRecord`].
    typed_sessions: Collection<SessionRecord>,
    posts: Collection<Document>,
    /// Login attempt counts (see [`attempts`](super::attempts)).
    login_attempts: Collection<Document>,
    /// `host:port` list and database name for [`describe`](Self::describe) (no credentials).
    description: String,
    /// True once the indexes exist: the fast path, checked without locking.
    indexes_ready: AtomicBool,
    /// Held while creating indexes, so that when the database returns one operation
    /// creates them while the others wait. It remembers when the last attempt failed.
    index_attempt: Mutex<Option<Instant>>,
    /// Whether the database answered the last operation or ping (see the module docs).
    /// Shared with the monitor task, which stops when the store is dropped.
    reachable: Arc<AtomicBool>,
}

impl MongoStore {
    /// Parses `uri`, creates the client, and tries to create the indexes.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] naming `variable` when the URI does not parse. An unreachable
    /// database is *not* an error here (see the [module docs](self)).
    pub async fn open(uri: &str, variable: &str, database: &str) -> Result<Self, StoreError> {
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(|e| StoreError::Config {
                variable: variable.to_string(),
                reason: format!("not a usable MongoDB connection string: {e}"),
            })?;
        options
            .server_selection_timeout
            .get_or_insert(DEFAULT_TIMEOUT);
        options.connect_timeout.get_or_insert(DEFAULT_TIMEOUT);
        options
            .app_name
            .get_or_insert_with(|| "groundup".to_string());
        let hosts: Vec<String> = options.hosts.iter().map(ToString::to_string).collect();
        let client = Client::with_options(options).map_err(|e| StoreError::Config {
            variable: variable.to_string(),
            reason: e.to_string(),
        })?;
        let db: Database = client.database(database);
        let store = MongoStore {
            users: db.collection(USERS),
            sessions: db.collection(SESSIONS),
            typed_users: db.collection(USERS),
            identities: db.collection(USERS),
            typed_sessions: db.collection(SESSIONS),
            posts: db.collection(POSTS),
            login_attempts: db.collection(LOGIN_ATTEMPTS),
            client,
            description: format!(
                "MongoDB at {}, database {database}, collections {USERS}, {SESSIONS}, {POSTS}",
                hosts.join(",")
            ),
            indexes_ready: AtomicBool::new(false),
            index_attempt: Mutex::new(None),
            reachable: Arc::new(AtomicBool::new(true)),
        };
        if let Err(e) = store.observe(store.ready().await) {
            tracing::warn!(error = %e, "MongoDB not reachable at start-up; will create indexes on first use");
        }
        spawn_monitor(store.client.clone(), Arc::downgrade(&store.reachable));
        Ok(store)
    }

    /// Whether the database answered the last operation or ping.
    pub fn is_reachable(&self) -> bool {
        self.reachable.load(Ordering::Relaxed)
    }

    /// Notes what an operation's outcome says about the database, and passes it on.
    pub(crate) fn observe<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        let unreachable = matches!(&result, Err(e) if e.is_unavailable());
        self.reachable.store(!unreachable, Ordering::Relaxed);
        result
    }

    /// One line for the start-up log.
    pub fn describe(&self) -> String {
        self.description.clone()
    }

    /// The driver client, for callers that need more than the store offers (tests use it
    /// to drop their scratch database).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Makes sure the indexes exist before an operation runs (see the module docs).
    ///
    /// While the database is down, operations queue on the mutex; if each retried, the
    /// n-th would wait n timeouts. So an attempt that failed less than [`DEFAULT_TIMEOUT`]
    /// ago answers the waiters at once with `Unavailable`, and only a later operation tries
    /// again.
    async fn ready(&self) -> Result<(), StoreError> {
        if self.indexes_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut last_failure = self.index_attempt.lock().await;
        if self.indexes_ready.load(Ordering::Acquire) {
            return Ok(()); // created by the operation we waited for
        }
        if last_failure.is_some_and(|at| at.elapsed() < DEFAULT_TIMEOUT) {
            return Err(StoreError::Unavailable(
                "database unreachable (index creation failed moments ago)".into(),
            ));
        }
        match self.create_indexes().await {
            Ok(()) => {
                self.indexes_ready.store(true, Ordering::Release);
                Ok(())
            }
            Err(e) => {
                *last_failure = Some(Instant::now());
                Err(e)
            }
        }
    }

    async fn create_indexes(&self) -> Result<(), StoreError> {
        let plain = IndexOptions::default;
        let unique = || IndexOptions::builder().unique(true).build();

        self.users
            .create_index(index(doc! { "username": 1 }, "username_unique", unique()))
            .await
            .map_err(map_error)?;
        // A partial index only holds documents with a string email, so users without one
        // never collide. FerretDB v1 rejects `partialFilterExpression`; a sparse index
        // (documents lacking the field are left out) gives the same guarantee here, since
        // we never store `email: null`.
        let partial = IndexOptions::builder()
            .unique(true)
            .partial_filter_expression(doc! { "email": { "$type": "string" } })
            .build();
        if let Err(e) = self
            .users
            .create_index(index(doc! { "email": 1 }, "email_unique", partial))
            .await
        {
            let e = map_error(e);
            if e.is_unavailable() {
                return Err(e);
            }
            let sparse = IndexOptions::builder().unique(true).sparse(true).build();
            self.users
                .create_index(index(doc! { "email": 1 }, "email_unique", sparse))
                .await
                .map_err(map_error)?;
        }

        self.sessions
            .create_index(index(doc! { "user._id": 1 }, "session_user", plain()))
            .await
            .map_err(map_error)?;
        expiry_index(&self.sessions).await?;
        expiry_index(&self.login_attempts).await?;

        self.posts
            .create_index(index(
                doc! { "author": 1, "created_at": -1 },
                "author_created_at",
                plain(),
            ))
            .await
            .map_err(map_error)?;
        self.posts
            .create_index(index(doc! { "created_at": -1 }, "created_at", plain()))
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn find_user(&self, filter: Document) -> Result<Option<User>, StoreError> {
        self.ready().await?;
        self.typed_users.find_one(filter).await.map_err(map_error)
    }
}

/// Names an index.
fn index(keys: Document, name: &str, mut options: IndexOptions) -> IndexModel {
    options.name = Some(name.to_string());
    IndexModel::builder().keys(keys).options(options).build()
}

/// A TTL index on `expireAt`, so the server deletes what has expired; where the server
/// refuses TTL indexes (FerretDB), a plain one, so the [`sweep`](super::sweep) that deletes
/// instead finds them fast. Without either, the sweep still works, by a scan.
async fn expiry_index(collection: &Collection<Document>) -> Result<(), StoreError> {
    let ttl = IndexOptions::builder().expire_after(Duration::ZERO).build();
    let Err(refused) = collection
        .create_index(index(doc! { "expireAt": 1 }, "expire_at_ttl", ttl))
        .await
    else {
        return Ok(());
    };
    let refused = map_error(refused);
    if refused.is_unavailable() {
        return Err(refused);
    }
    tracing::info!(collection = collection.name(), error = %refused, "the database refused a TTL index; the sweep alone deletes what expired");
    if let Err(e) = collection
        .create_index(index(
            doc! { "expireAt": 1 },
            "expire_at",
            IndexOptions::default(),
        ))
        .await
    {
        let e = map_error(e);
        if e.is_unavailable() {
            return Err(e);
        }
        tracing::warn!(collection = collection.name(), error = %e, "no index on expireAt; the sweep will scan");
    }
    Ok(())
}

/// Deletes up to `at_most` documents of `collection` whose `expireAt` is not after `now`,
/// soonest first. MongoDB's deleteMany has no limit, so a batch is the ids of the `at_most`
/// soonest expired, then one delete by those ids, again only if still expired (a session
/// touched in between slid forward, and survives).
async fn delete_expired_in(
    collection: &Collection<Document>,
    now: DateTime,
    at_most: usize,
) -> Result<u64, StoreError> {
    let expired = doc! { "expireAt": { "$lte": now } };
    let mut cursor = collection
        .find(expired.clone())
        .sort(doc! { "expireAt": 1 })
        .limit(i64::try_from(at_most).unwrap_or(i64::MAX))
        .projection(doc! { "_id": 1 })
        .await
        .map_err(map_error)?;
    let mut ids = Vec::new();
    while cursor.advance().await.map_err(map_error)? {
        let id = cursor
            .current()
            .get("_id")
            .map_err(|e| StoreError::Decode(e.to_string()))?
            .ok_or_else(|| StoreError::Decode("a document without _id".into()))?;
        ids.push(Bson::try_from(id).map_err(|e| StoreError::Decode(e.to_string()))?);
    }
    if ids.is_empty() {
        return Ok(0);
    }
    let mut batch = expired;
    batch.insert("_id", doc! { "$in": ids });
    let result = collection.delete_many(batch).await.map_err(map_error)?;
    Ok(result.deleted_count)
}

/// Pings the database every [`MONITOR_INTERVAL`] and records whether it answered, until
/// the store that owns `reachable` is dropped.
fn spawn_monitor(client: Client, reachable: Weak<AtomicBool>) {
    tokio::spawn(async move {
        let admin = client.database("admin");
        loop {
            tokio::time::sleep(MONITOR_INTERVAL).await;
            if reachable.strong_count() == 0 {
                return;
            }
            let ping = admin.run_command(doc! { "ping": 1 });
            let answered = matches!(tokio::time::timeout(DEFAULT_TIMEOUT, ping).await, Ok(Ok(_)));
            match reachable.upgrade() {
                Some(flag) => flag.store(answered, Ordering::Relaxed),
                None => return,
            }
        }
    });
}

/// Translates a driver error into a [`StoreError`] (see the [module docs](self)).
pub(crate) fn map_error(error: mongodb::error::Error) -> StoreError {
    match error.kind.as_ref() {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Shutdown => StoreError::Unavailable(error.to_string()),
        ErrorKind::Write(WriteFailure::WriteError(e)) => from_code(e.code, &e.message),
        ErrorKind::Write(WriteFailure::WriteConcernError(e)) => from_code(e.code, &e.message),
        ErrorKind::Command(e) => from_code(e.code, &e.message),
        ErrorKind::InsertMany(e) => match e.write_errors.as_ref().and_then(|errors| errors.first())
        {
            Some(first) => from_code(first.code, &first.message),
            None => StoreError::Backend(error.to_string()),
        },
        _ => StoreError::Backend(error.to_string()),
    }
}

/// Translates a server error code.
fn from_code(code: i32, message: &str) -> StoreError {
    match code {
        11000 => StoreError::Duplicate {
            field: duplicate_field(message),
        },
        14 => StoreError::update_failed(UpdateFailure::TypeMismatch, message),
        28 => StoreError::update_failed(UpdateFailure::PathNotViable, message),
        2 => StoreError::update_failed(UpdateFailure::BadValue, message),
        // The server is shutting down or stepping down: as good as unreachable; retry later.
        // (91 ShutdownInProgress, 189 PrimarySteppedDown, 10107 NotWritablePrimary,
        // 11600 InterruptedAtShutdown, 13435 NotPrimaryNoSecondaryOk)
        91 | 189 | 10107 | 11600 | 13435 => StoreError::Unavailable(message.to_string()),
        _ => StoreError::Backend(format!("server error {code}: {message}")),
    }
}

/// Which field a duplicate key error is about. MongoDB writes
/// `E11000 duplicate key error collection: db.users index: username_unique dup key: {...}`;
/// we read the index name, which is ours, rather than the key, which is user input.
/// Without a known index name the answer is `_id`; [`MongoStore::create_user`] then asks
/// the database which value is taken (FerretDB's message names no index).
fn duplicate_field(message: &str) -> String {
    let index = message
        .split_once("index: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_default();
    match index {
        "username_unique" => "username",
        "email_unique" => "email",
        _ => "_id",
    }
    .to_string()
}

impl UserStore for MongoStore {
    async fn create_user(&self, user: NewUser) -> Result<User, StoreError> {
        self.ready().await?;
        let user = User {
            id: ObjectId::new(),
            username: user.username,
            email: user.email,
            password_hash: user.password_hash,
            created_at: DateTime::now(),
        };
        match self
            .users
            .insert_one(to_document(&user)?)
            .await
            .map_err(map_error)
        {
            Ok(_) => Ok(user),
            // The `_id` is fresh, so an unnamed duplicate is the username or the email.
            // MongoDB names the index in its message; FerretDB does not, so we look.
            Err(StoreError::Duplicate { field }) if field == "_id" => {
                let taken = self
                    .users
                    .find_one(doc! { "username": &user.username })
                    .await
                    .map_err(map_error)?;
                let field = if taken.is_some() { "username" } else { "email" };
                Err(StoreError::Duplicate {
                    field: field.into(),
                })
            }
            Err(e) => Err(e),
        }
    }

    async fn user_by_id(&self, id: ObjectId) -> Result<Option<User>, StoreError> {
        self.find_user(doc! { "_id": id }).await
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.find_user(doc! { "username": username }).await
    }

    async fn identity_by_id(&self, id: ObjectId) -> Result<Option<Identity>, StoreError> {
        self.ready().await?;
        self.identities
            .find_one(doc! { "_id": id })
            .projection(doc! { "password_hash": 0 })
            .await
            .map_err(map_error)
    }

    async fn user_by_identifier(&self, identifier: &str) -> Result<Option<User>, StoreError> {
        // Two queries rather than one `$or`, so a username match always wins.
        match self.find_user(doc! { "username": identifier }).await? {
            Some(user) => Ok(Some(user)),
            None => self.find_user(doc! { "email": identifier }).await,
        }
    }

    async fn set_password_hash(
        &self,
        id: ObjectId,
        password_hash: &str,
    ) -> Result<bool, StoreError> {
        self.ready().await?;
        let result = self
            .users
            .update_one(
                doc! { "_id": id },
                doc! { "$set": { "password_hash": password_hash } },
            )
            .await
            .map_err(map_error)?;
        Ok(result.matched_count > 0)
    }
}

/// The filter "this session, still alive now": both expiries checked on the server. A
/// session from before sessions carried their user (`user_id` where `user` is now) does
/// not match: its holder logs in again, and the sweep deletes it when it expires.
fn alive(id_hash: &str, now: DateTime) -> Document {
    doc! {
        "_id": id_hash,
        "idle_expires_at": { "$gt": now },
        "absolute_expires_at": { "$gt": now },
        "user": { "$type": "object" },
    }
}

impl SessionStore for MongoStore {
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.ready().await?;
        let mut doc = to_document(record)?;
        // The TTL index watches this field: the earlier expiry.
        doc.insert("expireAt", record.expires_at());
        match self.sessions.insert_one(doc).await.map_err(map_error) {
            Err(StoreError::Duplicate { .. }) => Err(StoreError::Duplicate {
                field: "id_hash".into(),
            }),
            other => other.map(|_| ()),
        }
    }

    async fn load(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.ready().await?;
        self.typed_sessions
            .find_one(alive(id_hash, DateTime::now()))
            .await
            .map_err(map_error)
    }

    async fn touch(&self, record: &SessionRecord) -> Result<bool, StoreError> {
        self.ready().await?;
        let update = doc! { "$set": {
            "last_seen": record.last_seen,
            "idle_expires_at": record.idle_expires_at,
            "expireAt": record.expires_at(),
        } };
        let result = self
            .sessions
            .update_one(alive(&record.id_hash, DateTime::now()), update)
            .await
            .map_err(map_error)?;
        Ok(result.matched_count > 0)
    }

    async fn delete(&self, id_hash: &str) -> Result<bool, StoreError> {
        self.ready().await?;
        let result = self
            .sessions
            .delete_one(doc! { "_id": id_hash })
            .await
            .map_err(map_error)?;
        Ok(result.deleted_count > 0)
    }

    async fn delete_all_for_user(
        &self,
        user_id: ObjectId,
        except: Option<&str>,
    ) -> Result<u64, StoreError> {
        self.ready().await?;
        let mut filter = doc! { "user._id": user_id };
        if let Some(keep) = except {
            filter.insert("_id", doc! { "$ne": keep });
        }
        let result = self.sessions.delete_many(filter).await.map_err(map_error)?;
        Ok(result.deleted_count)
    }

    async fn list_for_user(&self, user_id: ObjectId) -> Result<Vec<SessionRecord>, StoreError> {
        self.ready().await?;
        let now = DateTime::now();
        let filter = doc! {
            "user._id": user_id,
            "idle_expires_at": { "$gt": now },
            "absolute_expires_at": { "$gt": now },
        };
        let mut cursor = self
            .typed_sessions
            .find(filter)
            .sort(doc! { "created_at": 1, "_id": 1 })
            .await
            .map_err(map_error)?;
        let mut records = Vec::new();
        while cursor.advance().await.map_err(map_error)? {
            records.push(
                cursor
                    .deserialize_current()
                    .map_err(|e| StoreError::Decode(e.to_string()))?,
            );
        }
        Ok(records)
    }

    async fn delete_expired(&self, now: DateTime, at_most: usize) -> Result<u64, StoreError> {
        self.ready().await?;
        delete_expired_in(&self.sessions, now, at_most).await
    }
}

impl AttemptStore for MongoStore {
    async fn reserve_attempt(
        &self,
        kind: AttemptKind,
        key: &str,
        rule: Rule,
    ) -> Result<Reservation, StoreError> {
        self.ready().await?;
        if rule.limit == 0 {
            return Ok(Reservation::Refused { wait: rule.window });
        }
        // The window this moment falls in, counted from the epoch, and when it ends.
        let window = i64::try_from(rule.window.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        let now = DateTime::now().timestamp_millis();
        let number = now.div_euclid(window);
        let end = number.saturating_add(1).saturating_mul(window);
        let id = format!("{}:{number}:{key}", kind.as_str());
        let limit = i64::try_from(rule.limit).unwrap_or(i64::MAX);
        let below_limit = doc! { "_id": &id, "count": { "$lt": limit } };
        let count = doc! {
            "$inc": { "count": 1_i64 },
            "$setOnInsert": { "expireAt": DateTime::from_millis(end) },
        };
        let upserted = self
            .login_attempts
            .update_one(below_limit.clone(), count.clone())
            .upsert(true)
            .await
            .map_err(map_error);
        let reserved = match upserted {
            Ok(_) => true,
            // The filter matched nothing and the insert collided with the window's
            // document: either it is at the limit, or another attempt created it a moment
            // ago (two first attempts racing). Without the upsert, only the second case
            // counts.
            Err(StoreError::Duplicate { .. }) => {
                let counted = self
                    .login_attempts
                    .update_one(below_limit, count)
                    .await
                    .map_err(map_error)?;
                counted.matched_count == 1
            }
            Err(error) => return Err(error),
        };
        if reserved {
            Ok(Reservation::Reserved(Reserved(Slot::Window(id))))
        } else {
            let wait = u64::try_from(end.saturating_sub(now)).unwrap_or(1).max(1);
            Ok(Reservation::Refused {
                wait: Duration::from_millis(wait),
            })
        }
    }

    async fn release_attempt(&self, attempt: Reserved) -> Result<(), StoreError> {
        let Slot::Window(id) = attempt.0 else {
            return Ok(());
        };
        self.ready().await?;
        self.login_attempts
            .update_one(
                doc! { "_id": id, "count": { "$gt": 0 } },
                doc! { "$inc": { "count": -1_i64 } },
            )
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn clear_attempts(&self, attempt: Reserved) -> Result<(), StoreError> {
        let Slot::Window(id) = attempt.0 else {
            return Ok(());
        };
        self.ready().await?;
        self.login_attempts
            .delete_one(doc! { "_id": id })
            .await
            .map_err(map_error)?;
        Ok(())
    }

    async fn delete_expired_attempts(
        &self,
        now: DateTime,
        at_most: usize,
    ) -> Result<u64, StoreError> {
        self.ready().await?;
        delete_expired_in(&self.login_attempts, now, at_most).await
    }
}

impl PostStore for MongoStore {
    async fn insert_one(&self, post: NewPost) -> Result<ObjectId, StoreError> {
        let id = ObjectId::new();
        let doc = post.into_document(id)?;
        self.ready().await?;
        self.posts.insert_one(doc).await.map_err(map_error)?;
        Ok(id)
    }

    async fn insert_many(&self, posts: Vec<NewPost>) -> Result<Vec<ObjectId>, StoreError> {
        let mut ids = Vec::with_capacity(posts.len());
        let mut docs = Vec::with_capacity(posts.len());
        for post in posts {
            let id = ObjectId::new();
            docs.push(post.into_document(id)?);
            ids.push(id);
        }
        if docs.is_empty() {
            // MongoDB refuses an empty insert_many; inserting nothing is trivially done.
            return Ok(ids);
        }
        self.ready().await?;
        // Ordered (the default): the server stops at the first failure.
        self.posts
            .insert_many(docs)
            .ordered(true)
            .await
            .map_err(map_error)?;
        Ok(ids)
    }

    async fn find_one(&self, id: ObjectId) -> Result<Option<Document>, StoreError> {
        self.ready().await?;
        self.posts
            .find_one(doc! { "_id": id })
            .await
            .map_err(map_error)
    }

    async fn find(
        &self,
        filter: PostFilter,
        options: FindOptions,
    ) -> Result<PostCursor, StoreError> {
        self.ready().await?;
        let mut query = filter.to_mongo();
        if let Some(after) = options.after {
            let field = options.sort.field();
            let anchor = self
                .posts
                .find_one(doc! { "_id": after })
                .projection(doc! { field: 1 })
                .await
                .map_err(map_error)?
                .ok_or_else(|| StoreError::InvalidQuery {
                    reason: format!("`after` names post {after}, which does not exist"),
                })?;
            let key = anchor.get(field).ok_or_else(|| StoreError::InvalidQuery {
                reason: format!("`after` post {after} has no `{field}` to page by"),
            })?;
            // PostFilter never produces `$or`, so this key is free.
            query.extend(after_to_mongo(options.sort, key, after));
        }
        let limit = match options.limit {
            Some(n) => Some(i64::try_from(n).map_err(|_| StoreError::InvalidQuery {
                reason: "limit is too large".into(),
            })?),
            None => None,
        };
        let mut find = self.posts.find(query).sort(options.sort.to_mongo());
        if let Some(skip) = options.skip {
            find = find.skip(skip);
        }
        if let Some(limit) = limit {
            find = find.limit(limit);
        }
        let cursor = find.await.map_err(map_error)?;
        Ok(PostCursor::mongo(cursor))
    }

    async fn update_one(
        &self,
        id: ObjectId,
        update: &Update,
        upsert: bool,
    ) -> Result<UpdateOutcome, StoreError> {
        update.validate()?;
        self.ready().await?;
        let result = self
            .posts
            .update_one(doc! { "_id": id }, update.to_document())
            .upsert(upsert)
            .await
            .map_err(map_error)?;
        let upserted_id = match result.upserted_id {
            Some(Bson::ObjectId(id)) => Some(id),
            Some(other) => {
                return Err(StoreError::Backend(format!(
                    "upserted a non-ObjectId _id: {other}"
                )));
            }
            None => None,
        };
        Ok(UpdateOutcome {
            matched: result.matched_count,
            modified: result.modified_count,
            upserted_id,
        })
    }

    async fn delete_one(&self, id: ObjectId) -> Result<u64, StoreError> {
        self.ready().await?;
        let result = self
            .posts
            .delete_one(doc! { "_id": id })
            .await
            .map_err(map_error)?;
        Ok(result.deleted_count)
    }
}
