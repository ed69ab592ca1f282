//! MySQL/MariaDB: `MySqlPool`, `?` placeholders, `IN` lists for eager
//! loading. No RETURNING: the unit of work's user ids come from the
//! multi-row INSERT's `last_insert_id()` (the first row's id; InnoDB gives
//! a simple multi-row INSERT consecutive ids).

use std::time::Instant;

use sqlx::mysql::MySqlPoolOptions;
use sqlx::MySql;

use crate::common::{eager_in_lists, shared_workloads};

shared_workloads!(MySql, "?");
eager_in_lists!();

/// The pool (5 connections); sqlx's default statement cache.
pub async fn connect(url: &str) -> Res<Pool<Db>> {
    Ok(MySqlPoolOptions::new()
        .max_connections(5)
        .test_before_acquire(false)
        .connect(url)
        .await?)
}

/// BEGIN; 1 000 users in one INSERT (ids: `last_insert_id()` .. + 999);
/// 5 000 posts (1 000 rows per INSERT) on those ids; COMMIT — timed, in µs.
/// Then the rows are deleted, untimed.
async fn unit_of_work(pool: &Pool<Db>, users: &[NewUser], titles: &[String]) -> Res<f64> {
    let start = Instant::now();
    let mut tx = pool.begin().await?;
    let done = insert_users_builder(users)
        .build()
        .execute(&mut *tx)
        .await?;
    expect_rows(
        "unit_of_work users",
        done.rows_affected() as usize,
        UOW_USERS,
    )?;
    let first = i64::try_from(done.last_insert_id())?;
    let ids: Vec<i64> = (first..first + UOW_USERS as i64).collect();
    insert_uow_posts(&mut tx, &ids, titles).await?;
    tx.commit().await?;
    let us = start.elapsed().as_secs_f64() * 1e6;

    let last = first + UOW_USERS as i64 - 1;
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM posts WHERE user_id BETWEEN ? AND ?")
        .bind(first)
        .bind(last)
        .execute(&mut *tx)
        .await?;
    let gone = sqlx::query("DELETE FROM users WHERE id BETWEEN ? AND ?")
        .bind(first)
        .bind(last)
        .execute(&mut *tx)
        .await?;
    expect_rows(
        "unit_of_work cleanup",
        gone.rows_affected() as usize,
        UOW_USERS,
    )?;
    tx.commit().await?;
    Ok(us)
}

async fn has_stream_table(pool: &Pool<Db>) -> Res<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_name = 'stream_rows'",
    )
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}
