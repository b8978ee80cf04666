//! Driver errors, translated into the store's neutral [`StoreError`]: duplicate key (11000)
//! becomes [`StoreError::Duplicate`] naming the field, update failures (14, 28, 2) become
//! [`StoreError::UpdateFailed`] with the same [`UpdateFailure`] the embedded store reports,
//! and anything meaning "could not reach a server" becomes [`StoreError::Unavailable`].

use mongodb::error::{ErrorKind, WriteFailure};

use crate::store::{StoreError, UpdateFailure};

/// Translates a driver error into a [`StoreError`] (see the module docs).
pub(crate) fn map_error(error: mongodb::error::Error) -> StoreError {
    match error.kind.as_ref() {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Shutdown => StoreError::Unavailable(error.to_string()),
        ErrorKind::Write(WriteFailure::WriteError(e)) => from_code(e.code, &e.message),
        ErrorKind::Write(WriteFailure::WriteConcernError(e)) => from_code(e.code, &e.message),
        ErrorKind::Command(e) => from_code(e.code, &e.message),
        ErrorKind::InsertMany(e) => match e.write_errors.as_ref().and_then(|errors| errors.first())
        {
            Some(first) => from_code(first.code, &first.message),
            None => StoreError::Backend(error.to_string()),
        },
        _ => StoreError::Backend(error.to_string()),
    }
}

/// Translates a server error code.
fn from_code(code: i32, message: &str) -> StoreError {
    match code {
        11000 => StoreError::Duplicate {
            field: duplicate_field(message),
        },
        // The server's message is replaced before it reaches a client: the MongoDB store
        // explains the refusal with the update engine (`mongo::posts`), path and all.
        14 => StoreError::update_failed(UpdateFailure::TypeMismatch, "", message),
        28 => StoreError::update_failed(UpdateFailure::PathNotViable, "", message),
        2 => StoreError::update_failed(UpdateFailure::BadValue, "", message),
        // The server is shutting down or stepping down: as good as unreachable; retry later.
        // (91 ShutdownInProgress, 189 PrimarySteppedDown, 10107 NotWritablePrimary,
        // 11600 InterruptedAtShutdown, 13435 NotPrimaryNoSecondaryOk)
        91 | 189 | 10107 | 11600 | 13435 => StoreError::Unavailable(message.to_string()),
        _ => StoreError::Backend(format!("server error {code}: {message}")),
    }
}

/// Which field a duplicate key error is about. MongoDB writes
/// `E11000 duplicate key error collection: db.users index: username_unique dup key: {...}`;
/// we read the index name, which is ours, rather than the key, which is user input.
/// Without a known index name the answer is `_id`; `create_user` then asks
/// the database which value is taken (FerretDB's message names no index).
fn duplicate_field(message: &str) -> String {
    let index = message
        .split_once("index: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or_default();
    match index {
        "username_unique" => "username",
        "email_unique" => "email",
        _ => "_id",
    }
    .to_string()
}
