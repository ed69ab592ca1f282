// The sync workloads, compiled once per backend: `include!`d by the modules
// of `sync_diesel.rs`, which give `Conn`, `connect_url`, `insert_user_ids`,
// `stream_table_exists`, `stream_sum`, `STREAM_SKIP` and `check_backend`.

use std::time::Instant;

use diesel::r2d2::{ConnectionManager, Pool};

use crate::schema::{
    check, check_graph, comments, new_posts, new_users, posts, Comment, Graph, Post, User,
};
use crate::{measure, measure_timed, Args, Res};

const CONTENDER: &str = "diesel";

/// `SELECT … FROM users ORDER BY id LIMIT n`.
fn load_users(conn: &mut Conn, n: usize) -> QueryResult<Vec<User>> {
    users::table
        .select(User::as_select())
        .order(users::id)
        .limit(n as i64)
        .load(conn)
}

/// Users with `id <= n` LEFT JOIN their posts, by user id then post id.
fn users_join_posts(conn: &mut Conn, n: usize) -> QueryResult<Vec<(User, Option<Post>)>> {
    users::table
        .left_join(posts::table)
        .filter(users::id.le(n as i64))
        .order((users::id, posts::id))
        .select((User::as_select(), Option::<Post>::as_select()))
        .load(conn)
}

