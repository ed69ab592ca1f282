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
    let (body, planned) = match &data.fields {
        Fields::Named(fields) => {
            let mut inits = Vec::new();
            let mut planned_inits = Vec::new();
            let mut columns = Vec::new();
            for (i, f) in fields.named.iter().enumerate() {
                let attrs = field_attrs(f)?;
                let ident = f.ident.as_ref().expect("named field");
                let ty = &f.ty;
                let column = attrs
                    .rename
                    .unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_string());
                // Spanned on the field's type, so a type without FromValue is
                // reported at the field.
                let (init, planned) = if attrs.default {
                    (
                        quote_spanned! {ty.span()=>
                            #ident: if row.keys().any(|k| k == #column) {
                                row.take::<#ty, &str>(#column)?
                            } else {
                                ::core::default::Default::default()
                            }
                        },
                        quote_spanned! {ty.span()=>
                            #ident: match plan.get(#i) {
                                ::core::option::Option::Some(at) => row.take::<#ty, usize>(at)?,
                                ::core::option::Option::None => ::core::default::Default::default(),
                            }
                        },
                    )
                } else {
                    (
                        quote_spanned! {ty.span()=> #ident: row.take::<#ty, &str>(#column)? },
                        quote_spanned! {ty.span()=>
                            #ident: match plan.get(#i) {
                                ::core::option::Option::Some(at) => row.take::<#ty, usize>(at)?,
                                // Missing: the by-name lookup reports it.
                                ::core::option::Option::None => row.take::<#ty, &str>(#column)?,
                            }
                        },
                    )
                };
                inits.push(init);
                planned_inits.push(planned);
                columns.push(column);
            }
            let planned = quote! {
                fn plan(columns: &[#krate::ResultColumn]) -> #krate::RowPlan {
                    #krate::RowPlan::for_names(columns, &[#(#columns),*])
                }

                fn from_row_planned(
                    row: &mut #krate::Row,
                    plan: &#krate::RowPlan,
                ) -> #krate::Result<Self> {
                    ::core::result::Result::Ok(Self { #(#planned_inits),* })
                }
            };
            (quote!(Self { #(#inits),* }), planned)
        }
        Fields::Unnamed(fields) => {
            let inits = fields.unnamed.iter().enumerate().map(|(i, f)| {
                let ty = &f.ty;
                quote_spanned! {ty.span()=> row.take::<#ty, usize>(#i)? }
            });
            (quote!(Self( #(#inits),* )), quote!())
        }
        Fields::Unit => (quote!(Self), quote!()),
    };
    Ok(quote! {
        impl #impl_generics #krate::FromRow for #name #ty_generics #where_clause {
            fn from_row(mut row: #krate::Row) -> #krate::Result<Self> {
                let _ = &mut row;
                ::core::result::Result::Ok(#body)
            }

            #planned
        }
    })
}
