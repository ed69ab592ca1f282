//! Cancellation safety: transactions abandoned at random await points (by
//! timeouts and by aborted tasks) never leak a connection, never leave a
//! server session idle in a transaction, and never half-commit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aludel::{params, text, Engine};

use crate::harness::{idle_in_transaction, settle, Kind, TestDb};

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One unit of work: two rows that must land together or not at all.
async fn transfer(engine: &Engine, id: i64) -> aludel::Result<()> {
    let mut conn = engine.connect().await?;
    let mut tx = conn.begin().await?;
    tx.execute(
        text("INSERT INTO ledger (txn, part) VALUES (:t, 1)"),
        params! { "t": id },
    )
    .await?;
    tx.execute(
        text("SELECT count(*) FROM ledger WHERE txn = :t"),
        params! { "t": id },
    )
    .await?;
    tx.execute(
        text("INSERT INTO ledger (txn, part) VALUES (:t, 2)"),
        params! { "t": id },
    )
    .await?;
    tx.commit().await
}

async fn random_cancellation(db: TestDb) -> aludel::Result<()> {
    let engine = db.builder().pool_size(4).max_overflow(2).build()?;
    engine
        .execute(
            text("CREATE TABLE ledger (txn BIGINT NOT NULL, part INTEGER NOT NULL)"),
            (),
        )
        .await?;
    let total: u64 = if db.kind == Kind::Sqlite { 3000 } else { 2000 };
    let done = Arc::new(AtomicU64::new(0));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ total);
    let mut i = 0u64;
    while i < total {
        // A wave of concurrent units, each cancelled at a random point.
        let mut handles = Vec::new();
        for _ in 0..8 {
            i += 1;
            let engine = engine.clone();
            let done = done.clone();
            let id = i as i64;
            let budget = Duration::from_micros(rng.next() % 1500);
            let abort_after = rng.next() % 4;
            let how = rng.next() % 3;
            let handle = tokio::spawn(async move {
                let work = async {
                    if transfer(&engine, id).await.is_ok() {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                };
                match how {
                    0 => work.await,
                    _ => {
                        let _ = tokio::time::timeout(budget, work).await;
                    }
                }
            });
            handles.push((handle, abort_after));
        }
        for (handle, abort_after) in handles {
            for _ in 0..abort_after {
                tokio::task::yield_now().await;
            }
            if abort_after == 3 {
                handle.abort();
            }
            let _ = handle.await;
        }
    }
    eprintln!("committed {} of {total}", done.load(Ordering::Relaxed));
    let status = settle(&engine).await;
    assert_eq!(status.checked_out, 0, "a connection leaked: {status}");
    let committed = done.load(Ordering::Relaxed);
    assert!(
        committed > 0 && committed < total,
        "cancellation must hit some but not all: {committed}/{total}"
    );
    let half: Vec<i64> = engine
        .execute(
            text("SELECT txn FROM ledger GROUP BY txn HAVING count(*) <> 2"),
            (),
        )
        .await?
        .scalars()?;
    assert!(half.is_empty(), "half-committed units: {half:?}");
    let rows: i64 = engine
        .execute(text("SELECT count(*) FROM ledger"), ())
        .await?
        .scalar_one()?;
    assert!(
        rows >= 2 * committed as i64,
        "{rows} rows for {committed} committed units"
    );
    if db.kind != Kind::Sqlite {
        let idle = idle_in_transaction(&db, &engine).await?;
        assert_eq!(idle, 0, "server sessions left idle in a transaction");
    }
    // Every pooled connection still works.
    let conns = futures_join_all(&engine, 6).await?;
    assert_eq!(conns, 6);
    Ok(())
}

async fn futures_join_all(engine: &Engine, n: usize) -> aludel::Result<usize> {
    let mut held = Vec::new();
    for _ in 0..n {
        let mut c = engine.connect().await?;
        c.execute(text("SELECT 1"), ()).await?;
        held.push(c);
    }
    Ok(held.len())
}

all_backends!(random_cancellation);
