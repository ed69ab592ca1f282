//! One test body, three backends: each test gets its own database (a file
//! for SQLite, a database on the PostgreSQL and MariaDB servers), removed
//! when the test passes and kept when it fails.
//!
//! Server URLs come from `ALUDEL_TEST_POSTGRES_URL` (default
//! `postgresql://postgres@127.0.0.1:5432/test`) and `ALUDEL_TEST_MYSQL_URL`
//! (default `mysql://root@127.0.0.1:3306/test`). An unreachable server skips
//! its tests, unless `ALUDEL_REQUIRE_SERVERS=1`, which fails them.

use std::future::Future;
use std::path::PathBuf;

use aludel::{Engine, EngineBuilder, Url};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    Mysql,
}

/// A test's own database.
pub struct TestDb {
    pub kind: Kind,
    /// The URL of the test's database.
    pub url: String,
    /// The database (or file) name.
    pub name: String,
    admin_url: Option<String>,
    file: Option<PathBuf>,
}

impl TestDb {
    /// An engine on the test database with default settings.
    pub fn engine(&self) -> Engine {
        self.builder().build().expect("engine")
    }

    /// A builder for an engine on the test database.
    pub fn builder(&self) -> EngineBuilder {
        Engine::builder(&self.url).expect("test URL parses")
    }

    /// The SQL type of an auto-incrementing integer primary key column.
    pub fn serial_pk(&self) -> &'static str {
        match self.kind {
            Kind::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            Kind::Postgres => "BIGSERIAL PRIMARY KEY",
            Kind::Mysql => "BIGINT AUTO_INCREMENT PRIMARY KEY",
        }
    }
}

pub fn postgres_url() -> String {
    std::env::var("ALUDEL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".into())
}

