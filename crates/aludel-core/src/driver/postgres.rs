//! PostgreSQL through tokio-postgres.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::pin::Pin;
use std::time::Duration;

use futures_core::Stream;
use futures_util::StreamExt;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, IsNull, Kind, ToSql, Type};
use tokio_postgres::{Client, NoTls, Statement};

use super::{QueryOutput, RowBuf};
use crate::error::{Error, ErrorKind, IntegrityKind, Result};
use crate::row::{Cells, Columns, ResultColumn, Row};
use crate::url::Url;
use crate::value::{DecodeError, FromValue, Value};

type BoxErr = Box<dyn StdError + Sync + Send>;

#[derive(Clone)]
pub(crate) struct PgOptions {
    config: tokio_postgres::Config,
    pub host: String,
    pub port: u16,
    statement_cache: usize,
}

impl PgOptions {
    pub fn from_url(url: &Url, connect_timeout: Duration, cache: usize) -> Result<Self> {
        let mut config = tokio_postgres::Config::new();
        let socket_dir = url.query_value("host");
        let host = url.host().or(socket_dir).unwrap_or("localhost").to_string();
        if host.starts_with('/') {
            config.host_path(&host);
        } else {
            config.host(&host);
        }
        let port = url.port().unwrap_or(5432);
        config.port(port);
        let user = url
            .username()
            .map(str::to_string)
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "postgres".into());
        config.user(&user);
        if let Some(p) = url.password() {
            config.password(p);
        }
        if let Some(db) = url.database() {
            config.dbname(db);
        }
        let mut timeout = connect_timeout;
        let mut cache = cache;
        for (k, v) in url.query() {
            match k.as_str() {
                "connect_timeout" => timeout = Duration::from_secs(parse_num(k, v)?),
                "statement_cache_size" => cache = parse_num(k, v)? as usize,
                "application_name" => {
                    config.application_name(v);
                }
                "options" => {
                    config.options(v);
                }
                "keepalives" => {
                    config.keepalives(v != "0");
                }
                "keepalives_idle" => {
                    config.keepalives_idle(Duration::from_secs(parse_num(k, v)?));
                }
                "sslmode" => match v.as_str() {
                    "disable" | "allow" | "prefer" => {}
                    other => {
                        return Err(Error::new(
                            ErrorKind::Unsupported,
                            format!(
                                "sslmode={other} needs TLS, which this build of Aludel does not include; \
                                 use sslmode=disable or sslmode=prefer"
                            ),
                        ))
                    }
                },
                "target_session_attrs" => {
                    let attrs = match v.as_str() {
                        "read-write" => tokio_postgres::config::TargetSessionAttrs::ReadWrite,
                        _ => tokio_postgres::config::TargetSessionAttrs::Any,
                    };
                    config.target_session_attrs(attrs);
                }
                _ => {}
            }
        }
        config.connect_timeout(timeout);
        Ok(PgOptions {
            config,
            host,
            port,
            statement_cache: cache,
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

pub(crate) struct PgConn {
    client: Client,
    cache: HashMap<String, (Statement, Columns)>,
    cache_size: usize,
}

pub(crate) async fn connect(opts: &PgOptions) -> Result<PgConn> {
    let (client, connection) = opts.config.connect(NoTls).await.map_err(|e| {
        let what = match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => e.to_string(),
        };
        let kind = match e.code() {
            Some(c) if *c == SqlState::TOO_MANY_CONNECTIONS => ErrorKind::Connect,
            _ => ErrorKind::Connect,
        };
        Error::new(
            kind,
            format!(
                "cannot connect to PostgreSQL at {}:{}: {}",
                opts.host, opts.port, what
            ),
        )
        .with_source(e)
    })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(target: "aludel::pool", error = %e, "postgresql connection closed");
        }
    });
    Ok(PgConn {
        client,
        cache: HashMap::new(),
        cache_size: opts.statement_cache,
    })
}

fn columns_of(stmt: &Statement) -> Columns {
    stmt.columns()
        .iter()
        .map(|c| ResultColumn::new(c.name(), c.type_().name().to_uppercase()))
        .collect::<Vec<_>>()
        .into()
}

