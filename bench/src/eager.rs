//! Eager loading: 100 users, 10 posts each, 10 comments per post, loaded
//! and grouped. The raw driver runs the three queries by hand (`WHERE id <=
//! 100`, then `user_id IN (…)`, then `post_id IN (…)`) and groups the rows
//! into nested structs; the ORM runs `selectin(posts).then(selectin(comments))`
//! (3 statements) or `joined(posts).then(joined(comments))` (a LEFT JOIN for
//! the posts, then one SELECT for the comments: 2 statements).

use std::collections::HashMap;
use std::time::Instant;

use aludel::orm::{joined, selectin, Model as _, Session};
use aludel::schema::MetaData;
use aludel::sql::{insert, Expr};
use aludel::{Engine, Model};

use crate::harness::Res;

#[derive(Model, Clone, Debug)]
#[aludel(table = "eager_users")]
#[aludel(has_many(posts: EagerPost))]
pub struct EagerUser {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 50)]
    name: String,
}

#[derive(Model, Clone, Debug)]
#[aludel(table = "eager_posts")]
#[aludel(has_many(comments: EagerComment))]
pub struct EagerPost {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "eager_users.id", index)]
    user_id: i64,
    #[aludel(length = 100)]
    title: String,
}

#[derive(Model, Clone, Debug)]
#[aludel(table = "eager_comments")]
pub struct EagerComment {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "eager_posts.id", index)]
    post_id: i64,
    #[aludel(length = 100)]
    body: String,
}

/// What the raw side builds: users with their posts with their comments.
#[allow(dead_code)]
pub struct User {
    id: i64,
    name: String,
    posts: Vec<Post>,
}

#[allow(dead_code)]
pub struct Post {
    id: i64,
    user_id: i64,
    title: String,
    comments: Vec<Comment>,
}

#[allow(dead_code)]
pub struct Comment {
    id: i64,
    post_id: i64,
    body: String,
}

const USERS: i64 = 100;
const POSTS_PER_USER: i64 = 10;
const COMMENTS_PER_POST: i64 = 10;

fn metadata() -> MetaData {
    let mut md = MetaData::new();
    for t in [
        EagerUser::table(),
        EagerPost::table(),
        EagerComment::table(),
    ] {
        md.add(t.clone()).expect("eager tables");
    }
    md
}

pub async fn seed(engine: &Engine) -> aludel::Result<()> {
    let md = metadata();
    md.drop_all(engine).await?;
    md.create_all(engine).await?;
    let mut conn = engine.connect().await?;
    let users = (1..=USERS).map(|u| {
        [
            ("id", Expr::from(u)),
            ("name", Expr::from(format!("user {u}"))),
        ]
    });
    conn.execute(&insert(EagerUser::table()).values_many(users), ())
        .await?;
    let posts: Vec<_> = (0..USERS * POSTS_PER_USER)
        .map(|p| {
            [
                ("id", Expr::from(p + 1)),
                ("user_id", Expr::from(p / POSTS_PER_USER + 1)),
                ("title", Expr::from(format!("post {p}"))),
            ]
        })
        .collect();
    conn.execute(&insert(EagerPost::table()).values_many(posts), ())
        .await?;
    let comments: Vec<_> = (0..USERS * POSTS_PER_USER * COMMENTS_PER_POST)
        .map(|c| {
            [
                ("id", Expr::from(c + 1)),
                ("post_id", Expr::from(c / COMMENTS_PER_POST + 1)),
                ("body", Expr::from(format!("comment {c}"))),
            ]
        })
        .collect();
    for chunk in comments.chunks(1000) {
        conn.execute(
            &insert(EagerComment::table()).values_many(chunk.to_vec()),
            (),
        )
        .await?;
    }
    conn.commit().await
}

pub async fn drop_tables(engine: &Engine) -> aludel::Result<()> {
    metadata().drop_all(engine).await
}

