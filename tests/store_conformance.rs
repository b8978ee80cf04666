//! One conformance suite for both stores.
//!
//! Every case below is written once, as an `async fn` over a [`Store`], and the
//! `conformance!` macro at the bottom turns each into two tests: `embedded::<case>` on a
//! fresh redb file and `mongo::<case>` on a fresh MongoDB database (`groundup_test_<random>`,
//! dropped afterwards). A case asserts concrete documents and error kinds, so passing on
//! both backends means both return the same documents and the same errors.
//!
//! MongoDB cases skip without `MONGODB_URI` and fail without it when `REQUIRE_MONGODB=1`.
//! Run one backend with `cargo test --test store_conformance embedded::`.

#[path = "common/store_support.rs"]
mod store_support;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, doc};
use groundup::store::attempts::{AttemptKind, AttemptStore, Reservation, Rule};
use groundup::store::sweep::Sweeper;
use groundup::store::{
    FindOptions, Identity, NewPost, NewUser, Operator, PostFilter, PostSort, PostStore,
    SessionRecord, SessionStore, Store, StoreError, Update, UpdateFailure, UpdateOutcome,
    UserStore,
};

// ---------------------------------------------------------------------------------------
// Runners: set up a store, run the case, clean up even if the case panicked.
// ---------------------------------------------------------------------------------------

async fn run_embedded<F, Fut>(case: F)
where
    F: FnOnce(Arc<Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (store, _dir) = store_support::embedded_store().await;
    case(Arc::new(store)).await;
}

