//! MySQL and MariaDB through mysql_async.

use std::pin::Pin;
use std::time::Duration;

use futures_core::Stream;
use mysql_async::consts::{ColumnFlags, ColumnType, StatusFlags};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Params};

use super::{QueryOutput, RowBuf};
use crate::error::{Error, ErrorKind, IntegrityKind, Result};
use crate::row::{cached_columns, Cells, Columns, FromRow, ResultColumn, Row, RowPlan};
use crate::url::Url;
use crate::value::{FromValue, Value};

#[derive(Clone)]
pub(crate) struct MyOptions {
    opts: mysql_async::Opts,
    pub host: String,
    pub port: u16,
    connect_timeout: Duration,
}

impl MyOptions {
    pub fn from_url(url: &Url, connect_timeout: Duration, cache: usize) -> Result<Self> {
        let host = url.host().unwrap_or("localhost").to_string();
        let port = url.port().unwrap_or(3306);
        let mut charset = "utf8mb4".to_string();
        let mut init = Vec::new();
        let mut timeout = connect_timeout;
        let mut cache = cache;
        let mut socket = None;
        for (k, v) in url.query() {
            match k.as_str() {
                "charset" => charset = v.clone(),
                "init_command" => init.push(v.clone()),
                "socket" => socket = Some(v.clone()),
                "connect_timeout" => timeout = Duration::from_secs(parse_num(k, v)?),
                "statement_cache_size" => cache = parse_num(k, v)? as usize,
                "ssl_mode" if !matches!(v.to_ascii_uppercase().as_str(), "DISABLED" | "PREFERRED") => {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!("ssl_mode={v} needs TLS, which this build of Aludel does not include; use ssl_mode=DISABLED"),
                    ))
                }
                _ => {}
            }
        }
        if !charset
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(Error::new(
                ErrorKind::Url,
                format!("invalid charset {charset:?} in mysql URL"),
            ));
        }
        init.insert(0, format!("SET NAMES {charset}"));
        let builder = OptsBuilder::default()
            .ip_or_hostname(host.clone())
            .tcp_port(port)
            .user(url.username().or(Some("root")))
            .pass(url.password())
            .db_name(url.database())
            .socket(socket)
            .prefer_socket(false)
            .stmt_cache_size(cache)
            .init(init);
        Ok(MyOptions {
            opts: builder.into(),
            host,
            port,
            connect_timeout: timeout,
        })
    }
}

fn parse_num(key: &str, v: &str) -> Result<u64> {
    v.parse().map_err(|_| {
        Error::new(
            ErrorKind::Url,
            format!("invalid value {v:?} for URL option \"{key}\": expected a whole number"),
        )
    })
}

pub(crate) struct MyConn {
    conn: Conn,
    /// The session's `autocommit` as last set (the server starts with 1).
    autocommit: bool,
    columns: std::collections::HashMap<String, Columns>,
}

pub(crate) async fn connect(opts: &MyOptions) -> Result<MyConn> {
    let fail = |detail: String| {
        Error::new(
            ErrorKind::Connect,
            format!(
                "cannot connect to MySQL at {}:{}: {detail}",
                opts.host, opts.port
            ),
        )
    };
    match tokio::time::timeout(opts.connect_timeout, Conn::new(opts.opts.clone())).await {
        Ok(Ok(conn)) => Ok(MyConn {
            conn,
            columns: Default::default(),
            autocommit: true,
        }),
        Ok(Err(e)) => {
            let detail = match &e {
                mysql_async::Error::Server(s) => s.message.clone(),
                other => other.to_string(),
            };
            Err(fail(detail).with_source(e))
        }
        Err(_) => Err(fail(format!(
            "no answer within the connect timeout of {:?}",
            opts.connect_timeout
        ))),
    }
}

