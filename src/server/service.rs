//! The seam between the connection loop and the application.
//!
//! The server calls a [`Service`] twice per request. First with the head alone
//! ([`Service::check_head`]), so the application can refuse a request (404,
//! 405, 401…) *before* its body is read or, for `Expect: 100-continue`,
//! before the client even sends it. Then, if the head was accepted and the
//! body read, with the whole [`Request`] ([`Service::call`]).

use std::future::Future;
use std::net::SocketAddr;

use crate::http::{Headers, RequestHead, Response};

/// A request whose body has been read in full.
#[derive(Debug)]
pub struct Request {
    /// The request line and header fields.
    pub head: RequestHead,
    /// The decoded body (empty when there was none).
    pub body: Vec<u8>,
    /// The trailer fields of a chunked body.
    pub trailers: Headers,
    /// The address of the client's end of the connection.
    pub peer: SocketAddr,
}

/// An application the server can serve.
pub trait Service: Send + Sync + 'static {
    /// Looks at a request before its body is read. `Some(response)` answers the
    /// request with that response and the body is never handed to
    /// [`call`](Service::call); `None` lets the request through.
    fn check_head(&self, head: &RequestHead) -> Option<Response>;

    /// Answers a request.
    fn call(&self, request: Request) -> impl Future<Output = Response> + Send;
}
