//! Reflection: read a live database's tables back into schema metadata
//! (SQLAlchemy's `inspect(engine)` and `MetaData.reflect`).
//!
//! Every catalog query binds the table name as a parameter; no name is ever
//! spliced into SQL. Types are normalised to [`SqlType`] per dialect; what a
//! backend cannot tell apart is documented on [`Inspector::columns`].

use std::collections::BTreeMap;

use super::table::{
    CheckConstraint, Column, ForeignKey, Index, MetaData, ReferentialAction, Table,
    UniqueConstraint,
};
use super::types::SqlType;
use crate::engine::{Connection, Engine};
use crate::error::{Error, ErrorKind, Result};
use crate::sql::text::text;
use crate::sql::Params;
use crate::url::Backend;

/// A column as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReflectedColumn {
    /// The column's name.
    pub name: String,
    /// The type, normalised to Aludel's generic types (see [`Inspector::columns`]).
    pub sql_type: SqlType,
    /// The type as the database spells it (`character varying(200)`,
    /// `varchar(200)`, `VARCHAR(200)`), for types `sql_type` cannot express.
    pub type_name: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The server default as SQL text, as the database reports it
    /// (`CURRENT_TIMESTAMP`, `current_timestamp()`, `'x'::text`, `0`).
    pub default: Option<String>,
    /// Whether the database generates the value (identity or serial,
    /// AUTO_INCREMENT, SQLite's rowid).
    pub autoincrement: bool,
    /// The column comment, if any.
    pub comment: Option<String>,
}

/// A table's primary key as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReflectedPrimaryKey {
    /// The constraint's name: PostgreSQL always keeps one; SQLite only when
    /// the `CREATE TABLE` named it; MySQL/MariaDB never (every primary key
    /// is called `PRIMARY`, so it is reported as `None`).
    pub name: Option<String>,
    /// The columns, in key order; empty when the table has no primary key.
    pub columns: Vec<String>,
}

/// Reads table definitions from a live database (SQLAlchemy's
/// `inspect(engine)`). Each call borrows a connection from the engine's
/// pool and reads in autocommit mode.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_core::Result<()> {
/// use aludel_core::schema::{Inspector, SqlType};
/// use aludel_core::{create_engine, text};
/// let engine = create_engine("sqlite://")?;
/// engine
///     .execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(200) NOT NULL)"), ())
///     .await?;
/// let inspector = Inspector::new(&engine);
/// assert_eq!(inspector.table_names().await?, ["users"]);
/// let columns = inspector.columns("users").await?;
/// assert_eq!(columns[1].sql_type, SqlType::String(Some(200)));
/// assert!(columns[0].autoincrement && !columns[1].nullable);
/// let users = inspector.reflect_table("users").await?;
/// assert_eq!(users.primary_key(), ["id"]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Inspector {
    engine: Engine,
}

impl Engine {
    /// An [`Inspector`] on this engine.
    pub fn inspector(&self) -> Inspector {
        Inspector::new(self)
    }
}

impl MetaData {
    /// Reflect every table of the engine's current schema (PostgreSQL),
    /// database (MySQL) or file (SQLite) into a new `MetaData`
    /// (SQLAlchemy's `MetaData.reflect`).
    ///
    /// # Errors
    /// Whatever a query reports; a table dropped while reflecting gives
    /// [`ErrorKind::Syntax`] naming it.
    pub async fn reflect(engine: &Engine) -> Result<MetaData> {
        let inspector = Inspector::new(engine);
        let mut conn = inspector.connect().await?;
        let mut metadata = MetaData::new();
        for name in inspector.table_names_on(&mut conn).await? {
            metadata.add(inspector.reflect_table_on(&mut conn, &name).await?)?;
        }
        Ok(metadata)
    }
}

impl Inspector {
    /// An inspector reading through `engine` (cheap: the engine is shared).
    pub fn new(engine: &Engine) -> Self {
        Inspector {
            engine: engine.clone(),
        }
    }

    async fn connect(&self) -> Result<Connection> {
        let mut conn = self.engine.connect().await?;
        conn.set_autocommit(true)?;
        Ok(conn)
    }

    /// The names of the tables in the current schema (PostgreSQL's
    /// `current_schema()`, MySQL's `DATABASE()`, SQLite's main database),
    /// sorted; views and system tables (SQLite's `sqlite_%`) are left out.
    pub async fn table_names(&self) -> Result<Vec<String>> {
        let mut conn = self.connect().await?;
        self.table_names_on(&mut conn).await
    }

    /// Whether a table named `table` exists in the current schema.
    pub async fn has_table(&self, table: &str) -> Result<bool> {
        let mut conn = self.connect().await?;
        has_table(&mut conn, table).await
    }

    /// The columns of `table`, in order.
    ///
    /// Types are normalised to [`SqlType`]:
    ///
    /// - **PostgreSQL**: `int2`/`int4`/`int8`, `bool`, `varchar(n)` and
    ///   `char(n)` (→ `String(n)`), `text`, `numeric(p,s)`, `float4`/`float8`
    ///   (→ `Float`), `date`, `time`, `timestamp`/`timestamptz`, `uuid`,
    ///   `json`/`jsonb` (→ `Json`), `bytea`, and enum types, with their
    ///   labels from `pg_enum` (→ `Enum` named after the type). A serial
    ///   column reports `autoincrement` and no default (its `nextval(…)` is
    ///   the autoincrement); identity columns too.
    /// - **MySQL/MariaDB**: `tinyint(1)` is reported as `Boolean` (MySQL has
    ///   no boolean type, so a real TINYINT(1) reads back as `Boolean` too);
    ///   other `tinyint` and `smallint` as `SmallInteger`, `mediumint` and
    ///   `int` as `Integer`; the text types as `Text`; `json` as `Json`, and
    ///   MariaDB's JSON (a `LONGTEXT` with a `json_valid` CHECK) as `Json`;
    ///   `char(32)` stays `String(Some(32))`, so a `Uuid` column written as
    ///   CHAR(32) reads back as a string (MariaDB's native `uuid` is
    ///   `Uuid`); the blob types and `(var)binary` as `LargeBinary`;
    ///   `enum('a','b')` as `Enum` named after the column; `datetime` and
    ///   `timestamp` as `DateTime` without time zone.
    /// - **SQLite**: from the declared type: Aludel's and SQLAlchemy's names
    ///   first (`BOOLEAN`, `DATETIME`, `VARCHAR(n)`, `NUMERIC(p,s)`, `JSON`,
    ///   `CHAR(32)`, `UUID`…), then SQLite's affinity rules (`…INT…` →
    ///   `Integer`, `…CHAR…`/`CLOB`/`TEXT` → `Text`, `BLOB` or no type →
    ///   `LargeBinary`, `REAL`/`FLOA…`/`DOUB…` → `Float`, anything else →
    ///   `Numeric`). An enum is a VARCHAR with a CHECK there, so it reads
    ///   back as `String`. An `INTEGER PRIMARY KEY` (a rowid alias, with or
    ///   without AUTOINCREMENT) is `autoincrement`.
    ///
    /// Types outside these lists are reported as `Text`, with
    /// [`ReflectedColumn::type_name`] saying what they are. Primary key
    /// columns are reported NOT NULL on every backend (SQLite lets a
    /// non-integer primary key hold NULL, a legacy quirk).
    ///
    /// # Errors
    /// [`ErrorKind::Syntax`] naming the table when it does not exist.
    pub async fn columns(&self, table: &str) -> Result<Vec<ReflectedColumn>> {
        let mut conn = self.connect().await?;
        columns(&mut conn, table).await
    }

