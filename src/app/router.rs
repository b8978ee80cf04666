//! Method + path → endpoint, and the answers that need no endpoint.
//!
//! The table below is the whole surface of the server. Routing looks only at
//! the method and the path, so it can run on the head alone, before the body
//! is read:
//!
//! - a path not in the table: **404**;
//! - a path in the table with a method it does not take: **405** with an
//!   `Allow` field listing the ones it does (RFC 9110 §15.5.6);
//! - a method the server does not implement at all (`TRACE`, `CONNECT`, an
//!   unknown token): **501** (RFC 9110 §15.6.2);
//! - `OPTIONS` on a path, or `OPTIONS *` for the whole server: **204** with
//!   `Allow`.
//!
//! `HEAD` is allowed wherever `GET` is: the connection loop sends the same
//! head and no body.

use crate::app::pages::PageRoute;
use crate::http::{Method, Response, Status};

/// A handler the router can send a request to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /health`
    Health,
    /// `/echo`, any of the common methods.
    Echo,
    /// `POST /api/register`
    Register,
    /// `POST /api/login`
    Login,
    /// `GET /api/me`
    Me,
    /// `POST /api/logout`
    Logout,
    /// `POST /api/logout-all`
    LogoutAll,
    /// `POST /api/password`
    Password,
    /// `POST /api/token`
    Token,
    /// `GET|POST /api/posts`
    Posts,
    /// `GET|PATCH|DELETE /api/posts/{id}`
    Post,
    /// A browser page: `/`, `/login`, `/me`, … (see [`pages`](super::pages)).
    Page(PageRoute),
}

/// Where a request goes.
#[derive(Debug)]
pub enum Routing {
    /// To an endpoint's handler.
    Endpoint(Endpoint),
    /// Nowhere: this response answers it.
    Answered(Response),
}

/// The route table: a path, the methods it takes, its endpoint.
const ROUTES: &[(&str, &[Method], Endpoint)] = &[
    ("/health", &[Method::Get], Endpoint::Health),
    (
        "/echo",
        &[
            Method::Get,
            Method::Post,
            Method::Put,
            Method::Patch,
            Method::Delete,
        ],
        Endpoint::Echo,
    ),
    ("/api/register", &[Method::Post], Endpoint::Register),
    ("/api/login", &[Method::Post], Endpoint::Login),
    ("/api/me", &[Method::Get], Endpoint::Me),
    ("/api/logout", &[Method::Post], Endpoint::Logout),
    ("/api/logout-all", &[Method::Post], Endpoint::LogoutAll),
    ("/api/password", &[Method::Post], Endpoint::Password),
    ("/api/token", &[Method::Post], Endpoint::Token),
    ("/api/posts", &[Method::Get, Method::Post], Endpoint::Posts),
    (
        "/api/posts/{id}",
        &[Method::Get, Method::Patch, Method::Delete],
        Endpoint::Post,
    ),
    // The browser demo's pages.
    ("/", &[Method::Get], Endpoint::Page(PageRoute::Home)),
    (
        "/register",
        &[Method::Get, Method::Post],
        Endpoint::Page(PageRoute::Register),
    ),
    (
        "/login",
        &[Method::Get, Method::Post],
        Endpoint::Page(PageRoute::Login),
    ),
    ("/me", &[Method::Get], Endpoint::Page(PageRoute::Me)),
    (
        "/logout",
        &[Method::Post],
        Endpoint::Page(PageRoute::Logout),
    ),
    (
        "/logout-all",
        &[Method::Post],
        Endpoint::Page(PageRoute::LogoutAll),
    ),
    (
        "/static/style.css",
        &[Method::Get],
        Endpoint::Page(PageRoute::Style),
    ),
    // Before `/posts/{id}`: the first match wins, and `new` is a segment.
    (
        "/posts/new",
        &[Method::Get, Method::Post],
        Endpoint::Page(PageRoute::NewPost),
    ),
    (
        "/posts/{id}",
        &[Method::Get],
        Endpoint::Page(PageRoute::Post),
    ),
    (
        "/posts/{id}/edit",
        &[Method::Get, Method::Post],
        Endpoint::Page(PageRoute::EditPost),
    ),
];

/// Whether a route path matches a request path. `{name}` in a route stands
/// for one non-empty path segment.
fn matches(route: &str, path: &str) -> bool {
    // The common case, and the cheap one: a path equal to its route (as
    // every path of a route without `{name}` is).
    if route == path {
        return true;
    }
    let mut route_segments = route.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (route_segments.next(), path_segments.next()) {
            (None, None) => return true,
            (Some(pattern), Some(segment)) if pattern.starts_with('{') => {
                if segment.is_empty() {
                    return false;
                }
            }
            (Some(pattern), Some(segment)) if pattern == segment => {}
            _ => return false,
        }
    }
}

/// Routes a request by its method and path.
pub fn route(method: &Method, path: &str) -> Routing {
    if matches!(method, Method::Trace | Method::Connect | Method::Other(_)) {
        return Routing::Answered(Response::error(
            Status::NOT_IMPLEMENTED,
            "method not implemented",
        ));
    }
    if path == "*" {
        // Only OPTIONS may use the asterisk target; the parser enforces that.
        return Routing::Answered(
            Response::new(Status::NO_CONTENT).header("allow", server_allow()),
        );
    }
    let Some((_, methods, endpoint)) = ROUTES
        .iter()
        .find(|(route_path, _, _)| matches(route_path, path))
    else {
        return Routing::Answered(Response::error(Status::NOT_FOUND, "no such resource"));
    };
    let allowed = |candidate: &Method| {
        methods.contains(candidate)
            || (*candidate == Method::Head && methods.contains(&Method::Get))
    };
    if *method == Method::Options {
        Routing::Answered(Response::new(Status::NO_CONTENT).header("allow", allow_value(methods)))
    } else if allowed(method) {
        Routing::Endpoint(*endpoint)
    } else {
        Routing::Answered(
            Response::error(Status::METHOD_NOT_ALLOWED, "method not allowed here")
                .header("allow", allow_value(methods)),
        )
    }
}

/// The `Allow` value for one route: its methods, plus HEAD where GET is,
/// plus OPTIONS, which every route answers.
fn allow_value(methods: &[Method]) -> String {
    let mut names: Vec<&str> = methods.iter().map(Method::as_str).collect();
    if methods.contains(&Method::Get) {
        names.push("HEAD");
    }
    names.push("OPTIONS");
    names.join(", ")
}

/// The `Allow` value for `OPTIONS *`: every method some route takes.
fn server_allow() -> String {
    let mut all: Vec<Method> = Vec::new();
    for (_, methods, _) in ROUTES {
        for method in *methods {
            if !all.contains(method) {
                all.push(method.clone());
            }
        }
    }
    allow_value(&all)
}
