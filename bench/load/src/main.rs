//! Load test (issue 9, "Speed"): Protect's list and create endpoints driven
//! over loopback by a few dozen concurrent keep-alive clients for a bounded
//! time, with a pool of 5 connections; requests per second, p50/p99
//! latency, errors and the pool's peak checkout. The same two endpoints
//! written directly on the raw driver (tokio-postgres, a pool of 5 clients)
//! show what the integration costs.
//!
//! ```sh
//! cargo run --release --manifest-path bench/load/Cargo.toml -- [--backend sqlite|postgres|mysql]... [--quick]
//! ```
//!
//! Each target gets a fresh database (`aludel_bench_load` on the servers of
//! `BENCH_POSTGRES_URL` / `BENCH_MYSQL_URL`, a temp file for SQLite),
//! migrated with Protect's revisions and seeded with `db seed`'s default
//! data (1 000 customers, about 1 150 policies). The mix: 4 in 5 requests
//! are `GET /api/policies?status=active&page=N` (N from 1 to 30), 1 in 5
//! `POST /api/claims` against an active policy.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aludel::orm::Model as _;
use aludel_axum::{Db, DbConfig};
use axum::extract::{Json, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use protect::models::{Policy, PolicyStatus};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{Mutex, MutexGuard, Semaphore};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const CLIENTS: usize = 32;
const POOL_SIZE: usize = 5;
const DB_NAME: &str = "aludel_bench_load";

/// A running server to drive.
struct Target {
    name: String,
    addr: SocketAddr,
    peak: Arc<AtomicUsize>,
    policies: Arc<Vec<i64>>,
    server: tokio::task::JoinHandle<()>,
}

/// What the clients measured.
#[derive(Default)]
struct Stats {
    list: Vec<Duration>,
    create: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// One keep-alive HTTP/1.1 client: request, then the response's head and
/// `content-length` bytes of body.
struct Client {
    reader: BufReader<tokio::net::TcpStream>,
    addr: SocketAddr,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Res<Client> {
        let s = tokio::net::TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Client {
            reader: BufReader::new(s),
            addr,
        })
    }

    async fn call(&mut self, method: &str, path: &str, body: Option<&str>) -> Res<(u16, Vec<u8>)> {
        let body = body.unwrap_or("");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        self.reader.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.reader.read_line(&mut line).await?;
        let status: u16 = line.get(9..12).ok_or("no status line")?.parse()?;
        let mut len = 0usize;
        loop {
            line.clear();
            self.reader.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse()?;
                }
            }
        }
        let mut buf = vec![0; len];
        self.reader.read_exact(&mut buf).await?;
        Ok((status, buf))
    }
}

async fn drive(t: &Target, duration: Duration) -> Stats {
    let deadline = Instant::now() + duration;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (addr, policies) = (t.addr, t.policies.clone());
        tasks.push(tokio::spawn(async move {
            let mut s = Stats::default();
            let mut client = match Client::connect(addr).await {
                Ok(cl) => cl,
                Err(e) => {
                    s.errors += 1;
                    s.first_error = Some(e.to_string());
                    return s;
                }
            };
            let mut n: u64 = c as u64 * 7919;
            while Instant::now() < deadline {
                n = n.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let create = (n >> 33) % 5 == 0;
                let t0 = Instant::now();
                let res = if create {
                    let policy = policies[((n >> 20) as usize) % policies.len()];
                    let body = format!(
                        r#"{{"policy_id": {policy}, "amount": "{}.50", "description": "Load test: water damage"}}"#,
                        100 + (n >> 40) % 900
                    );
                    client.call("POST", "/api/claims", Some(&body)).await
                } else {
                    let page = 1 + (n >> 24) % 30;
                    client
                        .call("GET", &format!("/api/policies?status=active&page={page}"), None)
                        .await
                };
                let took = t0.elapsed();
                match res {
                    Ok((status, _)) if (200..300).contains(&status) => {
                        if create {
                            s.create.push(took)
                        } else {
                            s.list.push(took)
                        }
                    }
                    Ok((status, body)) => {
                        s.errors += 1;
                        s.first_error.get_or_insert_with(|| {
                            format!("{status}: {}", String::from_utf8_lossy(&body))
                        });
                    }
                    Err(e) => {
                        s.errors += 1;
                        s.first_error.get_or_insert_with(|| e.to_string());
                        match Client::connect(addr).await {
                            Ok(cl) => client = cl,
                            Err(_) => break,
                        }
                    }
                }
            }
            s
        }));
    }
    let mut all = Stats::default();
    for task in tasks {
        let s = task.await.expect("client task");
        all.list.extend(s.list);
        all.create.extend(s.create);
        all.errors += s.errors;
        if all.first_error.is_none() {
            all.first_error = s.first_error;
        }
    }
    all.elapsed = start.elapsed();
    all.list.sort();
    all.create.sort();
    all
}

