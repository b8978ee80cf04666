//! A stored post as the JSON clients read, written straight from its BSON bytes.
//!
//! A post is stored as BSON, a list of typed elements:
//!
//! ```text
//!   07 "_id" 00 <12 bytes>            ObjectId   →  "id":"65f0…"
//!   02 "title" 00 <len> "Hello" 00    string     →  "title":"Hello"
//!   04 "tags" 00 <array document>     array      →  "tags":["intro"]
//!   09 "created_at" 00 <i64 ms>       UTC date   →  "created_at":"2026-11-24T12:00:00.5Z"
//!   10 "likes" 00 <i32>               int32      →  "likes":3
//! ```
//!
//! [`write_post`] walks those elements once and writes each as JSON into the response's
//! buffer: no [`bson::Document`] is built (a map with an allocation per key and value),
//! nor a `serde_json::Value` tree (another). A list of a thousand posts is a thousand
//! walks over bytes already in hand, which is what makes the per-post cost of
//! `GET /api/posts` small (`benches/RESULTS.md`, "Posts at scale").
//!
//! The rules are those of the whole API: `_id` is named `id` (at every depth), ids are hex
//! strings, dates RFC 3339 in UTC with the milliseconds BSON keeps (trailing zeros
//! dropped), a timestamp is `{"t": seconds, "i": increment}`, a double that is not finite is
//! `null` (JSON has no Infinity), and the types posts never hold are written as MongoDB's
//! relaxed Extended JSON.

use std::cell::Cell;

use bson::raw::{RawBsonRef, RawDocument};
use bson::{Bson, DateTime};

/// The types a post holds, read from the bytes by hand: the common case, and the hot loop
/// of a long list. Every length is checked against the bytes there are and every text is
/// checked as UTF-8; `None` means "not here", and the caller starts over on the general
/// path, so what this cannot read costs time, never a wrong answer.
mod fast {
    use super::{
        DateTime, escaped, write_bool, write_date, write_double, write_integer, write_object_id,
        write_str, write_timestamp,
    };

    /// Writes `bytes` as a JSON string when they are UTF-8. Text that is plain ASCII with
    /// nothing to escape, nearly every name, title and tag, is seen to be so in one pass
    /// and copied; only the rest is checked as UTF-8 and escaped.
    fn write_text(bytes: &[u8], out: &mut Vec<u8>) -> Option<()> {
        let plain = plain_prefix(bytes);
        if plain == bytes.len() {
            out.push(b'"');
            out.extend_from_slice(bytes);
            out.push(b'"');
        } else {
            write_str(std::str::from_utf8(bytes).ok()?, out);
        }
        Some(())
    }

    /// How many bytes at the start of `bytes` are ASCII a JSON string holds as they are.
    ///
    /// Eight bytes are tested at once, as one `u64` ("SWAR", SIMD within a register):
    /// `word - 0x2020…` borrows into a byte's high bit exactly when the byte is below
    /// 0x20, `!word` keeps that bit only for bytes below 0x80, and a byte equal to `"` or
    /// `\` is one that XOR with it makes zero, found the same way. A borrow only ever
    /// flags bytes above one that is truly flagged, so the lowest flag is exact.
    pub(super) fn plain_prefix(bytes: &[u8]) -> usize {
        const ONES: u64 = u64::from_le_bytes([1; 8]);
        const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
        let below = |word: u64, bound: u8| word.wrapping_sub(ONES * u64::from(bound)) & !word;
        let equal = |word: u64, byte: u8| below(word ^ (ONES * u64::from(byte)), 1);
        let (words, tail) = bytes.as_chunks::<8>();
        for (index, word) in words.iter().enumerate() {
            let word = u64::from_le_bytes(*word);
            let stops = (below(word, 0x20) | equal(word, b'"') | equal(word, b'\\') | word) & HIGH;
            if stops != 0 {
                return index * 8 + stops.trailing_zeros() as usize / 8;
            }
        }
        let start = words.len() * 8;
        start
            + tail
                .iter()
                .position(|&byte| escaped(byte) | (byte >= 0x80))
                .unwrap_or(tail.len())
    }