/// One batch INSERT of `n` users in a transaction that is rolled back;
/// gives the number of rows the INSERT reported.
fn insert_users(conn: &mut Conn, n: usize) -> QueryResult<usize> {
    let mut inserted = 0;
    let outcome = conn.transaction::<(), diesel::result::Error, _>(|c| {
        let rows = new_users(n, "insert");
        inserted = diesel::insert_into(users::table).values(&rows).execute(c)?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    match outcome {
        Err(diesel::result::Error::RollbackTransaction) => Ok(inserted),
        Err(e) => Err(e),
        Ok(()) => unreachable!("the transaction always rolls back"),
    }
}

/// Users 1..=n, their posts, the posts' comments: three queries, the
/// children's with `belonging_to` (an IN list / `= ANY` of the parents'
/// ids), grouped by `grouped_by`.
fn eager_load(conn: &mut Conn, n: usize) -> QueryResult<Graph> {
    let users = users::table
        .filter(users::id.le(n as i64))
        .order(users::id)
        .select(User::as_select())
        .load(conn)?;
    let posts = Post::belonging_to(&users)
        .order(posts::id)
        .select(Post::as_select())
        .load(conn)?;
    let comments = Comment::belonging_to(&posts)
        .order(comments::id)
        .select(Comment::as_select())
        .load(conn)?;
    let comments = comments.grouped_by(&posts);
    let posts = posts.into_iter().zip(comments).grouped_by(&users);
    Ok(users.into_iter().zip(posts).collect())
}

/// `SELECT … FROM users WHERE id = ?`.
fn pk_lookup(conn: &mut Conn, id: i64) -> QueryResult<User> {
    users::table
        .find(id)
        .select(User::as_select())
        .get_result(conn)
}

/// 1 000 users with 5 posts each in one transaction: a batch INSERT of the
/// users giving their ids, then one of the posts. Gives the users' ids.
fn create_users_with_posts(conn: &mut Conn, n: usize) -> Res<Vec<i64>> {
    conn.transaction::<_, crate::Error, _>(|c| {
        let rows = new_users(n, "uow");
        let ids = insert_user_ids(c, &rows)?;
        check(ids.len() == n, "unit_of_work: one id per user")?;
        let posts = new_posts(&ids);
        let inserted = diesel::insert_into(posts::table)
            .values(&posts)
            .execute(c)?;
        check(inserted == 5 * n, "unit_of_work: 5 posts per user")?;
        Ok(ids)
    })
}

/// Delete what [`create_users_with_posts`] made.
fn delete_users_with_posts(conn: &mut Conn, ids: &[i64]) -> Res<()> {
    let posts = diesel::delete(posts::table.filter(posts::user_id.eq_any(ids))).execute(conn)?;
    let users = diesel::delete(users::table.filter(users::id.eq_any(ids))).execute(conn)?;
    check(
        posts == 5 * ids.len() && users == ids.len(),
        "unit_of_work: cleanup deletes what was made",
    )
}

pub fn run(args: &Args) -> Res<()> {
    let manager = ConnectionManager::<Conn>::new(connect_url(&args.url));
    // Five connections, opened now (see `TEST_ON_CHECKOUT`).
    let pool = Pool::builder()
        .max_size(5)
        .min_idle(Some(5))
        .test_on_check_out(crate::TEST_ON_CHECKOUT)
        .build(manager)?;
    check_backend(&mut *pool.get()?)?;
    let quick = args.quick;

    if args.wants("load_users") {
        for n in crate::LOAD_USERS {
            let us = measure(quick, || {
                let rows = load_users(&mut *pool.get()?, n)?;
                check(rows.len() == n, "load_users: n rows")?;
                check(
                    rows.last().map(|u| u.id) == Some(n as i64),
                    "load_users: ids 1..n",
                )
            })?;
            args.emit(CONTENDER, "load_users", n, us, None);
        }
    }

    if args.wants("users_join_posts") {
        for n in crate::USERS_JOIN_POSTS {
            let us = measure(quick, || {
                let rows = users_join_posts(&mut *pool.get()?, n)?;
                check(rows.len() == 10 * n, "users_join_posts: 10 n rows")?;
                check(
                    rows.iter()
                        .all(|(u, p)| p.as_ref().is_some_and(|p| p.user_id == u.id)),
                    "users_join_posts: each post with its user",
                )
            })?;
            args.emit(CONTENDER, "users_join_posts", n, us, None);
        }
    }

    if args.wants("insert_users") {
        for n in crate::INSERT_USERS {
            let us = measure(quick, || {
                let inserted = insert_users(&mut *pool.get()?, n)?;
                check(inserted == n, "insert_users: n rows inserted")
            })?;
            args.emit(CONTENDER, "insert_users", n, us, None);
        }
    }

    if args.wants("eager_load") {
        let n = crate::EAGER_LOAD;
        let us = measure(quick, || check_graph(&eager_load(&mut *pool.get()?, n)?))?;
        args.emit(CONTENDER, "eager_load", n, us, None);
    }

    if args.wants("pk_lookup") {
        let mut i = 0i64;
        let us = measure(quick, || {
            let id = (i % 10_000) + 1;
            i += 1;
            let user = pk_lookup(&mut *pool.get()?, id)?;
            check(
                user.id == id && user.age == 18 + (id % 60) as i32,
                "pk_lookup: the user",
            )
        })?;
        args.emit(CONTENDER, "pk_lookup", 1, us, None);
    }

    if args.wants("unit_of_work") {
        let n = crate::UNIT_OF_WORK;
        let us = measure_timed(quick, || {
            let start = Instant::now();
            let mut conn = pool.get()?;
            let ids = create_users_with_posts(&mut conn, n)?;
            let us = start.elapsed().as_secs_f64() * 1e6;
            delete_users_with_posts(&mut conn, &ids)?;
            Ok(us)
        })?;
        args.emit(CONTENDER, "unit_of_work", n, us, None);
    }

    if args.wants("stream_rows") {
        let n = crate::STREAM_ROWS;
        if !stream_table_exists(&mut *pool.get()?)? {
            eprintln!("{CONTENDER}: skipping stream_rows: no stream_rows table in this database");
        } else if let Some(why) = STREAM_SKIP {
            eprintln!(
                "{CONTENDER}: skipping stream_rows on {}: {why}",
                args.backend.key()
            );
        } else {
            let us = measure(quick, || {
                let (rows, sum) = stream_sum(&mut *pool.get()?)?;
                check(rows == n, "stream_rows: 1 000 000 rows")?;
                check(sum == crate::STREAM_SUM, "stream_rows: the sum of a")
            })?;
            args.emit(CONTENDER, "stream_rows", n, us, crate::peak_rss_kib());
        }
    }
    Ok(())
}
