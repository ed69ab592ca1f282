//! Dialects: what differs between SQLite, PostgreSQL and MySQL in the SQL text.
//!
//! A dialect never touches a driver; it only turns intent into SQL text and
//! answers capability questions (`supports_returning`), so code above asks
//! capabilities, not backend names.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::sql::text::Placeholder;
use crate::url::Backend;

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
        }
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
        let q = match self.backend {
            Backend::Mysql => '`',
            _ => '"',
        };
        let mut out = String::with_capacity(ident.len() + 2);
        out.push(q);
        for c in ident.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        out
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

    /// The statement that opens a transaction.
    pub fn begin_sql(&self) -> &'static str {
        match self.backend {
            Backend::Mysql => "START TRANSACTION",
            _ => "BEGIN",
        }
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
