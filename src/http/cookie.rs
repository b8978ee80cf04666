//! Cookie parsing and Set-Cookie building (RFC 6265bis).
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
//! # Writing `Set-Cookie`: refuse, never repair
//!
//! [`SetCookie`] is a builder whose [`build`](SetCookie::build) checks
//! everything a browser would otherwise silently drop or misread, and returns
//! a [`CookieError`] instead of escaping or trimming: a name that is not a
//! token, a value outside cookie-octet, an attribute value with `;` or a
//! control byte, `SameSite=None` without `Secure`, and the `__Secure-` and
//! `__Host-` prefix rules. A cookie that a browser would ignore is a bug in
//! the caller, and the error says which rule it broke.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::http::token::is_tchar;

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

/// The longest name plus value a browser stores (RFC 6265bis §5.6):
/// longer cookies are ignored, so [`SetCookie::build`] refuses them.
pub const MAX_NAME_VALUE_BYTES: usize = 4096;

/// The longest attribute value a browser accepts (RFC 6265bis §5.6):
/// a longer `Path` or `Domain` is ignored, so [`SetCookie::build`] refuses it.
pub const MAX_ATTRIBUTE_VALUE_BYTES: usize = 1024;

/// The longest `Max-Age` a browser honours: RFC 6265bis §5.6.2 caps every
/// cookie's lifetime at 400 days, so [`SetCookie::build`] refuses more
/// rather than promise a lifetime the browser will cut short.
pub const MAX_AGE_LIMIT: Duration = Duration::from_secs(400 * 24 * 60 * 60);

/// Seconds from the Unix epoch to 10000-01-01: IMF-fixdate has four year
/// digits, and `httpdate` panics on anything later (or before the epoch).
const YEAR_10000: u64 = 253_402_300_800;

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
fn as_token(bytes: &[u8]) -> Option<&str> {
    if bytes.is_empty() || !bytes.iter().all(|&byte| is_tchar(byte)) {
        return None;
    }
    // Every tchar is ASCII, so this conversion cannot fail; `ok()` keeps the
    // function total without an `unwrap`.
    std::str::from_utf8(bytes).ok()
}

/// `bytes` as a `str` if every byte is a cookie-octet (empty is fine).
fn as_cookie_octets(bytes: &[u8]) -> Option<&str> {
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

/// The `SameSite` attribute: when a browser sends the cookie on requests
/// started by another site (RFC 6265bis §4.1.2.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    /// Only on requests started by our own site: the strongest CSRF defence,
    /// but following a link from elsewhere arrives logged out.
    Strict,
    /// Also on top-level navigations from other sites (following a link),
    /// but not on their forms' POSTs, images or fetches.
    Lax,
    /// On every request, cross-site included; browsers demand `Secure`.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// A `Set-Cookie` header value, built and checked.
///
/// Start with [`SetCookie::new`], add attributes, and call
/// [`build`](SetCookie::build). Nothing is checked until `build`, which
/// reports the first rule broken. The builder owns its strings so that a
/// configured template can live as long as the server.
///
/// # Example
///
/// The session cookie from DESIGN.md:
///
/// ```
/// use groundup::http::cookie::{SameSite, SetCookie};
///
/// let header = SetCookie::new("__Host-sid", "9f86d081884c7d65")
///     .path("/")
///     .secure(true)
///     .http_only(true)
///     .same_site(SameSite::Lax)
///     .build()?;
/// assert_eq!(header, "__Host-sid=9f86d081884c7d65; Path=/; Secure; HttpOnly; SameSite=Lax");
/// # Ok::<(), groundup::http::cookie::CookieError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetCookie {
    name: String,
    value: String,
    path: Option<String>,
    domain: Option<String>,
    max_age: Option<Duration>,
    expires: Option<SystemTime>,
    secure: bool,
    http_only: bool,
    same_site: Option<SameSite>,
}

