//! A connection checked out of an engine's pool, and its transactions.

use std::time::Instant;

use tracing::Instrument;

use super::pool::Object;
use super::{observe, EngineInner};
use crate::dialect::IsolationLevel;
use crate::error::{Error, ErrorKind, Result};
use crate::result::{CursorResult, RowStream};
use crate::sql::{Executable, IntoParams};
use crate::value::Value;
use std::sync::Arc;

/// A database connection lent by an [`Engine`](crate::Engine)'s pool.
///
/// Like SQLAlchemy 2.0's `Connection`, it **autobegins**: the first statement
/// opens a transaction, which stays open until [`commit`](Connection::commit)
/// or [`rollback`](Connection::rollback) ("commit as you go"). Dropping the
/// connection rolls back anything uncommitted and returns it to the pool.
/// For "begin once", use [`begin`](Connection::begin) or
/// [`transaction`](Connection::transaction).
///
/// DDL is transactional on PostgreSQL and SQLite: a rolled-back
/// `CREATE TABLE` never happened. MySQL and MariaDB commit implicitly before
/// and after each DDL statement, so work before it is committed and cannot
/// be rolled back; Aludel reads the server's transaction flag and begins a
/// new transaction for the statements after it (see
/// [`Dialect::supports_transactional_ddl`](crate::Dialect::supports_transactional_ddl)).
///
/// ```
/// # aludel_core::doctest::run(|mut conn| async move {
/// use aludel_core::{params, text};
/// conn.execute(text("CREATE TABLE t (x INTEGER)"), ()).await?;
/// conn.execute(text("INSERT INTO t (x) VALUES (:x)"), params! { "x": 1 }).await?;
/// conn.commit().await?;
/// conn.execute(text("INSERT INTO t (x) VALUES (:x)"), params! { "x": 2 }).await?;
/// conn.rollback().await?;
/// let xs: Vec<i64> = conn.execute(text("SELECT x FROM t"), ()).await?.scalars()?;
/// assert_eq!(xs, [1]);
/// # Ok(()) });
/// ```
pub struct Connection {
    obj: Option<Object>,
    engine: Arc<EngineInner>,
    /// Savepoint names handed out so far, for unique names.
    savepoints: u32,
    /// Statements owed by dropped transaction objects (ROLLBACK or ROLLBACK
    /// TO SAVEPOINT), sent before the next statement.
    pending: Vec<String>,
    autocommit: bool,
    /// Statements sent by execute, exec_driver_sql, execute_many and stream.
    statements: u64,
    /// Time spent waiting for those statements.
    statement_time: std::time::Duration,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("dialect", &self.engine.dialect.name())
            .field("in_transaction", &self.in_transaction())
            .finish()
    }
}

impl Connection {
    pub(crate) fn new(obj: Object, engine: Arc<EngineInner>) -> Self {
        let autocommit = engine.isolation == Some(IsolationLevel::Autocommit);
        Connection {
            obj: Some(obj),
            engine,
            savepoints: 0,
            pending: Vec::new(),
            autocommit,
            statements: 0,
            statement_time: std::time::Duration::ZERO,
        }
    }

    /// How many statements this connection has sent through
    /// [`execute`](Connection::execute), [`exec_driver_sql`](Connection::exec_driver_sql),
    /// [`execute_many`](Connection::execute_many) (one per call) and
    /// [`stream`](Connection::stream); transaction control (BEGIN, COMMIT,
    /// ROLLBACK, savepoints) is not counted. Tests use it to bound the
    /// queries a piece of code runs.
    ///
    /// ```
    /// # aludel_core::doctest::run(|mut conn| async move {
    /// use aludel_core::text;
    /// let before = conn.statement_count();
    /// conn.execute(text("SELECT 1"), ()).await?;
    /// conn.execute(text("SELECT 2"), ()).await?;
    /// assert_eq!(conn.statement_count() - before, 2);
    /// # Ok(()) });
    /// ```
    pub fn statement_count(&self) -> u64 {
        self.statements
    }

    /// The time spent waiting for the statements
    /// [`statement_count`](Connection::statement_count) counts (a stream's
    /// until its first row), for per-request timing.
    pub fn statement_time(&self) -> std::time::Duration {
        self.statement_time
    }

