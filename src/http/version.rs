//! The protocol version: the last token of the request line, `HTTP/1.0` or `HTTP/1.1`.

/// The HTTP versions this server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: one request per connection unless the client asks for
    /// `Connection: keep-alive`; no chunked bodies.
    Http10,
    /// HTTP/1.1: persistent connections by default, chunked bodies, Host required.
    Http11,
}

impl Version {
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}
