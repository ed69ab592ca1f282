//! The connection layer: the three driver crates behind one enum.
//!
//! Only this module touches rusqlite, tokio-postgres and mysql_async; the
//! dialects above it produce SQL text without any driver.

// With only some backends compiled in, the catch-all arms below are
// unreachable and some settings unused.
#![cfg_attr(
    not(all(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(unreachable_patterns, unused_variables, dead_code)
)]

#[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "mysql")))]
compile_error!("enable at least one backend feature of aludel: sqlite, postgres or mysql");

#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

use crate::error::{Error, ErrorKind, Result};
use crate::row::{Columns, FromRow, Row, RowPlan};
use crate::url::{Backend, Url};
use crate::value::Value;

/// The error for a statement given the wrong number of values, raised
/// before anything is sent.
pub(crate) fn check_param_count(expected: usize, given: usize) -> Result<()> {
    if expected == given {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Bind,
        format!("the statement takes {expected} parameters but {given} were given"),
    ))
}

/// What one statement produced.
pub(crate) struct QueryOutput {
    pub columns: Columns,
    pub rows: RowBuf,
    pub rows_affected: u64,
    pub last_insert_id: Option<i64>,
}

/// Result rows, kept in the driver's own form until they are read, so a
/// result decoded into structs is converted once, row by row, into one
/// reused buffer (no intermediate `Row` per row).
pub(crate) enum RowBuf {
    /// Already converted.
    Rows(Vec<Row>),
    /// SQLite: every row's cells in one vector (`width` per row), copied out
    /// while stepping the statement.
    Flat(Vec<Value>, usize),
    #[cfg(feature = "postgres")]
    Pg(Vec<tokio_postgres::Row>),
    /// MySQL: every row's cells as mysql_async sent them, in one vector
    /// (`width` per row; each row's own vector is freed as it arrives),
    /// with the driver's columns, which say how to read each cell.
    #[cfg(feature = "mysql")]
    My(mysql::MyCellBuf),
}

impl RowBuf {
    pub fn len(&self) -> usize {
        match self {
            RowBuf::Rows(r) => r.len(),
            RowBuf::Flat(cells, width) => cells.len() / width,
            #[cfg(feature = "postgres")]
            RowBuf::Pg(r) => r.len(),
            #[cfg(feature = "mysql")]
            RowBuf::My(buf) => buf.len(),
        }
    }

