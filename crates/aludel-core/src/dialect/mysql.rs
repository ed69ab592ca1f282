//! MySQL's and MariaDB's DDL spelling: column types and literals.

use crate::error::{Error, ErrorKind, Result};
use crate::schema::SqlType;
use crate::value::Value;

/// The column type as MySQL's DDL writes it: microsecond DATETIME(6) and
/// TIME(6), BOOL, CHAR(32) UUIDs and inline ENUMs.
///
/// A VARCHAR without a length is an error naming the column: MySQL has no
/// unbounded VARCHAR (SQLAlchemy's CompileError says the same).
pub(crate) fn column_type(ty: &SqlType, column: &str) -> Result<String> {
    Ok(match ty {
        SqlType::Boolean => "BOOL".into(),
        SqlType::String(None) => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "VARCHAR requires a length on mysql: column \"{column}\" is String(None); give it a length or use Text"
                ),
            )
            .with_column(Some(column.to_string())))
        }
        SqlType::Float => "DOUBLE".into(),
        SqlType::Time => "TIME(6)".into(),
        SqlType::DateTime { .. } => "DATETIME(6)".into(),
        SqlType::Uuid => "CHAR(32)".into(),
        SqlType::Json => "JSON".into(),
        SqlType::LargeBinary => "LONGBLOB".into(),
        SqlType::Enum { variants, .. } => {
            let values = variants
                .iter()
                .map(|v| enum_literal(v))
                .collect::<Result<Vec<_>>>()?;
            format!("ENUM({})", values.join(", "))
        }
        other => super::generic_type(other),
    })
}

/// A string value that means the same whatever the `sql_mode`: quotes
/// doubled; a string holding a backslash or a control character is written
/// as the expression `(CONVERT(X'…' USING utf8mb4))`, which no
/// `NO_BACKSLASH_ESCAPES` setting changes. (Not a bare `_utf8mb4 X'…'`:
/// MariaDB re-parses a TEXT or JSON column's default from its own printing
/// of the string, which breaks on a quote followed by a backslash.)
pub(crate) fn string_literal(s: &str) -> Result<String> {
    super::check_no_nul(s)?;
    if s.contains('\\') || s.chars().any(char::is_control) {
        Ok(format!(
            "(CONVERT(X'{}' USING utf8mb4))",
            super::hex(s.as_bytes())
        ))
    } else {
        Ok(super::quote_doubling(s))
    }
}

/// An ENUM variant, which must be a plain literal: quotes doubled and
/// backslashes doubled (MySQL's default `sql_mode`, without
/// `NO_BACKSLASH_ESCAPES`).
fn enum_literal(s: &str) -> Result<String> {
    super::check_no_nul(s)?;
    Ok(super::quote_doubling(&s.replace('\\', "\\\\")))
}

/// A value as a MySQL literal (booleans as 1 and 0, UUIDs as 32 hex digits,
/// instants as UTC).
pub(crate) fn render_literal(value: &Value) -> Result<String> {
    Ok(match value {
        Value::Bool(b) => if *b { "1" } else { "0" }.into(),
        Value::Bytes(b) => format!("X'{}'", super::hex(b)),
        Value::Uuid(u) => format!("'{}'", u.simple()),
        #[cfg(feature = "chrono")]
        Value::DateTimeTz(dt) => {
            let naive = Value::DateTime(dt.naive_utc());
            format!(
                "'{}'",
                crate::value::temporal_text(&naive).unwrap_or_default()
            )
        }
        other => return super::common_literal(other, string_literal),
    })
}
