//! A streaming cursor over posts: results arrive one document at a time.
//!
//! In `pymongo` the seed notes write `for post in posts.find({}): ...`; the loop pulls
//! documents from the server in batches while it runs, so a large result never sits in
//! memory at once. [`PostCursor`] is that loop in async Rust:
//!
//! ```no_run
//! # async fn demo(store: &groundup::store::Store) -> Result<(), groundup::store::StoreError> {
//! use groundup::store::{FindOptions, PostFilter, PostStore};
//!
//! let mut cursor = store.find(PostFilter::default(), FindOptions::default()).await?;
//! while let Some(post) = cursor.next().await {
//!     let post = post?;
//!     println!("{}", post.get_str("title").unwrap_or("(untitled)"));
//! }
//! # Ok(()) }
//! ```
//!
//! Behind it, MongoDB's cursor fetches the next batch with `getMore` when the current one
//! runs out; the embedded store's reader runs on a blocking thread and hands documents over
//! a bounded channel, so it stays at most [`CHANNEL_DEPTH`] documents ahead of the consumer.
//! Dropping the cursor early stops both (MongoDB's is killed on the server by the driver).

use bson::Document;
use tokio::sync::mpsc;

use super::StoreError;

/// How many documents the embedded reader may produce before the consumer takes them.
pub const CHANNEL_DEPTH: usize = 32;

/// Post documents, one at a time: call [`next`](Self::next) until it returns `None`.
pub struct PostCursor {
    source: Source,
}

/// Where the documents come from.
enum Source {
    /// A server-side cursor of the MongoDB driver (boxed: it is some 450 bytes, the
    /// channel receiver 8).
    Mongo(Box<mongodb::Cursor<Document>>),
    /// The receiving end of the embedded store's reader thread.
    Embedded(mpsc::Receiver<Result<Document, StoreError>>),
}

impl PostCursor {
    /// Wraps a MongoDB cursor.
    pub(crate) fn mongo(cursor: mongodb::Cursor<Document>) -> Self {
        PostCursor {
            source: Source::Mongo(Box::new(cursor)),
        }
    }

    /// Wraps the channel fed by the embedded store's reader.
    pub(crate) fn embedded(receiver: mpsc::Receiver<Result<Document, StoreError>>) -> Self {
        PostCursor {
            source: Source::Embedded(receiver),
        }
    }

    /// The next document, `None` after the last one.
    ///
    /// # Errors
    ///
    /// An item is `Err` when fetching the next batch fails (for instance
    /// [`StoreError::Unavailable`] if the database went away mid-stream); the caller should
    /// stop reading then.
    pub async fn next(&mut self) -> Option<Result<Document, StoreError>> {
        match &mut self.source {
            Source::Mongo(cursor) => match cursor.advance().await {
                Ok(true) => Some(
                    cursor
                        .deserialize_current()
                        .map_err(|e| StoreError::Decode(e.to_string())),
                ),
                Ok(false) => None,
                Err(e) => Some(Err(super::mongo::map_error(e))),
            },
            Source::Embedded(receiver) => receiver.recv().await,
        }
    }
}
