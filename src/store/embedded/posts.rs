//! Posts in the embedded store: one table by `_id`, and the reader behind a
//! [`PostCursor`](crate::store::PostCursor).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, RawDocument};
use futures_core::Stream;
use redb::{Database, ReadableDatabase, ReadableTable};
use tokio::sync::mpsc;

use super::format::POSTS_TABLE;
use super::{EmbeddedStore, backend, begin_write, encode, get_doc, update_engine};
use crate::store::cursor::{CHANNEL_DEPTH, PostCursor};
use crate::store::query::after_matches;
use crate::store::{
    FindOptions, NewPost, PostFilter, PostStore, StoreError, Update, UpdateOutcome,
};

impl PostStore for EmbeddedStore {
    async fn insert_one(&self, post: NewPost) -> Result<ObjectId, StoreError> {
        let mut ids = self.insert_many(vec![post]).await?;
        ids.pop()
            .ok_or_else(|| StoreError::Backend("insert_many returned no id for one post".into()))
    }

    async fn insert_many(&self, posts: Vec<NewPost>) -> Result<Vec<ObjectId>, StoreError> {
        // Build and check every document before writing any: one bad post fails the call.
        let mut docs = Vec::with_capacity(posts.len());
        for post in posts {
            let id = ObjectId::new();
            docs.push((id, encode(&post.into_document(id)?)?));
        }
        self.blocking(move |db, _| {
            let txn = begin_write(db)?;
            {
                let mut table = txn.open_table(POSTS_TABLE).map_err(backend)?;
                for (id, bytes) in &docs {
                    table
                        .insert(id.bytes().as_slice(), bytes.as_slice())
                        .map_err(backend)?;
                }
            }
            txn.commit().map_err(backend)?;
            Ok(docs.into_iter().map(|(id, _)| id).collect())
        })
        .await
    }

    async fn find_one(&self, id: ObjectId) -> Result<Option<Document>, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        let posts = txn.open_table(POSTS_TABLE).map_err(backend)?;
        get_doc(&posts, &id.bytes())
    }

    async fn find(
        &self,
        filter: PostFilter,
        options: FindOptions,
    ) -> Result<PostCursor, StoreError> {
        let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
        let db = Arc::clone(&self.db);
        // The first message is the plan's outcome: an error for a bad `after`, else the
        // documents follow. Waiting for it lets `find` itself return that error.
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        tokio::task::spawn_blocking(move || {
            stream_posts(&db, &filter, &options, ready_tx, &sender)
        });
        ready_rx
            .await
            .map_err(|_| StoreError::Backend("embedded reader stopped before starting".into()))??;
        Ok(PostCursor::new(Box::pin(Received(receiver))))
    }

    async fn update_one(
        &self,
        id: ObjectId,
        update: &Update,
        upsert: bool,
    ) -> Result<UpdateOutcome, StoreError> {
        update.validate()?;
        let update = update.clone();
        self.blocking(move |db, _| {
            let txn = begin_write(db)?;
            let outcome = {
                let mut posts = txn.open_table(POSTS_TABLE).map_err(backend)?;
                let now = DateTime::now();
                let (mut doc, inserting) = match get_doc(&posts, &id.bytes())? {
                    Some(doc) => (doc, false),
                    None if upsert => (bson::doc! { "_id": id }, true),
                    None => {
                        return Ok(UpdateOutcome {
                            matched: 0,
                            modified: 0,
                            upserted_id: None,
                        });
                    }
                };
                let modified = update_engine::apply(&mut doc, &update, inserting, now)?;
                if modified || inserting {
                    posts
                        .insert(id.bytes().as_slice(), encode(&doc)?.as_slice())
                        .map_err(backend)?;
                }
                if inserting {
                    UpdateOutcome {
                        matched: 0,
                        modified: 0,
                        upserted_id: Some(id),
                    }
                } else {
                    UpdateOutcome {
                        matched: 1,
                        modified: u64::from(modified),
                        upserted_id: None,
                    }
                }
            };
            txn.commit().map_err(backend)?;
            Ok(outcome)
        })
        .await
    }

    async fn delete_one(&self, id: ObjectId) -> Result<u64, StoreError> {
        self.blocking(move |db, _| {
            let txn = begin_write(db)?;
            let deleted = {
                let mut posts = txn.open_table(POSTS_TABLE).map_err(backend)?;
                u64::from(
                    posts
                        .remove(id.bytes().as_slice())
                        .map_err(backend)?
                        .is_some(),
                )
            };
            txn.commit().map_err(backend)?;
            Ok(deleted)
        })
        .await
    }
}

