//! The runner: upgrade, downgrade, current and stamp against a live
//! database (Alembic's `command.upgrade` and friends, online).

use aludel_core::{Connection, Engine};
use tracing::info;

use crate::error::{Error, ErrorKind, Result};
use crate::graph::{Revisions, Target};
use crate::ops::RunnableOp;
use crate::revision::Revision;
use crate::version::{self, Change, PROGRESS_TABLE};

/// Runs a [`Revisions`] graph against the database of an [`Engine`].
///
/// Each command logs one line per revision at INFO (target
/// `aludel::migrate`), worded as Alembic's (`Running upgrade 1975ea83b712
/// -> ae1027a6acf0, add account table`), and returns the same lines.
///
/// On PostgreSQL and SQLite each revision runs in one transaction with its
/// version-table update: a failure rolls that revision back whole, and the
/// revisions before it in the same command stay applied. MySQL and MariaDB
/// commit every DDL statement implicitly; there the runner records each
/// finished op (see the [crate docs](crate#mysql-and-mariadb)).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_migrate::Result<()> {
/// use aludel_core::schema::{Column, SqlType, Table};
/// use aludel_migrate::{Ops, Revision, Revisions, Runner};
///
/// const FIRST: Revision = Revision::new("1975ea83b712", &[], "create account table")
///     .upgrade(|op: &mut Ops| {
///         op.create_table(&Table::builder("account")
///             .column(Column::new("id", SqlType::Integer).primary_key())
///             .build()?);
///         Ok(())
///     })
///     .downgrade(|op: &mut Ops| {
///         op.drop_table("account");
///         Ok(())
///     });
///
/// let engine = aludel_core::create_engine("sqlite://")?;
/// let revisions = Revisions::new([FIRST])?;
/// let runner = Runner::new(&engine, &revisions);
/// let lines = runner.upgrade("head").await?;
/// assert_eq!(lines, ["Running upgrade  -> 1975ea83b712, create account table"]);
/// assert_eq!(runner.current().await?, ["1975ea83b712"]);
/// runner.downgrade("base").await?;
/// assert!(runner.current().await?.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Runner<'a> {
    engine: Engine,
    revisions: &'a Revisions,
    // lock.rs: the migration lock's timeout; each line as it happens.
    lock_timeout: std::time::Duration,
    on_line: LineSink,
}

impl<'a> Runner<'a> {
    /// A runner for `revisions` on `engine`'s database.
    pub fn new(engine: &Engine, revisions: &'a Revisions) -> Self {
        Runner {
            engine: engine.clone(),
            revisions,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            on_line: LineSink(None),
        }
    }