/// The column's SQL type as MySQL spells it in DDL (the wire protocol's
/// names, `VAR_STRING` or `BLOB` for a TEXT column, would confuse messages).
fn type_name(c: &mysql_async::Column) -> String {
    let binary = c.character_set() == 63;
    let unsigned = c.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    let name = match c.column_type() {
        _ if c.flags().contains(ColumnFlags::ENUM_FLAG) => "ENUM",
        _ if c.flags().contains(ColumnFlags::SET_FLAG) => "SET",
        ColumnType::MYSQL_TYPE_TINY => "TINYINT",
        ColumnType::MYSQL_TYPE_SHORT => "SMALLINT",
        ColumnType::MYSQL_TYPE_INT24 => "MEDIUMINT",
        ColumnType::MYSQL_TYPE_LONG => "INT",
        ColumnType::MYSQL_TYPE_LONGLONG => "BIGINT",
        ColumnType::MYSQL_TYPE_FLOAT => "FLOAT",
        ColumnType::MYSQL_TYPE_DOUBLE => "DOUBLE",
        ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL => "DECIMAL",
        ColumnType::MYSQL_TYPE_VARCHAR | ColumnType::MYSQL_TYPE_VAR_STRING if binary => "VARBINARY",
        ColumnType::MYSQL_TYPE_VARCHAR | ColumnType::MYSQL_TYPE_VAR_STRING => "VARCHAR",
        ColumnType::MYSQL_TYPE_STRING if binary => "BINARY",
        ColumnType::MYSQL_TYPE_STRING => "CHAR",
        ColumnType::MYSQL_TYPE_TINY_BLOB
        | ColumnType::MYSQL_TYPE_BLOB
        | ColumnType::MYSQL_TYPE_MEDIUM_BLOB
        | ColumnType::MYSQL_TYPE_LONG_BLOB
            if binary =>
        {
            "BLOB"
        }
        ColumnType::MYSQL_TYPE_TINY_BLOB
        | ColumnType::MYSQL_TYPE_BLOB
        | ColumnType::MYSQL_TYPE_MEDIUM_BLOB
        | ColumnType::MYSQL_TYPE_LONG_BLOB => "TEXT",
        ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE => "DATE",
        ColumnType::MYSQL_TYPE_TIME | ColumnType::MYSQL_TYPE_TIME2 => "TIME",
        ColumnType::MYSQL_TYPE_DATETIME | ColumnType::MYSQL_TYPE_DATETIME2 => "DATETIME",
        ColumnType::MYSQL_TYPE_TIMESTAMP | ColumnType::MYSQL_TYPE_TIMESTAMP2 => "TIMESTAMP",
        ColumnType::MYSQL_TYPE_YEAR => "YEAR",
        ColumnType::MYSQL_TYPE_JSON => "JSON",
        ColumnType::MYSQL_TYPE_BIT => "BIT",
        ColumnType::MYSQL_TYPE_NULL => "NULL",
        other => {
            return format!("{other:?}")
                .trim_start_matches("MYSQL_TYPE_")
                .to_string()
        }
    };
    if unsigned && name.ends_with("INT") {
        format!("{name} UNSIGNED")
    } else {
        name.to_string()
    }
}

fn columns_of(
    cache: &mut std::collections::HashMap<String, Columns>,
    sql: &str,
    cols: &[mysql_async::Column],
) -> Columns {
    let names = cols
        .iter()
        .map(|c| std::str::from_utf8(c.name_ref()).unwrap_or(""));
    cached_columns(cache, sql, names, || {
        cols.iter()
            .map(|c| ResultColumn::new(c.name_str(), type_name(c)))
            .collect::<Vec<_>>()
            .into()
    })
}

fn params_of(values: &[Value]) -> Params {
    if values.is_empty() {
        Params::Empty
    } else {
        Params::Positional(values.iter().map(to_mysql).collect())
    }
}