    /// The primary key of `table`.
    ///
    /// # Errors
    /// [`ErrorKind::Syntax`] naming the table when it does not exist.
    pub async fn primary_key(&self, table: &str) -> Result<ReflectedPrimaryKey> {
        let mut conn = self.connect().await?;
        primary_key(&mut conn, table).await
    }

    /// The foreign keys of `table`, by name, each with its columns in key
    /// order. `NO ACTION` (the default) is reported as `None`; so is
    /// MySQL's `RESTRICT`, which means the same there and is what MySQL
    /// reports when no action was given.
    ///
    /// # Errors
    /// [`ErrorKind::Syntax`] naming the table when it does not exist.
    pub async fn foreign_keys(&self, table: &str) -> Result<Vec<ForeignKey>> {
        let mut conn = self.connect().await?;
        foreign_keys(&mut conn, table).await
    }

    /// The indexes of `table`, by name, with columns in index order;
    /// as in SQLAlchemy, those backing the primary key or a unique
    /// constraint are left out. On MySQL every unique index is a unique
    /// constraint (reported by [`unique_constraints`](Self::unique_constraints)),
    /// and the index InnoDB creates for a foreign key (named after it) is
    /// left out too. Expression indexes are skipped.
    ///
    /// # Errors
    /// [`ErrorKind::Syntax`] naming the table when it does not exist.
    pub async fn indexes(&self, table: &str) -> Result<Vec<Index>> {
        let mut conn = self.connect().await?;
        indexes(&mut conn, table).await
    }

    /// The UNIQUE constraints of `table`, by name, with columns in order.
    /// SQLite keeps a name only when the `CREATE TABLE` gave one.
    ///
    /// # Errors
    /// [`ErrorKind::Syntax`] naming the table when it does not exist.
    pub async fn unique_constraints(&self, table: &str) -> Result<Vec<UniqueConstraint>> {
        let mut conn = self.connect().await?;
        unique_constraints(&mut conn, table).await
    }

    /// The CHECK constraints of `table`, by name, with their SQL as the
    /// database prints it (`balance >= 0::numeric` on PostgreSQL,
    /// `` `balance` >= 0 `` on MariaDB, the written text on SQLite). SQLite
    /// reports only named ones (it keeps no name otherwise); MariaDB's
    /// `json_valid` check behind a JSON column is part of the column's type,
    /// not reported here. The names are the database's full names.
    ///
    /// # Errors
    /// [`ErrorKind::Syntax`] naming the table when it does not exist.
    pub async fn check_constraints(&self, table: &str) -> Result<Vec<CheckConstraint>> {
        let mut conn = self.connect().await?;
        check_constraints(&mut conn, table).await
    }

    /// Reflect `table` into a [`Table`]: columns, primary key, foreign
    /// keys, unique and check constraints and indexes, all on one
    /// connection.
    ///
    /// A check constraint named by the default convention,
    /// `ck_<table>_<name>`, is given back as `<name>`, so that the table's
    /// [`constraint_names`](Table::constraint_names) reproduce the
    /// database's name; other check names are kept whole.
    ///
    /// # Errors
    /// [`ErrorKind::Syntax`] naming the table when it does not exist.
    pub async fn reflect_table(&self, table: &str) -> Result<Table> {
        let mut conn = self.connect().await?;
        self.reflect_table_on(&mut conn, table).await
    }

    async fn table_names_on(&self, conn: &mut Connection) -> Result<Vec<String>> {
        table_names(conn).await
    }

    async fn reflect_table_on(&self, conn: &mut Connection, table: &str) -> Result<Table> {
        let cols = columns(conn, table).await?;
        let pk = primary_key(conn, table).await?;
        let fks = foreign_keys(conn, table).await?;
        let uniques = unique_constraints(conn, table).await?;
        let checks = check_constraints(conn, table).await?;
        let idx = indexes(conn, table).await?;
        let mut builder = Table::builder(table);
        for c in cols {
            let mut column = Column::new(c.name, c.sql_type)
                .nullable(c.nullable)
                .autoincrement(c.autoincrement);
            if let Some(d) = c.default {
                column = column.server_default_sql(d);
            }
            if let Some(comment) = c.comment {
                column = column.comment(comment);
            }
            builder = builder.column(column);
        }
        if !pk.columns.is_empty() {
            builder = builder.primary_key(pk.columns);
        }
        if let Some(name) = pk.name {
            builder = builder.primary_key_name(name);
        }
        for fk in fks {
            builder = builder.foreign_key(fk);
        }
        for uq in uniques {
            builder = builder.unique_constraint(uq);
        }
        let prefix = format!("ck_{table}_");
        for ck in checks {
            let name = match ck.name.strip_prefix(&prefix) {
                Some(rest) if !rest.is_empty() => rest.to_string(),
                _ => ck.name,
            };
            builder = builder.check(name, ck.sql);
        }
        for ix in idx {
            builder = builder.add_index(ix);
        }
        builder.build()
    }
}

async fn table_names(conn: &mut Connection) -> Result<Vec<String>> {
    let sql = match backend(conn) {
        Backend::Postgres => {
            "SELECT c.relname::text FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
             ORDER BY c.relname"
        }
        Backend::Mysql => {
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' \
             ORDER BY TABLE_NAME"
        }
        _ => {
            "SELECT name FROM sqlite_master \
             WHERE type = 'table' AND substr(name, 1, 7) <> 'sqlite_' ORDER BY name"
        }
    };
    let mut names: Vec<String> = conn.execute(text(sql), ()).await?.scalars()?;
    // By code point on every backend, whatever the server's collation.
    names.sort();
    Ok(names)
}

fn backend(conn: &Connection) -> Backend {
    conn.dialect().backend()
}

fn table_param(table: &str) -> Params {
    Params::new().bind("t", table.to_string())
}

async fn has_table(conn: &mut Connection, table: &str) -> Result<bool> {
    let sql = match backend(conn) {
        Backend::Postgres => format!("SELECT {PG_TABLE} IS NOT NULL"),
        Backend::Mysql => "SELECT COUNT(*) > 0 FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t AND TABLE_TYPE = 'BASE TABLE'"
            .to_string(),
        _ => {
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = :t".to_string()
        }
    };
    conn.execute(text(sql), table_param(table))
        .await?
        .scalar_one()
}

