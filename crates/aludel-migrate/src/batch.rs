//! SQLite's batch mode (Alembic's "move and copy"): what SQLite's `ALTER
//! TABLE` cannot do is done by rebuilding the table, without the script
//! author asking.
//!
//! The table is reflected on the migration's connection (so earlier ops of
//! the revision are seen), the new shape is made from it, and then, inside
//! the revision's transaction:
//!
//! 1. `CREATE TABLE "_alembic_tmp_<name>"` with the new shape (constraint
//!    names as the final table's);
//! 2. `INSERT INTO "_alembic_tmp_<name>" (…) SELECT … FROM "<name>"`
//!    (`CAST` for a changed type);
//! 3. `DROP TABLE "<name>"` (its indexes go with it);
//! 4. `ALTER TABLE "_alembic_tmp_<name>" RENAME TO "<name>"` under
//!    `PRAGMA legacy_alter_table = ON`, so views and triggers naming the
//!    table are not re-checked halfway;
//! 5. the indexes again.
//!
//! **Foreign keys.** With enforcement on, step 3's `DROP TABLE` deletes the
//! rows first, which fires the `ON DELETE` actions of the tables that refer
//! to this one (a `CASCADE` would empty them), and `PRAGMA foreign_keys`
//! cannot change inside a transaction. So the runner turns enforcement off
//! *before* opening the transaction of a revision that has an op which may
//! rebuild a table, runs `PRAGMA foreign_key_check` before committing it
//! (a violation fails the revision, which is rolled back), and turns
//! enforcement back on afterwards — SQLite's documented procedure for
//! "other kinds of table schema changes". References from other tables
//! name the table, not its storage, so they hold again once the rebuilt
//! table has its name back. Should a rebuild ever run with enforcement on
//! while another table refers to this one, it refuses rather than lose
//! rows.
//!
//! What is kept: every column (renamed, retyped, defaults changed as
//! asked), the primary key (the rowid alias too), foreign keys in both
//! directions, unique constraints, named CHECK constraints, indexes. What
//! is not: unnamed CHECK constraints (SQLite keeps no name to find them
//! by; Aludel's naming convention names every constraint it creates), and
//! triggers on the table (dropped with it, as in Alembic).

use aludel_core::schema::{
    AlterColumn, Column, ConstraintKind, DdlCompiler, ForeignKey, Inspector, MetaData,
    NamingConvention, ServerDefault, Table, UniqueConstraint,
};
use aludel_core::{params, text, Connection, Error, ErrorKind, Result};

use crate::ops::exec;

