//! A parsed request head: the request line, the header fields, and what they mean for the
//! body and the connection. [`parse`](super::parse) makes one from bytes.

use crate::http::framing::{Expectation, Framing};
use crate::http::headers::Headers;
use crate::http::method::Method;
use crate::http::version::Version;

/// A parsed request head, with its meaning worked out: how the body is framed,
/// whether the connection persists, what the client expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The request-target exactly as sent: `/path?query`, an absolute URI,
    /// `host:port` for CONNECT, or `*`.
    pub target: String,
    /// The protocol version.
    pub version: Version,
    /// Every header field, in order.
    pub headers: Headers,
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the client lets the connection persist after this exchange.
    pub keep_alive: bool,
    /// What the client expects before it sends the body.
    pub expect: Expectation,
}

/// An empty head to parse into: `GET` with an empty target, HTTP/1.1, no
/// fields. Only [`parse_head_into`](crate::http::parse_head_into) gives it meaning.
impl Default for RequestHead {
    fn default() -> RequestHead {
        RequestHead {
            method: Method::Get,
            target: String::new(),
            version: Version::Http11,
            headers: Headers::default(),
            framing: Framing::None,
            keep_alive: true,
            expect: Expectation::None,
        }
    }
}

impl RequestHead {
    /// The path part of the target, without the query: `/echo` for
    /// `/echo?x=1` and for `http://host/echo?x=1`; `*` for `OPTIONS *`.
    pub fn path(&self) -> &str {
        let origin = origin_part(&self.target);
        // A byte loop rather than a `str` search: paths are short, and the
        // general search costs more to set up than it saves.
        let end = origin.bytes().position(|b| b == b'?');
        match &origin[..end.unwrap_or(origin.len())] {
            // `http://host?q` has an empty path, which means `/`.
            "" => "/",
            path => path,
        }
    }

    /// The media type of the body, from `Content-Type` without its
    /// parameters: `application/json` for `application/json; charset=utf-8`.
    /// Empty when there is none. Compare it case-insensitively, as media
    /// types are.
    pub fn media_type(&self) -> &str {
        self.headers
            .get_str("content-type")
            .and_then(|value| value.split(';').next())
            .unwrap_or_default()
            .trim()
    }

    /// The query part of the target (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        origin_part(&self.target)
            .split_once('?')
            .map(|(_, query)| query)
    }

    /// Writes the head back as bytes that [`parse_head`](crate::http::parse_head) reads as this same
    /// head. Tests and the fuzzer use it to check that parsing loses nothing.
    ///
    /// # Example
    ///
    /// ```
    /// use groundup::http::{parse_head, Limits, Parsed};
    ///
    /// let bytes = b"GET /a?b=c HTTP/1.1\r\nHost: x\r\n\r\n";
    /// let Ok(Parsed::Complete(head, used)) = parse_head(bytes, &Limits::default()) else {
    ///     panic!("a valid request parses");
    /// };
    /// assert_eq!(used, bytes.len());
    /// assert_eq!(head.path(), "/a");
    /// let mut again = Vec::new();
    /// head.encode(&mut again);
    /// assert_eq!(again, bytes);
    /// ```
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.version.as_str().as_bytes());
        out.extend_from_slice(b"\r\n");
        for header in self.headers.iter() {
            out.extend_from_slice(header.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(header.value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// The `/path?query` part of a target: the target itself in origin-form, the
/// part after the authority in absolute-form (empty when nothing follows it).
fn origin_part(target: &str) -> &str {
    if target.starts_with('/') {
        return target;
    }
    match target.find("://") {
        Some(scheme_end) => {
            let rest = &target[scheme_end + 3..];
            rest.find(['/', '?'])
                .map_or("", |path_start| &rest[path_start..])
        }
        _ => target,
    }
}
