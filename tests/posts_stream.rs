//! A 100 000-post list streams through the server in bounded memory.
//!
//! The posts are written straight into an embedded store, then read back
//! with one `GET /api/posts?limit=100000` while the test samples the
//! process's resident memory (server and client share this process). The
//! response is some 45 MB of JSON; had the server collected the cursor or
//! the JSON first, memory would grow by more than that. The bound asserted
//! is generous (against allocator noise) yet well below the response size.

mod common;

use std::sync::Arc;

use bson::DateTime;
use bson::oid::ObjectId;
use common::TestServer;
use common::store_support;
use groundup::app::{App, AppConfig};
use groundup::http::Limits;
use groundup::store::{NewPost, PostStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const POSTS: usize = 100_000;
const BATCH: usize = 5_000;
/// Resident memory may grow by at most this much while the list streams.
const GROWTH_BOUND: u64 = 16 * 1024 * 1024;

/// This process's resident set size, from /proc/self/status.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_thousand_posts_stream_in_bounded_memory() {
    let (store, _dir) = store_support::embedded_store().await;
    let author = ObjectId::new();
    let body = "lorem ipsum dolor sit amet ".repeat(10);
    for batch in 0..POSTS / BATCH {
        let posts = (0..BATCH)
            .map(|i| NewPost {
                author,
                title: format!("post {}", batch * BATCH + i),
                body: body.clone(),
                tags: vec!["bulk".into()],
                created_at: DateTime::now(),
                extra: bson::Document::new(),
            })
            .collect();
        store.insert_many(posts).await.unwrap();
    }
    let server = TestServer::start(
        App::new(Arc::new(store), AppConfig::new().unwrap()).unwrap(),
        Limits::default(),
    )
    .await;

    let before = rss_bytes();
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /api/posts?limit=100000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut received = 0u64;
    let mut posts_seen = 0usize;
    let mut peak = before;
    let mut carry: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let read = stream.read(&mut chunk).await.unwrap();
        if read == 0 {
            break;
        }
        received += read as u64;
        // Count posts by their `"id":` keys, minding keys split across reads.
        carry.extend_from_slice(&chunk[..read]);
        posts_seen += carry.windows(5).filter(|w| w == b"\"id\":").count();
        let keep = carry.len().min(4);
        carry.drain(..carry.len() - keep);
        peak = peak.max(rss_bytes());
    }
    let growth = peak.saturating_sub(before);
    println!(
        "streamed {POSTS} posts, {received} bytes; RSS before {before}, peak {peak}, growth {growth} bytes"
    );
    assert_eq!(posts_seen, POSTS);
    assert!(
        received > 2 * GROWTH_BOUND,
        "the response must dwarf the bound to prove anything"
    );
    assert!(
        growth < GROWTH_BOUND,
        "RSS grew by {growth} bytes while streaming"
    );
}
