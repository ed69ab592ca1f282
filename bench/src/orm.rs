//! The ORM beside Aludel Core (which the tables above put within a few
//! percent of the raw drivers): loading N model objects through a Session
//! against decoding N rows into plain structs, and a Session flush of 1 000
//! users with 5 posts each against a hand-written batched insert.

use std::fmt::Write as _;
use std::time::Instant;

use aludel::orm::{Model as _, Session};
use aludel::schema::MetaData;
use aludel::sql::{insert, select, Expr};
use aludel::{Engine, FromRow, Model};

#[derive(Model, Clone, Debug)]
#[aludel(table = "orm_users")]
pub struct OrmUser {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 50)]
    name: String,
    #[aludel(length = 100)]
    email: String,
    age: i32,
}

#[derive(Model, Clone, Debug)]
#[aludel(table = "orm_posts")]
pub struct OrmPost {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "orm_users.id")]
    user_id: i64,
    #[aludel(length = 100)]
    title: String,
}

#[derive(FromRow)]
struct Plain {
    #[allow(dead_code)]
    id: i64,
    #[allow(dead_code)]
    name: String,
    #[allow(dead_code)]
    email: String,
    #[allow(dead_code)]
    age: i32,
}

fn metadata() -> MetaData {
    let mut md = MetaData::new();
    md.add(OrmUser::table().clone()).expect("users");
    md.add(OrmPost::table().clone()).expect("posts");
    md
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

async fn time<F, Fut>(samples: usize, iters: usize, mut f: F) -> aludel::Result<f64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = aludel::Result<()>>,
{
    f().await?; // warm-up
    let mut per = Vec::new();
    for _ in 0..samples {
        let start = Instant::now();
        for _ in 0..iters {
            f().await?;
        }
        per.push(start.elapsed().as_secs_f64() * 1e6 / iters as f64);
    }
    Ok(median(per))
}

async fn seed(engine: &Engine) -> aludel::Result<()> {
    let md = metadata();
    md.drop_all(engine).await?;
    md.create_all(engine).await?;
    let rows = (0..10_000).map(|i| {
        [
            ("name", Expr::from(format!("user{i}"))),
            ("email", Expr::from(format!("user{i}@example.com"))),
            ("age", Expr::from(20 + (i % 50))),
        ]
    });
    let rows: Vec<_> = rows.collect();
    let mut conn = engine.connect().await?;
    for chunk in rows.chunks(1000) {
        conn.execute(&insert(OrmUser::table()).values_many(chunk.to_vec()), ())
            .await?;
    }
    conn.commit().await
}

async fn flush_core(engine: &Engine) -> aludel::Result<()> {
    let mut conn = engine.connect().await?;
    let users = (0..1000).map(|i| {
        [
            ("name", Expr::from(format!("n{i}"))),
            ("email", Expr::from(format!("n{i}@x"))),
            ("age", Expr::from(30)),
        ]
    });
    let ids: Vec<i64> = conn
        .execute(
            &insert(OrmUser::table())
                .values_many(users)
                .returning([OrmUser::table().c("id")]),
            (),
        )
        .await?
        .scalars()?;
    let posts: Vec<_> = ids
        .iter()
        .flat_map(|&id| {
            (0..5).map(move |p| {
                [
                    ("user_id", Expr::from(id)),
                    ("title", Expr::from(format!("p{p}"))),
                ]
            })
        })
        .collect();
    for chunk in posts.chunks(1000) {
        conn.execute(&insert(OrmPost::table()).values_many(chunk.to_vec()), ())
            .await?;
    }
    conn.rollback().await
}

async fn flush_orm(engine: &Engine) -> aludel::Result<()> {
    let mut s = Session::new(engine);
    let users: Vec<_> = (0..1000)
        .map(|i| {
            s.add(OrmUser {
                id: 0,
                name: format!("n{i}"),
                email: format!("n{i}@x"),
                age: 30,
            })
        })
        .collect();
    s.flush().await?;
    for u in users {
        let uid = s[u].id;
        for p in 0..5 {
            s.add(OrmPost {
                id: 0,
                user_id: uid,
                title: format!("p{p}"),
            });
        }
    }
    s.flush().await?;
    s.rollback().await
}

/// The raw driver loading the same rows into plain structs through a
/// prepared statement on one connection it keeps: the floor.
pub(crate) enum Raw {
    Sqlite(rusqlite::Connection),
    Postgres(
        tokio_postgres::Client,
        tokio_postgres::Statement,
        std::collections::HashMap<String, tokio_postgres::Statement>,
    ),
    Mysql(mysql_async::Conn, mysql_async::Statement),
}

const RAW_SELECT: &str = "SELECT id, name, email, age FROM orm_users LIMIT ";

impl Raw {
    pub(crate) async fn connect(url: &str) -> crate::harness::Res<Raw> {
        use mysql_async::prelude::Queryable as _;
        if let Some(path) = url.strip_prefix("sqlite:///") {
            Ok(Raw::Sqlite(rusqlite::Connection::open(path)?))
        } else if url.starts_with("postgresql") {
            let c = crate::postgres::connect(url).await?;
            let st = c.prepare(&format!("{RAW_SELECT}$1")).await?;
            Ok(Raw::Postgres(c, st, Default::default()))
        } else {
            let mut c = crate::mysql::connect(url).await?;
            let st = c.prep(format!("{RAW_SELECT}?")).await?;
            Ok(Raw::Mysql(c, st))
        }
    }

    async fn load(&mut self, n: usize) -> crate::harness::Res<Vec<Plain>> {
        use mysql_async::prelude::Queryable as _;
        Ok(match self {
            Raw::Sqlite(c) => {
                let mut st = c.prepare_cached(&format!("{RAW_SELECT}?1"))?;
                let rows = st.query_map([n as i64], |r| {
                    Ok(Plain {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        email: r.get(2)?,
                        age: r.get(3)?,
                    })
                })?;
                rows.collect::<Result<_, _>>()?
            }
            Raw::Postgres(c, st, _) => c
                .query(&*st, &[&(n as i64)])
                .await?
                .iter()
                .map(|r| Plain {
                    id: r.get(0),
                    name: r.get(1),
                    email: r.get(2),
                    age: r.get(3),
                })
                .collect(),
            Raw::Mysql(c, st) => {
                c.exec_map(&*st, (n as u64,), |(id, name, email, age)| Plain {
                    id,
                    name,
                    email,
                    age,
                })
                .await?
            }
        })
    }
}

/// The markdown section for one backend, or why it was skipped.
pub async fn run(name: &str, url: &str, quick: bool) -> String {
    match run_inner(url, quick).await {
        Ok(rows) => {
            let mut md = format!(
                "\n## ORM on {name}\n\n| workload | N | raw µs/op | Core µs/op | ORM µs/op | ORM / raw | ORM / Core |\n\
                 | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
            );
            for (w, n, raw, core, orm) in rows {
                let (raw_cell, ratio) = match raw {
                    Some(r) => (format!("{r:.1}"), format!("{:.2}", orm / r)),
                    None => ("–".to_string(), "–".to_string()),
                };
                let (core_cell, core_ratio) = if core.is_nan() {
                    ("–".to_string(), "–".to_string())
                } else {
                    (format!("{core:.1}"), format!("{:.2}", orm / core))
                };
                let _ = writeln!(
                    md,
                    "| {w} | {n} | {raw_cell} | {core_cell} | {orm:.1} | {ratio} | {core_ratio} |"
                );
            }
            md
        }
        Err(e) => format!("\n## ORM on {name}\n\nskipped: {e}\n"),
    }
}

type OrmRow = (&'static str, usize, Option<f64>, f64, f64);

async fn run_inner(url: &str, quick: bool) -> crate::harness::Res<Vec<OrmRow>> {
    let engine = aludel::Engine::builder(url)?.build()?;
    seed(&engine).await?;
    let mut raw = Raw::connect(url).await?;
    let samples = if quick { 3 } else { 7 };
    let mut out = Vec::new();
    for n in [1usize, 100, 10_000] {
        let iters = if n == 10_000 { 5 } else { 50 };
        let t = OrmUser::table();
        let stmt = select(OrmUser::column_names().iter().map(|c| t.c(c)))
            .from(t)
            .limit(n as u64);
        let raw = {
            raw.load(n).await?; // warm-up
            let mut per = Vec::new();
            for _ in 0..samples {
                let start = Instant::now();
                for _ in 0..iters {
                    assert_eq!(raw.load(n).await?.len(), n);
                }
                per.push(start.elapsed().as_secs_f64() * 1e6 / iters as f64);
            }
            median(per)
        };
        let core = time(samples, iters, || {
            let (engine, stmt) = (engine.clone(), stmt.clone());
            async move {
                let mut conn = engine.connect().await?;
                let rows: Vec<Plain> = conn.execute(&stmt, ()).await?.all_as()?;
                assert_eq!(rows.len(), n);
                Ok(())
            }
        })
        .await?;
        let orm = time(samples, iters, || {
            let engine = engine.clone();
            async move {
                let mut s = Session::new(&engine);
                let keys = s.query::<OrmUser>().limit(n as u64).all().await?;
                assert_eq!(keys.len(), n);
                Ok(())
            }
        })
        .await?;
        eprintln!("[orm] load {n}: raw {raw:.1} µs, core {core:.1} µs, orm {orm:.1} µs");
        out.push(("load N objects", n, Some(raw), core, orm));
    }
    // Eager loading of 100 users × 10 posts × 10 comments.
    crate::eager::seed(&engine).await?;
    let iters = if quick { 3 } else { 10 };
    let raw_t = {
        crate::eager::raw(&mut raw).await?; // warm-up
        let mut per = Vec::new();
        for _ in 0..samples {
            let start = Instant::now();
            for _ in 0..iters {
                assert_eq!(crate::eager::raw(&mut raw).await?.len(), 100);
            }
            per.push(start.elapsed().as_secs_f64() * 1e6 / iters as f64);
        }
        median(per)
    };
    for (name, use_joined) in [
        ("eager 100×10×10, selectin", false),
        ("eager 100×10×10, joined", true),
    ] {
        let orm_t = crate::eager::time(samples, iters, || {
            let engine = engine.clone();
            async move {
                let n = crate::eager::orm(&engine, use_joined).await?;
                assert_eq!(n, crate::eager::EXPECTED_COMMENTS);
                Ok(())
            }
        })
        .await?;
        eprintln!("[orm] {name}: raw {raw_t:.0} µs, orm {orm_t:.0} µs");
        out.push((name, 11_100, Some(raw_t), f64::NAN, orm_t));
    }
    crate::eager::drop_tables(&engine).await?;

    let iters = if quick { 1 } else { 3 };
    let core = time(samples, iters, || flush_core(&engine)).await?;
    let orm = time(samples, iters, || flush_orm(&engine)).await?;
    eprintln!("[orm] flush 1000 users x 5 posts: core {core:.0} µs, orm {orm:.0} µs");
    out.push(("flush 1 000 users × 5 posts", 6000, None, core, orm));
    metadata().drop_all(&engine).await?;
    Ok(out)
}

/// `--orm-loop MODE N`: seed a SQLite file, then load N rows `MODE`-wise
/// (`seed` only, `core` into plain structs, `orm` through a Session), for
/// instruction counts under callgrind.
pub async fn run_loop(mode: &str, n: usize) -> aludel::Result<()> {
    // ORM_LOOP_URL points the loop at a server instead of a SQLite file
    // (`raw` stays SQLite-only).
    let url = std::env::var("ORM_LOOP_URL").unwrap_or_else(|_| {
        format!(
            "sqlite:///{}/aludel_bench_orm_loop.db",
            std::env::temp_dir().display()
        )
    });
    let engine = aludel::Engine::builder(&url)?.build()?;
    seed(&engine).await?;
    let t = OrmUser::table();
    let stmt = select(OrmUser::column_names().iter().map(|c| t.c(c)))
        .from(t)
        .limit(n as u64);
    // ORM_LOOP_REPEAT=K repeats the load K times (per-statement costs at small N).
    let repeat: usize = std::env::var("ORM_LOOP_REPEAT")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1);
    if let Some(what) = mode.strip_prefix("eager") {
        // eager-seed, eager-orm, eager-joined, eager-raw (SQLite only).
        crate::eager::seed(&engine).await?;
        let mut raw = Raw::connect(&url)
            .await
            .map_err(|e| aludel::Error::new(aludel::ErrorKind::Connect, e.to_string()))?;
        for _ in 0..repeat {
            match what {
                "-orm" => {
                    crate::eager::orm(&engine, false).await?;
                }
                "-joined" => {
                    crate::eager::orm(&engine, true).await?;
                }
                "-raw" => {
                    crate::eager::raw(&mut raw).await.map_err(|e| {
                        aludel::Error::new(aludel::ErrorKind::Database, e.to_string())
                    })?;
                }
                _ => {}
            }
        }
        return Ok(());
    }
    for _ in 0..repeat {
        load_once(mode, n, &engine, &stmt, &url).await?;
    }
    Ok(())
}

async fn load_once(
    mode: &str,
    n: usize,
    engine: &Engine,
    stmt: &aludel::sql::Select,
    url: &str,
) -> aludel::Result<()> {
    match mode {
        "core" => {
            let mut conn = engine.connect().await?;
            let rows: Vec<Plain> = conn.execute(stmt, ()).await?.all_as()?;
            assert_eq!(rows.len(), n);
        }
        "raw" if !url.starts_with("sqlite") => {
            // The server's driver, as the ORM section's raw column.
            let mut raw = Raw::connect(url)
                .await
                .map_err(|e| aludel::Error::new(aludel::ErrorKind::Connect, e.to_string()))?;
            let rows = raw
                .load(n)
                .await
                .map_err(|e| aludel::Error::new(aludel::ErrorKind::Database, e.to_string()))?;
            assert_eq!(rows.len(), n);
        }
        "raw" => {
            // rusqlite directly, into plain structs: the floor.
            let path = url.trim_start_matches("sqlite:///");
            let conn = rusqlite::Connection::open(path).expect("open");
            let mut stmt = conn
                .prepare_cached("SELECT id, name, email, age FROM orm_users LIMIT ?1")
                .expect("prepare");
            let rows: Vec<(i64, String, String, i32)> = stmt
                .query_map([n as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows");
            assert_eq!(rows.len(), n);
        }
        "orm" => {
            let mut s = Session::new(engine);
            let keys = s.query::<OrmUser>().limit(n as u64).all().await?;
            assert_eq!(keys.len(), n);
        }
        "split" => {
            // Wall-clock split of an ORM load: query + adopt, then the drop.
            let mut raw = Raw::connect(url)
                .await
                .map_err(|e| aludel::Error::new(aludel::ErrorKind::Connect, e.to_string()))?;
            let mut held = engine.connect().await?;
            for _ in 0..5 {
                let (mut q, mut d, mut c) = (0.0, 0.0, 0.0);
                let (mut r, mut h) = (0.0, 0.0);
                for _ in 0..20 {
                    let start = Instant::now();
                    let rows = raw.load(n).await.map_err(|e| {
                        aludel::Error::new(aludel::ErrorKind::Database, e.to_string())
                    })?;
                    assert_eq!(rows.len(), n);
                    drop(rows);
                    r += start.elapsed().as_secs_f64();
                    let start = Instant::now();
                    let rows: Vec<Plain> = held.execute(stmt, ()).await?.all_as()?;
                    drop(rows);
                    h += start.elapsed().as_secs_f64();
                    let start = Instant::now();
                    let mut conn = engine.connect().await?;
                    let rows: Vec<Plain> = conn.execute(stmt, ()).await?.all_as()?;
                    drop(rows);
                    drop(conn);
                    c += start.elapsed().as_secs_f64();
                    let start = Instant::now();
                    let mut s = Session::new(engine);
                    let keys = s.query::<OrmUser>().limit(n as u64).all().await?;
                    assert_eq!(keys.len(), n);
                    q += start.elapsed().as_secs_f64();
                    let start = Instant::now();
                    drop(s);
                    d += start.elapsed().as_secs_f64();
                }
                eprintln!(
                    "raw {:.0} µs; core on a held connection {:.0} µs; core {:.0} µs; orm query {:.0} µs + drop {:.0} µs",
                    r * 5e4,
                    h * 5e4,
                    c * 5e4,
                    q * 5e4,
                    d * 5e4
                );
            }
        }
        _ => {}
    }
    Ok(())
}
