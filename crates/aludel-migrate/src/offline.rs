//! Offline SQL (`db upgrade --sql`, `db downgrade --sql`): the statements
//! a range of revisions would run, version-table updates included,
//! rendered for a dialect without a database — Alembic's offline mode.
//!
//! Values are written as literals by the dialect (offline SQL cannot bind
//! them). Each revision is introduced by `-- Running upgrade a -> b,
//! message`; where the dialect has transactional DDL (PostgreSQL, SQLite)
//! it is wrapped in `BEGIN;` … `COMMIT;`, as the online runner runs it.
//! Ops that need the live database are refused with
//! [`ErrorKind::Offline`] naming the revision and the op: a data
//! migration ([`Ops::run`](crate::Ops::run)), SQL with bound values
//! ([`Ops::execute_with`](crate::Ops::execute_with)), and MySQL's
//! `alter_column` (which reads the column's current definition).
//!
//! ```
//! use aludel_core::{Dialect, url::Backend};
//! use aludel_migrate::{offline, Ops, Revision, Revisions};
//! const A: Revision = Revision::new("1975ea83b712", &[], "create account")
//!     .upgrade(|op: &mut Ops| { op.execute("CREATE TABLE account (id INTEGER)"); Ok(()) })
//!     .downgrade(|op: &mut Ops| { op.drop_table("account"); Ok(()) });
//! let revs = Revisions::new([A])?;
//! let sql = offline::upgrade_sql(&revs, &Dialect::new(Backend::Postgres), "head")?;
//! assert!(sql.contains("-- Running upgrade  -> 1975ea83b712, create account"));
//! assert!(sql.contains("CREATE TABLE account (id INTEGER);"));
//! assert!(sql.contains("INSERT INTO \"alembic_version\" (\"version_num\") VALUES ('1975ea83b712');"));
//! # Ok::<(), aludel_migrate::Error>(())
//! ```

use aludel_core::schema::{DdlCompiler, Index, MetaData, Table};
use aludel_core::url::Backend;
use aludel_core::{Dialect, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::graph::{Revisions, Target};
use crate::ops::Op;
use crate::revision::Revision;
use crate::version::{self, Change, VERSION_TABLE};

/// The SQL of an upgrade over `range`: `[from:]to`, `from` defaulting to
/// `base` (so the version table's `CREATE TABLE` comes first). `to` is any
/// upgrade target (`head`, `heads`, an id or prefix, `+N`).
///
/// # Errors
/// The targets' errors; [`ErrorKind::Plan`] when a body fails;
/// [`ErrorKind::Offline`] for an op that needs a live database.
pub fn upgrade_sql(revisions: &Revisions, dialect: &Dialect, range: &str) -> Result<String> {
    let (from, to) = match range.split_once(':') {
        Some((f, t)) => (if f.is_empty() { "base" } else { f }, t),
        None => ("base", range),
    };
    render(revisions, dialect, from, to, true)
}

/// The SQL of a downgrade over `range`, which must be `from:to` (Alembic
/// needs the starting point too, since there is no database to ask):
/// `head:base`, `ae1027a6acf0:-1`, …
///
/// # Errors
/// [`ErrorKind::Usage`] for a range without `from:`; otherwise as
/// [`upgrade_sql`].
pub fn downgrade_sql(revisions: &Revisions, dialect: &Dialect, range: &str) -> Result<String> {
    let Some((from, to)) = range.split_once(':') else {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "downgrade with --sql needs a range <fromrev>:<torev> (such as head:-1 or \
                 head:base), not '{range}': there is no database to say where it starts"
            ),
        ));
    };
    render(revisions, dialect, from, to, false)
}

