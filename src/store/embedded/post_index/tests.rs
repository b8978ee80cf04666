//! The indexes after any sequence of writes: random inserts, updates (every operator, on
//! the indexed fields too, with values of every type, upserts included) and deletes, then
//! each index table must equal one rebuilt from the posts table by the format upgrade, and
//! each kind of list must return what sorting all posts by hand returns.

use std::collections::BTreeSet;
use std::sync::Arc;

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, doc};
use proptest::prelude::*;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::super::EmbeddedStore;
use super::super::find::sort_key;
use super::super::format::{POSTS_TABLE, index_posts};
use super::*;
use crate::store::query::after_matches;
use crate::store::{FindOptions, NewPost, PostFilter, PostSort, PostStore, Update};

/// The authors posts are written by: few, so lists by author have several posts.
fn author(index: usize) -> ObjectId {
    ObjectId::from_bytes([index as u8 + 1; 12])
}

const TITLES: [&str; 4] = ["a", "ab", "b", "c"];
const TAGS: [&str; 3] = ["x", "y", "z"];
/// The fields updates touch: the indexed ones, a counter, and one nothing reads.
const FIELDS: [&str; 6] = ["created_at", "title", "author", "tags", "likes", "n"];

#[derive(Debug, Clone)]
enum Write {
    Insert(Vec<NewPost>),
    /// An update of the post at `target` among those inserted so far (an id nobody has
    /// when there are none, which an upsert then inserts).
    Update {
        target: usize,
        update: Document,
        upsert: bool,
    },
    Delete(usize),
}

fn new_post() -> impl Strategy<Value = NewPost> {
    (
        0..3_usize,
        prop::sample::select(&TITLES[..]),
        prop::sample::subsequence(&TAGS[..], 0..=3),
        // Few distinct dates, so posts tie on them and `_id` orders them.
        0..4_i64,
    )
        .prop_map(|(by, title, tags, day)| NewPost {
            author: author(by),
            title: title.to_owned(),
            body: String::new(),
            tags: tags.into_iter().map(str::to_owned).collect(),
            created_at: DateTime::from_millis(day * 1000),
            extra: Document::new(),
        })
}

/// A value of one of the types MongoDB would let a field hold.
fn value() -> impl Strategy<Value = Bson> {
    prop_oneof![
        (0..4_i64).prop_map(|day| Bson::DateTime(DateTime::from_millis(day * 1000))),
        prop::sample::select(&TITLES[..]).prop_map(|title| Bson::String(title.to_owned())),
        (-2..3_i32).prop_map(Bson::Int32),
        Just(Bson::Double(1.5)),
        prop::sample::subsequence(&TAGS[..], 0..=3)
            .prop_map(|tags| Bson::Array(tags.into_iter().map(Bson::from).collect())),
        (0..3_usize).prop_map(|by| Bson::ObjectId(author(by))),
        Just(Bson::Null),
    ]
}

/// One operator on one field.
fn operation() -> impl Strategy<Value = (&'static str, String, Bson)> {
    let field = prop::sample::select(&FIELDS[..]).prop_map(str::to_owned);
    prop_oneof![
        (field.clone(), value()).prop_map(|(f, v)| ("$set", f, v)),
        field
            .clone()
            .prop_map(|f| ("$unset", f, Bson::String(String::new()))),
        (field.clone(), -2..3_i32).prop_map(|(f, n)| ("$inc", f, Bson::Int32(n))),
        (field.clone(), -2..3_i32).prop_map(|(f, n)| ("$mul", f, Bson::Int32(n))),
        (field.clone(), value()).prop_map(|(f, v)| ("$min", f, v)),
        (field.clone(), value()).prop_map(|(f, v)| ("$max", f, v)),
        (field.clone(), prop::sample::select(&FIELDS[..])).prop_map(|(f, to)| (
            "$rename",
            f,
            Bson::String(to.to_owned())
        )),
        (field.clone(), value()).prop_map(|(f, v)| ("$setOnInsert", f, v)),
        (field, any::<bool>()).prop_map(|(f, stamp)| {
            let how = if stamp {
                Bson::Document(doc! { "$type": "timestamp" })
            } else {
                Bson::Boolean(true)
            };
            ("$currentDate", f, how)
        }),
    ]
}

fn update_document() -> impl Strategy<Value = Document> {
    prop::collection::vec(operation(), 1..4).prop_map(|operations| {
        let mut update = Document::new();
        for (operator, field, value) in operations {
            match update.get_mut(operator) {
                Some(Bson::Document(fields)) => {
                    fields.insert(field, value);
                }
                _ => {
                    update.insert(operator, doc! { field: value });
                }
            }
        }
        update
    })
}

fn write() -> impl Strategy<Value = Write> {
    prop_oneof![
        prop::collection::vec(new_post(), 1..4).prop_map(Write::Insert),
        (any::<usize>(), update_document(), any::<bool>()).prop_map(|(target, update, upsert)| {
            Write::Update {
                target,
                update,
                upsert,
            }
        }),
        any::<usize>().prop_map(Write::Delete),
    ]
}