    /// Writes the document that is exactly `bytes` (length, elements, a zero byte).
    pub(super) fn write_document(bytes: &[u8], out: &mut Vec<u8>) -> Option<()> {
        write_elements(bytes, out, Container::Object)
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Container {
        Object,
        Array,
    }

    fn write_elements(bytes: &[u8], out: &mut Vec<u8>, container: Container) -> Option<()> {
        let declared =
            usize::try_from(i32::from_le_bytes(bytes.get(..4)?.try_into().ok()?)).ok()?;
        if declared != bytes.len() || bytes.last() != Some(&0) {
            return None;
        }
        let mut reader = Reader {
            bytes: &bytes[4..bytes.len() - 1],
            at: 0,
        };
        out.push(if container == Container::Object {
            b'{'
        } else {
            b'['
        });
        let mut first = true;
        while !reader.done() {
            let kind = reader.byte()?;
            let name = reader.cstring()?;
            if !first {
                out.push(b',');
            }
            first = false;
            // An array's keys are its indexes, "0", "1", …: JSON leaves them out.
            if container == Container::Object {
                write_text(if name == b"_id" { b"id" } else { name }, out)?;
                out.push(b':');
            }
            match kind {
                0x01 => write_double(f64::from_le_bytes(reader.array()?), out),
                0x02 => write_text(reader.string()?, out)?,
                0x03 => write_elements(reader.document()?, out, Container::Object)?,
                0x04 => write_elements(reader.document()?, out, Container::Array)?,
                0x07 => write_object_id(&reader.array()?, out),
                0x08 => match reader.byte()? {
                    0 => write_bool(false, out),
                    1 => write_bool(true, out),
                    _ => return None,
                },
                0x09 => write_date(
                    DateTime::from_millis(i64::from_le_bytes(reader.array()?)),
                    out,
                ),
                0x0A => out.extend_from_slice(b"null"),
                0x10 => write_integer(i32::from_le_bytes(reader.array()?), out),
                // The increment comes first in the bytes.
                0x11 => {
                    let increment = u32::from_le_bytes(reader.array()?);
                    write_timestamp(u32::from_le_bytes(reader.array()?), increment, out);
                }
                0x12 => write_integer(i64::from_le_bytes(reader.array()?), out),
                _ => return None,
            }
        }
        out.push(if container == Container::Object {
            b'}'
        } else {
            b']'
        });
        Some(())
    }

    /// A position in a document's element bytes.
    struct Reader<'a> {
        bytes: &'a [u8],
        at: usize,
    }

    impl<'a> Reader<'a> {
        fn done(&self) -> bool {
            self.at == self.bytes.len()
        }

        fn take(&mut self, count: usize) -> Option<&'a [u8]> {
            let taken = self.bytes.get(self.at..self.at.checked_add(count)?)?;
            self.at += count;
            Some(taken)
        }

        fn byte(&mut self) -> Option<u8> {
            Some(self.take(1)?[0])
        }

        fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
            self.take(N)?.try_into().ok()
        }

        fn length(&mut self) -> Option<usize> {
            usize::try_from(i32::from_le_bytes(self.array()?)).ok()
        }

        /// A name: UTF-8 up to a zero byte (checked as it is written).
        fn cstring(&mut self) -> Option<&'a [u8]> {
            let rest = self.bytes.get(self.at..)?;
            let end = rest.iter().position(|&byte| byte == 0)?;
            self.at += end + 1;
            Some(&rest[..end])
        }

        /// A string value: its length with the zero byte, the UTF-8 (checked as it is
        /// written), the zero byte.
        fn string(&mut self) -> Option<&'a [u8]> {
            let length = self.length()?;
            let with_zero = self.take(length)?;
            let (&0, text) = with_zero.split_last()? else {
                return None;
            };
            Some(text)
        }

        /// An embedded document's bytes, its length included.
        fn document(&mut self) -> Option<&'a [u8]> {
            let start = self.at;
            let length = self.length()?;
            self.at = start;
            self.take(length)
        }
    }
}

/// Appends the JSON object for the post stored as `document` to `out`.
///
/// # Errors
///
/// When the bytes are not well-formed BSON; `out` then holds part of an object.
pub fn write_post(document: &RawDocument, out: &mut Vec<u8>) -> Result<(), bson::raw::Error> {
    let start = out.len();
    if fast::write_document(document.as_bytes(), out).is_some() {
        return Ok(());
    }
    // A type a post does not hold, or bytes the fast reader cannot make sense of: start the
    // object again with the bson crate's reader, which knows every type and says what is
    // wrong.
    out.truncate(start);
    write_document(document, out)
}