    /// Decode the rows (only the first with `first_only`) into `T` with a
    /// `plan` made for `columns`. PostgreSQL's and MySQL's rows are decoded
    /// cell by cell straight into the fields; SQLite's (already values) go
    /// through one reused [`Row`].
    pub fn decode<T: FromRow>(
        self,
        columns: &Columns,
        plan: &RowPlan,
        first_only: bool,
    ) -> Result<Vec<T>> {
        #[cfg(feature = "postgres")]
        if let RowBuf::Pg(rows) = &self {
            let n = if first_only {
                rows.len().min(1)
            } else {
                rows.len()
            };
            let mut out = Vec::with_capacity(n);
            for r in &rows[..n] {
                out.push(T::from_cells(
                    &mut postgres::PgCells::new(r, columns),
                    plan,
                )?);
            }
            return Ok(out);
        }
        #[cfg(feature = "mysql")]
        if let RowBuf::My(buf) = self {
            return buf.decode(columns, plan, first_only);
        }
        if first_only {
            return match self.into_first(columns)? {
                Some(mut row) => Ok(vec![T::from_row_planned(&mut row, plan)?]),
                None => Ok(Vec::new()),
            };
        }
        let mut out = Vec::with_capacity(self.len());
        self.for_each(columns, |r| {
            out.push(T::from_row_planned(r, plan)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Convert every row, calling `f` with one reused row buffer.
    pub fn for_each(
        self,
        columns: &Columns,
        mut f: impl FnMut(&mut Row) -> Result<()>,
    ) -> Result<()> {
        match self {
            RowBuf::Rows(rows) => {
                for mut r in rows {
                    f(&mut r)?;
                }
            }
            RowBuf::Flat(cells, width) => {
                let mut buf = Row::new(columns.clone(), Vec::with_capacity(width));
                let mut cells = cells.into_iter();
                loop {
                    let values = buf.values_mut();
                    values.clear();
                    values.extend(cells.by_ref().take(width));
                    if values.is_empty() {
                        break;
                    }
                    f(&mut buf)?;
                }
            }
            #[cfg(feature = "postgres")]
            RowBuf::Pg(rows) => {
                let mut buf = Row::new(columns.clone(), Vec::with_capacity(columns.len()));
                for r in &rows {
                    postgres::fill(buf.values_mut(), columns, r)?;
                    f(&mut buf)?;
                }
            }
            #[cfg(feature = "mysql")]
            RowBuf::My(cells) => {
                let mut buf = Row::new(columns.clone(), Vec::with_capacity(columns.len()));
                cells.for_each(|values| {
                    *buf.values_mut() = values;
                    f(&mut buf)
                })?;
            }
        }
        Ok(())
    }

    /// Convert every row into an owned [`Row`].
    pub fn into_rows(self, columns: &Columns) -> Result<Vec<Row>> {
        #[allow(irrefutable_let_patterns)]
        if let RowBuf::Rows(rows) = self {
            return Ok(rows);
        }
        let mut out = Vec::with_capacity(self.len());
        self.for_each(columns, |r| {
            out.push(r.detach());
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row only, converted.
    pub fn into_first(self, columns: &Columns) -> Result<Option<Row>> {
        match self {
            RowBuf::Rows(rows) => Ok(rows.into_iter().next()),
            RowBuf::Flat(mut cells, width) => {
                if cells.len() < width {
                    return Ok(None);
                }
                cells.truncate(width);
                Ok(Some(Row::new(columns.clone(), cells)))
            }
            #[cfg(feature = "postgres")]
            RowBuf::Pg(rows) => rows
                .first()
                .map(|r| {
                    let mut values = Vec::with_capacity(columns.len());
                    postgres::fill(&mut values, columns, r)?;
                    Ok(Row::new(columns.clone(), values))
                })
                .transpose(),
            #[cfg(feature = "mysql")]
            RowBuf::My(cells) => Ok(cells
                .into_first()
                .map(|values| Row::new(columns.clone(), values))),
        }
    }
}

/// How to open a connection for one backend.
#[derive(Clone)]
pub(crate) enum ConnectOptions {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlite::SqliteOptions),
    #[cfg(feature = "postgres")]
    Postgres(Box<postgres::PgOptions>),
    #[cfg(feature = "mysql")]
    Mysql(mysql::MyOptions),
}

/// Settings the engine builder passes down to the drivers.
#[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
pub(crate) struct DriverSettings {
    pub connect_timeout: std::time::Duration,
    pub statement_cache: usize,
    pub sqlite_foreign_keys: Option<bool>,
}

impl ConnectOptions {
    pub fn from_url(url: &Url, settings: &DriverSettings) -> Result<Self> {
        let _ = settings;
        match url.backend() {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => Ok(ConnectOptions::Sqlite(sqlite::SqliteOptions::from_url(
                url,
                settings.sqlite_foreign_keys,
                settings.statement_cache,
            )?)),
            #[cfg(feature = "postgres")]
            Backend::Postgres => Ok(ConnectOptions::Postgres(Box::new(
                postgres::PgOptions::from_url(
                    url,
                    settings.connect_timeout,
                    settings.statement_cache,
                )?,
            ))),
            #[cfg(feature = "mysql")]
            Backend::Mysql => Ok(ConnectOptions::Mysql(mysql::MyOptions::from_url(
                url,
                settings.connect_timeout,
                settings.statement_cache,
            )?)),
            #[allow(unreachable_patterns)]
            other => Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "the {} backend is not compiled in: enable the `{}` feature of aludel",
                    other.name(),
                    match other {
                        Backend::Postgres => "postgres",
                        Backend::Mysql => "mysql",
                        _ => "sqlite",
                    }
                ),
            )),
        }
    }

    /// `host:port` for messages and tracing, never with credentials.
    pub fn server(&self) -> Option<(String, u16)> {
        match self {
            #[cfg(feature = "sqlite")]
            ConnectOptions::Sqlite(_) => None,
            #[cfg(feature = "postgres")]
            ConnectOptions::Postgres(o) => Some((o.host.clone(), o.port)),
            #[cfg(feature = "mysql")]
            ConnectOptions::Mysql(o) => Some((o.host.clone(), o.port)),
        }
    }

    pub async fn connect(&self) -> Result<RawConn> {
        match self {
            #[cfg(feature = "sqlite")]
            ConnectOptions::Sqlite(o) => sqlite::connect(o).map(|c| RawConn::Sqlite(Box::new(c))),
            #[cfg(feature = "postgres")]
            ConnectOptions::Postgres(o) => postgres::connect(o)
                .await
                .map(|c| RawConn::Postgres(Box::new(c))),
            #[cfg(feature = "mysql")]
            ConnectOptions::Mysql(o) => {
                mysql::connect(o).await.map(|c| RawConn::Mysql(Box::new(c)))
            }
        }
    }
}

/// One open driver connection, boxed: the pool and every checkout move it,
/// and a pointer moves cheaper than the drivers' connection structs.
pub(crate) enum RawConn {
    #[cfg(feature = "sqlite")]
    Sqlite(Box<sqlite::SqliteConn>),
    #[cfg(feature = "postgres")]
    Postgres(Box<postgres::PgConn>),
    #[cfg(feature = "mysql")]
    Mysql(Box<mysql::MyConn>),
}

/// A streamed result: each row's cells are written into a buffer the reader
/// reuses, so reading a row allocates only what its values need.
pub(crate) enum RowSource<'c> {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlite::SqliteCursor<'c>),
    #[cfg(feature = "postgres")]
    Postgres(postgres::PgRowStream),
    #[cfg(feature = "mysql")]
    Mysql(mysql::MyRowStream<'c>),
    /// Never built: keeps `'c` used when only PostgreSQL is compiled in.
    #[allow(dead_code)]
    Never(
        std::convert::Infallible,
        std::marker::PhantomData<&'c mut ()>,
    ),
}

/// The next row of a stream: written into the stream's buffer (SQLite,
/// whose row lives only until the next step), or the driver's own row.
pub(crate) enum NextRow {
    Filled,
    #[cfg(feature = "postgres")]
    Pg(tokio_postgres::Row),
    #[cfg(feature = "mysql")]
    My(mysql_async::Row),
}

impl NextRow {
    /// Put the cells in `buf` (when the driver has not already).
    pub fn fill(self, buf: &mut Row) -> Result<()> {
        let (columns, values) = buf.parts_mut();
        let _ = (&columns, &values);
        match self {
            NextRow::Filled => Ok(()),
            #[cfg(feature = "postgres")]
            NextRow::Pg(row) => postgres::fill(values, columns, &row),
            #[cfg(feature = "mysql")]
            NextRow::My(row) => {
                mysql::fill(values, row);
                Ok(())
            }
        }
    }

    /// Decode the row into `T` with `plan`: straight from the driver's
    /// cells where it has its own row, else from `buf`.
    pub fn decode<T: FromRow>(self, buf: &mut Row, plan: &RowPlan) -> Result<T> {
        let (columns, _) = buf.parts_mut();
        let _ = &columns;
        match self {
            NextRow::Filled => T::from_row_planned(buf, plan),
            #[cfg(feature = "postgres")]
            NextRow::Pg(row) => T::from_cells(&mut postgres::PgCells::new(&row, columns), plan),
            #[cfg(feature = "mysql")]
            NextRow::My(row) => mysql::decode_row(row, columns, plan),
        }
    }
}

impl RowSource<'_> {
    /// The next row; `Ready(None)` at the end. (SQLite writes it into
    /// `buf`, and may replace `buf`'s columns at the first row: see
    /// `SqliteCursor::fill_next`.)
    pub fn poll_row(
        &mut self,
        cx: &mut std::task::Context<'_>,
        buf: &mut Row,
    ) -> std::task::Poll<Option<Result<NextRow>>> {
        use std::task::Poll;
        let _ = (&cx, &buf);
        match self {
            #[cfg(feature = "sqlite")]
            RowSource::Sqlite(cursor) => {
                let (columns, values) = buf.parts_mut();
                Poll::Ready(
                    cursor
                        .fill_next(values, columns)
                        .map(|r| r.map(|()| NextRow::Filled)),
                )
            }
            #[cfg(feature = "postgres")]
            RowSource::Postgres(stream) => match stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(row))) => Poll::Ready(Some(Ok(NextRow::Pg(row)))),
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(postgres::map_error(e)))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
            #[cfg(feature = "mysql")]
            RowSource::Mysql(stream) => match stream.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(row))) => Poll::Ready(Some(Ok(NextRow::My(row)))),
                Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
            RowSource::Never(never, _) => match *never {},
        }
    }
}

