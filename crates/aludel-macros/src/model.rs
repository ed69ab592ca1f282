//! `#[derive(Model)]` and `#[derive(DbEnum)]`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Expr, Fields, Ident, LitBool, LitInt, LitStr, Path, Type};

use crate::from_row::{named_impl, NamedField, Read};

const STRUCT_ATTRS: &str = "`table = \"name\"`, `schema = \"name\"`, `bind = \"name\"`, \
     `has_many(name: Model, …)`, `has_one(name: Model, …)`, `belongs_to(name: Model, …)` \
     and `many_to_many(name: Model, through = AssociationModel, …)`";

const REL_OPTIONS: &str = "`back_populates = \"name\"`, `foreign_key = \"column\"`, \
     `cascade = \"all, delete-orphan\"`, `lazy = \"select\" | \"selectin\" | \"joined\" | \"raise\"`, \
     `passive_deletes` and (many_to_many) `through = Model`";

/// A relationship declared on the struct.
struct RelDecl {
    kind: &'static str,
    name: Ident,
    target: Type,
    back_populates: Option<String>,
    foreign_key: Option<String>,
    cascade: (bool, bool),
    passive_deletes: bool,
    through: Option<Type>,
    lazy: Option<String>,
}

fn parse_cascade(lit: &LitStr) -> syn::Result<(bool, bool)> {
    let (mut delete, mut orphan) = (false, false);
    for word in lit
        .value()
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        match word {
            "all" | "delete" => delete = true,
            "delete-orphan" => orphan = true,
            "save-update" | "merge" | "refresh-expire" | "expunge" => {}
            other => {
                return Err(syn::Error::new(
                    lit.span(),
                    format!(
                    "unknown cascade \"{other}\"\nhelp: the cascades are all, save-update, merge, \
                         refresh-expire, expunge, delete and delete-orphan"
                ),
                ))
            }
        }
    }
    Ok((delete, orphan))
}

/// `has_many(posts: Post, back_populates = "author", …)`.
fn parse_relationship(meta: &ParseNestedMeta<'_>, kind: &'static str) -> syn::Result<RelDecl> {
    let content;
    syn::parenthesized!(content in meta.input);
    let name: Ident = content.parse()?;
    content.parse::<syn::Token![:]>()?;
    let target: Type = content.parse()?;
    let mut rel = RelDecl {
        kind,
        name,
        target,
        back_populates: None,
        foreign_key: None,
        cascade: (false, false),
        passive_deletes: false,
        through: None,
        lazy: None,
    };
    while !content.is_empty() {
        content.parse::<syn::Token![,]>()?;
        if content.is_empty() {
            break;
        }
        let key: Ident = content.parse()?;
        match key.to_string().as_str() {
            "passive_deletes" => rel.passive_deletes = true,
            "through" if kind == "many_to_many" => {
                content.parse::<syn::Token![=]>()?;
                rel.through = Some(content.parse()?);
            }
            "back_populates" | "foreign_key" | "cascade" | "lazy" => {
                content.parse::<syn::Token![=]>()?;
                let lit: LitStr = content.parse()?;
                match key.to_string().as_str() {
                    "lazy" => {
                        let v = lit.value();
                        if !["select", "selectin", "joined", "raise"].contains(&v.as_str()) {
                            return Err(syn::Error::new(
                                lit.span(),
                                format!("unknown loading \"{v}\"\nhelp: `lazy` is \"select\" (the default: load with session.load_related), \"selectin\", \"joined\" or \"raise\""),
                            ));
                        }
                        rel.lazy = Some(v);
                    }
                    "back_populates" => {
                        rel.back_populates = Some(non_empty(lit, "back_populates name")?)
                    }
                    "foreign_key" => rel.foreign_key = Some(non_empty(lit, "foreign key column")?),
                    _ => rel.cascade = parse_cascade(&lit)?,
                }
            }
            other => {
                return Err(syn::Error::new(
                    key.span(),
                    format!(
                    "unknown relationship option `{other}`\nhelp: the options are {REL_OPTIONS}"
                ),
                ))
            }
        }
    }
    if kind == "many_to_many" && rel.through.is_none() {
        return Err(syn::Error::new(
            rel.name.span(),
            format!(
                "many_to_many relationship `{}` needs `through = AssociationModel` (a model with a foreign key to each side)",
                rel.name
            ),
        ));
    }
    Ok(rel)
}

