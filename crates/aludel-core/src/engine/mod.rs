//! The Engine: a URL, a dialect and a pool; the starting point of every
//! Aludel program.

mod connection;
pub(crate) mod observe;
pub(crate) mod pool;

use std::sync::Arc;
use std::time::Duration;

pub use connection::{Connection, Transaction};
pub use pool::PoolStatus;

use crate::dialect::{Dialect, IsolationLevel};
use crate::driver::{ConnectOptions, DriverSettings};
use crate::error::{Error, ErrorKind, Result};
use crate::result::CursorResult;
use crate::sql::{Executable, IntoParams};
use crate::url::{Backend, Url};

pub(crate) struct EngineInner {
    pub url: Url,
    pub dialect: Dialect,
    pub pool: pool::Pool,
    pub echo: bool,
    pub isolation: Option<IsolationLevel>,
    pub server: Option<(String, u16)>,
    pub namespace: Option<String>,
}

impl EngineInner {
    pub fn system_name(&self) -> &'static str {
        match self.url.backend() {
            Backend::Postgres => "postgresql",
            Backend::Mysql if self.dialect.is_mariadb() => "mariadb",
            Backend::Mysql => "mysql",
            _ => "sqlite",
        }
    }
}

/// The home base of an application's database: a [`Url`], the [`Dialect`]
/// that speaks to it, and a pool of connections (SQLAlchemy's `Engine`).
///
/// Cheap to clone: clones share the pool. Create one per database per
/// process with [`create_engine`] or [`Engine::builder`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_core::Result<()> {
/// use aludel_core::{create_engine, params, text};
/// let engine = create_engine("sqlite://")?;
/// engine.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)"), ()).await?;
/// engine
///     .execute(text("INSERT INTO users (name) VALUES (:name)"), params! { "name": "Ada" })
///     .await?;
/// let names: Vec<String> = engine.execute(text("SELECT name FROM users"), ()).await?.scalars()?;
/// assert_eq!(names, ["Ada"]);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("url", &self.inner.url)
            .field("dialect", &self.inner.dialect.name())
            .field("pool", &self.pool_status())
            .finish()
    }
}

/// Create an [`Engine`] from a database URL with default settings; no
/// connection is made until one is needed.
///
/// # Errors
/// [`ErrorKind::Url`] naming the part of the URL that is wrong.
pub fn create_engine(url: impl AsRef<str>) -> Result<Engine> {
    Engine::builder(url.as_ref())?.build()
}

impl Engine {
    /// Start configuring an engine for `url`.
    ///
    /// # Errors
    /// [`ErrorKind::Url`] when the URL does not parse.
    pub fn builder(url: &str) -> Result<EngineBuilder> {
        Ok(EngineBuilder::new(url.parse()?))
    }

    /// The engine's URL (its password masked when displayed).
    pub fn url(&self) -> &Url {
        &self.inner.url
    }

    /// The engine's dialect.
    pub fn dialect(&self) -> &Dialect {
        &self.inner.dialect
    }

    /// Borrow a connection from the pool.
    ///
    /// # Errors
    /// [`ErrorKind::Connect`] naming host and port when a new connection
    /// fails; [`ErrorKind::PoolTimeout`] with the pool's numbers when none is
    /// free within `pool_timeout`.
    pub async fn connect(&self) -> Result<Connection> {
        let obj = self.inner.pool.get().await?;
        Ok(Connection::new(obj, self.inner.clone()))
    }