    /// The revision graph this runner uses.
    pub fn revisions(&self) -> &'a Revisions {
        self.revisions
    }

    /// The revisions the database is at: the rows of `alembic_version`,
    /// sorted (empty at base, or when the table does not exist). The ids
    /// are returned as stored, even ones the graph does not know.
    ///
    /// # Errors
    /// [`ErrorKind::Database`] when the table cannot be read.
    pub async fn current(&self) -> Result<Vec<String>> {
        let mut conn = self.engine.connect().await?;
        let rows = version::read(&mut conn).await?;
        conn.commit().await?;
        Ok(rows)
    }

    /// Upgrade to `target`: `head`, `heads`, a revision id or a unique
    /// prefix, `+N` or `<rev>+N` (see [`Revisions::upgrade_revisions`]).
    /// Creates `alembic_version` when it does not exist.
    ///
    /// # Errors
    /// The target's errors (multiple heads, unknown or ambiguous ids,
    /// ambiguous walks), all before anything runs;
    /// [`ErrorKind::UnknownRevision`] when the version table names a
    /// revision the graph lacks; [`ErrorKind::Plan`] when a body fails;
    /// [`ErrorKind::Database`] when an op fails, naming the revision and
    /// the op (see [`Error::ops_done`]); [`ErrorKind::Incomplete`] when
    /// another revision was left halfway on MySQL.
    pub async fn upgrade(&self, target: &str) -> Result<Vec<String>> {
        self.locked(self.migrate(target, true)).await
    }

    /// Downgrade to `target`: `base`, a revision id or prefix (which stays
    /// applied), `-N` or `<rev>-N` (see [`Revisions::downgrade_revisions`]).
    ///
    /// # Errors
    /// As [`upgrade`](Runner::upgrade); a target that is not below the
    /// current revisions is [`ErrorKind::InvalidTarget`], a `-N` past base
    /// [`ErrorKind::RelativeOutOfRange`].
    pub async fn downgrade(&self, target: &str) -> Result<Vec<String>> {
        self.locked(self.migrate(target, false)).await
    }

    /// Set the version table to `target` without running any migration
    /// (Alembic's `stamp`): `base` empties it; `head`, `heads`, an id or a
    /// prefix replaces the rows on the target's lineage and keeps the
    /// heads of unrelated branches. Rows naming revisions the graph does not
    /// know are removed, which is how a database migrated by another chain
    /// is brought under this one. A revision left halfway on MySQL is
    /// forgotten.
    ///
    /// # Errors
    /// The target's errors; [`ErrorKind::Database`].
    pub async fn stamp(&self, target: &str) -> Result<Vec<String>> {
        self.locked(self.stamp_unlocked(target)).await
    }

    async fn stamp_unlocked(&self, target: &str) -> Result<Vec<String>> {
        let g = self.revisions;
        let new: Vec<String> = match g.resolve_place(target)? {
            Target::Base => Vec::new(),
            Target::Revs(ts) => {
                let mut conn = self.engine.connect().await?;
                let rows = version::read(&mut conn).await?;
                conn.commit().await?;
                let related: std::collections::HashSet<usize> = g
                    .ancestors(&ts)
                    .into_iter()
                    .chain(g.descendants(&ts))
                    .collect();
                let mut keep: Vec<String> = rows
                    .into_iter()
                    .filter(|r| g.index_of(r).is_some_and(|i| !related.contains(&i)))
                    .collect();
                keep.extend(ts.iter().map(|&t| g.at(t).id().to_string()));
                keep
            }
        };
        let mut conn = self.engine.connect().await?;
        version::ensure(&mut conn).await?;
        let rows = version::read(&mut conn).await?;
        conn.commit().await?;
        let mut changes: Vec<Change> = rows
            .iter()
            .filter(|r| !new.contains(r))
            .map(|r| Change::Delete(r.clone()))
            .collect();
        changes.extend(
            new.iter()
                .filter(|n| !rows.contains(n))
                .map(|n| Change::Insert(n.clone())),
        );
        let line = format!(
            "Running stamp_revision {} -> {}",
            rows.join(", "),
            new.join(", ")
        );
        self.emit(&line);
        {
            let mut tx = conn.begin().await?;
            version::write(&mut tx, &changes).await?;
            version::clear_progress(&mut tx).await?;
            tx.commit().await?;
        }
        if !conn.dialect().supports_transactional_ddl() {
            version::drop_progress_if_empty(&mut conn).await?;
        }
        Ok(vec![line])
    }

    async fn migrate(&self, target: &str, upgrade: bool) -> Result<Vec<String>> {
        let g = self.revisions;
        let mut conn = self.engine.connect().await?;
        let transactional = conn.dialect().supports_transactional_ddl();
        version::ensure(&mut conn).await?;
        let rows = version::read(&mut conn).await?;
        let progress = if transactional {
            None
        } else {
            version::read_progress(&mut conn).await?
        };
        conn.commit().await?;
        let current = g.current_indices(&rows)?;
        let plan = if upgrade {
            g.upgrade_plan(&current, target)?
        } else {
            g.downgrade_plan(&current, target)?
        };
        if let Some(p) = &progress {
            let first = plan.first().map(|&r| (g.at(r).id(), upgrade));
            if first != Some((p.revision.as_str(), p.upgrade)) {
                let verb = if p.upgrade { "upgrade" } else { "downgrade" };
                return Err(Error::new(
                    ErrorKind::Incomplete,
                    format!(
                        "the {verb} of revision '{}' stopped after {} of its ops (recorded in {PROGRESS_TABLE}); \
                         run the {verb} again to finish it first, or `db stamp` a revision \
                         once the database has been repaired by hand",
                        p.revision, p.ops_done
                    ),
                )
                .with_revisions([p.revision.clone()])
                .with_ops_done(p.ops_done));
            }
        }
        // Collect every body first: one that fails stops the command
        // before anything runs.
        let mut steps = Vec::with_capacity(plan.len());
        for &r in &plan {
            let rev = g.at(r);
            let ops = if upgrade {
                rev.plan_upgrade()
            } else {
                rev.plan_downgrade()
            }
            .map_err(|e| {
                Error::new(
                    ErrorKind::Plan,
                    format!(
                        "{}: the body returned an error: {}",
                        step_name(rev, upgrade),
                        e.message()
                    ),
                )
                .with_revisions([rev.id()])
                .with_source(e)
            })?;
            steps.push((r, ops.into_ops()));
        }
        if !transactional && !steps.is_empty() {
            version::ensure_progress(&mut conn).await?;
        }
        let mut heads = current;
        let mut lines = Vec::with_capacity(steps.len());
        for (k, (r, ops)) in steps.into_iter().enumerate() {
            let rev = g.at(r);
            let line = format!("Running {}", step_text(rev, upgrade));
            self.emit(&line);
            let changes = version::changes(g, &heads, r, upgrade);
            let step = Step {
                rev,
                upgrade,
                changes: &changes,
                heads: &heads,
                g,
            };
            if transactional {
                step.run_in_transaction(&mut conn, ops).await?;
            } else {
                let resume = if k == 0 {
                    progress.as_ref().map_or(0, |p| p.ops_done)
                } else {
                    0
                };
                step.run_recording(&mut conn, ops, resume).await?;
            }
            for c in &changes {
                version::apply(g, &mut heads, c);
            }
            lines.push(line);
        }
        if !transactional {
            version::drop_progress_if_empty(&mut conn).await?;
        }
        Ok(lines)
    }
}

