//! The raw drivers as a peer contender (`--contender raw`): every workload
//! of bench/peers/README.md by hand with rusqlite, tokio-postgres and
//! mysql_async. This is the floor: one connection opened before timing,
//! statements prepared once and reused, rows mapped into plain structs by
//! hand, values always bound.
//!
//! The code per driver lives in `raw_peer/{sqlite,postgres,mysql}.rs`; this
//! file holds what they share: the row structs, the generated values of the
//! write workloads, the SQL text of the multi-row statements, the eager
//! grouping and the loop over the asked workloads.

mod mysql;
mod postgres;
mod sqlite;

use std::cell::Cell;
use std::collections::HashMap;

use chrono::NaiveDateTime;

use crate::harness::Res;
use crate::peer_protocol::{emit, peak_rss_kib, Args, Backend, Line, WORKLOADS};

/// A `users` row.
#[derive(Debug, Clone)]
#[allow(dead_code)] // read only through black_box and Debug
pub(crate) struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub age: i32,
    pub created_at: NaiveDateTime,
}

/// A `posts` row.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub(crate) struct Post {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
}

/// A `comments` row.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub(crate) struct Comment {
    pub id: i64,
    pub post_id: i64,
    pub body: String,
}

/// A `stream_rows` row.
#[derive(Debug)]
#[allow(dead_code)]
pub(crate) struct StreamRow {
    pub id: i64,
    pub a: i32,
    pub b: String,
}

/// What eager_load builds.
pub(crate) type Eager = Vec<(User, Vec<(Post, Vec<Comment>)>)>;

/// The values of a user to insert (generated before timing).
#[derive(Debug, Clone)]
pub(crate) struct NewUser {
    pub name: String,
    pub email: String,
    pub age: i32,
    pub created_at: NaiveDateTime,
}

/// `n` new users: `new user {i}`, `new{i}@example.com`, …
pub(crate) fn new_users(n: usize) -> Vec<NewUser> {
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

/// unit_of_work's sizes: 1 000 users, 5 posts each, posts inserted 1 000
/// rows per statement.
pub(crate) const UOW_USERS: usize = 1_000;
pub(crate) const UOW_POSTS_PER_USER: usize = 5;
pub(crate) const UOW_POST_CHUNK: usize = 1_000;

/// The post titles of one unit of work (generated before timing).
pub(crate) fn uow_titles() -> Vec<String> {
    (1..=UOW_USERS * UOW_POSTS_PER_USER)
        .map(|k| format!("new post {k}"))
        .collect()
}

/// How a driver spells its placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ph {
    /// `?` (SQLite, MySQL).
    Question,
    /// `$1`, `$2`, … (PostgreSQL).
    Dollar,
}

/// `(?, ?), (?, ?), …`: `rows` tuples of `cols` placeholders.
pub(crate) fn tuples(rows: usize, cols: usize, ph: Ph) -> String {
    let mut s = String::with_capacity(rows * cols * 6);
    let mut k = 0;
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            k += 1;
            match ph {
                Ph::Question => s.push('?'),
                Ph::Dollar => {
                    s.push('$');
                    s.push_str(&k.to_string());
                }
            }
        }
        s.push(')');
    }
    s
}

/// `?, ?, …` or `$1, $2, …`: an IN list of `n` placeholders.
pub(crate) fn in_list(n: usize, ph: Ph) -> String {
    (1..=n)
        .map(|i| match ph {
            Ph::Question => "?".to_string(),
            Ph::Dollar => format!("${i}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SQL text every driver shares (placeholders aside).
pub(crate) mod sql {
    use super::{in_list, tuples, Ph};

    pub fn load_users(ph: Ph) -> String {
        let p = if ph == Ph::Dollar { "$1" } else { "?" };
        format!("SELECT id, name, email, age, created_at FROM users ORDER BY id LIMIT {p}")
    }

    pub fn join(ph: Ph) -> String {
        let p = if ph == Ph::Dollar { "$1" } else { "?" };
        format!(
            "SELECT u.id, u.name, u.email, u.age, u.created_at, p.id, p.user_id, p.title \
             FROM users u LEFT JOIN posts p ON p.user_id = u.id \
             WHERE u.id <= {p} ORDER BY u.id, p.id"
        )
    }

    pub fn pk(ph: Ph) -> String {
        let p = if ph == Ph::Dollar { "$1" } else { "?" };
        format!("SELECT id, name, email, age, created_at FROM users WHERE id = {p}")
    }

    pub fn insert_users(n: usize, ph: Ph) -> String {
        format!(
            "INSERT INTO users (name, email, age, created_at) VALUES {}",
            tuples(n, 4, ph)
        )
    }

    pub fn insert_posts(n: usize, ph: Ph) -> String {
        format!(
            "INSERT INTO posts (user_id, title) VALUES {}",
            tuples(n, 2, ph)
        )
    }

    pub const EAGER_USERS: &str =
        "SELECT id, name, email, age, created_at FROM users WHERE id <= 100 ORDER BY id";

    pub fn eager_posts(n: usize, ph: Ph) -> String {
        format!(
            "SELECT id, user_id, title FROM posts WHERE user_id IN ({}) ORDER BY id",
            in_list(n, ph)
        )
    }

    pub fn eager_comments(n: usize, ph: Ph) -> String {
        format!(
            "SELECT id, post_id, body FROM comments WHERE post_id IN ({}) ORDER BY id",
            in_list(n, ph)
        )
    }

    pub const STREAM: &str = "SELECT id, a, b FROM stream_rows";
}

/// Rows an op must have seen; a wrong query fails loudly.
pub(crate) fn expect_rows(what: &str, got: usize, want: usize) -> Res<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("raw {what}: {got} rows, expected {want}").into())
    }
}

/// The rows of stream_rows.
pub(crate) const STREAM_ROWS: usize = 1_000_000;
/// eager_load's shape: 100 users, 10 posts each, 10 comments per post.
pub(crate) const EAGER_USERS: usize = 100;
pub(crate) const EAGER_POSTS: usize = 1_000;
pub(crate) const EAGER_COMMENTS: usize = 10_000;

/// Group the three queries' rows: posts under their user, comments under
/// their post, keeping the query order (a HashMap from id to index).
pub(crate) fn group(users: Vec<User>, posts: Vec<Post>, comments: Vec<Comment>) -> Res<Eager> {
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
        let posts = &mut out[ui].1;
        post_at.insert(p.id, (ui, posts.len()));
        posts.push((p, Vec::new()));
    }
    for c in comments {
        let (ui, pi) = *post_at
            .get(&c.post_id)
            .ok_or_else(|| format!("comment {} of an unloaded post {}", c.id, c.post_id))?;
        out[ui].1[pi].1.push(c);
    }
    Ok(out)
}

