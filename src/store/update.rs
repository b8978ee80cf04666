//! A typed update: MongoDB's nine field update operators, checked before they run.
//!
//! In MongoDB an update is a document such as
//!
//! ```text
//! { "$inc": { "likes": 1 }, "$set": { "title": "New" }, "$currentDate": { "updated_at": true } }
//! ```
//!
//! Here it is a list of [`UpdateOp`]s, each an [`Operator`], a dotted field path and a BSON
//! operand, built with methods named after the operators or parsed with
//! [`Update::from_document`] from a document like the one above.
//!
//! [`Update::validate`] runs before either backend sees the update, so malformed updates get
//! the same [`StoreError::InvalidUpdate`] from both. It rejects:
//! - an empty update, and (when parsing) an unknown operator;
//! - a path that is empty, starts with `$` (that would be an operator), has an empty segment
//!   (`a..b`) or a segment starting with `$` (positional operators are not supported);
//! - any path on `_id`: a document's identity never changes;
//! - two paths that overlap, where one equals the other or is a prefix of it (`a` and `a.b`),
//!   across all operators and including both ends of a `$rename`. MongoDB refuses these too
//!   ("would create a conflict"), because the outcome would depend on the order of application;
//! - operands of the wrong kind: a non-number for `$inc`/`$mul` (or one beyond ±2^53, or
//!   not finite: see [`MAX_MAGNITUDE`]), a non-string `$rename`
//!   target, a `$currentDate` that is neither `true` nor `{$type: "date" | "timestamp"}`;
//! - operand documents whose keys start with `$` or contain `.`, and `Decimal128` operands
//!   (the embedded store has no decimal arithmetic, so neither store accepts them).
//!
//! Failures that depend on the stored document (`$inc` on a string, or a `$mul` whose result
//! leaves ±2^53) can only be found when the update runs; see [`StoreError::UpdateFailed`]
//! and [`Update::range_guards`].

use std::fmt;
use std::str::FromStr;

use bson::{Bson, Document};

use super::StoreError;
use super::compare::Number;

/// The largest magnitude a `$inc` or `$mul` may give a number, or take as an operand: 2^53,
/// beyond which a JavaScript client (or any reader of JSON numbers as doubles) no longer
/// reads every integer exactly. MongoDB has no such rule; this store does, because it serves
/// the numbers as JSON.
pub const MAX_MAGNITUDE: f64 = 9_007_199_254_740_992.0;

/// Whether `number` is finite and within ±[`MAX_MAGNITUDE`]; integers are compared as
/// integers, since 2^53 + 1 is already 2^53 as a double.
pub(crate) fn within_range(number: Number) -> bool {
    match number.as_int() {
        Some(integer) => integer.unsigned_abs() <= 1 << 53,
        None => number.as_f64().is_finite() && number.as_f64().abs() <= MAX_MAGNITUDE,
    }
}

/// Where a field's current value must be for a `$inc` or `$mul` on it to stay in range
/// ([`Update::range_guards`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeGuard {
    /// The field.
    pub path: String,
    /// The lowest current value that keeps the result in range.
    pub low: f64,
    /// The highest.
    pub high: f64,
}

/// One of MongoDB's field update operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `$currentDate`: set the field to the current date or timestamp.
    CurrentDate,
    /// `$inc`: add a number (a missing field starts from the operand).
    Inc,
    /// `$min`: replace the field if the operand sorts lower (a missing field is set).
    Min,
    /// `$max`: replace the field if the operand sorts higher (a missing field is set).
    Max,
    /// `$mul`: multiply by a number (a missing field becomes 0 of the operand's type).
    Mul,
    /// `$rename`: move a field to a new path, overwriting what is there.
    Rename,
    /// `$set`: set the field, creating the path if needed.
    Set,
    /// `$setOnInsert`: like `$set`, but only when an upsert inserts the document.
    SetOnInsert,
    /// `$unset`: remove the field (the operand is ignored).
    Unset,
}

