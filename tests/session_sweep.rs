//! The embedded store deletes expired sessions: ten thousand within one run of the sweep,
//! after a restart as well as before, and in files written before the store had its expiry
//! index (format 1), which are upgraded when opened.
//!
//! The sweep is started with an interval of an hour, so the only run in a case is the one
//! that starts at once: "gone within one interval" is then "gone after one run", with no
//! sleep. (The schedule itself is in `store_conformance.rs`, on both stores.)

#[path = "common/store_support.rs"]
mod store_support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bson::DateTime;
use bson::oid::ObjectId;
use groundup::store::sweep::Sweeper;
use groundup::store::{self, Backend, Identity, SessionRecord, SessionStore, Store, StoreConfig};
use redb::{
    Database, MultimapTableDefinition, ReadableDatabase, ReadableTableMetadata, TableDefinition,
};
use store_support::TempDir;

const HOUR: Duration = Duration::from_secs(3600);

/// The two session tables as format 1 had them (and format 2 still has them).
const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
const SESSIONS_BY_USER: MultimapTableDefinition<&[u8], &str> =
    MultimapTableDefinition::new("sessions_by_user");
const USERS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("users");

fn config(dir: &Path) -> StoreConfig {
    StoreConfig {
        backend: Backend::Embedded {
            data_dir: dir.to_path_buf(),
        },
        database: "groundup".into(),
    }
}

async fn open(dir: &Path) -> Arc<Store> {
    Arc::new(store::open(&config(dir)).await.expect("the store opens"))
}

/// The user every session here belongs to.
fn ada() -> Identity {
    Identity {
        id: ObjectId::from_bytes([7; 12]),
        username: "ada".into(),
        email: None,
        created_at: DateTime::from_millis(1_700_000_000_000),
    }
}

/// A session of [`ada`] whose idle expiry is `idle_seconds` from now (negative: expired).
fn session(n: usize, idle_seconds: i64) -> SessionRecord {
    let now = DateTime::now().timestamp_millis();
    SessionRecord {
        id_hash: format!("{n:064x}"),
        user: ada(),
        created_at: DateTime::from_millis(now - 7_200_000),
        last_seen: DateTime::from_millis(now - 7_200_000),
        idle_expires_at: DateTime::from_millis(now + idle_seconds * 1000),
        absolute_expires_at: DateTime::from_millis(now + 3_600_000),
        csrf_token: format!("csrf{n}"),
    }
}

/// Writes `records` the way a format 1 file held them: the sessions table, each session
/// naming its user by `user_id` alone, the index by user, no expiry index, no `meta` table;
/// and the users table with `users`. One write transaction, so ten thousand sessions take a
/// moment rather than ten thousand disk flushes.
fn write_format_1_file(dir: &Path, records: &[SessionRecord], users: &[Identity]) {
    std::fs::create_dir_all(dir).unwrap();
    let db = Database::create(dir.join("groundup.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut sessions = txn.open_table(SESSIONS).unwrap();
        let mut by_user = txn.open_multimap_table(SESSIONS_BY_USER).unwrap();
        for record in records {
            let mut old = bson::to_document(record).unwrap();
            old.remove("user");
            old.insert("user_id", record.user.id);
            let bytes = bson::to_vec(&old).unwrap();
            sessions
                .insert(record.id_hash.as_str(), bytes.as_slice())
                .unwrap();
            by_user
                .insert(record.user.id.bytes().as_slice(), record.id_hash.as_str())
                .unwrap();
        }
        let mut table = txn.open_table(USERS).unwrap();
        for user in users {
            let stored = bson::doc! {
                "_id": user.id,
                "username": &user.username,
                "password_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
                "created_at": user.created_at,
            };
            table
                .insert(
                    user.id.bytes().as_slice(),
                    bson::to_vec(&stored).unwrap().as_slice(),
                )
                .unwrap();
        }
    }
    txn.commit().unwrap();
}

#[tokio::test]
async fn ten_thousand_expired_sessions_go_in_one_run_of_the_sweep() {
    let dir = TempDir::new();
    let user = ada().id;
    let mut records: Vec<SessionRecord> = (0..10_000).map(|n| session(n, -60)).collect();
    records.extend((10_000..10_003).map(|n| session(n, 600)));
    write_format_1_file(dir.path(), &records, &[ada()]);

    let store = open(dir.path()).await;
    let mut sweeper = Sweeper::start(Arc::clone(&store), HOUR);
    let first = sweeper.finished(1).await;
    assert_eq!(first.deleted, 10_000, "{first:?}");
    drop(sweeper);
    assert_eq!(store.list_for_user(user).await.unwrap().len(), 3);
    assert_eq!(
        store.delete_all_for_user(user, None).await.unwrap(),
        3,
        "no expired session is left to delete"
    );
}

#[tokio::test]
async fn sessions_that_expired_before_a_restart_go_at_start() {
    let dir = TempDir::new();
    let user = ada().id;
    {
        // A server that never swept: its process ends with 5 expired sessions stored.
        let store = open(dir.path()).await;
        for n in 0..5 {
            store.create(&session(n, -60)).await.unwrap();
        }
        store.create(&session(5, 600)).await.unwrap();
    }
    let store = open(dir.path()).await;
    let mut sweeper = Sweeper::start(Arc::clone(&store), HOUR);
    assert_eq!(sweeper.finished(1).await.deleted, 5);
    drop(sweeper);
    assert_eq!(store.delete_all_for_user(user, None).await.unwrap(), 1);
}

#[tokio::test]
async fn an_upgraded_file_keeps_its_sessions_with_their_users_and_records_its_format() {
    let dir = TempDir::new();
    let mut gone = session(2, 600);
    gone.user.id = ObjectId::from_bytes([9; 12]);
    write_format_1_file(
        dir.path(),
        &[session(0, -60), session(1, 600), gone],
        &[ada()],
    );
    {
        let store = open(dir.path()).await;
        // The live session reads as before, now with its user copied in.
        let live = store.load(&session(1, 600).id_hash).await.unwrap().unwrap();
        assert_eq!(live.user, ada());
        // The session whose user no longer exists did not survive the upgrade.
        assert!(!store.delete(&session(2, 600).id_hash).await.unwrap());
        assert_eq!(store.delete_expired(DateTime::now(), 10).await.unwrap(), 1);
    }
    // Read the file directly: the store wrote its format.
    let db = Database::open(dir.path().join("groundup.redb")).unwrap();
    let txn = db.begin_read().unwrap();
    assert_eq!(store_support::file_format(&txn), 4);
    assert_eq!(txn.open_table(SESSIONS).unwrap().len().unwrap(), 1);
}

#[tokio::test]
async fn a_file_from_a_newer_format_is_refused() {
    let dir = TempDir::new();
    std::fs::create_dir_all(dir.path()).unwrap();
    {
        let db = Database::create(dir.path().join("groundup.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(store_support::META)
            .unwrap()
            .insert("format", 99)
            .unwrap();
        txn.commit().unwrap();
    }
    let error = store::open(&config(dir.path())).await.unwrap_err();
    assert!(error.to_string().contains("format 99"), "{error}");
}
