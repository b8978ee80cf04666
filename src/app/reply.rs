//! What every handler returns: a [`Reply`], `Ok` with its answer or `Err` with the
//! [`Refused`] that ended it early.
//!
//! A handler stops at its first problem with `?`. Each kind of problem converts into a
//! `Refused` here, in one place, with the status that says what went wrong:
//!
//! | error | status |
//! |---|---|
//! | [`FieldError`]: a field missing, mistyped or taken | 400, 415 or 409, naming the field |
//! | [`CsrfError`]: another site's request, no or a wrong CSRF token | 403 |
//! | [`LimitError`]: more cookies than the limits allow | 431 |
//! | [`StoreError`]: the database | 503 with `Retry-After` while it is away; 409 for a taken value; 400 for an update or query the store refused; 500 |
//! | [`SessionError`]: the store, or no randomness for an id | 503 or 500 |
//!
//! Where the answer is not an error's (a 401 carrying its challenge, a page, a redirect), the
//! handler builds it and refuses with it: [`Refused::with`] for the API, [`Refused::page`]
//! for the browser pages.
//!
//! A refusal from an error is the API's JSON answer, `{"error": "...", "field": "..."}`. A
//! browser page that meets one shows the same status as an HTML page instead
//! ([`Refused::into_page_response`], given the page renderer), so a page never answers
//! with JSON.

use crate::app::csrf::CsrfError;
use crate::app::fields::FieldError;
use crate::http::cookie::LimitError;
use crate::http::{Response, Status};
use crate::session::manager::SessionError;
use crate::store::StoreError;

/// What a handler returns.
pub type Reply = Result<Response, Refused>;

/// Why a handler stopped before its answer, with the answer to send instead.
#[derive(Debug)]
pub enum Refused {
    /// An error's answer, in the API's JSON (see the module docs); a page shows its status
    /// as HTML instead.
    Error(Response),
    /// A page's own answer (an HTML page, a redirect): sent as it is.
    Page(Response),
}

impl Refused {
    /// Refuses with an answer the handler built (a 401 with its challenge, say).
    pub fn with(response: Response) -> Refused {
        Refused::Error(response)
    }

    /// Refuses with a page's own answer.
    pub fn page(response: Response) -> Refused {
        Refused::Page(response)
    }

    /// The API's answer.
    pub fn into_response(self) -> Response {
        match self {
            Refused::Error(response) | Refused::Page(response) => response,
        }
    }

    /// A page's answer: a page's own, or for an error the HTML page `render` makes of it.
    pub fn into_page_response(self, render: impl FnOnce(&Response) -> Response) -> Response {
        match self {
            Refused::Page(response) => response,
            Refused::Error(response) => render(&response),
        }
    }
}

impl From<FieldError> for Refused {
    fn from(error: FieldError) -> Refused {
        Refused::Error(error.into_response())
    }
}

impl From<CsrfError> for Refused {
    fn from(error: CsrfError) -> Refused {
        Refused::Error(Response::error(Status::FORBIDDEN, error.message()))
    }
}

impl From<LimitError> for Refused {
    fn from(error: LimitError) -> Refused {
        Refused::Error(Response::error(
            Status::REQUEST_HEADER_FIELDS_TOO_LARGE,
            &error.to_string(),
        ))
    }
}

impl From<StoreError> for Refused {
    fn from(error: StoreError) -> Refused {
        Refused::Error(store_failure(&error))
    }
}

impl From<SessionError> for Refused {
    fn from(error: SessionError) -> Refused {
        match error {
            SessionError::Store(error) => error.into(),
            SessionError::Random => {
                tracing::error!("random source failed");
                Refused::Error(internal_error())
            }
        }
    }
}

/// The answer for a store error: 503 while the database is away (the next request tries
/// again), 409 for a taken unique value or an update that does not fit the stored post,
/// 404 for an `after` that names no post, 400 for what else the client asked that the
/// store refused (an unsafe field name), 500 otherwise.
fn store_failure(error: &StoreError) -> Response {
    match error {
        StoreError::Unavailable(_) => Response::error(
            Status::SERVICE_UNAVAILABLE,
            "database unavailable; try again shortly",
        )
        .header("retry-after", "1"),
        StoreError::Duplicate { field } => FieldError::taken(field).into_response(),
        StoreError::InvalidUpdate { path, reason } => {
            FieldError::field(path, reason.clone()).into_response()
        }
        StoreError::InvalidDocument { field, reason } => {
            FieldError::field(field, reason.clone()).into_response()
        }
        StoreError::AfterPostMissing { .. } => FieldError::field("after", error.to_string())
            .with_status(Status::NOT_FOUND)
            .into_response(),
        StoreError::InvalidQuery { reason } => Response::error(Status::BAD_REQUEST, reason),
        // The update is well formed; it is the stored post it meets that it cannot be
        // applied to (RFC 5789 §2.2: "conflicting state", 409).
        StoreError::UpdateFailed { path, message, .. } => FieldError::field(path, message.clone())
            .with_status(Status::CONFLICT)
            .into_response(),
        other => {
            tracing::error!(error = %other, "store failure");
            internal_error()
        }
    }
}

/// The 500 that says nothing about the server's insides.
pub fn internal_error() -> Response {
    Response::error(Status::INTERNAL_SERVER_ERROR, "internal error")
}
