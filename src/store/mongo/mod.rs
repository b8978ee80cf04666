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
//! [`StoreError::UpdateFailed`] with the same [`UpdateFailure`](crate::store::UpdateFailure) the embedded store reports,
//! and anything meaning "could not reach a server" becomes [`StoreError::Unavailable`].
//!
//! **FerretDB.** The test server is FerretDB (MongoDB's wire protocol over SQLite). Where it
//! differs from MongoDB the code below does what is right for MongoDB and tolerates FerretDB;
//! each place says so in a comment.

//!
//! The code, by what it serves: `indexes.rs` (the table above, created once), `errors.rs`
//! (driver errors to [`StoreError`]), `users.rs`, `sessions.rs`, `attempts.rs` (the login
//! throttle's shared counts) and `posts.rs` (with the cursor the list streams from).

mod attempts;
mod errors;
mod indexes;
mod posts;
mod sessions;
mod users;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bson::{Document, doc};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database};
use tokio::sync::Mutex;

use super::config::{LOGIN_ATTEMPTS, POSTS, SESSIONS, USERS};
use super::{Identity, SessionRecord, StoreError, User};
pub(crate) use errors::map_error;

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
    pub(super) users: Collection<Document>,
    pub(super) sessions: Collection<Document>,
    /// `users` read as [`User`].
    pub(super) typed_users: Collection<User>,
    /// `users` read as [`Identity`], for reads that leave the password hash out.
    pub(super) identities: Collection<Identity>,
    /// `sessions` read as [`SessionRecord`].
    pub(super) typed_sessions: Collection<SessionRecord>,
    pub(super) posts: Collection<Document>,
    /// Login attempt counts (see [`attempts`](super::attempts)).
    pub(super) login_attempts: Collection<Document>,
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
    pub(super) async fn ready(&self) -> Result<(), StoreError> {
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
        match indexes::create(self).await {
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

    pub(super) async fn find_user(&self, filter: Document) -> Result<Option<User>, StoreError> {
        self.ready().await?;
        self.typed_users.find_one(filter).await.map_err(map_error)
    }
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
