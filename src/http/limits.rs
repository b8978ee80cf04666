//! Every size and time limit of the server, in one place.
//!
//! A parser that keeps buffering until it sees the end of something is an
//! invitation to send it an endless something. Each limit below bounds one
//! such wait, and each says which status a client gets when it goes over.
//! The defaults are in line with what widely deployed servers ship, so a
//! client that works elsewhere works here.

use std::time::Duration;

/// The limits one server applies to every connection.
///
/// `Limits::default()` gives the documented defaults; every field is public so
/// a test, or a program that embeds the server, can change one without restating the
/// rest. The `groundup` binary runs with the defaults.
///
/// # Example
///
/// ```
/// use groundup::http::Limits;
///
/// let strict = Limits { max_body_bytes: 4096, ..Limits::default() };
/// assert_eq!(strict.max_head_bytes, 16 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes from the first byte of the request line to the blank line that
    /// ends the header section. Over it: **431**. 16 KiB, like h11's default;
    /// nginx allows 8 KiB per line and Node.js 16 KiB for the whole head.
    pub max_head_bytes: usize,
    /// Bytes in the request-target. Over it: **414**. 8 KiB, the size RFC 9112
    /// §3 recommends every server supports at the least.
    pub max_target_bytes: usize,
    /// Header fields in one request (the trailer section of a chunked body
    /// counts the same way). Over it: **431**. Apache's default is 100.
    /// Capped at [`MAX_HEADERS_CAP`], the size of the parser's stack array.
    pub max_headers: usize,
    /// Bytes of decoded request body. Over it: **413**, sent before a byte of
    /// an over-long Content-Length body is read. 1 MiB, nginx's default.
    pub max_body_bytes: u64,
    /// Bytes in one chunk's extensions (`;name=value` after the size), which
    /// carry no meaning for us but must be read past. Over it: **400**.
    pub max_chunk_extension_bytes: usize,
    /// Bytes in the trailer section of a chunked body. Over it: **431**.
    pub max_trailer_bytes: usize,
    /// Bytes of an unwanted body (one the handler never asked for) that we
    /// read and discard to keep the connection usable. Past this we close the
    /// connection instead: reading megabytes nobody wants is the worse deal.
    pub max_drain_bytes: u64,
    /// From the first byte of a request to the end of its head. Over it:
    /// **408** and close. This is what defeats slowloris: a client dribbling
    /// one header byte every few seconds is cut off here, not at the idle
    /// timeout.
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may sit between requests. Over it the
    /// connection is closed without a response (there is no request to answer).
    pub idle_timeout: Duration,
    /// How long reading one request body may take in all. Over it: **408** and
    /// close.
    pub body_read_timeout: Duration,
    /// How long writing one response may take. Over it the connection is
    /// closed: a peer that stopped reading must not pin a task forever.
    pub write_timeout: Duration,
    /// Open connections at once. Over it: **503** and close, written without
    /// waiting, so the accept loop never blocks on a client it cannot serve.
    pub max_connections: usize,
    /// How long graceful shutdown waits for in-flight requests to finish.
    pub shutdown_grace: Duration,
}

/// The largest `max_headers` the parser can honour: the header array it
/// hands to httparse lives on the stack and has this many slots.
pub const MAX_HEADERS_CAP: usize = 256;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 16 * 1024,
            max_target_bytes: 8 * 1024,
            max_headers: 100,
            max_body_bytes: 1024 * 1024,
            max_chunk_extension_bytes: 1024,
            max_trailer_bytes: 8 * 1024,
            max_drain_bytes: 64 * 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}
