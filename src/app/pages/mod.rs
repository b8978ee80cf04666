//! The browser demo: server-rendered HTML pages with plain forms.
//!
//! Everything the JSON API does, a person can do from a browser with no
//! JavaScript at all:
//!
//! ```text
//! GET  /                  home: a welcome, the recent posts
//! GET  /register          the form       POST /register  → 303 /login
//! GET  /login?next=/me    the form       POST /login     → 303 to next (or /me)
//! GET  /me                who am I, the session's times, "log out everywhere"
//!                                        POST /logout     → 303 /login
//!                                        POST /logout-all → 303 /login
//! GET  /posts/new         the form       POST /posts/new       → 303 /posts/{id}
//! GET  /posts/{id}        one post, an Edit link for its author
//! GET  /posts/{id}/edit   the form       POST /posts/{id}/edit → 303 /posts/{id}
//! GET  /static/style.css  the stylesheet
//! ```
//!
//! The pages reuse the API's logic
//! ([`Registration`](crate::app::credentials::Registration),
//! [`begin_session`](crate::app::credentials::begin_session), the [`csrf`] checks, the
//! [`post_json`](crate::app::post_json) field rules); only the answers
//! differ. Every handler returns a [`Reply`] like the API's, but a refusal
//! from an error (the store is down, say) becomes an HTML page with its
//! status ([`failure_page`]), never JSON. Four web habits shape them:
//!
//! - **Post/Redirect/Get.** A form post is answered with `303 See Other`,
//!   never with a page. The browser then GETs the page, so Reload repeats
//!   the harmless GET instead of re-sending the form, and Back does not ask
//!   "resubmit?". What the post wants to say travels in a
//!   [`flash`] cookie.
//! - **CSRF.** Forms for a logged-in user carry the session's CSRF token in a
//!   hidden `csrf_token` field, and the handler wants it *and* an `Origin`
//!   that is not foreign ([`csrf::check_form`]). The login and register forms
//!   come before any session, so there is no token to carry: they rely on
//!   the Origin check ([`csrf::check_origin`]), which is what stops another
//!   site from logging a visitor into an account of its choosing.
//! - **401 and 403 are pages.** A GET of a page that needs a login
//!   redirects to `/login?next=<the page>`, and logging in leads back there.
//!   A post that needs a session and has none gets a 401 page holding the
//!   login form. A refused post (another origin, a stale token) gets a 403
//!   page that says what was refused and why.
//! - **Escaping.** Templates (`templates/*.html`, compiled by askama) escape
//!   every value for HTML, so a `<script>` typed into a form comes back as
//!   text. The `Content-Security-Policy` header adds a second wall: no
//!   inline script would run even if a value slipped through.
//!
//! Each page ends with the [`hood`] panel: the request line, the `Cookie`
//! header received and the `Set-Cookie` values sent, session ids masked.
//!
//! The pages live in [`account`] (register, log in, me, log out) and
//! [`posts`] (write, read, edit), which also feeds [`home`] its list of
//! recent posts.

pub mod account;
pub mod flash;
pub mod home;
pub mod hood;
pub mod posts;
pub mod style;

use std::borrow::Cow;

use askama::Template;

use crate::app::App;
use crate::app::authenticate::session_of;
use crate::app::credentials::AccountRefusal;
use crate::app::csrf::{self, CsrfError};
use crate::app::fields::{FieldError, Fields};
use crate::app::reply::{Refused, Reply};
use crate::http::{Request, Response, Status};
use crate::session::manager::{ActiveSession, Lookup};
use flash::{Exchange, Flash, Received};

/// The logged-in user, as the navigation bar shows them.
#[derive(Debug)]
pub struct NavUser {
    /// Their name.
    pub username: String,
    /// The session's CSRF token, for the bar's "log out" form.
    pub csrf_token: String,
}

