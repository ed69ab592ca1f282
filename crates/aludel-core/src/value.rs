//! The one value model shared by every dialect: what is bound and what is read.

use std::fmt;

#[cfg(feature = "chrono")]
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// A SQL value, as bound into a statement or read from a row.
///
/// Every Rust type Aludel binds converts into a `Value` with [`From`], and
/// every type it reads converts out of one with [`FromValue`].
///
/// ```
/// use aludel_core::Value;
/// assert_eq!(Value::from(42_i32), Value::I32(42));
/// assert_eq!(Value::from(None::<i64>), Value::Null);
/// assert_eq!(Value::from("hi"), Value::String("hi".into()));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// A 16-bit integer (SMALLINT).
    I16(i16),
    /// A 32-bit integer (INTEGER).
    I32(i32),
    /// A 64-bit integer (BIGINT).
    I64(i64),
    /// A single precision float (REAL).
    F32(f32),
    /// A double precision float.
    F64(f64),
    /// Text.
    String(String),
    /// Bytes (BYTEA, BLOB, VARBINARY).
    Bytes(Vec<u8>),
    /// A calendar date.
    #[cfg(feature = "chrono")]
    Date(NaiveDate),
    /// A time of day.
    #[cfg(feature = "chrono")]
    Time(NaiveTime),
    /// A date and time without time zone.
    #[cfg(feature = "chrono")]
    DateTime(NaiveDateTime),
    /// An instant: a date and time with time zone, normalised to UTC.
    #[cfg(feature = "chrono")]
    DateTimeTz(DateTime<Utc>),
    /// A UUID.
    Uuid(Uuid),
    /// An exact decimal number (NUMERIC / DECIMAL), up to 28 significant digits.
    Decimal(Decimal),
    /// A JSON document.
    Json(serde_json::Value),
}

impl Value {
    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A short name of the variant, used in error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Bool(_) => "bool",
            Value::I16(_) => "i16",
            Value::I32(_) => "i32",
            Value::I64(_) => "i64",
            Value::F32(_) => "f32",
            Value::F64(_) => "f64",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            #[cfg(feature = "chrono")]
            Value::Date(_) => "date",
            #[cfg(feature = "chrono")]
            Value::Time(_) => "time",
            #[cfg(feature = "chrono")]
            Value::DateTime(_) => "datetime",
            #[cfg(feature = "chrono")]
            Value::DateTimeTz(_) => "datetime with time zone",
            Value::Uuid(_) => "uuid",
            Value::Decimal(_) => "decimal",
            Value::Json(_) => "json",
        }
    }

    /// The value as an `i64`, for any integer or boolean variant.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Bool(b) => Some(b as i64),
            Value::I16(v) => Some(v as i64),
            Value::I32(v) => Some(v as i64),
            Value::I64(v) => Some(v),
            _ => None,
        }
    }

    /// The value as a string slice, for text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("NULL"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::I16(v) => write!(f, "{v}"),
            Value::I32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
            Value::String(v) => write!(f, "{v:?}"),
            Value::Bytes(v) => write!(f, "<{} bytes>", v.len()),
            #[cfg(feature = "chrono")]
            Value::Date(v) => write!(f, "{v}"),
            #[cfg(feature = "chrono")]
            Value::Time(v) => write!(f, "{v}"),
            #[cfg(feature = "chrono")]
            Value::DateTime(v) => write!(f, "{v}"),
            #[cfg(feature = "chrono")]
            Value::DateTimeTz(v) => write!(f, "{v}"),
            Value::Uuid(v) => write!(f, "{v}"),
            Value::Decimal(v) => write!(f, "{v}"),
            Value::Json(v) => write!(f, "{v}"),
        }
    }
}

macro_rules! from_scalar {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$variant(v.into())
            }
        }
    )*};
}

from_scalar! {
    bool => Bool, i8 => I16, i16 => I16, u8 => I16, i32 => I32, u16 => I32, i64 => I64,
    u32 => I64, f32 => F32, f64 => F64, String => String, &str => String,
    Vec<u8> => Bytes, &[u8] => Bytes, Uuid => Uuid, Decimal => Decimal,
    serde_json::Value => Json,
}

