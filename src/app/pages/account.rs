//! The account pages: register, log in, who am I, log out.
//!
//! ```text
//! GET  /register     form: username, email?, password
//! POST /register     → 303 /login (note: "account created"), or back to /register
//! GET  /login        form: identifier, password, next
//! POST /login        → 303 <next> + Set-Cookie: session, or back to /login
//! GET  /me           the user and the session; 303 /login?next=/me without one
//! POST /logout       csrf_token → 303 /login + the session cookie removed
//! POST /logout-all   csrf_token → 303 /login, every session of the user ended
//! ```

use askama::Template;
use bson::DateTime;

use super::{
    Context, Layout, Page, form_fields, form_session, login_location, redirect, refusal, respond,
    safe_next, sent_value,
};
use crate::app::App;
use crate::app::authenticate::CHALLENGE;
use crate::app::credentials::{Credentials, LoggedIn, Registration, begin_session, create_account};
use crate::app::csrf;
use crate::app::fields::FieldError;
use crate::app::reply::{Refused, Reply};
use crate::http::{Request, Response, Status};
use crate::session::manager::{self, ActiveSession};
use crate::session::password::MIN_PASSWORD_CHARS;
use crate::store::SessionStore;

use super::flash::Flash;

/// The registration form.
#[derive(Template)]
#[template(path = "register.html")]
pub struct RegisterPage {
    layout: Layout,
    min_password: usize,
}

impl Page for RegisterPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// The login form; also the body of every 401.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    layout: Layout,
    /// Where a successful login leads (a hidden field).
    next: String,
    /// For a 401: why the form is shown instead of what was asked for.
    reason: Option<&'static str>,
}

impl Page for LoginPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// A timestamp as the "me" page shows it: UTC to the second, and how far
/// away.
#[derive(Debug)]
pub struct When {
    /// `2026-05-01 12:00:00 UTC`
    pub at: String,
    /// `in 29 min`, `3 min ago`
    pub relative: String,
}

impl When {
    pub(super) fn new(at: DateTime, now: DateTime) -> When {
        let text = at.try_to_rfc3339_string().unwrap_or_default();
        let seconds = (at.timestamp_millis() - now.timestamp_millis()) / 1000;
        let minutes = seconds.abs() / 60;
        let span = if minutes >= 120 {
            format!("{} h {} min", minutes / 60, minutes % 60)
        } else if minutes >= 1 {
            format!("{minutes} min")
        } else {
            format!("{} s", seconds.abs())
        };
        let relative = match seconds {
            0 => "just now".to_owned(),
            1.. => format!("in {span}"),
            _ => format!("{span} ago"),
        };
        When {
            at: format!("{} UTC", text.get(..19).unwrap_or(&text).replace('T', " ")),
            relative,
        }
    }
}

/// Who is logged in, and the session's life.
#[derive(Template)]
#[template(path = "me.html")]
pub struct MePage {
    layout: Layout,
    username: String,
    email: Option<String>,
    member_since: When,
    created: When,
    last_seen: When,
    idle_expires: When,
    absolute_expires: When,
    other_sessions: usize,
    csrf_token: String,
}

impl Page for MePage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// `GET /register`.
pub async fn register_form(app: &App, request: &Request) -> Reply {
    let context = Context::read(app, request).await?;
    let page = RegisterPage {
        layout: context.layout(app, request, "Register"),
        min_password: MIN_PASSWORD_CHARS,
    };
    Ok(respond(Status::OK, &page))
}

/// Refuses a form another site posted, with the 403 page.
fn same_origin(app: &App, request: &Request) -> Result<(), Refused> {
    csrf::check_origin(&request.head)
        .map_err(|refused| Refused::page(super::forbidden_page(app, request, None, refused)))
}

/// `POST /register`: the API's registration, answered with a redirect.
pub async fn register(app: &App, request: &Request) -> Reply {
    same_origin(app, request)?;
    let username = sent_value(request, "username");
    let email = sent_value(request, "email");
    let keep = [("username", username.as_ref()), ("email", email.as_ref())];
    let registration = form_fields(request, &["username", "password", "email"])
        .and_then(|mut fields| Registration::read(&mut fields));
    let registration = match registration {
        Ok(registration) => registration,
        Err(error) => return refusal(app, request, "/register", error.into(), &keep),
    };
    match create_account(app, registration).await {
        Ok(user) => {
            let note = Flash::notice(format!(
                "Account {} created. Log in to start a session.",
                user.username
            ))
            .keep("identifier", &user.username);
            Ok(redirect(app, request, "/login", Vec::new(), note))
        }
        Err(refused) => refusal(app, request, "/register", refused, &keep),
    }
}

/// The `next` query parameter of a request, if any.
fn next_param(request: &Request) -> Option<String> {
    let query = request.head.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "next")
        .map(|(_, value)| value.into_owned())
}

/// `GET /login`.
pub async fn login_form(app: &App, request: &Request) -> Reply {
    let context = Context::read(app, request).await?;
    let next = safe_next(next_param(request).as_deref()).to_owned();
    let page = LoginPage {
        layout: context.layout(app, request, "Log in"),
        next,
        reason: None,
    };
    Ok(respond(Status::OK, &page))
}

