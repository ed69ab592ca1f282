//! SQLite through rusqlite, run on the calling task (statements take microseconds).

use std::collections::HashMap;
use std::marker::PhantomData;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{ffi, OpenFlags};

use super::{QueryOutput, RowBuf};
use crate::error::{Error, ErrorKind, IntegrityKind, Result};
use crate::row::{cached_columns, Columns, ResultColumn};
use crate::url::Url;
use crate::value::Value;

/// Connect options taken from the URL and the engine builder.
#[derive(Debug, Clone)]
pub(crate) struct SqliteOptions {
    pub path: String,
    pub memory: bool,
    pub uri: bool,
    pub busy_timeout: Duration,
    pub foreign_keys: bool,
    pub statement_cache: usize,
    /// The statement a transaction begins with: `BEGIN` (deferred, the
    /// default), `BEGIN IMMEDIATE` or `BEGIN EXCLUSIVE` (URL `begin=`);
    /// the engine puts it in its dialect. IMMEDIATE takes the write lock at
    /// BEGIN, so a transaction that reads then writes waits for the other
    /// writer (busy timeout) instead of failing at its first write.
    pub begin: &'static str,
}

impl SqliteOptions {
    pub fn from_url(url: &Url, foreign_keys: Option<bool>, cache: usize) -> Result<Self> {
        let memory = url.is_memory();
        let uri = matches!(url.query_value("uri"), Some("true" | "1"));
        let busy = match url.query_value("timeout") {
            Some(t) => t.parse::<f64>().map_err(|_| {
                Error::new(
                    ErrorKind::Url,
                    format!("invalid sqlite timeout {t:?}: expected seconds"),
                )
            })?,
            None => 5.0,
        };
        let fk_url = url
            .query_value("foreign_keys")
            .map(|v| matches!(v, "on" | "true" | "1"));
        let begin = match url.query_value("begin") {
            None | Some("deferred") => "BEGIN",
            Some("immediate") => "BEGIN IMMEDIATE",
            Some("exclusive") => "BEGIN EXCLUSIVE",
            Some(other) => {
                return Err(Error::new(
                    ErrorKind::Url,
                    format!(
                        "invalid sqlite begin {other:?}: expected deferred, immediate or exclusive"
                    ),
                ))
            }
        };
        Ok(SqliteOptions {
            path: url.database().unwrap_or(":memory:").to_string(),
            memory,
            uri,
            busy_timeout: Duration::from_secs_f64(busy),
            foreign_keys: foreign_keys.or(fk_url).unwrap_or(true),
            statement_cache: cache,
            begin,
        })
    }
}

pub(crate) struct SqliteConn {
    conn: rusqlite::Connection,
    columns: HashMap<String, Columns>,
    /// Run statements under `block_in_place` (see `Connection::set_offload`).
    pub offload: bool,
}

pub(crate) fn connect(opts: &SqliteOptions) -> Result<SqliteConn> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if opts.uri {
        flags |= OpenFlags::SQLITE_OPEN_URI;
    }
    let path = if opts.memory { ":memory:" } else { &opts.path };
    let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(|e| {
        Error::new(
            ErrorKind::Connect,
            format!("cannot open SQLite database \"{path}\": {e}"),
        )
        .with_source(e)
    })?;
    conn.set_prepared_statement_cache_capacity(opts.statement_cache);
    // The query planner stability guarantee: plans do not depend on bound
    // values. Without it SQLite (3.4x+) marks a statement whose plan read a
    // bound value (`LIMIT ?`, `LIKE ?`) expired at every new binding, so a
    // cached statement was parsed and planned again on every execution.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(map_error)?;
    conn.busy_timeout(opts.busy_timeout).map_err(map_error)?;
    let fk = if opts.foreign_keys { "ON" } else { "OFF" };
    conn.execute_batch(&format!("PRAGMA foreign_keys = {fk}"))
        .map_err(map_error)?;
    Ok(SqliteConn {
        conn,
        columns: HashMap::new(),
        offload: false,
    })
}

fn columns_of(
    cache: &mut HashMap<String, Columns>,
    sql: &str,
    stmt: &rusqlite::Statement<'_>,
) -> Columns {
    let names = (0..stmt.column_count()).map(|i| stmt.column_name(i).unwrap_or(""));
    cached_columns(cache, sql, names, || fresh_columns(stmt))
}

