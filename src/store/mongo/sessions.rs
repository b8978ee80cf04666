//! Sessions in MongoDB's `sessions` collection: one document per session, keyed by the id's
//! hash, carrying its user, and an `expireAt` for the TTL index and the sweep.

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, doc};
use mongodb::Collection;

use super::{MongoStore, map_error};
use crate::store::models::to_document;
use crate::store::{SessionRecord, SessionStore, StoreError};

/// The filter "this session, still alive now": both expiries checked on the server. A
/// session from before sessions carried their user (`user_id` where `user` is now) does
/// not match: its holder logs in again, and the sweep deletes it when it expires.
fn alive(id_hash: &str, now: DateTime) -> Document {
    doc! {
        "_id": id_hash,
        "idle_expires_at": { "$gt": now },
        "absolute_expires_at": { "$gt": now },
        "user": { "$type": "object" },
    }
}

impl SessionStore for MongoStore {
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.ready().await?;
        let mut doc = to_document(record)?;
        // The TTL index watches this field: the earlier expiry.
        doc.insert("expireAt", record.expires_at());
        match self.sessions.insert_one(doc).await.map_err(map_error) {
            Err(StoreError::Duplicate { .. }) => Err(StoreError::Duplicate {
                field: "id_hash".into(),
            }),
            other => other.map(|_| ()),
        }
    }

    async fn load(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.ready().await?;
        self.typed_sessions
            .find_one(alive(id_hash, DateTime::now()))
            .await
            .map_err(map_error)
    }

    async fn touch(&self, record: &SessionRecord) -> Result<bool, StoreError> {
        self.ready().await?;
        let update = doc! { "$set": {
            "last_seen": record.last_seen,
            "idle_expires_at": record.idle_expires_at,
            "expireAt": record.expires_at(),
        } };
        let result = self
            .sessions
            .update_one(alive(&record.id_hash, DateTime::now()), update)
            .await
            .map_err(map_error)?;
        Ok(result.matched_count > 0)
    }

    async fn delete(&self, id_hash: &str) -> Result<bool, StoreError> {
        self.ready().await?;
        let result = self
            .sessions
            .delete_one(doc! { "_id": id_hash })
            .await
            .map_err(map_error)?;
        Ok(result.deleted_count > 0)
    }

    async fn delete_all_for_user(
        &self,
        user_id: ObjectId,
        except: Option<&str>,
    ) -> Result<u64, StoreError> {
        self.ready().await?;
        let mut filter = doc! { "user._id": user_id };
        if let Some(keep) = except {
            filter.insert("_id", doc! { "$ne": keep });
        }
        let result = self.sessions.delete_many(filter).await.map_err(map_error)?;
        Ok(result.deleted_count)
    }

    async fn list_for_user(&self, user_id: ObjectId) -> Result<Vec<SessionRecord>, StoreError> {
        self.ready().await?;
        let now = DateTime::now();
        let filter = doc! {
            "user._id": user_id,
            "idle_expires_at": { "$gt": now },
            "absolute_expires_at": { "$gt": now },
        };
        let mut cursor = self
            .typed_sessions
            .find(filter)
            .sort(doc! { "created_at": 1, "_id": 1 })
            .await
            .map_err(map_error)?;
        let mut records = Vec::new();
        while cursor.advance().await.map_err(map_error)? {
            records.push(
                cursor
                    .deserialize_current()
                    .map_err(|e| StoreError::Decode(e.to_string()))?,
            );
        }
        Ok(records)
    }

    async fn delete_expired(&self, now: DateTime, at_most: usize) -> Result<u64, StoreError> {
        self.ready().await?;
        delete_expired_in(&self.sessions, now, at_most).await
    }
}

/// Deletes up to `at_most` documents of `collection` whose `expireAt` is not after `now`,
/// soonest first. MongoDB's deleteMany has no limit, so a batch is the ids of the `at_most`
/// soonest expired, then one delete by those ids, again only if still expired (a session
/// touched in between slid forward, and survives).
pub(super) async fn delete_expired_in(
    collection: &Collection<Document>,
    now: DateTime,
    at_most: usize,
) -> Result<u64, StoreError> {
    let expired = doc! { "expireAt": { "$lte": now } };
    let mut cursor = collection
        .find(expired.clone())
        .sort(doc! { "expireAt": 1 })
        .limit(i64::try_from(at_most).unwrap_or(i64::MAX))
        .projection(doc! { "_id": 1 })
        .await
        .map_err(map_error)?;
    let mut ids = Vec::new();
    while cursor.advance().await.map_err(map_error)? {
        let id = cursor
            .current()
            .get("_id")
            .map_err(|e| StoreError::Decode(e.to_string()))?
            .ok_or_else(|| StoreError::Decode("a document without _id".into()))?;
        ids.push(Bson::try_from(id).map_err(|e| StoreError::Decode(e.to_string()))?);
    }
    if ids.is_empty() {
        return Ok(0);
    }
    let mut batch = expired;
    batch.insert("_id", doc! { "$in": ids });
    let result = collection.delete_many(batch).await.map_err(map_error)?;
    Ok(result.deleted_count)
}
