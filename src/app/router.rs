//! Method + path → endpoint, and the answers that need no endpoint.
//!
//! The table below is the whole surface of the server. Routing looks only at
//! the method and the path, so it can run on the head alone, before the body
//! is read:
//!
//! - a path not in the table: **404**;
//! - a path in the table with a method it does not take: **405** with an
//!   `Allow` field listing the ones it does (RFC 9110 §15.5.6);
//! - a method the server does not implement for any resource (`CONNECT`,
//!   which asks for a tunnel, or an unknown token): **501** (RFC 9110
//!   §15.6.2). `TRACE` and `QUERY` are methods we know and no route takes,
//!   like `PUT` outside `/echo`: 405 on a known path, 404 elsewhere;
//! - `OPTIONS` on a path, or `OPTIONS *` for the whole server: **204** with
//!   `Allow`, from the table; a route that lists OPTIONS itself sends it to
//!   its handler instead (a post's, which is 404 once the post is gone).
//!
//! `HEAD` is allowed wherever `GET` is: the connection loop sends the same
//! head and no body.

use crate::http::{Method, Response, Status};

/// What a request is for: one per path and method, so that routing decides once and each
/// handler is a plain function of its own.
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
    ChangePassword,
    /// `POST /api/token`
    IssueToken,
    /// `GET /api/posts`
    ListPosts,
    /// `POST /api/posts`
    CreatePosts,
    /// `GET /api/posts/{id}`
    GetPost,
    /// `PATCH /api/posts/{id}`
    UpdatePost,
    /// `DELETE /api/posts/{id}`
    DeletePost,
    /// `OPTIONS /api/posts/{id}`: a post's methods, once it is known to exist.
    PostOptions,
    /// `GET /api/openapi.yaml`: the API's description.
    OpenApi,
    /// `GET /`: the browser demo's home page.
    HomePage,
    /// `GET /register`: the registration form.
    RegisterPage,
    /// `POST /register`: the registration form, sent.
    RegisterForm,
    /// `GET /login`: the login form.
    LoginPage,
    /// `POST /login`: the login form, sent.
    LoginForm,
    /// `GET /me`: the user's page.
    MePage,
    /// `POST /logout`: the log-out button.
    LogoutForm,
    /// `POST /logout-all`: the log-out-everywhere button.
    LogoutAllForm,
    /// `GET /static/style.css`
    Stylesheet,
    /// `GET /posts/new`: the new-post form.
    NewPostPage,
    /// `POST /posts/new`: the new-post form, sent.
    NewPostForm,
    /// `GET /posts/{id}`: one post's page.
    PostPage,
    /// `GET /posts/{id}/edit`: the edit form.
    EditPostPage,
    /// `POST /posts/{id}/edit`: the edit form, sent.
    EditPostForm,
}

impl Endpoint {
    /// Whether no cache may keep the answer: it shows, sets or depends on a session or a
    /// credential. Decided here, once per endpoint, so no handler can forget it; the
    /// application marks the answer (and every refusal) `Cache-Control: no-store`. Public
    /// reads, the same for everyone, may be cached.
    pub fn is_private(self) -> bool {
        !matches!(
            self,
            Endpoint::Health
                | Endpoint::Echo
                | Endpoint::ListPosts
                | Endpoint::GetPost
                | Endpoint::PostOptions
                | Endpoint::OpenApi
                | Endpoint::Stylesheet
        )
    }
}

/// Where a request goes.
#[derive(Debug)]
pub enum Routing {
    /// To an endpoint's handler.
    Endpoint(Endpoint),
    /// Nowhere: this response answers it.
    Answered(Response),
}

