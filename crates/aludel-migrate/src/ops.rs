//! Ops: what an upgrade or a downgrade does, recorded by the revision's
//! body and run afterwards by the runner (Alembic's `op.*`).
//!
//! The DDL comes from Aludel Core's [`DdlCompiler`] wherever it has the
//! statement (tables, column definitions, indexes, foreign keys, enum
//! types, comments); the few `ALTER TABLE` forms it lacks are written here
//! with every identifier quoted by the dialect. Values are always bound,
//! except a column's DEFAULT, which DDL cannot bind and the dialect
//! renders as an escaped literal.

use std::future::Future;
use std::pin::Pin;

use aludel_core::schema::{
    Column, DdlCompiler, ForeignKey, Index, MetaData, ServerDefault, SqlType, Table,
};
use aludel_core::sql::{insert, Expr};
use aludel_core::url::Backend;
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

enum Op {
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

/// What [`Ops::alter_column`] changes (Alembic's `alter_column` keywords).
/// Each part left unset keeps what the column has.
///
/// ```
/// use aludel_core::schema::SqlType;
/// use aludel_migrate::AlterColumn;
/// let change = AlterColumn::new()
///     .sql_type(SqlType::string(200))
///     .nullable(false)
///     .server_default("anonymous")
///     .rename("full_name");
/// # let _ = change;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlterColumn {
    pub(crate) sql_type: Option<SqlType>,
    pub(crate) nullable: Option<bool>,
    pub(crate) default: Option<Option<ServerDefault>>,
    pub(crate) new_name: Option<String>,
}

impl AlterColumn {
    /// No change yet.
    pub fn new() -> Self {
        AlterColumn::default()
    }

    /// A new type (`type_=`).
    pub fn sql_type(mut self, ty: SqlType) -> Self {
        self.sql_type = Some(ty);
        self
    }

    /// NULL allowed or not (`nullable=`).
    pub fn nullable(mut self, nullable: bool) -> Self {
        self.nullable = Some(nullable);
        self
    }

    /// A new server default, a literal value rendered by the dialect
    /// (`server_default=`).
    pub fn server_default(mut self, value: impl Into<aludel_core::Value>) -> Self {
        self.default = Some(Some(ServerDefault::Value(value.into())));
        self
    }

    /// A new server default written as SQL (`CURRENT_TIMESTAMP`); never
    /// build it from user input.
    pub fn server_default_sql(mut self, sql: impl Into<String>) -> Self {
        self.default = Some(Some(ServerDefault::Sql(sql.into())));
        self
    }

    /// Remove the server default (`server_default=None`).
    pub fn drop_server_default(mut self) -> Self {
        self.default = Some(None);
        self
    }

    /// Rename the column (`new_column_name=`).
    pub fn rename(mut self, new_name: impl Into<String>) -> Self {
        self.new_name = Some(new_name.into());
        self
    }
}

/// The kind of constraint [`Ops::drop_constraint`] drops (MySQL spells
/// each differently).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConstraintKind {
    /// A FOREIGN KEY.
    ForeignKey,
    /// A UNIQUE constraint.
    Unique,
    /// A CHECK constraint.
    Check,
    /// The PRIMARY KEY.
    PrimaryKey,
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

    /// `ALTER TABLE … DROP COLUMN`. (SQLite ≥ 3.35 drops a column that no
    /// index, key or constraint uses.)
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
    /// SQLite renames natively; its other changes need a table rebuild
    /// (batch mode), which is not implemented yet and is an
    /// [`Unsupported`](aludel_core::ErrorKind::Unsupported) error.
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
    /// (`fk_<table>_<columns>_<referred>`). Not on SQLite (batch mode).
    pub fn create_foreign_key(&mut self, table: impl Into<String>, fk: ForeignKey) -> &mut Self {
        self.push(Op::CreateForeignKey(table.into(), fk))
    }

    /// `ALTER TABLE … ADD CONSTRAINT name UNIQUE (columns)`. Not on
    /// SQLite (batch mode).
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
    /// condition is SQL written as is. Not on SQLite (batch mode).
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
    /// CONSTRAINT` or `DROP PRIMARY KEY` by `kind`. Not on SQLite (batch
    /// mode).
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
pub(crate) struct RunnableOp(Op);

impl RunnableOp {
    pub(crate) fn describe(&self) -> String {
        self.0.describe()
    }

    pub(crate) async fn run(self, conn: &mut Connection) -> aludel_core::Result<()> {
        self.0.run(conn).await
    }
}

fn metadata_of(table: &Table) -> aludel_core::Result<MetaData> {
    let mut md = MetaData::new();
    md.add(table.clone())?;
    Ok(md)
}

/// A table holding only `columns`, for compiling DDL about them.
fn shadow(table: &str, columns: &[String]) -> TableBuilderShadow {
    let mut b = Table::builder(table);
    for c in columns {
        b = b.column(Column::new(c.clone(), SqlType::Integer));
    }
    TableBuilderShadow(b)
}

struct TableBuilderShadow(aludel_core::schema::TableBuilder);

impl TableBuilderShadow {
    fn index(self, name: &str, columns: &[String], unique: bool) -> aludel_core::Result<Table> {
        self.0
            .add_index(Index {
                name: Some(name.to_string()),
                columns: columns.to_vec(),
                unique,
            })
            .build()
    }
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

