//! Reading the `Cookie` header (RFC 6265bis).
//!
//! HTTP itself is stateless: every request stands alone. Cookies add state on
//! top of it with two header fields. The server hands the browser a name and a
//! value in `Set-Cookie`, with attributes that say how long to keep it and where
//! to send it back; the browser then returns the bare pairs in `Cookie` on every
//! matching request:
//!
//! ```text
//! HTTP/1.1 200 OK
//! Set-Cookie: __Host-sid=9f86d081884c7d65; Path=/; Secure; HttpOnly; SameSite=Lax
//!
//! GET /api/me HTTP/1.1
//! Cookie: __Host-sid=9f86d081884c7d65; theme=dark
//! ```
//!
//! The attributes never come back: the server cannot tell from a `Cookie`
//! header when a cookie expires, which path it was set for, or even whether
//! it set it at all. That is why the session cookie is only an opaque id that
//! the session store looks up.
//!
//! # The grammar
//!
//! What a server sends, and what a browser sends back (RFC 6265bis §4.1.1 and
//! §4.2.1; `token` is RFC 9110 §5.6.2):
//!
//! ```text
//! set-cookie-string = cookie-pair *( ";" SP cookie-av )
//! cookie-string     = cookie-pair *( ";" SP cookie-pair )
//! cookie-pair       = cookie-name "=" cookie-value
//! cookie-name       = token
//! cookie-value      = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE )
//! cookie-octet      = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
//!                       ; visible US-ASCII except DQUOTE, comma,
//!                       ; semicolon and backslash
//! token             = 1*tchar
//! tchar             = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-"
//!                     / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
//! ```
//!
//! # Reading `Cookie`: strict about octets, lenient about layout
//!
//! [`parse`] walks one header value and yields each valid pair as a [`Cookie`]
//! that borrows from the header bytes (no allocation). It is lenient where
//! browsers and proxies are known to differ from the grammar, and says so:
//!
//! - optional whitespace (SP, HTAB) around `;` and `=` is ignored, so
//!   `a = 1 ;b=2` gives `a` and `b`;
//! - empty pieces (`a=1;;b=2`, a trailing `;`) are ignored;
//! - a value in double quotes has them removed: `a="x"` gives `x`.
//!
//! It is strict about content: a piece with no `=`, an empty name, a name that
//! is not a token, or a value with any byte outside cookie-octet is skipped,
//! and parsing carries on with the next `;`. One malformed cookie set by some
//! other application on the same host must not hide our session cookie.
//! Skipping instead of repairing means every value we hand out is exactly the
//! bytes a well-behaved server could have set.
//!
//! [`parse_all`] combines several `Cookie` header fields (HTTP/2 and some
//! proxies split them) into one [`CookieList`] and enforces [`MAX_COOKIES`]
//! and [`MAX_COOKIE_BYTES`].
//!
//!
//! Writing `Set-Cookie` is the other half, in [`set_cookie`](super::set_cookie).

use std::fmt;

use crate::http::tchar::is_tchar;

/// The most cookies [`parse_all`] accepts in one request.
///
/// Chromium keeps at most 180 cookies per domain, so a real browser never
/// sends more than that for one host. Counting lets [`CookieList`] stay a
/// bounded `Vec` whatever the client sends. Only valid cookies count; skipped
/// pieces are bounded by [`MAX_COOKIE_BYTES`] instead.
pub const MAX_COOKIES: usize = 180;

/// The most bytes of `Cookie` header values [`parse_all`] accepts in one
/// request, summed over all `Cookie` fields.
///
/// 8 KiB is the longest single header line nginx accepts by default
/// (`large_client_header_buffers 4 8k`), so a larger `Cookie` header would
/// not survive the usual reverse proxy anyway. It also leaves half of the
/// 16 KiB head limit for everything else.
pub const MAX_COOKIE_BYTES: usize = 8 * 1024;