fn render(g: &Revisions, dialect: &Dialect, from: &str, to: &str, up: bool) -> Result<String> {
    let start: Vec<usize> = match g.resolve_place(from)? {
        Target::Base => Vec::new(),
        Target::Revs(r) => r,
    };
    let plan = if up {
        g.upgrade_plan(&start, to)?
    } else {
        g.downgrade_plan(&start, to)?
    };
    let transactional = dialect.supports_transactional_ddl();
    let mut out = String::new();
    if up && start.is_empty() {
        let t = crate::version::version_table();
        let md = metadata_of(&t)?;
        out.push_str(&DdlCompiler::new(dialect, &md).create_table(&t)?);
        out.push_str(";\n\n");
    }
    let mut heads = start;
    for r in plan {
        let rev = g.at(r);
        let ops = if up {
            rev.plan_upgrade()
        } else {
            rev.plan_downgrade()
        }
        .map_err(|e| {
            Error::new(
                ErrorKind::Plan,
                format!(
                    "{}: the body returned an error: {}",
                    name(rev, up),
                    e.message()
                ),
            )
            .with_revisions([rev.id()])
            .with_source(e)
        })?;
        out.push_str(&format!("-- Running {}\n\n", step(rev, up)));
        if transactional {
            out.push_str("BEGIN;\n\n");
        }
        let ops = ops.into_ops();
        let n = ops.len();
        for (i, op) in ops.into_iter().enumerate() {
            let what = op.describe();
            let stmts = op_sql(dialect, &op.0).map_err(|why| {
                Error::new(
                    ErrorKind::Offline,
                    format!(
                        "{}: op {} of {n} ({what}) cannot be rendered as offline SQL: {why}",
                        name(rev, up),
                        i + 1
                    ),
                )
                .with_revisions([rev.id()])
            })?;
            for s in stmts {
                out.push_str(&s);
                out.push_str(";\n\n");
            }
        }
        let changes = version::changes(g, &heads, r, up);
        for c in &changes {
            out.push_str(&version_sql(dialect, c)?);
            out.push_str(";\n\n");
            version::apply(g, &mut heads, c);
        }
        if transactional {
            out.push_str("COMMIT;\n\n");
        }
    }
    Ok(out)
}

fn step(rev: &Revision, up: bool) -> String {
    let downs = rev.down_revisions().join(", ");
    let (verb, from, to) = if up {
        ("upgrade", downs, rev.id().to_string())
    } else {
        ("downgrade", rev.id().to_string(), downs)
    };
    if rev.message().is_empty() {
        format!("{verb} {from} -> {to}")
    } else {
        format!("{verb} {from} -> {to}, {}", rev.message())
    }
}

fn name(rev: &Revision, up: bool) -> String {
    format!(
        "revision '{}' (\"{}\", {})",
        rev.id(),
        rev.message(),
        if up { "upgrade" } else { "downgrade" }
    )
}

fn lit(dialect: &Dialect, s: &str) -> Result<String> {
    Ok(dialect.render_literal(&Value::from(s))?)
}

fn version_sql(dialect: &Dialect, change: &Change) -> Result<String> {
    let q = |s: &str| dialect.quote_identifier(s);
    let (t, c) = (q(VERSION_TABLE), q("version_num"));
    Ok(match change {
        Change::Insert(v) => format!("INSERT INTO {t} ({c}) VALUES ({})", lit(dialect, v)?),
        Change::Delete(v) => format!("DELETE FROM {t} WHERE {t}.{c} = {}", lit(dialect, v)?),
        Change::Update(a, b) => format!(
            "UPDATE {t} SET {c} = {} WHERE {t}.{c} = {}",
            lit(dialect, b)?,
            lit(dialect, a)?
        ),
    })
}

fn metadata_of(table: &Table) -> aludel_core::Result<MetaData> {
    let mut md = MetaData::new();
    md.add(table.clone())?;
    Ok(md)
}

/// The statements of one op, or why it has none offline.
fn op_sql(dialect: &Dialect, op: &Op) -> std::result::Result<Vec<String>, String> {
    op_sql_inner(dialect, op).map_err(|e| match e {
        Why::Core(e) => e.message().to_string(),
        Why::Text(s) => s,
    })
}

enum Why {
    Core(aludel_core::Error),
    Text(String),
}

impl From<aludel_core::Error> for Why {
    fn from(e: aludel_core::Error) -> Self {
        Why::Core(e)
    }
}

impl From<String> for Why {
    fn from(s: String) -> Self {
        Why::Text(s)
    }
}

