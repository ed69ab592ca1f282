//! Schema metadata: `MetaData` holding `Table`s of `Column`s with their
//! keys, constraints and indexes (SQLAlchemy's `sql/schema.py`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::naming::NamingConvention;
use super::types::SqlType;
use crate::error::{Error, ErrorKind, Result};
use crate::value::Value;

/// What a foreign key does when the row it points to is deleted or updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReferentialAction {
    /// `CASCADE`.
    Cascade,
    /// `SET NULL`.
    SetNull,
    /// `SET DEFAULT`.
    SetDefault,
    /// `RESTRICT`.
    Restrict,
    /// `NO ACTION` (the default).
    NoAction,
}

impl ReferentialAction {
    /// The SQL words.
    pub fn as_sql(self) -> &'static str {
        match self {
            ReferentialAction::Cascade => "CASCADE",
            ReferentialAction::SetNull => "SET NULL",
            ReferentialAction::SetDefault => "SET DEFAULT",
            ReferentialAction::Restrict => "RESTRICT",
            ReferentialAction::NoAction => "NO ACTION",
        }
    }
}

/// A column's server-side default (the `DEFAULT` clause of its DDL).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ServerDefault {
    /// A literal value, rendered safely by the dialect.
    Value(Value),
    /// SQL text written as is, e.g. `CURRENT_TIMESTAMP`. Never build it
    /// from user input.
    Sql(String),
}

/// A column of a [`Table`].
///
/// ```
/// use aludel_core::schema::{Column, SqlType};
/// let c = Column::new("email", SqlType::string(200)).not_null().unique();
/// assert_eq!(c.name(), "email");
/// assert!(!c.is_nullable());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    name: String,
    ty: SqlType,
    nullable: Option<bool>,
    primary_key: bool,
    autoincrement: Option<bool>,
    server_default: Option<ServerDefault>,
    unique: bool,
    index: bool,
    foreign_key: Option<ForeignKeyTarget>,
    comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct ForeignKeyTarget {
    table: String,
    column: String,
    on_delete: Option<ReferentialAction>,
    on_update: Option<ReferentialAction>,
}

impl Column {
    /// A nullable column named `name` of type `ty`.
    pub fn new(name: impl Into<String>, ty: SqlType) -> Self {
        Column {
            name: name.into(),
            ty,
            nullable: None,
            primary_key: false,
            autoincrement: None,
            server_default: None,
            unique: false,
            index: false,
            foreign_key: None,
            comment: None,
        }
    }

    /// Part of the primary key (and so NOT NULL).
    pub fn primary_key(mut self) -> Self {
        self.primary_key = true;
        self
    }

    /// NOT NULL.
    pub fn not_null(mut self) -> Self {
        self.nullable = Some(false);
        self
    }

    /// Set nullability explicitly.
    pub fn nullable(mut self, nullable: bool) -> Self {
        self.nullable = Some(nullable);
        self
    }

    /// Whether the database generates values (SERIAL / IDENTITY,
    /// AUTO_INCREMENT, SQLite's rowid). By default an integer column that is
    /// the whole primary key autoincrements, as in SQLAlchemy.
    pub fn autoincrement(mut self, on: bool) -> Self {
        self.autoincrement = Some(on);
        self
    }

    /// A server-side default value.
    pub fn server_default(mut self, value: impl Into<Value>) -> Self {
        self.server_default = Some(ServerDefault::Value(value.into()));
        self
    }

    /// A server-side default written as SQL, e.g. `CURRENT_TIMESTAMP`.
    pub fn server_default_sql(mut self, sql: impl Into<String>) -> Self {
        self.server_default = Some(ServerDefault::Sql(sql.into()));
        self
    }

    /// A single-column UNIQUE constraint.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// A single-column index.
    pub fn index(mut self) -> Self {
        self.index = true;
        self
    }