/// One change that needs the table rebuilt.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change<'a> {
    AlterColumn(&'a str, &'a AlterColumn),
    DropColumn(&'a str),
    AddForeignKey(&'a ForeignKey),
    AddUnique(&'a str, &'a [String]),
    AddCheck(&'a str, &'a str),
    DropConstraint(&'a str, ConstraintKind),
}

/// Whether SQLite's own `DROP COLUMN` cannot drop `column`: SQLite older
/// than 3.35, or a column some key, index or constraint uses.
pub(crate) async fn drop_column_needs_rebuild(
    conn: &mut Connection,
    table: &str,
    column: &str,
) -> Result<bool> {
    let version: String = conn
        .execute(text("SELECT sqlite_version()"), ())
        .await?
        .scalar_one()?;
    let parts: Vec<u32> = version.split('.').filter_map(|p| p.parse().ok()).collect();
    if parts.as_slice() < [3, 35].as_slice() {
        return Ok(true);
    }
    let t = Inspector::reflect_table_on(conn, table).await?;
    let has = |cols: &[String]| cols.iter().any(|c| c == column);
    Ok(has(t.primary_key())
        || t.foreign_keys().iter().any(|f| has(&f.columns))
        || t.unique_constraints().iter().any(|u| has(&u.columns))
        || t.indexes().iter().any(|i| has(&i.columns))
        || t.check_constraints()
            .iter()
            .any(|c| mentions(&c.sql, column)))
}

/// Whether SQL text names `column` (quoted, or as a bare word).
fn mentions(sql: &str, column: &str) -> bool {
    sql.contains(&format!("\"{column}\""))
        || sql
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| w.eq_ignore_ascii_case(column))
}

/// Replace `old` by `new` where SQL text names it as an identifier.
fn rename_in(sql: &str, old: &str, new: &str) -> String {
    let quoted = sql.replace(&format!("\"{old}\""), &format!("\"{new}\""));
    let mut out = String::with_capacity(quoted.len());
    let mut word = String::new();
    let mut in_quote = None::<char>;
    let flush = |word: &mut String, out: &mut String| {
        if word == old {
            out.push_str(&format!("\"{new}\""));
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for ch in quoted.chars() {
        match in_quote {
            Some(q) => {
                out.push(ch);
                if ch == q {
                    in_quote = None;
                }
            }
            None if ch.is_alphanumeric() || ch == '_' => word.push(ch),
            None => {
                flush(&mut word, &mut out);
                if ch == '\'' || ch == '"' {
                    in_quote = Some(ch);
                }
                out.push(ch);
            }
        }
    }
    flush(&mut word, &mut out);
    out
}

/// The new shape of `old` after `change`, and what to copy: `(new column,
/// SELECT expression)` pairs.
fn reshape(
    old: &Table,
    change: Change<'_>,
    nc: &NamingConvention,
    dialect: &aludel_core::Dialect,
) -> Result<(Table, Vec<(String, String)>)> {
    let name = old.name();
    let q = |s: &str| dialect.quote_identifier(s);
    let auto = old.autoincrement_column().map(|c| c.name().to_string());
    let (dropped, altered) = match change {
        Change::DropColumn(c) => (Some(c), None),
        Change::AlterColumn(c, a) => (None, Some((c, a))),
        _ => (None, None),
    };
    for c in dropped.into_iter().chain(altered.map(|a| a.0)) {
        old.column(c)?; // "no column … did you mean"
    }
    let renamed = |c: &str| -> String {
        match altered {
            Some((col, a)) if col == c => a.new_name().unwrap_or(c).to_string(),
            _ => c.to_string(),
        }
    };
    let rename_all = |cols: &[String]| cols.iter().map(|c| renamed(c)).collect::<Vec<_>>();
    let uses_dropped = |cols: &[String]| dropped.is_some_and(|d| cols.iter().any(|c| c == d));
    let drops = |kind: ConstraintKind, n: &str| matches!(change, Change::DropConstraint(d, k) if k == kind && d == n);

    let mut b = Table::builder(name);
    let mut copy = Vec::new();
    for c in old.columns() {
        if dropped == Some(c.name()) {
            continue;
        }
        let mut ty = c.sql_type().clone();
        let mut nullable = c.is_nullable();
        let mut default = c.default().cloned();
        let mut expr = q(c.name());
        if let Some((col, a)) = altered.filter(|(col, _)| *col == c.name()) {
            let _ = col;
            if let Some(t) = a.type_change() {
                ty = t.clone();
                expr = format!("CAST({expr} AS {})", dialect.column_type(&ty, c.name())?);
            }
            if let Some(n) = a.nullable_change() {
                nullable = n;
            }
            if let Some(d) = a.default_change() {
                default = d.cloned();
            }
        }
        let new_name = renamed(c.name());
        let mut col = Column::new(new_name.clone(), ty)
            .nullable(nullable)
            .autoincrement(auto.as_deref() == Some(c.name()));
        match default {
            Some(ServerDefault::Value(v)) => col = col.server_default(v),
            Some(ServerDefault::Sql(s)) => col = col.server_default_sql(s),
            Some(_) | None => {}
        }
        b = b.column(col);
        copy.push((new_name, expr));
    }
    let pk_name = old
        .primary_key_name()
        .map(str::to_string)
        .unwrap_or_else(|| nc.primary_key(name));
    if !old.primary_key().is_empty()
        && !uses_dropped(old.primary_key())
        && !drops(ConstraintKind::PrimaryKey, &pk_name)
    {
        b = b
            .primary_key(rename_all(old.primary_key()))
            .primary_key_name(pk_name.clone());
    }
    let names = old.constraint_names(nc);
    for (fk, n) in old.foreign_keys().iter().zip(&names.foreign_keys) {
        if uses_dropped(&fk.columns) || drops(ConstraintKind::ForeignKey, n) {
            continue;
        }
        let mut fk = fk.clone();
        fk.name = Some(n.clone());
        fk.columns = rename_all(&fk.columns);
        if fk.referred_table == name {
            fk.referred_columns = rename_all(&fk.referred_columns);
        }
        b = b.foreign_key(fk);
    }
    for (u, n) in old.unique_constraints().iter().zip(&names.uniques) {
        if uses_dropped(&u.columns) || drops(ConstraintKind::Unique, n) {
            continue;
        }
        b = b.unique_constraint(UniqueConstraint {
            name: Some(n.clone()),
            columns: rename_all(&u.columns),
        });
    }
    for (ck, n) in old.check_constraints().iter().zip(&names.checks) {
        if drops(ConstraintKind::Check, n) || drops(ConstraintKind::Check, &ck.name) {
            continue;
        }
        let sql = match altered {
            Some((col, a)) => match a.new_name() {
                Some(new) => rename_in(&ck.sql, col, new),
                None => ck.sql.clone(),
            },
            None => ck.sql.clone(),
        };
        b = b.check(ck.name.clone(), sql);
    }
    for (ix, n) in old.indexes().iter().zip(&names.indexes) {
        if uses_dropped(&ix.columns) {
            continue;
        }
        let mut ix = ix.clone();
        ix.name = Some(n.clone());
        ix.columns = rename_all(&ix.columns);
        b = b.add_index(ix);
    }
    match change {
        Change::AddForeignKey(fk) => {
            let mut fk = fk.clone();
            fk.name = Some(
                fk.name
                    .clone()
                    .unwrap_or_else(|| nc.foreign_key(name, &fk.columns, &fk.referred_table)),
            );
            b = b.foreign_key(fk);
        }
        Change::AddUnique(n, cols) => {
            b = b.unique_constraint(UniqueConstraint {
                name: Some(n.to_string()),
                columns: cols.to_vec(),
            });
        }
        Change::AddCheck(n, sql) => {
            // The convention writes `ck_<table>_<name>`: keep the full name.
            let prefix = format!("ck_{name}_");
            let short = n
                .strip_prefix(&prefix)
                .filter(|s| !s.is_empty())
                .unwrap_or(n);
            b = b.check(short, sql);
        }
        Change::DropConstraint(n, kind) => {
            let found = match kind {
                ConstraintKind::ForeignKey => names.foreign_keys.iter().any(|x| x == n),
                ConstraintKind::Unique => names.uniques.iter().any(|x| x == n),
                ConstraintKind::Check => {
                    names.checks.iter().any(|x| x == n)
                        || old.check_constraints().iter().any(|c| c.name == n)
                }
                _ => pk_name == n && !old.primary_key().is_empty(),
            };
            if !found {
                return Err(Error::new(
                    ErrorKind::Syntax,
                    format!("drop_constraint: table \"{name}\" has no {kind:?} constraint named \"{n}\""),
                )
                .with_table(Some(name.to_string())));
            }
        }
        _ => {}
    }
    Ok((b.build()?, copy))
}

/// Rebuild `table` with `change` applied (see the [module docs](self)).
pub(crate) async fn rebuild(conn: &mut Connection, table: &str, change: Change<'_>) -> Result<()> {
    let dialect = conn.dialect().clone();
    let q = |s: &str| dialect.quote_identifier(s);
    let enforced: i64 = conn
        .execute(text("PRAGMA foreign_keys"), ())
        .await?
        .scalar_one()?;
    if enforced != 0 {
        let referring: Vec<String> = conn
            .execute(
                text(
                    "SELECT DISTINCT m.name FROM sqlite_master m \
                     JOIN pragma_foreign_key_list(m.name) f \
                     WHERE m.type = 'table' AND f.\"table\" = :t ORDER BY m.name",
                ),
                params! { "t": table.to_string() },
            )
            .await?
            .scalars()?;
        if !referring.is_empty() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "rebuilding table \"{table}\" with foreign keys enforced would fire the ON DELETE \
                     actions of {} (DROP TABLE deletes the rows first); run it through the migration \
                     runner, which turns enforcement off around the revision",
                    referring.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", ")
                ),
            )
            .with_table(Some(table.to_string())));
        }
    }
    let old = Inspector::reflect_table_on(conn, table).await?;
    let mut md = MetaData::new();
    let (new, copy) = reshape(&old, change, md.naming_convention(), &dialect)?;
    md.add(new.clone())?;
    let ddl = DdlCompiler::new(&dialect, &md);
    let tmp = format!("_alembic_tmp_{table}");
    exec(conn, &ddl.create_table_named(&new, &tmp)?).await?;
    let (cols, exprs): (Vec<String>, Vec<String>) =
        copy.into_iter().map(|(c, e)| (q(&c), e)).unzip();
    exec(
        conn,
        &format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            q(&tmp),
            cols.join(", "),
            exprs.join(", "),
            q(table)
        ),
    )
    .await?;
    exec(conn, &ddl.drop_table(&old)).await?;
    let legacy: i64 = conn
        .execute(text("PRAGMA legacy_alter_table"), ())
        .await?
        .scalar_one()?;
    exec(conn, "PRAGMA legacy_alter_table = ON").await?;
    let renamed = exec(conn, &ddl.rename_table(&tmp, table)).await;
    if legacy == 0 {
        exec(conn, "PRAGMA legacy_alter_table = OFF").await?;
    }
    renamed?;
    for sql in ddl.create_indexes(&new) {
        exec(conn, &sql).await?;
    }
    Ok(())
}

