//! What the server serves: the routes and their handlers.
//!
//! [`App`] is the [`crate::server::Service`] the server runs. Each request goes through the
//! [`router`] once, with the head alone (unknown path → 404, wrong method → 405 with
//! `Allow`, unknown method → 501, all before the body is read), which picks one
//! [`Endpoint`] for the path and method; [`App::call`] hands the whole request to that
//! endpoint's handler. Every handler returns a [`reply::Reply`], and refuses with `?`.
//!
//! The handlers:
//! - [`health`]: `GET /health`, ok or degraded.
//! - [`echo`]: `/echo`, the parsed request shown back as JSON, for curl and netcat
//!   experiments.
//! - [`api`]: the JSON API, [`api::accounts`] (register, log in, who am I, log out, change
//!   the password, bearer tokens) and [`api::posts`] (the seed's MongoDB operations).
//! - [`pages`]: the same as HTML pages with plain forms, for a browser.
//!
//! And what they share: [`reply`] (a refusal, from whatever error, and its answer),
//! [`authenticate`] (who a request is from), [`credentials`] (what a registration and a
//! login present, and how they are checked), [`fields`] (reading JSON or form bodies by name
//! and type), [`post_json`] (posts between JSON and BSON, and which fields a client may
//! write), [`stored_json`] (a stored post written as JSON straight from its bytes) and [`csrf`] (refusing state changes other sites asked for).

pub mod api;
pub mod authenticate;
pub mod credentials;
pub mod csrf;
pub mod echo;
pub mod fields;
pub mod health;
pub mod pages;
pub mod post_json;
pub mod reply;
pub mod router;
pub mod stored_json;

use std::sync::Arc;
use std::time::Duration;

use crate::http::{Request, RequestHead, Response};
use crate::server::Service;
use crate::session::hash_pool::{HashLimits, HashPool};
use crate::session::jwt::{self, TokenKey};
use crate::session::manager::SessionPolicy;
use crate::session::throttle::{LoginLimits, LoginThrottle};
use crate::store::Store;
use reply::{Refused, Reply};
use router::{Endpoint, Routing};

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
            token_lifetime: jwt::DEFAULT_LIFETIME,
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
        let response = self.answer(endpoint, request).await;
        if endpoint.is_private() {
            response.header("cache-control", "no-store")
        } else {
            response
        }
    }
}

impl App {
    /// The endpoint's answer.
    ///
    /// Each handler that waits (on the store, on Argon2) is boxed. A future is as large as
    /// the largest state it can be in, and this one lives inside every connection's task for
    /// as long as the connection is open, idle or not; unboxed, the biggest handler would
    /// set the memory of ten thousand idle connections. Those handlers allocate anyway; the
    /// plaintext answers (health, echo, the stylesheet) do not, and are not boxed.
    async fn answer(&self, endpoint: Endpoint, request: &Request) -> Response {
        use api::{accounts, openapi, posts};
        use pages::{account, home, posts as post_pages};
        let (app, r) = (self, request);
        match endpoint {
            Endpoint::Health => health::get(&self.store),
            Endpoint::Echo => echo::show(r),
            Endpoint::Register => json(Box::pin(accounts::register(app, r)).await),
            Endpoint::Login => json(Box::pin(accounts::login(app, r)).await),
            Endpoint::Me => json(Box::pin(accounts::me(app, r)).await),
            Endpoint::Logout => json(Box::pin(accounts::logout(app, r)).await),
            Endpoint::LogoutAll => json(Box::pin(accounts::logout_all(app, r)).await),
            Endpoint::ChangePassword => json(Box::pin(accounts::change_password(app, r)).await),
            Endpoint::IssueToken => json(Box::pin(accounts::token(app, r)).await),
            Endpoint::ListPosts => json(Box::pin(posts::list(app, r)).await),
            Endpoint::CreatePosts => json(Box::pin(posts::create(app, r)).await),
            Endpoint::GetPost => json(Box::pin(posts::get(app, r)).await),
            Endpoint::UpdatePost => json(Box::pin(posts::update(app, r)).await),
            Endpoint::DeletePost => json(Box::pin(posts::delete(app, r)).await),
            Endpoint::PostOptions => json(Box::pin(posts::options(app, r)).await),
            Endpoint::OpenApi => openapi::get(),
            Endpoint::HomePage => page(app, r, Box::pin(home::show(app, r)).await),
            Endpoint::RegisterPage => page(app, r, Box::pin(account::register_form(app, r)).await),
            Endpoint::RegisterForm => page(app, r, Box::pin(account::register(app, r)).await),
            Endpoint::LoginPage => page(app, r, Box::pin(account::login_form(app, r)).await),
            Endpoint::LoginForm => page(app, r, Box::pin(account::login(app, r)).await),
            Endpoint::MePage => page(app, r, Box::pin(account::me(app, r)).await),
            Endpoint::LogoutForm => page(app, r, Box::pin(account::logout(app, r)).await),
            Endpoint::LogoutAllForm => page(app, r, Box::pin(account::logout_all(app, r)).await),
            Endpoint::Stylesheet => pages::style::get(),
            Endpoint::NewPostPage => page(app, r, Box::pin(post_pages::new_form(app, r)).await),
            Endpoint::NewPostForm => page(app, r, Box::pin(post_pages::create(app, r)).await),
            Endpoint::PostPage => page(app, r, Box::pin(post_pages::show(app, r)).await),
            Endpoint::EditPostPage => page(app, r, Box::pin(post_pages::edit_form(app, r)).await),
            Endpoint::EditPostForm => page(app, r, Box::pin(post_pages::edit(app, r)).await),
        }
    }
}

/// An API handler's answer, or its refusal's JSON.
fn json(reply: Reply) -> Response {
    reply.unwrap_or_else(Refused::into_response)
}

/// A page handler's answer; a refusal from an error shown as a page with its status.
fn page(app: &App, request: &Request, reply: Reply) -> Response {
    reply.unwrap_or_else(|refused| {
        refused.into_page_response(|failed| pages::failure_page(app, request, failed))
    })
}
