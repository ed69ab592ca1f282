//! Statements of the expression language: SELECT (with joins, subqueries,
//! CTEs and set operations), INSERT, UPDATE and DELETE.

use super::expr::{ColumnRef, Expr, OrderBy, Source, TableRef};
use crate::schema::Table;

/// Something a statement can select FROM.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FromItem {
    Table(TableRef),
    /// A subquery with its alias.
    Subquery(Box<Select>, String),
    /// A CTE, by name.
    Cte(String),
}

impl FromItem {
    pub(crate) fn name(&self) -> &str {
        match self {
            FromItem::Table(t) => t.name(),
            FromItem::Subquery(_, alias) => alias,
            FromItem::Cte(n) => n,
        }
    }
}

/// The kind of a join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `JOIN`.
    Inner,
    /// `LEFT OUTER JOIN`.
    Left,
    /// `FULL OUTER JOIN` (not on MySQL/MariaDB).
    Full,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Join {
    pub(crate) kind: JoinKind,
    pub(crate) item: FromItem,
    /// None: inferred from the single foreign key between the two sides.
    pub(crate) on: Option<Expr>,
}

/// UNION, INTERSECT, EXCEPT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SetOp {
    Union,
    UnionAll,
    Intersect,
    Except,
}

/// A common table expression (`WITH name (cols) AS (…)`).
///
/// ```
/// use aludel_core::sql::{literal, select, Cte};
/// // WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 5) SELECT x FROM n
/// let n = Cte::new("n").columns(["x"]);
/// let body = select([literal(1)])
///     .union_all(select([n.c("x").add(1)]).from_cte(&n).filter(n.c("x").lt(5)));
/// let stmt = select([n.c("x")]).with(n.recursive(body)).from_cte_name("n");
/// # let _ = stmt;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Cte {
    pub(crate) name: String,
    pub(crate) columns: Vec<String>,
    pub(crate) body: Option<Box<Select>>,
    pub(crate) recursive: bool,
}

impl Cte {
    /// A CTE named `name`, its body given later by [`Cte::defined`] or [`Cte::recursive`].
    pub fn new(name: &str) -> Self {
        Cte {
            name: name.to_string(),
            columns: Vec::new(),
            body: None,
            recursive: false,
        }
    }

    /// Name the CTE's columns (needed for a recursive one).
    pub fn columns<I, S>(mut self, cols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.columns = cols.into_iter().map(Into::into).collect();
        self
    }

    /// The column `name` of the CTE.
    pub fn c(&self, name: &str) -> Expr {
        Expr::Column(ColumnRef {
            source: Source::Named(self.name.clone()),
            name: name.to_string(),
        })
    }

    /// The CTE with `body` as its definition.
    pub fn defined(mut self, body: Select) -> Self {
        self.body = Some(Box::new(body));
        self
    }

    /// The CTE with `body` as its recursive definition (`WITH RECURSIVE`).
    pub fn recursive(mut self, body: Select) -> Self {
        self.body = Some(Box::new(body));
        self.recursive = true;
        self
    }
}

/// A SELECT statement, built with methods named after SQL (and
/// SQLAlchemy): `filter` is WHERE.
///
/// ```
/// # aludel_core::doctest::run(|mut conn| async move {
/// use aludel_core::schema::{Column, SqlType, Table};
/// use aludel_core::sql::select;
/// let users = Table::builder("users")
///     .column(Column::new("id", SqlType::Integer).primary_key())
///     .column(Column::new("name", SqlType::string(50)))
///     .build()?;
/// conn.execute(aludel_core::text("CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(50))"), ()).await?;
/// conn.execute(aludel_core::text("INSERT INTO users (name) VALUES ('Ada'), ('Grace')"), ()).await?;
/// let stmt = select([users.c("name")]).filter(users.c("id").gt(1)).order_by([users.c("name").asc()]);
/// let names: Vec<String> = conn.execute(&stmt, ()).await?.scalars()?;
/// assert_eq!(names, ["Grace"]);
/// # Ok(()) });
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Select {
    pub(crate) columns: Vec<Expr>,
    pub(crate) from: Vec<FromItem>,
    pub(crate) joins: Vec<Join>,
    pub(crate) filters: Vec<Expr>,
    pub(crate) group_by: Vec<Expr>,
    pub(crate) having: Vec<Expr>,
    pub(crate) order_by: Vec<OrderBy>,
    pub(crate) limit: Option<u64>,
    pub(crate) offset: Option<u64>,
    pub(crate) distinct: bool,
    pub(crate) ctes: Vec<Cte>,
    pub(crate) compound: Vec<(SetOp, Select)>,
    pub(crate) for_update: Option<ForUpdate>,
}