#[cfg(feature = "chrono")]
from_scalar! {
    NaiveDate => Date, NaiveTime => Time, NaiveDateTime => DateTime, DateTime<Utc> => DateTimeTz,
}

#[cfg(feature = "chrono")]
impl From<DateTime<FixedOffset>> for Value {
    fn from(v: DateTime<FixedOffset>) -> Self {
        Value::DateTimeTz(v.with_timezone(&Utc))
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::String(v.clone())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Why a [`Value`] could not become the requested Rust type; the caller adds
/// the column, SQL type and Rust type to make the final [`Error`](crate::Error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl DecodeError {
    fn mismatch(value: &Value) -> Self {
        DecodeError(format!("found a {} value", value.kind_name()))
    }
}

/// A Rust type that can be read out of a [`Value`].
///
/// Implementations are lenient about representation, because each backend
/// stores some types its own way: a `bool` is read from SQLite's and MySQL's
/// integers, a date from SQLite's text, a UUID from text or 16 bytes.
pub trait FromValue: Sized {
    /// Convert `value`, or say why not.
    fn from_value(value: Value) -> Result<Self, DecodeError>;

    /// Convert a PostgreSQL cell as the server sent it. Aludel's own types
    /// decode the column types they match without building a [`Value`];
    /// the default goes through [`from_value`](FromValue::from_value), so
    /// both paths give the same answer.
    #[cfg(feature = "postgres")]
    #[doc(hidden)]
    fn from_pg(cell: crate::driver::postgres::PgCell<'_>) -> Result<Self, DecodeError> {
        Self::from_value(cell.to_value()?)
    }

    /// The Rust type's name for error messages.
    fn type_name() -> &'static str {
        std::any::type_name::<Self>()
    }
}

impl FromValue for Value {
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        Ok(value)
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }

    #[cfg(feature = "postgres")]
    fn from_pg(cell: crate::driver::postgres::PgCell<'_>) -> Result<Self, DecodeError> {
        if cell.is_null() {
            Ok(None)
        } else {
            T::from_pg(cell).map(Some)
        }
    }
}

/// `from_pg` for a type that PostgreSQL's types `$pg` decode into directly
/// (postgres-types' own decoding); other columns go through `from_value`.
#[cfg(feature = "postgres")]
macro_rules! pg_direct {
    ($t:ty: $($pg:ident)|+) => {
        fn from_pg(cell: crate::driver::postgres::PgCell<'_>) -> Result<Self, DecodeError> {
            use tokio_postgres::types::Type;
            match cell.direct::<$t>(|ty| matches!(*ty, $(Type::$pg)|+)) {
                Some(decoded) => decoded,
                None => Self::from_value(cell.to_value()?),
            }
        }
    };
}
#[cfg(not(feature = "postgres"))]
macro_rules! pg_direct {
    ($($any:tt)*) => {};
}

fn null_error() -> DecodeError {
    DecodeError("found NULL; use Option<_> for a nullable column".into())
}

macro_rules! from_value_int {
    ($($t:ty $(: $pg:ident)?),*) => {$(
        impl FromValue for $t {
            $(pg_direct!($t: $pg);)?
            fn from_value(value: Value) -> Result<Self, DecodeError> {
                // The usual case first: a 64-bit integer that fits.
                if let Value::I64(v) = value {
                    // Irrefutable for i64 itself.
                    #[allow(irrefutable_let_patterns)]
                    if let Ok(n) = <$t>::try_from(v) {
                        return Ok(n);
                    }
                }
                let wide: i128 = match &value {
                    Value::Bool(b) => *b as i128,
                    Value::I16(v) => *v as i128,
                    Value::I32(v) => *v as i128,
                    Value::I64(v) => *v as i128,
                    Value::Decimal(d) if d.fract().is_zero() => {
                        i128::try_from(*d).map_err(|_| DecodeError::mismatch(&value))?
                    }
                    Value::String(s) => s.trim().parse::<i128>().map_err(|_| {
                        DecodeError(format!("text {s:?} is not an integer"))
                    })?,
                    Value::Null => return Err(null_error()),
                    other => return Err(DecodeError::mismatch(other)),
                };
                <$t>::try_from(wide).map_err(|_| {
                    DecodeError(format!("value {wide} is out of range"))
                })
            }
        }
    )*};
}
from_value_int!(i8, i16: INT2, i32: INT4, i64: INT8, u8, u16, u32, u64);

