//! Column types: SQLAlchemy's generic types, rendered per dialect by the DDL
//! compiler and normalised by reflection.

use std::fmt;

/// A column's SQL type, dialect-neutral (SQLAlchemy's generic types).
///
/// ```
/// use aludel_core::schema::SqlType;
/// assert_eq!(SqlType::String(Some(50)).to_string(), "VARCHAR(50)");
/// assert_eq!(SqlType::numeric(20, 4).to_string(), "NUMERIC(20, 4)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SqlType {
    /// 16-bit integer (SMALLINT).
    SmallInteger,
    /// 32-bit integer (INTEGER).
    Integer,
    /// 64-bit integer (BIGINT).
    BigInteger,
    /// Boolean: BOOLEAN on PostgreSQL, BOOL (TINYINT(1)) on MySQL, BOOLEAN
    /// (an integer) on SQLite.
    Boolean,
    /// Variable-length text with an optional length; MySQL requires one.
    String(Option<u32>),
    /// Unbounded text.
    Text,
    /// Floating point (REAL on SQLite, DOUBLE PRECISION / DOUBLE elsewhere).
    Float,
    /// Exact decimal with optional precision and scale.
    Numeric {
        /// Total digits.
        precision: Option<u32>,
        /// Digits after the point.
        scale: Option<u32>,
    },
    /// A calendar date.
    Date,
    /// A time of day.
    Time,
    /// A date and time; `timezone` makes it an instant (TIMESTAMPTZ on
    /// PostgreSQL; MySQL and SQLite store UTC).
    DateTime {
        /// Whether the value is zone-aware.
        timezone: bool,
    },
    /// A UUID: native on PostgreSQL, CHAR(32) of hex digits elsewhere.
    Uuid,
    /// A JSON document: JSONB on PostgreSQL, JSON elsewhere.
    Json,
    /// Binary data: BYTEA, LONGBLOB, BLOB.
    LargeBinary,
    /// One of a fixed set of strings: a named type on PostgreSQL, inline
    /// ENUM on MySQL, VARCHAR with a CHECK on SQLite.
    Enum {
        /// The type's name (PostgreSQL `CREATE TYPE`).
        name: String,
        /// The allowed values, in order.
        variants: Vec<String>,
    },
}

impl SqlType {
    /// `NUMERIC(precision, scale)`.
    pub fn numeric(precision: u32, scale: u32) -> Self {
        SqlType::Numeric {
            precision: Some(precision),
            scale: Some(scale),
        }
    }

    /// `VARCHAR(length)`.
    pub fn string(length: u32) -> Self {
        SqlType::String(Some(length))
    }

    /// A DATETIME without time zone.
    pub fn datetime() -> Self {
        SqlType::DateTime { timezone: false }
    }

    /// An enum type named `name` with `variants`.
    pub fn enumeration<I, S>(name: impl Into<String>, variants: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        SqlType::Enum {
            name: name.into(),
            variants: variants.into_iter().map(Into::into).collect(),
        }
    }

    /// True for the integer types.
    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            SqlType::SmallInteger | SqlType::Integer | SqlType::BigInteger
        )
    }
}

/// The generic spelling, as SQLAlchemy prints types.
impl fmt::Display for SqlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SqlType::SmallInteger => f.write_str("SMALLINT"),
            SqlType::Integer => f.write_str("INTEGER"),
            SqlType::BigInteger => f.write_str("BIGINT"),
            SqlType::Boolean => f.write_str("BOOLEAN"),
            SqlType::String(Some(n)) => write!(f, "VARCHAR({n})"),
            SqlType::String(None) => f.write_str("VARCHAR"),
            SqlType::Text => f.write_str("TEXT"),
            SqlType::Float => f.write_str("FLOAT"),
            SqlType::Numeric {
                precision: Some(p),
                scale: Some(s),
            } => write!(f, "NUMERIC({p}, {s})"),
            SqlType::Numeric {
                precision: Some(p),
                scale: None,
            } => write!(f, "NUMERIC({p})"),
            SqlType::Numeric { .. } => f.write_str("NUMERIC"),
            SqlType::Date => f.write_str("DATE"),
            SqlType::Time => f.write_str("TIME"),
            SqlType::DateTime { timezone: false } => f.write_str("DATETIME"),
            SqlType::DateTime { timezone: true } => f.write_str("DATETIME WITH TIME ZONE"),
            SqlType::Uuid => f.write_str("UUID"),
            SqlType::Json => f.write_str("JSON"),
            SqlType::LargeBinary => f.write_str("BLOB"),
            SqlType::Enum { name, .. } => write!(f, "ENUM {name}"),
        }
    }
}
