//! The expression tree: dialect-neutral SQL expressions built from tables,
//! columns and values. A dialect's compiler turns it into text + binds.

use std::marker::PhantomData;

use crate::schema::{SqlType, Table};
use crate::value::Value;

use super::select::Select;

/// A table as it appears in a statement: the table itself or an alias of it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRef {
    pub(crate) table: Table,
    pub(crate) alias: Option<String>,
}

impl TableRef {
    /// The name the statement uses for it: the alias, or the table's name.
    pub fn name(&self) -> &str {
        self.alias.as_deref().unwrap_or(self.table.name())
    }

    /// The underlying table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The column `name` of this table (checked when the statement compiles).
    pub fn c(&self, name: &str) -> Expr {
        Expr::Column(ColumnRef {
            source: Source::Table(self.clone()),
            name: name.to_string(),
        })
    }

    /// `table.*`.
    pub fn star(&self) -> Expr {
        Expr::Star(Some(self.name().to_string()))
    }
}

impl From<&Table> for TableRef {
    fn from(t: &Table) -> Self {
        TableRef {
            table: t.clone(),
            alias: None,
        }
    }
}

impl From<Table> for TableRef {
    fn from(t: Table) -> Self {
        TableRef {
            table: t,
            alias: None,
        }
    }
}

impl From<&TableRef> for TableRef {
    fn from(t: &TableRef) -> Self {
        t.clone()
    }
}

/// Column handles and aliases straight from a [`Table`].
impl Table {
    /// The column `name` of this table, for expressions (checked when the
    /// statement compiles, with a "did you mean").
    pub fn c(&self, name: &str) -> Expr {
        TableRef::from(self).c(name)
    }

    /// An alias of this table (`FROM users AS u`), for self-joins.
    pub fn alias(&self, alias: &str) -> TableRef {
        TableRef {
            table: self.clone(),
            alias: Some(alias.to_string()),
        }
    }

    /// `table.*`.
    pub fn star(&self) -> Expr {
        TableRef::from(self).star()
    }
}

/// Where a column comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Source {
    Table(TableRef),
    /// A subquery or CTE in FROM, known by its alias.
    Named(String),
}

impl Source {
    pub(crate) fn name(&self) -> &str {
        match self {
            Source::Table(t) => t.name(),
            Source::Named(n) => n,
        }
    }
}

/// A column of a table, alias, subquery or CTE.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRef {
    pub(crate) source: Source,
    pub(crate) name: String,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    /// String concatenation (`||`, `concat()` on MySQL).
    Concat,
}

/// A SQL expression.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Expr {
    /// A column.
    Column(ColumnRef),
    /// A value, always sent as a bound parameter.
    Value(Value),
    /// A named parameter filled from the statement's `Params` at execution.
    Param(String),
    /// SQL NULL.
    Null,
    /// `*` or `alias.*`.
    Star(Option<String>),
    /// SQL text written as is (SQLAlchemy's `literal_column`); never build it from input.
    Raw(String),
    /// `left op right`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `AND` of all (TRUE when empty).
    And(Vec<Expr>),
    /// `OR` of all (FALSE when empty).
    Or(Vec<Expr>),
    /// `NOT e`.
    Not(Box<Expr>),
    /// `e IS NULL` / `IS NOT NULL`.
    IsNull(Box<Expr>, bool),
    /// `e [NOT] IN (…)`; an empty list is false (true for NOT IN).
    InList(Box<Expr>, Vec<Expr>, bool),
    /// `e [NOT] IN (SELECT …)`.
    InSelect(Box<Expr>, Box<Select>, bool),
    /// `e [NOT] BETWEEN low AND high`.
    Between(Box<Expr>, Box<Expr>, Box<Expr>, bool),
    /// `e [NOT] LIKE pattern`, case-insensitively if `ilike`.
    Like {
        /// The tested expression.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// ILIKE (emulated with lower() where there is none).
        ilike: bool,
        /// NOT LIKE.
        negated: bool,
    },
    /// A function call by name.
    Func {
        /// The function's name, written as is.
        name: String,
        /// Its arguments.
        args: Vec<Expr>,
        /// `f(DISTINCT …)`.
        distinct: bool,
    },
    /// `CAST(e AS type)`.
    Cast(Box<Expr>, SqlType),
    /// `CASE WHEN … THEN … ELSE … END`.
    Case(Vec<(Expr, Expr)>, Option<Box<Expr>>),
    /// A scalar subquery.
    Subquery(Box<Select>),
    /// `EXISTS (SELECT …)`.
    Exists(Box<Select>),
    /// `e AS label`.
    Label(Box<Expr>, String),
    /// `f(…) OVER (PARTITION BY … ORDER BY …)`.
    Over(Box<Expr>, Vec<Expr>, Vec<OrderBy>),
    /// `(a, b, …)`.
    Tuple(Vec<Expr>),
}