pub fn mysql_url() -> String {
    std::env::var("ALUDEL_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

fn require_servers() -> bool {
    std::env::var("ALUDEL_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

/// A database name from the test's path, unique per process.
fn db_name(path: &str) -> String {
    let base: String = path
        .split("::")
        .skip(1)
        .collect::<Vec<_>>()
        .join("_")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("aludel_{}_{}", base, std::process::id());
    name.truncate(60);
    name
}

async fn admin(kind: Kind, admin_url: &str, sql: &str) -> aludel::Result<()> {
    let _ = kind;
    let engine = Engine::builder(admin_url)?
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()?;
    engine.execute(aludel::text(sql), ()).await?;
    Ok(())
}

async fn setup(kind: Kind, path: &str) -> Option<TestDb> {
    let name = db_name(path);
    match kind {
        Kind::Sqlite => {
            let dir = std::env::temp_dir().join("aludel-tests");
            std::fs::create_dir_all(&dir).expect("temp dir");
            let file = dir.join(format!("{name}.db"));
            let _ = std::fs::remove_file(&file);
            Some(TestDb {
                kind,
                url: format!("sqlite:///{}", file.display()),
                name,
                admin_url: None,
                file: Some(file),
            })
        }
        Kind::Postgres | Kind::Mysql => {
            let admin_url = if kind == Kind::Postgres {
                postgres_url()
            } else {
                mysql_url()
            };
            let q = |n: &str| {
                if kind == Kind::Postgres {
                    format!("\"{n}\"")
                } else {
                    format!("`{n}`")
                }
            };
            let create = async {
                admin(
                    kind,
                    &admin_url,
                    &format!("DROP DATABASE IF EXISTS {}", q(&name)),
                )
                .await?;
                admin(kind, &admin_url, &format!("CREATE DATABASE {}", q(&name))).await
            };
            if let Err(e) = create.await {
                if require_servers() {
                    panic!("ALUDEL_REQUIRE_SERVERS=1 but {kind:?} is unavailable: {e}");
                }
                eprintln!("skipped: {kind:?} server unavailable ({e}); set ALUDEL_REQUIRE_SERVERS=1 to fail instead");
                return None;
            }
            let url: Url = admin_url.parse().expect("admin URL");
            let url = url.with_database(name.clone()).render_as_string(false);
            Some(TestDb {
                kind,
                url,
                name,
                admin_url: Some(admin_url),
                file: None,
            })
        }
    }
}

async fn teardown(db: &TestDb) {
    if let Some(file) = &db.file {
        let _ = std::fs::remove_file(file);
        for suffix in ["-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
    if let Some(admin_url) = &db.admin_url {
        let sql = match db.kind {
            Kind::Postgres => format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", db.name),
            _ => format!("DROP DATABASE IF EXISTS `{}`", db.name),
        };
        if let Err(e) = admin(db.kind, admin_url, &sql).await {
            eprintln!("could not drop test database {}: {e}", db.name);
        }
    }
}

/// A second fresh database beside `db` (same backend), for tests that use
/// two (binds); drop it with [`drop_extra`].
pub async fn extra_db(db: &TestDb, suffix: &str) -> TestDb {
    setup(db.kind, &format!("x::{}_{suffix}", db.name))
        .await
        .expect("the server answered for the first database")
}

/// Drop a database made by [`extra_db`].
pub async fn drop_extra(db: TestDb) {
    teardown(&db).await;
}

/// Run `body` against a fresh database of `kind`.
pub async fn run<F, Fut>(kind: Kind, path: &str, body: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = aludel::Result<()>>,
{
    let Some(db) = setup(kind, path).await else {
        return;
    };
    let keep = TestDb {
        kind: db.kind,
        url: db.url.clone(),
        name: db.name.clone(),
        admin_url: db.admin_url.clone(),
        file: db.file.clone(),
    };
    match body(db).await {
        Ok(()) => teardown(&keep).await,
        Err(e) => panic!(
            "{e}\n(kind {:?}; test database kept: {})",
            e.kind(),
            keep.name
        ),
    }
}

/// Expand `async fn name(db: TestDb) -> aludel::Result<()>` tests into one
/// `#[tokio::test]` per backend: `name::sqlite`, `name::postgres`, `name::mysql`.
#[macro_export]
macro_rules! all_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::harness::{run, Kind};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { run(Kind::Sqlite, module_path!(), super::$name).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { run(Kind::Postgres, module_path!(), super::$name).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() { run(Kind::Mysql, module_path!(), super::$name).await }
        }
    )*};
}

/// Like [`all_backends!`] for tests that only mean something on servers.
#[macro_export]
macro_rules! server_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::harness::{run, Kind};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { run(Kind::Postgres, module_path!(), super::$name).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() { run(Kind::Mysql, module_path!(), super::$name).await }
        }
    )*};
}

/// Assert that `result` is an error of `kind`; returns the error.
#[macro_export]
macro_rules! assert_err {
    ($result:expr, $kind:pat) => {{
        match $result {
            Ok(_) => panic!("expected an error of kind {}, got Ok", stringify!($kind)),
            Err(e) => {
                assert!(
                    matches!(e.kind(), $kind),
                    "expected {}, got {:?}: {}",
                    stringify!($kind),
                    e.kind(),
                    e
                );
                e
            }
        }
    }};
}

/// Sessions of this test's database that sit idle inside a transaction.
pub async fn idle_in_transaction(db: &TestDb, engine: &Engine) -> aludel::Result<i64> {
    let sql = match db.kind {
        Kind::Postgres => {
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
        }
        _ => {
            "SELECT count(*) FROM information_schema.innodb_trx t \
             JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id \
             WHERE p.db = DATABASE() AND p.id <> CONNECTION_ID()"
        }
    };
    engine.execute(aludel::text(sql), ()).await?.scalar_one()
}

/// Wait (up to 5 s) until every connection is back in the pool: a dropped
/// connection with an open transaction is rolled back in the background.
pub async fn settle(engine: &Engine) -> aludel::PoolStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let status = engine.pool_status();
        if status.checked_out == 0 || std::time::Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
