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
//! runs out; the embedded store reads the next post off its index each time it is asked,
//! inside one read transaction the cursor keeps open. Either way nothing is read ahead of
//! the consumer beyond one batch, and dropping the cursor early stops both (MongoDB's is
//! killed on the server by the driver; the embedded one's snapshot is released).
//!
//! Documents travel as their BSON bytes ([`RawDocumentBuf`]), as both backends hold them:
//! [`next`](PostCursor::next) decodes each into a [`Document`] for code that reads fields,
//! while [`next_raw`](PostCursor::next_raw) hands over the bytes untouched, for a caller that
//! writes them straight out again (the JSON list, `app::stored_json`) and so never pays for a
//! document it only passes through.

use std::pin::Pin;

use bson::{Document, RawDocumentBuf};
use futures_core::Stream;

use super::StoreError;

/// Where a cursor's documents come from: each backend wraps its own source (the driver's
/// cursor, the index walk) as a stream of documents' bytes.
pub(crate) type Documents = Pin<Box<dyn Stream<Item = Result<RawDocumentBuf, StoreError>> + Send>>;

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
        let raw = self.next_raw().await?;
        Some(raw.and_then(|raw| {
            Document::try_from(raw.as_ref()).map_err(|e| StoreError::Decode(e.to_string()))
        }))
    }

    /// The next document as the bytes the backend holds, `None` after the last one.
    ///
    /// # Errors
    ///
    /// As for [`next`](Self::next).
    pub async fn next_raw(&mut self) -> Option<Result<RawDocumentBuf, StoreError>> {
        std::future::poll_fn(|context| self.documents.as_mut().poll_next(context)).await
    }
}
