//! Reading a request head: the request line and the header fields.
//!
//! ```text
//! POST /echo?x=1 HTTP/1.1\r\n          request-line = method SP request-target SP HTTP-version
//! Host: example.test\r\n               field-line   = field-name ":" OWS field-value OWS
//! Content-Length: 5\r\n
//! \r\n                                 an empty line ends the head
//! hello                                the body; its length comes from the head
//! ```
//!
//! [`parse_head`] is a pure function over a byte slice, shaped like httparse:
//! it returns [`Parsed::Complete`] with the head and how many bytes it used,
//! [`Parsed::Partial`] when the head has not fully arrived yet, or a
//! [`ParseError`]. It never reads a socket, so tests and fuzzers call it
//! directly, and the connection loop calls it again each time more bytes come.
//!
//! httparse does the tokenizing: it finds the method, target, version and each
//! `name: value` pair, and rejects bytes the grammar forbids (NUL and other
//! controls in values, whitespace before the colon, folded lines). Everything
//! that decides what the bytes *mean* is here: limits, the Host rules, and
//! above all how long the body is, which is where request smuggling lives.
//!
//! # Line endings
//!
//! RFC 9112 §2.2 lets a server accept a bare LF as a line ending, and
//! httparse does. We do not: a request whose head holds an LF without its CR
//! is rejected with 400. Two parsers that disagree on where a line ends
//! disagree on where a header ends, and a proxy in front of us that reads
//! `X: a\nTransfer-Encoding: chunked` as one header while we read two is a
//! smuggling channel. Every real client sends CRLF; `printf '...\r\n' | nc`
//! and `nc -C` do too.
//!
//! # Who owns the bytes
//!
//! httparse hands back slices of the buffer it parsed. A [`RequestHead`] does
//! not keep them: it copies the target and the header fields into buffers of
//! its own. The head has to outlive its place in the connection's read buffer,
//! which goes on filling with the body and the next pipelined requests (moving
//! them to its front) while the handler still reads the head, and a head that
//! borrowed the read buffer would stop all of that. The copy is a few dozen
//! bytes and needs no allocation: the connection parses every request with
//! [`parse_head_into`] into one head it keeps, whose buffers soon stop growing.

use std::fmt;
use std::mem::MaybeUninit;
use std::ops::Range;

use crate::http::error::ParseError;
use crate::http::limits::{Limits, MAX_HEADERS_CAP};

/// The outcome of feeding bytes to a parser that may need more of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<T> {
    /// A whole value, and how many bytes of the input it took.
    Complete(T, usize),
    /// The input ends before the value does; call again with more bytes.
    Partial,
}

/// A request method (RFC 9110 §9).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: read a resource; never changes state.
    Get,
    /// `HEAD`: `GET` without the body.
    Head,
    /// `POST`: process the enclosed body.
    Post,
    /// `PUT`: replace a resource with the body.
    Put,
    /// `PATCH`: change part of a resource.
    Patch,
    /// `DELETE`: remove a resource.
    Delete,
    /// `OPTIONS`: which methods a resource (or, with `*`, the server) allows.
    Options,
    /// `CONNECT`: open a tunnel; a proxy's method, which we do not implement.
    Connect,
    /// `TRACE`: echo the request; off on most servers, and off here.
    Trace,
    /// Any other token: syntactically a method, but not one we know (501).
    Other(Box<str>),
}

impl Method {
    /// Maps a method token to a `Method`. Methods are case-sensitive: `get`
    /// is a different (unknown) method from `GET`.
    pub fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "CONNECT" => Method::Connect,
            "TRACE" => Method::Trace,
            other => Method::Other(other.into()),
        }
    }

    /// The method as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Connect => "CONNECT",
            Method::Trace => "TRACE",
            Method::Other(token) => token,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// One header field as received, borrowed from the [`Headers`] that hold it:
/// the name keeps its case (for display), the value is bytes, because HTTP
/// allows non-UTF-8 (obs-text) in values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The field name, as the client spelled it.
    pub name: &'a str,
    /// The field value, without surrounding whitespace.
    pub value: &'a [u8],
}