fn fresh_columns(stmt: &rusqlite::Statement<'_>) -> Columns {
    stmt.columns()
        .iter()
        .map(|c| ResultColumn::new(c.name(), c.decl_type().unwrap_or("")))
        .collect::<Vec<_>>()
        .into()
}

fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[Value]) -> Result<()> {
    super::check_param_count(stmt.parameter_count(), params.len())?;
    for (i, v) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, SqlValue(v))
            .map_err(map_error)?;
    }
    Ok(())
}

struct SqlValue<'a>(&'a Value);

impl rusqlite::ToSql for SqlValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value as V, ValueRef as R};
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Borrowed(R::Null),
            Value::Bool(b) => ToSqlOutput::Owned(V::Integer(*b as i64)),
            Value::I16(v) => ToSqlOutput::Owned(V::Integer(*v as i64)),
            Value::I32(v) => ToSqlOutput::Owned(V::Integer(*v as i64)),
            Value::I64(v) => ToSqlOutput::Owned(V::Integer(*v)),
            Value::F32(v) => ToSqlOutput::Owned(V::Real(*v as f64)),
            Value::F64(v) => ToSqlOutput::Owned(V::Real(*v)),
            Value::String(s) => ToSqlOutput::Borrowed(R::Text(s.as_bytes())),
            Value::Bytes(b) => ToSqlOutput::Borrowed(R::Blob(b)),
            // SQLAlchemy's Uuid type stores 32 hex digits on SQLite; so does Aludel.
            Value::Uuid(u) => ToSqlOutput::Owned(V::Text(u.simple().to_string())),
            Value::Decimal(d) => ToSqlOutput::Owned(V::Text(d.to_string())),
            Value::Json(j) => ToSqlOutput::Owned(V::Text(j.to_string())),
            #[cfg(feature = "chrono")]
            other => ToSqlOutput::Owned(V::Text(
                crate::value::temporal_text(other).unwrap_or_default(),
            )),
        })
    }
}

fn read_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::I64(i),
        ValueRef::Real(f) => Value::F64(f),
        // Validated with the fast path; invalid UTF-8 (SQLite does not check)
        // is kept with replacement characters rather than failing the row.
        ValueRef::Text(t) => Value::String(match std::str::from_utf8(t) {
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(t).into_owned(),
        }),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    }
}

impl SqliteConn {
    /// Run `f` on this thread, or under `block_in_place` when offloading on
    /// a multi-threaded runtime, so a long statement does not stall the
    /// worker's other tasks.
    pub fn run<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let multi_thread = self.offload
            && tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_thread {
            tokio::task::block_in_place(|| f(self))
        } else {
            f(self)
        }
    }

    pub fn query(&mut self, sql: &str, params: &[Value]) -> Result<QueryOutput> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_error)?;
        bind(&mut stmt, params)?;
        // The columns are read after the first step: a cached statement
        // whose tables changed is prepared again by that step, and only then
        // reports its new columns.
        let mut columns = None;
        // All cells in one flat vector: no allocation per row.
        let mut cells = Vec::new();
        let mut count = 0u64;
        {
            let mut raw = stmt.raw_query();
            while let Some(row) = raw.next().map_err(map_error)? {
                let width = columns
                    .get_or_insert_with(|| columns_of(&mut self.columns, sql, row.as_ref()))
                    .len();
                for i in 0..width {
                    cells.push(read_value(row.get_ref(i).map_err(map_error)?));
                }
                count += 1;
            }
        }
        let columns = match columns {
            Some(c) => c,
            None => columns_of(&mut self.columns, sql, &stmt),
        };
        let width = columns.len();
        let readonly = stmt.readonly();
        drop(stmt);
        let (affected, last_id) = if readonly {
            (count, None)
        } else {
            (self.conn.changes(), Some(self.conn.last_insert_rowid()))
        };
        Ok(QueryOutput {
            columns,
            rows: if width == 0 {
                RowBuf::Rows(Vec::new())
            } else {
                RowBuf::Flat(cells, width)
            },
            rows_affected: affected,
            last_insert_id: last_id,
        })
    }

    pub fn execute_many(&mut self, sql: &str, sets: &[Vec<Value>]) -> Result<u64> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_error)?;
        let mut total = 0u64;
        for params in sets {
            bind(&mut stmt, params)?;
            total += stmt.raw_execute().map_err(map_error)? as u64;
        }
        Ok(total)
    }

    pub fn simple(&mut self, sql: &str) -> Result<()> {
        // Transaction control runs around every unit of work: keep those
        // statements prepared instead of parsing them each time.
        if matches!(
            sql,
            "BEGIN" | "BEGIN IMMEDIATE" | "BEGIN EXCLUSIVE" | "COMMIT" | "ROLLBACK"
        ) {
            let mut stmt = self.conn.prepare_cached(sql).map_err(map_error)?;
            return stmt.raw_execute().map(drop).map_err(map_error);
        }
        self.conn.execute_batch(sql).map_err(map_error)
    }

    pub fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    pub fn cursor(&mut self, sql: &str, params: &[Value]) -> Result<SqliteCursor<'_>> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_error)?;
        bind(&mut stmt, params)?;
        let columns = columns_of(&mut self.columns, sql, &stmt);
        // The cursor owns the statement through a raw pointer and `rows`
        // borrows it; `Drop` below ends the borrow before freeing it.
        let stmt: *mut rusqlite::CachedStatement<'static> = Box::into_raw(Box::new(stmt)).cast();
        // SAFETY: `stmt` is a live, uniquely owned heap allocation that stays
        // put until `SqliteCursor::drop`, which drops `rows` first; the
        // statement's borrow of the connection is bounded by the cursor's `'c`.
        let rows = unsafe { (*stmt).raw_query() };
        Ok(SqliteCursor {
            checked: false,
            rows: Some(rows),
            stmt,
            columns,
            _conn: PhantomData,
        })
    }
}

