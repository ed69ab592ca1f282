//! SQLite's DDL spelling: column types and literals.

use crate::error::Result;
use crate::schema::SqlType;
use crate::value::Value;

/// The column type as SQLite's DDL writes it. An enum is a VARCHAR as long
/// as its longest variant; the DDL compiler adds the CHECK.
pub(crate) fn column_type(ty: &SqlType, _column: &str) -> Result<String> {
    Ok(match ty {
        SqlType::Float => "REAL".into(),
        SqlType::DateTime { .. } => "DATETIME".into(),
        SqlType::Uuid => "CHAR(32)".into(),
        SqlType::Json => "JSON".into(),
        SqlType::LargeBinary => "BLOB".into(),
        SqlType::Enum { variants, .. } => format!("VARCHAR({})", super::enum_length(variants)),
        other => super::generic_type(other),
    })
}

/// A string literal: quotes doubled; backslashes mean nothing to SQLite.
pub(crate) fn string_literal(s: &str) -> Result<String> {
    super::check_no_nul(s)?;
    Ok(super::quote_doubling(s))
}

/// A value as an SQLite literal (booleans as 1 and 0, UUIDs as 32 hex digits).
pub(crate) fn render_literal(value: &Value) -> Result<String> {
    Ok(match value {
        Value::Bool(b) => if *b { "1" } else { "0" }.into(),
        Value::Bytes(b) => format!("X'{}'", super::hex(b)),
        Value::Uuid(u) => format!("'{}'", u.simple()),
        other => return super::common_literal(other, string_literal),
    })
}
