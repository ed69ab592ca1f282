//! mysql_async: one `Conn`, every statement prepared with `prep` and kept
//! (binary protocol). unit_of_work takes the users' ids from the OK
//! packet's last_insert_id: the first id of the multi-row INSERT, the rest
//! consecutive (InnoDB with innodb_autoinc_lock_mode 0 or 1, checked).

use std::hint::black_box;
use std::time::Instant;

use chrono::NaiveDateTime;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Params, Statement, TxOpts, Value};

use super::{
    expect_rows, group, new_users, sql, uow_titles, Comment, Driver, Eager, Lend, Measured,
    NewUser, Ph, Post, StreamRow, User, EAGER_COMMENTS, EAGER_POSTS, EAGER_USERS, STREAM_ROWS,
    UOW_POSTS_PER_USER, UOW_POST_CHUNK, UOW_USERS,
};
use crate::harness::Res;
use crate::peer_protocol::{measure, measure_timed};

type UserRow = (i64, String, String, i32, NaiveDateTime);

pub(crate) struct My {
    conn: Conn,
    load: Statement,
    join: Statement,
    pk: Statement,
    eager_users: Statement,
    eager_posts: Statement,
    eager_comments: Statement,
}

/// unit_of_work's statements and values, ready before timing.
struct Uow {
    users: Statement,
    posts: Statement,
    delete_posts: Statement,
    delete_users: Statement,
    new_users: Vec<NewUser>,
    titles: Vec<String>,
}

fn user((id, name, email, age, created_at): UserRow) -> User {
    User {
        id,
        name,
        email,
        age,
        created_at,
    }
}

fn user_params(rows: &[NewUser]) -> Params {
    let mut p = Vec::with_capacity(rows.len() * 4);
    for u in rows {
        p.extend([
            Value::from(u.name.as_str()),
            Value::from(u.email.as_str()),
            Value::from(u.age),
            Value::from(u.created_at),
        ]);
    }
    Params::Positional(p)
}

fn id_params(ids: impl Iterator<Item = i64>) -> Params {
    Params::Positional(ids.map(Value::from).collect())
}

impl My {
    pub async fn connect(url: &str) -> Res<Self> {
        let mut conn = crate::mysql::connect(url).await?;
        Ok(My {
            load: conn.prep(sql::load_users(Ph::Question)).await?,
            join: conn.prep(sql::join(Ph::Question)).await?,
            pk: conn.prep(sql::pk(Ph::Question)).await?,
            eager_users: conn.prep(sql::EAGER_USERS).await?,
            eager_posts: conn
                .prep(sql::eager_posts(EAGER_USERS, Ph::Question))
                .await?,
            eager_comments: conn
                .prep(sql::eager_comments(EAGER_POSTS, Ph::Question))
                .await?,
            conn,
        })
    }

    pub async fn close(self) {
        let _ = self.conn.disconnect().await;
    }

    async fn load_users(&mut self, n: usize) -> Res<Vec<User>> {
        let users = self.conn.exec_map(&self.load, (n as u64,), user).await?;
        expect_rows("load_users", users.len(), n)?;
        Ok(users)
    }

    async fn join(&mut self, n: usize) -> Res<Vec<(User, Option<Post>)>> {
        type JoinRow = (
            i64,
            String,
            String,
            i32,
            NaiveDateTime,
            Option<i64>,
            Option<i64>,
            Option<String>,
        );
        let rows: Vec<(User, Option<Post>)> = self
            .conn
            .exec_map(
                &self.join,
                (n as i64,),
                |(id, name, email, age, created_at, pid, user_id, title): JoinRow| {
                    let post = match (pid, user_id, title) {
                        (Some(id), Some(user_id), Some(title)) => Some(Post { id, user_id, title }),
                        _ => None,
                    };
                    (user((id, name, email, age, created_at)), post)
                },
            )
            .await?;
        expect_rows("users_join_posts", rows.len(), 10 * n)?;
        Ok(rows)
    }