/// The sort key of a post, read from its stored bytes: the sorted field's value, or null
/// when missing (MongoDB sorts a missing field as null).
fn sort_key(doc: &RawDocument, field: &str) -> Result<Bson, StoreError> {
    let decode_error = |e: bson::raw::Error| StoreError::Decode(e.to_string());
    match doc.get(field).map_err(decode_error)? {
        Some(value) => Bson::try_from(value).map_err(decode_error),
        None => Ok(Bson::Null),
    }
}

/// What the reader decided to send: the snapshot's posts table and the ids, in order.
type Plan = (
    redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    Vec<ObjectId>,
);

/// The reader behind an embedded [`PostCursor`], run on a blocking thread.
///
/// 1. Scan the posts, keeping `(sort key, _id)` of those that match the filter and come
///    after the `after` anchor. The scan reads each post's bytes in place, decoding nothing
///    but the sort key; only the posts sent are decoded whole.
/// 2. Sort those pairs, apply skip and limit.
/// 3. Fetch each document by id and send it; stop early if the cursor was dropped.
///
/// Everything happens in one read transaction, so the results are one consistent snapshot,
/// whatever is written meanwhile.
fn stream_posts(
    db: &Database,
    filter: &PostFilter,
    options: &FindOptions,
    ready: tokio::sync::oneshot::Sender<Result<(), StoreError>>,
    sender: &mpsc::Sender<Result<Document, StoreError>>,
) {
    let plan = || -> Result<Plan, StoreError> {
        let txn = db.begin_read().map_err(backend)?;
        let posts = txn.open_table(POSTS_TABLE).map_err(backend)?;
        let field = options.sort.field();
        let anchor = match options.after {
            Some(after) => {
                let doc =
                    get_doc(&posts, &after.bytes())?.ok_or_else(|| StoreError::InvalidQuery {
                        reason: format!("`after` names post {after}, which does not exist"),
                    })?;
                let key = doc
                    .get(field)
                    .cloned()
                    .ok_or_else(|| StoreError::InvalidQuery {
                        reason: format!("`after` post {after} has no `{field}` to page by"),
                    })?;
                Some((key, after))
            }
            None => None,
        };
        let mut keys: Vec<(Bson, ObjectId)> = Vec::new();
        for entry in posts.iter().map_err(backend)? {
            let (id, bytes) = entry.map_err(backend)?;
            let doc = RawDocument::from_bytes(bytes.value())
                .map_err(|e| StoreError::Decode(e.to_string()))?;
            if !filter.matches(doc) {
                continue;
            }
            let Ok(id_bytes) = <[u8; 12]>::try_from(id.value()) else {
                return Err(StoreError::Decode("a post key is not 12 bytes".into()));
            };
            let key = sort_key(doc, field)?;
            let id = ObjectId::from_bytes(id_bytes);
            if let Some((anchor_key, anchor_id)) = &anchor
                && !after_matches(options.sort, (anchor_key, anchor_id), (&key, &id))
            {
                continue;
            }
            keys.push((key, id));
        }
        let skip = usize::try_from(options.skip.unwrap_or(0)).unwrap_or(usize::MAX);
        let limit = options
            .limit
            .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let order = |a: &(Bson, ObjectId), b: &(Bson, ObjectId)| {
            options.sort.order((&a.0, &a.1), (&b.0, &b.1))
        };
        // A page needs only its first `skip + limit` keys in order. Selecting them first
        // (linear time) and sorting just those costs far less than sorting every match when
        // a page of 100 is wanted from thousands.
        let wanted = skip.saturating_add(limit);
        if wanted < keys.len() {
            keys.select_nth_unstable_by(wanted, order);
            keys.truncate(wanted);
        }
        keys.sort_by(order);
        let ids = keys
            .into_iter()
            .skip(skip)
            .take(limit)
            .map(|(_, id)| id)
            .collect();
        Ok((posts, ids))
    };
    let (posts, ids) = match plan() {
        Ok(planned) => {
            // A closed receiver means `find` was cancelled; nobody wants the documents.
            if ready.send(Ok(())).is_err() {
                return;
            }
            planned
        }
        Err(e) => {
            // `find` reports this error itself; if it was cancelled, there is no one to tell.
            let _ = ready.send(Err(e));
            return;
        }
    };
    for id in ids {
        // A post deleted after the snapshot is still in it: the read transaction is stable.
        let item = get_doc(&posts, &id.bytes()).and_then(|doc| {
            doc.ok_or_else(|| StoreError::Backend(format!("post {id} vanished from a snapshot")))
        });
        let failed = item.is_err();
        if sender.blocking_send(item).is_err() || failed {
            return;
        }
    }
}

/// The reader thread's channel as the store's stream of documents: at most
/// [`CHANNEL_DEPTH`] ahead of the consumer; dropping it stops the reader at its next send.
struct Received(mpsc::Receiver<Result<Document, StoreError>>);

impl Stream for Received {
    type Item = Result<Document, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(context)
    }
}
