//! Engine, Connection and transactions: SQLAlchemy 2.0's two styles.

use aludel::{params, text, Connection, Error, ErrorKind};

use crate::harness::{Kind, TestDb};

async fn setup_table(db: &TestDb, conn: &mut Connection) -> aludel::Result<()> {
    let sql = format!(
        "CREATE TABLE items (id {}, name VARCHAR(50) NOT NULL)",
        db.serial_pk()
    );
    conn.execute(text(sql), ()).await?;
    conn.commit().await
}

async fn names(conn: &mut Connection) -> aludel::Result<Vec<String>> {
    conn.execute(text("SELECT name FROM items ORDER BY id"), ())
        .await?
        .scalars()
}

async fn commit_as_you_go(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    setup_table(&db, &mut conn).await?;
    conn.execute(
        text("INSERT INTO items (name) VALUES (:n)"),
        params! { "n": "kept" },
    )
    .await?;
    assert!(conn.in_transaction(), "the first statement autobegins");
    conn.commit().await?;
    assert!(!conn.in_transaction());
    conn.execute(
        text("INSERT INTO items (name) VALUES (:n)"),
        params! { "n": "undone" },
    )
    .await?;
    conn.rollback().await?;
    conn.execute(
        text("INSERT INTO items (name) VALUES (:n)"),
        params! { "n": "dropped" },
    )
    .await?;
    drop(conn); // never committed
    let mut conn = engine.connect().await?;
    assert_eq!(names(&mut conn).await?, ["kept"]);
    Ok(())
}

async fn begin_once(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    setup_table(&db, &mut engine.connect().await?).await?;
    let mut tx = engine.begin().await?;
    tx.execute(text("INSERT INTO items (name) VALUES ('a')"), ())
        .await?;
    tx.commit().await?;
    {
        let mut tx = engine.begin().await?;
        tx.execute(text("INSERT INTO items (name) VALUES ('b')"), ())
            .await?;
        // dropped without commit: rolled back
    }
    let mut conn = engine.connect().await?;
    {
        let mut tx = conn.begin().await?;
        tx.execute(text("INSERT INTO items (name) VALUES ('c')"), ())
            .await?;
        tx.rollback().await?;
    }
    {
        let mut tx = conn.begin().await?;
        tx.execute(text("INSERT INTO items (name) VALUES ('d')"), ())
            .await?;
    }
    assert_eq!(names(&mut conn).await?, ["a"]);
    let err = assert_err!(conn.begin().await, ErrorKind::Unsupported);
    assert!(err.to_string().contains("begin_nested"), "{err}");
    Ok(())
}

async fn closure_transactions(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    setup_table(&db, &mut engine.connect().await?).await?;
    engine
        .transaction(async |c: &mut Connection| {
            c.execute(text("INSERT INTO items (name) VALUES ('ok')"), ())
                .await?;
            Ok::<_, Error>(())
        })
        .await?;
    let failed = engine
        .transaction(async |c: &mut Connection| {
            c.execute(text("INSERT INTO items (name) VALUES ('lost')"), ())
                .await?;
            c.execute(text("INSERT INTO items (name) VALUES (NULL)"), ())
                .await?;
            Ok::<_, Error>(())
        })
        .await;
    assert_err!(failed, ErrorKind::Integrity(aludel::IntegrityKind::NotNull));
    assert_eq!(names(&mut engine.connect().await?).await?, ["ok"]);
    assert_eq!(crate::harness::settle(&engine).await.checked_out, 0);
    Ok(())
}

async fn savepoints(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    setup_table(&db, &mut conn).await?;
    let mut tx = conn.begin().await?;
    tx.execute(text("INSERT INTO items (name) VALUES ('outer')"), ())
        .await?;
    {
        let mut sp = tx.begin_nested().await?;
        assert!(sp.is_nested());
        sp.execute(text("INSERT INTO items (name) VALUES ('released')"), ())
            .await?;
        sp.commit().await?;
    }
    {
        let mut sp = tx.begin_nested().await?;
        sp.execute(text("INSERT INTO items (name) VALUES ('rolled back')"), ())
            .await?;
        sp.rollback().await?;
    }
    {
        let mut sp = tx.begin_nested().await?;
        sp.execute(text("INSERT INTO items (name) VALUES ('dropped')"), ())
            .await?;
        let mut inner = sp.begin_nested().await?;
        inner
            .execute(text("INSERT INTO items (name) VALUES ('inner')"), ())
            .await?;
        inner.commit().await?;
        // sp dropped: back to its savepoint, including the released inner one
    }
    tx.execute(text("INSERT INTO items (name) VALUES ('after')"), ())
        .await?;
    tx.commit().await?;
    assert_eq!(names(&mut conn).await?, ["outer", "released", "after"]);
    Ok(())
}

