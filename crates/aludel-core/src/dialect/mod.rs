//! Dialects: what differs between SQLite, PostgreSQL and MySQL in the SQL text.
//!
//! A dialect never touches a driver; it only turns intent into SQL text and
//! answers capability questions (`supports_returning`), so code above asks
//! capabilities, not backend names.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::schema::SqlType;
use crate::sql::text::Placeholder;
use crate::url::Backend;
use crate::value::Value;

pub(crate) mod mysql;
pub(crate) mod postgres;
pub(crate) mod sqlite;

/// The SQL dialect of one backend, shared by an engine and its connections.
///
/// ```
/// use aludel_core::{Dialect, url::Backend};
/// let pg = Dialect::new(Backend::Postgres);
/// assert_eq!(pg.quote_identifier("user"), "\"user\"");
/// let my = Dialect::new(Backend::Mysql);
/// assert_eq!(my.quote_identifier("we`ird"), "`we``ird`");
/// ```
#[derive(Debug, Clone)]
pub struct Dialect {
    backend: Backend,
    /// Compiled SQL per statement shape, shared by an engine's connections.
    cache: Option<Arc<crate::sql::cache::CompiledCache>>,
    /// Server version packed as `major << 16 | minor << 8 | patch`; 0 until
    /// the first connection reports it. MariaDB sets the top bit.
    server: Arc<AtomicU32>,
    /// The statement a transaction begins with.
    begin: &'static str,
}

const MARIADB: u32 = 1 << 31;

impl Dialect {
    /// The dialect of `backend`, before any server version is known.
    pub fn new(backend: Backend) -> Self {
        Self::with_compiled_cache(backend, 500)
    }

    /// The dialect of `backend` keeping the SQL compiled for up to
    /// `capacity` statement shapes (0: compile every time). SQLAlchemy's
    /// `query_cache_size`, default 500.
    pub fn with_compiled_cache(backend: Backend, capacity: usize) -> Self {
        Dialect {
            backend,
            cache: (capacity > 0)
                .then(|| Arc::new(crate::sql::cache::CompiledCache::new(capacity))),
            server: Arc::new(AtomicU32::new(0)),
            begin: match backend {
                Backend::Mysql => "START TRANSACTION",
                _ => "BEGIN",
            },
        }
    }

    /// The same dialect beginning transactions with `sql` (SQLite's
    /// `BEGIN IMMEDIATE` / `BEGIN EXCLUSIVE`, from the URL's `begin=`).
    pub(crate) fn with_begin(mut self, sql: &'static str) -> Self {
        self.begin = sql;
        self
    }

    pub(crate) fn compiled_cache(&self) -> Option<&crate::sql::cache::CompiledCache> {
        self.cache.as_deref()
    }

    /// How many statement shapes the compiled cache holds now.
    pub fn compiled_cache_len(&self) -> usize {
        self.cache.as_ref().map_or(0, |c| c.len())
    }