/// The general path: every BSON type, read with the bson crate.
fn write_document(document: &RawDocument, out: &mut Vec<u8>) -> Result<(), bson::raw::Error> {
    out.push(b'{');
    for (index, element) in document.iter().enumerate() {
        let (name, value) = element?;
        if index > 0 {
            out.push(b',');
        }
        write_str(if name == "_id" { "id" } else { name }, out);
        out.push(b':');
        write_value(value, out)?;
    }
    out.push(b'}');
    Ok(())
}

/// The post stored as `document`, as a JSON text.
///
/// # Errors
///
/// When the bytes are not well-formed BSON.
pub fn post_json(document: &RawDocument) -> Result<Vec<u8>, bson::raw::Error> {
    let mut out = Vec::with_capacity(document.as_bytes().len() + 64);
    write_post(document, &mut out)?;
    Ok(out)
}

fn write_value(value: RawBsonRef<'_>, out: &mut Vec<u8>) -> Result<(), bson::raw::Error> {
    match value {
        RawBsonRef::ObjectId(id) => write_object_id(&id.bytes(), out),
        RawBsonRef::DateTime(date) => write_date(date, out),
        RawBsonRef::String(text) => write_str(text, out),
        RawBsonRef::Int32(number) => {
            out.extend_from_slice(itoa::Buffer::new().format(number).as_bytes())
        }
        RawBsonRef::Int64(number) => {
            out.extend_from_slice(itoa::Buffer::new().format(number).as_bytes())
        }
        // As serde_json writes them, so a double reads the same here as in every other
        // answer. Writing into a Vec cannot fail, nor can a finite double.
        RawBsonRef::Double(number) if number.is_finite() => {
            let _ = serde_json::to_writer(&mut *out, &number);
        }
        RawBsonRef::Double(_) => out.extend_from_slice(b"null"),
        RawBsonRef::Boolean(flag) => out.extend_from_slice(if flag { b"true" } else { b"false" }),
        RawBsonRef::Timestamp(stamp) => {
            out.extend_from_slice(b"{\"t\":");
            out.extend_from_slice(itoa::Buffer::new().format(stamp.time).as_bytes());
            out.extend_from_slice(b",\"i\":");
            out.extend_from_slice(itoa::Buffer::new().format(stamp.increment).as_bytes());
            out.push(b'}');
        }
        RawBsonRef::Array(items) => {
            out.push(b'[');
            for (index, item) in items.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_value(item?, out)?;
            }
            out.push(b']');
        }
        RawBsonRef::Document(document) => write_document(document, out)?,
        other => {
            let extended = Bson::try_from(other)?.into_relaxed_extjson();
            // Writing into a Vec cannot fail, and a JSON value always serializes.
            let _ = serde_json::to_writer(&mut *out, &extended);
        }
    }
    Ok(())
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The two hex digits of every byte, looked up in one step.
const HEX_PAIRS: [[u8; 2]; 256] = {
    let mut pairs = [[0; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        pairs[byte] = [HEX[byte >> 4], HEX[byte & 0xF]];
        byte += 1;
    }
    pairs
};

fn write_object_id(id: &[u8; 12], out: &mut Vec<u8>) {
    // Built on the stack and copied once: a push per digit costs a capacity check each.
    let mut text = [b'"'; 26];
    for (at, &byte) in id.iter().enumerate() {
        text[1 + 2 * at..3 + 2 * at].copy_from_slice(&HEX_PAIRS[usize::from(byte)]);
    }
    out.extend_from_slice(&text);
}

/// A date as a JSON string. A post's `updated_at` is its `created_at` until it is first
/// changed, and posts stored together share their date, so the last date written is kept,
/// per thread, with its text: a repeat is one copy.
fn write_date(date: DateTime, out: &mut Vec<u8>) {
    thread_local! {
        static LAST: Cell<(i64, [u8; 26], usize)> = const { Cell::new((i64::MIN, [0; 26], 0)) };
    }
    let millis = date.timestamp_millis();
    LAST.with(|last| {
        let (cached, text, len) = last.get();
        if cached == millis {
            out.extend_from_slice(&text[..len]);
            return;
        }
        let mut text = Rfc3339::new();
        text.push(b'"');
        text.date(date);
        text.push(b'"');
        out.extend_from_slice(text.as_bytes());
        last.set((millis, text.text, text.len));
    });
}

fn write_integer(number: impl itoa::Integer, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(number).as_bytes());
}

