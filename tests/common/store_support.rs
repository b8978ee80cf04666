//! Shared helpers for the store tests (`tests/store_*.rs`): scratch directories, scratch
//! MongoDB databases, and the rule for when MongoDB tests run.
//!
//! MongoDB tests need `MONGODB_URI`. Without it they print a line saying they were skipped
//! and pass; with `REQUIRE_MONGODB=1` (as CI sets) a missing URI fails them instead, so a
//! misconfigured CI cannot pass by skipping everything.

#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::path::{Path, PathBuf};

use groundup::store::{self, Backend, Store, StoreConfig};

/// The embedded file's `meta` table, where the store records the file's layout.
pub const META: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("meta");

/// The format an embedded store's file records, read in `txn`.
pub fn file_format(txn: &redb::ReadTransaction) -> u64 {
    let meta = txn.open_table(META).expect("the file has a meta table");
    meta.get("format")
        .unwrap()
        .expect("a format is recorded")
        .value()
}

/// True when MongoDB tests must run (`REQUIRE_MONGODB=1`).
pub fn mongodb_required() -> bool {
    std::env::var("REQUIRE_MONGODB").is_ok_and(|v| v == "1")
}

/// The MongoDB URI to test against, or `None` after printing a skip line.
///
/// # Panics
///
/// When no URI is set and `REQUIRE_MONGODB=1`.
pub fn mongo_uri(test: &str) -> Option<String> {
    match std::env::var("MONGODB_URI").ok().filter(|v| !v.is_empty()) {
        Some(uri) => Some(uri),
        None if mongodb_required() => {
            panic!("{test}: REQUIRE_MONGODB=1 but MONGODB_URI is not set")
        }
        None => {
            println!("skipped {test}: MONGODB_URI is not set");
            None
        }
    }
}

/// A random name, unique per test: `<prefix>_<16 hex digits>`.
pub fn scratch_name(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    format!("{prefix}_{}", hex::encode(bytes))
}

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates a fresh directory.
    pub fn new() -> TempDir {
        let path = std::env::temp_dir().join(scratch_name("groundup_store_test"));
        std::fs::create_dir_all(&path).expect("temp dir is writable");
        TempDir(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Best effort: a leftover temp dir is harmless.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Opens an embedded store in a fresh directory.
pub async fn embedded_store() -> (Store, TempDir) {
    let dir = TempDir::new();
    let config = StoreConfig {
        backend: Backend::Embedded {
            data_dir: dir.path().to_path_buf(),
        },
        database: "groundup".into(),
    };
    let store = store::open(&config).await.expect("embedded store opens");
    (store, dir)
}

/// Opens a MongoDB store on a fresh database `groundup_test_<random>`.
pub async fn mongo_store(uri: &str) -> (Store, String) {
    let database = scratch_name("groundup_test");
    (mongo_store_on(uri, &database).await, database)
}

/// Opens a MongoDB store on `database`, with a client of its own: what a second server
/// process on the same database has.
pub async fn mongo_store_on(uri: &str, database: &str) -> Store {
    let config = StoreConfig {
        backend: Backend::Mongo {
            uri: uri.to_string(),
            variable: "MONGODB_URI",
        },
        database: database.to_string(),
    };
    store::open(&config).await.expect("MongoDB store opens")
}

/// Drops a scratch database.
pub async fn drop_database(store: &Store, database: &str) {
    if let Store::Mongo(mongo) = store {
        mongo
            .client()
            .database(database)
            .drop()
            .await
            .expect("scratch database drops");
    }
}