/// The header fields of a request (or the trailer fields of a chunked body),
/// in the order they arrived.
///
/// The fields are stored as text, not as one allocation each: every name is
/// appended to one `String` and every value to one `Vec<u8>`, and a third list
/// records where each field's name and value are. [`clear`](Headers::clear)
/// keeps all three buffers, so a connection that parses each of its requests
/// into the same `Headers` stops allocating once they have grown to fit.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    names: String,
    values: Vec<u8>,
    fields: Vec<Field>,
}

/// Where one field's name is in [`Headers::names`] and its value in
/// [`Headers::values`].
#[derive(Clone, PartialEq, Eq)]
struct Field {
    name: Range<usize>,
    value: Range<usize>,
}

impl Headers {
    /// The value of the first field called `name` (compared case-insensitively,
    /// as field names are).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value)
    }

    /// The value of the first field called `name`, if it is valid UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// Every value of the fields called `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter()
            .filter(move |header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value)
    }

    /// Every field, in the order received.
    pub fn iter(&self) -> impl Iterator<Item = Header<'_>> {
        self.fields.iter().map(|field| Header {
            name: &self.names[field.name.clone()],
            value: &self.values[field.value.clone()],
        })
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields at all.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Adds a field at the end.
    pub fn push(&mut self, name: &str, value: &[u8]) {
        let name_start = self.names.len();
        self.names.push_str(name);
        let value_start = self.values.len();
        self.values.extend_from_slice(value);
        self.fields.push(Field {
            name: name_start..self.names.len(),
            value: value_start..self.values.len(),
        });
    }

    /// Removes every field, keeping the memory they used for the next ones.
    pub fn clear(&mut self) {
        self.names.clear();
        self.values.clear();
        self.fields.clear();
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|header| (header.name, String::from_utf8_lossy(header.value))),
            )
            .finish()
    }
}

/// How the body of a request is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body at all.
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// A chunked body follows; its end is the zero-size chunk.
    Chunked,
}

/// What the client's `Expect` field asks of us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expectation {
    /// No expectation.
    #[default]
    None,
    /// `100-continue`: the client waits for `100 Continue` before it sends the
    /// body, so we can refuse a body (413, 404, …) before it is uploaded.
    Continue,
    /// Anything else: answered with 417.
    Unsupported,
}

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
/// fields. Only [`parse_head_into`] gives it meaning.
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

    /// Writes the head back as bytes that [`parse_head`] reads as this same
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

/// Parses a request head from the start of `buf`.
///
/// # Returns
///
/// - `Ok(Parsed::Complete(head, n))`: the head is whole; the body (if any)
///   starts at `buf[n]`.
/// - `Ok(Parsed::Partial)`: more bytes are needed. The caller must keep its
///   own deadline; the size limits are checked here, so a growing buffer ends
///   in an error rather than growing forever.
///
/// # Errors
///
/// A [`ParseError`] for anything that breaks HTTP/1.1 or `limits`. Any error
/// means the connection can no longer be trusted to be in step with the client.
///
/// # Example
///
/// ```
/// use groundup::http::{parse_head, Framing, Limits, Parsed, ParseError};
///
/// let limits = Limits::default();
/// assert_eq!(parse_head(b"GET / HTTP/1.1\r\nHo", &limits), Ok(Parsed::Partial));
///
/// let smuggle = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\
///                 Transfer-Encoding: chunked\r\n\r\n";
/// assert_eq!(
///     parse_head(smuggle, &limits),
///     Err(ParseError::TransferEncodingWithContentLength)
/// );
/// ```
pub fn parse_head(buf: &[u8], limits: &Limits) -> Result<Parsed<RequestHead>, ParseError> {
    let mut head = RequestHead::default();
    Ok(match parse_head_into(buf, limits, &mut head)? {
        Parsed::Complete((), used) => Parsed::Complete(head, used),
        Parsed::Partial => Parsed::Partial,
    })
}

