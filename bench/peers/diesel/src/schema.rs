//! The peers' schema (../schema/*.sql) as Diesel tables, and the models the
//! workloads decode into.

use chrono::NaiveDateTime;
use diesel::prelude::*;

diesel::table! {
    users (id) {
        id -> BigInt,
        name -> Varchar,
        email -> Varchar,
        age -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    posts (id) {
        id -> BigInt,
        user_id -> BigInt,
        title -> Varchar,
    }
}

diesel::table! {
    comments (id) {
        id -> BigInt,
        post_id -> BigInt,
        body -> Varchar,
    }
}

diesel::table! {
    stream_rows (id) {
        id -> BigInt,
        a -> Integer,
        b -> Varchar,
    }
}

diesel::joinable!(posts -> users (user_id));
diesel::joinable!(comments -> posts (post_id));
diesel::allow_tables_to_appear_in_same_query!(users, posts, comments);

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, PartialEq)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub age: i32,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Identifiable, Associations, Debug, Clone, PartialEq)]
#[diesel(table_name = posts, belongs_to(User))]
pub struct Post {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
}

#[derive(Queryable, Selectable, Identifiable, Associations, Debug, Clone, PartialEq)]
#[diesel(table_name = comments, belongs_to(Post))]
pub struct Comment {
    pub id: i64,
    pub post_id: i64,
    pub body: String,
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = stream_rows)]
pub struct StreamRow {
    pub id: i64,
    pub a: i32,
    pub b: String,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub age: i32,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = posts)]
pub struct NewPost {
    pub user_id: i64,
    pub title: String,
}

/// `n` new users (`tag` keeps their names apart from the seeded ones).
pub fn new_users(n: usize, tag: &str) -> Vec<NewUser> {
    let base = chrono::NaiveDate::from_ymd_opt(2025, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("a valid date");
    (0..n)
        .map(|i| NewUser {
            name: format!("{tag} {i}"),
            email: format!("{tag}{i}@example.com"),
            age: 18 + (i % 60) as i32,
            created_at: base + chrono::Duration::seconds(i as i64),
        })
        .collect()
}

/// Five posts for each of `user_ids`.
pub fn new_posts(user_ids: &[i64]) -> Vec<NewPost> {
    user_ids
        .iter()
        .flat_map(|&user_id| {
            (0..5).map(move |p| NewPost {
                user_id,
                title: format!("uow post {user_id}.{p}"),
            })
        })
        .collect()
}

/// The eager-loaded shape: users, their posts, the posts' comments.
pub type Graph = Vec<(User, Vec<(Post, Vec<Comment>)>)>;

/// Fail loudly when a workload's result is not what the seeded data gives.
pub fn check(cond: bool, what: &str) -> Result<(), crate::Error> {
    if cond {
        Ok(())
    } else {
        Err(format!("wrong result: {what}").into())
    }
}

/// The eager_load result: 100 users with 10 posts each, and 10 comments on
/// each post (all of users 1..100's posts have comments).
pub fn check_graph(graph: &Graph) -> Result<(), crate::Error> {
    check(graph.len() == 100, "eager_load: 100 users")?;
    for (i, (user, posts)) in graph.iter().enumerate() {
        check(user.id == i as i64 + 1, "eager_load: users in id order")?;
        check(posts.len() == 10, "eager_load: 10 posts per user")?;
        for (post, comments) in posts {
            check(
                post.user_id == user.id,
                "eager_load: post grouped under its user",
            )?;
            check(comments.len() == 10, "eager_load: 10 comments per post")?;
            check(
                comments.iter().all(|c| c.post_id == post.id),
                "eager_load: comment grouped under its post",
            )?;
        }
    }
    Ok(())
}

diesel::define_sql_function! {
    /// MySQL's `LAST_INSERT_ID()`: after a multi-row INSERT, the first id it
    /// generated.
    fn last_insert_id() -> diesel::sql_types::Unsigned<diesel::sql_types::BigInt>;
}

/// One `COUNT(*) AS n` from a raw catalog query.
#[derive(QueryableByName)]
pub struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

/// Whether the `stream_rows` table exists (the catalog query per backend).
pub fn stream_table_query(backend: crate::Backend) -> &'static str {
    match backend {
        crate::Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'stream_rows'"
        }
        crate::Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'stream_rows'"
        }
        crate::Backend::Mysql => {
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = 'stream_rows'"
        }
    }
}

/// The auto-increment step (MySQL), which must be 1 for the consecutive ids
/// after `LAST_INSERT_ID()`.
pub const AUTO_INCREMENT_STEP: &str = "SELECT CAST(@@auto_increment_increment AS SIGNED) AS n";
