//! The migration lock: one runner at a time changes a database, so
//! several instances of an app that migrate at start-up are safe. The
//! first takes the lock and runs the revisions; the others wait, then
//! find the version table at head and have nothing to do.
//!
//! - **PostgreSQL**: `pg_try_advisory_xact_lock` on a connection of its
//!   own, inside a transaction held open while the migration runs on
//!   another connection. Releasing is ending that transaction, so a
//!   runner that is cancelled or crashes cannot leave the lock behind (the
//!   pool rolls a returned connection back; the server ends the session
//!   of a dead client). The holder's `application_name` is set for the
//!   transaction (`aludel-migrate pid N on HOST`) so `pg_stat_activity`
//!   names it.
//! - **MySQL, MariaDB**: `GET_LOCK` (a named lock of the server, per
//!   database), released by `RELEASE_LOCK` or when the session ends. A
//!   waiter names the holder by `IS_USED_LOCK` (its connection id) and the
//!   process list (user, host).
//! - **SQLite**: an exclusive `flock` on a file beside the database
//!   (`<file>-migrate.lock`), holding who took it. The operating system
//!   drops it when the process dies, so there is no stale lock to clear by
//!   hand; and unlike a `BEGIN EXCLUSIVE` transaction it does not stop the
//!   migration's own connection from writing. An in-memory database
//!   belongs to one engine, whose single connection already serialises
//!   its users: no lock.
//!
//! Waiting polls every 100 ms up to the timeout, then fails with
//! [`ErrorKind::LockTimeout`] naming the holder.

use std::time::{Duration, Instant};

use aludel_core::url::Backend;
use aludel_core::{params, text, Connection, Engine};

use crate::error::{Error, ErrorKind, Result};

/// The advisory lock key on PostgreSQL: the bytes of `"aludelmg"`.
pub const POSTGRES_LOCK_KEY: i64 = 0x616c_7564_656c_6d67;

const POLL: Duration = Duration::from_millis(100);

/// A held migration lock; [`release`](MigrationLock::release) it.
pub(crate) struct MigrationLock {
    inner: Inner,
}

enum Inner {
    None,
    Postgres(Connection),
    Mysql(Option<Connection>, String),
    #[cfg(unix)]
    Sqlite(std::fs::File),
}

/// Who this process is, for the holder's description.
fn whoami() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown host".into());
    format!("aludel-migrate pid {} on {host}", std::process::id())
}

fn timed_out(waited: Duration, holder: String) -> Error {
    Error::new(
        ErrorKind::LockTimeout,
        format!(
            "the migration lock is held by {holder}; gave up after waiting {:.1}s; \
             another instance is probably migrating this database: wait for it, or raise \
             the timeout (Runner::lock_timeout, `db upgrade --lock-timeout`)",
            waited.as_secs_f64()
        ),
    )
}

/// Take the migration lock of `engine`'s database, waiting up to `timeout`.
pub(crate) async fn acquire(engine: &Engine, timeout: Duration) -> Result<MigrationLock> {
    let start = Instant::now();
    let inner = match engine.url().backend() {
        Backend::Postgres => postgres(engine, start, timeout).await?,
        Backend::Mysql => mysql(engine, start, timeout).await?,
        _ => sqlite(engine, start, timeout).await?,
    };
    Ok(MigrationLock { inner })
}

impl MigrationLock {
    /// Give the lock back.
    pub(crate) async fn release(mut self) -> Result<()> {
        match std::mem::replace(&mut self.inner, Inner::None) {
            Inner::None => {}
            Inner::Postgres(mut conn) => conn.rollback().await?,
            Inner::Mysql(conn, name) => {
                if let Some(mut conn) = conn {
                    conn.execute(text("SELECT RELEASE_LOCK(:n)"), params! { "n": name })
                        .await?;
                    conn.commit().await?;
                }
            }
            #[cfg(unix)]
            Inner::Sqlite(file) => drop(file), // closing the file unlocks it
        }
        Ok(())
    }
}

