//! SeaORM as a peer contender of Aludel's benchmark: every workload of
//! `bench/peers/README.md`, run through SeaORM's own APIs on the database the
//! runner created and seeded, one JSON line per (workload, n) on stdout.

mod entities;

use std::cell::Cell;
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use futures_util::TryStreamExt;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ColumnTrait, ConnectOptions, Database, DatabaseConnection, DbBackend, EntityTrait, LoaderTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use entities::{comment, post, stream_row, user};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const CONTENDER: &str = "seaorm";

/// The workloads and their sizes, in the README's order.
const WORKLOADS: &[(&str, &[usize])] = &[
    ("load_users", &[1, 100, 10_000]),
    ("users_join_posts", &[1, 100, 1_000]),
    ("insert_users", &[1, 100, 1_000]),
    ("eager_load", &[100]),
    ("pk_lookup", &[1]),
    ("unit_of_work", &[1_000]),
    ("stream_rows", &[1_000_000]),
];

/// Seeded row counts (see ../schema/*.sql).
const SEEDED_USERS: i64 = 10_000;
const STREAM_ROWS: u64 = 1_000_000;
/// Sum of `a = id % 1000` over ids 1..=1 000 000.
const STREAM_SUM: i64 = 499_500_000;

/// unit_of_work: users created per op, and posts per user.
const UOW_USERS: usize = 1_000;
const UOW_POSTS_PER_USER: usize = 5;
/// Marks the rows unit_of_work inserts, so its cleanup deletes only those.
const UOW_EMAIL_PREFIX: &str = "seaorm-uow-";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    fn parse(s: &str) -> Option<Backend> {
        match s {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            "mysql" | "mariadb" => Some(Backend::Mysql),
            _ => None,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }

    fn sea_orm(self) -> DbBackend {
        match self {
            Backend::Sqlite => DbBackend::Sqlite,
            Backend::Postgres => DbBackend::Postgres,
            Backend::Mysql => DbBackend::MySql,
        }
    }
}

struct Args {
    backend: Backend,
    url: String,
    quick: bool,
    workloads: Vec<String>,
}

impl Args {
    fn parse() -> Res<Args> {
        let mut backend = None;
        let mut url = None;
        let mut quick = false;
        let mut workloads = Vec::new();
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--backend" => {
                    let v = it.next().ok_or("--backend needs a value")?;
                    backend =
                        Some(Backend::parse(&v).ok_or_else(|| format!("unknown backend {v:?}"))?);
                }
                "--url" => url = Some(it.next().ok_or("--url needs a value")?),
                "--quick" => quick = true,
                "--workload" => workloads.push(it.next().ok_or("--workload needs a value")?),
                other => return Err(format!("unknown argument {other:?}").into()),
            }
        }
        Ok(Args {
            backend: backend.ok_or("--backend is required")?,
            url: url.ok_or("--url is required")?,
            quick,
            workloads,
        })
    }

    fn wants(&self, workload: &str) -> bool {
        self.workloads.is_empty() || self.workloads.iter().any(|w| w == workload)
    }
}

/// The runner passes `sqlite:///abs/path.db`; sqlx reads that as the file
/// `/abs/path.db` and by default would create it when missing (`mode=rwc`):
/// ask for `mode=rw` so a wrong path fails instead of benchmarking an empty
/// new database.
fn connection_url(backend: Backend, url: &str) -> String {
    if backend == Backend::Sqlite && !url.contains('?') {
        format!("{url}?mode=rw")
    } else {
        url.to_string()
    }
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Res<()> {
    if ok {
        Ok(())
    } else {
        Err(what().into())
    }
}

fn created_at(i: i64) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("valid date")
        + TimeDelta::seconds(i)
}

// ---------------------------------------------------------------- timing

/// (samples, time budget of one sample) per the README.
fn plan(quick: bool) -> (usize, Duration) {
    if quick {
        (3, Duration::from_millis(100))
    } else {
        (7, Duration::from_millis(500))
    }
}

const MAX_RUNS_PER_SAMPLE: u32 = 10_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One warm-up run, then the median over the samples of the µs per op; a
/// sample repeats the op until its budget passed or 10 000 runs.
async fn measure<F, Fut>(quick: bool, mut op: F) -> Res<f64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<()>>,
{
    let (samples, budget) = plan(quick);
    op().await?;
    let mut per_op = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let mut runs = 0u32;
        loop {
            op().await?;
            runs += 1;
            if runs >= MAX_RUNS_PER_SAMPLE || start.elapsed() >= budget {
                break;
            }
        }
        per_op.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(runs));
    }
    Ok(median(per_op))
}

