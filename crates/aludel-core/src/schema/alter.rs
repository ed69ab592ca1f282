//! `ALTER TABLE` and the index statements a migration needs on tables it
//! has no [`Table`] object for: add, drop, rename and alter a column,
//! rename a table, add and drop constraints, create and drop an index by
//! name (Alembic's `op.*` DDL, SQLAlchemy's `sql/ddl.py` constructs).
//!
//! Every identifier is quoted by the dialect; the only literals are a
//! column's DEFAULT, written by [`Dialect::render_literal`](crate::Dialect::render_literal).
//! SQLite changes a column's type, nullability or default, and adds or
//! drops a constraint, only by rebuilding the table; those statements are
//! [`ErrorKind::Unsupported`] errors here, and `aludel-migrate` rebuilds
//! the table instead (its batch mode).

use super::ddl::DdlCompiler;
use super::inspect::ReflectedColumn;
use super::{Column, ForeignKey, Index, ServerDefault, SqlType, Table};
use crate::error::{Error, ErrorKind, Result};
use crate::url::Backend;
use crate::value::Value;

/// What an `ALTER COLUMN` changes (Alembic's `alter_column` keywords); each
/// part left unset keeps what the column has.
///
/// ```
/// use aludel_core::schema::{AlterColumn, SqlType};
/// let change = AlterColumn::new()
///     .sql_type(SqlType::string(200))
///     .nullable(false)
///     .server_default("anonymous")
///     .rename("full_name");
/// assert_eq!(change.new_name(), Some("full_name"));
/// assert_eq!(change.nullable_change(), Some(false));
/// assert!(!change.is_rename_only());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlterColumn {
    sql_type: Option<SqlType>,
    nullable: Option<bool>,
    default: Option<Option<ServerDefault>>,
    new_name: Option<String>,
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
    pub fn server_default(mut self, value: impl Into<Value>) -> Self {
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

    /// The new type, if the type changes.
    pub fn type_change(&self) -> Option<&SqlType> {
        self.sql_type.as_ref()
    }

    /// The new nullability, if it changes.
    pub fn nullable_change(&self) -> Option<bool> {
        self.nullable
    }

    /// The new server default, if it changes: `Some(None)` removes it.
    pub fn default_change(&self) -> Option<Option<&ServerDefault>> {
        self.default.as_ref().map(Option::as_ref)
    }

    /// The new name, if the column is renamed.
    pub fn new_name(&self) -> Option<&str> {
        self.new_name.as_deref()
    }

    /// True when the change is a rename and nothing else (which SQLite
    /// does in place).
    pub fn is_rename_only(&self) -> bool {
        self.sql_type.is_none() && self.nullable.is_none() && self.default.is_none()
    }
}

/// The kind of a constraint to drop (MySQL spells each differently).
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