const FIELD_ATTRS: &str = "`primary_key`, `autoincrement` (or `autoincrement = false`), \
     `column = \"name\"`, `unique`, `index`, `foreign_key = \"table.column\"`, \
     `on_delete = \"…\"`, `on_update = \"…\"`, `server_default = <value>`, \
     `server_default_sql = \"SQL\"`, `default = \"path::to::fn\"`, `version`, \
     `sql_type = <SqlType>`, `length = n`, `text`, `precision = n`, `scale = n`, \
     `comment = \"…\"` and `skip`";

const ACTIONS: &str = "\"cascade\", \"set null\", \"set default\", \"restrict\" and \"no action\"";

/// `BlogPost` → `blog_post`, `HTTPLog` → `http_log`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.trim_start_matches("r#").chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1).copied();
            let boundary = match prev {
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(char::is_lowercase),
                _ => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn unknown(meta: &ParseNestedMeta<'_>, what: &str, valid: &str) -> syn::Error {
    let name = meta
        .path
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_else(|| "?".into());
    meta.error(format!(
        "unknown {what} attribute `{name}`\nhelp: the {what} attributes are {valid}"
    ))
}

struct ModelAttrs {
    table: Option<String>,
    schema: Option<String>,
    bind: Option<String>,
    relationships: Vec<RelDecl>,
}

fn model_attrs(input: &DeriveInput) -> syn::Result<ModelAttrs> {
    let mut attrs = ModelAttrs {
        table: None,
        schema: None,
        bind: None,
        relationships: Vec::new(),
    };
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("aludel")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("table") {
                attrs.table = Some(non_empty(meta.value()?.parse()?, "table name")?);
            } else if meta.path.is_ident("schema") {
                attrs.schema = Some(non_empty(meta.value()?.parse()?, "schema name")?);
            } else if meta.path.is_ident("bind") {
                attrs.bind = Some(non_empty(meta.value()?.parse()?, "bind name")?);
            } else if let Some(kind) = ["has_many", "has_one", "belongs_to", "many_to_many"]
                .into_iter()
                .find(|k| meta.path.is_ident(k))
            {
                attrs.relationships.push(parse_relationship(&meta, kind)?);
            } else {
                return Err(unknown(&meta, "model", STRUCT_ATTRS));
            }
            Ok(())
        })?;
    }
    Ok(attrs)
}

fn non_empty(lit: LitStr, what: &str) -> syn::Result<String> {
    let v = lit.value();
    if v.is_empty() {
        return Err(syn::Error::new(lit.span(), format!("the {what} is empty")));
    }
    Ok(v)
}

#[derive(Default)]
struct FieldAttrs {
    primary_key: bool,
    autoincrement: Option<bool>,
    column: Option<String>,
    unique: bool,
    index: bool,
    foreign_key: Option<String>,
    on_delete: Option<(TokenStream, Span)>,
    on_update: Option<(TokenStream, Span)>,
    server_default: Option<Expr>,
    server_default_sql: Option<String>,
    default: Option<Path>,
    version: Option<Span>,
    sql_type: Option<Expr>,
    length: Option<(u32, Span)>,
    text: Option<Span>,
    precision: Option<u32>,
    scale: Option<u32>,
    comment: Option<String>,
    skip: Option<Span>,
    /// Every attribute given, for `skip`'s "nothing else" rule.
    given: Vec<Span>,
}

