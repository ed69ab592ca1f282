//! Aludel's ORM layer: the [`Model`] trait that `#[derive(Model)]`
//! implements. The Session (identity map, unit of work) and model queries
//! build on it (issue 5, in progress).

mod related;
mod relationship;
mod session;

pub use relationship::{
    joined, lazyload, raiseload, selectin, AnyRelationship, BoxFuture, Cardinality, Cascade,
    Joined, JoinedLoad, LazyLoad, LoadOption, Loading, Many, One, RaiseLoad, RelKind, Relationship,
    Selectin,
};
pub use session::{Key, ModelQuery, Session, SessionFactory};

use aludel_core::schema::Table;
use aludel_core::{FromRow, Result, Value};

/// A Rust-side column default: the column's name and the function that
/// makes its value.
pub type ColumnDefault = (&'static str, fn() -> Value);

/// A Rust struct mapped to a table: what `#[derive(Model)]` implements.
///
/// The derive builds the model's [`Table`] once (so `create_all` and
/// autogenerate see every model without import side effects) and typed
/// column handles as associated constants (`User::name`).
pub trait Model: FromRow + Clone + Send + Sync + 'static {
    /// The model's table, built on first use.
    fn table() -> &'static Table;

    /// The column names, in field order.
    fn column_names() -> &'static [&'static str];

    /// The positions (in [`column_names`](Model::column_names)) of the
    /// primary key columns, in key order.
    fn primary_key_positions() -> &'static [usize];

    /// Rust-side defaults (`#[aludel(default = "path::to::fn")]`): at INSERT,
    /// a column whose value is NULL (an `Option` field left `None`) gets the
    /// function's value, written back into the object (SQLAlchemy's
    /// `Column(default=…)`).
    fn rust_defaults() -> &'static [ColumnDefault] {
        &[]
    }

    /// The optimistic-locking version column (`#[aludel(version)]`): the
    /// Session sets it to 1 on INSERT, increments it on every UPDATE, and
    /// makes a flush fail with [`ErrorKind::StaleData`](aludel_core::ErrorKind::StaleData)
    /// when the row's version changed underneath.
    fn version_column() -> Option<&'static str> {
        None
    }

    /// Every column's value, in [`column_names`](Model::column_names) order.
    fn to_values(&self) -> Vec<Value>;

    /// The value of the column at `position` (the derive generates a match;
    /// the default goes through [`to_values`](Model::to_values)).
    fn value_at(&self, position: usize) -> Value {
        self.to_values().swap_remove(position)
    }

    /// Set the column at `position` from a value (generated keys, refresh).
    ///
    /// # Errors
    /// [`ErrorKind::Decode`](aludel_core::ErrorKind::Decode) naming the column
    /// when the value does not convert to the field's type.
    fn set_value(&mut self, position: usize, value: Value) -> Result<()>;

    /// The model's relationships (`#[aludel(has_many(…))]` and the like),
    /// for cascades and [`check_relationships`](Model::check_relationships).
    fn relationships() -> &'static [&'static dyn AnyRelationship] {
        &[]
    }

    /// The loads its relationships declare (`lazy = "selectin"`, …), applied
    /// to every query of the model unless the query has an option for the
    /// same relationship.
    fn default_loads() -> Vec<Box<dyn LoadOption<Self>>> {
        Vec::new()
    }

    /// Check every relationship of the model: its foreign key exists and is
    /// unambiguous. Relationships are checked at first use anyway; call this
    /// at startup to fail early.
    ///
    /// # Errors
    /// [`ErrorKind::Config`](aludel_core::ErrorKind::Config) naming both models.
    fn check_relationships() -> Result<()> {
        Self::relationships().iter().try_for_each(|r| r.check())
    }

    /// A query for this model on `session` (the talk's `Model.query`):
    /// `User::query(&mut session).filter(User::name.eq("Ada")).all().await?`.
    fn query(session: &mut Session) -> ModelQuery<'_, Self> {
        session.query::<Self>()
    }

    /// The primary key's values, in key order.
    fn primary_key(&self) -> Vec<Value> {
        Self::primary_key_positions()
            .iter()
            .map(|&i| self.value_at(i))
            .collect()
    }
}

mod column_type;
mod db_enum;
pub use column_type::{__no_column, __set_field, ColumnType, TypeOptions, DEFAULT_STRING_LENGTH};
pub use db_enum::{__decode_enum, DbEnum};

mod pagination;
pub use pagination::{KeysetPage, Page, PaginateOptions, DEFAULT_MAX_PER_PAGE, DEFAULT_PER_PAGE};
