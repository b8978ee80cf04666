//! The embedded file's tables, and its format versions.
//!
//! `meta` records which layout the file has: 1 (no `meta` table yet), 2
//! (`sessions_by_expiry` added), 3 (each session carries a copy of its user, see
//! [`Identity`](crate::store::Identity)), 4 (the posts' indexes, see
//! [`post_index`](super::post_index)). Opening an older file brings it up to date in the
//! same write transaction that creates the tables: sessions get their user copied in (a
//! session whose user is gone is deleted), the expiry index and the posts' indexes are
//! built, the version recorded.
//! A crash midway leaves the old file, which the next open upgrades again, since redb commits
//! a transaction whole or not at all. A file from a newer groundup is refused rather than
//! misread.

use std::path::Path;

use redb::{Database, MultimapTableDefinition, ReadableTable, TableDefinition, WriteTransaction};

use super::post_index::{PostIndexes, PostKeys, post_id, raw};
use super::{backend, begin_write, decode, decode_record, encode, get_record};
use crate::store::config::{POSTS, SESSIONS, USERS};
use crate::store::models::to_document;
use crate::store::{SessionRecord, StoreError, User};

pub(super) const USERS_TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new(USERS);
pub(super) const USERS_BY_USERNAME: TableDefinition<&str, &[u8]> =
    TableDefinition::new("users_by_username");
pub(super) const USERS_BY_EMAIL: TableDefinition<&str, &[u8]> =
    TableDefinition::new("users_by_email");
pub(super) const SESSIONS_TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new(SESSIONS);
pub(super) const SESSIONS_BY_USER: MultimapTableDefinition<&[u8], &str> =
    MultimapTableDefinition::new("sessions_by_user");
/// Sessions by the moment they expire (ms since the epoch), then id hash.
pub(super) const SESSIONS_BY_EXPIRY: TableDefinition<(i64, &str), ()> =
    TableDefinition::new("sessions_by_expiry");
/// The `sessions_by_expiry` key of a session: when it ends, then its id, so a range scan
/// from the start finds the expired ones first.
pub(super) fn expiry_key(record: &SessionRecord) -> (i64, &str) {
    (
        record.expires_at().timestamp_millis(),
        record.id_hash.as_str(),
    )
}
pub(super) const POSTS_TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new(POSTS);
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// The layout this code reads and writes (see the module docs).
pub(super) const FORMAT_VERSION: u64 = 4;
/// The layout of a file that has no `meta` table: before `sessions_by_expiry`.
pub(super) const FIRST_FORMAT: u64 = 1;

/// Creates every table (so read transactions never meet a missing one) and brings an older
/// file up to [`FORMAT_VERSION`], in one write transaction (see the module docs).
///
/// # Errors
///
/// A file of a newer format; any redb failure.
pub(super) fn prepare(db: &Database, file: &Path) -> Result<(), StoreError> {
    // Create every table up front, so read transactions never meet a missing one,
    // and bring an older file up to this format, in the same transaction.
    let txn = begin_write(db)?;
    let found = txn
        .open_table(META)
        .map_err(backend)?
        .get("format")
        .map_err(backend)?
        .map_or(FIRST_FORMAT, |version| version.value());
    if found > FORMAT_VERSION {
        return Err(backend(format!(
            "{} has format {found}, newer than this groundup reads ({FORMAT_VERSION})",
            file.display()
        )));
    }
    txn.open_table(USERS_TABLE).map_err(backend)?;
    txn.open_table(USERS_BY_USERNAME).map_err(backend)?;
    txn.open_table(USERS_BY_EMAIL).map_err(backend)?;
    txn.open_table(SESSIONS_TABLE).map_err(backend)?;
    txn.open_multimap_table(SESSIONS_BY_USER).map_err(backend)?;
    txn.open_table(SESSIONS_BY_EXPIRY).map_err(backend)?;
    txn.open_table(POSTS_TABLE).map_err(backend)?;
    PostIndexes::open(&txn)?;
    if found < FORMAT_VERSION {
        if found < 3 {
            copy_users_into_sessions(&txn)?;
        }
        if found < 2 {
            index_session_expiry(&txn)?;
        }
        if found < 4 {
            let posts = index_posts(&txn)?;
            tracing::info!("{}: indexed {posts} posts", file.display());
        }
        txn.open_table(META)
            .map_err(backend)?
            .insert("format", FORMAT_VERSION)
            .map_err(backend)?;
        tracing::info!(
            "{}: upgraded from format {found} to {FORMAT_VERSION}",
            file.display()
        );
    }
    txn.commit().map_err(backend)
}