fn op_sql_inner(dialect: &Dialect, op: &Op) -> std::result::Result<Vec<String>, Why> {
    let q = |s: &str| dialect.quote_identifier(s);
    let empty = MetaData::new();
    let ddl = DdlCompiler::new(dialect, &empty);
    let mut out = Vec::new();
    match op {
        Op::CreateTable(table) => {
            let md = metadata_of(table)?;
            let ddl = DdlCompiler::new(dialect, &md);
            out.extend(ddl.create_enum_types(table)?.into_iter().map(|(_, s)| s));
            out.push(ddl.create_table(table)?);
            out.extend(ddl.comments(table)?);
            out.extend(ddl.create_indexes(table));
        }
        Op::DropTable(name) => out.push(format!("DROP TABLE {}", q(name))),
        Op::RenameTable(a, b) => out.push(ddl.rename_table(a, b)),
        Op::AddColumn(table, column) => {
            let t = Table::builder(table.clone())
                .column(column.clone())
                .build()?;
            let md = metadata_of(&t)?;
            out.extend(
                DdlCompiler::new(dialect, &md)
                    .create_enum_types(&t)?
                    .into_iter()
                    .map(|(_, s)| s),
            );
            out.extend(ddl.add_column(table, column)?);
        }
        Op::DropColumn(table, column) => {
            if dialect.backend() == Backend::Sqlite {
                return Err(
                    "on SQLite a column that an index, key or constraint uses is \
                            dropped by rebuilding the table, which needs the live table; \
                            run it online"
                        .to_string()
                        .into(),
                );
            }
            out.push(ddl.drop_column(table, column))
        }
        Op::CreateIndex {
            name,
            table,
            columns,
            unique,
        } => out.push(ddl.create_index_on(
            table,
            &Index {
                name: Some(name.clone()),
                columns: columns.clone(),
                unique: *unique,
            },
        )),
        Op::DropIndex(name, table) => out.push(ddl.drop_index_named(table, name)),
        Op::AlterColumn(table, column, change) => {
            if dialect.backend() == Backend::Mysql {
                return Err(format!(
                    "{}'s CHANGE COLUMN restates the whole column, which the online runner \
                     reads from information_schema; offline there is nothing to read, so \
                     write the statement with op.execute(\"ALTER TABLE … CHANGE COLUMN …\")",
                    dialect.name()
                )
                .into());
            }
            out.extend(ddl.alter_column(table, column, change, None)?);
        }
        Op::CreateForeignKey(table, fk) => out.push(ddl.add_foreign_key_to(table, fk)?),
        Op::CreateUnique(name, table, columns) => {
            out.push(ddl.add_unique_constraint(table, name, columns)?)
        }
        Op::CreateCheck(name, table, condition) => {
            out.push(ddl.add_check_constraint(table, name, condition)?)
        }
        Op::DropConstraint(name, table, kind) => out.push(ddl.drop_constraint(table, name, *kind)?),
        Op::Execute(sql, params) => {
            if !params.is_empty() {
                return Err(
                    "it binds values (execute_with), which offline SQL would have to \
                            splice into the text; run it online, or write the values into the SQL"
                        .to_string()
                        .into(),
                );
            }
            out.push(sql.trim().trim_end_matches(';').to_string());
        }
        Op::BulkInsert(table, rows) => {
            for chunk in rows.chunks(1000) {
                let Some(first) = chunk.first() else { continue };
                let cols: Vec<String> = first.as_slice().iter().map(|(k, _)| q(k)).collect();
                let mut values = Vec::with_capacity(chunk.len());
                for row in chunk {
                    let lits: aludel_core::Result<Vec<String>> = row
                        .as_slice()
                        .iter()
                        .map(|(_, v)| dialect.render_literal(v))
                        .collect();
                    values.push(format!("({})", lits?.join(", ")));
                }
                out.push(format!(
                    "INSERT INTO {} ({}) VALUES {}",
                    q(table.name()),
                    cols.join(", "),
                    values.join(", ")
                ));
            }
        }
        Op::Run(label, _) => {
            return Err(format!(
                "the data migration \"{label}\" needs a live database connection; \
                 run this revision online (`db upgrade` without --sql)"
            )
            .into())
        }
    }
    Ok(out)
}
