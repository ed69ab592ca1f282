//! rusqlite: one `Connection`, statements from its cache
//! (`prepare_cached`). rusqlite is synchronous: each op runs to completion
//! inside the timing closure, which hands `measure` a ready future.

use std::future::ready;
use std::hint::black_box;
use std::time::Instant;

use rusqlite::types::ToSql;
use rusqlite::{params_from_iter, Connection, Row};

use super::{
    expect_rows, group, new_users, sql, uow_titles, Comment, Driver, Measured, NewUser, Ph, Post,
    StreamRow, User, STREAM_ROWS, UOW_POSTS_PER_USER, UOW_POST_CHUNK, UOW_USERS,
};
use crate::harness::Res;
use crate::peer_protocol::{measure, measure_timed};

pub(crate) struct Sqlite {
    conn: Connection,
}

/// Keep an op's result alive until it is dropped (the compiler cannot skip
/// building it).
fn sink<T>(value: T) {
    black_box(value);
}

fn user(r: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        name: r.get(1)?,
        email: r.get(2)?,
        age: r.get(3)?,
        created_at: r.get(4)?,
    })
}

/// The bound values of a multi-row users INSERT.
fn user_params(rows: &[NewUser]) -> Vec<&dyn ToSql> {
    let mut p: Vec<&dyn ToSql> = Vec::with_capacity(rows.len() * 4);
    for u in rows {
        p.extend([&u.name as &dyn ToSql, &u.email, &u.age, &u.created_at]);
    }
    p
}

impl Sqlite {
    pub fn open(path: &str) -> Res<Self> {
        let conn = Connection::open(path)?;
        // Every statement of every workload stays cached.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Sqlite { conn })
    }

    fn load_users(&self, n: usize) -> Res<Vec<User>> {
        let mut st = self.conn.prepare_cached(&sql::load_users(Ph::Question))?;
        let users: Vec<User> = st.query_map([n as i64], user)?.collect::<Result<_, _>>()?;
        expect_rows("load_users", users.len(), n)?;
        Ok(users)
    }

    fn join(&self, n: usize) -> Res<Vec<(User, Option<Post>)>> {
        let mut st = self.conn.prepare_cached(&sql::join(Ph::Question))?;
        let rows: Vec<(User, Option<Post>)> = st
            .query_map([n as i64], |r| {
                let post = match r.get::<_, Option<i64>>(5)? {
                    Some(id) => Some(Post {
                        id,
                        user_id: r.get(6)?,
                        title: r.get(7)?,
                    }),
                    None => None,
                };
                Ok((user(r)?, post))
            })?
            .collect::<Result<_, _>>()?;
        expect_rows("users_join_posts", rows.len(), 10 * n)?;
        Ok(rows)
    }

    fn insert_users(&mut self, sql: &str, rows: &[NewUser]) -> Res<()> {
        let tx = self.conn.transaction()?;
        let k = tx
            .prepare_cached(sql)?
            .execute(params_from_iter(user_params(rows)))?;
        tx.rollback()?;
        expect_rows("insert_users", k, rows.len())
    }

