//! Aludel as peer contenders (`--contender aludel-core | aludel-orm`): the
//! workloads of bench/peers/README.md through the expression language and
//! `Connection`s (Core), or through models and a `Session` (ORM). The same
//! code runs on every backend; only the URL differs.

use std::collections::HashMap;
use std::time::Instant;

use aludel::orm::{joined, selectin, Key, Model as _, Session};
use aludel::sql::{delete, select, Expr, Select};
use aludel::{Engine, FromRow, Model, Row, RowPlan};

use crate::harness::Res;
use crate::peer_protocol::{emit, measure, measure_timed, peak_rss_kib, Args, Line, WORKLOADS};

#[derive(Model, Clone, Debug)]
#[aludel(table = "users")]
#[aludel(has_many(posts: PeerPost))]
pub struct PeerUser {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 50)]
    name: String,
    #[aludel(length = 100)]
    email: String,
    age: i32,
    created_at: chrono::NaiveDateTime,
}

#[derive(Model, Clone, Debug)]
#[aludel(table = "posts")]
#[aludel(has_many(comments: PeerComment))]
pub struct PeerPost {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "users.id")]
    user_id: i64,
    #[aludel(length = 100)]
    title: String,
}

#[derive(Model, Clone, Debug)]
#[aludel(table = "comments")]
pub struct PeerComment {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "posts.id")]
    post_id: i64,
    #[aludel(length = 100)]
    body: String,
}

/// The stream_rows table, as a model (ORM streaming).
#[derive(Model, Clone, Debug)]
#[aludel(table = "stream_rows")]
pub struct PeerStreamRow {
    #[aludel(primary_key)]
    id: i64,
    a: i32,
    #[aludel(length = 20)]
    b: String,
}

/// Core's rows: plain structs decoded with `FromRow`.
#[derive(FromRow, Debug)]
#[allow(dead_code)]
struct User {
    id: i64,
    name: String,
    email: String,
    age: i32,
    created_at: chrono::NaiveDateTime,
}

#[derive(FromRow, Debug)]
#[allow(dead_code)]
struct Post {
    id: i64,
    user_id: i64,
    title: String,
}

#[derive(FromRow, Debug)]
#[allow(dead_code)]
struct Comment {
    id: i64,
    post_id: i64,
    body: String,
}

/// A post and its comments, as eager loading groups them.
type PostWithComments = (Post, Vec<Comment>);

fn user_cols() -> Vec<Expr> {
    let t = PeerUser::table();
    PeerUser::column_names().iter().map(|c| t.c(c)).collect()
}

fn check(what: &str, got: usize, want: usize) -> Res<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: {got} rows, expected {want}").into())
    }
}

/// The URL for Aludel: the runner passes `sqlite:////abs/path.db`.
fn engine(args: &Args) -> Res<Engine> {
    Ok(Engine::builder(&args.url)?.pool_size(5).build()?)
}