/// The 401 page: the login form, leading back to `/me` (a post cannot be
/// replayed after login; the user starts again from their page). A cookie
/// that named no live session is cleared.
pub fn unauthorized_page(app: &App, request: &Request, clear_cookie: bool) -> Response {
    let context = Context {
        clear_session: clear_cookie,
        ..Context::default()
    };
    let page = LoginPage {
        layout: context.layout(app, request, "Log in"),
        next: "/me".to_owned(),
        reason: Some(
            "You are not logged in (or your session has ended), so this cannot be done. \
             Log in and try again.",
        ),
    };
    respond(Status::UNAUTHORIZED, &page).header("www-authenticate", CHALLENGE)
}

/// `POST /login`: the API's login, answered with a redirect that sets the
/// session cookie.
pub async fn login(app: &App, request: &Request) -> Reply {
    same_origin(app, request)?;
    let identifier = sent_value(request, "identifier");
    let keep = [("identifier", identifier.as_ref())];
    let read = form_fields(request, &["identifier", "password", "next"]).and_then(|mut fields| {
        let next = fields.optional_string("next")?;
        Ok::<_, FieldError>((Credentials::read(&mut fields)?, next))
    });
    let next_sent = sent_value(request, "next");
    let back_to = login_location(safe_next(Some(&next_sent)));
    let (credentials, next) = match read {
        Ok(read) => read,
        Err(error) => return refusal(app, request, &back_to, error.into(), &keep),
    };
    match begin_session(app, request, credentials).await {
        Ok(LoggedIn { id, record }) => {
            let note = Flash::notice(format!(
                "Logged in as {}. A new session began; its id is in the cookie below.",
                record.user.username
            ));
            let cookie = app.policy.set_cookie(&id);
            Ok(redirect(
                app,
                request,
                safe_next(next.as_deref()),
                vec![cookie],
                note,
            ))
        }
        Err(refused) => refusal(app, request, &back_to, refused, &keep),
    }
}

/// How many live sessions the user has besides this one (other browsers, other devices):
/// what "log out everywhere" would end.
async fn other_sessions(app: &App, session: &ActiveSession) -> Result<usize, Refused> {
    let sessions = app.store.list_for_user(session.record.user.id).await?;
    Ok(sessions.len().saturating_sub(1))
}

/// `GET /me`: without a session, a redirect to the login form that leads
/// back here.
pub async fn me(app: &App, request: &Request) -> Reply {
    let context = Context::read(app, request).await?;
    let Some(session) = context.session.clone() else {
        let note = Flash::notice("Log in to see your session.");
        // The redirect sets a new note, so only a dead session cookie needs
        // clearing here.
        let cookies = context.session_removal(app);
        return Ok(redirect(
            app,
            request,
            &login_location("/me"),
            cookies,
            note,
        ));
    };
    let other_sessions = other_sessions(app, &session).await?;
    let now = DateTime::now();
    let record = &session.record;
    let page = MePage {
        username: record.user.username.clone(),
        email: record.user.email.clone(),
        member_since: When::new(record.user.created_at, now),
        created: When::new(record.created_at, now),
        last_seen: When::new(record.last_seen, now),
        idle_expires: When::new(record.idle_expires_at, now),
        absolute_expires: When::new(record.absolute_expires_at, now),
        other_sessions,
        csrf_token: record.csrf_token.clone(),
        layout: context.layout(app, request, "Me"),
    };
    Ok(respond(Status::OK, &page))
}

/// The end of both logouts: to the login form, the session cookie removed.
///
/// No `Clear-Site-Data` here, unlike the API: it would also wipe the flash
/// cookie set in this same response. `Max-Age=0` removes the session
/// cookie, and the session itself is already gone from the store.
fn logged_out(app: &App, request: &Request, note: Flash) -> Response {
    let removal = vec![app.policy.removal_cookie()];
    redirect(app, request, "/login", removal, note)
}

/// `POST /logout`: ends this session.
pub async fn logout(app: &App, request: &Request) -> Reply {
    let (session, _) = form_session(app, request, &[]).await?;
    manager::end(&*app.store, &session).await?;
    Ok(logged_out(
        app,
        request,
        Flash::notice("Logged out. The session is deleted on the server and its cookie removed."),
    ))
}

/// `POST /logout-all`: ends every session of the user, this one included.
pub async fn logout_all(app: &App, request: &Request) -> Reply {
    let (session, _) = form_session(app, request, &[]).await?;
    let ended = app
        .store
        .delete_all_for_user(session.record.user.id, None)
        .await?;
    Ok(logged_out(
        app,
        request,
        Flash::notice(format!(
            "Logged out everywhere: {ended} session(s) ended, on every device."
        )),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_and_distance() {
        let now = DateTime::from_millis(1_800_000_000_000);
        let at = |seconds: i64| DateTime::from_millis(1_800_000_000_000 + seconds * 1000);
        let soon = When::new(at(29 * 60 + 5), now);
        assert_eq!(soon.at, "2027-01-15 08:29:05 UTC");
        assert_eq!(soon.relative, "in 29 min");
        assert_eq!(When::new(at(-3), now).relative, "3 s ago");
        assert_eq!(When::new(at(0), now).relative, "just now");
        assert_eq!(
            When::new(at(12 * 3600 - 60), now).relative,
            "in 11 h 59 min"
        );
    }
}
