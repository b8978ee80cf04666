//! How the embedded store answers `find`: choose the index that fits the query, walk it in
//! the order asked for, test each post against the whole filter, merge in the posts no
//! index holds, and stop as soon as the page is full.
//!
//! ```text
//!   sort=created (default)   author given → posts_by_author  (author, date, _id)
//!                            tag given    → posts_by_tag     (tag, date, _id)
//!                            otherwise    → posts_by_created (date, _id)
//!   sort=title                            → posts_by_title   (title, _id)
//! ```
//!
//! The walk is a range of the table: `since`/`until` bound the dates, `title_prefix` the
//! titles, and `after` (keyset paging) moves the start to just past the anchor post's key.
//! Newest first walks the same table backwards. Every post the walk meets is still tested
//! against the whole [`PostFilter`](crate::store::PostFilter), so an index only narrows
//! what is read and can never let a wrong post through; when the query has one condition
//! the index answers exactly (an author, or a tag), every post read is a post returned.
//!
//! So a page costs what it returns, however many posts exist: 100 newest posts read 100
//! index entries and 100 posts, and in a date order the posts are mostly neighbours in
//! their own table, read one step apart (see [`PostReader`]). What is not indexed costs
//! more, and says so:
//! - `skip=N` walks N entries before the page (use `after`);
//! - `author` and `tag` together walk the author's posts, testing the tag;
//! - `sort=title` with `author`, `tag`, `since` or `until` walks titles in order until the
//!   page is full, so a rare author's title-sorted list may read many posts;
//! - posts whose date or title is not a single date or string (`posts_unindexed`, see
//!   [`post_index`](super::post_index)) are read whole on every list of that order.
//!
//! Everything happens in one read transaction, so the results are one consistent snapshot,
//! whatever is written meanwhile.

use std::cmp::Ordering;
use std::iter::Peekable;
use std::ops::Bound;
use std::sync::Arc;
use std::task::{Context, Poll};

use bson::oid::ObjectId;
use bson::{Bson, RawDocument};
use redb::{AccessGuard, Database, Range, ReadOnlyTable, ReadTransaction, ReadableDatabase};

use super::format::POSTS_TABLE;
use super::post_index::{
    Id, Order, POSTS_BY_AUTHOR, POSTS_BY_CREATED, POSTS_BY_TAG, POSTS_BY_TITLE, POSTS_UNINDEXED,
    raw,
};
use super::{backend, get_doc};
use crate::store::cursor::Documents;
use crate::store::query::after_matches;
use crate::store::{FindOptions, PostFilter, PostSort, StoreError};

/// The posts `options` asks for, as a cursor's source that reads each one when it is
/// taken: the read transaction lives inside it, so it can be kept across `await`s, and each
/// step is one index entry and one post (the first also walks past `skip` entries, which
/// the API holds to 10 000). So it is always ready, and holds the worker for no longer than
/// that (see the module docs of [`embedded`](super) on why reads run inline); dropping it
/// ends the read transaction.
///
/// # Errors
///
/// When the snapshot cannot be opened, or `after` names no post (or one without the
/// sorted field).
pub(super) fn page(
    db: &Database,
    filter: PostFilter,
    options: &FindOptions,
) -> Result<Page, StoreError> {
    Snapshot::open(db)?.page(Arc::new(filter), options)
}

/// A post no index holds, read whole and sorted before the walk: its sort key, id, and
/// stored bytes (read in place from the snapshot). redb's guards and ranges from a
/// read-only table hold their pages by reference count, so they outlive the table handle.
struct Found {
    key: Bson,
    id: ObjectId,
    bytes: Guard,
}

/// Index entries as ids, in the order walked.
type Entries = Box<dyn Iterator<Item = Result<Id, StoreError>> + Send>;

/// Date-ordered index entries, ascending; walked backwards for newest first.
type DateEntries = Box<dyn DoubleEndedIterator<Item = Result<Id, StoreError>> + Send>;

/// The posts table, read-only, as a snapshot opens it.
type Posts = ReadOnlyTable<&'static [u8], &'static [u8]>;

/// One read transaction's view of the posts and their indexes.
struct Snapshot {
    txn: ReadTransaction,
}