/// An ORDER BY item.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub(crate) expr: Expr,
    pub(crate) desc: bool,
    pub(crate) nulls: Option<Nulls>,
}

/// NULLS FIRST / NULLS LAST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    /// NULLS FIRST.
    First,
    /// NULLS LAST.
    Last,
}

impl OrderBy {
    /// Put NULLs first (emulated on MySQL).
    pub fn nulls_first(mut self) -> Self {
        self.nulls = Some(Nulls::First);
        self
    }

    /// Put NULLs last (emulated on MySQL).
    pub fn nulls_last(mut self) -> Self {
        self.nulls = Some(Nulls::Last);
        self
    }
}

impl From<Expr> for OrderBy {
    fn from(expr: Expr) -> Self {
        OrderBy {
            expr,
            desc: false,
            nulls: None,
        }
    }
}

impl<T: Into<Value>> From<T> for Expr {
    fn from(v: T) -> Self {
        match v.into() {
            Value::Null => Expr::Null,
            v => Expr::Value(v),
        }
    }
}

fn boxed(e: impl Into<Expr>) -> Box<Expr> {
    Box::new(e.into())
}

impl Expr {
    fn bin(self, op: BinOp, other: impl Into<Expr>) -> Expr {
        Expr::Binary(op, Box::new(self), boxed(other))
    }