fn to_mysql(v: &Value) -> mysql_async::Value {
    use mysql_async::Value as M;
    match v {
        Value::Null => M::NULL,
        Value::Bool(b) => M::Int(*b as i64),
        Value::I16(i) => M::Int(*i as i64),
        Value::I32(i) => M::Int(*i as i64),
        Value::I64(i) => M::Int(*i),
        Value::F32(f) => M::Float(*f),
        Value::F64(f) => M::Double(*f),
        Value::String(s) => M::Bytes(s.as_bytes().to_vec()),
        Value::Bytes(b) => M::Bytes(b.clone()),
        // SQLAlchemy's Uuid type is CHAR(32) of hex digits on MySQL; so is Aludel's.
        Value::Uuid(u) => M::Bytes(u.simple().to_string().into_bytes()),
        Value::Decimal(d) => M::Bytes(d.to_string().into_bytes()),
        Value::Json(j) => M::Bytes(j.to_string().into_bytes()),
        #[cfg(feature = "chrono")]
        Value::Date(d) => {
            use chrono::Datelike;
            M::Date(d.year() as u16, d.month() as u8, d.day() as u8, 0, 0, 0, 0)
        }
        #[cfg(feature = "chrono")]
        Value::Time(t) => {
            use chrono::Timelike;
            M::Time(
                false,
                0,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
                t.nanosecond() / 1000,
            )
        }
        #[cfg(feature = "chrono")]
        Value::DateTime(dt) => datetime(dt),
        #[cfg(feature = "chrono")]
        Value::DateTimeTz(dt) => datetime(&dt.naive_utc()),
    }
}

#[cfg(feature = "chrono")]
fn datetime(dt: &chrono::NaiveDateTime) -> mysql_async::Value {
    use chrono::{Datelike, Timelike};
    mysql_async::Value::Date(
        dt.year() as u16,
        dt.month() as u8,
        dt.day() as u8,
        dt.hour() as u8,
        dt.minute() as u8,
        dt.second() as u8,
        dt.nanosecond() / 1000,
    )
}