impl SetCookie {
    /// A cookie with no attributes: a session cookie (gone when the browser
    /// closes) sent back only to the host that set it, for the default path.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        SetCookie {
            name: name.into(),
            value: value.into(),
            path: None,
            domain: None,
            max_age: None,
            expires: None,
            secure: false,
            http_only: false,
            same_site: None,
        }
    }

    /// `Path`: send the cookie only for this path and below. Must start
    /// with `/`; without it the browser uses the directory of the request
    /// that set the cookie, which is rarely what was meant.
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// `Domain`: send the cookie to this domain *and all its subdomains*.
    /// Leaving it out is stricter: only the host that set the cookie gets it.
    #[must_use]
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// `Max-Age`: forget the cookie after this long, in whole seconds
    /// (fractions are dropped). Zero deletes it at once; browsers prefer
    /// `Max-Age` over `Expires` when both are present.
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// `Expires`: forget the cookie at this moment, sent as an IMF-fixdate.
    /// It depends on the client's clock; prefer [`max_age`](Self::max_age).
    #[must_use]
    pub fn expires(mut self, at: SystemTime) -> Self {
        self.expires = Some(at);
        self
    }

    /// `Secure`: send the cookie over HTTPS only (and let only HTTPS set it).
    #[must_use]
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    /// `HttpOnly`: hide the cookie from JavaScript (`document.cookie`), so an
    /// XSS bug cannot read a session id.
    #[must_use]
    pub fn http_only(mut self, http_only: bool) -> Self {
        self.http_only = http_only;
        self
    }

    /// `SameSite`: whether cross-site requests carry the cookie.
    #[must_use]
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.same_site = Some(same_site);
        self
    }

    /// The same cookie, emptied and already expired: what logout sends.
    ///
    /// A browser replaces a stored cookie only when name, `Domain` and `Path`
    /// all match, and the prefix rules still apply to the replacement, so
    /// every attribute is kept. `Max-Age=0` expires it; the 1970 `Expires`
    /// is for clients too old to know `Max-Age`.
    ///
    /// # Example
    ///
    /// ```
    /// use groundup::http::cookie::{SameSite, SetCookie};
    ///
    /// let session = SetCookie::new("__Host-sid", "9f86d081884c7d65")
    ///     .path("/")
    ///     .secure(true)
    ///     .http_only(true)
    ///     .same_site(SameSite::Lax);
    /// assert_eq!(
    ///     session.removal().build()?,
    ///     "__Host-sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; \
    ///      Secure; HttpOnly; SameSite=Lax",
    /// );
    /// # Ok::<(), groundup::http::cookie::CookieError>(())
    /// ```
    #[must_use]
    pub fn removal(&self) -> SetCookie {
        SetCookie {
            value: String::new(),
            max_age: Some(Duration::ZERO),
            expires: Some(UNIX_EPOCH),
            ..self.clone()
        }
    }

    /// Checks every rule and renders the header value, attributes in a fixed
    /// order: `Path`, `Domain`, `Max-Age`, `Expires`, `Secure`, `HttpOnly`,
    /// `SameSite`.
    ///
    /// # Errors
    ///
    /// The first rule broken, as a [`CookieError`]; see its variants.
    pub fn build(&self) -> Result<String, CookieError> {
        self.check()?;
        let mut out = format!("{}={}", self.name, self.value);
        if let Some(path) = &self.path {
            out.push_str("; Path=");
            out.push_str(path);
        }
        if let Some(domain) = &self.domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        if let Some(max_age) = self.max_age {
            out.push_str("; Max-Age=");
            out.push_str(&max_age.as_secs().to_string());
        }
        if let Some(expires) = self.expires {
            out.push_str("; Expires=");
            out.push_str(&httpdate::fmt_http_date(expires));
        }
        if self.secure {
            out.push_str("; Secure");
        }
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        if let Some(same_site) = self.same_site {
            out.push_str("; SameSite=");
            out.push_str(same_site.as_str());
        }
        Ok(out)
    }

    /// Every rule [`build`](Self::build) enforces, in the order of
    /// [`CookieError`]'s variants.
    fn check(&self) -> Result<(), CookieError> {
        if as_token(self.name.as_bytes()).is_none() {
            return Err(CookieError::InvalidName);
        }
        if as_cookie_octets(self.value.as_bytes()).is_none() {
            return Err(CookieError::InvalidValue);
        }
        if self.name.len() + self.value.len() > MAX_NAME_VALUE_BYTES {
            return Err(CookieError::TooLong);
        }
        if let Some(path) = &self.path {
            let valid = path.starts_with('/')
                && path.len() <= MAX_ATTRIBUTE_VALUE_BYTES
                && path.bytes().all(is_path_byte);
            if !valid {
                return Err(CookieError::InvalidPath);
            }
        }
        if let Some(domain) = &self.domain {
            let valid = !domain.is_empty()
                && domain.len() <= MAX_ATTRIBUTE_VALUE_BYTES
                && domain.bytes().all(is_domain_byte);
            if !valid {
                return Err(CookieError::InvalidDomain);
            }
        }
        if self.max_age.is_some_and(|max_age| max_age > MAX_AGE_LIMIT) {
            return Err(CookieError::MaxAgeTooLong);
        }
        if let Some(expires) = self.expires {
            let in_range = expires
                .duration_since(UNIX_EPOCH)
                .is_ok_and(|since| since.as_secs() < YEAR_10000);
            if !in_range {
                return Err(CookieError::ExpiresOutOfRange);
            }
        }
        if self.same_site == Some(SameSite::None) && !self.secure {
            return Err(CookieError::SameSiteNoneWithoutSecure);
        }
        if has_prefix(&self.name, "__Secure-") && !self.secure {
            return Err(CookieError::SecurePrefixWithoutSecure);
        }
        if has_prefix(&self.name, "__Host-") {
            if !self.secure {
                return Err(CookieError::HostPrefixWithoutSecure);
            }
            if self.path.as_deref() != Some("/") {
                return Err(CookieError::HostPrefixWithoutRootPath);
            }
            if self.domain.is_some() {
                return Err(CookieError::HostPrefixWithDomain);
            }
        }
        Ok(())
    }
}

