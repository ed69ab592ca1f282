//! SQL statements: textual SQL with named binds, parameters, and what a
//! connection can execute.

pub(crate) mod cache;
mod compiler;
mod expr;
mod select;
pub mod text;

use std::borrow::Cow;

pub use expr::{
    and, bindparam, case, cast, exists, func, literal, literal_column, not, or, tuple, BinOp, Col,
    ColumnRef, Expr, Nulls, OrderBy, TableRef, TypedOperand,
};
pub use select::{
    delete, insert, select, sq, update, Cte, Delete, ForUpdate, Insert, JoinKind, Select, SetOp,
    Update,
};

use crate::dialect::Dialect;
use crate::error::Result;
use crate::value::Value;

/// Named bind parameters for a statement, in the order given.
///
/// Names are `&'static str` literals (no allocation) or owned `String`s.
///
/// Build them with the [`params!`](crate::params) macro, with [`Params::bind`],
/// or from a slice or array of `(name, value)` pairs.
///
/// ```
/// use aludel_core::{params, Params, Value};
/// let a = params! { "id": 7, "name": "Ada" };
/// let b = Params::new().bind("id", 7).bind("name", "Ada");
/// assert_eq!(a, b);
/// assert_eq!(a.get("id"), Some(&Value::I32(7)));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(Vec<(Cow<'static, str>, Value)>);

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Params(Vec::new())
    }

    /// Add `name = value`, builder style.
    pub fn bind(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Value>) -> Self {
        self.push(name, value);
        self
    }

    /// Add `name = value`.
    pub fn push(&mut self, name: impl Into<Cow<'static, str>>, value: impl Into<Value>) {
        self.0.push((name.into(), value.into()));
    }

    /// The value bound to `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The `(name, value)` pairs.
    pub fn as_slice(&self) -> &[(Cow<'static, str>, Value)] {
        &self.0
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<K: Into<Cow<'static, str>>, V: Into<Value>> FromIterator<(K, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Params(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// Anything that can be turned into named [`Params`]: `()`, [`Params`],
/// and arrays, slices or vectors of `(name, value)` pairs.
pub trait IntoParams {
    /// Convert into [`Params`].
    fn into_params(self) -> Params;
}

impl IntoParams for () {
    fn into_params(self) -> Params {
        Params::new()
    }
}

impl IntoParams for Params {
    fn into_params(self) -> Params {
        self
    }
}

impl IntoParams for &Params {
    fn into_params(self) -> Params {
        self.clone()
    }
}

impl<K: Into<Cow<'static, str>>, V: Into<Value>, const N: usize> IntoParams for [(K, V); N] {
    fn into_params(self) -> Params {
        self.into_iter().collect()
    }
}

impl<K: Into<Cow<'static, str>>, V: Into<Value>> IntoParams for Vec<(K, V)> {
    fn into_params(self) -> Params {
        self.into_iter().collect()
    }
}

impl<K: Into<Cow<'static, str>> + Clone, V: Into<Value> + Clone> IntoParams for &[(K, V)] {
    fn into_params(self) -> Params {
        self.iter().cloned().collect()
    }
}

/// Named bind parameters, written like a Python dict.
///
/// ```
/// use aludel_core::params;
/// let p = params! { "id": 1, "email": "ada@example.com", "nick": None::<String> };
/// assert_eq!(p.len(), 3);
/// ```
#[macro_export]
macro_rules! params {
    () => { $crate::Params::new() };
    ($($name:literal : $value:expr),+ $(,)?) => {
        $crate::Params::new()$(.bind($name, $value))+
    };
}

/// A statement compiled for one dialect: SQL text and the values to bind, in
/// placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledStatement<'s> {
    /// The SQL text with the dialect's placeholders.
    pub sql: Cow<'s, str>,
    /// The values, one per placeholder.
    pub values: Vec<Value>,
}

/// Something a connection can execute: [`text::Text`] now, expression
/// statements later.
pub trait Executable {
    /// Compile for `dialect`, binding `params`.
    ///
    /// # Errors
    /// [`ErrorKind::Bind`](crate::ErrorKind::Bind) when a parameter is missing,
    /// extra, or given twice; nothing has been sent to the database then.
    fn compile<'s>(&'s self, dialect: &Dialect, params: Params) -> Result<CompiledStatement<'s>>;

    /// True when the statement only reads (a [`Select`] without
    /// [`with_for_update`](Select::with_for_update)): the ORM's Session
    /// runs such statements outside its transaction until its first write.
    /// Text is not known to read only, so it answers false.
    fn is_read_only(&self) -> bool {
        false
    }
}

impl Executable for text::Text {
    fn compile<'s>(&'s self, dialect: &Dialect, params: Params) -> Result<CompiledStatement<'s>> {
        let compiled = self.compiled(dialect.placeholder());
        let ordered = self.bind_owned(params.0)?;
        // Numbered placeholders use each value once, in order; MySQL's `?`
        // repeats a value for each use of its name.
        let values = if compiled.binds.len() == ordered.len() {
            ordered
        } else {
            compiled.binds.iter().map(|&i| ordered[i].clone()).collect()
        };
        Ok(CompiledStatement {
            sql: Cow::Borrowed(&compiled.sql),
            values,
        })
    }
}

impl<E: Executable + ?Sized> Executable for &E {
    fn compile<'s>(&'s self, dialect: &Dialect, params: Params) -> Result<CompiledStatement<'s>> {
        (**self).compile(dialect, params)
    }

    fn is_read_only(&self) -> bool {
        (**self).is_read_only()
    }
}
