//! Faults: bad configuration, an unreachable database, and a database that goes away and
//! comes back while the same `Store` value keeps being used.
//!
//! The restart tests run their own MongoDB-compatible server ([`common::mongo_process`]).

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bson::doc;
use common::mongo_process::{MongoProcess, server_binary};
use groundup::store::{
    self, Backend, NewPost, NewUser, PostStore, SessionStore, Store, StoreChoice, StoreConfig,
    StoreError, UserStore,
};

// --- configuration ------------------------------------------------------------------

fn resolve(choice: StoreChoice, vars: &[(&str, &str)]) -> Result<StoreConfig, StoreError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    StoreConfig::resolve(choice, None, |name| vars.get(name).cloned())
}

#[test]
fn no_uri_means_embedded_in_the_default_dir() {
    let config = resolve(StoreChoice::Auto, &[]).unwrap();
    assert_eq!(
        config.backend,
        Backend::Embedded {
            data_dir: PathBuf::from("./groundup-data")
        }
    );
    assert_eq!(config.database, "groundup");
}

#[test]
fn uri_selects_mongo_and_alias_is_accepted() {
    let config = resolve(
        StoreChoice::Auto,
        &[
            ("MONGO_CLIENT_URL", "mongodb://db:27017/"),
            ("GROUNDUP_DB", "blog"),
        ],
    )
    .unwrap();
    assert_eq!(
        config.backend,
        Backend::Mongo {
            uri: "mongodb://db:27017/".into(),
            variable: "MONGO_CLIENT_URL"
        }
    );
    assert_eq!(config.database, "blog");
    let both = resolve(
        StoreChoice::Auto,
        &[
            ("MONGO_CLIENT_URL", "mongodb://b/"),
            ("MONGODB_URI", "mongodb://a/"),
        ],
    );
    assert!(matches!(
        both.unwrap().backend,
        Backend::Mongo {
            variable: "MONGODB_URI",
            ..
        }
    ));
}

#[test]
fn embedded_choice_ignores_the_uri() {
    let config = resolve(StoreChoice::Embedded, &[("MONGODB_URI", "mongodb://db/")]).unwrap();
    assert!(matches!(config.backend, Backend::Embedded { .. }));
}

#[test]
fn mongo_choice_without_uri_names_the_variable() {
    let error = resolve(StoreChoice::Mongo, &[("MONGODB_URI", "  ")]).unwrap_err();
    assert!(matches!(&error, StoreError::Config { variable, .. } if variable == "MONGODB_URI"));
    assert!(error.to_string().contains("MONGODB_URI"), "{error}");
}

#[test]
fn bad_database_name_names_the_variable() {
    for bad in ["a/b", "a.b", "x$", &"d".repeat(64)] {
        let error = resolve(StoreChoice::Auto, &[("GROUNDUP_DB", bad)]).unwrap_err();
        assert!(error.to_string().contains("GROUNDUP_DB"), "{bad}: {error}");
    }
}

#[tokio::test]
async fn malformed_uri_names_the_variable() {
    for (uri, variable) in [
        ("http://localhost/", "MONGODB_URI"),
        ("mongodb://", "MONGO_CLIENT_URL"),
    ] {
        let config = StoreConfig {
            backend: Backend::Mongo {
                uri: uri.into(),
                variable,
            },
            database: "groundup".into(),
        };
        let error = store::open(&config).await.unwrap_err();
        assert!(
            matches!(&error, StoreError::Config { .. }),
            "{uri}: {error:?}"
        );
        assert!(error.to_string().contains(variable), "{uri}: {error}");
    }
}

// --- an unreachable database ---------------------------------------------------------

