//! The schema as data: [`MetaData`], [`Table`], [`Column`], types,
//! constraints and the naming convention; [`Inspector`] reads them back
//! from a live database.

mod inspect;
mod naming;
mod table;
mod types;

pub use inspect::{Inspector, ReflectedColumn, ReflectedPrimaryKey};
pub use naming::NamingConvention;
pub use table::{
    CheckConstraint, Column, ConstraintNames, ForeignKey, Index, MetaData, ReferentialAction,
    ServerDefault, Table, TableBuilder, UniqueConstraint,
};
pub use types::SqlType;
