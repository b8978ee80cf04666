//! A whole request, as a handler sees it: the parsed head, the body with its framing taken
//! off, the trailer fields of a chunked body, and who sent it.
//!
//! The connection loop ([`crate::server::conn`]) keeps one `Request` for a connection's whole
//! life and parses each new request into it (see
//! [`parse_head_into`](crate::http::parse_head_into)), reusing its buffers.

use std::net::SocketAddr;

use crate::http::forwarded::Client;
use crate::http::head::RequestHead;
use crate::http::headers::Headers;

/// A request whose body has been read in full.
#[derive(Debug)]
pub struct Request {
    /// The request line and header fields.
    pub head: RequestHead,
    /// The decoded body (empty when there was none).
    pub body: Vec<u8>,
    /// The trailer fields of a chunked body.
    pub trailers: Headers,
    /// The address of the other end of the connection: the client, or a proxy.
    pub peer: SocketAddr,
    /// The client: the peer, or, when the peer is a trusted proxy, the client it forwarded
    /// for (see [`crate::http::forwarded`]).
    pub client: Client,
}
