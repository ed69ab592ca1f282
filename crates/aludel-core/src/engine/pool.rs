//! The connection pool: deadpool, wrapped to give SQLAlchemy's QueuePool knobs
//! (`pool_size`, `max_overflow`, `pool_timeout`, `pool_recycle`,
//! `pool_pre_ping`) and reset-on-return.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult, TimeoutType};

use crate::dialect::{Dialect, IsolationLevel};
use crate::driver::{ConnectOptions, RawConn};
use crate::error::{Error, ErrorKind, Result};

/// A driver connection with the state Aludel tracks to return it clean.
pub(crate) struct PooledConn {
    pub raw: RawConn,
    pub flags: ConnFlags,
    generation: u64,
    created: Instant,
}

/// What Aludel knows of a connection's state between statements.
#[derive(Debug, Default)]
pub(crate) struct ConnFlags {
    /// A transaction may be open on the server (set before BEGIN is sent,
    /// cleared only after COMMIT or ROLLBACK succeeded).
    pub txn_open: bool,
    /// A driver call was started and has not finished: its future was
    /// dropped at an await point (cancelled) or a stream was abandoned.
    pub in_flight: bool,
    /// The connection failed in a way that makes it unusable.
    pub broken: bool,
}

/// What to do with a connection coming back to the pool.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Checkin {
    /// Nothing open: return it as is.
    Clean,
    /// A transaction may be open: ROLLBACK, then return it.
    Rollback,
    /// Its state is unknown or it is dead: close it.
    Discard,
}

impl PooledConn {
    pub fn checkin_action(&self) -> Checkin {
        if self.flags.broken || self.raw.is_closed() {
            return Checkin::Discard;
        }
        if self.flags.in_flight && !self.raw.cancel_safe() {
            return Checkin::Discard;
        }
        match self.raw.server_in_transaction() {
            Some(true) => Checkin::Rollback,
            Some(false) => Checkin::Clean,
            None if self.flags.txn_open || self.flags.in_flight => Checkin::Rollback,
            None => Checkin::Clean,
        }
    }
}

pub(crate) struct Manager {
    pub options: ConnectOptions,
    pub dialect: Dialect,
    pub recycle: Option<Duration>,
    pub pre_ping: bool,
    pub isolation: Option<IsolationLevel>,
    /// Connections made before this generation are invalid (a disconnect was
    /// seen on one of them, as SQLAlchemy invalidates the whole pool).
    generation: AtomicU64,
}

impl Manager {
    pub fn new(
        options: ConnectOptions,
        dialect: Dialect,
        recycle: Option<Duration>,
        pre_ping: bool,
        isolation: Option<IsolationLevel>,
    ) -> Self {
        Manager {
            options,
            dialect,
            recycle,
            pre_ping,
            isolation,
            generation: AtomicU64::new(0),
        }
    }

    /// Mark every connection made so far as invalid.
    pub fn invalidate_all(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }
}

impl managed::Manager for Manager {
    type Type = PooledConn;
    type Error = Error;

    async fn create(&self) -> Result<PooledConn> {
        let generation = self.generation.load(Ordering::Relaxed);
        let mut raw = self.options.connect().await?;
        if let Some((version, mariadb)) = raw.server_version() {
            self.dialect.set_server_version(version, mariadb);
        }
        if let Some(sql) = self
            .isolation
            .and_then(|l| self.dialect.isolation_level_sql(l))
        {
            raw.simple(&sql).await?;
        }
        tracing::debug!(target: "aludel::pool", "connection created");
        Ok(PooledConn {
            raw,
            flags: ConnFlags::default(),
            generation,
            created: Instant::now(),
        })
    }

    async fn recycle(&self, conn: &mut PooledConn, _: &Metrics) -> RecycleResult<Error> {
        if conn.flags.broken || conn.raw.is_closed() {
            return Err(RecycleError::message("connection is closed"));
        }
        if conn.generation < self.generation.load(Ordering::Relaxed) {
            return Err(RecycleError::message("connection was invalidated"));
        }
        if let Some(max_age) = self.recycle {
            if conn.created.elapsed() > max_age {
                tracing::debug!(target: "aludel::pool", "connection recycled after {max_age:?}");
                return Err(RecycleError::message("connection exceeded pool_recycle"));
            }
        }
        if self.pre_ping {
            if let Err(e) = conn.raw.ping().await {
                tracing::info!(target: "aludel::pool", error = %e, "pre-ping failed; invalidating older connections");
                self.invalidate_all();
                return Err(RecycleError::Backend(e));
            }
        }
        Ok(())
    }
}

pub(crate) type Object = managed::Object<Manager>;

/// The numbers behind a pool: how many connections exist, are lent out, and
/// are beyond `pool_size` (SQLAlchemy's `pool.status()`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_core::Result<()> {
/// let engine = aludel_core::create_engine("sqlite://")?;
/// let conn = engine.connect().await?;
/// let status = engine.pool_status();
/// assert_eq!((status.size, status.checked_out), (1, 1));
/// drop(conn);
/// assert_eq!(engine.pool_status().checked_out, 0);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections kept open when idle.
    pub pool_size: usize,
    /// Connections allowed beyond `pool_size`.
    pub max_overflow: usize,
    /// Connections that exist now, lent out or idle.
    pub size: usize,
    /// Connections idle in the pool.
    pub idle: usize,
    /// Connections lent out.
    pub checked_out: usize,
    /// Connections beyond `pool_size` (closed when returned).
    pub overflow: usize,
    /// Tasks waiting for a connection.
    pub waiting: usize,
}

