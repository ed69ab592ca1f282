//! Derive macros for Aludel. Use them through the `aludel` crate.

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod from_row;
mod migrations;
mod model;

/// Decode a result row into a struct, column by field name.
///
/// Named-field structs read each field from the column of the same name;
/// tuple structs read columns by position.
///
/// Field attributes:
/// - `#[aludel(rename = "column")]`: read another column name.
/// - `#[aludel(default)]`: use `Default::default()` when the row has no such column.
///
/// A column whose value does not convert gives a decode error naming the
/// column, its SQL type and the field's Rust type.
///
/// The example lives on the re-export, `aludel::FromRow`, where it runs as a doctest.
#[proc_macro_derive(FromRow, attributes(aludel))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    from_row::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Map a struct to a table: `impl FromRow`, `impl aludel::orm::Model`
/// (the table built once, column names, primary key, values in and out)
/// and a typed column handle per field (`User::email: Col<String>`).
///
/// The attributes, the type mapping and the decisions behind them are
/// documented on the re-export, `aludel::Model`, where the example runs as
/// a doctest.
#[proc_macro_derive(Model, attributes(aludel))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    model::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Store a fieldless enum in an enum column: `impl aludel::orm::DbEnum`,
/// `From<E> for Value`, `FromValue` and `aludel::orm::ColumnType`.
///
/// Documented on the re-export, `aludel::DbEnum`.
#[proc_macro_derive(DbEnum, attributes(aludel))]
pub fn derive_db_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    model::expand_db_enum(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The implementation of `aludel_migrate::migrations!`: compile every
/// revision script of a directory into the app and build a `static`
/// registry of them. Use it through that macro, which passes its crate
/// path first (`$crate; "migrations/versions"`); it is documented there.
#[doc(hidden)]
#[proc_macro]
pub fn migrations(input: TokenStream) -> TokenStream {
    migrations::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
