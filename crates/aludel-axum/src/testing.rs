//! Test support (feature `testing`): [`TestDatabase`], a database of its
//! own for each test — a temporary SQLite file, or a database created on a
//! PostgreSQL or MySQL/MariaDB server and dropped afterwards — usable from a
//! plain `#[tokio::test]`.
//!
//! ```
//! use aludel_axum::testing::TestDatabase;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel::Result<()> {
//! // #[tokio::test] async fn creates_a_note() -> aludel::Result<()> {
//! let test_db = TestDatabase::from_env().await?; // ALUDEL_TEST_DATABASE_URL, else SQLite
//! let db = test_db.db()?;
//! db.create_all().await?;
//! // … drive the app's Router with tower::ServiceExt::oneshot …
//! drop(db);
//! test_db.close().await?; // or let it drop: removed, unless the test panicked
//! # Ok(()) }
//! ```
//!
//! **When to pick which.** A database per test is the only isolation that
//! tests what production does: real COMMITs, DDL, constraints checked at
//! commit, several connections and the pool. It costs a CREATE DATABASE per
//! test on a server (tens of milliseconds) and a file on SQLite. A test
//! inside an outer transaction rolled back at the end ([`TestTransaction`]:
//! the app's sessions run in savepoints on one shared connection) needs no
//! database of its own and no cleanup, so many tests share one database
//! (create the schema once) and run in parallel; but it cannot see what
//! only a real COMMIT does (deferred constraints, a second connection
//! seeing the data, pool exhaustion), DDL on MySQL ends it (MySQL commits
//! DDL implicitly), and the app's requests take turns on the one
//! connection. Pick [`TestDatabase`] for commit, pool, migration and
//! concurrency tests; [`TestTransaction`] for the many tests of what
//! handlers read and write.
//!
//! ```
//! use aludel_axum::testing::{TestDatabase, TestTransaction};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel::Result<()> {
//! # let test_db = TestDatabase::sqlite().await?;
//! # let db = test_db.db()?;
//! # db.engine().execute(aludel::text("CREATE TABLE t (x INTEGER)"), ()).await?;
//! // the schema exists (created once, e.g. by db.create_all())
//! let tx = TestTransaction::begin(&db).await?;
//! let app_db = tx.db(); // give this to the app's Router: its sessions join the transaction
//! let mut s = app_db.session();
//! s.execute(aludel::text("INSERT INTO t VALUES (1)"), ()).await?;
//! s.commit().await?; // RELEASE SAVEPOINT, not COMMIT
//! drop(s);
//! tx.rollback().await?; // the test's end: nothing was kept
//! let n: i64 = db.engine().execute(aludel::text("SELECT count(*) FROM t"), ()).await?.scalar_one()?;
//! assert_eq!(n, 0);
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use aludel_core::{Backend, Engine, Error, ErrorKind, Result, Url};

use aludel_orm::SharedConnection;

use crate::config::DbConfig;
use crate::db::Db;

/// The environment variable [`TestDatabase::from_env`] reads: a server URL
/// whose credentials can CREATE and DROP databases, or a SQLite URL.
pub const TEST_DATABASE_URL: &str = "ALUDEL_TEST_DATABASE_URL";