impl Operator {
    /// Every operator, in the order MongoDB's documentation lists them.
    pub const ALL: [Operator; 9] = [
        Operator::CurrentDate,
        Operator::Inc,
        Operator::Min,
        Operator::Max,
        Operator::Mul,
        Operator::Rename,
        Operator::Set,
        Operator::SetOnInsert,
        Operator::Unset,
    ];

    /// The operator as written in an update document, e.g. `"$inc"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::CurrentDate => "$currentDate",
            Operator::Inc => "$inc",
            Operator::Min => "$min",
            Operator::Max => "$max",
            Operator::Mul => "$mul",
            Operator::Rename => "$rename",
            Operator::Set => "$set",
            Operator::SetOnInsert => "$setOnInsert",
            Operator::Unset => "$unset",
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Operator {
    type Err = StoreError;

    /// Parses `"$inc"` and friends.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidUpdate`] naming the unknown operator.
    fn from_str(s: &str) -> Result<Self, StoreError> {
        Operator::ALL
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| StoreError::invalid_update(s, "unknown update operator"))
    }
}

/// One operator applied to one field path.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateOp {
    /// What to do.
    pub operator: Operator,
    /// The dotted field path, e.g. `stats.likes`.
    pub path: String,
    /// The operand: the value to set, the amount to add, the new name for `$rename`.
    pub value: Bson,
}

/// An ordered list of [`UpdateOp`]s applied to one document.
///
/// # Example
///
/// ```
/// use groundup::store::Update;
///
/// let update = Update::new().inc("likes", 1).set("title", "Hello").current_date("updated_at");
/// assert!(update.validate().is_ok());
/// assert_eq!(
///     update.to_document().to_string(),
///     r#"{ "$inc": { "likes": 1 }, "$set": { "title": "Hello" }, "$currentDate": { "updated_at": true } }"#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    ops: Vec<UpdateOp>,
}

impl Update {
    /// An empty update (which [`validate`](Self::validate) rejects until something is added).
    pub fn new() -> Self {
        Update::default()
    }

    /// Appends one operator; the methods below are shorthands for this.
    pub fn push(
        mut self,
        operator: Operator,
        path: impl Into<String>,
        value: impl Into<Bson>,
    ) -> Self {
        self.ops.push(UpdateOp {
            operator,
            path: path.into(),
            value: value.into(),
        });
        self
    }

    /// `$currentDate: {path: true}`: set `path` to the current date.
    pub fn current_date(self, path: impl Into<String>) -> Self {
        self.push(Operator::CurrentDate, path, true)
    }

    /// `$currentDate: {path: {$type: "timestamp"}}`: set `path` to a BSON timestamp.
    pub fn current_timestamp(self, path: impl Into<String>) -> Self {
        self.push(
            Operator::CurrentDate,
            path,
            bson::doc! { "$type": "timestamp" },
        )
    }

    /// `$inc: {path: amount}`.
    pub fn inc(self, path: impl Into<String>, amount: impl Into<Bson>) -> Self {
        self.push(Operator::Inc, path, amount)
    }

    /// `$min: {path: value}`.
    pub fn min(self, path: impl Into<String>, value: impl Into<Bson>) -> Self {
        self.push(Operator::Min, path, value)
    }

    /// `$max: {path: value}`.
    pub fn max(self, path: impl Into<String>, value: impl Into<Bson>) -> Self {
        self.push(Operator::Max, path, value)
    }

    /// `$mul: {path: factor}`.
    pub fn mul(self, path: impl Into<String>, factor: impl Into<Bson>) -> Self {
        self.push(Operator::Mul, path, factor)
    }

    /// `$rename: {from: to}`.
    pub fn rename(self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.push(Operator::Rename, from, to.into())
    }