impl PgConn {
    /// The prepared statement for `sql` and its columns, cached per connection.
    async fn statement(&mut self, sql: &str) -> Result<(Statement, Columns)> {
        if let Some(s) = self.cache.get(sql) {
            return Ok(s.clone());
        }
        let stmt = self.client.prepare(sql).await.map_err(map_error)?;
        let entry = (stmt.clone(), columns_of(&stmt));
        if self.cache_size > 0 {
            if self.cache.len() >= self.cache_size {
                self.cache.clear();
            }
            self.cache.insert(sql.to_string(), entry.clone());
        }
        Ok(entry)
    }

    pub async fn query(&mut self, sql: &str, params: &[Value]) -> Result<QueryOutput> {
        self.query_after(None, sql, params).await
    }

    /// Run `sql`, with `before` (a BEGIN) sent first in the same round trip:
    /// tokio-postgres pipelines requests sent before their replies are read,
    /// and the server runs them in order.
    pub async fn query_after(
        &mut self,
        before: Option<&str>,
        sql: &str,
        params: &[Value],
    ) -> Result<QueryOutput> {
        let (stmt, columns) = self.statement(sql).await?;
        check_count(&stmt, params)?;
        let client = &self.client;
        let out = match before {
            None => run_statement(client, &stmt, columns, params).await,
            Some(first) => {
                let (first, out) = tokio::join!(
                    client.batch_execute(first),
                    run_statement(client, &stmt, columns, params)
                );
                first.map_err(map_error)?;
                out
            }
        };
        self.after(sql, out.as_ref().err());
        out
    }

    /// Keep the statement cache valid: a schema change made on this
    /// connection drops every cached statement (their result types may have
    /// changed), and a statement the server refuses because the schema
    /// changed under it (another connection's DDL) is prepared anew next time.
    fn after(&mut self, sql: &str, err: Option<&Error>) {
        if is_schema_change(sql) {
            self.cache.clear();
        } else if err.is_some_and(|e| e.code() == Some("0A000")) {
            // "cached plan must not change result type"
            self.cache.remove(sql);
        }
    }

    pub async fn execute_many(&mut self, sql: &str, sets: &[Vec<Value>]) -> Result<u64> {
        let (stmt, _) = self.statement(sql).await?;
        // Pipelined: all executions are sent before the first reply is read.
        let client = &self.client;
        let futures = sets.iter().map(|params| {
            let stmt = &stmt;
            async move {
                check_count(stmt, params)?;
                client
                    .execute_raw(stmt, params.iter().map(PgValue))
                    .await
                    .map_err(map_error)
            }
        });
        let counts = futures_util::future::join_all(futures).await;
        let mut total = 0;
        for c in counts {
            total += c?;
        }
        Ok(total)
    }

    pub async fn simple(&mut self, sql: &str) -> Result<()> {
        let out = self.client.batch_execute(sql).await.map_err(map_error);
        self.after(sql, out.as_ref().err());
        out
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    pub async fn cursor(&mut self, sql: &str, params: &[Value]) -> Result<(Columns, PgRowStream)> {
        let (stmt, columns) = self.statement(sql).await?;
        check_count(&stmt, params)?;
        let stream = match self
            .client
            .query_raw(&stmt, params.iter().map(PgValue))
            .await
        {
            Ok(s) => s,
            Err(e) => {
                let e = map_error(e);
                self.after(sql, Some(&e));
                return Err(e);
            }
        };
        Ok((columns, Box::pin(stream)))
    }
}

/// Whether `sql` changes the schema (so cached statements' result types may
/// be stale): its first word is CREATE, ALTER, DROP, TRUNCATE or COMMENT.
fn is_schema_change(sql: &str) -> bool {
    let word = sql
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    ["CREATE", "ALTER", "DROP", "TRUNCATE", "COMMENT"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
}

pub(crate) type PgRowStream = Pin<
    Box<dyn Stream<Item = std::result::Result<tokio_postgres::Row, tokio_postgres::Error>> + Send>,
>;

fn check_count(stmt: &Statement, params: &[Value]) -> Result<()> {
    super::check_param_count(stmt.params().len(), params.len())
}

/// Replace `values` with the cells of `row`.
pub(crate) fn fill(
    values: &mut Vec<Value>,
    columns: &Columns,
    row: &tokio_postgres::Row,
) -> Result<()> {
    values.clear();
    for (i, col) in columns.iter().enumerate() {
        let cell: AnyCell = row.try_get(i).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                format!(
                    "cannot decode column \"{}\" (SQL type {}): {}",
                    col.name(),
                    col.type_name(),
                    e.source()
                        .map(|s| s.to_string())
                        .unwrap_or_else(|| e.to_string())
                ),
            )
            .with_column(Some(col.name().to_string()))
        })?;
        values.push(cell.0);
    }
    Ok(())
}

