//! `GET /static/style.css`: the one stylesheet, compiled into the binary.
//!
//! Served by us rather than a CDN so the demo works offline, and from our
//! own origin so the pages' `Content-Security-Policy` (`default-src 'self'`)
//! allows it.

use crate::http::{Response, Status};

/// The stylesheet, from `static/style.css` at build time.
const STYLE: &str = include_str!("../../../static/style.css");

/// `GET /static/style.css`.
pub fn get() -> Response {
    Response::new(Status::OK)
        .content_type("text/css; charset=utf-8")
        // Shared caches may keep it for a while: it changes only with a new
        // build, and holds nothing about anyone.
        .header("cache-control", "public, max-age=300")
        .body(STYLE.as_bytes())
}