fn from_mysql(v: mysql_async::Value, col: &mysql_async::Column) -> Value {
    use mysql_async::Value as M;
    match v {
        M::NULL => Value::Null,
        M::Int(i) => Value::I64(i),
        M::UInt(u) => i64::try_from(u)
            .map(Value::I64)
            .unwrap_or_else(|_| Value::Decimal(u.into())),
        M::Float(f) => Value::F32(f),
        M::Double(f) => Value::F64(f),
        M::Bytes(b) => match col.column_type() {
            ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL => {
                // DECIMAL(65,30) holds more digits than a Decimal: those
                // values stay text rather than being rounded.
                let text = String::from_utf8_lossy(&b);
                crate::value::decimal_exact(&text)
                    .map(Value::Decimal)
                    .unwrap_or_else(|| Value::String(text.into_owned()))
            }
            // BIT(n) arrives as n bits in big-endian bytes: an integer, as
            // SQLAlchemy reads it, so BIT(1) flags read as bool too.
            ColumnType::MYSQL_TYPE_BIT if b.len() <= 8 => {
                let u = b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x));
                i64::try_from(u)
                    .map(Value::I64)
                    .unwrap_or_else(|_| Value::Decimal(u.into()))
            }
            ColumnType::MYSQL_TYPE_JSON => serde_json::from_slice(&b)
                .map(Value::Json)
                .unwrap_or_else(|_| Value::Bytes(b)),
            _ if col.character_set() == 63
                && !col.flags().contains(ColumnFlags::ENUM_FLAG)
                && !matches!(
                    col.column_type(),
                    ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_DATETIME
                ) =>
            {
                Value::Bytes(b)
            }
            _ => match String::from_utf8(b) {
                Ok(s) => Value::String(s),
                Err(e) => Value::Bytes(e.into_bytes()),
            },
        },
        #[cfg(feature = "chrono")]
        M::Date(y, mo, d, h, mi, s, us) => {
            let date = chrono::NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32);
            match (date, col.column_type()) {
                (Some(date), ColumnType::MYSQL_TYPE_DATE) => Value::Date(date),
                (Some(date), _) => date
                    .and_hms_micro_opt(h as u32, mi as u32, s as u32, us)
                    .map(Value::DateTime)
                    .unwrap_or(Value::Null),
                // MySQL's zero date '0000-00-00' has no chrono equivalent:
                // it stays text, in MySQL's own form.
                (None, ColumnType::MYSQL_TYPE_DATE) => {
                    Value::String(format!("{y:04}-{mo:02}-{d:02}"))
                }
                (None, _) => Value::String(format!(
                    "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}{}",
                    micros(us)
                )),
            }
        }
        #[cfg(feature = "chrono")]
        M::Time(neg, days, h, mi, s, us) if !neg && days == 0 => {
            chrono::NaiveTime::from_hms_micro_opt(h as u32, mi as u32, s as u32, us)
                .map(Value::Time)
                .unwrap_or(Value::Null)
        }
        // A TIME is a duration (-838:59:59 to 838:59:59): outside a day it is
        // no time of day, so it stays text in MySQL's own form.
        M::Time(neg, days, h, mi, s, us) => Value::String(format!(
            "{}{:02}:{mi:02}:{s:02}{}",
            if neg { "-" } else { "" },
            days * 24 + u32::from(h),
            micros(us)
        )),
        // Dates without the chrono feature.
        #[allow(unreachable_patterns)]
        other => Value::String(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

fn check_count(stmt: &mysql_async::Statement, params: &[Value]) -> Result<()> {
    super::check_param_count(stmt.num_params() as usize, params.len())
}

/// `.123456` for a non-zero microsecond part, as MySQL prints it.
fn micros(us: u32) -> String {
    if us == 0 {
        String::new()
    } else {
        format!(".{us:06}")
    }
}

/// A result's cells as mysql_async sent them, row after row, and the
/// driver's columns: converted when the rows are read, straight into a
/// struct's fields by [`FromRow::from_cells`] or into [`Value`]s.
pub(crate) struct MyCellBuf {
    cells: Vec<mysql_async::Value>,
    width: usize,
    columns: std::sync::Arc<[mysql_async::Column]>,
}

impl MyCellBuf {
    pub fn len(&self) -> usize {
        self.cells.len() / self.width.max(1)
    }

    /// Decode the rows (only the first with `first_only`) into `T`.
    pub fn decode<T: FromRow>(
        mut self,
        columns: &Columns,
        plan: &RowPlan,
        first_only: bool,
    ) -> Result<Vec<T>> {
        let n = if first_only {
            self.len().min(1)
        } else {
            self.len()
        };
        let mut out = Vec::with_capacity(n);
        for row in self.cells.chunks_mut(self.width).take(n) {
            let mut cells = MyCells {
                row,
                driver: &self.columns,
                columns,
            };
            out.push(T::from_cells(&mut cells, plan)?);
        }
        Ok(out)
    }

    /// Call `f` with each row's cells as values.
    pub fn for_each(self, mut f: impl FnMut(Vec<Value>) -> Result<()>) -> Result<()> {
        let rows = self.len();
        let mut cells = self.cells.into_iter();
        for _ in 0..rows {
            f(converted(cells.by_ref().take(self.width), &self.columns).collect())?;
        }
        Ok(())
    }

    /// The first row's cells as values.
    pub fn into_first(self) -> Option<Vec<Value>> {
        (self.len() > 0)
            .then(|| converted(self.cells.into_iter().take(self.width), &self.columns).collect())
    }
}

/// `cells` as values, each read by its column.
fn converted<'c>(
    cells: impl Iterator<Item = mysql_async::Value> + 'c,
    columns: &'c [mysql_async::Column],
) -> impl Iterator<Item = Value> + 'c {
    cells.zip(columns).map(|(v, c)| from_mysql(v, c))
}

