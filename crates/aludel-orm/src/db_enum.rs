//! [`DbEnum`]: a fieldless Rust enum stored as one of a fixed set of strings.

use aludel_core::value::DecodeError;

/// A fieldless Rust enum mapped to an enum column, what
/// `#[derive(DbEnum)]` implements (with `From<E> for Value`, `FromValue`
/// and [`ColumnType`](crate::ColumnType), so a model field can have it).
///
/// The column is [`SqlType::Enum`](aludel_core::schema::SqlType::Enum)
/// named [`NAME`](DbEnum::NAME) with [`VARIANTS`](DbEnum::VARIANTS): a
/// named type on PostgreSQL, an inline `ENUM` on MySQL, `VARCHAR` with a
/// CHECK on SQLite.
pub trait DbEnum: Sized + 'static {
    /// The SQL type's name (PostgreSQL's `CREATE TYPE`): the enum's name in
    /// snake_case unless `#[aludel(name = "…")]` says otherwise.
    const NAME: &'static str;

    /// The stored strings, in declaration order: each variant's name in
    /// snake_case unless `#[aludel(rename = "…")]` says otherwise.
    const VARIANTS: &'static [&'static str];

    /// The string stored for `self`.
    fn as_str(&self) -> &'static str;

    /// The variant stored as `s`, if any.
    fn from_db_str(s: &str) -> Option<Self>;
}

/// Decode a stored string into a `DbEnum` (what the derived `FromValue`
/// calls).
#[doc(hidden)]
pub fn __decode_enum<E: DbEnum>(value: aludel_core::Value) -> Result<E, DecodeError> {
    let s = <String as aludel_core::FromValue>::from_value(value)?;
    E::from_db_str(&s).ok_or_else(|| {
        DecodeError(format!(
            "\"{s}\" is not a variant of enum {}; expected one of {}",
            E::NAME,
            E::VARIANTS.join(", ")
        ))
    })
}
