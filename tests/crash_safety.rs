//! `kill -9` while clients write, on the embedded store: every post that was
//! answered `201 Created` must be there after a restart.
//!
//! A 201 is a promise. The embedded store commits (and fsyncs) each insert
//! before the handler answers, so the promise holds even when the process dies
//! mid-flight. Posts whose requests were cut off by the kill may or may not
//! have landed (their commit may have finished just before the kill); both
//! are fine, and the test counts them.
//!
//! Each of [`ROUNDS`] rounds starts the real binary on the same data
//! directory, gets a bearer token, lets [`WRITERS`] clients create posts, kills
//! the process with SIGKILL once [`ACKNOWLEDGED_BEFORE_KILL`] posts have been
//! acknowledged (while others are still in flight), and restarts it to check.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::binary::ServerProcess;
use common::store_support::{self, TempDir};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

const ROUNDS: usize = 3;
const WRITERS: usize = 4;
const ACKNOWLEDGED_BEFORE_KILL: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_post_survives_kill_minus_nine() {
    let data = TempDir::new();
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    let mut in_flight_landed = 0;
    let mut summary = Vec::new();

    for round in 0..ROUNDS {
        let mut server = ServerProcess::start(data.path(), None);
        if round == 0 {
            let account = r#"{"username":"ada","password":"correct horse battery"}"#;
            let (status, _) = call(server.addr, "POST", "/api/register", None, account).await;
            assert_eq!(status, 201);
        }
        let token = token(server.addr).await;

        let acks = Arc::new(Mutex::new(Vec::new()));
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let (addr, token, acks) = (server.addr, token.clone(), Arc::clone(&acks));
                tokio::spawn(async move {
                    for n in 0.. {
                        let body = format!("round {round}, writer {writer}, post {n}");
                        let json = format!(r#"{{"title":"crash","body":"{body}"}}"#);
                        let Some((201, response)) =
                            try_call(addr, "POST", "/api/posts", Some(&token), &json).await
                        else {
                            return; // the server is gone
                        };
                        let id = response["id"].as_str().unwrap().to_owned();
                        acks.lock().await.push((id, body));
                    }
                })
            })
            .collect();
        while acks.lock().await.len() < ACKNOWLEDGED_BEFORE_KILL {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        server.kill();
        for writer in writers {
            writer.await.unwrap();
        }
        let acked_this_round = std::mem::take(&mut *acks.lock().await);
        let acked_count = acked_this_round.len();
        acknowledged.extend(acked_this_round);

        // Restart on the same files and look for every acknowledged post.
        let server = ServerProcess::start(data.path(), None);
        let mut missing = Vec::new();
        for (id, body) in &acknowledged {
            let (status, post) =
                call(server.addr, "GET", &format!("/api/posts/{id}"), None, "").await;
            if status != 200 || post["body"] != body.as_str() {
                missing.push(format!("{id} ({status})"));
            }
        }
        assert!(
            missing.is_empty(),
            "round {round}: acknowledged posts lost after kill -9: {missing:?}"
        );
        let (_, all) = call(
            server.addr,
            "GET",
            "/api/posts?author=ada&limit=100000",
            None,
            "",
        )
        .await;
        let stored = all.as_array().unwrap().len();
        in_flight_landed = stored - acknowledged.len();
        summary.push(format!("round {round}: {acked_count} acknowledged"));
        drop(server);
    }
    println!(
        "crash safety: {} ({} acknowledged in all, all found; {in_flight_landed} unacknowledged in-flight posts also landed)",
        summary.join(", "),
        acknowledged.len()
    );
}

/// Logs ada in and returns a bearer token.
async fn token(addr: SocketAddr) -> String {
    let login = r#"{"identifier":"ada","password":"correct horse battery"}"#;
    let (status, response) = call(addr, "POST", "/api/token", None, login).await;
    assert_eq!(status, 200);
    response["token"].as_str().unwrap().to_owned()
}

/// One request on its own connection; panics if there is no answer.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    json: &str,
) -> (u16, serde_json::Value) {
    try_call(addr, method, path, token, json)
        .await
        .expect("the server answers")
}

/// One request on its own connection, or `None` if the connection failed
/// before a whole response arrived (the server was killed).
async fn try_call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    json: &str,
) -> Option<(u16, serde_json::Value)> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    let authorization = token.map_or(String::new(), |token| {
        format!("Authorization: Bearer {token}\r\n")
    });
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{authorization}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
        json.len()
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    tokio::time::timeout(common::PATIENCE, stream.read_to_end(&mut response))
        .await
        .expect("an answer or a closed connection")
        .ok()?;
    let text = String::from_utf8(response).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.get(9..12)?.parse().ok()?;
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body)?
    } else {
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))?
            .parse()
            .ok()?;
        body.get(..length)?.to_owned() // None: cut off mid-body
    };
    Some((status, serde_json::from_str(&body).ok()?))
}

