//! The session life cycle: start at login, find on every request, end at
//! logout.
//!
//! ```text
//! login ──► start(): new random id ──► store keeps sha256(id) + expiries
//!            └─► Set-Cookie: __Host-session=<id>; Path=/; Secure; HttpOnly; SameSite=Lax
//! request ─► resolve(): Cookie → id → sha256 → store.load → alive? (one read: the
//!            │          session carries a copy of its user's public fields)
//!            └─► touch() when the idle expiry should slide (at most once a minute)
//! logout ──► end(): store.delete + Set-Cookie with Max-Age=0
//! ```
//!
//! Every login starts a *new* id, whatever cookie the browser already had:
//! an attacker who planted a known id in a victim's browser before login
//! (session fixation) holds nothing after it.

use std::time::Duration;

use bson::DateTime;

use crate::http::set_cookie::{SameSite, SetCookie};
use crate::session::id::{SessionId, random_token};
use crate::store::{Identity, SessionRecord, SessionStore, StoreError};

/// How sessions behave: lifetimes and the cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused for this long ends (OWASP suggests 15–30 minutes for
    /// an application like this one).
    pub idle: Duration,
    /// A session ends this long after login, however busy.
    pub absolute: Duration,
    /// The idle expiry slides forward at most this often, so that a busy
    /// client does not turn every read into a database write.
    pub touch_every: Duration,
    /// Plain-http development mode: the cookie drops `Secure` and the `__Host-` prefix
    /// (which requires `Secure`), so browsers keep it over plain `http://` on hosts other
    /// than `localhost` (which browsers already treat as a secure origin).
    pub dev: bool,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 60 * 60),
            touch_every: Duration::from_secs(60),
            dev: false,
        }
    }
}

impl SessionPolicy {
    /// The session cookie's name. `__Host-` tells the browser to accept it
    /// only with `Secure`, `Path=/` and no `Domain`, so no subdomain and no
    /// plain-http page can set or overwrite it.
    pub fn cookie_name(&self) -> &'static str {
        if self.dev {
            "session"
        } else {
            "__Host-session"
        }
    }

    fn cookie(&self, value: String) -> SetCookie {
        SetCookie::new(self.cookie_name(), value)
            .path("/")
            .secure(!self.dev)
            .http_only(true)
            .same_site(SameSite::Lax)
    }

    /// The `Set-Cookie` value that hands `id` to the browser.
    pub fn set_cookie(&self, id: &SessionId) -> String {
        // The name, a hex value and these attributes satisfy every rule the
        // builder checks; building cannot fail.
        self.cookie(id.cookie_value())
            .max_age(self.absolute)
            .build()
            .unwrap_or_default()
    }

    /// The `Set-Cookie` value that makes the browser forget the cookie.
    pub fn removal_cookie(&self) -> String {
        self.cookie(String::new())
            .removal()
            .build()
            .unwrap_or_default()
    }
}

/// A request's session, found and still alive.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    /// The id from the cookie.
    pub id: SessionId,
    /// The stored record, its user ([`SessionRecord::user`]) included.
    pub record: SessionRecord,
}

/// What the request's cookie amounts to.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// No session cookie at all.
    NoCookie,
    /// A session cookie that names no live session: forged, truncated,
    /// expired or logged out. Treated exactly like no cookie, except that the
    /// response may clear it.
    Invalid,
    /// A live session.
    Active(Box<ActiveSession>),
}

/// Why a session could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The store failed (503 when unavailable).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The operating system's random source failed.
    #[error("no randomness for a session id")]
    Random,
}

fn now_plus(now: DateTime, duration: Duration) -> DateTime {
    let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
    DateTime::from_millis(now.timestamp_millis().saturating_add(millis))
}

/// Starts a session for `user` with a new random id.
///
/// # Errors
///
/// [`SessionError`] when no id can be drawn or the store fails.
pub async fn start<S: SessionStore>(
    store: &S,
    policy: &SessionPolicy,
    user: Identity,
) -> Result<(SessionId, SessionRecord), SessionError> {
    let id = SessionId::generate().map_err(|_| SessionError::Random)?;
    let csrf_token = random_token().map_err(|_| SessionError::Random)?;
    let now = DateTime::now();
    let record = SessionRecord {
        id_hash: id.storage_key(),
        user,
        created_at: now,
        last_seen: now,
        idle_expires_at: now_plus(now, policy.idle),
        absolute_expires_at: now_plus(now, policy.absolute),
        csrf_token,
    };
    store.create(&record).await?;
    Ok((id, record))
}

