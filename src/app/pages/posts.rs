//! The post pages: write a post, read it, edit it.
//!
//! ```text
//! GET  /posts/new        the form: title, body, tags; 303 /login?next=… without a session
//! POST /posts/new        → 303 /posts/{id} (note: "published"), or back to the form
//! GET  /posts/{id}       one post; an Edit link for its author
//! GET  /posts/{id}/edit  the form, filled in; the author only (403 page for others)
//! POST /posts/{id}/edit  → 303 /posts/{id} (note: "saved"), or back to the form
//! ```
//!
//! The field rules are the API's: a form is turned into the JSON object the
//! API would receive and checked by [`new_post_fields`], so a title of 201
//! characters is refused here with the same words as by `POST /api/posts`.
//! An edit writes what the API's `PATCH` would: `$set` of the three fields
//! plus `$currentDate: {updated_at: true}`.
//!
//! Tags are typed as one line, `rust, http`: split at commas, trimmed,
//! blanks dropped. A missing post is a 404 page, an id that is not 24 hex
//! digits a 400 page.

use askama::Template;
use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document};
use serde_json::json;

use super::account::When;
use super::flash::Flash;
use super::{
    Context, Layout, Page, field_message, form_session, login_location, problem_page, redirect,
    respond, sent_value,
};
use crate::app::App;
use crate::app::fields::{FieldError, Fields};
use crate::app::post_json::{MAX_TITLE_CHARS, NewPostFields, new_post_fields};
use crate::app::reply::{Refused, Reply};
use crate::http::{Request, Response, Status};
use crate::session::manager::ActiveSession;
use crate::store::{PostStore, Update, UserStore};

/// The form fields a post page takes, besides `csrf_token`.
const FORM_FIELDS: [&str; 3] = ["title", "body", "tags"];

/// The counters a post may carry, in the order the page shows them.
const COUNTERS: [&str; 4] = ["likes", "views", "rating", "score"];

/// The form for a new post and for an edit: the same fields, another
/// target.
#[derive(Template)]
#[template(path = "post_form.html")]
pub struct PostFormPage {
    layout: Layout,
    /// Where the form posts to.
    action: String,
    /// Where "cancel" leads.
    cancel: String,
    /// The values the fields start with.
    title: String,
    body: String,
    tags: String,
    csrf_token: String,
    max_title: usize,
}

