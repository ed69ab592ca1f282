//! One test body, three backends, each test in a database of its own,
//! migrated to head with Protect's revisions.
//!
//! Server URLs come from `ALUDEL_TEST_POSTGRES_URL` (default
//! `postgresql://postgres@127.0.0.1:5432/test`) and `ALUDEL_TEST_MYSQL_URL`
//! (default `mysql://root@127.0.0.1:3306/test`). An unreachable server skips
//! its tests, unless `ALUDEL_REQUIRE_SERVERS=1`, which fails them.

use std::future::Future;

use aludel::orm::Session;
use aludel::types::chrono::NaiveDate;
use aludel::types::Decimal;
use aludel_axum::testing::TestDatabase;
use aludel_axum::Db;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use protect::models::{Customer, Home, Policy, PolicyStatus};
use serde_json::Value as Json;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    Mysql,
}

pub fn require_servers() -> bool {
    std::env::var("ALUDEL_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

pub fn server_url(kind: Kind) -> String {
    match kind {
        Kind::Sqlite => "sqlite://".into(),
        Kind::Postgres => std::env::var("ALUDEL_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".into()),
        Kind::Mysql => std::env::var("ALUDEL_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
    }
}

/// The test's database, migrated, and the app on it.
pub struct Fixture {
    pub kind: Kind,
    pub db: Db,
    pub app: Router,
    pub tdb: TestDatabase,
}

/// A fresh database of `kind`, migrated to head, for `body`; dropped when
/// the body passes, kept (and named) when it fails.
pub async fn run<F, Fut>(kind: Kind, body: F)
where
    F: FnOnce(Fixture) -> Fut,
    Fut: Future<Output = aludel::Result<()>>,
{
    let tdb = match TestDatabase::create(&server_url(kind)).await {
        Ok(t) => t,
        Err(e) if !require_servers() && kind != Kind::Sqlite => {
            eprintln!("skipped: {kind:?} server unavailable ({e}); set ALUDEL_REQUIRE_SERVERS=1 to fail instead");
            return;
        }
        Err(e) => panic!("{kind:?}: could not create the test database: {e}"),
    };
    let name = tdb.name().to_string();
    let lock = migrate_lock(&tdb);
    let db = tdb.db().expect("a Db on the test database");
    if let Err(e) = protect::upgrade(&db, |_| {}).await {
        panic!("{kind:?}: db upgrade failed: {e} (test database {name})");
    }
    let app = protect::app(db.clone());
    let fixture = Fixture { kind, db, app, tdb };
    if let Err(e) = body(fixture).await {
        panic!("{e}\n(kind {:?}; test database {name})", e.kind());
    }
    if let Some(lock) = lock {
        let _ = std::fs::remove_file(lock);
    }
}

/// The migration lock file `db upgrade` leaves beside a SQLite database
/// (`<file>-migrate.lock`), which `TestDatabase` does not remove with the
/// file.
pub fn migrate_lock(tdb: &TestDatabase) -> Option<std::path::PathBuf> {
    let path = tdb.url().strip_prefix("sqlite:///")?;
    Some(std::path::PathBuf::from(format!("{path}-migrate.lock")))
}

/// Expand `async fn name(f: Fixture) -> aludel::Result<()>` into
/// `name::sqlite`, `name::postgres`, `name::mysql`.
#[macro_export]
macro_rules! all_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::harness::{run, Kind};
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { run(Kind::Sqlite, super::$name).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { run(Kind::Postgres, super::$name).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() { run(Kind::Mysql, super::$name).await }
        }
    )*};
}

/// A response's status, content type and body (JSON, or the text as a
/// JSON string when it is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub content_type: String,
    pub json: Json,
    pub text: String,
}

async fn reply(res: axum::response::Response) -> Reply {
    let status = res.status();
    let headers = res.headers().clone();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = if bytes.is_empty() {
        Json::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Json::String(text.clone()))
    };
    Reply {
        status,
        headers,
        content_type,
        json,
        text,
    }
}

/// Send one request through `app`.
pub async fn send(app: &Router, method: &str, uri: &str, body: Option<Json>) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    let body = match body {
        Some(j) => {
            req = req.header("content-type", "application/json");
            Body::from(serde_json::to_vec(&j).unwrap())
        }
        None => Body::empty(),
    };
    reply(app.clone().oneshot(req.body(body).unwrap()).await.unwrap()).await
}

/// Send a raw body (malformed JSON) with `content_type`.
pub async fn send_raw(
    app: &Router,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: &'static str,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    reply(
        app.clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap(),
    )
    .await
}

/// `SELECT count(*) FROM table`.
pub async fn count(db: &Db, table: &str) -> aludel::Result<i64> {
    db.engine()
        .execute(aludel::text(format!("SELECT count(*) FROM {table}")), ())
        .await?
        .scalar_one()
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// `n` customers, each with a home and a policy (`PRT-T000001`, …); every
/// third policy is cancelled, the others active. Returns the policies' ids.
pub async fn book(db: &Db, n: usize) -> aludel::Result<Vec<i64>> {
    let mut s: Session = db.session();
    let customers = s.add_all((1..=n).map(|i| Customer {
        id: 0,
        name: format!("Customer {i:03}"),
        email: format!("customer{i}@example.com"),
        phone: None,
        created_at: protect::models::now(),
    }));
    s.flush().await?;
    let customer_ids: Vec<i64> = customers.iter().map(|&c| s[c].id).collect();
    let homes = s.add_all(
        customer_ids
            .iter()
            .enumerate()
            .map(|(i, &customer_id)| Home {
                id: 0,
                customer_id,
                address: format!("{} Harbour Street", i + 1),
                city: "Halifax".into(),
                country: "Canada".into(),
                year_built: 1990,
                value: Decimal::new(350_000, 0),
            }),
    );
    s.flush().await?;
    let homes: Vec<(i64, i64)> = homes.iter().map(|&h| (s[h].id, s[h].customer_id)).collect();
    let policies = s.add_all(
        homes
            .iter()
            .enumerate()
            .map(|(i, &(home_id, customer_id))| Policy {
                id: 0,
                number: format!("PRT-T{:06}", i + 1),
                customer_id,
                home_id,
                coverage: Decimal::new(400_000, 0),
                premium: Decimal::new(118_000, 2),
                deductible: Decimal::new(500, 0),
                start_date: date(2026, 1, 1),
                end_date: date(2026, 12, 31),
                status: if (i + 1) % 3 == 0 {
                    PolicyStatus::Cancelled
                } else {
                    PolicyStatus::Active
                },
                version: 0,
            }),
    );
    s.flush().await?;
    let ids = policies.iter().map(|&p| s[p].id).collect();
    s.commit().await?;
    Ok(ids)
}

/// Wait (up to 5 s) until every connection is back in the pool.
pub async fn settle(db: &Db) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while db.pool_status().checked_out > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