    fn obj(&mut self) -> &mut Object {
        self.obj.as_mut().expect("connection used after close")
    }

    /// The dialect of this connection's engine.
    pub fn dialect(&self) -> &crate::Dialect {
        &self.engine.dialect
    }

    /// True while a transaction is open (begun explicitly or by autobegin).
    ///
    /// Where the driver reports the server's own state (SQLite, MySQL) that
    /// state is the answer, so a MySQL DDL statement's implicit commit ends
    /// the transaction here too and the next statement begins a new one.
    pub fn in_transaction(&self) -> bool {
        self.obj
            .as_ref()
            .is_some_and(|o| o.raw.server_in_transaction().unwrap_or(o.flags.txn_open))
    }

    /// True when each statement runs in its own implicit transaction (no
    /// autobegin): the engine's `IsolationLevel::Autocommit`, or
    /// [`set_autocommit`](Connection::set_autocommit).
    ///
    /// ```
    /// # aludel_core::doctest::run(|mut conn| async move {
    /// assert!(!conn.autocommit(), "connections autobegin by default");
    /// conn.set_autocommit(true)?;
    /// assert!(conn.autocommit());
    /// # Ok(()) });
    /// ```
    pub fn autocommit(&self) -> bool {
        self.autocommit
    }

    /// Run each statement in its own implicit transaction (SQLAlchemy's
    /// `isolation_level="AUTOCOMMIT"`), or go back to autobegin.
    ///
    /// # Errors
    /// [`ErrorKind::Closed`]-free; fails with [`ErrorKind::Unsupported`] if a
    /// transaction is open (commit or roll back first).
    pub fn set_autocommit(&mut self, on: bool) -> Result<()> {
        if self.in_transaction() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "cannot change autocommit while a transaction is open; commit or roll back first",
            ));
        }
        self.autocommit = on;
        Ok(())
    }

    /// Run this connection's SQLite statements under
    /// `tokio::task::block_in_place`, so a long one (a big report, a VACUUM)
    /// does not stall the other tasks of its worker thread. SQLite statements
    /// otherwise run directly on the calling task, because a thread hop costs
    /// more than a typical statement. Needs the multi-threaded runtime (it
    /// does nothing on a current-thread runtime); no effect on PostgreSQL or
    /// MySQL, whose drivers never block. Reset when the connection returns
    /// to the pool.
    ///
    /// ```
    /// # aludel_core::doctest::run(|mut conn| async move {
    /// use aludel_core::text;
    /// conn.set_offload(true);
    /// let n: i64 = conn.execute(text("SELECT 40 + 2"), ()).await?.scalar_one()?;
    /// assert_eq!(n, 42);
    /// # Ok(()) });
    /// ```
    pub fn set_offload(&mut self, on: bool) {
        self.obj().raw.set_offload(on);
    }

    /// Execute one statement with named parameters and buffer its rows.
    ///
    /// # Errors
    /// [`ErrorKind::Bind`] for a missing or extra parameter (nothing is sent),
    /// or the database's error, carrying the SQL.
    pub async fn execute<S: Executable, P: IntoParams>(
        &mut self,
        statement: S,
        params: P,
    ) -> Result<CursorResult> {
        let compiled = statement.compile(&self.engine.dialect, params.into_params())?;
        self.run_query(&compiled.sql, &compiled.values).await
    }

    /// Execute SQL written for the driver, with positional values and the
    /// dialect's own placeholders (`$1`, `?1`, `?`): SQLAlchemy's
    /// `exec_driver_sql`. No `:name` parsing happens.
    pub async fn exec_driver_sql(&mut self, sql: &str, values: &[Value]) -> Result<CursorResult> {
        self.run_query(sql, values).await
    }

    /// INSERT rows given as plain values, as many per statement as the
    /// backend's parameter limit allows (SQLAlchemy's
    /// `conn.execute(insert(table), [row, row, …])`, its
    /// "insertmanyvalues"): the bulk-load path. The SQL text is compiled
    /// once per table, columns and row count, and the values are bound as
    /// given (moved, not walked or copied); use [`insert`](crate::sql::insert)
    /// with `values_many` for expressions or RETURNING. Returns the rows
    /// inserted.
    ///
    /// ```
    /// # aludel_core::doctest::run(|mut conn| async move {
    /// use aludel_core::schema::{Column, SqlType, Table};
    /// use aludel_core::{text, Value};
    /// let t = Table::builder("t")
    ///     .column(Column::new("id", SqlType::Integer).primary_key())
    ///     .column(Column::new("name", SqlType::String(Some(20))))
    ///     .build()?;
    /// conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(20))"), ())
    ///     .await?;
    /// let rows = (1..=3).map(|i| vec![Value::from(i), Value::from(format!("n{i}"))]);
    /// assert_eq!(conn.insert_many(&t, &["id", "name"], rows).await?, 3);
    /// let n: i64 = conn.execute(text("SELECT count(*) FROM t"), ()).await?.scalar_one()?;
    /// assert_eq!(n, 3);
    /// # Ok(()) });
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Config`] for a column the table lacks or a row with the
    /// wrong number of values (naming it), before anything is sent; the
    /// database's error otherwise (the rows of earlier statements stay
    /// inserted in the open transaction, to be rolled back with it).
    pub async fn insert_many<I>(
        &mut self,
        table: &crate::schema::Table,
        columns: &[&str],
        rows: I,
    ) -> Result<u64>
    where
        I: IntoIterator<Item = Vec<Value>>,
    {
        for c in columns {
            table.column(c)?;
        }
        let width = columns.len().max(1);
        let chunk = (30_000 / width).clamp(1, 1000);
        let mut total = 0;
        let mut values: Vec<Value> = Vec::with_capacity(chunk * width);
        let mut rows = rows.into_iter().enumerate().peekable();
        while rows.peek().is_some() {
            values.clear();
            let mut count = 0;
            for (i, row) in rows.by_ref().take(chunk) {
                if row.len() != columns.len() {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!(
                            "row {i} of the INSERT into \"{}\" has {} values for {} columns",
                            table.name(),
                            row.len(),
                            columns.len()
                        ),
                    )
                    .with_table(Some(table.name().to_string())));
                }
                values.extend(row);
                count += 1;
            }
            total += self
                .execute_insert(table, columns, count, &values, None)
                .await?
                .rows_affected();
        }
        Ok(total)
    }

    /// One multi-row INSERT of `rows` rows of `columns` into `table`, bound
    /// to `values` (row after row, `rows × columns` of them), with
    /// `RETURNING returning` where given: the building block of
    /// [`insert_many`](Connection::insert_many) and of the ORM's flush. The
    /// text is compiled once per (backend, table, columns, row count,
    /// RETURNING) and the values are bound where they lie.
    ///
    /// # Errors
    /// [`ErrorKind::Bind`] when `values` does not hold `rows × columns`
    /// values; [`ErrorKind::Unsupported`] for RETURNING where the dialect
    /// has none; the database's error otherwise.
    pub async fn execute_insert(
        &mut self,
        table: &crate::schema::Table,
        columns: &[&str],
        rows: usize,
        values: &[Value],
        returning: Option<&str>,
    ) -> Result<CursorResult> {
        let sql = insert_sql(&self.engine.dialect, table, columns, rows, returning)?;
        self.run_query(&sql, values).await
    }

    /// Execute one statement once per parameter set (SQLAlchemy's
    /// executemany); returns the total of rows affected.
    ///
    /// ```
    /// # aludel_core::doctest::run(|mut conn| async move {
    /// use aludel_core::{params, text};
    /// conn.execute(text("CREATE TABLE t (x INTEGER)"), ()).await?;
    /// let n = conn
    ///     .execute_many(text("INSERT INTO t (x) VALUES (:x)"), (1..=3).map(|x| params! { "x": x }))
    ///     .await?;
    /// assert_eq!(n, 3);
    /// # Ok(()) });
    /// ```
    pub async fn execute_many<S, I>(&mut self, statement: S, param_sets: I) -> Result<u64>
    where
        S: Executable,
        I: IntoIterator,
        I::Item: IntoParams,
    {
        let mut sql = None;
        let mut sets = Vec::new();
        for p in param_sets {
            let c = statement.compile(&self.engine.dialect, p.into_params())?;
            sql.get_or_insert(c.sql);
            sets.push(c.values);
        }
        let Some(sql) = sql else { return Ok(0) };
        self.statements += 1;
        self.prepare().await.map_err(|e| e.or_sql(&sql))?;
        let engine = self.engine.clone();
        let span = observe::span(&engine, &sql);
        let start = Instant::now();
        let obj = self.obj();
        obj.flags.in_flight = true;
        let res = obj
            .raw
            .execute_many(&sql, &sets)
            .instrument(span.clone())
            .await;
        obj.flags.in_flight = false;
        observe::finish(&engine, &span, &sql, start, res.as_ref().err());
        self.statement_time += start.elapsed();
        self.after_error(res).map_err(|e| e.or_sql(&sql))
    }

    /// Execute a query and stream its rows, holding a bounded number of rows
    /// in memory (SQLite steps the statement, PostgreSQL reads with
    /// backpressure, MySQL reads row by row).
    ///
    /// ```
    /// # aludel_core::doctest::run(|mut conn| async move {
    /// use aludel_core::text;
    /// let mut rows = conn
    ///     .stream(text("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000) SELECT x FROM n"), ())
    ///     .await?;
    /// let mut sum = 0i64;
    /// while let Some(row) = rows.next().await {
    ///     sum += row?.get::<i64, _>(0)?;
    /// }
    /// assert_eq!(sum, 500_500);
    /// # Ok(()) });
    /// ```
    pub async fn stream<S: Executable, P: IntoParams>(
        &mut self,
        statement: S,
        params: P,
    ) -> Result<RowStream<'_>> {
        let compiled = statement.compile(&self.engine.dialect, params.into_params())?;
        let sql = compiled.sql.into_owned();
        self.statements += 1;
        self.prepare().await.map_err(|e| e.or_sql(&sql))?;
        let engine = self.engine.clone();
        let span = observe::span(&engine, &sql);
        let start = Instant::now();
        let obj = self.obj.as_mut().expect("connection used after close");
        obj.flags.in_flight = true;
        let obj: &mut super::pool::PooledConn = obj;
        let res = obj
            .raw
            .stream(&sql, &compiled.values)
            .instrument(span.clone())
            .await;
        observe::finish(&engine, &span, &sql, start, res.as_ref().err());
        self.statement_time += start.elapsed();
        match res {
            Ok((columns, inner)) => Ok(RowStream::new(columns, inner, &mut obj.flags)),
            Err(e) => {
                obj.flags.in_flight = false;
                if e.is_disconnect() {
                    obj.flags.broken = true;
                    engine.pool.manager().invalidate_all();
                }
                Err(e.or_sql(&sql))
            }
        }
    }

    async fn run_query(&mut self, sql: &str, values: &[Value]) -> Result<CursorResult> {
        self.statements += 1;
        self.flush_pending().await.map_err(|e| e.or_sql(sql))?;
        // Autobegin: the BEGIN goes with the statement (one round trip on
        // PostgreSQL, which pipelines them), or is not sent at all where the
        // statement opens the transaction itself (MySQL, autocommit off).
        let mut begin =
            (!self.autocommit && !self.in_transaction()).then(|| self.engine.dialect.begin_sql());
        if self.obj().raw.implicit_transactions() {
            let autocommit = self.autocommit;
            self.set_server_autocommit(autocommit)
                .await
                .map_err(|e| e.or_sql(sql))?;
            if begin.take().is_some() {
                // Set before sending: the statement opens the transaction.
                self.obj().flags.txn_open = true;
            }
        }
        let engine = self.engine.clone();
        let span = observe::span(&engine, sql);
        let start = Instant::now();
        tracing::trace!(target: "aludel::engine", parent: &span, parameters = ?values, "bound parameters");
        let obj = self.obj();
        obj.flags.in_flight = true;
        let res = match begin {
            None => obj.raw.query(sql, values).instrument(span.clone()).await,
            Some(first) => {
                // Set before sending: if this future is dropped mid-BEGIN,
                // checkin still rolls back.
                obj.flags.txn_open = true;
                let begin_span = observe::span(&engine, first);
                observe::finish(&engine, &begin_span, first, start, None);
                let res = obj
                    .raw
                    .query_after(first, sql, values)
                    .instrument(span.clone())
                    .await;
                if res.is_err() {
                    obj.flags.txn_open = obj.raw.server_in_transaction().unwrap_or(true);
                }
                res
            }
        };
        let obj = self.obj();
        obj.flags.in_flight = false;
        observe::finish(&engine, &span, sql, start, res.as_ref().err());
        self.statement_time += start.elapsed();
        self.after_error(res)
            .map(CursorResult::from_output)
            .map_err(|e| e.or_sql(sql))
    }

    /// Put the server session's autocommit where this connection's mode
    /// wants it (MySQL); echoed like the other control statements.
    async fn set_server_autocommit(&mut self, on: bool) -> Result<()> {
        let engine = self.engine.clone();
        let sql = if on {
            "SET autocommit = 1"
        } else {
            "SET autocommit = 0"
        };
        let obj = self.obj();
        if obj.raw.server_autocommit() != Some(!on) {
            return Ok(()); // already so (or nothing to switch)
        }
        obj.flags.in_flight = true;
        let span = observe::span(&engine, sql);
        let start = Instant::now();
        let res = obj.raw.ensure_autocommit(on).instrument(span.clone()).await;
        obj.flags.in_flight = false;
        observe::finish(&engine, &span, sql, start, res.as_ref().err());
        self.after_error(res)
    }

    /// Note a lost connection: this one is discarded on return, and every
    /// older pooled connection is invalidated.
    fn after_error<T>(&mut self, res: Result<T>) -> Result<T> {
        if let Err(e) = &res {
            if e.is_disconnect() {
                self.obj().flags.broken = true;
                self.engine.pool.manager().invalidate_all();
            }
        }
        res
    }

    /// Send what dropped transaction objects owe, then autobegin.
    async fn prepare(&mut self) -> Result<()> {
        self.flush_pending().await?;
        if self.obj().raw.implicit_transactions() {
            let autocommit = self.autocommit;
            self.set_server_autocommit(autocommit).await?;
            if !autocommit && !self.in_transaction() {
                // The statement about to be sent opens the transaction.
                self.obj().flags.txn_open = true;
            }
            return Ok(());
        }
        if !self.autocommit && !self.in_transaction() {
            self.begin_raw().await?;
        }
        Ok(())
    }

    async fn flush_pending(&mut self) -> Result<()> {
        while !self.pending.is_empty() {
            let sql = self.pending.remove(0);
            let is_root = sql == "ROLLBACK";
            self.control(&sql).await?;
            if is_root {
                self.obj().flags.txn_open = false;
                self.pending.clear();
            }
        }
        Ok(())
    }

    /// Run a transaction-control statement (BEGIN, COMMIT, SAVEPOINT…).
    async fn control(&mut self, sql: &str) -> Result<()> {
        let engine = self.engine.clone();
        let span = observe::span(&engine, sql);
        let start = Instant::now();
        let obj = self.obj();
        obj.flags.in_flight = true;
        let res = obj.raw.simple(sql).instrument(span.clone()).await;
        obj.flags.in_flight = false;
        observe::finish(&engine, &span, sql, start, res.as_ref().err());
        self.after_error(res)
    }

    async fn begin_raw(&mut self) -> Result<()> {
        let sql = self.engine.dialect.begin_sql();
        // Set before sending: if this future is dropped mid-BEGIN, checkin
        // still rolls back.
        self.obj().flags.txn_open = true;
        match self.control(sql).await {
            Ok(()) => Ok(()),
            Err(e) => {
                if let Some(obj) = self.obj.as_mut() {
                    obj.flags.txn_open = obj.raw.server_in_transaction().unwrap_or(true);
                }
                Err(e)
            }
        }
    }

    /// Commit the open transaction, if any ("commit as you go"). The next
    /// statement begins a new one.
    pub async fn commit(&mut self) -> Result<()> {
        self.flush_pending().await?;
        if !self.in_transaction() {
            return Ok(());
        }
        let res = self.control("COMMIT").await;
        // After COMMIT, success or not, the server has ended the transaction
        // (a failed COMMIT rolls back) unless the connection was lost.
        let obj = self.obj();
        obj.flags.txn_open = obj
            .raw
            .server_in_transaction()
            .unwrap_or(res.is_err() && obj.flags.broken);
        self.savepoints = 0;
        res
    }

    /// Roll back the open transaction, if any.
    pub async fn rollback(&mut self) -> Result<()> {
        self.pending.clear();
        if !self.in_transaction() {
            return Ok(());
        }
        let res = self.control("ROLLBACK").await;
        if res.is_ok() {
            self.obj().flags.txn_open = false;
        }
        self.savepoints = 0;
        res
    }

    /// Begin a transaction ("begin once"): commit it with
    /// [`Transaction::commit`]; dropping it rolls back.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] when a transaction is already open on this
    /// connection (use [`begin_nested`](Connection::begin_nested) for a savepoint).
    pub async fn begin(&mut self) -> Result<Transaction<'_>> {
        self.flush_pending().await?;
        if self.in_transaction() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "a transaction is already open on this connection; commit or roll it back, \
                 or use begin_nested() for a savepoint",
            ));
        }
        self.begin_raw().await?;
        Ok(Transaction {
            conn: Slot::Borrowed(self),
            savepoint: None,
            done: false,
        })
    }

    /// Open a SAVEPOINT inside the current transaction (beginning one if
    /// needed). Commit releases it; rollback or drop rolls back to it and the
    /// outer transaction goes on.
    pub async fn begin_nested(&mut self) -> Result<Transaction<'_>> {
        self.prepare().await?;
        if !self.in_transaction() {
            // Autocommit connections still need a transaction around a savepoint.
            self.begin_raw().await?;
        }
        self.savepoints += 1;
        let name = format!("sa_savepoint_{}", self.savepoints);
        let sql = self.engine.dialect.savepoint_sql(&name);
        self.control(&sql).await?;
        Ok(Transaction {
            conn: Slot::Borrowed(self),
            savepoint: Some(name),
            done: false,
        })
    }

    /// Run `f` inside a transaction: committed when it returns `Ok`, rolled
    /// back when it returns `Err` (the error is passed on).
    ///
    /// ```
    /// # aludel_core::doctest::run(|mut conn| async move {
    /// use aludel_core::{text, Connection, Error};
    /// conn.execute(text("CREATE TABLE t (x INTEGER)"), ()).await?;
    /// conn.commit().await?;
    /// let n = conn
    ///     .transaction(async |tx: &mut Connection| {
    ///         tx.execute(text("INSERT INTO t VALUES (1)"), ()).await?;
    ///         Ok::<_, Error>(1)
    ///     })
    ///     .await?;
    /// assert_eq!(n, 1);
    /// # Ok(()) });
    /// ```
    pub async fn transaction<T, E, F>(&mut self, f: F) -> std::result::Result<T, E>
    where
        F: AsyncFnOnce(&mut Connection) -> std::result::Result<T, E>,
        E: From<Error>,
    {
        let mut tx = self.begin().await?;
        match f(&mut tx).await {
            Ok(v) => {
                tx.commit().await?;
                Ok(v)
            }
            Err(e) => {
                // The closure's error matters more than a failed ROLLBACK.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// Roll back anything open and return the connection to the pool now,
    /// waiting for the rollback (dropping does the same in the background).
    pub async fn close(mut self) -> Result<()> {
        let res = self.rollback().await;
        drop(self);
        res
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(mut obj) = self.obj.take() {
            obj.raw.set_offload(false);
            if !self.pending.is_empty() {
                obj.flags.txn_open = true;
            }
            self.engine.pool.checkin(obj);
        }
    }
}

enum Slot<'c> {
    Borrowed(&'c mut Connection),
    Owned(Box<Connection>),
}

/// A transaction or savepoint in progress: SQLAlchemy's `Transaction`.
///
/// It dereferences to its [`Connection`], so statements run through it.
/// [`commit`](Transaction::commit) ends it; [`rollback`](Transaction::rollback)
/// or dropping it undoes its work (for a savepoint: back to the savepoint,
/// keeping the outer transaction).
///
/// ```
/// # aludel_core::doctest::run(|mut conn| async move {
/// use aludel_core::text;
/// conn.execute(text("CREATE TABLE t (x INTEGER)"), ()).await?;
/// conn.commit().await?;
/// let mut tx = conn.begin().await?;
/// tx.execute(text("INSERT INTO t VALUES (1)"), ()).await?;
/// let sp = tx.begin_nested().await?;
/// // … a step that may fail:
/// sp.rollback().await?;
/// tx.commit().await?;
/// let n: Option<i64> = conn.execute(text("SELECT count(*) FROM t"), ()).await?.scalar()?;
/// assert_eq!(n, Some(1));
/// # Ok(()) });
/// ```
#[must_use = "a transaction is rolled back when dropped; call commit()"]
pub struct Transaction<'c> {
    conn: Slot<'c>,
    savepoint: Option<String>,
    done: bool,
}

impl Transaction<'static> {
    pub(crate) async fn owned(mut conn: Connection) -> Result<Self> {
        conn.begin_raw().await?;
        Ok(Transaction {
            conn: Slot::Owned(Box::new(conn)),
            savepoint: None,
            done: false,
        })
    }
}

