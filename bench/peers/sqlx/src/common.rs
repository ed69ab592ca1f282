//! What the three backends share: the row structs (decoded by sqlx's
//! `FromRow` derive), the generated values of the write workloads, the
//! eager grouping, the timing loop of bench/peers/README.md, and the
//! workloads whose code is the same on every backend apart from the SQL
//! placeholders (`shared_workloads!`).

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The workloads and their sizes, in the README's order.
pub const WORKLOADS: &[(&str, &[usize])] = &[
    ("load_users", &[1, 100, 10_000]),
    ("users_join_posts", &[1, 100, 1_000]),
    ("insert_users", &[1, 100, 1_000]),
    ("eager_load", &[100]),
    ("pk_lookup", &[1]),
    ("unit_of_work", &[1_000]),
    ("stream_rows", &[1_000_000]),
];

/// Rows of the seeded `users` table (pk_lookup cycles through them).
pub const SEED_USERS: i64 = 10_000;
/// eager_load's shape: 100 users, 10 posts each, 10 comments per post.
pub const EAGER_USERS: usize = 100;
pub const EAGER_POSTS: usize = 1_000;
pub const EAGER_COMMENTS: usize = 10_000;
/// unit_of_work: 1 000 users, 5 posts each, posts inserted 1 000 rows per
/// statement.
pub const UOW_USERS: usize = 1_000;
pub const UOW_POSTS_PER_USER: usize = 5;
pub const UOW_POST_CHUNK: usize = 1_000;
/// stream_rows: 1 000 000 rows, `a = id % 1000`.
pub const STREAM_ROWS: usize = 1_000_000;
pub const STREAM_SUM_A: i64 = 1_000 * (999 * 1_000 / 2);

/// A `users` row.
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(dead_code)] // read only through black_box
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub age: i32,
    pub created_at: NaiveDateTime,
}

/// A `posts` row.
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(dead_code)] // read only through black_box
pub struct Post {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
}

/// A `comments` row.
#[derive(Debug, Clone, sqlx::FromRow)]
#[allow(dead_code)] // read only through black_box
pub struct Comment {
    pub id: i64,
    pub post_id: i64,
    pub body: String,
}

/// One row of `users LEFT JOIN posts`: the user's columns, then the post's
/// under aliases, `None` when the user has no post.
#[derive(Debug, sqlx::FromRow)]
pub struct UserPostRow {
    #[sqlx(flatten)]
    pub user: User,
    pub post_id: Option<i64>,
    pub post_user_id: Option<i64>,
    pub post_title: Option<String>,
}

impl UserPostRow {
    pub fn split(self) -> (User, Option<Post>) {
        let post = match (self.post_id, self.post_user_id, self.post_title) {
            (Some(id), Some(user_id), Some(title)) => Some(Post { id, user_id, title }),
            _ => None,
        };
        (self.user, post)
    }
}

/// A `stream_rows` row.
#[derive(Debug, sqlx::FromRow)]
#[allow(dead_code)] // read only through black_box
pub struct StreamRow {
    pub id: i64,
    pub a: i32,
    pub b: String,
}

/// What eager_load builds.
pub type Eager = Vec<(User, Vec<(Post, Vec<Comment>)>)>;

/// The values of a user to insert (generated before timing).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub age: i32,
    pub created_at: NaiveDateTime,
}

/// `n` new users: `new user {i}`, `new{i}@example.com`, …
pub fn new_users(n: usize) -> Vec<NewUser> {
    let base = chrono::NaiveDate::from_ymd_opt(2024, 6, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a valid date");
    (1..=n)
        .map(|i| NewUser {
            name: format!("new user {i}"),
            email: format!("new{i}@example.com"),
            age: 18 + (i % 60) as i32,
            created_at: base + chrono::Duration::seconds(i as i64),
        })
        .collect()
}

/// The post titles of one unit of work (generated before timing).
pub fn uow_titles() -> Vec<String> {
    (1..=UOW_USERS * UOW_POSTS_PER_USER)
        .map(|k| format!("new post {k}"))
        .collect()
}

/// Rows an op must have seen; a wrong query fails loudly.
pub fn expect_rows(what: &str, got: usize, want: usize) -> Res<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("sqlx {what}: {got} rows, expected {want}").into())
    }
}