    /// A foreign key to `target`, written `"table.column"`.
    ///
    /// # Panics
    /// Never; a target without a dot is reported by [`TableBuilder::build`].
    pub fn references(mut self, target: &str) -> Self {
        let (table, column) = target.rsplit_once('.').unwrap_or((target, ""));
        self.foreign_key = Some(ForeignKeyTarget {
            table: table.to_string(),
            column: column.to_string(),
            on_delete: None,
            on_update: None,
        });
        self
    }

    /// The foreign key's ON DELETE action (after [`references`](Column::references)).
    pub fn on_delete(mut self, action: ReferentialAction) -> Self {
        if let Some(fk) = &mut self.foreign_key {
            fk.on_delete = Some(action);
        }
        self
    }

    /// The foreign key's ON UPDATE action (after [`references`](Column::references)).
    pub fn on_update(mut self, action: ReferentialAction) -> Self {
        if let Some(fk) = &mut self.foreign_key {
            fk.on_update = Some(action);
        }
        self
    }

    /// A comment stored with the column.
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.comment = Some(text.into());
        self
    }

    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The column's type.
    pub fn sql_type(&self) -> &SqlType {
        &self.ty
    }

    /// Whether NULL is allowed (primary key columns never allow it).
    pub fn is_nullable(&self) -> bool {
        !self.primary_key && self.nullable.unwrap_or(true)
    }

    /// Whether the column is part of the primary key.
    pub fn is_primary_key(&self) -> bool {
        self.primary_key
    }

    /// The server default, if any.
    pub fn default(&self) -> Option<&ServerDefault> {
        self.server_default.as_ref()
    }

    /// The comment, if any.
    pub fn comment_text(&self) -> Option<&str> {
        self.comment.as_deref()
    }
}

/// A FOREIGN KEY constraint, possibly over several columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The explicit name, if given; otherwise the naming convention's.
    pub name: Option<String>,
    /// The referring columns of this table.
    pub columns: Vec<String>,
    /// The referred table.
    pub referred_table: String,
    /// The referred columns, in the same order.
    pub referred_columns: Vec<String>,
    /// ON DELETE.
    pub on_delete: Option<ReferentialAction>,
    /// ON UPDATE.
    pub on_update: Option<ReferentialAction>,
}

/// A UNIQUE constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueConstraint {
    /// The explicit name, if given.
    pub name: Option<String>,
    /// The columns.
    pub columns: Vec<String>,
}

/// A CHECK constraint. Its SQL text is written as is: never build it from
/// user input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConstraint {
    /// The name (part of the conventional name `ck_<table>_<name>`).
    pub name: String,
    /// The boolean SQL expression.
    pub sql: String,
}

/// An index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// The explicit name, if given.
    pub name: Option<String>,
    /// The columns, in index order.
    pub columns: Vec<String>,
    /// UNIQUE.
    pub unique: bool,
}

/// A table: its columns, primary key, foreign keys, unique and check
/// constraints and indexes. Cheap to clone (shared).
///
/// ```
/// use aludel_core::schema::{Column, ReferentialAction, SqlType, Table};
/// let posts = Table::builder("posts")
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("user_id", SqlType::Integer).not_null()
///         .references("users.id").on_delete(ReferentialAction::Cascade))
///     .column(Column::new("title", SqlType::string(200)).not_null().index())
///     .build()?;
/// assert_eq!(posts.primary_key(), ["id"]);
/// assert_eq!(posts.foreign_keys()[0].referred_table, "users");
/// # Ok::<(), aludel_core::Error>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct Table {
    inner: Arc<TableInner>,
}

