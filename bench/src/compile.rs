//! The compiled cache: building the same statement shape again with new
//! values, compiled through a dialect with and without the cache.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use aludel::schema::{Column, SqlType, Table};
use aludel::sql::{func, select, Select};
use aludel::{Backend, Dialect, Executable, Params};

fn tables() -> (Table, Table) {
    let users = Table::builder("users")
        .column(Column::new("id", SqlType::BigInteger).primary_key())
        .column(Column::new("name", SqlType::string(50)).not_null())
        .column(Column::new("email", SqlType::string(100)).not_null())
        .column(Column::new("age", SqlType::Integer))
        .build()
        .expect("users");
    let posts = Table::builder("posts")
        .column(Column::new("id", SqlType::BigInteger).primary_key())
        .column(Column::new("user_id", SqlType::BigInteger).references("users.id"))
        .column(Column::new("title", SqlType::string(100)))
        .build()
        .expect("posts");
    (users, posts)
}

/// A typical request's query: a join, three filters, a group, an order and a page.
fn statement(users: &Table, posts: &Table, i: u64) -> Select {
    select([
        users.c("id"),
        users.c("name"),
        func::count(posts.c("id")).label("posts"),
    ])
    .from(users)
    .left_join(posts)
    .filter(users.c("name").like(format!("user{}%", i % 10)))
    .filter(users.c("age").between(18, 65))
    .filter(users.c("email").ne(""))
    .group_by([users.c("id"), users.c("name")])
    .order_by([users.c("name").asc()])
    .limit(20)
    .offset(i % 100)
}

/// Median ns per build (+ compile, given a dialect) over `samples` runs of `iters`.
fn time(
    dialect: Option<&Dialect>,
    users: &Table,
    posts: &Table,
    iters: u64,
    samples: usize,
) -> f64 {
    let mut per = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        for i in 0..iters {
            let stmt = statement(users, posts, i);
            match dialect {
                Some(d) => {
                    let compiled = stmt.compile(d, Params::new()).expect("compiles");
                    black_box(compiled.values.len());
                }
                None => {
                    black_box(&stmt);
                }
            }
        }
        per.push(start.elapsed().as_nanos() as f64 / iters as f64);
    }
    per.sort_by(|a, b| a.total_cmp(b));
    per[per.len() / 2]
}

/// The markdown section for the results file.
pub fn run(quick: bool) -> String {
    let (users, posts) = tables();
    let (iters, samples) = if quick { (2_000, 3) } else { (20_000, 7) };
    let mut md = String::from(
        "\n## Compiled cache (a join + 3 filters + group + order + page, built and compiled per call)\n\n\
         | dialect | build ns/op | compile, no cache | compile, cache | speed-up of compile |\n| --- | ---: | ---: | ---: | ---: |\n",
    );
    let started = Instant::now();
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let cold = Dialect::with_compiled_cache(backend, 0);
        let warm = Dialect::with_compiled_cache(backend, 500);
        let build = time(None, &users, &posts, iters, samples);
        let no_cache = time(Some(&cold), &users, &posts, iters, samples) - build;
        let cache = time(Some(&warm), &users, &posts, iters, samples) - build;
        let _ = writeln!(
            md,
            "| {} | {:.0} | {:.0} | {:.0} | {:.2}× |",
            warm.name(),
            build,
            no_cache,
            cache,
            no_cache / cache
        );
        eprintln!(
            "[compile] {}: {no_cache:.0} ns without cache, {cache:.0} ns with",
            warm.name()
        );
    }
    let _ = writeln!(
        md,
        "\n(compile columns: build + compile minus build alone; wall clock, noisy at this scale — see bench/README.md for instruction counts; measured in {:?})",
        Duration::from_secs_f64(started.elapsed().as_secs_f64().round())
    );
    md
}

/// `--compile-loop MODE N`: run only the build (+ compile) loop, for
/// instruction counts under `valgrind --tool=callgrind`, which are stable
/// where wall-clock timing on a shared 2-core machine is not.
pub fn run_loop(mode: &str, iters: u64) -> Result<(), String> {
    let (users, posts) = tables();
    let dialect = match mode {
        "build" => None,
        "uncached" => Some(Dialect::with_compiled_cache(Backend::Postgres, 0)),
        "cached" => Some(Dialect::with_compiled_cache(Backend::Postgres, 500)),
        other => {
            return Err(format!(
                "unknown --compile-loop mode {other:?}: build, uncached or cached"
            ))
        }
    };
    time(dialect.as_ref(), &users, &posts, iters, 1);
    Ok(())
}
