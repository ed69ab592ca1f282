//! Ops: what an upgrade or a downgrade does, recorded by the revision's
//! body and run afterwards by the runner (Alembic's `op.*`).
//!
//! The DDL comes from Aludel Core's [`DdlCompiler`] (tables, columns,
//! `ALTER`s, indexes, constraints, enum types, comments), every identifier
//! quoted by the dialect. On SQLite, what its `ALTER TABLE` cannot do is a
//! table rebuild ([`crate::batch`]). Values are always bound, except a
//! column's DEFAULT, which DDL cannot bind and the dialect renders as an
//! escaped literal.

use std::future::Future;
use std::pin::Pin;

use aludel_core::schema::ReflectedColumn;
pub use aludel_core::schema::{AlterColumn, ConstraintKind};
use aludel_core::schema::{Column, DdlCompiler, ForeignKey, Index, Inspector, MetaData, Table};
use aludel_core::sql::{insert, Expr};
use aludel_core::url::Backend;

use crate::batch;
use aludel_core::{params, text, Connection, Params};

/// A boxed, sendable future: what a data-migration closure given to
/// [`Ops::run`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

type RunFn = Box<
    dyn for<'c> FnOnce(&'c mut Connection) -> BoxFuture<'c, aludel_core::Result<()>> + Send + Sync,
>;

/// The ops of one upgrade or downgrade, in order: Alembic's `op`.
///
/// A revision's body records ops here; nothing touches the database until
/// the runner runs them, one after the other, on the connection of the
/// revision's transaction. Every op is listed in the [crate docs](crate).
///
/// ```
/// use aludel_core::schema::{Column, SqlType, Table};
/// use aludel_core::params;
/// use aludel_migrate::Ops;
/// let mut op = Ops::new();
/// let account = Table::builder("account")
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("name", SqlType::string(50)).not_null())
///     .build()?;
/// op.create_table(&account);
/// op.create_index("ix_account_name", "account", ["name"], false);
/// op.bulk_insert(&account, [params! { "id": 1, "name": "Ada" }]);
/// assert_eq!(
///     op.describe(),
///     ["create_table \"account\"", "create_index \"ix_account_name\" on \"account\"", "bulk_insert 1 row into \"account\""]
/// );
/// # Ok::<(), aludel_core::Error>(())
/// ```
#[derive(Default)]
pub struct Ops {
    ops: Vec<Op>,
}

pub(crate) enum Op {
    CreateTable(Table),
    DropTable(String),
    RenameTable(String, String),
    AddColumn(String, Column),
    DropColumn(String, String),
    CreateIndex {
        name: String,
        table: String,
        columns: Vec<String>,
        unique: bool,
    },
    DropIndex(String, String),
    AlterColumn(String, String, AlterColumn),
    CreateForeignKey(String, ForeignKey),
    CreateUnique(String, String, Vec<String>),
    CreateCheck(String, String, String),
    DropConstraint(String, String, ConstraintKind),
    Execute(String, Params),
    BulkInsert(Table, Vec<Params>),
    Run(String, RunFn),
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.describe()).finish()
    }
}

impl Ops {
    /// No ops yet.
    pub fn new() -> Self {
        Ops::default()
    }

    /// How many ops were recorded.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when none were.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// One line per op, as logs and error messages name them.
    pub fn describe(&self) -> Vec<String> {
        self.ops.iter().map(Op::describe).collect()
    }

    /// `CREATE TABLE` with its constraints and indexes (and, on
    /// PostgreSQL, the enum types it uses that do not exist yet), as
    /// [`MetaData::create_all`] would create it. Constraints without a name
    /// get the default naming convention's.
    pub fn create_table(&mut self, table: &Table) -> &mut Self {
        self.push(Op::CreateTable(table.clone()))
    }

    /// `DROP TABLE` (its indexes and constraints go with it).
    pub fn drop_table(&mut self, name: impl Into<String>) -> &mut Self {
        self.push(Op::DropTable(name.into()))
    }

    /// `ALTER TABLE old RENAME TO new`.
    pub fn rename_table(&mut self, old: impl Into<String>, new: impl Into<String>) -> &mut Self {
        self.push(Op::RenameTable(old.into(), new.into()))
    }