/// Protect itself on `url` (already migrated and seeded).
async fn protect_target(name: &str, url: &str) -> Res<Target> {
    let db = Db::from_config(&DbConfig::new(url).pool_size(POOL_SIZE).max_overflow(0))?;
    let mut s = db.session();
    let policies: Vec<i64> = Policy::query(&mut s)
        .filter(Policy::status.eq(PolicyStatus::Active))
        .scalars(Policy::id)
        .await?;
    s.rollback().await?;
    drop(s);
    let peak = Arc::new(AtomicUsize::new(0));
    let (p, sampled) = (peak.clone(), db.clone());
    tokio::spawn(async move {
        loop {
            p.fetch_max(sampled.pool_status().checked_out, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = protect::app(db);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Target {
        name: name.to_string(),
        addr,
        peak,
        policies: Arc::new(policies),
        server,
    })
}

/// Migrate and seed a fresh database at `url` with Protect's own commands.
async fn prepare(url: &str) -> Res<()> {
    let db = Db::from_config(&DbConfig::new(url))?;
    if url.starts_with("sqlite:") && std::env::var_os("LOAD_SQLITE_ROLLBACK_JOURNAL").is_none() {
        // A served SQLite database runs in WAL mode (readers do not block
        // the writer); the setting stays with the file.
        db.engine()
            .execute(aludel::text("PRAGMA journal_mode = WAL"), ())
            .await?;
    }
    protect::upgrade(&db, |_| {}).await?;
    protect::seed::seed(&db, protect::seed::SeedOptions::default(), |_| {}).await?;
    db.dispose();
    Ok(())
}

// ---- the same endpoints on the raw driver (tokio-postgres) ----

/// A client with the endpoints' statements prepared once (as Aludel's
/// per-connection statement cache does), so neither side pays a Parse per
/// query.
struct RawConn {
    client: tokio_postgres::Client,
    list: tokio_postgres::Statement,
    riders: tokio_postgres::Statement,
    count: tokio_postgres::Statement,
    check: tokio_postgres::Statement,
    insert: tokio_postgres::Statement,
    history: tokio_postgres::Statement,
}

const LIST_SQL: &str =
    "SELECT id, number, customer_id, home_id, coverage::text, premium::text, start_date::text, \
     end_date::text, status::text, version FROM policies WHERE status = $1::text::policy_status \
     ORDER BY id LIMIT $2 OFFSET $3";
const RIDERS_SQL: &str =
    "SELECT pr.policy_id, r.code FROM policy_riders pr JOIN riders r ON r.id = pr.rider_id \
     WHERE pr.policy_id = ANY($1) ORDER BY r.code";
const COUNT_SQL: &str = "SELECT count(*) FROM policies WHERE status = $1::text::policy_status";
const CHECK_SQL: &str =
    "SELECT status = 'active', $2::text::numeric <= coverage FROM policies WHERE id = $1";
const INSERT_SQL: &str =
    "INSERT INTO claims (policy_id, amount, description, status, filed_at, version) \
     VALUES ($1, $2::text::numeric, $3, 'filed', date_trunc('second', now()), 1) \
     RETURNING id, amount::text, filed_at::text";
const HISTORY_SQL: &str =
    "INSERT INTO claim_status_changes (claim_id, from_status, to_status, changed_at) \
     SELECT id, NULL, 'filed', filed_at FROM claims WHERE id = $1 RETURNING id";

/// Five clients, each lent to one request at a time.
struct RawPool {
    clients: Vec<Mutex<RawConn>>,
    permits: Semaphore,
    in_use: AtomicUsize,
    peak: Arc<AtomicUsize>,
}

struct Lease<'a> {
    client: MutexGuard<'a, RawConn>,
    pool: &'a RawPool,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        self.pool.in_use.fetch_sub(1, Ordering::Relaxed);
    }
}

impl RawPool {
    async fn get(&self) -> Lease<'_> {
        let permit = self.permits.acquire().await.expect("open");
        let client = loop {
            if let Some(g) = self.clients.iter().find_map(|c| c.try_lock().ok()) {
                break g;
            }
            tokio::task::yield_now().await;
        };
        let n = self.in_use.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(n, Ordering::Relaxed);
        Lease {
            client,
            pool: self,
            _permit: permit,
        }
    }
}

