//! PostgreSQL: `PgPool`, `$n` placeholders, `RETURNING id` for the unit of
//! work's user ids, `= ANY($1)` with a bound `BIGINT[]` for eager loading
//! (one statement whatever the list's length, as sqlx's docs recommend in
//! place of `IN` lists).

use std::time::Instant;

use sqlx::postgres::PgPoolOptions;
use sqlx::Postgres;

use crate::common::shared_workloads;

shared_workloads!(Postgres, "$1");

/// The pool (5 connections); sqlx's default statement cache.
pub async fn connect(url: &str) -> Res<Pool<Db>> {
    Ok(PgPoolOptions::new()
        .max_connections(5)
        .test_before_acquire(false)
        .connect(url)
        .await?)
}

/// Users `id <= 100`, their posts (`user_id = ANY($1)`), those posts'
/// comments (`post_id = ANY($1)`), on one pooled connection, grouped.
async fn eager_load(pool: &Pool<Db>) -> Res<crate::common::Eager> {
    use crate::common::{group, Comment, Post, EAGER_USERS};
    let mut conn = pool.acquire().await?;
    let users = sqlx::query_as::<_, User>(
        "SELECT id, name, email, age, created_at FROM users WHERE id <= $1 ORDER BY id",
    )
    .bind(EAGER_USERS as i64)
    .fetch_all(&mut *conn)
    .await?;
    let user_ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let posts = sqlx::query_as::<_, Post>(
        "SELECT id, user_id, title FROM posts WHERE user_id = ANY($1) ORDER BY id",
    )
    .bind(user_ids)
    .fetch_all(&mut *conn)
    .await?;
    let post_ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    let comments = sqlx::query_as::<_, Comment>(
        "SELECT id, post_id, body FROM comments WHERE post_id = ANY($1) ORDER BY id",
    )
    .bind(post_ids)
    .fetch_all(&mut *conn)
    .await?;
    group(users, posts, comments)
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
    sqlx::query("DELETE FROM posts WHERE user_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM users WHERE id = ANY($1)")
        .bind(&ids)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(us)
}

async fn has_stream_table(pool: &Pool<Db>) -> Res<bool> {
    let found: bool = sqlx::query_scalar("SELECT to_regclass('stream_rows') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    Ok(found)
}