impl Snapshot {
    fn open(db: &Database) -> Result<Self, StoreError> {
        let txn = db.begin_read().map_err(backend)?;
        Ok(Snapshot { txn })
    }

    /// The page `options` asks for, lazily: each post is read when the caller takes it.
    /// The iterator owns what it reads from, this snapshot included.
    fn page(self, filter: Arc<PostFilter>, options: &FindOptions) -> Result<Page, StoreError> {
        let sort = options.sort;
        let posts = self.txn.open_table(POSTS_TABLE).map_err(backend)?;
        let anchor = match options.after {
            Some(after) => Some(anchor(&posts, after, sort)?),
            None => None,
        };
        Ok(Page {
            sort,
            unindexed: self
                .unindexed(&posts, &filter, sort, anchor.as_ref())?
                .into_iter()
                .peekable(),
            peeked: None,
            indexed: self.indexed(posts, filter, sort, anchor.as_ref())?,
            skip: options.skip.unwrap_or(0),
            left: options.limit.unwrap_or(u64::MAX),
            _snapshot: self,
        })
    }

    /// The walk of the order's index from just past `anchor`, reading from `posts`, which
    /// the walk takes with it.
    fn indexed(
        &self,
        posts: Posts,
        filter: Arc<PostFilter>,
        sort: PostSort,
        anchor: Option<&(Bson, ObjectId)>,
    ) -> Result<Indexed, StoreError> {
        let reader = PostReader::new(posts, &filter, sort);
        let entries: Entries = match sort {
            PostSort::CreatedAtDesc | PostSort::CreatedAtAsc => {
                match DateSpan::of(&filter, sort, anchor) {
                    Some(span) => {
                        let dates = self.dates(&filter, &span)?;
                        if sort.descending() {
                            Box::new(dates.rev())
                        } else {
                            dates
                        }
                    }
                    None => Box::new(std::iter::empty()),
                }
            }
            PostSort::TitleAsc => self
                .titles(&filter, anchor)?
                .unwrap_or_else(|| Box::new(std::iter::empty())),
        };
        Ok(Indexed {
            entries,
            reader,
            filter,
        })
    }

    /// The date-ordered entries within `span`, ascending: one author's or one tag's when
    /// the filter names one, else every post's.
    fn dates(&self, filter: &PostFilter, span: &DateSpan) -> Result<DateEntries, StoreError> {
        if let Some(author) = filter.author {
            let author = author.bytes();
            let table = self.txn.open_table(POSTS_BY_AUTHOR).map_err(backend)?;
            let range = table
                .range((
                    span.lower(|d| (author, d.0, d.1)),
                    span.upper(|d| (author, d.0, d.1)),
                ))
                .map_err(backend)?;
            return Ok(Box::new(range.map(|entry| {
                let (key, _) = entry.map_err(backend)?;
                let (_, _, id) = key.value();
                Ok(id)
            })));
        }
        if let Some(tag) = filter.tag.as_deref() {
            let table = self.txn.open_table(POSTS_BY_TAG).map_err(backend)?;
            let range = table
                .range((
                    span.lower(|d| (tag, d.0, d.1)),
                    span.upper(|d| (tag, d.0, d.1)),
                ))
                .map_err(backend)?;
            return Ok(Box::new(range.map(|entry| {
                let (key, _) = entry.map_err(backend)?;
                let (_, _, id) = key.value();
                Ok(id)
            })));
        }
        let table = self.txn.open_table(POSTS_BY_CREATED).map_err(backend)?;
        let range = table
            .range((span.lower(|d| d), span.upper(|d| d)))
            .map_err(backend)?;
        Ok(Box::new(range.map(|entry| {
            let (key, _) = entry.map_err(backend)?;
            Ok(key.value().1)
        })))
    }