impl RawConn {
    pub async fn query(&mut self, sql: &str, params: &[Value]) -> Result<QueryOutput> {
        match self {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(c) => c.run(|c| c.query(sql, params)),
            #[cfg(feature = "postgres")]
            RawConn::Postgres(c) => c.query(sql, params).await,
            #[cfg(feature = "mysql")]
            RawConn::Mysql(c) => c.query(sql, params).await,
        }
    }

    /// `query`, with `before` (a BEGIN) run first: in the same round trip
    /// on PostgreSQL, as a statement of its own elsewhere.
    pub async fn query_after(
        &mut self,
        before: &str,
        sql: &str,
        params: &[Value],
    ) -> Result<QueryOutput> {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Postgres(c) => c.query_after(Some(before), sql, params).await,
            #[allow(unreachable_patterns)]
            _ => {
                self.simple(before).await?;
                self.query(sql, params).await
            }
        }
    }

    pub async fn execute_many(&mut self, sql: &str, sets: &[Vec<Value>]) -> Result<u64> {
        match self {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(c) => c.run(|c| c.execute_many(sql, sets)),
            #[cfg(feature = "postgres")]
            RawConn::Postgres(c) => c.execute_many(sql, sets).await,
            #[cfg(feature = "mysql")]
            RawConn::Mysql(c) => c.execute_many(sql, sets).await,
        }
    }

    /// A statement without parameters or rows: BEGIN, COMMIT, SAVEPOINT…
    pub async fn simple(&mut self, sql: &str) -> Result<()> {
        match self {
            #[cfg(feature = "sqlite")]
            // Under `run`: a BEGIN IMMEDIATE may wait out the busy timeout.
            RawConn::Sqlite(c) => c.run(|c| c.simple(sql)),
            #[cfg(feature = "postgres")]
            RawConn::Postgres(c) => c.simple(sql).await,
            #[cfg(feature = "mysql")]
            RawConn::Mysql(c) => c.simple(sql).await,
        }
    }

    pub async fn ping(&mut self) -> Result<()> {
        match self {
            #[cfg(feature = "mysql")]
            RawConn::Mysql(c) => c.ping().await,
            _ => self.simple("SELECT 1").await,
        }
    }

    /// Move SQLite statements off the async worker (`block_in_place`); no
    /// effect on the network drivers, which never block.
    pub fn set_offload(&mut self, on: bool) {
        match self {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(c) => c.offload = on,
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    /// The server's real transaction state where the driver exposes it
    /// (SQLite's autocommit flag, MySQL's SERVER_STATUS_IN_TRANS); `None`
    /// where it does not (tokio-postgres keeps ReadyForQuery's status private).
    /// Whether statements open transactions by themselves here (MySQL with
    /// the session's autocommit off), so no BEGIN is sent before them.
    pub fn implicit_transactions(&self) -> bool {
        match self {
            #[cfg(feature = "mysql")]
            RawConn::Mysql(_) => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The session's autocommit where the connection has one to switch
    /// (MySQL), as last set.
    pub fn server_autocommit(&self) -> Option<bool> {
        match self {
            #[cfg(feature = "mysql")]
            RawConn::Mysql(c) => Some(c.autocommit()),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// Put the session's autocommit in the state the next statement needs
    /// (MySQL; a no-op elsewhere). Sends a statement only on a change.
    pub async fn ensure_autocommit(&mut self, on: bool) -> Result<()> {
        match self {
            #[cfg(feature = "mysql")]
            RawConn::Mysql(c) => c.ensure_autocommit(on).await,
            #[allow(unreachable_patterns)]
            _ => {
                let _ = on;
                Ok(())
            }
        }
    }

    pub fn server_in_transaction(&self) -> Option<bool> {
        match self {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(c) => Some(c.in_transaction()),
            #[cfg(feature = "postgres")]
            RawConn::Postgres(_) => None,
            #[cfg(feature = "mysql")]
            RawConn::Mysql(c) => c.in_transaction(),
        }
    }

    /// Whether the connection stays usable when a call on it is abandoned at
    /// an await point: SQLite runs synchronously, and tokio-postgres's
    /// connection task reads and discards the reply of a dropped request;
    /// mysql_async may be left mid-packet, so its connection is discarded.
    pub fn cancel_safe(&self) -> bool {
        match self {
            #[cfg(feature = "mysql")]
            RawConn::Mysql(_) => false,
            _ => true,
        }
    }

    /// True when the driver knows the connection is dead.
    pub fn is_closed(&self) -> bool {
        match self {
            #[cfg(feature = "postgres")]
            RawConn::Postgres(c) => c.is_closed(),
            _ => false,
        }
    }

    /// The server's version, as `(major, minor, patch)`, and whether it is MariaDB.
    pub fn server_version(&self) -> Option<((u16, u16, u16), bool)> {
        match self {
            #[cfg(feature = "mysql")]
            RawConn::Mysql(c) => Some((c.server_version(), c.is_mariadb())),
            _ => None,
        }
    }

    pub async fn stream<'c>(
        &'c mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<(Columns, RowSource<'c>)> {
        match self {
            #[cfg(feature = "sqlite")]
            RawConn::Sqlite(c) => {
                let cursor = c.cursor(sql, params)?;
                let columns = cursor.columns().clone();
                Ok((columns, RowSource::Sqlite(cursor)))
            }
            #[cfg(feature = "postgres")]
            RawConn::Postgres(c) => {
                let (columns, stream) = c.cursor(sql, params).await?;
                Ok((columns, RowSource::Postgres(stream)))
            }
            #[cfg(feature = "mysql")]
            RawConn::Mysql(c) => {
                let (columns, stream) = c.cursor(sql, params).await?;
                Ok((columns, RowSource::Mysql(stream)))
            }
        }
    }
}