/// A database that exists for one test: created by [`TestDatabase::create`]
/// (or [`sqlite`](TestDatabase::sqlite), [`from_env`](TestDatabase::from_env)),
/// named after the test (`aludel_t_<test path>_<pid>_<n>`), removed by
/// [`close`](TestDatabase::close) or when dropped — and kept, with its
/// name printed, when the test panicked, so it can be inspected.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    name: String,
    backend: Backend,
    admin_url: Option<String>,
    file: Option<PathBuf>,
    done: bool,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDatabase {
    /// A temporary SQLite file (in the system's temp directory).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the temp directory cannot be created.
    pub async fn sqlite() -> Result<TestDatabase> {
        TestDatabase::create("sqlite://").await
    }

    /// A database for this test on the server of `server_url` (its
    /// database part names the database to connect to for CREATE
    /// DATABASE, e.g. `postgresql://postgres@127.0.0.1:5432/postgres`), or a
    /// temporary file for any `sqlite:` URL.
    ///
    /// # Errors
    /// [`ErrorKind::Url`] for a bad URL; the server's error (unreachable,
    /// not allowed to create databases) otherwise.
    pub async fn create(server_url: &str) -> Result<TestDatabase> {
        let url: Url = server_url.parse()?;
        let name = database_name();
        match url.backend() {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join("aludel-axum-tests");
                std::fs::create_dir_all(&dir).map_err(|e| {
                    Error::new(
                        ErrorKind::Config,
                        format!("cannot create {}: {e}", dir.display()),
                    )
                })?;
                let file = dir.join(format!("{name}.db"));
                remove_sqlite(&file);
                Ok(TestDatabase {
                    url: format!("sqlite:///{}", file.display()),
                    name,
                    backend: Backend::Sqlite,
                    admin_url: None,
                    file: Some(file),
                    done: false,
                })
            }
            backend => {
                let admin = url.render_as_string(false);
                let q = quote(backend, &name);
                admin_sql(&admin, &format!("DROP DATABASE IF EXISTS {q}")).await?;
                admin_sql(&admin, &format!("CREATE DATABASE {q}")).await?;
                Ok(TestDatabase {
                    url: url.with_database(name.clone()).render_as_string(false),
                    name,
                    backend,
                    admin_url: Some(admin),
                    file: None,
                    done: false,
                })
            }
        }
    }

    /// [`create`](TestDatabase::create) on `ALUDEL_TEST_DATABASE_URL`, or
    /// [`sqlite`](TestDatabase::sqlite) when it is not set: one test suite,
    /// run on any backend by an environment variable.
    ///
    /// # Errors
    /// As [`create`](TestDatabase::create).
    pub async fn from_env() -> Result<TestDatabase> {
        match std::env::var(TEST_DATABASE_URL) {
            Ok(url) if !url.is_empty() => TestDatabase::create(&url).await,
            _ => TestDatabase::sqlite().await,
        }
    }

    /// The test database's URL (with its password: keep it out of logs).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name (the file's stem on SQLite).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Which backend it is on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A configuration for it, to adjust (`.pool_size(1)`) before
    /// [`Db::from_config`].
    pub fn config(&self) -> DbConfig {
        DbConfig::new(&self.url)
    }

    /// A [`Db`] on it with default settings.
    ///
    /// # Errors
    /// [`Db::from_config`]'s.
    pub fn db(&self) -> Result<Db> {
        Db::from_config(&self.config())
    }

    /// An engine on it with default settings.
    ///
    /// # Errors
    /// [`aludel_core::create_engine`]'s.
    pub fn engine(&self) -> Result<Engine> {
        aludel_core::create_engine(&self.url)
    }

    /// Drop the database (remove the file) now. Engines on it should be
    /// dropped first; PostgreSQL's `DROP DATABASE … WITH (FORCE)` ends
    /// their connections anyway.
    ///
    /// # Errors
    /// The server's error.
    pub async fn close(mut self) -> Result<()> {
        self.done = true;
        drop_database(
            &self.backend,
            self.admin_url.as_deref(),
            &self.name,
            self.file.as_ref(),
        )
        .await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if std::thread::panicking() {
            eprintln!(
                "test failed: its database {} ({:?}) is kept for inspection",
                self.name, self.backend
            );
            return;
        }
        let (backend, admin, name, file) = (
            self.backend,
            self.admin_url.clone(),
            self.name.clone(),
            self.file.clone(),
        );
        if admin.is_none() {
            if let Some(f) = &file {
                remove_sqlite(f);
            }
            return;
        }
        // Drop cannot await, and may run inside a runtime: drop the database
        // from a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::new(ErrorKind::Config, e.to_string()))?;
            rt.block_on(drop_database(
                &backend,
                admin.as_deref(),
                &name,
                file.as_ref(),
            ))
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

fn database_name() -> String {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("test");
    let base: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let suffix = format!(
        "_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    // PostgreSQL keeps 63 bytes of a name; keep the unique suffix whole.
    let mut base = format!("aludel_t_{base}");
    base.truncate(63 - suffix.len());
    base + &suffix
}

fn quote(backend: Backend, name: &str) -> String {
    match backend {
        Backend::Mysql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

async fn admin_sql(admin_url: &str, sql: &str) -> Result<()> {
    let engine = Engine::builder(admin_url)?
        .pool_size(1)
        .max_overflow(0)
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()?;
    engine.execute(aludel_core::text(sql), ()).await?;
    engine.dispose();
    Ok(())
}

async fn drop_database(
    backend: &Backend,
    admin_url: Option<&str>,
    name: &str,
    file: Option<&PathBuf>,
) -> Result<()> {
    if let Some(f) = file {
        remove_sqlite(f);
    }
    let Some(admin) = admin_url else {
        return Ok(());
    };
    let sql = match backend {
        Backend::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        _ => format!("DROP DATABASE IF EXISTS {}", quote(*backend, name)),
    };
    admin_sql(admin, &sql).await
}

fn remove_sqlite(file: &std::path::Path) {
    let _ = std::fs::remove_file(file);
    for suffix in ["-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
}

/// A test inside one transaction that the app under test shares: every
/// Session of [`db`](TestTransaction::db) runs in a SAVEPOINT on the same
/// connection (the ORM's [`SharedConnection`]), so what the app commits is
/// visible to the rest of the test and rolled back by
/// [`rollback`](TestTransaction::rollback) — or when the test ends, since
/// the connection goes back to the pool rolled back.
///
/// Requests through the app take turns on the connection, one Session at
/// a time: end the test's own Sessions (commit, rollback or drop) before
/// sending a request, or the request waits for them.
#[derive(Debug)]
pub struct TestTransaction {
    shared: SharedConnection,
    db: Db,
}

impl TestTransaction {
    /// Begin the outer transaction on a connection of `db`'s default engine.
    ///
    /// # Errors
    /// The pool's or the server's error.
    pub async fn begin(db: &Db) -> Result<TestTransaction> {
        let shared = SharedConnection::begin(db.engine()).await?;
        Ok(TestTransaction {
            db: db.clone().join(&shared),
            shared,
        })
    }

    /// The `Db` to give the app (and to make the test's own Sessions from).
    pub fn db(&self) -> Db {
        self.db.clone()
    }

    /// The shared connection (its [`run`](SharedConnection::run) sets up data
    /// with Core statements in the same transaction).
    pub fn shared(&self) -> &SharedConnection {
        &self.shared
    }

    /// Roll everything back and return the connection to the pool.
    ///
    /// # Errors
    /// The server's error on ROLLBACK.
    pub async fn rollback(self) -> Result<()> {
        self.shared.rollback().await
    }
}
