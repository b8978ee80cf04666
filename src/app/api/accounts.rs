//! Accounts and sessions over the JSON API: register, log in, who am I, log out, change the
//! password, and bearer tokens beside the session.
//!
//! # Format
//!
//! ```text
//! POST /api/register  {"username","password","email"?}      201 {"id","username","email"}
//! POST /api/login     {"identifier" (or "username"),"password"}
//!                                                            200 {"user",...,"csrf_token"}
//!                                                            Set-Cookie: __Host-session=<id>; …
//! GET  /api/me                                               200 {"user","session","csrf_token"}
//! POST /api/logout                                           200, cookie cleared
//! POST /api/logout-all                                       200 {"sessions_ended": n}
//! POST /api/password  {"current_password","new_password"}    200, every session ended,
//!                                                            a new one started
//! POST /api/token     {"identifier","password"}              200 {"token","expires_in"}
//! ```
//!
//! Bodies are JSON or form-encoded (see [`fields`](crate::app::fields)). Without a live
//! session the answer is 401 with `WWW-Authenticate`; with one but without the right to act
//! (a foreign origin, a missing CSRF token, a wrong current password) it is 403. What a
//! registration and a login check is in [`credentials`](crate::app::credentials); every
//! answer here is marked `Cache-Control: no-store` by the router's table.

use std::time::SystemTime;

use serde::Serialize;
use serde_json::json;

use crate::app::App;
use crate::app::authenticate::{require_session, session_csrf, unauthorized};
use crate::app::credentials::{
    AccountRefusal, Credentials, LoggedIn, Registration, begin_attempt, begin_session,
    check_credentials, check_password_shape, create_account,
};
use crate::app::csrf;
use crate::app::fields::{FieldError, Fields};
use crate::app::reply::{Refused, Reply, internal_error};
use crate::app::stored_json::rfc3339;
use crate::http::{Request, Response, Status};
use crate::session::manager;
use crate::store::{Identity, SessionStore, UserStore};

fn user_json(user: &Identity) -> UserBody<'_> {
    UserBody {
        id: user.id.to_hex(),
        username: &user.username,
        email: user.email.as_deref(),
        created_at: rfc3339(user.created_at),
    }
}

/// A user as the API shows it: never the password hash.
#[derive(Serialize)]
struct UserBody<'a> {
    id: String,
    username: &'a str,
    email: Option<&'a str>,
    created_at: String,
}

/// The body of `GET /api/me`. A struct of borrowed fields rather than a `json!` value: this
/// is the busiest authenticated answer, and building a `Value` map first would cost an
/// allocation for every key and string.
#[derive(Serialize)]
struct MeBody<'a> {
    user: UserBody<'a>,
    session: SessionBody,
    csrf_token: &'a str,
}

/// The `session` part of [`MeBody`]. Everything here is on the session record itself, so
/// answering costs the one read that checked the cookie. (How many other sessions the user
/// has would cost a second query on every call; the `/me` page shows it, the API does not.)
#[derive(Serialize)]
struct SessionBody {
    created_at: String,
    last_seen: String,
    idle_expires_at: String,
    absolute_expires_at: String,
}

/// The start of register, login and token: refuse another origin, then read the body's
/// `allowed` fields with `read`.
fn pre_session_body<T>(
    request: &Request,
    allowed: &[&str],
    read: impl FnOnce(&mut Fields) -> Result<T, FieldError>,
) -> Result<T, Refused> {
    csrf::check_origin(&request.head)?;
    let mut fields = Fields::parse(&request.head, &request.body, allowed)?;
    Ok(read(&mut fields)?)
}

/// `POST /api/register`.
pub async fn register(app: &App, request: &Request) -> Reply {
    let allowed = ["username", "password", "email"];
    let registration = pre_session_body(request, &allowed, Registration::read)?;
    let user = create_account(app, registration).await?;
    Ok(Response::json(Status::CREATED, &user_json(&user.identity())).header("location", "/api/me"))
}

/// `POST /api/login`.
pub async fn login(app: &App, request: &Request) -> Reply {
    let allowed = ["identifier", "username", "password"];
    let credentials = pre_session_body(request, &allowed, Credentials::read)?;
    let LoggedIn { id, record } = begin_session(app, request, credentials).await?;
    Ok(Response::json(
        Status::OK,
        &json!({ "user": user_json(&record.user), "csrf_token": record.csrf_token }),
    )
    .header("set-cookie", app.policy.set_cookie(&id)))
}