/// One streamed row decoded straight into `T`.
pub(crate) fn decode_row<T: FromRow>(
    row: mysql_async::Row,
    columns: &Columns,
    plan: &RowPlan,
) -> Result<T> {
    let driver = row.columns();
    let mut cells = row.unwrap();
    T::from_cells(
        &mut MyCells {
            row: &mut cells,
            driver: &driver,
            columns,
        },
        plan,
    )
}

/// One row of a [`MyCellBuf`] read field by field.
struct MyCells<'r> {
    row: &'r mut [mysql_async::Value],
    driver: &'r [mysql_async::Column],
    columns: &'r Columns,
}

impl Cells for MyCells<'_> {
    fn width(&self) -> usize {
        self.row.len()
    }

    fn take_at<T: FromValue>(&mut self, i: usize) -> Result<T> {
        let (Some(cell), Some(col)) = (self.row.get_mut(i), self.driver.get(i)) else {
            return Err(crate::row::index_error(i, self.row.len()));
        };
        let v = from_mysql(std::mem::replace(cell, mysql_async::Value::NULL), col);
        T::from_value(v).map_err(|e| crate::row::decode_error::<T>(&self.columns[i], e.0))
    }

    fn take_named<T: FromValue>(&mut self, name: &str) -> Result<T> {
        let i = crate::row::position_of(self.columns, name)?;
        self.take_at(i)
    }

    fn to_row(&mut self) -> Result<Row> {
        let cells = self
            .row
            .iter_mut()
            .map(|v| std::mem::replace(v, mysql_async::Value::NULL));
        let values = converted(cells, self.driver).collect();
        Ok(Row::new(self.columns.clone(), values))
    }
}

impl MyConn {
    /// Prepare `sql` (through mysql_async's statement cache, as `exec_iter`
    /// with a string would) and check the number of values first: mysql_async
    /// closes the connection on a count mismatch, so a wrong count would
    /// otherwise surface as a lost connection on the next statement.
    async fn prepare(&mut self, sql: &str) -> Result<mysql_async::Statement> {
        self.conn.prep(sql).await.map_err(map_error)
    }

    pub async fn query(&mut self, sql: &str, params: &[Value]) -> Result<QueryOutput> {
        let stmt = self.prepare(sql).await?;
        check_count(&stmt, params)?;
        let mut result = self
            .conn
            .exec_iter(stmt, params_of(params))
            .await
            .map_err(map_error)?;
        let columns = columns_of(&mut self.columns, sql, result.columns_ref());
        // Each row's cells are moved out as it arrives and its own vector
        // freed at once: holding every driver row until the end made the
        // allocator's work several times larger on big results. They are
        // converted when read (`MyCellBuf`).
        let width = columns.len();
        let driver_columns = result
            .columns()
            .unwrap_or_else(|| std::sync::Arc::from(Vec::new()));
        let mut cells = Vec::new();
        let mut count = 0u64;
        while let Some(row) = result.next().await.map_err(map_error)? {
            cells.extend(row.unwrap());
            count += 1;
        }
        let affected = result.affected_rows();
        let last = result.last_insert_id().map(|id| id as i64);
        drop(result);
        Ok(QueryOutput {
            rows_affected: if width == 0 { affected } else { count },
            columns,
            rows: if width == 0 {
                RowBuf::Rows(Vec::new())
            } else {
                RowBuf::My(MyCellBuf {
                    cells,
                    width,
                    columns: driver_columns,
                })
            },
            last_insert_id: last.filter(|&id| id != 0),
        })
    }

    pub async fn execute_many(&mut self, sql: &str, sets: &[Vec<Value>]) -> Result<u64> {
        let stmt = self.prepare(sql).await?;
        for params in sets {
            check_count(&stmt, params)?;
        }
        let mut total = 0;
        for params in sets {
            self.conn
                .exec_drop(&stmt, params_of(params))
                .await
                .map_err(map_error)?;
            total += self.conn.affected_rows();
        }
        Ok(total)
    }

    pub async fn simple(&mut self, sql: &str) -> Result<()> {
        self.conn.query_drop(sql).await.map_err(map_error)
    }

