//! Writing a response: the status line, the header fields, and the body.
//!
//! ```text
//! HTTP/1.1 200 OK\r\n                     status-line = HTTP-version SP status-code SP reason
//! Date: Tue, 24 Nov 2026 12:00:00 GMT\r\n  added by us on every response
//! Server: groundup\r\n
//! Content-Type: text/plain\r\n             set by the handler
//! Content-Length: 3\r\n                    or Transfer-Encoding: chunked, never both
//! \r\n
//! ok\n
//! ```
//!
//! A handler builds a [`Response`]: a [`Status`], the body's media type, its
//! own header fields, and a [`Body`]. The media type has a field of its own
//! because nearly every response has one: a plain `text` or `json` answer
//! then needs no header list, and costs no allocation. The framing fields
//! (`Content-Length`, `Transfer-Encoding`, `Connection`) and `Date` and `Server` are never
//! the handler's business: they are written here, in [`Response::encode_head`], from the
//! body kind, the request method and the connection's state, so they cannot disagree with
//! the bytes that follow. [`Response::header`] refuses them, and the header list is private,
//! so no handler can slip one in.

use std::borrow::Cow;
use std::fmt;
use std::pin::Pin;

use futures_core::Stream;

use crate::http::status::Status;
use crate::http::version::Version;

/// A body produced piece by piece, sent with chunked encoding as the pieces
/// arrive. Whoever produces it (a database cursor, say) never has to hold the
/// whole body in memory.
///
/// A producer that fails halfway yields `Err(BodyAborted)`. The status line
/// went out long ago, so the only honest signal left is to end the connection
/// *without* the last chunk: the client then knows the body is incomplete,
/// where a tidy `0\r\n\r\n` would have passed a truncated body off as whole.
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Vec<u8>, BodyAborted>> + Send>>;

/// A streamed body's producer failed; the connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyAborted;

