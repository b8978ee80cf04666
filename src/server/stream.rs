//! A streamed response body fed from another task.
//!
//! A handler that produces its body piece by piece (a database cursor, say)
//! returns the [`BodyStream`] half at once and keeps the [`BodySender`]
//! half in a task that sends pieces as they come. The channel is bounded, so
//! a producer faster than the client waits instead of buffering: memory stays
//! at `capacity` pieces however large the body is.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;

use crate::http::{BodyAborted, BodyStream};

/// The sending half: each `Ok` piece becomes one chunk on the wire; an `Err`
/// cuts the connection (see [`BodyStream`]).
pub type BodySender = mpsc::Sender<Result<Vec<u8>, BodyAborted>>;

/// A bounded channel whose receiving half is a response body. The body ends
/// when every sender is dropped.
pub fn channel(capacity: usize) -> (BodySender, BodyStream) {
    let (sender, receiver) = mpsc::channel(capacity);
    (sender, Box::pin(ChannelBody(receiver)))
}

struct ChannelBody(mpsc::Receiver<Result<Vec<u8>, BodyAborted>>);

impl Stream for ChannelBody {
    type Item = Result<Vec<u8>, BodyAborted>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}
