//! The pool: SQLAlchemy's knobs, reset on return, and recovery from a lost
//! server connection.

use std::time::Duration;

use aludel::{create_engine, text, Engine, ErrorKind, Value};

use crate::harness::{idle_in_transaction, settle, Kind, TestDb};

/// The server-side id of the connection `conn` is on.
async fn backend_id(db: &TestDb, conn: &mut aludel::Connection) -> aludel::Result<i64> {
    let sql = match db.kind {
        Kind::Postgres => "SELECT pg_backend_pid()",
        _ => "SELECT CONNECTION_ID()",
    };
    let id = conn.execute(text(sql), ()).await?.scalar_one()?;
    conn.commit().await?;
    Ok(id)
}

/// End the server session `id` from another connection, as a server restart would.
async fn kill(db: &TestDb, id: i64) -> aludel::Result<()> {
    let admin = db.engine();
    match db.kind {
        Kind::Postgres => {
            admin
                .execute(
                    text("SELECT pg_terminate_backend(:pid)"),
                    aludel::params! { "pid": id as i32 },
                )
                .await?;
        }
        _ => {
            // KILL takes no bound parameter; `id` is an integer the server gave us.
            let mut conn = admin.connect().await?;
            conn.set_autocommit(true)?;
            conn.exec_driver_sql(&format!("KILL {id}"), &[]).await?;
        }
    }
    admin.dispose();
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}

async fn status_overflow_and_timeout(db: TestDb) -> aludel::Result<()> {
    let engine = db
        .builder()
        .pool_size(2)
        .max_overflow(1)
        .pool_timeout(Duration::from_millis(300))
        .build()?;
    let a = engine.connect().await?;
    let b = engine.connect().await?;
    let c = engine.connect().await?;
    let s = engine.pool_status();
    assert_eq!((s.size, s.checked_out, s.overflow, s.idle), (3, 3, 1, 0));
    let err = assert_err!(engine.connect().await, ErrorKind::PoolTimeout);
    let msg = err.to_string();
    for needle in [
        "size 2 + overflow 1",
        "all 3 connections checked out",
        "300ms",
    ] {
        assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
    }
    drop((a, b, c));
    let s = engine.pool_status();
    // The overflow connection is closed on return; pool_size stay idle.
    assert_eq!((s.size, s.idle, s.checked_out, s.overflow), (2, 2, 0, 0));
    engine.dispose();
    assert_eq!(engine.pool_status().size, 0);
    engine.execute(text("SELECT 1"), ()).await?;
    Ok(())
}

