//! A database outage under load, end to end.
//!
//! Eight clients keep creating posts and reading `/api/me` through the real
//! application on the MongoDB backend. Mid-load the database is killed
//! (SIGKILL), left down for a few seconds, and started again on the same data.
//! What must hold:
//!
//! - before the outage every request succeeds;
//! - during it, every request still gets an answer, and that answer is 503
//!   with `Retry-After` (never a 500, never a hang: each response arrives
//!   within [`RESPONSE_BOUND`]);
//! - `/health` says `degraded` while the database is gone, and `ok` again after;
//! - once `/health` is back to `ok`, requests succeed again, with no restart of
//!   the server;
//! - every post that was answered 201, before or during the outage, is there
//!   afterwards with its body.
//!
//! The database is a private FerretDB process ([`common::mongo_process`]); the
//! test prints a skip line without it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::fixture::{Browser, Fixture};
use common::mongo_process::{MongoProcess, server_binary};
use groundup::app::AppConfig;
use groundup::store::{self, Backend, StoreConfig};
use tokio::sync::Mutex;

const ORIGIN: &str = "Origin: http://t";
const LOAD_CLIENTS: usize = 8;
/// The longest any one response may take. The driver gives up on an
/// unreachable server after its 2 s server-selection timeout and one request
/// makes at most two store calls before it fails, so a response slower than
/// this is a request hanging on a dead database, not a slow one.
const RESPONSE_BOUND: Duration = Duration::from_secs(10);
/// How long a state change (degraded, recovered) may take to show before the
/// test gives up waiting: only a bound against hanging.
const STATE_PATIENCE: Duration = Duration::from_secs(30);

