//! Applying an [`Update`] to a document, with MongoDB's rules.
//!
//! MongoDB runs updates inside the server; the embedded store runs them here, and the
//! conformance suite (`tests/store_conformance.rs`) checks that both give the same document
//! and the same errors. The MongoDB store runs them here too, but only to explain a refusal:
//! when the server refuses an update, the same update applied to the document it refused
//! says which field failed and why, in the words the embedded store uses, so a client gets
//! one error for one mistake whichever store is behind the API. The rules, operator by
//! operator:
//!
//! | operator | field missing | field present |
//! |---|---|---|
//! | `$set` | created (with any missing parent documents) | replaced; no-op if identical |
//! | `$setOnInsert` | like `$set`, only when an upsert inserts | ignored unless inserting |
//! | `$unset` | no-op | removed (an array element becomes `null`) |
//! | `$inc` | set to the operand | added; non-number → `TypeMismatch` |
//! | `$mul` | set to 0 of the operand's type | multiplied; non-number → `TypeMismatch` |
//! | `$min` / `$max` | set to the operand | replaced if the operand sorts lower / higher |
//! | `$currentDate` | set to now | set to now (always a modification) |
//! | `$rename` | no-op | moved, overwriting the target |
//!
//! Arithmetic keeps MongoDB's number types: int32 with int32 stays int32 unless it overflows,
//! which widens to int64; int64 overflow is an error (`BadValue`); any double makes a double.
//! One rule is ours, not MongoDB's: a `$inc` or `$mul` whose result leaves ±2^53 (or is not
//! a finite number) is refused (`BadValue`), because the API serves numbers as JSON and a
//! JavaScript client reads integers exactly only up to 2^53. The MongoDB store enforces the
//! same bound in the server, with a guard on the update's filter ([`Update::range_guards`]).
//!
//! Paths are dotted. A segment on a document names a field; on an array it must be an index
//! (`tags.0`), and setting past the end pads with `null`s, as MongoDB does. A path through a
//! scalar cannot be created (`PathNotViable`). Operators run in path order, as MongoDB 5+
//! does, so new fields are appended in the same order on both backends.
//!
//! The caller applies the update to a copy and keeps it only on success, so a failing
//! operator never leaves a half-updated document.

use std::cmp::Ordering;
use std::sync::Mutex;

use bson::{Bson, DateTime, Document, Timestamp};

use crate::store::compare::{Number, compare, identical};
use crate::store::update::{Operator, Update, UpdateOp, within_range};
use crate::store::{StoreError, UpdateFailure};

/// MongoDB refuses to pad an array past this many elements; so do we, which also stops a
/// path like `tags.999999999` from allocating gigabytes.
const MAX_ARRAY_PAD: usize = 1_500_000;

/// Applies a validated `update` to `doc`.
///
/// `inserting` is true when an upsert is creating `doc` (only then does `$setOnInsert`
/// apply); `now` is what `$currentDate` writes.
///
/// # Returns
///
/// Whether anything changed: MongoDB's `modified` count for this document.
///
/// # Errors
///
/// [`StoreError::UpdateFailed`] when an operator does not fit the document.
pub(crate) fn apply(
    doc: &mut Document,
    update: &Update,
    inserting: bool,
    now: Moment,
) -> Result<bool, StoreError> {
    let mut ops: Vec<&UpdateOp> = update.ops().iter().collect();
    ops.sort_by(|a, b| path_order(&a.path, &b.path));
    let mut modified = false;
    for op in ops {
        let changed = match op.operator {
            Operator::SetOnInsert if !inserting => false,
            Operator::Set | Operator::SetOnInsert => set(doc, &op.path, op.value.clone())?,
            Operator::Unset => unset(doc, &op.path),
            Operator::Rename => rename(doc, &op.path, &op.value)?,
            Operator::CurrentDate => {
                let stamp = match &op.value {
                    Bson::Document(spec) if spec.get_str("$type") == Ok("timestamp") => {
                        Bson::Timestamp(now.stamp)
                    }
                    _ => Bson::DateTime(now.date),
                };
                set(doc, &op.path, stamp)?;
                true
            }
            Operator::Inc | Operator::Mul | Operator::Min | Operator::Max => modify(doc, op)?,
        };
        modified |= changed;
    }
    Ok(modified)
}