/// One `name=value` pair from a `Cookie` header, borrowed from its bytes.
///
/// Only [`parse`] makes these, so every `Cookie` holds a name that is a token
/// and a value made of cookie-octets (quotes already removed). Both are
/// ASCII, hence valid `str`s.
///
/// # Example
///
/// ```
/// use groundup::http::cookie;
///
/// let first = cookie::parse(b"theme=dark").next();
/// assert_eq!(first.map(|c| (c.name(), c.value())), Some(("theme", "dark")));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cookie<'a> {
    name: &'a str,
    value: &'a str,
}

impl<'a> Cookie<'a> {
    /// The cookie's name. Browsers compare names case-sensitively, and so do we.
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The cookie's value, without surrounding double quotes if it had them.
    pub fn value(&self) -> &'a str {
        self.value
    }
}

/// Parses one `Cookie` header value into its valid pairs, in order.
///
/// Invalid pieces are skipped without affecting the others; see the
/// [module docs](self) for what counts as invalid and which leniencies apply.
/// No limits are applied here: use [`parse_all`] for request headers.
///
/// # Example
///
/// ```
/// use groundup::http::cookie;
///
/// // `junk` has no `=`, and `bad` has a space in its value: both are skipped.
/// let pairs: Vec<_> = cookie::parse(b"a=1; junk; bad=x y;b = \"2\"")
///     .map(|c| (c.name(), c.value()))
///     .collect();
/// assert_eq!(pairs, [("a", "1"), ("b", "2")]);
/// ```
pub fn parse(header_value: &[u8]) -> Pairs<'_> {
    Pairs {
        pieces: header_value.split(is_semicolon),
    }
}

/// The iterator returned by [`parse`].
#[derive(Clone, Debug)]
pub struct Pairs<'a> {
    /// The header value cut at every `;`, each piece a candidate pair.
    pieces: std::slice::Split<'a, u8, fn(&u8) -> bool>,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Cookie<'a>;

    fn next(&mut self) -> Option<Cookie<'a>> {
        self.pieces.find_map(parse_pair)
    }
}

fn is_semicolon(byte: &u8) -> bool {
    *byte == b';'
}

/// Parses one piece between semicolons, or returns `None` to skip it.
fn parse_pair(piece: &[u8]) -> Option<Cookie<'_>> {
    // The first `=` ends the name; any later `=` belongs to the value
    // (`=` is a cookie-octet, and base64 values end in it).
    let mut halves = trim_ows(piece).splitn(2, |&byte| byte == b'=');
    let name = halves.next().map(trim_ows)?;
    let value = halves.next().map(trim_ows)?;
    let value = match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    };
    Some(Cookie {
        name: as_token(name)?,
        value: as_cookie_octets(value)?,
    })
}

/// Strips optional whitespace (SP and HTAB, RFC 9110 §5.6.3) from both ends.
fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// `bytes` as a `str` if it is a non-empty token.
pub(crate) fn as_token(bytes: &[u8]) -> Option<&str> {
    if bytes.is_empty() || !bytes.iter().all(|&byte| is_tchar(byte)) {
        return None;
    }
    // Every tchar is ASCII, so this conversion cannot fail; `ok()` keeps the
    // function total without an `unwrap`.
    std::str::from_utf8(bytes).ok()
}

/// `bytes` as a `str` if every byte is a cookie-octet (empty is fine).
pub(crate) fn as_cookie_octets(bytes: &[u8]) -> Option<&str> {
    if !bytes.iter().all(|&byte| is_cookie_octet(byte)) {
        return None;
    }
    // Every cookie-octet is ASCII, as above.
    std::str::from_utf8(bytes).ok()
}

/// `cookie-octet` from RFC 6265bis §4.1.1, range by range.
fn is_cookie_octet(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// Every cookie of a request, from all its `Cookie` header fields.
///
/// Built by [`parse_all`]; borrows from the header bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CookieList<'a> {
    cookies: Vec<Cookie<'a>>,
}