// ---- The migration lock and line callbacks (see lock.rs) ----

/// How long [`Runner`] waits for the migration lock unless told otherwise.
pub const DEFAULT_LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The callback given to [`Runner::on_line`].
#[derive(Clone)]
struct LineSink(Option<std::sync::Arc<LineFn>>);

type LineFn = dyn Fn(&str) + Send + Sync;

impl std::fmt::Debug for LineSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Some(..)" } else { "None" })
    }
}

impl Runner<'_> {
    /// How long `upgrade`, `downgrade` and `stamp` wait for the migration
    /// lock (default [`DEFAULT_LOCK_TIMEOUT`], 60 s) before failing with
    /// [`ErrorKind::LockTimeout`] naming who holds it. The lock makes
    /// several app instances migrating at start-up safe: one runs the
    /// revisions, the others wait and then find nothing to do (see
    /// [the crate docs](crate#the-migration-lock)).
    pub fn lock_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Call `f` with each line (`Running upgrade a -> b, message`) as it
    /// happens, before the revision runs, as well as logging it; the `db`
    /// command line prints them this way.
    pub fn on_line(mut self, f: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.on_line = LineSink(Some(std::sync::Arc::new(f)));
        self
    }

    fn emit(&self, line: &str) {
        info!(target: "aludel::migrate", "{line}");
        if let Some(f) = &self.on_line.0 {
            f(line);
        }
    }

    /// Run `work` holding the migration lock.
    async fn locked<T>(&self, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        let lock = crate::lock::acquire(&self.engine, self.lock_timeout).await?;
        let out = work.await;
        let released = lock.release().await;
        let out = out?;
        released?;
        Ok(out)
    }
}

/// `upgrade a -> b, message` (Alembic's `MigrationStep.__str__`).
fn step_text(rev: &Revision, upgrade: bool) -> String {
    let downs = rev.down_revisions().join(", ");
    let (from, to) = if upgrade {
        (downs, rev.id().to_string())
    } else {
        (rev.id().to_string(), downs)
    };
    let verb = if upgrade { "upgrade" } else { "downgrade" };
    if rev.message().is_empty() {
        format!("{verb} {from} -> {to}")
    } else {
        format!("{verb} {from} -> {to}, {}", rev.message())
    }
}

/// `upgrade a -> b ("message")`, for error messages.
fn step_name(rev: &Revision, upgrade: bool) -> String {
    let downs = rev.down_revisions().join(", ");
    let (verb, from, to) = if upgrade {
        ("upgrade", downs.as_str(), rev.id())
    } else {
        ("downgrade", rev.id(), downs.as_str())
    };
    let from = if from.is_empty() { "base" } else { from };
    let to = if to.is_empty() { "base" } else { to };
    format!("{verb} {from} -> {to} (\"{}\")", rev.message())
}

struct Step<'s> {
    rev: &'s Revision,
    upgrade: bool,
    changes: &'s [Change],
    heads: &'s [usize],
    g: &'s Revisions,
}

