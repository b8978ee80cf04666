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

use serde_json::Value;

use crate::http::{RequestHead, Response, Status};

/// Why the fields of a body could not be read; becomes a 400 (or 415).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// 400 or 415.
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

    /// The JSON error response: `{"error": "...", "field": "..."}`.
    pub fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.message });
        if let Some(field) = self.field {
            body["field"] = Value::String(field);
        }
        Response::json(self.status, &body)
    }
}

impl From<FieldError> for Response {
    fn from(error: FieldError) -> Response {
        error.into_response()
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
        let value: Value = serde_json::from_slice(body).map_err(|error| {
            FieldError::body(Status::BAD_REQUEST, format!("malformed JSON: {error}"))
        })?;
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
    fn other_content_types_are_415() {
        let error = Fields::parse(&head("text/plain"), b"a", &["a"]).unwrap_err();
        assert_eq!(error.status, Status::UNSUPPORTED_MEDIA_TYPE);
    }
}