/// One PostgreSQL cell as the server sent it (binary format) with its
/// column's type: what [`FromValue::from_pg`] decodes.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct PgCell<'a> {
    ty: &'a Type,
    raw: Option<&'a [u8]>,
}

impl<'a> PgCell<'a> {
    /// True for SQL NULL.
    pub(crate) fn is_null(&self) -> bool {
        self.raw.is_none()
    }

    /// The cell decoded by postgres-types as `T` when its column's type is
    /// one `matches` accepts; `None` otherwise (and for NULL), to go the
    /// general way.
    pub(crate) fn direct<T: FromSql<'a>>(
        &self,
        matches: impl Fn(&Type) -> bool,
    ) -> Option<std::result::Result<T, DecodeError>> {
        let raw = self.raw?;
        matches(self.ty).then(|| T::from_sql(self.ty, raw).map_err(|e| DecodeError(e.to_string())))
    }

    /// The cell as a [`Value`], as every other read path makes it.
    pub(crate) fn to_value(self) -> std::result::Result<Value, DecodeError> {
        match self.raw {
            None => Ok(Value::Null),
            Some(raw) => AnyCell::from_sql(self.ty, raw)
                .map(|c| c.0)
                .map_err(|e| DecodeError(e.to_string())),
        }
    }
}

