//! Who a request is from: its session cookie, or a bearer token; and the answers for a
//! request that is from nobody (401) or may not act (403).
//!
//! Every handler that needs a user goes through here:
//!
//! - [`session_of`]: the session the `Cookie` field names, if any (the pages, which show
//!   something to anyone, start here);
//! - [`require_session`]: the same, or 401 with `WWW-Authenticate`;
//! - [`authenticate`]: for the API's writes, a bearer token or the session cookie with the
//!   CSRF rules, or 401/403.

use std::time::SystemTime;

use bson::oid::ObjectId;

use crate::app::App;
use crate::app::csrf;
use crate::app::fields::Fields;
use crate::app::reply::Refused;
use crate::http::cookie;
use crate::http::{Request, RequestHead, Response, Status};
use crate::session::manager::{self, ActiveSession, Lookup};
use crate::store::{Identity, UserStore};

/// The challenge sent with every 401: the scheme is the session cookie.
pub const CHALLENGE: &str = "Cookie realm=\"groundup\", form-action=\"/login\"";

/// A 401 for a request with no live session. A cookie that named no live session is
/// cleared in the same response.
pub fn unauthorized(app: &App, clear_cookie: bool) -> Response {
    let response = Response::error(Status::UNAUTHORIZED, "not logged in")
        .header("www-authenticate", CHALLENGE);
    if clear_cookie {
        response.header("set-cookie", app.policy.removal_cookie())
    } else {
        response
    }
}

/// The session the request's cookie names: the `Cookie` fields read (within their limits),
/// the session cookie's value looked up.
///
/// # Errors
///
/// 431 when the cookies are over the limits, 503/500 when the store fails.
pub async fn session_of(app: &App, head: &RequestHead) -> Result<Lookup, Refused> {
    let cookies = cookie::parse_all(head.headers.get_all("cookie"))?;
    let value = cookies.get(app.policy.cookie_name());
    Ok(manager::resolve(&*app.store, &app.policy, value).await?)
}

/// The request's live session.
///
/// # Errors
///
/// 401 without one (clearing a cookie that named none), as [`session_of`] otherwise.
pub async fn require_session(app: &App, request: &Request) -> Result<ActiveSession, Refused> {
    match session_of(app, &request.head).await? {
        Lookup::Active(session) => Ok(*session),
        Lookup::NoCookie => Err(Refused::with(unauthorized(app, false))),
        Lookup::Invalid => Err(Refused::with(unauthorized(app, true))),
    }
}

/// Who is making a write request, and how they proved it.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user.
    pub user: Identity,
}

/// Authenticates a state-changing API request, by either of two means:
///
/// - `Authorization: Bearer <token>`: a signed token from `POST /api/token`, checked with
///   the key alone, no session lookup. A browser never attaches it by itself, so it needs
///   no CSRF check. An invalid token is a 401 even if a cookie is present too: a client that
///   sent a token meant it.
/// - the session cookie, with the CSRF rules (same `Origin`, or the session's token in
///   `X-CSRF-Token`).
///
/// # Errors
///
/// 401 without valid credentials, 403 when the CSRF rules refuse, 431/503 when the lookup
/// fails.
pub async fn authenticate(app: &App, request: &Request) -> Result<Principal, Refused> {
    if let Some(authorization) = request.head.headers.get("authorization") {
        return authenticate_bearer(app, authorization).await;
    }
    let session = require_session(app, request).await?;
    csrf::check_session(&request.head, &session.record.csrf_token, None)?;
    Ok(Principal {
        user: session.record.user,
    })
}

/// The 401 for a bad `Authorization` header, in RFC 6750's words.
fn invalid_token(message: &str) -> Refused {
    Refused::with(Response::error(Status::UNAUTHORIZED, message).header(
        "www-authenticate",
        "Bearer realm=\"groundup\", error=\"invalid_token\"",
    ))
}

async fn authenticate_bearer(app: &App, authorization: &[u8]) -> Result<Principal, Refused> {
    let token = std::str::from_utf8(authorization)
        .ok()
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| invalid_token("Authorization must be: Bearer <token>"))?;
    let claims = app
        .token_key
        .verify(token, SystemTime::now())
        .map_err(|error| invalid_token(&format!("invalid token: {error}")))?;
    let user_id =
        ObjectId::parse_str(&claims.sub).map_err(|_| invalid_token("invalid token subject"))?;
    // The signature proves who the token was issued to; the account must still exist (a
    // deleted user's tokens die with it).
    match app.store.identity_by_id(user_id).await? {
        Some(user) => Ok(Principal { user }),
        None => Err(invalid_token("the token's user no longer exists")),
    }
}

/// For an endpoint whose only field is the CSRF token (logging out): reads an optional
/// form or JSON body and checks the token, or the `Origin`, against the session.
///
/// # Errors
///
/// 400 for a body with other fields, 403 when the CSRF rules refuse.
pub fn session_csrf(request: &Request, session: &ActiveSession) -> Result<(), Refused> {
    let form_token = if request.body.is_empty() {
        None
    } else {
        let mut fields = Fields::parse(&request.head, &request.body, &["csrf_token"])?;
        fields.optional_string("csrf_token")?
    };
    csrf::check_session(
        &request.head,
        &session.record.csrf_token,
        form_token.as_deref(),
    )?;
    Ok(())
}