/// Parses a request head from the start of `buf` into `head`, reusing the
/// memory `head` already holds: [`parse_head`] for a connection, which parses
/// every one of its requests into the same `RequestHead` and so, once its
/// buffers have grown to fit, costs no allocation per request.
///
/// Returns and errors as [`parse_head`] does. On `Complete`, every field of
/// `head` describes the new request; on `Partial` or an error, `head` is left
/// as it was.
///
/// # Example
///
/// ```
/// use groundup::http::{parse_head_into, Limits, Parsed, RequestHead};
///
/// let mut head = RequestHead::default();
/// let limits = Limits::default();
/// for path in ["/a", "/b"] {
///     let bytes = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
///     let parsed = parse_head_into(bytes.as_bytes(), &limits, &mut head);
///     assert_eq!(parsed, Ok(Parsed::Complete((), bytes.len())));
///     assert_eq!(head.path(), path);
///     assert_eq!(head.headers.len(), 1);
/// }
/// ```
pub fn parse_head_into(
    buf: &[u8],
    limits: &Limits,
    head: &mut RequestHead,
) -> Result<Parsed<()>, ParseError> {
    // Uninitialized slots: zeroing 256 of them (8 KiB) on every request cost
    // more than the parse itself. httparse initializes the ones it fills.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CAP];
    let mut request = httparse::Request::new(&mut []);
    let slots = &mut slots[..limits.max_headers.min(MAX_HEADERS_CAP)];

    let head_len = match request.parse_with_uninit_headers(buf, slots) {
        Ok(httparse::Status::Complete(head_len)) => head_len,
        Ok(httparse::Status::Partial) => {
            check_partial(buf, limits)?;
            return Ok(Parsed::Partial);
        }
        Err(error) => return Err(classify_httparse_error(error, buf, limits)),
    };

    if head_len > limits.max_head_bytes {
        return Err(ParseError::HeadTooLarge);
    }
    check_line_endings(&buf[..head_len])?;

    // httparse reported Complete, which it only does after filling in the
    // method, path and version.
    let (Some(method), Some(target), Some(minor)) = (request.method, request.path, request.version)
    else {
        return Err(ParseError::BadRequestLine);
    };
    if target.len() > limits.max_target_bytes {
        return Err(ParseError::TargetTooLong);
    }
    let method = Method::from_token(method);
    let version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    check_target_form(&method, target)?;

    let meaning = read_fields(request.headers, version)?;
    let framing = body_framing(&meaning, version, limits)?;

    // Persistence (RFC 9112 §9.3): HTTP/1.1 persists unless told `close`;
    // HTTP/1.0 closes unless told `keep-alive`.
    let keep_alive =
        !meaning.connection_close && (version == Version::Http11 || meaning.connection_keep_alive);
    // RFC 9110 §10.1.1: a 100-continue expectation in an HTTP/1.0 request
    // must be ignored, since 1.0 clients cannot have meant it.
    let expect = match (meaning.expect, version) {
        (Expectation::Continue, Version::Http10) => Expectation::None,
        (expect, _) => expect,
    };

    // Only now, with nothing left to reject, is `head` changed.
    head.method = method;
    head.target.clear();
    head.target.push_str(target);
    head.version = version;
    head.headers.clear();
    for field in request.headers.iter() {
        head.headers.push(field.name, field.value);
    }
    head.framing = framing;
    head.keep_alive = keep_alive;
    head.expect = expect;
    Ok(Parsed::Complete((), head_len))
}

/// Limits that apply before the head is whole, so that a client cannot make
/// us buffer without end: a request line whose target is already too long is
/// 414 at once, and a head past its size is 431.
fn check_partial(buf: &[u8], limits: &Limits) -> Result<(), ParseError> {
    let line_end = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    let line = &buf[..line_end];
    if let Some(method_end) = line.iter().position(|&b| b == b' ') {
        let after_method = &line[method_end + 1..];
        let target_len = after_method
            .iter()
            .position(|&b| b == b' ')
            .unwrap_or(after_method.len());
        if target_len > limits.max_target_bytes {
            return Err(ParseError::TargetTooLong);
        }
    }
    if buf.len() > limits.max_head_bytes {
        return Err(ParseError::HeadTooLarge);
    }
    check_line_endings(buf)
}