/// DDL inside a rolled-back transaction: undone on PostgreSQL and SQLite;
/// MySQL and MariaDB commit implicitly, so the table survives.
async fn ddl_in_transactions(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    conn.execute(text("CREATE TABLE ddl_probe (x INTEGER)"), ())
        .await?;
    conn.rollback().await?;
    let exists = conn
        .execute(text("SELECT count(*) FROM ddl_probe"), ())
        .await;
    let transactional = engine.dialect().supports_transactional_ddl();
    assert_eq!(transactional, db.kind != Kind::Mysql);
    if transactional {
        assert_err!(exists, ErrorKind::Syntax);
    } else {
        assert_eq!(exists?.scalar_one::<i64>()?, 0);
    }
    Ok(())
}

async fn engine_execute_autocommits(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    setup_table(&db, &mut engine.connect().await?).await?;
    engine
        .execute(text("INSERT INTO items (name) VALUES ('direct')"), ())
        .await?;
    // Autocommit: nothing to roll back, so the connection is back at once.
    assert_eq!(engine.pool_status().checked_out, 0);
    assert_eq!(names(&mut engine.connect().await?).await?, ["direct"]);
    Ok(())
}

async fn executemany_and_counts(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    setup_table(&db, &mut conn).await?;
    let n = conn
        .execute_many(
            text("INSERT INTO items (name) VALUES (:name)"),
            ["x", "y", "z"].map(|n| params! { "name": n }),
        )
        .await?;
    assert_eq!(n, 3);
    let updated = conn
        .execute(
            text("UPDATE items SET name = :new WHERE name <> :keep"),
            params! { "new": "w", "keep": "x" },
        )
        .await?;
    assert_eq!(updated.rows_affected(), 2);
    let deleted = conn
        .execute(text("DELETE FROM items WHERE name = 'w'"), ())
        .await?;
    assert_eq!(deleted.rows_affected(), 2);
    conn.commit().await?;
    assert_eq!(names(&mut conn).await?, ["x"]);
    Ok(())
}

all_backends!(
    commit_as_you_go,
    begin_once,
    closure_transactions,
    savepoints,
    ddl_in_transactions,
    engine_execute_autocommits,
    executemany_and_counts,
);

/// MySQL commits implicitly around DDL; Aludel follows the server's own
/// transaction flag, so the statements after the DDL are in a new
/// transaction that `rollback()` still undoes.
async fn implicit_commit_around_ddl(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    setup_table(&db, &mut conn).await?;
    conn.execute(text("INSERT INTO items (name) VALUES ('before')"), ())
        .await?;
    conn.execute(text("CREATE TABLE other (x INTEGER)"), ())
        .await?;
    conn.execute(text("INSERT INTO items (name) VALUES ('after')"), ())
        .await?;
    assert!(conn.in_transaction());
    conn.rollback().await?;
    let kept = names(&mut conn).await?;
    match db.kind {
        Kind::Mysql => assert_eq!(kept, ["before"], "the DDL committed 'before'"),
        _ => assert!(kept.is_empty(), "{kept:?}"),
    }
    Ok(())
}

/// A connection returned after a raw COMMIT comes back clean.
async fn raw_commit_then_return(db: TestDb) -> aludel::Result<()> {
    let engine = db.builder().pool_size(1).max_overflow(0).build()?;
    let mut conn = engine.connect().await?;
    setup_table(&db, &mut conn).await?;
    conn.execute(text("INSERT INTO items (name) VALUES ('x')"), ())
        .await?;
    conn.exec_driver_sql("COMMIT", &[]).await?;
    drop(conn);
    crate::harness::settle(&engine).await;
    let mut conn = engine.connect().await?;
    assert!(!conn.in_transaction());
    let tx = conn.begin().await?;
    tx.commit().await?;
    drop(conn);
    engine.execute(text("SELECT 1"), ()).await?;
    Ok(())
}

all_backends!(implicit_commit_around_ddl, raw_commit_then_return);

/// Autobegin and the one-off autocommit path share pooled connections. On
/// MySQL the transaction is opened by the first statement itself (the
/// session's autocommit is off: no START TRANSACTION round trip), so the
/// connection must switch autocommit back on for `Engine::execute`, and off
/// again for the next transaction; on PostgreSQL the BEGIN travels with the
/// first statement. Either way: rolled back stays rolled back, autocommitted
/// stays committed, whatever the connection did before.
async fn autobegin_and_autocommit_share_connections(db: TestDb) -> aludel::Result<()> {
    let engine = db.builder().pool_size(1).max_overflow(0).build()?;
    let mut conn = engine.connect().await?;
    setup_table(&db, &mut conn).await?;
    conn.execute(text("INSERT INTO items (name) VALUES ('rolled back')"), ())
        .await?;
    assert!(conn.in_transaction(), "the INSERT opened a transaction");
    conn.rollback().await?;
    drop(conn);
    engine
        .execute(
            text("INSERT INTO items (name) VALUES ('autocommitted')"),
            (),
        )
        .await?;
    let mut conn = engine.connect().await?;
    conn.execute(
        text("INSERT INTO items (name) VALUES ('rolled back too')"),
        (),
    )
    .await?;
    conn.rollback().await?;
    conn.execute(text("INSERT INTO items (name) VALUES ('committed')"), ())
        .await?;
    conn.commit().await?;
    drop(conn);
    engine
        .execute(
            text("INSERT INTO items (name) VALUES ('autocommitted again')"),
            (),
        )
        .await?;
    let other = db.engine();
    let mut check = other.connect().await?;
    assert_eq!(
        names(&mut check).await?,
        ["autocommitted", "committed", "autocommitted again"]
    );
    check.rollback().await?;
    Ok(())
}

