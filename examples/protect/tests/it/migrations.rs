//! Protect's migrations give the models' schema, go down and up again, and
//! `db seed` fills a database with reproducible sample data.

use aludel::migrate::cli::parse_args;
use aludel_axum::testing::TestDatabase;
use axum::http::StatusCode;
use protect::seed::{seed, SeedOptions, SeedReport};

use crate::all_backends;
use crate::harness::{count, send, server_url, Fixture, Kind};

async fn migrations_match_the_models(f: Fixture) -> aludel::Result<()> {
    let migrate = protect::migrate(&f.db);
    let (code, lines) = migrate.run_captured(&parse_args(["check"])?).await;
    assert_eq!(
        (code, lines),
        (0, vec!["No new upgrade operations detected.".to_string()])
    );
    let (code, lines) = migrate
        .run_captured(&parse_args(["downgrade", "base"])?)
        .await;
    assert_eq!(code, 0, "{lines:?}");
    let mut tables = f.db.engine().inspector().table_names().await?;
    tables.retain(|t| t != "alembic_version");
    assert_eq!(tables, Vec::<String>::new());
    let (code, lines) = migrate.run_captured(&parse_args(["upgrade"])?).await;
    assert_eq!(code, 0, "{lines:?}");
    let (code, _) = migrate.run_captured(&parse_args(["check"])?).await;
    assert_eq!(code, 0);
    Ok(())
}

async fn seed_is_reproducible(f: Fixture) -> aludel::Result<()> {
    let options = SeedOptions {
        customers: 60,
        seed: 7,
    };
    let report = seed(&f.db, options, |_| {}).await?;
    assert_eq!(report.customers, 60);
    assert!(
        report.homes >= 60 && report.policies > 40 && report.claims > 10,
        "{report:?}"
    );
    assert_eq!(
        report.history as i64,
        count(&f.db, "claim_status_changes").await?
    );
    assert_eq!(
        report.policy_riders as i64,
        count(&f.db, "policy_riders").await?
    );
    // A second run leaves a seeded database alone.
    assert_eq!(seed(&f.db, options, |_| {}).await?, SeedReport::default());
    assert_eq!(count(&f.db, "customers").await?, 60);
    // The same options give the same rows in another database.
    let other = TestDatabase::create(&server_url(f.kind)).await?;
    let db2 = other.db()?;
    protect::upgrade(&db2, |_| {}).await?;
    assert_eq!(seed(&db2, options, |_| {}).await?, report);
    let sql = "SELECT number, premium, status FROM policies ORDER BY id";
    let a: Vec<(String, aludel::types::Decimal, String)> =
        f.db.engine()
            .execute(aludel::text(sql), ())
            .await?
            .all_as()?;
    let b: Vec<(String, aludel::types::Decimal, String)> = db2
        .engine()
        .execute(aludel::text(sql), ())
        .await?
        .all_as()?;
    assert_eq!(a, b);
    drop(db2);
    let lock = crate::harness::migrate_lock(&other);
    other.close().await?;
    if let Some(lock) = lock {
        let _ = std::fs::remove_file(lock);
    }
    // The seeded data serves: every claim's policy page renders.
    let r = send(&f.app, "GET", "/policies?status=active", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(&f.app, "GET", "/api/claims?per_page=100", None).await;
    assert_eq!(r.json["total"].as_u64(), Some(report.claims as u64));
    Ok(())
}

/// The default seed is "a few thousand rows" (SQLite only: it is the same
/// code on every backend, and the servers' runs are slower).
async fn default_seed_is_a_few_thousand_rows(f: Fixture) -> aludel::Result<()> {
    if f.kind != Kind::Sqlite {
        return Ok(());
    }
    let report = seed(&f.db, SeedOptions::default(), |_| {}).await?;
    assert!(report.total() > 3000, "{report:?}");
    assert_eq!(report.customers, 1000);
    Ok(())
}

all_backends!(
    migrations_match_the_models,
    seed_is_reproducible,
    default_seed_is_a_few_thousand_rows
);