/// A `&mut` an op borrows for the length of one future. `measure` takes an
/// `FnMut` returning a future, and such a future cannot hold a `&mut` into
/// the closure's captures; so the op takes the reference out of the cell
/// and puts it back when done (the timing loop runs one op at a time).
pub(crate) struct Lend<'a, T>(Cell<Option<&'a mut T>>);

impl<'a, T> Lend<'a, T> {
    pub fn new(value: &'a mut T) -> Self {
        Lend(Cell::new(Some(value)))
    }

    /// Run `op` on the lent value.
    pub async fn with<R>(&self, op: impl AsyncFnOnce(&mut T) -> R) -> R {
        let value = self.0.take().expect("one op at a time");
        let out = op(&mut *value).await;
        self.0.set(Some(value));
        out
    }
}

/// What one (workload, n) gave: µs per op, and the peak RSS for stream_rows.
pub(crate) struct Measured {
    pub us: f64,
    pub rss: Option<u64>,
}

impl Measured {
    pub fn us(us: f64) -> Option<Measured> {
        Some(Measured { us, rss: None })
    }

    /// For stream_rows: the process's peak RSS once it ran.
    pub fn with_rss(us: f64) -> Option<Measured> {
        Some(Measured {
            us,
            rss: peak_rss_kib(),
        })
    }
}

/// One driver: runs one workload at one n (`None`: skipped, with a line on
/// stderr).
pub(crate) trait Driver {
    async fn workload(&mut self, name: &str, n: usize, quick: bool) -> Res<Option<Measured>>;
}

async fn drive<D: Driver>(driver: &mut D, args: &Args) -> Res<()> {
    for &(name, sizes) in WORKLOADS {
        if !args.wants(name) {
            continue;
        }
        for &n in sizes {
            let Some(m) = driver.workload(name, n, args.quick).await? else {
                continue;
            };
            emit(&Line {
                contender: "raw".into(),
                backend: args.backend.key().into(),
                workload: name.into(),
                n,
                us_per_op: m.us,
                peak_rss_kib: m.rss,
            });
        }
    }
    Ok(())
}

/// Run the asked workloads, printing one result line each.
pub async fn run(args: &Args) -> Res<()> {
    let drivers: Vec<&str> = env!("BENCH_CRATE_VERSIONS")
        .split(", ")
        .filter(|c| !c.starts_with("aludel "))
        .collect();
    eprintln!("versions: {}", drivers.join(", "));
    match args.backend {
        Backend::Sqlite => {
            let path = args
                .url
                .strip_prefix("sqlite://")
                .ok_or_else(|| format!("not a sqlite:// URL: {}", args.url))?;
            // `sqlite:////abs` (SQLAlchemy's spelling) and `sqlite:///abs`
            // both name `/abs`.
            let path = format!("/{}", path.trim_start_matches('/'));
            let mut d = sqlite::Sqlite::open(&path)?;
            drive(&mut d, args).await
        }
        Backend::Postgres => {
            let mut d = postgres::Pg::connect(&args.url).await?;
            drive(&mut d, args).await
        }
        Backend::Mysql => {
            let mut d = mysql::My::connect(&args.url).await?;
            let out = drive(&mut d, args).await;
            d.close().await;
            out
        }
    }
}