impl Page for PostFormPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// One post, as its page shows it.
#[derive(Template)]
#[template(path = "post.html")]
pub struct PostPage {
    layout: Layout,
    id: String,
    title: String,
    body: String,
    author: String,
    tags: Vec<String>,
    created: When,
    /// Set when the post was edited after it was written.
    updated: Option<When>,
    /// `(name, value)` for each counter the post has.
    counters: Vec<(&'static str, String)>,
    /// Whether the reader wrote it, and so gets the Edit link.
    is_author: bool,
}

impl Page for PostPage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// The `{id}` of `/posts/{id}` or `/posts/{id}/edit`, or `None` if it is
/// not an id.
fn path_id(request: &Request) -> Option<ObjectId> {
    let rest = request.head.path().strip_prefix("/posts/")?;
    let id = rest.strip_suffix("/edit").unwrap_or(rest);
    ObjectId::parse_str(id).ok()
}

/// The 400 page for an id that is not one.
fn bad_id_page(app: &App, request: &Request, session: Option<&ActiveSession>) -> Refused {
    Refused::page(problem_page(
        app,
        request,
        session,
        Status::BAD_REQUEST,
        "Bad post id",
        "A post id is 24 hexadecimal digits; this address does not hold one.".to_owned(),
    ))
}

/// A post read from the store, or the page to answer instead (404, 403, a failure). With
/// `author_only`, a post by someone else is refused.
async fn load(
    app: &App,
    request: &Request,
    session: Option<&ActiveSession>,
    id: ObjectId,
    author_only: bool,
) -> Result<Document, Refused> {
    let Some(document) = app.store.find_one(id).await? else {
        return Err(Refused::page(problem_page(
            app,
            request,
            session,
            Status::NOT_FOUND,
            "No such post",
            "There is no post with this id. It may have been deleted.".to_owned(),
        )));
    };
    if author_only && !written_by(&document, session) {
        return Err(Refused::page(problem_page(
            app,
            request,
            session,
            Status::FORBIDDEN,
            "Not allowed",
            "Only the author of a post may edit it.".to_owned(),
        )));
    }
    Ok(document)
}

/// Whether the session's user wrote the post.
fn written_by(document: &Document, session: Option<&ActiveSession>) -> bool {
    match (document.get("author"), session) {
        (Some(Bson::ObjectId(author)), Some(session)) => *author == session.record.user.id,
        _ => false,
    }
}

/// A string field of a stored post, `""` when absent. The API may `$unset`
/// a body, so a page must not assume every field is there.
pub(super) fn text(document: &Document, field: &str) -> String {
    document.get_str(field).unwrap_or_default().to_owned()
}

/// The tags of a stored post.
pub(super) fn tags(document: &Document) -> Vec<String> {
    document
        .get_array("tags")
        .map(|tags| {
            tags.iter()
                .filter_map(|tag| tag.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A counter's value as text, for the numbers the API stores.
fn counter(value: &Bson) -> Option<String> {
    match value {
        Bson::Int32(number) => Some(number.to_string()),
        Bson::Int64(number) => Some(number.to_string()),
        Bson::Double(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The username of a post's author. A post whose author cannot be found
/// still shows, with "unknown" in place of the name.
pub(super) async fn author_name(app: &App, document: &Document) -> Result<String, Refused> {
    let Ok(author) = document.get_object_id("author") else {
        return Ok("unknown".to_owned());
    };
    let user = app.store.identity_by_id(author).await?;
    Ok(user.map_or_else(|| "unknown".to_owned(), |user| user.username))
}

/// The form's fields, checked by the API's rules: they are put into the
/// JSON object a client of `POST /api/posts` would send.
fn checked_fields(mut fields: Fields) -> Result<NewPostFields, FieldError> {
    let title = fields.optional_string("title")?.unwrap_or_default();
    let body = fields.optional_string("body")?.unwrap_or_default();
    let tags = fields.optional_string("tags")?.unwrap_or_default();
    let tags: Vec<&str> = tags
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .collect();
    new_post_fields("", &json!({ "title": title, "body": body, "tags": tags }))
}

/// Back to the form at `form` with the problem and what was typed (each
/// kept value is cut short by the flash cookie's limits).
fn back_to_form(app: &App, request: &Request, form: &str, error: &FieldError) -> Response {
    let note = FORM_FIELDS.iter().fold(
        Flash::error(field_message(error.field.as_deref(), &error.message)),
        |note, name| note.keep(name, &sent_value(request, name)),
    );
    redirect(app, request, form, Vec::new(), note)
}

/// `GET /posts/new`.
pub async fn new_form(app: &App, request: &Request) -> Reply {
    let context = Context::read(app, request).await?;
    let Some(session) = context.session.clone() else {
        return Ok(to_login(app, request, &context, "/posts/new"));
    };
    let layout = context.layout(app, request, "New post");
    let page = PostFormPage {
        action: "/posts/new".to_owned(),
        cancel: "/".to_owned(),
        title: layout.kept("title").to_owned(),
        body: layout.kept("body").to_owned(),
        tags: layout.kept("tags").to_owned(),
        csrf_token: session.record.csrf_token,
        max_title: MAX_TITLE_CHARS,
        layout,
    };
    Ok(respond(Status::OK, &page))
}

/// The redirect to the login form for a page that needs a session, leading
/// back to `next`.
fn to_login(app: &App, request: &Request, context: &Context, next: &str) -> Response {
    let note = Flash::notice("Log in to write or edit posts.");
    let cookies = context.session_removal(app);
    redirect(app, request, &login_location(next), cookies, note)
}

/// `POST /posts/new`: `insert_one`, then to the new post's page.
pub async fn create(app: &App, request: &Request) -> Reply {
    let (session, fields) = form_session(app, request, &FORM_FIELDS).await?;
    let fields = match checked_fields(fields) {
        Ok(fields) => fields,
        Err(error) => return Ok(back_to_form(app, request, "/posts/new", &error)),
    };
    let post = fields.into_new_post(session.record.user.id, DateTime::now());
    let id = app.store.insert_one(post).await?;
    let note = Flash::notice("Post published.");
    Ok(redirect(
        app,
        request,
        &format!("/posts/{id}"),
        Vec::new(),
        note,
    ))
}

/// `GET /posts/{id}`.
pub async fn show(app: &App, request: &Request) -> Reply {
    let context = Context::read(app, request).await?;
    let session = context.session.as_ref();
    let id = path_id(request).ok_or_else(|| bad_id_page(app, request, session))?;
    let document = load(app, request, session, id, false).await?;
    let author = author_name(app, &document).await?;
    let now = DateTime::now();
    let created = document.get_datetime("created_at").ok().copied();
    let updated = document.get_datetime("updated_at").ok().copied();
    let page = PostPage {
        id: id.to_hex(),
        title: text(&document, "title"),
        body: text(&document, "body"),
        author,
        tags: tags(&document),
        created: When::new(created.unwrap_or(now), now),
        updated: updated
            .filter(|updated| Some(*updated) != created)
            .map(|updated| When::new(updated, now)),
        counters: COUNTERS
            .iter()
            .filter_map(|name| Some((*name, counter(document.get(name)?)?)))
            .collect(),
        is_author: written_by(&document, session),
        layout: context.layout(app, request, "Post"),
    };
    Ok(respond(Status::OK, &page))
}

/// `GET /posts/{id}/edit`: the form, filled with the post, or with what
/// was typed if the last save was refused.
pub async fn edit_form(app: &App, request: &Request) -> Reply {
    let context = Context::read(app, request).await?;
    let id = path_id(request).ok_or_else(|| bad_id_page(app, request, context.session.as_ref()))?;
    let Some(session) = context.session.clone() else {
        return Ok(to_login(
            app,
            request,
            &context,
            &format!("/posts/{id}/edit"),
        ));
    };
    let document = load(app, request, Some(&session), id, true).await?;
    let layout = context.layout(app, request, "Edit post");
    let retry = layout.flash.as_ref().is_some_and(Flash::is_error);
    let value = |name: &str, stored: String| {
        if retry {
            layout.kept(name).to_owned()
        } else {
            stored
        }
    };
    let page = PostFormPage {
        action: format!("/posts/{id}/edit"),
        cancel: format!("/posts/{id}"),
        title: value("title", text(&document, "title")),
        body: value("body", text(&document, "body")),
        tags: value("tags", tags(&document).join(", ")),
        csrf_token: session.record.csrf_token,
        max_title: MAX_TITLE_CHARS,
        layout,
    };
    Ok(respond(Status::OK, &page))
}

/// `POST /posts/{id}/edit`: `update_one` with `$set` and `$currentDate`,
/// then back to the post.
pub async fn edit(app: &App, request: &Request) -> Reply {
    let (session, fields) = form_session(app, request, &FORM_FIELDS).await?;
    let id = path_id(request).ok_or_else(|| bad_id_page(app, request, Some(&session)))?;
    load(app, request, Some(&session), id, true).await?;
    let fields = match checked_fields(fields) {
        Ok(fields) => fields,
        Err(error) => {
            return Ok(back_to_form(
                app,
                request,
                &format!("/posts/{id}/edit"),
                &error,
            ));
        }
    };
    let update = Update::new()
        .set("title", fields.title)
        .set("body", fields.body)
        .set("tags", fields.tags)
        .current_date("updated_at");
    let outcome = app.store.update_one(id, &update, false).await?;
    if outcome.matched == 1 {
        let note = Flash::notice("Post saved.");
        return Ok(redirect(
            app,
            request,
            &format!("/posts/{id}"),
            Vec::new(),
            note,
        ));
    }
    // Deleted between the check and the update.
    Err(Refused::page(problem_page(
        app,
        request,
        Some(&session),
        Status::NOT_FOUND,
        "No such post",
        "The post was deleted before your changes could be saved.".to_owned(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_read_as_plain_numbers() {
        assert_eq!(counter(&Bson::Int32(3)).as_deref(), Some("3"));
        assert_eq!(counter(&Bson::Double(4.5)).as_deref(), Some("4.5"));
        assert_eq!(counter(&Bson::String("x".into())), None);
    }

    #[test]
    fn a_post_without_body_or_tags_still_reads() {
        let document = bson::doc! { "title": "t" };
        assert_eq!(text(&document, "body"), "");
        assert!(tags(&document).is_empty());
    }
}
