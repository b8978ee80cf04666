//! Posts in MongoDB's `posts` collection: the seed's operations, one driver call each.

use std::pin::Pin;
use std::task::{Context, Poll};

use bson::oid::ObjectId;
use bson::{Bson, Document, RawDocumentBuf, doc};
use futures_core::Stream;

use super::{MongoStore, map_error};
use crate::store::cursor::PostCursor;
use crate::store::query::after_to_mongo;
use crate::store::{
    FindOptions, NewPost, PostFilter, PostStore, StoreError, Update, UpdateOutcome,
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
                .ok_or_else(|| StoreError::InvalidQuery {
                    reason: format!("`after` names post {after}, which does not exist"),
                })?;
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
        Ok(PostCursor::new(Box::pin(Batches(cursor))))
    }

    async fn update_one(
        &self,
        id: ObjectId,
        update: &Update,
        upsert: bool,
    ) -> Result<UpdateOutcome, StoreError> {
        update.validate()?;
        self.ready().await?;
        let result = self
            .posts
            .update_one(doc! { "_id": id }, update.to_document())
            .upsert(upsert)
            .await
            .map_err(map_error)?;
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

/// The driver's cursor as the store's stream of documents: it fetches the next batch with
/// `getMore` when the current one runs out, and its errors become [`StoreError`]s. Dropping
/// it early kills the cursor on the server.
struct Batches(mongodb::Cursor<RawDocumentBuf>);

impl Stream for Batches {
    type Item = Result<RawDocumentBuf, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.0)
            .poll_next(context)
            .map(|next| next.map(|item| item.map_err(map_error)))
    }
}
