//! MySQL/MariaDB: mysql_async against Aludel, in a database of their own.

use std::collections::HashMap;
use std::time::Duration;

use aludel::{params, Connection, Engine, Text};
use chrono::NaiveDateTime;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder, Params, Statement, TxOpts};

use crate::data::{self, InsertCase, Placeholder, User, SEED_ROWS, TABLE};
use crate::harness::{run_all, Backend, Res, Settings};
use crate::{Outcome, BENCH_DB};

pub struct Mysql {
    raw: Conn,
    engine: Engine,
    conn: Connection,
    select_stmt: Statement,
    select_text: Text,
    inserts: HashMap<usize, InsertCase<Statement>>,
}

// DATETIME rather than TIMESTAMP: MySQL's TIMESTAMP is converted through
// the session time zone and ends in 2038.
const SCHEMA: &str = "CREATE TABLE bench_users (
    id BIGINT AUTO_INCREMENT PRIMARY KEY,
    name VARCHAR(50) NOT NULL,
    email VARCHAR(100) NOT NULL,
    age INT NOT NULL,
    created_at DATETIME NOT NULL
) ENGINE=InnoDB";

pub(crate) async fn connect(url: &str) -> Res<Conn> {
    // mysql_async's default (prefer_socket) reconnects a 127.0.0.1
    // connection through the server's Unix socket; Aludel stays on TCP, so
    // the raw side does too: both pay the same round trip.
    let opts = OptsBuilder::from_opts(Opts::from_url(url)?).prefer_socket(false);
    Ok(tokio::time::timeout(Duration::from_secs(5), Conn::new(opts)).await??)
}

pub async fn bench(url: &str, s: &Settings) -> Outcome {
    let mut admin = match connect(url).await {
        Ok(c) => c,
        Err(e) => return Outcome::Skipped(format!("MySQL/MariaDB server unreachable: {e}")),
    };
    let server = match admin.query_first::<String, _>("SELECT VERSION()").await {
        Ok(v) => format!("MySQL/MariaDB {}", v.unwrap_or_default()),
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let drop_sql = format!("DROP DATABASE IF EXISTS {BENCH_DB}");
    let create_sql = format!("CREATE DATABASE {BENCH_DB} CHARACTER SET utf8mb4");
    if let Err(e) = admin.query_drop(&drop_sql).await {
        return Outcome::Failed(e.to_string());
    }
    if let Err(e) = admin.query_drop(&create_sql).await {
        return Outcome::Failed(format!("cannot create database {BENCH_DB}: {e}"));
    }
    let db_url = data::with_database(url, BENCH_DB);
    let result = async {
        let mut b = Mysql::setup(&db_url).await?;
        let rows = run_all(&mut b, "mysql", s).await;
        b.close().await;
        rows
    }
    .await;
    if let Err(e) = admin.query_drop(&drop_sql).await {
        eprintln!("[mysql] could not drop database {BENCH_DB}: {e}");
    }
    let _ = admin.disconnect().await;
    match result {
        Ok(rows) => Outcome::Done { rows, server },
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

fn args(rows: &[data::NewUser]) -> Params {
    let mut args = Vec::with_capacity(rows.len() * 4);
    for u in rows {
        args.push(mysql_async::Value::from(u.name.as_str()));
        args.push(mysql_async::Value::from(u.email.as_str()));
        args.push(mysql_async::Value::from(u.age));
        args.push(mysql_async::Value::from(u.created_at));
    }
    Params::Positional(args)
}

impl Mysql {
    async fn setup(url: &str) -> Res<Self> {
        let mut raw = connect(url).await?;
        raw.query_drop(SCHEMA).await?;
        let seed = data::new_users(SEED_ROWS, 0);
        let insert = raw
            .prep(data::insert_sql(1000, Placeholder::Question))
            .await?;
        let mut tx = raw.start_transaction(TxOpts::default()).await?;
        for chunk in seed.chunks(1000) {
            tx.exec_drop(&insert, args(chunk)).await?;
        }
        tx.commit().await?;
        raw.query_drop(format!("ANALYZE TABLE {TABLE}")).await?;
        let select_stmt = raw.prep(data::select_sql("?")).await?;

        let engine = aludel::create_engine(url)?;
        let conn = engine.connect().await?;
        Ok(Mysql {
            raw,
            engine,
            conn,
            select_stmt,
            select_text: aludel::text(data::SELECT_NAMED),
            inserts: HashMap::new(),
        })
    }

    async fn close(self) {
        if let Err(e) = self.conn.close().await {
            eprintln!("[mysql] closing Aludel's connection: {e}");
        }
        self.engine.dispose();
        let _ = self.raw.disconnect().await;
    }
}

impl Backend for Mysql {
    async fn select_raw(&mut self, n: usize) -> Res<Vec<User>> {
        let users = self
            .raw
            .exec_map(
                &self.select_stmt,
                (n as u64,),
                |(id, name, email, age, created_at): (i64, String, String, i32, NaiveDateTime)| {
                    User {
                        id,
                        name,
                        email,
                        age,
                        created_at,
                    }
                },
            )
            .await?;
        Ok(users)
    }

    async fn select_aludel(&mut self, n: usize) -> Res<Vec<User>> {
        let users = self
            .conn
            .execute(&self.select_text, params! { "n": n as i64 })
            .await?
            .all_as::<User>()?;
        Ok(users)
    }

    async fn prepare_insert(&mut self, n: usize) -> Res<()> {
        let stmt = self
            .raw
            .prep(data::insert_sql(n, Placeholder::Question))
            .await?;
        self.inserts
            .insert(n, InsertCase::new(n, Placeholder::Question, stmt));
        Ok(())
    }

    async fn insert_raw(&mut self, n: usize) -> Res<u64> {
        let case = &self.inserts[&n];
        let mut tx = self.raw.start_transaction(TxOpts::default()).await?;
        tx.exec_drop(&case.raw, args(&case.rows)).await?;
        let k = tx.affected_rows();
        tx.commit().await?;
        Ok(k)
    }

    async fn insert_aludel_text(&mut self, n: usize) -> Res<u64> {
        let case = &self.inserts[&n];
        let params = data::named_params(&case.rows, &case.names);
        let mut tx = self.conn.begin().await?;
        let k = tx.execute(&case.text, params).await?.rows_affected();
        tx.commit().await?;
        Ok(k)
    }

    async fn insert_aludel_driver_sql(&mut self, n: usize) -> Res<u64> {
        let case = &self.inserts[&n];
        let values = data::positional_values(&case.rows);
        let mut tx = self.conn.begin().await?;
        let k = tx
            .exec_driver_sql(&case.driver_sql, &values)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(k)
    }

    async fn truncate(&mut self) -> Res<()> {
        self.raw
            .query_drop(format!("TRUNCATE TABLE {TABLE}"))
            .await?;
        Ok(())
    }

    async fn begin_selects(&mut self) -> Res<()> {
        self.raw.query_drop("START TRANSACTION").await?;
        Ok(())
    }

    async fn end_selects(&mut self) -> Res<()> {
        self.raw.query_drop("ROLLBACK").await?;
        self.conn.rollback().await?;
        Ok(())
    }
}
