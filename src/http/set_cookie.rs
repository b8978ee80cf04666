//! Building `Set-Cookie` values (RFC 6265bis); the grammar is in [`cookie`](super::cookie).
//!
//! # Refuse, never repair
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

use crate::http::cookie::{as_cookie_octets, as_token};

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
/// use groundup::http::set_cookie::{SameSite, SetCookie};
///
/// let header = SetCookie::new("__Host-sid", "9f86d081884c7d65")
///     .path("/")
///     .secure(true)
///     .http_only(true)
///     .same_site(SameSite::Lax)
///     .build()?;
/// assert_eq!(header, "__Host-sid=9f86d081884c7d65; Path=/; Secure; HttpOnly; SameSite=Lax");
/// # Ok::<(), groundup::http::set_cookie::CookieError>(())
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
    /// use groundup::http::set_cookie::{SameSite, SetCookie};
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
    /// # Ok::<(), groundup::http::set_cookie::CookieError>(())
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
    use crate::http::cookie::tests::pairs;
    use proptest::prelude::*;

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
    }

    const TOKEN: &str = "[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}";
    const COOKIE_OCTETS: &str = "[\\x21\\x23-\\x2B\\x2D-\\x3A\\x3C-\\x5B\\x5D-\\x7E]{0,12}";

    proptest! {
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