    /// `ALTER TABLE … ADD COLUMN`, then what the column declares besides
    /// its definition: a foreign key (inline on SQLite, `ADD CONSTRAINT`
    /// elsewhere), a unique constraint (a unique index on SQLite, which
    /// cannot add one), an index, a comment.
    ///
    /// SQLite refuses a NOT NULL column without a server default here, as
    /// it refuses it in any `ADD COLUMN`.
    pub fn add_column(&mut self, table: impl Into<String>, column: Column) -> &mut Self {
        self.push(Op::AddColumn(table.into(), column))
    }

    /// `ALTER TABLE … DROP COLUMN`. On SQLite a column that an index, a
    /// key or a constraint uses (or any column, before SQLite 3.35) is
    /// dropped by rebuilding the table (batch mode), which also drops the
    /// indexes, unique constraints and foreign keys that use it.
    pub fn drop_column(
        &mut self,
        table: impl Into<String>,
        column: impl Into<String>,
    ) -> &mut Self {
        self.push(Op::DropColumn(table.into(), column.into()))
    }

    /// `CREATE [UNIQUE] INDEX name ON table (columns)`.
    pub fn create_index<I, S>(
        &mut self,
        name: impl Into<String>,
        table: impl Into<String>,
        columns: I,
        unique: bool,
    ) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.push(Op::CreateIndex {
            name: name.into(),
            table: table.into(),
            columns: columns.into_iter().map(Into::into).collect(),
            unique,
        })
    }

    /// `DROP INDEX` (`DROP INDEX … ON table` on MySQL, which needs the
    /// table).
    pub fn drop_index(&mut self, name: impl Into<String>, table: impl Into<String>) -> &mut Self {
        self.push(Op::DropIndex(name.into(), table.into()))
    }

    /// Change a column's type, nullability, server default or name
    /// (Alembic's `alter_column`). PostgreSQL gets one `ALTER COLUMN` per
    /// change, then `RENAME COLUMN`; MySQL one `CHANGE COLUMN` restating
    /// the whole column, whose current definition is read from
    /// `information_schema` on the migration's connection (so the
    /// `existing_*` arguments Alembic needs there are not needed here).
    /// SQLite renames natively; its other changes rebuild the table (batch
    /// mode: new table, copy, drop, rename, indexes again), keeping the
    /// rows, indexes and foreign keys.
    ///
    /// ```
    /// use aludel_core::schema::SqlType;
    /// use aludel_migrate::{AlterColumn, Ops};
    /// let mut op = Ops::new();
    /// op.alter_column("account", "name", AlterColumn::new().sql_type(SqlType::string(200)));
    /// assert_eq!(op.describe(), ["alter_column \"account\".\"name\""]);
    /// ```
    pub fn alter_column(
        &mut self,
        table: impl Into<String>,
        column: impl Into<String>,
        change: AlterColumn,
    ) -> &mut Self {
        self.push(Op::AlterColumn(table.into(), column.into(), change))
    }

    /// `ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY` on `table`; a
    /// foreign key without a name gets the naming convention's
    /// (`fk_<table>_<columns>_<referred>`). SQLite rebuilds the table.
    pub fn create_foreign_key(&mut self, table: impl Into<String>, fk: ForeignKey) -> &mut Self {
        self.push(Op::CreateForeignKey(table.into(), fk))
    }

    /// `ALTER TABLE … ADD CONSTRAINT name UNIQUE (columns)`. SQLite
    /// rebuilds the table.
    pub fn create_unique_constraint<I, S>(
        &mut self,
        name: impl Into<String>,
        table: impl Into<String>,
        columns: I,
    ) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let columns = columns.into_iter().map(Into::into).collect();
        self.push(Op::CreateUnique(name.into(), table.into(), columns))
    }

    /// `ALTER TABLE … ADD CONSTRAINT name CHECK (condition)`; the
    /// condition is SQL written as is. SQLite rebuilds the table. Under
    /// the default naming convention the name should be
    /// `ck_<table>_<something>`: a table rebuilt later on SQLite names its
    /// checks that way.
    pub fn create_check_constraint(
        &mut self,
        name: impl Into<String>,
        table: impl Into<String>,
        condition: impl Into<String>,
    ) -> &mut Self {
        self.push(Op::CreateCheck(name.into(), table.into(), condition.into()))
    }

    /// Drop the constraint `name` of `table`: `DROP CONSTRAINT` on
    /// PostgreSQL; on MySQL `DROP FOREIGN KEY`, `DROP INDEX`, `DROP
    /// CONSTRAINT` or `DROP PRIMARY KEY` by `kind`. SQLite rebuilds the
    /// table without it.
    pub fn drop_constraint(
        &mut self,
        name: impl Into<String>,
        table: impl Into<String>,
        kind: ConstraintKind,
    ) -> &mut Self {
        self.push(Op::DropConstraint(name.into(), table.into(), kind))
    }

    /// Raw SQL, with no parameters (Alembic's `op.execute`). Text between
    /// quotes and `::` casts are left alone; a `:name` would be a bind, so
    /// use [`execute_with`](Ops::execute_with) for values.
    pub fn execute(&mut self, sql: impl Into<String>) -> &mut Self {
        self.push(Op::Execute(sql.into(), Params::new()))
    }

    /// SQL with `:name` binds and their values (values are bound, never
    /// spliced into the SQL).
    ///
    /// ```
    /// use aludel_core::params;
    /// let mut op = aludel_migrate::Ops::new();
    /// op.execute_with("UPDATE account SET plan = :plan WHERE plan IS NULL", params! { "plan": "free" });
    /// assert_eq!(op.len(), 1);
    /// ```
    pub fn execute_with(&mut self, sql: impl Into<String>, params: Params) -> &mut Self {
        self.push(Op::Execute(sql.into(), params))
    }

    /// Insert rows into `table` (Alembic's `op.bulk_insert`): multi-row
    /// `INSERT`s with bound values, in batches under every backend's
    /// parameter limit. Every row names the same columns. `table` needs only
    /// the columns the rows name: the table given to
    /// [`create_table`](Ops::create_table), or a lightweight one built for
    /// the purpose.
    pub fn bulk_insert<I>(&mut self, table: &Table, rows: I) -> &mut Self
    where
        I: IntoIterator<Item = Params>,
    {
        self.push(Op::BulkInsert(table.clone(), rows.into_iter().collect()))
    }

    /// A data migration with the connection in hand: `f` gets the
    /// connection of the revision's transaction (Alembic's
    /// `op.get_bind()`), and may read and write anything. `label` names the
    /// op in logs and errors. It must not commit or roll back: on
    /// PostgreSQL and SQLite that would end the revision's transaction.
    ///
    /// ```
    /// use aludel_core::{text, Connection};
    /// let mut op = aludel_migrate::Ops::new();
    /// op.run("backfill slugs", |conn: &mut Connection| Box::pin(async move {
    ///     let names: Vec<String> = conn.execute(text("SELECT name FROM account"), ()).await?.scalars()?;
    ///     for name in names {
    ///         let slug = name.to_lowercase().replace(' ', "-");
    ///         conn.execute(text("UPDATE account SET slug = :s WHERE name = :n"),
    ///             aludel_core::params! { "s": slug, "n": name }).await?;
    ///     }
    ///     Ok(())
    /// }));
    /// assert_eq!(op.describe(), ["run \"backfill slugs\""]);
    /// ```
    pub fn run<F>(&mut self, label: impl Into<String>, f: F) -> &mut Self
    where
        F: for<'c> FnOnce(&'c mut Connection) -> BoxFuture<'c, aludel_core::Result<()>>
            + Send
            + Sync
            + 'static,
    {
        self.push(Op::Run(label.into(), Box::new(f)))
    }

    fn push(&mut self, op: Op) -> &mut Self {
        self.ops.push(op);
        self
    }

    pub(crate) fn into_ops(self) -> Vec<RunnableOp> {
        self.ops.into_iter().map(RunnableOp).collect()
    }
}

