//! tokio-postgres: one `Client`, every statement prepared up front and kept.
//!
//! stream_rows reads through a portal in batches (`Transaction::bind` +
//! `query_portal`): `query_raw`'s `RowStream` is only a
//! `futures_core::Stream`, and the bench crate has no futures dependency to
//! poll it with. Memory stays bounded by the batch all the same.

use std::hint::black_box;
use std::time::Instant;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Row, Statement};

use super::{
    expect_rows, group, new_users, sql, uow_titles, Comment, Driver, Eager, Lend, Measured,
    NewUser, Ph, Post, StreamRow, User, EAGER_COMMENTS, EAGER_POSTS, EAGER_USERS, STREAM_ROWS,
    UOW_POSTS_PER_USER, UOW_POST_CHUNK, UOW_USERS,
};
use crate::harness::Res;
use crate::peer_protocol::{measure, measure_timed};

type Param<'a> = &'a (dyn ToSql + Sync);

/// Rows per round trip of stream_rows's portal.
const STREAM_BATCH: i32 = 10_000;

pub(crate) struct Pg {
    client: Client,
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

fn user(r: &Row) -> User {
    User {
        id: r.get(0),
        name: r.get(1),
        email: r.get(2),
        age: r.get(3),
        created_at: r.get(4),
    }
}

fn user_params(rows: &[NewUser]) -> Vec<Param<'_>> {
    let mut p: Vec<Param<'_>> = Vec::with_capacity(rows.len() * 4);
    for u in rows {
        p.extend([&u.name as Param<'_>, &u.email, &u.age, &u.created_at]);
    }
    p
}

fn id_params(ids: &[i64]) -> Vec<Param<'_>> {
    ids.iter().map(|i| i as Param<'_>).collect()
}

impl Pg {
    pub async fn connect(url: &str) -> Res<Self> {
        let client = crate::postgres::connect(url).await?;
        Ok(Pg {
            load: client.prepare(&sql::load_users(Ph::Dollar)).await?,
            join: client.prepare(&sql::join(Ph::Dollar)).await?,
            pk: client.prepare(&sql::pk(Ph::Dollar)).await?,
            eager_users: client.prepare(sql::EAGER_USERS).await?,
            eager_posts: client
                .prepare(&sql::eager_posts(EAGER_USERS, Ph::Dollar))
                .await?,
            eager_comments: client
                .prepare(&sql::eager_comments(EAGER_POSTS, Ph::Dollar))
                .await?,
            client,
        })
    }

    async fn load_users(&self, n: usize) -> Res<Vec<User>> {
        let users: Vec<User> = self
            .client
            .query(&self.load, &[&(n as i64)])
            .await?
            .iter()
            .map(user)
            .collect();
        expect_rows("load_users", users.len(), n)?;
        Ok(users)
    }

    async fn join(&self, n: usize) -> Res<Vec<(User, Option<Post>)>> {
        let rows: Vec<(User, Option<Post>)> = self
            .client
            .query(&self.join, &[&(n as i64)])
            .await?
            .iter()
            .map(|r| {
                let post = r.get::<_, Option<i64>>(5).map(|id| Post {
                    id,
                    user_id: r.get(6),
                    title: r.get(7),
                });
                (user(r), post)
            })
            .collect();
        expect_rows("users_join_posts", rows.len(), 10 * n)?;
        Ok(rows)
    }

    async fn insert_users(&mut self, st: &Statement, rows: &[NewUser]) -> Res<()> {
        let tx = self.client.transaction().await?;
        let k = tx.execute(st, &user_params(rows)).await?;
        tx.rollback().await?;
        expect_rows("insert_users", k as usize, rows.len())
    }

    async fn eager(&self) -> Res<Eager> {
        let users: Vec<User> = self
            .client
            .query(&self.eager_users, &[])
            .await?
            .iter()
            .map(user)
            .collect();
        // The statements are prepared for 100 users and 1 000 posts.
        expect_rows("eager_load users", users.len(), EAGER_USERS)?;
        let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        let posts: Vec<Post> = self
            .client
            .query(&self.eager_posts, &id_params(&ids))
            .await?
            .iter()
            .map(|r| Post {
                id: r.get(0),
                user_id: r.get(1),
                title: r.get(2),
            })
            .collect();
        expect_rows("eager_load posts", posts.len(), EAGER_POSTS)?;
        let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
        let comments: Vec<Comment> = self
            .client
            .query(&self.eager_comments, &id_params(&ids))
            .await?
            .iter()
            .map(|r| Comment {
                id: r.get(0),
                post_id: r.get(1),
                body: r.get(2),
            })
            .collect();
        expect_rows("eager_load comments", comments.len(), EAGER_COMMENTS)?;
        group(users, posts, comments)
    }

    async fn pk(&self, id: i64) -> Res<User> {
        Ok(user(&self.client.query_one(&self.pk, &[&id]).await?))
    }

    async fn prepare_uow(&self) -> Res<Uow> {
        let users = format!("{} RETURNING id", sql::insert_users(UOW_USERS, Ph::Dollar));
        Ok(Uow {
            users: self.client.prepare(&users).await?,
            posts: self
                .client
                .prepare(&sql::insert_posts(UOW_POST_CHUNK, Ph::Dollar))
                .await?,
            delete_posts: self
                .client
                .prepare("DELETE FROM posts WHERE user_id = ANY($1)")
                .await?,
            delete_users: self
                .client
                .prepare("DELETE FROM users WHERE id = ANY($1)")
                .await?,
            new_users: new_users(UOW_USERS),
            titles: uow_titles(),
        })
    }

    /// BEGIN; 1 000 users (RETURNING id); 5 000 posts; COMMIT — timed, in
    /// µs. Then the rows are deleted, untimed.
    async fn unit_of_work(&mut self, uow: &Uow) -> Res<f64> {
        let start = Instant::now();
        let tx = self.client.transaction().await?;
        let ids: Vec<i64> = tx
            .query(&uow.users, &user_params(&uow.new_users))
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        expect_rows("unit_of_work users", ids.len(), UOW_USERS)?;
        let post_user: Vec<i64> = ids
            .iter()
            .flat_map(|&id| std::iter::repeat_n(id, UOW_POSTS_PER_USER))
            .collect();
        for (uids, titles) in post_user
            .chunks(UOW_POST_CHUNK)
            .zip(uow.titles.chunks(UOW_POST_CHUNK))
        {
            let mut p: Vec<Param<'_>> = Vec::with_capacity(uids.len() * 2);
            for (uid, title) in uids.iter().zip(titles) {
                p.extend([uid as Param<'_>, title]);
            }
            let k = tx.execute(&uow.posts, &p).await?;
            expect_rows("unit_of_work posts", k as usize, uids.len())?;
        }
        tx.commit().await?;
        let us = start.elapsed().as_secs_f64() * 1e6;

        let tx = self.client.transaction().await?;
        tx.execute(&uow.delete_posts, &[&ids]).await?;
        tx.execute(&uow.delete_users, &[&ids]).await?;
        tx.commit().await?;
        Ok(us)
    }

    async fn has_stream_table(&self) -> Res<bool> {
        let row = self
            .client
            .query_one("SELECT to_regclass('stream_rows') IS NOT NULL", &[])
            .await?;
        Ok(row.get(0))
    }

    /// Every row of stream_rows through a portal, `STREAM_BATCH` rows per
    /// round trip, summing `a`.
    async fn stream(&mut self, st: &Statement) -> Res<i64> {
        let tx = self.client.transaction().await?;
        let portal = tx.bind(st, &[]).await?;
        let (mut sum, mut count) = (0i64, 0usize);
        loop {
            let rows = tx.query_portal(&portal, STREAM_BATCH).await?;
            for r in &rows {
                let row = StreamRow {
                    id: r.get(0),
                    a: r.get(1),
                    b: r.get(2),
                };
                sum += i64::from(row.a);
                count += 1;
                black_box(row);
            }
            if rows.len() < STREAM_BATCH as usize {
                break;
            }
        }
        tx.commit().await?;
        expect_rows("stream_rows", count, STREAM_ROWS)?;
        Ok(sum)
    }
}

impl Driver for Pg {
    async fn workload(&mut self, name: &str, n: usize, quick: bool) -> Res<Option<Measured>> {
        let us = match name {
            "load_users" => {
                let pg = &*self;
                measure(quick, move || async move {
                    black_box(pg.load_users(n).await?);
                    Ok(())
                })
                .await?
            }
            "users_join_posts" => {
                let pg = &*self;
                measure(quick, move || async move {
                    black_box(pg.join(n).await?);
                    Ok(())
                })
                .await?
            }
            "insert_users" => {
                let rows = new_users(n);
                let st = self
                    .client
                    .prepare(&sql::insert_users(n, Ph::Dollar))
                    .await?;
                let (rows, st) = (&rows, &st);
                let slot = &Lend::new(self);
                measure(quick, move || {
                    slot.with(async move |pg: &mut Pg| pg.insert_users(st, rows).await)
                })
                .await?
            }
            "eager_load" => {
                let pg = &*self;
                measure(quick, move || async move {
                    black_box(pg.eager().await?);
                    Ok(())
                })
                .await?
            }
            "pk_lookup" => {
                let pg = &*self;
                let mut i = 0usize;
                measure(quick, move || {
                    let id = (i % 10_000) as i64 + 1;
                    i += 1;
                    async move {
                        black_box(pg.pk(id).await?);
                        Ok(())
                    }
                })
                .await?
            }
            "unit_of_work" => {
                let uow = self.prepare_uow().await?;
                let uow = &uow;
                let slot = &Lend::new(self);
                measure_timed(quick, move || {
                    slot.with(async move |pg: &mut Pg| pg.unit_of_work(uow).await)
                })
                .await?
            }
            "stream_rows" => {
                if !self.has_stream_table().await? {
                    eprintln!("[raw postgres] stream_rows: no stream_rows table; skipped");
                    return Ok(None);
                }
                let st = self.client.prepare(sql::STREAM).await?;
                let st = &st;
                let slot = &Lend::new(self);
                let us = measure(quick, move || {
                    slot.with(async move |pg: &mut Pg| {
                        black_box(pg.stream(st).await?);
                        Ok(())
                    })
                })
                .await?;
                return Ok(Measured::with_rss(us));
            }
            other => {
                eprintln!("[raw postgres] {other}: unknown workload; skipped");
                return Ok(None);
            }
        };
        Ok(Measured::us(us))
    }
}