/// Opening succeeds (the driver connects lazily) and operations fail fast as Unavailable.
#[tokio::test]
async fn unreachable_database_is_unavailable_within_seconds() {
    let started = Instant::now();
    let config = StoreConfig {
        backend: Backend::Mongo {
            uri: "mongodb://127.0.0.1:1/".into(),
            variable: "MONGODB_URI",
        },
        database: "groundup".into(),
    };
    let store = store::open(&config)
        .await
        .expect("open does not need the database");
    assert!(
        store.describe().contains("127.0.0.1:1"),
        "{}",
        store.describe()
    );
    let error = store
        .load("00")
        .await
        .expect_err("nothing listens on port 1");
    assert!(error.is_unavailable(), "{error:?}");
    let error = store.insert_one(post("x")).await.expect_err("still down");
    assert!(error.is_unavailable(), "{error:?}");
    // Open (one index attempt) plus two operations, each bounded by the 2 s timeout.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

// --- a database that goes away and comes back ----------------------------------------

fn post(title: &str) -> NewPost {
    NewPost {
        author: bson::oid::ObjectId::new(),
        title: title.into(),
        body: "b".into(),
        tags: vec![],
        created_at: bson::DateTime::now(),
        extra: doc! { "likes": 0 },
    }
}

async fn open_mongo(uri: &str) -> Store {
    let config = StoreConfig {
        backend: Backend::Mongo {
            uri: uri.into(),
            variable: "MONGODB_URI",
        },
        database: "groundup_faults".into(),
    };
    store::open(&config).await.expect("open")
}

/// Retries `op` until it succeeds or `limit` passes; the driver needs a moment to notice
/// that a server is back (it re-checks at least every 500 ms while operations wait).
async fn eventually<T, F, Fut>(limit: Duration, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let deadline = Instant::now() + limit;
    loop {
        match op().await {
            Ok(value) => return value,
            Err(e) if e.is_unavailable() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("store did not recover within {limit:?}: {e:?}"),
        }
    }
}

#[tokio::test]
async fn mongo_store_recovers_when_the_server_restarts() {
    let Some(binary) = server_binary("mongo_store_recovers_when_the_server_restarts") else {
        return;
    };
    let mut server = MongoProcess::new(binary);
    server.start();
    let store = open_mongo(&server.uri()).await;
    let id = store
        .insert_one(post("before"))
        .await
        .expect("insert while up");

    server.stop();
    let started = Instant::now();
    let error = store.find_one(id).await.expect_err("server is down");
    assert!(error.is_unavailable(), "{error:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    server.start(); // same data directory
    let found = eventually(Duration::from_secs(15), || store.find_one(id)).await;
    assert_eq!(
        found
            .and_then(|d| d.get_str("title").ok().map(str::to_string))
            .as_deref(),
        Some("before")
    );
    let second = store
        .insert_one(post("after"))
        .await
        .expect("insert after recovery");
    assert_ne!(second, id);
}

#[tokio::test]
async fn mongo_store_opened_while_down_creates_indexes_on_recovery() {
    let Some(binary) = server_binary("mongo_store_opened_while_down_creates_indexes_on_recovery")
    else {
        return;
    };
    let mut server = MongoProcess::new(binary);
    let store = open_mongo(&server.uri()).await; // nothing listening yet
    let user = NewUser {
        username: "ada".into(),
        email: None,
        password_hash: "h".into(),
    };
    let error = store
        .create_user(user.clone())
        .await
        .expect_err("server is down");
    assert!(error.is_unavailable(), "{error:?}");

    server.start();
    eventually(Duration::from_secs(15), || store.create_user(user.clone())).await;
    // The unique index was created by that first successful call.
    match store.create_user(user).await {
        Err(StoreError::Duplicate { field }) => assert_eq!(field, "username"),
        other => panic!("expected Duplicate, got {other:?}"),
    }
}

/// Polls `store.is_reachable()` until it equals `expected`, with no store operations in
/// between: only the store's own monitor can change it.
async fn reachability_turns(store: &Store, expected: bool) -> Duration {
    let started = Instant::now();
    while store.is_reachable() != expected {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "is_reachable() stayed {} for 15 s",
            !expected
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn mongo_store_monitor_tracks_the_server_without_traffic() {
    let Some(binary) = server_binary("mongo_store_monitor_tracks_the_server_without_traffic")
    else {
        return;
    };
    let mut server = MongoProcess::new(binary);
    server.start();
    let store = open_mongo(&server.uri()).await;
    assert!(store.is_reachable(), "reachable after opening");

    server.stop();
    let down = reachability_turns(&store, false).await;
    server.start();
    let up = reachability_turns(&store, true).await;
    println!("monitor: noticed the outage after {down:?}, the return after {up:?}");
}
