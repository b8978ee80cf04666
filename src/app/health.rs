//! `GET /health`: answers `ok` while the server is able to serve.
//!
//! ```text
//! GET /health HTTP/1.1      HTTP/1.1 200 OK
//! Host: localhost           content-type: text/plain; charset=utf-8
//!                           content-length: 3
//!
//!                           ok
//! ```

use crate::http::{Response, Status};

/// The health response.
pub fn get() -> Response {
    Response::text(Status::OK, "ok\n")
}