    /// The title-ordered entries from just past `anchor` (or the start of `title_prefix`)
    /// while titles keep the prefix; `None` when no indexed title can follow the anchor.
    fn titles(
        &self,
        filter: &PostFilter,
        anchor: Option<&(Bson, ObjectId)>,
    ) -> Result<Option<Entries>, StoreError> {
        let prefix = filter.title_prefix.clone().unwrap_or_default();
        let table = self.txn.open_table(POSTS_BY_TITLE).map_err(backend)?;
        let range = match anchor {
            // `after` compares only within a type (see `after_matches`): past a title that
            // is not a string, no string title follows.
            Some((Bson::String(title), id)) if title.as_str() >= prefix.as_str() => table
                .range::<(&str, Id)>((
                    Bound::Excluded((title.as_str(), id.bytes())),
                    Bound::Unbounded,
                )),
            Some((Bson::String(_), _)) | None => table.range::<(&str, Id)>((
                Bound::Included((prefix.as_str(), [0; 12])),
                Bound::Unbounded,
            )),
            Some(_) => return Ok(None),
        }
        .map_err(backend)?;
        // The walk ends at the first title without the prefix; an error is passed on, and
        // ends the page.
        let entries = range.map_while(move |entry| match entry {
            Ok((key, _)) => {
                let (title, id) = key.value();
                title.starts_with(prefix.as_str()).then_some(Ok(id))
            }
            Err(error) => Some(Err(backend(error))),
        });
        Ok(Some(Box::new(entries)))
    }

    /// The matching posts that the order's index cannot hold, sorted: read whole, every
    /// time (see [`post_index`](super::post_index)).
    fn unindexed(
        &self,
        posts: &Posts,
        filter: &PostFilter,
        sort: PostSort,
        anchor: Option<&(Bson, ObjectId)>,
    ) -> Result<Vec<Found>, StoreError> {
        let order = match sort {
            PostSort::CreatedAtDesc | PostSort::CreatedAtAsc => Order::Created,
            PostSort::TitleAsc => Order::Title,
        } as u8;
        let table = self.txn.open_table(POSTS_UNINDEXED).map_err(backend)?;
        let mut found = Vec::new();
        for entry in table
            .range((order, [0; 12])..=(order, [0xFF; 12]))
            .map_err(backend)?
        {
            let (key, _) = entry.map_err(backend)?;
            let (_, id) = key.value();
            let Some(bytes) = posts.get(id.as_slice()).map_err(backend)? else {
                continue;
            };
            let doc = raw(bytes.value())?;
            if !filter.matches(doc) {
                continue;
            }
            let key = sort_key(doc, sort.field())?;
            let id = ObjectId::from_bytes(id);
            if let Some((anchor_key, anchor_id)) = anchor
                && !after_matches(sort, (anchor_key, anchor_id), (&key, &id))
            {
                continue;
            }
            found.push(Found { key, id, bytes });
        }
        found.sort_by(|a, b| sort.order((&a.key, &a.id), (&b.key, &b.id)));
        Ok(found)
    }
}

/// Reads the posts a walk names, in the walk's order.
///
/// The posts table is keyed by id, and an id begins with the second it was made in; the
/// server makes a post's id as it stamps its date. So in a walk of every post by date the
/// next post is nearly always the table's next entry in the same direction: the reader
/// keeps a cursor on the table and takes that entry in one step along a leaf. When the id
/// it is asked for is elsewhere (posts written at once by two servers, an upsert with an
/// old id), it moves the cursor on to it, one descent of the tree, as a lookup by id would
/// cost, or looks it up when the cursor is already past it. One author's or one tag's
/// posts are far apart in the table, and a title order has no link with ids: those walks
/// look every post up.
struct PostReader {
    posts: Posts,
    /// The direction of a walk of every post by date through the ids; `None` for the
    /// walks that look every post up.
    descending: Option<bool>,
    cursor: Option<Range<'static, &'static [u8], &'static [u8]>>,
    /// The entry the cursor is on, not taken yet.
    next: Option<(Id, Guard)>,
}

/// A post's stored bytes, in place in the snapshot.
type Guard = AccessGuard<'static, &'static [u8]>;

impl PostReader {
    fn new(posts: Posts, filter: &PostFilter, sort: PostSort) -> Self {
        let every_post = filter.author.is_none() && filter.tag.is_none();
        let descending = match sort {
            PostSort::CreatedAtDesc | PostSort::CreatedAtAsc if every_post => {
                Some(sort.descending())
            }
            _ => None,
        };
        PostReader {
            posts,
            descending,
            cursor: None,
            next: None,
        }
    }

