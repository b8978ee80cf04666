//! The "under the hood" panel: the HTTP exchange behind the page, shown on
//! the page.
//!
//! A browser hides the part of HTTP that makes sessions work. Every page of
//! the demo therefore ends with what the server saw and did:
//!
//! ```text
//! Request line   GET /me HTTP/1.1
//! Cookie         __Host-session=3f9a1c…
//! Set-Cookie     (none)
//! Before this    POST /login HTTP/1.1 → 303 See Other, which set
//!                __Host-session=3f9a1c…; Path=/; Max-Age=43200; Secure; HttpOnly; SameSite=Lax
//! ```
//!
//! The session id is the one secret here: anyone holding it *is* the user
//! until it expires. It is masked wherever it appears, keeping the first six
//! hex digits (enough to see that login changed it and logout removed it).
//! The last line exists because of Post/Redirect/Get: the response that set
//! the cookie was a redirect the browser followed without showing it, so
//! the redirect leaves a note of itself in the flash (see
//! [`flash`](super::flash)).

use crate::http::Request;

/// How many characters of a session id stay visible.
const VISIBLE: usize = 6;

/// Longer request lines are cut here: the panel is a lesson, not a log.
pub const MAX_REQUEST_LINE: usize = 200;

/// `value` masked: its first [`VISIBLE`] characters, then `…`. An empty
/// value (the one a removal cookie carries) stays empty.
fn mask(value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    let mut masked: String = value.chars().take(VISIBLE).collect();
    masked.push('…');
    masked
}

/// A `Cookie` header value with the value of cookie `name` masked, the rest
/// as received.
pub fn mask_cookie_header(header: &str, name: &str) -> String {
    header
        .split(';')
        .map(|pair| {
            let pair = pair.trim();
            match pair.split_once('=') {
                Some((key, value)) if key.trim() == name => format!("{key}={}", mask(value)),
                _ => pair.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A `Set-Cookie` value with its value masked when it sets cookie `name`.
pub fn mask_set_cookie(set_cookie: &str, name: &str) -> String {
    let (pair, attributes) = match set_cookie.split_once(';') {
        Some((pair, attributes)) => (pair, Some(attributes)),
        None => (set_cookie, None),
    };
    let masked = match pair.split_once('=') {
        Some((key, value)) if key == name => format!("{key}={}", mask(value)),
        _ => pair.to_owned(),
    };
    match attributes {
        Some(attributes) => format!("{masked};{attributes}"),
        None => masked,
    }
}

/// `text` cut to at most `limit` bytes at a character boundary, with `…`
/// when something was cut.
pub fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The request line as it arrived: method, target, version.
pub fn request_line(request: &Request) -> String {
    let head = &request.head;
    let line = format!(
        "{} {} {}",
        head.method.as_str(),
        head.target,
        head.version.as_str()
    );
    truncate(&line, MAX_REQUEST_LINE)
}

/// Every `Cookie` field of the request, joined as one header (RFC 6265bis
/// §5.7.4 joins them with `; `), the session id masked; `None` when the
/// browser sent no cookie.
pub fn cookie_header(request: &Request, session_cookie: &str) -> Option<String> {
    let values: Vec<String> = request
        .head
        .headers
        .get_all("cookie")
        .map(|value| String::from_utf8_lossy(value).into_owned())
        .collect();
    if values.is_empty() {
        None
    } else {
        Some(mask_cookie_header(&values.join("; "), session_cookie))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f9a1c0d5e6b7a8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e";

    #[test]
    fn session_id_keeps_six_characters() {
        let header = format!("theme=dark; __Host-session={ID}; lang=en");
        assert_eq!(
            mask_cookie_header(&header, "__Host-session"),
            "theme=dark; __Host-session=3f9a1c…; lang=en"
        );
    }

    #[test]
    fn other_cookies_and_lookalike_names_are_untouched() {
        assert_eq!(
            mask_cookie_header("session=abcdefghij; x=1", "__Host-session"),
            "session=abcdefghij; x=1"
        );
    }

    #[test]
    fn set_cookie_is_masked_with_its_attributes_kept() {
        let set = format!("__Host-session={ID}; Path=/; Secure; HttpOnly");
        assert_eq!(
            mask_set_cookie(&set, "__Host-session"),
            "__Host-session=3f9a1c…; Path=/; Secure; HttpOnly"
        );
    }

    #[test]
    fn removal_cookie_stays_empty() {
        let set = "__Host-session=; Path=/; Max-Age=0";
        assert_eq!(mask_set_cookie(set, "__Host-session"), set);
    }

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("aé", 2), "a…");
    }
}