/// The row lock of [`Select::with_for_update`]: `FOR UPDATE` by default;
/// SQLAlchemy's `with_for_update(read=, nowait=, skip_locked=)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ForUpdate {
    pub(crate) read: bool,
    pub(crate) nowait: bool,
    pub(crate) skip_locked: bool,
}

impl ForUpdate {
    /// `FOR UPDATE`: an exclusive lock on the rows read.
    pub fn new() -> Self {
        ForUpdate::default()
    }

    /// A shared lock instead (`FOR SHARE`; MariaDB's `LOCK IN SHARE MODE`).
    pub fn read(mut self) -> Self {
        self.read = true;
        self
    }

    /// Fail at once, instead of waiting, when a row is locked (`NOWAIT`).
    pub fn nowait(mut self) -> Self {
        self.nowait = true;
        self
    }

    /// Leave out the rows another transaction has locked (`SKIP LOCKED`),
    /// the job-queue idiom.
    pub fn skip_locked(mut self) -> Self {
        self.skip_locked = true;
        self
    }
}

/// `SELECT columns …`; the FROM list is taken from the columns' tables
/// unless given with [`Select::from`].
pub fn select<I>(columns: I) -> Select
where
    I: IntoIterator,
    I::Item: Into<Expr>,
{
    Select {
        columns: columns.into_iter().map(Into::into).collect(),
        ..Select::default()
    }
}

impl Select {
    /// Add a table to FROM.
    pub fn from(mut self, table: impl Into<TableRef>) -> Self {
        self.from.push(FromItem::Table(table.into()));
        self
    }

    /// Add a subquery to FROM under `alias`; its columns are `sq(alias, col)`.
    pub fn from_subquery(mut self, subquery: Select, alias: &str) -> Self {
        self.from
            .push(FromItem::Subquery(Box::new(subquery), alias.to_string()));
        self
    }

    /// Add a CTE to FROM.
    pub fn from_cte(self, cte: &Cte) -> Self {
        self.from_cte_name(&cte.name)
    }

    /// Add a CTE to FROM by name.
    pub fn from_cte_name(mut self, name: &str) -> Self {
        self.from.push(FromItem::Cte(name.to_string()));
        self
    }

    fn join_item(mut self, kind: JoinKind, item: FromItem, on: Option<Expr>) -> Self {
        self.joins.push(Join { kind, item, on });
        self
    }

    /// `JOIN table`, ON inferred from the one foreign key between it and the
    /// tables before it (an error at compile time if there is none or more).
    pub fn join(self, table: impl Into<TableRef>) -> Self {
        self.join_item(JoinKind::Inner, FromItem::Table(table.into()), None)
    }

    /// `JOIN table ON on`.
    pub fn join_on(self, table: impl Into<TableRef>, on: Expr) -> Self {
        self.join_item(JoinKind::Inner, FromItem::Table(table.into()), Some(on))
    }

    /// `LEFT OUTER JOIN table`, ON inferred from the one foreign key.
    pub fn left_join(self, table: impl Into<TableRef>) -> Self {
        self.join_item(JoinKind::Left, FromItem::Table(table.into()), None)
    }

