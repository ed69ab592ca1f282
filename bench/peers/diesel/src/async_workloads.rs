// The diesel-async workloads, compiled once per backend: `include!`d by the
// modules of `async_diesel.rs`, which give `Conn`, `BACKEND`,
// `insert_user_ids` and `check_backend`.

use std::time::Instant;

use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::AsyncConnection as _;
use futures_util::TryStreamExt as _;

use crate::schema::{
    check, check_graph, comments, new_posts, new_users, posts, stream_rows, Comment, Graph, Post,
    StreamRow, User,
};
use crate::{measure_async, measure_timed_async};

const CONTENDER: &str = "diesel-async";

async fn load_users(conn: &mut Conn, n: usize) -> QueryResult<Vec<User>> {
    users::table
        .select(User::as_select())
        .order(users::id)
        .limit(n as i64)
        .load(conn)
        .await
}

async fn users_join_posts(conn: &mut Conn, n: usize) -> QueryResult<Vec<(User, Option<Post>)>> {
    users::table
        .left_join(posts::table)
        .filter(users::id.le(n as i64))
        .order((users::id, posts::id))
        .select((User::as_select(), Option::<Post>::as_select()))
        .load(conn)
        .await
}

/// One batch INSERT of `n` users in a transaction that is rolled back;
/// gives the number of rows the INSERT reported.
async fn insert_users(conn: &mut Conn, n: usize) -> QueryResult<usize> {
    let outcome = conn
        .transaction::<(), RolledBack, _>(async |c| {
            let rows = new_users(n, "insert");
            let inserted = diesel::insert_into(users::table)
                .values(&rows)
                .execute(c)
                .await?;
            Err(RolledBack::After(inserted))
        })
        .await;
    match outcome {
        Err(RolledBack::After(inserted)) => Ok(inserted),
        Err(RolledBack::Db(e)) => Err(e),
        Ok(()) => unreachable!("the transaction always rolls back"),
    }
}

