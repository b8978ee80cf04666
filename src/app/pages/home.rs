//! The home page: a welcome, and the recent posts.
//!
//! The page takes its posts as a list of [`PostView`]s: plain strings,
//! already chosen and formatted, so the template knows nothing about the
//! store: the newest [`RECENT_POSTS`], each linking to its page.

use askama::Template;

use bson::DateTime;
use bson::oid::ObjectId;

use super::account::When;
use super::posts::{author_name, tags, text};
use super::{Context, Layout, Page, respond};
use crate::app::App;
use crate::app::reply::{Refused, Reply};
use crate::http::{Request, Status};
use crate::store::{FindOptions, PostFilter, PostStore};

/// Posts the home page lists.
pub const RECENT_POSTS: u64 = 20;

/// One post as the home page lists it.
#[derive(Debug, Clone)]
pub struct PostView {
    /// The post's id, in hex, for its link.
    pub id: String,
    /// The title, as written (the template escapes it).
    pub title: String,
    /// The author's username.
    pub author: String,
    /// When it was written, formatted for reading.
    pub written: String,
    /// Its tags.
    pub tags: Vec<String>,
}

/// The home page.
#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    layout: Layout,
    posts: Vec<PostView>,
}

impl Page for HomePage {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// `GET /`.
pub async fn show(app: &App, request: &Request) -> Reply {
    let context = Context::read(app, request).await?;
    let posts = recent(app).await?;
    let page = HomePage {
        layout: context.layout(app, request, "Home"),
        posts,
    };
    Ok(respond(Status::OK, &page))
}

/// The recent posts for the home page, newest first.
///
/// # Errors
///
/// When the store does not answer.
async fn recent(app: &App) -> Result<Vec<PostView>, Refused> {
    let options = FindOptions {
        limit: Some(RECENT_POSTS),
        ..FindOptions::default()
    };
    let mut cursor = app.store.find(PostFilter::default(), options).await?;
    // Authors often repeat on one page: each name is looked up once.
    let mut names: Vec<(ObjectId, String)> = Vec::new();
    let mut posts = Vec::new();
    let now = DateTime::now();
    while let Some(document) = cursor.next().await {
        let document = document?;
        let Ok(id) = document.get_object_id("_id") else {
            continue;
        };
        let author_id = document.get_object_id("author").ok();
        let author = match names.iter().find(|(seen, _)| Some(*seen) == author_id) {
            Some((_, name)) => name.clone(),
            None => {
                let name = author_name(app, &document).await?;
                if let Some(author_id) = author_id {
                    names.push((author_id, name.clone()));
                }
                name
            }
        };
        let written = document
            .get_datetime("created_at")
            .map_or_else(|_| String::new(), |at| When::new(*at, now).at);
        posts.push(PostView {
            id: id.to_hex(),
            title: text(&document, "title"),
            author,
            written,
            tags: tags(&document),
        });
    }
    Ok(posts)
}
