//! Faults: bad configuration, an unreachable database, and a database that goes away and
//! comes back while the same `Store` value keeps being used.
//!
//! The restart tests run their own MongoDB-compatible server (the FerretDB test binary
//! built by `.ci/mongo-server build`) on a free port with a private data directory. They
//! find it through `GROUNDUP_MONGO_SERVER_BIN`, or at `target/mongo-server/ferretdb-test`
//! when `REQUIRE_MONGODB=1`; otherwise they print a skip line.

#[path = "common/store_support.rs"]
mod store_support;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bson::doc;
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

/// The test server binary, or `None` after printing a skip line.
fn server_binary(test: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("GROUNDUP_MONGO_SERVER_BIN") {
        return Some(PathBuf::from(path));
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/mongo-server/ferretdb-test");
    if store_support::mongodb_required() {
        assert!(
            built.exists(),
            "{test}: REQUIRE_MONGODB=1 but {} is missing; run .ci/mongo-server build",
            built.display()
        );
        return Some(built);
    }
    println!("skipped {test}: set GROUNDUP_MONGO_SERVER_BIN to the FerretDB test server binary");
    None
}

/// A test server process on its own port and data directory; killed when dropped.
struct TestServer {
    binary: PathBuf,
    port: u16,
    data: store_support::TempDir,
    child: Option<Child>,
}

impl TestServer {
    fn new(binary: PathBuf) -> TestServer {
        // Port 0 asks the OS for a free port; we release it for the server to take.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        TestServer {
            binary,
            port,
            data: store_support::TempDir::new(),
            child: None,
        }
    }

    fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/", self.port)
    }

    /// Starts the server on the same data directory and waits until it answers a ping.
    fn start(&mut self) {
        let child = Command::new(&self.binary)
            .args(["-port", &self.port.to_string(), "-data-dir"])
            .arg(self.data.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("test server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.answers_ping() {
            assert!(
                Instant::now() < deadline,
                "test server did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn answers_ping(&self) -> bool {
        Command::new(&self.binary)
            .args(["-ping", "-port", &self.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    }

    /// Kills the server (SIGKILL: the harshest way for a database to go away).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
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
    let mut server = TestServer::new(binary);
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
    let mut server = TestServer::new(binary);
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