/// Rejects an LF that is not preceded by CR (see the module docs).
/// httparse already rejects a CR that is not followed by LF.
///
/// Every head goes through this scan, so it is written to be fast: each byte
/// is paired with the one before it and the verdicts are or-ed together with
/// no early exit, a loop the compiler turns into comparisons of sixteen bytes
/// at a time. Stopping at the first bad LF would save nothing on the heads
/// that matter, which have none.
fn check_line_endings(head: &[u8]) -> Result<(), ParseError> {
    let starts_with_lf = head.first() == Some(&b'\n');
    let previous = head.iter();
    let bare_lf = head
        .iter()
        .skip(1)
        .zip(previous)
        .fold(starts_with_lf, |found, (&byte, &before)| {
            found | ((byte == b'\n') & (before != b'\r'))
        });
    if bare_lf {
        Err(ParseError::BadLineEnding)
    } else {
        Ok(())
    }
}

/// Turns httparse's verdict into ours, looking at the bytes where httparse's
/// error alone is too coarse to tell the client what was wrong.
fn classify_httparse_error(error: httparse::Error, buf: &[u8], limits: &Limits) -> ParseError {
    match error {
        httparse::Error::TooManyHeaders => ParseError::TooManyHeaders,
        httparse::Error::HeaderValue => ParseError::BadHeaderValue,
        httparse::Error::NewLine => ParseError::BadLineEnding,
        httparse::Error::HeaderName => {
            if has_folded_line(buf) {
                ParseError::ObsFold
            } else {
                ParseError::BadHeaderName
            }
        }
        httparse::Error::Version => {
            if names_a_version(buf) {
                ParseError::UnsupportedVersion
            } else {
                ParseError::BadRequestLine
            }
        }
        httparse::Error::Token | httparse::Error::Status => {
            // A target that is over-long *and* malformed is reported as long:
            // that is the more useful thing to know.
            match check_partial(buf, limits) {
                Err(ParseError::TargetTooLong) => ParseError::TargetTooLong,
                _ => ParseError::BadRequestLine,
            }
        }
    }
}

/// Whether a header line starts with whitespace: obs-fold (RFC 9112 §5.2).
fn has_folded_line(buf: &[u8]) -> bool {
    buf.windows(2)
        .any(|pair| pair[0] == b'\n' && (pair[1] == b' ' || pair[1] == b'\t'))
}