impl DdlCompiler<'_> {
    fn sqlite_cannot(&self, what: &str, table: &str) -> Error {
        Error::new(
            ErrorKind::Unsupported,
            format!(
                "{what} on table \"{table}\": sqlite cannot change a table's constraints or column \
                 definitions in place; the table must be rebuilt (create the new table, copy the \
                 rows, drop the old one, rename), which aludel-migrate's ops do by themselves"
            ),
        )
        .with_table(Some(table.to_string()))
    }

    fn render_default(&self, d: &ServerDefault) -> Result<String> {
        match d {
            ServerDefault::Value(v) => self.dialect.render_literal(v),
            ServerDefault::Sql(s) => Ok(s.clone()),
        }
    }

    /// `ALTER TABLE … ADD COLUMN`, then what the column declares besides
    /// its definition: its foreign key (inline and named on SQLite, `ADD
    /// CONSTRAINT` elsewhere), its unique constraint (a unique index on
    /// SQLite, which cannot add a constraint), its index, its comment
    /// (PostgreSQL). PostgreSQL enum types are not created here (see
    /// [`create_enum_types`](DdlCompiler::create_enum_types)).
    ///
    /// ```
    /// use aludel_core::{Dialect, url::Backend};
    /// use aludel_core::schema::{Column, DdlCompiler, MetaData, SqlType};
    /// let md = MetaData::new();
    /// let pg = Dialect::new(Backend::Postgres);
    /// let sql = DdlCompiler::new(&pg, &md)
    ///     .add_column("posts", &Column::new("user_id", SqlType::Integer).references("users.id"))?;
    /// assert_eq!(sql, [
    ///     r#"ALTER TABLE "posts" ADD COLUMN "user_id" INTEGER"#,
    ///     r#"ALTER TABLE "posts" ADD CONSTRAINT "fk_posts_user_id_users" FOREIGN KEY ("user_id") REFERENCES "users" ("id")"#,
    /// ]);
    /// # Ok::<(), aludel_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`column_definition`](DdlCompiler::column_definition).
    pub fn add_column(&self, table: &str, column: &Column) -> Result<Vec<String>> {
        let t = Table::builder(table).column(column.clone()).build()?;
        let names = t.constraint_names(self.metadata.naming_convention());
        let col = &t.columns()[0];
        let sqlite = self.backend() == Backend::Sqlite;
        let mut def = self.column_definition(&t, col)?;
        if sqlite {
            if let Some(fk) = t.foreign_keys().first() {
                // SQLite cannot add a constraint later: it goes inline.
                let clause = self.fk_clause(&names.foreign_keys[0], fk);
                let inline = clause.replacen(
                    &format!("FOREIGN KEY ({}) ", self.column_list(&fk.columns)),
                    "",
                    1,
                );
                def.push(' ');
                def.push_str(&inline);
            }
        }
        let mut out = vec![format!("ALTER TABLE {} ADD COLUMN {def}", self.q(table))];
        if !sqlite {
            for (fk, name) in t.foreign_keys().iter().zip(&names.foreign_keys) {
                out.push(self.add_foreign_key_to(
                    table,
                    &ForeignKey {
                        name: Some(name.clone()),
                        ..fk.clone()
                    },
                )?);
            }
        }
        for (u, name) in t.unique_constraints().iter().zip(&names.uniques) {
            if sqlite {
                out.push(self.create_index_on(
                    table,
                    &Index {
                        name: Some(name.clone()),
                        columns: u.columns.clone(),
                        unique: true,
                    },
                ));
            } else {
                out.push(self.add_unique_constraint(table, name, &u.columns)?);
            }
        }
        out.extend(self.comments(&t)?);
        out.extend(self.create_indexes(&t));
        Ok(out)
    }

    /// `ALTER TABLE … DROP COLUMN` (SQLite ≥ 3.35 drops a column that no
    /// index, key or constraint uses).
    pub fn drop_column(&self, table: &str, column: &str) -> String {
        format!(
            "ALTER TABLE {} DROP COLUMN {}",
            self.q(table),
            self.q(column)
        )
    }

    /// `ALTER TABLE old RENAME TO new`.
    ///
    /// ```
    /// use aludel_core::{Dialect, url::Backend};
    /// use aludel_core::schema::{DdlCompiler, MetaData};
    /// let (md, my) = (MetaData::new(), Dialect::new(Backend::Mysql));
    /// assert_eq!(DdlCompiler::new(&my, &md).rename_table("a", "b"), "ALTER TABLE `a` RENAME TO `b`");
    /// ```
    pub fn rename_table(&self, old: &str, new: &str) -> String {
        format!("ALTER TABLE {} RENAME TO {}", self.q(old), self.q(new))
    }

    /// `ALTER TABLE … RENAME COLUMN old TO new` (PostgreSQL, SQLite ≥ 3.25,
    /// MySQL 8, MariaDB 10.5).
    pub fn rename_column(&self, table: &str, old: &str, new: &str) -> String {
        format!(
            "ALTER TABLE {} RENAME COLUMN {} TO {}",
            self.q(table),
            self.q(old),
            self.q(new)
        )
    }

    /// The statements that apply `change` to `table`.`column`:
    ///
    /// - **PostgreSQL**: one `ALTER COLUMN` per change (`TYPE … USING
    ///   column::type`, `SET`/`DROP NOT NULL`, `SET`/`DROP DEFAULT`), then
    ///   `RENAME COLUMN`.
    /// - **MySQL/MariaDB**: one `CHANGE COLUMN` restating the whole column;
    ///   what the change leaves alone comes from `existing` (the column as
    ///   reflected: its `type_name`, nullability, default,
    ///   AUTO_INCREMENT and comment), which is required there.
    /// - **SQLite**: a rename only; anything else is an error (the table
    ///   must be rebuilt).
    ///
    /// ```
    /// use aludel_core::{Dialect, url::Backend};
    /// use aludel_core::schema::{AlterColumn, DdlCompiler, MetaData, SqlType};
    /// let (md, pg) = (MetaData::new(), Dialect::new(Backend::Postgres));
    /// let sql = DdlCompiler::new(&pg, &md).alter_column(
    ///     "users", "name", &AlterColumn::new().nullable(false).rename("full_name"), None)?;
    /// assert_eq!(sql, [
    ///     r#"ALTER TABLE "users" ALTER COLUMN "name" SET NOT NULL"#,
    ///     r#"ALTER TABLE "users" RENAME COLUMN "name" TO "full_name""#,
    /// ]);
    /// # Ok::<(), aludel_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] on SQLite for anything but a rename, and
    /// on MySQL without `existing`; a type the dialect cannot write.
    pub fn alter_column(
        &self,
        table: &str,
        column: &str,
        change: &AlterColumn,
        existing: Option<&ReflectedColumn>,
    ) -> Result<Vec<String>> {
        let (t, c) = (self.q(table), self.q(column));
        let mut out = Vec::new();
        match self.backend() {
            Backend::Postgres => {
                if let Some(ty) = &change.sql_type {
                    let ty = self.dialect.column_type(ty, column)?;
                    out.push(format!(
                        "ALTER TABLE {t} ALTER COLUMN {c} TYPE {ty} USING {c}::{ty}"
                    ));
                }
                if let Some(n) = change.nullable {
                    let verb = if n { "DROP" } else { "SET" };
                    out.push(format!("ALTER TABLE {t} ALTER COLUMN {c} {verb} NOT NULL"));
                }
                match &change.default {
                    Some(Some(d)) => out.push(format!(
                        "ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {}",
                        self.render_default(d)?
                    )),
                    Some(None) => {
                        out.push(format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT"))
                    }
                    None => {}
                }
                if let Some(n) = &change.new_name {
                    out.push(self.rename_column(table, column, n));
                }
            }
            Backend::Mysql => {
                let Some(existing) = existing else {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!(
                            "alter_column \"{table}\".\"{column}\" on mysql restates the whole \
                             column and needs its existing definition"
                        ),
                    )
                    .with_table(Some(table.to_string()))
                    .with_column(Some(column.to_string())));
                };
                out.push(self.mysql_change(table, column, change, existing)?);
            }
            _ => match &change.new_name {
                Some(n) if change.is_rename_only() => {
                    out.push(self.rename_column(table, column, n))
                }
                _ => return Err(self.sqlite_cannot("alter_column", table)),
            },
        }
        Ok(out)
    }

    fn mysql_change(
        &self,
        table: &str,
        column: &str,
        change: &AlterColumn,
        existing: &ReflectedColumn,
    ) -> Result<String> {
        let name = change.new_name.as_deref().unwrap_or(column);
        let ty = match &change.sql_type {
            Some(t) => self.dialect.column_type(t, column)?,
            None => existing.type_name.clone(),
        };
        let mut def = format!(
            "ALTER TABLE {} CHANGE COLUMN {} {} {ty}",
            self.q(table),
            self.q(column),
            self.q(name)
        );
        let nullable = change.nullable.unwrap_or(existing.nullable);
        def.push_str(if nullable { " NULL" } else { " NOT NULL" });
        let default = match &change.default {
            Some(Some(d)) => Some(self.render_default(d)?),
            Some(None) => None,
            None => existing.default.clone(),
        };
        if let Some(d) = default {
            def.push_str(" DEFAULT ");
            def.push_str(&d);
        }
        if existing.autoincrement {
            def.push_str(" AUTO_INCREMENT");
        }
        if let Some(comment) = &existing.comment {
            def.push_str(" COMMENT ");
            def.push_str(&self.dialect.render_literal(&comment.as_str().into())?);
        }
        Ok(def)
    }

    /// `ALTER TABLE … ADD CONSTRAINT name UNIQUE (columns)`.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] on SQLite.
    pub fn add_unique_constraint(
        &self,
        table: &str,
        name: &str,
        columns: &[String],
    ) -> Result<String> {
        if self.backend() == Backend::Sqlite {
            return Err(self.sqlite_cannot("create_unique_constraint", table));
        }
        Ok(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} UNIQUE ({})",
            self.q(table),
            self.q(name),
            self.column_list(columns)
        ))
    }

    /// `ALTER TABLE … ADD CONSTRAINT name CHECK (condition)`; the condition
    /// is SQL written as is.
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] on SQLite.
    pub fn add_check_constraint(&self, table: &str, name: &str, condition: &str) -> Result<String> {
        if self.backend() == Backend::Sqlite {
            return Err(self.sqlite_cannot("create_check_constraint", table));
        }
        Ok(format!(
            "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({condition})",
            self.q(table),
            self.q(name)
        ))
    }

    /// `ALTER TABLE … ADD CONSTRAINT … FOREIGN KEY` on `table`; a foreign
    /// key without a name gets the naming convention's
    /// (`fk_<table>_<columns>_<referred>`).
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] on SQLite.
    pub fn add_foreign_key_to(&self, table: &str, fk: &ForeignKey) -> Result<String> {
        if self.backend() == Backend::Sqlite {
            return Err(self.sqlite_cannot("create_foreign_key", table));
        }
        let name = fk.name.clone().unwrap_or_else(|| {
            self.metadata
                .naming_convention()
                .foreign_key(table, &fk.columns, &fk.referred_table)
        });
        Ok(format!(
            "ALTER TABLE {} ADD {}",
            self.q(table),
            self.fk_clause(&name, fk)
        ))
    }

    /// Drop the constraint `name` of `table`: `DROP CONSTRAINT` on
    /// PostgreSQL; on MySQL/MariaDB `DROP FOREIGN KEY`, `DROP INDEX` (a
    /// unique constraint is an index there), `DROP PRIMARY KEY` or `DROP
    /// CONSTRAINT` (a check) by `kind`.
    ///
    /// ```
    /// use aludel_core::{Dialect, url::Backend};
    /// use aludel_core::schema::{ConstraintKind, DdlCompiler, MetaData};
    /// let (md, my) = (MetaData::new(), Dialect::new(Backend::Mysql));
    /// let sql = DdlCompiler::new(&my, &md).drop_constraint("posts", "fk_posts_user_id_users", ConstraintKind::ForeignKey)?;
    /// assert_eq!(sql, "ALTER TABLE `posts` DROP FOREIGN KEY `fk_posts_user_id_users`");
    /// # Ok::<(), aludel_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] on SQLite.
    pub fn drop_constraint(&self, table: &str, name: &str, kind: ConstraintKind) -> Result<String> {
        let what = match (self.backend(), kind) {
            (Backend::Sqlite, _) => return Err(self.sqlite_cannot("drop_constraint", table)),
            (Backend::Mysql, ConstraintKind::ForeignKey) => format!("FOREIGN KEY {}", self.q(name)),
            (Backend::Mysql, ConstraintKind::Unique) => format!("INDEX {}", self.q(name)),
            (Backend::Mysql, ConstraintKind::PrimaryKey) => "PRIMARY KEY".to_string(),
            _ => format!("CONSTRAINT {}", self.q(name)),
        };
        Ok(format!("ALTER TABLE {} DROP {what}", self.q(table)))
    }

    /// `CREATE [UNIQUE] INDEX` for `index` on `table`; an index without a
    /// name gets the naming convention's (`ix_<table>_<columns>`).
    ///
    /// ```
    /// use aludel_core::{Dialect, url::Backend};
    /// use aludel_core::schema::{DdlCompiler, Index, MetaData};
    /// let (md, lite) = (MetaData::new(), Dialect::new(Backend::Sqlite));
    /// let ix = Index { name: None, columns: vec!["email".into()], unique: true };
    /// assert_eq!(
    ///     DdlCompiler::new(&lite, &md).create_index_on("users", &ix),
    ///     r#"CREATE UNIQUE INDEX "ix_users_email" ON "users" ("email")"#
    /// );
    /// ```
    pub fn create_index_on(&self, table: &str, index: &Index) -> String {
        let name = index.name.clone().unwrap_or_else(|| {
            self.metadata
                .naming_convention()
                .index(table, &index.columns)
        });
        format!(
            "CREATE {}INDEX {} ON {} ({})",
            if index.unique { "UNIQUE " } else { "" },
            self.q(&name),
            self.q(table),
            self.column_list(&index.columns)
        )
    }

    /// `DROP INDEX name` (`DROP INDEX name ON table` on MySQL, which needs
    /// the table).
    pub fn drop_index_named(&self, table: &str, name: &str) -> String {
        match self.backend() {
            Backend::Mysql => format!("DROP INDEX {} ON {}", self.q(name), self.q(table)),
            _ => format!("DROP INDEX {}", self.q(name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{MetaData, ReferentialAction};
    use crate::Dialect;

    fn existing() -> ReflectedColumn {
        ReflectedColumn {
            name: "name".into(),
            sql_type: SqlType::string(50),
            type_name: "varchar(50)".into(),
            nullable: false,
            default: Some("'anon'".into()),
            autoincrement: false,
            comment: Some("who".into()),
        }
    }

    /// Every ALTER form, compiled for one dialect; errors are printed as
    /// such so SQLite's refusals are part of its snapshot.
    fn script(backend: Backend) -> String {
        let d = Dialect::new(backend);
        let md = MetaData::new();
        let ddl = DdlCompiler::new(&d, &md);
        let mut out = Vec::new();
        let mut push = |label: &str, r: Result<Vec<String>>| {
            out.push(format!("-- {label}"));
            match r {
                Ok(v) => out.extend(v),
                Err(e) => out.push(format!("error: {e}")),
            }
        };
        let fk_col = Column::new("owner_id", SqlType::BigInteger)
            .not_null()
            .server_default(0)
            .references("owners.id")
            .on_delete(ReferentialAction::Cascade);
        push("add_column with fk", ddl.add_column("items", &fk_col));
        push(
            "add_column unique, indexed, commented",
            ddl.add_column(
                "items",
                &Column::new("code", SqlType::string(20))
                    .unique()
                    .index()
                    .comment("the code"),
            ),
        );
        push("drop_column", Ok(vec![ddl.drop_column("items", "code")]));
        push("rename_table", Ok(vec![ddl.rename_table("items", "goods")]));
        push(
            "rename_column",
            Ok(vec![ddl.rename_column("items", "code", "sku")]),
        );
        let full = AlterColumn::new()
            .sql_type(SqlType::string(200))
            .nullable(true)
            .server_default("it's")
            .rename("title");
        push(
            "alter_column type, nullable, default, rename",
            ddl.alter_column("items", "name", &full, Some(&existing())),
        );
        push(
            "alter_column drop default, keep the rest",
            ddl.alter_column(
                "items",
                "name",
                &AlterColumn::new().drop_server_default(),
                Some(&existing()),
            ),
        );
        push(
            "alter_column rename only",
            ddl.alter_column(
                "items",
                "name",
                &AlterColumn::new().rename("title"),
                Some(&existing()),
            ),
        );
        push(
            "add_unique_constraint",
            ddl.add_unique_constraint("items", "uq_items_a_b", &["a".into(), "b".into()])
                .map(|s| vec![s]),
        );
        push(
            "add_check_constraint",
            ddl.add_check_constraint("items", "ck_items_price", "price >= 0")
                .map(|s| vec![s]),
        );
        push(
            "add_foreign_key_to (unnamed: the convention's name)",
            ddl.add_foreign_key_to(
                "items",
                &ForeignKey {
                    name: None,
                    columns: vec!["owner_id".into()],
                    referred_table: "owners".into(),
                    referred_columns: vec!["id".into()],
                    on_delete: Some(ReferentialAction::SetNull),
                    on_update: None,
                },
            )
            .map(|s| vec![s]),
        );
        for kind in [
            ConstraintKind::ForeignKey,
            ConstraintKind::Unique,
            ConstraintKind::Check,
            ConstraintKind::PrimaryKey,
        ] {
            push(
                &format!("drop_constraint {kind:?}"),
                ddl.drop_constraint("items", "c_name", kind)
                    .map(|s| vec![s]),
            );
        }
        push(
            "create_index_on (unnamed, unique)",
            Ok(vec![ddl.create_index_on(
                "items",
                &Index {
                    name: None,
                    columns: vec!["a".into(), "b".into()],
                    unique: true,
                },
            )]),
        );
        push(
            "drop_index_named",
            Ok(vec![ddl.drop_index_named("items", "ix_items_a_b")]),
        );
        out.join("\n") + "\n"
    }

    #[test]
    fn alter_sqlite() {
        insta::assert_snapshot!(script(Backend::Sqlite));
    }

    #[test]
    fn alter_postgresql() {
        insta::assert_snapshot!(script(Backend::Postgres));
    }

    #[test]
    fn alter_mysql() {
        insta::assert_snapshot!(script(Backend::Mysql));
    }

    #[test]
    fn mysql_alter_column_needs_the_existing_column() {
        let (d, md) = (Dialect::new(Backend::Mysql), MetaData::new());
        let err = DdlCompiler::new(&d, &md)
            .alter_column("t", "c", &AlterColumn::new().nullable(true), None)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unsupported);
        assert_eq!(err.column(), Some("c"));
    }
}
