//! groundup: an HTTP/1.1 server written from the ground up.
#![forbid(unsafe_code)]

pub mod http;
pub mod store;
