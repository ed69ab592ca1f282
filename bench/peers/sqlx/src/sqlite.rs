//! SQLite: `SqlitePool`, `?` placeholders, `RETURNING id` for the unit of
//! work's user ids, `IN` lists for eager loading.

use std::time::Instant;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::Sqlite;

use crate::common::{eager_in_lists, shared_workloads};

shared_workloads!(Sqlite, "?");
eager_in_lists!();

/// The pool (5 connections) on the file a `sqlite:///abs/path.db` URL
/// names. sqlx's own options are kept: its statement cache, no
/// `journal_mode` pragma (the file's mode stays), `foreign_keys = ON`, a
/// 5 s busy timeout.
pub async fn connect(url: &str) -> Res<Pool<Db>> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| format!("not a sqlite: URL: {url}"))?;
    let path = path.split('?').next().unwrap_or_default();
    // `sqlite:///abs` and `sqlite:////abs` both name `/abs`.
    let path = format!("/{}", path.trim_start_matches('/'));
    let options = SqliteConnectOptions::new().filename(&path);
    Ok(SqlitePoolOptions::new()
        .max_connections(5)
        .test_before_acquire(false)
        .connect_with(options)
        .await?)
}

/// BEGIN; 1 000 users in one INSERT … RETURNING id; 5 000 posts (1 000
/// rows per INSERT) on those ids; COMMIT — timed, in µs. Then the rows are
/// deleted, untimed.
async fn unit_of_work(pool: &Pool<Db>, users: &[NewUser], titles: &[String]) -> Res<f64> {
    let start = Instant::now();
    let mut tx = pool.begin().await?;
    let mut qb = insert_users_builder(users);
    qb.push(" RETURNING id");
    let ids: Vec<i64> = qb.build_query_scalar::<i64>().fetch_all(&mut *tx).await?;
    expect_rows("unit_of_work users", ids.len(), UOW_USERS)?;
    insert_uow_posts(&mut tx, &ids, titles).await?;
    tx.commit().await?;
    let us = start.elapsed().as_secs_f64() * 1e6;

    let mut tx = pool.begin().await?;
    for (table, column) in [("posts", "user_id"), ("users", "id")] {
        let mut qb = QueryBuilder::<Db>::new(format!("DELETE FROM {table} WHERE {column} IN ("));
        let mut list = qb.separated(", ");
        for &id in &ids {
            list.push_bind(id);
        }
        list.push_unseparated(")");
        qb.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(us)
}

async fn has_stream_table(pool: &Pool<Db>) -> Res<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'stream_rows'",
    )
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}