    /// The backend this dialect speaks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The dialect's name: `sqlite`, `postgresql`, `mysql` or `mariadb`.
    pub fn name(&self) -> &'static str {
        match self.backend {
            Backend::Mysql if self.is_mariadb() => "mariadb",
            b => b.name(),
        }
    }

    pub(crate) fn set_server_version(&self, version: (u16, u16, u16), mariadb: bool) {
        let packed = (version.0 as u32 & 0x7fff) << 16
            | (version.1 as u32 & 0xff) << 8
            | (version.2 as u32 & 0xff);
        self.server.store(
            packed | if mariadb { MARIADB } else { 0 },
            Ordering::Relaxed,
        );
    }

    fn server_version(&self) -> (u32, u32) {
        let v = self.server.load(Ordering::Relaxed) & !MARIADB;
        (v >> 16, (v >> 8) & 0xff)
    }

    /// True once a connection has reported a MariaDB server.
    pub fn is_mariadb(&self) -> bool {
        self.server.load(Ordering::Relaxed) & MARIADB != 0
    }

    /// How bound parameters are written: `$1`, `?1` or `?`.
    pub fn placeholder(&self) -> Placeholder {
        match self.backend {
            Backend::Postgres => Placeholder::Dollar,
            Backend::Sqlite => Placeholder::QuestionNumbered,
            _ => Placeholder::Question,
        }
    }

    /// Quote an identifier, doubling any quote character inside it.
    pub fn quote_identifier(&self, ident: &str) -> String {
        let mut out = String::with_capacity(ident.len() + 2);
        self.push_quoted(&mut out, ident);
        out
    }

    /// Append `ident`, quoted, to `out` (the compiler's allocation-free path).
    pub(crate) fn push_quoted(&self, out: &mut String, ident: &str) {
        let q = match self.backend {
            Backend::Mysql => '`',
            _ => '"',
        };
        out.push(q);
        if ident.contains(q) {
            for c in ident.chars() {
                if c == q {
                    out.push(q);
                }
                out.push(c);
            }
        } else {
            out.push_str(ident);
        }
        out.push(q);
    }

    /// A value written as an SQL literal, escaped for this dialect.
    ///
    /// Only DDL uses it (a column's `DEFAULT`, an enum's values), because
    /// DDL cannot take bound parameters; statements always bind values.
    /// Strings have their quotes doubled; a backslash is written so that it
    /// means itself whatever the server's settings (an `E'…'` string on
    /// PostgreSQL, `(CONVERT(X'…' USING utf8mb4))` on MySQL).
    ///
    /// ```
    /// use aludel_core::{Dialect, Value, url::Backend};
    /// let pg = Dialect::new(Backend::Postgres);
    /// assert_eq!(pg.render_literal(&Value::from("it's"))?, "'it''s'");
    /// assert_eq!(pg.render_literal(&Value::from(r"a\b"))?, r"E'a\\b'");
    /// assert_eq!(pg.render_literal(&Value::Bool(true))?, "true");
    /// let lite = Dialect::new(Backend::Sqlite);
    /// assert_eq!(lite.render_literal(&Value::Bool(true))?, "1");
    /// assert!(lite.render_literal(&Value::F64(f64::NAN)).is_err());
    /// # Ok::<(), aludel_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] for a value with no literal form: a
    /// non-finite float, or text containing a NUL character.
    pub fn render_literal(&self, value: &Value) -> Result<String> {
        match self.backend {
            Backend::Postgres => postgres::render_literal(value),
            Backend::Mysql => mysql::render_literal(value),
            _ => sqlite::render_literal(value),
        }
    }

    /// The column type `ty` as this dialect's DDL writes it; `column` names
    /// the column in errors.
    ///
    /// ```
    /// use aludel_core::{Dialect, schema::SqlType, url::Backend};
    /// let my = Dialect::new(Backend::Mysql);
    /// assert_eq!(my.column_type(&SqlType::datetime(), "at")?, "DATETIME(6)");
    /// let err = my.column_type(&SqlType::String(None), "name").unwrap_err();
    /// assert!(err.to_string().contains("VARCHAR requires a length on mysql"));
    /// let pg = Dialect::new(Backend::Postgres);
    /// assert_eq!(pg.column_type(&SqlType::Json, "doc")?, "JSONB");
    /// # Ok::<(), aludel_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] for a type the dialect cannot store, naming
    /// the column (a VARCHAR without a length on MySQL).
    pub fn column_type(&self, ty: &SqlType, column: &str) -> Result<String> {
        match self.backend {
            Backend::Postgres => postgres::column_type(ty, column),
            Backend::Mysql => mysql::column_type(ty, column),
            _ => sqlite::column_type(ty, column),
        }
    }

    /// Whether INSERT … RETURNING works: PostgreSQL, the bundled SQLite
    /// (≥ 3.35) and MariaDB ≥ 10.5; not MySQL.
    pub fn supports_returning(&self) -> bool {
        match self.backend {
            Backend::Mysql => self.is_mariadb() && self.server_version() >= (10, 5),
            _ => true,
        }
    }

    /// Whether DDL takes part in transactions. MySQL and MariaDB commit
    /// implicitly before and after every DDL statement.
    pub fn supports_transactional_ddl(&self) -> bool {
        !matches!(self.backend, Backend::Mysql)
    }

    /// The statement that opens a transaction (on SQLite, as the URL's
    /// `begin=` chose: `BEGIN`, `BEGIN IMMEDIATE` or `BEGIN EXCLUSIVE`).
    pub fn begin_sql(&self) -> &'static str {
        self.begin
    }

    /// The statement that opens a savepoint named `name`.
    pub fn savepoint_sql(&self, name: &str) -> String {
        format!("SAVEPOINT {}", self.quote_identifier(name))
    }

    /// The statement that releases the savepoint `name`.
    pub fn release_savepoint_sql(&self, name: &str) -> String {
        format!("RELEASE SAVEPOINT {}", self.quote_identifier(name))
    }

    /// The statement that rolls back to the savepoint `name`.
    pub fn rollback_to_savepoint_sql(&self, name: &str) -> String {
        format!("ROLLBACK TO SAVEPOINT {}", self.quote_identifier(name))
    }

    /// The statement that sets the isolation level of the next transactions
    /// on this connection, or `None` when the level is AUTOCOMMIT.
    pub fn isolation_level_sql(&self, level: IsolationLevel) -> Option<String> {
        let name = level.sql_name()?;
        Some(match self.backend {
            Backend::Sqlite => match level {
                IsolationLevel::ReadUncommitted => "PRAGMA read_uncommitted = 1".into(),
                _ => "PRAGMA read_uncommitted = 0".into(),
            },
            Backend::Postgres => {
                format!("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL {name}")
            }
            _ => format!("SET SESSION TRANSACTION ISOLATION LEVEL {name}"),
        })
    }
}

