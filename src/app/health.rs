//! `GET /health`: can this server do its work right now?
//!
//! ```text
//! GET /health HTTP/1.1      HTTP/1.1 200 OK                     HTTP/1.1 503 Service Unavailable
//! Host: localhost           content-type: text/plain; ...       retry-after: 1
//!                           content-length: 3                   content-length: 38
//!
//!                           ok                                  degraded: the database is unreachable
//! ```
//!
//! A load balancer or orchestrator polls this to decide where to send traffic, so
//! it must answer at once even when the database does not: it reads the store's
//! last-known state (see [`Store::is_reachable`]) instead of asking the database.
//! While the database is down the process still serves what needs no data (this
//! endpoint, the static pages) and answers everything else with 503, so the
//! honest answer is 503 *degraded*: send traffic elsewhere, but do not restart
//! me — when the database returns, so does `ok`, by itself.

use crate::http::{Response, Status};
use crate::store::Store;

/// The health response for a server over `store`.
pub fn get(store: &Store) -> Response {
    if store.is_reachable() {
        Response::text(Status::OK, "ok\n")
    } else {
        Response::text(
            Status::SERVICE_UNAVAILABLE,
            "degraded: the database is unreachable\n",
        )
        .header("retry-after", "1")
    }
}
