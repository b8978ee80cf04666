//! The seam between the connection loop and the application.
//!
//! The server calls a [`Service`] twice per request. First with the head alone
//! ([`Service::check_head`]), so the application can refuse a request (404,
//! 405, 401…) *before* its body is read or, for `Expect: 100-continue`,
//! before the client even sends it. Then, if the head was accepted and the
//! body read, with the whole [`Request`] ([`Service::call`]), along with what
//! `check_head` found out about it (its [`Route`](Service::Route)), so that
//! nothing is worked out twice.
//!
//! `call` borrows the request rather than taking it: the connection keeps one
//! `Request` for its whole life and parses each new request into it, reusing
//! its buffers (see [`crate::http::parse_head_into`]).

use std::future::Future;

use crate::http::{Request, RequestHead, Response};

/// An application the server can serve.
pub trait Service: Send + Sync + 'static {
    /// What [`check_head`](Service::check_head) learns about a request that
    /// [`call`](Service::call) needs too: for the application, the endpoint
    /// the router chose. A service that needs nothing uses `()`.
    type Route: Send;

    /// Looks at a request before its body is read. `Err(response)` answers the
    /// request with that response and the body is never handed to
    /// [`call`](Service::call); `Ok(route)` lets the request through.
    ///
    /// # Errors
    ///
    /// The response that refuses the request.
    fn check_head(&self, head: &RequestHead) -> Result<Self::Route, Response>;

    /// Answers a request that [`check_head`](Service::check_head) let through
    /// on `route`.
    fn call(&self, route: Self::Route, request: &Request) -> impl Future<Output = Response> + Send;
}