/// `'…'` with single quotes doubled.
fn quote_doubling(s: &str) -> String {
    quote_with('\'', s)
}

/// `s` between `q`s, doubling any `q` inside.
fn quote_with(q: char, s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        if c == q {
            out.push(q);
        }
        out.push(c);
    }
    out.push(q);
    out
}

fn check_no_nul(s: &str) -> Result<()> {
    if s.contains('\0') {
        return Err(Error::new(
            ErrorKind::Unsupported,
            "a string literal cannot contain a NUL character",
        ));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02X}");
    }
    out
}

/// The length of an enum's VARCHAR where it has no type of its own: the
/// longest variant in characters (at least 1).
pub(crate) fn enum_length(variants: &[String]) -> usize {
    variants
        .iter()
        .map(|v| v.chars().count())
        .max()
        .unwrap_or(0)
        .max(1)
}

/// The spelling shared by the dialects (the generic names).
fn generic_type(ty: &SqlType) -> String {
    match ty {
        SqlType::Numeric {
            precision: Some(p),
            scale: Some(s),
        } => format!("NUMERIC({p}, {s})"),
        other => other.to_string(),
    }
}

/// The literals every dialect writes alike: NULL, numbers, strings (through
/// the dialect's `string`), dates and times as ISO text, JSON as its text.
fn common_literal(value: &Value, string: fn(&str) -> Result<String>) -> Result<String> {
    Ok(match value {
        Value::Null => "NULL".into(),
        Value::Bool(b) => if *b { "1" } else { "0" }.into(),
        Value::I16(v) => v.to_string(),
        Value::I32(v) => v.to_string(),
        Value::I64(v) => v.to_string(),
        Value::F32(v) => finite(f64::from(*v))?,
        Value::F64(v) => finite(*v)?,
        Value::String(s) => string(s)?,
        Value::Decimal(d) => d.to_string(),
        Value::Json(j) => string(&j.to_string())?,
        Value::Uuid(u) => string(&u.simple().to_string())?,
        Value::Bytes(b) => format!("X'{}'", hex(b)),
        #[cfg(feature = "chrono")]
        other => string(&crate::value::temporal_text(other).unwrap_or_default())?,
    })
}

fn finite(v: f64) -> Result<String> {
    if !v.is_finite() {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("{v} has no SQL literal form"),
        ));
    }
    // `{:?}` is the shortest text that reads back as the same float and
    // keeps a decimal point or exponent (1.0, 1e300).
    Ok(format!("{v:?}"))
}

/// A transaction isolation level, as SQLAlchemy's `isolation_level` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IsolationLevel {
    /// READ UNCOMMITTED.
    ReadUncommitted,
    /// READ COMMITTED (PostgreSQL's default).
    ReadCommitted,
    /// REPEATABLE READ (MySQL's default).
    RepeatableRead,
    /// SERIALIZABLE (SQLite's only real level).
    Serializable,
    /// No transactions: every statement commits on its own.
    Autocommit,
}

impl IsolationLevel {
    fn sql_name(self) -> Option<&'static str> {
        Some(match self {
            IsolationLevel::ReadUncommitted => "READ UNCOMMITTED",
            IsolationLevel::ReadCommitted => "READ COMMITTED",
            IsolationLevel::RepeatableRead => "REPEATABLE READ",
            IsolationLevel::Serializable => "SERIALIZABLE",
            IsolationLevel::Autocommit => return None,
        })
    }
}