/// Group the three queries' rows: posts under their user, comments under
/// their post, in query order (a HashMap from id to position).
pub fn group(users: Vec<User>, posts: Vec<Post>, comments: Vec<Comment>) -> Res<Eager> {
    expect_rows("eager_load users", users.len(), EAGER_USERS)?;
    expect_rows("eager_load posts", posts.len(), EAGER_POSTS)?;
    expect_rows("eager_load comments", comments.len(), EAGER_COMMENTS)?;
    let mut user_at = HashMap::with_capacity(users.len());
    let mut out: Eager = Vec::with_capacity(users.len());
    for u in users {
        user_at.insert(u.id, out.len());
        out.push((u, Vec::new()));
    }
    let mut post_at = HashMap::with_capacity(posts.len());
    for p in posts {
        let ui = *user_at
            .get(&p.user_id)
            .ok_or_else(|| format!("post {} of an unloaded user {}", p.id, p.user_id))?;
        let list = &mut out[ui].1;
        post_at.insert(p.id, (ui, list.len()));
        list.push((p, Vec::new()));
    }
    for c in comments {
        let (ui, pi) = *post_at
            .get(&c.post_id)
            .ok_or_else(|| format!("comment {} of an unloaded post {}", c.id, c.post_id))?;
        out[ui].1[pi].1.push(c);
    }
    Ok(out)
}

/// Samples, time per sample, warm-up time.
fn settings(quick: bool) -> (usize, Duration, Duration) {
    if quick {
        (3, Duration::from_millis(100), Duration::from_millis(50))
    } else {
        (7, Duration::from_millis(500), Duration::from_millis(200))
    }
}

const MAX_RUNS: u32 = 10_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// The README's timing: a warm-up (the op runs for 200 ms, 50 ms with
/// `--quick`, and at least twice, so the pooled connections have prepared
/// their statements), then the median of 7 samples (3); a sample repeats
/// the op until 0.5 s (0.1 s) passed or 10 000 runs; µs per op.
pub async fn measure<F, Fut>(quick: bool, mut op: F) -> Res<f64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<()>>,
{
    let (samples, budget, warmup) = settings(quick);
    let start = Instant::now();
    let mut runs = 0;
    while runs < 2 || start.elapsed() < warmup {
        op().await?;
        runs += 1;
    }
    let mut per = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let mut runs = 0u32;
        while runs == 0 || (runs < MAX_RUNS && start.elapsed() < budget) {
            op().await?;
            runs += 1;
        }
        per.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(runs));
    }
    Ok(median(per))
}

/// As [`measure`], for an op that times itself: it returns the µs of the
/// part that counts (unit_of_work: create + commit, not the cleanup). A
/// sample still ends once 0.5 s (0.1 s) of wall time passed.
pub async fn measure_timed<F, Fut>(quick: bool, mut op: F) -> Res<f64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<f64>>,
{
    let (samples, budget, warmup) = settings(quick);
    let start = Instant::now();
    let mut runs = 0;
    while runs < 2 || start.elapsed() < warmup {
        op().await?;
        runs += 1;
    }
    let mut per = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let (mut runs, mut total) = (0u32, 0.0);
        while runs == 0 || (runs < MAX_RUNS && start.elapsed() < budget) {
            total += op().await?;
            runs += 1;
        }
        per.push(total / f64::from(runs));
    }
    Ok(median(per))
}