/// As [`measure`] for an op that returns the duration of its timed part
/// (unit_of_work: create + commit, not the cleanup that follows).
async fn measure_self_timed<F, Fut>(quick: bool, mut op: F) -> Res<f64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<Duration>>,
{
    let (samples, budget) = plan(quick);
    op().await?;
    let mut per_op = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let mut runs = 0u32;
        let mut timed = Duration::ZERO;
        loop {
            timed += op().await?;
            runs += 1;
            if runs >= MAX_RUNS_PER_SAMPLE || start.elapsed() >= budget {
                break;
            }
        }
        per_op.push(timed.as_secs_f64() * 1e6 / f64::from(runs));
    }
    Ok(median(per_op))
}

/// Peak resident set of this process in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn emit(backend: Backend, workload: &str, n: usize, us_per_op: f64, rss: Option<u64>) {
    let rss = rss
        .map(|r| format!(",\"peak_rss_kib\":{r}"))
        .unwrap_or_default();
    println!(
        "{{\"contender\":\"{CONTENDER}\",\"backend\":\"{}\",\"workload\":\"{workload}\",\"n\":{n},\"us_per_op\":{us_per_op:.3}{rss}}}",
        backend.key()
    );
}

// ------------------------------------------------------------- workloads

/// `SELECT … FROM users ORDER BY id LIMIT n` into `Vec<user::Model>`.
async fn load_users(db: &DatabaseConnection, n: usize) -> Res<()> {
    let users: Vec<user::Model> = user::Entity::find()
        .order_by_asc(user::Column::Id)
        .limit(n as u64)
        .all(db)
        .await?;
    ensure(
        users.len() == n && users[0].id == 1 && users[n - 1].id == n as i64,
        || format!("load_users: got {} users for n = {n}", users.len()),
    )?;
    std::hint::black_box(users);
    Ok(())
}

/// Users `id <= n` LEFT JOIN posts, ordered, as `(User, Option<Post>)`.
async fn users_join_posts(db: &DatabaseConnection, n: usize) -> Res<()> {
    let rows: Vec<(user::Model, Option<post::Model>)> = user::Entity::find()
        .find_also_related(post::Entity)
        .filter(user::Column::Id.lte(n as i64))
        .order_by_asc(user::Column::Id)
        .order_by_asc(post::Column::Id)
        .all(db)
        .await?;
    ensure(
        rows.len() == 10 * n
            && rows
                .iter()
                .all(|(u, p)| p.as_ref().is_some_and(|p| p.user_id == u.id)),
        || format!("users_join_posts: got {} rows for n = {n}", rows.len()),
    )?;
    std::hint::black_box(rows);
    Ok(())
}

fn new_user(name: String, email: String, i: usize) -> user::ActiveModel {
    user::ActiveModel {
        id: NotSet,
        name: Set(name),
        email: Set(email),
        age: Set(18 + (i % 60) as i32),
        created_at: Set(created_at(i as i64)),
    }
}

/// `insert_many` of n user ActiveModels in a transaction, rolled back.
async fn insert_users(db: &DatabaseConnection, n: usize) -> Res<()> {
    let txn = db.begin().await?;
    let users = (0..n).map(|i| {
        new_user(
            format!("seaorm insert {i}"),
            format!("seaorm-insert-{i}@example.com"),
            i,
        )
    });
    let inserted = user::Entity::insert_many(users)
        .exec_without_returning(&txn)
        .await?;
    txn.rollback().await?;
    ensure(inserted == n as u64, || {
        format!("insert_users: {inserted} rows inserted for n = {n}")
    })
}

type Eager = Vec<(user::Model, Vec<(post::Model, Vec<comment::Model>)>)>;

