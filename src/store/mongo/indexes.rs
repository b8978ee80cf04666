//! The indexes the store needs (the table in [the module docs](super)), created before
//! the first operation that reaches the database.

use std::time::Duration;

use bson::{Document, doc};
use mongodb::options::IndexOptions;
use mongodb::{Collection, IndexModel};

use super::{MongoStore, map_error};
use crate::store::StoreError;

pub(super) async fn create(store: &MongoStore) -> Result<(), StoreError> {
    let plain = IndexOptions::default;
    let unique = || IndexOptions::builder().unique(true).build();

    store
        .users
        .create_index(index(doc! { "username": 1 }, "username_unique", unique()))
        .await
        .map_err(map_error)?;
    // A partial index only holds documents with a string email, so users without one
    // never collide. FerretDB v1 rejects `partialFilterExpression`; a sparse index
    // (documents lacking the field are left out) gives the same guarantee here, since
    // we never store `email: null`.
    let partial = IndexOptions::builder()
        .unique(true)
        .partial_filter_expression(doc! { "email": { "$type": "string" } })
        .build();
    if let Err(e) = store
        .users
        .create_index(index(doc! { "email": 1 }, "email_unique", partial))
        .await
    {
        let e = map_error(e);
        if e.is_unavailable() {
            return Err(e);
        }
        let sparse = IndexOptions::builder().unique(true).sparse(true).build();
        store
            .users
            .create_index(index(doc! { "email": 1 }, "email_unique", sparse))
            .await
            .map_err(map_error)?;
    }

    store
        .sessions
        .create_index(index(doc! { "user._id": 1 }, "session_user", plain()))
        .await
        .map_err(map_error)?;
    expiry_index(&store.sessions).await?;
    expiry_index(&store.login_attempts).await?;

    store
        .posts
        .create_index(index(
            doc! { "author": 1, "created_at": -1 },
            "author_created_at",
            plain(),
        ))
        .await
        .map_err(map_error)?;
    store
        .posts
        .create_index(index(doc! { "created_at": -1 }, "created_at", plain()))
        .await
        .map_err(map_error)?;
    // The embedded store's other two list indexes (store/embedded/post_index.rs), so both
    // answer a tag's newest posts, or the title order, from an index.
    store
        .posts
        .create_index(index(
            doc! { "tags": 1, "created_at": -1 },
            "tags_created_at",
            plain(),
        ))
        .await
        .map_err(map_error)?;
    store
        .posts
        .create_index(index(doc! { "title": 1, "_id": 1 }, "title_id", plain()))
        .await
        .map_err(map_error)?;
    Ok(())
}

/// Names an index.
fn index(keys: Document, name: &str, mut options: IndexOptions) -> IndexModel {
    options.name = Some(name.to_string());
    IndexModel::builder().keys(keys).options(options).build()
}

/// A TTL index on `expireAt`, so the server deletes what has expired; where the server
/// refuses TTL indexes (FerretDB), a plain one, so the [`sweep`](super::sweep) that deletes
/// instead finds them fast. Without either, the sweep still works, by a scan.
async fn expiry_index(collection: &Collection<Document>) -> Result<(), StoreError> {
    let ttl = IndexOptions::builder().expire_after(Duration::ZERO).build();
    let Err(refused) = collection
        .create_index(index(doc! { "expireAt": 1 }, "expire_at_ttl", ttl))
        .await
    else {
        return Ok(());
    };
    let refused = map_error(refused);
    if refused.is_unavailable() {
        return Err(refused);
    }
    tracing::info!(collection = collection.name(), error = %refused, "the database refused a TTL index; the sweep alone deletes what expired");
    if let Err(e) = collection
        .create_index(index(
            doc! { "expireAt": 1 },
            "expire_at",
            IndexOptions::default(),
        ))
        .await
    {
        let e = map_error(e);
        if e.is_unavailable() {
            return Err(e);
        }
        tracing::warn!(collection = collection.name(), error = %e, "no index on expireAt; the sweep will scan");
    }
    Ok(())
}
