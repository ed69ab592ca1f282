//! SQLite: rusqlite against Aludel, on one database file in a temp dir.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use aludel::{params, Connection, Engine, Text};
use rusqlite::ToSql;

use crate::data::{self, InsertCase, Placeholder, User, SEED_ROWS, TABLE};
use crate::harness::{run_all, Backend, Res, Settings};
use crate::Outcome;

pub struct Sqlite {
    raw: rusqlite::Connection,
    engine: Engine,
    conn: Connection,
    select_sql: String,
    select_text: Text,
    /// rusqlite's own statement cache holds the raw prepared statements.
    inserts: HashMap<usize, InsertCase<()>>,
}

const SCHEMA: &str = "CREATE TABLE bench_users (
    id INTEGER PRIMARY KEY,
    name VARCHAR(50) NOT NULL,
    email VARCHAR(100) NOT NULL,
    age INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
)";

pub async fn bench(s: &Settings) -> Outcome {
    let dir = std::env::temp_dir().join(format!("aludel-bench-{}", std::process::id()));
    let result = async {
        std::fs::create_dir_all(&dir)?;
        let mut b = Sqlite::setup(dir.join("bench.db")).await?;
        let rows = run_all(&mut b, "sqlite", s).await;
        b.close().await;
        rows
    }
    .await;
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("[sqlite] could not remove {}: {e}", dir.display());
    }
    let server = format!("SQLite {} (bundled)", rusqlite::version());
    match result {
        Ok(rows) => Outcome::Done { rows, server },
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

impl Sqlite {
    async fn setup(path: PathBuf) -> Res<Self> {
        let mut raw = rusqlite::Connection::open(&path)?;
        raw.set_prepared_statement_cache_capacity(64);
        raw.busy_timeout(Duration::from_secs(5))?;
        // WAL and synchronous=NORMAL, the usual production settings; with the
        // default rollback journal every COMMIT is several fsyncs.
        let mode: String = raw.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!("SQLite refused WAL mode ({mode})").into());
        }
        raw.execute_batch("PRAGMA synchronous = NORMAL")?;
        raw.execute_batch(SCHEMA)?;

        let seed = data::new_users(SEED_ROWS, 0);
        let sql = data::insert_sql(1000, Placeholder::Question);
        let tx = raw.transaction()?;
        for chunk in seed.chunks(1000) {
            let mut stmt = tx.prepare_cached(&sql)?;
            stmt.execute(rusqlite::params_from_iter(args(chunk)))?;
        }
        tx.commit()?;
        raw.execute_batch("ANALYZE")?;

        // sqlite:////abs/path.db
        let engine = aludel::create_engine(format!("sqlite:///{}", path.display()))?;
        let mut conn = engine.connect().await?;
        // synchronous is per connection; it cannot be set inside a transaction.
        conn.set_autocommit(true)?;
        conn.exec_driver_sql("PRAGMA synchronous = NORMAL", &[])
            .await?;
        conn.set_autocommit(false)?;
        Ok(Sqlite {
            raw,
            engine,
            conn,
            select_sql: data::select_sql("?"),
            select_text: aludel::text(data::SELECT_NAMED),
            inserts: HashMap::new(),
        })
    }

    async fn close(self) {
        if let Err(e) = self.conn.close().await {
            eprintln!("[sqlite] closing Aludel's connection: {e}");
        }
        self.engine.dispose();
        drop(self.raw);
    }
}

fn args(rows: &[data::NewUser]) -> Vec<&dyn ToSql> {
    let mut args: Vec<&dyn ToSql> = Vec::with_capacity(rows.len() * 4);
    for u in rows {
        args.extend([&u.name as &dyn ToSql, &u.email, &u.age, &u.created_at]);
    }
    args
}

impl Backend for Sqlite {
    async fn select_raw(&mut self, n: usize) -> Res<Vec<User>> {
        let mut stmt = self.raw.prepare_cached(&self.select_sql)?;
        let users = stmt
            .query_map([n as i64], |r| {
                Ok(User {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    email: r.get(2)?,
                    age: r.get(3)?,
                    created_at: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
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
        self.inserts
            .insert(n, InsertCase::new(n, Placeholder::Question, ()));
        Ok(())
    }

    async fn insert_raw(&mut self, n: usize) -> Res<u64> {
        let case = &self.inserts[&n];
        let tx = self.raw.transaction()?;
        let k = tx
            .prepare_cached(&case.driver_sql)?
            .execute(rusqlite::params_from_iter(args(&case.rows)))?;
        tx.commit()?;
        Ok(k as u64)
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
        self.raw.execute_batch(&format!("DELETE FROM {TABLE}"))?;
        Ok(())
    }

    async fn begin_selects(&mut self) -> Res<()> {
        self.raw.execute_batch("BEGIN")?;
        Ok(())
    }

    async fn end_selects(&mut self) -> Res<()> {
        self.raw.execute_batch("ROLLBACK")?;
        self.conn.rollback().await?;
        Ok(())
    }
}