/// What every page shows around its own content: the title, the navigation
/// bar, the flash note and the under-the-hood panel. It also holds the
/// `Set-Cookie` values the response will carry, so that the panel and the
/// headers are one list.
#[derive(Debug)]
pub struct Layout {
    /// The page title.
    pub title: &'static str,
    /// Who is logged in, if anyone.
    pub user: Option<NavUser>,
    /// The note from the previous form post, if any.
    pub flash: Option<Flash>,
    /// The request line, for the panel.
    pub request_line: String,
    /// The `Cookie` header received, session id masked; `None` when the
    /// browser sent none.
    pub cookie_header: Option<String>,
    set_cookies: Vec<String>,
    session_cookie: &'static str,
}

impl Layout {
    /// This response's `Set-Cookie` values, session ids masked.
    pub fn masked_set_cookies(&self) -> Vec<String> {
        self.set_cookies
            .iter()
            .map(|value| hood::mask_set_cookie(value, self.session_cookie))
            .collect()
    }

    /// A value the last form post kept for its form, or `""`.
    pub fn kept(&self, name: &str) -> &str {
        self.flash.as_ref().map_or("", |flash| flash.value(name))
    }
}

/// A page template: askama renders it, and [`respond`] sends it with its
/// layout's cookies.
pub trait Page: Template {
    /// The page's layout.
    fn layout(&self) -> &Layout;
}

/// The page state every GET starts from: the session (if any), the flash
/// note (if any), and which of their cookies the response must clear.
#[derive(Debug, Default)]
pub struct Context {
    /// The live session, if the request has one.
    pub session: Option<ActiveSession>,
    flash: Option<Flash>,
    /// The request's session cookie names no live session: remove it.
    clear_session: bool,
    /// The request carried a flash note: it has been read, remove it.
    clear_flash: bool,
}

impl Context {
    /// Finds the session and reads the flash note.
    ///
    /// # Errors
    ///
    /// When the session lookup fails (store down, cookies over the limits).
    pub async fn read(app: &App, request: &Request) -> Result<Context, Refused> {
        let mut context = Context::default();
        match session_of(app, &request.head).await? {
            Lookup::Active(session) => context.session = Some(*session),
            Lookup::NoCookie => {}
            Lookup::Invalid => context.clear_session = true,
        }
        match flash::read(&app.policy, &request.head) {
            Received::None => {}
            Received::Unreadable => context.clear_flash = true,
            Received::Note(note) => {
                context.clear_flash = true;
                context.flash = Some(note);
            }
        }
        Ok(context)
    }

    /// The removal of a dead session cookie, if the request had one.
    fn session_removal(&self, app: &App) -> Vec<String> {
        if self.clear_session {
            vec![app.policy.removal_cookie()]
        } else {
            Vec::new()
        }
    }

    /// The layout for a page titled `title`.
    pub fn layout(self, app: &App, request: &Request, title: &'static str) -> Layout {
        let mut set_cookies = self.session_removal(app);
        if self.clear_flash {
            set_cookies.push(flash::removal_cookie(&app.policy));
        }
        let session_cookie = app.policy.cookie_name();
        Layout {
            title,
            user: self.session.map(|session| NavUser {
                username: session.record.user.username,
                csrf_token: session.record.csrf_token,
            }),
            flash: self.flash,
            request_line: hood::request_line(request),
            cookie_header: hood::cookie_header(request, session_cookie),
            set_cookies,
            session_cookie,
        }
    }
}

/// A layout for a page that answers a post directly (401, 403, errors):
/// the session's bar if there is one, no flash, no cookies set.
fn bare_layout(
    app: &App,
    request: &Request,
    session: Option<&ActiveSession>,
    title: &'static str,
) -> Layout {
    Context {
        session: session.cloned(),
        ..Context::default()
    }
    .layout(app, request, title)
}

/// Sends a rendered page.
pub fn respond<P: Page>(status: Status, page: &P) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(error) => {
            tracing::error!(%error, "template failed");
            return Response::text(Status::INTERNAL_SERVER_ERROR, "internal error\n");
        }
    };
    // The pages show session details, so no cache may keep them: every page endpoint is
    // private in the router's table, which adds `Cache-Control: no-store`.
    let mut response = Response::new(status)
        .content_type("text/html; charset=utf-8")
        // Scripts, styles and form targets from this origin only, and no
        // framing by other sites (which could trick clicks onto our
        // buttons). Inline script is not "self": it never runs.
        .header(
            "content-security-policy",
            "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        .body(html.into_bytes());
    for value in &page.layout().set_cookies {
        response = response.header("set-cookie", value.clone());
    }
    response
}