    async fn insert_users(&mut self, st: &Statement, rows: &[NewUser]) -> Res<()> {
        let mut tx = self.conn.start_transaction(TxOpts::default()).await?;
        tx.exec_drop(st, user_params(rows)).await?;
        let k = tx.affected_rows();
        tx.rollback().await?;
        expect_rows("insert_users", k as usize, rows.len())
    }

    async fn eager(&mut self) -> Res<Eager> {
        let users: Vec<User> = self.conn.exec_map(&self.eager_users, (), user).await?;
        // The statements are prepared for 100 users and 1 000 posts.
        expect_rows("eager_load users", users.len(), EAGER_USERS)?;
        let posts: Vec<Post> = self
            .conn
            .exec_map(
                &self.eager_posts,
                id_params(users.iter().map(|u| u.id)),
                |(id, user_id, title)| Post { id, user_id, title },
            )
            .await?;
        expect_rows("eager_load posts", posts.len(), EAGER_POSTS)?;
        let comments: Vec<Comment> = self
            .conn
            .exec_map(
                &self.eager_comments,
                id_params(posts.iter().map(|p| p.id)),
                |(id, post_id, body)| Comment { id, post_id, body },
            )
            .await?;
        expect_rows("eager_load comments", comments.len(), EAGER_COMMENTS)?;
        group(users, posts, comments)
    }

    async fn pk(&mut self, id: i64) -> Res<User> {
        let row: Option<UserRow> = self.conn.exec_first(&self.pk, (id,)).await?;
        Ok(user(row.ok_or_else(|| format!("pk_lookup: no user {id}"))?))
    }

    /// None when ids of a multi-row INSERT may not be consecutive.
    async fn prepare_uow(&mut self) -> Res<Option<Uow>> {
        let mode: Option<i64> = self
            .conn
            .query_first("SELECT @@innodb_autoinc_lock_mode")
            .await?;
        if !matches!(mode, Some(0 | 1)) {
            return Ok(None);
        }
        Ok(Some(Uow {
            users: self
                .conn
                .prep(sql::insert_users(UOW_USERS, Ph::Question))
                .await?,
            posts: self
                .conn
                .prep(sql::insert_posts(UOW_POST_CHUNK, Ph::Question))
                .await?,
            delete_posts: self
                .conn
                .prep("DELETE FROM posts WHERE user_id BETWEEN ? AND ?")
                .await?,
            delete_users: self
                .conn
                .prep("DELETE FROM users WHERE id BETWEEN ? AND ?")
                .await?,
            new_users: new_users(UOW_USERS),
            titles: uow_titles(),
        }))
    }

    /// BEGIN; 1 000 users; 5 000 posts; COMMIT — timed, in µs. Then the
    /// rows are deleted, untimed.
    async fn unit_of_work(&mut self, uow: &Uow) -> Res<f64> {
        let start = Instant::now();
        let mut tx = self.conn.start_transaction(TxOpts::default()).await?;
        tx.exec_drop(&uow.users, user_params(&uow.new_users))
            .await?;
        expect_rows("unit_of_work users", tx.affected_rows() as usize, UOW_USERS)?;
        let first = tx
            .last_insert_id()
            .ok_or("unit_of_work: no last_insert_id")? as i64;
        let post_user = (first..first + UOW_USERS as i64)
            .flat_map(|id| std::iter::repeat_n(id, UOW_POSTS_PER_USER))
            .collect::<Vec<i64>>();
        for (uids, titles) in post_user
            .chunks(UOW_POST_CHUNK)
            .zip(uow.titles.chunks(UOW_POST_CHUNK))
        {
            let mut p = Vec::with_capacity(uids.len() * 2);
            for (&uid, title) in uids.iter().zip(titles) {
                p.extend([Value::from(uid), Value::from(title.as_str())]);
            }
            tx.exec_drop(&uow.posts, Params::Positional(p)).await?;
            expect_rows(
                "unit_of_work posts",
                tx.affected_rows() as usize,
                uids.len(),
            )?;
        }
        tx.commit().await?;
        let us = start.elapsed().as_secs_f64() * 1e6;

        let last = first + UOW_USERS as i64 - 1;
        let mut tx = self.conn.start_transaction(TxOpts::default()).await?;
        tx.exec_drop(&uow.delete_posts, (first, last)).await?;
        tx.exec_drop(&uow.delete_users, (first, last)).await?;
        expect_rows(
            "unit_of_work cleanup",
            tx.affected_rows() as usize,
            UOW_USERS,
        )?;
        tx.commit().await?;
        Ok(us)
    }