/// The route table: a path, and the endpoint for each method it takes.
pub(crate) const ROUTES: &[(&str, &[(Method, Endpoint)])] = &[
    ("/health", &[(Method::Get, Endpoint::Health)]),
    (
        "/echo",
        &[
            (Method::Get, Endpoint::Echo),
            (Method::Post, Endpoint::Echo),
            (Method::Put, Endpoint::Echo),
            (Method::Patch, Endpoint::Echo),
            (Method::Delete, Endpoint::Echo),
        ],
    ),
    ("/api/register", &[(Method::Post, Endpoint::Register)]),
    ("/api/login", &[(Method::Post, Endpoint::Login)]),
    ("/api/me", &[(Method::Get, Endpoint::Me)]),
    ("/api/logout", &[(Method::Post, Endpoint::Logout)]),
    ("/api/logout-all", &[(Method::Post, Endpoint::LogoutAll)]),
    ("/api/openapi.yaml", &[(Method::Get, Endpoint::OpenApi)]),
    ("/api/password", &[(Method::Post, Endpoint::ChangePassword)]),
    ("/api/token", &[(Method::Post, Endpoint::IssueToken)]),
    (
        "/api/posts",
        &[
            (Method::Get, Endpoint::ListPosts),
            (Method::Post, Endpoint::CreatePosts),
        ],
    ),
    (
        "/api/posts/{id}",
        &[
            (Method::Get, Endpoint::GetPost),
            (Method::Patch, Endpoint::UpdatePost),
            (Method::Delete, Endpoint::DeletePost),
            // Unlike the other paths, each of which names one resource that is
            // always there, a post can be absent: its OPTIONS goes to a
            // handler that looks, so a deleted post is 404 here too.
            (Method::Options, Endpoint::PostOptions),
        ],
    ),
    // The browser demo's pages.
    ("/", &[(Method::Get, Endpoint::HomePage)]),
    (
        "/register",
        &[
            (Method::Get, Endpoint::RegisterPage),
            (Method::Post, Endpoint::RegisterForm),
        ],
    ),
    (
        "/login",
        &[
            (Method::Get, Endpoint::LoginPage),
            (Method::Post, Endpoint::LoginForm),
        ],
    ),
    ("/me", &[(Method::Get, Endpoint::MePage)]),
    ("/logout", &[(Method::Post, Endpoint::LogoutForm)]),
    ("/logout-all", &[(Method::Post, Endpoint::LogoutAllForm)]),
    ("/static/style.css", &[(Method::Get, Endpoint::Stylesheet)]),
    // Before `/posts/{id}`: the first match wins, and `new` is a segment.
    (
        "/posts/new",
        &[
            (Method::Get, Endpoint::NewPostPage),
            (Method::Post, Endpoint::NewPostForm),
        ],
    ),
    ("/posts/{id}", &[(Method::Get, Endpoint::PostPage)]),
    (
        "/posts/{id}/edit",
        &[
            (Method::Get, Endpoint::EditPostPage),
            (Method::Post, Endpoint::EditPostForm),
        ],
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
    if matches!(method, Method::Connect | Method::Other(_)) {
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
    let Some(methods) = methods_at(path) else {
        return Routing::Answered(Response::error(Status::NOT_FOUND, "no such resource"));
    };
    // HEAD is GET without the body: the GET endpoint answers it.
    let wanted = if *method == Method::Head {
        &Method::Get
    } else {
        method
    };
    match methods.iter().find(|(taken, _)| taken == wanted) {
        Some((_, endpoint)) => Routing::Endpoint(*endpoint),
        None if *method == Method::Options => Routing::Answered(allowed_methods(methods)),
        None => Routing::Answered(
            Response::error(Status::METHOD_NOT_ALLOWED, "method not allowed here")
                .header("allow", allow_value(methods)),
        ),
    }
}

/// The methods of the route `path` matches, if any: the first match wins.
fn methods_at(path: &str) -> Option<&'static [(Method, Endpoint)]> {
    ROUTES
        .iter()
        .find(|(route_path, _)| matches(route_path, path))
        .map(|(_, methods)| *methods)
}

/// The answer to `OPTIONS` on a route: 204 and its `Allow`.
fn allowed_methods(methods: &[(Method, Endpoint)]) -> Response {
    Response::new(Status::NO_CONTENT).header("allow", allow_value(methods))
}

/// The answer to `OPTIONS` on `path`, for a handler that has found its resource there.
pub(crate) fn options(path: &str) -> Option<Response> {
    methods_at(path).map(allowed_methods)
}

/// The `Allow` value for one route: its methods, plus HEAD where GET is, plus OPTIONS,
/// which every route answers.
pub(crate) fn allow_value(methods: &[(Method, Endpoint)]) -> String {
    // A route may list OPTIONS itself (to send it to a handler); it is named once, last.
    let mut names: Vec<&str> = methods
        .iter()
        .filter(|(method, _)| *method != Method::Options)
        .map(|(method, _)| method.as_str())
        .collect();
    if methods.iter().any(|(method, _)| *method == Method::Get) {
        names.push("HEAD");
    }
    names.push("OPTIONS");
    names.join(", ")
}

/// The `Allow` value for `OPTIONS *`: every method some route takes.
fn server_allow() -> String {
    let mut all: Vec<(Method, Endpoint)> = Vec::new();
    for (_, methods) in ROUTES {
        for (method, endpoint) in *methods {
            if !all.iter().any(|(known, _)| known == method) {
                all.push((method.clone(), *endpoint));
            }
        }
    }
    allow_value(&all)
}