impl Step<'_> {
    fn heads_text(&self) -> String {
        if self.heads.is_empty() {
            "base".into()
        } else {
            self.heads
                .iter()
                .map(|&h| self.g.at(h).id())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    fn op_error(
        &self,
        i: usize,
        n: usize,
        what: &str,
        e: aludel_core::Error,
        tail: String,
    ) -> Error {
        Error::new(
            ErrorKind::Database,
            format!(
                "{} failed at op {} of {n} ({what}): {}; {tail}",
                step_name(self.rev, self.upgrade),
                i + 1,
                e.message()
            ),
        )
        .with_revisions([self.rev.id()])
        .with_ops_done(i)
        .with_source(e)
    }

    /// PostgreSQL, SQLite: the ops and the version update in one
    /// transaction. On SQLite a revision that may rebuild a table runs
    /// with foreign key enforcement off and a `PRAGMA foreign_key_check`
    /// before its commit (see `batch`).
    async fn run_in_transaction(&self, conn: &mut Connection, ops: Vec<RunnableOp>) -> Result<()> {
        let sqlite = conn.dialect().backend() == aludel_core::url::Backend::Sqlite;
        if sqlite && ops.iter().any(RunnableOp::may_rebuild) {
            let was_on = crate::batch::suspend_foreign_keys(conn).await?;
            let res = self.run_ops_in_transaction(conn, ops, true).await;
            let restored = crate::batch::restore_foreign_keys(conn, was_on).await;
            res?;
            restored?;
            Ok(())
        } else {
            self.run_ops_in_transaction(conn, ops, false).await
        }
    }

    async fn run_ops_in_transaction(
        &self,
        conn: &mut Connection,
        ops: Vec<RunnableOp>,
        fk_check: bool,
    ) -> Result<()> {
        let n = ops.len();
        let mut tx = conn.begin().await?;
        for (i, op) in ops.into_iter().enumerate() {
            let what = op.describe();
            if let Err(e) = op.run(&mut tx).await {
                let _ = tx.rollback().await;
                return Err(self.op_error(
                    i,
                    n,
                    &what,
                    e,
                    format!(
                        "the revision's transaction was rolled back, so nothing of it remains; \
                         the database is at {}",
                        self.heads_text()
                    ),
                ));
            }
        }
        if fk_check {
            if let Err(e) = crate::batch::foreign_key_check(&mut tx).await {
                let _ = tx.rollback().await;
                return Err(self.op_error(
                    n.saturating_sub(1),
                    n,
                    "foreign key check",
                    e,
                    format!(
                        "the revision's transaction was rolled back, so nothing of it remains; \
                         the database is at {}",
                        self.heads_text()
                    ),
                ));
            }
        }
        version::write(&mut tx, self.changes).await?;
        tx.commit().await?;
        Ok(())
    }

    /// MySQL, MariaDB: each op, then its progress row, committed; the
    /// version update and the progress row's removal in one transaction.
    async fn run_recording(
        &self,
        conn: &mut Connection,
        ops: Vec<RunnableOp>,
        resume: usize,
    ) -> Result<()> {
        let n = ops.len();
        let id = self.rev.id();
        let verb = if self.upgrade { "upgrade" } else { "downgrade" };
        if resume > n {
            return Err(Error::new(
                ErrorKind::Incomplete,
                format!(
                    "{} was recorded with {resume} ops done, but it now has {n}; \
                     repair the database by hand and `db stamp` the revision it is at",
                    step_name(self.rev, self.upgrade)
                ),
            )
            .with_revisions([id])
            .with_ops_done(resume));
        }
        if resume > 0 {
            info!(target: "aludel::migrate", "Resuming {verb} of {id} at op {} of {n}", resume + 1);
        }
        for (i, op) in ops.into_iter().enumerate().skip(resume) {
            let what = op.describe();
            let res = match op.run(conn).await {
                Ok(()) => version::set_progress(conn, id, self.upgrade, i + 1).await,
                Err(e) => Err(e),
            };
            if let Err(e) = res {
                let _ = conn.rollback().await;
                let ran = match i {
                    0 => "no op of this revision had run".to_string(),
                    1 => "op 1 of this revision ran and stays committed".to_string(),
                    _ => format!("ops 1 to {i} of this revision ran and stay committed"),
                };
                // Record where it stopped (nothing may have been recorded yet).
                let _ = version::set_progress(conn, id, self.upgrade, i).await;
                let _ = conn.commit().await;
                return Err(self.op_error(
                    i,
                    n,
                    &what,
                    e,
                    format!(
                        "{} commits DDL implicitly, so {ran} (recorded in {PROGRESS_TABLE}); \
                         the version table still says {}; fix the failing op and run the {verb} again: \
                         it resumes at op {}",
                        conn.dialect().name(),
                        self.heads_text(),
                        i + 1
                    ),
                ));
            }
            conn.commit().await?;
        }
        version::write(conn, self.changes).await?;
        version::clear_progress(conn).await?;
        conn.commit().await?;
        Ok(())
    }
}