impl Transaction<'_> {
    fn conn(&mut self) -> &mut Connection {
        match &mut self.conn {
            Slot::Borrowed(c) => c,
            Slot::Owned(c) => c,
        }
    }

    /// True for a savepoint (from [`Connection::begin_nested`]).
    pub fn is_nested(&self) -> bool {
        self.savepoint.is_some()
    }

    /// Commit the transaction, or release the savepoint.
    pub async fn commit(mut self) -> Result<()> {
        self.done = true;
        match self.savepoint.take() {
            None => self.conn().commit().await,
            Some(name) => {
                let sql = self.conn().engine.dialect.release_savepoint_sql(&name);
                self.conn().control(&sql).await
            }
        }
    }

    /// Roll back the transaction, or roll back to the savepoint.
    pub async fn rollback(mut self) -> Result<()> {
        self.done = true;
        match self.savepoint.take() {
            None => self.conn().rollback().await,
            Some(name) => {
                let sql = self.conn().engine.dialect.rollback_to_savepoint_sql(&name);
                self.conn().control(&sql).await
            }
        }
    }
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match &self.conn {
            Slot::Borrowed(c) => c,
            Slot::Owned(c) => c,
        }
    }
}

impl std::ops::DerefMut for Transaction<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn()
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let savepoint = self.savepoint.take();
        let conn = self.conn();
        let sql = match savepoint {
            Some(name) => conn.engine.dialect.rollback_to_savepoint_sql(&name),
            None => "ROLLBACK".to_string(),
        };
        // SQLite runs on this thread: roll back at once. Elsewhere the
        // statement is owed and sent before the connection's next statement
        // or when it goes back to the pool.
        #[cfg(feature = "sqlite")]
        if let Some(obj) = conn.obj.as_mut() {
            #[allow(irrefutable_let_patterns)]
            if let crate::driver::RawConn::Sqlite(c) = &mut obj.raw {
                if c.simple(&sql).is_ok() {
                    if sql == "ROLLBACK" {
                        obj.flags.txn_open = false;
                    }
                    return;
                }
            }
        }
        conn.pending.push(sql);
    }
}

