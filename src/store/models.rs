//! The typed records the stores keep: users, sessions and posts.
//!
//! Users and sessions have a fixed shape, so they are plain structs that serde turns into
//! BSON documents (`bson::to_document`) and back. Both backends store exactly that document,
//! which is why the field names below are the ones you see in `mongosh`.
//!
//! Posts are the teaching ground for MongoDB's update operators, and `$rename` or `$set`
//! can give a post any shape. So a stored post is a [`Document`], and [`Post`] is a typed
//! *view* of one: [`Post::try_from`] reads the well-known fields and keeps the rest in
//! [`Post::extra`].

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document};
use serde::{Deserialize, Serialize};

use super::StoreError;

/// A registered account, as stored in the `users` collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The primary key, `_id` in the document.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// Unique, compared exactly (the app decides whether to lowercase it first).
    pub username: String,
    /// Optional; unique among the users who have one. Absent from the document when `None`,
    /// which is what lets many users have no email under a unique index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A PHC string from the password hasher (never the password).
    pub password_hash: String,
    /// When the account was created.
    pub created_at: DateTime,
}

impl User {
    /// The user without the password hash: what a request acting for them needs.
    pub fn identity(&self) -> Identity {
        Identity {
            id: self.id,
            username: self.username.clone(),
            email: self.email.clone(),
            created_at: self.created_at,
        }
    }
}

/// Who a signed-in request acts for: a user's public fields, without the password hash.
///
/// A session keeps a copy of it ([`SessionRecord::user`]), so that checking a session cookie
/// is one read of one document, not one for the session and another for its user. The copy
/// cannot go stale: nothing changes a user's name or email, and the one change that
/// matters to sessions, a new password, ends them all. (An endpoint that renamed users
/// would have to update their sessions in the same breath.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The user's `_id`.
    #[serde(rename = "_id")]
    pub id: ObjectId,
    /// See [`User::username`].
    pub username: String,
    /// See [`User::email`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// See [`User::created_at`].
    pub created_at: DateTime,
}

/// What a caller supplies to create a [`User`]; the store assigns the id and the time.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// See [`User::username`].
    pub username: String,
    /// See [`User::email`].
    pub email: Option<String>,
    /// See [`User::password_hash`].
    pub password_hash: String,
}

/// One login session, as stored in the `sessions` collection.
///
/// The cookie carries a random id; the store keys the record by `sha256(id)` in hex, so a
/// copy of the database yields no cookie anyone could replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Hex SHA-256 of the cookie's session id; the primary key (`_id`), hence unique.
    #[serde(rename = "_id")]
    pub id_hash: String,
    /// The signed-in user, copied at login (see [`Identity`]): a sub-document
    /// `user: {_id, username, email, created_at}`, indexed on `user._id`.
    pub user: Identity,
    /// When the session was created (at login).
    pub created_at: DateTime,
    /// The last request that used it (moved by [`touch`](super::SessionStore::touch)).
    pub last_seen: DateTime,
    /// The session ends if unused until this moment; each use slides it forward.
    pub idle_expires_at: DateTime,
    /// The session ends at this moment however busy it is; it never moves.
    pub absolute_expires_at: DateTime,
    /// The per-session token that state-changing forms must echo back.
    pub csrf_token: String,
}

impl SessionRecord {
    /// True while `now` is before both expiries. Stores call this on every read: a TTL
    /// index deletes expired records eventually (about once a minute in MongoDB), never
    /// exactly on time, so correctness cannot depend on it.
    pub fn is_alive(&self, now: DateTime) -> bool {
        now < self.idle_expires_at && now < self.absolute_expires_at
    }

    /// The earlier of the two expiries: the moment a TTL index may delete the record.
    pub fn expires_at(&self) -> DateTime {
        self.idle_expires_at.min(self.absolute_expires_at)
    }
}

/// What a caller supplies to create a post. The store assigns `_id` and sets
/// `updated_at = created_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPost {
    /// The author's user id.
    pub author: ObjectId,
    /// The title (sortable and searchable by prefix).
    pub title: String,
    /// The text.
    pub body: String,
    /// Free-form labels; stored as an array of strings, which MongoDB matches element-wise.
    pub tags: Vec<String>,
    /// The creation time; the caller passes "now" (tests pass fixed times).
    pub created_at: DateTime,
    /// Further top-level fields, typically counters such as `likes: 0`. Names must not
    /// start with `$`, contain `.`, be empty or repeat a field above.
    pub extra: Document,
}