async fn rollback_on_return(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    engine
        .execute(text("CREATE TABLE t (x INTEGER)"), ())
        .await?;
    for _ in 0..3 {
        let mut conn = engine.connect().await?;
        conn.execute(text("INSERT INTO t VALUES (1)"), ()).await?;
        drop(conn);
    }
    {
        let mut conn = engine.connect().await?;
        let mut tx = conn.begin().await?;
        tx.execute(text("INSERT INTO t VALUES (2)"), ()).await?;
        let _sp = tx.begin_nested().await?;
    }
    assert_eq!(settle(&engine).await.checked_out, 0);
    let n: i64 = engine
        .execute(text("SELECT count(*) FROM t"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 0);
    if db.kind != Kind::Sqlite {
        assert_eq!(idle_in_transaction(&db, &engine).await?, 0);
    }
    Ok(())
}

async fn pre_ping_replaces_a_dead_connection(db: TestDb) -> aludel::Result<()> {
    let engine = db.builder().pool_pre_ping(true).build()?;
    let mut conn = engine.connect().await?;
    let id = backend_id(&db, &mut conn).await?;
    drop(conn);
    kill(&db, id).await?;
    let mut conn = engine.connect().await?;
    let new_id = backend_id(&db, &mut conn).await?;
    assert_ne!(
        id, new_id,
        "pre-ping found the dead connection and replaced it"
    );
    Ok(())
}

async fn lost_connection_without_pre_ping(db: TestDb) -> aludel::Result<()> {
    let engine = db.builder().pool_size(2).build()?;
    // Killed while checked out: the next statement reports the loss.
    let mut conn = engine.connect().await?;
    let id = backend_id(&db, &mut conn).await?;
    kill(&db, id).await?;
    let err = assert_err!(
        conn.execute(text("SELECT 1"), ()).await,
        ErrorKind::ConnectionLost
    );
    assert!(err.to_string().contains("lost"), "{err}");
    assert_eq!(err.sql(), Some("SELECT 1"));
    drop(conn);
    // The broken connection was discarded and the pool invalidated: the next
    // checkout opens a fresh connection.
    let mut conn = engine.connect().await?;
    assert_ne!(backend_id(&db, &mut conn).await?, id);
    drop(conn);
    // Killed while idle in the pool: PostgreSQL's driver sees the closed
    // socket and the checkout replaces it; MySQL's does not, so the first
    // statement fails and the one after succeeds.
    let mut conn = engine.connect().await?;
    let id = backend_id(&db, &mut conn).await?;
    drop(conn);
    kill(&db, id).await?;
    let mut conn = engine.connect().await?;
    let first = conn.execute(text("SELECT 1"), ()).await;
    match db.kind {
        Kind::Postgres => assert_eq!(first?.scalar_one::<i32>()?, 1),
        _ => {
            assert_err!(first, ErrorKind::ConnectionLost);
            drop(conn);
            let mut conn = engine.connect().await?;
            assert_eq!(
                conn.execute(text("SELECT 1"), ())
                    .await?
                    .scalar_one::<i64>()?,
                1
            );
        }
    }
    Ok(())
}

async fn pool_recycle_replaces_old_connections(db: TestDb) -> aludel::Result<()> {
    let engine = db
        .builder()
        .pool_recycle(Duration::from_millis(50))
        .build()?;
    let mut conn = engine.connect().await?;
    let first = backend_id(&db, &mut conn).await?;
    drop(conn);
    let mut conn = engine.connect().await?;
    assert_eq!(
        backend_id(&db, &mut conn).await?,
        first,
        "young connections are reused"
    );
    drop(conn);
    tokio::time::sleep(Duration::from_millis(80)).await;
    let mut conn = engine.connect().await?;
    assert_ne!(backend_id(&db, &mut conn).await?, first);
    Ok(())
}

async fn deadlock_is_retryable(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    engine
        .execute(
            text("CREATE TABLE acct (id INTEGER PRIMARY KEY, bal INTEGER)"),
            (),
        )
        .await?;
    engine
        .execute(text("INSERT INTO acct VALUES (1, 0), (2, 0)"), ())
        .await?;
    let mut a = engine.connect().await?;
    let mut b = engine.connect().await?;
    a.execute(text("UPDATE acct SET bal = bal + 1 WHERE id = 1"), ())
        .await?;
    b.execute(text("UPDATE acct SET bal = bal + 1 WHERE id = 2"), ())
        .await?;
    let (ra, rb) = tokio::join!(
        a.execute(text("UPDATE acct SET bal = bal + 1 WHERE id = 2"), ()),
        async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            b.execute(text("UPDATE acct SET bal = bal + 1 WHERE id = 1"), ())
                .await
        }
    );
    let err = match (ra, rb) {
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => e,
        other => panic!("expected exactly one deadlock victim, got {other:?}"),
    };
    assert_eq!(err.kind(), ErrorKind::Deadlock, "{err}");
    assert!(err.is_retryable());
    Ok(())
}

server_backends!(
    pre_ping_replaces_a_dead_connection,
    lost_connection_without_pre_ping,
    pool_recycle_replaces_old_connections,
    deadlock_is_retryable,
);
all_backends!(status_overflow_and_timeout, rollback_on_return);

/// PostgreSQL only: a serialization failure under SERIALIZABLE is retryable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serialization_failure_is_retryable() {
    crate::harness::run(Kind::Postgres, module_path!(), |db| async move {
        let engine = db
            .builder()
            .isolation_level(aludel::IsolationLevel::Serializable)
            .build()?;
        engine
            .execute(text("CREATE TABLE c (n INTEGER)"), ())
            .await?;
        engine.execute(text("INSERT INTO c VALUES (0)"), ()).await?;
        let mut a = engine.connect().await?;
        let mut b = engine.connect().await?;
        let sum = "SELECT sum(n) FROM c";
        a.execute(text(sum), ()).await?;
        b.execute(text(sum), ()).await?;
        a.execute(text("INSERT INTO c VALUES (1)"), ()).await?;
        b.execute(text("INSERT INTO c VALUES (2)"), ()).await?;
        a.commit().await?;
        let err = assert_err!(b.commit().await, ErrorKind::Serialization);
        assert!(err.is_retryable());
        Ok(())
    })
    .await
}

/// An in-memory SQLite database lives in one shared connection.
#[tokio::test]
async fn sqlite_memory_shares_one_connection() -> aludel::Result<()> {
    let engine = aludel::Engine::builder("sqlite://")?
        .pool_timeout(Duration::from_millis(100))
        .build()?;
    engine
        .execute(text("CREATE TABLE t (x INTEGER)"), ())
        .await?;
    engine.execute(text("INSERT INTO t VALUES (7)"), ()).await?;
    let held = engine.connect().await?;
    assert_eq!(engine.pool_status().pool_size, 1);
    let err = assert_err!(engine.connect().await, ErrorKind::PoolTimeout);
    assert!(err.to_string().contains("size 1 + overflow 0"), "{err}");
    drop(held);
    let x: i64 = engine
        .execute(text("SELECT x FROM t"), ())
        .await?
        .scalar_one()?;
    assert_eq!(x, 7);
    Ok(())
}