/// Turn foreign key enforcement off on an SQLite connection outside a
/// transaction; returns whether it was on (to give to [`restore`]).
pub(crate) async fn suspend_foreign_keys(conn: &mut Connection) -> Result<bool> {
    conn.set_autocommit(true)?;
    let res = async {
        let on: i64 = conn
            .execute(text("PRAGMA foreign_keys"), ())
            .await?
            .scalar_one()?;
        if on != 0 {
            exec(conn, "PRAGMA foreign_keys = OFF").await?;
        }
        Ok(on != 0)
    }
    .await;
    conn.set_autocommit(false)?;
    res
}

/// Turn enforcement back on if [`suspend_foreign_keys`] turned it off.
pub(crate) async fn restore_foreign_keys(conn: &mut Connection, was_on: bool) -> Result<()> {
    if !was_on {
        return Ok(());
    }
    if conn.in_transaction() {
        conn.rollback().await?;
    }
    conn.set_autocommit(true)?;
    let res = exec(conn, "PRAGMA foreign_keys = ON").await;
    conn.set_autocommit(false)?;
    res
}

/// `PRAGMA foreign_key_check` inside the revision's transaction: an error
/// naming the first rows that break a foreign key.
pub(crate) async fn foreign_key_check(conn: &mut Connection) -> Result<()> {
    let rows: Vec<(String, Option<i64>, String, i64)> = conn
        .execute(text("PRAGMA foreign_key_check"), ())
        .await?
        .all_as()?;
    if rows.is_empty() {
        return Ok(());
    }
    let shown: Vec<String> = rows
        .iter()
        .take(5)
        .map(|(t, rowid, parent, _)| {
            format!(
                "row {} of \"{t}\" refers to a missing row of \"{parent}\"",
                rowid.map_or("?".to_string(), |r| r.to_string())
            )
        })
        .collect();
    Err(Error::new(
        ErrorKind::Integrity(aludel_core::IntegrityKind::ForeignKey),
        format!(
            "foreign key check failed after the revision's ops ({} violation{}): {}",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" },
            shown.join("; ")
        ),
    )
    .with_table(Some(rows[0].0.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_identifiers_not_strings() {
        assert_eq!(
            rename_in(
                "name <> 'name' AND \"name\" IS NOT NULL AND names > 0",
                "name",
                "title"
            ),
            "\"title\" <> 'name' AND \"title\" IS NOT NULL AND names > 0"
        );
        assert!(mentions("price >= 0", "price"));
        assert!(!mentions("prices >= 0", "price"));
    }
}
