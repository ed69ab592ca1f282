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

mod mysql;
mod postgres;
mod sqlite;

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
        let mut conn = Inspector::new(engine).connect().await?;
        MetaData::reflect_on(&mut conn).await
    }

    /// [`reflect`](MetaData::reflect) through a connection the caller
    /// holds, inside its transaction if one is open: a migration sees the
    /// tables its own uncommitted DDL made.
    ///
    /// ```
    /// # aludel_core::doctest::run(|mut conn| async move {
    /// use aludel_core::schema::MetaData;
    /// use aludel_core::text;
    /// conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"), ()).await?;
    /// let md = MetaData::reflect_on(&mut conn).await?; // the CREATE is not committed
    /// assert_eq!(md.table("notes").unwrap().columns().len(), 2);
    /// # Ok(()) });
    /// ```
    ///
    /// # Errors
    /// As [`reflect`](MetaData::reflect).
    pub async fn reflect_on(conn: &mut Connection) -> Result<MetaData> {
        let mut metadata = MetaData::new();
        for name in table_names(conn).await? {
            metadata.add(Inspector::reflect_table_on(conn, &name).await?)?;
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
        table_names(&mut conn).await
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
        Inspector::reflect_table_on(&mut conn, table).await
    }

    /// [`table_names`](Inspector::table_names) read through `conn`, inside
    /// its transaction if one is open (so uncommitted DDL is seen).
    ///
    /// # Errors
    /// Whatever the catalog query reports.
    pub async fn table_names_on(conn: &mut Connection) -> Result<Vec<String>> {
        table_names(conn).await
    }

    /// [`has_table`](Inspector::has_table) read through `conn`.
    ///
    /// ```
    /// # aludel_core::doctest::run(|mut conn| async move {
    /// use aludel_core::schema::Inspector;
    /// use aludel_core::text;
    /// assert!(!Inspector::has_table_on(&mut conn, "notes").await?);
    /// conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY)"), ()).await?;
    /// assert!(Inspector::has_table_on(&mut conn, "notes").await?);
    /// # Ok(()) });
    /// ```
    ///
    /// # Errors
    /// Whatever the catalog query reports.
    pub async fn has_table_on(conn: &mut Connection, table: &str) -> Result<bool> {
        has_table(conn, table).await
    }

    /// [`columns`](Inspector::columns) read through `conn`.
    ///
    /// # Errors
    /// As [`columns`](Inspector::columns).
    pub async fn columns_on(conn: &mut Connection, table: &str) -> Result<Vec<ReflectedColumn>> {
        columns(conn, table).await
    }

    /// [`primary_key`](Inspector::primary_key) read through `conn`.
    ///
    /// # Errors
    /// As [`primary_key`](Inspector::primary_key).
    pub async fn primary_key_on(conn: &mut Connection, table: &str) -> Result<ReflectedPrimaryKey> {
        primary_key(conn, table).await
    }

    /// [`foreign_keys`](Inspector::foreign_keys) read through `conn`.
    ///
    /// # Errors
    /// As [`foreign_keys`](Inspector::foreign_keys).
    pub async fn foreign_keys_on(conn: &mut Connection, table: &str) -> Result<Vec<ForeignKey>> {
        foreign_keys(conn, table).await
    }

    /// [`indexes`](Inspector::indexes) read through `conn`.
    ///
    /// # Errors
    /// As [`indexes`](Inspector::indexes).
    pub async fn indexes_on(conn: &mut Connection, table: &str) -> Result<Vec<Index>> {
        indexes(conn, table).await
    }

    /// [`unique_constraints`](Inspector::unique_constraints) read through `conn`.
    ///
    /// # Errors
    /// As [`unique_constraints`](Inspector::unique_constraints).
    pub async fn unique_constraints_on(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<UniqueConstraint>> {
        unique_constraints(conn, table).await
    }

    /// [`check_constraints`](Inspector::check_constraints) read through `conn`.
    ///
    /// # Errors
    /// As [`check_constraints`](Inspector::check_constraints).
    pub async fn check_constraints_on(
        conn: &mut Connection,
        table: &str,
    ) -> Result<Vec<CheckConstraint>> {
        check_constraints(conn, table).await
    }

    /// [`reflect_table`](Inspector::reflect_table) read through `conn`,
    /// inside its transaction if one is open: what a migration uses to see
    /// the table as its own earlier, uncommitted ops left it.
    ///
    /// ```
    /// # aludel_core::doctest::run(|mut conn| async move {
    /// use aludel_core::schema::Inspector;
    /// use aludel_core::text;
    /// conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"), ()).await?;
    /// let notes = Inspector::reflect_table_on(&mut conn, "notes").await?;
    /// assert_eq!(notes.primary_key(), ["id"]);
    /// assert!(!notes.column("body")?.is_nullable());
    /// # Ok(()) });
    /// ```
    ///
    /// # Errors
    /// As [`reflect_table`](Inspector::reflect_table).
    pub async fn reflect_table_on(conn: &mut Connection, table: &str) -> Result<Table> {
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
        Backend::Postgres => format!("SELECT {} IS NOT NULL", postgres::TABLE),
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
        Backend::Postgres => postgres::columns(conn, table).await?,
        Backend::Mysql => mysql::columns(conn, table).await?,
        _ => sqlite::columns(conn, table).await?,
    };
    if cols.is_empty() {
        return Err(no_such_table(conn, table).await);
    }
    Ok(cols)
}

async fn primary_key(conn: &mut Connection, table: &str) -> Result<ReflectedPrimaryKey> {
    let pk = match backend(conn) {
        Backend::Postgres => postgres::primary_key(conn, table).await?,
        Backend::Mysql => mysql::primary_key(conn, table).await?,
        _ => sqlite::primary_key(conn, table).await?,
    };
    ensure_exists(conn, table, pk.columns.is_empty()).await?;
    Ok(pk)
}

async fn foreign_keys(conn: &mut Connection, table: &str) -> Result<Vec<ForeignKey>> {
    let fks = match backend(conn) {
        Backend::Postgres => postgres::foreign_keys(conn, table).await?,
        Backend::Mysql => mysql::foreign_keys(conn, table).await?,
        _ => sqlite::foreign_keys(conn, table).await?,
    };
    ensure_exists(conn, table, fks.is_empty()).await?;
    let mut fks = fks;
    fks.sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
    Ok(fks)
}

async fn indexes(conn: &mut Connection, table: &str) -> Result<Vec<Index>> {
    let idx = match backend(conn) {
        Backend::Postgres => postgres::indexes(conn, table).await?,
        Backend::Mysql => mysql::indexes(conn, table).await?,
        _ => sqlite::indexes(conn, table, false).await?,
    };
    ensure_exists(conn, table, idx.is_empty()).await?;
    let mut idx: Vec<Index> = idx.into_iter().map(|(_, ix)| ix).collect();
    idx.sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
    Ok(idx)
}

async fn unique_constraints(conn: &mut Connection, table: &str) -> Result<Vec<UniqueConstraint>> {
    let uqs = match backend(conn) {
        Backend::Postgres => postgres::unique_constraints(conn, table).await?,
        Backend::Mysql => mysql::unique_constraints(conn, table).await?,
        _ => sqlite::unique_constraints(conn, table).await?,
    };
    ensure_exists(conn, table, uqs.is_empty()).await?;
    let mut uqs = uqs;
    uqs.sort_by(|a, b| (&a.name, &a.columns).cmp(&(&b.name, &b.columns)));
    Ok(uqs)
}

async fn check_constraints(conn: &mut Connection, table: &str) -> Result<Vec<CheckConstraint>> {
    let cks = match backend(conn) {
        Backend::Postgres => postgres::check_constraints(conn, table).await?,
        Backend::Mysql => mysql::check_constraints(conn, table)
            .await?
            .into_iter()
            .filter(|ck| !mysql::is_json_check(ck))
            .collect(),
        _ => sqlite::check_constraints(conn, table).await?,
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
        assert_eq!(
            mysql::enum_labels("enum('a','it''s','C')"),
            ["a", "it's", "C"]
        );
    }
}
