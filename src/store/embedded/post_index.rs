//! The posts' secondary indexes: the lists people ask for, kept in the order they ask for
//! them, so a page is read off the front of a table instead of sorted out of all posts.
//!
//! | table | key | serves |
//! |---|---|---|
//! | `posts_by_created` | (`created_at` in ms, `_id`) | newest or oldest first; `since`/`until` |
//! | `posts_by_author` | (`author`, `created_at`, `_id`) | one author's posts, by date |
//! | `posts_by_tag` | (tag, `created_at`, `_id`) | one tag's posts, by date |
//! | `posts_by_title` | (`title`, `_id`) | `sort=title`; `title_prefix` |
//! | `posts_unindexed` | (order, `_id`) | the posts an order's table cannot hold |
//!
//! A table holds a key only when it has one value of one type: `created_at` a date, `title`
//! a string. MongoDB lets a field hold anything (a number, an array, nothing), and sorts
//! across types in its fixed type order; a post whose date or title is not the usual type
//! goes into `posts_unindexed` under that order instead, and every list reads those few
//! posts whole and merges them in (see [`find`](super::find)). The API only ever writes a
//! date and a string there, so through it that table stays empty; a store used directly
//! with odd values is still answered correctly, at a cost that grows with the odd posts
//! alone.
//!
//! `author` and `tags` are matched, not sorted on: MongoDB's `{tags: "rust"}` matches a
//! string equal to `"rust"` or an array holding one, so a post gets one entry per distinct
//! author id and per distinct tag it holds, either way. Their keys carry the date after the
//! author or tag, so one author's posts are already newest first; a post without a usual
//! date has no entries there (it is in `posts_unindexed` under the date order, which those
//! lists merge in too).
//!
//! Every write keeps the indexes in the same write transaction as the post: an insert adds
//! the post's [`PostKeys`], a delete removes them, an update removes the old keys and adds
//! the new ones when they differ. redb commits a transaction whole or not at all, so no
//! reader ever sees a post without its entries or an entry without its post.

use std::collections::BTreeSet;

use bson::RawDocument;
use bson::raw::RawBsonRef;
use redb::{Table, TableDefinition, WriteTransaction};

use super::backend;
use crate::store::StoreError;

/// A post id as redb keys it.
pub(super) type Id = [u8; 12];

pub(super) const POSTS_BY_CREATED: TableDefinition<(i64, Id), ()> =
    TableDefinition::new("posts_by_created");
pub(super) const POSTS_BY_AUTHOR: TableDefinition<(Id, i64, Id), ()> =
    TableDefinition::new("posts_by_author");
pub(super) const POSTS_BY_TAG: TableDefinition<(&str, i64, Id), ()> =
    TableDefinition::new("posts_by_tag");
pub(super) const POSTS_BY_TITLE: TableDefinition<(&str, Id), ()> =
    TableDefinition::new("posts_by_title");
pub(super) const POSTS_UNINDEXED: TableDefinition<(u8, Id), ()> =
    TableDefinition::new("posts_unindexed");

/// An order with a table of its own, and the `posts_unindexed` entries of the posts that
/// table cannot hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Order {
    /// By `created_at` (`posts_by_created`, and through it `posts_by_author` and `_by_tag`).
    Created = 0,
    /// By `title` (`posts_by_title`).
    Title = 1,
}

/// What the indexes hold for one post.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct PostKeys {
    /// `created_at` in ms, if it is one date.
    created: Option<i64>,
    /// `title`, if it is one string.
    title: Option<String>,
    /// Each distinct ObjectId in `author` (itself, or an array's elements).
    authors: BTreeSet<Id>,
    /// Each distinct string in `tags` (itself, or an array's elements).
    tags: BTreeSet<String>,
}

impl PostKeys {
    /// The keys of a stored post.
    pub(super) fn of(doc: &RawDocument) -> PostKeys {
        let field = |name| doc.get(name).ok().flatten();
        let created = match field("created_at") {
            Some(RawBsonRef::DateTime(date)) => Some(date.timestamp_millis()),
            _ => None,
        };
        let title = match field("title") {
            Some(RawBsonRef::String(title)) => Some(title.to_owned()),
            _ => None,
        };
        let mut authors = BTreeSet::new();
        each_value(field("author"), |value| {
            if let RawBsonRef::ObjectId(id) = value {
                authors.insert(id.bytes());
            }
        });
        let mut tags = BTreeSet::new();
        each_value(field("tags"), |value| {
            if let RawBsonRef::String(tag) = value {
                tags.insert(tag.to_owned());
            }
        });
        PostKeys {
            created,
            title,
            authors,
            tags,
        }
    }
}