/// Every key of an index table, in order.
fn keys<K: redb::Key + 'static>(
    db: &Database,
    table: TableDefinition<K, ()>,
    owned: impl Fn(K::SelfType<'_>) -> String,
) -> Vec<String> {
    let txn = db.begin_read().expect("read");
    let table = txn.open_table(table).expect("table");
    table
        .iter()
        .expect("iterates")
        .map(|entry| owned(entry.expect("entry").0.value()))
        .collect()
}

/// Every index of `db`, each as its keys in order, written out so two can be compared.
fn index_contents(db: &Database) -> Vec<Vec<String>> {
    vec![
        keys(db, POSTS_BY_CREATED, |key| format!("{key:?}")),
        keys(db, POSTS_BY_AUTHOR, |key| format!("{key:?}")),
        keys(db, POSTS_BY_TAG, |key| format!("{key:?}")),
        keys(db, POSTS_BY_TITLE, |key| format!("{key:?}")),
        keys(db, POSTS_UNINDEXED, |key| format!("{key:?}")),
    ]
}

/// The indexes built from scratch, as the upgrade to format 4 builds them, from a copy of
/// `db`'s posts table.
fn rebuilt(db: &Database) -> Vec<Vec<String>> {
    let scratch = Database::builder()
        .create_with_backend(redb::backends::InMemoryBackend::new())
        .expect("in-memory database");
    let txn = scratch.begin_write().expect("write");
    {
        let mut copy = txn.open_table(POSTS_TABLE).expect("posts");
        let read = db.begin_read().expect("read");
        for entry in read
            .open_table(POSTS_TABLE)
            .expect("posts")
            .iter()
            .expect("iterates")
        {
            let (id, bytes) = entry.expect("entry");
            copy.insert(id.value(), bytes.value()).expect("copied");
        }
    }
    index_posts(&txn).expect("indexes build");
    txn.commit().expect("commits");
    index_contents(&scratch)
}

/// What a list must return, found the slow way: every post tested and sorted, with its
/// sort key.
fn by_hand(db: &Database, filter: &PostFilter, sort: PostSort) -> Vec<(Bson, ObjectId)> {
    let txn = db.begin_read().expect("read");
    let posts = txn.open_table(POSTS_TABLE).expect("posts");
    let mut found = Vec::new();
    for entry in posts.iter().expect("iterates") {
        let (id, bytes) = entry.expect("entry");
        let doc = raw(bytes.value()).expect("BSON");
        if filter.matches(doc) {
            let key = sort_key(doc, sort.field()).expect("sort key");
            found.push((key, ObjectId::from_bytes(post_id(id.value()).expect("id"))));
        }
    }
    found.sort_by(|a, b| sort.order((&a.0, &a.1), (&b.0, &b.1)));
    found
}

async fn listed(
    store: &EmbeddedStore,
    filter: PostFilter,
    options: FindOptions,
) -> Result<Vec<ObjectId>, StoreError> {
    let mut cursor = store.find(filter, options).await?;
    let mut ids = Vec::new();
    while let Some(post) = cursor.next().await {
        ids.push(post.expect("post").get_object_id("_id").expect("an id"));
    }
    Ok(ids)
}

/// Whether the post `id` has the field at all.
fn has_field(db: &Database, id: ObjectId, field: &str) -> bool {
    let txn = db.begin_read().expect("read");
    let posts = txn.open_table(POSTS_TABLE).expect("posts");
    let bytes = posts
        .get(id.bytes().as_slice())
        .expect("get")
        .expect("exists");
    raw(bytes.value())
        .expect("BSON")
        .get(field)
        .expect("reads")
        .is_some()
}

fn scratch_dir() -> std::path::PathBuf {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random");
    std::env::temp_dir().join(format!("groundup_index_test_{}", hex::encode(bytes)))
}

