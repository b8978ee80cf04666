//! What the server serves: the routes and their handlers.
//!
//! [`App`] is the [`crate::server::Service`] the server runs. Each
//! request goes through the [`router`] once, with the head alone (unknown
//! path → 404, wrong method → 405 with `Allow`, unknown method → 501, all
//! before the body is read); the endpoint it chose comes back with the whole
//! request, to the handler.
//!
//! Handlers, one file per concern:
//! - [`health`]: `GET /health`, ok or degraded.
//! - [`echo`]: `/echo`, the parsed request shown back as JSON, for curl and
//!   netcat experiments.
//! - [`auth`]: register, log in, log out, who am I, change password, and
//!   bearer tokens beside the session.
//! - [`posts`]: the posts API, the seed's MongoDB operations over HTTP.
//! - [`pages`]: the same as HTML pages with plain forms, for a browser.
//!
//! And what they share: [`fields`] (reading JSON or form bodies by name and
//! type), [`post_json`] (posts between JSON and BSON, and which fields a
//! client may write) and [`csrf`] (refusing state changes other sites asked
//! for).

pub mod auth;
pub mod csrf;
pub mod echo;
pub mod fields;
pub mod health;
pub mod pages;
pub mod post_json;
pub mod posts;
pub mod router;

use std::sync::Arc;
use std::time::Duration;

use crate::http::Request;
use crate::http::{Method, RequestHead, Response};
use crate::server::Service;
use crate::session::hash_pool::{HashLimits, HashPool};
use crate::session::manager::SessionPolicy;
use crate::session::throttle::{LoginLimits, LoginThrottle};
use crate::session::token::{self, TokenKey};
use crate::store::Store;
use router::{Endpoint, Routing};

/// What a handler returns: `Ok` with its answer, or `Err` with the refusal
/// that ended it early (400, 401, 403, 404, 503…). Both are responses; the
/// split only lets handlers stop at the first refusal with `?`.
pub type Reply = Result<Response, Response>;

/// How the application behaves.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Session lifetimes and cookie.
    pub sessions: SessionPolicy,
    /// Login throttling.
    pub logins: LoginLimits,
    /// Password hashing: workers and queue.
    pub hashing: HashLimits,
    /// The key that signs and checks bearer tokens.
    pub token_key: TokenKey,
    /// How long a bearer token lives.
    pub token_lifetime: Duration,
}

impl AppConfig {
    /// The defaults, with a fresh random token key.
    ///
    /// # Errors
    ///
    /// When the operating system's random source fails.
    pub fn new() -> Result<AppConfig, getrandom::Error> {
        Ok(AppConfig {
            sessions: SessionPolicy::default(),
            logins: LoginLimits::default(),
            hashing: HashLimits::default(),
            token_key: TokenKey::generate()?,
            token_lifetime: token::DEFAULT_LIFETIME,
        })
    }
}

/// The application: every route of the server, and what they share.
#[derive(Debug)]
pub struct App {
    store: Arc<Store>,
    policy: SessionPolicy,
    throttle: LoginThrottle,
    hash_pool: HashPool,
    token_key: TokenKey,
    token_lifetime: Duration,
}

impl App {
    /// The application over `store`; starts the password workers.
    ///
    /// # Errors
    ///
    /// When the password workers cannot be started.
    pub fn new(store: Arc<Store>, config: AppConfig) -> std::io::Result<App> {
        Ok(App {
            store,
            policy: config.sessions,
            throttle: LoginThrottle::new(&config.logins),
            hash_pool: HashPool::start(&config.hashing)?,
            token_key: config.token_key,
            token_lifetime: config.token_lifetime,
        })
    }
}

impl Service for App {
    /// The endpoint the router chose from the head, so the route table is
    /// searched once per request.
    type Route = Endpoint;

    fn check_head(&self, head: &RequestHead) -> Result<Endpoint, Response> {
        match router::route(&head.method, head.path()) {
            Routing::Endpoint(endpoint) => Ok(endpoint),
            Routing::Answered(response) => Err(response),
        }
    }

    async fn call(&self, endpoint: Endpoint, request: &Request) -> Response {
        // Each handler that waits (on the store, on Argon2) is boxed. A
        // future is as large as the largest state it can be in, and this one
        // lives inside every connection's task for as long as the connection
        // is open, idle or not; unboxed, the biggest handler would set the
        // memory of ten thousand idle connections. Those handlers allocate
        // anyway; the plaintext answers above them do not, and are not boxed.
        match endpoint {
            Endpoint::Health => health::get(&self.store),
            Endpoint::Echo => echo::show(request),
            Endpoint::Register => Box::pin(auth::register(self, request)).await,
            Endpoint::Login => Box::pin(auth::login(self, request)).await,
            Endpoint::Me => Box::pin(auth::me(self, request)).await,
            Endpoint::Logout => Box::pin(auth::logout(self, request)).await,
            Endpoint::LogoutAll => Box::pin(auth::logout_all(self, request)).await,
            Endpoint::Password => Box::pin(auth::change_password(self, request)).await,
            Endpoint::Token => Box::pin(auth::token(self, request)).await,
            Endpoint::Posts => match request.head.method {
                Method::Post => Box::pin(posts::create(self, request)).await,
                _ => Box::pin(posts::list(self, request)).await,
            }
            .unwrap_or_else(|refusal| refusal),
            Endpoint::Post => match request.head.method {
                Method::Patch => Box::pin(posts::update(self, request)).await,
                Method::Delete => Box::pin(posts::delete(self, request)).await,
                _ => Box::pin(posts::get(self, request)).await,
            }
            .unwrap_or_else(|refusal| refusal),
            Endpoint::Page(page) => Box::pin(pages::serve(self, page, request)).await,
        }
    }
}