/// A chunked body's content (the streamed post list), or `None` if it is
/// cut off before its last chunk.
fn dechunk(mut rest: &str) -> Option<String> {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size, 16).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.push_str(after.get(..size)?);
        rest = after.get(size + 2..)?;
    }
}

/// Posts in the file the index-build test upgrades: enough that building their indexes takes
/// the binary a while, so the kills below can land in the middle of it.
const POSTS_TO_INDEX: usize = 30_000;

/// `kill -9` while the server builds the posts' indexes on opening a format-3 file, at a
/// quarter, half and three quarters of the time a start with the upgrade takes: the build is
/// one write transaction, so the file is left either as it was (format 3, no index tables)
/// or fully upgraded, and the next start finishes the job and lists every post.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_the_index_build_leaves_a_file_that_opens() {
    use groundup::store::embedded::EmbeddedStore;
    use groundup::store::{FindOptions, NewPost, PostFilter, PostStore};
    use redb::{ReadableDatabase, ReadableTableMetadata, TableDefinition};

    type Id = [u8; 12];
    const BY_CREATED: TableDefinition<(i64, Id), ()> = TableDefinition::new("posts_by_created");
    const BY_AUTHOR: TableDefinition<(Id, i64, Id), ()> = TableDefinition::new("posts_by_author");
    const BY_TAG: TableDefinition<(&str, i64, Id), ()> = TableDefinition::new("posts_by_tag");
    const BY_TITLE: TableDefinition<(&str, Id), ()> = TableDefinition::new("posts_by_title");
    const UNINDEXED: TableDefinition<(u8, Id), ()> = TableDefinition::new("posts_unindexed");

    let data = TempDir::new();
    let file = data.path().join("groundup.redb");
    {
        let store = EmbeddedStore::open(data.path(), "groundup").await.unwrap();
        for batch in 0..POSTS_TO_INDEX / 1000 {
            let posts = (0..1000)
                .map(|n| NewPost {
                    author: bson::oid::ObjectId::from_bytes([7; 12]),
                    title: format!("post {batch}/{n}"),
                    body: String::new(),
                    tags: vec![format!("t{}", n % 10)],
                    created_at: bson::DateTime::from_millis((batch * 1000 + n) as i64),
                    extra: bson::Document::new(),
                })
                .collect();
            store.insert_many(posts).await.unwrap();
        }
    }
    // Back to the layout of a file written before the indexes.
    {
        let db = redb::Database::create(&file).unwrap();
        let txn = db.begin_write().unwrap();
        txn.delete_table(BY_CREATED).unwrap();
        txn.delete_table(BY_AUTHOR).unwrap();
        txn.delete_table(BY_TAG).unwrap();
        txn.delete_table(BY_TITLE).unwrap();
        txn.delete_table(UNINDEXED).unwrap();
        txn.open_table(store_support::META)
            .unwrap()
            .insert("format", 3)
            .unwrap();
        txn.commit().unwrap();
    }

    // How long a start takes on this file, upgrade included: timed on a copy, so the kills
    // below can be placed inside the upgrade, before the server would listen.
    let copy = TempDir::new();
    std::fs::copy(&file, copy.path().join("groundup.redb")).unwrap();
    let started = std::time::Instant::now();
    drop(ServerProcess::start(copy.path(), None));
    let upgrade = started.elapsed();

    let mut seen = Vec::new();
    for quarter in 1..=3 {
        let delay = upgrade * quarter / 4;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_groundup"))
            .args([
                "--store",
                "embedded",
                "--listen",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(data.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(delay).await;
        let _ = child.kill();
        let _ = child.wait();
        // Whatever the moment, the file opens, and is one format or the other, whole.
        let db = redb::Database::create(&file).expect("the file opens after the kill");
        let txn = db.begin_read().unwrap();
        let format = store_support::file_format(&txn);
        match format {
            3 => assert!(
                txn.open_table(BY_CREATED).is_err(),
                "format 3 with an index"
            ),
            4 => {
                let entries = txn.open_table(BY_CREATED).unwrap().len().unwrap();
                assert_eq!(
                    entries, POSTS_TO_INDEX as u64,
                    "format 4 with a partial index"
                );
            }
            other => panic!("format {other}"),
        }
        seen.push((delay, format));
        if format == 4 {
            break;
        }
    }
    println!(
        "a start with the upgrade took {upgrade:?}; killed at (moment, format left): {seen:?}"
    );

    let store = EmbeddedStore::open(data.path(), "groundup").await.unwrap();
    let options = FindOptions {
        limit: None,
        ..FindOptions::default()
    };
    let mut cursor = store.find(PostFilter::default(), options).await.unwrap();
    let mut listed = 0;
    let mut last = i64::MAX;
    while let Some(post) = cursor.next().await {
        let created = post
            .unwrap()
            .get_datetime("created_at")
            .unwrap()
            .timestamp_millis();
        assert!(created < last, "newest first");
        last = created;
        listed += 1;
    }
    assert_eq!(listed, POSTS_TO_INDEX);
}