    pub async fn ping(&mut self) -> Result<()> {
        self.conn.ping().await.map_err(map_error)
    }

    /// The session's `autocommit` as last set.
    pub fn autocommit(&self) -> bool {
        self.autocommit
    }

    /// Set the session's `autocommit` if it differs: off, every statement
    /// opens a transaction by itself (no START TRANSACTION round trip, as
    /// Python's MySQL drivers run), on for one-off autocommit statements.
    pub async fn ensure_autocommit(&mut self, on: bool) -> Result<()> {
        if self.autocommit != on {
            let sql = if on {
                "SET autocommit = 1"
            } else {
                "SET autocommit = 0"
            };
            self.conn.query_drop(sql).await.map_err(map_error)?;
            self.autocommit = on;
        }
        Ok(())
    }

    /// The server's own in-transaction flag from the last OK packet; `None`
    /// when the last reply was an error (the state is then unknown).
    pub fn in_transaction(&self) -> Option<bool> {
        self.conn.last_ok_packet().map(|p| {
            p.status_flags()
                .contains(StatusFlags::SERVER_STATUS_IN_TRANS)
        })
    }

    pub fn server_version(&self) -> (u16, u16, u16) {
        self.conn.server_version()
    }

    /// MariaDB numbers its releases 10 and up; MySQL is at 5, 8 and 9.
    pub fn is_mariadb(&self) -> bool {
        self.conn.server_version().0 >= 10
    }

    pub async fn cursor(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<(Columns, MyRowStream<'_>)> {
        let stmt = self.prepare(sql).await?;
        check_count(&stmt, params)?;
        let result = self
            .conn
            .exec_iter(stmt, params_of(params))
            .await
            .map_err(map_error)?;
        let columns = columns_of(&mut self.columns, sql, result.columns_ref());
        let stream = futures_util::stream::unfold(Some(result), |state| async move {
            let mut result = state?;
            match result.next().await {
                Ok(Some(row)) => Some((Ok(row), Some(result))),
                Ok(None) => None,
                Err(e) => Some((Err(map_error(e)), None)),
            }
        });
        Ok((columns, Box::pin(stream)))
    }
}

/// The driver's rows of a streamed result, converted by the reader.
pub(crate) type MyRowStream<'c> = Pin<Box<dyn Stream<Item = Result<mysql_async::Row>> + Send + 'c>>;

/// Replace `values` with the cells of `row`.
pub(crate) fn fill(values: &mut Vec<Value>, row: mysql_async::Row) {
    values.clear();
    let cols = row.columns();
    values.extend(converted(row.unwrap().into_iter(), &cols));
}

/// Pull the quoted name out of a MySQL message such as
/// ``Duplicate entry 'a' for key 'uq_users_email'`` or
/// ``CONSTRAINT `fk_posts_user_id` FOREIGN KEY``.
fn quoted_after<'m>(message: &'m str, marker: &str) -> Option<&'m str> {
    let rest = &message[message.find(marker)? + marker.len()..];
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '`')?;
    let rest = &rest[1..];
    Some(&rest[..rest.find(quote)?])
}

/// The last part of a backquoted, dot-separated name (`` `db`.`posts` ``)
/// right after `marker`.
fn qualified_after<'m>(message: &'m str, marker: &str) -> Option<&'m str> {
    let mut rest = message[message.find(marker)? + marker.len()..].trim_start();
    let mut last = None;
    while let Some(body) = rest.strip_prefix('`') {
        let end = body.find('`')?;
        last = Some(&body[..end]);
        match body[end + 1..].strip_prefix('.') {
            Some(more) => rest = more,
            None => break,
        }
    }
    last
}

