//! Derive macros for Aludel. Use them through the `aludel` crate.

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod from_row;

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
/// ```
/// # aludel::doctest::run(|mut conn| async move {
/// use aludel::{text, FromRow};
///
/// #[derive(FromRow, Debug, PartialEq)]
/// struct User {
///     id: i64,
///     #[aludel(rename = "full_name")]
///     name: String,
///     nickname: Option<String>,
/// }
///
/// let user: User = conn
///     .execute(text("SELECT 1 AS id, 'Ada Lovelace' AS full_name, NULL AS nickname"), ())
///     .await?
///     .one_as()?;
/// assert_eq!(user, User { id: 1, name: "Ada Lovelace".into(), nickname: None });
/// # Ok(()) });
/// ```
#[proc_macro_derive(FromRow, attributes(aludel))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    from_row::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