pub async fn run(args: &Args, orm: bool) -> Res<()> {
    let engine = engine(args)?;
    let contender = if orm { "aludel-orm" } else { "aludel-core" };
    let version_line = format!("versions: {}", env!("BENCH_CRATE_VERSIONS"));
    eprintln!("{version_line}");
    for (workload, sizes) in WORKLOADS {
        if !args.wants(workload) {
            continue;
        }
        for &n in *sizes {
            let mut rss = None;
            let us = match (*workload, orm) {
                ("load_users", false) => measure(args.quick, || load_core(&engine, n)).await?,
                ("load_users", true) => measure(args.quick, || load_orm(&engine, n)).await?,
                ("users_join_posts", false) => {
                    measure(args.quick, || join_core(&engine, n)).await?
                }
                ("users_join_posts", true) => measure(args.quick, || join_orm(&engine, n)).await?,
                // The new rows' data is made before timing, as the raw
                // drivers' and sqlx's contenders do; what is timed includes
                // copying it into the library's values or models.
                ("insert_users", false) => {
                    let users = new_users(n);
                    measure(args.quick, || insert_core(&engine, &users)).await?
                }
                ("insert_users", true) => {
                    let users = new_users(n);
                    measure(args.quick, || insert_orm(&engine, &users)).await?
                }
                ("eager_load", false) => measure(args.quick, || eager_core(&engine)).await?,
                ("eager_load", true) => measure(args.quick, || eager_orm(&engine)).await?,
                ("pk_lookup", _) => {
                    let mut i = 0usize;
                    measure(args.quick, || {
                        i += 1;
                        let id = (i % 10_000) as i64 + 1;
                        let engine = engine.clone();
                        async move {
                            if orm {
                                lookup_orm(&engine, id).await
                            } else {
                                lookup_core(&engine, id).await
                            }
                        }
                    })
                    .await?
                }
                ("unit_of_work", false) => {
                    let (users, titles) = (new_users(1000), uow_titles());
                    measure_timed(args.quick, || uow_core(&engine, &users, &titles)).await?
                }
                ("unit_of_work", true) => {
                    let (users, titles) = (new_users(1000), uow_titles());
                    measure_timed(args.quick, || uow_orm(&engine, &users, &titles)).await?
                }
                ("stream_rows", false) => {
                    if !table_exists(&engine, "stream_rows").await {
                        eprintln!("[{contender}] stream_rows: no stream_rows table; skipped");
                        continue;
                    }
                    // Timed as every contender times it: a warm-up pass,
                    // then the median of the samples.
                    let us = measure(args.quick, || stream_core(&engine)).await?;
                    rss = peak_rss_kib();
                    us
                }
                ("stream_rows", true) => {
                    if !table_exists(&engine, "stream_rows").await {
                        eprintln!("[{contender}] stream_rows: no stream_rows table; skipped");
                        continue;
                    }
                    // Timed as every contender times it: a warm-up pass,
                    // then the median of the samples.
                    let us = measure(args.quick, || stream_orm(&engine)).await?;
                    rss = peak_rss_kib();
                    us
                }
                (other, _) => return Err(format!("unknown workload {other}").into()),
            };
            emit(&Line {
                contender: contender.into(),
                backend: args.backend.key().into(),
                workload: (*workload).into(),
                n,
                us_per_op: us,
                peak_rss_kib: rss,
            });
        }
    }
    engine.dispose();
    Ok(())
}

async fn table_exists(engine: &Engine, name: &str) -> bool {
    engine
        .execute(
            aludel::text(format!("SELECT count(*) FROM {name} WHERE 1 = 0")),
            (),
        )
        .await
        .is_ok()
}

async fn load_core(engine: &Engine, n: usize) -> Res<()> {
    let t = PeerUser::table();
    let stmt = select(user_cols())
        .from(t)
        .order_by([PeerUser::id.asc()])
        .limit(n as u64);
    let users: Vec<User> = engine.execute(&stmt, ()).await?.all_as()?;
    check("load_users", users.len(), n)
}

async fn load_orm(engine: &Engine, n: usize) -> Res<()> {
    let mut s = Session::new(engine);
    let keys = PeerUser::query(&mut s)
        .order_by([PeerUser::id.asc()])
        .limit(n as u64)
        .all()
        .await?;
    check("load_users", keys.len(), n)
}

fn join_stmt(n: usize) -> Select {
    let (ut, pt) = (PeerUser::table(), PeerPost::table());
    let mut cols = user_cols();
    cols.extend(PeerPost::column_names().iter().map(|c| pt.c(c)));
    select(cols)
        .from(ut)
        .left_join_on(pt, PeerPost::user_id.eq(PeerUser::id))
        .filter(PeerUser::id.le(n as i64))
        .order_by([PeerUser::id.asc(), PeerPost::id.asc()])
}

async fn join_core(engine: &Engine, n: usize) -> Res<()> {
    let rows: Vec<Row> = engine.execute(&join_stmt(n), ()).await?.all()?;
    let user_plan = RowPlan::from_positions((0..5).map(Some).collect());
    let post_plan = RowPlan::from_positions((5..8).map(Some).collect());
    let mut out: Vec<(User, Option<Post>)> = Vec::with_capacity(rows.len());
    for mut row in rows {
        let user = User::from_row_planned(&mut row, &user_plan)?;
        let post = if row.value(5)?.is_null() {
            None
        } else {
            Some(Post::from_row_planned(&mut row, &post_plan)?)
        };
        out.push((user, post));
    }
    check("users_join_posts", out.len(), 10 * n)
}