    /// `LEFT OUTER JOIN table ON on`.
    pub fn left_join_on(self, table: impl Into<TableRef>, on: Expr) -> Self {
        self.join_item(JoinKind::Left, FromItem::Table(table.into()), Some(on))
    }

    /// `FULL OUTER JOIN table ON on` (an error on MySQL/MariaDB).
    pub fn full_join_on(self, table: impl Into<TableRef>, on: Expr) -> Self {
        self.join_item(JoinKind::Full, FromItem::Table(table.into()), Some(on))
    }

    /// Add a WHERE condition (AND-ed with the others).
    #[doc(alias = "where")]
    pub fn filter(mut self, condition: Expr) -> Self {
        self.filters.push(condition);
        self
    }

    /// GROUP BY.
    pub fn group_by<I: IntoIterator<Item = Expr>>(mut self, exprs: I) -> Self {
        self.group_by.extend(exprs);
        self
    }

    /// HAVING (AND-ed).
    pub fn having(mut self, condition: Expr) -> Self {
        self.having.push(condition);
        self
    }

    /// ORDER BY.
    pub fn order_by<I>(mut self, items: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<OrderBy>,
    {
        self.order_by.extend(items.into_iter().map(Into::into));
        self
    }

    /// LIMIT.
    pub fn limit(mut self, n: u64) -> Self {
        self.limit = Some(n);
        self
    }

    /// Replace the selected columns, keeping FROM, joins and conditions
    /// (SQLAlchemy's `with_only_columns`).
    pub fn with_only_columns<I>(mut self, columns: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Expr>,
    {
        self.columns = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Drop the ORDER BY (SQLAlchemy's `order_by(None)`), e.g. to count.
    pub fn clear_order_by(mut self) -> Self {
        self.order_by.clear();
        self
    }

    /// Drop LIMIT and OFFSET, e.g. to count all matching rows.
    pub fn clear_limit(mut self) -> Self {
        self.limit = None;
        self.offset = None;
        self
    }

    /// OFFSET.
    pub fn offset(mut self, n: u64) -> Self {
        self.offset = Some(n);
        self
    }

    /// SELECT DISTINCT.
    pub fn distinct(mut self) -> Self {
        self.distinct = true;
        self
    }

    /// Lock the rows read until the end of the transaction: `FOR UPDATE`
    /// (or `FOR SHARE`, `NOWAIT`, `SKIP LOCKED`; see [`ForUpdate`]) on
    /// PostgreSQL and MySQL/MariaDB. SQLite has no row locks (a writing
    /// transaction locks the whole database), so the clause is left out
    /// there, as SQLAlchemy does. The statement is not read-only
    /// ([`Executable::is_read_only`](crate::Executable::is_read_only)): an
    /// ORM Session begins its transaction for it.
    ///
    /// ```
    /// use aludel_core::schema::{Column, SqlType, Table};
    /// use aludel_core::sql::{select, ForUpdate};
    /// use aludel_core::{Backend, Dialect, Executable, Params};
    /// # fn main() -> aludel_core::Result<()> {
    /// let jobs = Table::builder("jobs")
    ///     .column(Column::new("id", SqlType::Integer).primary_key())
    ///     .build()?;
    /// let next = select([jobs.c("id")])
    ///     .limit(1)
    ///     .with_for_update(ForUpdate::new().skip_locked());
    /// let pg = next.compile(&Dialect::new(Backend::Postgres), Params::new())?;
    /// assert!(pg.sql.ends_with("LIMIT $1 FOR UPDATE SKIP LOCKED"), "{}", pg.sql);
    /// assert!(!next.is_read_only());
    /// # Ok(()) }
    /// ```
    pub fn with_for_update(mut self, lock: ForUpdate) -> Self {
        self.for_update = Some(lock);
        self
    }

    /// Attach a CTE (`WITH …`).
    pub fn with(mut self, cte: Cte) -> Self {
        self.ctes.push(cte);
        self
    }

    fn set_op(mut self, op: SetOp, other: Select) -> Self {
        self.compound.push((op, other));
        self
    }

    /// `self UNION other`.
    pub fn union(self, other: Select) -> Self {
        self.set_op(SetOp::Union, other)
    }

    /// `self UNION ALL other`.
    pub fn union_all(self, other: Select) -> Self {
        self.set_op(SetOp::UnionAll, other)
    }

    /// `self INTERSECT other` (an error where unsupported).
    pub fn intersect(self, other: Select) -> Self {
        self.set_op(SetOp::Intersect, other)
    }

    /// `self EXCEPT other` (an error where unsupported).
    pub fn except(self, other: Select) -> Self {
        self.set_op(SetOp::Except, other)
    }

    /// A scalar subquery of this select, for use as an expression.
    pub fn scalar_subquery(self) -> Expr {
        Expr::Subquery(Box::new(self))
    }
}

/// The column `column` of a subquery or CTE known as `alias` in FROM.
pub fn sq(alias: &str, column: &str) -> Expr {
    Expr::Column(ColumnRef {
        source: Source::Named(alias.to_string()),
        name: column.to_string(),
    })
}

/// What an upsert does on a conflict.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OnConflict {
    /// Ignore the row.
    Nothing(Vec<String>),
    /// Update these columns from the proposed row, on a conflict over `target`.
    Update {
        target: Vec<String>,
        set: Vec<String>,
    },
}

/// The source of an INSERT's rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum InsertSource {
    Rows(Vec<String>, Vec<Vec<Expr>>),
    Select(Vec<String>, Box<Select>),
}

/// An INSERT statement: one row, many rows in one statement, or the rows
/// of a SELECT; optionally RETURNING and an upsert clause.
///
/// ```
/// # aludel_core::doctest::run(|mut conn| async move {
/// use aludel_core::schema::{Column, SqlType, Table};
/// use aludel_core::sql::insert;
/// let t = Table::builder("t").column(Column::new("x", SqlType::Integer)).build()?;
/// conn.execute(aludel_core::text("CREATE TABLE t (x INTEGER)"), ()).await?;
/// let stmt = insert(&t).values_many((1..=3).map(|x| vec![("x", x.into())]));
/// assert_eq!(conn.execute(&stmt, ()).await?.rows_affected(), 3);
/// # Ok(()) });
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    pub(crate) table: Table,
    pub(crate) source: InsertSource,
    pub(crate) returning: Vec<Expr>,
    pub(crate) on_conflict: Option<OnConflict>,
}

/// `INSERT INTO table …`.
pub fn insert(table: &Table) -> Insert {
    Insert {
        table: table.clone(),
        source: InsertSource::Rows(Vec::new(), Vec::new()),
        returning: Vec::new(),
        on_conflict: None,
    }
}

impl Insert {
    /// One row of `(column, value)` pairs.
    pub fn values<I, S>(self, row: I) -> Self
    where
        I: IntoIterator<Item = (S, Expr)>,
        S: AsRef<str>,
    {
        self.values_many([row])
    }