impl FromValue for bool {
    pg_direct!(bool: BOOL);

    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Bool(b) => Ok(b),
            Value::Null => Err(null_error()),
            ref v => match v.as_i64() {
                Some(0) => Ok(false),
                Some(1) => Ok(true),
                Some(n) => Err(DecodeError(format!(
                    "integer {n} is not a boolean (0 or 1)"
                ))),
                None => Err(DecodeError::mismatch(v)),
            },
        }
    }
}

impl FromValue for f64 {
    pg_direct!(f64: FLOAT8);

    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::F64(v) => Ok(v),
            Value::F32(v) => Ok(v as f64),
            Value::Decimal(d) => {
                use rust_decimal::prelude::ToPrimitive;
                d.to_f64()
                    .ok_or_else(|| DecodeError(format!("decimal {d} does not fit f64")))
            }
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| DecodeError(format!("text {s:?} is not a number"))),
            Value::Null => Err(null_error()),
            ref v => v
                .as_i64()
                .map(|i| i as f64)
                .ok_or_else(|| DecodeError::mismatch(v)),
        }
    }
}

impl FromValue for f32 {
    pg_direct!(f32: FLOAT4);

    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::F32(v) => Ok(v),
            v => {
                let wide = f64::from_value(v)?;
                let narrow = wide as f32;
                // Like the integers: a value beyond f32's range is an error,
                // not a silent infinity.
                if narrow.is_infinite() && wide.is_finite() {
                    return Err(DecodeError(format!("value {wide} is out of range")));
                }
                Ok(narrow)
            }
        }
    }
}

impl FromValue for String {
    pg_direct!(String: TEXT | VARCHAR | BPCHAR | NAME);

    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::String(s) => Ok(s),
            Value::Bytes(b) => String::from_utf8(b)
                .map_err(|_| DecodeError("found bytes that are not valid UTF-8".into())),
            Value::Null => Err(null_error()),
            Value::Json(j) => Ok(j.to_string()),
            Value::Decimal(d) => Ok(d.to_string()),
            Value::Uuid(u) => Ok(u.to_string()),
            v => Err(DecodeError::mismatch(&v)),
        }
    }
}

impl FromValue for Vec<u8> {
    pg_direct!(Vec<u8>: BYTEA);

    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Bytes(b) => Ok(b),
            Value::String(s) => Ok(s.into_bytes()),
            Value::Null => Err(null_error()),
            v => Err(DecodeError::mismatch(&v)),
        }
    }
}

impl FromValue for Uuid {
    pg_direct!(Uuid: UUID);

    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Uuid(u) => Ok(u),
            Value::String(s) => Uuid::parse_str(s.trim())
                .map_err(|_| DecodeError(format!("text {s:?} is not a UUID"))),
            Value::Bytes(b) if b.len() == 16 => Ok(Uuid::from_slice(&b).expect("16 bytes")),
            Value::Bytes(b) => {
                let s =
                    String::from_utf8(b).map_err(|_| DecodeError("bytes are not a UUID".into()))?;
                Uuid::parse_str(&s).map_err(|_| DecodeError(format!("text {s:?} is not a UUID")))
            }
            Value::Null => Err(null_error()),
            v => Err(DecodeError::mismatch(&v)),
        }
    }
}

