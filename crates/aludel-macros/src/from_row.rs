//! `#[derive(FromRow)]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, LitStr};

struct FieldAttrs {
    rename: Option<String>,
    default: bool,
}

fn field_attrs(field: &syn::Field) -> syn::Result<FieldAttrs> {
    let mut attrs = FieldAttrs {
        rename: None,
        default: false,
    };
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("aludel")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let lit: LitStr = meta.value()?.parse()?;
                attrs.rename = Some(lit.value());
                Ok(())
            } else if meta.path.is_ident("default") {
                attrs.default = true;
                Ok(())
            } else {
                Err(meta.error(
                    "unknown aludel attribute for FromRow\n\
                     help: the field attributes are `rename = \"column\"` and `default`",
                ))
            }
        })?;
    }
    Ok(attrs)
}

/// How the derived `FromRow` fills a named field.
pub enum Read {
    /// From its column; a missing column is an error.
    Column,
    /// From its column, or `Default::default()` when the row has none.
    DefaultIfMissing,
    /// Always `Default::default()` (a model's unmapped field).
    Default,
}

/// A named field as the derived `FromRow` reads it.
pub struct NamedField<'a> {
    pub ident: &'a syn::Ident,
    pub ty: &'a syn::Type,
    pub column: String,
    pub read: Read,
}

/// `impl FromRow` for a struct with named fields, shared with
/// `#[derive(Model)]`: every entry point plans the columns' positions once
/// and reads the fields through `from_cells`, so a driver's cells decode
/// straight into the fields.
pub fn named_impl(input: &DeriveInput, fields: &[NamedField<'_>]) -> TokenStream {
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let krate = quote!(::aludel::__private);
    let mut inits = Vec::new();
    let mut columns = Vec::new();
    for f in fields {
        let NamedField {
            ident, ty, column, ..
        } = f;
        let i = columns.len();
        // Spanned on the field's type, so a type without FromValue is
        // reported at the field.
        let missing = match f.read {
            Read::Default => {
                inits.push(quote_spanned! {ty.span()=>
                    #ident: ::core::default::Default::default()
                });
                continue;
            }
            Read::DefaultIfMissing => quote!(::core::default::Default::default()),
            // Missing: the by-name lookup reports it.
            Read::Column => quote!(#krate::Cells::take_named::<#ty>(cells, #column)?),
        };
        inits.push(quote_spanned! {ty.span()=>
            #ident: match plan.get(#i) {
                ::core::option::Option::Some(at) => #krate::Cells::take_at::<#ty>(cells, at)?,
                ::core::option::Option::None => #missing,
            }
        });
        columns.push(column);
    }
    quote! {
        impl #impl_generics #krate::FromRow for #name #ty_generics #where_clause {
            fn from_row(mut row: #krate::Row) -> #krate::Result<Self> {
                let plan = <Self as #krate::FromRow>::plan(row.columns());
                <Self as #krate::FromRow>::from_cells(&mut row, &plan)
            }

            fn plan(columns: &[#krate::ResultColumn]) -> #krate::RowPlan {
                #krate::RowPlan::for_names(columns, &[#(#columns),*])
            }

            fn from_row_planned(
                row: &mut #krate::Row,
                plan: &#krate::RowPlan,
            ) -> #krate::Result<Self> {
                <Self as #krate::FromRow>::from_cells(row, plan)
            }

            fn from_cells<__AludelCells: #krate::Cells>(
                cells: &mut __AludelCells,
                plan: &#krate::RowPlan,
            ) -> #krate::Result<Self> {
                let _ = (&mut *cells, plan);
                ::core::result::Result::Ok(Self { #(#inits),* })
            }
        }
    }
}

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "FromRow can only be derived for structs\n\
             help: decode an enum column with FromValue instead",
        ));
    };
    let krate = quote!(::aludel::__private);
    let body = match &data.fields {
        Fields::Named(fields) => {
            let mut named = Vec::new();
            for f in &fields.named {
                let attrs = field_attrs(f)?;
                let ident = f.ident.as_ref().expect("named field");
                named.push(NamedField {
                    ident,
                    ty: &f.ty,
                    column: attrs
                        .rename
                        .unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_string()),
                    read: if attrs.default {
                        Read::DefaultIfMissing
                    } else {
                        Read::Column
                    },
                });
            }
            return Ok(named_impl(input, &named));
        }
        Fields::Unnamed(fields) => {
            let inits = fields.unnamed.iter().enumerate().map(|(i, f)| {
                let ty = &f.ty;
                quote_spanned! {ty.span()=> row.take::<#ty, usize>(#i)? }
            });
            quote!(Self( #(#inits),* ))
        }
        Fields::Unit => quote!(Self),
    };
    Ok(quote! {
        impl #impl_generics #krate::FromRow for #name #ty_generics #where_clause {
            fn from_row(mut row: #krate::Row) -> #krate::Result<Self> {
                let _ = &mut row;
                ::core::result::Result::Ok(#body)
            }
        }
    })
}
