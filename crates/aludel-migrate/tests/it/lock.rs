//! The migration lock: two runners at once, and a timeout naming the holder.

use std::time::Duration;

use aludel_core::schema::{Column, SqlType, Table};
use aludel_core::Connection;
use aludel_migrate::{ErrorKind, Ops, Result, Revision, Revisions, Runner};

use crate::harness::{Kind, TestDb};

fn slow(op: &mut Ops, millis: u64) {
    op.run("wait", move |_conn: &mut Connection| {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Ok(())
        })
    });
}

const R1: Revision = Revision::new("1975ea83b712", &[], "create account")
    .upgrade(|op| {
        op.create_table(
            &Table::builder("account")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .build()?,
        );
        slow(op, 300);
        Ok(())
    })
    .downgrade(|op| {
        op.drop_table("account");
        Ok(())
    });

const R2: Revision = Revision::new("ae1027a6acf0", &["1975ea83b712"], "add plan").upgrade(|op| {
    slow(op, 300);
    op.add_column("account", Column::new("plan", SqlType::string(20)));
    Ok(())
});

/// Long enough for the other runner to time out while this one holds the lock.
const LONG: Revision = Revision::new("27c6a30d7c24", &[], "slow").upgrade(|op| {
    slow(op, 2_000);
    Ok(())
});

async fn two_runners_at_once_run_the_revisions_once(db: &TestDb) -> Result<()> {
    let revs = Revisions::new([R1, R2])?;
    // two engines: two app instances starting together
    let (e1, e2) = (db.engine(), db.engine());
    let (r1, r2) = (Runner::new(&e1, &revs), Runner::new(&e2, &revs));
    let (a, b) = tokio::join!(r1.upgrade("head"), r2.upgrade("head"));
    let (a, b) = (a?, b?);
    let mut counts = [a.len(), b.len()];
    counts.sort();
    assert_eq!(
        counts,
        [0, 2],
        "one runs both revisions, the other finds nothing: {a:?} {b:?}"
    );
    assert_eq!(Runner::new(&e1, &revs).current().await?, ["ae1027a6acf0"]);
    // and again for the downgrade
    let (a, b) = tokio::join!(r1.downgrade("1975ea83b712"), r2.downgrade("1975ea83b712"));
    let mut counts = [a?.len(), b?.len()];
    counts.sort();
    assert_eq!(counts, [0, 1]);
    Ok(())
}

async fn a_waiting_runner_times_out_naming_the_holder(db: &TestDb) -> Result<()> {
    let revs: &'static Revisions = Box::leak(Box::new(Revisions::new([LONG])?));
    let holder_engine = db.engine();
    let holder =
        tokio::spawn(async move { Runner::new(&holder_engine, revs).upgrade("heads").await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let err = Runner::new(&db.engine(), revs)
        .lock_timeout(Duration::from_millis(300))
        .upgrade("heads")
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(1_500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::LockTimeout, "{err}");
    let msg = err.message();
    assert!(msg.contains("the migration lock is held by"), "{msg}");
    match db.kind {
        Kind::Postgres => {
            assert!(msg.contains("PostgreSQL backend pid"), "{msg}");
            let me = format!("aludel-migrate pid {}", std::process::id());
            assert!(msg.contains(&me), "the holder's application_name: {msg}");
        }
        Kind::Mysql => assert!(msg.contains("connection id") && msg.contains('@'), "{msg}"),
        Kind::Sqlite => {
            let me = format!("aludel-migrate pid {}", std::process::id());
            assert!(msg.contains(&me) && msg.contains("flock"), "{msg}");
        }
    }
    let lines = holder.await.expect("holder task")?;
    assert_eq!(lines.len(), 1);
    // released: the next runner gets it at once and has nothing to do
    let again = Runner::new(&db.engine(), revs)
        .lock_timeout(Duration::from_millis(300))
        .upgrade("heads")
        .await?;
    assert!(again.is_empty());
    Ok(())
}

all_backends!(
    two_runners_at_once_run_the_revisions_once,
    a_waiting_runner_times_out_naming_the_holder
);