/// As serde_json writes a double, so it reads the same here as in every other answer.
fn write_double(number: f64, out: &mut Vec<u8>) {
    if number.is_finite() {
        // Writing into a Vec cannot fail, nor can a finite double.
        let _ = serde_json::to_writer(&mut *out, &number);
    } else {
        out.extend_from_slice(b"null");
    }
}

fn write_bool(flag: bool, out: &mut Vec<u8>) {
    out.extend_from_slice(if flag { b"true" } else { b"false" });
}

fn write_timestamp(time: u32, increment: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"t\":");
    write_integer(time, out);
    out.extend_from_slice(b",\"i\":");
    write_integer(increment, out);
    out.push(b'}');
}

/// A JSON string: `"` and `\` escaped, control characters as `\n`-style escapes or
/// `\u00XX`; everything else, UTF-8 included, copied as it is. Text with nothing to escape
/// (nearly every title, body and tag) is found so sixteen bytes at a time, and copied in
/// one piece.
fn write_str(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut run = 0;
    while let Some(at) = next_escaped(bytes, run) {
        out.extend_from_slice(&bytes[run..at]);
        run = at + 1;
        match bytes[at] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            control => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(control >> 4)]);
                out.push(HEX[usize::from(control & 0xF)]);
            }
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Where the first byte at or after `from` that must be escaped is.
fn next_escaped(bytes: &[u8], from: usize) -> Option<usize> {
    first_byte(bytes, from, escaped)
}

/// The bytes a JSON string cannot hold as they are: `"`, a backslash and the controls
/// below 0x20.
fn escaped(byte: u8) -> bool {
    (byte < 0x20) | (byte == b'"') | (byte == b'\\')
}

/// Where the first byte at or after `from` that `stop` picks is. Sixteen bytes are tested
/// at a time, folded with `|` rather than `||`: without the early exit, the compiler tests
/// all sixteen at once with vector instructions.
fn first_byte(bytes: &[u8], from: usize, stop: impl Fn(u8) -> bool) -> Option<usize> {
    let mut at = from;
    for block in bytes[from..].chunks_exact(16) {
        if block.iter().fold(false, |any, &byte| any | stop(byte)) {
            break;
        }
        at += 16;
    }
    let offset = bytes[at..].iter().position(|&byte| stop(byte))?;
    Some(at + offset)
}

/// A date as RFC 3339 with the milliseconds BSON keeps, as text.
pub fn rfc3339(date: DateTime) -> String {
    let mut text = Rfc3339::new();
    text.date(date);
    // Only ASCII digits and punctuation were written.
    String::from_utf8_lossy(text.as_bytes()).into_owned()
}

/// Room for `"2026-11-24T12:00:00.123Z"` with its quotes, on the stack: one copy into the
/// output instead of a capacity check per character.
struct Rfc3339 {
    text: [u8; 26],
    len: usize,
}