pub(crate) fn map_error(e: mysql_async::Error) -> Error {
    match &e {
        mysql_async::Error::Server(s) => {
            let kind = match s.code {
                1062 | 1586 => ErrorKind::Integrity(IntegrityKind::Unique),
                1451 | 1452 | 1216 | 1217 => ErrorKind::Integrity(IntegrityKind::ForeignKey),
                1048 | 1364 => ErrorKind::Integrity(IntegrityKind::NotNull),
                3819 | 4025 => ErrorKind::Integrity(IntegrityKind::Check),
                1213 => ErrorKind::Deadlock,
                1205 | 3024 | 1969 => ErrorKind::Timeout,
                1064 | 1146 | 1054 | 1049 | 1109 | 1149 | 1051 | 1050 | 1060 | 1061 | 1091 => {
                    ErrorKind::Syntax
                }
                1045 | 1044 => ErrorKind::Connect,
                1053 | 1927 | 2006 | 2013 => ErrorKind::ConnectionLost,
                _ => ErrorKind::Database,
            };
            let constraint = match kind {
                ErrorKind::Integrity(IntegrityKind::Unique) => quoted_after(&s.message, "for key"),
                ErrorKind::Integrity(IntegrityKind::ForeignKey) => {
                    quoted_after(&s.message, "CONSTRAINT")
                }
                ErrorKind::Integrity(IntegrityKind::Check) => {
                    quoted_after(&s.message, "constraint")
                        .or_else(|| quoted_after(&s.message, "CONSTRAINT"))
                }
                _ => None,
            }
            .map(|c| c.rsplit('.').next().unwrap_or(c).to_string());
            // `db`.`table` where the message names it: "a foreign key
            // constraint fails (`db`.`posts`, CONSTRAINT …" and
            // "CONSTRAINT `ck` failed for `db`.`users`".
            let table = match kind {
                ErrorKind::Integrity(IntegrityKind::ForeignKey) => {
                    qualified_after(&s.message, "fails (")
                }
                ErrorKind::Integrity(IntegrityKind::Check) => {
                    qualified_after(&s.message, "failed for")
                }
                _ => None,
            }
            .map(str::to_string);
            let column = match kind {
                ErrorKind::Integrity(IntegrityKind::NotNull) => {
                    quoted_after(&s.message, "Column").or_else(|| quoted_after(&s.message, "Field"))
                }
                _ => None,
            }
            .map(str::to_string);
            Error::new(kind, s.message.clone())
                .with_code(s.code.to_string())
                .with_constraint(constraint)
                .with_table(table)
                .with_column(column)
                .with_source(e)
        }
        mysql_async::Error::Io(_) => Error::new(
            ErrorKind::ConnectionLost,
            format!("the connection to the MySQL server was lost: {e}"),
        )
        .with_source(e),
        mysql_async::Error::Driver(d) => {
            let kind = match d {
                mysql_async::DriverError::ConnectionClosed => ErrorKind::ConnectionLost,
                mysql_async::DriverError::StmtParamsMismatch { .. } => ErrorKind::Bind,
                _ => ErrorKind::Database,
            };
            Error::new(kind, e.to_string()).with_source(e)
        }
        _ => Error::new(ErrorKind::Database, e.to_string()).with_source(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_messages() {
        let fk = "Cannot add or update a child row: a foreign key constraint fails \
                  (`app`.`posts`, CONSTRAINT `fk_posts_user` FOREIGN KEY (`user_id`) \
                  REFERENCES `users` (`id`))";
        assert_eq!(quoted_after(fk, "CONSTRAINT"), Some("fk_posts_user"));
        assert_eq!(qualified_after(fk, "fails ("), Some("posts"));
        let ck = "CONSTRAINT `ck_users_age` failed for `app`.`users`";
        assert_eq!(qualified_after(ck, "failed for"), Some("users"));
        assert_eq!(qualified_after("failed for users", "failed for"), None);
        assert_eq!(qualified_after("no marker", "failed for"), None);
        let dup = "Duplicate entry 'a' for key 'uq_users_email'";
        assert_eq!(quoted_after(dup, "for key"), Some("uq_users_email"));
    }
}
