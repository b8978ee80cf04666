//! The one error type every store returns.
//!
//! Callers (the HTTP layer) never see a driver error or a redb error: each backend converts
//! its own failures into a [`StoreError`]; its docs list what each variant means.

use std::fmt;

/// Why a store operation failed.
///
/// A handler decides the response status by matching on a variant, never on
/// backend-specific codes. The split follows what a caller can do about the failure:
///
/// | variant | what it means | typical HTTP status |
/// |---|---|---|
/// | [`StoreError::Duplicate`] | a unique field is taken | 409 |
/// | [`StoreError::InvalidUpdate`], [`StoreError::InvalidDocument`], [`StoreError::InvalidQuery`] | the request was malformed; rejected before it reached the data | 400 |
/// | [`StoreError::AfterPostMissing`] | a page was asked for after a post that is not there | 404 |
/// | [`StoreError::UpdateFailed`] | a well-formed update does not fit the stored document | 409 |
/// | [`StoreError::Unavailable`] | the database cannot be reached right now; retry later | 503 |
/// | [`StoreError::Config`] | start-up configuration is wrong | exit non-zero |
/// | [`StoreError::Decode`] | a stored document does not fit its model | 500 |
/// | [`StoreError::Backend`] | anything else: a bug or a broken disk | 500 |
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A unique field already holds this value (MongoDB's duplicate key error, code 11000).
    #[error("duplicate value for unique field `{field}`")]
    Duplicate {
        /// The field whose uniqueness was violated, e.g. `username` or `email`.
        field: String,
    },

    /// An update was rejected by validation, before either backend ran it: an unknown
    /// operator, a bad field path, an operator on `_id`, conflicting paths, a bad operand.
    #[error("invalid update at `{path}`: {reason}")]
    InvalidUpdate {
        /// The offending field path (empty when the update as a whole is wrong).
        path: String,
        /// A sentence for the client.
        reason: String,
    },

    /// A document to insert has a field name that cannot be stored safely.
    #[error("invalid document field `{field}`: {reason}")]
    InvalidDocument {
        /// The offending field name.
        field: String,
        /// A sentence for the client.
        reason: String,
    },

    /// A page was asked for after a post that does not exist (or no longer does): the
    /// query is well formed, but the position it starts from is not there.
    #[error("`after` names post {after}, which does not exist")]
    AfterPostMissing {
        /// The id in `after`.
        after: bson::oid::ObjectId,
    },

    /// A query cannot run as asked (for example paging after a post that lacks the
    /// field the page is sorted by).
    #[error("invalid query: {reason}")]
    InvalidQuery {
        /// A sentence for the client.
        reason: String,
    },

    /// A valid update could not be applied to the document it matched, for instance `$inc`
    /// on a string. MongoDB reports these at run time with a server error code; the embedded
    /// store reports the same [`UpdateFailure`] kind for the same document.
    #[error("update failed ({kind}) at `{path}`: {message}")]
    UpdateFailed {
        /// Which rule was broken.
        kind: UpdateFailure,
        /// The field path that failed (empty in the rare case the MongoDB store cannot tell
        /// which one the server refused).
        path: String,
        /// A sentence for the client, the same from both backends: the MongoDB store
        /// explains a server refusal with the update engine rather than passing the
        /// server's message on.
        message: String,
    },

    /// The database cannot be reached (server selection timed out, connection refused or
    /// dropped). The operation may be retried once the database is back.
    #[error("database unavailable: {0}")]
    Unavailable(String),

    /// Start-up configuration is wrong; the message names the environment variable or option.
    #[error("configuration error in {variable}: {reason}")]
    Config {
        /// The environment variable or command-line option at fault, e.g. `MONGODB_URI`.
        variable: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A stored document does not have the shape its model expects.
    #[error("stored document does not decode: {0}")]
    Decode(String),

    /// Any other backend failure: an I/O error on the embedded file, an unexpected server
    /// reply. Not the client's fault and not retryable as far as we know.
    #[error("store backend error: {0}")]
    Backend(String),
}

/// The kinds of run-time update failure, named after the MongoDB server error that reports
/// each one, so a reader can look them up in MongoDB's documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateFailure {
    /// MongoDB code 14 `TypeMismatch`: an arithmetic operator (`$inc`, `$mul`) met a value
    /// that is not a number.
    TypeMismatch,
    /// MongoDB code 28 `PathNotViable`: a dotted path runs through a value that cannot hold
    /// fields, such as `a.b` when `a` is the number 5.
    PathNotViable,
    /// MongoDB code 2 `BadValue`: the operation is well formed but the result is not
    /// allowed, such as a 64-bit integer overflow or `$rename` through an array element.
    BadValue,
}

impl fmt::Display for UpdateFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpdateFailure::TypeMismatch => "TypeMismatch",
            UpdateFailure::PathNotViable => "PathNotViable",
            UpdateFailure::BadValue => "BadValue",
        })
    }
}

impl StoreError {
    /// Shorthand for an [`StoreError::InvalidUpdate`].
    pub(crate) fn invalid_update(path: impl Into<String>, reason: impl Into<String>) -> Self {
        StoreError::InvalidUpdate {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for an [`StoreError::UpdateFailed`].
    pub(crate) fn update_failed(
        kind: UpdateFailure,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        StoreError::UpdateFailed {
            kind,
            path: path.into(),
            message: message.into(),
        }
    }

    /// True when the database could not be reached; the HTTP layer answers 503.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}
