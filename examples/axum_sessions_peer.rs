//! The session peer for `benches/run`: what a user would write instead of groundup to serve a
//! cookie-authenticated "who am I", on axum with tower-sessions and its in-memory store.
//!
//! ```text
//! POST /api/register  {"username","password","email"?}   201 {"id","username","email","created_at"}
//! POST /api/login     {"identifier","password"}          200 {"user",…,"csrf_token"} + Set-Cookie
//! GET  /api/me                                           200 {"user","session","csrf_token"}
//! GET  /health                                           200 ok
//! ```
//!
//! It is set up the way the tower-sessions documentation suggests, close to groundup's policy:
//! the cookie is `__Host-session`, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`, and the
//! session expires after 30 minutes of inactivity (`Expiry::OnInactivity`). Left at its default
//! (no `always_save`), tower-sessions saves the session only when a handler changes it, so on
//! `GET /api/me` it loads the record (a clone out of a mutex-guarded map) and writes nothing,
//! where groundup also slides the idle expiry once a minute: the comparison leans the peer's way.
//!
//! Users live in a map in memory, their passwords hashed with Argon2id at groundup's parameters
//! (OWASP's 19 MiB, 2 passes), so a login costs what groundup's does. Hashing follows the usual
//! recipe: the argon2 crate's `hash_password`/`verify_password` (each allocates its 19 MiB) on
//! tokio's blocking pool, with nothing bounding how many run at once; an unknown account is
//! checked against a dummy hash, as groundup does, so both pay the same per login. `GET /api/me` answers in groundup's shape (see `me` in
//! `src/app/api/accounts.rs`) with what tower-sessions knows: it has no absolute expiry and does not
//! record when a session was last seen, so `absolute_expires_at` and `last_seen` are absent.
//!
//! Like the other peers it runs on multi-thread tokio, which the harness pins to one core.
//!
//! Usage: `axum_sessions_peer [ADDR]` (default `127.0.0.1:8083`).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, MemoryStore, Session, SessionManagerLayer};

/// The session's one entry: who logged in, when, and the token forms must echo.
const AUTH_KEY: &str = "auth";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Auth {
    user_id: String,
    csrf_token: String,
    created_at: OffsetDateTime,
}

#[derive(Debug, Clone)]
struct User {
    id: String,
    username: String,
    email: Option<String>,
    password_hash: String,
    created_at: OffsetDateTime,
}

/// The accounts, by id and by username. Reads (every `/api/me`) share the lock; only a
/// registration takes it alone.
#[derive(Debug, Default)]
struct Users {
    by_id: HashMap<String, User>,
    by_username: HashMap<String, String>,
}

type Db = Arc<RwLock<Users>>;

#[derive(Deserialize)]
struct Registration {
    username: String,
    password: String,
    email: Option<String>,
}

#[derive(Deserialize)]
struct Credentials {
    identifier: String,
    password: String,
}

fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_default()
}

fn user_json(user: &User) -> serde_json::Value {
    json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "created_at": rfc3339(user.created_at),
    })
}

/// `N` random bytes in hex: 12 for an account id (the size of groundup's ObjectIds), 32 for a
/// CSRF token.
fn random_hex<const N: usize>() -> Result<String, StatusCode> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(hex::encode(bytes))
}

/// Argon2id with groundup's parameters.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant Argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_password(password: &str) -> Option<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).ok()?;
    let salt = SaltString::encode_b64(&salt).ok()?;
    let hash = argon2().hash_password(password.as_bytes(), &salt).ok()?;
    Some(hash.to_string())
}

fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| {
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// What an unknown account's password is checked against.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password("a password nobody has").unwrap_or_default());

/// Runs Argon2 on the blocking pool, away from the threads that serve connections.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StatusCode> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

async fn register(
    State(db): State<Db>,
    Json(form): Json<Registration>,
) -> Result<Response, StatusCode> {
    let username = form.username.to_ascii_lowercase();
    let password = form.password;
    let password_hash = blocking(move || hash_password(&password))
        .await?
        .ok_or(StatusCode::INTERNAL_SERVER_ERROR)?;
    let user = User {
        id: random_hex::<12>()?,
        username: username.clone(),
        email: form.email,
        password_hash,
        created_at: OffsetDateTime::now_utc(),
    };
    let mut users = db.write().map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    if users.by_username.contains_key(&username) {
        return Err(StatusCode::CONFLICT);
    }
    let body = user_json(&user);
    users.by_username.insert(username, user.id.clone());
    users.by_id.insert(user.id.clone(), user);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn login(
    State(db): State<Db>,
    session: Session,
    Json(credentials): Json<Credentials>,
) -> Result<Response, StatusCode> {
    let identifier = credentials.identifier.to_ascii_lowercase();
    let user = {
        let users = db.read().map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        users
            .by_username
            .get(&identifier)
            .and_then(|id| users.by_id.get(id))
            .cloned()
    };
    let hash = user.as_ref().map(|user| user.password_hash.clone());
    let password = credentials.password;
    let verified = blocking(move || match hash {
        Some(hash) => verify_password(&password, &hash),
        None => {
            std::hint::black_box(verify_password(&password, &DUMMY_HASH));
            false
        }
    })
    .await?;
    let Some(user) = user.filter(|_| verified) else {
        return Err(StatusCode::UNAUTHORIZED);
    };
    // A new id at login, as tower-sessions recommends against fixation.
    session
        .cycle_id()
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let auth = Auth {
        user_id: user.id.clone(),
        csrf_token: random_hex::<32>()?,
        created_at: OffsetDateTime::now_utc(),
    };
    session
        .insert(AUTH_KEY, &auth)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(json!({ "user": user_json(&user), "csrf_token": auth.csrf_token })).into_response())
}

async fn me(State(db): State<Db>, session: Session) -> Result<Response, StatusCode> {
    let auth: Auth = session
        .get(AUTH_KEY)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let users = db.read().map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let user = users
        .by_id
        .get(&auth.user_id)
        .ok_or(StatusCode::UNAUTHORIZED)?;
    let body = json!({
        "user": user_json(user),
        "session": {
            "created_at": rfc3339(auth.created_at),
            "idle_expires_at": rfc3339(session.expiry_date()),
        },
        "csrf_token": auth.csrf_token,
    });
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

async fn health() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain")], "ok\n")
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8083".to_owned());
    let sessions = SessionManagerLayer::new(MemoryStore::default())
        .with_name("__Host-session")
        .with_secure(true)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_expiry(Expiry::OnInactivity(time::Duration::minutes(30)));
    let app = Router::new()
        .route("/health", get(health))
        .route("/api/register", post(register))
        .route("/api/login", post(login))
        .route("/api/me", get(me))
        .layer(sessions)
        .with_state(Db::default());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("axum_sessions_peer listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}