/// One request made by the load.
struct Outcome {
    started: Instant,
    finished: Instant,
    status: u16,
    retry_after: bool,
    /// For a 201: the new post's id and the body it was sent with.
    created: Option<(String, String)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_outage_under_load_is_503_then_recovers_by_itself() {
    let Some(binary) = server_binary("database_outage_under_load_is_503_then_recovers_by_itself")
    else {
        return;
    };
    let mut database = MongoProcess::new(binary);
    database = tokio::task::spawn_blocking(move || {
        database.start();
        database
    })
    .await
    .unwrap();
    let config = StoreConfig {
        backend: Backend::Mongo {
            uri: database.uri(),
            variable: "MONGODB_URI",
        },
        database: "groundup_outage".into(),
    };
    let store = store::open(&config).await.expect("the database is up");
    let fixture = Fixture::serve(Arc::new(store), AppConfig::new().unwrap(), None, None).await;
    let cookies = logged_in_cookies(&fixture).await;

    let running = Arc::new(AtomicBool::new(true));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for client in 0..LOAD_CLIENTS {
        let mut browser = fixture.browser();
        browser.cookies = cookies.clone();
        browser.headers.push(ORIGIN.to_owned());
        clients.push(tokio::spawn(load(
            client,
            browser,
            Arc::clone(&running),
            Arc::clone(&outcomes),
        )));
    }
    let mut probe = fixture.browser();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed = Instant::now();
    database.stop();
    let degraded = wait_for_health(&mut probe, 503).await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let restarted = Instant::now();
    let database = tokio::task::spawn_blocking(move || {
        database.start();
        database
    })
    .await
    .unwrap();
    let healthy = wait_for_health(&mut probe, 200).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    running.store(false, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }

    let outcomes = outcomes.lock().await;
    let before: Vec<&Outcome> = outcomes.iter().filter(|o| o.finished < killed).collect();
    let after: Vec<&Outcome> = outcomes.iter().filter(|o| o.started > healthy).collect();
    let refused: Vec<&Outcome> = outcomes.iter().filter(|o| o.status == 503).collect();
    let slowest = outcomes
        .iter()
        .map(|o| o.finished - o.started)
        .max()
        .unwrap();
    let first_refusal = refused.iter().map(|o| o.finished).min();
    let first_success_after = outcomes
        .iter()
        .filter(|o| o.started > restarted && o.status < 300)
        .map(|o| o.finished)
        .min();
    let created: Vec<&(String, String)> =
        outcomes.iter().filter_map(|o| o.created.as_ref()).collect();
    println!(
        "outage under load: {} requests ({} before the kill, {} refused with 503, {} after recovery); \
         slowest response {slowest:?}; kill -> first 503 {:?}; kill -> /health degraded {:?}; \
         restart -> /health ok {:?}; restart -> first success {:?}; {} posts acknowledged",
        outcomes.len(),
        before.len(),
        refused.len(),
        after.len(),
        first_refusal.map(|at| at.saturating_duration_since(killed)),
        degraded - killed,
        healthy - restarted,
        first_success_after.map(|at| at - restarted),
        created.len(),
    );

    assert!(
        !before.is_empty() && !after.is_empty(),
        "the load ran throughout"
    );
    for outcome in &before {
        assert!(
            outcome.status < 300,
            "before the outage: {}",
            outcome.status
        );
    }
    for outcome in outcomes.iter() {
        assert!(
            matches!(outcome.status, 200 | 201 | 503),
            "only success or 503, got {}",
            outcome.status
        );
        assert!(
            outcome.status != 503 || outcome.retry_after,
            "a 503 says when to retry"
        );
        assert!(outcome.finished - outcome.started <= RESPONSE_BOUND);
    }
    assert!(
        first_refusal.is_some(),
        "the outage was noticed by requests"
    );
    for outcome in &after {
        assert!(
            outcome.status < 300,
            "after recovery: {} (no restart needed)",
            outcome.status
        );
    }

    // Nothing that was acknowledged is missing.
    let mut reader = fixture.browser();
    reader.cookies = cookies;
    for (id, body) in created {
        let post = reader
            .request("GET", &format!("/api/posts/{id}"), None)
            .await;
        assert_eq!(post.status, 200, "acknowledged post {id} is there");
        assert_eq!(post.json()["body"], body.as_str());
    }

    fixture.finish().await;
    drop(database);
}

/// Registers and logs in one account; returns its cookie jar.
async fn logged_in_cookies(fixture: &Fixture) -> Vec<(String, String)> {
    let mut browser = fixture.browser();
    let account = r#"{"username":"ada","password":"correct horse battery"}"#;
    let register = browser
        .request("POST", "/api/register", Some(account))
        .await;
    assert_eq!(register.status, 201, "{}", register.text());
    let login = r#"{"identifier":"ada","password":"correct horse battery"}"#;
    let login = browser.request("POST", "/api/login", Some(login)).await;
    assert_eq!(login.status, 200, "{}", login.text());
    browser.cookies
}

/// One load client: alternately creates a post and reads `/api/me`, recording
/// every outcome, until told to stop.
async fn load(
    client: usize,
    mut browser: Browser,
    running: Arc<AtomicBool>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
) {
    let mut sequence = 0;
    while running.load(Ordering::Relaxed) {
        sequence += 1;
        let started = Instant::now();
        let (response, body) = if sequence % 2 == 0 {
            let body = format!("post {sequence} from client {client}");
            let json = format!(r#"{{"title":"load","body":"{body}"}}"#);
            let response = browser.request("POST", "/api/posts", Some(&json)).await;
            (response, Some(body))
        } else {
            (browser.request("GET", "/api/me", None).await, None)
        };
        let created = match (response.status, body) {
            (201, Some(body)) => Some((response.json()["id"].as_str().unwrap().to_owned(), body)),
            _ => None,
        };
        outcomes.lock().await.push(Outcome {
            started,
            finished: Instant::now(),
            status: response.status,
            retry_after: response.header("retry-after").is_some(),
            created,
        });
        if response.status == 503 {
            // What a polite client does with Retry-After, shortened to keep the test brief.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Polls `/health` until it answers `status`; returns when it first did.
async fn wait_for_health(probe: &mut Browser, status: u16) -> Instant {
    let deadline = Instant::now() + STATE_PATIENCE;
    loop {
        let health = probe.request("GET", "/health", None).await;
        if health.status == status {
            let expected = if status == 200 { "ok\n" } else { "degraded" };
            assert!(health.text().starts_with(expected), "{}", health.text());
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "/health did not turn {status} within {STATE_PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