/// The fields every post starts with; `extra` may not reuse them.
const POST_FIELDS: [&str; 7] = [
    "_id",
    "author",
    "title",
    "body",
    "tags",
    "created_at",
    "updated_at",
];

impl NewPost {
    /// Builds the document to insert, with `_id` first as MongoDB stores it.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidDocument`] when an `extra` field name is unsafe: a leading `$`
    /// would read as an operator, a `.` as a path, and a repeated name would be ambiguous.
    pub(crate) fn into_document(self, id: ObjectId) -> Result<Document, StoreError> {
        let mut doc = Document::new();
        doc.insert("_id", id);
        doc.insert("author", self.author);
        doc.insert("title", self.title);
        doc.insert("body", self.body);
        doc.insert("tags", self.tags);
        doc.insert("created_at", self.created_at);
        doc.insert("updated_at", self.created_at);
        for (name, value) in self.extra {
            let reason = if name.is_empty() {
                Some("field names cannot be empty")
            } else if name.starts_with('$') {
                Some("field names cannot start with `$`")
            } else if name.contains('.') {
                Some("field names cannot contain `.`")
            } else if POST_FIELDS.contains(&name.as_str()) {
                Some("this field is set by the store")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(StoreError::InvalidDocument {
                    field: name,
                    reason: reason.to_string(),
                });
            }
            super::update::check_value_keys(&name, &value).map_err(|_| {
                StoreError::InvalidDocument {
                    field: name.clone(),
                    reason: "nested field names cannot start with `$` or contain `.`".into(),
                }
            })?;
            doc.insert(name, value);
        }
        Ok(doc)
    }
}

/// A typed view of a stored post document.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    /// `_id`.
    pub id: ObjectId,
    /// `author`: the author's user id.
    pub author: ObjectId,
    /// `title`.
    pub title: String,
    /// `body`.
    pub body: String,
    /// `tags`.
    pub tags: Vec<String>,
    /// `created_at`.
    pub created_at: DateTime,
    /// `updated_at`: only moves when an update says so (e.g. `$currentDate`).
    pub updated_at: DateTime,
    /// Every other field (counters and whatever updates added), in stored order.
    pub extra: Document,
}

impl TryFrom<Document> for Post {
    type Error = StoreError;

    /// Reads the well-known fields.
    ///
    /// # Errors
    ///
    /// [`StoreError::Decode`] when one is missing or has another type, which an update such
    /// as `$rename: {title: "headline"}` can cause; callers may then fall back to the
    /// document itself.
    fn try_from(mut doc: Document) -> Result<Self, StoreError> {
        fn take<T>(
            doc: &mut Document,
            field: &str,
            pick: impl FnOnce(Bson) -> Option<T>,
        ) -> Result<T, StoreError> {
            doc.remove(field).and_then(pick).ok_or_else(|| {
                StoreError::Decode(format!("post field `{field}` missing or mistyped"))
            })
        }
        let oid = |b: Bson| match b {
            Bson::ObjectId(id) => Some(id),
            _ => None,
        };
        let string = |b: Bson| match b {
            Bson::String(s) => Some(s),
            _ => None,
        };
        let date = |b: Bson| match b {
            Bson::DateTime(d) => Some(d),
            _ => None,
        };
        let strings = |b: Bson| match b {
            Bson::Array(items) => items.into_iter().map(string).collect(),
            _ => None,
        };
        Ok(Post {
            id: take(&mut doc, "_id", oid)?,
            author: take(&mut doc, "author", oid)?,
            title: take(&mut doc, "title", string)?,
            body: take(&mut doc, "body", string)?,
            tags: take(&mut doc, "tags", strings)?,
            created_at: take(&mut doc, "created_at", date)?,
            updated_at: take(&mut doc, "updated_at", date)?,
            extra: doc,
        })
    }
}

/// What `update_one` did, with MongoDB's three numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Documents that matched the filter (0 or 1 here).
    pub matched: u64,
    /// Documents actually changed; 0 when every operator was a no-op (e.g. `$set` to the
    /// value already there).
    pub modified: u64,
    /// The `_id` of the document an upsert inserted, when it inserted one.
    pub upserted_id: Option<ObjectId>,
}

/// Converts a typed record into its stored document.
pub(crate) fn to_document<T: Serialize>(value: &T) -> Result<Document, StoreError> {
    bson::to_document(value).map_err(|e| StoreError::Backend(format!("encoding a record: {e}")))
}