type RawState = State<Arc<RawPool>>;

fn raw_error(e: impl std::fmt::Display) -> (StatusCode, String) {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

async fn raw_list(
    State(pool): RawState,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, (StatusCode, String)> {
    let page: i64 = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let per_page: i64 = q
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let status = q.get("status").cloned().unwrap_or_else(|| "active".into());
    let lease = pool.get().await;
    let c = &*lease.client;
    let rows = c
        .client
        .query(&c.list, &[&status, &per_page, &((page - 1) * per_page)])
        .await
        .map_err(raw_error)?;
    if rows.is_empty() && page > 1 {
        return Err((StatusCode::NOT_FOUND, "page does not exist".into()));
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    let riders = c
        .client
        .query(&c.riders, &[&ids])
        .await
        .map_err(raw_error)?;
    let total: i64 = c
        .client
        .query_one(&c.count, &[&status])
        .await
        .map_err(raw_error)?
        .get(0);
    drop(lease);
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            let id: i64 = r.get(0);
            let codes: Vec<String> = riders
                .iter()
                .filter(|x| x.get::<_, i64>(0) == id)
                .map(|x| x.get(1))
                .collect();
            json!({"id": id, "number": r.get::<_, String>(1), "customer_id": r.get::<_, i64>(2),
                   "home_id": r.get::<_, i64>(3), "coverage": r.get::<_, String>(4),
                   "premium": r.get::<_, String>(5), "start_date": r.get::<_, String>(6),
                   "end_date": r.get::<_, String>(7), "status": r.get::<_, String>(8),
                   "version": r.get::<_, i64>(9), "riders": codes})
        })
        .collect();
    let pages = (total + per_page - 1) / per_page;
    Ok(Json(
        json!({"items": items, "page": page, "per_page": per_page, "total": total,
                   "pages": pages, "has_prev": page > 1, "has_next": page < pages}),
    ))
}

async fn raw_create(
    State(pool): RawState,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), (StatusCode, String)> {
    let bad = |f: &str| (StatusCode::UNPROCESSABLE_ENTITY, format!("{f}: invalid"));
    let policy_id = body["policy_id"].as_i64().ok_or_else(|| bad("policy_id"))?;
    let amount = body["amount"]
        .as_str()
        .ok_or_else(|| bad("amount"))?
        .to_string();
    let description = body["description"]
        .as_str()
        .ok_or_else(|| bad("description"))?
        .to_string();
    let mut lease = pool.get().await;
    let c = &mut *lease.client;
    let (check, insert, history) = (c.check.clone(), c.insert.clone(), c.history.clone());
    let tx = c.client.transaction().await.map_err(raw_error)?;
    let ok = tx
        .query_opt(&check, &[&policy_id, &amount])
        .await
        .map_err(raw_error)?
        .ok_or_else(|| bad("policy_id"))?;
    if !ok.get::<_, bool>(0) || !ok.get::<_, bool>(1) {
        return Err(bad("policy_id"));
    }
    let row = tx
        .query_one(&insert, &[&policy_id, &amount, &description])
        .await
        .map_err(raw_error)?;
    let id: i64 = row.get(0);
    let history = tx.query_one(&history, &[&id]).await.map_err(raw_error)?;
    tx.commit().await.map_err(raw_error)?;
    drop(lease);
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"id": id, "policy_id": policy_id, "amount": row.get::<_, String>(1),
                    "description": description, "status": "filed", "filed_at": row.get::<_, String>(2),
                    "version": 1, "history": [{"id": history.get::<_, i64>(0), "claim_id": id,
                    "from_status": null, "to_status": "filed"}]}),
        ),
    ))
}

async fn raw_target(url: &str, policies: Arc<Vec<i64>>) -> Res<Target> {
    let mut clients = Vec::new();
    for _ in 0..POOL_SIZE {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        clients.push(Mutex::new(RawConn {
            list: client.prepare(LIST_SQL).await?,
            riders: client.prepare(RIDERS_SQL).await?,
            count: client.prepare(COUNT_SQL).await?,
            check: client.prepare(CHECK_SQL).await?,
            insert: client.prepare(INSERT_SQL).await?,
            history: client.prepare(HISTORY_SQL).await?,
            client,
        }));
    }
    let peak = Arc::new(AtomicUsize::new(0));
    let pool = Arc::new(RawPool {
        clients,
        permits: Semaphore::new(POOL_SIZE),
        in_use: AtomicUsize::new(0),
        peak: peak.clone(),
    });
    let app = Router::new()
        .route("/api/policies", get(raw_list))
        .route("/api/claims", axum::routing::post(raw_create))
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Target {
        name: "raw tokio-postgres".into(),
        addr,
        peak,
        policies,
        server,
    })
}