/// Row-by-row reading of an SQLite statement: `sqlite3_step` per row, so at
/// most one row is held in memory.
pub(crate) struct SqliteCursor<'c> {
    /// The columns were compared with the statement's after the first step.
    checked: bool,
    rows: Option<rusqlite::Rows<'static>>,
    stmt: *mut rusqlite::CachedStatement<'static>,
    columns: Columns,
    _conn: PhantomData<&'c mut rusqlite::Connection>,
}

impl Drop for SqliteCursor<'_> {
    fn drop(&mut self) {
        self.rows = None;
        // SAFETY: made by `Box::into_raw` in `cursor`, freed only here, and
        // nothing borrows it any more (`rows` is gone).
        drop(unsafe { Box::from_raw(self.stmt) });
    }
}

// SAFETY: the cursor holds the only (mutable) borrow of its connection, which
// rusqlite marks `Send`; the statement and rows move with it as one unit and
// are never reachable from another thread while the cursor lives.
unsafe impl Send for SqliteCursor<'_> {}

impl SqliteCursor<'_> {
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// Step to the next row and put its cells in `values` (cleared first).
    /// At the first row, `columns` is replaced if the statement's columns
    /// changed: a cached statement whose tables changed is prepared again by
    /// its first step.
    pub fn fill_next(
        &mut self,
        values: &mut Vec<Value>,
        columns: &mut Columns,
    ) -> Option<Result<()>> {
        let rows = self.rows.as_mut()?;
        match rows.next() {
            Ok(Some(row)) => {
                if !self.checked {
                    self.checked = true;
                    let stmt: &rusqlite::Statement<'_> = row.as_ref();
                    let same = stmt.column_count() == self.columns.len()
                        && (0..stmt.column_count())
                            .all(|i| stmt.column_name(i).ok() == Some(self.columns[i].name()));
                    if !same {
                        self.columns = fresh_columns(stmt);
                        *columns = self.columns.clone();
                    }
                }
                values.clear();
                for i in 0..self.columns.len() {
                    match row.get_ref(i) {
                        Ok(v) => values.push(read_value(v)),
                        Err(e) => return Some(Err(map_error(e))),
                    }
                }
                Some(Ok(()))
            }
            Ok(None) => {
                self.rows = None;
                None
            }
            Err(e) => {
                self.rows = None;
                Some(Err(map_error(e)))
            }
        }
    }
}