async fn join_orm(engine: &Engine, n: usize) -> Res<()> {
    let mut s = Session::new(engine);
    let users = PeerUser::query(&mut s)
        .filter(PeerUser::id.le(n as i64))
        .order_by([PeerUser::id.asc()])
        .options(joined(PeerUser::posts))
        .all()
        .await?;
    let posts: usize = users
        .iter()
        .map(|&u| s.related(u, PeerUser::posts).map(|p| p.len()))
        .sum::<aludel::Result<usize>>()?;
    check("users_join_posts", posts, 10 * n)
}

/// `n` new users (ids left to the database).
fn new_users(n: usize) -> Vec<PeerUser> {
    let at = chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
        .expect("date")
        .and_hms_opt(0, 0, 0)
        .expect("time");
    (0..n)
        .map(|i| PeerUser {
            id: 0,
            name: format!("new user {i}"),
            email: format!("new{i}@example.com"),
            age: 30,
            created_at: at,
        })
        .collect()
}

/// unit_of_work's post titles, 5 per user.
fn uow_titles() -> Vec<String> {
    (1..=5000).map(|k| format!("new post {k}")).collect()
}

/// The users as plain values (the strings copied), for `insert_many`.
fn user_rows(users: &[PeerUser]) -> impl Iterator<Item = Vec<aludel::Value>> + '_ {
    users.iter().map(|u| {
        vec![
            aludel::Value::from(u.name.clone()),
            aludel::Value::from(u.email.clone()),
            aludel::Value::from(u.age),
            aludel::Value::from(u.created_at),
        ]
    })
}

const USER_COLUMNS: [&str; 4] = ["name", "email", "age", "created_at"];

async fn insert_core(engine: &Engine, users: &[PeerUser]) -> Res<()> {
    let mut conn = engine.connect().await?;
    let done = conn
        .insert_many(PeerUser::table(), &USER_COLUMNS, user_rows(users))
        .await?;
    conn.rollback().await?;
    check("insert_users", done as usize, users.len())
}

async fn insert_orm(engine: &Engine, users: &[PeerUser]) -> Res<()> {
    let mut s = Session::new(engine);
    let keys = s.add_all(users.iter().cloned());
    s.flush().await?;
    s.rollback().await?;
    check("insert_users", keys.len(), users.len())
}

async fn eager_core(engine: &Engine) -> Res<()> {
    let mut conn = engine.connect().await?;
    let (pt, ct) = (PeerPost::table(), PeerComment::table());
    let users: Vec<User> = conn
        .execute(
            &select(user_cols())
                .from(PeerUser::table())
                .filter(PeerUser::id.le(100))
                .order_by([PeerUser::id.asc()]),
            (),
        )
        .await?
        .all_as()?;
    let posts: Vec<Post> = conn
        .execute(
            &select(PeerPost::column_names().iter().map(|c| pt.c(c)))
                .from(pt)
                .filter(PeerPost::user_id.in_(users.iter().map(|u| u.id)))
                .order_by([PeerPost::id.asc()]),
            (),
        )
        .await?
        .all_as()?;
    let comments: Vec<Comment> = conn
        .execute(
            &select(PeerComment::column_names().iter().map(|c| ct.c(c)))
                .from(ct)
                .filter(PeerComment::post_id.in_(posts.iter().map(|p| p.id)))
                .order_by([PeerComment::id.asc()]),
            (),
        )
        .await?
        .all_as()?;
    drop(conn);
    // Group: comments under posts, posts under users.
    let mut by_post: HashMap<i64, Vec<Comment>> = HashMap::new();
    for c in comments {
        by_post.entry(c.post_id).or_default().push(c);
    }
    let mut by_user: HashMap<i64, Vec<PostWithComments>> = HashMap::new();
    for p in posts {
        let cs = by_post.remove(&p.id).unwrap_or_default();
        by_user.entry(p.user_id).or_default().push((p, cs));
    }
    let tree: Vec<(User, Vec<PostWithComments>)> = users
        .into_iter()
        .map(|u| {
            let ps = by_user.remove(&u.id).unwrap_or_default();
            (u, ps)
        })
        .collect();
    let comments: usize = tree
        .iter()
        .flat_map(|(_, ps)| ps.iter().map(|(_, cs)| cs.len()))
        .sum();
    check("eager_load comments", comments, 10_000)
}

