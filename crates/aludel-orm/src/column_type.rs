//! [`ColumnType`]: the SQL type `#[derive(Model)]` gives a field of a Rust type.

use aludel_core::schema::SqlType;
use aludel_core::types::{serde_json, Decimal, Uuid};
use aludel_core::{Error, ErrorKind, FromValue, Result, Value};

/// A Rust type a model field can have: it knows its column's [`SqlType`].
///
/// `#[derive(Model)]` calls it for every mapped field (for `Option<T>`, on
/// `T`; the column is then nullable). Implemented for `bool`, `i16`, `i32`,
/// `i64`, `f32`, `f64`, `String`, `Vec<u8>`, [`Uuid`], [`Decimal`],
/// `serde_json::Value`, chrono's `NaiveDate`, `NaiveTime`, `NaiveDateTime`,
/// `DateTime<Utc>` and `DateTime<FixedOffset>` (feature `chrono`), and every
/// `#[derive(DbEnum)]` enum.
///
/// | Rust type | SQL type |
/// | --- | --- |
/// | `bool` | `Boolean` |
/// | `i16` / `i32` / `i64` | `SmallInteger` / `Integer` / `BigInteger` |
/// | `f32`, `f64` | `Float` |
/// | `String` | `String(Some(255))`; `length = n` → `String(Some(n))`; `text` → `Text` |
/// | `Vec<u8>` | `LargeBinary` |
/// | `Decimal` | `Numeric` with the field's `precision` / `scale` (none by default) |
/// | `Uuid` | `Uuid` |
/// | `serde_json::Value` | `Json` |
/// | `NaiveDate` / `NaiveTime` / `NaiveDateTime` | `Date` / `Time` / `DateTime { timezone: false }` |
/// | `DateTime<Utc>`, `DateTime<FixedOffset>` | `DateTime { timezone: true }` |
/// | a `DbEnum` | `Enum { name, variants }` |
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a column type that a model can map",
    label = "no SQL type for `{Self}`",
    note = "supported field types: bool, i16, i32, i64, f32, f64, String, Vec<u8>, Uuid, Decimal, serde_json::Value, chrono's NaiveDate, NaiveTime, NaiveDateTime and DateTime<Utc>, a #[derive(DbEnum)] enum, and Option<T> of any of them",
    note = "for another type, name the SQL type with #[aludel(sql_type = aludel::schema::SqlType::…)] (the type must convert into and from Value), or leave the field unmapped with #[aludel(skip)]"
)]
pub trait ColumnType {
    /// The column's SQL type, given the field's type options.
    fn sql_type(options: &TypeOptions) -> SqlType;
}

/// A field's type options (`length`, `text`, `precision`, `scale`), as
/// `#[derive(Model)]` passes them to [`ColumnType::sql_type`]. Types an
/// option does not concern ignore it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeOptions {
    length: Option<u32>,
    text: bool,
    precision: Option<u32>,
    scale: Option<u32>,
}

impl TypeOptions {
    /// No options.
    pub const fn new() -> Self {
        TypeOptions {
            length: None,
            text: false,
            precision: None,
            scale: None,
        }
    }

    /// A string's maximum length (`VARCHAR(n)`).
    pub const fn length(mut self, n: u32) -> Self {
        self.length = Some(n);
        self
    }

    /// Unbounded text (`TEXT`) rather than `VARCHAR`.
    pub const fn text(mut self) -> Self {
        self.text = true;
        self
    }

    /// A decimal's total digits.
    pub const fn precision(mut self, n: u32) -> Self {
        self.precision = Some(n);
        self
    }

    /// A decimal's digits after the point.
    pub const fn scale(mut self, n: u32) -> Self {
        self.scale = Some(n);
        self
    }
}

/// The length of a `String` column without `length` or `text`: MySQL needs
/// one, and 255 characters of utf8mb4 still fit an index.
pub const DEFAULT_STRING_LENGTH: u32 = 255;

macro_rules! fixed {
    ($($t:ty => $sql:expr),* $(,)?) => {$(
        impl ColumnType for $t {
            fn sql_type(_: &TypeOptions) -> SqlType {
                $sql
            }
        }
    )*};
}

fixed! {
    bool => SqlType::Boolean,
    i16 => SqlType::SmallInteger,
    i32 => SqlType::Integer,
    i64 => SqlType::BigInteger,
    f32 => SqlType::Float,
    f64 => SqlType::Float,
    Vec<u8> => SqlType::LargeBinary,
    Uuid => SqlType::Uuid,
    serde_json::Value => SqlType::Json,
}

#[cfg(feature = "chrono")]
mod chrono_types {
    use super::{ColumnType, SqlType, TypeOptions};
    use aludel_core::types::chrono::{
        DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc,
    };

    fixed! {
        NaiveDate => SqlType::Date,
        NaiveTime => SqlType::Time,
        NaiveDateTime => SqlType::DateTime { timezone: false },
        DateTime<Utc> => SqlType::DateTime { timezone: true },
        DateTime<FixedOffset> => SqlType::DateTime { timezone: true },
    }
}

impl ColumnType for String {
    fn sql_type(options: &TypeOptions) -> SqlType {
        if options.text {
            SqlType::Text
        } else {
            SqlType::String(Some(options.length.unwrap_or(DEFAULT_STRING_LENGTH)))
        }
    }
}

impl ColumnType for Decimal {
    fn sql_type(options: &TypeOptions) -> SqlType {
        SqlType::Numeric {
            precision: options.precision,
            scale: options.scale,
        }
    }
}

/// Set a model field from a value (what the generated `Model::set_value`
/// calls); the error names the table, the column and the field's type.
#[doc(hidden)]
pub fn __set_field<T: FromValue>(
    slot: &mut T,
    value: Value,
    table: &str,
    column: &str,
) -> Result<()> {
    *slot = T::from_value(value).map_err(|e| {
        Error::new(
            ErrorKind::Decode,
            format!(
                "cannot set column \"{column}\" of table \"{table}\" (Rust type {}): {}",
                T::type_name(),
                e.0
            ),
        )
    })?;
    Ok(())
}

/// `Model::set_value` with a position past the last column.
#[doc(hidden)]
pub fn __no_column(table: &str, position: usize, count: usize) -> Error {
    Error::new(
        ErrorKind::Config,
        format!("table \"{table}\" has {count} mapped columns; there is no column at position {position}"),
    )
}
