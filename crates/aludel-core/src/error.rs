//! The one error type of Aludel, with kinds a caller can match on.

use std::fmt;

/// A specialised `Result` for Aludel operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, in a form a caller can `match` on.
///
/// The list grows as Aludel grows, so it is `#[non_exhaustive]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A database URL could not be parsed or names something unsupported.
    Url,
    /// An engine option is invalid (for example a zero `pool_size` with no overflow).
    Config,
    /// A connection could not be opened (host unreachable, bad password, unknown database).
    Connect,
    /// No connection became free within `pool_timeout`.
    PoolTimeout,
    /// An established connection was lost (server restarted, network cut).
    ConnectionLost,
    /// A constraint was violated.
    Integrity(IntegrityKind),
    /// The server rejected the SQL (syntax error, unknown table or column).
    Syntax,
    /// A bind parameter is missing, extra, or of a type the dialect cannot send.
    Bind,
    /// `one()` found no row.
    NoRow,
    /// `one()` or `one_or_none()` found more than one row.
    MultipleRows,
    /// A value could not be decoded into the requested Rust type.
    Decode,
    /// The dialect or driver does not support what was asked.
    Unsupported,
    /// The transaction failed because of a concurrent one (serialization failure);
    /// running it again may succeed.
    Serialization,
    /// The transaction was chosen as a deadlock victim; running it again may succeed.
    Deadlock,
    /// An UPDATE or DELETE of a versioned row matched nothing: another
    /// transaction changed or deleted it (optimistic locking).
    StaleData,
    /// A statement, lock wait or connect exceeded its time limit.
    Timeout,
    /// The connection, transaction or result was already closed.
    Closed,
    /// Any other error reported by the database.
    Database,
    /// An ORM relationship was read before it was loaded, or a lazy load
    /// was refused (raise mode): load it explicitly or eagerly.
    NotLoaded,
    /// A migration command failed (an unknown revision, a broken revision
    /// chain, an op that failed). Converted from `aludel_migrate::Error`,
    /// which stays reachable through [`std::error::Error::source`] with the
    /// revisions and ops involved.
    Migration,
}

/// Which constraint an [`ErrorKind::Integrity`] error violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IntegrityKind {
    /// A UNIQUE or PRIMARY KEY constraint.
    Unique,
    /// A FOREIGN KEY constraint.
    ForeignKey,
    /// A NOT NULL constraint.
    NotNull,
    /// A CHECK constraint.
    Check,
    /// Some other constraint.
    Other,
}

/// The error type of every fallible Aludel operation.
///
/// Match on [`Error::kind`]; the accessors give the SQL, constraint, table and
/// column where they are known. Messages never contain a password.
///
/// ```
/// use aludel_core::{Error, ErrorKind};
/// let err = Error::new(ErrorKind::NoRow, "no row was found when one was required");
/// assert_eq!(err.kind(), ErrorKind::NoRow);
/// assert!(!err.is_retryable());
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    sql: Option<String>,
    constraint: Option<String>,
    table: Option<String>,
    column: Option<String>,
    code: Option<String>,
    source: Option<BoxError>,
}