    async fn has_stream_table(&mut self) -> Res<bool> {
        let n: Option<i64> = self
            .conn
            .query_first(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = 'stream_rows'",
            )
            .await?;
        Ok(n.unwrap_or(0) > 0)
    }

    /// Every row of stream_rows, read off the wire one at a time, summing `a`.
    async fn stream(&mut self, st: &Statement) -> Res<i64> {
        let mut result = self.conn.exec_iter(st, ()).await?;
        let (mut sum, mut count) = (0i64, 0usize);
        while let Some(r) = result.next().await? {
            let (id, a, b): (i64, i32, String) = mysql_async::from_row_opt(r)?;
            let row = StreamRow { id, a, b };
            sum += i64::from(row.a);
            count += 1;
            black_box(row);
        }
        drop(result);
        expect_rows("stream_rows", count, STREAM_ROWS)?;
        Ok(sum)
    }
}

impl Driver for My {
    async fn workload(&mut self, name: &str, n: usize, quick: bool) -> Res<Option<Measured>> {
        let us = match name {
            "load_users" => {
                let slot = &Lend::new(self);
                measure(quick, move || {
                    slot.with(async move |my: &mut My| {
                        black_box(my.load_users(n).await?);
                        Ok(())
                    })
                })
                .await?
            }
            "users_join_posts" => {
                let slot = &Lend::new(self);
                measure(quick, move || {
                    slot.with(async move |my: &mut My| {
                        black_box(my.join(n).await?);
                        Ok(())
                    })
                })
                .await?
            }
            "insert_users" => {
                let rows = new_users(n);
                let st = self.conn.prep(sql::insert_users(n, Ph::Question)).await?;
                let (rows, st) = (&rows, &st);
                let slot = &Lend::new(self);
                measure(quick, move || {
                    slot.with(async move |my: &mut My| my.insert_users(st, rows).await)
                })
                .await?
            }
            "eager_load" => {
                let slot = &Lend::new(self);
                measure(quick, move || {
                    slot.with(async move |my: &mut My| {
                        black_box(my.eager().await?);
                        Ok(())
                    })
                })
                .await?
            }
            "pk_lookup" => {
                let slot = &Lend::new(self);
                let mut i = 0usize;
                measure(quick, move || {
                    let id = (i % 10_000) as i64 + 1;
                    i += 1;
                    slot.with(async move |my: &mut My| {
                        black_box(my.pk(id).await?);
                        Ok(())
                    })
                })
                .await?
            }
            "unit_of_work" => {
                let Some(uow) = self.prepare_uow().await? else {
                    eprintln!(
                        "[raw mysql] unit_of_work: innodb_autoinc_lock_mode is not 0 or 1, \
                         the ids of a multi-row INSERT may not be consecutive; skipped"
                    );
                    return Ok(None);
                };
                let uow = &uow;
                let slot = &Lend::new(self);
                measure_timed(quick, move || {
                    slot.with(async move |my: &mut My| my.unit_of_work(uow).await)
                })
                .await?
            }
            "stream_rows" => {
                if !self.has_stream_table().await? {
                    eprintln!("[raw mysql] stream_rows: no stream_rows table; skipped");
                    return Ok(None);
                }
                let st = self.conn.prep(sql::STREAM).await?;
                let st = &st;
                let slot = &Lend::new(self);
                let us = measure(quick, move || {
                    slot.with(async move |my: &mut My| {
                        black_box(my.stream(st).await?);
                        Ok(())
                    })
                })
                .await?;
                return Ok(Measured::with_rss(us));
            }
            other => {
                eprintln!("[raw mysql] {other}: unknown workload; skipped");
                return Ok(None);
            }
        };
        Ok(Measured::us(us))
    }
}
