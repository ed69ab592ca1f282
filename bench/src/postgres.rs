//! PostgreSQL: tokio-postgres against Aludel, in a database of their own.

use std::collections::HashMap;
use std::time::Duration;

use aludel::{params, Connection, Engine, Text};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Statement};

use crate::data::{self, InsertCase, Placeholder, User, SEED_ROWS, TABLE};
use crate::harness::{run_all, Backend, Res, Settings};
use crate::{Outcome, BENCH_DB};

pub struct Postgres {
    raw: Client,
    engine: Engine,
    conn: Connection,
    select_stmt: Statement,
    select_text: Text,
    inserts: HashMap<usize, InsertCase<Statement>>,
}

const SCHEMA: &str = "CREATE TABLE bench_users (
    id BIGSERIAL PRIMARY KEY,
    name VARCHAR(50) NOT NULL,
    email VARCHAR(100) NOT NULL,
    age INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
)";

pub(crate) async fn connect(url: &str) -> Res<Client> {
    let (client, connection) =
        tokio::time::timeout(Duration::from_secs(5), tokio_postgres::connect(url, NoTls)).await??;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

async fn drop_database(admin: &Client) -> Res<()> {
    let sql = format!("DROP DATABASE IF EXISTS {BENCH_DB}");
    // WITH (FORCE) (PostgreSQL 13+) ends connections the pool still closes.
    if admin
        .batch_execute(&format!("{sql} WITH (FORCE)"))
        .await
        .is_err()
    {
        admin.batch_execute(&sql).await?;
    }
    Ok(())
}

pub async fn bench(url: &str, s: &Settings) -> Outcome {
    let admin = match connect(url).await {
        Ok(c) => c,
        Err(e) => return Outcome::Skipped(format!("PostgreSQL server unreachable: {e}")),
    };
    let server = match admin.query_one("SHOW server_version", &[]).await {
        Ok(row) => format!("PostgreSQL {}", row.get::<_, String>(0)),
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let created = async {
        drop_database(&admin).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {BENCH_DB}"))
            .await?;
        Res::Ok(())
    }
    .await;
    if let Err(e) = created {
        return Outcome::Failed(format!("cannot create database {BENCH_DB}: {e}"));
    }
    let db_url = data::with_database(url, BENCH_DB);
    let result = async {
        let mut b = Postgres::setup(&db_url).await?;
        let rows = run_all(&mut b, "postgresql", s).await;
        b.close().await;
        rows
    }
    .await;
    if let Err(e) = drop_database(&admin).await {
        eprintln!("[postgresql] could not drop database {BENCH_DB}: {e}");
    }
    match result {
        Ok(rows) => Outcome::Done { rows, server },
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

fn args(rows: &[data::NewUser]) -> Vec<&(dyn ToSql + Sync)> {
    let mut args: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(rows.len() * 4);
    for u in rows {
        args.extend([
            &u.name as &(dyn ToSql + Sync),
            &u.email,
            &u.age,
            &u.created_at,
        ]);
    }
    args
}

impl Postgres {
    async fn setup(url: &str) -> Res<Self> {
        let mut raw = connect(url).await?;
        raw.batch_execute(SCHEMA).await?;
        let seed = data::new_users(SEED_ROWS, 0);
        let insert = raw
            .prepare(&data::insert_sql(1000, Placeholder::Dollar))
            .await?;
        let tx = raw.transaction().await?;
        for chunk in seed.chunks(1000) {
            tx.execute(&insert, &args(chunk)).await?;
        }
        tx.commit().await?;
        raw.batch_execute(&format!("ANALYZE {TABLE}")).await?;
        let select_stmt = raw.prepare(&data::select_sql("$1")).await?;

        let engine = aludel::create_engine(url)?;
        let conn = engine.connect().await?;
        Ok(Postgres {
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
            eprintln!("[postgresql] closing Aludel's connection: {e}");
        }
        self.engine.dispose();
        drop(self.raw);
    }
}

impl Backend for Postgres {
    async fn select_raw(&mut self, n: usize) -> Res<Vec<User>> {
        let rows = self.raw.query(&self.select_stmt, &[&(n as i64)]).await?;
        let users = rows
            .iter()
            .map(|r| User {
                id: r.get(0),
                name: r.get(1),
                email: r.get(2),
                age: r.get(3),
                created_at: r.get(4),
            })
            .collect();
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
            .prepare(&data::insert_sql(n, Placeholder::Dollar))
            .await?;
        self.inserts
            .insert(n, InsertCase::new(n, Placeholder::Dollar, stmt));
        Ok(())
    }

    async fn insert_raw(&mut self, n: usize) -> Res<u64> {
        let case = &self.inserts[&n];
        let tx = self.raw.transaction().await?;
        let k = tx.execute(&case.raw, &args(&case.rows)).await?;
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
        self.raw.batch_execute(&format!("TRUNCATE {TABLE}")).await?;
        Ok(())
    }

    async fn begin_selects(&mut self) -> Res<()> {
        self.raw.batch_execute("BEGIN").await?;
        Ok(())
    }

    async fn end_selects(&mut self) -> Res<()> {
        self.raw.batch_execute("ROLLBACK").await?;
        self.conn.rollback().await?;
        Ok(())
    }
}
