//! Comparing BSON values the way MongoDB does.
//!
//! MongoDB can compare any two values, even of different types: it first ranks the types,
//! then compares within a type. The ranking (lowest first) is
//!
//! ```text
//! MinKey < Null < Numbers < Strings < Objects < Arrays < BinData < ObjectId
//!        < Boolean < Date < Timestamp < Regex < JavaScript < MaxKey
//! ```
//!
//! and all numbers (int32, int64, double) share one rank and compare by value, so
//! `5 == 5.0` here. `$min`, `$max` and sorting use this order. The embedded store needs it
//! written out; MongoDB has it built in.
//!
//! [`identical`] is the stricter question "would storing this change the bytes?", used to
//! decide whether an update modified anything: for it `5` (int32) and `5.0` differ.

use std::cmp::Ordering;

use bson::Bson;

/// The rank of a value's type in MongoDB's comparison order.
fn type_rank(value: &Bson) -> u8 {
    match value {
        Bson::MinKey => 0,
        Bson::Null | Bson::Undefined => 1,
        Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_) | Bson::Decimal128(_) => 2,
        Bson::String(_) | Bson::Symbol(_) => 3,
        Bson::Document(_) => 4,
        Bson::Array(_) => 5,
        Bson::Binary(_) => 6,
        Bson::ObjectId(_) => 7,
        Bson::Boolean(_) => 8,
        Bson::DateTime(_) => 9,
        Bson::Timestamp(_) => 10,
        Bson::RegularExpression(_) => 11,
        Bson::DbPointer(_) => 12,
        Bson::JavaScriptCode(_) | Bson::JavaScriptCodeWithScope(_) => 13,
        Bson::MaxKey => 14,
    }
}

/// Compares two values in MongoDB's order (see the [module docs](self)).
pub(crate) fn compare(a: &Bson, b: &Bson) -> Ordering {
    let by_rank = type_rank(a).cmp(&type_rank(b));
    if by_rank != Ordering::Equal {
        return by_rank;
    }
    match (a, b) {
        (Bson::String(x) | Bson::Symbol(x), Bson::String(y) | Bson::Symbol(y)) => x.cmp(y),
        (Bson::Document(x), Bson::Document(y)) => {
            // Field by field: first the value's type rank, then the name, then the value.
            for ((kx, vx), (ky, vy)) in x.iter().zip(y.iter()) {
                let order = type_rank(vx)
                    .cmp(&type_rank(vy))
                    .then_with(|| kx.cmp(ky))
                    .then_with(|| compare(vx, vy));
                if order != Ordering::Equal {
                    return order;
                }
            }
            x.len().cmp(&y.len())
        }
        (Bson::Array(x), Bson::Array(y)) => {
            for (vx, vy) in x.iter().zip(y.iter()) {
                let order = compare(vx, vy);
                if order != Ordering::Equal {
                    return order;
                }
            }
            x.len().cmp(&y.len())
        }
        (Bson::Binary(x), Bson::Binary(y)) => x
            .bytes
            .len()
            .cmp(&y.bytes.len())
            .then_with(|| u8::from(x.subtype).cmp(&u8::from(y.subtype)))
            .then_with(|| x.bytes.cmp(&y.bytes)),
        (Bson::ObjectId(x), Bson::ObjectId(y)) => x.bytes().cmp(&y.bytes()),
        (Bson::Boolean(x), Bson::Boolean(y)) => x.cmp(y),
        (Bson::DateTime(x), Bson::DateTime(y)) => x.cmp(y),
        (Bson::Timestamp(x), Bson::Timestamp(y)) => {
            (x.time, x.increment).cmp(&(y.time, y.increment))
        }
        (Bson::RegularExpression(x), Bson::RegularExpression(y)) => x
            .pattern
            .cmp(&y.pattern)
            .then_with(|| x.options.cmp(&y.options)),
        (Bson::JavaScriptCode(x), Bson::JavaScriptCode(y)) => x.cmp(y),
        _ => compare_numbers(a, b).unwrap_or(Ordering::Equal),
    }
}

/// A number of any BSON numeric type we do arithmetic on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    /// BSON int32.
    I32(i32),
    /// BSON int64 ("long").
    I64(i64),
    /// BSON double.
    F64(f64),
}

impl Number {
    /// The number in a BSON value, if it holds one (`Decimal128` is not supported).
    pub(crate) fn of(value: &Bson) -> Option<Number> {
        match *value {
            Bson::Int32(n) => Some(Number::I32(n)),
            Bson::Int64(n) => Some(Number::I64(n)),
            Bson::Double(n) => Some(Number::F64(n)),
            _ => None,
        }
    }

    /// The value of an integer (int32 or int64); `None` for a double.
    pub(crate) fn as_int(self) -> Option<i64> {
        match self {
            Number::I32(n) => Some(i64::from(n)),
            Number::I64(n) => Some(n),
            Number::F64(_) => None,
        }
    }

    /// The value as a double; large int64s round, as they do in MongoDB's mixed arithmetic.
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Number::I32(n) => f64::from(n),
            Number::I64(n) => n as f64,
            Number::F64(n) => n,
        }
    }

    /// Back to BSON, keeping the type.
    pub(crate) fn to_bson(self) -> Bson {
        match self {
            Number::I32(n) => Bson::Int32(n),
            Number::I64(n) => Bson::Int64(n),
            Number::F64(n) => Bson::Double(n),
        }
    }
}

/// Compares two numbers of possibly different types exactly (no rounding of large
/// int64s through f64). MongoDB sorts NaN below every other number.
fn compare_numbers(a: &Bson, b: &Bson) -> Option<Ordering> {
    let (a, b) = (Number::of(a)?, Number::of(b)?);
    Some(match (a, b) {
        (Number::F64(x), Number::F64(y)) => match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        },
        (Number::F64(x), other) => compare_int_float(other.as_int()?, x).reverse(),
        (other, Number::F64(y)) => compare_int_float(other.as_int()?, y),
        (x, y) => x.as_int()?.cmp(&y.as_int()?),
    })
}

/// Compares an integer with a double without losing precision.
fn compare_int_float(i: i64, f: f64) -> Ordering {
    if f.is_nan() {
        return Ordering::Greater;
    }
    // 2^63 is exactly representable; every i64 is below it and at or above -2^63.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f >= TWO_63 {
        return Ordering::Less;
    }
    if f < -TWO_63 {
        return Ordering::Greater;
    }
    let whole = f.trunc();
    // In range, so the cast is exact.
    match i.cmp(&(whole as i64)) {
        Ordering::Equal => 0.0_f64.partial_cmp(&(f - whole)).unwrap_or(Ordering::Equal),
        other => other,
    }
}

/// True when storing `b` in place of `a` would store the same bytes: same type, same value,
/// and for documents the same field order. A double compares by its bits, so `-0.0` and
/// `0.0` differ, as they do in MongoDB's no-op check.
pub(crate) fn identical(a: &Bson, b: &Bson) -> bool {
    match (a, b) {
        (Bson::Double(x), Bson::Double(y)) => x.to_bits() == y.to_bits(),
        (Bson::Document(x), Bson::Document(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((kx, vx), (ky, vy))| kx == ky && identical(vx, vy))
        }
        (Bson::Array(x), Bson::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(vx, vy)| identical(vx, vy))
        }
        _ => a == b,
    }
}