    /// Many rows in one statement; every row names the same columns, in
    /// the first row's order. Column names are compared, not copied: only
    /// the first row's are kept.
    pub fn values_many<R, I, S>(mut self, rows: R) -> Self
    where
        R: IntoIterator<Item = I>,
        I: IntoIterator<Item = (S, Expr)>,
        S: AsRef<str>,
    {
        let (mut cols, mut out) = match self.source {
            InsertSource::Rows(c, r) => (c, r),
            InsertSource::Select(..) => (Vec::new(), Vec::new()),
        };
        let mut pairs: Vec<(S, Expr)> = Vec::new();
        for row in rows {
            pairs.clear();
            pairs.extend(row);
            if cols.is_empty() && out.is_empty() {
                cols = pairs.iter().map(|(c, _)| c.as_ref().to_string()).collect();
            }
            // The usual case: the row names the columns in order.
            let in_order = pairs.len() == cols.len()
                && pairs.iter().zip(&cols).all(|((n, _), c)| n.as_ref() == c);
            if in_order {
                out.push(pairs.drain(..).map(|(_, e)| e).collect());
                continue;
            }
            let mut values = Vec::with_capacity(cols.len());
            for c in &cols {
                match pairs.iter().position(|(n, _)| n.as_ref() == c) {
                    Some(i) => values.push(pairs.swap_remove(i).1),
                    // A missing column in a later row is an error at compile
                    // time (the marker is a parameter no one can bind).
                    None => values.push(Expr::Param(format!("\u{0}missing column {c}"))),
                }
            }
            for (extra, _) in pairs.drain(..) {
                values.push(Expr::Param(format!("\u{0}extra column {}", extra.as_ref())));
            }
            out.push(values);
        }
        self.source = InsertSource::Rows(cols, out);
        self
    }