    /// The post with `id`, if it exists.
    fn read(&mut self, id: Id) -> Result<Option<Guard>, StoreError> {
        let Some(descending) = self.descending else {
            return self.posts.get(id.as_slice()).map_err(backend);
        };
        match &self.next {
            Some((next, _)) if *next == id => {}
            // Behind the cursor, so looked up; the cursor stays where the walk's next
            // posts are.
            Some((next, _)) if (id < *next) != descending => {
                return self.posts.get(id.as_slice()).map_err(backend);
            }
            // Further along (or the cursor is spent, or not started): move it there.
            _ => {
                let cursor = if descending {
                    self.posts.range::<&[u8]>(..=id.as_slice())
                } else {
                    self.posts.range::<&[u8]>(id.as_slice()..)
                };
                self.cursor = Some(cursor.map_err(backend)?);
                self.next = self.step(descending)?;
            }
        }
        match self.next.take() {
            Some((next, bytes)) if next == id => {
                self.next = self.step(descending)?;
                Ok(Some(bytes))
            }
            // The cursor starts at `id` when it exists, so this post does not.
            other => {
                self.next = other;
                Ok(None)
            }
        }
    }

    /// The cursor's next entry in the walk's direction.
    fn step(&mut self, descending: bool) -> Result<Option<(Id, Guard)>, StoreError> {
        let Some(cursor) = self.cursor.as_mut() else {
            return Ok(None);
        };
        let entry = if descending {
            cursor.next_back()
        } else {
            cursor.next()
        };
        let Some((key, bytes)) = entry.transpose().map_err(backend)? else {
            return Ok(None);
        };
        let id = key
            .value()
            .try_into()
            .map_err(|_| StoreError::Backend("a post's key is not a 12-byte id".into()))?;
        Ok(Some((id, bytes)))
    }
}

/// The part of the date order a list walks, as bounds on (ms, id): `since` and `until`,
/// tightened by the `after` anchor.
struct DateSpan {
    lower: Bound<(i64, Id)>,
    upper: Bound<(i64, Id)>,
}

impl DateSpan {
    /// `None` when no indexed post can match: `after` names a post whose date is not a date
    /// (keyset paging compares only within a type).
    fn of(filter: &PostFilter, sort: PostSort, anchor: Option<&(Bson, ObjectId)>) -> Option<Self> {
        let mut lower = filter.since.map_or(Bound::Unbounded, |since| {
            Bound::Included((since.timestamp_millis(), [0; 12]))
        });
        let mut upper = filter.until.map_or(Bound::Unbounded, |until| {
            Bound::Excluded((until.timestamp_millis(), [0; 12]))
        });
        if let Some((key, id)) = anchor {
            let Bson::DateTime(date) = key else {
                return None;
            };
            let past = (date.timestamp_millis(), id.bytes());
            // The tighter bound wins: the later start ascending, the earlier end descending.
            if sort.descending() {
                if !matches!(upper, Bound::Excluded(until) if until <= past) {
                    upper = Bound::Excluded(past);
                }
            } else if !matches!(lower, Bound::Included(since) if since > past) {
                lower = Bound::Excluded(past);
            }
        }
        Some(DateSpan { lower, upper })
    }

    /// The lower bound in a table whose key ends in (ms, id); an open end becomes the
    /// smallest such key, so a table keyed by author or tag first stays within one.
    fn lower<K>(&self, key: impl Fn((i64, Id)) -> K) -> Bound<K> {
        match self.lower {
            Bound::Included(at) => Bound::Included(key(at)),
            Bound::Excluded(at) => Bound::Excluded(key(at)),
            Bound::Unbounded => Bound::Included(key((i64::MIN, [0; 12]))),
        }
    }

    /// The upper bound, likewise; an open end becomes the largest key.
    fn upper<K>(&self, key: impl Fn((i64, Id)) -> K) -> Bound<K> {
        match self.upper {
            Bound::Included(at) => Bound::Included(key(at)),
            Bound::Excluded(at) => Bound::Excluded(key(at)),
            Bound::Unbounded => Bound::Included(key((i64::MAX, [0xFF; 12]))),
        }
    }
}

/// The sort key and id of the `after` post.
fn anchor(posts: &Posts, after: ObjectId, sort: PostSort) -> Result<(Bson, ObjectId), StoreError> {
    let field = sort.field();
    let doc = get_doc(posts, &after.bytes())?.ok_or(StoreError::AfterPostMissing { after })?;
    let key = doc
        .get(field)
        .cloned()
        .ok_or_else(|| StoreError::InvalidQuery {
            reason: format!("`after` post {after} has no `{field}` to page by"),
        })?;
    Ok((key, after))
}

