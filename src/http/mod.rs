//! The HTTP/1.1 protocol, sans-IO: bytes in, values out.

pub mod cookie;
