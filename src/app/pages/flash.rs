//! Flash messages: a note from a form's handler to the page after its
//! redirect.
//!
//! After a form post the server answers `303 See Other` (Post/Redirect/Get,
//! see [`pages`](super)), so the page the user sees comes from a *second*
//! request. Whatever the first one wants to say ("wrong password", "logged
//! out") has to travel from one to the other. We carry it in a short-lived
//! cookie:
//!
//! ```text
//! POST /login                        ← the form
//! 303 See Other
//! Location: /login
//! Set-Cookie: __Host-flash=kind=error&message=Wrong+username+or+password.&keep.identifier=ada;
//!             Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax
//!
//! GET /login                         ← the browser follows the redirect
//! Cookie: __Host-flash=kind=error&message=…
//! 200 OK                             ← shows the message, and forgets it:
//! Set-Cookie: __Host-flash=; Path=/; Max-Age=0; …
//! ```
//!
//! Why a cookie and not a query parameter (`/login?error=…`): a link is
//! something anyone can write and send, so a message in the URL would let a
//! stranger put their own words on our login page ("your account is locked,
//! call …"). A cookie can only come from our own responses: the `__Host-`
//! prefix keeps even a sibling subdomain from setting it, and the value is
//! escaped on output like every other string. It is not signed, since the
//! only person who can forge it is the browser's owner, fooling themselves.
//!
//! The value is form-encoded (`a=b&c=d`, spaces as `+`, the rest as `%XX`),
//! which keeps it to the characters a cookie value may hold and readable in
//! the under-the-hood panel. Besides the message it carries the form's
//! non-secret values, so a failed form comes back filled in (never a
//! password), and a note of the redirect itself for the panel. Every part
//! is bounded, so the cookie stays well under the 4 KiB browsers keep.

use std::time::Duration;

use crate::http::RequestHead;
use crate::http::cookie;
use crate::http::set_cookie::{SameSite, SetCookie};
use crate::session::manager::SessionPolicy;

use super::hood::truncate;

/// How long an unread note lives: a redirect is followed at once, so a
/// minute is plenty, and a stale note must not greet a later visit.
const LIFETIME: Duration = Duration::from_secs(60);

/// Longest message, in bytes.
const MAX_MESSAGE: usize = 200;
/// Longest kept form value, in bytes. Anything longer was invalid anyway
/// (usernames are at most 32 characters), so the form shows its start.
const MAX_VALUE: usize = 100;
/// At most this many kept form values.
const MAX_VALUES: usize = 3;
/// At most this many Set-Cookie values noted from the redirect, each at
/// most [`MAX_SET_COOKIE`] bytes.
const MAX_SET_COOKIES: usize = 2;
const MAX_SET_COOKIE: usize = 160;

/// Whether the note reports a success or a problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Something worked ("logged in").
    Notice,
    /// Something was refused ("username is already taken").
    Error,
}

/// The redirect that set a note, as the under-the-hood panel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The form's request line, e.g. `POST /login HTTP/1.1`.
    pub request_line: String,
    /// The redirect's status line, e.g. `303 See Other`.
    pub status: String,
    /// The redirect's `Set-Cookie` values besides the note itself, session
    /// ids already masked.
    pub set_cookies: Vec<String>,
}

/// One note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    /// Success or problem.
    pub kind: Kind,
    /// What to tell the user.
    pub message: String,
    /// Form fields to fill in again, by name.
    values: Vec<(String, String)>,
    /// The redirect that carried it.
    pub exchange: Option<Exchange>,
}

impl Flash {
    /// A success note.
    pub fn notice(message: impl AsRef<str>) -> Flash {
        Flash::new(Kind::Notice, message.as_ref())
    }

    /// A problem note.
    pub fn error(message: impl AsRef<str>) -> Flash {
        Flash::new(Kind::Error, message.as_ref())
    }

    fn new(kind: Kind, message: &str) -> Flash {
        Flash {
            kind,
            message: truncate(message, MAX_MESSAGE),
            values: Vec::new(),
            exchange: None,
        }
    }

    /// Keeps a form value to show again. Never call this with a password.
    #[must_use]
    pub fn keep(mut self, name: &str, value: &str) -> Flash {
        if self.values.len() < MAX_VALUES && !value.is_empty() {
            self.values
                .push((name.to_owned(), truncate(value, MAX_VALUE)));
        }
        self
    }

    /// Notes the redirect that carries this flash.
    #[must_use]
    pub fn from_exchange(mut self, exchange: Exchange) -> Flash {
        self.exchange = Some(Exchange {
            request_line: truncate(&exchange.request_line, super::hood::MAX_REQUEST_LINE),
            status: truncate(&exchange.status, MAX_MESSAGE),
            set_cookies: exchange
                .set_cookies
                .iter()
                .take(MAX_SET_COOKIES)
                .map(|value| truncate(value, MAX_SET_COOKIE))
                .collect(),
        });
        self
    }