impl Error {
    /// An error of `kind` with a message (lowercase, no final period).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                sql: None,
                constraint: None,
                table: None,
                column: None,
                code: None,
                source: None,
            }),
        }
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The message, without the SQL.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The SQL statement that failed, if a statement was involved.
    pub fn sql(&self) -> Option<&str> {
        self.inner.sql.as_deref()
    }

    /// The name of the violated constraint, where the server reports it.
    pub fn constraint(&self) -> Option<&str> {
        self.inner.constraint.as_deref()
    }

    /// The table involved, where known.
    pub fn table(&self) -> Option<&str> {
        self.inner.table.as_deref()
    }

    /// The column involved, where known.
    pub fn column(&self) -> Option<&str> {
        self.inner.column.as_deref()
    }

    /// The server's own error code (SQLSTATE on PostgreSQL, the error number on
    /// MySQL, the extended result code on SQLite).
    pub fn code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }

    /// The same error with `prefix` put before its message (the SQL,
    /// constraint, table, column and code are kept), for callers that know
    /// what was being done: `"flush of User key [I64(3)]"`.
    pub fn context(mut self, prefix: impl fmt::Display) -> Self {
        self.inner.message = format!("{prefix}: {}", self.inner.message);
        self
    }

    /// True when running the transaction again may succeed (serialization
    /// failures and deadlocks).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::Serialization | ErrorKind::Deadlock
        )
    }

    /// True when the error means the connection can no longer be used.
    pub fn is_disconnect(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::ConnectionLost)
    }

    pub(crate) fn with_sql(mut self, sql: impl Into<String>) -> Self {
        self.inner.sql = Some(sql.into());
        self
    }

    pub(crate) fn with_constraint(mut self, name: Option<String>) -> Self {
        self.inner.constraint = name;
        self
    }

    /// The same error naming the table it concerns (layers above Core,
    /// such as the ORM, use it for errors found before any SQL is sent).
    pub fn with_table(mut self, name: Option<String>) -> Self {
        self.inner.table = name;
        self
    }

    /// The same error naming the column it concerns.
    pub fn with_column(mut self, name: Option<String>) -> Self {
        self.inner.column = name;
        self
    }

    pub(crate) fn with_code(mut self, code: impl Into<String>) -> Self {
        self.inner.code = Some(code.into());
        self
    }

    /// The same error with `source` as the error underneath it (what
    /// [`std::error::Error::source`] returns), for layers above Core that
    /// wrap their own errors, such as migrations.
    ///
    /// ```
    /// use aludel_core::{Error, ErrorKind};
    /// use std::error::Error as _;
    /// let io = std::io::Error::other("disk full");
    /// let err = Error::new(ErrorKind::Migration, "upgrade failed").with_source(io);
    /// assert_eq!(err.source().unwrap().to_string(), "disk full");
    /// ```
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Attach the SQL text unless one is already attached.
    pub(crate) fn or_sql(self, sql: &str) -> Self {
        if self.inner.sql.is_some() {
            self
        } else {
            self.with_sql(sql)
        }
    }
}

/// How much of a statement an error's message shows.
const SQL_SHOWN: usize = 600;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(sql) = &self.inner.sql {
            // A multi-row INSERT can be megabytes: show its start (the whole
            // statement stays available from `sql()`).
            match sql.char_indices().nth(SQL_SHOWN) {
                Some((cut, _)) => write!(
                    f,
                    "\n[SQL: {} … ({} more characters)]",
                    &sql[..cut],
                    sql[cut..].chars().count()
                )?,
                None => write!(f, "\n[SQL: {sql}]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(sql) = &self.inner.sql {
            d.field("sql", sql);
        }
        if let Some(c) = &self.inner.constraint {
            d.field("constraint", c);
        }
        if let Some(c) = &self.inner.code {
            d.field("code", c);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|e| &**e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_statements_are_shortened_in_the_message_only() {
        let sql = format!("INSERT INTO t (a) VALUES {}", vec!["(?)"; 1000].join(", "));
        let e = Error::new(ErrorKind::Syntax, "near \"x\"").with_sql(sql.clone());
        let shown = e.to_string();
        assert!(shown.starts_with("near \"x\"\n[SQL: INSERT INTO t (a) VALUES (?), (?)"));
        assert!(shown.ends_with(&format!(" … ({} more characters)]", sql.len() - SQL_SHOWN)));
        assert_eq!(e.sql(), Some(sql.as_str()));
        let short = Error::new(ErrorKind::Syntax, "bad").with_sql("SELECT 1");
        assert_eq!(short.to_string(), "bad\n[SQL: SELECT 1]");
    }
}
