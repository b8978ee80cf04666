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
//! 1. [`method`], [`version`], [`headers`]: the pieces of a request head, and [`head`], the
//!    head they make, with its meaning worked out.
//! 2. [`parse`]: bytes to a head, over httparse, with every limit.
//! 3. [`framing`]: how long the body is (RFC 9112 §6.3, where smuggling lives), whether the
//!    connection persists, what `Expect` asks.
//! 4. [`body`]: Content-Length and chunked bodies.
//! 5. [`request`]: the whole request a handler sees.
//! 6. [`status`] and [`response`]: status, header fields and body framing on the way out.
//! 7. [`cookie`] and [`set_cookie`]: the `Cookie` field in, the `Set-Cookie` field out.
//! 8. [`forwarded`]: who the client is when a trusted proxy stands between.
//! 9. [`error`] and [`limits`]: what can go wrong, and every bound we enforce.
//! 10. [`host`] and [`tchar`]: two pieces of grammar several fields share.

pub mod body;
pub mod cookie;
pub mod error;
pub mod forwarded;
pub mod framing;
pub mod head;
pub mod headers;
pub mod host;
pub mod limits;
pub mod method;
pub mod parse;
pub mod request;
pub mod response;
pub mod set_cookie;
pub mod status;
pub mod tchar;
pub mod version;

pub use body::BodyDecoder;
pub use error::ParseError;
pub use forwarded::{Client, Scheme, TrustedProxies};
pub use framing::{Expectation, Framing};
pub use head::RequestHead;
pub use headers::{Header, Headers};
pub use limits::Limits;
pub use method::Method;
pub use parse::{Parsed, parse_head, parse_head_into};
pub use request::Request;
pub use response::{Body, BodyAborted, BodyStream, Response, ResponseFraming};
pub use status::Status;
pub use version::Version;
