//! `aludel_migrate::migrations!("migrations/versions")`: every revision
//! script of a directory compiled into the app, and a `static` registry.
//!
//! Each `<rev>_<slug>.rs` file becomes a private module whose body is the
//! file (`include!`, so rustc records the file and a change to it rebuilds
//! the crate), with the migrate crate's prelude in scope. The file's
//! `REVISION` constant is read here with syn, so a file whose name does not
//! start with its revision id is a compile error naming both. A new file
//! is seen when the crate is next compiled; `aludel_migrate::build::watch`
//! in a build script makes adding one trigger that compilation.

use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::{Expr, Item, Lit};

/// The input: `<crate path> ; "dir"` (the path is the migrate crate's
/// `$crate`, passed by its `macro_rules!` wrapper).
pub fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let mut krate = TokenStream::new();
    let mut rest = Vec::new();
    let mut seen_semi = false;
    for tt in input {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ';' && !seen_semi => seen_semi = true,
            _ if seen_semi => rest.push(tt),
            _ => krate.extend([tt]),
        }
    }
    let lit: syn::LitStr = syn::parse2(rest.into_iter().collect())?;
    let rel = lit.value();
    let root = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dir = Path::new(&root).join(&rel);
    // A directory that does not exist yet is empty: the app must build
    // before its first `db init` (which creates it); the CLI then says
    // that the scripts on disk are not compiled in until the next build.
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => {
            return Err(syn::Error::new(
                lit.span(),
                format!(
                    "cannot read the migrations directory {} ({e}); give the path relative \
                     to the crate's Cargo.toml",
                    dir.display()
                ),
            ))
        }
    };
    let mut files: Vec<PathBuf> = entries.into_iter().filter(|p| is_script(p)).collect();
    files.sort();

    let mut mods = Vec::new();
    let mut scripts = Vec::new();
    for path in &files {
        let file = path.file_name().unwrap_or_default().to_string_lossy();
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        check_id(path, &file, &stem, lit.span())?;
        let m = format_ident!("rev_{}", sanitize(&stem));
        let abs = path.to_string_lossy().into_owned();
        mods.push(quote! {
            #[allow(unused_imports, dead_code, clippy::all)]
            mod #m {
                use #krate::prelude::*;
                include!(#abs);
            }
        });
        let file = file.into_owned();
        scripts.push(quote! { #krate::Script::new(#file, &#m::REVISION) });
    }
    let doc = format!(
        "The {} revision scripts of `{rel}`, found at compile time.",
        files.len()
    );
    Ok(quote! {
        #(#mods)*
        #[doc = #doc]
        pub static MIGRATIONS: #krate::Migrations = #krate::Migrations::new(#rel, &[#(#scripts),*]);
        // A build script's `aludel_migrate::build::watch` sets this to the
        // directory's listing, so a new file changes it and rebuilds.
        const _: ::core::option::Option<&str> = ::core::option_env!("ALUDEL_MIGRATIONS_STAMP");
    })
}

fn is_script(p: &Path) -> bool {
    let name = p.file_name().unwrap_or_default().to_string_lossy();
    p.is_file()
        && name.ends_with(".rs")
        && !name.starts_with('_')
        && !name.starts_with('.')
        && name != "mod.rs"
}

fn sanitize(stem: &str) -> String {
    stem.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The file's `REVISION` id must be its name or the part before `_<slug>`.
fn check_id(path: &Path, file: &str, stem: &str, span: Span) -> syn::Result<()> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| syn::Error::new(span, format!("cannot read {}: {e}", path.display())))?;
    let parsed = syn::parse_file(&text).map_err(|e| {
        syn::Error::new(span, format!("migration script {file} does not parse: {e}"))
    })?;
    let revision = parsed.items.iter().find_map(|item| match item {
        Item::Const(c) if c.ident == "REVISION" => Some(&*c.expr),
        _ => None,
    });
    let Some(expr) = revision else {
        return Err(syn::Error::new(
            span,
            format!(
                "migration script {file} defines no `pub const REVISION: Revision`; \
                 `db revision` writes one"
            ),
        ));
    };
    let Some(id) = revision_id(expr) else {
        return Ok(()); // not a literal: Migrations::revisions checks it at run time
    };
    if stem == id || stem.starts_with(&format!("{id}_")) {
        return Ok(());
    }
    Err(syn::Error::new(
        span,
        format!(
            "migration script {file} declares revision '{id}', but its file name says '{}'; \
             name the file {id}_<slug>.rs or fix the id",
            stem.split('_').next().unwrap_or(stem)
        ),
    ))
}

/// The first argument of `Revision::new(…)` at the root of a method chain.
fn revision_id(mut expr: &Expr) -> Option<String> {
    loop {
        match expr {
            Expr::MethodCall(m) => expr = &m.receiver,
            Expr::Paren(p) => expr = &p.expr,
            Expr::Call(c) => {
                return match c.args.first()? {
                    Expr::Lit(l) => match &l.lit {
                        Lit::Str(s) => Some(s.value()),
                        _ => None,
                    },
                    _ => None,
                }
            }
            _ => return None,
        }
    }
}