/// Finds the session a request's cookie names, sliding its idle expiry. `cookie` is the
/// value of the cookie named [`SessionPolicy::cookie_name`], if the request had one.
///
/// # Errors
///
/// When the store fails.
pub async fn resolve<S: SessionStore>(
    store: &S,
    policy: &SessionPolicy,
    cookie: Option<&str>,
) -> Result<Lookup, StoreError> {
    let Some(value) = cookie else {
        return Ok(Lookup::NoCookie);
    };
    let Some(id) = SessionId::from_cookie_value(value) else {
        tracing::debug!("malformed session cookie");
        return Ok(Lookup::Invalid);
    };
    let Some(mut record) = store.load(&id.storage_key()).await? else {
        return Ok(Lookup::Invalid);
    };
    let now = DateTime::now();
    let since_touch = now.timestamp_millis() - record.last_seen.timestamp_millis();
    if u128::try_from(since_touch).unwrap_or(0) >= policy.touch_every.as_millis() {
        record.last_seen = now;
        record.idle_expires_at = now_plus(now, policy.idle).min(record.absolute_expires_at);
        if !store.touch(&record).await? {
            return Ok(Lookup::Invalid);
        }
    }
    Ok(Lookup::Active(Box::new(ActiveSession { id, record })))
}

/// Ends one session.
///
/// # Errors
///
/// When the store fails.
pub async fn end<S: SessionStore>(store: &S, session: &ActiveSession) -> Result<(), StoreError> {
    store.delete(&session.record.id_hash).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use bson::oid::ObjectId;

    use super::*;
    use crate::store::memory::MemorySessions;

    fn ada() -> Identity {
        Identity {
            id: ObjectId::new(),
            username: "ada".into(),
            email: None,
            created_at: DateTime::now(),
        }
    }

    fn policy(idle_ms: u64, absolute_ms: u64, touch_every_ms: u64) -> SessionPolicy {
        SessionPolicy {
            idle: Duration::from_millis(idle_ms),
            absolute: Duration::from_millis(absolute_ms),
            touch_every: Duration::from_millis(touch_every_ms),
            dev: false,
        }
    }

    async fn lookup(store: &MemorySessions, policy: &SessionPolicy, cookie: &str) -> Lookup {
        resolve(store, policy, Some(cookie)).await.unwrap()
    }

    #[tokio::test]
    async fn a_started_session_resolves_from_its_cookie_and_ends() {
        let store = MemorySessions::default();
        let policy = SessionPolicy::default();
        let (id, record) = start(&store, &policy, ada()).await.unwrap();
        assert_eq!(
            record.id_hash,
            id.storage_key(),
            "the store keeps the hash, not the id"
        );
        let Lookup::Active(session) = lookup(&store, &policy, &id.cookie_value()).await else {
            panic!("a fresh session is active");
        };
        assert_eq!(session.record, record);
        end(&store, &session).await.unwrap();
        assert!(matches!(
            lookup(&store, &policy, &id.cookie_value()).await,
            Lookup::Invalid
        ));
    }

    #[tokio::test]
    async fn no_cookie_and_a_malformed_or_unknown_one_are_told_apart() {
        let store = MemorySessions::default();
        let policy = SessionPolicy::default();
        assert!(matches!(
            resolve(&store, &policy, None).await.unwrap(),
            Lookup::NoCookie
        ));
        assert!(matches!(
            lookup(&store, &policy, "not hex").await,
            Lookup::Invalid
        ));
        let unknown = SessionId::generate().unwrap().cookie_value();
        assert!(matches!(
            lookup(&store, &policy, &unknown).await,
            Lookup::Invalid
        ));
    }

    #[tokio::test]
    async fn the_idle_expiry_slides_only_when_a_touch_is_due() {
        let store = MemorySessions::default();
        // A long touch interval: resolving does not slide the expiry.
        let policy_later = policy(60_000, 3_600_000, 60_000);
        let (id, record) = start(&store, &policy_later, ada()).await.unwrap();
        let Lookup::Active(untouched) = lookup(&store, &policy_later, &id.cookie_value()).await
        else {
            panic!("active");
        };
        assert_eq!(untouched.record.idle_expires_at, record.idle_expires_at);
        // A touch due at every request: the expiry moves forward, and the store has it.
        let policy_now = policy(60_000, 3_600_000, 0);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let Lookup::Active(touched) = lookup(&store, &policy_now, &id.cookie_value()).await else {
            panic!("active");
        };
        assert!(touched.record.idle_expires_at > record.idle_expires_at);
        let stored = store.load(&record.id_hash).await.unwrap().unwrap();
        assert_eq!(stored.idle_expires_at, touched.record.idle_expires_at);
    }

    #[tokio::test]
    async fn a_touch_never_slides_past_the_absolute_expiry() {
        let store = MemorySessions::default();
        let policy = policy(60_000, 1_000, 0);
        let (id, record) = start(&store, &policy, ada()).await.unwrap();
        let Lookup::Active(session) = lookup(&store, &policy, &id.cookie_value()).await else {
            panic!("active");
        };
        assert_eq!(session.record.idle_expires_at, record.absolute_expires_at);
    }

    #[tokio::test]
    async fn an_expired_session_is_invalid() {
        let store = MemorySessions::default();
        let policy = policy(1, 3_600_000, 60_000);
        let (id, _) = start(&store, &policy, ada()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(matches!(
            lookup(&store, &policy, &id.cookie_value()).await,
            Lookup::Invalid
        ));
    }
}
