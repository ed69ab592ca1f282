//! Autogenerate: the models' [`MetaData`] against the live schema, and a
//! revision script written from the differences (Alembic's `revision
//! --autogenerate`), as Rust source in the shape of every script:
//! `pub const REVISION: Revision = Revision::new(…)` with `upgrade` and
//! `downgrade` functions made of [`Ops`](crate::Ops) calls, the prelude of
//! the crate in scope.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_migrate::Result<()> {
//! use aludel_core::schema::{Column, MetaData, SqlType, Table};
//! use aludel_migrate::{autogenerate, check, AutogenerateOptions};
//!
//! let engine = aludel_core::create_engine("sqlite://")?;
//! let mut models = MetaData::new();
//! models.add(Table::builder("account")
//!     .column(Column::new("id", SqlType::Integer).primary_key())
//!     .column(Column::new("email", SqlType::string(200)).not_null().unique())
//!     .build()?)?;
//!
//! let options = AutogenerateOptions::new();
//! let found = check(&engine, &models, &options).await?;
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].to_string(), "added table 'account'");
//!
//! let script = autogenerate(&engine, &models, &options, "create account table", &[])
//!     .await?
//!     .expect("a change");
//! assert!(script.file_name.ends_with("_create_account_table.rs"));
//! assert!(script.source.contains("op.create_table("));
//! assert!(script.source.contains(r#"name: Some("uq_account_email".into())"#));
//! models.create_all(&engine).await?;
//! assert!(check(&engine, &models, &options).await?.is_empty(), "no false positive");
//! # Ok(()) }
//! ```

use std::fmt::Write as _;

use aludel_core::schema::{
    Column, ForeignKey, Index, MetaData, ReferentialAction, ServerDefault, SqlType, Table,
    UniqueConstraint,
};
use aludel_core::url::Backend;
use aludel_core::{Dialect, Engine, Value};

use crate::compare::{compare_metadata, plain, AutogenerateOptions, Difference};
use crate::error::Result;

/// A script written by [`autogenerate`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GeneratedScript {
    /// The new revision's id.
    pub id: String,
    /// `<id>_<slug>.rs`, for `migrations/versions/`.
    pub file_name: String,
    /// The script's text.
    pub source: String,
    /// What it changes.
    pub differences: Vec<Difference>,
}

/// The differences between `models` and `engine`'s database (Alembic's
/// `check`): empty when they agree. [`Difference::is_destructive`] marks
/// those that can lose data.
///
/// # Errors
/// Whatever connecting or reflection reports.
pub async fn check(
    engine: &Engine,
    models: &MetaData,
    options: &AutogenerateOptions,
) -> Result<Vec<Difference>> {
    let mut conn = engine.connect().await?;
    let found = compare_metadata(&mut conn, models, options).await?;
    conn.rollback().await?;
    Ok(found)
}

