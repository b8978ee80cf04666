//! Accounts: what a registration and a login present, how they are checked, and why one
//! is refused.
//!
//! The API's endpoints ([`api::accounts`](super::api::accounts)) and the browser's forms
//! ([`pages::account`](super::pages::account)) both come here and differ only in how they
//! answer: JSON for one, a redirect with a flash note for the other. So the outcome is a
//! value, [`AccountRefusal`], not yet a response.
//!
//! A login runs, cheapest refusal first ([`begin_attempt`]): the attempt counted in memory
//! (429 at once, no Argon2), a place in the hashing queue (503 at once), the attempt counted
//! in the store where servers share it, then the account's lookup and one Argon2id check,
//! against the account's hash or a dummy one, so the time taken says nothing about whether
//! the account exists.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::app::authenticate::{CHALLENGE, session_of};
use crate::app::fields::{FieldError, Fields};
use crate::app::reply::{Refused, internal_error};
use crate::http::{Request, Response, Status};
use crate::session::hash_pool::{HashError, Ticket};
use crate::session::id::SessionId;
use crate::session::manager::{self, Lookup};
use crate::session::password::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use crate::session::throttle::{self, LoginAttempt};
use crate::store::{NewUser, SessionRecord, Store, StoreError, User, UserStore};

/// Usernames are 3 to 32 of these characters, stored lowercased, so
/// `Ada` and `ada` are one account and look-alike names stay rare.
fn is_username_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// The longest login identifier: an email address's limit (RFC 5321's path
/// limit less its brackets), far above the longest username.
const MAX_IDENTIFIER_BYTES: usize = 254;

/// The whole seconds a client is told to wait: rounded up, at least one.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    seconds.max(1)
}

impl From<throttle::Refused> for AccountRefusal {
    fn from(refused: throttle::Refused) -> AccountRefusal {
        match refused {
            throttle::Refused::Wait(wait) => AccountRefusal::Throttled {
                retry_after: retry_after_seconds(wait),
            },
            throttle::Refused::Store(error) => error.into(),
        }
    }
}

impl From<HashError> for AccountRefusal {
    fn from(error: HashError) -> AccountRefusal {
        match error {
            HashError::Busy { retry_after } => AccountRefusal::Busy {
                retry_after: retry_after_seconds(retry_after),
            },
            HashError::Failed => {
                tracing::error!("password hashing failed");
                AccountRefusal::Failed(Refused::with(internal_error()))
            }
        }
    }
}

/// A new password's shape: at most [`MAX_PASSWORD_BYTES`] (hashing cost grows with the
/// input), at least [`MIN_PASSWORD_CHARS`].
///
/// # Errors
///
/// The rule broken, about `field`.
pub fn check_password_shape(field: &str, password: &str) -> Result<(), FieldError> {
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
    // `GET /api/posts?author=` takes a username or a user id, and reads 24 hex digits
    // as an id: an account with such a name could not be found by it.
    if looks_like_an_id(username) {
        return Err(FieldError::field(
            "username",
            "must not be 24 hex digits, the shape of a user id",
        ));
    }
    Ok(username.to_ascii_lowercase())
}