/// The walk of an order's index: each entry's post read and tested against the whole
/// filter.
struct Indexed {
    entries: Entries,
    reader: PostReader,
    filter: Arc<PostFilter>,
}

impl Indexed {
    /// The next matching post: its id and stored bytes.
    fn next(&mut self) -> Option<Result<(Id, Guard), StoreError>> {
        loop {
            let found = self
                .entries
                .next()?
                .and_then(|id| {
                    let bytes = self.reader.read(id)?.ok_or_else(|| {
                        StoreError::Backend(format!(
                            "index entry for post {} without the post",
                            ObjectId::from_bytes(id)
                        ))
                    })?;
                    let matches = self.filter.matches(raw(bytes.value())?);
                    Ok(matches.then_some((id, bytes)))
                })
                .transpose();
            if found.is_some() {
                return found;
            }
        }
    }
}

/// The page a list asks for: two sorted walks as one (the index's, and the few posts no
/// index holds), `skip` posts passed over, then at most `left` lent out. Each post is lent
/// in place, as the bytes the snapshot holds: nothing is copied or decoded on the way to
/// the caller.
pub(super) struct Page {
    sort: PostSort,
    indexed: Indexed,
    unindexed: Peekable<std::vec::IntoIter<Found>>,
    /// The index's next post with its sort key, taken from the walk to be compared with the
    /// next unindexed one; only ever set while there are unindexed posts left.
    peeked: Option<Result<Found, StoreError>>,
    skip: u64,
    left: u64,
    /// The read transaction both walks read from, kept open for as long as they are.
    _snapshot: Snapshot,
}

impl Page {
    /// The next post of the page; an error ends the walk, skipped or not.
    fn next(&mut self) -> Option<Result<Guard, StoreError>> {
        while self.left > 0 {
            let found = self.merged()?;
            if found.is_ok() && self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            self.left = if found.is_ok() { self.left - 1 } else { 0 };
            return Some(found);
        }
        None
    }

    /// The next post in the order: the index's, or an unindexed one that sorts before it.
    fn merged(&mut self) -> Option<Result<Guard, StoreError>> {
        if self.peeked.is_none() && self.unindexed.peek().is_none() {
            // Nearly always: every post is in the index, and no key needs reading.
            return self
                .indexed
                .next()
                .map(|found| found.map(|(_, bytes)| bytes));
        }
        if self.peeked.is_none() {
            let field = self.sort.field();
            self.peeked = self.indexed.next().map(|found| {
                let (id, bytes) = found?;
                Ok(Found {
                    key: sort_key(raw(bytes.value())?, field)?,
                    id: ObjectId::from_bytes(id),
                    bytes,
                })
            });
        }
        let unindexed_first = match (&self.peeked, self.unindexed.peek()) {
            (Some(Ok(a)), Some(b)) => {
                self.sort.order((&b.key, &b.id), (&a.key, &a.id)) == Ordering::Less
            }
            (Some(_), _) => false,
            (None, _) => true,
        };
        if unindexed_first {
            self.unindexed.next().map(|found| Ok(found.bytes))
        } else {
            self.peeked
                .take()
                .map(|found| found.map(|found| found.bytes))
        }
    }
}

impl Documents for Page {
    fn poll_visit(
        &mut self,
        _: &mut Context<'_>,
        visit: &mut dyn FnMut(&RawDocument),
    ) -> Poll<Option<Result<(), StoreError>>> {
        Poll::Ready(self.next().map(|found| {
            // The filter has already walked these bytes as BSON; nothing is decoded here.
            visit(raw(found?.value())?);
            Ok(())
        }))
    }
}

/// The sort key of a post, read from its stored bytes: the sorted field's value, or null
/// when missing (MongoDB sorts a missing field as null).
pub(super) fn sort_key(doc: &bson::RawDocument, field: &str) -> Result<Bson, StoreError> {
    let decode_error = |e: bson::raw::Error| StoreError::Decode(e.to_string());
    match doc.get(field).map_err(decode_error)? {
        Some(value) => Bson::try_from(value).map_err(decode_error),
        None => Ok(Bson::Null),
    }
}
