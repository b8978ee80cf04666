//! Posts in the embedded store: one table by `_id`, its indexes kept in step by every
//! write ([`post_index`](super::post_index)), and lists read through them
//! ([`find`](super::find)).

use std::sync::Arc;

use bson::Document;
use bson::oid::ObjectId;
use redb::{ReadableDatabase, ReadableTable};

use super::find;
use super::format::POSTS_TABLE;
use super::post_index::{PostIndexes, PostKeys, raw};
use super::{EmbeddedStore, backend, begin_write, encode, get_doc};
use crate::store::cursor::PostCursor;
use crate::store::update_engine::{self, Moment};
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
                let mut indexes = PostIndexes::open(&txn)?;
                for (id, bytes) in &docs {
                    table
                        .insert(id.bytes().as_slice(), bytes.as_slice())
                        .map_err(backend)?;
                    indexes.insert(id.bytes(), &PostKeys::of(raw(bytes)?))?;
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
        Ok(PostCursor::new(Box::new(find::page(
            &self.db, filter, &options,
        )?)))
    }

    async fn update_one(
        &self,
        id: ObjectId,
        update: &Update,
        upsert: bool,
    ) -> Result<UpdateOutcome, StoreError> {
        update.validate()?;
        let update = update.clone();
        let stamps = Arc::clone(&self.stamps);
        self.blocking(move |db, _| {
            let txn = begin_write(db)?;
            let outcome = {
                let mut posts = txn.open_table(POSTS_TABLE).map_err(backend)?;
                // Inside the write transaction, which runs one at a time: stamps are
                // ordered as the updates commit.
                let now = Moment::now(&stamps);
                let stored = match posts.get(id.bytes().as_slice()).map_err(backend)? {
                    Some(bytes) => {
                        let doc = raw(bytes.value())?;
                        Some((
                            doc.try_into()
                                .map_err(|e: bson::raw::Error| StoreError::Decode(e.to_string()))?,
                            PostKeys::of(doc),
                        ))
                    }
                    None => None,
                };
                let (mut doc, old_keys, inserting) = match stored {
                    Some((doc, keys)) => (doc, Some(keys), false),
                    None if upsert => (bson::doc! { "_id": id }, None, true),
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
                    let bytes = encode(&doc)?;
                    posts
                        .insert(id.bytes().as_slice(), bytes.as_slice())
                        .map_err(backend)?;
                    let new_keys = PostKeys::of(raw(&bytes)?);
                    let mut indexes = PostIndexes::open(&txn)?;
                    match &old_keys {
                        Some(old_keys) => indexes.replace(id.bytes(), old_keys, &new_keys)?,
                        None => indexes.insert(id.bytes(), &new_keys)?,
                    }
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
                match posts.remove(id.bytes().as_slice()).map_err(backend)? {
                    Some(removed) => {
                        let keys = PostKeys::of(raw(removed.value())?);
                        PostIndexes::open(&txn)?.remove(id.bytes(), &keys)?;
                        1
                    }
                    None => 0,
                }
            };
            txn.commit().map_err(backend)?;
            Ok(deleted)
        })
        .await
    }
}