/// Parse decimal text without losing a digit: `None` when the text is not a
/// number or has more significant digits than a [`Decimal`] holds (28 or 29),
/// where `Decimal::from_str` would round silently. Trailing zeros after the
/// point are dropped only when they alone do not fit.
pub(crate) fn decimal_exact(s: &str) -> Option<Decimal> {
    let s = s.trim();
    if let Ok(d) = Decimal::from_str_exact(s) {
        return Some(d);
    }
    if s.contains('.') && !s.contains(['e', 'E']) {
        let trimmed = s.trim_end_matches('0').trim_end_matches('.');
        if trimmed != s {
            return Decimal::from_str_exact(trimmed).ok();
        }
    }
    None
}

impl FromValue for Decimal {
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let parse = |s: &str| {
            let t = s.trim();
            decimal_exact(t)
                .or_else(|| {
                    (t.contains(['e', 'E']))
                        .then(|| Decimal::from_scientific(t).ok())
                        .flatten()
                })
                .ok_or_else(|| {
                    let numeric = t.trim_start_matches(['-', '+']);
                    if !numeric.is_empty()
                        && numeric.chars().all(|c| c.is_ascii_digit() || c == '.')
                    {
                        DecodeError(format!(
                            "{t} has more significant digits than a Decimal holds (28); \
                             read it as a String"
                        ))
                    } else {
                        DecodeError(format!("text {s:?} is not a decimal number"))
                    }
                })
        };
        match value {
            Value::Decimal(d) => Ok(d),
            Value::String(s) => parse(&s),
            Value::Bytes(b) => parse(std::str::from_utf8(&b).unwrap_or("")),
            Value::F64(f) => {
                Decimal::try_from(f).map_err(|_| DecodeError(format!("{f} is not a decimal")))
            }
            Value::F32(f) => {
                Decimal::try_from(f).map_err(|_| DecodeError(format!("{f} is not a decimal")))
            }
            Value::Null => Err(null_error()),
            ref v => v
                .as_i64()
                .map(Decimal::from)
                .ok_or_else(|| DecodeError::mismatch(v)),
        }
    }
}

impl FromValue for serde_json::Value {
    pg_direct!(serde_json::Value: JSON | JSONB);

    fn from_value(value: Value) -> Result<Self, DecodeError> {
        let parse = |s: &[u8]| {
            serde_json::from_slice(s).map_err(|e| DecodeError(format!("text is not JSON: {e}")))
        };
        match value {
            Value::Json(j) => Ok(j),
            Value::String(s) => parse(s.as_bytes()),
            Value::Bytes(b) => parse(&b),
            Value::Null => Err(null_error()),
            v => Err(DecodeError::mismatch(&v)),
        }
    }
}

/// Text forms SQLite and MySQL's text protocol use for dates and times.
#[cfg(feature = "chrono")]
mod temporal {
    use super::*;

    pub(super) fn text_of(value: Value) -> Result<String, DecodeError> {
        match value {
            Value::String(s) => Ok(s),
            Value::Bytes(b) => {
                String::from_utf8(b).map_err(|_| DecodeError("bytes are not text".into()))
            }
            Value::Null => Err(null_error()),
            v => Err(DecodeError::mismatch(&v)),
        }
    }

    /// `digits` ASCII digits at `at` as a number.
    fn num(b: &[u8], at: usize, digits: usize) -> Option<u32> {
        let slice = b.get(at..at + digits)?;
        slice.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    }

    /// `YYYY-MM-DD` at the start of `b`.
    pub(super) fn fast_date(b: &[u8]) -> Option<NaiveDate> {
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        NaiveDate::from_ymd_opt(num(b, 0, 4)? as i32, num(b, 5, 2)?, num(b, 8, 2)?)
    }

    /// `HH:MM:SS[.fraction]` filling all of `b`.
    pub(super) fn fast_time(b: &[u8]) -> Option<NaiveTime> {
        if b.len() < 8 || b[2] != b':' || b[5] != b':' {
            return None;
        }
        let nanos = match &b[8..] {
            [] => 0,
            [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
                num(frac, 0, frac.len())? * 10u32.pow(9 - frac.len() as u32)
            }
            _ => return None,
        };
        NaiveTime::from_hms_nano_opt(num(b, 0, 2)?, num(b, 3, 2)?, num(b, 6, 2)?, nanos)
    }