fn action(lit: &LitStr) -> syn::Result<TokenStream> {
    let path = quote!(::aludel::schema::ReferentialAction);
    Ok(match lit.value().to_ascii_lowercase().as_str() {
        "cascade" => quote!(#path::Cascade),
        "set null" => quote!(#path::SetNull),
        "set default" => quote!(#path::SetDefault),
        "restrict" => quote!(#path::Restrict),
        "no action" => quote!(#path::NoAction),
        other => {
            return Err(syn::Error::new(
                lit.span(),
                format!("unknown referential action \"{other}\"\nhelp: the actions are {ACTIONS}"),
            ))
        }
    })
}

fn int<T: std::str::FromStr>(meta: &ParseNestedMeta<'_>) -> syn::Result<T>
where
    T::Err: std::fmt::Display,
{
    let lit: LitInt = meta.value()?.parse()?;
    lit.base10_parse()
}

fn field_attrs(field: &syn::Field) -> syn::Result<FieldAttrs> {
    let mut a = FieldAttrs::default();
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("aludel")) {
        attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            a.given.push(p.span());
            if p.is_ident("primary_key") {
                a.primary_key = true;
            } else if p.is_ident("autoincrement") {
                a.autoincrement = Some(if meta.input.peek(syn::Token![=]) {
                    meta.value()?.parse::<LitBool>()?.value
                } else {
                    true
                });
            } else if p.is_ident("column") {
                a.column = Some(non_empty(meta.value()?.parse()?, "column name")?);
            } else if p.is_ident("unique") {
                a.unique = true;
            } else if p.is_ident("index") {
                a.index = true;
            } else if p.is_ident("foreign_key") {
                let lit: LitStr = meta.value()?.parse()?;
                let v = lit.value();
                match v.rsplit_once('.') {
                    Some((t, c))
                        if !t.is_empty()
                            && !c.is_empty()
                            && !v.contains(char::is_whitespace) => {}
                    _ => {
                        return Err(syn::Error::new(
                            lit.span(),
                            format!(
                                "foreign key target \"{v}\" is not of the form \"table.column\"\n\
                                 help: write the referred table and column, e.g. `foreign_key = \"users.id\"`"
                            ),
                        ))
                    }
                }
                a.foreign_key = Some(v);
            } else if p.is_ident("on_delete") {
                let lit: LitStr = meta.value()?.parse()?;
                a.on_delete = Some((action(&lit)?, p.span()));
            } else if p.is_ident("on_update") {
                let lit: LitStr = meta.value()?.parse()?;
                a.on_update = Some((action(&lit)?, p.span()));
            } else if p.is_ident("server_default") {
                a.server_default = Some(meta.value()?.parse()?);
            } else if p.is_ident("server_default_sql") {
                a.server_default_sql = Some(non_empty(meta.value()?.parse()?, "default SQL")?);
            } else if p.is_ident("default") {
                let value = meta.value()?;
                a.default = Some(if value.peek(LitStr) {
                    value.parse::<LitStr>()?.parse()?
                } else {
                    value.parse()?
                });
            } else if p.is_ident("version") {
                a.version = Some(p.span());
            } else if p.is_ident("sql_type") {
                a.sql_type = Some(meta.value()?.parse()?);
            } else if p.is_ident("length") {
                a.length = Some((int(&meta)?, p.span()));
            } else if p.is_ident("text") {
                a.text = Some(p.span());
            } else if p.is_ident("precision") {
                a.precision = Some(int(&meta)?);
            } else if p.is_ident("scale") {
                a.scale = Some(int(&meta)?);
            } else if p.is_ident("comment") {
                a.comment = Some(meta.value()?.parse::<LitStr>()?.value());
            } else if p.is_ident("skip") {
                a.skip = Some(p.span());
            } else if p.is_ident("rename") {
                return Err(meta.error(
                    "a model field names its column with `column = \"name\"`, not `rename`",
                ));
            } else {
                return Err(unknown(&meta, "field", FIELD_ATTRS));
            }
            Ok(())
        })?;
    }
    if let Some(span) = a.skip {
        if a.given.len() > 1 {
            return Err(syn::Error::new(
                span,
                "a `skip` field is not a column, so it takes no other aludel attributes",
            ));
        }
    }
    if a.foreign_key.is_none() {
        if let Some((_, span)) = a.on_delete.as_ref().or(a.on_update.as_ref()) {
            return Err(syn::Error::new(
                *span,
                "`on_delete` and `on_update` need a `foreign_key = \"table.column\"`",
            ));
        }
    }
    if a.server_default.is_some() && a.server_default_sql.is_some() {
        return Err(syn::Error::new(
            field.span(),
            "give either `server_default` or `server_default_sql`, not both",
        ));
    }
    if let (Some((_, span)), Some(_)) = (a.length, a.text) {
        return Err(syn::Error::new(
            span,
            "`length` and `text` contradict each other: `text` is unbounded",
        ));
    }
    Ok(a)
}

/// `T` for `Option<T>`, written as such.
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first() {
        Some(syn::GenericArgument::Type(t)) if args.args.len() == 1 => Some(t),
        _ => None,
    }
}

fn is_integer(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.qself.is_none()
    && p.path.segments.last().is_some_and(|s| {
        s.arguments.is_empty() && ["i16", "i32", "i64"].iter().any(|t| s.ident == t)
    }))
}

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => &f.named,
            _ => {
                return Err(syn::Error::new(
                    name.span(),
                    format!(
                        "Model needs a struct with named fields; `{name}` has none\n\
                         help: a field's name is its column's name (or give `#[aludel(column = \"…\")]`)"
                    ),
                ))
            }
        },
        Data::Enum(_) => {
            return Err(syn::Error::new(
                name.span(),
                format!(
                    "Model can only be derived for structs, and `{name}` is an enum\n\
                     help: to store a fieldless enum in a column, derive `DbEnum` on it and use it as a model field's type"
                ),
            ))
        }
        Data::Union(_) => {
            return Err(syn::Error::new(
                name.span(),
                "Model can only be derived for structs with named fields",
            ))
        }
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            format!("a model cannot be generic: `{name}` maps to one table"),
        ));
    }
    let attrs = model_attrs(input)?;
    let table = attrs
        .table
        .clone()
        .unwrap_or_else(|| snake_case(&name.to_string()));

    let mut read = Vec::new();
    let mut column_names: Vec<String> = Vec::new();
    let mut columns = Vec::new();
    let mut pk_positions = Vec::new();
    let mut to_values = Vec::new();
    let mut set_arms = Vec::new();
    let mut handles = Vec::new();
    let mut defaults = Vec::new();
    let mut version: Option<String> = None;

    for f in fields {
        let ident = f.ident.as_ref().expect("named field");
        let ty = &f.ty;
        let a = field_attrs(f)?;
        if a.skip.is_some() {
            read.push(NamedField {
                ident,
                ty,
                column: String::new(),
                read: Read::Default,
            });
            continue;
        }
        let column = a
            .column
            .clone()
            .unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_string());
        if column_names.contains(&column) {
            return Err(syn::Error::new(
                ident.span(),
                format!("model `{name}` maps two fields to the column \"{column}\""),
            ));
        }
        let position = column_names.len();
        let inner = option_inner(ty);
        let nullable = inner.is_some();
        let col_ty = inner.unwrap_or(ty);
        if a.primary_key && nullable {
            return Err(syn::Error::new(
                ty.span(),
                format!(
                    "primary key field `{ident}` cannot be an Option: key columns are NOT NULL\n\
                     help: use the value type itself; a not-yet-generated key can start at 0"
                ),
            ));
        }
        if let Some(span) = a.version {
            if !is_integer(ty) {
                return Err(syn::Error::new(
                    ty.span(),
                    format!("version field `{ident}` must be an i16, i32 or i64 counter"),
                ));
            }
            if version.is_some() {
                return Err(syn::Error::new(
                    span,
                    format!("model `{name}` has two version fields; it can have one"),
                ));
            }
            version = Some(column.clone());
        }
        if a.primary_key {
            pk_positions.push(position);
        }

        // The column's definition.
        let sql_type = match &a.sql_type {
            Some(e) => quote_spanned!(e.span()=> #e),
            None => {
                let mut opts = quote!(::aludel::orm::TypeOptions::new());
                if let Some((n, _)) = a.length {
                    opts = quote!(#opts.length(#n));
                }
                if a.text.is_some() {
                    opts = quote!(#opts.text());
                }
                if let Some(n) = a.precision {
                    opts = quote!(#opts.precision(#n));
                }
                if let Some(n) = a.scale {
                    opts = quote!(#opts.scale(#n));
                }
                quote_spanned! {col_ty.span()=>
                    <#col_ty as ::aludel::orm::ColumnType>::sql_type(&#opts)
                }
            }
        };
        let mut def = quote! {
            ::aludel::schema::Column::new(#column, #sql_type).nullable(#nullable)
        };
        if a.primary_key {
            def = quote!(#def.primary_key());
        }
        if let Some(on) = a.autoincrement {
            def = quote!(#def.autoincrement(#on));
        }
        if a.unique {
            def = quote!(#def.unique());
        }
        if a.index {
            def = quote!(#def.index());
        }
        if let Some(target) = &a.foreign_key {
            def = quote!(#def.references(#target));
            if let Some((act, _)) = &a.on_delete {
                def = quote!(#def.on_delete(#act));
            }
            if let Some((act, _)) = &a.on_update {
                def = quote!(#def.on_update(#act));
            }
        }
        if let Some(e) = &a.server_default {
            def = quote_spanned!(e.span()=> #def.server_default(#e));
        }
        if let Some(sql) = &a.server_default_sql {
            def = quote!(#def.server_default_sql(#sql));
        }
        if let Some(text) = &a.comment {
            def = quote!(#def.comment(#text));
        }
        columns.push(def);

        if let Some(path) = &a.default {
            defaults.push(quote_spanned! {path.span()=>
                (#column, {
                    // The function may already return a Value.
                    #[allow(clippy::useless_conversion)]
                    fn default() -> ::aludel::Value {
                        ::aludel::Value::from(#path())
                    }
                    default as fn() -> ::aludel::Value
                })
            });
        }

        to_values.push(quote_spanned! {ty.span()=>
            ::aludel::Value::from(::core::clone::Clone::clone(&self.#ident))
        });
        set_arms.push(quote_spanned! {ty.span()=>
            #position => ::aludel::orm::__set_field(&mut self.#ident, value, #table, #column)
        });
        let vis = &f.vis;
        let doc = format!("The `{table}.{column}` column, typed as the field.");
        handles.push(quote! {
            #[doc = #doc]
            #[allow(non_upper_case_globals)]
            #vis const #ident: ::aludel::sql::Col<#col_ty> =
                ::aludel::sql::Col::of(#table, <Self as ::aludel::orm::Model>::table, #column);
        });
        read.push(NamedField {
            ident,
            ty,
            column: column.clone(),
            read: Read::Column,
        });
        column_names.push(column);
    }

    if pk_positions.is_empty() {
        return Err(syn::Error::new(
            name.span(),
            format!(
                "model `{name}` has no primary key\n\
                 help: mark its key field with `#[aludel(primary_key)]` (several fields make a composite key)"
            ),
        ));
    }

    // Relationships: one typed constant each, and the list for cascades.
    let mut rel_consts = Vec::new();
    let mut rel_refs = Vec::new();
    let mut default_loads = Vec::new();
    for r in &attrs.relationships {
        let rname = &r.name;
        if fields.iter().any(|f| f.ident.as_ref() == Some(rname)) {
            return Err(syn::Error::new(
                rname.span(),
                format!("relationship `{rname}` has the name of a field of `{name}`; relationships and columns share the `{name}::…` namespace"),
            ));
        }
        let target = &r.target;
        let (kind, card) = match r.kind {
            "has_many" => (quote!(OneToMany), quote!(Many)),
            "has_one" => (quote!(OneToOne), quote!(One)),
            "belongs_to" => (quote!(ManyToOne), quote!(One)),
            _ => (quote!(ManyToMany), quote!(Many)),
        };
        let model_name = name.to_string();
        let rel_name = rname.to_string();
        let mut def = quote! {
            ::aludel::orm::Relationship::new(#model_name, #rel_name, ::aludel::orm::RelKind::#kind)
        };
        if let Some(b) = &r.back_populates {
            def = quote!(#def.back_populates(#b));
        }
        if let Some(fk) = &r.foreign_key {
            def = quote!(#def.foreign_key(#fk));
        }
        let (del, orphan) = r.cascade;
        if del || orphan {
            def = quote!(#def.cascade(::aludel::orm::Cascade { delete: #del, delete_orphan: #orphan }));
        }
        if r.passive_deletes {
            def = quote!(#def.passive_deletes());
        }
        let loader = match r.lazy.as_deref() {
            Some("selectin") => Some((quote!(Selectin), quote!(selectin))),
            Some("joined") => Some((quote!(Joined), quote!(joined))),
            Some("raise") => Some((quote!(Raise), quote!(raiseload))),
            _ => None,
        };
        if let Some((variant, option)) = loader {
            def = quote!(#def.lazy(::aludel::orm::Loading::#variant));
            default_loads.push(quote! {
                ::std::boxed::Box::new(::aludel::orm::#option(#name::#rname))
            });
        }
        if let Some(through) = &r.through {
            def = quote_spanned!(through.span()=> #def.through(<#through as ::aludel::orm::Model>::table));
        }
        let doc = format!(
            "The `{rel_name}` relationship ({}) of `{model_name}`.",
            r.kind
        );
        rel_consts.push(quote_spanned! {target.span()=>
            #[doc = #doc]
            #[allow(non_upper_case_globals)]
            pub const #rname: ::aludel::orm::Relationship<Self, #target, ::aludel::orm::#card> = #def;
        });
        rel_refs.push(quote_spanned!(target.span()=> &#name::#rname));
    }

    let from_row = named_impl(input, &read);
    let count = column_names.len();
    let schema = attrs.schema.map(|s| quote!(.schema(#s)));
    let bind = match attrs.bind {
        Some(b) => quote!(::core::option::Option::Some(#b)),
        None => quote!(::core::option::Option::None),
    };
    let version = match version {
        Some(c) => quote!(::core::option::Option::Some(#c)),
        None => quote!(::core::option::Option::None),
    };
    let value_positions: Vec<usize> = (0..to_values.len()).collect();
    let invalid = format!("#[derive(Model)] on `{name}` built an invalid table: {{}}");
    // The model impl comes first: an unsupported field type is then
    // reported as a missing `ColumnType` before the FromValue errors.
    Ok(quote! {
        impl ::aludel::orm::Model for #name {
            fn table() -> &'static ::aludel::schema::Table {
                static TABLE: ::std::sync::OnceLock<::aludel::schema::Table> =
                    ::std::sync::OnceLock::new();
                TABLE.get_or_init(|| {
                    ::aludel::schema::Table::builder(#table)
                        #schema
                        #(.column(#columns))*
                        .build()
                        .unwrap_or_else(|e| ::core::panic!(#invalid, e))
                })
            }

            fn column_names() -> &'static [&'static str] {
                &[#(#column_names),*]
            }

            fn primary_key_positions() -> &'static [usize] {
                &[#(#pk_positions),*]
            }

            fn rust_defaults() -> &'static [::aludel::orm::ColumnDefault] {
                Self::COLUMN_DEFAULTS
            }

            fn version_column() -> ::core::option::Option<&'static str> {
                #version
            }

            fn bind() -> ::core::option::Option<&'static str> {
                #bind
            }

            fn default_loads() -> ::std::vec::Vec<::std::boxed::Box<dyn ::aludel::orm::LoadOption<Self>>> {
                ::std::vec![#(#default_loads),*]
            }

            fn relationships() -> &'static [&'static dyn ::aludel::orm::AnyRelationship] {
                const RELATIONSHIPS: &[&dyn ::aludel::orm::AnyRelationship] = &[#(#rel_refs),*];
                RELATIONSHIPS
            }

            fn value_at(&self, position: usize) -> ::aludel::Value {
                #[allow(unreachable_patterns)]
                match position {
                    #(#value_positions => #to_values,)*
                    _ => ::aludel::Value::Null,
                }
            }

            fn to_values(&self) -> ::std::vec::Vec<::aludel::Value> {
                ::std::vec![#(#to_values),*]
            }

            fn set_value(
                &mut self,
                position: usize,
                value: ::aludel::Value,
            ) -> ::aludel::Result<()> {
                match position {
                    #(#set_arms,)*
                    _ => ::core::result::Result::Err(
                        ::aludel::orm::__no_column(#table, position, #count),
                    ),
                }
            }
        }

        // Register the model, so `aludel::orm::registered_metadata()` (the
        // target of autogenerate) sees it without a hand-kept list.
        ::aludel::__private::inventory::submit! {
            ::aludel::orm::ModelRegistration::new(
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                <#name as ::aludel::orm::Model>::table,
            )
            .with_bind(<#name as ::aludel::orm::Model>::bind)
        }

        impl #name {
            #(#handles)*

            #(#rel_consts)*

            /// The optimistic-locking version column (`#[aludel(version)]`), if any.
            pub const VERSION_COLUMN: ::core::option::Option<&'static str> = #version;

            /// The Rust-side defaults (`#[aludel(default = "path")]`): each
            /// column with the function that makes its value.
            pub const COLUMN_DEFAULTS: &'static [(&'static str, fn() -> ::aludel::Value)] =
                &[#(#defaults),*];
        }

        #from_row
    })
}

pub fn expand_db_enum(input: &DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new(
            name.span(),
            format!("DbEnum can only be derived for fieldless enums, and `{name}` is not an enum"),
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "a DbEnum cannot be generic",
        ));
    }
    if data.variants.is_empty() {
        return Err(syn::Error::new(
            name.span(),
            format!("DbEnum `{name}` has no variants; an enum column needs at least one"),
        ));
    }
    let mut type_name = snake_case(&name.to_string());
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("aludel")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                type_name = non_empty(meta.value()?.parse()?, "enum type name")?;
                Ok(())
            } else {
                Err(unknown(&meta, "DbEnum", "`name = \"sql_type_name\"`"))
            }
        })?;
    }
    let mut idents: Vec<&Ident> = Vec::new();
    let mut stored: Vec<String> = Vec::new();
    for v in &data.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new(
                v.ident.span(),
                format!(
                    "variant `{}` has fields; a DbEnum stores only a variant's name",
                    v.ident
                ),
            ));
        }
        let mut s = snake_case(&v.ident.to_string());
        for attr in v.attrs.iter().filter(|a| a.path().is_ident("aludel")) {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    s = non_empty(meta.value()?.parse()?, "stored name")?;
                    Ok(())
                } else {
                    Err(unknown(&meta, "variant", "`rename = \"stored\"`"))
                }
            })?;
        }
        if stored.contains(&s) {
            return Err(syn::Error::new(
                v.ident.span(),
                format!("two variants of `{name}` are stored as \"{s}\""),
            ));
        }
        idents.push(&v.ident);
        stored.push(s);
    }
    Ok(quote! {
        impl ::aludel::orm::DbEnum for #name {
            const NAME: &'static str = #type_name;
            const VARIANTS: &'static [&'static str] = &[#(#stored),*];

            fn as_str(&self) -> &'static str {
                match self {
                    #(Self::#idents => #stored,)*
                }
            }

            fn from_db_str(s: &str) -> ::core::option::Option<Self> {
                match s {
                    #(#stored => ::core::option::Option::Some(Self::#idents),)*
                    _ => ::core::option::Option::None,
                }
            }
        }

        impl ::core::convert::From<#name> for ::aludel::Value {
            fn from(v: #name) -> Self {
                ::aludel::Value::from(<#name as ::aludel::orm::DbEnum>::as_str(&v))
            }
        }

        impl ::aludel::FromValue for #name {
            fn from_value(
                value: ::aludel::Value,
            ) -> ::core::result::Result<Self, ::aludel::DecodeError> {
                ::aludel::orm::__decode_enum(value)
            }
        }

        impl ::aludel::orm::ColumnType for #name {
            fn sql_type(_: &::aludel::orm::TypeOptions) -> ::aludel::schema::SqlType {
                ::aludel::schema::SqlType::enumeration(
                    <#name as ::aludel::orm::DbEnum>::NAME,
                    <#name as ::aludel::orm::DbEnum>::VARIANTS.iter().copied(),
                )
            }
        }
    })
}
