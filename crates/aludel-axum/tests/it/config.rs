//! `Db` from configuration: env-style variables and serde, named binds,
//! `create_all` / `drop_all` over the registered models.

use aludel::text;
use aludel_axum::testing::TestDatabase;
use aludel_axum::{Db, DbConfig, EngineConfig};

use crate::all_backends;
use crate::harness::Kind;

async fn from_config(_k: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let replica = TestDatabase::sqlite().await?;
    let config = DbConfig::from_vars([
        ("DATABASE_URL", tdb.url()),
        ("DATABASE_POOL_SIZE", "2"),
        ("DATABASE_MAX_OVERFLOW", "1"),
        ("DATABASE_POOL_TIMEOUT", "5"),
        ("DATABASE_ECHO", "false"),
        ("DATABASE_URL_REPLICA", replica.url()),
    ])?;
    let db = Db::from_config(&config)?;
    let p = db.pool_status();
    assert_eq!((p.pool_size, p.max_overflow), (2, 1));
    assert_eq!(db.bind_names().collect::<Vec<_>>(), ["replica"]);
    let err = db.bind("archive").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no bind named \"archive\"; configured binds: replica (set DATABASE_URL_ARCHIVE or add it to DbConfig::binds)"
    );

    // create_all / drop_all: every registered model (the example's todos among them).
    db.create_all().await?;
    let tables = db.engine().inspector().table_names().await?;
    assert!(tables.iter().any(|t| t == "todos"), "{tables:?}");
    db.create_all().await?; // idempotent
    db.drop_all().await?;
    assert!(!db
        .engine()
        .inspector()
        .table_names()
        .await?
        .iter()
        .any(|t| t == "todos"));

    // A bind is an engine of its own, with its own Session.
    let mut s = db.session_on("replica")?;
    s.execute(text("CREATE TABLE r (x INTEGER)"), ()).await?;
    s.commit().await?;
    let n: i64 = db
        .bind("replica")?
        .execute(text("SELECT count(*) FROM r"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 0);
    drop(s);
    drop(db);
    Ok(())
}

all_backends!(from_config);

#[test]
fn serde_config_with_binds() {
    let c: DbConfig = serde_json::from_value(serde_json::json!({
        "url": "sqlite://",
        "pool_size": 4,
        "pool_timeout": 1.5,
        "echo": true,
        "binds": {"a": "sqlite://", "b": {"url": "sqlite://", "echo": false, "pool_size": 9}}
    }))
    .unwrap();
    assert_eq!(c.engine.pool_size, Some(4));
    assert_eq!(c.engine.pool_timeout, Some(1.5));
    assert_eq!(c.binds["a"], EngineConfig::new("sqlite://"));
    assert_eq!(c.binds["b"].pool_size, Some(9));
    let db = Db::from_config(&c).unwrap();
    assert_eq!(db.bind_names().collect::<Vec<_>>(), ["a", "b"]);
    // A bad bind URL names the bind.
    let bad = DbConfig::new("sqlite://").bind("replica", EngineConfig::new("nonsense://x"));
    let err = Db::from_config(&bad).unwrap_err();
    assert!(err.to_string().starts_with("bind \"replica\": "), "{err}");
}