    /// Borrow a connection and begin a transaction on it ("begin once"):
    /// [`Transaction::commit`] commits and returns the connection; dropping
    /// the transaction rolls back.
    pub async fn begin(&self) -> Result<Transaction<'static>> {
        Transaction::owned(self.connect().await?).await
    }

    /// Run `f` in a transaction on a pooled connection: committed on `Ok`,
    /// rolled back on `Err`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_core::Result<()> {
    /// use aludel_core::{create_engine, text, Connection, Error};
    /// let engine = create_engine("sqlite://")?;
    /// engine.execute(text("CREATE TABLE t (x INTEGER)"), ()).await?;
    /// let failed = engine
    ///     .transaction(async |conn: &mut Connection| {
    ///         conn.execute(text("INSERT INTO t VALUES (1)"), ()).await?;
    ///         conn.execute(text("INSERT INTO nowhere VALUES (1)"), ()).await?;
    ///         Ok::<_, Error>(())
    ///     })
    ///     .await;
    /// assert!(failed.is_err());
    /// let n: i64 = engine.execute(text("SELECT count(*) FROM t"), ()).await?.scalar_one()?;
    /// assert_eq!(n, 0, "the first insert was rolled back");
    /// # Ok(()) }
    /// ```
    pub async fn transaction<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: AsyncFnOnce(&mut Connection) -> std::result::Result<T, E>,
        E: From<Error>,
    {
        let mut conn = self.connect().await?;
        conn.transaction(f).await
    }

    /// Execute one statement on its own, committed at once (autocommit), on a
    /// pooled connection.
    pub async fn execute<S: Executable, P: IntoParams>(
        &self,
        statement: S,
        params: P,
    ) -> Result<CursorResult> {
        let mut conn = self.connect().await?;
        conn.set_autocommit(true)?;
        conn.execute(statement, params).await
    }

    /// How many connections exist, are idle, are lent out, and overflow.
    pub fn pool_status(&self) -> PoolStatus {
        self.inner.pool.status()
    }

    /// Close every idle connection and invalidate lent out ones (they are
    /// closed when returned); the engine stays usable and opens new ones.
    /// With an in-memory SQLite database this discards the database.
    pub fn dispose(&self) {
        self.inner.pool.dispose();
    }
}

/// Configures an [`Engine`] with SQLAlchemy's `create_engine` knobs.
///
/// ```
/// # fn main() -> aludel_core::Result<()> {
/// use std::time::Duration;
/// let engine = aludel_core::Engine::builder("sqlite:///app.db")?
///     .pool_size(10)
///     .max_overflow(5)
///     .pool_timeout(Duration::from_secs(5))
///     .pool_pre_ping(true)
///     .echo(true)
///     .build()?;
/// assert_eq!(engine.pool_status().pool_size, 10);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct EngineBuilder {
    url: Url,
    pool_size: usize,
    max_overflow: usize,
    pool_timeout: Duration,
    pool_recycle: Option<Duration>,
    pool_pre_ping: bool,
    echo: bool,
    isolation: Option<IsolationLevel>,
    connect_timeout: Duration,
    statement_cache_size: usize,
    compiled_cache_size: usize,
    sqlite_foreign_keys: Option<bool>,
}

impl EngineBuilder {
    /// A builder with SQLAlchemy's defaults: `pool_size` 5, `max_overflow`
    /// 10, `pool_timeout` 30 s, no recycling, no pre-ping, echo off.
    pub fn new(url: Url) -> Self {
        EngineBuilder {
            url,
            pool_size: 5,
            max_overflow: 10,
            pool_timeout: Duration::from_secs(30),
            pool_recycle: None,
            pool_pre_ping: false,
            echo: false,
            isolation: None,
            connect_timeout: Duration::from_secs(10),
            statement_cache_size: 256,
            compiled_cache_size: 500,
            sqlite_foreign_keys: None,
        }
    }

    /// Connections kept open in the pool (default 5).
    pub fn pool_size(mut self, n: usize) -> Self {
        self.pool_size = n;
        self
    }

    /// Connections allowed beyond `pool_size` under load, closed when
    /// returned (default 10).
    pub fn max_overflow(mut self, n: usize) -> Self {
        self.max_overflow = n;
        self
    }

    /// How long a checkout waits for a free connection (default 30 s).
    pub fn pool_timeout(mut self, timeout: Duration) -> Self {
        self.pool_timeout = timeout;
        self
    }

    /// Replace a connection older than `age` when it is next checked out.
    pub fn pool_recycle(mut self, age: Duration) -> Self {
        self.pool_recycle = Some(age);
        self
    }

