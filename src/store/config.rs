//! Choosing and configuring a store from the environment and the command line.
//!
//! | setting | source | default |
//! |---|---|---|
//! | backend | `--store mongo\|embedded` | MongoDB if a URI is set, else embedded |
//! | MongoDB URI | `MONGODB_URI`, or its alias `MONGO_CLIENT_URL` | none |
//! | database | `GROUNDUP_DB` | `groundup` |
//! | embedded data directory | `--data-dir` | `./groundup-data` |
//!
//! The collection names are fixed: [`USERS`], [`SESSIONS`], [`POSTS`], and on MongoDB
//! [`LOGIN_ATTEMPTS`]. The embedded store
//! uses the database name for its file, `<data-dir>/<database>.redb`, so `GROUNDUP_DB`
//! means the same thing for both backends.
//!
//! [`StoreConfig::resolve`] takes the environment as a lookup function, so tests can feed it
//! a map instead of mutating the process environment.

use std::path::PathBuf;

use super::StoreError;

/// The collection (MongoDB) or table (embedded) holding users.
pub const USERS: &str = "users";
/// The collection or table holding sessions.
pub const SESSIONS: &str = "sessions";
/// The collection or table holding posts.
pub const POSTS: &str = "posts";
/// The MongoDB collection counting login attempts (the embedded store counts them in memory).
pub const LOGIN_ATTEMPTS: &str = "login_attempts";

/// The environment variable naming the MongoDB deployment.
pub const MONGODB_URI: &str = "MONGODB_URI";
/// An accepted alias for [`MONGODB_URI`] (the name the seed's notes use).
pub const MONGO_CLIENT_URL: &str = "MONGO_CLIENT_URL";
/// The environment variable naming the database.
pub const GROUNDUP_DB: &str = "GROUNDUP_DB";
/// The database name when [`GROUNDUP_DB`] is unset.
pub const DEFAULT_DATABASE: &str = "groundup";
/// The embedded store's directory when `--data-dir` is not given.
pub const DEFAULT_DATA_DIR: &str = "./groundup-data";

/// The `--store` choice on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StoreChoice {
    /// MongoDB when a URI is configured, otherwise embedded.
    #[default]
    Auto,
    /// MongoDB; a missing URI is an error.
    Mongo,
    /// The embedded store, even if a URI is set.
    Embedded,
}

/// Which backend, and where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A MongoDB deployment.
    Mongo {
        /// The connection string (may hold a password: never log it).
        uri: String,
        /// The variable it came from, for error messages.
        variable: &'static str,
    },
    /// The redb file under a directory.
    Embedded {
        /// The directory holding `<database>.redb`.
        data_dir: PathBuf,
    },
}

/// Everything [`open`](super::open) needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The backend to open.
    pub backend: Backend,
    /// The database name (MongoDB) or file stem (embedded).
    pub database: String,
}

impl StoreConfig {
    /// Reads the process environment; see [`resolve`](Self::resolve).
    ///
    /// # Errors
    ///
    /// As for [`resolve`](Self::resolve).
    pub fn from_env(choice: StoreChoice, data_dir: Option<PathBuf>) -> Result<Self, StoreError> {
        Self::resolve(choice, data_dir, |name| std::env::var(name).ok())
    }

    /// Builds a configuration from the `--store` choice, the `--data-dir` option and an
    /// environment lookup. Empty variables count as unset.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] naming `MONGODB_URI` when MongoDB is chosen but no URI is
    /// set, or naming `GROUNDUP_DB` when the database name is not one MongoDB accepts.
    pub fn resolve(
        choice: StoreChoice,
        data_dir: Option<PathBuf>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, StoreError> {
        let set = |name: &'static str| {
            env(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (v, name))
        };
        let uri = set(MONGODB_URI).or_else(|| set(MONGO_CLIENT_URL));
        let database = set(GROUNDUP_DB).map_or_else(|| DEFAULT_DATABASE.to_string(), |(v, _)| v);
        check_database_name(&database)?;
        let embedded = || Backend::Embedded {
            data_dir: data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
        };
        let backend = match (choice, uri) {
            (StoreChoice::Embedded, _) | (StoreChoice::Auto, None) => embedded(),
            (StoreChoice::Mongo | StoreChoice::Auto, Some((uri, variable))) => {
                Backend::Mongo { uri, variable }
            }
            (StoreChoice::Mongo, None) => {
                return Err(StoreError::Config {
                    variable: MONGODB_URI.to_string(),
                    reason: format!(
                        "--store mongo needs {MONGODB_URI} (or {MONGO_CLIENT_URL}) to be set"
                    ),
                });
            }
        };
        Ok(StoreConfig { backend, database })
    }
}

/// MongoDB database names cannot contain `/\. "$` or NUL and are at most 63 bytes; the same
/// rule keeps the embedded file name a plain file name.
fn check_database_name(name: &str) -> Result<(), StoreError> {
    let bad = name.is_empty()
        || name.len() > 63
        || name
            .chars()
            .any(|c| matches!(c, '/' | '\\' | '.' | ' ' | '"' | '$' | '\0'));
    if bad {
        return Err(StoreError::Config {
            variable: GROUNDUP_DB.to_string(),
            reason: format!(
                "{name:?} is not a valid database name (1-63 bytes, none of / \\ . space \" $)"
            ),
        });
    }
    Ok(())
}