/// The error for a table that is not there, with the closest name.
async fn no_such_table(conn: &mut Connection, table: &str) -> Error {
    let names = table_names(conn).await.unwrap_or_default();
    let hint = crate::util::did_you_mean(table, names.iter().map(String::as_str))
        .map(|s| format!("; did you mean \"{s}\"?"))
        .unwrap_or_default();
    Error::new(
        ErrorKind::Syntax,
        format!("table \"{table}\" does not exist{hint}"),
    )
    .with_table(Some(table.to_string()))
}

/// Fail with "no such table" when `empty` and the table is missing.
async fn ensure_exists(conn: &mut Connection, table: &str, empty: bool) -> Result<()> {
    if empty && !has_table(conn, table).await? {
        return Err(no_such_table(conn, table).await);
    }
    Ok(())
}

async fn columns(conn: &mut Connection, table: &str) -> Result<Vec<ReflectedColumn>> {
    let cols = match backend(conn) {
        Backend::Postgres => pg::columns(conn, table).await?,
        Backend::Mysql => my::columns(conn, table).await?,
        _ => lite::columns(conn, table).await?,
    };
    if cols.is_empty() {
        return Err(no_such_table(conn, table).await);
    }
    Ok(cols)
}

async fn primary_key(conn: &mut Connection, table: &str) -> Result<ReflectedPrimaryKey> {
    let pk = match backend(conn) {
        Backend::Postgres => pg::primary_key(conn, table).await?,
        Backend::Mysql => my::primary_key(conn, table).await?,
        _ => lite::primary_key(conn, table).await?,
    };
    ensure_exists(conn, table, pk.columns.is_empty()).await?;
    Ok(pk)
}

async fn foreign_keys(conn: &mut Connection, table: &str) -> Result<Vec<ForeignKey>> {
    let fks = match backend(conn) {
        Backend::Postgres => pg::foreign_keys(conn, table).await?,
        Backend::Mysql => my::foreign_keys(conn, table).await?,
        _ => lite::foreign_keys(conn, table).await?,
    };
    ensure_exists(conn, table, fks.is_empty()).await?;
    let mut fks = fks;
    fks.sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
    Ok(fks)
}

async fn indexes(conn: &mut Connection, table: &str) -> Result<Vec<Index>> {
    let idx = match backend(conn) {
        Backend::Postgres => pg::indexes(conn, table).await?,
        Backend::Mysql => my::indexes(conn, table).await?,
        _ => lite::indexes(conn, table, false).await?,
    };
    ensure_exists(conn, table, idx.is_empty()).await?;
    let mut idx: Vec<Index> = idx.into_iter().map(|(_, ix)| ix).collect();
    idx.sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
    Ok(idx)
}

async fn unique_constraints(conn: &mut Connection, table: &str) -> Result<Vec<UniqueConstraint>> {
    let uqs = match backend(conn) {
        Backend::Postgres => pg::unique_constraints(conn, table).await?,
        Backend::Mysql => my::unique_constraints(conn, table).await?,
        _ => lite::unique_constraints(conn, table).await?,
    };
    ensure_exists(conn, table, uqs.is_empty()).await?;
    let mut uqs = uqs;
    uqs.sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
    Ok(uqs)
}

async fn check_constraints(conn: &mut Connection, table: &str) -> Result<Vec<CheckConstraint>> {
    let cks = match backend(conn) {
        Backend::Postgres => pg::check_constraints(conn, table).await?,
        Backend::Mysql => my::check_constraints(conn, table)
            .await?
            .into_iter()
            .filter(|ck| !my::is_json_check(ck))
            .collect(),
        _ => lite::check_constraints(conn, table).await?,
    };
    ensure_exists(conn, table, cks.is_empty()).await?;
    let mut cks = cks;
    cks.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cks)
}

/// Group `(group, member)` rows, keeping first-seen order of groups.
fn group<K: Ord + Clone, V>(rows: impl IntoIterator<Item = (K, V)>) -> Vec<(K, Vec<V>)> {
    let mut order: Vec<K> = Vec::new();
    let mut map: BTreeMap<K, Vec<V>> = BTreeMap::new();
    for (k, v) in rows {
        map.entry(k.clone())
            .or_insert_with(|| {
                order.push(k);
                Vec::new()
            })
            .push(v);
    }
    order
        .into_iter()
        .map(|k| {
            let v = map.remove(&k).unwrap_or_default();
            (k, v)
        })
        .collect()
}

fn action(word: &str) -> Option<ReferentialAction> {
    match word.trim().to_ascii_uppercase().as_str() {
        "CASCADE" | "C" => Some(ReferentialAction::Cascade),
        "SET NULL" | "N" => Some(ReferentialAction::SetNull),
        "SET DEFAULT" | "D" => Some(ReferentialAction::SetDefault),
        "RESTRICT" | "R" => Some(ReferentialAction::Restrict),
        // NO ACTION is the default: reported as not given, as SQLAlchemy does.
        _ => None,
    }
}

fn parse_u32(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

/// `NAME(a, b)` → (`NAME`, [a, b]) with the name upper-cased and
/// whitespace collapsed.
fn split_type(declared: &str) -> (String, Vec<u32>) {
    let (base, args) = match declared.split_once('(') {
        Some((b, rest)) => (b, rest.split(')').next().unwrap_or("")),
        None => (declared, ""),
    };
    let base = base
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase();
    let args = args.split(',').filter_map(parse_u32).collect();
    (base, args)
}

/// The `CHECK (…)` definition PostgreSQL prints, reduced to its expression.
fn strip_check(def: &str) -> String {
    let mut s = def.trim();
    if let Some(rest) = s.strip_suffix("NOT VALID") {
        s = rest.trim_end();
    }
    if let Some(rest) = s.strip_prefix("CHECK") {
        s = rest.trim_start();
    }
    unwrap_parens(s).to_string()
}

/// Remove one pair of parentheses around the whole of `s`, if they match.
fn unwrap_parens(s: &str) -> &str {
    let s = s.trim();
    if !(s.starts_with('(') && s.ends_with(')')) {
        return s;
    }
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 && i != s.len() - 1 {
                    return s;
                }
            }
            _ => {}
        }
    }
    s[1..s.len() - 1].trim()
}

/// PostgreSQL: `pg_catalog`, with the table's oid looked up by name in the
/// current schema.
mod pg {
    use super::*;

