//! The home page: a welcome, and the recent posts.
//!
//! The page takes its posts as a list of [`PostView`]s: plain strings,
//! already chosen and formatted, so the template knows nothing about the
//! store. [`posts::recent`] reads them: the newest
//! [`RECENT_POSTS`](posts::RECENT_POSTS), each linking to its page.

use askama::Template;

use super::{Context, Layout, Page, posts, respond};
use crate::app::App;
use crate::http::Request;
use crate::http::{Response, Status};

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
pub async fn show(app: &App, request: &Request) -> Response {
    let context = match Context::read(app, request).await {
        Ok(context) => context,
        Err(response) => return response,
    };
    let posts = match posts::recent(app, request).await {
        Ok(posts) => posts,
        Err(response) => return response,
    };
    let page = HomePage {
        layout: context.layout(app, request, "Home"),
        posts,
    };
    respond(Status::OK, &page)
}