impl Drop for MigrationLock {
    fn drop(&mut self) {
        // Dropped without release (cancelled): PostgreSQL's transaction is
        // rolled back by the pool, the flock goes with the file; MySQL's
        // named lock belongs to the session, so release it in a task.
        if let Inner::Mysql(conn, name) = &mut self.inner {
            if let (Some(mut conn), Ok(rt)) = (conn.take(), tokio::runtime::Handle::try_current()) {
                let name = name.clone();
                rt.spawn(async move {
                    let _ = conn
                        .execute(text("SELECT RELEASE_LOCK(:n)"), params! { "n": name })
                        .await;
                    let _ = conn.commit().await;
                });
            }
        }
    }
}

async fn postgres(engine: &Engine, start: Instant, timeout: Duration) -> Result<Inner> {
    let mut conn = engine.connect().await?;
    conn.execute(
        text("SELECT set_config('application_name', :name, true)"),
        params! { "name": whoami() },
    )
    .await?;
    loop {
        let got: bool = conn
            .execute(
                text("SELECT pg_try_advisory_xact_lock(:key)"),
                params! { "key": POSTGRES_LOCK_KEY },
            )
            .await?
            .scalar_one()?;
        if got {
            return Ok(Inner::Postgres(conn));
        }
        if start.elapsed() >= timeout {
            let holder = postgres_holder(&mut conn).await;
            let _ = conn.rollback().await;
            return Err(timed_out(start.elapsed(), holder));
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn postgres_holder(conn: &mut Connection) -> String {
    let sql = "SELECT a.pid::bigint, coalesce(a.application_name, ''), \
               coalesce(host(a.client_addr), 'local socket'), \
               coalesce(to_char(a.xact_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '?') \
               FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
               WHERE l.locktype = 'advisory' AND l.granted \
               AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) \
               AND l.classid::bigint = :hi AND l.objid::bigint = :lo AND l.objsubid = 1";
    let found: aludel_core::Result<Vec<(i64, String, String, String)>> = async {
        conn.execute(
            text(sql),
            params! { "hi": POSTGRES_LOCK_KEY >> 32, "lo": POSTGRES_LOCK_KEY & 0xffff_ffff },
        )
        .await?
        .all_as()
    }
    .await;
    match found.as_deref() {
        Ok([(pid, app, client, since), ..]) => format!(
            "PostgreSQL backend pid {pid} (application_name '{app}', client {client}, \
             transaction started {since}; pg_advisory_xact_lock({POSTGRES_LOCK_KEY}))"
        ),
        Ok([]) => format!(
            "another session (pg_advisory_xact_lock({POSTGRES_LOCK_KEY}); it was released \
             just now)"
        ),
        Err(e) => format!(
            "another session (pg_advisory_xact_lock({POSTGRES_LOCK_KEY}); pg_locks could not \
             be read: {})",
            e.message()
        ),
    }
}

/// `GET_LOCK` names are server-wide (64 characters at most): one per
/// database.
fn mysql_lock_name(database: &str) -> String {
    let mut name = format!("aludel_migrate.{database}");
    if name.len() > 64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in database.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        name.truncate(47);
        name.push_str(&format!(".{h:016x}"));
    }
    name
}

async fn mysql(engine: &Engine, start: Instant, timeout: Duration) -> Result<Inner> {
    let mut conn = engine.connect().await?;
    let db: Option<String> = conn
        .execute(text("SELECT DATABASE()"), ())
        .await?
        .scalar_one()?;
    let name = mysql_lock_name(db.as_deref().unwrap_or(""));
    loop {
        let got: Option<i64> = conn
            .execute(
                text("SELECT GET_LOCK(:n, 0)"),
                params! { "n": name.clone() },
            )
            .await?
            .scalar_one()?;
        conn.commit().await?;
        if got == Some(1) {
            return Ok(Inner::Mysql(Some(conn), name));
        }
        if start.elapsed() >= timeout {
            let holder = mysql_holder(&mut conn, &name).await;
            let _ = conn.commit().await;
            return Err(timed_out(start.elapsed(), holder));
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn mysql_holder(conn: &mut Connection, name: &str) -> String {
    type Holder = (Option<i64>, Option<(String, String, i64)>);
    let found: aludel_core::Result<Holder> = async {
        let id: Option<i64> = conn
            .execute(
                text("SELECT IS_USED_LOCK(:n)"),
                params! { "n": name.to_string() },
            )
            .await?
            .scalar_one()?;
        let Some(id) = id else {
            return Ok((None, None));
        };
        let who: Option<(String, String, i64)> = conn
            .execute(
                text(
                    "SELECT USER, HOST, CAST(TIME AS SIGNED) FROM information_schema.PROCESSLIST \
                     WHERE ID = :id",
                ),
                params! { "id": id },
            )
            .await?
            .first_as()?;
        Ok((Some(id), who))
    }
    .await;
    match found {
        Ok((Some(id), Some((user, host, secs)))) => {
            format!("connection id {id} ({user}@{host}, connected for {secs}s; GET_LOCK('{name}'))")
        }
        Ok((Some(id), None)) => format!("connection id {id} (GET_LOCK('{name}'))"),
        Ok((None, _)) => format!("another session (GET_LOCK('{name}'); released just now)"),
        Err(e) => format!(
            "another session (GET_LOCK('{name}'); IS_USED_LOCK failed: {})",
            e.message()
        ),
    }
}

/// The lock file of a SQLite database file: `<file>-migrate.lock`.
pub(crate) fn sqlite_lock_path(engine: &Engine) -> Option<std::path::PathBuf> {
    let url = engine.url();
    if url.is_memory() {
        return None;
    }
    url.database()
        .map(|db| std::path::PathBuf::from(format!("{db}-migrate.lock")))
}

#[cfg(unix)]
async fn sqlite(engine: &Engine, start: Instant, timeout: Duration) -> Result<Inner> {
    use std::io::{Read, Seek, Write};
    use std::os::unix::io::AsRawFd;

    let Some(path) = sqlite_lock_path(engine) else {
        return Ok(Inner::None);
    };
    let io_err = |e: std::io::Error| {
        Error::new(
            ErrorKind::Database,
            format!(
                "cannot open the migration lock file {}: {e}",
                path.display()
            ),
        )
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err)?;
    loop {
        // SAFETY: flock on a file descriptor this function owns.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            file.set_len(0).map_err(io_err)?;
            file.rewind().map_err(io_err)?;
            write!(file, "{}\n{now}\n", whoami()).map_err(io_err)?;
            file.flush().map_err(io_err)?;
            return Ok(Inner::Sqlite(file));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::WouldBlock {
            return Err(io_err(err));
        }
        if start.elapsed() >= timeout {
            let mut text = String::new();
            let _ = file.rewind();
            let _ = file.read_to_string(&mut text);
            let mut lines = text.lines();
            let who = lines.next().unwrap_or("another process").to_string();
            let since = lines
                .next()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .and_then(|t| {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .ok()?
                        .as_secs();
                    Some(format!(", taken {}s ago", now.saturating_sub(t)))
                })
                .unwrap_or_default();
            return Err(timed_out(
                start.elapsed(),
                format!("{who}{since} (flock on {})", path.display()),
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(not(unix))]
async fn sqlite(_engine: &Engine, _start: Instant, _timeout: Duration) -> Result<Inner> {
    // No flock: SQLite's own locking still makes each revision atomic.
    Ok(Inner::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_lock_names_fit_in_64_characters() {
        assert_eq!(mysql_lock_name("test"), "aludel_migrate.test");
        let long = "x".repeat(64);
        let a = mysql_lock_name(&long);
        assert_eq!(a.len(), 64);
        assert_ne!(a, mysql_lock_name(&"x".repeat(63)));
    }
}