impl Rfc3339 {
    fn new() -> Self {
        Rfc3339 {
            text: [0; 26],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.text[..self.len]
    }

    fn push(&mut self, byte: u8) {
        self.text[self.len] = byte;
        self.len += 1;
    }

    /// `value` (0 to 10^`width` − 1) as exactly `width` decimal digits.
    fn digits(&mut self, value: i64, width: usize) {
        let mut rest = value;
        for place in (0..width).rev() {
            // In 0..10: `rest` is non-negative.
            self.text[self.len + place] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        self.len += width;
    }

    /// `2026-11-24T12:00:00.5Z`: UTC, the fraction only when there is one, without its
    /// trailing zeros. RFC 3339 has four-digit years; a date outside years 0 to 9999
    /// (BSON's milliseconds reach ±292 million years) is written as an empty string, as no
    /// client could read it as a date.
    fn date(&mut self, date: DateTime) {
        const MS_PER_DAY: i64 = 86_400_000;
        let millis = date.timestamp_millis();
        let Some(calendar_day) = calendar_day(millis.div_euclid(MS_PER_DAY)) else {
            return;
        };
        let in_day = millis.rem_euclid(MS_PER_DAY);
        let second = in_day / 1000;
        let fraction = in_day % 1000;
        self.text[self.len..self.len + 10].copy_from_slice(&calendar_day);
        self.len += 10;
        self.push(b'T');
        self.digits(second / 3600, 2);
        self.push(b':');
        self.digits(second / 60 % 60, 2);
        self.push(b':');
        self.digits(second % 60, 2);
        if fraction != 0 {
            self.push(b'.');
            match (fraction % 100, fraction % 10) {
                (0, _) => self.digits(fraction / 100, 1),
                (_, 0) => self.digits(fraction / 10, 2),
                _ => self.digits(fraction, 3),
            }
        }
        self.push(b'Z');
    }
}

/// `2026-11-24` for a day count from 1970-01-01, or `None` outside years 0 to 9999.
///
/// The posts of one list were mostly written on few days, so the last day asked for is
/// kept, per thread, with its text: the calendar arithmetic runs once per new day, not
/// once per date.
fn calendar_day(days: i64) -> Option<[u8; 10]> {
    thread_local! {
        static LAST: Cell<(i64, Option<[u8; 10]>)> = const { Cell::new((i64::MIN, None)) };
    }
    LAST.with(|last| {
        let (cached, text) = last.get();
        if cached == days {
            return text;
        }
        let (year, month, day) = civil_from_days(days);
        let text = (0..=9999).contains(&year).then(|| {
            let mut text = Rfc3339::new();
            text.digits(year, 4);
            text.push(b'-');
            text.digits(month, 2);
            text.push(b'-');
            text.digits(day, 2);
            let mut day_text = [0; 10];
            day_text.copy_from_slice(text.as_bytes());
            day_text
        });
        last.set((days, text));
        text
    })
}

/// The proleptic Gregorian (year, month, day) of a day count from 1970-01-01: Howard
/// Hinnant's `civil_from_days`, which counts in 400-year eras (146 097 days each) whose
/// years start on March 1st, so that a leap day is the last day of its year.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::oid::ObjectId;
    use bson::{Document, RawDocumentBuf, doc};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn written(document: &Document) -> Value {
        let raw = RawDocumentBuf::from_document(document).expect("encodes");
        serde_json::from_slice(&post_json(&raw).expect("writes")).expect("is JSON")
    }

    #[test]
    fn a_stored_post_reads_as_plain_json() {
        let id = ObjectId::new();
        let document = doc! {
            "_id": id, "title": "t \"q\" \\ \n\u{1}é", "when": DateTime::from_millis(1_500),
            "likes": 2_i64, "small": 3, "ratio": 0.5, "huge": f64::INFINITY, "flag": true,
            "tags": ["a", "b"], "stamp": bson::Timestamp { time: 7, increment: 2 },
            "nested": { "_id": 1 }, "nothing": Bson::Null,
        };
        assert_eq!(
            written(&document),
            json!({
                "id": id.to_hex(), "title": "t \"q\" \\ \n\u{1}é", "when": "1970-01-01T00:00:01.5Z",
                "likes": 2, "small": 3, "ratio": 0.5, "huge": null, "flag": true,
                "tags": ["a", "b"], "stamp": {"t": 7, "i": 2}, "nested": {"id": 1},
                "nothing": null,
            })
        );
    }

    #[test]
    fn dates_drop_trailing_zeros_and_leave_out_what_rfc_3339_cannot_say() {
        for (millis, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (120, "1970-01-01T00:00:00.12Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (951_782_400_000, "2000-02-29T00:00:00Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (253_402_300_800_000, ""),
            (-62_167_219_200_000, "0000-01-01T00:00:00Z"),
            (-62_167_219_200_001, ""),
        ] {
            assert_eq!(rfc3339(DateTime::from_millis(millis)), text, "{millis} ms");
        }
    }

    /// Any BSON value, posts' types and the rest, nested a few levels deep.
    fn any_bson() -> impl Strategy<Value = Bson> {
        let leaf = prop_oneof![
            any::<f64>().prop_map(Bson::Double),
            any::<String>().prop_map(Bson::String),
            any::<[u8; 12]>().prop_map(|bytes| Bson::ObjectId(ObjectId::from_bytes(bytes))),
            any::<bool>().prop_map(Bson::Boolean),
            any::<i64>().prop_map(|millis| Bson::DateTime(DateTime::from_millis(millis))),
            Just(Bson::Null),
            any::<i32>().prop_map(Bson::Int32),
            any::<i64>().prop_map(Bson::Int64),
            (any::<u32>(), any::<u32>())
                .prop_map(|(time, increment)| Bson::Timestamp(bson::Timestamp { time, increment })),
            // Types a post never holds: the general path writes them.
            any::<Vec<u8>>().prop_map(|bytes| Bson::Binary(bson::Binary {
                subtype: bson::spec::BinarySubtype::Generic,
                bytes,
            })),
            Just(Bson::MinKey),
            "[a-z]{0,5}".prop_map(Bson::JavaScriptCode),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Bson::Array),
                prop::collection::vec(("[_a-z]{1,4}", inner), 0..4)
                    .prop_map(|fields| Bson::Document(fields.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The fast reader writes exactly what the bson crate's reader does, and hands
        /// what it does not know to it.
        #[test]
        fn the_fast_path_agrees_with_the_general_one(
            fields in prop::collection::vec(("[_a-z]{1,6}", any_bson()), 0..8)
        ) {
            let document: Document = fields.into_iter().collect();
            let raw = RawDocumentBuf::from_document(&document).expect("encodes");
            let mut general = Vec::new();
            write_document(&raw, &mut general).expect("writes");
            let mut fast = Vec::new();
            write_post(&raw, &mut fast).expect("writes");
            prop_assert_eq!(String::from_utf8(fast).expect("UTF-8"), String::from_utf8(general).expect("UTF-8"));
        }

        /// Bytes that are not BSON are an error or some JSON, never a panic.
        #[test]
        fn any_bytes_are_an_error_or_json(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let mut framed = u32::try_from(bytes.len() + 5).expect("small").to_le_bytes().to_vec();
            framed.extend_from_slice(&bytes);
            framed.push(0);
            if let Ok(raw) = RawDocument::from_bytes(&framed) {
                let mut out = Vec::new();
                if write_post(raw, &mut out).is_ok() {
                    prop_assert!(serde_json::from_slice::<Value>(&out).is_ok());
                }
            }
        }

        /// The hand-written date is the `time` crate's RFC 3339 wherever that has one.
        #[test]
        fn dates_match_the_time_crate(millis in -62_167_219_200_000_i64..253_402_300_800_000) {
            let date = DateTime::from_millis(millis);
            prop_assert_eq!(rfc3339(date), date.try_to_rfc3339_string().expect("in range"));
        }

        /// Doubles read as serde_json writes them, `null` when JSON has no such number.
        #[test]
        fn doubles_match_serde_json(number in any::<f64>()) {
            let mut out = Vec::new();
            write_value(RawBsonRef::Double(number), &mut out).expect("writes");
            let expected = serde_json::Number::from_f64(number).map_or(Value::Null, Value::Number);
            let expected = serde_json::to_string(&expected).expect("serializes");
            prop_assert_eq!(String::from_utf8(out).expect("ASCII"), expected);
        }

        /// The eight-at-a-time scan stops where a byte-at-a-time one does.
        #[test]
        fn the_plain_prefix_is_the_first_byte_to_escape(bytes in prop::collection::vec(
            prop_oneof![Just(b'"'), Just(b'\\'), 0x1F_u8..=0x21, 0x7E_u8..=0x81, any::<u8>(), b'a'..=b'z'],
            0..40,
        )) {
            let expected = bytes
                .iter()
                .position(|&byte| escaped(byte) | (byte >= 0x80))
                .unwrap_or(bytes.len());
            prop_assert_eq!(fast::plain_prefix(&bytes), expected);
        }

        /// Any string survives the trip through the escaping as itself.
        #[test]
        fn strings_read_back_as_written(text in any::<String>()) {
            let mut out = Vec::new();
            write_str(&text, &mut out);
            prop_assert_eq!(serde_json::from_slice::<String>(&out).expect("is JSON"), text);
        }
    }
}
