//! The `db` command built from a `Db`: its engine and its models.

use aludel::migrate::cli::parse_args;
use aludel_axum::testing::TestDatabase;

use crate::all_backends;
use crate::harness::Kind;

// The example's scripts (none are shipped: an empty history).
aludel::migrate::migrations!("examples/todos/migrations/versions");

async fn db_command(_k: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let db = tdb.db()?;
    let migrate = db.migrate(&MIGRATIONS);
    // The models differ from an empty database: check lists them, exit 255.
    let (code, lines) = migrate.run_captured(&parse_args(["check"])?).await;
    assert_eq!(code, 255, "{lines:?}");
    assert!(
        lines.iter().any(|l| l == "Detected added table 'todos'"),
        "{lines:?}"
    );
    // After create_all they agree.
    db.create_all().await?;
    let (code, lines) = migrate.run_captured(&parse_args(["check"])?).await;
    assert_eq!(
        (code, lines),
        (0, vec!["No new upgrade operations detected.".to_string()])
    );
    let (code, _) = migrate.run_captured(&parse_args(["current"])?).await;
    assert_eq!(code, 0);
    Ok(())
}

all_backends!(db_command);
