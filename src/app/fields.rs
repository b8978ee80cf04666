//! Reading named fields from a request body, JSON or form-encoded.
//!
//! The API takes `application/json` (what curl users send) and the browser
//! demo's forms send `application/x-www-form-urlencoded`; both arrive here
//! and come out as the same named fields. A handler names the fields it
//! takes up front ([`Fields::parse`] refuses any other), then reads each by
//! name and type, so a body can only ever mean what the handler asked for:
//!
//! ```text
//! {"username": "ada", "password": "…"}          → ok
//! {"username": {"$ne": null}, "password": "x"}  → 400 {"error": "…must be a string", "field": "username"}
//! username[$ne]=&password=x                      → 400 {"error": "unknown field", "field": "username[$ne]"}
//! ```
//!
//! That is the whole defence against NoSQL operator injection at this layer:
//! an object can never stand where a string is expected, and no field name
//! the handler did not ask for survives.
//!
//! A key given twice is refused too, in forms and at any depth of JSON
//! ([`parse_json`]). Parsers disagree on which copy wins (serde keeps the
//! last, others the first), so `{"password": "guess", "password": "…"}` or
//! two `$set`s would mean one thing to a filter in front of the server and
//! another to the server itself.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::http::{RequestHead, Response, Status};

/// Why the fields of a body could not be read, or what they ask for cannot be done;
/// becomes a 400 (or 409, 415).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// 400, or 409 or 415.
    pub status: Status,
    /// The field at fault, when there is one.
    pub field: Option<String>,
    /// What is wrong, for the client.
    pub message: String,
}

impl FieldError {
    /// An error about one field.
    pub fn field(name: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            status: Status::BAD_REQUEST,
            field: Some(name.to_owned()),
            message: message.into(),
        }
    }

    fn body(status: Status, message: impl Into<String>) -> FieldError {
        FieldError {
            status,
            field: None,
            message: message.into(),
        }
    }

    /// The same error answered with another status: 404 or 409 where the request is
    /// well formed and what it names, or the state it meets, is the trouble.
    pub fn with_status(self, status: Status) -> FieldError {
        FieldError { status, ..self }
    }

    /// The JSON error response: `{"error": "...", "field": "..."}`.
    pub fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.message });
        if let Some(field) = self.field {
            body["field"] = Value::String(field);
        }
        Response::json(self.status, &body)
    }
}

impl FieldError {
    /// A unique value (username, email) that another account already has: 409.
    pub fn taken(field: &str) -> FieldError {
        FieldError::field(field, "is already taken").with_status(Status::CONFLICT)
    }
}

/// The fields of one body, each taken at most once.
#[derive(Debug)]
pub struct Fields {
    entries: Vec<(String, Value)>,
}

impl Fields {
    /// Reads a body by its `Content-Type`, accepting only the fields named
    /// in `allowed`.
    ///
    /// # Errors
    ///
    /// 415 for another content type; 400 for malformed JSON, JSON that is not
    /// an object, a form field given twice, or a field not in `allowed`.
    pub fn parse(head: &RequestHead, body: &[u8], allowed: &[&str]) -> Result<Fields, FieldError> {
        let fields = Fields::parse_any(head, body)?;
        match fields
            .entries
            .iter()
            .find(|(name, _)| !allowed.contains(&name.as_str()))
        {
            Some((name, _)) => Err(FieldError::field(name, "unknown field")),
            None => Ok(fields),
        }
    }

    fn parse_any(head: &RequestHead, body: &[u8]) -> Result<Fields, FieldError> {
        let media_type = head.media_type();
        if media_type.eq_ignore_ascii_case("application/json") {
            Fields::from_json(body)
        } else if media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            Fields::from_form(body)
        } else {
            Err(FieldError::body(
                Status::UNSUPPORTED_MEDIA_TYPE,
                "send application/json or application/x-www-form-urlencoded",
            ))
        }
    }

    fn from_json(body: &[u8]) -> Result<Fields, FieldError> {
        let value = parse_json(body)?;
        let Value::Object(object) = value else {
            return Err(FieldError::body(
                Status::BAD_REQUEST,
                "the body must be a JSON object",
            ));
        };
        Ok(Fields {
            entries: object.into_iter().collect(),
        })
    }

    fn from_form(body: &[u8]) -> Result<Fields, FieldError> {
        let mut entries: Vec<(String, Value)> = Vec::new();
        for (name, value) in form_urlencoded::parse(body) {
            if entries.iter().any(|(seen, _)| *seen == name) {
                return Err(FieldError::field(&name, "given more than once"));
            }
            entries.push((name.into_owned(), Value::String(value.into_owned())));
        }
        Ok(Fields { entries })
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        let index = self.entries.iter().position(|(field, _)| field == name)?;
        Some(self.entries.remove(index).1)
    }

    /// A required string field.
    ///
    /// # Errors
    ///
    /// When the field is missing or not a string.
    pub fn string(&mut self, name: &str) -> Result<String, FieldError> {
        self.optional_string(name)?
            .ok_or_else(|| FieldError::field(name, "is required"))
    }

    /// An optional string field; JSON `null` counts as absent.
    ///
    /// # Errors
    ///
    /// When the field is present and not a string.
    pub fn optional_string(&mut self, name: &str) -> Result<Option<String>, FieldError> {
        match self.take(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(FieldError::field(name, "must be a string")),
        }
    }
}

