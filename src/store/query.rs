//! Typed queries for posts: what to match, in which order, which page.
//!
//! A handler builds a [`PostFilter`] and [`FindOptions`] from validated request fields; no
//! client JSON is ever passed through as a MongoDB filter, so a request cannot smuggle in an
//! operator such as `{"$where": ...}` or `{"$ne": null}`.
//!
//! Each query is shown twice below: as the MongoDB filter the `mongo` backend sends
//! ([`PostFilter::to_mongo`]) and as the Rust test the embedded store runs
//! ([`PostFilter::matches`]). Reading them side by side is a small lesson in MongoDB's
//! query semantics: a condition on an array field matches when *any element* matches,
//! and a range (`$gte`, `$lt`) only compares values of the same type ("type bracketing").

use std::cmp::Ordering;

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, RawBsonRef, RawDocument, doc};

use super::compare::compare;

/// Which posts to return. Every field that is `Some` must match; `PostFilter::default()`
/// matches every post, like `find({})`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostFilter {
    /// Only posts by this user: `{author: id}`.
    pub author: Option<ObjectId>,
    /// Only posts carrying this tag: `{tags: "rust"}` matches an element of the array.
    pub tag: Option<String>,
    /// Created at or after this moment: `{created_at: {$gte: since}}`.
    pub since: Option<DateTime>,
    /// Created strictly before this moment: `{created_at: {$lt: until}}`.
    pub until: Option<DateTime>,
    /// Titles starting with this text, matched literally (regex characters are escaped):
    /// `{title: {$regex: "^..."}}`.
    pub title_prefix: Option<String>,
}

/// The order of results. Ties are broken by `_id` in the same direction, so the order is
/// total and paging with [`FindOptions::after`] never skips or repeats a post.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PostSort {
    /// Newest first: `{created_at: -1, _id: -1}`.
    #[default]
    CreatedAtDesc,
    /// Oldest first: `{created_at: 1, _id: 1}`.
    CreatedAtAsc,
    /// Alphabetical by title (byte order, no collation): `{title: 1, _id: 1}`.
    TitleAsc,
}

impl PostSort {
    /// The field sorted on.
    pub fn field(self) -> &'static str {
        match self {
            PostSort::CreatedAtDesc | PostSort::CreatedAtAsc => "created_at",
            PostSort::TitleAsc => "title",
        }
    }

    /// True for descending order.
    pub fn descending(self) -> bool {
        self == PostSort::CreatedAtDesc
    }

    /// The MongoDB sort document.
    pub fn to_mongo(self) -> Document {
        let direction = if self.descending() { -1 } else { 1 };
        doc! { self.field(): direction, "_id": direction }
    }

    /// Orders two posts as this sort does, for the embedded store.
    pub(crate) fn order(self, a: (&Bson, &ObjectId), b: (&Bson, &ObjectId)) -> Ordering {
        let ascending = compare(a.0, b.0).then_with(|| a.1.cmp(b.1));
        if self.descending() {
            ascending.reverse()
        } else {
            ascending
        }
    }
}

/// How many results, from where.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FindOptions {
    /// The order; newest first by default.
    pub sort: PostSort,
    /// Return at most this many (none: all).
    pub limit: Option<u64>,
    /// Skip this many first. Skipping is O(skip) work for the database; for deep pages use
    /// [`after`](Self::after).
    pub skip: Option<u64>,
    /// Keyset paging: start just after this post in the chosen order. The store reads the
    /// post's sort key `k` and id, then matches `(key, _id)` beyond `(k, id)`:
    /// `{$or: [{key: {$gt: k}}, {key: k, _id: {$gt: id}}]}` (with `$lt` when descending).
    pub after: Option<ObjectId>,
}

/// Escapes a literal for a regular expression: every ASCII punctuation character gets a
/// backslash, which both PCRE (MongoDB) and RE2 (FerretDB) read as "this character itself".
fn escape_regex(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// MongoDB's rule for a condition on a field: it holds if the value satisfies it, or, for an
/// array, if any element does. A field that cannot be read (a corrupt record) satisfies
/// nothing.
fn any_value(doc: &RawDocument, field: &str, test: impl Fn(RawBsonRef<'_>) -> bool) -> bool {
    match doc.get(field) {
        Ok(Some(RawBsonRef::Array(items))) => items.into_iter().any(|item| item.is_ok_and(&test)),
        Ok(Some(value)) => test(value),
        Ok(None) | Err(_) => false,
    }
}

impl PostFilter {
    /// The MongoDB filter document.
    pub fn to_mongo(&self) -> Document {
        let mut filter = Document::new();
        if let Some(author) = self.author {
            filter.insert("author", author);
        }
        if let Some(tag) = &self.tag {
            filter.insert("tags", tag.clone());
        }
        let mut range = Document::new();
        if let Some(since) = self.since {
            range.insert("$gte", since);
        }
        if let Some(until) = self.until {
            range.insert("$lt", until);
        }
        if !range.is_empty() {
            filter.insert("created_at", range);
        }
        if let Some(prefix) = &self.title_prefix {
            filter.insert(
                "title",
                doc! { "$regex": format!("^{}", escape_regex(prefix)) },
            );
        }
        filter
    }

    /// The same filter as a Rust predicate, for the embedded store.
    ///
    /// It reads the stored BSON bytes in place rather than a decoded [`Document`]: a list
    /// tests every post, and decoding each one (a map of its fields, a `String` for each
    /// text) cost far more than the test.
    pub(crate) fn matches(&self, doc: &RawDocument) -> bool {
        let author_ok = self.author.is_none_or(|author| {
            any_value(
                doc,
                "author",
                |v| matches!(v, RawBsonRef::ObjectId(id) if id == author),
            )
        });
        let tag_ok = self.tag.as_ref().is_none_or(|tag| {
            any_value(
                doc,
                "tags",
                |v| matches!(v, RawBsonRef::String(s) if s == tag),
            )
        });
        // Type bracketing: only dates compare with a date.
        let date_ok = |bound: Option<DateTime>, wanted: fn(Ordering) -> bool| {
            bound.is_none_or(|bound| {
                any_value(
                    doc,
                    "created_at",
                    |v| matches!(v, RawBsonRef::DateTime(d) if wanted(d.cmp(&bound))),
                )
            })
        };
        let title_ok = self.title_prefix.as_ref().is_none_or(|prefix| {
            any_value(
                doc,
                "title",
                |v| matches!(v, RawBsonRef::String(s) if s.starts_with(prefix.as_str())),
            )
        });
        author_ok
            && tag_ok
            && date_ok(self.since, Ordering::is_ge)
            && date_ok(self.until, Ordering::is_lt)
            && title_ok
    }
}

/// The keyset condition for [`FindOptions::after`], as a MongoDB filter.
pub(crate) fn after_to_mongo(sort: PostSort, key: &Bson, id: ObjectId) -> Document {
    let beyond = if sort.descending() { "$lt" } else { "$gt" };
    doc! {
        "$or": [
            { sort.field(): { beyond: key.clone() } },
            { sort.field(): key.clone(), "_id": { beyond: id } },
        ]
    }
}

/// The keyset condition for [`FindOptions::after`], as a Rust predicate over a post's sort
/// key and id. Like `$gt`, it only compares keys of the same type.
pub(crate) fn after_matches(
    sort: PostSort,
    anchor: (&Bson, &ObjectId),
    candidate: (&Bson, &ObjectId),
) -> bool {
    let same_type = std::mem::discriminant(anchor.0) == std::mem::discriminant(candidate.0);
    same_type && sort.order(candidate, anchor) == Ordering::Greater
}