    /// `INSERT INTO table (columns) SELECT …`.
    pub fn from_select<I, S>(mut self, columns: I, select: Select) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.source = InsertSource::Select(
            columns.into_iter().map(Into::into).collect(),
            Box::new(select),
        );
        self
    }

    /// RETURNING (an error where the dialect has none).
    pub fn returning<I>(mut self, exprs: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Expr>,
    {
        self.returning = exprs.into_iter().map(Into::into).collect();
        self
    }

    /// Upsert: on a conflict over `target` (a unique key's columns; MySQL
    /// uses any unique key), update `set` from the proposed row.
    pub fn on_conflict_do_update<T, U, S1, S2>(mut self, target: T, set: U) -> Self
    where
        T: IntoIterator<Item = S1>,
        U: IntoIterator<Item = S2>,
        S1: Into<String>,
        S2: Into<String>,
    {
        self.on_conflict = Some(OnConflict::Update {
            target: target.into_iter().map(Into::into).collect(),
            set: set.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Skip rows that conflict over `target` (any unique key on MySQL).
    pub fn on_conflict_do_nothing<T, S>(mut self, target: T) -> Self
    where
        T: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.on_conflict = Some(OnConflict::Nothing(
            target.into_iter().map(Into::into).collect(),
        ));
        self
    }
}

/// An UPDATE statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub(crate) table: Table,
    pub(crate) set: Vec<(String, Expr)>,
    pub(crate) filters: Vec<Expr>,
    pub(crate) returning: Vec<Expr>,
}

/// `UPDATE table SET …`.
pub fn update(table: &Table) -> Update {
    Update {
        table: table.clone(),
        set: Vec::new(),
        filters: Vec::new(),
        returning: Vec::new(),
    }
}

impl Update {
    /// `SET column = value`.
    pub fn set(mut self, column: &str, value: impl Into<Expr>) -> Self {
        self.set.push((column.to_string(), value.into()));
        self
    }

    /// WHERE (AND-ed).
    #[doc(alias = "where")]
    pub fn filter(mut self, condition: Expr) -> Self {
        self.filters.push(condition);
        self
    }

    /// RETURNING (an error where the dialect has none).
    pub fn returning<I>(mut self, exprs: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Expr>,
    {
        self.returning = exprs.into_iter().map(Into::into).collect();
        self
    }
}

/// A DELETE statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    pub(crate) table: Table,
    pub(crate) filters: Vec<Expr>,
    pub(crate) returning: Vec<Expr>,
}

/// `DELETE FROM table`.
pub fn delete(table: &Table) -> Delete {
    Delete {
        table: table.clone(),
        filters: Vec::new(),
        returning: Vec::new(),
    }
}

impl Delete {
    /// WHERE (AND-ed).
    #[doc(alias = "where")]
    pub fn filter(mut self, condition: Expr) -> Self {
        self.filters.push(condition);
        self
    }

    /// RETURNING (an error where the dialect has none).
    pub fn returning<I>(mut self, exprs: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<Expr>,
    {
        self.returning = exprs.into_iter().map(Into::into).collect();
        self
    }
}