    /// A kept form value, or `""`: what a template puts in `value="…"`.
    pub fn value(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(field, _)| field == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// Whether this reports a problem (for the template's styling).
    pub fn is_error(&self) -> bool {
        self.kind == Kind::Error
    }

    /// The cookie value: form-encoded, see the module docs.
    fn encode(&self) -> String {
        let mut out = form_urlencoded::Serializer::new(String::new());
        out.append_pair(
            "kind",
            match self.kind {
                Kind::Notice => "notice",
                Kind::Error => "error",
            },
        );
        out.append_pair("message", &self.message);
        for (name, value) in &self.values {
            out.append_pair(&format!("keep.{name}"), value);
        }
        if let Some(exchange) = &self.exchange {
            out.append_pair("request", &exchange.request_line);
            out.append_pair("status", &exchange.status);
            for set_cookie in &exchange.set_cookies {
                out.append_pair("set", set_cookie);
            }
        }
        out.finish()
    }

    /// Reads a cookie value back; `None` for anything we would not have
    /// written (no kind, an unknown key), which is treated as no note.
    fn decode(value: &str) -> Option<Flash> {
        let mut kind = None;
        let mut flash = Flash::new(Kind::Notice, "");
        let mut exchange = Exchange {
            request_line: String::new(),
            status: String::new(),
            set_cookies: Vec::new(),
        };
        for (key, text) in form_urlencoded::parse(value.as_bytes()) {
            match key.as_ref() {
                "kind" => {
                    kind = match text.as_ref() {
                        "notice" => Some(Kind::Notice),
                        "error" => Some(Kind::Error),
                        _ => return None,
                    }
                }
                "message" => flash.message = truncate(&text, MAX_MESSAGE),
                "request" => exchange.request_line = text.into_owned(),
                "status" => exchange.status = text.into_owned(),
                "set" => exchange.set_cookies.push(text.into_owned()),
                other => match other.strip_prefix("keep.") {
                    Some(name) => flash = flash.keep(name, &text),
                    None => return None,
                },
            }
        }
        flash.kind = kind?;
        if !exchange.request_line.is_empty() {
            flash = flash.from_exchange(exchange);
        }
        Some(flash)
    }
}

/// The note's cookie name: `__Host-` like the session cookie, and for the
/// same reason; plain `flash` in `--dev`.
fn cookie_name(policy: &SessionPolicy) -> &'static str {
    if policy.dev { "flash" } else { "__Host-flash" }
}

fn cookie(policy: &SessionPolicy, value: String) -> SetCookie {
    SetCookie::new(cookie_name(policy), value)
        .path("/")
        .secure(!policy.dev)
        .http_only(true)
        .same_site(SameSite::Lax)
}

/// The `Set-Cookie` value carrying `flash`, or `None` if it could not be
/// built (it cannot: every part is bounded and form-encoded; the note is
/// dropped rather than the response failed).
pub fn set_cookie(policy: &SessionPolicy, flash: &Flash) -> Option<String> {
    match cookie(policy, flash.encode()).max_age(LIFETIME).build() {
        Ok(value) => Some(value),
        Err(error) => {
            tracing::warn!(%error, "flash note dropped");
            None
        }
    }
}

/// The `Set-Cookie` value that deletes a note once it has been shown.
pub fn removal_cookie(policy: &SessionPolicy) -> String {
    // A fixed name, an empty value and these attributes pass every rule
    // the builder checks.
    cookie(policy, String::new())
        .removal()
        .build()
        .unwrap_or_default()
}

/// What a request's note cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// No note cookie.
    None,
    /// A note cookie that did not decode; it is removed all the same.
    Unreadable,
    /// A note.
    Note(Flash),
}

/// Reads the note a request carries.
pub fn read(policy: &SessionPolicy, head: &RequestHead) -> Received {
    // Over-limit cookie headers are the session lookup's error to report;
    // here they simply mean no note.
    let Ok(cookies) = cookie::parse_all(head.headers.get_all("cookie")) else {
        return Received::None;
    };
    match cookies.get(cookie_name(policy)) {
        None => Received::None,
        Some(value) => Flash::decode(value).map_or(Received::Unreadable, Received::Note),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_flash(filler: &str) -> Flash {
        let long = filler.repeat(5_000);
        Flash::error(&long)
            .keep("username", &long)
            .keep("email", &long)
            .keep("identifier", &long)
            .keep("fourth", &long)
            .from_exchange(Exchange {
                request_line: long.clone(),
                status: long.clone(),
                set_cookies: vec![long.clone(), long.clone(), long],
            })
    }

    #[test]
    fn encode_then_decode_is_the_same_note() {
        let flash = Flash::error("username: is already taken; try <another>")
            .keep("username", "ada & co")
            .from_exchange(Exchange {
                request_line: "POST /register HTTP/1.1".into(),
                status: "303 See Other".into(),
                set_cookies: vec!["__Host-session=abcdef…; Path=/".into()],
            });
        assert_eq!(Flash::decode(&flash.encode()), Some(flash));
    }

    #[test]
    fn largest_note_still_fits_a_cookie() {
        // `%XX` triples a byte; multi-byte characters are the worst case.
        for filler in ["<", "é", "😀"] {
            let policy = SessionPolicy::default();
            let value = set_cookie(&policy, &full_flash(filler)).expect("the note fits");
            assert!(value.len() < 4096, "{} bytes", value.len());
        }
    }

    #[test]
    fn unknown_keys_and_missing_kind_are_no_note() {
        assert_eq!(Flash::decode("message=hi"), None);
        assert_eq!(Flash::decode("kind=notice&evil=1"), None);
        assert_eq!(Flash::decode("kind=shout&message=x"), None);
    }

    #[test]
    fn cookie_value_is_only_cookie_octets() {
        let value = full_flash("\" ;,\\").encode();
        assert!(
            value
                .bytes()
                .all(|byte| byte.is_ascii_graphic() && !b"\";,\\".contains(&byte)),
            "{value}"
        );
    }
}