    fn eager(&self) -> Res<super::Eager> {
        let users: Vec<User> = self
            .conn
            .prepare_cached(sql::EAGER_USERS)?
            .query_map([], user)?
            .collect::<Result<_, _>>()?;
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        let posts: Vec<Post> = self
            .conn
            .prepare_cached(&sql::eager_posts(ids.len(), Ph::Question))?
            .query_map(params_from_iter(&ids), |r| {
                Ok(Post {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    title: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
        let comments: Vec<Comment> = self
            .conn
            .prepare_cached(&sql::eager_comments(ids.len(), Ph::Question))?
            .query_map(params_from_iter(&ids), |r| {
                Ok(Comment {
                    id: r.get(0)?,
                    post_id: r.get(1)?,
                    body: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        group(users, posts, comments)
    }

    fn pk(&self, id: i64) -> Res<User> {
        let mut st = self.conn.prepare_cached(&sql::pk(Ph::Question))?;
        Ok(st.query_row([id], user)?)
    }

    /// BEGIN; 1 000 users (RETURNING id); 5 000 posts; COMMIT — timed, in
    /// µs. Then the rows are deleted, untimed.
    fn unit_of_work(&mut self, users: &[NewUser], titles: &[String]) -> Res<f64> {
        let users_sql = format!(
            "{} RETURNING id",
            sql::insert_users(UOW_USERS, Ph::Question)
        );
        let posts_sql = sql::insert_posts(UOW_POST_CHUNK, Ph::Question);
        let start = Instant::now();
        let tx = self.conn.transaction()?;
        let ids: Vec<i64> = tx
            .prepare_cached(&users_sql)?
            .query_map(params_from_iter(user_params(users)), |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        expect_rows("unit_of_work users", ids.len(), UOW_USERS)?;
        let post_user: Vec<i64> = ids
            .iter()
            .flat_map(|&id| std::iter::repeat_n(id, UOW_POSTS_PER_USER))
            .collect();
        {
            let mut st = tx.prepare_cached(&posts_sql)?;
            for (uids, titles) in post_user
                .chunks(UOW_POST_CHUNK)
                .zip(titles.chunks(UOW_POST_CHUNK))
            {
                let mut p: Vec<&dyn ToSql> = Vec::with_capacity(uids.len() * 2);
                for (uid, title) in uids.iter().zip(titles) {
                    p.extend([uid as &dyn ToSql, title]);
                }
                let k = st.execute(params_from_iter(p))?;
                expect_rows("unit_of_work posts", k, uids.len())?;
            }
        }
        tx.commit()?;
        let us = start.elapsed().as_secs_f64() * 1e6;

        let in_ids = super::in_list(ids.len(), Ph::Question);
        let tx = self.conn.transaction()?;
        tx.prepare_cached(&format!("DELETE FROM posts WHERE user_id IN ({in_ids})"))?
            .execute(params_from_iter(&ids))?;
        tx.prepare_cached(&format!("DELETE FROM users WHERE id IN ({in_ids})"))?
            .execute(params_from_iter(&ids))?;
        tx.commit()?;
        Ok(us)
    }

    fn has_stream_table(&self) -> Res<bool> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'stream_rows'",
            [],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// Every row of stream_rows, one at a time, summing `a`.
    fn stream(&self) -> Res<i64> {
        let mut st = self.conn.prepare_cached(sql::STREAM)?;
        let mut rows = st.query([])?;
        let (mut sum, mut count) = (0i64, 0usize);
        while let Some(r) = rows.next()? {
            let row = StreamRow {
                id: r.get(0)?,
                a: r.get(1)?,
                b: r.get(2)?,
            };
            sum += i64::from(row.a);
            count += 1;
            black_box(row);
        }
        expect_rows("stream_rows", count, STREAM_ROWS)?;
        Ok(sum)
    }
}

impl Driver for Sqlite {
    async fn workload(&mut self, name: &str, n: usize, quick: bool) -> Res<Option<Measured>> {
        let us = match name {
            "load_users" => measure(quick, || ready(self.load_users(n).map(sink))).await?,
            "users_join_posts" => measure(quick, || ready(self.join(n).map(sink))).await?,
            "insert_users" => {
                let rows = new_users(n);
                let text = sql::insert_users(n, Ph::Question);
                self.conn.prepare_cached(&text)?;
                measure(quick, || ready(self.insert_users(&text, &rows))).await?
            }
            "eager_load" => measure(quick, || ready(self.eager().map(sink))).await?,
            "pk_lookup" => {
                let mut i = 0usize;
                measure(quick, || {
                    let id = (i % 10_000) as i64 + 1;
                    i += 1;
                    ready(self.pk(id).map(sink))
                })
                .await?
            }
            "unit_of_work" => {
                let (users, titles) = (new_users(UOW_USERS), uow_titles());
                measure_timed(quick, || ready(self.unit_of_work(&users, &titles))).await?
            }
            "stream_rows" => {
                if !self.has_stream_table()? {
                    eprintln!("[raw sqlite] stream_rows: no stream_rows table; skipped");
                    return Ok(None);
                }
                let us = measure(quick, || ready(self.stream().map(sink))).await?;
                return Ok(Measured::with_rss(us));
            }
            other => {
                eprintln!("[raw sqlite] {other}: unknown workload; skipped");
                return Ok(None);
            }
        };
        Ok(Measured::us(us))
    }
}