    /// The table's oid (NULL when there is no such table): bound by name.
    pub(super) const TABLE: &str = "(SELECT c.oid FROM pg_catalog.pg_class c \
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
        WHERE n.nspname = current_schema() AND c.relname = :t AND c.relkind IN ('r', 'p'))";

    type ColumnRow = (
        String,
        String,
        String,
        i64,
        bool,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        String,
    );

    pub(super) async fn columns(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<ReflectedColumn>> {
        let sql = format!(
            "SELECT a.attname::text, t.typname::text, t.typtype::text, a.atttypmod::int8, \
             a.attnotnull, pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, \
             pg_catalog.col_description(a.attrelid, a.attnum), \
             CASE WHEN t.typtype = 'e' THEN (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder)::text \
               FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) END, \
             pg_catalog.format_type(a.atttypid, a.atttypmod) \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = {TABLE} AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum"
        );
        let rows: Vec<ColumnRow> = conn
            .execute(text(sql), table_param(table))
            .await?
            .all_as()?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    name,
                    typname,
                    typtype,
                    typmod,
                    notnull,
                    default,
                    identity,
                    comment,
                    labels,
                    formatted,
                )| {
                    let serial = default
                        .as_deref()
                        .is_some_and(|d| d.starts_with("nextval("));
                    let sql_type = if typtype == "e" {
                        let variants: Vec<String> = labels
                            .and_then(|l| serde_json::from_str(&l).ok())
                            .unwrap_or_default();
                        SqlType::Enum {
                            name: typname,
                            variants,
                        }
                    } else {
                        sql_type(&typname, typmod)
                    };
                    ReflectedColumn {
                        name,
                        sql_type,
                        type_name: formatted,
                        nullable: !notnull,
                        default: if serial { None } else { default },
                        autoincrement: serial || !identity.is_empty(),
                        comment,
                    }
                },
            )
            .collect())
    }

    fn sql_type(typname: &str, typmod: i64) -> SqlType {
        let length = (typmod >= 4).then(|| (typmod - 4) as u32);
        match typname {
            "int2" => SqlType::SmallInteger,
            "int4" => SqlType::Integer,
            "int8" => SqlType::BigInteger,
            "bool" => SqlType::Boolean,
            "varchar" | "bpchar" => SqlType::String(length),
            "text" => SqlType::Text,
            "numeric" => match length {
                Some(m) => SqlType::Numeric {
                    precision: Some((m >> 16) & 0xffff),
                    scale: Some(m & 0xffff),
                },
                None => SqlType::Numeric {
                    precision: None,
                    scale: None,
                },
            },
            "float4" | "float8" => SqlType::Float,
            "date" => SqlType::Date,
            "time" | "timetz" => SqlType::Time,
            "timestamp" => SqlType::DateTime { timezone: false },
            "timestamptz" => SqlType::DateTime { timezone: true },
            "uuid" => SqlType::Uuid,
            "json" | "jsonb" => SqlType::Json,
            "bytea" => SqlType::LargeBinary,
            _ => SqlType::Text,
        }
    }

    pub(super) async fn primary_key(
        conn: &mut Connection,
        table: &str,
    ) -> Result<ReflectedPrimaryKey> {
        let sql = format!(
            "SELECT con.conname::text, a.attname::text FROM pg_catalog.pg_constraint con \
             CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
             WHERE con.conrelid = {TABLE} AND con.contype = 'p' ORDER BY k.ord"
        );
        let rows: Vec<(String, String)> = conn
            .execute(text(sql), table_param(table))
            .await?
            .all_as()?;
        Ok(ReflectedPrimaryKey {
            name: rows.first().map(|r| r.0.clone()),
            columns: rows.into_iter().map(|r| r.1).collect(),
        })
    }

    pub(super) async fn foreign_keys(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<ForeignKey>> {
        let sql = format!(
            "SELECT con.conname::text, a.attname::text, rc.relname::text, ra.attname::text, \
             con.confdeltype::text, con.confupdtype::text \
             FROM pg_catalog.pg_constraint con \
             CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, fattnum, ord) \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
             JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid \
             JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.fattnum \
             WHERE con.conrelid = {TABLE} AND con.contype = 'f' ORDER BY con.conname, k.ord"
        );
        let rows: Vec<(String, String, String, String, String, String)> = conn
            .execute(text(sql), table_param(table))
            .await?
            .all_as()?;
        Ok(fold_fks(rows))
    }

    pub(super) async fn indexes(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<(String, Index)>> {
        let sql = format!(
            "SELECT ic.relname::text, i.indisunique, a.attname::text \
             FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
             LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
             WHERE i.indrelid = {TABLE} AND NOT i.indisprimary AND k.ord <= i.indnkeyatts \
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con \
               WHERE con.conrelid = i.indrelid AND con.conindid = i.indexrelid \
               AND con.contype IN ('p', 'u', 'x')) \
             ORDER BY ic.relname, k.ord"
        );
        let rows: Vec<(String, bool, Option<String>)> = conn
            .execute(text(sql), table_param(table))
            .await?
            .all_as()?;
        Ok(fold_indexes(rows.into_iter().map(|(n, u, c)| (n, (u, c)))))
    }

    pub(super) async fn unique_constraints(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<UniqueConstraint>> {
        let sql = format!(
            "SELECT con.conname::text, a.attname::text FROM pg_catalog.pg_constraint con \
             CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
             WHERE con.conrelid = {TABLE} AND con.contype = 'u' ORDER BY con.conname, k.ord"
        );
        let rows: Vec<(String, String)> = conn
            .execute(text(sql), table_param(table))
            .await?
            .all_as()?;
        Ok(group(rows)
            .into_iter()
            .map(|(name, columns)| UniqueConstraint {
                name: Some(name),
                columns,
            })
            .collect())
    }

    pub(super) async fn check_constraints(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<CheckConstraint>> {
        let sql = format!(
            "SELECT con.conname::text, pg_catalog.pg_get_constraintdef(con.oid, true) \
             FROM pg_catalog.pg_constraint con \
             WHERE con.conrelid = {TABLE} AND con.contype = 'c' ORDER BY con.conname"
        );
        let rows: Vec<(String, String)> = conn
            .execute(text(sql), table_param(table))
            .await?
            .all_as()?;
        Ok(rows
            .into_iter()
            .map(|(name, def)| CheckConstraint {
                name,
                sql: strip_check(&def),
            })
            .collect())
    }
}

const PG_TABLE: &str = pg::TABLE;

/// Rows of (name, column, referred table, referred column, on delete, on
/// update), ordered by name and position, into foreign keys.
fn fold_fks(rows: Vec<(String, String, String, String, String, String)>) -> Vec<ForeignKey> {
    let mut out: Vec<ForeignKey> = Vec::new();
    for (name, col, rtable, rcol, del, upd) in rows {
        match out.last_mut() {
            Some(fk) if fk.name.as_deref() == Some(name.as_str()) => {
                fk.columns.push(col);
                fk.referred_columns.push(rcol);
            }
            _ => out.push(ForeignKey {
                name: Some(name),
                columns: vec![col],
                referred_table: rtable,
                referred_columns: vec![rcol],
                on_delete: action(&del),
                on_update: action(&upd),
            }),
        }
    }
    out
}

/// Rows of (index name, (unique, column or NULL for an expression)) into
/// indexes, skipping expression indexes.
fn fold_indexes(
    rows: impl IntoIterator<Item = (String, (bool, Option<String>))>,
) -> Vec<(String, Index)> {
    group(rows)
        .into_iter()
        .filter_map(|(name, cols)| {
            let unique = cols.first().is_some_and(|c| c.0);
            let columns: Option<Vec<String>> = cols.into_iter().map(|c| c.1).collect();
            Some((
                name.clone(),
                Index {
                    name: Some(name),
                    columns: columns?,
                    unique,
                },
            ))
        })
        .collect()
}

/// MySQL and MariaDB: `information_schema`, in the current database.
mod my {
    use super::*;

    type ColumnRow = (
        String,
        String,
        String,
        String,
        Option<String>,
        String,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );

    pub(super) async fn columns(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<ReflectedColumn>> {
        let sql =
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, \
             COLUMN_COMMENT, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t \
             ORDER BY ORDINAL_POSITION";
        let rows: Vec<ColumnRow> = conn
            .execute(text(sql), table_param(table))
            .await?
            .all_as()?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let mariadb = conn.dialect().is_mariadb();
        let json_checks: Vec<CheckConstraint> = if mariadb {
            check_constraints(conn, table)
                .await?
                .into_iter()
                .filter(is_json_check)
                .collect()
        } else {
            Vec::new()
        };
        Ok(rows
            .into_iter()
            .map(
                |(
                    name,
                    data_type,
                    column_type,
                    nullable,
                    default,
                    extra,
                    comment,
                    length,
                    precision,
                    scale,
                )| {
                    let data_type = data_type.to_ascii_lowercase();
                    let json = json_checks.iter().any(|ck| ck.name == name);
                    let sql_type = if json {
                        SqlType::Json
                    } else {
                        sql_type(&name, &data_type, &column_type, length, precision, scale)
                    };
                    let default = default.filter(|d| !(mariadb && d == "NULL")).map(|d| {
                        if mariadb || is_expression_default(&d, &extra) || is_number(&data_type) {
                            d
                        } else {
                            // MySQL reports literal defaults unquoted.
                            format!("'{}'", d.replace('\'', "''"))
                        }
                    });
                    ReflectedColumn {
                        name,
                        sql_type,
                        type_name: column_type,
                        nullable: nullable.eq_ignore_ascii_case("YES"),
                        default,
                        autoincrement: extra.to_ascii_lowercase().contains("auto_increment"),
                        comment: comment.filter(|c| !c.is_empty()),
                    }
                },
            )
            .collect())
    }

    fn is_expression_default(d: &str, extra: &str) -> bool {
        extra.to_ascii_uppercase().contains("DEFAULT_GENERATED")
            || d.to_ascii_uppercase().starts_with("CURRENT_TIMESTAMP")
    }

    fn is_number(data_type: &str) -> bool {
        matches!(
            data_type,
            "tinyint"
                | "smallint"
                | "mediumint"
                | "int"
                | "integer"
                | "bigint"
                | "decimal"
                | "numeric"
                | "float"
                | "double"
                | "real"
                | "bit"
        )
    }

    fn to_u32(v: Option<i64>) -> Option<u32> {
        v.and_then(|v| u32::try_from(v).ok())
    }

    fn sql_type(
        name: &str,
        data_type: &str,
        column_type: &str,
        length: Option<i64>,
        precision: Option<i64>,
        scale: Option<i64>,
    ) -> SqlType {
        let original = column_type;
        let column_type = column_type.to_ascii_lowercase();
        match data_type {
            "tinyint" if column_type.starts_with("tinyint(1)") => SqlType::Boolean,
            "bool" | "boolean" => SqlType::Boolean,
            "tinyint" | "smallint" => SqlType::SmallInteger,
            "mediumint" | "int" | "integer" => SqlType::Integer,
            "bigint" => SqlType::BigInteger,
            "varchar" | "char" => SqlType::String(to_u32(length)),
            "tinytext" | "text" | "mediumtext" | "longtext" => SqlType::Text,
            "decimal" | "numeric" => SqlType::Numeric {
                precision: to_u32(precision),
                scale: to_u32(scale),
            },
            "double" | "float" | "real" => SqlType::Float,
            "date" => SqlType::Date,
            "time" => SqlType::Time,
            "datetime" | "timestamp" => SqlType::DateTime { timezone: false },
            "json" => SqlType::Json,
            "uuid" => SqlType::Uuid,
            "tinyblob" | "blob" | "mediumblob" | "longblob" | "binary" | "varbinary" => {
                SqlType::LargeBinary
            }
            "enum" => SqlType::Enum {
                name: name.to_string(),
                variants: enum_labels(original),
            },
            _ => SqlType::Text,
        }
    }

    /// The labels of `enum('a','b''c')`.
    pub(super) fn enum_labels(column_type: &str) -> Vec<String> {
        let Some(start) = column_type.find('(') else {
            return Vec::new();
        };
        let body = &column_type[start + 1..];
        let mut labels = Vec::new();
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '\'' {
                if c == ')' {
                    break;
                }
                continue;
            }
            let mut label = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\'' if chars.peek() == Some(&'\'') => {
                        chars.next();
                        label.push('\'');
                    }
                    '\'' => break,
                    '\\' => {
                        if let Some(n) = chars.next() {
                            label.push(n);
                        }
                    }
                    c => label.push(c),
                }
            }
            labels.push(label);
        }
        labels
    }

    /// MariaDB's check behind a JSON column: named after the column,
    /// `json_valid(`column`)`.
    pub(super) fn is_json_check(ck: &CheckConstraint) -> bool {
        let clause: String = ck.sql.chars().filter(|c| !c.is_whitespace()).collect();
        let quoted = crate::Dialect::new(Backend::Mysql).quote_identifier(&ck.name);
        clause.eq_ignore_ascii_case(&format!("json_valid({quoted})"))
    }

    pub(super) async fn primary_key(
        conn: &mut Connection,
        table: &str,
    ) -> Result<ReflectedPrimaryKey> {
        let sql = "SELECT COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t AND INDEX_NAME = 'PRIMARY' \
             ORDER BY SEQ_IN_INDEX";
        let columns: Vec<String> = conn
            .execute(text(sql), table_param(table))
            .await?
            .scalars()?;
        Ok(ReflectedPrimaryKey {
            name: None,
            columns,
        })
    }

    pub(super) async fn foreign_keys(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<ForeignKey>> {
        let sql = "SELECT k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, \
             k.REFERENCED_COLUMN_NAME, r.DELETE_RULE, r.UPDATE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k \
             JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
               ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
               AND r.TABLE_NAME = k.TABLE_NAME \
             WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = :t \
               AND k.REFERENCED_TABLE_NAME IS NOT NULL \
             ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION";
        let rows: Vec<(String, String, String, String, String, String)> = conn
            .execute(text(sql), table_param(table))
            .await?
            .all_as()?;
        let mut fks = fold_fks(rows);
        // RESTRICT is MySQL's default and means NO ACTION there.
        for fk in &mut fks {
            for a in [&mut fk.on_delete, &mut fk.on_update] {
                if *a == Some(ReferentialAction::Restrict) {
                    *a = None;
                }
            }
        }
        Ok(fks)
    }

    async fn statistics(conn: &mut Connection, table: &str) -> Result<Vec<(String, Index)>> {
        let sql =
            "SELECT INDEX_NAME, NON_UNIQUE = 0, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t AND INDEX_NAME <> 'PRIMARY' \
             ORDER BY INDEX_NAME, SEQ_IN_INDEX";
        let rows: Vec<(String, bool, Option<String>)> = conn
            .execute(text(sql), table_param(table))
            .await?
            .all_as()?;
        Ok(fold_indexes(rows.into_iter().map(|(n, u, c)| (n, (u, c)))))
    }

    pub(super) async fn indexes(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<(String, Index)>> {
        let fks = foreign_keys(conn, table).await?;
        Ok(statistics(conn, table)
            .await?
            .into_iter()
            .filter(|(name, ix)| {
                !ix.unique
                    && !fks
                        .iter()
                        .any(|fk| fk.name.as_deref() == Some(name) && fk.columns == ix.columns)
            })
            .collect())
    }

    pub(super) async fn unique_constraints(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<UniqueConstraint>> {
        Ok(statistics(conn, table)
            .await?
            .into_iter()
            .filter(|(_, ix)| ix.unique)
            .map(|(_, ix)| UniqueConstraint {
                name: ix.name,
                columns: ix.columns,
            })
            .collect())
    }

    pub(super) async fn check_constraints(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<CheckConstraint>> {
        let sql = if conn.dialect().is_mariadb() {
            "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = :t ORDER BY CONSTRAINT_NAME"
        } else {
            "SELECT cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS cc \
             JOIN information_schema.TABLE_CONSTRAINTS tc \
               ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME \
             WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.TABLE_NAME = :t \
               AND tc.CONSTRAINT_TYPE = 'CHECK' ORDER BY cc.CONSTRAINT_NAME"
        };
        let rows: Vec<(String, String)> = conn
            .execute(text(sql), table_param(table))
            .await?
            .all_as()?;
        Ok(rows
            .into_iter()
            .map(|(name, clause)| CheckConstraint {
                name,
                sql: unwrap_parens(&clause).to_string(),
            })
            .collect())
    }
}

/// SQLite: the `pragma_*` table-valued functions, and the `CREATE TABLE`
/// text in `sqlite_master` for what they do not report (constraint names,
/// CHECKs, AUTOINCREMENT).
mod lite {
    use super::*;

    async fn create_sql(conn: &mut Connection, table: &str) -> Result<Option<TableDdl>> {
        let sql: Option<Option<String>> = conn
            .execute(
                text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
                table_param(table),
            )
            .await?
            .scalar()?;
        Ok(sql.flatten().map(|s| TableDdl::parse(&s)))
    }

    pub(super) async fn columns(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<ReflectedColumn>> {
        let rows: Vec<(String, String, bool, Option<String>, i64)> = conn
            .execute(
                text(
                    "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(:t) \
                     ORDER BY cid",
                ),
                table_param(table),
            )
            .await?
            .all_as()?;
        let pk_count = rows.iter().filter(|r| r.4 > 0).count();
        Ok(rows
            .into_iter()
            .map(|(name, declared, notnull, default, pk)| {
                // A single-column INTEGER PRIMARY KEY is an alias of the
                // rowid: SQLite assigns it, with or without AUTOINCREMENT.
                let rowid = pk > 0 && pk_count == 1 && declared.eq_ignore_ascii_case("INTEGER");
                ReflectedColumn {
                    sql_type: sql_type(&declared),
                    name,
                    type_name: declared,
                    nullable: !notnull && pk == 0,
                    default,
                    autoincrement: rowid,
                    comment: None,
                }
            })
            .collect())
    }

    /// SQLAlchemy's and Aludel's type names, then SQLite's affinity rules.
    pub(super) fn sql_type(declared: &str) -> SqlType {
        let (base, args) = split_type(declared);
        let first = args.first().copied();
        let numeric = || SqlType::Numeric {
            precision: first,
            scale: args.get(1).copied(),
        };
        match base.as_str() {
            "BOOLEAN" | "BOOL" => return SqlType::Boolean,
            "SMALLINT" | "INT2" | "TINYINT" => return SqlType::SmallInteger,
            "INTEGER" | "INT" | "INT4" | "MEDIUMINT" => return SqlType::Integer,
            "BIGINT" | "INT8" => return SqlType::BigInteger,
            "VARCHAR" | "NVARCHAR" | "CHAR" | "NCHAR" | "CHARACTER" | "CHARACTER VARYING"
            | "VARYING CHARACTER" | "NATIVE CHARACTER" => return SqlType::String(first),
            "TEXT" | "CLOB" => return SqlType::Text,
            "NUMERIC" | "DECIMAL" => return numeric(),
            "FLOAT" | "REAL" | "DOUBLE" | "DOUBLE PRECISION" => return SqlType::Float,
            "DATE" => return SqlType::Date,
            "TIME" => return SqlType::Time,
            "DATETIME" | "TIMESTAMP" => return SqlType::DateTime { timezone: false },
            "UUID" => return SqlType::Uuid,
            "JSON" | "JSONB" => return SqlType::Json,
            "BLOB" | "" => return SqlType::LargeBinary,
            _ => {}
        }
        if base.contains("INT") {
            SqlType::Integer
        } else if base.contains("CHAR") || base.contains("CLOB") || base.contains("TEXT") {
            SqlType::Text
        } else if base.contains("BLOB") {
            SqlType::LargeBinary
        } else if base.contains("REAL") || base.contains("FLOA") || base.contains("DOUB") {
            SqlType::Float
        } else {
            numeric()
        }
    }

    pub(super) async fn primary_key(
        conn: &mut Connection,
        table: &str,
    ) -> Result<ReflectedPrimaryKey> {
        let rows: Vec<(String, i64)> = conn
            .execute(
                text("SELECT name, pk FROM pragma_table_info(:t) WHERE pk > 0 ORDER BY pk"),
                table_param(table),
            )
            .await?
            .all_as()?;
        let name = if rows.is_empty() {
            None
        } else {
            create_sql(conn, table).await?.and_then(|d| {
                d.constraints
                    .into_iter()
                    .find(|c| c.kind == Kind::PrimaryKey)
                    .and_then(|c| c.name)
            })
        };
        Ok(ReflectedPrimaryKey {
            name,
            columns: rows.into_iter().map(|r| r.0).collect(),
        })
    }

    pub(super) async fn foreign_keys(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<ForeignKey>> {
        let rows: Vec<(i64, String, String, Option<String>, String, String)> = conn
            .execute(
                text(
                    "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete \
                     FROM pragma_foreign_key_list(:t) ORDER BY id DESC, seq",
                ),
                table_param(table),
            )
            .await?
            .all_as()?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ddl = create_sql(conn, table).await?.unwrap_or_default();
        let mut fks = Vec::new();
        for (_, members) in group(rows.into_iter().map(|r| (r.0, r))) {
            let referred_table = members[0].1.clone();
            let columns: Vec<String> = members.iter().map(|m| m.2.clone()).collect();
            let mut referred_columns: Vec<String> =
                members.iter().filter_map(|m| m.3.clone()).collect();
            if referred_columns.len() != columns.len() {
                // `REFERENCES t` without columns: the referred primary key.
                referred_columns = primary_key(conn, &referred_table).await?.columns;
            }
            let name = ddl
                .constraints
                .iter()
                .find(|c| c.kind == Kind::ForeignKey && same_columns(&c.columns, &columns))
                .and_then(|c| c.name.clone());
            fks.push(ForeignKey {
                name,
                columns,
                referred_table,
                referred_columns,
                on_delete: action(&members[0].5),
                on_update: action(&members[0].4),
            });
        }
        Ok(fks)
    }

    fn same_columns(a: &[String], b: &[String]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
    }

    /// Indexes with their origin: `c` (CREATE INDEX), `u` (UNIQUE), `pk`.
    pub(super) async fn indexes(
        conn: &mut Connection,
        table: &str,
        uniques: bool,
    ) -> Result<Vec<(String, Index)>> {
        let list: Vec<(String, bool, String)> = conn
            .execute(
                text("SELECT name, \"unique\", origin FROM pragma_index_list(:t) ORDER BY name"),
                table_param(table),
            )
            .await?
            .all_as()?;
        let mut out = Vec::new();
        for (name, unique, origin) in list {
            if (origin == "u") != uniques || origin == "pk" {
                continue;
            }
            let cols: Vec<Option<String>> = conn
                .execute(
                    text("SELECT name FROM pragma_index_info(:i) ORDER BY seqno"),
                    Params::new().bind("i", name.clone()),
                )
                .await?
                .scalars()?;
            let Some(columns) = cols.into_iter().collect::<Option<Vec<String>>>() else {
                continue; // an expression index
            };
            out.push((
                name.clone(),
                Index {
                    name: Some(name),
                    columns,
                    unique,
                },
            ));
        }
        Ok(out)
    }

    pub(super) async fn unique_constraints(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<UniqueConstraint>> {
        let found = indexes(conn, table, true).await?;
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let ddl = create_sql(conn, table).await?.unwrap_or_default();
        Ok(found
            .into_iter()
            .map(|(_, ix)| {
                let name = ddl
                    .constraints
                    .iter()
                    .find(|c| c.kind == Kind::Unique && same_columns(&c.columns, &ix.columns))
                    .and_then(|c| c.name.clone());
                UniqueConstraint {
                    name,
                    columns: ix.columns,
                }
            })
            .collect())
    }

    pub(super) async fn check_constraints(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<CheckConstraint>> {
        let ddl = create_sql(conn, table).await?.unwrap_or_default();
        let mut checks: Vec<CheckConstraint> = ddl
            .constraints
            .into_iter()
            .filter(|c| c.kind == Kind::Check)
            .filter_map(|c| {
                Some(CheckConstraint {
                    name: c.name?,
                    sql: c.check_sql?,
                })
            })
            .collect();
        checks.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(checks)
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Kind {
        PrimaryKey,
        Unique,
        Check,
        ForeignKey,
    }

    /// A constraint found in a `CREATE TABLE` statement.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(super) struct Constraint {
        pub name: Option<String>,
        pub kind: Kind,
        pub columns: Vec<String>,
        pub check_sql: Option<String>,
    }

    /// What reflection needs from a `CREATE TABLE` statement.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub(super) struct TableDdl {
        pub constraints: Vec<Constraint>,
    }

    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Tok {
        /// A bare word, or a quoted identifier (`"x"`, `` `x` ``, `[x]`).
        Ident {
            text: String,
            quoted: bool,
        },
        /// A string literal.
        Str(String),
        Open,
        Close,
        Comma,
        Other,
    }

    #[derive(Debug, Clone)]
    struct Token {
        tok: Tok,
        start: usize,
        end: usize,
    }

    impl Token {
        fn keyword(&self, word: &str) -> bool {
            matches!(&self.tok, Tok::Ident { text, quoted: false } if text.eq_ignore_ascii_case(word))
        }

        fn name(&self) -> Option<String> {
            match &self.tok {
                Tok::Ident { text, .. } | Tok::Str(text) => Some(text.clone()),
                _ => None,
            }
        }
    }

    fn tokenize(sql: &str) -> Vec<Token> {
        let b = sql.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            let start = i;
            let tok = match c {
                c if c.is_ascii_whitespace() => {
                    i += 1;
                    continue;
                }
                b'-' if b.get(i + 1) == Some(&b'-') => {
                    while i < b.len() && b[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    i += 2;
                    while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                        i += 1;
                    }
                    i = (i + 2).min(b.len());
                    continue;
                }
                b'\'' | b'"' | b'`' | b'[' => {
                    let close = if c == b'[' { b']' } else { c };
                    let mut text = Vec::new();
                    i += 1;
                    while i < b.len() {
                        if b[i] == close {
                            if close != b']' && b.get(i + 1) == Some(&close) {
                                text.push(close);
                                i += 2;
                                continue;
                            }
                            break;
                        }
                        text.push(b[i]);
                        i += 1;
                    }
                    i = (i + 1).min(b.len());
                    let text = String::from_utf8_lossy(&text).into_owned();
                    if c == b'\'' {
                        Tok::Str(text)
                    } else {
                        Tok::Ident { text, quoted: true }
                    }
                }
                b'(' => {
                    i += 1;
                    Tok::Open
                }
                b')' => {
                    i += 1;
                    Tok::Close
                }
                b',' => {
                    i += 1;
                    Tok::Comma
                }
                c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                    while i < b.len()
                        && (b[i].is_ascii_alphanumeric()
                            || b[i] == b'_'
                            || b[i] == b'$'
                            || b[i] >= 0x80)
                    {
                        i += 1;
                    }
                    Tok::Ident {
                        text: sql[start..i].to_string(),
                        quoted: false,
                    }
                }
                _ => {
                    i += 1;
                    Tok::Other
                }
            };
            out.push(Token { tok, start, end: i });
        }
        out
    }

    /// The tokens inside the parenthesised group opening at `open`, and the
    /// index just past its close.
    fn group_at(tokens: &[Token], open: usize) -> (&[Token], usize) {
        let mut depth = 0;
        for (j, t) in tokens.iter().enumerate().skip(open) {
            match t.tok {
                Tok::Open => depth += 1,
                Tok::Close => {
                    depth -= 1;
                    if depth == 0 {
                        return (&tokens[open + 1..j], j + 1);
                    }
                }
                _ => {}
            }
        }
        (&tokens[(open + 1).min(tokens.len())..], tokens.len())
    }

    /// The first name of each comma-separated item: `(a, "b c" DESC)` → a, b c.
    fn column_list(tokens: &[Token]) -> Vec<String> {
        let mut out = Vec::new();
        let mut take = true;
        for t in tokens {
            match t.tok {
                Tok::Comma => take = true,
                _ if take => {
                    if let Some(n) = t.name() {
                        out.push(n);
                    }
                    take = false;
                }
                _ => {}
            }
        }
        out
    }

    impl TableDdl {
        pub(super) fn parse(sql: &str) -> TableDdl {
            let tokens = tokenize(sql);
            let Some(open) = tokens.iter().position(|t| t.tok == Tok::Open) else {
                return TableDdl::default();
            };
            let (body, _) = group_at(&tokens, open);
            // Split the body into column definitions and table constraints.
            let mut elements: Vec<&[Token]> = Vec::new();
            let mut depth = 0;
            let mut from = 0;
            for (j, t) in body.iter().enumerate() {
                match t.tok {
                    Tok::Open => depth += 1,
                    Tok::Close => depth -= 1,
                    Tok::Comma if depth == 0 => {
                        elements.push(&body[from..j]);
                        from = j + 1;
                    }
                    _ => {}
                }
            }
            elements.push(&body[from..]);
            let mut constraints = Vec::new();
            for el in elements.into_iter().filter(|e| !e.is_empty()) {
                let table_level = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"]
                    .iter()
                    .any(|k| el[0].keyword(k));
                let (column, rest) = if table_level {
                    (None, el)
                } else {
                    (el[0].name(), &el[1..])
                };
                scan(sql, column, rest, &mut constraints);
            }
            TableDdl { constraints }
        }
    }

    /// Find the constraints in one element: a column definition's
    /// (`column` is its name) or a table constraint.
    fn scan(sql: &str, column: Option<String>, tokens: &[Token], out: &mut Vec<Constraint>) {
        let mut i = 0;
        let mut name: Option<String> = None;
        while i < tokens.len() {
            let t = &tokens[i];
            if t.keyword("CONSTRAINT") {
                name = tokens.get(i + 1).and_then(Token::name);
                i += 2;
                continue;
            }
            let kind = if t.keyword("PRIMARY") {
                Some(Kind::PrimaryKey)
            } else if t.keyword("UNIQUE") {
                Some(Kind::Unique)
            } else if t.keyword("CHECK") {
                Some(Kind::Check)
            } else if t.keyword("FOREIGN") || t.keyword("REFERENCES") {
                Some(Kind::ForeignKey)
            } else {
                None
            };
            let Some(kind) = kind else {
                if matches!(t.tok, Tok::Open) {
                    i = group_at(tokens, i).1;
                } else {
                    i += 1;
                }
                continue;
            };
            // PRIMARY KEY (…), UNIQUE (…), CHECK (…), FOREIGN KEY (…): the
            // group that follows, if any (a column constraint has none).
            let mut j = i + 1;
            if tokens.get(j).is_some_and(|k| k.keyword("KEY")) {
                j += 1;
            }
            let has_group =
                !t.keyword("REFERENCES") && tokens.get(j).is_some_and(|k| k.tok == Tok::Open);
            let (inner, next) = if has_group {
                group_at(tokens, j)
            } else {
                (&tokens[0..0], j)
            };
            let mut c = Constraint {
                name: name.take(),
                kind,
                columns: match &column {
                    Some(c) => vec![c.clone()],
                    None => column_list(inner),
                },
                check_sql: None,
            };
            if kind == Kind::Check && has_group {
                if let (Some(first), Some(last)) = (inner.first(), inner.last()) {
                    c.check_sql = Some(sql[first.start..last.end].trim().to_string());
                }
                c.columns = Vec::new();
            }
            // Skip a foreign key's REFERENCES clause so it is not read twice.
            let mut next = next;
            if kind == Kind::ForeignKey {
                if tokens.get(next).is_some_and(|k| k.keyword("REFERENCES")) {
                    next += 1;
                }
                while next < tokens.len()
                    && !["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "NOT", "DEFAULT"]
                        .iter()
                        .any(|k| tokens[next].keyword(k))
                {
                    next = if matches!(tokens[next].tok, Tok::Open) {
                        group_at(tokens, next).1
                    } else {
                        next + 1
                    };
                }
            }
            out.push(c);
            i = next;
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn parses_named_constraints() {
            let ddl = TableDdl::parse(
                "CREATE TABLE \"order\" (\n  id INTEGER CONSTRAINT pk_order PRIMARY KEY AUTOINCREMENT,\n\
                 \"select\" TEXT CONSTRAINT uq_sel UNIQUE,\n  [my col é] INT CONSTRAINT fk_x REFERENCES t(id) ON DELETE CASCADE,\n\
                 a INT CHECK (a > 0), -- unnamed\n\
                 CONSTRAINT ck_order_a CHECK (a < (10 + 1)),\n\
                 CONSTRAINT fk_ab FOREIGN KEY (a, \"select\") REFERENCES u (x, y),\n\
                 CONSTRAINT uq_ab UNIQUE (a, \"select\")\n)",
            );
            type Found<'a> = (Option<&'a str>, Kind, Vec<&'a str>, Option<&'a str>);
            let got: Vec<Found> = ddl
                .constraints
                .iter()
                .map(|c| {
                    (
                        c.name.as_deref(),
                        c.kind,
                        c.columns.iter().map(String::as_str).collect(),
                        c.check_sql.as_deref(),
                    )
                })
                .collect();
            assert_eq!(
                got,
                vec![
                    (Some("pk_order"), Kind::PrimaryKey, vec!["id"], None),
                    (Some("uq_sel"), Kind::Unique, vec!["select"], None),
                    (Some("fk_x"), Kind::ForeignKey, vec!["my col é"], None),
                    (None, Kind::Check, vec![], Some("a > 0")),
                    (
                        Some("ck_order_a"),
                        Kind::Check,
                        vec![],
                        Some("a < (10 + 1)")
                    ),
                    (Some("fk_ab"), Kind::ForeignKey, vec!["a", "select"], None),
                    (Some("uq_ab"), Kind::Unique, vec!["a", "select"], None),
                ]
            );
        }

        #[test]
        fn sqlite_types_follow_names_then_affinity() {
            assert_eq!(sql_type("VARCHAR(200)"), SqlType::String(Some(200)));
            assert_eq!(sql_type("numeric(20, 4)"), SqlType::numeric(20, 4));
            assert_eq!(sql_type("CHAR(32)"), SqlType::String(Some(32)));
            assert_eq!(sql_type("DATETIME"), SqlType::datetime());
            assert_eq!(sql_type("BOOLEAN"), SqlType::Boolean);
            assert_eq!(sql_type("JSON"), SqlType::Json);
            assert_eq!(sql_type(""), SqlType::LargeBinary);
            assert_eq!(sql_type("UNSIGNED BIG INT"), SqlType::Integer);
            assert_eq!(sql_type("LONG VARCHAR"), SqlType::Text);
            assert_eq!(sql_type("DOUBLE PRECISION"), SqlType::Float);
            assert_eq!(
                sql_type("MONEY"),
                SqlType::Numeric {
                    precision: None,
                    scale: None
                }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_text_is_unwrapped() {
        assert_eq!(
            strip_check("CHECK (balance >= 0::numeric)"),
            "balance >= 0::numeric"
        );
        assert_eq!(
            strip_check("CHECK ((a > 0) AND (b > 0))"),
            "(a > 0) AND (b > 0)"
        );
        assert_eq!(unwrap_parens("(a) + (b)"), "(a) + (b)");
    }

    #[test]
    fn mysql_enum_labels() {
        assert_eq!(my::enum_labels("enum('a','it''s','C')"), ["a", "it's", "C"]);
    }
}
