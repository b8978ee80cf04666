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
//! 3. [`app`]: what the server serves: a router and one file per handler.
//! 4. [`store`]: where users, sessions and posts live: MongoDB, or an
//!    embedded database for zero-install runs.
//!
//! # Errors
//!
//! Protocol errors are one small hand-written enum, [`http::ParseError`],
//! mapped to a status in one function; "I need more bytes" is not an error
//! but [`http::Parsed::Partial`], because on a socket it is the normal case.
//! Any protocol error ends its connection (after the error response) and
//! nothing else.
#![forbid(unsafe_code)]

pub mod app;
pub mod http;
pub mod server;
pub mod session;
pub mod store;