/// Whether the request line ends in a well-formed `HTTP/d.d` that httparse
/// refused, i.e. a real version we do not speak (505) rather than junk (400).
fn names_a_version(buf: &[u8]) -> bool {
    let line_end = buf.iter().position(|&b| b == b'\r' || b == b'\n');
    let line = &buf[..line_end.unwrap_or(buf.len())];
    // Exactly three parts: with a space inside the target, the "version"
    // httparse refused is the target's tail, and the line is junk.
    if line.iter().filter(|&&b| b == b' ').count() != 2 {
        return false;
    }
    let version = line.rsplit(|&b| b == b' ').next().unwrap_or_default();
    matches!(version, [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
        if major.is_ascii_digit() && minor.is_ascii_digit())
}

/// Which request-target forms (RFC 9112 §3.2) each method may use.
fn check_target_form(method: &Method, target: &str) -> Result<(), ParseError> {
    let valid = if target.contains('#') {
        // A fragment is the client's own business and never sent (RFC 9110
        // §4.2.5); components that disagree on where a path ends are how
        // access rules are bypassed.
        false
    } else if target == "*" {
        // asterisk-form: only for a server-wide OPTIONS.
        *method == Method::Options
    } else if target.starts_with('/') {
        // origin-form: the usual case.
        true
    } else if *method == Method::Connect {
        // authority-form: host:port, only for CONNECT.
        !target.contains('/') && target.contains(':')
    } else {
        // absolute-form: what a client sends to a proxy; servers must accept it.
        is_absolute_http_uri(target)
    };
    if valid {
        Ok(())
    } else {
        Err(ParseError::BadTarget)
    }
}

fn is_absolute_http_uri(target: &str) -> bool {
    let Some((scheme, rest)) = target.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
        && is_valid_host(authority.as_bytes())
        && !authority.is_empty()
}

/// What the header fields say about framing and the connection, gathered in
/// one pass over them.
#[derive(Default)]
struct FieldMeaning {
    host_count: usize,
    content_length: Option<u64>,
    content_length_count: usize,
    /// Transfer codings, in order, across every Transfer-Encoding field.
    transfer_codings: Vec<String>,
    has_transfer_encoding: bool,
    connection_close: bool,
    connection_keep_alive: bool,
    expect: Expectation,
}

fn read_fields(
    fields: &[httparse::Header<'_>],
    version: Version,
) -> Result<FieldMeaning, ParseError> {
    let mut meaning = FieldMeaning::default();
    for field in fields {
        let name = field.name;
        let value = field.value;
        if name.eq_ignore_ascii_case("host") {
            meaning.host_count += 1;
            if !is_valid_host(value) {
                return Err(ParseError::BadHost);
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            meaning.content_length_count += 1;
            meaning.content_length = Some(parse_content_length(value)?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            meaning.has_transfer_encoding = true;
            for coding in list_elements(value) {
                meaning.transfer_codings.push(coding.to_ascii_lowercase());
            }
        } else if name.eq_ignore_ascii_case("connection") {
            for option in list_elements(value) {
                if option.eq_ignore_ascii_case("close") {
                    meaning.connection_close = true;
                } else if option.eq_ignore_ascii_case("keep-alive") {
                    meaning.connection_keep_alive = true;
                }
            }
        } else if name.eq_ignore_ascii_case("expect") {
            for expectation in list_elements(value) {
                meaning.expect = match (
                    meaning.expect,
                    expectation.eq_ignore_ascii_case("100-continue"),
                ) {
                    (Expectation::Unsupported, _) | (_, false) => Expectation::Unsupported,
                    (_, true) => Expectation::Continue,
                };
            }
        }
    }
    match (meaning.host_count, version) {
        (0, Version::Http11) => return Err(ParseError::MissingHost),
        (2.., _) => return Err(ParseError::DuplicateHost),
        _ => {}
    }
    if meaning.content_length_count > 1 {
        return Err(ParseError::DuplicateContentLength);
    }
    Ok(meaning)
}

/// The body framing rules of RFC 9112 §6.3, in the order the RFC gives them
/// (steps 1 and 2 concern responses and CONNECT tunnels, which we never parse):
///
/// 3. Transfer-Encoding and Content-Length together: the RFC lets a server
///    drop Content-Length and go on; we reject the request, because the pair
///    only ever appears when someone is trying to make two servers disagree.
///    Transfer-Encoding in HTTP/1.0 is also rejected (§6.1).
/// 4. Transfer-Encoding whose final coding is chunked: read chunks. If the
///    final coding is anything else, the length cannot be known: 400.
/// 5. A Content-Length that is not a single valid number: 400.
/// 6. A valid Content-Length: read exactly that many bytes.
/// 7. Neither: a request has no body.
fn body_framing(
    meaning: &FieldMeaning,
    version: Version,
    limits: &Limits,
) -> Result<Framing, ParseError> {
    if meaning.has_transfer_encoding {
        if version == Version::Http10 {
            return Err(ParseError::TransferEncodingOnHttp10);
        }
        if meaning.content_length_count > 0 {
            return Err(ParseError::TransferEncodingWithContentLength);
        }
        let Some((last, earlier)) = meaning.transfer_codings.split_last() else {
            return Err(ParseError::ChunkedNotFinal);
        };
        if last != "chunked" {
            return Err(ParseError::ChunkedNotFinal);
        }
        if earlier.iter().any(|coding| coding == "chunked") {
            return Err(ParseError::RepeatedChunked);
        }
        if !earlier.is_empty() {
            return Err(ParseError::UnsupportedTransferCoding);
        }
        return Ok(Framing::Chunked);
    }
    match meaning.content_length {
        Some(length) if length > limits.max_body_bytes => Err(ParseError::BodyTooLarge),
        Some(0) | None => Ok(Framing::None),
        Some(length) => Ok(Framing::Length(length)),
    }
}

/// `Content-Length = 1*DIGIT`: no sign, no spaces, no list, and a value
/// that fits in 64 bits (checked, never wrapped).
fn parse_content_length(value: &[u8]) -> Result<u64, ParseError> {
    if value.is_empty() {
        return Err(ParseError::BadContentLength);
    }
    value.iter().try_fold(0u64, |length, &byte| {
        if !byte.is_ascii_digit() {
            return Err(ParseError::BadContentLength);
        }
        length
            .checked_mul(10)
            .and_then(|length| length.checked_add(u64::from(byte - b'0')))
            .ok_or(ParseError::BadContentLength)
    })
}

/// The elements of a comma-separated field value (RFC 9110 §5.6.1), trimmed,
/// with empty elements skipped as the RFC asks. Non-UTF-8 elements are kept
/// as an empty-never-matching marker so they cannot be mistaken for a known
/// token.
fn list_elements(value: &[u8]) -> impl Iterator<Item = &str> {
    value
        .split(|&b| b == b',')
        .map(|element| {
            std::str::from_utf8(element)
                .unwrap_or("\u{fffd}")
                .trim_matches([' ', '\t'])
        })
        .filter(|element| !element.is_empty())
}

/// `Host = uri-host [ ":" port ]`: the bytes a registered name, IPv4 or
/// bracketed IPv6 address may contain, then a port of digits only. An empty
/// Host is allowed (RFC 9112 §3.2, for targets without an authority).
///
/// The port matters beyond tidiness: `Host: a:port` or `Host: a:b:80` would
/// be read as different authorities by different components, and RFC 9112
/// §3.2 requires a 400 for any invalid Host.
fn is_valid_host(value: &[u8]) -> bool {
    // Split once: a bracketed literal runs to its first `]`, anything else to
    // its first `:`. What follows must be nothing, or `:` and the port.
    let (host, rest) = if value.first() == Some(&b'[') {
        match value.iter().position(|&b| b == b']') {
            Some(end) => value.split_at(end + 1),
            None => return false,
        }
    } else {
        let colon = value.iter().position(|&b| b == b':');
        value.split_at(colon.unwrap_or(value.len()))
    };
    let port = match rest {
        [] => rest,
        [b':', port @ ..] => port,
        _ => return false,
    };
    let allowed = |b: u8| HOST_BYTES[usize::from(b)] && !matches!(b, b'[' | b']');
    let host_is_valid = match host {
        [b'[', literal @ .., b']'] => literal.iter().all(|&b| allowed(b)),
        _ => host.iter().all(|&b| allowed(b) && b != b':'),
    };
    host_is_valid && port.iter().all(u8::is_ascii_digit)
}

/// Which bytes may appear in a Host value, as a table: every request looks
/// its Host up byte by byte, so this is on the hot path.
static HOST_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'['
                    | b']'
            );
        byte += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Parsed<RequestHead>, ParseError> {
        parse_head(bytes, &Limits::default())
    }

    #[test]
    fn host_port_is_digits_and_brackets_only_wrap_ipv6() {
        for valid in [
            "",
            "a",
            "a:80",
            "a:",
            "127.0.0.1:8080",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_valid_host(valid.as_bytes()), "{valid}");
        }
        for invalid in [
            "a:port", "a:b:80", "a[b]", "[::1", "::1", "a b", "a/b", "u@a",
        ] {
            assert!(!is_valid_host(invalid.as_bytes()), "{invalid}");
        }
    }

    #[test]
    fn every_proper_prefix_is_partial() {
        let request = b"POST /a?b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n";
        for end in 0..request.len() {
            assert_eq!(parse(&request[..end]), Ok(Parsed::Partial), "prefix {end}");
        }
        assert!(matches!(parse(request), Ok(Parsed::Complete(_, used)) if used == request.len()));
    }

    #[test]
    fn framing_and_persistence_are_worked_out() {
        let Ok(Parsed::Complete(head, _)) =
            parse(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n")
        else {
            panic!("valid request");
        };
        assert_eq!(head.framing, Framing::Chunked);
        assert!(!head.keep_alive);
    }

    #[test]
    fn http10_expect_continue_is_ignored() {
        let Ok(Parsed::Complete(head, _)) =
            parse(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
        else {
            panic!("valid request");
        };
        assert_eq!(head.expect, Expectation::None);
    }

    #[test]
    fn absolute_form_path_and_query() {
        let Ok(Parsed::Complete(head, _)) =
            parse(b"GET http://h:1?q=1 HTTP/1.1\r\nHost: h\r\n\r\n")
        else {
            panic!("valid request");
        };
        assert_eq!((head.path(), head.query()), ("/", Some("q=1")));
    }

    #[test]
    fn a_reused_head_keeps_nothing_of_the_last_request() {
        let limits = Limits::default();
        let mut head = RequestHead::default();
        let first = b"POST /a/long/path?q=1 HTTP/1.1\r\nHost: a\r\nX-One: 1\r\n\
                      X-Two: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n";
        let second = b"GET /b HTTP/1.0\r\n\r\n";
        assert!(matches!(
            parse_head_into(first, &limits, &mut head),
            Ok(Parsed::Complete((), _))
        ));
        assert_eq!(
            parse_head_into(second, &limits, &mut head),
            Ok(Parsed::Complete((), second.len()))
        );
        assert_eq!(parse(second), Ok(Parsed::Complete(head, second.len())));
    }

    #[test]
    fn a_refused_or_partial_request_leaves_the_head_as_it_was() {
        let limits = Limits::default();
        let mut head = RequestHead::default();
        let valid = b"GET /kept HTTP/1.1\r\nHost: a\r\n\r\n";
        assert!(matches!(
            parse_head_into(valid, &limits, &mut head),
            Ok(Parsed::Complete((), _))
        ));
        let before = head.clone();
        let refused = b"GET /other HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
        assert_eq!(
            parse_head_into(refused, &limits, &mut head),
            Err(ParseError::DuplicateHost)
        );
        assert_eq!(
            parse_head_into(b"GET /other HTTP/1.1\r\nHo", &limits, &mut head),
            Ok(Parsed::Partial)
        );
        assert_eq!(head, before);
    }

    #[test]
    fn content_length_parsing_is_checked() {
        assert_eq!(parse_content_length(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_content_length(b"18446744073709551616"),
            Err(ParseError::BadContentLength)
        );
        assert_eq!(parse_content_length(b"007"), Ok(7));
        assert_eq!(
            parse_content_length(b" 7"),
            Err(ParseError::BadContentLength)
        );
    }

    fn token() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::string::string_regex("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}").expect("valid regex")
    }

    proptest::proptest! {
        /// A parsed head re-encodes to bytes that parse to the same head.
        #[test]
        fn parse_encode_parse_is_stable(
            method in proptest::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "BREW"]),
            path in proptest::string::string_regex("/[a-z0-9/._~%!$&'()*+,;=:@-]{0,30}(\\?[a-z0-9=&%]{0,20})?").expect("valid regex"),
            fields in proptest::collection::vec((token(), proptest::string::string_regex("[ -~]{0,20}").expect("valid regex")), 0..8),
        ) {
            let mut bytes = format!("{method} {path} HTTP/1.1\r\nHost: example.test\r\n").into_bytes();
            for (name, value) in &fields {
                bytes.extend_from_slice(format!("X-{name}: {value}\r\n").as_bytes());
            }
            bytes.extend_from_slice(b"\r\n");
            let Ok(Parsed::Complete(first, _)) = parse(&bytes) else {
                return Err(proptest::test_runner::TestCaseError::fail("valid request rejected"));
            };
            let mut encoded = Vec::new();
            first.encode(&mut encoded);
            let again = parse(&encoded);
            proptest::prop_assert_eq!(again, Ok(Parsed::Complete(first, encoded.len())));
        }
    }
}