    /// `self = other` (SQLAlchemy's `==`).
    pub fn eq(self, other: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Eq, other)
    }
    /// `self <> other`.
    pub fn ne(self, other: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Ne, other)
    }
    /// `self < other`.
    pub fn lt(self, other: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Lt, other)
    }
    /// `self <= other`.
    pub fn le(self, other: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Le, other)
    }
    /// `self > other`.
    pub fn gt(self, other: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Gt, other)
    }
    /// `self >= other`.
    pub fn ge(self, other: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Ge, other)
    }
    /// `self + other`.
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, other: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Add, other)
    }
    /// `self - other`.
    #[allow(clippy::should_implement_trait)]
    pub fn sub(self, other: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Sub, other)
    }
    /// `self * other`.
    #[allow(clippy::should_implement_trait)]
    pub fn mul(self, other: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Mul, other)
    }
    /// `self / other`.
    #[allow(clippy::should_implement_trait)]
    pub fn div(self, other: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Div, other)
    }
    /// `self % other`.
    pub fn modulo(self, other: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Mod, other)
    }
    /// String concatenation.
    pub fn concat(self, other: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Concat, other)
    }
    /// `self AND other`.
    pub fn and(self, other: impl Into<Expr>) -> Expr {
        and([self, other.into()])
    }
    /// `self OR other`.
    pub fn or(self, other: impl Into<Expr>) -> Expr {
        or([self, other.into()])
    }
    /// `self IS NULL`.
    pub fn is_null(self) -> Expr {
        Expr::IsNull(Box::new(self), false)
    }
    /// `self IS NOT NULL`.
    pub fn is_not_null(self) -> Expr {
        Expr::IsNull(Box::new(self), true)
    }
    /// `self IN (…)`; an empty list matches nothing (and is valid SQL).
    pub fn in_<I, V>(self, values: I) -> Expr
    where
        I: IntoIterator<Item = V>,
        V: Into<Expr>,
    {
        Expr::InList(
            Box::new(self),
            values.into_iter().map(Into::into).collect(),
            false,
        )
    }
    /// `self NOT IN (…)`; an empty list matches everything.
    pub fn not_in<I, V>(self, values: I) -> Expr
    where
        I: IntoIterator<Item = V>,
        V: Into<Expr>,
    {
        Expr::InList(
            Box::new(self),
            values.into_iter().map(Into::into).collect(),
            true,
        )
    }
    /// `self IN (SELECT …)`.
    pub fn in_select(self, select: Select) -> Expr {
        Expr::InSelect(Box::new(self), Box::new(select), false)
    }
    /// `self BETWEEN low AND high`.
    pub fn between(self, low: impl Into<Expr>, high: impl Into<Expr>) -> Expr {
        Expr::Between(Box::new(self), boxed(low), boxed(high), false)
    }
    /// `self LIKE pattern`.
    pub fn like(self, pattern: impl Into<Expr>) -> Expr {
        Expr::Like {
            expr: Box::new(self),
            pattern: boxed(pattern),
            ilike: false,
            negated: false,
        }
    }
    /// `self NOT LIKE pattern`.
    pub fn not_like(self, pattern: impl Into<Expr>) -> Expr {
        Expr::Like {
            expr: Box::new(self),
            pattern: boxed(pattern),
            ilike: false,
            negated: true,
        }
    }
    /// Case-insensitive LIKE: `ILIKE` on PostgreSQL, `lower(x) LIKE lower(p)` elsewhere.
    pub fn ilike(self, pattern: impl Into<Expr>) -> Expr {
        Expr::Like {
            expr: Box::new(self),
            pattern: boxed(pattern),
            ilike: true,
            negated: false,
        }
    }
    /// `CAST(self AS ty)`.
    pub fn cast(self, ty: SqlType) -> Expr {
        Expr::Cast(Box::new(self), ty)
    }
    /// `self AS name`.
    pub fn label(self, name: &str) -> Expr {
        Expr::Label(Box::new(self), name.to_string())
    }
    /// Ascending order.
    pub fn asc(self) -> OrderBy {
        OrderBy::from(self)
    }
    /// Descending order.
    pub fn desc(self) -> OrderBy {
        OrderBy {
            expr: self,
            desc: true,
            nulls: None,
        }
    }
    /// A window: `self OVER (PARTITION BY … ORDER BY …)`.
    pub fn over<P, O>(self, partition_by: P, order_by: O) -> Expr
    where
        P: IntoIterator<Item = Expr>,
        O: IntoIterator,
        O::Item: Into<OrderBy>,
    {
        Expr::Over(
            Box::new(self),
            partition_by.into_iter().collect(),
            order_by.into_iter().map(Into::into).collect(),
        )
    }
}

impl std::ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }
}

/// `a AND b AND …` (TRUE for none).
pub fn and<I: IntoIterator<Item = Expr>>(exprs: I) -> Expr {
    Expr::And(exprs.into_iter().collect())
}

/// `a OR b OR …` (FALSE for none).
pub fn or<I: IntoIterator<Item = Expr>>(exprs: I) -> Expr {
    Expr::Or(exprs.into_iter().collect())
}

/// `NOT e`.
pub fn not(e: Expr) -> Expr {
    Expr::Not(Box::new(e))
}

/// A named parameter, filled from the `Params` given at execution.
pub fn bindparam(name: &str) -> Expr {
    Expr::Param(name.to_string())
}