#[derive(Debug, PartialEq)]
struct TableInner {
    name: String,
    schema: Option<String>,
    columns: Vec<Column>,
    primary_key: Vec<String>,
    primary_key_name: Option<String>,
    foreign_keys: Vec<ForeignKey>,
    uniques: Vec<UniqueConstraint>,
    checks: Vec<CheckConstraint>,
    indexes: Vec<Index>,
    comment: Option<String>,
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl Table {
    /// Start a table named `name`.
    pub fn builder(name: impl Into<String>) -> TableBuilder {
        TableBuilder {
            inner: TableInner {
                name: name.into(),
                schema: None,
                columns: Vec::new(),
                primary_key: Vec::new(),
                primary_key_name: None,
                foreign_keys: Vec::new(),
                uniques: Vec::new(),
                checks: Vec::new(),
                indexes: Vec::new(),
                comment: None,
            },
        }
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// An address unique to this table definition while it lives (clones
    /// share it), for caches keyed by statement shape.
    pub(crate) fn identity(&self) -> *const () {
        Arc::as_ptr(&self.inner) as *const ()
    }

    /// The schema (PostgreSQL schema, MySQL database) it lives in, if not the default.
    pub fn schema(&self) -> Option<&str> {
        self.inner.schema.as_deref()
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.inner.columns
    }

    /// The column named `name`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the table and the closest column name.
    pub fn column(&self, name: &str) -> Result<&Column> {
        self.inner
            .columns
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| {
                let names: Vec<&str> = self.inner.columns.iter().map(|c| c.name.as_str()).collect();
                let hint = crate::util::did_you_mean(name, names.iter().copied())
                    .map(|s| format!("; did you mean \"{s}\"?"))
                    .unwrap_or_default();
                Error::new(
                    ErrorKind::Config,
                    format!(
                        "no column \"{name}\" on table \"{}\"{hint}",
                        self.inner.name
                    ),
                )
                .with_table(Some(self.inner.name.clone()))
                .with_column(Some(name.to_string()))
            })
    }

    /// The primary key's column names, in key order.
    pub fn primary_key(&self) -> &[String] {
        &self.inner.primary_key
    }

    /// The primary key constraint's explicit name, if given.
    pub fn primary_key_name(&self) -> Option<&str> {
        self.inner.primary_key_name.as_deref()
    }

    /// The foreign keys.
    pub fn foreign_keys(&self) -> &[ForeignKey] {
        &self.inner.foreign_keys
    }

    /// The UNIQUE constraints.
    pub fn unique_constraints(&self) -> &[UniqueConstraint] {
        &self.inner.uniques
    }

    /// The CHECK constraints.
    pub fn check_constraints(&self) -> &[CheckConstraint] {
        &self.inner.checks
    }

    /// The indexes.
    pub fn indexes(&self) -> &[Index] {
        &self.inner.indexes
    }

    /// The table comment, if any.
    pub fn comment(&self) -> Option<&str> {
        self.inner.comment.as_deref()
    }

    /// The column that autoincrements, if any: the explicit one, or an
    /// integer column that is the whole primary key (SQLAlchemy's rule).
    pub fn autoincrement_column(&self) -> Option<&Column> {
        if let Some(c) = self
            .inner
            .columns
            .iter()
            .find(|c| c.autoincrement == Some(true))
        {
            return Some(c);
        }
        match self.inner.primary_key.as_slice() {
            [only] => {
                self.inner.columns.iter().find(|c| {
                    &c.name == only && c.ty.is_integer() && c.autoincrement != Some(false)
                })
            }
            _ => None,
        }
    }

    /// The names of the tables this one's foreign keys point to.
    pub fn referred_tables(&self) -> impl Iterator<Item = &str> {
        self.inner
            .foreign_keys
            .iter()
            .map(|fk| fk.referred_table.as_str())
    }

    /// Constraint and index names under `convention`, explicit names first.
    pub fn constraint_names(&self, convention: &NamingConvention) -> ConstraintNames {
        ConstraintNames::new(self, convention)
    }
}

/// The resolved names of a table's constraints and indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintNames {
    /// The primary key's name.
    pub primary_key: String,
    /// One per foreign key, in order.
    pub foreign_keys: Vec<String>,
    /// One per unique constraint, in order.
    pub uniques: Vec<String>,
    /// One per check constraint, in order.
    pub checks: Vec<String>,
    /// One per index, in order.
    pub indexes: Vec<String>,
}