/// What follows the head.
pub enum Body {
    /// No body; `Content-Length: 0` where a body is allowed.
    Empty,
    /// A body known in full, sent with `Content-Length`. Borrowed when it
    /// is a constant, so fixed answers cost no allocation.
    Full(Cow<'static, [u8]>),
    /// A body of unknown length, sent with `Transfer-Encoding: chunked`.
    Stream(BodyStream),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Full(bytes) => write!(f, "Full({} bytes)", bytes.len()),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// A response as a handler builds it.
///
/// # Example
///
/// ```
/// use groundup::http::{Response, Status};
///
/// let response = Response::text(Status::OK, "ok\n");
/// let mut wire = Vec::new();
/// let date = "Tue, 24 Nov 2026 12:00:00 GMT";
/// response.encode_head(&mut wire, groundup::http::Version::Http11, true, date);
/// let text = String::from_utf8(wire).unwrap();
/// assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(text.contains("\r\ncontent-length: 3\r\n"));
/// assert!(text.ends_with("\r\n\r\n"));
/// ```
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: Status,
    /// The body's media type, sent as `Content-Type`. Set it here (or with
    /// [`content_type`](Response::content_type)), not among the headers.
    pub content_type: Option<Cow<'static, str>>,
    /// The handler's header fields, added with [`header`](Response::header), which
    /// keeps the framing fields out (see the module docs).
    headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    /// The body.
    pub body: Body,
}

impl Response {
    /// A response with no header fields and no body.
    pub fn new(status: Status) -> Response {
        Response {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    /// A `text/plain` response.
    pub fn text(status: Status, text: impl Into<Cow<'static, str>>) -> Response {
        let bytes = match text.into() {
            Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
            Cow::Owned(text) => Cow::Owned(text.into_bytes()),
        };
        Response::new(status)
            .content_type("text/plain; charset=utf-8")
            .body(bytes)
    }

    /// An `application/json` response from bytes already serialized.
    pub fn json_bytes(status: Status, json: Vec<u8>) -> Response {
        Response::new(status)
            .content_type("application/json")
            .body(json)
    }

    /// An `application/json` response from a JSON value or any other
    /// serializable body (a struct serializes straight to bytes, without a
    /// `serde_json::Value` built first).
    ///
    /// Serializing fails only for a map whose keys are not strings; the
    /// bodies here have none, and should one appear the client gets a 500
    /// rather than half a document.
    pub fn json<T: serde::Serialize + ?Sized>(status: Status, value: &T) -> Response {
        match serde_json::to_vec(value) {
            Ok(json) => Response::json_bytes(status, json),
            Err(_) => Response::json_bytes(
                Status::INTERNAL_SERVER_ERROR,
                br#"{"error":"internal server error"}"#.to_vec(),
            ),
        }
    }

    /// The standard JSON error body: `{"error": "<message>"}`.
    pub fn error(status: Status, message: &str) -> Response {
        Response::json(status, &serde_json::json!({ "error": message }))
    }

    /// Sets the body's media type (`Content-Type`).
    pub fn content_type(mut self, media_type: impl Into<Cow<'static, str>>) -> Response {
        self.content_type = Some(media_type.into());
        self
    }

    /// Adds a header field.
    ///
    /// # Panics
    ///
    /// On a field this module owns (`Content-Length`, `Transfer-Encoding`, `Connection`,
    /// `Date`, `Server`, `Content-Type`): a handler that set one could make the head
    /// disagree with the bytes that follow. Handlers name their fields with literals, so
    /// this is a programming error, caught by the first test that reaches it.
    pub fn header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Response {
        let name = name.into();
        assert!(
            !OWN_FIELDS.iter().any(|own| own.eq_ignore_ascii_case(&name)),
            "`{name}` is written by the response encoder, not by handlers"
        );
        self.headers.push((name, value.into()));
        self
    }

    /// The handler's header fields, in the order they were added.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_ref(), value.as_ref()))
    }

    /// Sets a full body.
    pub fn body(mut self, bytes: impl Into<Cow<'static, [u8]>>) -> Response {
        self.body = Body::Full(bytes.into());
        self
    }

    /// Sets a streamed body.
    pub fn stream(mut self, stream: BodyStream) -> Response {
        self.body = Body::Stream(stream);
        self
    }

    /// How the body will be framed on a connection speaking `version`.
    pub fn framing(&self, version: Version) -> ResponseFraming {
        match &self.body {
            _ if self.status.forbids_body() => ResponseFraming::NoBody,
            Body::Empty => ResponseFraming::Length(0),
            Body::Full(bytes) => ResponseFraming::Length(bytes.len() as u64),
            // An HTTP/1.0 client cannot read chunked encoding: the body
            // ends when we close the connection instead.
            Body::Stream(_) if version == Version::Http10 => ResponseFraming::UntilClose,
            Body::Stream(_) => ResponseFraming::Chunked,
        }
    }

    /// Writes the status line and header fields, including the ones this
    /// module owns: `Date`, `Server`, the framing field and `Connection`.
    ///
    /// For a HEAD request the caller sends no body, but the head is the one a
    /// `GET` would have had, framing fields included (RFC 9110 §9.3.2), so
    /// this function does not need to know the method. `keep_alive` is whether the
    /// connection stays open after this response; `date` is the current
    /// IMF-fixdate, formatted by the caller (who caches it).
    pub fn encode_head(&self, out: &mut Vec<u8>, version: Version, keep_alive: bool, date: &str) {
        let framing = self.framing(version);
        let keep_alive = keep_alive && framing != ResponseFraming::UntilClose;
        // We answer in the highest version we share with the client
        // (RFC 9110 §6.2): 1.1, unless the client spoke 1.0.
        out.extend_from_slice(version.as_str().as_bytes());
        out.push(b' ');
        push_decimal(out, u64::from(self.status.code()));
        out.push(b' ');
        out.extend_from_slice(self.status.reason().as_bytes());
        out.extend_from_slice(b"\r\ndate: ");
        out.extend_from_slice(date.as_bytes());
        out.extend_from_slice(b"\r\nserver: groundup\r\n");
        if let Some(media_type) = &self.content_type {
            out.extend_from_slice(b"content-type: ");
            out.extend_from_slice(media_type.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        match framing {
            ResponseFraming::Length(length) => {
                out.extend_from_slice(b"content-length: ");
                push_decimal(out, length);
                out.extend_from_slice(b"\r\n");
            }
            ResponseFraming::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
            ResponseFraming::NoBody | ResponseFraming::UntilClose => {}
        }
        match (keep_alive, version) {
            (false, _) => out.extend_from_slice(b"connection: close\r\n"),
            (true, Version::Http10) => out.extend_from_slice(b"connection: keep-alive\r\n"),
            (true, Version::Http11) => {}
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// The fields [`Response::encode_head`] writes itself, which handlers may not set.
const OWN_FIELDS: [&str; 6] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "date",
    "server",
    "content-type",
];

/// How a response body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFraming {
    /// No body may follow (1xx, 204, 304).
    NoBody,
    /// `Content-Length` bytes follow.
    Length(u64),
    /// Chunks follow, ended by the zero-size chunk.
    Chunked,
    /// Bytes follow until the connection closes (HTTP/1.0 streams).
    UntilClose,
}

/// Writes one chunk of a chunked body: size in hex, CRLF, data, CRLF. An
/// empty `data` writes nothing, since a zero-size chunk would end the body.
pub fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let mut digits = [0u8; 16];
    let mut size = data.len();
    let mut start = digits.len();
    while size > 0 || start == digits.len() {
        start -= 1;
        digits[start] = b"0123456789abcdef"[size % 16];
        size /= 16;
    }
    out.extend_from_slice(&digits[start..]);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Writes the last chunk and the empty trailer section that end a chunked body.
pub fn encode_last_chunk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n\r\n");
}

/// The interim `100 Continue` response that tells a client waiting on
/// `Expect: 100-continue` to send its body.
pub fn encode_continue(out: &mut Vec<u8>, version: Version) {
    out.extend_from_slice(version.as_str().as_bytes());
    out.extend_from_slice(b" 100 Continue\r\n\r\n");
}

/// Appends `value` in decimal without going through `format!`, which would
/// allocate a String for every response.
fn push_decimal(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &str = "Tue, 24 Nov 2026 12:00:00 GMT";

    fn head(response: &Response, version: Version, keep_alive: bool) -> String {
        let mut out = Vec::new();
        response.encode_head(&mut out, version, keep_alive, DATE);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn no_content_has_no_length() {
        let text = head(&Response::new(Status::NO_CONTENT), Version::Http11, true);
        assert!(!text.contains("content-length"));
    }

    #[test]
    fn closing_response_says_so() {
        let text = head(&Response::text(Status::OK, "x"), Version::Http11, false);
        assert!(text.contains("\r\nconnection: close\r\n"));
    }

    #[test]
    fn http10_keep_alive_is_announced() {
        let text = head(&Response::text(Status::OK, "x"), Version::Http10, true);
        assert!(text.starts_with("HTTP/1.0 200 OK\r\n"));
        assert!(text.contains("\r\nconnection: keep-alive\r\n"));
    }

    #[test]
    fn chunk_sizes_are_hex() {
        let mut out = Vec::new();
        encode_chunk(&mut out, &[b'a'; 26]);
        encode_chunk(&mut out, b"");
        encode_last_chunk(&mut out);
        assert_eq!(
            out,
            [&b"1a\r\n"[..], &[b'a'; 26], b"\r\n0\r\n\r\n"].concat()
        );
    }

    #[test]
    fn decimal_digits() {
        for value in [0u64, 7, 10, 1234567890, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, value);
            assert_eq!(out, value.to_string().into_bytes());
        }
    }
}