/// Calls `visit` with a field's value, or with each element if it is an array: the values
/// a MongoDB equality condition on the field is tested against.
fn each_value<'a>(value: Option<RawBsonRef<'a>>, mut visit: impl FnMut(RawBsonRef<'a>)) {
    match value {
        Some(RawBsonRef::Array(items)) => items.into_iter().flatten().for_each(visit),
        Some(value) => visit(value),
        None => {}
    }
}

/// The index tables, open in one write transaction.
pub(super) struct PostIndexes<'txn> {
    by_created: Table<'txn, (i64, Id), ()>,
    by_author: Table<'txn, (Id, i64, Id), ()>,
    by_tag: Table<'txn, (&'static str, i64, Id), ()>,
    by_title: Table<'txn, (&'static str, Id), ()>,
    unindexed: Table<'txn, (u8, Id), ()>,
}

impl<'txn> PostIndexes<'txn> {
    /// Opens (creating, if need be) every index table in `txn`.
    pub(super) fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Ok(PostIndexes {
            by_created: txn.open_table(POSTS_BY_CREATED).map_err(backend)?,
            by_author: txn.open_table(POSTS_BY_AUTHOR).map_err(backend)?,
            by_tag: txn.open_table(POSTS_BY_TAG).map_err(backend)?,
            by_title: txn.open_table(POSTS_BY_TITLE).map_err(backend)?,
            unindexed: txn.open_table(POSTS_UNINDEXED).map_err(backend)?,
        })
    }

    /// Adds a new post's entries.
    pub(super) fn insert(&mut self, id: Id, keys: &PostKeys) -> Result<(), StoreError> {
        match keys.created {
            Some(created) => {
                self.by_created.insert((created, id), ()).map_err(backend)?;
                for author in &keys.authors {
                    self.by_author
                        .insert((*author, created, id), ())
                        .map_err(backend)?;
                }
                for tag in &keys.tags {
                    self.by_tag
                        .insert((tag.as_str(), created, id), ())
                        .map_err(backend)?;
                }
            }
            None => {
                self.unindexed
                    .insert((Order::Created as u8, id), ())
                    .map_err(backend)?;
            }
        }
        match &keys.title {
            Some(title) => self.by_title.insert((title.as_str(), id), ()),
            None => self.unindexed.insert((Order::Title as u8, id), ()),
        }
        .map_err(backend)?;
        Ok(())
    }

    /// Removes a post's entries.
    pub(super) fn remove(&mut self, id: Id, keys: &PostKeys) -> Result<(), StoreError> {
        match keys.created {
            Some(created) => {
                self.by_created.remove((created, id)).map_err(backend)?;
                for author in &keys.authors {
                    self.by_author
                        .remove((*author, created, id))
                        .map_err(backend)?;
                }
                for tag in &keys.tags {
                    self.by_tag
                        .remove((tag.as_str(), created, id))
                        .map_err(backend)?;
                }
            }
            None => {
                self.unindexed
                    .remove((Order::Created as u8, id))
                    .map_err(backend)?;
            }
        }
        match &keys.title {
            Some(title) => self.by_title.remove((title.as_str(), id)),
            None => self.unindexed.remove((Order::Title as u8, id)),
        }
        .map_err(backend)?;
        Ok(())
    }

    /// Moves a post's entries from its old keys to its new ones; nothing when they agree,
    /// which is the usual update (a body edited, a counter raised).
    pub(super) fn replace(
        &mut self,
        id: Id,
        old: &PostKeys,
        new: &PostKeys,
    ) -> Result<(), StoreError> {
        if old != new {
            self.remove(id, old)?;
            self.insert(id, new)?;
        }
        Ok(())
    }
}

/// A post key as an [`Id`].
pub(super) fn post_id(key: &[u8]) -> Result<Id, StoreError> {
    Id::try_from(key).map_err(|_| StoreError::Decode("a post key is not 12 bytes".into()))
}

/// A stored post's bytes as a raw document, read in place.
pub(super) fn raw(bytes: &[u8]) -> Result<&RawDocument, StoreError> {
    RawDocument::from_bytes(bytes).map_err(|e| StoreError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests;
