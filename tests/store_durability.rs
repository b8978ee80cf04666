//! An acknowledged write to the embedded store survives `kill -9`.
//!
//! The test runs itself twice. The parent test starts this same test binary again
//! (`std::env::current_exe()`), asking it to run only [`durability_writer_child`], with
//! [`CHILD_DIR`] set. That child inserts posts in a loop and prints `ACK <id>` after each
//! `insert_one` returns, which is after redb's durable commit. The parent reads the ids,
//! kills the child with SIGKILL while it is writing, reopens the store and checks that every
//! id it was told about is there. Ids the child never printed may or may not be present;
//! that is the contract of an unacknowledged write.

#[path = "common/store_support.rs"]
mod store_support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::str::FromStr;

use bson::oid::ObjectId;
use bson::{DateTime, doc};
use groundup::store::{self, Backend, FindOptions, NewPost, PostFilter, PostStore, StoreConfig};

/// Set in the child's environment: the data directory to write to. Its presence is what
/// makes [`durability_writer_child`] act as the writer.
const CHILD_DIR: &str = "GROUNDUP_DURABILITY_CHILD_DIR";

/// How many acknowledgements the parent waits for before it kills the child.
const ACKS_BEFORE_KILL: usize = 100;

fn config(dir: PathBuf) -> StoreConfig {
    StoreConfig {
        backend: Backend::Embedded { data_dir: dir },
        database: "groundup".into(),
    }
}

/// The writer. As an ordinary test (no [`CHILD_DIR`]) it has nothing to do.
#[tokio::test]
async fn durability_writer_child() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let store = store::open(&config(PathBuf::from(dir)))
        .await
        .expect("child opens the store");
    for n in 0.. {
        let post = NewPost {
            author: ObjectId::new(),
            title: format!("post {n}"),
            body: "x".repeat(256),
            tags: vec!["durability".into()],
            created_at: DateTime::now(),
            extra: doc! { "n": n },
        };
        let id = store.insert_one(post).await.expect("insert");
        // Rust's stdout is line-buffered even into a pipe, so this line leaves the process
        // before the next insert starts.
        println!("ACK {id}");
    }
}

#[tokio::test]
async fn acknowledged_inserts_survive_kill_9() {
    let dir = store_support::TempDir::new();
    let mut child = Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            "durability_writer_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut lines = BufReader::new(stdout).lines();

    let mut acked = Vec::new();
    while acked.len() < ACKS_BEFORE_KILL {
        let line = lines
            .next()
            .expect("child is still writing")
            .expect("readable stdout");
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.push(ObjectId::from_str(id).expect("an ObjectId"));
        }
    }
    child.kill().expect("SIGKILL the writer mid-stream");
    // Lines already in the pipe were acknowledged before the kill: they count too.
    for line in lines {
        if let Some(id) = line.expect("readable stdout").strip_prefix("ACK ") {
            acked.push(ObjectId::from_str(id).expect("an ObjectId"));
        }
    }
    child.wait().expect("child is reaped");

    let store = store::open(&config(dir.path().to_path_buf()))
        .await
        .expect("reopens after kill -9");
    for id in &acked {
        assert!(
            store.find_one(*id).await.unwrap().is_some(),
            "acknowledged post {id} was lost"
        );
    }
    let mut cursor = store
        .find(PostFilter::default(), FindOptions::default())
        .await
        .unwrap();
    let mut stored = 0;
    while let Some(doc) = cursor.next().await {
        doc.expect("every stored post decodes");
        stored += 1;
    }
    assert!(
        stored >= acked.len(),
        "{stored} stored < {} acknowledged",
        acked.len()
    );
    println!(
        "{} acknowledged, {stored} stored after kill -9",
        acked.len()
    );
}
