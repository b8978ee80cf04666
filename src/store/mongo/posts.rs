//! Posts in MongoDB's `posts` collection: the seed's operations, one driver call each.

use std::pin::Pin;
use std::task::{Context, Poll};

use bson::oid::ObjectId;
use bson::{Bson, Document, RawDocument, RawDocumentBuf, doc};
use futures_core::Stream;

use super::{MongoStore, map_error};
use crate::store::cursor::{Documents, PostCursor};
use crate::store::query::after_to_mongo;
use crate::store::update_engine::{self, Moment, StampClock};
use crate::store::{
    FindOptions, NewPost, PostFilter, PostStore, StoreError, Update, UpdateFailure, UpdateOutcome,
};

impl PostStore for MongoStore {
    async fn insert_one(&self, post: NewPost) -> Result<ObjectId, StoreError> {
        let id = ObjectId::new();
        let doc = post.into_document(id)?;
        self.ready().await?;
        self.posts.insert_one(doc).await.map_err(map_error)?;
        Ok(id)
    }

    async fn insert_many(&self, posts: Vec<NewPost>) -> Result<Vec<ObjectId>, StoreError> {
        let mut ids = Vec::with_capacity(posts.len());
        let mut docs = Vec::with_capacity(posts.len());
        for post in posts {
            let id = ObjectId::new();
            docs.push(post.into_document(id)?);
            ids.push(id);
        }
        if docs.is_empty() {
            // MongoDB refuses an empty insert_many; inserting nothing is trivially done.
            return Ok(ids);
        }
        self.ready().await?;
        // Ordered (the default): the server stops at the first failure.
        self.posts
            .insert_many(docs)
            .ordered(true)
            .await
            .map_err(map_error)?;
        Ok(ids)
    }

    async fn find_one(&self, id: ObjectId) -> Result<Option<Document>, StoreError> {
        self.ready().await?;
        self.posts
            .find_one(doc! { "_id": id })
            .await
            .map_err(map_error)
    }

    async fn find(
        &self,
        filter: PostFilter,
        options: FindOptions,
    ) -> Result<PostCursor, StoreError> {
        self.ready().await?;
        let mut query = filter.to_mongo();
        if let Some(after) = options.after {
            let field = options.sort.field();
            let anchor = self
                .posts
                .find_one(doc! { "_id": after })
                .projection(doc! { field: 1 })
                .await
                .map_err(map_error)?
                .ok_or(StoreError::AfterPostMissing { after })?;
            let key = anchor.get(field).ok_or_else(|| StoreError::InvalidQuery {
                reason: format!("`after` post {after} has no `{field}` to page by"),
            })?;
            // PostFilter never produces `$or`, so this key is free.
            query.extend(after_to_mongo(options.sort, key, after));
        }
        let limit = match options.limit {
            Some(n) => Some(i64::try_from(n).map_err(|_| StoreError::InvalidQuery {
                reason: "limit is too large".into(),
            })?),
            None => None,
        };
        // The same collection, read as BSON bytes: the cursor hands them on undecoded.
        let raw_posts = self.posts.clone_with_type::<RawDocumentBuf>();
        let mut find = raw_posts.find(query).sort(options.sort.to_mongo());
        if let Some(skip) = options.skip {
            find = find.skip(skip);
        }
        if let Some(limit) = limit {
            find = find.limit(limit);
        }
        let cursor = find.await.map_err(map_error)?;
        Ok(PostCursor::new(Box::new(Batches(cursor))))
    }

