//! What the server serves: the routes and their handlers.
//!
//! [`App`] is the [`Service`](crate::server::Service) the server runs. Each
//! request goes through the [`router`] twice, as the service seam asks: once
//! with the head alone (unknown path → 404, wrong method → 405 with `Allow`,
//! unknown method → 501, all before the body is read) and once with the whole
//! request, to the handler.
//!
//! Handlers, one file per concern:
//! - [`health`]: `GET /health`, a liveness probe.
//! - [`echo`]: `/echo`, the parsed request shown back as JSON, for curl and
//!   netcat experiments.
//! - [`auth`]: register, log in, log out, who am I, change password.
//! - [`pages`]: the same as HTML pages with plain forms, for a browser.
//!
//! And what they share: [`fields`] (reading JSON or form bodies by name and
//! type) and [`csrf`] (refusing state changes other sites asked for).

pub mod auth;
pub mod csrf;
pub mod echo;
pub mod fields;
pub mod health;
pub mod pages;
pub mod router;

use std::sync::Arc;
use std::time::Duration;

use crate::http::{RequestHead, Response};
use crate::server::{Request, Service};
use crate::session::manager::SessionPolicy;
use crate::session::throttle::Throttle;
use crate::store::Store;
use router::{Endpoint, Routing};

/// Failed-login limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failures allowed per account within `window`.
    pub per_account: usize,
    /// Failures allowed per client address within `window`: higher, since
    /// many people can share one address behind a NAT.
    pub per_address: usize,
    /// The sliding window.
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_account: 5,
            per_address: 50,
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// How the application behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppConfig {
    /// Session lifetimes and cookie.
    pub sessions: SessionPolicy,
    /// Failed-login throttling.
    pub logins: LoginLimits,
}

/// The two failed-login counters.
#[derive(Debug)]
pub struct Throttles {
    /// Keyed by the account identifier.
    pub account: Throttle,
    /// Keyed by the client's IP address.
    pub address: Throttle,
}

/// The application: every route of the server, and what they share.
#[derive(Debug)]
pub struct App {
    store: Arc<Store>,
    policy: SessionPolicy,
    throttles: Throttles,
}

impl App {
    /// The application over `store`.
    pub fn new(store: Arc<Store>, config: AppConfig) -> App {
        let logins = &config.logins;
        App {
            store,
            policy: config.sessions,
            throttles: Throttles {
                account: Throttle::new(logins.per_account, logins.window),
                address: Throttle::new(logins.per_address, logins.window),
            },
        }
    }
}

impl Service for App {
    fn check_head(&self, head: &RequestHead) -> Option<Response> {
        match router::route(&head.method, head.path()) {
            Routing::Endpoint(_) => None,
            Routing::Answered(response) => Some(response),
        }
    }

    async fn call(&self, request: Request) -> Response {
        match router::route(&request.head.method, request.head.path()) {
            Routing::Endpoint(endpoint) => match endpoint {
                Endpoint::Health => health::get(),
                Endpoint::Echo => echo::show(&request),
                Endpoint::Register => auth::register(self, &request).await,
                Endpoint::Login => auth::login(self, &request).await,
                Endpoint::Me => auth::me(self, &request).await,
                Endpoint::Logout => auth::logout(self, &request).await,
                Endpoint::LogoutAll => auth::logout_all(self, &request).await,
                Endpoint::Password => auth::change_password(self, &request).await,
                Endpoint::Page(page) => pages::serve(self, page, &request).await,
            },
            Routing::Answered(response) => response,
        }
    }
}
