//! PostgreSQL's DDL spelling: column types and literals.

use crate::error::Result;
use crate::schema::SqlType;
use crate::value::Value;

/// The column type as PostgreSQL's DDL writes it. An enum is its named type
/// (created by `CREATE TYPE` before the table), quoted.
pub(crate) fn column_type(ty: &SqlType, _column: &str) -> Result<String> {
    Ok(match ty {
        SqlType::Float => "DOUBLE PRECISION".into(),
        SqlType::DateTime { timezone: false } => "TIMESTAMP WITHOUT TIME ZONE".into(),
        SqlType::DateTime { timezone: true } => "TIMESTAMP WITH TIME ZONE".into(),
        SqlType::Time => "TIME WITHOUT TIME ZONE".into(),
        SqlType::Uuid => "UUID".into(),
        SqlType::Json => "JSONB".into(),
        SqlType::LargeBinary => "BYTEA".into(),
        SqlType::Enum { name, .. } => super::quote_with('"', name),
        other => super::generic_type(other),
    })
}

/// A string literal that means the same whatever `standard_conforming_strings`
/// is: quotes doubled, and a string holding a backslash written as an
/// escape string `E'…'` with the backslash doubled.
pub(crate) fn string_literal(s: &str) -> Result<String> {
    super::check_no_nul(s)?;
    if s.contains('\\') {
        Ok(format!(
            "E{}",
            super::quote_doubling(&s.replace('\\', "\\\\"))
        ))
    } else {
        Ok(super::quote_doubling(s))
    }
}

/// A value as a PostgreSQL literal.
pub(crate) fn render_literal(value: &Value) -> Result<String> {
    Ok(match value {
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        Value::Bytes(b) => format!("decode('{}', 'hex')", super::hex(b)),
        Value::Uuid(u) => format!("'{}'", u.hyphenated()),
        other => return super::common_literal(other, string_literal),
    })
}