impl<'a> CookieList<'a> {
    /// The value of the first cookie called `name` (case-sensitive), if any.
    ///
    /// A browser may send two cookies with the same name: one set for
    /// `/` and one for `/app`, or one set for `example.com` and one for
    /// `www.example.com`. It sends the one with the longer `Path` first and,
    /// for equal paths, the older one first (RFC 6265bis §5.8.3).
    /// Taking the first is what other servers do and picks the most specific
    /// cookie, but the header cannot say which domain a cookie came from:
    /// a sibling subdomain can plant a same-named cookie ("cookie tossing").
    /// That is why the session cookie uses the `__Host-` prefix, which no
    /// other host can set.
    ///
    /// # Example
    ///
    /// ```
    /// use groundup::http::cookie;
    ///
    /// let list = cookie::parse_all([&b"sid=new; theme=dark"[..], b"sid=old"])?;
    /// assert_eq!(list.get("sid"), Some("new"));
    /// assert_eq!(list.get("SID"), None);
    /// # Ok::<(), cookie::LimitError>(())
    /// ```
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.cookies
            .iter()
            .find(|cookie| cookie.name == name)
            .map(|cookie| cookie.value)
    }

    /// All cookies in the order the client sent them, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = Cookie<'a>> + '_ {
        self.cookies.iter().copied()
    }

    /// How many valid cookies the request carried.
    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    /// Whether the request carried no valid cookie at all.
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }
}

/// Parses every `Cookie` header value of a request, in order, into one list.
///
/// Several fields are read as if joined by `"; "`: a browser sends one, but
/// HTTP/2 splits it into one field per pair (RFC 9113 §8.2.3) and a proxy
/// translating to HTTP/1.1 may pass them on as they are.
///
/// # Errors
///
/// [`LimitError::TooManyBytes`] if the values add up to more than
/// [`MAX_COOKIE_BYTES`], and [`LimitError::TooManyCookies`] if they hold more
/// than [`MAX_COOKIES`] valid cookies. Either way the request is refused as a
/// whole (a server answers 431) instead of keeping the first cookies and
/// dropping the rest: a silently dropped session cookie would look like a
/// random logout.
///
/// # Example
///
/// ```
/// use groundup::http::cookie::{self, LimitError, MAX_COOKIE_BYTES};
///
/// let list = cookie::parse_all([&b"a=1"[..], b"b=2; c"])?;
/// assert_eq!(list.len(), 2);
///
/// let huge = vec![b'x'; MAX_COOKIE_BYTES + 1];
/// assert_eq!(cookie::parse_all([&huge[..]]), Err(LimitError::TooManyBytes));
/// # Ok::<(), LimitError>(())
/// ```
pub fn parse_all<'a, I>(header_values: I) -> Result<CookieList<'a>, LimitError>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut bytes: usize = 0;
    let mut cookies = Vec::new();
    for header_value in header_values {
        // Check the size before parsing, so an oversized header costs nothing.
        bytes = bytes.saturating_add(header_value.len());
        if bytes > MAX_COOKIE_BYTES {
            return Err(LimitError::TooManyBytes);
        }
        for cookie in parse(header_value) {
            if cookies.len() == MAX_COOKIES {
                return Err(LimitError::TooManyCookies);
            }
            cookies.push(cookie);
        }
    }
    Ok(CookieList { cookies })
}

/// Why [`parse_all`] refused a request's cookies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitError {
    /// More than [`MAX_COOKIES`] valid cookies.
    TooManyCookies,
    /// More than [`MAX_COOKIE_BYTES`] bytes of `Cookie` header values.
    TooManyBytes,
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::TooManyCookies => {
                write!(f, "more than {MAX_COOKIES} cookies in one request")
            }
            LimitError::TooManyBytes => {
                write!(
                    f,
                    "Cookie header fields longer than {MAX_COOKIE_BYTES} bytes"
                )
            }
        }
    }
}

