//! Accounts and sessions over HTTP: register, log in, who am I, log out.
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
//! Bodies are JSON or form-encoded (see [`fields`](super::fields)). Without
//! a live session the answer is 401 with `WWW-Authenticate`; with one but
//! without the right to act (a foreign origin, a missing CSRF token, a wrong
//! current password) it is 403. Every response here carries
//! `Cache-Control: no-store`: none of it may sit in a shared cache.

use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use bson::oid::ObjectId;

use serde::Serialize;
use serde_json::json;

use crate::app::App;
use crate::app::csrf::{self, CsrfError};
use crate::app::fields::{FieldError, Fields};
use crate::http::Request;
use crate::http::{Response, Status};
use crate::session::hash_pool::{HashError, Ticket};
use crate::session::id::SessionId;
use crate::session::manager::{self, ActiveSession, Lookup, SessionError};
use crate::session::password::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use crate::session::throttle::{self, LoginAttempt};
use crate::store::{Identity, NewUser, SessionRecord, SessionStore, StoreError, User, UserStore};

/// Usernames are 3 to 32 of these characters, stored lowercased, so
/// `Ada` and `ada` are one account and look-alike names stay rare.
fn is_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// The longest login identifier: an email address's limit (RFC 5321's path
/// limit less its brackets), far above the longest username.
const MAX_IDENTIFIER_BYTES: usize = 254;

/// The challenge sent with every 401: the scheme is the session cookie.
pub const CHALLENGE: &str = "Cookie realm=\"groundup\", form-action=\"/login\"";

/// A 401 for a request with no live session. A cookie that named no live
/// session is cleared in the same response.
pub fn unauthorized(app: &App, clear_cookie: bool) -> Response {
    let response = Response::error(Status::UNAUTHORIZED, "not logged in")
        .header("www-authenticate", CHALLENGE);
    if clear_cookie {
        response.header("set-cookie", app.policy.removal_cookie())
    } else {
        response
    }
}