fn placeholders(n: usize, dollar: bool) -> String {
    (1..=n)
        .map(|i| {
            if dollar {
                format!("${i}")
            } else {
                "?".to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Group children under parents, keeping the parents' order.
fn group<P, C>(
    parents: &mut [P],
    children: Vec<C>,
    id: impl Fn(&P) -> i64,
    fk: impl Fn(&C) -> i64,
    push: impl Fn(&mut P, C),
) {
    let at: HashMap<i64, usize> = parents
        .iter()
        .enumerate()
        .map(|(i, p)| (id(p), i))
        .collect();
    for c in children {
        if let Some(&i) = at.get(&fk(&c)) {
            push(&mut parents[i], c);
        }
    }
}

/// The three queries by hand with the raw driver, grouped.
pub async fn raw(conn: &mut crate::orm::Raw) -> Res<Vec<User>> {
    use crate::orm::Raw;
    use mysql_async::prelude::Queryable as _;
    const USERS_SQL: &str = "SELECT id, name FROM eager_users WHERE id <= 100 ORDER BY id";
    let posts_sql = |n: usize, dollar: bool| {
        format!(
            "SELECT id, user_id, title FROM eager_posts WHERE user_id IN ({}) ORDER BY id",
            placeholders(n, dollar)
        )
    };
    let comments_sql = |n: usize, dollar: bool| {
        format!(
            "SELECT id, post_id, body FROM eager_comments WHERE post_id IN ({}) ORDER BY id",
            placeholders(n, dollar)
        )
    };
    let (mut users, posts, comments): (Vec<User>, Vec<Post>, Vec<Comment>) = match conn {
        Raw::Sqlite(c) => {
            let users: Vec<User> = c
                .prepare_cached(USERS_SQL)?
                .query_map([], |r| {
                    Ok(User {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        posts: Vec::new(),
                    })
                })?
                .collect::<Result<_, _>>()?;
            let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
            let posts: Vec<Post> = c
                .prepare_cached(&posts_sql(ids.len(), false))?
                .query_map(rusqlite::params_from_iter(&ids), |r| {
                    Ok(Post {
                        id: r.get(0)?,
                        user_id: r.get(1)?,
                        title: r.get(2)?,
                        comments: Vec::new(),
                    })
                })?
                .collect::<Result<_, _>>()?;
            let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
            let comments: Vec<Comment> = c
                .prepare_cached(&comments_sql(ids.len(), false))?
                .query_map(rusqlite::params_from_iter(&ids), |r| {
                    Ok(Comment {
                        id: r.get(0)?,
                        post_id: r.get(1)?,
                        body: r.get(2)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            (users, posts, comments)
        }
        Raw::Postgres(c, _, cache) => {
            for sql in [
                USERS_SQL.to_string(),
                posts_sql(100, true),
                comments_sql(1000, true),
            ] {
                if let std::collections::hash_map::Entry::Vacant(slot) = cache.entry(sql) {
                    let st = c.prepare(slot.key()).await?;
                    slot.insert(st);
                }
            }
            let users: Vec<User> = c
                .query(&cache[USERS_SQL], &[])
                .await?
                .iter()
                .map(|r| User {
                    id: r.get(0),
                    name: r.get(1),
                    posts: Vec::new(),
                })
                .collect();
            let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
            let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = ids
                .iter()
                .map(|i| i as &(dyn tokio_postgres::types::ToSql + Sync))
                .collect();
            let stmt = match cache.get(&posts_sql(ids.len(), true)) {
                Some(st) => st.clone(),
                None => c.prepare(&posts_sql(ids.len(), true)).await?,
            };
            let posts: Vec<Post> = c
                .query(&stmt, &params)
                .await?
                .iter()
                .map(|r| Post {
                    id: r.get(0),
                    user_id: r.get(1),
                    title: r.get(2),
                    comments: Vec::new(),
                })
                .collect();
            let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
            let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = ids
                .iter()
                .map(|i| i as &(dyn tokio_postgres::types::ToSql + Sync))
                .collect();
            let stmt = match cache.get(&comments_sql(ids.len(), true)) {
                Some(st) => st.clone(),
                None => c.prepare(&comments_sql(ids.len(), true)).await?,
            };
            let comments: Vec<Comment> = c
                .query(&stmt, &params)
                .await?
                .iter()
                .map(|r| Comment {
                    id: r.get(0),
                    post_id: r.get(1),
                    body: r.get(2),
                })
                .collect();
            (users, posts, comments)
        }
        Raw::Mysql(c, _) => {
            let users: Vec<User> = c
                .exec_map(USERS_SQL, (), |(id, name)| User {
                    id,
                    name,
                    posts: Vec::new(),
                })
                .await?;
            let ids: Vec<mysql_async::Value> = users.iter().map(|u| u.id.into()).collect();
            let posts: Vec<Post> = c
                .exec_map(
                    posts_sql(ids.len(), false),
                    mysql_async::Params::Positional(ids),
                    |(id, user_id, title)| Post {
                        id,
                        user_id,
                        title,
                        comments: Vec::new(),
                    },
                )
                .await?;
            let ids: Vec<mysql_async::Value> = posts.iter().map(|p| p.id.into()).collect();
            let comments: Vec<Comment> = c
                .exec_map(
                    comments_sql(ids.len(), false),
                    mysql_async::Params::Positional(ids),
                    |(id, post_id, body)| Comment { id, post_id, body },
                )
                .await?;
            (users, posts, comments)
        }
    };
    let mut posts = posts;
    group(
        &mut posts,
        comments,
        |p| p.id,
        |c| c.post_id,
        |p, c| p.comments.push(c),
    );
    group(
        &mut users,
        posts,
        |u| u.id,
        |p| p.user_id,
        |u, p| u.posts.push(p),
    );
    Ok(users)
}

/// The ORM, eagerly; returns the number of comments reached through the
/// loaded relationships (to check the load is complete).
pub async fn orm(engine: &Engine, use_joined: bool) -> aludel::Result<usize> {
    let mut s = Session::new(engine);
    let q = EagerUser::query(&mut s)
        .filter(EagerUser::id.le(USERS))
        .order_by([EagerUser::id.asc()]);
    let users = if use_joined {
        q.options(joined(EagerUser::posts).then(joined(EagerPost::comments)))
            .all()
            .await?
    } else {
        q.options(selectin(EagerUser::posts).then(selectin(EagerPost::comments)))
            .all()
            .await?
    };
    let mut n = 0;
    for u in users {
        for p in s.related(u, EagerUser::posts)? {
            n += s.related(p, EagerPost::comments)?.len();
        }
    }
    Ok(n)
}

/// Median µs per op of `f` over `samples` samples of `iters` runs.
pub async fn time<F, Fut>(samples: usize, iters: usize, mut f: F) -> Res<f64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Res<()>>,
{
    f().await?;
    let mut per = Vec::new();
    for _ in 0..samples {
        let start = Instant::now();
        for _ in 0..iters {
            f().await?;
        }
        per.push(start.elapsed().as_secs_f64() * 1e6 / iters as f64);
    }
    per.sort_by(|a, b| a.total_cmp(b));
    Ok(per[per.len() / 2])
}

pub const EXPECTED_COMMENTS: usize = (USERS * POSTS_PER_USER * COMMENTS_PER_POST) as usize;