/// Whether `text` is 24 hex digits, as an id is written in JSON.
pub fn looks_like_an_id(text: &str) -> bool {
    text.len() == 24 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
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

/// Why an account action (a registration, a login, a token) was refused, before it
/// becomes an answer: the API's JSON ([`From<AccountRefusal> for Refused`](Refused)), or a
/// flash note on the form the browser pages go back to.
#[derive(Debug)]
pub enum AccountRefusal {
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
    /// The store or the machine failed (503, 500).
    Failed(Refused),
}

impl From<StoreError> for AccountRefusal {
    fn from(error: StoreError) -> AccountRefusal {
        match error {
            StoreError::Duplicate { field } => AccountRefusal::Field(FieldError::taken(&field)),
            other => AccountRefusal::Failed(other.into()),
        }
    }
}

impl From<AccountRefusal> for Refused {
    /// The API's answer. Every one of them leaves the account's and the address's counts as
    /// the throttle decided; none says whether the account exists.
    fn from(refusal: AccountRefusal) -> Refused {
        match refusal {
            AccountRefusal::Field(error) => error.into(),
            AccountRefusal::WrongCredentials => Refused::with(
                Response::error(Status::UNAUTHORIZED, "wrong username or password")
                    .header("www-authenticate", CHALLENGE),
            ),
            AccountRefusal::Throttled { retry_after } => Refused::with(
                Response::error(
                    Status::TOO_MANY_REQUESTS,
                    "too many login attempts; wait and retry",
                )
                .header("retry-after", retry_after.to_string()),
            ),
            AccountRefusal::Busy { retry_after } => Refused::with(
                Response::error(
                    Status::SERVICE_UNAVAILABLE,
                    "too many password checks at once; wait and retry",
                )
                .header("retry-after", retry_after.to_string()),
            ),
            AccountRefusal::Failed(refused) => refused,
        }
    }
}

impl From<FieldError> for AccountRefusal {
    fn from(error: FieldError) -> AccountRefusal {
        AccountRefusal::Field(error)
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
/// [`AccountRefusal::Field`] (409) for a taken username or email; `Busy` when the hashing
/// queue is full; `Failed` when the store or the hashing fails.
pub async fn create_account(app: &App, registration: Registration) -> Result<User, AccountRefusal> {
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
    Ok(app.store.create_user(new_user).await?)
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
/// [`crate::session::throttle`]).
///
/// # Errors
///
/// [`AccountRefusal::Throttled`], [`AccountRefusal::Busy`], or `Failed` when the store
/// fails (503).
pub async fn begin_attempt<'a>(
    app: &'a App,
    account: &str,
    address: IpAddr,
) -> Result<(LoginAttempt<'a, Store>, Ticket), AccountRefusal> {
    let local = app
        .throttle
        .reserve(account, address, Instant::now())
        .map_err(|wait| {
            // The client's address, as a trusted proxy forwarded it: the line an operator
            // greps for when an address is locked out.
            tracing::info!(client = %address, "login refused: too many attempts");
            AccountRefusal::Throttled {
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
    let attempt = local.count_in(&*app.store).await.map_err(|refused| {
        if matches!(refused, throttle::Refused::Wait(_)) {
            tracing::info!(client = %address, "login refused: too many attempts on every server");
        }
        AccountRefusal::from(refused)
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
/// [`AccountRefusal::Throttled`], [`AccountRefusal::Busy`], [`AccountRefusal::WrongCredentials`],
/// or `Failed`.
pub async fn check_credentials(
    app: &App,
    request: &Request,
    credentials: Credentials,
) -> Result<User, AccountRefusal> {
    let Credentials {
        identifier,
        password,
    } = credentials;
    let (attempt, ticket) = begin_attempt(app, &identifier, request.client.address).await?;
    let user = match app.store.user_by_identifier(&identifier).await {
        Ok(user) => user,
        Err(error) => {
            attempt.not_checked().await;
            return Err(error.into());
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
            Err(AccountRefusal::WrongCredentials)
        }
    }
}

/// Checks the credentials, ends any session the request already had, and starts a new
/// one: what "log in" means, for the API and for the login form alike.
///
/// # Errors
///
/// As for checking the credentials (throttled, wrong credentials, a store failure), or
/// `Failed` when the session cannot start.
pub async fn begin_session(
    app: &App,
    request: &Request,
    credentials: Credentials,
) -> Result<LoggedIn, AccountRefusal> {
    let user = check_credentials(app, request, credentials).await?;
    // A session the browser already had (someone else's, or planted) ends here: login
    // always starts a fresh id.
    if let Ok(Lookup::Active(previous)) = session_of(app, &request.head).await {
        let _ = manager::end(&*app.store, &previous).await;
    }
    match manager::start(&*app.store, &app.policy, user.identity()).await {
        Ok((id, record)) => Ok(LoggedIn { id, record }),
        Err(error) => Err(AccountRefusal::Failed(error.into())),
    }
}