pub(crate) fn map_error(e: rusqlite::Error) -> Error {
    let (kind, code) = match &e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            let msg = msg.as_deref().unwrap_or("");
            let kind = match f.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    ErrorKind::Integrity(IntegrityKind::Unique)
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                    ErrorKind::Integrity(IntegrityKind::ForeignKey)
                }
                ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::Integrity(IntegrityKind::NotNull),
                ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::Integrity(IntegrityKind::Check),
                _ => match f.code {
                    // ON DELETE/UPDATE RESTRICT fails through an internal
                    // trigger (SQLITE_CONSTRAINT_TRIGGER), with this text.
                    ffi::ErrorCode::ConstraintViolation
                        if msg.starts_with("FOREIGN KEY constraint failed") =>
                    {
                        ErrorKind::Integrity(IntegrityKind::ForeignKey)
                    }
                    ffi::ErrorCode::ConstraintViolation => {
                        ErrorKind::Integrity(IntegrityKind::Other)
                    }
                    ffi::ErrorCode::DatabaseBusy | ffi::ErrorCode::DatabaseLocked => {
                        ErrorKind::Timeout
                    }
                    ffi::ErrorCode::CannotOpen => ErrorKind::Connect,
                    ffi::ErrorCode::Unknown
                        if msg.contains("syntax error")
                            || msg.starts_with("no such")
                            || msg.contains("has no column") =>
                    {
                        ErrorKind::Syntax
                    }
                    _ => ErrorKind::Database,
                },
            };
            (kind, Some(f.extended_code.to_string()))
        }
        // A prepare error that points at a token: SQLite's code is kept, and
        // the message drops the SQL, which the error carries on its own.
        rusqlite::Error::SqlInputError { error, .. } => {
            (ErrorKind::Syntax, Some(error.extended_code.to_string()))
        }
        rusqlite::Error::InvalidParameterCount(..) | rusqlite::Error::InvalidParameterName(_) => {
            (ErrorKind::Bind, None)
        }
        _ => (ErrorKind::Database, None),
    };
    let message = match &e {
        rusqlite::Error::SqlInputError { msg, offset, .. } => format!("{msg} (at offset {offset})"),
        _ => e.to_string(),
    };
    let (constraint, table, column) = parse_constraint(kind, &message);
    let mut err = Error::new(kind, message)
        .with_constraint(constraint)
        .with_table(table)
        .with_column(column);
    if let Some(code) = code {
        err = err.with_code(code);
    }
    err.with_source(e)
}

/// SQLite names the column (`UNIQUE constraint failed: users.email`) or, for
/// CHECK constraints, the constraint itself; split that out.
fn parse_constraint(
    kind: ErrorKind,
    message: &str,
) -> (Option<String>, Option<String>, Option<String>) {
    let Some(rest) = message.split("constraint failed: ").nth(1) else {
        return (None, None, None);
    };
    let rest = rest.trim();
    match kind {
        ErrorKind::Integrity(IntegrityKind::Check) => (Some(rest.to_string()), None, None),
        ErrorKind::Integrity(IntegrityKind::Unique | IntegrityKind::NotNull) => {
            let first = rest.split(", ").next().unwrap_or(rest);
            match first.split_once('.') {
                Some((t, c)) => (None, Some(t.to_string()), Some(c.to_string())),
                None => (None, None, None),
            }
        }
        _ => (None, None, None),
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;

    fn memory() -> SqliteConn {
        connect(&SqliteOptions {
            path: String::new(),
            memory: true,
            uri: false,
            busy_timeout: Duration::from_secs(1),
            foreign_keys: true,
            statement_cache: 16,
            begin: "BEGIN",
        })
        .expect("open")
    }

    /// A cached `LIMIT ?` statement runs again with a new value without
    /// being parsed and planned again (SQLite expires statements whose plan
    /// read a bound value unless the planner stability guarantee is on).
    #[test]
    fn bound_limit_does_not_reprepare() {
        let mut c = memory();
        c.simple("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)")
            .expect("setup");
        let sql = "SELECT id FROM t ORDER BY id LIMIT ?1";
        for n in 1..=3 {
            c.simple("BEGIN").expect("begin");
            let out = c.query(sql, &[Value::I64(n)]).expect("query");
            assert_eq!(out.rows.len(), n as usize);
            c.simple("ROLLBACK").expect("rollback");
        }
        let stmt = c.conn.prepare_cached(sql).expect("cached");
        assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
        assert_eq!(stmt.get_status(StatementStatus::Run), 3);
    }

    /// BEGIN, COMMIT and ROLLBACK are kept prepared; other simple SQL (a
    /// script of several statements) still runs as a batch.
    #[test]
    fn transaction_control_is_cached() {
        let mut c = memory();
        c.simple("CREATE TABLE t (x INTEGER); CREATE TABLE u (y INTEGER)")
            .expect("script of two statements");
        for _ in 0..3 {
            c.simple("BEGIN").expect("begin");
            assert!(c.in_transaction());
            c.simple("COMMIT").expect("commit");
            assert!(!c.in_transaction());
        }
        let begin = c.conn.prepare_cached("BEGIN").expect("cached");
        assert_eq!(begin.get_status(StatementStatus::Run), 3);
    }
}
