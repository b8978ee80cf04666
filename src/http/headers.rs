//! The header fields of a request (and the trailer fields of a chunked body), kept as text
//! in the order they arrived.

use std::fmt;
use std::ops::Range;

/// One header field as received, borrowed from the [`Headers`] that hold it:
/// the name keeps its case (for display), the value is bytes, because HTTP
/// allows non-UTF-8 (obs-text) in values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The field name, as the client spelled it.
    pub name: &'a str,
    /// The field value, without surrounding whitespace.
    pub value: &'a [u8],
}

/// The header fields of a request (or the trailer fields of a chunked body),
/// in the order they arrived.
///
/// The fields are stored as text, not as one allocation each: every name is
/// appended to one `String` and every value to one `Vec<u8>`, and a third list
/// records where each field's name and value are. [`clear`](Headers::clear)
/// keeps all three buffers, so a connection that parses each of its requests
/// into the same `Headers` stops allocating once they have grown to fit.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    names: String,
    values: Vec<u8>,
    fields: Vec<Field>,
}

/// Where one field's name is in [`Headers::names`] and its value in
/// [`Headers::values`].
#[derive(Clone, PartialEq, Eq)]
struct Field {
    name: Range<usize>,
    value: Range<usize>,
}

impl Headers {
    /// The value of the first field called `name` (compared case-insensitively,
    /// as field names are).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value)
    }

    /// The value of the first field called `name`, if it is valid UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// Every value of the fields called `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter()
            .filter(move |header| header.name.eq_ignore_ascii_case(name))
            .map(|header| header.value)
    }

    /// Every field, in the order received.
    pub fn iter(&self) -> impl Iterator<Item = Header<'_>> {
        self.fields.iter().map(|field| Header {
            name: &self.names[field.name.clone()],
            value: &self.values[field.value.clone()],
        })
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields at all.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Adds a field at the end.
    pub fn push(&mut self, name: &str, value: &[u8]) {
        let name_start = self.names.len();
        self.names.push_str(name);
        let value_start = self.values.len();
        self.values.extend_from_slice(value);
        self.fields.push(Field {
            name: name_start..self.names.len(),
            value: value_start..self.values.len(),
        });
    }

    /// Removes every field, keeping the memory they used for the next ones.
    pub fn clear(&mut self) {
        self.names.clear();
        self.values.clear();
        self.fields.clear();
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.iter()
                    .map(|header| (header.name, String::from_utf8_lossy(header.value))),
            )
            .finish()
    }
}