/// How [`insert_users`]' transaction ends: rolled back on purpose after
/// inserting that many rows, or by an error.
enum RolledBack {
    After(usize),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for RolledBack {
    fn from(e: diesel::result::Error) -> Self {
        RolledBack::Db(e)
    }
}

/// Users 1..=n, their posts, the posts' comments: three queries with
/// `belonging_to`, grouped by `grouped_by`.
async fn eager_load(conn: &mut Conn, n: usize) -> QueryResult<Graph> {
    let users = users::table
        .filter(users::id.le(n as i64))
        .order(users::id)
        .select(User::as_select())
        .load(conn)
        .await?;
    let posts = Post::belonging_to(&users)
        .order(posts::id)
        .select(Post::as_select())
        .load(conn)
        .await?;
    let comments = Comment::belonging_to(&posts)
        .order(comments::id)
        .select(Comment::as_select())
        .load(conn)
        .await?;
    let comments = comments.grouped_by(&posts);
    let posts = posts.into_iter().zip(comments).grouped_by(&users);
    Ok(users.into_iter().zip(posts).collect())
}

async fn pk_lookup(conn: &mut Conn, id: i64) -> QueryResult<User> {
    users::table
        .find(id)
        .select(User::as_select())
        .get_result(conn)
        .await
}

/// 1 000 users with 5 posts each in one transaction. Gives the users' ids.
async fn create_users_with_posts(conn: &mut Conn, n: usize) -> Res<Vec<i64>> {
    conn.transaction::<_, crate::Error, _>(async |c| {
        let rows = new_users(n, "uow");
        let ids = insert_user_ids(c, &rows).await?;
        check(ids.len() == n, "unit_of_work: one id per user")?;
        let posts = new_posts(&ids);
        let inserted = diesel::insert_into(posts::table)
            .values(&posts)
            .execute(c)
            .await?;
        check(inserted == 5 * n, "unit_of_work: 5 posts per user")?;
        Ok(ids)
    })
    .await
}

async fn delete_users_with_posts(conn: &mut Conn, ids: &[i64]) -> Res<()> {
    let posts = diesel::delete(posts::table.filter(posts::user_id.eq_any(ids)))
        .execute(conn)
        .await?;
    let users = diesel::delete(users::table.filter(users::id.eq_any(ids)))
        .execute(conn)
        .await?;
    check(
        posts == 5 * ids.len() && users == ids.len(),
        "unit_of_work: cleanup deletes what was made",
    )
}

async fn stream_table_exists(conn: &mut Conn) -> QueryResult<bool> {
    let c: Count = diesel::sql_query(stream_table_query(BACKEND))
        .get_result(conn)
        .await?;
    Ok(c.n > 0)
}

/// `load_stream`: rows are decoded as they come off the socket.
async fn stream_sum(conn: &mut Conn) -> QueryResult<(usize, i64)> {
    stream_rows::table
        .select(StreamRow::as_select())
        .load_stream::<StreamRow>(conn)
        .await?
        .try_fold((0usize, 0i64), |(rows, sum), row| {
            std::hint::black_box((row.id, &row.b));
            std::future::ready(Ok((rows + 1, sum + i64::from(row.a))))
        })
        .await
}

pub async fn run(args: &Args) -> Res<()> {
    // See `TEST_ON_CHECKOUT`.
    let mut config = ManagerConfig::default();
    config.recycling_method = if crate::TEST_ON_CHECKOUT {
        RecyclingMethod::Verified
    } else {
        RecyclingMethod::Fast
    };
    let manager = AsyncDieselConnectionManager::<Conn>::new_with_config(&args.url, config);
    let pool = Pool::builder(manager).max_size(5).build()?;
    // Open the five connections now.
    let mut opened = Vec::new();
    for _ in 0..5 {
        opened.push(pool.get().await?);
    }
    check_backend(&mut opened[0]).await?;
    drop(opened);
    let pool = &pool;
    let quick = args.quick;

    if args.wants("load_users") {
        for n in crate::LOAD_USERS {
            let us = measure_async(quick, || async move {
                let rows = load_users(&mut *pool.get().await?, n).await?;
                check(rows.len() == n, "load_users: n rows")?;
                check(
                    rows.last().map(|u| u.id) == Some(n as i64),
                    "load_users: ids 1..n",
                )
            })
            .await?;
            args.emit(CONTENDER, "load_users", n, us, None);
        }
    }

    if args.wants("users_join_posts") {
        for n in crate::USERS_JOIN_POSTS {
            let us = measure_async(quick, || async move {
                let rows = users_join_posts(&mut *pool.get().await?, n).await?;
                check(rows.len() == 10 * n, "users_join_posts: 10 n rows")?;
                check(
                    rows.iter()
                        .all(|(u, p)| p.as_ref().is_some_and(|p| p.user_id == u.id)),
                    "users_join_posts: each post with its user",
                )
            })
            .await?;
            args.emit(CONTENDER, "users_join_posts", n, us, None);
        }
    }

    if args.wants("insert_users") {
        for n in crate::INSERT_USERS {
            let us = measure_async(quick, || async move {
                let inserted = insert_users(&mut *pool.get().await?, n).await?;
                check(inserted == n, "insert_users: n rows inserted")
            })
            .await?;
            args.emit(CONTENDER, "insert_users", n, us, None);
        }
    }

    if args.wants("eager_load") {
        let n = crate::EAGER_LOAD;
        let us = measure_async(quick, || async move {
            check_graph(&eager_load(&mut *pool.get().await?, n).await?)
        })
        .await?;
        args.emit(CONTENDER, "eager_load", n, us, None);
    }

    if args.wants("pk_lookup") {
        let mut i = 0i64;
        let us = measure_async(quick, || {
            let id = (i % 10_000) + 1;
            i += 1;
            async move {
                let user = pk_lookup(&mut *pool.get().await?, id).await?;
                check(
                    user.id == id && user.age == 18 + (id % 60) as i32,
                    "pk_lookup: the user",
                )
            }
        })
        .await?;
        args.emit(CONTENDER, "pk_lookup", 1, us, None);
    }

    if args.wants("unit_of_work") {
        let n = crate::UNIT_OF_WORK;
        let us = measure_timed_async(quick, || async move {
            let start = Instant::now();
            let mut conn = pool.get().await?;
            let ids = create_users_with_posts(&mut conn, n).await?;
            let us = start.elapsed().as_secs_f64() * 1e6;
            delete_users_with_posts(&mut conn, &ids).await?;
            Ok(us)
        })
        .await?;
        args.emit(CONTENDER, "unit_of_work", n, us, None);
    }

    if args.wants("stream_rows") {
        let n = crate::STREAM_ROWS;
        if !stream_table_exists(&mut *pool.get().await?).await? {
            eprintln!("{CONTENDER}: skipping stream_rows: no stream_rows table in this database");
        } else {
            let us = measure_async(quick, || async move {
                let (rows, sum) = stream_sum(&mut *pool.get().await?).await?;
                check(rows == n, "stream_rows: 1 000 000 rows")?;
                check(sum == crate::STREAM_SUM, "stream_rows: the sum of a")
            })
            .await?;
            args.emit(CONTENDER, "stream_rows", n, us, crate::peak_rss_kib());
        }
    }
    Ok(())
}
