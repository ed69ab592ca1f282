//! The schema as data: [`MetaData`], [`Table`], [`Column`], types,
//! constraints and the naming convention; the DDL that creates and drops
//! them ([`DdlCompiler`], [`MetaData::create_all`]), and the `ALTER`s a
//! migration runs ([`DdlCompiler::alter_column`] and friends); and [`Inspector`],
//! which reads them back from a live database.

mod alter;
mod ddl;
mod inspect;
mod naming;
mod table;
mod types;

pub use alter::{AlterColumn, ConstraintKind};
pub use ddl::{DdlCompiler, DdlOptions};
pub use inspect::{Inspector, ReflectedColumn, ReflectedPrimaryKey};
pub use naming::NamingConvention;
pub use table::{
    CheckConstraint, Column, ConstraintNames, ForeignKey, Index, MetaData, ReferentialAction,
    ServerDefault, Table, TableBuilder, UniqueConstraint,
};
pub use types::SqlType;
