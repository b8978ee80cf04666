//! Cross-site request forgery: refusing state changes another site asked for.
//!
//! A browser attaches cookies to every request to our origin, including a
//! form post that some other site's page submits. The session cookie alone
//! therefore cannot show that *our* page made the request. Two checks do:
//!
//! 1. **Origin.** Browsers send `Origin` on cross-site (and nowadays on all)
//!    POSTs. One that names another origin, or `Sec-Fetch-Site: cross-site`,
//!    is refused (403) on every state-changing request, logged in or not
//!    (which also stops "login CSRF", logging a victim into the attacker's
//!    account).
//! 2. **Token.** A state-changing request that carries a session cookie but
//!    no matching `Origin` (curl, older clients) must prove it can read the
//!    session's CSRF token: an `X-CSRF-Token` header, or a `csrf_token` form
//!    field, equal to the one stored with the session. Another site can make
//!    the browser send our cookie but cannot read the token from our pages.
//!
//! The browser pages' own forms get a stricter mix ([`check_form`]): not
//! foreign *and* the token, since every form we render carries it.
//!
//! `SameSite=Lax` on the cookie already keeps it off most cross-site posts;
//! these checks do not rely on that. (It could not stop them all anyway:
//! `http://127.0.0.1:9000` and `http://127.0.0.1:8080` are the same *site*,
//! since a site ignores the port, but different *origins*.)

use crate::http::{Method, RequestHead, Response, Status};
use crate::session::constant_time::constant_time_eq;

/// Whether the method changes state (RFC 9110 §9.2.1: not "safe").
pub fn changes_state(method: &Method) -> bool {
    !matches!(method, Method::Get | Method::Head | Method::Options)
}

/// How the request relates to our own origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// `Origin` names this server.
    Same,
    /// No `Origin` and no `Sec-Fetch-Site` verdict.
    Unknown,
    /// Another origin (or `null`), or the browser says cross-site.
    Foreign,
}

fn origin_of(head: &RequestHead) -> Origin {
    if head.headers.get_str("sec-fetch-site") == Some("cross-site") {
        return Origin::Foreign;
    }
    let Some(origin) = head.headers.get_str("origin") else {
        return Origin::Unknown;
    };
    let host = head.headers.get_str("host").unwrap_or_default();
    let same = ["http://", "https://"].iter().any(|scheme| {
        origin
            .get(..scheme.len())
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case(scheme))
            && origin[scheme.len()..].eq_ignore_ascii_case(host)
    });
    if same { Origin::Same } else { Origin::Foreign }
}

/// Why a state-changing request was refused (always 403: the client may be
/// logged in, but this request may not act for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsrfError {
    /// `Origin` names another site, or the browser said `cross-site`.
    CrossOrigin,
    /// A token was sent, but not this session's (a form from an earlier
    /// session, or a guess).
    WrongToken,
    /// Neither a same-origin `Origin` nor a token.
    NoToken,
}

impl CsrfError {
    /// What was refused, for the client.
    pub fn message(self) -> &'static str {
        match self {
            CsrfError::CrossOrigin => "cross-origin request refused",
            CsrfError::WrongToken => "CSRF token does not match this session",
            CsrfError::NoToken => {
                "send the session's CSRF token in X-CSRF-Token (see GET /api/me), or an Origin header"
            }
        }
    }

    /// The API's answer: 403 with a JSON error.
    pub fn into_response(self) -> Response {
        Response::error(Status::FORBIDDEN, self.message())
    }
}

/// Check 1: refuses a state-changing request from another origin.
///
/// # Errors
///
/// [`CsrfError::CrossOrigin`].
pub fn check_origin(head: &RequestHead) -> Result<(), CsrfError> {
    if changes_state(&head.method) && origin_of(head) == Origin::Foreign {
        return Err(CsrfError::CrossOrigin);
    }
    Ok(())
}

/// Check 2, for a request authenticated by the session cookie: same origin,
/// or the session's token submitted in `X-CSRF-Token` or `form_token`.
///
/// # Errors
///
/// Which of the two failed.
pub fn check_session(
    head: &RequestHead,
    session_token: &str,
    form_token: Option<&str>,
) -> Result<(), CsrfError> {
    if !changes_state(&head.method) {
        return Ok(());
    }
    match origin_of(head) {
        Origin::Same => Ok(()),
        Origin::Foreign => Err(CsrfError::CrossOrigin),
        Origin::Unknown => {
            let submitted = head.headers.get_str("x-csrf-token").or(form_token);
            match submitted {
                Some(token) => token_matches(token, session_token),
                None => Err(CsrfError::NoToken),
            }
        }
    }
}

/// The stricter check for the browser pages' own forms: not from another
/// origin, *and* the session's token in the `csrf_token` field.
///
/// Every form our pages render carries the token, so asking for both costs
/// a real user nothing, and it catches what the Origin check alone lets
/// through: a form rendered for an earlier session (logged out and back in
/// in another tab) is refused instead of acting for the new one.
///
/// # Errors
///
/// Which check failed.
pub fn check_form(
    head: &RequestHead,
    session_token: &str,
    form_token: Option<&str>,
) -> Result<(), CsrfError> {
    check_origin(head)?;
    match form_token {
        Some(token) => token_matches(token, session_token),
        None => Err(CsrfError::NoToken),
    }
}

/// Compares in constant time, so the answer's timing does not tell a
/// guesser how many leading characters were right.
fn token_matches(submitted: &str, session_token: &str) -> Result<(), CsrfError> {
    if constant_time_eq(submitted.as_bytes(), session_token.as_bytes()) {
        Ok(())
    } else {
        Err(CsrfError::WrongToken)
    }
}
