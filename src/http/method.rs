//! The request method (RFC 9110 §9): the first token of the request line.

use std::fmt;

/// A request method (RFC 9110 §9).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: read a resource; never changes state.
    Get,
    /// `HEAD`: `GET` without the body.
    Head,
    /// `POST`: process the enclosed body.
    Post,
    /// `PUT`: replace a resource with the body.
    Put,
    /// `PATCH`: change part of a resource.
    Patch,
    /// `DELETE`: remove a resource.
    Delete,
    /// `OPTIONS`: which methods a resource (or, with `*`, the server) allows.
    Options,
    /// `CONNECT`: open a tunnel; a proxy's method, which we do not implement.
    Connect,
    /// `TRACE`: echo the request back; off on most servers, and taken by no
    /// route here (405).
    Trace,
    /// `QUERY`: the IETF's safe, idempotent request with a body (a `GET` whose
    /// query travels in the body). Known, and taken by no route here (405).
    Query,
    /// Any other token: syntactically a method, but not one we know (501).
    Other(Box<str>),
}

impl Method {
    /// Maps a method token to a `Method`. Methods are case-sensitive: `get`
    /// is a different (unknown) method from `GET`.
    pub fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "CONNECT" => Method::Connect,
            "TRACE" => Method::Trace,
            "QUERY" => Method::Query,
            other => Method::Other(other.into()),
        }
    }

    /// The method as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Connect => "CONNECT",
            Method::Trace => "TRACE",
            Method::Query => "QUERY",
            Method::Other(token) => token,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