/// The moment an update runs, as `$currentDate` writes it: a date, or a timestamp.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moment {
    /// `$currentDate: true` and `{$type: "date"}`.
    pub(crate) date: DateTime,
    /// `{$type: "timestamp"}`.
    pub(crate) stamp: Timestamp,
}

impl Moment {
    /// Now, with the next stamp from `clock`.
    pub(crate) fn now(clock: &StampClock) -> Moment {
        let date = DateTime::now();
        Moment {
            date,
            stamp: clock.next(date),
        }
    }
}

/// Where `$currentDate {$type: "timestamp"}` gets its stamps. A BSON timestamp is seconds
/// and an increment; MongoDB counts operations in the increment, so two stamps of the same
/// second still compare in the order they were made. This clock does the same for one
/// store: the increment starts at 1 each second and counts up within it.
#[derive(Debug)]
pub(crate) struct StampClock {
    last: Mutex<Timestamp>,
}

impl Default for StampClock {
    fn default() -> Self {
        StampClock {
            last: Mutex::new(Timestamp {
                time: 0,
                increment: 0,
            }),
        }
    }
}

impl StampClock {
    /// The stamp after every one given so far, at `now`'s second (or the last one's, should
    /// the clock have stepped back).
    pub(crate) fn next(&self, now: DateTime) -> Timestamp {
        let seconds = u32::try_from(now.timestamp_millis().div_euclid(1000)).unwrap_or(u32::MAX);
        // A poisoned lock only means another update panicked mid-stamp; the stamp in it is
        // still a stamp.
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = if seconds > last.time {
            Timestamp {
                time: seconds,
                increment: 1,
            }
        } else {
            Timestamp {
                time: last.time,
                increment: last.increment.saturating_add(1),
            }
        };
        *last
    }
}

/// Orders paths segment by segment, numeric segments by value (so `a.10` after `a.9`).
fn path_order(a: &str, b: &str) -> Ordering {
    let mut xs = a.split('.');
    let mut ys = b.split('.');
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (array_index(x), array_index(y)) {
                    (Some(i), Some(j)) => i.cmp(&j),
                    _ => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// The array index a segment names, if it is all ASCII digits.
fn array_index(segment: &str) -> Option<usize> {
    if segment.bytes().all(|b| b.is_ascii_digit()) {
        segment.parse().ok()
    } else {
        None
    }
}

/// The value holding the last segment of a path: a document or an array.
enum Parent<'a> {
    Doc(&'a mut Document),
    Array(&'a mut Vec<Bson>),
}

/// Splits a validated path into (parent segments, last segment).
fn split_path(path: &str) -> (Vec<&str>, &str) {
    let mut segments: Vec<&str> = path.split('.').collect();
    // Validation guarantees at least one non-empty segment; an empty last is harmless.
    let last = segments.pop().unwrap_or_default();
    (segments, last)
}

fn not_viable(path: &str, segment: &str, holder: &Bson) -> StoreError {
    StoreError::update_failed(
        UpdateFailure::PathNotViable,
        path,
        format!(
            "cannot create field '{segment}' of '{path}' in a value of type {}",
            type_name(holder)
        ),
    )
}

/// Walks to the parent of the last segment. With `create`, missing documents on the way are
/// made (and arrays padded); without, a missing or scalar step gives `None`.
fn parent<'a>(
    node: Parent<'a>,
    segments: &[&str],
    create: bool,
    path: &str,
) -> Result<Option<Parent<'a>>, StoreError> {
    let Some((first, rest)) = segments.split_first() else {
        return Ok(Some(node));
    };
    let child: &'a mut Bson = match node {
        Parent::Doc(doc) => {
            if !create && !doc.contains_key(*first) {
                return Ok(None);
            }
            doc.entry((*first).to_string())
                .or_insert_with(|| Bson::Document(Document::new()))
        }
        Parent::Array(items) => {
            let Some(index) = array_index(first) else {
                return if create {
                    Err(not_viable(path, first, &Bson::Array(Vec::new())))
                } else {
                    Ok(None)
                };
            };
            if index >= items.len() {
                if !create {
                    return Ok(None);
                }
                pad(items, index, path)?;
                items.push(Bson::Document(Document::new()));
            }
            match items.get_mut(index) {
                Some(child) => child,
                None => return Ok(None),
            }
        }
    };
    match child {
        Bson::Document(doc) => parent(Parent::Doc(doc), rest, create, path),
        Bson::Array(items) => parent(Parent::Array(items), rest, create, path),
        scalar if create => Err(match rest.first() {
            Some(next) => not_viable(path, next, scalar),
            None => not_viable(path, split_path(path).1, scalar),
        }),
        _ => Ok(None),
    }
}