// ---- the run ----

async fn admin(url: &str, sql: &str) -> Res<()> {
    let engine = aludel::create_engine(url)?;
    engine.execute(aludel::text(sql), ()).await?;
    engine.dispose();
    Ok(())
}

fn row(backend: &str, t: &Target, s: &Stats) -> String {
    let n = s.list.len() + s.create.len();
    format!(
        "| {backend} | {} | {:.0} | {:.2} / {:.2} | {:.2} / {:.2} | {} / {} | {} | {} |",
        t.name,
        n as f64 / s.elapsed.as_secs_f64(),
        percentile(&s.list, 0.5),
        percentile(&s.list, 0.99),
        percentile(&s.create, 0.5),
        percentile(&s.create, 0.99),
        s.list.len(),
        s.create.len(),
        s.errors,
        t.peak.load(Ordering::Relaxed),
    )
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut backends: Vec<String> = args
        .windows(2)
        .filter(|w| w[0] == "--backend")
        .map(|w| w[1].clone())
        .collect();
    if backends.is_empty() {
        backends = vec!["sqlite".into(), "postgres".into(), "mysql".into()];
    }
    let duration = Duration::from_secs(if quick { 3 } else { 10 });
    let mut lines = vec![
        format!(
            "Protect under load: {CLIENTS} keep-alive clients over loopback for {} s per target (after 1 s of warm-up), \
             pool_size {POOL_SIZE} (no overflow); 4 in 5 requests list active policies (page 1-30 of 20), 1 in 5 file a claim; \
             {} cores.",
            duration.as_secs(),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        ),
        String::new(),
        "| backend | server | req/s | list p50 / p99 ms | create p50 / p99 ms | lists / creates | errors | peak pool checkout |".into(),
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |".into(),
    ];
    for backend in &backends {
        let (url, admin_url) = match backend.as_str() {
            "sqlite" => {
                let dir = std::env::temp_dir().join(format!("protect-load-{}", std::process::id()));
                std::fs::create_dir_all(&dir)?;
                (format!("sqlite:///{}?begin=immediate", dir.join("load.db").display()), None)
            }
            "postgres" => {
                let server = std::env::var("BENCH_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".into());
                let base = server
                    .rsplit_once('/')
                    .map_or(server.as_str(), |(b, _)| b)
                    .to_string();
                (format!("{base}/{DB_NAME}"), Some(server))
            }
            "mysql" => {
                let server = std::env::var("BENCH_MYSQL_URL")
                    .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
                let base = server
                    .rsplit_once('/')
                    .map_or(server.as_str(), |(b, _)| b)
                    .to_string();
                (format!("{base}/{DB_NAME}"), Some(server))
            }
            other => return Err(format!("unknown backend {other:?}").into()),
        };
        if let Some(a) = &admin_url {
            let force = if backend == "postgres" {
                " WITH (FORCE)"
            } else {
                ""
            };
            admin(a, &format!("DROP DATABASE IF EXISTS {DB_NAME}{force}")).await?;
            admin(a, &format!("CREATE DATABASE {DB_NAME}")).await?;
        }
        eprintln!("{backend}: migrating and seeding");
        prepare(&url).await?;
        let mut targets = vec![protect_target("Protect (aludel-axum)", &url).await?];
        if backend == "postgres" {
            let policies = targets[0].policies.clone();
            targets.push(raw_target(&url, policies).await?);
        }
        for t in &targets {
            eprintln!("{backend}: {} warming up", t.name);
            drive(t, Duration::from_secs(1)).await;
            t.peak.store(0, Ordering::Relaxed);
            eprintln!("{backend}: {} for {} s", t.name, duration.as_secs());
            let s = drive(t, duration).await;
            if let Some(e) = &s.first_error {
                eprintln!("{backend}: {}: first error: {e}", t.name);
            }
            lines.push(row(backend, t, &s));
            t.server.abort();
        }
        if let Some(a) = &admin_url {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let force = if backend == "postgres" {
                " WITH (FORCE)"
            } else {
                ""
            };
            admin(a, &format!("DROP DATABASE IF EXISTS {DB_NAME}{force}")).await?;
        } else if let Some(path) = url.strip_prefix("sqlite:///") {
            let _ = std::fs::remove_dir_all(std::path::Path::new(path).parent().unwrap());
        }
    }
    let report = lines.join("\n") + "\n";
    println!("{report}");
    Ok(())
}
