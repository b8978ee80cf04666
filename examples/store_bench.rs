//! Insert and find_one throughput of the embedded store, and of MongoDB when
//! `MONGODB_URI` is set. A rough guide to what each costs on this machine, not a test.
//!
//! ```text
//! cargo run --release --example store_bench [-- <operations> <concurrency>]
//! MONGODB_URI=mongodb://127.0.0.1:27017/ cargo run --release --example store_bench
//! ```
//!
//! Each run inserts `operations` posts (default 2000) from `concurrency` tasks (default 1,
//! then 16), then reads each back by id with `find_one`. Every embedded insert is a durable
//! commit (an fsync), so insert throughput is mostly the disk's flush latency, and
//! concurrency does not help: redb runs one write transaction at a time.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use bson::oid::ObjectId;
use bson::{DateTime, doc};
use groundup::store::{self, Backend, NewPost, PostStore, Store, StoreConfig};

fn post(n: usize) -> NewPost {
    NewPost {
        author: ObjectId::new(),
        title: format!("post {n}"),
        body: "lorem ipsum ".repeat(40),
        tags: vec!["bench".into(), "store".into()],
        created_at: DateTime::now(),
        extra: doc! { "likes": 0, "views": 0 },
    }
}

/// Runs `operations` calls of `op` spread over `concurrency` tasks; returns calls per second.
async fn measure<F, Fut>(operations: usize, concurrency: usize, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let op = Arc::clone(&op);
        tasks.push(tokio::spawn(async move {
            for n in (worker..operations).step_by(concurrency) {
                op(n).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("benchmark task");
    }
    operations as f64 / started.elapsed().as_secs_f64()
}

async fn bench(name: &str, store: Store, operations: usize, concurrency: usize) {
    let store = Arc::new(store);
    let ids = Arc::new(Mutex::new(vec![ObjectId::new(); operations]));
    let (s, i) = (Arc::clone(&store), Arc::clone(&ids));
    let inserts = measure(operations, concurrency, move |n| {
        let (s, i) = (Arc::clone(&s), Arc::clone(&i));
        async move {
            let id = s.insert_one(post(n)).await.expect("insert");
            i.lock().expect("ids lock")[n] = id;
        }
    })
    .await;
    let ids: Arc<Vec<ObjectId>> = Arc::new(ids.lock().expect("ids lock").clone());
    let s = Arc::clone(&store);
    let finds = measure(operations, concurrency, move |n| {
        let (s, ids) = (Arc::clone(&s), Arc::clone(&ids));
        async move {
            let found = s.find_one(ids[n]).await.expect("find_one");
            assert!(found.is_some(), "inserted post is found");
        }
    })
    .await;
    println!(
        "{name:<9} concurrency {concurrency:>2}: insert_one {inserts:>8.0}/s   find_one {finds:>8.0}/s"
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let operations: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let concurrencies: Vec<usize> = match args.next().and_then(|a| a.parse().ok()) {
        Some(c) => vec![c],
        None => vec![1, 16],
    };
    println!("{operations} operations per measurement");
    for &concurrency in &concurrencies {
        let dir = std::env::temp_dir().join(format!("groundup_store_bench_{}", ObjectId::new()));
        let config = StoreConfig {
            backend: Backend::Embedded {
                data_dir: dir.clone(),
            },
            database: "bench".into(),
        };
        let embedded = store::open(&config).await.expect("embedded store");
        bench("embedded", embedded, operations, concurrency).await;
        // Best effort: a leftover temp dir is harmless.
        let _ = std::fs::remove_dir_all(&dir);

        if let Ok(uri) = std::env::var("MONGODB_URI") {
            let database = format!("groundup_bench_{}", ObjectId::new());
            let config = StoreConfig {
                backend: Backend::Mongo {
                    uri,
                    variable: "MONGODB_URI",
                },
                database: database.clone(),
            };
            let store = store::open(&config).await.expect("MongoDB store");
            let client = match &store {
                Store::Mongo(mongo) => Some(mongo.client().clone()),
                Store::Embedded(_) => None,
            };
            bench("mongodb", store, operations, concurrency).await;
            if let Some(client) = client {
                client
                    .database(&database)
                    .drop()
                    .await
                    .expect("drop bench database");
            }
        }
    }
}