    /// Test each connection with a ping at checkout; a dead one is replaced
    /// and every older pooled connection invalidated (default off).
    pub fn pool_pre_ping(mut self, on: bool) -> Self {
        self.pool_pre_ping = on;
        self
    }

    /// Log every statement at INFO on target `aludel::engine` (default
    /// off: DEBUG). Parameters are only ever logged at TRACE.
    pub fn echo(mut self, on: bool) -> Self {
        self.echo = on;
        self
    }

    /// The isolation level of every connection;
    /// [`IsolationLevel::Autocommit`] turns off autobegin.
    pub fn isolation_level(mut self, level: IsolationLevel) -> Self {
        self.isolation = Some(level);
        self
    }

    /// How long opening a connection may take (default 10 s; the URL's
    /// `connect_timeout` option wins).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Prepared statements kept per connection (default 256; 0 turns the
    /// cache off).
    pub fn statement_cache_size(mut self, n: usize) -> Self {
        self.statement_cache_size = n;
        self
    }

    /// Statement shapes whose compiled SQL is kept (default 500, as
    /// SQLAlchemy's `query_cache_size`; 0 compiles every time).
    pub fn compiled_cache_size(mut self, n: usize) -> Self {
        self.compiled_cache_size = n;
        self
    }

    /// Enforce foreign keys on SQLite (`PRAGMA foreign_keys = ON`); on by
    /// default, unlike SQLite itself. The URL option `foreign_keys=off`
    /// also turns it off.
    pub fn sqlite_foreign_keys(mut self, on: bool) -> Self {
        self.sqlite_foreign_keys = Some(on);
        self
    }

    /// Build the engine. No connection is opened yet.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for impossible pool settings,
    /// [`ErrorKind::Unsupported`] for a backend not compiled in or an
    /// option this build cannot honour.
    pub fn build(mut self) -> Result<Engine> {
        if let Some(t) = self.url.query_value("connect_timeout") {
            // Validated when the URL was parsed.
            if let Ok(secs) = t.parse::<u64>() {
                self.connect_timeout = Duration::from_secs(secs);
            }
        }
        if self.pool_size == 0 && self.max_overflow == 0 {
            return Err(Error::new(
                ErrorKind::Config,
                "pool_size and max_overflow are both 0: the pool could never lend a connection",
            ));
        }
        let settings = DriverSettings {
            connect_timeout: self.connect_timeout,
            statement_cache: self.statement_cache_size,
            sqlite_foreign_keys: self.sqlite_foreign_keys,
        };
        let options = ConnectOptions::from_url(&self.url, &settings)?;
        let mut dialect =
            Dialect::with_compiled_cache(self.url.backend(), self.compiled_cache_size);
        // Irrefutable when SQLite is the only backend compiled in.
        #[cfg(feature = "sqlite")]
        #[allow(irrefutable_let_patterns)]
        if let ConnectOptions::Sqlite(o) = &options {
            dialect = dialect.with_begin(o.begin);
        }
        let memory = self.url.backend() == Backend::Sqlite && self.url.is_memory();
        // An in-memory SQLite database lives in its one connection: share it
        // (SQLAlchemy's StaticPool) and never recycle it.
        let (pool_size, max_overflow, recycle) = if memory {
            (1, 0, None)
        } else {
            (self.pool_size, self.max_overflow, self.pool_recycle)
        };
        let manager = pool::Manager::new(
            options.clone(),
            dialect.clone(),
            recycle,
            self.pool_pre_ping && !memory,
            self.isolation,
        );
        let pool = pool::Pool::new(
            manager,
            pool_size,
            max_overflow,
            self.pool_timeout,
            self.connect_timeout,
        )?;
        let namespace = self.url.database().map(str::to_string);
        Ok(Engine {
            inner: Arc::new(EngineInner {
                server: options.server(),
                url: self.url,
                dialect,
                pool,
                echo: self.echo,
                isolation: self.isolation,
                namespace,
            }),
        })
    }
}