impl ConstraintNames {
    fn new(t: &Table, nc: &NamingConvention) -> Self {
        let table = t.name();
        ConstraintNames {
            primary_key: t
                .primary_key_name()
                .map(str::to_string)
                .unwrap_or_else(|| nc.primary_key(table)),
            foreign_keys: t
                .foreign_keys()
                .iter()
                .map(|fk| {
                    fk.name
                        .clone()
                        .unwrap_or_else(|| nc.foreign_key(table, &fk.columns, &fk.referred_table))
                })
                .collect(),
            uniques: t
                .unique_constraints()
                .iter()
                .map(|u| {
                    u.name
                        .clone()
                        .unwrap_or_else(|| nc.unique(table, &u.columns))
                })
                .collect(),
            checks: t
                .check_constraints()
                .iter()
                .map(|c| nc.check(table, &c.name))
                .collect(),
            indexes: t
                .indexes()
                .iter()
                .map(|i| {
                    i.name
                        .clone()
                        .unwrap_or_else(|| nc.index(table, &i.columns))
                })
                .collect(),
        }
    }
}

/// Builds a [`Table`]; [`build`](TableBuilder::build) checks it.
#[derive(Debug)]
pub struct TableBuilder {
    inner: TableInner,
}

impl TableBuilder {
    /// Put the table in `schema`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.inner.schema = Some(schema.into());
        self
    }

    /// Add a column.
    pub fn column(mut self, column: Column) -> Self {
        self.inner.columns.push(column);
        self
    }

    /// A composite primary key (instead of marking columns).
    pub fn primary_key<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner.primary_key = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Name the primary key constraint explicitly.
    pub fn primary_key_name(mut self, name: impl Into<String>) -> Self {
        self.inner.primary_key_name = Some(name.into());
        self
    }

    /// A (possibly composite) foreign key.
    pub fn foreign_key(mut self, fk: ForeignKey) -> Self {
        self.inner.foreign_keys.push(fk);
        self
    }

    /// A (possibly composite) UNIQUE constraint.
    pub fn unique<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner.uniques.push(UniqueConstraint {
            name: None,
            columns: columns.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// A UNIQUE constraint given whole, with its name if it has one.
    pub fn unique_constraint(mut self, constraint: UniqueConstraint) -> Self {
        self.inner.uniques.push(constraint);
        self
    }

    /// An index given whole, with its name if it has one.
    pub fn add_index(mut self, index: Index) -> Self {
        self.inner.indexes.push(index);
        self
    }

    /// A CHECK constraint named `name` (conventionally `ck_<table>_<name>`).
    pub fn check(mut self, name: impl Into<String>, sql: impl Into<String>) -> Self {
        self.inner.checks.push(CheckConstraint {
            name: name.into(),
            sql: sql.into(),
        });
        self
    }

    /// An index over `columns`.
    pub fn index<I, S>(mut self, columns: I, unique: bool) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner.indexes.push(Index {
            name: None,
            columns: columns.into_iter().map(Into::into).collect(),
            unique,
        });
        self
    }

    /// A table comment.
    pub fn comment(mut self, text: impl Into<String>) -> Self {
        self.inner.comment = Some(text.into());
        self
    }

    /// Check the table and fold column-level keys, uniques, indexes and
    /// foreign keys into table-level ones.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the table and column for a duplicate
    /// column, a key or constraint over an unknown column, a foreign key
    /// target that is not `table.column`, or two primary key declarations.
    pub fn build(mut self) -> Result<Table> {
        let t = &mut self.inner;
        let fail =
            |msg: String| Err(Error::new(ErrorKind::Config, msg).with_table(Some(t.name.clone())));
        let mut seen = BTreeMap::new();
        for c in &t.columns {
            if seen.insert(c.name.clone(), ()).is_some() {
                return fail(format!(
                    "table \"{}\" has two columns named \"{}\"",
                    t.name, c.name
                ));
            }
        }
        let marked: Vec<String> = t
            .columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.clone())
            .collect();
        if !marked.is_empty() && !t.primary_key.is_empty() && marked != t.primary_key {
            return fail(format!(
                "table \"{}\" declares its primary key twice: on columns {:?} and as ({})",
                t.name,
                marked,
                t.primary_key.join(", ")
            ));
        }
        if t.primary_key.is_empty() {
            t.primary_key = marked;
        }
        let pk = t.primary_key.clone();
        for c in t.columns.iter_mut() {
            if pk.contains(&c.name) {
                c.primary_key = true;
            }
        }
        let mut fks = Vec::new();
        let mut uniques = Vec::new();
        let mut indexes = Vec::new();
        for c in &t.columns {
            if let Some(target) = &c.foreign_key {
                if target.table.is_empty() || target.column.is_empty() {
                    return fail(format!(
                        "foreign key on \"{}\".\"{}\" must name its target as \"table.column\", got \"{}\"",
                        t.name, c.name, target.table
                    ));
                }
                fks.push(ForeignKey {
                    name: None,
                    columns: vec![c.name.clone()],
                    referred_table: target.table.clone(),
                    referred_columns: vec![target.column.clone()],
                    on_delete: target.on_delete,
                    on_update: target.on_update,
                });
            }
            if c.unique {
                uniques.push(UniqueConstraint {
                    name: None,
                    columns: vec![c.name.clone()],
                });
            }
            if c.index {
                indexes.push(Index {
                    name: None,
                    columns: vec![c.name.clone()],
                    unique: false,
                });
            }
        }
        fks.append(&mut t.foreign_keys);
        uniques.append(&mut t.uniques);
        indexes.append(&mut t.indexes);
        t.foreign_keys = fks;
        t.uniques = uniques;
        t.indexes = indexes;
        let known = |name: &String| t.columns.iter().any(|c| &c.name == name);
        let lists = t
            .primary_key
            .iter()
            .map(|c| ("primary key", c))
            .chain(
                t.foreign_keys
                    .iter()
                    .flat_map(|f| f.columns.iter().map(|c| ("foreign key", c))),
            )
            .chain(
                t.uniques
                    .iter()
                    .flat_map(|u| u.columns.iter().map(|c| ("unique constraint", c))),
            )
            .chain(
                t.indexes
                    .iter()
                    .flat_map(|i| i.columns.iter().map(|c| ("index", c))),
            );
        for (what, col) in lists {
            if !known(col) {
                return fail(format!(
                    "{what} of table \"{}\" names unknown column \"{col}\"",
                    t.name
                ));
            }
        }
        Ok(Table {
            inner: Arc::new(self.inner),
        })
    }
}