/// The response for a failed store or session operation.
pub fn failure(error: &SessionError) -> Response {
    match error {
        SessionError::Store(store) => store_failure(store),
        SessionError::Cookies(limit) => {
            Response::error(Status::REQUEST_HEADER_FIELDS_TOO_LARGE, &limit.to_string())
        }
        SessionError::Random => {
            tracing::error!("random source failed");
            Response::error(Status::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// The response for a store error: 503 while the database is away (the next
/// request tries again), 409 for a taken unique value, 500 otherwise.
pub fn store_failure(error: &StoreError) -> Response {
    match error {
        StoreError::Unavailable(_) => Response::error(
            Status::SERVICE_UNAVAILABLE,
            "database unavailable; try again shortly",
        )
        .header("retry-after", "1"),
        StoreError::Duplicate { field } => taken(field).into_response(),
        other => {
            tracing::error!(error = %other, "store failure");
            Response::error(Status::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// A unique value (username, email) that another account already has: 409.
fn taken(field: &str) -> FieldError {
    FieldError {
        status: Status::CONFLICT,
        ..FieldError::field(field, "is already taken")
    }
}

/// Looks up the request's session, or answers for it.
///
/// # Errors
///
/// The response to send instead: 401 without a live session, 431/503/500
/// when the lookup itself fails.
pub async fn require_session(app: &App, request: &Request) -> Result<ActiveSession, Response> {
    match manager::resolve(&app.store, &app.policy, &request.head).await {
        Ok(Lookup::Active(session)) => Ok(*session),
        Ok(Lookup::NoCookie) => Err(unauthorized(app, false)),
        Ok(Lookup::Invalid) => Err(unauthorized(app, true)),
        Err(error) => Err(failure(&error)),
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
/// - `Authorization: Bearer <token>`: a signed token from `POST /api/token`,
///   checked with the key alone, no session lookup. A browser never attaches
///   it by itself, so it needs no CSRF check. An invalid token is a 401 even
///   if a cookie is present too: a client that sent a token meant it.
/// - the session cookie, with the CSRF rules (same `Origin`, or the
///   session's token in `X-CSRF-Token`).
///
/// # Errors
///
/// The response to send instead: 401 without valid credentials, 403 when the
/// CSRF rules refuse, 431/503 when the lookup fails.
pub async fn authenticate(app: &App, request: &Request) -> Result<Principal, Response> {
    if let Some(authorization) = request.head.headers.get("authorization") {
        return authenticate_bearer(app, authorization).await;
    }
    let session = require_session(app, request).await?;
    csrf::check_session(&request.head, &session.record.csrf_token, None)
        .map_err(CsrfError::into_response)?;
    Ok(Principal {
        user: session.record.user,
    })
}

/// The 401 for a bad `Authorization` header, in RFC 6750's words.
fn invalid_token(message: &str) -> Response {
    Response::error(Status::UNAUTHORIZED, message).header(
        "www-authenticate",
        "Bearer realm=\"groundup\", error=\"invalid_token\"",
    )
}

async fn authenticate_bearer(app: &App, authorization: &[u8]) -> Result<Principal, Response> {
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
    // The signature proves who the token was issued to; the account must
    // still exist (a deleted user's tokens die with it).
    match app.store.identity_by_id(user_id).await {
        Ok(Some(user)) => Ok(Principal { user }),
        Ok(None) => Err(invalid_token("the token's user no longer exists")),
        Err(error) => Err(store_failure(&error)),
    }
}

/// `POST /api/token`: the same credentials as login, answered with a signed
/// token instead of a session.
pub async fn token(app: &App, request: &Request) -> Response {
    let allowed = ["identifier", "username", "password"];
    let credentials = match pre_session_body(request, &allowed, Credentials::read) {
        Ok(credentials) => credentials,
        Err(response) => return response,
    };
    let user = match check_credentials(app, request, credentials).await {
        Ok(user) => user,
        Err(refusal) => return refusal.into_response(),
    };
    let lifetime = app.token_lifetime;
    match app.token_key.issue(
        &user.id.to_hex(),
        &user.username,
        SystemTime::now(),
        lifetime,
    ) {
        Ok(token) => Response::json(
            Status::OK,
            &json!({
                "token": token,
                "token_type": "Bearer",
                "expires_in": lifetime.as_secs(),
            }),
        )
        .header("cache-control", "no-store"),
        Err(_) => Response::error(Status::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

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

/// The body of `GET /api/me`. A struct of borrowed fields rather than a
/// `json!` value: this is the busiest authenticated answer, and building a
/// `Value` map first would cost an allocation for every key and string.
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

/// A stored time as RFC 3339 text, in UTC.
fn rfc3339(time: bson::DateTime) -> String {
    time.try_to_rfc3339_string().unwrap_or_default()
}

/// The whole seconds a client is told to wait: rounded up, at least one.
fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

impl From<throttle::Refused> for Refusal {
    fn from(refused: throttle::Refused) -> Refusal {
        match refused {
            throttle::Refused::Wait(wait) => Refusal::Throttled {
                retry_after: retry_after_seconds(wait),
            },
            throttle::Refused::Store(error) => Refusal::from_store(&error),
        }
    }
}

impl From<HashError> for Refusal {
    fn from(error: HashError) -> Refusal {
        match error {
            HashError::Busy { retry_after } => Refusal::Busy {
                retry_after: retry_after_seconds(retry_after),
            },
            HashError::Failed => {
                tracing::error!("password hashing failed");
                Refusal::Failed(Response::error(
                    Status::INTERNAL_SERVER_ERROR,
                    "internal error",
                ))
            }
        }
    }
}

fn check_password_shape(field: &str, password: &str) -> Result<(), FieldError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(FieldError::field(
            field,
            format!("must be at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(FieldError::field(
            field,
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Whether `name` has the shape of a username: 3 to 32 letters, digits,
/// `_`, `-` or `.`, in either case.
pub fn is_username(name: &str) -> bool {
    (3..=32).contains(&name.chars().count()) && name.chars().all(is_username_char)
}

fn normalize_username(username: &str) -> Result<String, FieldError> {
    if !is_username(username) {
        return Err(FieldError::field(
            "username",
            "must be 3 to 32 letters, digits, '_', '-' or '.'",
        ));
    }
    Ok(username.to_ascii_lowercase())
}

fn normalize_email(email: &str) -> Result<String, FieldError> {
    let valid = email.len() <= MAX_IDENTIFIER_BYTES
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.contains('@'));
    if valid {
        Ok(email.to_lowercase())
    } else {
        Err(FieldError::field("email", "is not an email address"))
    }
}

/// Why an account action was refused, before it becomes an answer: JSON
/// for the API ([`Refusal::into_response`]), a flash message for the
/// browser pages.
#[derive(Debug)]
pub enum Refusal {
    /// A field is missing, malformed or already taken (400, 409, 415).
    Field(FieldError),
    /// Unknown account or wrong password; deliberately not saying which.
    WrongCredentials,
    /// Too many login attempts for the account or from the address: retry
    /// after this many seconds (429).
    Throttled {
        /// Seconds to wait, at least 1.
        retry_after: u64,
    },
    /// Every password worker is busy and the queue is full: retry after this
    /// many seconds (503).
    Busy {
        /// Seconds to wait, at least 1.
        retry_after: u64,
    },
    /// The store or the machine failed; the answer (503, 500) is decided.
    Failed(Response),
}

impl Refusal {
    fn from_store(error: &StoreError) -> Refusal {
        match error {
            StoreError::Duplicate { field } => Refusal::Field(taken(field)),
            other => Refusal::Failed(store_failure(other)),
        }
    }

    /// The API's answer.
    pub fn into_response(self) -> Response {
        match self {
            Refusal::Field(error) => error.into_response(),
            Refusal::WrongCredentials => {
                Response::error(Status::UNAUTHORIZED, "wrong username or password")
                    .header("www-authenticate", CHALLENGE)
                    .header("cache-control", "no-store")
            }
            Refusal::Throttled { retry_after } => Response::error(
                Status::TOO_MANY_REQUESTS,
                "too many login attempts; wait and retry",
            )
            .header("retry-after", retry_after.to_string())
            .header("cache-control", "no-store"),
            Refusal::Busy { retry_after } => Response::error(
                Status::SERVICE_UNAVAILABLE,
                "too many password checks at once; wait and retry",
            )
            .header("retry-after", retry_after.to_string())
            .header("cache-control", "no-store"),
            Refusal::Failed(response) => response,
        }
    }
}

impl From<FieldError> for Refusal {
    fn from(error: FieldError) -> Refusal {
        Refusal::Field(error)
    }
}

/// A registration, read from its fields and checked.
#[derive(Debug)]
pub struct Registration {
    username: String,
    password: String,
    email: Option<String>,
}

impl Registration {
    /// Reads `username`, `password` and an optional `email` (empty counts as
    /// absent, as an untouched form field arrives).
    ///
    /// # Errors
    ///
    /// The first field that is missing or malformed.
    pub fn read(fields: &mut Fields) -> Result<Registration, FieldError> {
        let username = normalize_username(&fields.string("username")?)?;
        let password = fields.string("password")?;
        let email = fields
            .optional_string("email")?
            .filter(|email| !email.is_empty());
        check_password_shape("password", &password)?;
        let email = email.as_deref().map(normalize_email).transpose()?;
        Ok(Registration {
            username,
            password,
            email,
        })
    }
}

/// Creates the account: hashes the password and stores the user.
///
/// # Errors
///
/// [`Refusal::Field`] (409) for a taken username or email; `Failed` when the
/// store or the hashing fails.
pub async fn create_account(app: &App, registration: Registration) -> Result<User, Refusal> {
    let Registration {
        username,
        password,
        email,
    } = registration;
    let password_hash = app.hash_pool.hash(password).await?;
    let new_user = NewUser {
        username,
        email,
        password_hash,
    };
    app.store
        .create_user(new_user)
        .await
        .map_err(|error| Refusal::from_store(&error))
}

/// The start of the API's register and login: refuse another origin, then
/// read the body's `allowed` fields with `read`.
fn pre_session_body<T>(
    request: &Request,
    allowed: &[&str],
    read: impl FnOnce(&mut Fields) -> Result<T, FieldError>,
) -> Result<T, Response> {
    csrf::check_origin(&request.head).map_err(CsrfError::into_response)?;
    Fields::parse(&request.head, &request.body, allowed)
        .and_then(|mut fields| read(&mut fields))
        .map_err(FieldError::into_response)
}

/// `POST /api/register`.
pub async fn register(app: &App, request: &Request) -> Response {
    let allowed = ["username", "password", "email"];
    let registration = match pre_session_body(request, &allowed, Registration::read) {
        Ok(registration) => registration,
        Err(response) => return response,
    };
    match create_account(app, registration).await {
        Ok(user) => Response::json(Status::CREATED, &user_json(&user.identity()))
            .header("location", "/api/me")
            .header("cache-control", "no-store"),
        Err(refusal) => refusal.into_response(),
    }
}

/// What a login presents: an identifier (username or email) and a password.
#[derive(Debug)]
pub struct Credentials {
    identifier: String,
    password: String,
}

impl Credentials {
    /// The identifier's text, as the client typed it (lowercased), for a
    /// form to show again after a failed login. Never the password.
    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    /// Reads `identifier` (or, for API clients, `username`) and `password`.
    ///
    /// # Errors
    ///
    /// A missing field, both identifier spellings at once, or an over-long
    /// identifier or password.
    pub fn read(fields: &mut Fields) -> Result<Credentials, FieldError> {
        let (field, identifier) = match (
            fields.optional_string("identifier")?,
            fields.optional_string("username")?,
        ) {
            (Some(identifier), None) => ("identifier", identifier),
            (None, Some(username)) => ("username", username),
            (None, None) => return Err(FieldError::field("identifier", "is required")),
            (Some(_), Some(_)) => {
                return Err(FieldError::field(
                    "username",
                    "send identifier or username, not both",
                ));
            }
        };
        // No account has a longer name or email; refusing here keeps an
        // oversized one out of the store lookup and the throttle's keys.
        if identifier.len() > MAX_IDENTIFIER_BYTES {
            return Err(FieldError::field(
                field,
                format!("must be at most {MAX_IDENTIFIER_BYTES} bytes"),
            ));
        }
        let password = fields.string("password")?;
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(FieldError::field(
                "password",
                format!("must be at most {MAX_PASSWORD_BYTES} bytes"),
            ));
        }
        Ok(Credentials {
            identifier: identifier.to_lowercase(),
            password,
        })
    }
}

/// A login that worked: the user and their new session.
#[derive(Debug)]
pub struct LoggedIn {
    /// The new session's id, for the cookie.
    pub id: SessionId,
    /// The new session's record: who logged in, its CSRF token, its expiries.
    pub record: SessionRecord,
}

/// Everything a password check needs before it runs, cheapest refusal first: the attempt
/// counted in memory (429 at once), a place in the hashing queue (503 at once), then the
/// attempt counted in the store where the store is shared (see
/// [`throttle`](crate::session::throttle)).
///
/// # Errors
///
/// [`Refusal::Throttled`], [`Refusal::Busy`], or `Failed` when the store fails (503).
async fn begin_attempt<'a>(
    app: &'a App,
    account: &str,
    address: IpAddr,
) -> Result<(LoginAttempt<'a>, Ticket), Refusal> {
    let local = app
        .throttle
        .reserve(account, address, Instant::now())
        .map_err(|wait| {
            // The client's address, as a trusted proxy forwarded it: the line an operator
            // greps for when an address is locked out.
            tracing::info!(client = %address, "login refused: too many attempts");
            Refusal::Throttled {
                retry_after: retry_after_seconds(wait),
            }
        })?;
    let ticket = match app.hash_pool.admit() {
        Ok(ticket) => ticket,
        Err(busy) => {
            local.not_checked();
            return Err(busy.into());
        }
    };
    let attempt = local.count_in(&app.store).await.map_err(|refused| {
        if matches!(refused, throttle::Refused::Wait(_)) {
            tracing::info!(client = %address, "login refused: too many attempts on every server");
        }
        Refusal::from(refused)
    })?;
    Ok((attempt, ticket))
}

/// Checks credentials, for a login or a token: throttled per account and per
/// address, and in the same Argon2 work whether or not the account exists.
///
/// The attempt is reserved before the password is checked ([`begin_attempt`]),
/// so parallel guesses cannot outrun the limit.
///
/// # Errors
///
/// [`Refusal::Throttled`], [`Refusal::Busy`], [`Refusal::WrongCredentials`],
/// or `Failed`.
async fn check_credentials(
    app: &App,
    request: &Request,
    credentials: Credentials,
) -> Result<User, Refusal> {
    let Credentials {
        identifier,
        password,
    } = credentials;
    let (attempt, ticket) = begin_attempt(app, &identifier, request.client.address).await?;
    let user = match app.store.user_by_identifier(&identifier).await {
        Ok(user) => user,
        Err(error) => {
            attempt.not_checked().await;
            return Err(Refusal::from_store(&error));
        }
    };
    // Verify against the real hash, or a dummy one: either way the same
    // Argon2 work, so the answer's timing says nothing about whether the
    // account exists.
    let stored_hash = user.as_ref().map(|user| user.password_hash.clone());
    let verified = match ticket.verify(password, stored_hash).await {
        Ok(verified) => verified,
        Err(error) => {
            attempt.not_checked().await;
            return Err(error.into());
        }
    };
    match (verified, user) {
        (true, Some(user)) => {
            attempt.succeeded().await;
            Ok(user)
        }
        _ => {
            attempt.failed();
            Err(Refusal::WrongCredentials)
        }
    }
}

/// Checks the credentials, ends any session the request already had, and
/// starts a new one.
///
/// # Errors
///
/// As for checking the credentials (throttled, wrong credentials, a store
/// failure), or `Failed` when the session cannot start.
pub async fn log_in(
    app: &App,
    request: &Request,
    credentials: Credentials,
) -> Result<LoggedIn, Refusal> {
    let user = check_credentials(app, request, credentials).await?;
    // A session the browser already had (someone else's, or planted) ends
    // here: login always starts a fresh id.
    if let Ok(Lookup::Active(previous)) =
        manager::resolve(&app.store, &app.policy, &request.head).await
    {
        let _ = manager::end(&app.store, &previous).await;
    }
    match manager::start(&app.store, &app.policy, user.identity()).await {
        Ok((id, record)) => Ok(LoggedIn { id, record }),
        Err(error) => Err(Refusal::Failed(failure(&error))),
    }
}

/// `POST /api/login`.
pub async fn login(app: &App, request: &Request) -> Response {
    let allowed = ["identifier", "username", "password"];
    let credentials = match pre_session_body(request, &allowed, Credentials::read) {
        Ok(credentials) => credentials,
        Err(response) => return response,
    };
    match log_in(app, request, credentials).await {
        Ok(LoggedIn { id, record }) => Response::json(
            Status::OK,
            &json!({ "user": user_json(&record.user), "csrf_token": record.csrf_token }),
        )
        .header("set-cookie", app.policy.set_cookie(&id))
        .header("cache-control", "no-store"),
        Err(refusal) => refusal.into_response(),
    }
}

/// Reads an optional form/JSON body for an endpoint whose only field is the
/// CSRF token, then checks it.
fn session_csrf(request: &Request, session: &ActiveSession) -> Result<(), Response> {
    let form_token = if request.body.is_empty() {
        None
    } else {
        let mut fields = Fields::parse(&request.head, &request.body, &["csrf_token"])
            .map_err(FieldError::into_response)?;
        fields
            .optional_string("csrf_token")
            .map_err(FieldError::into_response)?
    };
    csrf::check_session(
        &request.head,
        &session.record.csrf_token,
        form_token.as_deref(),
    )
    .map_err(CsrfError::into_response)
}

/// How many live sessions the user has besides this one (other browsers,
/// other devices): what "log out everywhere" would end.
///
/// # Errors
///
/// The store failure's response.
pub async fn other_sessions(app: &App, session: &ActiveSession) -> Result<usize, Response> {
    match app.store.list_for_user(session.record.user.id).await {
        Ok(sessions) => Ok(sessions.len().saturating_sub(1)),
        Err(error) => Err(store_failure(&error)),
    }
}

/// `GET /api/me`.
pub async fn me(app: &App, request: &Request) -> Response {
    let session = match require_session(app, request).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let record = &session.record;
    Response::json(
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
    )
    .header("cache-control", "no-store")
}

/// The response that ends a browser's session: the cookie removed, and
/// `Clear-Site-Data` asking the browser to drop every cookie of this origin.
fn logged_out(app: &App, body: &serde_json::Value) -> Response {
    Response::json(Status::OK, body)
        .header("set-cookie", app.policy.removal_cookie())
        .header("clear-site-data", "\"cookies\"")
        .header("cache-control", "no-store")
}

/// `POST /api/logout`.
pub async fn logout(app: &App, request: &Request) -> Response {
    let session = match require_session(app, request).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if let Err(response) = session_csrf(request, &session) {
        return response;
    }
    match manager::end(&app.store, &session).await {
        Ok(()) => logged_out(app, &json!({ "logged_out": true })),
        Err(error) => store_failure(&error),
    }
}

/// `POST /api/logout-all`: every session of the user, this one included.
pub async fn logout_all(app: &App, request: &Request) -> Response {
    let session = match require_session(app, request).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    if let Err(response) = session_csrf(request, &session) {
        return response;
    }
    match app
        .store
        .delete_all_for_user(session.record.user.id, None)
        .await
    {
        Ok(ended) => logged_out(app, &json!({ "sessions_ended": ended })),
        Err(error) => store_failure(&error),
    }
}

/// `POST /api/password`: change the password, end every session, and start
/// a new one for this browser (a privilege change gets a new id).
pub async fn change_password(app: &App, request: &Request) -> Response {
    let session = match require_session(app, request).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let parsed = (|| {
        let mut fields = Fields::parse(
            &request.head,
            &request.body,
            &["current_password", "new_password", "csrf_token"],
        )?;
        let current = fields.string("current_password")?;
        let new = fields.string("new_password")?;
        let token = fields.optional_string("csrf_token")?;
        check_password_shape("new_password", &new)?;
        Ok::<_, FieldError>((current, new, token))
    })();
    let (current, new, token) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => return error.into_response(),
    };
    if let Err(refused) =
        csrf::check_session(&request.head, &session.record.csrf_token, token.as_deref())
    {
        return refused.into_response();
    }
    // A wrong current password is a guess like a wrong login, by someone
    // holding the session: it counts against the same account.
    let begun = begin_attempt(app, &session.record.user.username, request.client.address).await;
    let (attempt, ticket) = match begun {
        Ok(begun) => begun,
        Err(refusal) => return refusal.into_response(),
    };
    // The session carries no password hash (see `Identity`): this is the one endpoint
    // that reads it.
    let user_id = session.record.user.id;
    let stored = match app.store.user_by_id(user_id).await {
        Ok(Some(user)) => user.password_hash,
        Ok(None) => {
            attempt.not_checked().await;
            return unauthorized(app, true);
        }
        Err(error) => {
            attempt.not_checked().await;
            return store_failure(&error);
        }
    };
    let new_hash = match ticket.change(current, stored, new).await {
        Err(error) => {
            attempt.not_checked().await;
            return Refusal::from(error).into_response();
        }
        Ok(None) => {
            attempt.failed();
            return Response::error(Status::FORBIDDEN, "current password is wrong")
                .header("cache-control", "no-store");
        }
        Ok(Some(hash)) => {
            attempt.succeeded().await;
            hash
        }
    };
    let ended = match app.store.set_password_hash(user_id, &new_hash).await {
        Ok(_) => app.store.delete_all_for_user(user_id, None).await,
        Err(error) => return store_failure(&error),
    };
    let ended = match ended {
        Ok(ended) => ended,
        Err(error) => return store_failure(&error),
    };
    match manager::start(&app.store, &app.policy, session.record.user).await {
        Ok((id, record)) => Response::json(
            Status::OK,
            &json!({ "sessions_ended": ended, "csrf_token": record.csrf_token }),
        )
        .header("set-cookie", app.policy.set_cookie(&id))
        .header("cache-control", "no-store"),
        Err(error) => failure(&error),
    }
}