/// One recorded op, ready to run.
pub(crate) struct RunnableOp(pub(crate) Op);

impl RunnableOp {
    pub(crate) fn describe(&self) -> String {
        self.0.describe()
    }

    pub(crate) async fn run(self, conn: &mut Connection) -> aludel_core::Result<()> {
        self.0.run(conn).await
    }

    /// Whether the op may rebuild a table on SQLite.
    pub(crate) fn may_rebuild(&self) -> bool {
        self.0.may_rebuild()
    }
}

fn metadata_of(table: &Table) -> aludel_core::Result<MetaData> {
    let mut md = MetaData::new();
    md.add(table.clone())?;
    Ok(md)
}

impl Op {
    fn describe(&self) -> String {
        match self {
            Op::CreateTable(t) => format!("create_table \"{}\"", t.name()),
            Op::DropTable(t) => format!("drop_table \"{t}\""),
            Op::RenameTable(a, b) => format!("rename_table \"{a}\" to \"{b}\""),
            Op::AddColumn(t, c) => format!("add_column \"{t}\".\"{}\"", c.name()),
            Op::DropColumn(t, c) => format!("drop_column \"{t}\".\"{c}\""),
            Op::CreateIndex { name, table, .. } => {
                format!("create_index \"{name}\" on \"{table}\"")
            }
            Op::DropIndex(n, t) => format!("drop_index \"{n}\" on \"{t}\""),
            Op::AlterColumn(t, c, _) => format!("alter_column \"{t}\".\"{c}\""),
            Op::CreateForeignKey(t, fk) => format!(
                "create_foreign_key {}on \"{t}\"",
                fk.name
                    .as_ref()
                    .map(|n| format!("\"{n}\" "))
                    .unwrap_or_default()
            ),
            Op::CreateUnique(n, t, _) => format!("create_unique_constraint \"{n}\" on \"{t}\""),
            Op::CreateCheck(n, t, _) => format!("create_check_constraint \"{n}\" on \"{t}\""),
            Op::DropConstraint(n, t, _) => format!("drop_constraint \"{n}\" on \"{t}\""),
            Op::Execute(sql, _) => {
                let mut s: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
                if let Some((cut, _)) = s.char_indices().nth(60) {
                    s.truncate(cut);
                    s.push('…');
                }
                format!("execute {s:?}")
            }
            Op::BulkInsert(t, rows) => format!(
                "bulk_insert {} row{} into \"{}\"",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" },
                t.name()
            ),
            Op::Run(label, _) => format!("run \"{label}\""),
        }
    }