    /// The ISO forms SQLite and Aludel write, `YYYY-MM-DD HH:MM:SS[.f]` (or
    /// with `T`), parsed by hand: chrono's format strings are interpreted on
    /// every call and dominate reading timestamps from SQLite.
    fn fast_datetime(s: &str) -> Option<NaiveDateTime> {
        let b = s.as_bytes();
        if b.len() < 19 || !matches!(b[10], b' ' | b'T') {
            return None;
        }
        Some(fast_date(b)?.and_time(fast_time(&b[11..])?))
    }

    pub(super) fn parse_naive_datetime(s: &str) -> Option<NaiveDateTime> {
        let s = s.trim();
        if let Some(dt) = fast_datetime(s) {
            return Some(dt);
        }
        [
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%dT%H:%M",
        ]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(NaiveTime::MIN))
        })
    }

    pub(super) fn parse_datetime_tz(s: &str) -> Option<DateTime<Utc>> {
        let s = s.trim();
        [
            "%Y-%m-%d %H:%M:%S%.f%:z",
            "%Y-%m-%dT%H:%M:%S%.f%:z",
            "%Y-%m-%d %H:%M:%S%.f%#z",
        ]
        .iter()
        .find_map(|f| DateTime::parse_from_str(s, f).ok())
        .map(|d| d.with_timezone(&Utc))
        .or_else(|| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|d| d.with_timezone(&Utc))
        })
        .or_else(|| {
            s.strip_suffix('Z')
                .and_then(parse_naive_datetime)
                .map(|n| n.and_utc())
        })
    }
}

#[cfg(feature = "chrono")]
impl FromValue for NaiveDate {
    pg_direct!(NaiveDate: DATE);

    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Date(d) => Ok(d),
            Value::DateTime(dt) if dt.time() == NaiveTime::MIN => Ok(dt.date()),
            v => {
                let s = temporal::text_of(v)?;
                if let Some(d) = Some(s.trim().as_bytes())
                    .filter(|b| b.len() == 10)
                    .and_then(temporal::fast_date)
                {
                    return Ok(d);
                }
                NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                    .map_err(|_| DecodeError(format!("text {s:?} is not a date (YYYY-MM-DD)")))
            }
        }
    }
}

#[cfg(feature = "chrono")]
impl FromValue for NaiveTime {
    pg_direct!(NaiveTime: TIME);

    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::Time(t) => Ok(t),
            v => {
                let s = temporal::text_of(v)?;
                if let Some(t) = temporal::fast_time(s.trim().as_bytes()) {
                    return Ok(t);
                }
                NaiveTime::parse_from_str(s.trim(), "%H:%M:%S%.f")
                    .or_else(|_| NaiveTime::parse_from_str(s.trim(), "%H:%M"))
                    .map_err(|_| DecodeError(format!("text {s:?} is not a time (HH:MM:SS)")))
            }
        }
    }
}

#[cfg(feature = "chrono")]
impl FromValue for NaiveDateTime {
    pg_direct!(NaiveDateTime: TIMESTAMP);

    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::DateTime(dt) => Ok(dt),
            Value::Date(d) => Ok(d.and_time(NaiveTime::MIN)),
            Value::DateTimeTz(dt) => Ok(dt.naive_utc()),
            v => {
                let s = temporal::text_of(v)?;
                // An instant stored as text (SQLite) reads as its UTC wall
                // time, as a TIMESTAMPTZ does on PostgreSQL.
                temporal::parse_naive_datetime(&s)
                    .or_else(|| temporal::parse_datetime_tz(&s).map(|d| d.naive_utc()))
                    .ok_or_else(|| DecodeError(format!("text {s:?} is not a datetime")))
            }
        }
    }
}

#[cfg(feature = "chrono")]
impl FromValue for DateTime<Utc> {
    pg_direct!(DateTime<Utc>: TIMESTAMPTZ);