impl std::error::Error for LimitError {}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The pairs of one header value, as owned-free tuples for comparison (the `Set-Cookie`
    /// tests read their output back with it too).
    pub(crate) fn pairs(header_value: &[u8]) -> Vec<(&str, &str)> {
        parse(header_value)
            .map(|cookie| (cookie.name(), cookie.value()))
            .collect()
    }

    // ---- parsing `Cookie` ----

    #[test]
    fn pairs_parse_in_order() {
        assert_eq!(
            pairs(b"SID=31d4d96e407aad42; lang=en-US"),
            [("SID", "31d4d96e407aad42"), ("lang", "en-US")]
        );
    }

    #[test]
    fn whitespace_around_separators_is_ignored() {
        assert_eq!(
            pairs(b" a = 1 ;b=2;\tc\t=\t3\t; d=4 "),
            [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]
        );
    }

    #[test]
    fn empty_pieces_are_ignored() {
        assert_eq!(pairs(b";;a=1;; ;b=2;"), [("a", "1"), ("b", "2")]);
        assert_eq!(pairs(b""), []);
        assert_eq!(pairs(b"  "), []);
    }

    #[test]
    fn quoted_value_is_unquoted() {
        assert_eq!(pairs(b"a=\"xyz\"; b=\"\""), [("a", "xyz"), ("b", "")]);
    }

    #[test]
    fn unbalanced_or_inner_quotes_are_skipped() {
        assert_eq!(
            pairs(b"a=\"; b=\"x; c=x\"; d=x\"y; e=\"\"\"; ok=1"),
            [("ok", "1")]
        );
    }

    #[test]
    fn empty_value_is_kept() {
        assert_eq!(pairs(b"a=; b=1"), [("a", ""), ("b", "1")]);
    }

    #[test]
    fn later_equals_signs_belong_to_the_value() {
        assert_eq!(pairs(b"token=YWJj=="), [("token", "YWJj==")]);
    }

    #[test]
    fn piece_without_equals_is_skipped_keeping_others() {
        assert_eq!(pairs(b"a=1; flag; b=2"), [("a", "1"), ("b", "2")]);
    }

    #[test]
    fn empty_name_is_skipped() {
        assert_eq!(pairs(b"=1; =; a=2"), [("a", "2")]);
    }

    #[test]
    fn name_that_is_not_a_token_is_skipped() {
        let header = "a b=1; (x)=2; a/b=3; caf\u{e9}=4; ok=5";
        assert_eq!(pairs(header.as_bytes()), [("ok", "5")]);
    }

    #[test]
    fn value_with_a_byte_outside_cookie_octet_is_skipped() {
        for bad in ["x y", "x,y", "x\\y", "x\u{7f}", "x\u{1}", "caf\u{e9}"] {
            let header = format!("ok=1; bad={bad}; ok2=2");
            assert_eq!(
                pairs(header.as_bytes()),
                [("ok", "1"), ("ok2", "2")],
                "{bad:?}"
            );
        }
        assert_eq!(pairs(b"bad=x\xff; ok=3"), [("ok", "3")]);
    }

    #[test]
    fn several_headers_are_combined_in_order() {
        let list = parse_all([&b"a=1; b=2"[..], b"c=3", b"", b"d=4"]);
        let names: Vec<_> = list
            .iter()
            .flat_map(|l| l.iter())
            .map(|c| c.name())
            .collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
    }

    #[test]
    fn get_returns_the_first_occurrence() {
        let list = parse_all([&b"sid=specific; other=1"[..], b"sid=general"]);
        assert_eq!(list.map(|l| l.get("sid")), Ok(Some("specific")));
    }

    #[test]
    fn get_matches_names_case_sensitively() {
        let list = parse_all([&b"Sid=1"[..]]);
        assert_eq!(list.as_ref().map(|l| l.get("sid")), Ok(None));
        assert_eq!(list.as_ref().map(|l| l.get("Sid")), Ok(Some("1")));
    }

    #[test]
    fn no_cookie_header_is_an_empty_list() {
        let list = parse_all(std::iter::empty());
        assert_eq!(list.as_ref().map(CookieList::is_empty), Ok(true));
        assert_eq!(list.map(|l| l.len()), Ok(0));
    }

    /// `count` cookies `c0=v; c1=v; ...` as one header value.
    fn many_cookies(count: usize) -> String {
        (0..count)
            .map(|i| format!("c{i}=v"))
            .collect::<Vec<_>>()
            .join(";")
    }

    #[test]
    fn cookie_count_at_limit_is_accepted() {
        let header = many_cookies(MAX_COOKIES);
        let list = parse_all([header.as_bytes()]);
        assert_eq!(list.map(|l| l.len()), Ok(MAX_COOKIES));
    }

    #[test]
    fn cookie_count_over_limit_is_refused() {
        let header = many_cookies(MAX_COOKIES + 1);
        assert_eq!(
            parse_all([header.as_bytes()]),
            Err(LimitError::TooManyCookies)
        );
    }

    #[test]
    fn skipped_pieces_do_not_count_towards_the_cookie_limit() {
        let header = format!("{}; junk; =; bad=x y", many_cookies(MAX_COOKIES));
        let list = parse_all([header.as_bytes()]);
        assert_eq!(list.map(|l| l.len()), Ok(MAX_COOKIES));
    }

    /// One `a=xxx...` header value of exactly `len` bytes.
    fn header_of_len(len: usize) -> Vec<u8> {
        let mut header = b"a=".to_vec();
        header.resize(len, b'x');
        header
    }

    #[test]
    fn header_bytes_at_limit_are_accepted() {
        let header = header_of_len(MAX_COOKIE_BYTES);
        let list = parse_all([&header[..]]);
        assert_eq!(
            list.map(|l| l.get("a").map(str::len)),
            Ok(Some(MAX_COOKIE_BYTES - 2))
        );
    }

    #[test]
    fn header_bytes_over_limit_are_refused() {
        let header = header_of_len(MAX_COOKIE_BYTES + 1);
        assert_eq!(parse_all([&header[..]]), Err(LimitError::TooManyBytes));
    }

    #[test]
    fn header_byte_limit_counts_all_headers_together() {
        let first = header_of_len(MAX_COOKIE_BYTES / 2);
        let second = header_of_len(MAX_COOKIE_BYTES / 2);
        let third = b"b=1";
        assert!(parse_all([&first[..], &second[..]]).is_ok());
        assert_eq!(
            parse_all([&first[..], &second[..], &third[..]]),
            Err(LimitError::TooManyBytes)
        );
    }

    #[test]
    fn limit_errors_display_the_limit() {
        assert_eq!(
            LimitError::TooManyCookies.to_string(),
            "more than 180 cookies in one request"
        );
    }

    // ---- properties ----

    const TOKEN: &str = "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}";
    const COOKIE_OCTETS: &str = "[\\x21\\x23-\\x2B\\x2D-\\x3A\\x3C-\\x5B\\x5D-\\x7E]{0,12}";
    /// Bytes that exercise every branch of the parser: separators, quotes,
    /// whitespace, and bytes outside cookie-octet.
    const INTERESTING: &[u8] = b"ab=; \"\t,\\\x7f\xff";

    proptest! {
        #[test]
        fn any_valid_pairs_joined_parse_back(
            cookies in prop::collection::vec((TOKEN, COOKIE_OCTETS), 0..20)
        ) {
            let header = cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ");
            let expected: Vec<_> =
                cookies.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            prop_assert_eq!(pairs(header.as_bytes()), expected);
        }

        #[test]
        fn splitting_at_a_semicolon_into_two_headers_changes_nothing(
            first in prop::collection::vec(prop::sample::select(INTERESTING.to_vec()), 0..24),
            second in prop::collection::vec(prop::sample::select(INTERESTING.to_vec()), 0..24),
        ) {
            let whole = [&first[..], b";", &second[..]].concat();
            prop_assert_eq!(parse_all([&whole[..]]), parse_all([&first[..], &second[..]]));
        }
    }
}
