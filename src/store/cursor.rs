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

use std::pin::Pin;

use bson::Document;
use futures_core::Stream;

use super::StoreError;

/// How many documents the embedded reader may produce before the consumer takes them.
pub const CHANNEL_DEPTH: usize = 32;

/// Where a cursor's documents come from: each backend wraps its own source (the driver's
/// cursor, the reader thread's channel) as a stream of documents.
pub(crate) type Documents = Pin<Box<dyn Stream<Item = Result<Document, StoreError>> + Send>>;

/// Post documents, one at a time: call [`next`](Self::next) until it returns `None`.
pub struct PostCursor {
    documents: Documents,
}

impl PostCursor {
    /// A cursor over a backend's documents.
    pub(crate) fn new(documents: Documents) -> Self {
        PostCursor { documents }
    }

    /// The next document, `None` after the last one.
    ///
    /// # Errors
    ///
    /// An item is `Err` when fetching the next batch fails (for instance
    /// [`StoreError::Unavailable`] if the database went away mid-stream); the caller should
    /// stop reading then.
    pub async fn next(&mut self) -> Option<Result<Document, StoreError>> {
        std::future::poll_fn(|context| self.documents.as_mut().poll_next(context)).await
    }
}
