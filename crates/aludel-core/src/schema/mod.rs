//! The schema as data: [`MetaData`], [`Table`], [`Column`], types,
//! constraints and the naming convention, and the DDL that creates and
//! drops them ([`DdlCompiler`], [`MetaData::create_all`]).

mod ddl;
mod naming;
mod table;
mod types;

pub use ddl::{DdlCompiler, DdlOptions};
pub use naming::NamingConvention;
pub use table::{
    CheckConstraint, Column, ConstraintNames, ForeignKey, Index, MetaData, ReferentialAction,
    ServerDefault, Table, TableBuilder, UniqueConstraint,
};
pub use types::SqlType;
