//! Posts between JSON (what clients send and read) and BSON (what the store
//! keeps), with the rules for which fields a client may touch.
//!
//! A stored post looks like this in `mongosh`:
//!
//! ```text
//! { _id: ObjectId("…"), author: ObjectId("…"), title: "Hello", body: "…",
//!   tags: ["intro"], created_at: ISODate("…"), updated_at: ISODate("…"),
//!   likes: 3 }
//! ```
//!
//! Clients see `_id` as `"id"`, ids as hex strings and dates as RFC 3339.
//! Clients may write only the fields in [`field_kind`]: `_id`, `author`,
//! `created_at` and `updated_at` belong to the server. Every value is checked
//! against its field's type before anything reaches the store, so
//! `{"$set": {"title": {"$gt": ""}}}` is a 400 naming `title`, not a query.

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document};
use serde_json::{Map, Value};

use crate::app::fields::FieldError;
use crate::store::update::MAX_MAGNITUDE;
use crate::store::{NewPost, Operator};

/// The longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// The longest body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// At most this many tags, each at most [`MAX_TAG_CHARS`].
pub const MAX_TAGS: usize = 20;
/// The longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 32;

/// What a client-writable field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// `title`: a non-empty string.
    Title,
    /// `body`: a string.
    Text,
    /// `tags`: an array of short strings.
    Tags,
    /// `likes`, `views`, `rating`, `score`: numbers.
    Counter,
    /// `published_at`: a date, set with `$currentDate`.
    Date,
}

/// The fields a client may write, and what each holds. Anything else is
/// refused: the server's own fields by name, unknown ones as unknown.
pub fn field_kind(path: &str) -> Option<FieldKind> {
    match path {
        "title" => Some(FieldKind::Title),
        "body" => Some(FieldKind::Text),
        "tags" => Some(FieldKind::Tags),
        "likes" | "views" | "rating" | "score" => Some(FieldKind::Counter),
        "published_at" => Some(FieldKind::Date),
        _ => None,
    }
}

/// Why a path cannot be written, for the error message.
fn not_writable(path: &str) -> FieldError {
    match path {
        "_id" | "author" | "created_at" | "updated_at" => {
            FieldError::field(path, "is set by the server and cannot be written")
        }
        _ => FieldError::field(
            path,
            "is not a post field (title, body, tags, likes, views, rating, score, published_at)",
        ),
    }
}

