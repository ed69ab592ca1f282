//! The test fixtures themselves: a database per test (created, dropped,
//! kept on failure) and a test inside a shared outer transaction.

use aludel::text;
use aludel_axum::testing::{TestDatabase, TestTransaction};
use axum::http::StatusCode;
use serde_json::json;

use crate::all_backends;
use crate::app;
use crate::harness::{send, server_url, Kind};

async fn exists(kind: Kind, name: &str) -> aludel::Result<bool> {
    let sql = match kind {
        Kind::Postgres => "SELECT count(*) FROM pg_database WHERE datname = :n",
        _ => "SELECT count(*) FROM information_schema.schemata WHERE schema_name = :n",
    };
    let engine = aludel::create_engine(server_url(kind))?;
    let n: i64 = engine
        .execute(text(sql), aludel::params! { "n": name.to_string() })
        .await?
        .scalar_one()?;
    Ok(n == 1)
}

async fn database_per_test(kind: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    // Named after the test, unique per process.
    assert!(tdb.name().starts_with("aludel_t_"), "{}", tdb.name());
    assert!(tdb.name().contains("database_per_test"), "{}", tdb.name());
    // A second one is another database.
    let other = TestDatabase::create(&server_url(kind)).await?;
    assert_ne!(other.name(), tdb.name());
    let db = other.db()?;
    db.create_all().await?;
    let name = other.name().to_string();
    if kind != Kind::Sqlite {
        assert!(exists(kind, &name).await?);
    }
    drop(db);
    other.close().await?;
    if kind != Kind::Sqlite {
        assert!(!exists(kind, &name).await?, "close drops it");
    }
    // Dropping (not closing) removes it too.
    let third = TestDatabase::create(&server_url(kind)).await?;
    let name = third.name().to_string();
    third.db()?.create_all().await?;
    drop(third);
    if kind != Kind::Sqlite {
        assert!(!exists(kind, &name).await?, "drop removes it");
    }
    Ok(())
}

async fn test_in_a_transaction(kind: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let db = tdb.db()?;
    db.create_all().await?; // the schema first: MySQL's DDL would commit the shared transaction
    let tx = TestTransaction::begin(&db).await?;
    let app = app::app(tx.db());
    let r = send(&app, "POST", "/todos", Some(json!({"title": "inside"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    // The app's commit released its savepoint: the next request sees the row…
    let r = send(&app, "GET", "/todos", None).await;
    assert_eq!(r.json["total"], 1);
    // …a failing request rolled back to its savepoint only…
    let r = send(&app, "POST", "/todos", Some(json!({"title": "inside"}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);
    let r = send(&app, "GET", "/todos", None).await;
    assert_eq!(r.json["total"], 1);
    // …and the test's own Session sees it too (ended before the next request).
    let mut s = tx.db().session();
    let n: i64 = s
        .execute(text("SELECT count(*) FROM todos"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 1);
    s.rollback().await?;
    drop(s);
    // Outside the shared transaction nothing is visible (except on SQLite, whose
    // one writer holds the file: don't read past it there).
    if kind != Kind::Sqlite {
        let n: i64 = db
            .engine()
            .execute(text("SELECT count(*) FROM todos"), ())
            .await?
            .scalar_one()?;
        assert_eq!(n, 0, "not committed");
    }
    tx.rollback().await?;
    let n: i64 = db
        .engine()
        .execute(text("SELECT count(*) FROM todos"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 0, "rolled back at the end");
    assert_eq!(db.pool_status().checked_out, 0);
    Ok(())
}

all_backends!(database_per_test, test_in_a_transaction);