/// A byte allowed in a `Path` value: any US-ASCII character except controls
/// and `;` (RFC 6265bis §4.1.1 `path-value`). A `;` would end the attribute
/// and start a new one, which is how header injection into cookies works.
fn is_path_byte(byte: u8) -> bool {
    matches!(byte, 0x20..=0x7E) && byte != b';'
}

/// A byte allowed in a `Domain` value: letters, digits, `-` and `.`, as in
/// DNS host names (RFC 1034 §3.5). Internationalised names must be sent in
/// their ASCII (`xn--`) form.
fn is_domain_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.'
}

/// Whether `name` starts with `prefix`, ignoring ASCII case. RFC 6265bis
/// user agents match the prefixes this way, so `__HOST-` gets the same rules.
fn has_prefix(name: &str, prefix: &str) -> bool {
    name.as_bytes()
        .get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Why [`SetCookie::build`] refused a cookie. Each is a bug in the caller:
/// a browser would drop or misread such a cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CookieError {
    /// The name is empty or not a token.
    InvalidName,
    /// The value has a byte outside cookie-octet (space, `"`, `,`, `;`, `\`,
    /// a control or non-ASCII). Encode such data first, e.g. as hex.
    InvalidValue,
    /// Name and value together exceed [`MAX_NAME_VALUE_BYTES`].
    TooLong,
    /// `Path` does not start with `/`, holds `;`, a control or non-ASCII,
    /// or exceeds [`MAX_ATTRIBUTE_VALUE_BYTES`].
    InvalidPath,
    /// `Domain` is empty, is not a plain ASCII host name, or exceeds
    /// [`MAX_ATTRIBUTE_VALUE_BYTES`].
    InvalidDomain,
    /// `Max-Age` exceeds [`MAX_AGE_LIMIT`] (400 days).
    MaxAgeTooLong,
    /// `Expires` is before 1970 or after 9999, which IMF-fixdate cannot say.
    ExpiresOutOfRange,
    /// `SameSite=None` without `Secure`: browsers reject the cookie.
    SameSiteNoneWithoutSecure,
    /// A `__Secure-` name without `Secure`.
    SecurePrefixWithoutSecure,
    /// A `__Host-` name without `Secure`.
    HostPrefixWithoutSecure,
    /// A `__Host-` name without exactly `Path=/`.
    HostPrefixWithoutRootPath,
    /// A `__Host-` name with a `Domain`: the prefix promises a host-only
    /// cookie.
    HostPrefixWithDomain,
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = match self {
            CookieError::InvalidName => "cookie name is not a token",
            CookieError::InvalidValue => "cookie value has a byte outside cookie-octet",
            CookieError::TooLong => "cookie name and value are longer than 4096 bytes",
            CookieError::InvalidPath => {
                "Path must start with '/' and be at most 1024 bytes of ASCII without ';' or controls"
            }
            CookieError::InvalidDomain => {
                "Domain must be a non-empty ASCII host name of at most 1024 bytes"
            }
            CookieError::MaxAgeTooLong => "Max-Age is longer than 400 days",
            CookieError::ExpiresOutOfRange => "Expires is not between 1970 and 9999",
            CookieError::SameSiteNoneWithoutSecure => "SameSite=None requires Secure",
            CookieError::SecurePrefixWithoutSecure => "a __Secure- cookie requires Secure",
            CookieError::HostPrefixWithoutSecure => "a __Host- cookie requires Secure",
            CookieError::HostPrefixWithoutRootPath => "a __Host- cookie requires Path=/",
            CookieError::HostPrefixWithDomain => "a __Host- cookie must not have a Domain",
        };
        f.write_str(message)
    }
}