/// Parses a JSON body, refusing any object that gives a key twice.
///
/// # Errors
///
/// 400 naming the repeated key, or 400 for malformed JSON (which includes
/// nesting deeper than serde_json's recursion limit).
pub fn parse_json(body: &[u8]) -> Result<Value, FieldError> {
    let repeated = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = UniqueKeys(&repeated)
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match (parsed, repeated.into_inner()) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(key)) => Err(FieldError::field(&key, "given more than once")),
        (Err(error), None) => Err(FieldError::body(
            Status::BAD_REQUEST,
            format!("malformed JSON: {error}"),
        )),
    }
}

/// Builds a [`Value`] as serde_json does, except that a repeated key in an
/// object stops the parse and is written into the cell, so the error can
/// name it.
struct UniqueKeys<'a>(&'a RefCell<Option<String>>);

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut array = Vec::new();
        while let Some(item) = items.next_element_seed(UniqueKeys(self.0))? {
            array.push(item);
        }
        Ok(Value::Array(array))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut entries: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = entries.next_key::<String>()? {
            if object.contains_key(&key) {
                let error = de::Error::custom(format!("{key:?} given more than once"));
                *self.0.borrow_mut() = Some(key);
                return Err(error);
            }
            let value = entries.next_value_seed(UniqueKeys(self.0))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Limits, Parsed, parse_head};

    fn head(content_type: &str) -> RequestHead {
        let bytes = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n\r\n");
        match parse_head(bytes.as_bytes(), &Limits::default()) {
            Ok(Parsed::Complete(head, _)) => head,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_and_form_read_the_same() {
        for (content_type, body) in [
            ("application/json", &br#"{"a":"1","b":null}"#[..]),
            ("application/x-www-form-urlencoded; charset=utf-8", b"a=1"),
        ] {
            let mut fields = Fields::parse(&head(content_type), body, &["a", "b"]).unwrap();
            assert_eq!(fields.string("a").unwrap(), "1");
            assert_eq!(fields.optional_string("b").unwrap(), None);
        }
    }

    #[test]
    fn operator_object_where_a_string_belongs_is_refused_by_name() {
        let mut fields = Fields::parse(
            &head("application/json"),
            br#"{"username":{"$ne":null}}"#,
            &["username"],
        )
        .unwrap();
        assert_eq!(
            fields.string("username"),
            Err(FieldError::field("username", "must be a string"))
        );
    }

    #[test]
    fn fields_not_asked_for_are_refused() {
        let error = Fields::parse(
            &head("application/x-www-form-urlencoded"),
            b"user%5B%24ne%5D=",
            &["user"],
        )
        .unwrap_err();
        assert_eq!(error, FieldError::field("user[$ne]", "unknown field"));
    }

    #[test]
    fn repeated_form_field_is_refused() {
        let error = Fields::parse(
            &head("application/x-www-form-urlencoded"),
            b"a=1&a=2",
            &["a"],
        )
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("a"));
    }

    #[test]
    fn repeated_json_key_is_refused_by_name_at_any_depth() {
        for (body, key) in [
            (&br#"{"a":"1","a":"2"}"#[..], "a"),
            (br#"{"$set":{"title":"x"},"$set":{"author":"y"}}"#, "$set"),
            (br#"[{"t":{"x":1,"x":2}}]"#, "x"),
        ] {
            assert_eq!(
                parse_json(body),
                Err(FieldError::field(key, "given more than once"))
            );
        }
    }

    #[test]
    fn unique_keys_parse_as_serde_json_does() {
        let body = br#"{"a":[1,-2,3.5,"s",null,true,{"b":{}}],"c":{"a":1}}"#;
        let expected: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(parse_json(body), Ok(expected));
        assert!(parse_json(b"{} x").is_err(), "trailing bytes are malformed");
    }

    #[test]
    fn other_content_types_are_415() {
        let error = Fields::parse(&head("text/plain"), b"a", &["a"]).unwrap_err();
        assert_eq!(error.status, Status::UNSUPPORTED_MEDIA_TYPE);
    }
}
