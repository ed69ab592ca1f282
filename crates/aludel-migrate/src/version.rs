//! The version table, exactly as Alembic keeps it, and the progress table
//! that lets a revision resume on backends without transactional DDL.
//!
//! `alembic_version(version_num VARCHAR(32) NOT NULL)` with the primary
//! key `alembic_version_pkc` holds one row per applied head. How a step
//! changes the rows is Alembic's `HeadMaintainer.update_to_step`: a first
//! revision or a new branch INSERTs, a linear step UPDATEs, a merge DELETEs
//! the merged heads but one and UPDATEs that one, an unmerge does the
//! reverse, and a downgrade to base (or off a branch) DELETEs. Every UPDATE
//! and DELETE must match exactly one row.

use std::collections::HashSet;

use aludel_core::schema::{Column, DdlCompiler, MetaData, SqlType, Table};
use aludel_core::sql::{delete, insert, update, Expr};
use aludel_core::url::Backend;
use aludel_core::{params, text, Connection};

use crate::error::{Error, ErrorKind, Result};
use crate::graph::Revisions;

/// The version table's name, as Alembic's default.
pub const VERSION_TABLE: &str = "alembic_version";

/// The progress table's name (MySQL and MariaDB only; see the crate docs).
pub const PROGRESS_TABLE: &str = "aludel_migration_progress";

/// The version table as schema metadata: `alembic_version(version_num
/// VARCHAR(32) NOT NULL)`, primary key `alembic_version_pkc`.
///
/// ```
/// use aludel_core::{Dialect, url::Backend, schema::{DdlCompiler, MetaData}};
/// let table = aludel_migrate::version_table();
/// let mut md = MetaData::new();
/// md.add(table.clone())?;
/// let sql = DdlCompiler::new(&Dialect::new(Backend::Postgres), &md).create_table(&table)?;
/// assert_eq!(sql, "CREATE TABLE \"alembic_version\" (
///     \"version_num\" VARCHAR(32) NOT NULL,
///     CONSTRAINT \"alembic_version_pkc\" PRIMARY KEY (\"version_num\")
/// )");
/// # Ok::<(), aludel_core::Error>(())
/// ```
pub fn version_table() -> Table {
    Table::builder(VERSION_TABLE)
        .column(Column::new("version_num", SqlType::string(32)).not_null())
        .primary_key(["version_num"])
        .primary_key_name("alembic_version_pkc")
        .build()
        .expect("the version table is well formed")
}

fn progress_table() -> Table {
    Table::builder(PROGRESS_TABLE)
        .column(Column::new("revision", SqlType::string(32)).not_null())
        .column(Column::new("direction", SqlType::string(9)).not_null())
        .column(Column::new("ops_done", SqlType::Integer).not_null())
        .primary_key(["revision", "direction"])
        .build()
        .expect("the progress table is well formed")
}

/// One change to the version table's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    Insert(String),
    Delete(String),
    Update(String, String),
}

/// What running revision `r` (up or down) does to the version rows when
/// the applied heads are `heads`: Alembic's `update_to_step`.
pub(crate) fn changes(g: &Revisions, heads: &[usize], r: usize, upgrade: bool) -> Vec<Change> {
    let id = |i: usize| g.at(i).id().to_string();
    let downs = g.down_of(r);
    let in_heads = |i: &usize| heads.contains(i);
    // What `heads` other than `skip` already stand on.
    let others_ancestors = |skip: &[usize]| -> HashSet<usize> {
        let others: Vec<usize> = heads
            .iter()
            .copied()
            .filter(|h| !skip.contains(h))
            .collect();
        g.ancestors(&others)
    };
    if upgrade {
        if downs.is_empty() || !downs.iter().any(in_heads) {
            return vec![Change::Insert(id(r))];
        }
        let present: Vec<usize> = downs.iter().copied().filter(in_heads).collect();
        if downs.len() > 1 && present.len() > 1 {
            let anc = others_ancestors(downs);
            let from: Vec<usize> = present
                .iter()
                .copied()
                .filter(|d| !anc.contains(d))
                .collect();
            if let Some((last, rest)) = from.split_last() {
                let mut out: Vec<Change> = rest.iter().map(|&d| Change::Delete(id(d))).collect();
                out.push(Change::Update(id(*last), id(r)));
                return out;
            }
        }
        let down = if downs.len() == 1 {
            downs[0]
        } else {
            present[0]
        };
        return vec![Change::Update(id(down), id(r))];
    }
    if heads.contains(&r) {
        if downs.is_empty() {
            return vec![Change::Delete(id(r))];
        }
        let anc = others_ancestors(&[r]);
        let to: Vec<usize> = downs.iter().copied().filter(|d| !anc.contains(d)).collect();
        let Some((last, rest)) = to.split_last() else {
            return vec![Change::Delete(id(r))];
        };
        let mut out: Vec<Change> = rest.iter().map(|&d| Change::Insert(id(d))).collect();
        out.push(Change::Update(id(r), id(*last)));
        return out;
    }
    // Not a head: nothing matches; the UPDATE below reports it.
    vec![Change::Update(
        id(r),
        id(downs.first().copied().unwrap_or(r)),
    )]
}