/// A cell's bytes, untouched: how [`PgCells`] reaches them through
/// tokio-postgres's `Row`.
struct RawCell<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for RawCell<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxErr> {
        Ok(RawCell(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> std::result::Result<Self, BoxErr> {
        Ok(RawCell(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// One tokio-postgres row read field by field by [`FromRow::from_cells`],
/// each cell decoded straight into its field's type.
pub(crate) struct PgCells<'r> {
    row: &'r tokio_postgres::Row,
    columns: &'r Columns,
}

impl<'r> PgCells<'r> {
    pub(crate) fn new(row: &'r tokio_postgres::Row, columns: &'r Columns) -> Self {
        PgCells { row, columns }
    }
}

impl Cells for PgCells<'_> {
    fn width(&self) -> usize {
        self.columns.len()
    }

    fn take_at<T: FromValue>(&mut self, i: usize) -> Result<T> {
        let Some(col) = self.columns.get(i) else {
            return Err(crate::row::index_error(i, self.columns.len()));
        };
        let raw: RawCell<'_> = self.row.try_get(i).map_err(|e| {
            Error::new(
                ErrorKind::Decode,
                format!("cannot read column \"{}\": {e}", col.name()),
            )
        })?;
        let cell = PgCell {
            ty: self.row.columns()[i].type_(),
            raw: raw.0,
        };
        T::from_pg(cell).map_err(|e| crate::row::decode_error::<T>(col, e.0))
    }

    fn take_named<T: FromValue>(&mut self, name: &str) -> Result<T> {
        let i = crate::row::position_of(self.columns, name)?;
        self.take_at(i)
    }

    fn to_row(&mut self) -> Result<Row> {
        let mut values = Vec::with_capacity(self.columns.len());
        fill(&mut values, self.columns, self.row)?;
        Ok(Row::new(self.columns.clone(), values))
    }
}

/// A cell read from any PostgreSQL column type, as a [`Value`].
struct AnyCell(Value);

impl<'a> FromSql<'a> for AnyCell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxErr> {
        let v = match *ty {
            Type::BOOL => Value::Bool(bool::from_sql(ty, raw)?),
            Type::INT2 => Value::I16(i16::from_sql(ty, raw)?),
            Type::INT4 => Value::I32(i32::from_sql(ty, raw)?),
            Type::INT8 => Value::I64(i64::from_sql(ty, raw)?),
            Type::OID => Value::I64(u32::from_sql(ty, raw)? as i64),
            Type::FLOAT4 => Value::F32(f32::from_sql(ty, raw)?),
            Type::FLOAT8 => Value::F64(f64::from_sql(ty, raw)?),
            // Decoded to text first: rust_decimal's own decoding rounds values
            // beyond 28 digits and fails on NaN, which would fail the whole
            // query. Those stay text; a Decimal is never rounded.
            Type::NUMERIC => {
                let text = numeric_text(raw)?;
                match crate::value::decimal_exact(&text) {
                    Some(d) => Value::Decimal(d),
                    None => Value::String(text),
                }
            }
            Type::BYTEA => Value::Bytes(raw.to_vec()),
            Type::UUID => Value::Uuid(uuid::Uuid::from_sql(ty, raw)?),
            Type::JSON | Type::JSONB => Value::Json(serde_json::Value::from_sql(ty, raw)?),
            #[cfg(feature = "chrono")]
            Type::DATE => Value::Date(chrono::NaiveDate::from_sql(ty, raw)?),
            #[cfg(feature = "chrono")]
            Type::TIME => Value::Time(chrono::NaiveTime::from_sql(ty, raw)?),
            #[cfg(feature = "chrono")]
            Type::TIMESTAMP => Value::DateTime(chrono::NaiveDateTime::from_sql(ty, raw)?),
            #[cfg(feature = "chrono")]
            Type::TIMESTAMPTZ => {
                Value::DateTimeTz(chrono::DateTime::<chrono::Utc>::from_sql(ty, raw)?)
            }
            _ if matches!(ty.kind(), Kind::Enum(_))
                || matches!(
                    *ty,
                    Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
                )
                || ty.name() == "citext" =>
            {
                Value::String(std::str::from_utf8(raw)?.to_string())
            }
            _ => return Err(format!("unsupported PostgreSQL type {}", ty.name()).into()),
        };
        Ok(AnyCell(v))
    }

    fn from_sql_null(_: &Type) -> std::result::Result<Self, BoxErr> {
        Ok(AnyCell(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// PostgreSQL's binary NUMERIC as its exact text form: a sign, base-10000
/// digit groups around the decimal point, and `dscale` digits after it.
fn numeric_text(raw: &[u8]) -> std::result::Result<String, BoxErr> {
    use std::fmt::Write;
    let word = |i: usize| -> std::result::Result<u16, BoxErr> {
        raw.get(2 * i..2 * i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated NUMERIC value".into())
    };
    let ndigits = word(0)? as usize;
    let weight = word(1)? as i16 as i32;
    let sign = word(2)?;
    let dscale = word(3)? as usize;
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        other => return Err(format!("invalid NUMERIC sign {other:#x}").into()),
    }
    let digits = (0..ndigits)
        .map(|i| word(4 + i))
        .collect::<std::result::Result<Vec<u16>, _>>()?;
    let group = |g: i32| -> u16 {
        usize::try_from(g)
            .ok()
            .and_then(|g| digits.get(g).copied())
            .unwrap_or(0)
    };
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        let _ = write!(s, "{}", group(0));
        for g in 1..=weight {
            let _ = write!(s, "{:04}", group(g));
        }
    }
    if dscale > 0 {
        let mut frac = String::with_capacity(dscale + 4);
        let mut g = weight + 1;
        while frac.len() < dscale {
            let _ = write!(frac, "{:04}", group(g));
            g += 1;
        }
        frac.truncate(dscale);
        s.push('.');
        s.push_str(&frac);
    }
    Ok(s)
}

/// Decimal text (`-123.4500`, `NaN`) as PostgreSQL's binary NUMERIC, exactly;
/// `None` when it is not plain decimal notation.
fn numeric_binary(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    let (sign, body) = match t.as_bytes().first()? {
        b'-' => (0x4000u16, &t[1..]),
        b'+' => (0, &t[1..]),
        _ if t.eq_ignore_ascii_case("nan") => {
            return Some(
                [0u16, 0, 0xC000, 0]
                    .iter()
                    .flat_map(|w| w.to_be_bytes())
                    .collect(),
            )
        }
        _ => (0, t),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let is_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !is_digits(int) || !is_digits(frac) {
        return None;
    }
    let dscale = u16::try_from(frac.len()).ok()?;
    // Base-10000 groups aligned on the decimal point.
    let int = int.trim_start_matches('0');
    let int_pad = (4 - int.len() % 4) % 4;
    let frac_pad = (4 - frac.len() % 4) % 4;
    let all: String = "0".repeat(int_pad) + int + frac + &"0".repeat(frac_pad);
    let mut groups: Vec<u16> = all
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).ok()?.parse().ok())
        .collect::<Option<_>>()?;
    let mut weight = i32::try_from((int_pad + int.len()) / 4).ok()? - 1;
    let lead = groups.iter().take_while(|&&g| g == 0).count();
    groups.drain(..lead);
    weight -= lead as i32;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    let (sign, weight) = if groups.is_empty() {
        (0, 0)
    } else {
        (sign, weight)
    };
    let mut out = Vec::with_capacity(8 + 2 * groups.len());
    out.extend_from_slice(&u16::try_from(groups.len()).ok()?.to_be_bytes());
    out.extend_from_slice(&i16::try_from(weight).ok()?.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
    Some(out)
}

/// A bound value, converted to whatever type the server inferred for the parameter.
#[derive(Debug)]
struct PgValue<'a>(&'a Value);

fn is_text(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || ty.name() == "citext"
}

impl ToSql for PgValue<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, BoxErr> {
        let v = self.0;
        if let Value::Null = v {
            return Ok(IsNull::Yes);
        }
        if is_text(ty) || matches!(ty.kind(), Kind::Enum(_)) {
            let text = match v {
                Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
                // Text in bytes is sent as is; other bytes are not text.
                Value::Bytes(b) => std::str::from_utf8(b)
                    .map_err(|_| -> BoxErr {
                        format!(
                            "cannot send bytes that are not UTF-8 as PostgreSQL type {}",
                            ty.name()
                        )
                        .into()
                    })?
                    .into(),
                // The document's JSON text, as the other drivers write it.
                Value::Json(j) => j.to_string().into(),
                #[cfg(feature = "chrono")]
                other if crate::value::temporal_text(other).is_some() => {
                    crate::value::temporal_text(other).unwrap().into()
                }
                other => other.to_string().into(),
            };
            out.extend_from_slice(text.as_bytes());
            return Ok(IsNull::No);
        }
        match *ty {
            Type::BOOL => bool::from_value(v.clone())?.to_sql(ty, out),
            Type::INT2 => i16::from_value(v.clone())?.to_sql(ty, out),
            Type::INT4 => i32::from_value(v.clone())?.to_sql(ty, out),
            Type::INT8 => i64::from_value(v.clone())?.to_sql(ty, out),
            Type::OID => u32::from_value(v.clone())?.to_sql(ty, out),
            Type::FLOAT4 => f32::from_value(v.clone())?.to_sql(ty, out),
            Type::FLOAT8 => f64::from_value(v.clone())?.to_sql(ty, out),
            // Text with more digits than a Decimal holds is sent exactly, as
            // the other drivers send it, rather than rounded or refused.
            Type::NUMERIC => match v {
                Value::String(t) if crate::value::decimal_exact(t).is_none() => {
                    match numeric_binary(t) {
                        Some(bytes) => {
                            out.extend_from_slice(&bytes);
                            Ok(IsNull::No)
                        }
                        None => Err(format!("text {t:?} is not a decimal number").into()),
                    }
                }
                other => rust_decimal::Decimal::from_value(other.clone())?.to_sql(ty, out),
            },
            Type::BYTEA => Vec::<u8>::from_value(v.clone())?.to_sql(ty, out),
            Type::UUID => uuid::Uuid::from_value(v.clone())?.to_sql(ty, out),
            Type::JSON | Type::JSONB => match v {
                Value::Json(j) => j.to_sql(ty, out),
                other => serde_json::Value::from_value(other.clone())?.to_sql(ty, out),
            },
            #[cfg(feature = "chrono")]
            Type::DATE => chrono::NaiveDate::from_value(v.clone())?.to_sql(ty, out),
            #[cfg(feature = "chrono")]
            Type::TIME => chrono::NaiveTime::from_value(v.clone())?.to_sql(ty, out),
            #[cfg(feature = "chrono")]
            Type::TIMESTAMP => chrono::NaiveDateTime::from_value(v.clone())?.to_sql(ty, out),
            #[cfg(feature = "chrono")]
            Type::TIMESTAMPTZ => {
                chrono::DateTime::<chrono::Utc>::from_value(v.clone())?.to_sql(ty, out)
            }
            _ => Err(format!(
                "cannot send a {} value as PostgreSQL type {}",
                v.kind_name(),
                ty.name()
            )
            .into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

impl From<crate::value::DecodeError> for BoxErr {
    fn from(e: crate::value::DecodeError) -> Self {
        e.0.into()
    }
}

/// Execute a prepared statement and collect its rows.
async fn run_statement(
    client: &Client,
    stmt: &Statement,
    columns: Columns,
    params: &[Value],
) -> Result<QueryOutput> {
    let args = params.iter().map(PgValue);
    if columns.is_empty() {
        let n = client.execute_raw(stmt, args).await.map_err(map_error)?;
        return Ok(QueryOutput {
            columns,
            rows: RowBuf::Rows(Vec::new()),
            rows_affected: n,
            last_insert_id: None,
        });
    }
    let stream = client.query_raw(stmt, args).await.map_err(map_error)?;
    let mut stream = std::pin::pin!(stream);
    // Rows stay in tokio-postgres's form; they are converted once, when
    // the caller reads them (see `RowBuf`).
    let mut rows = Vec::new();
    while let Some(r) = stream.next().await {
        rows.push(r.map_err(map_error)?);
    }
    let affected = stream.rows_affected().unwrap_or(rows.len() as u64);
    Ok(QueryOutput {
        columns,
        rows: RowBuf::Pg(rows),
        rows_affected: affected,
        last_insert_id: None,
    })
}

pub(crate) fn map_error(e: tokio_postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let kind = match code.code() {
            "23505" => ErrorKind::Integrity(IntegrityKind::Unique),
            "23503" => ErrorKind::Integrity(IntegrityKind::ForeignKey),
            "23502" => ErrorKind::Integrity(IntegrityKind::NotNull),
            "23514" => ErrorKind::Integrity(IntegrityKind::Check),
            c if c.starts_with("23") => ErrorKind::Integrity(IntegrityKind::Other),
            "40001" => ErrorKind::Serialization,
            "40P01" => ErrorKind::Deadlock,
            "57014" | "55P03" => ErrorKind::Timeout,
            "57P01" | "57P02" | "57P03" => ErrorKind::ConnectionLost,
            c if c.starts_with("08") => ErrorKind::ConnectionLost,
            c if c.starts_with("42") => ErrorKind::Syntax,
            "22P02" | "22003" | "22001" | "22007" | "22008" => ErrorKind::Database,
            _ => ErrorKind::Database,
        };
        let mut message = db.message().to_string();
        if let Some(detail) = db.detail() {
            message.push_str(": ");
            message.push_str(detail);
        }
        if let Some(c) = db.constraint() {
            if !message.contains(c) {
                message.push_str(&format!(" (constraint \"{c}\")"));
            }
        }
        return Error::new(kind, message)
            .with_code(code.code())
            .with_constraint(db.constraint().map(str::to_string))
            .with_table(db.table().map(str::to_string))
            .with_column(db.column().map(str::to_string))
            .with_source(e);
    }
    if e.is_closed() {
        return Error::new(
            ErrorKind::ConnectionLost,
            "the connection to the PostgreSQL server was lost",
        )
        .with_source(e);
    }
    let text = e.to_string();
    let detail = e.source().map(|s| s.to_string());
    // tokio-postgres counts parameters from 0; the SQL says $1, $2, ….
    if let Some(idx) = text
        .strip_prefix("error serializing parameter ")
        .and_then(|n| n.parse::<usize>().ok())
    {
        let why = detail.unwrap_or_else(|| "the value could not be converted".into());
        return Error::new(
            ErrorKind::Bind,
            format!("cannot send parameter ${}: {why}", idx + 1),
        )
        .with_source(e);
    }
    let message = match detail {
        Some(d) if !text.contains(&d) => format!("{text}: {d}"),
        _ => text,
    };
    let kind = if message.contains("error serializing parameter") {
        ErrorKind::Bind
    } else if message.contains("error deserializing") {
        ErrorKind::Decode
    } else if message.contains("connection") || message.contains("I/O") {
        ErrorKind::ConnectionLost
    } else {
        ErrorKind::Database
    };
    Error::new(kind, message).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_text_round_trips() {
        for text in [
            "0",
            "0.00000000",
            "1",
            "-1.50000000",
            "10000",
            "12345678901234567890.12345678",
            "12345678901234567890.12345678901234567890",
            "-0.0000000000000000000000000000001",
            "99999999999999999999999999999999999999.5",
            "NaN",
        ] {
            let raw = numeric_binary(text).expect(text);
            assert_eq!(numeric_text(&raw).unwrap(), text);
        }
        assert_eq!(
            numeric_text(&numeric_binary("+007.50").unwrap()).unwrap(),
            "7.50"
        );
        assert_eq!(numeric_text(&numeric_binary("-0").unwrap()).unwrap(), "0");
        assert_eq!(numeric_text(&numeric_binary(".5").unwrap()).unwrap(), "0.5");
        for bad in ["", "-", ".", "1e5", "1.2.3", "abc", "1 2"] {
            assert!(numeric_binary(bad).is_none(), "{bad:?}");
        }
    }
}