    async fn run(self, conn: &mut Connection) -> aludel_core::Result<()> {
        let dialect = conn.dialect().clone();
        let q = |s: &str| dialect.quote_identifier(s);
        let backend = dialect.backend();
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
            Op::DropTable(name) => exec(conn, &format!("DROP TABLE {}", q(&name))).await?,
            Op::RenameTable(a, b) => {
                exec(conn, &format!("ALTER TABLE {} RENAME TO {}", q(&a), q(&b))).await?
            }
            Op::AddColumn(table, column) => {
                let t = Table::builder(table.clone()).column(column).build()?;
                let md = metadata_of(&t)?;
                let ddl = DdlCompiler::new(&dialect, &md);
                let names = t.constraint_names(md.naming_convention());
                let col = &t.columns()[0];
                create_enum_types(conn, &ddl, &t).await?;
                let mut def = ddl.column_definition(&t, col)?;
                if backend == Backend::Sqlite {
                    // SQLite cannot add a constraint later: the foreign key
                    // goes inline, named.
                    if let Some(fk) = t.foreign_keys().first() {
                        def.push_str(&format!(
                            " CONSTRAINT {} REFERENCES {} ({})",
                            q(&names.foreign_keys[0]),
                            q(&fk.referred_table),
                            fk.referred_columns
                                .iter()
                                .map(|c| q(c))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                        if let Some(a) = fk.on_delete {
                            def.push_str(" ON DELETE ");
                            def.push_str(a.as_sql());
                        }
                        if let Some(a) = fk.on_update {
                            def.push_str(" ON UPDATE ");
                            def.push_str(a.as_sql());
                        }
                    }
                }
                exec(conn, &format!("ALTER TABLE {} ADD COLUMN {def}", q(&table))).await?;
                if backend != Backend::Sqlite && !t.foreign_keys().is_empty() {
                    exec(conn, &ddl.add_foreign_key(&t, 0)?).await?;
                }
                for (u, name) in t.unique_constraints().iter().zip(&names.uniques) {
                    let cols = u
                        .columns
                        .iter()
                        .map(|c| q(c))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = if backend == Backend::Sqlite {
                        format!("CREATE UNIQUE INDEX {} ON {} ({cols})", q(name), q(&table))
                    } else {
                        format!(
                            "ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({cols})",
                            q(&table),
                            q(name)
                        )
                    };
                    exec(conn, &sql).await?;
                }
                for sql in ddl.comments(&t)?.into_iter().chain(ddl.create_indexes(&t)) {
                    exec(conn, &sql).await?;
                }
            }
            Op::DropColumn(table, column) => {
                exec(
                    conn,
                    &format!("ALTER TABLE {} DROP COLUMN {}", q(&table), q(&column)),
                )
                .await?
            }
            Op::CreateIndex {
                name,
                table,
                columns,
                unique,
            } => {
                let t = shadow(&table, &columns).index(&name, &columns, unique)?;
                let md = metadata_of(&t)?;
                let sql = DdlCompiler::new(&dialect, &md).create_indexes(&t).remove(0);
                exec(conn, &sql).await?;
            }
            Op::DropIndex(name, table) => {
                let t = shadow(&table, &["x".into()]).index(&name, &["x".into()], false)?;
                let md = metadata_of(&t)?;
                exec(conn, &DdlCompiler::new(&dialect, &md).drop_index(&t, 0)).await?;
            }
            Op::AlterColumn(table, column, change) => {
                for sql in crate::alter::alter_column(conn, &table, &column, &change).await? {
                    exec(conn, &sql).await?;
                }
            }
            Op::CreateForeignKey(table, fk) => {
                crate::alter::no_sqlite(&dialect, "create_foreign_key", &table)?;
                let mut b = Table::builder(table.clone());
                for c in &fk.columns {
                    b = b.column(Column::new(c.clone(), SqlType::Integer));
                }
                let t = b.foreign_key(fk).build()?;
                let md = metadata_of(&t)?;
                exec(
                    conn,
                    &DdlCompiler::new(&dialect, &md).add_foreign_key(&t, 0)?,
                )
                .await?;
            }
            Op::CreateUnique(name, table, columns) => {
                crate::alter::no_sqlite(&dialect, "create_unique_constraint", &table)?;
                let cols = columns.iter().map(|c| q(c)).collect::<Vec<_>>().join(", ");
                let sql = format!(
                    "ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({cols})",
                    q(&table),
                    q(&name)
                );
                exec(conn, &sql).await?;
            }
            Op::CreateCheck(name, table, condition) => {
                crate::alter::no_sqlite(&dialect, "create_check_constraint", &table)?;
                let sql = format!(
                    "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({condition})",
                    q(&table),
                    q(&name)
                );
                exec(conn, &sql).await?;
            }
            Op::DropConstraint(name, table, kind) => {
                crate::alter::no_sqlite(&dialect, "drop_constraint", &table)?;
                let what = match (backend, kind) {
                    (Backend::Mysql, ConstraintKind::ForeignKey) => {
                        format!("FOREIGN KEY {}", q(&name))
                    }
                    (Backend::Mysql, ConstraintKind::Unique) => format!("INDEX {}", q(&name)),
                    (Backend::Mysql, ConstraintKind::PrimaryKey) => "PRIMARY KEY".to_string(),
                    _ => format!("CONSTRAINT {}", q(&name)),
                };
                exec(conn, &format!("ALTER TABLE {} DROP {what}", q(&table))).await?;
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

async fn exec(conn: &mut Connection, sql: &str) -> aludel_core::Result<()> {
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