    /// `$set: {path: value}`.
    pub fn set(self, path: impl Into<String>, value: impl Into<Bson>) -> Self {
        self.push(Operator::Set, path, value)
    }

    /// `$setOnInsert: {path: value}`.
    pub fn set_on_insert(self, path: impl Into<String>, value: impl Into<Bson>) -> Self {
        self.push(Operator::SetOnInsert, path, value)
    }

    /// `$unset: {path: ""}`.
    pub fn unset(self, path: impl Into<String>) -> Self {
        self.push(Operator::Unset, path, "")
    }

    /// The operators in the order they were added.
    pub fn ops(&self) -> &[UpdateOp] {
        &self.ops
    }

    /// Parses a MongoDB update document such as `{"$inc": {"likes": 1}}` and validates it.
    ///
    /// This is the one way client-supplied JSON (converted to BSON) becomes an update: every
    /// key is checked against the nine operators and every path and operand validated, so
    /// nothing unexpected reaches the database.
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidUpdate`] for a top-level key that is not an operator, an operator
    /// whose value is not a document, and everything [`validate`](Self::validate) rejects.
    pub fn from_document(doc: &Document) -> Result<Update, StoreError> {
        let mut update = Update::new();
        for (key, fields) in doc {
            let operator: Operator = key.parse()?;
            let Bson::Document(fields) = fields else {
                return Err(StoreError::invalid_update(
                    key,
                    "an operator takes a document of fields",
                ));
            };
            for (path, value) in fields {
                update = update.push(operator, path.clone(), value.clone());
            }
        }
        update.validate()?;
        Ok(update)
    }

    /// For each `$inc` and `$mul`, the range the field's current value must be in for the
    /// result to stay within ±[`MAX_MAGNITUDE`]: `x + d` stays in range exactly when `x` is
    /// within `[-2^53 - d, 2^53 - d]`, and `x · m` when `|x| ≤ 2^53 / |m|`. A missing field
    /// needs no guard (`$inc` sets the operand, `$mul` a zero; both checked), nor does a value
    /// that is not a number (the update fails on it anyway).
    ///
    /// The MongoDB store turns these into a condition on the update's filter, so the server
    /// itself refuses to step out of range, even with other updates racing this one.
    pub fn range_guards(&self) -> Vec<RangeGuard> {
        self.ops
            .iter()
            .filter_map(|op| {
                let operand = Number::of(&op.value)?.as_f64();
                let (low, high) = match op.operator {
                    Operator::Inc => (-MAX_MAGNITUDE - operand, MAX_MAGNITUDE - operand),
                    Operator::Mul if operand == 0.0 => return None,
                    Operator::Mul => {
                        let bound = MAX_MAGNITUDE / operand.abs();
                        (-bound, bound)
                    }
                    _ => return None,
                };
                Some(RangeGuard {
                    path: op.path.clone(),
                    low,
                    high,
                })
            })
            .collect()
    }

    /// The update as a MongoDB update document, grouping paths under their operator in the
    /// order each operator first appears.
    pub fn to_document(&self) -> Document {
        let mut doc = Document::new();
        for op in &self.ops {
            let key = op.operator.as_str();
            if !doc.contains_key(key) {
                doc.insert(key, Document::new());
            }
            if let Some(Bson::Document(fields)) = doc.get_mut(key) {
                fields.insert(op.path.clone(), op.value.clone());
            }
        }
        doc
    }

    /// Checks the rules in the [module docs](self).
    ///
    /// # Errors
    ///
    /// [`StoreError::InvalidUpdate`] naming the first offending path and why.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.ops.is_empty() {
            return Err(StoreError::invalid_update(
                "",
                "an update needs at least one operator",
            ));
        }
        // Every path the update writes or removes; a rename touches two.
        let mut touched: Vec<&str> = Vec::with_capacity(self.ops.len() + 1);
        for op in &self.ops {
            check_path(&op.path)?;
            check_operand(op)?;
            touched.push(&op.path);
            if let (Operator::Rename, Bson::String(target)) = (op.operator, &op.value) {
                touched.push(target);
            }
        }
        for (i, a) in touched.iter().enumerate() {
            for b in &touched[i + 1..] {
                if overlaps(a, b) {
                    return Err(StoreError::invalid_update(
                        *b,
                        format!("updating the path '{b}' would create a conflict at '{a}'"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Checks one dotted path: non-empty segments, no `$` at the start of any segment, not `_id`.
fn check_path(path: &str) -> Result<(), StoreError> {
    if path.is_empty() {
        return Err(StoreError::invalid_update(
            path,
            "a field path cannot be empty",
        ));
    }
    for segment in path.split('.') {
        if segment.is_empty() {
            return Err(StoreError::invalid_update(
                path,
                "a field path cannot have an empty segment",
            ));
        }
        if segment.starts_with('$') {
            return Err(StoreError::invalid_update(
                path,
                "a field path cannot start with `$` (operators and positional paths are not fields)",
            ));
        }
    }
    if path.split('.').next() == Some("_id") {
        return Err(StoreError::invalid_update(path, "`_id` cannot be updated"));
    }
    Ok(())
}

/// Checks that an operand suits its operator.
fn check_operand(op: &UpdateOp) -> Result<(), StoreError> {
    let path = op.path.as_str();
    // `$currentDate`'s `{$type: ...}` is the one operand with a `$` key; its match arm
    // below accepts exactly that shape.
    if op.operator != Operator::CurrentDate {
        check_value_keys(path, &op.value)?;
    }
    match op.operator {
        Operator::Inc | Operator::Mul => match Number::of(&op.value) {
            Some(number) if within_range(number) => Ok(()),
            Some(_) => Err(StoreError::invalid_update(
                path,
                format!("{} takes a finite number within ±2^53", op.operator),
            )),
            None => Err(StoreError::invalid_update(
                path,
                format!("{} needs a number (int32, int64 or double)", op.operator),
            )),
        },
        Operator::Rename => match &op.value {
            Bson::String(target) => check_path(target),
            _ => Err(StoreError::invalid_update(
                path,
                "$rename needs the new path as a string",
            )),
        },
        Operator::CurrentDate => match &op.value {
            Bson::Boolean(true) => Ok(()),
            Bson::Document(spec)
                if spec.len() == 1
                    && matches!(spec.get_str("$type"), Ok("date") | Ok("timestamp")) =>
            {
                Ok(())
            }
            _ => Err(StoreError::invalid_update(
                path,
                r#"$currentDate takes true or {"$type": "date" | "timestamp"}"#,
            )),
        },
        Operator::Min | Operator::Max | Operator::Set | Operator::SetOnInsert | Operator::Unset => {
            Ok(())
        }
    }
}

/// Rejects operand values that could read as operators or paths, and decimals.
pub(crate) fn check_value_keys(path: &str, value: &Bson) -> Result<(), StoreError> {
    match value {
        Bson::Document(doc) => {
            for (key, inner) in doc {
                if key.starts_with('$') || key.contains('.') || key.is_empty() {
                    return Err(StoreError::invalid_update(
                        path,
                        format!(
                            "nested field name {key:?} cannot be empty, start with `$` or contain `.`"
                        ),
                    ));
                }
                check_value_keys(path, inner)?;
            }
            Ok(())
        }
        Bson::Array(items) => items
            .iter()
            .try_for_each(|item| check_value_keys(path, item)),
        Bson::Decimal128(_) => Err(StoreError::invalid_update(
            path,
            "Decimal128 values are not supported",
        )),
        _ => Ok(()),
    }
}

/// True when one path equals the other or is a whole-segment prefix of it
/// (`a` and `a.b` overlap; `a` and `ab` do not).
fn overlaps(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long == short || (long.starts_with(short) && long.as_bytes().get(short.len()) == Some(&b'.'))
}