/// `POST /api/token`: the same credentials as login, answered with a signed token instead
/// of a session.
pub async fn token(app: &App, request: &Request) -> Reply {
    let allowed = ["identifier", "username", "password"];
    let credentials = pre_session_body(request, &allowed, Credentials::read)?;
    let user = check_credentials(app, request, credentials).await?;
    let lifetime = app.token_lifetime;
    let token = app
        .token_key
        .issue(
            &user.id.to_hex(),
            &user.username,
            SystemTime::now(),
            lifetime,
        )
        .map_err(|_| Refused::with(internal_error()))?;
    Ok(Response::json(
        Status::OK,
        &json!({
            "token": token,
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
        }),
    ))
}

/// `GET /api/me`.
pub async fn me(app: &App, request: &Request) -> Reply {
    let session = require_session(app, request).await?;
    let record = &session.record;
    Ok(Response::json(
        Status::OK,
        &MeBody {
            user: user_json(&record.user),
            session: SessionBody {
                created_at: rfc3339(record.created_at),
                last_seen: rfc3339(record.last_seen),
                idle_expires_at: rfc3339(record.idle_expires_at),
                absolute_expires_at: rfc3339(record.absolute_expires_at),
            },
            csrf_token: &record.csrf_token,
        },
    ))
}

/// The answer that ends a browser's session: the cookie removed, and `Clear-Site-Data`
/// asking the browser to drop every cookie of this origin.
fn logged_out(app: &App, body: &serde_json::Value) -> Response {
    Response::json(Status::OK, body)
        .header("set-cookie", app.policy.removal_cookie())
        .header("clear-site-data", "\"cookies\"")
}

/// `POST /api/logout`.
pub async fn logout(app: &App, request: &Request) -> Reply {
    let session = require_session(app, request).await?;
    session_csrf(request, &session)?;
    manager::end(&*app.store, &session).await?;
    Ok(logged_out(app, &json!({ "logged_out": true })))
}

/// `POST /api/logout-all`: every session of the user, this one included.
pub async fn logout_all(app: &App, request: &Request) -> Reply {
    let session = require_session(app, request).await?;
    session_csrf(request, &session)?;
    let ended = app
        .store
        .delete_all_for_user(session.record.user.id, None)
        .await?;
    Ok(logged_out(app, &json!({ "sessions_ended": ended })))
}

/// `POST /api/password`: change the password, end every session, and start a new one for
/// this browser (a privilege change gets a new id).
pub async fn change_password(app: &App, request: &Request) -> Reply {
    let session = require_session(app, request).await?;
    let mut fields = Fields::parse(
        &request.head,
        &request.body,
        &["current_password", "new_password", "csrf_token"],
    )?;
    let current = fields.string("current_password")?;
    let new = fields.string("new_password")?;
    let token = fields.optional_string("csrf_token")?;
    check_password_shape("new_password", &new)?;
    csrf::check_session(&request.head, &session.record.csrf_token, token.as_deref())?;
    // A wrong current password is a guess like a wrong login, by someone holding the
    // session: it counts against the same account.
    let (attempt, ticket) =
        begin_attempt(app, &session.record.user.username, request.client.address).await?;
    // The session carries no password hash (see `Identity`): this is the one endpoint that
    // reads it.
    let user_id = session.record.user.id;
    let stored = match app.store.user_by_id(user_id).await {
        Ok(Some(user)) => user.password_hash,
        Ok(None) => {
            attempt.not_checked().await;
            return Err(Refused::with(unauthorized(app, true)));
        }
        Err(error) => {
            attempt.not_checked().await;
            return Err(error.into());
        }
    };
    let new_hash = match ticket.change(current, stored, new).await {
        Err(error) => {
            attempt.not_checked().await;
            return Err(AccountRefusal::from(error).into());
        }
        Ok(None) => {
            attempt.failed();
            return Err(Refused::with(Response::error(
                Status::FORBIDDEN,
                "current password is wrong",
            )));
        }
        Ok(Some(hash)) => {
            attempt.succeeded().await;
            hash
        }
    };
    app.store.set_password_hash(user_id, &new_hash).await?;
    let ended = app.store.delete_all_for_user(user_id, None).await?;
    let (id, record) = manager::start(&*app.store, &app.policy, session.record.user).await?;
    Ok(Response::json(
        Status::OK,
        &json!({ "sessions_ended": ended, "csrf_token": record.csrf_token }),
    )
    .header("set-cookie", app.policy.set_cookie(&id)))
}