/// Apply `change` to the in-memory list of heads.
pub(crate) fn apply(g: &Revisions, heads: &mut Vec<usize>, change: &Change) {
    let idx = |s: &str| g.index_of(s);
    match change {
        Change::Insert(v) => heads.extend(idx(v)),
        Change::Delete(v) => heads.retain(|&h| Some(h) != idx(v)),
        Change::Update(from, to) => {
            heads.retain(|&h| Some(h) != idx(from));
            heads.extend(idx(to));
        }
    }
}

/// Whether `name` is a table of the connection's current schema.
pub(crate) async fn has_table(conn: &mut Connection, name: &str) -> aludel_core::Result<bool> {
    let sql = match conn.dialect().backend() {
        Backend::Postgres => {
            "SELECT count(*) FROM pg_catalog.pg_tables \
             WHERE schemaname = current_schema() AND tablename = :name"
        }
        Backend::Mysql => {
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = :name"
        }
        _ => "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = :name",
    };
    let n: i64 = conn
        .execute(text(sql), params! { "name": name.to_string() })
        .await?
        .scalar_one()?;
    Ok(n > 0)
}

async fn create(conn: &mut Connection, table: &Table) -> aludel_core::Result<()> {
    let mut md = MetaData::new();
    md.add(table.clone())?;
    let sql = DdlCompiler::new(conn.dialect(), &md).create_table(table)?;
    conn.exec_driver_sql(&sql, &[]).await?;
    Ok(())
}

/// Create the version table if it does not exist, and commit.
pub(crate) async fn ensure(conn: &mut Connection) -> aludel_core::Result<()> {
    if !has_table(conn, VERSION_TABLE).await? {
        create(conn, &version_table()).await?;
    }
    conn.commit().await
}

/// The rows of the version table (none when it does not exist), sorted.
pub(crate) async fn read(conn: &mut Connection) -> aludel_core::Result<Vec<String>> {
    if !has_table(conn, VERSION_TABLE).await? {
        return Ok(Vec::new());
    }
    let sql = {
        let d = conn.dialect();
        let q = |s: &str| d.quote_identifier(s);
        format!("SELECT {} FROM {}", q("version_num"), q(VERSION_TABLE))
    };
    let mut rows: Vec<String> = conn.execute(text(sql), ()).await?.scalars()?;
    rows.sort();
    Ok(rows)
}

/// Run `changes` on the version table, checking that each UPDATE and
/// DELETE matched one row.
pub(crate) async fn write(conn: &mut Connection, changes: &[Change]) -> Result<()> {
    let t = version_table();
    for change in changes {
        let (affected, what) = match change {
            Change::Insert(v) => {
                let stmt = insert(&t).values([("version_num", Expr::from(v.as_str()))]);
                conn.execute(&stmt, ()).await?;
                continue;
            }
            Change::Delete(v) => {
                let stmt = delete(&t).filter(t.c("version_num").eq(v.as_str()));
                let n = conn.execute(&stmt, ()).await?.rows_affected();
                (n, format!("deleting '{v}'"))
            }
            Change::Update(from, to) => {
                let stmt = update(&t)
                    .set("version_num", to.as_str())
                    .filter(t.c("version_num").eq(from.as_str()));
                let n = conn.execute(&stmt, ()).await?.rows_affected();
                (n, format!("updating '{from}' to '{to}'"))
            }
        };
        if affected != 1 {
            return Err(Error::new(
                ErrorKind::VersionTable,
                format!(
                    "online migration expected to match one row when {what} in '{VERSION_TABLE}'; {affected} found"
                ),
            ));
        }
    }
    Ok(())
}

/// A revision left halfway on a backend without transactional DDL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Progress {
    pub revision: String,
    pub upgrade: bool,
    pub ops_done: usize,
}

fn direction(upgrade: bool) -> &'static str {
    if upgrade {
        "upgrade"
    } else {
        "downgrade"
    }
}

/// The revision left halfway, if any.
pub(crate) async fn read_progress(conn: &mut Connection) -> aludel_core::Result<Option<Progress>> {
    if !has_table(conn, PROGRESS_TABLE).await? {
        return Ok(None);
    }
    let sql = {
        let d = conn.dialect();
        let q = |s: &str| d.quote_identifier(s);
        format!(
            "SELECT {}, {}, {} FROM {}",
            q("revision"),
            q("direction"),
            q("ops_done"),
            q(PROGRESS_TABLE)
        )
    };
    let rows: Vec<(String, String, i64)> = conn.execute(text(sql), ()).await?.all_as()?;
    Ok(rows.into_iter().next().map(|(revision, d, n)| Progress {
        revision,
        upgrade: d == "upgrade",
        ops_done: n.max(0) as usize,
    }))
}