/// The process's peak resident set in KiB: `getrusage` `ru_maxrss` (KiB on
/// Linux), else `VmHWM` from /proc/self/status.
pub fn peak_rss_kib() -> Option<u64> {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0 && usage.ru_maxrss > 0 {
        return Some(usage.ru_maxrss as u64);
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Print one result line on stdout (the runner reads it).
pub fn emit(backend: &str, workload: &str, n: usize, us_per_op: f64, rss: Option<u64>) {
    let rss = rss
        .map(|r| format!(",\"peak_rss_kib\":{r}"))
        .unwrap_or_default();
    println!(
        "{{\"contender\":\"sqlx\",\"backend\":\"{backend}\",\"workload\":\"{workload}\",\
         \"n\":{n},\"us_per_op\":{us_per_op:.3}{rss}}}"
    );
}

/// The workloads whose code is the same on every backend but for the
/// placeholder (`$1` or `?`), expanded into each backend's module, which
/// supplies `eager_load`, `unit_of_work` and `has_stream_table`. Also the
/// loop over the asked workloads.
macro_rules! shared_workloads {
    ($db:ty, $p1:literal) => {
        use std::cell::Cell;
        use std::hint::black_box;

        use futures::TryStreamExt;
        use sqlx::{Pool, QueryBuilder};

        use crate::common::{
            emit, expect_rows, measure, measure_timed, new_users, peak_rss_kib, uow_titles,
            NewUser, Res, StreamRow, User, UserPostRow, SEED_USERS, STREAM_ROWS, STREAM_SUM_A,
            UOW_POSTS_PER_USER, UOW_POST_CHUNK, UOW_USERS, WORKLOADS,
        };
        use crate::Args;

        type Db = $db;

        /// `SELECT … ORDER BY id LIMIT n` into `Vec<User>`.
        async fn load_users(pool: &Pool<Db>, n: usize) -> Res<Vec<User>> {
            let users = sqlx::query_as::<_, User>(concat!(
                "SELECT id, name, email, age, created_at FROM users ORDER BY id LIMIT ",
                $p1
            ))
            .bind(n as i64)
            .fetch_all(pool)
            .await?;
            expect_rows("load_users", users.len(), n)?;
            Ok(users)
        }

        /// Users `id <= n` LEFT JOIN their posts, into `(User, Option<Post>)`.
        async fn users_join_posts(
            pool: &Pool<Db>,
            n: usize,
        ) -> Res<Vec<(User, Option<crate::common::Post>)>> {
            let rows: Vec<(User, Option<crate::common::Post>)> =
                sqlx::query_as::<_, UserPostRow>(concat!(
                    "SELECT u.id, u.name, u.email, u.age, u.created_at, ",
                    "p.id AS post_id, p.user_id AS post_user_id, p.title AS post_title ",
                    "FROM users u LEFT JOIN posts p ON p.user_id = u.id ",
                    "WHERE u.id <= ",
                    $p1,
                    " ORDER BY u.id, p.id"
                ))
                .bind(n as i64)
                .fetch_all(pool)
                .await?
                .into_iter()
                .map(UserPostRow::split)
                .collect();
            expect_rows("users_join_posts", rows.len(), 10 * n)?;
            if rows.iter().any(|(_, p)| p.is_none()) {
                return Err("sqlx users_join_posts: a user without posts".into());
            }
            Ok(rows)
        }

        /// One user by primary key.
        async fn pk_lookup(pool: &Pool<Db>, id: i64) -> Res<User> {
            let user = sqlx::query_as::<_, User>(concat!(
                "SELECT id, name, email, age, created_at FROM users WHERE id = ",
                $p1
            ))
            .bind(id)
            .fetch_one(pool)
            .await?;
            if user.id != id {
                return Err(format!("sqlx pk_lookup: asked {id}, got {}", user.id).into());
            }
            Ok(user)
        }

        /// `INSERT INTO users (…) VALUES (…), (…), …` with every value
        /// bound (`QueryBuilder::push_values`), ready to run.
        fn insert_users_builder(users: &[NewUser]) -> QueryBuilder<Db> {
            let mut qb =
                QueryBuilder::<Db>::new("INSERT INTO users (name, email, age, created_at) ");
            qb.push_values(users, |mut row, u| {
                row.push_bind(u.name.as_str())
                    .push_bind(u.email.as_str())
                    .push_bind(u.age)
                    .push_bind(u.created_at);
            });
            qb
        }

        /// n users in one multi-row INSERT inside a transaction that is
        /// rolled back.
        async fn insert_users(pool: &Pool<Db>, users: &[NewUser]) -> Res<()> {
            let mut tx = pool.begin().await?;
            let done = insert_users_builder(users)
                .build()
                .execute(&mut *tx)
                .await?;
            expect_rows("insert_users", done.rows_affected() as usize, users.len())?;
            tx.rollback().await?;
            Ok(())
        }

        /// unit_of_work's posts: 5 per user id, 1 000 rows per INSERT.
        async fn insert_uow_posts(
            tx: &mut sqlx::Transaction<'static, Db>,
            user_ids: &[i64],
            titles: &[String],
        ) -> Res<()> {
            let post_user: Vec<i64> = user_ids
                .iter()
                .flat_map(|&id| std::iter::repeat_n(id, UOW_POSTS_PER_USER))
                .collect();
            expect_rows("unit_of_work posts", post_user.len(), titles.len())?;
            for (uids, titles) in post_user
                .chunks(UOW_POST_CHUNK)
                .zip(titles.chunks(UOW_POST_CHUNK))
            {
                let mut qb = QueryBuilder::<Db>::new("INSERT INTO posts (user_id, title) ");
                qb.push_values(uids.iter().zip(titles), |mut row, (uid, title)| {
                    row.push_bind(*uid).push_bind(title.as_str());
                });
                let done = qb.build().execute(&mut **tx).await?;
                expect_rows("unit_of_work posts", done.rows_affected() as usize, uids.len())?;
            }
            Ok(())
        }

        /// Every row of stream_rows through `fetch` (a stream), summing `a`.
        async fn stream_rows(pool: &Pool<Db>) -> Res<()> {
            let mut rows = sqlx::query_as::<_, StreamRow>("SELECT id, a, b FROM stream_rows")
                .fetch(pool);
            let (mut count, mut sum) = (0usize, 0i64);
            while let Some(row) = rows.try_next().await? {
                count += 1;
                sum += i64::from(row.a);
                black_box(&row);
            }
            expect_rows("stream_rows", count, STREAM_ROWS)?;
            if sum != STREAM_SUM_A {
                let e = format!("sqlx stream_rows: sum of a {sum}, expected {STREAM_SUM_A}");
                return Err(e.into());
            }
            Ok(())
        }

        /// Open all of the pool's connections before timing.
        async fn fill_pool(pool: &Pool<Db>) -> Res<()> {
            let mut held = Vec::new();
            for _ in 0..pool.options().get_max_connections() {
                held.push(pool.acquire().await?);
            }
            drop(held);
            Ok(())
        }

        /// Run the asked workloads, printing one result line each.
        pub async fn run(pool: &Pool<Db>, args: &Args, backend: &str) -> Res<()> {
            fill_pool(pool).await?;
            let quick = args.quick;
            for &(name, sizes) in WORKLOADS {
                if !args.wants(name) {
                    continue;
                }
                for &n in sizes {
                    let mut rss = None;
                    let us = match name {
                        "load_users" => {
                            measure(quick, || async move {
                                black_box(load_users(pool, n).await?);
                                Ok(())
                            })
                            .await?
                        }
                        "users_join_posts" => {
                            measure(quick, || async move {
                                black_box(users_join_posts(pool, n).await?);
                                Ok(())
                            })
                            .await?
                        }
                        "insert_users" => {
                            let users = new_users(n);
                            let users = &users;
                            measure(quick, || async move { insert_users(pool, users).await })
                                .await?
                        }
                        "eager_load" => {
                            measure(quick, || async move {
                                black_box(eager_load(pool).await?);
                                Ok(())
                            })
                            .await?
                        }
                        "pk_lookup" => {
                            let i = Cell::new(0i64);
                            measure(quick, || {
                                let id = i.get() % SEED_USERS + 1;
                                i.set(i.get() + 1);
                                async move {
                                    black_box(pk_lookup(pool, id).await?);
                                    Ok(())
                                }
                            })
                            .await?
                        }
                        "unit_of_work" => {
                            let users = new_users(UOW_USERS);
                            let titles = uow_titles();
                            let (users, titles) = (&users, &titles);
                            measure_timed(quick, || async move {
                                unit_of_work(pool, users, titles).await
                            })
                            .await?
                        }
                        "stream_rows" => {
                            if !has_stream_table(pool).await? {
                                eprintln!(
                                    "sqlx {backend}: skipping stream_rows (no stream_rows table; \
                                     the runner creates it only for that workload)"
                                );
                                continue;
                            }
                            let us = measure(quick, || stream_rows(pool)).await?;
                            rss = peak_rss_kib();
                            us
                        }
                        other => return Err(format!("unknown workload {other}").into()),
                    };
                    eprintln!("sqlx {backend} {name} n={n}: {us:.1} µs/op");
                    emit(backend, name, n, us, rss);
                }
            }
            Ok(())
        }
    };
}

pub(crate) use shared_workloads;

/// eager_load by hand with `IN` lists (SQLite, MySQL): users, then their
/// posts (`user_id IN (…)`), then those posts' comments (`post_id IN
/// (…)`), the lists built with `QueryBuilder::separated` and bound, the
/// three queries on one pooled connection.
macro_rules! eager_in_lists {
    () => {
        async fn eager_load(pool: &Pool<Db>) -> Res<crate::common::Eager> {
            use crate::common::{group, Comment, Post, EAGER_USERS};
            let mut conn = pool.acquire().await?;
            let users = sqlx::query_as::<_, User>(
                "SELECT id, name, email, age, created_at FROM users WHERE id <= ? ORDER BY id",
            )
            .bind(EAGER_USERS as i64)
            .fetch_all(&mut *conn)
            .await?;

            let mut qb =
                QueryBuilder::<Db>::new("SELECT id, user_id, title FROM posts WHERE user_id IN (");
            let mut list = qb.separated(", ");
            for u in &users {
                list.push_bind(u.id);
            }
            list.push_unseparated(") ORDER BY id");
            let posts = qb.build_query_as::<Post>().fetch_all(&mut *conn).await?;

            let mut qb = QueryBuilder::<Db>::new(
                "SELECT id, post_id, body FROM comments WHERE post_id IN (",
            );
            let mut list = qb.separated(", ");
            for p in &posts {
                list.push_bind(p.id);
            }
            list.push_unseparated(") ORDER BY id");
            let comments = qb.build_query_as::<Comment>().fetch_all(&mut *conn).await?;

            group(users, posts, comments)
        }
    };
}

pub(crate) use eager_in_lists;
