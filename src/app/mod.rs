//! What the server serves: the routes and their handlers.
//!
//! [`App`] is the [`Service`](crate::server::Service) the server runs. Each
//! request goes through the [`router`] twice, as the service seam asks: once
//! with the head alone (unknown path → 404, wrong method → 405 with `Allow`,
//! unknown method → 501, all before the body is read) and once with the whole
//! request, to the handler.
//!
//! Handlers, one file each:
//! - [`health`]: `GET /health`, a liveness probe.
//! - [`echo`]: `/echo`, the parsed request shown back as JSON, for curl and
//!   netcat experiments.

pub mod echo;
pub mod health;
pub mod router;

use crate::http::{RequestHead, Response};
use crate::server::{Request, Service};
use router::{Endpoint, Routing};

/// The application: every route of the server.
#[derive(Debug, Default)]
pub struct App {}

impl App {
    /// The application with its default configuration.
    pub fn new() -> App {
        App {}
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
            Routing::Endpoint(Endpoint::Health) => health::get(),
            Routing::Endpoint(Endpoint::Echo) => echo::show(&request),
            Routing::Answered(response) => response,
        }
    }
}