/// Foreign keys are enforced on SQLite by default; the URL or the builder
/// can turn that off.
#[tokio::test]
async fn sqlite_foreign_keys_default_on() -> aludel::Result<()> {
    let fk = |engine: Engine| async move {
        engine
            .execute(text("PRAGMA foreign_keys"), ())
            .await?
            .scalar_one::<i64>()
    };
    assert_eq!(fk(create_engine("sqlite://")?).await?, 1);
    assert_eq!(fk(create_engine("sqlite://?foreign_keys=off")?).await?, 0);
    let off = Engine::builder("sqlite://")?
        .sqlite_foreign_keys(false)
        .build()?;
    assert_eq!(fk(off).await?, 0);
    let engine = create_engine("sqlite://")?;
    engine
        .execute(text("CREATE TABLE p (id INTEGER PRIMARY KEY)"), ())
        .await?;
    engine
        .execute(text("CREATE TABLE c (p INTEGER REFERENCES p (id))"), ())
        .await?;
    let res = engine.execute(text("INSERT INTO c VALUES (5)"), ()).await;
    assert_err!(res, ErrorKind::Integrity(aludel::IntegrityKind::ForeignKey));
    let busy: i64 = engine
        .execute(text("PRAGMA busy_timeout"), ())
        .await?
        .scalar_one()?;
    assert_eq!(busy, 5000);
    Ok(())
}

/// A server that accepts the TCP connection but never answers: the connect
/// fails within the connect timeout and names host and port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unresponsive_server_times_out() -> aludel::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let _hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            open.push(sock);
        }
    });
    for scheme in ["postgresql", "mysql"] {
        let url = format!("{scheme}://u:pw@127.0.0.1:{port}/db?connect_timeout=1");
        let engine = create_engine(&url)?;
        let start = std::time::Instant::now();
        let err = assert_err!(engine.connect().await, ErrorKind::Connect);
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "took {:?}",
            start.elapsed()
        );
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
        assert_eq!(engine.pool_status().checked_out, 0);
    }
    Ok(())
}

/// Values read through `Value` keep the pool consistent after many checkouts.
#[tokio::test]
async fn many_sequential_checkouts() -> aludel::Result<()> {
    let engine = create_engine("sqlite://")?;
    for i in 0..200i64 {
        let v = engine
            .execute(text("SELECT :i"), aludel::params! { "i": i })
            .await?
            .scalar_one::<Value>()?;
        assert_eq!(v, Value::I64(i));
    }
    assert_eq!(engine.pool_status().size, 1);
    Ok(())
}

/// `set_offload(true)` moves a long SQLite statement off the worker thread,
/// so other tasks keep running on a one-worker runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sqlite_offload_keeps_other_tasks_running() -> aludel::Result<()> {
    let engine = create_engine("sqlite://")?;
    let mut conn = engine.connect().await?;
    conn.set_offload(true);
    let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = ticks.clone();
    let ticker = tokio::spawn(async move {
        loop {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    let before = ticks.load(std::sync::atomic::Ordering::Relaxed);
    let slow = "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 3000000) \
                SELECT count(*) FROM s";
    // Spawned, so it runs on the runtime's one worker like a request handler.
    let (n, took) = tokio::spawn(async move {
        let start = std::time::Instant::now();
        let n = conn.execute(text(slow), ()).await?.scalar_one::<i64>()?;
        Ok::<_, aludel::Error>((n, start.elapsed()))
    })
    .await
    .expect("query task")?;
    let during = ticks.load(std::sync::atomic::Ordering::Relaxed) - before;
    ticker.abort();
    assert_eq!(n, 3_000_000);
    assert!(
        took > Duration::from_millis(50),
        "the statement must be slow enough to matter: {took:?}"
    );
    assert!(
        during > 5,
        "only {during} ticks during a {took:?} statement"
    );
    Ok(())
}

/// Options this build cannot honour are refused when the engine is built,
/// naming the option, rather than silently connecting without TLS.
#[test]
fn tls_options_are_refused_clearly() {
    for (url, option) in [
        (
            "postgresql://u@127.0.0.1/db?sslmode=require",
            "sslmode=require",
        ),
        (
            "mysql://u@127.0.0.1/db?ssl_mode=REQUIRED",
            "ssl_mode=REQUIRED",
        ),
    ] {
        let err = assert_err!(create_engine(url), ErrorKind::Unsupported);
        assert!(err.to_string().contains(option), "{err}");
    }
    assert!(create_engine("postgresql://u@127.0.0.1/db?sslmode=prefer").is_ok());
}