async fn run_mongo<F, Fut>(name: &str, case: F)
where
    F: FnOnce(Arc<Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(uri) = store_support::mongo_uri(name) else {
        return;
    };
    let (store, database) = store_support::mongo_store(&uri).await;
    let store = Arc::new(store);
    // Run the case as a task so that a failed assertion comes back as a JoinError and the
    // scratch database is still dropped before the panic is passed on.
    let outcome = tokio::spawn(case(Arc::clone(&store))).await;
    store_support::drop_database(&store, &database).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/// A fixed moment plus `seconds`, so documents are predictable.
fn t(seconds: i64) -> DateTime {
    DateTime::from_millis(1_700_000_000_000 + seconds * 1000)
}

/// Now plus `seconds` (negative: in the past).
fn from_now(seconds: i64) -> DateTime {
    DateTime::from_millis(DateTime::now().timestamp_millis() + seconds * 1000)
}

fn author() -> ObjectId {
    ObjectId::from_bytes([7; 12])
}

fn new_post(title: &str, extra: Document) -> NewPost {
    NewPost {
        author: author(),
        title: title.into(),
        body: "body".into(),
        tags: vec!["rust".into(), "http".into()],
        created_at: t(0),
        extra,
    }
}

async fn insert(store: &Store, extra: Document) -> ObjectId {
    store
        .insert_one(new_post("post", extra))
        .await
        .expect("insert")
}

async fn fetch(store: &Store, id: ObjectId) -> Document {
    store
        .find_one(id)
        .await
        .expect("find_one")
        .expect("post exists")
}

/// Inserts a post with `extra`, applies `update`, returns the outcome and the document.
async fn apply(store: &Store, extra: Document, update: Update) -> (UpdateOutcome, Document) {
    let id = insert(store, extra).await;
    let outcome = store
        .update_one(id, &update, false)
        .await
        .expect("update succeeds");
    (outcome, fetch(store, id).await)
}

/// Applies `update` and expects it to change the document.
async fn modified(store: &Store, extra: Document, update: Update) -> Document {
    let (outcome, doc) = apply(store, extra, update).await;
    assert_eq!(
        outcome,
        UpdateOutcome {
            matched: 1,
            modified: 1,
            upserted_id: None
        }
    );
    doc
}

/// Applies `update` and expects a match without a change.
async fn unmodified(store: &Store, extra: Document, update: Update) -> Document {
    let (outcome, doc) = apply(store, extra, update).await;
    assert_eq!(
        outcome,
        UpdateOutcome {
            matched: 1,
            modified: 0,
            upserted_id: None
        }
    );
    doc
}

/// Applies `update`, expects an `UpdateFailed`, checks the post is unchanged, returns the kind.
async fn fails(store: &Store, extra: Document, update: Update) -> UpdateFailure {
    fails_at(store, extra, update).await.0
}

/// Like [`fails`], returning the kind, the path named and the message.
async fn fails_at(
    store: &Store,
    extra: Document,
    update: Update,
) -> (UpdateFailure, String, String) {
    let id = insert(store, extra).await;
    let before = fetch(store, id).await;
    let error = store
        .update_one(id, &update, false)
        .await
        .expect_err("update fails");
    assert_eq!(
        fetch(store, id).await,
        before,
        "a failed update changes nothing"
    );
    match error {
        StoreError::UpdateFailed {
            kind,
            path,
            message,
        } => (kind, path, message),
        other => panic!("expected UpdateFailed, got {other:?}"),
    }
}

/// Expects `update` to be rejected by validation; returns the path named.
async fn invalid(store: &Store, update: Update) -> String {
    let id = insert(store, doc! { "n": 1 }).await;
    match store.update_one(id, &update, true).await {
        Err(StoreError::InvalidUpdate { path, .. }) => {
            assert_eq!(fetch(store, id).await.get("n"), Some(&Bson::Int32(1)));
            path
        }
        other => panic!("expected InvalidUpdate, got {other:?}"),
    }
}

/// All documents a find returns, in order.
async fn find_all(store: &Store, filter: PostFilter, options: FindOptions) -> Vec<Document> {
    let mut cursor = store.find(filter, options).await.expect("find");
    let mut docs = Vec::new();
    while let Some(doc) = cursor.next().await {
        docs.push(doc.expect("cursor item"));
    }
    docs
}

fn titles(docs: &[Document]) -> Vec<&str> {
    docs.iter()
        .map(|d| d.get_str("title").expect("title"))
        .collect()
}

/// Inserts posts with the given (title, created_at offset, tags) and returns their ids.
async fn insert_posts(store: &Store, posts: &[(&str, i64, &[&str])]) -> Vec<ObjectId> {
    let posts = posts
        .iter()
        .map(|(title, at, tags)| NewPost {
            created_at: t(*at),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            ..new_post(title, Document::new())
        })
        .collect();
    store.insert_many(posts).await.expect("insert_many")
}

fn new_user(username: &str, email: Option<&str>) -> NewUser {
    NewUser {
        username: username.into(),
        email: email.map(str::to_string),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
    }
}

fn session(
    id_hash: &str,
    user_id: ObjectId,
    created: i64,
    idle: i64,
    absolute: i64,
) -> SessionRecord {
    SessionRecord {
        id_hash: id_hash.into(),
        user: Identity {
            id: user_id,
            username: format!("user{}", user_id.to_hex()),
            email: None,
            created_at: t(0),
        },
        created_at: from_now(created),
        last_seen: from_now(created),
        idle_expires_at: from_now(idle),
        absolute_expires_at: from_now(absolute),
        csrf_token: format!("csrf-{id_hash}"),
    }
}

/// True when the MongoDB backend is really FerretDB (its `buildInfo` has
/// `ferretdbVersion`). A few cases expect MongoDB's behaviour and, on FerretDB, assert
/// FerretDB's documented difference instead, so the suite notices if either changes.
async fn is_ferretdb(store: &Store) -> bool {
    let Store::Mongo(mongo) = store else {
        return false;
    };
    let info = mongo
        .client()
        .database("admin")
        .run_command(doc! { "buildInfo": 1 })
        .await;
    info.expect("buildInfo").contains_key("ferretdbVersion")
}

fn duplicate_field(result: Result<impl std::fmt::Debug, StoreError>) -> String {
    match result {
        Err(StoreError::Duplicate { field }) => field,
        other => panic!("expected Duplicate, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------

mod cases {
    use super::*;

    // --- users -----------------------------------------------------------------------

    pub async fn user_round_trip(s: Arc<Store>) {
        let user = s
            .create_user(new_user("ada", Some("ada@example.org")))
            .await
            .unwrap();
        assert_eq!(user.username, "ada");
        assert_eq!(s.user_by_id(user.id).await.unwrap().as_ref(), Some(&user));
        assert_eq!(
            s.user_by_username("ada").await.unwrap().as_ref(),
            Some(&user)
        );
        assert_eq!(
            s.user_by_identifier("ada").await.unwrap().as_ref(),
            Some(&user)
        );
    }

    pub async fn duplicate_username_is_duplicate(s: Arc<Store>) {
        s.create_user(new_user("bob", Some("bob@example.org")))
            .await
            .unwrap();
        let again = s
            .create_user(new_user("bob", Some("other@example.org")))
            .await;
        assert_eq!(duplicate_field(again), "username");
        assert!(
            s.user_by_identifier("other@example.org")
                .await
                .unwrap()
                .is_none()
        );
    }

    pub async fn duplicate_email_is_duplicate(s: Arc<Store>) {
        s.create_user(new_user("carol", Some("c@example.org")))
            .await
            .unwrap();
        let again = s
            .create_user(new_user("carla", Some("c@example.org")))
            .await;
        assert_eq!(duplicate_field(again), "email");
        assert!(s.user_by_username("carla").await.unwrap().is_none());
    }

    pub async fn users_without_email_do_not_collide(s: Arc<Store>) {
        let a = s.create_user(new_user("dan", None)).await.unwrap();
        let b = s.create_user(new_user("dora", None)).await.unwrap();
        assert_ne!(a.id, b.id);
        assert_eq!(
            s.user_by_username("dora")
                .await
                .unwrap()
                .and_then(|u| u.email),
            None
        );
    }

    pub async fn identifier_finds_by_email(s: Arc<Store>) {
        let user = s
            .create_user(new_user("eve", Some("eve@example.org")))
            .await
            .unwrap();
        assert_eq!(
            s.user_by_identifier("eve@example.org").await.unwrap(),
            Some(user)
        );
    }

    pub async fn identifier_prefers_username(s: Arc<Store>) {
        let by_email = s
            .create_user(new_user("frank", Some("fi@x")))
            .await
            .unwrap();
        let by_name = s.create_user(new_user("fi@x", None)).await.unwrap();
        assert_eq!(s.user_by_identifier("fi@x").await.unwrap(), Some(by_name));
        assert_eq!(s.user_by_identifier("frank").await.unwrap(), Some(by_email));
    }

    pub async fn unknown_user_is_none(s: Arc<Store>) {
        assert_eq!(s.user_by_id(ObjectId::new()).await.unwrap(), None);
        assert_eq!(s.user_by_username("nobody").await.unwrap(), None);
        assert_eq!(
            s.user_by_identifier("nobody@example.org").await.unwrap(),
            None
        );
    }

    pub async fn set_password_hash_updates_and_reports_missing(s: Arc<Store>) {
        let user = s.create_user(new_user("gus", None)).await.unwrap();
        assert!(s.set_password_hash(user.id, "$argon2id$new").await.unwrap());
        let stored = s.user_by_id(user.id).await.unwrap().unwrap();
        assert_eq!(stored.password_hash, "$argon2id$new");
        assert_eq!(stored.username, "gus");
        assert!(
            !s.set_password_hash(ObjectId::new(), "$argon2id$x")
                .await
                .unwrap()
        );
    }

    // --- sessions --------------------------------------------------------------------

    pub async fn session_round_trip(s: Arc<Store>) {
        let record = session("aa01", ObjectId::new(), 0, 600, 3600);
        s.create(&record).await.unwrap();
        assert_eq!(s.load("aa01").await.unwrap(), Some(record));
    }

    pub async fn session_unknown_is_none(s: Arc<Store>) {
        assert_eq!(s.load("ffff").await.unwrap(), None);
        assert!(!s.delete("ffff").await.unwrap());
    }

    pub async fn session_idle_expired_is_missing(s: Arc<Store>) {
        let record = session("ab02", ObjectId::new(), -700, -100, 3600);
        s.create(&record).await.unwrap();
        assert_eq!(s.load("ab02").await.unwrap(), None);
    }

    pub async fn session_absolute_expired_is_missing(s: Arc<Store>) {
        let record = session("ac03", ObjectId::new(), -7200, 600, -1);
        s.create(&record).await.unwrap();
        assert_eq!(s.load("ac03").await.unwrap(), None);
    }

    pub async fn session_touch_slides_idle_expiry(s: Arc<Store>) {
        let mut record = session("ad04", ObjectId::new(), -60, 60, 3600);
        s.create(&record).await.unwrap();
        record.last_seen = from_now(0);
        record.idle_expires_at = from_now(1800);
        assert!(s.touch(&record).await.unwrap());
        assert_eq!(s.load("ad04").await.unwrap(), Some(record));
    }

    pub async fn session_touch_of_expired_is_false(s: Arc<Store>) {
        let mut record = session("ae05", ObjectId::new(), -700, -10, 3600);
        s.create(&record).await.unwrap();
        record.idle_expires_at = from_now(600);
        assert!(
            !s.touch(&record).await.unwrap(),
            "an expired session cannot be revived"
        );
        assert_eq!(s.load("ae05").await.unwrap(), None);
        let missing = session("af06", ObjectId::new(), 0, 600, 3600);
        assert!(!s.touch(&missing).await.unwrap());
    }

    pub async fn session_delete_removes_it(s: Arc<Store>) {
        let record = session("b001", ObjectId::new(), 0, 600, 3600);
        s.create(&record).await.unwrap();
        assert!(s.delete("b001").await.unwrap());
        assert_eq!(s.load("b001").await.unwrap(), None);
        assert!(!s.delete("b001").await.unwrap());
    }

    pub async fn session_delete_all_keeps_the_exception(s: Arc<Store>) {
        let user = ObjectId::new();
        let other = ObjectId::new();
        for (hash, who) in [
            ("c001", user),
            ("c002", user),
            ("c003", user),
            ("c004", other),
        ] {
            s.create(&session(hash, who, 0, 600, 3600)).await.unwrap();
        }
        assert_eq!(s.delete_all_for_user(user, Some("c002")).await.unwrap(), 2);
        let left: Vec<String> = s
            .list_for_user(user)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id_hash)
            .collect();
        assert_eq!(left, ["c002"]);
        assert!(
            s.load("c004").await.unwrap().is_some(),
            "other users keep their sessions"
        );
        assert_eq!(s.delete_all_for_user(user, None).await.unwrap(), 1);
        assert!(s.list_for_user(user).await.unwrap().is_empty());
    }

    pub async fn expired_sessions_are_deleted_in_batches_soonest_first(s: Arc<Store>) {
        let user = ObjectId::new();
        s.create(&session("e0", user, 0, 600, 3600)).await.unwrap();
        // Expired by idle or by absolute expiry, the soonest first in this order.
        for (hash, idle, absolute) in [
            ("e1", -50, 3600),
            ("e2", 600, -40),
            ("e3", -30, 3600),
            ("e4", -20, -10),
            ("e5", 600, -5),
        ] {
            s.create(&session(hash, user, -3600, idle, absolute))
                .await
                .unwrap();
        }
        let now = DateTime::now();
        assert_eq!(s.delete_expired(now, 2).await.unwrap(), 2);
        assert!(
            !s.delete("e1").await.unwrap(),
            "the soonest expired went first"
        );
        assert!(!s.delete("e2").await.unwrap());
        assert_eq!(s.delete_expired(now, 2).await.unwrap(), 2);
        assert_eq!(s.delete_expired(now, 2).await.unwrap(), 1);
        assert_eq!(s.delete_expired(now, 2).await.unwrap(), 0);
        assert_eq!(
            s.delete_all_for_user(user, None).await.unwrap(),
            1,
            "only the live session was left to delete"
        );
    }

    pub async fn a_touched_session_is_not_swept_at_its_old_expiry(s: Arc<Store>) {
        let user = ObjectId::new();
        let mut touched = session("f1", user, -60, 30, 3600);
        let untouched = session("f2", user, -60, 30, 3600);
        s.create(&touched).await.unwrap();
        s.create(&untouched).await.unwrap();
        touched.last_seen = from_now(0);
        touched.idle_expires_at = from_now(1800);
        assert!(s.touch(&touched).await.unwrap());
        // A sweep a minute from now: past the old idle expiry, before the new one.
        assert_eq!(s.delete_expired(from_now(60), 100).await.unwrap(), 1);
        assert!(
            s.delete("f1").await.unwrap(),
            "the touched session was kept"
        );
        assert!(
            !s.delete("f2").await.unwrap(),
            "the untouched one was swept"
        );
    }

    pub async fn the_sweep_runs_at_start_and_on_its_schedule(s: Arc<Store>) {
        let user = ObjectId::new();
        s.create(&session("g0", user, 0, 600, 3600)).await.unwrap();
        for n in 0..5 {
            s.create(&session(&format!("g{}", n + 1), user, -3600, -1, 3600))
                .await
                .unwrap();
        }
        let mut sweeper = Sweeper::start(Arc::clone(&s), Duration::from_millis(100));
        let first = sweeper.finished(1).await;
        assert_eq!(first.deleted, 5, "the first run starts at once: {first:?}");
        for n in 0..3 {
            s.create(&session(&format!("h{n}"), user, -3600, -1, 3600))
                .await
                .unwrap();
        }
        // The run under way may have begun before these were written; the one after it
        // cannot have.
        let runs = sweeper.finished(0).await.runs;
        let later = sweeper.finished(runs + 2).await;
        assert_eq!(later.deleted, 8, "{later:?}");
        drop(sweeper);
        assert_eq!(s.delete_all_for_user(user, None).await.unwrap(), 1);
    }

    // --- login attempts ----------------------------------------------------------------
    //
    // MongoDB counts attempts for every server that shares it; the embedded store is one
    // process's, whose memory already holds the whole count, so it counts nothing and never
    // refuses (see `store::attempts`). Each case states both.

    fn counts_attempts(s: &Store) -> bool {
        !matches!(s, Store::Embedded(_))
    }

    fn rule(limit: usize) -> Rule {
        Rule {
            limit,
            window: Duration::from_secs(600),
        }
    }

    async fn reserve(s: &Store, key: &str, limit: usize) -> Reservation {
        s.reserve_attempt(AttemptKind::Account, key, rule(limit))
            .await
            .unwrap()
    }

    pub async fn attempts_are_refused_at_the_limit_until_given_back(s: Arc<Store>) {
        let mut reserved = Vec::new();
        for _ in 0..3 {
            match reserve(&s, "ada", 3).await {
                Reservation::Reserved(attempt) => reserved.push(attempt),
                refused => panic!("below the limit: {refused:?}"),
            }
        }
        match reserve(&s, "ada", 3).await {
            Reservation::Refused { wait } => {
                assert!(counts_attempts(&s));
                assert!(wait > Duration::ZERO && wait <= Duration::from_secs(600));
            }
            Reservation::Reserved(_) => assert!(!counts_attempts(&s), "a fourth of three"),
        }
        // Other keys, and the other kind, are counted apart.
        assert!(matches!(
            reserve(&s, "bob", 3).await,
            Reservation::Reserved(_)
        ));
        let address = s
            .reserve_attempt(AttemptKind::Address, "ada", rule(3))
            .await
            .unwrap();
        assert!(matches!(address, Reservation::Reserved(_)));
        // One given back makes room for one.
        s.release_attempt(reserved.pop().unwrap()).await.unwrap();
        assert!(matches!(
            reserve(&s, "ada", 3).await,
            Reservation::Reserved(_)
        ));
        if counts_attempts(&s) {
            assert!(matches!(
                reserve(&s, "ada", 3).await,
                Reservation::Refused { .. }
            ));
        }
        // Clearing forgets them all.
        s.clear_attempts(reserved.pop().unwrap()).await.unwrap();
        for _ in 0..3 {
            assert!(matches!(
                reserve(&s, "ada", 3).await,
                Reservation::Reserved(_)
            ));
        }
    }

    pub async fn attempts_reserved_at_once_never_pass_the_limit(s: Arc<Store>) {
        let barrier = Arc::new(tokio::sync::Barrier::new(40));
        let tries: Vec<_> = (0..40)
            .map(|_| {
                let (s, barrier) = (Arc::clone(&s), Arc::clone(&barrier));
                tokio::spawn(async move {
                    barrier.wait().await;
                    matches!(reserve(&s, "storm", 5).await, Reservation::Reserved(_))
                })
            })
            .collect();
        let mut reserved = 0;
        for attempt in tries {
            reserved += usize::from(attempt.await.unwrap());
        }
        let expected = if counts_attempts(&s) { 5 } else { 40 };
        assert_eq!(reserved, expected);
    }

    pub async fn expired_attempt_counts_are_swept(s: Arc<Store>) {
        let short = Rule {
            limit: 1,
            window: Duration::from_millis(1),
        };
        let _counted = s
            .reserve_attempt(AttemptKind::Address, "10.0.0.1", short)
            .await
            .unwrap();
        let later = from_now(60);
        let swept = s.delete_expired_attempts(later, 10).await.unwrap();
        assert_eq!(swept, u64::from(counts_attempts(&s)));
        assert_eq!(s.delete_expired_attempts(later, 10).await.unwrap(), 0);
    }

    pub async fn session_list_is_live_and_oldest_first(s: Arc<Store>) {
        let user = ObjectId::new();
        s.create(&session("d003", user, -10, 600, 3600))
            .await
            .unwrap();
        s.create(&session("d001", user, -30, 600, 3600))
            .await
            .unwrap();
        s.create(&session("d002", user, -20, -1, 3600))
            .await
            .unwrap();
        let listed: Vec<String> = s
            .list_for_user(user)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id_hash)
            .collect();
        assert_eq!(listed, ["d001", "d003"]);
    }

    /// Reads first, then every kind of write, then the same reads: a store that remembers
    /// what it read (the embedded one does) must answer the second reads from the writes.
    pub async fn reads_after_writes_see_the_writes(s: Arc<Store>) {
        let user = s.create_user(new_user("hal", None)).await.unwrap();
        let mut first = session("f001", user.id, -60, 600, 3600);
        s.create(&first).await.unwrap();
        let hashes = |list: Vec<SessionRecord>| -> Vec<String> {
            list.into_iter().map(|r| r.id_hash).collect()
        };
        assert!(s.load("f001").await.unwrap().is_some());
        assert_eq!(hashes(s.list_for_user(user.id).await.unwrap()), ["f001"]);
        assert!(s.user_by_id(user.id).await.unwrap().is_some());

        s.create(&session("f002", user.id, 0, 600, 3600))
            .await
            .unwrap();
        assert_eq!(
            hashes(s.list_for_user(user.id).await.unwrap()),
            ["f001", "f002"]
        );

        first.last_seen = from_now(0);
        first.idle_expires_at = from_now(1800);
        assert!(s.touch(&first).await.unwrap());
        assert_eq!(s.load("f001").await.unwrap(), Some(first.clone()));
        assert_eq!(s.list_for_user(user.id).await.unwrap()[0], first);

        assert!(
            s.set_password_hash(user.id, "$argon2id$changed")
                .await
                .unwrap()
        );
        let stored = s.user_by_id(user.id).await.unwrap().unwrap();
        assert_eq!(stored.password_hash, "$argon2id$changed");

        assert!(s.delete("f001").await.unwrap());
        assert_eq!(
            s.load("f001").await.unwrap(),
            None,
            "a logged-out session is gone"
        );
        assert_eq!(hashes(s.list_for_user(user.id).await.unwrap()), ["f002"]);

        assert!(s.load("f002").await.unwrap().is_some());
        assert_eq!(s.delete_all_for_user(user.id, None).await.unwrap(), 1);
        assert_eq!(s.load("f002").await.unwrap(), None);
        assert!(s.list_for_user(user.id).await.unwrap().is_empty());
    }

    pub async fn session_duplicate_hash_is_duplicate(s: Arc<Store>) {
        let record = session("e001", ObjectId::new(), 0, 600, 3600);
        s.create(&record).await.unwrap();
        assert_eq!(duplicate_field(s.create(&record).await), "id_hash");
    }

    // --- posts: insert, find_one, delete ---------------------------------------------

    pub async fn insert_one_then_find_one(s: Arc<Store>) {
        let id = insert(&s, doc! { "likes": 0, "views": 0_i64 }).await;
        let expected = doc! {
            "_id": id, "author": author(), "title": "post", "body": "body",
            "tags": ["rust", "http"], "created_at": t(0), "updated_at": t(0),
            "likes": 0, "views": 0_i64,
        };
        assert_eq!(fetch(&s, id).await, expected);
    }

    pub async fn insert_many_keeps_order(s: Arc<Store>) {
        let ids = insert_posts(&s, &[("one", 1, &[]), ("two", 2, &[]), ("three", 3, &[])]).await;
        assert_eq!(ids.len(), 3);
        let options = FindOptions {
            sort: PostSort::CreatedAtAsc,
            ..Default::default()
        };
        let docs = find_all(&s, PostFilter::default(), options).await;
        assert_eq!(titles(&docs), ["one", "two", "three"]);
        let found: Vec<ObjectId> = docs
            .iter()
            .map(|d| d.get_object_id("_id").unwrap())
            .collect();
        assert_eq!(found, ids);
    }

    pub async fn insert_many_of_nothing_is_ok(s: Arc<Store>) {
        assert_eq!(
            s.insert_many(Vec::new()).await.unwrap(),
            Vec::<ObjectId>::new()
        );
        assert!(
            find_all(&s, PostFilter::default(), FindOptions::default())
                .await
                .is_empty()
        );
    }

    pub async fn insert_rejects_unsafe_field_names(s: Arc<Store>) {
        for bad in [
            doc! { "$where": 1 },
            doc! { "a.b": 1 },
            doc! { "title": "x" },
            doc! { "n": { "$gt": 1 } },
        ] {
            match s.insert_one(new_post("bad", bad.clone())).await {
                Err(StoreError::InvalidDocument { .. }) => {}
                other => panic!("{bad}: expected InvalidDocument, got {other:?}"),
            }
        }
        // insert_many checks every post before writing any.
        let batch = vec![
            new_post("good", Document::new()),
            new_post("bad", doc! { "$x": 1 }),
        ];
        assert!(matches!(
            s.insert_many(batch).await,
            Err(StoreError::InvalidDocument { .. })
        ));
        assert!(
            find_all(&s, PostFilter::default(), FindOptions::default())
                .await
                .is_empty()
        );
    }

    pub async fn find_one_missing_is_none(s: Arc<Store>) {
        assert_eq!(s.find_one(ObjectId::new()).await.unwrap(), None);
    }

    pub async fn delete_one_counts(s: Arc<Store>) {
        let id = insert(&s, Document::new()).await;
        assert_eq!(s.delete_one(id).await.unwrap(), 1);
        assert_eq!(s.find_one(id).await.unwrap(), None);
        assert_eq!(s.delete_one(id).await.unwrap(), 0);
    }

    // --- posts: find -----------------------------------------------------------------

    pub async fn find_all_streams_every_post(s: Arc<Store>) {
        let posts: Vec<NewPost> = (0..150)
            .map(|i| NewPost {
                created_at: t(i),
                ..new_post(&format!("p{i:03}"), doc! { "i": i as i32 })
            })
            .collect();
        s.insert_many(posts).await.unwrap();
        let options = FindOptions {
            sort: PostSort::CreatedAtAsc,
            ..Default::default()
        };
        let docs = find_all(&s, PostFilter::default(), options).await;
        let order: Vec<i32> = docs.iter().map(|d| d.get_i32("i").unwrap()).collect();
        assert_eq!(order, (0..150).collect::<Vec<_>>());
    }

    pub async fn filter_by_author(s: Arc<Store>) {
        let mine = author();
        let theirs = ObjectId::new();
        s.insert_many(vec![
            new_post("mine", Document::new()),
            NewPost {
                author: theirs,
                ..new_post("theirs", Document::new())
            },
        ])
        .await
        .unwrap();
        let filter = PostFilter {
            author: Some(theirs),
            ..Default::default()
        };
        assert_eq!(
            titles(&find_all(&s, filter, FindOptions::default()).await),
            ["theirs"]
        );
        let filter = PostFilter {
            author: Some(mine),
            ..Default::default()
        };
        assert_eq!(
            titles(&find_all(&s, filter, FindOptions::default()).await),
            ["mine"]
        );
    }

    pub async fn filter_by_tag_matches_array_elements(s: Arc<Store>) {
        insert_posts(
            &s,
            &[
                ("a", 1, &["db", "rust"]),
                ("b", 2, &["http"]),
                ("c", 3, &["rust"]),
            ],
        )
        .await;
        let filter = PostFilter {
            tag: Some("rust".into()),
            ..Default::default()
        };
        let options = FindOptions {
            sort: PostSort::CreatedAtAsc,
            ..Default::default()
        };
        assert_eq!(titles(&find_all(&s, filter, options).await), ["a", "c"]);
        let filter = PostFilter {
            tag: Some("rus".into()),
            ..Default::default()
        };
        assert!(
            find_all(&s, filter, FindOptions::default())
                .await
                .is_empty()
        );
    }

    pub async fn filter_by_time_range_is_half_open(s: Arc<Store>) {
        insert_posts(
            &s,
            &[
                ("t10", 10, &[]),
                ("t20", 20, &[]),
                ("t30", 30, &[]),
                ("t40", 40, &[]),
            ],
        )
        .await;
        let filter = PostFilter {
            since: Some(t(20)),
            until: Some(t(40)),
            ..Default::default()
        };
        let options = FindOptions {
            sort: PostSort::CreatedAtAsc,
            ..Default::default()
        };
        assert_eq!(titles(&find_all(&s, filter, options).await), ["t20", "t30"]);
    }

    pub async fn filter_by_title_prefix_is_literal(s: Arc<Store>) {
        insert_posts(
            &s,
            &[
                ("a.b first", 1, &[]),
                ("axb second", 2, &[]),
                ("(a.b) third", 3, &[]),
                ("A.b", 4, &[]),
            ],
        )
        .await;
        let filter = PostFilter {
            title_prefix: Some("a.b".into()),
            ..Default::default()
        };
        assert_eq!(
            titles(&find_all(&s, filter, FindOptions::default()).await),
            ["a.b first"]
        );
        let filter = PostFilter {
            title_prefix: Some("(a.b)".into()),
            ..Default::default()
        };
        assert_eq!(
            titles(&find_all(&s, filter, FindOptions::default()).await),
            ["(a.b) third"]
        );
    }

    pub async fn filter_combines_conditions(s: Arc<Store>) {
        let other = ObjectId::new();
        s.insert_many(vec![
            NewPost {
                tags: vec!["x".into()],
                created_at: t(1),
                ..new_post("mine-x", Document::new())
            },
            NewPost {
                tags: vec!["y".into()],
                created_at: t(2),
                ..new_post("mine-y", Document::new())
            },
            NewPost {
                author: other,
                tags: vec!["x".into()],
                ..new_post("theirs-x", Document::new())
            },
        ])
        .await
        .unwrap();
        let filter = PostFilter {
            author: Some(author()),
            tag: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(
            titles(&find_all(&s, filter, FindOptions::default()).await),
            ["mine-x"]
        );
    }

    pub async fn sort_newest_first_by_default(s: Arc<Store>) {
        insert_posts(&s, &[("old", 1, &[]), ("new", 3, &[]), ("mid", 2, &[])]).await;
        let docs = find_all(&s, PostFilter::default(), FindOptions::default()).await;
        assert_eq!(titles(&docs), ["new", "mid", "old"]);
    }

    pub async fn sort_by_title_breaks_ties_by_id(s: Arc<Store>) {
        let ids = insert_posts(
            &s,
            &[("b", 1, &[]), ("a", 2, &[]), ("b", 3, &[]), ("B", 4, &[])],
        )
        .await;
        let options = FindOptions {
            sort: PostSort::TitleAsc,
            ..Default::default()
        };
        let docs = find_all(&s, PostFilter::default(), options).await;
        assert_eq!(
            titles(&docs),
            ["B", "a", "b", "b"],
            "byte order: uppercase first"
        );
        let tie: Vec<ObjectId> = docs[2..]
            .iter()
            .map(|d| d.get_object_id("_id").unwrap())
            .collect();
        assert_eq!(tie, [ids[0], ids[2]]);
    }

    pub async fn skip_and_limit(s: Arc<Store>) {
        insert_posts(
            &s,
            &[
                ("p1", 1, &[]),
                ("p2", 2, &[]),
                ("p3", 3, &[]),
                ("p4", 4, &[]),
                ("p5", 5, &[]),
            ],
        )
        .await;
        let options = FindOptions {
            sort: PostSort::CreatedAtAsc,
            skip: Some(1),
            limit: Some(3),
            ..Default::default()
        };
        assert_eq!(
            titles(&find_all(&s, PostFilter::default(), options).await),
            ["p2", "p3", "p4"]
        );
        let options = FindOptions {
            skip: Some(10),
            ..Default::default()
        };
        assert!(
            find_all(&s, PostFilter::default(), options)
                .await
                .is_empty()
        );
    }

    pub async fn after_pages_without_gaps(s: Arc<Store>) {
        // Two posts share a creation time: the `_id` tie-break must still page cleanly.
        insert_posts(
            &s,
            &[
                ("p1", 1, &[]),
                ("p2", 2, &[]),
                ("p3", 2, &[]),
                ("p4", 4, &[]),
                ("p5", 5, &[]),
            ],
        )
        .await;
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let options = FindOptions {
                limit: Some(2),
                after,
                ..Default::default()
            };
            let page = find_all(&s, PostFilter::default(), options).await;
            let Some(last) = page.last() else { break };
            after = Some(last.get_object_id("_id").unwrap());
            seen.extend(titles(&page).into_iter().map(str::to_string));
        }
        assert_eq!(seen, ["p5", "p4", "p3", "p2", "p1"]);
    }

    pub async fn after_unknown_post_is_after_post_missing(s: Arc<Store>) {
        insert(&s, Document::new()).await;
        let options = FindOptions {
            after: Some(ObjectId::new()),
            ..Default::default()
        };
        match s.find(PostFilter::default(), options).await {
            Err(StoreError::AfterPostMissing { .. }) => {}
            Err(other) => panic!("expected AfterPostMissing, got {other:?}"),
            Ok(_) => panic!("expected AfterPostMissing, got a cursor"),
        }
    }

    // --- update validation -----------------------------------------------------------

    pub async fn empty_update_is_invalid(s: Arc<Store>) {
        assert_eq!(invalid(&s, Update::new()).await, "");
    }

    pub async fn unknown_operator_is_invalid(s: Arc<Store>) {
        match Update::from_document(&doc! { "$push": { "tags": "x" } }) {
            Err(StoreError::InvalidUpdate { path, .. }) => assert_eq!(path, "$push"),
            other => panic!("expected InvalidUpdate, got {other:?}"),
        }
        assert!(Update::from_document(&doc! { "title": "replacement" }).is_err());
        assert!(Update::from_document(&doc! { "$set": 1 }).is_err());
        // A well-formed document parses and runs.
        let update =
            Update::from_document(&doc! { "$inc": { "n": 2 }, "$set": { "m": "x" } }).unwrap();
        let doc = modified(&s, doc! { "n": 1 }, update).await;
        assert_eq!(
            (doc.get_i32("n").unwrap(), doc.get_str("m").unwrap()),
            (3, "x")
        );
    }

    pub async fn dollar_path_is_invalid(s: Arc<Store>) {
        assert_eq!(invalid(&s, Update::new().set("$where", 1)).await, "$where");
        assert_eq!(
            invalid(&s, Update::new().set("tags.$", "x")).await,
            "tags.$"
        );
        assert_eq!(
            invalid(&s, Update::new().set("tags.$[]", "x")).await,
            "tags.$[]"
        );
    }

    pub async fn empty_segment_is_invalid(s: Arc<Store>) {
        assert_eq!(invalid(&s, Update::new().set("a..b", 1)).await, "a..b");
        assert_eq!(invalid(&s, Update::new().set(".a", 1)).await, ".a");
        assert_eq!(invalid(&s, Update::new().set("a.", 1)).await, "a.");
        assert_eq!(invalid(&s, Update::new().unset("")).await, "");
    }

    pub async fn id_path_is_invalid(s: Arc<Store>) {
        assert_eq!(
            invalid(&s, Update::new().set("_id", ObjectId::new())).await,
            "_id"
        );
        assert_eq!(invalid(&s, Update::new().unset("_id")).await, "_id");
        assert_eq!(invalid(&s, Update::new().rename("n", "_id")).await, "_id");
        assert_eq!(
            invalid(&s, Update::new().set_on_insert("_id.x", 1)).await,
            "_id.x"
        );
    }

    pub async fn same_path_twice_conflicts(s: Arc<Store>) {
        assert_eq!(
            invalid(&s, Update::new().set("n", 1).inc("n", 1)).await,
            "n"
        );
        assert_eq!(
            invalid(&s, Update::new().set("n", 1).set("n", 2)).await,
            "n"
        );
    }

    pub async fn prefix_paths_conflict(s: Arc<Store>) {
        assert_eq!(
            invalid(&s, Update::new().set("a", 1).unset("a.b")).await,
            "a.b"
        );
        assert_eq!(
            invalid(&s, Update::new().inc("a.b.c", 1).set("a.b", 1)).await,
            "a.b"
        );
        // `ab` is not inside `a`: no conflict.
        let doc = modified(&s, doc! {}, Update::new().set("a", 1).set("ab", 2)).await;
        assert_eq!(
            (doc.get_i32("a").unwrap(), doc.get_i32("ab").unwrap()),
            (1, 2)
        );
    }

    pub async fn rename_ends_conflict_with_other_paths(s: Arc<Store>) {
        assert_eq!(
            invalid(&s, Update::new().rename("a", "b").set("b", 1)).await,
            "b"
        );
        assert_eq!(
            invalid(&s, Update::new().rename("a", "b").inc("a.x", 1)).await,
            "a.x"
        );
        assert_eq!(invalid(&s, Update::new().rename("a", "a")).await, "a");
        assert_eq!(invalid(&s, Update::new().rename("a", "a.b")).await, "a.b");
    }

    pub async fn arithmetic_needs_numeric_operand(s: Arc<Store>) {
        assert_eq!(invalid(&s, Update::new().inc("n", "1")).await, "n");
        assert_eq!(invalid(&s, Update::new().mul("n", Bson::Null)).await, "n");
        assert_eq!(invalid(&s, Update::new().inc("n", true)).await, "n");
    }

    pub async fn current_date_spec_is_checked(s: Arc<Store>) {
        assert_eq!(
            invalid(&s, Update::new().push(Operator::CurrentDate, "d", false)).await,
            "d"
        );
        assert_eq!(
            invalid(
                &s,
                Update::new().push(Operator::CurrentDate, "d", doc! { "$type": "string" })
            )
            .await,
            "d"
        );
        assert_eq!(
            invalid(&s, Update::new().push(Operator::CurrentDate, "d", 1)).await,
            "d"
        );
    }

    pub async fn rename_needs_string_target(s: Arc<Store>) {
        assert_eq!(
            invalid(&s, Update::new().push(Operator::Rename, "n", 5)).await,
            "n"
        );
        assert_eq!(invalid(&s, Update::new().rename("n", "$m")).await, "$m");
    }

    pub async fn operand_keys_are_checked(s: Arc<Store>) {
        assert_eq!(
            invalid(&s, Update::new().set("a", doc! { "$gt": 1 })).await,
            "a"
        );
        assert_eq!(
            invalid(&s, Update::new().set("a", doc! { "x": { "y.z": 1 } })).await,
            "a"
        );
        assert_eq!(
            invalid(&s, Update::new().max("a", vec![doc! { "$ne": 0 }])).await,
            "a"
        );
    }

    pub async fn update_without_match_matches_nothing(s: Arc<Store>) {
        let id = ObjectId::new();
        let outcome = s
            .update_one(id, &Update::new().set("n", 1), false)
            .await
            .unwrap();
        assert_eq!(
            outcome,
            UpdateOutcome {
                matched: 0,
                modified: 0,
                upserted_id: None
            }
        );
        assert_eq!(s.find_one(id).await.unwrap(), None);
    }

    // --- $set ------------------------------------------------------------------------

    pub async fn set_adds_and_replaces(s: Arc<Store>) {
        let doc = modified(
            &s,
            doc! { "n": 1 },
            Update::new().set("n", "one").set("m", 2.5),
        )
        .await;
        assert_eq!(doc.get("n"), Some(&Bson::String("one".into())));
        assert_eq!(doc.get("m"), Some(&Bson::Double(2.5)));
    }

    pub async fn set_nested_creates_documents(s: Arc<Store>) {
        let doc = modified(
            &s,
            doc! { "a": { "keep": 1 } },
            Update::new().set("a.b.c", 1).set("x.y", true),
        )
        .await;
        assert_eq!(
            doc.get_document("a").unwrap(),
            &doc! { "keep": 1, "b": { "c": 1 } }
        );
        assert_eq!(doc.get_document("x").unwrap(), &doc! { "y": true });
    }

    pub async fn set_same_value_is_not_modified(s: Arc<Store>) {
        let doc = unmodified(
            &s,
            doc! { "n": 1, "d": { "a": 1 } },
            Update::new().set("n", 1).set("d", doc! { "a": 1 }),
        )
        .await;
        assert_eq!(doc.get("n"), Some(&Bson::Int32(1)));
    }

    pub async fn set_other_numeric_type_is_modified(s: Arc<Store>) {
        let doc = modified(&s, doc! { "n": 5.0 }, Update::new().set("n", 5)).await;
        assert_eq!(doc.get("n"), Some(&Bson::Int32(5)));
    }

    pub async fn set_through_scalar_is_path_not_viable(s: Arc<Store>) {
        assert_eq!(
            fails(&s, doc! { "a": 5 }, Update::new().set("a.b", 1)).await,
            UpdateFailure::PathNotViable
        );
        assert_eq!(
            fails(&s, doc! { "a": Bson::Null }, Update::new().set("a.b", 1)).await,
            UpdateFailure::PathNotViable
        );
    }

    pub async fn set_array_element_by_index(s: Arc<Store>) {
        let doc = modified(&s, doc! {}, Update::new().set("tags.1", "web")).await;
        assert_eq!(
            doc.get_array("tags").unwrap(),
            &vec![Bson::from("rust"), Bson::from("web")]
        );
    }

    pub async fn set_past_array_end_pads_with_null(s: Arc<Store>) {
        let doc = modified(&s, doc! {}, Update::new().set("tags.4", "z")).await;
        let expected: Vec<Bson> = vec![
            "rust".into(),
            "http".into(),
            Bson::Null,
            Bson::Null,
            "z".into(),
        ];
        assert_eq!(doc.get_array("tags").unwrap(), &expected);
    }

    pub async fn set_named_field_in_array_is_path_not_viable(s: Arc<Store>) {
        assert_eq!(
            fails(&s, doc! {}, Update::new().set("tags.name", 1)).await,
            UpdateFailure::PathNotViable
        );
    }

    // --- $unset ----------------------------------------------------------------------

    pub async fn unset_removes_field(s: Arc<Store>) {
        let doc = modified(&s, doc! { "n": 1, "m": 2 }, Update::new().unset("n")).await;
        assert!(!doc.contains_key("n"));
        assert_eq!(doc.get("m"), Some(&Bson::Int32(2)));
    }

    pub async fn unset_missing_is_not_modified(s: Arc<Store>) {
        unmodified(
            &s,
            doc! { "n": 1 },
            Update::new().unset("missing").unset("n.deeper"),
        )
        .await;
    }

    pub async fn unset_nested_field(s: Arc<Store>) {
        let doc = modified(
            &s,
            doc! { "a": { "b": 1, "c": 2 } },
            Update::new().unset("a.b"),
        )
        .await;
        assert_eq!(doc.get_document("a").unwrap(), &doc! { "c": 2 });
    }

    pub async fn unset_array_element_leaves_null(s: Arc<Store>) {
        let doc = modified(&s, doc! {}, Update::new().unset("tags.0")).await;
        let tags = doc.get_array("tags").unwrap();
        if is_ferretdb(&s).await {
            // FerretDB v1.24 removes the element, shifting the rest left.
            assert_eq!(tags, &vec![Bson::from("http")]);
        } else {
            // MongoDB keeps the array's length so later indexes keep their meaning.
            assert_eq!(tags, &vec![Bson::Null, Bson::from("http")]);
        }
    }

    // --- $inc ------------------------------------------------------------------------

    pub async fn inc_adds_to_int32(s: Arc<Store>) {
        let doc = modified(&s, doc! { "likes": 41 }, Update::new().inc("likes", 1)).await;
        assert_eq!(doc.get("likes"), Some(&Bson::Int32(42)));
    }

    pub async fn inc_missing_field_sets_operand(s: Arc<Store>) {
        let doc = modified(
            &s,
            doc! {},
            Update::new().inc("views", 3_i64).inc("score", -1.5),
        )
        .await;
        assert_eq!(doc.get("views"), Some(&Bson::Int64(3)));
        assert_eq!(doc.get("score"), Some(&Bson::Double(-1.5)));
    }

    pub async fn inc_int32_overflow_widens_to_int64(s: Arc<Store>) {
        let doc = modified(&s, doc! { "n": i32::MAX }, Update::new().inc("n", 1)).await;
        assert_eq!(doc.get("n"), Some(&Bson::Int64(i64::from(i32::MAX) + 1)));
    }

    pub async fn inc_int64_overflow_is_bad_value(s: Arc<Store>) {
        assert_eq!(
            fails(&s, doc! { "n": i64::MAX }, Update::new().inc("n", 1)).await,
            UpdateFailure::BadValue
        );
    }

    /// Our rule, not MongoDB's: results stay within ±2^53, the integers a JSON client reads
    /// exactly, and finite; the MongoDB store holds the server to it with a guard.
    pub async fn inc_or_mul_past_2_to_the_53_is_bad_value_naming_the_field(s: Arc<Store>) {
        let top = 1_i64 << 53;
        let (kind, path, message) =
            fails_at(&s, doc! { "n": top - 1 }, Update::new().inc("n", 2)).await;
        assert_eq!((kind, path.as_str()), (UpdateFailure::BadValue, "n"));
        assert_eq!(
            message,
            "$inc would make field 'n' 9007199254740993, outside ±2^53, the numbers a JSON client reads exactly"
        );
        let (kind, path, _) = fails_at(&s, doc! { "x": 1.5 }, Update::new().mul("x", 9e15)).await;
        assert_eq!((kind, path.as_str()), (UpdateFailure::BadValue, "x"));
        let (kind, path, _) =
            fails_at(&s, doc! { "n": -top }, Update::new().inc("n", -1_i64)).await;
        assert_eq!((kind, path.as_str()), (UpdateFailure::BadValue, "n"));
        // At the bound itself, and from a missing field, the result is still a number.
        let doc = modified(&s, doc! { "n": top - 1 }, Update::new().inc("n", 1)).await;
        assert_eq!(doc.get("n"), Some(&Bson::Int64(top)));
        let doc = modified(&s, doc! {}, Update::new().inc("n", top)).await;
        assert_eq!(doc.get("n"), Some(&Bson::Int64(top)));
    }

    pub async fn inc_operand_past_2_to_the_53_is_invalid(s: Arc<Store>) {
        assert_eq!(
            invalid(&s, Update::new().inc("n", (1_i64 << 53) + 1)).await,
            "n"
        );
        assert_eq!(
            invalid(&s, Update::new().mul("n", f64::INFINITY)).await,
            "n"
        );
    }

    /// A refusal names the field and says why in the same words on both stores, whatever
    /// the MongoDB server's own message was.
    pub async fn update_failures_name_the_field_in_the_same_words(s: Arc<Store>) {
        let (kind, path, message) =
            fails_at(&s, doc! { "n": "1" }, Update::new().inc("n", 1)).await;
        assert_eq!((kind, path.as_str()), (UpdateFailure::TypeMismatch, "n"));
        assert_eq!(
            message,
            "cannot apply $inc to a value of non-numeric type: field 'n' has type string"
        );
        let (kind, path, message) =
            fails_at(&s, doc! { "a": 5 }, Update::new().set("a.b", 1)).await;
        assert_eq!((kind, path.as_str()), (UpdateFailure::PathNotViable, "a.b"));
        assert_eq!(
            message,
            "cannot create field 'b' of 'a.b' in a value of type int"
        );
    }

    pub async fn inc_int_by_double_gives_double(s: Arc<Store>) {
        let doc = modified(&s, doc! { "n": 1 }, Update::new().inc("n", 0.5)).await;
        assert_eq!(doc.get("n"), Some(&Bson::Double(1.5)));
    }

    pub async fn inc_int32_by_int64_gives_int64(s: Arc<Store>) {
        let doc = modified(&s, doc! { "n": 1 }, Update::new().inc("n", 2_i64)).await;
        assert_eq!(doc.get("n"), Some(&Bson::Int64(3)));
    }

    pub async fn inc_on_string_is_type_mismatch(s: Arc<Store>) {
        assert_eq!(
            fails(&s, doc! { "n": "1" }, Update::new().inc("n", 1)).await,
            UpdateFailure::TypeMismatch
        );
        assert_eq!(
            fails(&s, doc! { "n": Bson::Null }, Update::new().inc("n", 1)).await,
            UpdateFailure::TypeMismatch
        );
    }

    pub async fn inc_by_zero_is_not_modified(s: Arc<Store>) {
        let (outcome, doc) = apply(&s, doc! { "n": 7 }, Update::new().inc("n", 0)).await;
        assert_eq!(doc.get("n"), Some(&Bson::Int32(7)));
        // MongoDB sees an identical value and counts no modification; FerretDB v1.24
        // counts one.
        let expected = u64::from(is_ferretdb(&s).await);
        assert_eq!((outcome.matched, outcome.modified), (1, expected));
    }

    pub async fn inc_nested_creates_path(s: Arc<Store>) {
        let doc = modified(&s, doc! {}, Update::new().inc("stats.likes", 1)).await;
        assert_eq!(doc.get_document("stats").unwrap(), &doc! { "likes": 1 });
    }

    // --- $mul ------------------------------------------------------------------------

    pub async fn mul_multiplies(s: Arc<Store>) {
        let doc = modified(&s, doc! { "n": 6 }, Update::new().mul("n", 7)).await;
        assert_eq!(doc.get("n"), Some(&Bson::Int32(42)));
    }

    pub async fn mul_missing_field_is_zero_of_operand_type(s: Arc<Store>) {
        let doc = modified(
            &s,
            doc! {},
            Update::new().mul("a", 5).mul("b", 5_i64).mul("c", 2.5),
        )
        .await;
        assert_eq!(doc.get("a"), Some(&Bson::Int32(0)));
        assert_eq!(doc.get("b"), Some(&Bson::Int64(0)));
        assert_eq!(doc.get("c"), Some(&Bson::Double(0.0)));
    }

    pub async fn mul_int32_overflow_widens_to_int64(s: Arc<Store>) {
        let doc = modified(&s, doc! { "n": 1 << 20 }, Update::new().mul("n", 1 << 20)).await;
        assert_eq!(doc.get("n"), Some(&Bson::Int64(1 << 40)));
    }

    pub async fn mul_int64_overflow_is_bad_value(s: Arc<Store>) {
        assert_eq!(
            fails(&s, doc! { "n": i64::MAX / 2 }, Update::new().mul("n", 3)).await,
            UpdateFailure::BadValue
        );
    }

    pub async fn mul_on_string_is_type_mismatch(s: Arc<Store>) {
        assert_eq!(
            fails(&s, doc! { "n": "6" }, Update::new().mul("n", 2)).await,
            UpdateFailure::TypeMismatch
        );
    }

    pub async fn mul_by_double_gives_double(s: Arc<Store>) {
        let doc = modified(&s, doc! { "n": 3_i64 }, Update::new().mul("n", 0.5)).await;
        assert_eq!(doc.get("n"), Some(&Bson::Double(1.5)));
    }

    // --- $min / $max -----------------------------------------------------------------

    pub async fn min_lower_replaces(s: Arc<Store>) {
        let doc = modified(&s, doc! { "low": 10 }, Update::new().min("low", 3)).await;
        assert_eq!(doc.get("low"), Some(&Bson::Int32(3)));
    }

    pub async fn min_higher_is_not_modified(s: Arc<Store>) {
        let doc = unmodified(&s, doc! { "low": 10 }, Update::new().min("low", 30)).await;
        assert_eq!(doc.get("low"), Some(&Bson::Int32(10)));
    }

    pub async fn min_missing_field_sets_it(s: Arc<Store>) {
        let doc = modified(&s, doc! {}, Update::new().min("low", 4)).await;
        assert_eq!(doc.get("low"), Some(&Bson::Int32(4)));
    }

    pub async fn min_compares_across_types(s: Arc<Store>) {
        // Numbers sort before strings, so a number is the minimum.
        let doc = modified(&s, doc! { "v": "abc" }, Update::new().min("v", 100)).await;
        assert_eq!(doc.get("v"), Some(&Bson::Int32(100)));
        // And a string is never lower than a number.
        unmodified(&s, doc! { "v": 1 }, Update::new().min("v", "a")).await;
    }

    pub async fn max_higher_replaces(s: Arc<Store>) {
        let doc = modified(&s, doc! { "high": 10 }, Update::new().max("high", 10.5)).await;
        assert_eq!(doc.get("high"), Some(&Bson::Double(10.5)));
    }

    pub async fn max_equal_value_of_other_type_is_not_modified(s: Arc<Store>) {
        let doc = unmodified(&s, doc! { "high": 5 }, Update::new().max("high", 5.0)).await;
        assert_eq!(doc.get("high"), Some(&Bson::Int32(5)));
    }

    pub async fn max_missing_field_sets_it(s: Arc<Store>) {
        let doc = modified(&s, doc! {}, Update::new().max("high", -3_i64)).await;
        assert_eq!(doc.get("high"), Some(&Bson::Int64(-3)));
    }

    pub async fn max_on_dates(s: Arc<Store>) {
        let doc = modified(&s, doc! {}, Update::new().max("created_at", t(60))).await;
        assert_eq!(doc.get("created_at"), Some(&Bson::DateTime(t(60))));
        unmodified(&s, doc! {}, Update::new().max("created_at", t(-60))).await;
    }

    // --- $rename ---------------------------------------------------------------------

    pub async fn rename_moves_field(s: Arc<Store>) {
        let doc = modified(
            &s,
            doc! { "likes": 3 },
            Update::new().rename("likes", "hearts"),
        )
        .await;
        assert!(!doc.contains_key("likes"));
        assert_eq!(doc.get("hearts"), Some(&Bson::Int32(3)));
    }

    pub async fn rename_onto_existing_overwrites(s: Arc<Store>) {
        let doc = modified(
            &s,
            doc! { "a": 1, "b": "old" },
            Update::new().rename("a", "b"),
        )
        .await;
        assert!(!doc.contains_key("a"));
        assert_eq!(doc.get("b"), Some(&Bson::Int32(1)));
    }

    pub async fn rename_missing_is_not_modified(s: Arc<Store>) {
        let doc = unmodified(&s, doc! { "b": 2 }, Update::new().rename("a", "b")).await;
        assert_eq!(
            doc.get("b"),
            Some(&Bson::Int32(2)),
            "the target is untouched"
        );
    }

    pub async fn rename_between_nested_paths(s: Arc<Store>) {
        let doc = modified(
            &s,
            doc! { "a": { "b": 1, "c": 2 } },
            Update::new().rename("a.b", "x.y"),
        )
        .await;
        assert_eq!(doc.get_document("a").unwrap(), &doc! { "c": 2 });
        assert_eq!(doc.get_document("x").unwrap(), &doc! { "y": 1 });
    }

    pub async fn rename_through_array_is_bad_value(s: Arc<Store>) {
        if is_ferretdb(&s).await {
            // FerretDB v1.24 renames through array elements; MongoDB refuses both.
            let doc = modified(&s, doc! {}, Update::new().rename("tags.0", "first")).await;
            assert_eq!(doc.get_str("first").unwrap(), "rust");
            return;
        }
        assert_eq!(
            fails(&s, doc! {}, Update::new().rename("tags.0", "first")).await,
            UpdateFailure::BadValue
        );
        let items = doc! { "n": 1, "items": [{ "a": 1 }] };
        assert_eq!(
            fails(&s, items, Update::new().rename("n", "items.0.b")).await,
            UpdateFailure::BadValue
        );
    }

    pub async fn rename_whole_array_is_allowed(s: Arc<Store>) {
        let doc = modified(&s, doc! {}, Update::new().rename("tags", "labels")).await;
        assert_eq!(
            doc.get_array("labels").unwrap(),
            &vec![Bson::from("rust"), Bson::from("http")]
        );
        assert!(!doc.contains_key("tags"));
    }

    // --- $currentDate ----------------------------------------------------------------

    pub async fn current_date_true_sets_now(s: Arc<Store>) {
        let before = from_now(-1);
        let doc = modified(&s, doc! {}, Update::new().current_date("updated_at")).await;
        let after = from_now(1);
        let stamped = doc.get_datetime("updated_at").copied().unwrap();
        assert!(before <= stamped && stamped <= after, "{stamped} is now");
    }

    pub async fn current_date_type_timestamp(s: Arc<Store>) {
        let before = u32::try_from(from_now(-1).timestamp_millis() / 1000).unwrap();
        let doc = modified(&s, doc! {}, Update::new().current_timestamp("seen")).await;
        match doc.get("seen") {
            Some(Bson::Timestamp(ts)) => assert!(ts.time >= before, "timestamp {ts:?} is recent"),
            other => panic!("expected a timestamp, got {other:?}"),
        }
    }

    /// Timestamps count within a second, as MongoDB's do: each stamp sorts after the last.
    pub async fn current_date_timestamps_are_ordered_within_a_second(s: Arc<Store>) {
        let id = insert(&s, doc! {}).await;
        let mut last: Option<bson::Timestamp> = None;
        for _ in 0..5 {
            s.update_one(id, &Update::new().current_timestamp("seen"), false)
                .await
                .expect("update succeeds");
            let Some(Bson::Timestamp(stamp)) = fetch(&s, id).await.get("seen").cloned() else {
                panic!("expected a timestamp");
            };
            if let Some(last) = last {
                assert!(
                    (stamp.time, stamp.increment) > (last.time, last.increment),
                    "{stamp:?} after {last:?}"
                );
            }
            last = Some(stamp);
        }
    }

    pub async fn current_date_type_date(s: Arc<Store>) {
        let before = from_now(-1);
        let update = Update::new().push(Operator::CurrentDate, "seen", doc! { "$type": "date" });
        let doc = modified(&s, doc! {}, update).await;
        let after = from_now(1);
        let stamped = doc.get_datetime("seen").copied().unwrap();
        assert!(before <= stamped && stamped <= after, "{stamped} is now");
    }

    pub async fn current_date_on_nested_path(s: Arc<Store>) {
        let update = Update::new().current_date("seen.at");
        if is_ferretdb(&s).await {
            // FerretDB v1.24 rejects dotted paths under $currentDate ("key must not
            // contain '.'"); MongoDB accepts them.
            assert_eq!(fails(&s, doc! {}, update).await, UpdateFailure::BadValue);
            return;
        }
        let doc = modified(&s, doc! {}, update).await;
        assert!(doc.get_document("seen").unwrap().get_datetime("at").is_ok());
    }

    // --- $setOnInsert and upsert -----------------------------------------------------

    pub async fn set_on_insert_is_ignored_on_update(s: Arc<Store>) {
        let doc = unmodified(
            &s,
            doc! { "n": 1 },
            Update::new().set_on_insert("created_by", "upsert"),
        )
        .await;
        assert!(!doc.contains_key("created_by"));
    }

    pub async fn upsert_inserts_with_set_on_insert(s: Arc<Store>) {
        let id = ObjectId::new();
        let update = Update::new()
            .set("title", "made")
            .set_on_insert("likes", 0)
            .inc("views", 1);
        let outcome = s.update_one(id, &update, true).await.unwrap();
        assert_eq!(
            outcome,
            UpdateOutcome {
                matched: 0,
                modified: 0,
                upserted_id: Some(id)
            }
        );
        assert_eq!(
            fetch(&s, id).await,
            doc! { "_id": id, "likes": 0, "title": "made", "views": 1 }
        );
    }

    pub async fn upsert_on_existing_updates_it(s: Arc<Store>) {
        let id = insert(&s, doc! { "views": 1 }).await;
        let update = Update::new().inc("views", 1).set_on_insert("likes", 0);
        let outcome = s.update_one(id, &update, true).await.unwrap();
        assert_eq!(
            outcome,
            UpdateOutcome {
                matched: 1,
                modified: 1,
                upserted_id: None
            }
        );
        let doc = fetch(&s, id).await;
        assert_eq!(doc.get("views"), Some(&Bson::Int32(2)));
        assert!(!doc.contains_key("likes"));
    }

    pub async fn upsert_applies_missing_field_rules(s: Arc<Store>) {
        let id = ObjectId::new();
        let update = Update::new()
            .mul("m", 3)
            .min("lo", 2)
            .max("hi", 9)
            .unset("gone")
            .rename("old", "new");
        s.update_one(id, &update, true).await.unwrap();
        assert_eq!(
            fetch(&s, id).await,
            doc! { "_id": id, "hi": 9, "lo": 2, "m": 0 }
        );
    }

    // --- several operators, and atomicity --------------------------------------------

    pub async fn operators_combine_in_one_update(s: Arc<Store>) {
        let update = Update::new()
            .inc("likes", 1)
            .set("title", "edited")
            .unset("body")
            .rename("tags", "labels")
            .max("best", 10)
            .current_date("updated_at");
        let doc = modified(&s, doc! { "likes": 1, "best": 5 }, update).await;
        assert_eq!(doc.get("likes"), Some(&Bson::Int32(2)));
        assert_eq!(doc.get_str("title").unwrap(), "edited");
        assert!(!doc.contains_key("body") && !doc.contains_key("tags"));
        assert!(doc.contains_key("labels"));
        assert_eq!(doc.get("best"), Some(&Bson::Int32(10)));
        assert!(doc.get_datetime("updated_at").copied().unwrap() > t(0));
    }

    pub async fn failed_update_changes_nothing(s: Arc<Store>) {
        let update = Update::new().set("a", 1).inc("name", 1).unset("n");
        assert_eq!(
            fails(&s, doc! { "name": "x", "n": 1 }, update).await,
            UpdateFailure::TypeMismatch
        );
    }
}

// ---------------------------------------------------------------------------------------
// Every case, for both backends.
// ---------------------------------------------------------------------------------------

/// Generates `embedded::<case>` and `mongo::<case>` for each case named.
macro_rules! conformance {
    ($($case:ident),+ $(,)?) => {
        mod embedded {
            $(
                #[tokio::test]
                async fn $case() {
                    super::run_embedded(super::cases::$case).await;
                }
            )+
        }

        mod mongo {
            $(
                #[tokio::test]
                async fn $case() {
                    super::run_mongo(concat!("mongo::", stringify!($case)), super::cases::$case).await;
                }
            )+
        }
    };
}

conformance! {
    user_round_trip,
    duplicate_username_is_duplicate,
    duplicate_email_is_duplicate,
    users_without_email_do_not_collide,
    identifier_finds_by_email,
    identifier_prefers_username,
    unknown_user_is_none,
    set_password_hash_updates_and_reports_missing,
    session_round_trip,
    session_unknown_is_none,
    session_idle_expired_is_missing,
    session_absolute_expired_is_missing,
    session_touch_slides_idle_expiry,
    session_touch_of_expired_is_false,
    session_delete_removes_it,
    session_delete_all_keeps_the_exception,
    session_list_is_live_and_oldest_first,
    expired_sessions_are_deleted_in_batches_soonest_first,
    a_touched_session_is_not_swept_at_its_old_expiry,
    the_sweep_runs_at_start_and_on_its_schedule,
    attempts_are_refused_at_the_limit_until_given_back,
    attempts_reserved_at_once_never_pass_the_limit,
    expired_attempt_counts_are_swept,
    session_duplicate_hash_is_duplicate,
    reads_after_writes_see_the_writes,
    insert_one_then_find_one,
    insert_many_keeps_order,
    insert_many_of_nothing_is_ok,
    insert_rejects_unsafe_field_names,
    find_one_missing_is_none,
    delete_one_counts,
    find_all_streams_every_post,
    filter_by_author,
    filter_by_tag_matches_array_elements,
    filter_by_time_range_is_half_open,
    filter_by_title_prefix_is_literal,
    filter_combines_conditions,
    sort_newest_first_by_default,
    sort_by_title_breaks_ties_by_id,
    skip_and_limit,
    after_pages_without_gaps,
    after_unknown_post_is_after_post_missing,
    empty_update_is_invalid,
    unknown_operator_is_invalid,
    dollar_path_is_invalid,
    empty_segment_is_invalid,
    id_path_is_invalid,
    same_path_twice_conflicts,
    prefix_paths_conflict,
    rename_ends_conflict_with_other_paths,
    arithmetic_needs_numeric_operand,
    current_date_spec_is_checked,
    rename_needs_string_target,
    operand_keys_are_checked,
    update_without_match_matches_nothing,
    set_adds_and_replaces,
    set_nested_creates_documents,
    set_same_value_is_not_modified,
    set_other_numeric_type_is_modified,
    set_through_scalar_is_path_not_viable,
    set_array_element_by_index,
    set_past_array_end_pads_with_null,
    set_named_field_in_array_is_path_not_viable,
    unset_removes_field,
    unset_missing_is_not_modified,
    unset_nested_field,
    unset_array_element_leaves_null,
    inc_adds_to_int32,
    inc_missing_field_sets_operand,
    inc_int32_overflow_widens_to_int64,
    inc_or_mul_past_2_to_the_53_is_bad_value_naming_the_field,
    inc_operand_past_2_to_the_53_is_invalid,
    update_failures_name_the_field_in_the_same_words,
    current_date_timestamps_are_ordered_within_a_second,
    inc_int64_overflow_is_bad_value,
    inc_int_by_double_gives_double,
    inc_int32_by_int64_gives_int64,
    inc_on_string_is_type_mismatch,
    inc_by_zero_is_not_modified,
    inc_nested_creates_path,
    mul_multiplies,
    mul_missing_field_is_zero_of_operand_type,
    mul_int32_overflow_widens_to_int64,
    mul_int64_overflow_is_bad_value,
    mul_on_string_is_type_mismatch,
    mul_by_double_gives_double,
    min_lower_replaces,
    min_higher_is_not_modified,
    min_missing_field_sets_it,
    min_compares_across_types,
    max_higher_replaces,
    max_equal_value_of_other_type_is_not_modified,
    max_missing_field_sets_it,
    max_on_dates,
    rename_moves_field,
    rename_onto_existing_overwrites,
    rename_missing_is_not_modified,
    rename_between_nested_paths,
    rename_through_array_is_bad_value,
    rename_whole_array_is_allowed,
    current_date_true_sets_now,
    current_date_type_timestamp,
    current_date_type_date,
    current_date_on_nested_path,
    set_on_insert_is_ignored_on_update,
    upsert_inserts_with_set_on_insert,
    upsert_on_existing_updates_it,
    upsert_applies_missing_field_rules,
    operators_combine_in_one_update,
    failed_update_changes_nothing,
}