/// The answer to a form post: `303 See Other` to `location`, setting
/// `set_cookies` and a flash note that remembers this exchange for the
/// next page's panel.
pub fn redirect(
    app: &App,
    request: &Request,
    location: &str,
    mut set_cookies: Vec<String>,
    note: Flash,
) -> Response {
    let session_cookie = app.policy.cookie_name();
    let note = note.from_exchange(Exchange {
        request_line: hood::request_line(request),
        status: Status::SEE_OTHER.to_string(),
        set_cookies: set_cookies
            .iter()
            .map(|value| hood::mask_set_cookie(value, session_cookie))
            .collect(),
    });
    set_cookies.extend(flash::set_cookie(&app.policy, &note));
    let mut response = Response::new(Status::SEE_OTHER).header("location", location.to_owned());
    for value in set_cookies {
        response = response.header("set-cookie", value);
    }
    response
}

/// The 401, 403 and failure pages: a heading and what happened.
#[derive(Template)]
#[template(path = "problem.html")]
pub struct ProblemPage {
    layout: Layout,
    status: Status,
    message: String,
}

impl Page for ProblemPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// A page with `status`, headed by the status line, saying `message`; the
/// session's bar when there is one.
pub fn problem_page(
    app: &App,
    request: &Request,
    session: Option<&ActiveSession>,
    status: Status,
    title: &'static str,
    message: String,
) -> Response {
    respond(
        status,
        &ProblemPage {
            layout: bare_layout(app, request, session, title),
            status,
            message,
        },
    )
}

/// A 403 page saying which check refused the post.
pub fn forbidden_page(
    app: &App,
    request: &Request,
    session: Option<&ActiveSession>,
    refused: CsrfError,
) -> Response {
    let origin = request.head.headers.get_str("origin").unwrap_or("none");
    let message = match refused {
        CsrfError::CrossOrigin => format!(
            "This form was sent from another site (Origin: {origin}). Only this site's own \
             pages may log in, register or change a session here."
        ),
        CsrfError::WrongToken => "This form was made for an earlier session: its CSRF token \
             is not your current session's (did you log out and in again in another tab?). \
             Reload the page and submit it again."
            .to_owned(),
        CsrfError::NoToken => "This form carried no CSRF token, so nothing shows that one of \
             this site's pages sent it."
            .to_owned(),
    };
    problem_page(
        app,
        request,
        session,
        Status::FORBIDDEN,
        "Not allowed",
        message,
    )
}

/// An error page for a failure the API would have answered with `failed`
/// (503 while the database is away, 500, 431…): same status, in HTML.
pub fn failure_page(app: &App, request: &Request, failed: &Response) -> Response {
    let message = if failed.status == Status::SERVICE_UNAVAILABLE {
        "The database is not answering. Try again in a moment."
    } else {
        "The server could not finish this request."
    };
    problem_page(
        app,
        request,
        None,
        failed.status,
        "Something went wrong",
        message.to_owned(),
    )
}

/// A 400 page for a form body the handler could not read (a field it does
/// not take, a field twice, not form-encoded).
pub fn bad_form_page(
    app: &App,
    request: &Request,
    session: Option<&ActiveSession>,
    message: String,
) -> Response {
    problem_page(
        app,
        request,
        session,
        Status::BAD_REQUEST,
        "Bad form",
        message,
    )
}

/// How a refused account action is answered: field problems, a wrong password and
/// throttling go back to the form as a flash note (PRG), with `keep`'s values filled in
/// again; a failure of the server is an error page.
///
/// # Errors
///
/// The failure, for [`failure_page`].
pub fn refusal(
    app: &App,
    request: &Request,
    back_to: &str,
    refused: AccountRefusal,
    keep: &[(&str, &str)],
) -> Reply {
    let note = match refused {
        AccountRefusal::Field(error) => {
            Flash::error(field_message(error.field.as_deref(), &error.message))
        }
        AccountRefusal::WrongCredentials => Flash::error("Wrong username or password."),
        AccountRefusal::Throttled { retry_after } => Flash::error(format!(
            "Too many login attempts. Wait {retry_after} s and try again."
        )),
        AccountRefusal::Busy { retry_after } => Flash::error(format!(
            "Too many logins at once. Wait {retry_after} s and try again."
        )),
        AccountRefusal::Failed(refused) => return Err(refused),
    };
    let note = keep
        .iter()
        .fold(note, |note, (name, value)| note.keep(name, value));
    Ok(redirect(app, request, back_to, Vec::new(), note))
}

