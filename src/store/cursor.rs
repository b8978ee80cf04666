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
//! Documents travel as their BSON bytes, as both backends hold them, and are lent to the
//! caller rather than handed over: [`next_with`](PostCursor::next_with) calls a closure with
//! a [`RawDocument`] borrowed from wherever the backend keeps it (for the embedded store, the
//! page of the file in memory), so a caller that writes each post straight out again (the
//! JSON list, `app::stored_json`) never copies, allocates or decodes a post it only passes
//! through. [`next`](PostCursor::next) decodes each into a [`Document`], for code that reads
//! fields.

use std::task::{Context, Poll};

use bson::{Document, RawDocument};

use super::StoreError;

/// Where a cursor's documents come from: each backend wraps its own source (the driver's
/// cursor, the index walk).
pub(crate) trait Documents: Send {
    /// Lends the next document to `visit`, or returns `Ready(None)` after the last one.
    /// `visit` is called exactly when the result is `Ready(Some(Ok(())))`.
    fn poll_visit(
        &mut self,
        context: &mut Context<'_>,
        visit: &mut dyn FnMut(&RawDocument),
    ) -> Poll<Option<Result<(), StoreError>>>;
}

/// Post documents, one at a time: call [`next`](Self::next) until it returns `None`.
pub struct PostCursor {
    documents: Box<dyn Documents>,
}

impl PostCursor {
    /// A cursor over a backend's documents.
    pub(crate) fn new(documents: Box<dyn Documents>) -> Self {
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
        let decoded = self
            .next_with(|raw| Document::try_from(raw).map_err(|e| StoreError::Decode(e.to_string())))
            .await?;
        Some(decoded.and_then(|document| document))
    }

    /// What `read` makes of the next document, lent to it as the bytes the backend holds;
    /// `None` after the last one.
    ///
    /// # Errors
    ///
    /// As for [`next`](Self::next).
    pub async fn next_with<R>(
        &mut self,
        read: impl FnOnce(&RawDocument) -> R,
    ) -> Option<Result<R, StoreError>> {
        let mut read = Some(read);
        let mut result = None;
        let mut visit = |document: &RawDocument| {
            result = read.take().map(|read| read(document));
        };
        let polled =
            std::future::poll_fn(|context| self.documents.poll_visit(context, &mut visit)).await;
        Some(polled?.and_then(|()| {
            result.ok_or_else(|| {
                StoreError::Backend("a cursor reported a document it did not lend".into())
            })
        }))
    }
}