impl std::error::Error for CookieError {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The pairs of one header value, as owned-free tuples for comparison.
    fn pairs(header_value: &[u8]) -> Vec<(&str, &str)> {
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

    // ---- building `Set-Cookie` ----

    /// The session cookie of DESIGN.md, valid as it stands.
    fn session_cookie() -> SetCookie {
        SetCookie::new("__Host-sid", "abc123")
            .path("/")
            .secure(true)
            .http_only(true)
            .same_site(SameSite::Lax)
    }

    #[test]
    fn bare_cookie_builds_name_equals_value() {
        assert_eq!(SetCookie::new("a", "1").build(), Ok("a=1".to_owned()));
        assert_eq!(SetCookie::new("a", "").build(), Ok("a=".to_owned()));
    }

    #[test]
    fn every_attribute_is_rendered_in_order() {
        // 784111777 is the instant of RFC 9110's IMF-fixdate example.
        let header = SetCookie::new("pref", "dark")
            .same_site(SameSite::Strict)
            .http_only(true)
            .secure(true)
            .expires(UNIX_EPOCH + Duration::from_secs(784_111_777))
            .max_age(Duration::from_millis(3_600_999))
            .domain("example.com")
            .path("/app")
            .build();
        assert_eq!(
            header.as_deref(),
            Ok("pref=dark; Path=/app; Domain=example.com; Max-Age=3600; \
                Expires=Sun, 06 Nov 1994 08:49:37 GMT; Secure; HttpOnly; SameSite=Strict")
        );
    }

    #[test]
    fn session_cookie_builds() {
        assert_eq!(
            session_cookie().build().as_deref(),
            Ok("__Host-sid=abc123; Path=/; Secure; HttpOnly; SameSite=Lax")
        );
    }

    #[test]
    fn name_that_is_not_a_token_is_rejected() {
        for name in ["", "a b", "a=b", "a;b", "(a)", "caf\u{e9}", "a\u{0}"] {
            let result = SetCookie::new(name, "1").build();
            assert_eq!(result, Err(CookieError::InvalidName), "{name:?}");
        }
    }

    #[test]
    fn value_outside_cookie_octets_is_rejected_not_escaped() {
        for value in ["a b", "a;b", "a,b", "\"a\"", "a\\b", "a\u{7f}", "caf\u{e9}"] {
            let result = SetCookie::new("a", value).build();
            assert_eq!(result, Err(CookieError::InvalidValue), "{value:?}");
        }
    }

    #[test]
    fn name_and_value_at_limit_are_accepted() {
        let value = "v".repeat(MAX_NAME_VALUE_BYTES - 1);
        assert!(SetCookie::new("n", value).build().is_ok());
    }

    #[test]
    fn name_and_value_over_limit_are_rejected() {
        let value = "v".repeat(MAX_NAME_VALUE_BYTES);
        assert_eq!(
            SetCookie::new("n", value).build(),
            Err(CookieError::TooLong)
        );
    }

    #[test]
    fn path_must_start_with_slash() {
        let result = SetCookie::new("a", "1").path("app").build();
        assert_eq!(result, Err(CookieError::InvalidPath));
        assert_eq!(
            SetCookie::new("a", "1").path("").build(),
            Err(CookieError::InvalidPath)
        );
    }

    #[test]
    fn path_with_semicolon_control_or_non_ascii_is_rejected() {
        for path in [
            "/a;Domain=evil.example",
            "/a\r\nX: y",
            "/\u{7f}",
            "/caf\u{e9}",
        ] {
            let result = SetCookie::new("a", "1").path(path).build();
            assert_eq!(result, Err(CookieError::InvalidPath), "{path:?}");
        }
    }

    #[test]
    fn path_at_length_limit_is_accepted() {
        let path = format!("/{}", "p".repeat(MAX_ATTRIBUTE_VALUE_BYTES - 1));
        assert!(SetCookie::new("a", "1").path(path).build().is_ok());
    }

    #[test]
    fn path_over_length_limit_is_rejected() {
        let path = format!("/{}", "p".repeat(MAX_ATTRIBUTE_VALUE_BYTES));
        let result = SetCookie::new("a", "1").path(path).build();
        assert_eq!(result, Err(CookieError::InvalidPath));
    }

    #[test]
    fn domain_that_is_not_a_host_name_is_rejected() {
        for domain in [
            "",
            "a.example;Secure",
            "a example",
            "a_b.example",
            "caf\u{e9}.fr",
        ] {
            let result = SetCookie::new("a", "1").domain(domain).build();
            assert_eq!(result, Err(CookieError::InvalidDomain), "{domain:?}");
        }
    }

    #[test]
    fn domain_at_length_limit_is_accepted() {
        let domain = "d".repeat(MAX_ATTRIBUTE_VALUE_BYTES);
        assert!(SetCookie::new("a", "1").domain(domain).build().is_ok());
    }

    #[test]
    fn domain_over_length_limit_is_rejected() {
        let domain = "d".repeat(MAX_ATTRIBUTE_VALUE_BYTES + 1);
        let result = SetCookie::new("a", "1").domain(domain).build();
        assert_eq!(result, Err(CookieError::InvalidDomain));
    }

    #[test]
    fn max_age_at_400_days_is_accepted() {
        let result = SetCookie::new("a", "1").max_age(MAX_AGE_LIMIT).build();
        assert_eq!(result, Ok("a=1; Max-Age=34560000".to_owned()));
    }

    #[test]
    fn max_age_over_400_days_is_rejected() {
        let too_long = MAX_AGE_LIMIT + Duration::from_nanos(1);
        let result = SetCookie::new("a", "1").max_age(too_long).build();
        assert_eq!(result, Err(CookieError::MaxAgeTooLong));
    }

    #[test]
    fn expires_is_limited_to_years_1970_to_9999() {
        let last = UNIX_EPOCH + Duration::from_secs(YEAR_10000 - 1);
        assert_eq!(
            SetCookie::new("a", "1").expires(last).build().as_deref(),
            Ok("a=1; Expires=Fri, 31 Dec 9999 23:59:59 GMT")
        );
        let after = UNIX_EPOCH + Duration::from_secs(YEAR_10000);
        let before = UNIX_EPOCH - Duration::from_secs(1);
        for at in [after, before] {
            let result = SetCookie::new("a", "1").expires(at).build();
            assert_eq!(result, Err(CookieError::ExpiresOutOfRange));
        }
    }

    #[test]
    fn same_site_none_without_secure_is_rejected() {
        let cookie = SetCookie::new("a", "1").same_site(SameSite::None);
        assert_eq!(cookie.build(), Err(CookieError::SameSiteNoneWithoutSecure));
        assert_eq!(
            cookie.secure(true).build().as_deref(),
            Ok("a=1; Secure; SameSite=None")
        );
    }

    #[test]
    fn secure_prefix_requires_secure() {
        let cookie = SetCookie::new("__Secure-id", "1").domain("example.com");
        assert_eq!(cookie.build(), Err(CookieError::SecurePrefixWithoutSecure));
        assert!(cookie.secure(true).build().is_ok());
    }

    #[test]
    fn host_prefix_requires_secure() {
        let cookie = session_cookie().secure(false);
        assert_eq!(cookie.build(), Err(CookieError::HostPrefixWithoutSecure));
    }

    #[test]
    fn host_prefix_requires_path_exactly_root() {
        let no_path = SetCookie::new("__Host-sid", "1").secure(true);
        assert_eq!(no_path.build(), Err(CookieError::HostPrefixWithoutRootPath));
        let sub_path = session_cookie().path("/app");
        assert_eq!(
            sub_path.build(),
            Err(CookieError::HostPrefixWithoutRootPath)
        );
    }

    #[test]
    fn host_prefix_forbids_domain() {
        let cookie = session_cookie().domain("example.com");
        assert_eq!(cookie.build(), Err(CookieError::HostPrefixWithDomain));
    }

    #[test]
    fn prefixes_are_recognised_in_any_case() {
        let host = SetCookie::new("__HOST-sid", "1").path("/");
        assert_eq!(host.build(), Err(CookieError::HostPrefixWithoutSecure));
        let secure = SetCookie::new("__secure-id", "1");
        assert_eq!(secure.build(), Err(CookieError::SecurePrefixWithoutSecure));
    }

    #[test]
    fn removal_empties_and_expires_but_keeps_attributes() {
        let cookie = SetCookie::new("pref", "dark")
            .path("/app")
            .domain("example.com")
            .max_age(Duration::from_secs(60))
            .secure(true)
            .http_only(true)
            .same_site(SameSite::Strict);
        assert_eq!(
            cookie.removal().build().as_deref(),
            Ok("pref=; Path=/app; Domain=example.com; Max-Age=0; \
                Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=Strict")
        );
    }

    #[test]
    fn removal_of_session_cookie_still_obeys_host_prefix() {
        assert!(session_cookie().removal().build().is_ok());
    }

    #[test]
    fn built_cookie_parses_back() {
        let header = session_cookie()
            .build()
            .expect("the session cookie is valid");
        assert_eq!(
            pairs(header.as_bytes()).first(),
            Some(&("__Host-sid", "abc123"))
        );
    }

    #[test]
    fn errors_display_the_rule_broken() {
        assert_eq!(
            CookieError::SameSiteNoneWithoutSecure.to_string(),
            "SameSite=None requires Secure"
        );
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

        #[test]
        fn any_valid_pair_built_as_set_cookie_parses_back(
            name in TOKEN,
            value in COOKIE_OCTETS,
        ) {
            // Prefixed names need attributes; give every cookie what they need.
            let built = SetCookie::new(name.clone(), value.clone())
                .path("/")
                .secure(true)
                .http_only(true)
                .build();
            let header = built.unwrap_or_default();
            prop_assert_eq!(
                pairs(header.as_bytes()).first().copied(),
                Some((name.as_str(), value.as_str()))
            );
        }
    }
}