/// Converts a JSON value for a field of `kind`, checking its type and size.
///
/// # Errors
///
/// A [`FieldError`] naming `path`.
pub fn field_value(path: &str, kind: FieldKind, value: &Value) -> Result<Bson, FieldError> {
    match (kind, value) {
        (FieldKind::Title, Value::String(text)) => {
            let length = text.chars().count();
            if length == 0 || length > MAX_TITLE_CHARS {
                return Err(FieldError::field(
                    path,
                    format!("must be 1 to {MAX_TITLE_CHARS} characters"),
                ));
            }
            Ok(Bson::String(text.clone()))
        }
        (FieldKind::Text, Value::String(text)) => {
            if text.len() > MAX_BODY_BYTES {
                return Err(FieldError::field(
                    path,
                    format!("must be at most {MAX_BODY_BYTES} bytes"),
                ));
            }
            Ok(Bson::String(text.clone()))
        }
        (FieldKind::Title | FieldKind::Text, _) => Err(FieldError::field(path, "must be a string")),
        (FieldKind::Tags, Value::Array(items)) => {
            if items.len() > MAX_TAGS {
                return Err(FieldError::field(path, format!("at most {MAX_TAGS} tags")));
            }
            let tags = items
                .iter()
                .map(|item| match item {
                    Value::String(tag)
                        if !tag.is_empty() && tag.chars().count() <= MAX_TAG_CHARS =>
                    {
                        Ok(Bson::String(tag.clone()))
                    }
                    _ => Err(FieldError::field(
                        path,
                        format!("tags are strings of 1 to {MAX_TAG_CHARS} characters"),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Bson::Array(tags))
        }
        (FieldKind::Tags, _) => Err(FieldError::field(path, "must be an array of strings")),
        (FieldKind::Counter, value) => number(path, value),
        (FieldKind::Date, _) => Err(FieldError::field(path, "is set with $currentDate")),
    }
}

/// A JSON number as BSON: 32-bit when it fits (as the mongo shell stores
/// small integers), 64-bit otherwise, a double when it has a fraction;
/// always within ±2^53 ([`MAX_MAGNITUDE`], which the store also holds every
/// `$inc` and `$mul` result to).
fn number(path: &str, value: &Value) -> Result<Bson, FieldError> {
    let out_of_range =
        || FieldError::field(path, "number out of range (at most 2^53 in magnitude)");
    let Value::Number(number) = value else {
        return Err(FieldError::field(path, "must be a number"));
    };
    if let Some(integer) = number.as_i64() {
        if integer.unsigned_abs() > 1 << 53 {
            return Err(out_of_range());
        }
        return Ok(i32::try_from(integer).map_or(Bson::Int64(integer), Bson::Int32));
    }
    match number.as_f64() {
        Some(float) if float.is_finite() && float.abs() <= MAX_MAGNITUDE => Ok(Bson::Double(float)),
        _ => Err(out_of_range()),
    }
}

/// One post as a client submits it for creation: `title` (required),
/// `body`, `tags` and counters.
///
/// # Errors
///
/// A [`FieldError`] naming the field, prefixed with `prefix` (`[2].title`
/// for the third post of a batch).
pub fn new_post_fields(prefix: &str, value: &Value) -> Result<NewPostFields, FieldError> {
    let named = |field: &str| format!("{prefix}{field}");
    let Value::Object(object) = value else {
        let whole = prefix.trim_end_matches('.');
        return Err(FieldError::field(whole, "a post is a JSON object"));
    };
    let mut post = NewPostFields::default();
    let mut has_title = false;
    for (name, value) in object {
        let path = named(name);
        let kind = field_kind(name).ok_or_else(|| not_writable(&path))?;
        match (kind, field_value(&path, kind, value)?) {
            (FieldKind::Title, Bson::String(title)) => {
                post.title = title;
                has_title = true;
            }
            (FieldKind::Text, Bson::String(body)) => post.body = body,
            (FieldKind::Tags, Bson::Array(tags)) => {
                post.tags = tags
                    .into_iter()
                    .filter_map(|tag| tag.as_str().map(str::to_owned))
                    .collect();
            }
            (_, number) => {
                post.counters.insert(name.clone(), number);
            }
        }
    }
    if !has_title {
        return Err(FieldError::field(&named("title"), "is required"));
    }
    Ok(post)
}

/// The checked fields of a post to create.
#[derive(Debug, Default)]
pub struct NewPostFields {
    /// `title`.
    pub title: String,
    /// `body`, empty when not given.
    pub body: String,
    /// `tags`, empty when not given.
    pub tags: Vec<String>,
    /// Counters the client gave.
    pub counters: Document,
}

impl NewPostFields {
    /// The post to insert: these fields, by `author`, written at `now`.
    pub fn into_new_post(self, author: ObjectId, now: DateTime) -> NewPost {
        NewPost {
            author,
            title: self.title,
            body: self.body,
            tags: self.tags,
            created_at: now,
            extra: self.counters,
        }
    }
}

/// An update document as a client sends it (`{"$inc": {"likes": 1}}`),
/// checked operator by operator and field by field, as BSON for
/// [`Update::from_document`](crate::store::Update::from_document).
///
/// # Errors
///
/// A [`FieldError`] naming the operator or field at fault.
pub fn update_document(value: &Value) -> Result<Document, FieldError> {
    let Value::Object(operators) = value else {
        return Err(FieldError::field(
            "",
            "an update is a JSON object of operators",
        ));
    };
    if operators.is_empty() {
        return Err(FieldError::field(
            "",
            "an update needs at least one operator",
        ));
    }
    let mut update = Document::new();
    for (name, fields) in operators {
        let operator: Operator = name
            .parse()
            .map_err(|_| FieldError::field(name, "unknown update operator"))?;
        let Value::Object(fields) = fields else {
            return Err(FieldError::field(name, "takes an object of fields"));
        };
        update.insert(name.clone(), operand_fields(operator, fields)?);
    }
    Ok(update)
}

fn operand_fields(operator: Operator, fields: &Map<String, Value>) -> Result<Document, FieldError> {
    let mut checked = Document::new();
    for (path, value) in fields {
        let kind = field_kind(path).ok_or_else(|| not_writable(path))?;
        let operand = match (operator, kind) {
            (Operator::Set | Operator::SetOnInsert, kind) => field_value(path, kind, value)?,
            (Operator::Unset, FieldKind::Title) => {
                return Err(FieldError::field(path, "a post always has a title"));
            }
            (Operator::Unset, _) => Bson::String(String::new()),
            (Operator::Inc | Operator::Mul | Operator::Min | Operator::Max, FieldKind::Counter) => {
                number(path, value)?
            }
            (Operator::Inc | Operator::Mul | Operator::Min | Operator::Max, _) => {
                return Err(FieldError::field(
                    path,
                    format!("{} applies to counters only", operator.as_str()),
                ));
            }
            (Operator::Rename, FieldKind::Counter) => match value {
                Value::String(target) if field_kind(target) == Some(FieldKind::Counter) => {
                    Bson::String(target.clone())
                }
                _ => {
                    return Err(FieldError::field(
                        path,
                        "$rename moves a counter to another counter (likes, views, rating, score)",
                    ));
                }
            },
            (Operator::Rename, _) => {
                return Err(FieldError::field(path, "$rename applies to counters only"));
            }
            (Operator::CurrentDate, FieldKind::Date) => current_date_operand(path, value)?,
            (Operator::CurrentDate, _) => {
                return Err(FieldError::field(
                    path,
                    "$currentDate applies to published_at only",
                ));
            }
        };
        checked.insert(path.clone(), operand);
    }
    Ok(checked)
}

/// `$currentDate` takes `true` or `{"$type": "date" | "timestamp"}`.
fn current_date_operand(path: &str, value: &Value) -> Result<Bson, FieldError> {
    match value {
        Value::Bool(true) => Ok(Bson::Boolean(true)),
        Value::Object(spec) => match (spec.len(), spec.get("$type").and_then(Value::as_str)) {
            (1, Some(kind @ ("date" | "timestamp"))) => {
                Ok(Bson::Document(bson::doc! { "$type": kind }))
            }
            _ => Err(FieldError::field(
                path,
                "takes true or {\"$type\": \"date\"|\"timestamp\"}",
            )),
        },
        _ => Err(FieldError::field(
            path,
            "takes true or {\"$type\": \"date\"|\"timestamp\"}",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operator_objects_in_values_are_type_errors() {
        let error = update_document(&json!({"$set": {"title": {"$gt": ""}}})).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("title"));
    }

    #[test]
    fn server_fields_and_unknown_operators_are_refused() {
        for (update, field) in [
            (json!({"$set": {"author": "me"}}), "author"),
            (json!({"$set": {"_id": 1}}), "_id"),
            (json!({"$where": {"likes": 1}}), "$where"),
            (json!({"$inc": {"title": 1}}), "title"),
            (json!({"$set": {"a.b": 1}}), "a.b"),
            (json!({"$inc": {"likes": 1e300}}), "likes"),
            (json!({"$inc": {"likes": 9007199254740993_i64}}), "likes"),
            (json!({"$rename": {"likes": "title"}}), "likes"),
        ] {
            let error = update_document(&update).unwrap_err();
            assert_eq!(error.field.as_deref(), Some(field), "{update}");
        }
    }

    #[test]
    fn numbers_take_the_smallest_fitting_type() {
        assert_eq!(number("n", &json!(1)).unwrap(), Bson::Int32(1));
        assert_eq!(
            number("n", &json!(1_i64 << 40)).unwrap(),
            Bson::Int64(1 << 40)
        );
        assert_eq!(number("n", &json!(1.5)).unwrap(), Bson::Double(1.5));
    }
}