/// Users `id <= 100`, then their posts and the posts' comments with
/// `LoaderTrait::load_many` (one `IN` query per level), grouped.
async fn eager_load(db: &DatabaseConnection, n: usize) -> Res<()> {
    let users: Vec<user::Model> = user::Entity::find()
        .filter(user::Column::Id.lte(n as i64))
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?;
    let posts: Vec<Vec<post::Model>> = users
        .load_many(post::Entity::find().order_by_asc(post::Column::Id), db)
        .await?;
    let per_user: Vec<usize> = posts.iter().map(Vec::len).collect();
    let posts: Vec<post::Model> = posts.into_iter().flatten().collect();
    let comments: Vec<Vec<comment::Model>> = posts
        .load_many(
            comment::Entity::find().order_by_asc(comment::Column::Id),
            db,
        )
        .await?;
    let mut with_comments = posts.into_iter().zip(comments);
    let tree: Eager = users
        .into_iter()
        .zip(per_user)
        .map(|(u, k)| (u, with_comments.by_ref().take(k).collect()))
        .collect();
    ensure(
        tree.len() == n
            && tree.iter().all(|(u, ps)| {
                ps.len() == 10
                    && ps.iter().all(|(p, cs)| {
                        p.user_id == u.id && cs.len() == 10 && cs.iter().all(|c| c.post_id == p.id)
                    })
            }),
        || format!("eager_load: wrong tree for n = {n} ({} users)", tree.len()),
    )?;
    std::hint::black_box(tree);
    Ok(())
}

/// `find_by_id` for id `(i % 10 000) + 1`.
async fn pk_lookup(db: &DatabaseConnection, i: u64) -> Res<()> {
    let id = (i % SEEDED_USERS as u64) as i64 + 1;
    let user = user::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| format!("pk_lookup: no user {id}"))?;
    ensure(user.id == id, || {
        format!("pk_lookup: asked {id}, got {}", user.id)
    })?;
    std::hint::black_box(user);
    Ok(())
}

/// Create 1 000 users (ActiveModels, `insert_many`), get their generated
/// ids, create 5 posts each (`insert_many`), commit. Returns the time of
/// that part; then deletes what it inserted, untimed.
async fn unit_of_work(db: &DatabaseConnection, backend: Backend) -> Res<Duration> {
    let start = Instant::now();
    let txn = db.begin().await?;
    let users = (0..UOW_USERS).map(|i| {
        new_user(
            format!("seaorm uow {i}"),
            format!("{UOW_EMAIL_PREFIX}{i}@example.com"),
            i,
        )
    });
    let ids: Vec<i64> = match backend {
        // No RETURNING on MySQL: SeaORM's `exec` reports the driver's
        // last_insert_id, which for a multi-row INSERT is the id of its first
        // row; InnoDB gives a simple multi-row INSERT consecutive ids (the
        // cleanup below checks that the ids were right).
        Backend::Mysql => {
            let first = user::Entity::insert_many(users)
                .exec(&txn)
                .await?
                .last_insert_id
                .ok_or("unit_of_work: no last_insert_id")?;
            (first..first + UOW_USERS as i64).collect()
        }
        // INSERT … RETURNING id; ids grow in insertion order, and sorting
        // them does not rely on the order RETURNING gives the rows in.
        Backend::Postgres | Backend::Sqlite => {
            let mut ids = user::Entity::insert_many(users)
                .exec_with_returning_keys(&txn)
                .await?;
            ids.sort_unstable();
            ids
        }
    };
    ensure(ids.len() == UOW_USERS, || {
        format!("unit_of_work: {} user ids", ids.len())
    })?;
    let posts = ids.iter().flat_map(|&user_id| {
        (0..UOW_POSTS_PER_USER).map(move |k| post::ActiveModel {
            id: NotSet,
            user_id: Set(user_id),
            title: Set(format!("seaorm uow post {k}")),
        })
    });
    let inserted = post::Entity::insert_many(posts)
        .exec_without_returning(&txn)
        .await?;
    txn.commit().await?;
    let elapsed = start.elapsed();

    ensure(inserted == (UOW_USERS * UOW_POSTS_PER_USER) as u64, || {
        format!("unit_of_work: {inserted} posts inserted")
    })?;
    uow_cleanup(db, &ids).await?;
    Ok(elapsed)
}