    fn from_value(value: Value) -> Result<Self, DecodeError> {
        match value {
            Value::DateTimeTz(dt) => Ok(dt),
            // MySQL and SQLite have no zone-aware type: Aludel stores instants as UTC.
            Value::DateTime(dt) => Ok(dt.and_utc()),
            v => {
                let s = temporal::text_of(v)?;
                temporal::parse_datetime_tz(&s)
                    .or_else(|| temporal::parse_naive_datetime(&s).map(|n| n.and_utc()))
                    .ok_or_else(|| DecodeError(format!("text {s:?} is not a datetime")))
            }
        }
    }
}

#[cfg(feature = "chrono")]
impl FromValue for DateTime<FixedOffset> {
    fn from_value(value: Value) -> Result<Self, DecodeError> {
        DateTime::<Utc>::from_value(value).map(|d| d.fixed_offset())
    }
}

/// Text written for a date, time or datetime on backends that store them as text.
#[cfg(feature = "chrono")]
pub(crate) fn temporal_text(value: &Value) -> Option<String> {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    // Written by hand, digit by digit: chrono's `format` interprets its
    // pattern on every call, and `write!` with widths is several times
    // slower than this (every bound datetime on SQLite goes through here).
    fn digits(out: &mut String, n: u32, width: usize) {
        let mut buf = [b'0'; 10];
        let mut i = buf.len();
        let mut n = n;
        while n > 0 {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        for _ in buf.len() - i..width {
            out.push('0');
        }
        out.push_str(std::str::from_utf8(&buf[i..]).expect("ASCII digits"));
    }
    fn date(out: &mut String, d: &NaiveDate) {
        match u32::try_from(d.year()) {
            Ok(y) if y <= 9999 => digits(out, y, 4),
            _ => {
                let _ = write!(out, "{:04}", d.year());
            }
        }
        out.push('-');
        digits(out, d.month(), 2);
        out.push('-');
        digits(out, d.day(), 2);
    }
    fn time(out: &mut String, t: &NaiveTime) {
        digits(out, t.hour(), 2);
        out.push(':');
        digits(out, t.minute(), 2);
        out.push(':');
        digits(out, t.second(), 2);
        out.push('.');
        // A leap second (nanosecond ≥ 1e9) keeps its six digits.
        digits(out, t.nanosecond() / 1_000, 6);
    }
    let mut out = String::with_capacity(32);
    match value {
        Value::Date(d) => date(&mut out, d),
        Value::Time(t) => time(&mut out, t),
        Value::DateTime(dt) => {
            date(&mut out, &dt.date());
            out.push(' ');
            time(&mut out, &dt.time());
        }
        Value::DateTimeTz(dt) => {
            let n = dt.naive_utc();
            date(&mut out, &n.date());
            out.push(' ');
            time(&mut out, &n.time());
            out.push_str("+00:00");
        }
        _ => return None,
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_check_range() {
        assert_eq!(i32::from_value(Value::I64(7)), Ok(7));
        let err = i32::from_value(Value::I64(i64::MAX)).unwrap_err();
        assert!(err.0.contains("out of range"), "{err:?}");
        assert_eq!(Option::<i32>::from_value(Value::Null), Ok(None));
        assert!(i32::from_value(Value::Null)
            .unwrap_err()
            .0
            .contains("Option"));
    }

    #[test]
    fn lenient_representations() {
        assert_eq!(bool::from_value(Value::I64(1)), Ok(true));
        assert!(bool::from_value(Value::I64(2)).is_err());
        let u = Uuid::from_u128(0x1234);
        assert_eq!(
            Uuid::from_value(Value::String(u.simple().to_string())),
            Ok(u)
        );
        assert_eq!(Uuid::from_value(Value::Bytes(u.as_bytes().to_vec())), Ok(u));
        let d: Decimal = "12345678901234567890.12345678".parse().unwrap();
        assert_eq!(Decimal::from_value(Value::String(d.to_string())), Ok(d));
    }

    #[test]
    fn decimals_never_round() {
        let exact = |s: &str| decimal_exact(s).map(|d| d.to_string());
        assert_eq!(exact("-1.50000000").as_deref(), Some("-1.50000000"));
        // 31 digits, but only because of trailing zeros: fits once trimmed.
        assert_eq!(
            exact("1.500000000000000000000000000000").as_deref(),
            Some("1.5")
        );
        assert_eq!(exact("12345678901234567890.12345678901234567890"), None);
        assert_eq!(exact("0.0000000000000000000000000000001"), None);
        assert_eq!(exact("NaN"), None);
        let err = Decimal::from_value(Value::String(
            "12345678901234567890.12345678901234567890".into(),
        ))
        .unwrap_err();
        assert!(err.0.contains("more significant digits"), "{err:?}");
        assert_eq!(
            Decimal::from_value(Value::String("1.5e3".into())),
            Ok(Decimal::from(1500))
        );
    }

    #[test]
    fn f32_checks_range() {
        assert_eq!(f32::from_value(Value::F64(1.5)), Ok(1.5));
        assert!(f32::from_value(Value::F64(1e300))
            .unwrap_err()
            .0
            .contains("out of range"));
        assert!(f32::from_value(Value::F64(f64::INFINITY))
            .unwrap()
            .is_infinite());
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn fast_parsers_agree_with_chrono() {
        for text in [
            "2024-02-29 23:59:58",
            "2024-02-29T23:59:58.1",
            "1999-12-31 00:00:00.123456789",
            "0001-01-01 00:00:00.000001",
        ] {
            let fmt = if text.as_bytes()[10] == b'T' {
                "%Y-%m-%dT%H:%M:%S%.f"
            } else {
                "%Y-%m-%d %H:%M:%S%.f"
            };
            let want = NaiveDateTime::parse_from_str(text, fmt).unwrap();
            assert_eq!(
                NaiveDateTime::from_value(Value::String(text.into())),
                Ok(want),
                "{text}"
            );
        }
        for bad in [
            "2024-02-30 00:00:00",
            "2024-1-01 00:00:00",
            "2024-01-01 24:00:00",
            "2024-01-01 00:00:00.",
            "2024-01-01 00:00",
        ] {
            let fast = NaiveDateTime::from_value(Value::String(bad.into())).ok();
            let slow = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(bad, f).ok());
            assert_eq!(fast, slow, "{bad}");
        }
        assert_eq!(
            NaiveTime::from_value(Value::String("07:08:09.5".into())),
            Ok(NaiveTime::from_hms_milli_opt(7, 8, 9, 500).unwrap())
        );
        assert_eq!(
            NaiveDate::from_value(Value::String("2024-02-29".into())),
            Ok(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
        );
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn temporal_text_pads_every_field() {
        let dt = NaiveDate::from_ymd_opt(7, 1, 2)
            .unwrap()
            .and_hms_micro_opt(3, 4, 5, 6)
            .unwrap();
        assert_eq!(
            temporal_text(&Value::DateTime(dt)).unwrap(),
            "0007-01-02 03:04:05.000006"
        );
        let far = NaiveDate::from_ymd_opt(-44, 3, 15).unwrap();
        assert_eq!(temporal_text(&Value::Date(far)).unwrap(), "-044-03-15");
        let midnight = NaiveTime::from_hms_opt(0, 0, 0).unwrap();
        assert_eq!(
            temporal_text(&Value::Time(midnight)).unwrap(),
            "00:00:00.000000"
        );
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn temporal_text_round_trips() {
        let dt = NaiveDate::from_ymd_opt(2024, 2, 29)
            .unwrap()
            .and_hms_micro_opt(23, 59, 58, 123456)
            .unwrap();
        let text = temporal_text(&Value::DateTime(dt)).unwrap();
        assert_eq!(text, "2024-02-29 23:59:58.123456");
        assert_eq!(NaiveDateTime::from_value(Value::String(text)), Ok(dt));
        let tz = dt.and_utc();
        let text = temporal_text(&Value::DateTimeTz(tz)).unwrap();
        assert_eq!(DateTime::<Utc>::from_value(Value::String(text)), Ok(tz));
    }
}