/// A value as a bound parameter (SQLAlchemy's `literal`).
pub fn literal(v: impl Into<Value>) -> Expr {
    Expr::Value(v.into())
}

/// SQL text used as an expression (SQLAlchemy's `literal_column`). Never
/// build it from user input.
pub fn literal_column(sql: &str) -> Expr {
    Expr::Raw(sql.to_string())
}

/// `EXISTS (select)`.
pub fn exists(select: Select) -> Expr {
    Expr::Exists(Box::new(select))
}

/// `CASE WHEN c1 THEN r1 … ELSE e END`.
pub fn case<I>(whens: I, else_: Option<Expr>) -> Expr
where
    I: IntoIterator<Item = (Expr, Expr)>,
{
    Expr::Case(whens.into_iter().collect(), else_.map(Box::new))
}

/// `CAST(e AS ty)`.
pub fn cast(e: impl Into<Expr>, ty: SqlType) -> Expr {
    e.into().cast(ty)
}

/// `(a, b, …)`, for row-value comparisons.
pub fn tuple<I: IntoIterator<Item = Expr>>(items: I) -> Expr {
    Expr::Tuple(items.into_iter().collect())
}

/// SQL functions by name: `func::count(x)`, `func::call("lower", [x])`.
pub mod func {
    use super::Expr;

    /// Any function by name.
    pub fn call<I: IntoIterator<Item = Expr>>(name: &str, args: I) -> Expr {
        Expr::Func {
            name: name.to_string(),
            args: args.into_iter().collect(),
            distinct: false,
        }
    }

    /// `count(*)`.
    pub fn count_star() -> Expr {
        call("count", [Expr::Star(None)])
    }

    /// `count(e)`.
    pub fn count(e: Expr) -> Expr {
        call("count", [e])
    }

    /// `count(DISTINCT e)`.
    pub fn count_distinct(e: Expr) -> Expr {
        Expr::Func {
            name: "count".into(),
            args: vec![e],
            distinct: true,
        }
    }

    /// `sum(e)`.
    pub fn sum(e: Expr) -> Expr {
        call("sum", [e])
    }

    /// `avg(e)`.
    pub fn avg(e: Expr) -> Expr {
        call("avg", [e])
    }

    /// `min(e)`.
    pub fn min(e: Expr) -> Expr {
        call("min", [e])
    }

    /// `max(e)`.
    pub fn max(e: Expr) -> Expr {
        call("max", [e])
    }

    /// `lower(e)`.
    pub fn lower(e: Expr) -> Expr {
        call("lower", [e])
    }

    /// `upper(e)`.
    pub fn upper(e: Expr) -> Expr {
        call("upper", [e])
    }

    /// `coalesce(a, b, …)`.
    pub fn coalesce<I: IntoIterator<Item = Expr>>(args: I) -> Expr {
        call("coalesce", args)
    }

    /// `row_number()`, for windows.
    pub fn row_number() -> Expr {
        call("row_number", [])
    }

    /// `rank()`, for windows.
    pub fn rank() -> Expr {
        call("rank", [])
    }
}

/// A column whose Rust type is known: comparisons accept only values of
/// that type (or expressions), so `users.age.eq("x")` does not compile.
///
/// ```
/// use aludel_core::sql::{Col, Expr};
/// let age: Col<i32> = Col::new("users", "age");
/// let e: Expr = age.eq(30);
/// # let _ = e;
/// ```
///
/// ```compile_fail
/// use aludel_core::sql::Col;
/// let age: Col<i32> = Col::new("users", "age");
/// let _ = age.eq("thirty"); // a &str is not an i32
/// ```
pub struct Col<T> {
    table: &'static str,
    /// The table itself, where known (models): lets a select infer FROM.
    table_def: Option<fn() -> &'static Table>,
    name: &'static str,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Col<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Col({}.{})", self.table, self.name)
    }
}