all_backends!(autobegin_and_autocommit_share_connections);

/// On MySQL a transaction costs no START TRANSACTION: on a pooled
/// connection whose autocommit is already off, two transactions send only
/// their statements and COMMITs; `Engine::execute` in between switches
/// autocommit on once, and the next transaction switches it off once.
async fn mysql_transactions_begin_implicitly(db: TestDb) -> aludel::Result<()> {
    if db.kind != Kind::Mysql {
        return Ok(());
    }
    let engine = db
        .builder()
        .pool_size(1)
        .max_overflow(0)
        .echo(true)
        .build()?;
    let mut conn = engine.connect().await?;
    setup_table(&db, &mut conn).await?;
    drop(conn);
    let count = |log: &str, what: &str| log.matches(&format!("aludel::engine: {what}")).count();
    crate::observe::start_capture(tracing::Level::INFO);
    for _ in 0..2 {
        let mut conn = engine.connect().await?;
        conn.execute(text("INSERT INTO items (name) VALUES ('x')"), ())
            .await?;
        conn.commit().await?;
    }
    let log = crate::observe::take_capture();
    assert!(!log.contains("START TRANSACTION"), "{log}");
    assert_eq!(count(&log, "SET autocommit"), 0, "already off: {log}");
    assert_eq!(count(&log, "COMMIT"), 2, "{log}");

    crate::observe::start_capture(tracing::Level::INFO);
    engine
        .execute(text("INSERT INTO items (name) VALUES ('y')"), ())
        .await?;
    let mut conn = engine.connect().await?;
    conn.execute(text("INSERT INTO items (name) VALUES ('z')"), ())
        .await?;
    conn.commit().await?;
    let log = crate::observe::take_capture();
    assert_eq!(count(&log, "SET autocommit = 1"), 1, "{log}");
    assert_eq!(count(&log, "SET autocommit = 0"), 1, "{log}");
    assert!(!log.contains("START TRANSACTION"), "{log}");
    Ok(())
}

server_backends!(mysql_transactions_begin_implicitly);

/// SQLite's `begin=immediate` takes the write lock when a transaction
/// begins: a second transaction waits (up to `timeout`) at its BEGIN
/// rather than failing later when a read-then-write transaction upgrades.
/// The default (deferred) begins without it. A bad value names itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_begin_immediate() -> aludel::Result<()> {
    let dir = std::env::temp_dir().join(format!("aludel-begin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("t.db");
    let url = |mode: &str| format!("sqlite:///{}?begin={mode}&timeout=0.2", file.display());
    let deferred = aludel::create_engine(url("deferred"))?;
    deferred
        .execute(aludel::text("CREATE TABLE t (x INTEGER)"), ())
        .await?;

    let mut a = deferred.connect().await?;
    let mut b = deferred.connect().await?;
    a.execute(aludel::text("SELECT count(*) FROM t"), ())
        .await?;
    b.execute(aludel::text("SELECT count(*) FROM t"), ())
        .await?;
    a.rollback().await?;
    b.rollback().await?;

    let immediate = aludel::create_engine(url("immediate"))?;
    assert_eq!(deferred.dialect().begin_sql(), "BEGIN");
    assert_eq!(
        immediate.dialect().begin_sql(),
        "BEGIN IMMEDIATE",
        "echoed as sent"
    );
    let mut a = immediate.connect().await?;
    let mut b = immediate.connect().await?;
    a.execute(aludel::text("SELECT count(*) FROM t"), ())
        .await?;
    let err = b
        .execute(aludel::text("SELECT count(*) FROM t"), ())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("locked"), "{err}");
    a.execute(aludel::text("INSERT INTO t VALUES (1)"), ())
        .await?;
    a.commit().await?;
    b.rollback().await?;
    let n: i64 = b
        .execute(aludel::text("SELECT count(*) FROM t"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 1, "free again once the first committed");
    drop((a, b));

    let err = aludel::create_engine(url("later")).unwrap_err();
    assert_eq!(err.kind(), aludel::ErrorKind::Url);
    assert!(err.to_string().contains("\"later\""), "{err}");
    deferred.dispose();
    immediate.dispose();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