/// Compare and write a new revision script revising `down_revisions`
/// (the current heads), or `None` when nothing changed ("no changes
/// detected"). The id is new and the date is now (UTC).
///
/// # Errors
/// As [`check`].
pub async fn autogenerate(
    engine: &Engine,
    models: &MetaData,
    options: &AutogenerateOptions,
    message: &str,
    down_revisions: &[String],
) -> Result<Option<GeneratedScript>> {
    let differences = check(engine, models, options).await?;
    if differences.is_empty() {
        return Ok(None);
    }
    let id = crate::new_revision_id();
    let source = render_revision(&id, down_revisions, message, &now(), &differences);
    let slug = crate::slug(message);
    let file_name = if slug.is_empty() {
        format!("{id}_.rs")
    } else {
        format!("{id}_{slug}.rs")
    };
    Ok(Some(GeneratedScript {
        id,
        file_name,
        source,
        differences,
    }))
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, as Alembic writes `Create Date`.
fn now() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// The text of a revision script applying `differences`: the header
/// comment, `REVISION`, and `upgrade` / `downgrade` bodies (the downgrade
/// undoes the upgrade, in reverse order). A proposed rename carries a
/// comment saying to replace it by a drop and an add if the columns are
/// really different. The names it uses are those of the crate's
/// [`prelude`](crate::prelude), which [`migrations!`](crate::migrations!)
/// puts in scope in every script.
///
/// ```
/// use aludel_core::schema::{Column, SqlType};
/// use aludel_migrate::{render_revision, Difference};
/// let add = Difference::AddColumn {
///     table: "account".into(),
///     column: Column::new("plan", SqlType::string(20)).server_default("free"),
/// };
/// let text = render_revision("ae1027a6acf0", &["1975ea83b712".into()], "add plan",
///     "2024-05-02 10:00:00.000000", &[add]);
/// assert!(text.contains(r#"pub const REVISION: Revision = Revision::new("ae1027a6acf0", &["1975ea83b712"], "add plan")"#));
/// assert!(text.contains(r#"op.add_column("account", Column::new("plan", SqlType::string(20)).server_default("free"));"#));
/// assert!(text.contains(r#"op.drop_column("account", "plan");"#));
/// ```
pub fn render_revision(
    id: &str,
    down_revisions: &[String],
    message: &str,
    create_date: &str,
    differences: &[Difference],
) -> String {
    let downs = down_revisions
        .iter()
        .map(|d| lit(d))
        .collect::<Vec<_>>()
        .join(", ");
    let revises = if down_revisions.is_empty() {
        "<base>".to_string()
    } else {
        down_revisions.join(", ")
    };
    let shown = if message.is_empty() {
        "empty message"
    } else {
        message
    };
    let mut up = String::new();
    let mut down_parts = Vec::new();
    for d in differences {
        let (u, dn) = render_difference(d);
        up.push_str(&u);
        down_parts.push(dn);
    }
    down_parts.reverse();
    let down = down_parts.concat();
    let destructive: Vec<String> = differences
        .iter()
        .filter(|d| d.is_destructive())
        .map(|d| format!("//   - {d}\n"))
        .collect();
    let warning = if destructive.is_empty() {
        String::new()
    } else {
        format!(
            "//\n// Destructive changes (review before running):\n{}",
            destructive.concat()
        )
    };
    format!(
        "// {shown}
//
// Revision ID: {id}
// Revises: {revises}
// Create Date: {create_date}
//
// The prelude of aludel_migrate is in scope (Ops, Revision, Table, Column,
// SqlType, AlterColumn, params!, Connection, Result…).
{warning}
pub const REVISION: Revision = Revision::new({}, &[{downs}], {})
    .created({})
    .upgrade(upgrade)
    .downgrade(downgrade);

fn upgrade(op: &mut Ops) -> Result<()> {{
    // ### commands auto generated by Aludel - please adjust! ###
{up}    // ### end Aludel commands ###
    Ok(())
}}

fn downgrade(op: &mut Ops) -> Result<()> {{
    // ### commands auto generated by Aludel - please adjust! ###
{down}    // ### end Aludel commands ###
    Ok(())
}}
",
        lit(id),
        lit(message),
        lit(create_date),
    )
}

/// A Rust string literal.
fn lit(s: &str) -> String {
    format!("{s:?}")
}

fn strings(v: &[String]) -> String {
    format!(
        "[{}]",
        v.iter().map(|s| lit(s)).collect::<Vec<_>>().join(", ")
    )
}

fn vec_strings(v: &[String]) -> String {
    format!(
        "vec![{}]",
        v.iter()
            .map(|s| format!("{}.into()", lit(s)))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn render_type(ty: &SqlType) -> String {
    match ty {
        SqlType::String(Some(n)) => format!("SqlType::string({n})"),
        SqlType::String(None) => "SqlType::String(None)".into(),
        SqlType::Numeric { precision, scale } => {
            format!("SqlType::Numeric {{ precision: {precision:?}, scale: {scale:?} }}")
        }
        SqlType::DateTime { timezone } => format!("SqlType::DateTime {{ timezone: {timezone} }}"),
        SqlType::Enum { name, variants } => {
            format!("SqlType::enumeration({}, {})", lit(name), strings(variants))
        }
        other => format!("SqlType::{other:?}"),
    }
}

fn render_value(v: &Value) -> Option<String> {
    Some(match v {
        Value::Bool(b) => b.to_string(),
        Value::I16(n) => format!("{n}_i16"),
        Value::I32(n) => format!("{n}_i32"),
        Value::I64(n) => format!("{n}_i64"),
        Value::F32(n) => format!("{n:?}_f32"),
        Value::F64(n) => format!("{n:?}_f64"),
        Value::String(s) => lit(s),
        _ => return None,
    })
}

/// `.server_default(…)` / `.server_default_sql(…)`, or nothing.
fn render_default(d: Option<&ServerDefault>) -> String {
    match d {
        Some(ServerDefault::Value(v)) => match render_value(v) {
            Some(r) => format!(".server_default({r})"),
            // Decimals, dates, UUIDs…: their portable SQL literal.
            None => match Dialect::new(Backend::Sqlite).render_literal(v) {
                Ok(sql) => format!(".server_default_sql({})", lit(&sql)),
                Err(_) => String::new(),
            },
        },
        Some(ServerDefault::Sql(s)) => format!(".server_default_sql({})", lit(s)),
        _ => String::new(),
    }
}

/// `Column::new(…)` with its nullability, default and comment; `pk`: mark
/// it `.primary_key()`; `auto`: whether it autoincrements, said only when
/// it differs from what the table implies.
fn render_column(c: &Column, pk: bool, auto: Option<bool>) -> String {
    let mut out = format!(
        "Column::new({}, {})",
        lit(c.name()),
        render_type(c.sql_type())
    );
    if pk {
        out.push_str(".primary_key()");
    } else if !c.is_nullable() {
        out.push_str(".not_null()");
    }
    if let Some(a) = auto {
        let _ = write!(out, ".autoincrement({a})");
    }
    out.push_str(&render_default(c.default()));
    if let Some(text) = c.comment_text() {
        let _ = write!(out, ".comment({})", lit(text));
    }
    out
}

fn render_action(a: Option<ReferentialAction>) -> String {
    match a {
        Some(a) => format!("Some(ReferentialAction::{a:?})"),
        None => "None".into(),
    }
}

fn render_fk(fk: &ForeignKey) -> String {
    format!(
        "ForeignKey {{ name: {}, columns: {}, referred_table: {}.into(), referred_columns: {}, on_delete: {}, on_update: {} }}",
        match &fk.name {
            Some(n) => format!("Some({}.into())", lit(n)),
            None => "None".into(),
        },
        vec_strings(&fk.columns),
        lit(&fk.referred_table),
        vec_strings(&fk.referred_columns),
        render_action(fk.on_delete),
        render_action(fk.on_update),
    )
}

/// `&Table::builder(…)…build()?`, every constraint and index named.
fn render_table(t: &Table) -> String {
    let mut out = format!("&Table::builder({})\n", lit(t.name()));
    let single_pk = t.primary_key().len() == 1;
    let implied_auto = match t.primary_key() {
        [only] => t
            .column(only)
            .ok()
            .filter(|c| c.sql_type().is_integer())
            .map(|c| c.name().to_string()),
        _ => None,
    };
    let auto = t.autoincrement_column().map(|c| c.name().to_string());
    for c in t.columns() {
        let is_pk = single_pk && t.primary_key()[0] == c.name();
        let a = if implied_auto.as_deref() == Some(c.name()) && auto.is_none() {
            Some(false)
        } else if auto.as_deref() == Some(c.name()) && implied_auto.as_deref() != Some(c.name()) {
            Some(true)
        } else {
            None
        };
        let _ = writeln!(out, "            .column({})", render_column(c, is_pk, a));
    }
    if t.primary_key().len() > 1 {
        let _ = writeln!(
            out,
            "            .primary_key({})",
            strings(t.primary_key())
        );
    }
    if let Some(n) = t.primary_key_name() {
        let _ = writeln!(out, "            .primary_key_name({})", lit(n));
    }
    for fk in t.foreign_keys() {
        let _ = writeln!(out, "            .foreign_key({})", render_fk(fk));
    }
    for u in t.unique_constraints() {
        let _ = writeln!(
            out,
            "            .unique_constraint(UniqueConstraint {{ name: {}, columns: {} }})",
            match &u.name {
                Some(n) => format!("Some({}.into())", lit(n)),
                None => "None".into(),
            },
            vec_strings(&u.columns)
        );
    }
    for ck in t.check_constraints() {
        let _ = writeln!(
            out,
            "            .check({}, {})",
            lit(&ck.name),
            lit(&ck.sql)
        );
    }
    for i in t.indexes() {
        let _ = writeln!(
            out,
            "            .add_index(Index {{ name: {}, columns: {}, unique: {} }})",
            match &i.name {
                Some(n) => format!("Some({}.into())", lit(n)),
                None => "None".into(),
            },
            vec_strings(&i.columns),
            i.unique
        );
    }
    if let Some(c) = t.comment() {
        let _ = writeln!(out, "            .comment({})", lit(c));
    }
    out.push_str("            .build()?");
    out
}

/// The reflected table with constraint names filled in (a table being
/// dropped is re-created by the downgrade with the same names).
fn render_create(t: &Table) -> String {
    format!(
        "    op.create_table(\n        {},\n    );\n",
        render_table(t)
    )
}

fn alter_chain(from: &Column, to: &Column, ty: bool, nullable: bool, default: bool) -> String {
    let mut out = "AlterColumn::new()".to_string();
    if ty {
        let _ = write!(out, ".sql_type({})", render_type(to.sql_type()));
    }
    if nullable {
        let _ = write!(out, ".nullable({})", to.is_nullable());
    }
    if default {
        let d = render_default(to.default());
        if d.is_empty() {
            out.push_str(".drop_server_default()");
        } else {
            out.push_str(&d);
        }
    }
    if from.name() != to.name() {
        let _ = write!(out, ".rename({})", lit(to.name()));
    }
    out
}

fn index_of(i: &Index) -> String {
    i.name.clone().unwrap_or_default()
}

fn unique_name(u: &UniqueConstraint) -> String {
    u.name.clone().unwrap_or_default()
}

/// The upgrade and downgrade lines of one difference.
fn render_difference(d: &Difference) -> (String, String) {
    match d {
        Difference::AddTable(t) => (
            render_create(t),
            format!("    op.drop_table({});\n", lit(t.name())),
        ),
        Difference::RemoveTable(t) => (
            format!("    op.drop_table({});\n", lit(t.name())),
            render_create(t),
        ),
        Difference::AddColumn { table, column } => (
            format!(
                "    op.add_column({}, {});\n",
                lit(table),
                render_column(column, false, None)
            ),
            format!(
                "    op.drop_column({}, {});\n",
                lit(table),
                lit(column.name())
            ),
        ),
        Difference::RemoveColumn { table, column } => (
            format!(
                "    op.drop_column({}, {});\n",
                lit(table),
                lit(column.name())
            ),
            format!(
                "    op.add_column({}, {});\n",
                lit(table),
                render_column(&plain(column, false), false, None)
            ),
        ),
        Difference::RenameColumn { table, from, to } => {
            let ty = from.sql_type() != to.sql_type();
            let n = from.is_nullable() != to.is_nullable();
            let dflt = from.default() != to.default();
            let note = format!(
                "    // Column \"{}\" was dropped and \"{}\" added with the same type: proposed as a\n    \
                 // rename, which keeps the data. If they are different columns, replace this\n    \
                 // with op.drop_column and op.add_column.\n",
                from.name(),
                to.name()
            );
            (
                format!(
                    "{note}    op.alter_column({}, {}, {});\n",
                    lit(table),
                    lit(from.name()),
                    alter_chain(from, to, ty, n, dflt)
                ),
                format!(
                    "    op.alter_column({}, {}, {});\n",
                    lit(table),
                    lit(to.name()),
                    alter_chain(to, from, ty, n, dflt)
                ),
            )
        }
        Difference::AlterColumn {
            table,
            from,
            to,
            type_changed,
            nullable_changed,
            default_changed,
        } => (
            format!(
                "    op.alter_column({}, {}, {});\n",
                lit(table),
                lit(from.name()),
                alter_chain(from, to, *type_changed, *nullable_changed, *default_changed)
            ),
            format!(
                "    op.alter_column({}, {}, {});\n",
                lit(table),
                lit(to.name()),
                alter_chain(to, from, *type_changed, *nullable_changed, *default_changed)
            ),
        ),
        Difference::AddIndex { table, index } => (
            render_create_index(table, index),
            format!(
                "    op.drop_index({}, {});\n",
                lit(&index_of(index)),
                lit(table)
            ),
        ),
        Difference::RemoveIndex { table, index } => (
            format!(
                "    op.drop_index({}, {});\n",
                lit(&index_of(index)),
                lit(table)
            ),
            render_create_index(table, index),
        ),
        Difference::AddUnique { table, constraint } => (
            render_create_unique(table, constraint),
            render_drop_constraint(table, &unique_name(constraint), "Unique"),
        ),
        Difference::RemoveUnique { table, constraint } => (
            render_drop_constraint(table, &unique_name(constraint), "Unique"),
            render_create_unique(table, constraint),
        ),
        Difference::AddForeignKey { table, foreign_key } => (
            format!(
                "    op.create_foreign_key({}, {});\n",
                lit(table),
                render_fk(foreign_key)
            ),
            render_drop_constraint(
                table,
                foreign_key.name.as_deref().unwrap_or_default(),
                "ForeignKey",
            ),
        ),
        Difference::RemoveForeignKey { table, foreign_key } => (
            render_drop_constraint(
                table,
                foreign_key.name.as_deref().unwrap_or_default(),
                "ForeignKey",
            ),
            format!(
                "    op.create_foreign_key({}, {});\n",
                lit(table),
                render_fk(foreign_key)
            ),
        ),
    }
}

fn render_create_index(table: &str, i: &Index) -> String {
    format!(
        "    op.create_index({}, {}, {}, {});\n",
        lit(&index_of(i)),
        lit(table),
        strings(&i.columns),
        i.unique
    )
}

fn render_create_unique(table: &str, u: &UniqueConstraint) -> String {
    format!(
        "    op.create_unique_constraint({}, {}, {});\n",
        lit(&unique_name(u)),
        lit(table),
        strings(&u.columns)
    )
}

fn render_drop_constraint(table: &str, name: &str, kind: &str) -> String {
    format!(
        "    op.drop_constraint({}, {}, ConstraintKind::{kind});\n",
        lit(name),
        lit(table)
    )
}