impl<T> Clone for Col<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Col<T> {}

/// A value or expression usable where a `Col<T>` is compared.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be compared with a column of Rust type `{T}`",
    label = "expected a `{T}`, a `Col<{T}>` or an untyped `Expr`"
)]
pub trait TypedOperand<T> {
    /// The operand as an expression.
    fn into_operand(self) -> Expr;
}

impl<T: Into<Value>> TypedOperand<T> for T {
    fn into_operand(self) -> Expr {
        Expr::from(self)
    }
}

/// A text column compares with a string slice: `User::email.eq("a@b.c")`.
impl TypedOperand<String> for &str {
    fn into_operand(self) -> Expr {
        Expr::from(self)
    }
}

/// A text column compares with a borrowed `String`.
impl TypedOperand<String> for &String {
    fn into_operand(self) -> Expr {
        Expr::from(self)
    }
}

impl<T> TypedOperand<T> for Col<T> {
    fn into_operand(self) -> Expr {
        self.expr()
    }
}

impl<T> TypedOperand<T> for Expr {
    fn into_operand(self) -> Expr {
        self
    }
}

impl<T> Col<T> {
    /// The column `name` of the table named `table` (resolved by name, so
    /// the table must be in the statement's FROM list).
    pub const fn new(table: &'static str, name: &'static str) -> Self {
        Col {
            table,
            table_def: None,
            name,
            _t: PhantomData,
        }
    }

    /// The column `name` of the table `table()` returns (what
    /// `#[derive(Model)]` generates): a select of it infers its FROM.
    pub const fn of(
        table_name: &'static str,
        table: fn() -> &'static Table,
        name: &'static str,
    ) -> Self {
        Col {
            table: table_name,
            table_def: Some(table),
            name,
            _t: PhantomData,
        }
    }

    /// The column's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The column as an untyped expression.
    pub fn expr(&self) -> Expr {
        let source = match self.table_def {
            Some(table) => Source::Table(TableRef::from(table())),
            None => Source::Named(self.table.to_string()),
        };
        Expr::Column(ColumnRef {
            source,
            name: self.name.to_string(),
        })
    }

    /// Ascending order.
    pub fn asc(self) -> OrderBy {
        self.expr().asc()
    }

    /// Descending order.
    pub fn desc(self) -> OrderBy {
        self.expr().desc()
    }

    /// `self IS NULL`.
    pub fn is_null(self) -> Expr {
        self.expr().is_null()
    }

    /// `self LIKE pattern` (text columns).
    pub fn like(self, pattern: impl Into<Expr>) -> Expr {
        self.expr().like(pattern)
    }

    /// `self = v`.
    pub fn eq(self, v: impl TypedOperand<T>) -> Expr {
        self.expr().eq(v.into_operand())
    }
    /// `self <> v`.
    pub fn ne(self, v: impl TypedOperand<T>) -> Expr {
        self.expr().ne(v.into_operand())
    }
    /// `self < v`.
    pub fn lt(self, v: impl TypedOperand<T>) -> Expr {
        self.expr().lt(v.into_operand())
    }
    /// `self <= v`.
    pub fn le(self, v: impl TypedOperand<T>) -> Expr {
        self.expr().le(v.into_operand())
    }
    /// `self > v`.
    pub fn gt(self, v: impl TypedOperand<T>) -> Expr {
        self.expr().gt(v.into_operand())
    }
    /// `self >= v`.
    pub fn ge(self, v: impl TypedOperand<T>) -> Expr {
        self.expr().ge(v.into_operand())
    }
    /// `self IN (…)`.
    pub fn in_<I: IntoIterator<Item = T>>(self, values: I) -> Expr
    where
        T: Into<Value>,
    {
        self.expr().in_(values.into_iter().map(Expr::from))
    }
}

impl<T> From<Col<T>> for Expr {
    fn from(c: Col<T>) -> Self {
        c.expr()
    }
}