/// Delete the posts and users one unit_of_work committed, checking that the
/// ids it computed were exactly its own rows.
async fn uow_cleanup(db: &DatabaseConnection, ids: &[i64]) -> Res<()> {
    let posts = post::Entity::delete_many()
        .filter(post::Column::UserId.is_in(ids.iter().copied()))
        .exec(db)
        .await?
        .rows_affected;
    let users = user::Entity::delete_many()
        .filter(user::Column::Id.is_in(ids.iter().copied()))
        .filter(user::Column::Email.starts_with(UOW_EMAIL_PREFIX))
        .exec(db)
        .await?
        .rows_affected;
    ensure(
        posts == (UOW_USERS * UOW_POSTS_PER_USER) as u64 && users == UOW_USERS as u64,
        || format!("unit_of_work cleanup: deleted {posts} posts and {users} users"),
    )
}

/// `Entity::find().stream(db)` over all of stream_rows, summing `a`.
async fn stream_rows(db: &DatabaseConnection) -> Res<()> {
    let stream = stream_row::Entity::find().stream(db).await?;
    let mut stream = std::pin::pin!(stream);
    let (mut count, mut sum) = (0u64, 0i64);
    while let Some(row) = stream.try_next().await? {
        sum += i64::from(row.a);
        count += 1;
    }
    ensure(count == STREAM_ROWS && sum == STREAM_SUM, || {
        format!("stream_rows: {count} rows, sum {sum}")
    })
}

// ------------------------------------------------------------------ main

async fn run_workload(
    db: &DatabaseConnection,
    args: &Args,
    workload: &str,
    n: usize,
) -> Res<Option<(f64, Option<u64>)>> {
    let quick = args.quick;
    let us = match workload {
        "load_users" => measure(quick, || load_users(db, n)).await?,
        "users_join_posts" => measure(quick, || users_join_posts(db, n)).await?,
        "insert_users" => measure(quick, || insert_users(db, n)).await?,
        "eager_load" => measure(quick, || eager_load(db, n)).await?,
        "pk_lookup" => {
            let i = Cell::new(0u64);
            measure(quick, || {
                let k = i.get();
                i.set(k + 1);
                pk_lookup(db, k)
            })
            .await?
        }
        "unit_of_work" => measure_self_timed(quick, || unit_of_work(db, args.backend)).await?,
        "stream_rows" => {
            // The table exists only when the runner seeded it.
            if let Err(e) = stream_row::Entity::find().limit(1).all(db).await {
                eprintln!("seaorm: stream_rows skipped: table stream_rows not readable ({e})");
                return Ok(None);
            }
            let us = measure(quick, || stream_rows(db)).await?;
            return Ok(Some((us, peak_rss_kib())));
        }
        other => return Err(format!("no workload {other}").into()),
    };
    Ok(Some((us, None)))
}

async fn run() -> Res<()> {
    let args = Args::parse()?;
    for w in &args.workloads {
        if !WORKLOADS.iter().any(|(name, _)| name == w) {
            eprintln!("seaorm: unknown workload {w:?}, skipped");
        }
    }

    let mut opt = ConnectOptions::new(connection_url(args.backend, &args.url));
    // Pool of 5, no ping on checkout (as Aludel's and Diesel's pools here:
    // every contender pays the same round trips); everything else is
    // SeaORM's default (sqlx's per-connection statement cache) but for SQL
    // statement logging, off as there is no logger to print it.
    opt.max_connections(5)
        .test_before_acquire(false)
        .sqlx_logging(false);
    let db = Database::connect(opt).await?;
    ensure(db.get_database_backend() == args.backend.sea_orm(), || {
        format!(
            "--backend {} but the URL is for {:?}",
            args.backend.key(),
            db.get_database_backend()
        )
    })?;

    for &(workload, sizes) in WORKLOADS {
        if !args.wants(workload) {
            continue;
        }
        for &n in sizes {
            eprintln!("seaorm: {} {workload} n={n}", args.backend.key());
            let result = run_workload(&db, &args, workload, n)
                .await
                .map_err(|e| format!("{workload} (n = {n}): {e}"))?;
            if let Some((us, rss)) = result {
                emit(args.backend, workload, n, us, rss);
            }
        }
    }
    db.close().await?;
    Ok(())
}

#[tokio::main]
async fn main() {
    eprintln!(
        "versions: {}, {}",
        env!("PEER_CRATE_VERSIONS"),
        env!("PEER_RUSTC_VERSION")
    );
    if let Err(e) = run().await {
        eprintln!("seaorm: error: {e}");
        std::process::exit(1);
    }
}