/// The text of an INSERT of `rows` rows of `columns` into `table` (with
/// RETURNING `returning`), compiled once per process for each shape.
fn insert_sql(
    dialect: &crate::Dialect,
    table: &crate::schema::Table,
    columns: &[&str],
    rows: usize,
    returning: Option<&str>,
) -> Result<Arc<str>> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    type Key = (
        crate::Backend,
        Option<String>,
        String,
        Vec<String>,
        usize,
        Option<String>,
    );
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<str>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key: Key = (
        dialect.backend(),
        table.schema().map(str::to_string),
        table.name().to_string(),
        columns.iter().map(|c| c.to_string()).collect(),
        rows,
        returning.map(str::to_string),
    );
    if let Some(sql) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(sql.clone());
    }
    // The text does not depend on the values: every one is bound.
    let row: Vec<(&str, crate::sql::Expr)> = columns
        .iter()
        .map(|c| (*c, crate::sql::Expr::from(Value::I64(0))))
        .collect();
    let mut stmt = crate::sql::insert(table).values_many(std::iter::repeat_n(row, rows));
    if let Some(col) = returning {
        table.column(col)?;
        stmt = stmt.returning([table.c(col)]);
    }
    let sql: Arc<str> = stmt.compile(dialect, ().into_params())?.sql.into();
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= 1024 {
        cache.clear();
    }
    cache.insert(key, sql.clone());
    Ok(sql)
}