    async fn update_one(
        &self,
        id: ObjectId,
        update: &Update,
        upsert: bool,
    ) -> Result<UpdateOutcome, StoreError> {
        update.validate()?;
        self.ready().await?;
        let guards = update.range_guards();
        let mut filter = doc! { "_id": id };
        if !guards.is_empty() {
            // Neither below nor above its range: missing fields and non-numbers pass (the
            // update sets the first and fails on the second by itself).
            let outside: Vec<Bson> = guards
                .iter()
                .flat_map(|guard| {
                    [
                        doc! { guard.path.as_str(): { "$lt": guard.low } },
                        doc! { guard.path.as_str(): { "$gt": guard.high } },
                    ]
                })
                .map(Bson::Document)
                .collect();
            filter.insert("$nor", outside);
        }
        let attempt = self
            .posts
            .update_one(filter.clone(), update.to_document())
            .upsert(upsert && guards.is_empty())
            .await;
        let mut result = match attempt {
            Ok(result) => result,
            Err(error) => return Err(self.explain(id, update, map_error(error)).await),
        };
        if result.matched_count == 0 && !guards.is_empty() {
            // No such post, or one the guard kept out of range.
            if let Some(post) = self.find_one(id).await? {
                return Err(explained(post, false, update, out_of_range()));
            }
            if upsert {
                // Nothing to guard in a new post; if one appeared meanwhile, the guard
                // still holds and the insert meets its `_id`.
                result = match self
                    .posts
                    .update_one(filter, update.to_document())
                    .upsert(true)
                    .await
                {
                    Ok(result) => result,
                    Err(error) => return Err(self.explain(id, update, map_error(error)).await),
                };
            }
        }
        let upserted_id = match result.upserted_id {
            Some(Bson::ObjectId(id)) => Some(id),
            Some(other) => {
                return Err(StoreError::Backend(format!(
                    "upserted a non-ObjectId _id: {other}"
                )));
            }
            None => None,
        };
        Ok(UpdateOutcome {
            matched: result.matched_count,
            modified: result.modified_count,
            upserted_id,
        })
    }

    async fn delete_one(&self, id: ObjectId) -> Result<u64, StoreError> {
        self.ready().await?;
        let result = self
            .posts
            .delete_one(doc! { "_id": id })
            .await
            .map_err(map_error)?;
        Ok(result.deleted_count)
    }
}

impl MongoStore {
    /// A refusal of `update` on post `id`, told as the embedded store tells it: the update
    /// engine runs the same update on the post as it is now, and its error names the field
    /// and says why in our words, not the server's (whose message prints ids as bytes and
    /// differs between servers). Other errors, and a post that has changed so that the
    /// update now fits, keep `refusal` with a message of our own.
    async fn explain(&self, id: ObjectId, update: &Update, refusal: StoreError) -> StoreError {
        if !matches!(refusal, StoreError::UpdateFailed { .. }) {
            return refusal;
        }
        match self.find_one(id).await {
            Ok(Some(post)) => explained(post, false, update, refusal),
            Ok(None) => explained(doc! { "_id": id }, true, update, refusal),
            Err(error) => error,
        }
    }
}

/// [`MongoStore::explain`] once the post is read: `update` applied to `post` (a new one when
/// `inserting`) by the update engine, whose failure replaces the `UpdateFailed` `refusal`.
fn explained(
    mut post: Document,
    inserting: bool,
    update: &Update,
    refusal: StoreError,
) -> StoreError {
    let StoreError::UpdateFailed { kind, .. } = refusal else {
        return refusal;
    };
    let now = Moment::now(&StampClock::default());
    match update_engine::apply(&mut post, update, inserting, now) {
        Err(explained @ StoreError::UpdateFailed { .. }) => explained,
        _ => StoreError::update_failed(kind, "", "the update does not fit the stored post"),
    }
}

/// What the range guard's refusal is, before [`MongoStore::explain`] names the field.
fn out_of_range() -> StoreError {
    StoreError::update_failed(
        UpdateFailure::BadValue,
        "",
        "the result would leave ±2^53, the numbers a JSON client reads exactly",
    )
}

/// The driver's cursor as the store's stream of documents: it fetches the next batch with
/// `getMore` when the current one runs out, and its errors become [`StoreError`]s. Dropping
/// it early kills the cursor on the server.
struct Batches(mongodb::Cursor<RawDocumentBuf>);

impl Documents for Batches {
    fn poll_visit(
        &mut self,
        context: &mut Context<'_>,
        visit: &mut dyn FnMut(&RawDocument),
    ) -> Poll<Option<Result<(), StoreError>>> {
        Pin::new(&mut self.0).poll_next(context).map(|next| {
            next.map(|item| {
                let document = item.map_err(map_error)?;
                visit(&document);
                Ok(())
            })
        })
    }
}