/// Builds `sessions_by_expiry` from the sessions table (format 1 → 2).
fn index_session_expiry(txn: &WriteTransaction) -> Result<(), StoreError> {
    let sessions = txn.open_table(SESSIONS_TABLE).map_err(backend)?;
    let mut by_expiry = txn.open_table(SESSIONS_BY_EXPIRY).map_err(backend)?;
    for entry in sessions.iter().map_err(backend)? {
        let (_, bytes) = entry.map_err(backend)?;
        let record: SessionRecord = decode_record(bytes.value())?;
        by_expiry.insert(expiry_key(&record), ()).map_err(backend)?;
    }
    Ok(())
}

/// Builds the posts' indexes from the posts table (format 3 → 4); the number of posts.
pub(super) fn index_posts(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let posts = txn.open_table(POSTS_TABLE).map_err(backend)?;
    let mut indexes = PostIndexes::open(txn)?;
    let mut count = 0;
    for entry in posts.iter().map_err(backend)? {
        let (id, bytes) = entry.map_err(backend)?;
        indexes.insert(post_id(id.value())?, &PostKeys::of(raw(bytes.value())?))?;
        count += 1;
    }
    Ok(count)
}

/// Format 2 → 3: each session gets a copy of its user in place of the bare `user_id`; a
/// session whose user no longer exists is deleted, with its index entries.
fn copy_users_into_sessions(txn: &WriteTransaction) -> Result<(), StoreError> {
    let mut sessions = txn.open_table(SESSIONS_TABLE).map_err(backend)?;
    let users = txn.open_table(USERS_TABLE).map_err(backend)?;
    let mut rewritten = Vec::new();
    let mut orphans = Vec::new();
    for entry in sessions.iter().map_err(backend)? {
        let (hash, bytes) = entry.map_err(backend)?;
        let mut doc = decode(bytes.value())?;
        let Ok(user_id) = doc.get_object_id("user_id") else {
            continue; // already in the new shape
        };
        match get_record::<&[u8], User>(&users, user_id.bytes().as_slice())? {
            Some(user) => {
                doc.remove("user_id");
                doc.insert("user", to_document(&user.identity())?);
                rewritten.push((hash.value().to_owned(), encode(&doc)?));
            }
            None => {
                let expires = doc
                    .get_datetime("idle_expires_at")
                    .ok()
                    .zip(doc.get_datetime("absolute_expires_at").ok())
                    .map(|(idle, absolute)| (*idle).min(*absolute));
                orphans.push((hash.value().to_owned(), user_id, expires));
            }
        }
    }
    for (hash, bytes) in &rewritten {
        sessions
            .insert(hash.as_str(), bytes.as_slice())
            .map_err(backend)?;
    }
    let mut by_user = txn.open_multimap_table(SESSIONS_BY_USER).map_err(backend)?;
    let mut by_expiry = txn.open_table(SESSIONS_BY_EXPIRY).map_err(backend)?;
    for (hash, user_id, expires) in &orphans {
        sessions.remove(hash.as_str()).map_err(backend)?;
        by_user
            .remove(user_id.bytes().as_slice(), hash.as_str())
            .map_err(backend)?;
        if let Some(expires) = expires {
            by_expiry
                .remove((expires.timestamp_millis(), hash.as_str()))
                .map_err(backend)?;
        }
    }
    Ok(())
}