/// A collection of tables: what `create_all`, `drop_all`, reflection and
/// autogenerate work on (SQLAlchemy's `MetaData`).
///
/// ```
/// use aludel_core::schema::{Column, MetaData, SqlType, Table};
/// let mut metadata = MetaData::new();
/// metadata.add(Table::builder("users").column(Column::new("id", SqlType::Integer).primary_key()).build()?)?;
/// assert!(metadata.table("users").is_some());
/// # Ok::<(), aludel_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MetaData {
    tables: BTreeMap<String, Table>,
    naming: NamingConvention,
}

impl MetaData {
    /// An empty collection with the default naming convention.
    pub fn new() -> Self {
        MetaData::default()
    }

    /// An empty collection with a custom naming convention.
    pub fn with_naming_convention(naming: NamingConvention) -> Self {
        MetaData {
            tables: BTreeMap::new(),
            naming,
        }
    }

    /// Add a table.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when a different table of that name is already there.
    pub fn add(&mut self, table: Table) -> Result<()> {
        match self.tables.get(table.name()) {
            Some(existing) if existing != &table => Err(Error::new(
                ErrorKind::Config,
                format!(
                    "table \"{}\" is already defined in this MetaData",
                    table.name()
                ),
            )),
            _ => {
                self.tables.insert(table.name().to_string(), table);
                Ok(())
            }
        }
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// All tables, by name.
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.tables.values()
    }

    /// The naming convention for constraints and indexes.
    pub fn naming_convention(&self) -> &NamingConvention {
        &self.naming
    }
}
