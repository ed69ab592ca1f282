//! One test body, three backends, each test in a database of its own made
//! by the crate's own fixture (`TestDatabase`).
//!
//! Server URLs come from `ALUDEL_TEST_POSTGRES_URL` (default
//! `postgresql://postgres@127.0.0.1:5432/test`) and `ALUDEL_TEST_MYSQL_URL`
//! (default `mysql://root@127.0.0.1:3306/test`). An unreachable server skips
//! its tests, unless `ALUDEL_REQUIRE_SERVERS=1`, which fails them.

use std::future::Future;
use std::sync::{Arc, Mutex};

use aludel_axum::testing::TestDatabase;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value as Json;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    Mysql,
}

fn require_servers() -> bool {
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

/// A fresh database of `kind` for `body`; kept if the body fails.
pub async fn run<F, Fut>(kind: Kind, body: F)
where
    F: FnOnce(Kind, TestDatabase) -> Fut,
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
    // The body owns the fixture: it is dropped (and the database removed)
    // when the body ends, and kept if the body panics.
    if let Err(e) = body(kind, tdb).await {
        panic!("{e}\n(kind {:?}; test database {name})", e.kind());
    }
}

/// Expand `async fn name(kind: Kind, tdb: TestDatabase) -> aludel::Result<()>`
/// into `name::sqlite`, `name::postgres`, `name::mysql`.
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

/// A response's status, headers and JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
    pub json: Json,
}

/// Send one request through `app` and read the reply.
pub async fn send(app: &Router, method: &str, uri: &str, body: Option<Json>) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    let body = match body {
        Some(j) => {
            req = req.header("content-type", "application/json");
            Body::from(serde_json::to_vec(&j).unwrap())
        }
        None => Body::empty(),
    };
    let res = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = if bytes.is_empty() {
        Json::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply {
        status,
        content_type,
        headers,
        json,
    }
}

/// `send` with a raw body (malformed JSON).
pub async fn send_raw(app: &Router, method: &str, uri: &str, body: &'static str) -> Reply {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&bytes).into_owned()));
    Reply {
        status,
        content_type,
        headers,
        json,
    }
}

/// A tracing subscriber writing into a buffer, for the duration of a test.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// Install as this thread's default subscriber (the test body runs on
    /// the test thread), with span close events and their fields.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let buf = self.0.clone();
        let sub = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(move || Writer(buf.clone()))
            .finish();
        tracing::subscriber::set_default(sub)
    }
}

pub struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Wait (up to 5 s) until every connection of `db`'s default engine is back
/// in the pool: a dropped connection with an open transaction is rolled
/// back in the background on servers.
pub async fn settle(db: &aludel_axum::Db) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while db.pool_status().checked_out > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