/// `"username: is already taken"`, or the bare message for whole-body
/// problems.
fn field_message(field: Option<&str>, message: &str) -> String {
    match field {
        Some(field) => format!("{field}: {message}"),
        None => message.to_owned(),
    }
}

/// Reads the form fields a page handler takes, refusing others.
fn form_fields(request: &Request, allowed: &[&str]) -> Result<Fields, FieldError> {
    Fields::parse(&request.head, &request.body, allowed)
}

/// The value of form field `name` as sent, for showing it again in the
/// form after a refusal; `""` when absent.
fn sent_value<'a>(request: &'a Request, name: &str) -> Cow<'a, str> {
    form_urlencoded::parse(&request.body)
        .find(|(field, _)| field == name)
        .map_or(Cow::Borrowed(""), |(_, value)| value)
}

/// Where a login may lead back to: a path on this site, else `/me`.
///
/// `next` comes from the query string, which anyone can write into a link;
/// following it blindly would make our login page a trampoline to any site
/// (`//evil.example` is a *host*, not a path, and browsers read `/\` the
/// same way). Only a plain path passes.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && path.len() <= 512
                && path.bytes().all(|byte| byte.is_ascii_graphic()) =>
        {
            path
        }
        _ => "/me",
    }
}

/// `/login?next=<path>`: where a page that needs a login sends the browser.
pub fn login_location(next: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    format!("/login?{query}")
}

/// The check every logged-in form goes through, in this order: not from another origin
/// (403), a live session (401), a readable form (400), and the session's CSRF token in its
/// `csrf_token` field (403). Returns the session and the form's other fields, of which
/// `allowed` are accepted.
///
/// Origin comes first so that another site's post learns nothing and touches nothing, not
/// even the session's idle expiry.
///
/// # Errors
///
/// The page to answer with instead, or the failure of the session lookup.
async fn form_session(
    app: &App,
    request: &Request,
    allowed: &[&str],
) -> Result<(ActiveSession, Fields), Refused> {
    csrf::check_origin(&request.head)
        .map_err(|refused| Refused::page(forbidden_page(app, request, None, refused)))?;
    let session = match session_of(app, &request.head).await? {
        Lookup::Active(session) => *session,
        Lookup::NoCookie => {
            return Err(Refused::page(account::unauthorized_page(
                app, request, false,
            )));
        }
        Lookup::Invalid => {
            return Err(Refused::page(account::unauthorized_page(
                app, request, true,
            )));
        }
    };
    let names: Vec<&str> = std::iter::once("csrf_token")
        .chain(allowed.iter().copied())
        .collect();
    let read = form_fields(request, &names).and_then(|mut fields| {
        let token = fields.optional_string("csrf_token")?;
        Ok((fields, token))
    });
    let (fields, token) = read.map_err(|error| {
        let message = field_message(error.field.as_deref(), &error.message);
        Refused::page(bad_form_page(app, request, Some(&session), message))
    })?;
    csrf::check_form(&request.head, &session.record.csrf_token, token.as_deref())
        .map_err(|refused| Refused::page(forbidden_page(app, request, Some(&session), refused)))?;
    Ok((session, fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(safe_next(Some("/me")), "/me");
        assert_eq!(safe_next(Some("/me?tab=1")), "/me?tab=1");
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "me",
            "/a b",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/me", "{bad}");
        }
        assert_eq!(safe_next(None), "/me");
    }

    #[test]
    fn login_location_encodes_next() {
        assert_eq!(login_location("/me?a=1&b"), "/login?next=%2Fme%3Fa%3D1%26b");
    }
}
