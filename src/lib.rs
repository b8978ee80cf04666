//! groundup: an HTTP/1.1 server written from the ground up.
//!
//! This crate is meant to be read. It follows one request from the socket to
//! the database, and each step lives in its own module:
//!
//! 1. [`http`]: the protocol, sans-IO. Bytes in, values out: the request
//!    head, body framing (Content-Length and chunked), the response, cookies,
//!    and every limit. No sockets, no clock, no runtime, so the same code
//!    runs under tokio, in unit tests and under a fuzzer.
//! 2. [`server`]: the IO around it: a tokio listener, one task per
//!    connection, keep-alive and pipelining, timeouts, graceful shutdown.
//! 3. [`session`]: who is logged in: random session ids kept only as their
//!    SHA-256, Argon2id passwords on a bounded pool of workers, a login
//!    throttle that counts attempts before they are checked, the session life cycle,
//!    and the stateless signed token beside it.
//! 4. [`app`]: what the server serves: a router and one file per concern
//!    (accounts, posts, the browser pages), with the input rules they share.
//! 5. [`store`]: where users, sessions and posts live: MongoDB, or an
//!    embedded database for zero-install runs.
//!
//! # Errors
//!
//! Protocol errors are one small hand-written enum, [`http::ParseError`],
//! mapped to a status in one function; "I need more bytes" is not an error
//! but [`http::Parsed::Partial`], because on a socket it is the normal case.
//! Any protocol error ends its connection (after the error response) and
//! nothing else. Above the protocol, handlers return an
//! [`app::reply::Reply`]: every error a handler meets converts into a
//! refusal with its status, so `?` ends a handler early with the right answer. Store errors are one neutral [`store::StoreError`]
//! that each backend converts into.
#![forbid(unsafe_code)]

// `http` is always built; everything above it needs the `server` feature (on
// by default), so the protocol alone builds with a handful of dependencies.
#[cfg(feature = "server")]
pub mod app;
pub mod http;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod session;
#[cfg(feature = "server")]
pub mod store;