impl fmt::Display for PoolStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pool size {}, connections in pool {}, current overflow {}, checked out {}",
            self.pool_size, self.idle, self.overflow, self.checked_out
        )
    }
}

pub(crate) struct Pool {
    inner: managed::Pool<Manager>,
    pub pool_size: usize,
    pub max_overflow: usize,
    pub timeout: Duration,
    pub connect_timeout: Duration,
}

impl Pool {
    pub fn new(
        manager: Manager,
        pool_size: usize,
        max_overflow: usize,
        timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<Self> {
        let max = pool_size.saturating_add(max_overflow).max(1);
        let inner = managed::Pool::builder(manager)
            .max_size(max)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(connect_timeout))
            .recycle_timeout(Some(connect_timeout))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::new(ErrorKind::Config, format!("invalid pool settings: {e}")))?;
        Ok(Pool {
            inner,
            pool_size,
            max_overflow,
            timeout,
            connect_timeout,
        })
    }

    pub fn manager(&self) -> &Manager {
        self.inner.manager()
    }

    pub fn status(&self) -> PoolStatus {
        let s = self.inner.status();
        PoolStatus {
            pool_size: self.pool_size,
            max_overflow: self.max_overflow,
            size: s.size,
            idle: s.available,
            checked_out: s.size - s.available,
            overflow: s.size.saturating_sub(self.pool_size),
            waiting: s.waiting,
        }
    }

    pub async fn get(&self) -> Result<Object> {
        self.inner.get().await.map_err(|e| match e {
            PoolError::Timeout(TimeoutType::Wait) => {
                let s = self.status();
                Error::new(
                    ErrorKind::PoolTimeout,
                    format!(
                        "pool of size {} + overflow {} exhausted: all {} connections checked out \
                         and none returned within {:?} ({}); look for connections or sessions \
                         held across slow work, or raise pool_size/max_overflow",
                        self.pool_size, self.max_overflow, s.checked_out, self.timeout, s
                    ),
                )
            }
            PoolError::Timeout(_) => {
                let target = self
                    .manager()
                    .options
                    .server()
                    .map(|(h, p)| format!(" to {h}:{p}"))
                    .unwrap_or_default();
                Error::new(
                    ErrorKind::Connect,
                    format!(
                        "timed out connecting{target} after {:?} (connect_timeout)",
                        self.connect_timeout
                    ),
                )
            }
            PoolError::Backend(e) => e,
            PoolError::Closed => Error::new(ErrorKind::Closed, "the engine's pool is closed"),
            other => Error::new(ErrorKind::Database, format!("pool error: {other}")),
        })
    }

    /// Return a connection: reset it if a transaction may be open, close it
    /// if it is beyond `pool_size` or in an unknown state.
    pub fn checkin(&self, mut obj: Object) {
        match obj.checkin_action() {
            Checkin::Clean => {
                obj.flags = ConnFlags::default();
                self.put_back(obj)
            }
            Checkin::Discard => {
                tracing::debug!(target: "aludel::pool", "connection discarded on return");
                drop(Object::take(obj));
            }
            Checkin::Rollback => {
                #[cfg(feature = "sqlite")]
                #[allow(irrefutable_let_patterns)]
                if let RawConn::Sqlite(c) = &mut obj.raw {
                    // Synchronous: roll back right here.
                    if c.simple("ROLLBACK").is_ok() {
                        obj.flags = ConnFlags::default();
                        return self.put_back(obj);
                    }
                    return drop(Object::take(obj));
                }
                let Ok(handle) = tokio::runtime::Handle::try_current() else {
                    // No runtime to run ROLLBACK on: closing the connection
                    // makes the server roll back.
                    return drop(Object::take(obj));
                };
                let pool_size = self.pool_size;
                let timeout = self.connect_timeout;
                handle.spawn(async move {
                    let ok = matches!(
                        tokio::time::timeout(timeout, obj.raw.simple("ROLLBACK")).await,
                        Ok(Ok(()))
                    );
                    if ok {
                        obj.flags = ConnFlags::default();
                        put_back(obj, pool_size);
                    } else {
                        drop(Object::take(obj));
                    }
                });
            }
        }
    }

    fn put_back(&self, obj: Object) {
        put_back(obj, self.pool_size)
    }

    /// Close every idle connection (SQLAlchemy's `engine.dispose()`); lent
    /// out ones are closed when they come back.
    pub fn dispose(&self) {
        self.manager().invalidate_all();
        self.inner.retain(|_, _| false);
    }
}

fn put_back(obj: Object, pool_size: usize) {
    let keep = Object::pool(&obj)
        .map(|p| p.status().available < pool_size)
        .unwrap_or(false);
    if keep {
        drop(obj);
    } else {
        // Overflow: SQLAlchemy closes connections beyond pool_size on return.
        drop(Object::take(obj));
    }
}