async fn eager_orm(engine: &Engine) -> Res<()> {
    let mut s = Session::new(engine);
    let users = PeerUser::query(&mut s)
        .filter(PeerUser::id.le(100))
        .order_by([PeerUser::id.asc()])
        .options(selectin(PeerUser::posts).then(selectin(PeerPost::comments)))
        .all()
        .await?;
    let mut comments = 0;
    for u in users {
        for p in s.related(u, PeerUser::posts)? {
            comments += s.related(p, PeerPost::comments)?.len();
        }
    }
    check("eager_load comments", comments, 10_000)
}

async fn lookup_core(engine: &Engine, id: i64) -> Res<()> {
    let stmt = select(user_cols())
        .from(PeerUser::table())
        .filter(PeerUser::id.eq(id));
    let user: User = engine.execute(&stmt, ()).await?.one_as()?;
    check("pk_lookup", (user.id == id) as usize, 1)
}

async fn lookup_orm(engine: &Engine, id: i64) -> Res<()> {
    let mut s = Session::new(engine);
    let user: Key<PeerUser> = s.get::<PeerUser>(id).await?.ok_or("no such user")?;
    check("pk_lookup", (s[user].id == id) as usize, 1)
}

/// Delete what a unit of work inserted (ids above the seeded 10 000).
async fn cleanup(engine: &Engine) -> Res<()> {
    let mut conn = engine.connect().await?;
    conn.execute(
        &delete(PeerPost::table()).filter(PeerPost::id.gt(10_000)),
        (),
    )
    .await?;
    conn.execute(
        &delete(PeerUser::table()).filter(PeerUser::id.gt(10_000)),
        (),
    )
    .await?;
    conn.commit().await?;
    Ok(())
}

async fn uow_core(engine: &Engine, users: &[PeerUser], titles: &[String]) -> Res<f64> {
    let start = Instant::now();
    let mut conn = engine.connect().await?;
    // One multi-row INSERT … RETURNING id, values bound where they lie.
    let values: Vec<aludel::Value> = user_rows(users).flatten().collect();
    let ids: Vec<i64> = conn
        .execute_insert(
            PeerUser::table(),
            &USER_COLUMNS,
            users.len(),
            &values,
            Some("id"),
        )
        .await?
        .scalars()?;
    let post_user: Vec<i64> = ids
        .iter()
        .flat_map(|&id| std::iter::repeat_n(id, 5))
        .collect();
    let rows = post_user
        .iter()
        .zip(titles)
        .map(|(&id, title)| vec![aludel::Value::from(id), aludel::Value::from(title.clone())]);
    conn.insert_many(PeerPost::table(), &["user_id", "title"], rows)
        .await?;
    conn.commit().await?;
    let us = start.elapsed().as_secs_f64() * 1e6;
    check("unit_of_work users", ids.len(), 1000)?;
    cleanup(engine).await?;
    Ok(us)
}

async fn uow_orm(engine: &Engine, users: &[PeerUser], titles: &[String]) -> Res<f64> {
    let start = Instant::now();
    let mut s = Session::new(engine);
    let mut titles = titles.iter();
    for user in users {
        let u = s.add(user.clone());
        for title in titles.by_ref().take(5) {
            let post = s.add(PeerPost {
                id: 0,
                user_id: 0,
                title: title.clone(),
            });
            s.append(u, PeerUser::posts, post)?;
        }
    }
    s.commit().await?;
    let us = start.elapsed().as_secs_f64() * 1e6;
    drop(s);
    cleanup(engine).await?;
    Ok(us)
}

async fn stream_orm(engine: &Engine) -> Res<()> {
    let mut s = Session::new(engine);
    let mut rows = PeerStreamRow::query(&mut s).stream().await?;
    let (mut sum, mut count) = (0i64, 0usize);
    while let Some(row) = rows.try_next().await? {
        sum += i64::from(row.a);
        count += 1;
    }
    drop(rows);
    std::hint::black_box(sum);
    check("stream_rows", count, 1_000_000)
}

async fn stream_core(engine: &Engine) -> Res<()> {
    let mut conn = engine.connect().await?;
    let mut rows = conn
        .stream(aludel::text("SELECT id, a, b FROM stream_rows"), ())
        .await?;
    let (mut sum, mut count) = (0i64, 0usize);
    while let Some(row) = rows.try_next_as::<(i64, i32, String)>().await? {
        sum += i64::from(row.1);
        count += 1;
    }
    drop(rows);
    std::hint::black_box(sum);
    check("stream_rows", count, 1_000_000)
}