/// Pads `items` with nulls up to (not including) `index`, within [`MAX_ARRAY_PAD`].
fn pad(items: &mut Vec<Bson>, index: usize, path: &str) -> Result<(), StoreError> {
    if index > MAX_ARRAY_PAD {
        return Err(StoreError::update_failed(
            UpdateFailure::BadValue,
            path,
            format!("cannot pad an array to index {index}; the limit is {MAX_ARRAY_PAD}"),
        ));
    }
    items.resize(index, Bson::Null);
    Ok(())
}

/// Reads the value at `path` (through documents and array indexes), if any.
fn get<'a>(doc: &'a Document, path: &str) -> Option<&'a Bson> {
    let mut segments = path.split('.');
    let mut current = doc.get(segments.next()?)?;
    for segment in segments {
        current = match current {
            Bson::Document(d) => d.get(segment)?,
            Bson::Array(items) => items.get(array_index(segment)?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Writes `value` at `path`, creating what is missing. Returns whether anything changed.
fn set(doc: &mut Document, path: &str, value: Bson) -> Result<bool, StoreError> {
    if get(doc, path).is_some_and(|old| identical(old, &value)) {
        return Ok(false);
    }
    let (segments, last) = split_path(path);
    match parent(Parent::Doc(doc), &segments, true, path)? {
        Some(Parent::Doc(holder)) => {
            holder.insert(last, value);
        }
        Some(Parent::Array(items)) => {
            let Some(index) = array_index(last) else {
                return Err(not_viable(path, last, &Bson::Array(Vec::new())));
            };
            if index < items.len() {
                items[index] = value;
            } else {
                pad(items, index, path)?;
                items.push(value);
            }
        }
        // With `create`, `parent` either finds a parent or fails.
        None => return Ok(false),
    }
    Ok(true)
}

/// Removes the value at `path`; an array element becomes `null` so later indexes keep
/// their meaning. Returns whether anything changed.
fn unset(doc: &mut Document, path: &str) -> bool {
    let (segments, last) = split_path(path);
    match parent(Parent::Doc(doc), &segments, false, path) {
        Ok(Some(Parent::Doc(holder))) => holder.remove(last).is_some(),
        Ok(Some(Parent::Array(items))) => match array_index(last).and_then(|i| items.get_mut(i)) {
            Some(item) if *item != Bson::Null => {
                *item = Bson::Null;
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// True when a step before the last segment of `path` is an array in `doc`.
/// `$rename` refuses such paths, as MongoDB does.
fn crosses_array(doc: &Document, path: &str) -> bool {
    let (segments, _) = split_path(path);
    let mut current = doc;
    for segment in segments {
        match current.get(segment) {
            Some(Bson::Document(d)) => current = d,
            Some(Bson::Array(_)) => return true,
            _ => return false,
        }
    }
    false
}

/// `$rename`: moves the value at `from` to the path named by `to` (validated as a string).
fn rename(doc: &mut Document, from: &str, to: &Bson) -> Result<bool, StoreError> {
    let Bson::String(to) = to else {
        return Ok(false);
    };
    for (role, path) in [("source", from), ("destination", to.as_str())] {
        if crosses_array(doc, path) {
            return Err(StoreError::update_failed(
                UpdateFailure::BadValue,
                path,
                format!("the {role} field '{path}' cannot be an array element"),
            ));
        }
    }
    let (segments, last) = split_path(from);
    let value = match parent(Parent::Doc(doc), &segments, false, from)? {
        Some(Parent::Doc(holder)) => holder.remove(last),
        _ => None,
    };
    match value {
        Some(value) => {
            set(doc, to, value)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// `$inc`, `$mul`, `$min`, `$max`: read the current value, compute, write if different.
/// (Called only for these four operators.)
fn modify(doc: &mut Document, op: &UpdateOp) -> Result<bool, StoreError> {
    let current = get(doc, &op.path).cloned();
    let new_value = match (op.operator, current) {
        (Operator::Min, Some(old)) if compare(&op.value, &old) == Ordering::Less => {
            op.value.clone()
        }
        (Operator::Max, Some(old)) if compare(&op.value, &old) == Ordering::Greater => {
            op.value.clone()
        }
        (Operator::Min | Operator::Max, Some(_)) => return Ok(false),
        (Operator::Mul, None) => match Number::of(&op.value) {
            Some(Number::I32(_)) => Bson::Int32(0),
            Some(Number::I64(_)) => Bson::Int64(0),
            _ => Bson::Double(0.0),
        },
        // `$inc`, `$min` and `$max` on a missing field set it to the operand.
        (_, None) => op.value.clone(),
        (operator, Some(old)) => arithmetic(operator, &op.path, &old, &op.value)?,
    };
    set(doc, &op.path, new_value)
}

/// `$inc` or `$mul` on an existing value, with MongoDB's type promotion.
fn arithmetic(
    operator: Operator,
    path: &str,
    old: &Bson,
    operand: &Bson,
) -> Result<Bson, StoreError> {
    let (Some(a), Some(b)) = (Number::of(old), Number::of(operand)) else {
        return Err(StoreError::update_failed(
            UpdateFailure::TypeMismatch,
            path,
            format!(
                "cannot apply {operator} to a value of non-numeric type: field '{path}' has type {}",
                type_name(old)
            ),
        ));
    };
    let add = operator == Operator::Inc;
    let result = match (a, b) {
        (Number::I32(x), Number::I32(y)) => {
            let narrow = if add {
                x.checked_add(y)
            } else {
                x.checked_mul(y)
            };
            // Two int32s always fit in an int64, whatever the operation.
            Some(narrow.map_or_else(
                || {
                    let (x, y) = (i64::from(x), i64::from(y));
                    Number::I64(if add { x + y } else { x * y })
                },
                Number::I32,
            ))
        }
        (Number::F64(_), _) | (_, Number::F64(_)) => {
            let (x, y) = (a.as_f64(), b.as_f64());
            Some(Number::F64(if add { x + y } else { x * y }))
        }
        _ => match (a.as_int(), b.as_int()) {
            (Some(x), Some(y)) => {
                let wide = if add {
                    x.checked_add(y)
                } else {
                    x.checked_mul(y)
                };
                wide.map(Number::I64)
            }
            _ => None,
        },
    };
    let result = result.ok_or_else(|| {
        StoreError::update_failed(
            UpdateFailure::BadValue,
            path,
            format!("failed to apply {operator} to field '{path}': 64-bit integer overflow"),
        )
    })?;
    if !within_range(result) {
        return Err(StoreError::update_failed(
            UpdateFailure::BadValue,
            path,
            format!(
                "{operator} would make field '{path}' {}, outside ±2^53, the numbers a JSON \
                 client reads exactly",
                result
                    .as_int()
                    .map_or_else(|| result.as_f64().to_string(), |n| n.to_string())
            ),
        ));
    }
    Ok(result.to_bson())
}

/// The MongoDB name of a value's type, for error messages.
fn type_name(value: &Bson) -> &'static str {
    match value {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(_) => "binData",
        Bson::ObjectId(_) => "objectId",
        Bson::Boolean(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::Int32(_) => "int",
        Bson::Timestamp(_) => "timestamp",
        Bson::Int64(_) => "long",
        Bson::Decimal128(_) => "decimal",
        _ => "other",
    }
}
