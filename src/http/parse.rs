//! Reading a request head from bytes: the request line and the header fields, over httparse.
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

use std::mem::MaybeUninit;

use crate::http::error::ParseError;
use crate::http::framing::{Semantics, semantics};
use crate::http::head::RequestHead;
use crate::http::host::is_valid_host;
use crate::http::limits::{Limits, MAX_HEADERS_CAP};
use crate::http::method::Method;
use crate::http::version::Version;

/// The outcome of feeding bytes to a parser that may need more of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<T> {
    /// A whole value, and how many bytes of the input it took.
    Complete(T, usize),
    /// The input ends before the value does; call again with more bytes.
    Partial,
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
        Err(httparse::Error::Version) if let Some(minor) = later_minor_version(buf) => {
            return parse_as_http11(buf, minor, limits, head);
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

    let Semantics {
        framing,
        keep_alive,
        expect,
    } = semantics(request.headers, version, limits)?;

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
    request_line_version(buf).is_some()
}

/// The request line's version, when the line has exactly three parts and ends
/// in a well-formed `HTTP/d.d`: where the version starts in `buf`, and its two
/// digits.
fn request_line_version(buf: &[u8]) -> Option<(usize, u8, u8)> {
    let line_end = buf.iter().position(|&b| b == b'\r' || b == b'\n');
    let line = &buf[..line_end.unwrap_or(buf.len())];
    // Exactly three parts: with a space inside the target, the "version"
    // httparse refused is the target's tail, and the line is junk.
    if line.iter().filter(|&&b| b == b' ').count() != 2 {
        return None;
    }
    let start = line.iter().rposition(|&b| b == b' ')? + 1;
    match line[start..] {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            Some((start, major, minor))
        }
        _ => None,
    }
}

/// Where the minor digit of an `HTTP/1.x` version with x above 1 is: a later
/// HTTP/1 than ours. httparse refuses it; RFC 9110 §2.5 says a recipient that
/// speaks the major version should read it as the highest minor version it
/// speaks, and answer in that one. (`HTTP/2.0` and up stay 505: another
/// protocol.)
fn later_minor_version(buf: &[u8]) -> Option<usize> {
    match request_line_version(buf)? {
        (start, b'1', minor) if minor > b'1' => Some(start + 7),
        _ => None,
    }
}

/// Parses a head whose version is `HTTP/1.x`, x above 1, as `HTTP/1.1`: a copy
/// of the head with the minor digit (at `minor`) changed, the same length, so
/// every offset holds, parsed as usual. Only as much as a head may hold is
/// copied, so an oversized one is still refused as such.
fn parse_as_http11(
    buf: &[u8],
    minor: usize,
    limits: &Limits,
    head: &mut RequestHead,
) -> Result<Parsed<()>, ParseError> {
    let mut as_http11 = buf[..buf.len().min(limits.max_head_bytes + 1)].to_vec();
    as_http11[minor] = b'1';
    parse_head_into(&as_http11, limits, head)
}

/// Which request-target forms (RFC 9112 §3.2) each method may use, and that
/// every `%` starts a percent-encoding.
fn check_target_form(method: &Method, target: &str) -> Result<(), ParseError> {
    let valid = if !percent_encodings_are_whole(target) {
        // RFC 3986 §2.1: `%` is always followed by two hex digits. A decoder
        // that keeps `%zz` and one that drops it read two different paths.
        false
    } else if target.contains('#') {
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

fn percent_encodings_are_whole(target: &str) -> bool {
    let bytes = target.as_bytes();
    bytes.iter().enumerate().all(|(at, &byte)| {
        byte != b'%'
            || bytes
                .get(at + 1..at + 3)
                .is_some_and(|digits| digits.iter().all(u8::is_ascii_hexdigit))
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::framing::{Expectation, Framing};

    fn parse(bytes: &[u8]) -> Result<Parsed<RequestHead>, ParseError> {
        parse_head(bytes, &Limits::default())
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
    fn a_percent_sign_must_start_two_hex_digits() {
        for target in ["/a%20b", "/%C3%A9?q=%2f", "/%aF"] {
            let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
            assert!(
                matches!(parse(request.as_bytes()), Ok(Parsed::Complete(..))),
                "{target}"
            );
        }
        for target in ["/a%zz", "/a%2", "/%", "/?q=%g0", "http://x/%x1"] {
            let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
            assert_eq!(
                parse(request.as_bytes()),
                Err(ParseError::BadTarget),
                "{target}"
            );
        }
    }

    #[test]
    fn a_later_http1_minor_version_is_read_as_1_1() {
        let request = b"GET /a HTTP/1.7\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n";
        let Ok(Parsed::Complete(head, used)) = parse(request) else {
            panic!("a later HTTP/1 is served");
        };
        assert_eq!(
            (head.version, head.path(), head.keep_alive),
            (Version::Http11, "/a", true)
        );
        assert_eq!(used, request.len() - b"GET /b HTTP/1.1\r\n".len());
        assert_eq!(parse(b"GET /a HTTP/1.9\r\nHost"), Ok(Parsed::Partial));
        for refused in [&b"GET /a HTTP/2.0\r\n\r\n"[..], b"GET /a HTTP/3.1\r\n\r\n"] {
            assert_eq!(parse(refused), Err(ParseError::UnsupportedVersion));
        }
        let limits = Limits::default();
        let oversized = format!(
            "GET /a HTTP/1.2\r\nX: {}\r\n\r\n",
            "v".repeat(limits.max_head_bytes)
        );
        assert_eq!(
            parse_head(oversized.as_bytes(), &limits),
            Err(ParseError::HeadTooLarge)
        );
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

    fn token() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::string::string_regex("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}").expect("valid regex")
    }

    proptest::proptest! {
        /// A parsed head re-encodes to bytes that parse to the same head.
        #[test]
        fn parse_encode_parse_is_stable(
            method in proptest::sample::select(vec!["GET", "POST", "PUT", "DELETE", "PATCH", "BREW"]),
            path in proptest::string::string_regex("/([a-z0-9/._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2}){0,30}(\\?([a-z0-9=&]|%[0-9a-f]{2}){0,20})?").expect("valid regex"),
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