    /// Whether this op may rebuild a table on SQLite (batch mode), which
    /// the runner runs with foreign key enforcement off (see
    /// [`crate::batch`]).
    fn may_rebuild(&self) -> bool {
        match self {
            Op::AlterColumn(_, _, change) => !change.is_rename_only(),
            Op::DropColumn(..)
            | Op::CreateForeignKey(..)
            | Op::CreateUnique(..)
            | Op::CreateCheck(..)
            | Op::DropConstraint(..) => true,
            _ => false,
        }
    }

    async fn run(self, conn: &mut Connection) -> aludel_core::Result<()> {
        let dialect = conn.dialect().clone();
        let sqlite = dialect.backend() == Backend::Sqlite;
        let empty = MetaData::new();
        let ddl = DdlCompiler::new(&dialect, &empty);
        match self {
            Op::CreateTable(table) => {
                let md = metadata_of(&table)?;
                let ddl = DdlCompiler::new(&dialect, &md);
                create_enum_types(conn, &ddl, &table).await?;
                exec(conn, &ddl.create_table(&table)?).await?;
                for sql in ddl
                    .comments(&table)?
                    .into_iter()
                    .chain(ddl.create_indexes(&table))
                {
                    exec(conn, &sql).await?;
                }
            }
            Op::DropTable(name) => {
                let t = Table::builder(name).build()?;
                exec(conn, &ddl.drop_table(&t)).await?
            }
            Op::RenameTable(a, b) => exec(conn, &ddl.rename_table(&a, &b)).await?,
            Op::AddColumn(table, column) => {
                let t = Table::builder(table.clone())
                    .column(column.clone())
                    .build()?;
                let md = metadata_of(&t)?;
                create_enum_types(conn, &DdlCompiler::new(&dialect, &md), &t).await?;
                for sql in ddl.add_column(&table, &column)? {
                    exec(conn, &sql).await?;
                }
            }
            Op::DropColumn(table, column) => {
                if sqlite && batch::drop_column_needs_rebuild(conn, &table, &column).await? {
                    batch::rebuild(conn, &table, batch::Change::DropColumn(&column)).await?;
                } else {
                    exec(conn, &ddl.drop_column(&table, &column)).await?
                }
            }
            Op::CreateIndex {
                name,
                table,
                columns,
                unique,
            } => {
                let index = Index {
                    name: Some(name),
                    columns,
                    unique,
                };
                exec(conn, &ddl.create_index_on(&table, &index)).await?;
            }
            Op::DropIndex(name, table) => exec(conn, &ddl.drop_index_named(&table, &name)).await?,
            Op::AlterColumn(table, column, change) => {
                if sqlite && !change.is_rename_only() {
                    batch::rebuild(conn, &table, batch::Change::AlterColumn(&column, &change))
                        .await?;
                } else {
                    let existing = if dialect.backend() == Backend::Mysql {
                        Some(existing_column(conn, &table, &column).await?)
                    } else {
                        None
                    };
                    for sql in ddl.alter_column(&table, &column, &change, existing.as_ref())? {
                        exec(conn, &sql).await?;
                    }
                }
            }
            Op::CreateForeignKey(table, fk) => {
                if sqlite {
                    batch::rebuild(conn, &table, batch::Change::AddForeignKey(&fk)).await?;
                } else {
                    exec(conn, &ddl.add_foreign_key_to(&table, &fk)?).await?;
                }
            }
            Op::CreateUnique(name, table, columns) => {
                if sqlite {
                    batch::rebuild(conn, &table, batch::Change::AddUnique(&name, &columns)).await?;
                } else {
                    exec(conn, &ddl.add_unique_constraint(&table, &name, &columns)?).await?;
                }
            }
            Op::CreateCheck(name, table, condition) => {
                if sqlite {
                    batch::rebuild(conn, &table, batch::Change::AddCheck(&name, &condition))
                        .await?;
                } else {
                    exec(conn, &ddl.add_check_constraint(&table, &name, &condition)?).await?;
                }
            }
            Op::DropConstraint(name, table, kind) => {
                if sqlite {
                    batch::rebuild(conn, &table, batch::Change::DropConstraint(&name, kind))
                        .await?;
                } else {
                    exec(conn, &ddl.drop_constraint(&table, &name, kind)?).await?;
                }
            }
            Op::Execute(sql, params) => {
                conn.execute(text(sql), params).await?;
            }
            Op::BulkInsert(table, rows) => {
                let width = rows.first().map_or(1, |r| r.len().max(1));
                // Every backend takes at least 32 766 parameters per statement.
                let per = (30_000 / width).clamp(1, 1_000);
                for chunk in rows.chunks(per) {
                    let stmt = insert(&table).values_many(chunk.iter().map(|row| {
                        row.as_slice()
                            .iter()
                            .map(|(k, v)| (&**k, Expr::from(v.clone())))
                            .collect::<Vec<_>>()
                    }));
                    conn.execute(&stmt, ()).await?;
                }
            }
            Op::Run(_, f) => f(conn).await?,
        }
        Ok(())
    }
}

