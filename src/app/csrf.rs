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
//! `SameSite=Lax` on the cookie already keeps it off most cross-site posts;
//! these checks do not rely on that.

use crate::http::{Method, RequestHead, Response, Status};
use crate::session::id::constant_time_eq;

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

fn forbidden(message: &str) -> Response {
    Response::error(Status::FORBIDDEN, message)
}

/// Check 1: refuses a state-changing request from another origin.
///
/// # Errors
///
/// The 403 response.
pub fn check_origin(head: &RequestHead) -> Result<(), Response> {
    if changes_state(&head.method) && origin_of(head) == Origin::Foreign {
        return Err(forbidden("cross-origin request refused"));
    }
    Ok(())
}

/// Check 2, for a request authenticated by the session cookie: same origin,
/// or the session's token submitted in `X-CSRF-Token` or `form_token`.
///
/// # Errors
///
/// The 403 response.
pub fn check_session(
    head: &RequestHead,
    session_token: &str,
    form_token: Option<&str>,
) -> Result<(), Response> {
    if !changes_state(&head.method) {
        return Ok(());
    }
    match origin_of(head) {
        Origin::Same => Ok(()),
        Origin::Foreign => Err(forbidden("cross-origin request refused")),
        Origin::Unknown => {
            let submitted = head.headers.get_str("x-csrf-token").or(form_token);
            match submitted {
                Some(token) if constant_time_eq(token.as_bytes(), session_token.as_bytes()) => {
                    Ok(())
                }
                Some(_) => Err(forbidden("CSRF token does not match this session")),
                None => Err(forbidden(
                    "send the session's CSRF token in X-CSRF-Token (see GET /api/me), or an Origin header",
                )),
            }
        }
    }
}
