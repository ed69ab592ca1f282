//! One test body, three backends, each test in a database of its own —
//! the pattern of `crates/aludel/tests/it/harness.rs`, cut to what these
//! tests need. Server URLs come from `ALUDEL_TEST_POSTGRES_URL` and
//! `ALUDEL_TEST_MYSQL_URL`; an unreachable server skips its tests unless
//! `ALUDEL_REQUIRE_SERVERS=1`, which fails them. The database is dropped
//! when the test passes and kept (named in the panic) when it fails.

use aludel_core::{text, Engine, Url};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    Mysql,
}

pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    name: String,
    admin_url: Option<String>,
}

impl TestDb {
    pub fn engine(&self) -> Engine {
        aludel_core::create_engine(&self.url).expect("engine")
    }
}

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
    let mut name = format!("aludel_mig_{base}_{}", std::process::id());
    name.truncate(60);
    name
}

async fn admin(url: &str, sql: &str) -> aludel_core::Result<()> {
    let engine = Engine::builder(url)?
        .connect_timeout(std::time::Duration::from_secs(5))
        .build()?;
    engine.execute(text(sql), ()).await?;
    Ok(())
}

fn quoted(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Mysql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

async fn setup(kind: Kind, path: &str) -> Option<TestDb> {
    let name = db_name(path);
    let admin_url = match kind {
        Kind::Sqlite => {
            let dir = std::env::temp_dir().join("aludel-migrate-tests");
            std::fs::create_dir_all(&dir).expect("temp dir");
            let file = dir.join(format!("{name}.db"));
            let _ = std::fs::remove_file(&file);
            let url = format!("sqlite:///{}", file.display());
            return Some(TestDb {
                kind,
                url,
                name,
                admin_url: None,
            });
        }
        Kind::Postgres => std::env::var("ALUDEL_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".into()),
        Kind::Mysql => std::env::var("ALUDEL_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
    };
    let q = quoted(kind, &name);
    let created = async {
        admin(&admin_url, &format!("DROP DATABASE IF EXISTS {q}")).await?;
        admin(&admin_url, &format!("CREATE DATABASE {q}")).await
    };
    if let Err(e) = created.await {
        if std::env::var("ALUDEL_REQUIRE_SERVERS").is_ok_and(|v| v == "1") {
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
    })
}

async fn teardown(db: &TestDb) {
    match &db.admin_url {
        None => {
            let file = db.url.trim_start_matches("sqlite:///");
            for suffix in ["", "-wal", "-shm", "-journal", "-migrate.lock"] {
                let _ = std::fs::remove_file(format!("{file}{suffix}"));
            }
        }
        Some(admin_url) => {
            let force = if db.kind == Kind::Postgres {
                " WITH (FORCE)"
            } else {
                ""
            };
            let sql = format!(
                "DROP DATABASE IF EXISTS {}{force}",
                quoted(db.kind, &db.name)
            );
            if let Err(e) = admin(admin_url, &sql).await {
                eprintln!("could not drop test database {}: {e}", db.name);
            }
        }
    }
}

/// Run `body` against a fresh database of `kind`.
pub async fn run<F>(kind: Kind, path: &str, body: F)
where
    F: AsyncFnOnce(&TestDb) -> aludel_migrate::Result<()>,
{
    let Some(db) = setup(kind, path).await else {
        return;
    };
    match body(&db).await {
        Ok(()) => teardown(&db).await,
        Err(e) => panic!(
            "{e}\n(kind {:?}; test database kept: {})",
            e.kind(),
            db.name
        ),
    }
}

/// Expand `async fn name(db: &TestDb) -> aludel_migrate::Result<()>` into
/// `name::sqlite`, `name::postgres` and `name::mysql`.
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