async fn run(writes: Vec<Write>) -> Result<(), TestCaseError> {
    let dir = scratch_dir();
    let store = EmbeddedStore::open(&dir, "groundup").await.expect("opens");
    let mut ids: Vec<ObjectId> = Vec::new();
    for write in writes {
        match write {
            Write::Insert(posts) => ids.extend(store.insert_many(posts).await.expect("inserts")),
            Write::Update {
                target,
                update,
                upsert,
            } => {
                let id = if ids.is_empty() {
                    ObjectId::new()
                } else {
                    ids[target % ids.len()]
                };
                // Updates MongoDB refuses (a conflict, a $inc on a string) are refused here
                // too, and must change nothing; the indexes are checked either way.
                if let Ok(update) = Update::from_document(&update)
                    && let Ok(outcome) = store.update_one(id, &update, upsert).await
                {
                    ids.extend(outcome.upserted_id);
                }
            }
            Write::Delete(target) if !ids.is_empty() => {
                let id = ids.remove(target % ids.len());
                store.delete_one(id).await.expect("deletes");
            }
            Write::Delete(_) => {}
        }
    }
    let db = Arc::clone(&store.db);
    prop_assert_eq!(index_contents(&db), rebuilt(&db));

    let second_newest = by_hand(&db, &PostFilter::default(), PostSort::CreatedAtDesc)
        .get(1)
        .map(|(_, id)| *id);
    let lists = [
        (PostFilter::default(), PostSort::CreatedAtDesc, None),
        (PostFilter::default(), PostSort::CreatedAtAsc, None),
        (PostFilter::default(), PostSort::TitleAsc, None),
        (
            PostFilter {
                author: Some(author(0)),
                ..PostFilter::default()
            },
            PostSort::CreatedAtDesc,
            None,
        ),
        (
            PostFilter {
                tag: Some("x".into()),
                ..PostFilter::default()
            },
            PostSort::CreatedAtAsc,
            None,
        ),
        (
            PostFilter {
                title_prefix: Some("a".into()),
                since: Some(DateTime::from_millis(1000)),
                ..PostFilter::default()
            },
            PostSort::TitleAsc,
            None,
        ),
        (
            PostFilter::default(),
            PostSort::CreatedAtDesc,
            second_newest,
        ),
    ];
    for (filter, sort, after) in lists {
        let mut expected = by_hand(&db, &filter, sort);
        if let Some(after) = after {
            // Keyset paging compares within a type, as `$lt`/`$gt` do on MongoDB: past a
            // date come only dates.
            let (key, _) = expected
                .iter()
                .find(|(_, id)| *id == after)
                .expect("listed")
                .clone();
            expected.retain(|(k, id)| after_matches(sort, (&key, &after), (k, id)));
        }
        let expected: Vec<ObjectId> = expected.into_iter().map(|(_, id)| id).collect();
        let options = FindOptions {
            sort,
            after,
            ..FindOptions::default()
        };
        match listed(&store, filter.clone(), options).await {
            Ok(got) => {
                prop_assert_eq!(
                    got,
                    expected,
                    "{:?} by {:?} after {:?}",
                    filter,
                    sort,
                    after
                );
            }
            // Paging past a post without the sorted field is refused, as on MongoDB.
            Err(StoreError::InvalidQuery { .. }) => {
                let after = after.expect("only `after` makes a list invalid");
                prop_assert!(!has_field(&db, after, sort.field()));
            }
            Err(error) => return Err(TestCaseError::fail(error.to_string())),
        }
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn indexes_equal_a_rebuild_and_lists_equal_a_sort_by_hand(
        writes in prop::collection::vec(write(), 1..24)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(run(writes))?;
    }
}

/// A file written before the indexes (format 3: posts, no index tables) gets them built
/// when it is opened, and lists read through them at once.
#[tokio::test]
async fn a_format_3_file_is_indexed_on_open() {
    let dir = scratch_dir();
    let store = EmbeddedStore::open(&dir, "groundup").await.expect("opens");
    let posts = (0..40)
        .map(|n| NewPost {
            author: author(n % 3),
            title: format!("post {n:02}"),
            body: String::new(),
            tags: vec![TAGS[n % 3].to_owned()],
            created_at: DateTime::from_millis(1000 * n as i64),
            extra: Document::new(),
        })
        .collect();
    let ids = store.insert_many(posts).await.expect("inserts");
    let indexed = index_contents(&store.db);
    drop(store);

    // Back to format 3, as an older groundup left the file: no index tables.
    let db = Database::create(dir.join("groundup.redb")).expect("reopens");
    let txn = db.begin_write().expect("write");
    txn.delete_table(POSTS_BY_CREATED).expect("dropped");
    txn.delete_table(POSTS_BY_AUTHOR).expect("dropped");
    txn.delete_table(POSTS_BY_TAG).expect("dropped");
    txn.delete_table(POSTS_BY_TITLE).expect("dropped");
    txn.delete_table(POSTS_UNINDEXED).expect("dropped");
    txn.open_table(super::super::format::META)
        .expect("meta")
        .insert("format", 3)
        .expect("written");
    txn.commit().expect("commits");
    let read = db.begin_read().expect("read");
    assert!(matches!(
        read.open_table(POSTS_BY_CREATED),
        Err(redb::TableError::TableDoesNotExist(_))
    ));
    drop(read);
    drop(db);

    let store = EmbeddedStore::open(&dir, "groundup")
        .await
        .expect("upgrades");
    assert_eq!(index_contents(&store.db), indexed);
    let newest = listed(&store, PostFilter::default(), FindOptions::default())
        .await
        .expect("lists");
    assert_eq!(newest, ids.iter().rev().copied().collect::<Vec<_>>());
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_post_holds_one_entry_per_distinct_author_and_tag() {
    let doc = bson::RawDocumentBuf::from_document(&doc! {
        "created_at": DateTime::from_millis(5),
        "title": "t",
        "author": [author(0), author(0), "not an id"],
        "tags": ["x", "x", 3, "y"],
    })
    .expect("encodes");
    let keys = PostKeys::of(&doc);
    assert_eq!(keys.created, Some(5));
    assert_eq!(keys.title.as_deref(), Some("t"));
    assert_eq!(keys.authors, BTreeSet::from([author(0).bytes()]));
    assert_eq!(keys.tags, BTreeSet::from(["x".to_owned(), "y".to_owned()]));
}