/// The column as the database has it now (MySQL's `CHANGE COLUMN`
/// restates it).
async fn existing_column(
    conn: &mut Connection,
    table: &str,
    column: &str,
) -> aludel_core::Result<ReflectedColumn> {
    Inspector::columns_on(conn, table)
        .await?
        .into_iter()
        .find(|c| c.name == column)
        .ok_or_else(|| {
            aludel_core::Error::new(
                aludel_core::ErrorKind::Syntax,
                format!("alter_column: no column \"{column}\" on table \"{table}\""),
            )
            .with_table(Some(table.to_string()))
            .with_column(Some(column.to_string()))
        })
}

pub(crate) async fn exec(conn: &mut Connection, sql: &str) -> aludel_core::Result<()> {
    conn.exec_driver_sql(sql, &[]).await?;
    Ok(())
}

/// `CREATE TYPE` for the PostgreSQL enum types `table` uses that do not
/// exist yet (no-op elsewhere).
async fn create_enum_types(
    conn: &mut Connection,
    ddl: &DdlCompiler<'_>,
    table: &Table,
) -> aludel_core::Result<()> {
    for (name, sql) in ddl.create_enum_types(table)? {
        let n: i64 = conn
            .execute(
                text(
                    "SELECT count(*) FROM pg_catalog.pg_type t \
                     JOIN pg_catalog.pg_namespace s ON s.oid = t.typnamespace \
                     WHERE s.nspname = current_schema() AND t.typname = :name",
                ),
                params! { "name": name },
            )
            .await?
            .scalar_one()?;
        if n == 0 {
            exec(conn, &sql).await?;
        }
    }
    Ok(())
}
