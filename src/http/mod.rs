//! The HTTP/1.1 protocol, sans-IO: bytes in, values out.
//!
//! Nothing in this module touches a socket, a clock or a runtime. Parsers take
//! byte slices and say "here is a value and how many bytes it used", "I need
//! more bytes" or "this is wrong, and here is the status that says so". The
//! encoders append to a `Vec<u8>`. That split (the idea behind Python's h11) is
//! what lets the same code be driven by the tokio connection loop in
//! [`crate::server`], by unit tests, and by a fuzzer that feeds it millions of
//! malformed inputs.
//!
//! Reading order:
//! 1. [`request`]: the request line and header fields, and what they mean for
//!    the body and the connection.
//! 2. [`body`]: Content-Length and chunked bodies.
//! 3. [`response`]: status, header fields and body framing on the way out.
//! 4. [`cookie`]: the `Cookie` and `Set-Cookie` fields.
//! 5. [`forwarded`]: who the client is when a trusted proxy stands between.
//! 6. [`error`] and [`limits`]: what can go wrong, and every bound we enforce.
//! 7. [`token`]: the one character class the grammar keeps reusing.

pub mod body;
pub mod cookie;
pub mod error;
pub mod forwarded;
pub mod limits;
pub mod request;
pub mod response;
pub mod token;

pub use body::BodyDecoder;
pub use error::ParseError;
pub use forwarded::{Client, Scheme, TrustedProxies};
pub use limits::Limits;
pub use request::{
    Expectation, Framing, Header, Headers, Method, Parsed, RequestHead, Version, parse_head,
    parse_head_into,
};
pub use response::{Body, BodyAborted, BodyStream, Response, ResponseFraming, Status};