/// Create the progress table if needed (DDL: commits on MySQL).
pub(crate) async fn ensure_progress(conn: &mut Connection) -> aludel_core::Result<()> {
    if !has_table(conn, PROGRESS_TABLE).await? {
        create(conn, &progress_table()).await?;
    }
    Ok(())
}

/// Record that `ops_done` ops of the revision have run (not committed here).
pub(crate) async fn set_progress(
    conn: &mut Connection,
    revision: &str,
    upgrade: bool,
    ops_done: usize,
) -> aludel_core::Result<()> {
    let t = progress_table();
    let key = t
        .c("revision")
        .eq(revision)
        .and(t.c("direction").eq(direction(upgrade)));
    let n = conn
        .execute(
            &update(&t)
                .set("ops_done", ops_done as i64)
                .filter(key.clone()),
            (),
        )
        .await?
        .rows_affected();
    if n == 0 {
        // MySQL reports 0 for an UPDATE that changes nothing: look first.
        let exists: i64 = conn
            .execute(
                &aludel_core::sql::select([aludel_core::sql::func::count(t.c("revision"))])
                    .from(&t)
                    .filter(key),
                (),
            )
            .await?
            .scalar_one()?;
        if exists == 0 {
            let stmt = insert(&t).values([
                ("revision", Expr::from(revision)),
                ("direction", Expr::from(direction(upgrade))),
                ("ops_done", Expr::from(ops_done as i64)),
            ]);
            conn.execute(&stmt, ()).await?;
        }
    }
    Ok(())
}

/// Forget every half-done revision (not committed here).
pub(crate) async fn clear_progress(conn: &mut Connection) -> aludel_core::Result<()> {
    if has_table(conn, PROGRESS_TABLE).await? {
        let t = progress_table();
        conn.execute(&delete(&t), ()).await?;
    }
    Ok(())
}

/// Drop the progress table when no revision is left halfway, so a database
/// migrated without trouble holds only Alembic's table.
pub(crate) async fn drop_progress_if_empty(conn: &mut Connection) -> aludel_core::Result<()> {
    if read_progress(conn).await?.is_none() && has_table(conn, PROGRESS_TABLE).await? {
        let q = conn.dialect().quote_identifier(PROGRESS_TABLE);
        conn.exec_driver_sql(&format!("DROP TABLE {q}"), &[])
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Revision;

    const A: Revision = Revision::new("aaaaaaaaaaaa", &[], "a");
    const B: Revision = Revision::new("bbbbbbbbbbbb", &["aaaaaaaaaaaa"], "b");
    const C: Revision = Revision::new("cccccccccccc", &["aaaaaaaaaaaa"], "c");
    const M: Revision = Revision::new("mmmmmmmmmmmm", &["bbbbbbbbbbbb", "cccccccccccc"], "merge");

    /// Run the whole plan, returning each step's changes.
    fn walk(g: &Revisions, heads: &mut Vec<usize>, target: &str, up: bool) -> Vec<Vec<Change>> {
        let plan = if up {
            g.upgrade_plan(heads, target).unwrap()
        } else {
            g.downgrade_plan(heads, target).unwrap()
        };
        plan.into_iter()
            .map(|r| {
                let c = changes(g, heads, r, up);
                for x in &c {
                    apply(g, heads, x);
                }
                c
            })
            .collect()
    }

    fn ins(s: &str) -> Change {
        Change::Insert(s.into())
    }
    fn del(s: &str) -> Change {
        Change::Delete(s.into())
    }
    fn upd(a: &str, b: &str) -> Change {
        Change::Update(a.into(), b.into())
    }

    #[test]
    fn rows_follow_alembic_through_a_branch_and_a_merge() {
        let g = Revisions::new([A, B, C, M]).unwrap();
        let mut heads = Vec::new();
        let steps = walk(&g, &mut heads, "heads", true);
        // base INSERTs, a linear step UPDATEs, the merge DELETEs one
        // merged head and UPDATEs the other
        assert_eq!(
            steps,
            [
                vec![ins("aaaaaaaaaaaa")],
                vec![upd("aaaaaaaaaaaa", "cccccccccccc")],
                vec![ins("bbbbbbbbbbbb")],
                vec![del("bbbbbbbbbbbb"), upd("cccccccccccc", "mmmmmmmmmmmm")],
            ]
        );
        assert_eq!(heads, [3]);
        // the merge's downgrade: UPDATE back to one parent, INSERT the other
        // (-1 from a merge is an ambiguous walk, as in Alembic)
        let steps = walk(&g, &mut heads, "bbbbbbbbbbbb", false);
        assert_eq!(
            steps,
            [vec![
                ins("bbbbbbbbbbbb"),
                upd("mmmmmmmmmmmm", "cccccccccccc")
            ]]
        );
        // off a branch: DELETE; the last one down to base: DELETE
        let steps = walk(&g, &mut heads, "base", false);
        assert_eq!(
            steps,
            [
                vec![del("bbbbbbbbbbbb")],
                vec![upd("cccccccccccc", "aaaaaaaaaaaa")],
                vec![del("aaaaaaaaaaaa")],
            ]
        );
        assert!(heads.is_empty());
    }
}
