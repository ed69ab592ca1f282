//! Autogenerate through the `db` command line, and the README's walkthrough
//! of the example app (`examples/migrations/`) end to end, in process:
//! `init`, `migrate` from the example's registered models, `upgrade`, the
//! model change, `migrate` again, `upgrade`, `history`, `downgrade` — files
//! written, lines printed, exit codes.
//!
//! The example's models are compiled into this test binary (they are its
//! only `#[derive(Model)]` types, so `registered_metadata()` is exactly
//! them), without the `premium` feature. Scripts written here are not
//! compiled (that needs a rebuild); the example's checked-in scripts are,
//! and the test proves they are byte for byte what `db migrate` writes
//! (but the create date), so upgrading with them is upgrading with the
//! generated ones.

use std::path::{Path, PathBuf};

use aludel_core::schema::{Column, MetaData, SqlType, Table};
use aludel_core::text;
use aludel_migrate::cli::{parse_args, Migrate};
use aludel_migrate::{Migrations, Result};

use crate::harness::TestDb;

/// The example's models, as `cargo run -p migrations-example` builds them.
#[allow(unexpected_cfgs, dead_code)]
#[path = "../../../../examples/migrations/src/models.rs"]
mod models;

/// The example's scripts, as its `migrations!` compiles them.
mod example {
    aludel_migrate::migrations!("../../examples/migrations/migrations/versions");
}

/// The same scripts through the facade, as the example app (which
/// depends on `aludel` alone) compiles them.
mod via_facade {
    aludel::migrate::migrations!("../../examples/migrations/migrations/versions");
}

#[test]
fn scripts_compile_through_the_facade_path_too() -> Result<()> {
    let direct = example::MIGRATIONS.revisions()?;
    let facade = via_facade::MIGRATIONS.revisions()?;
    let ids = |g: &aludel_migrate::Revisions| -> Vec<String> {
        g.heads().iter().map(|r| r.id().to_string()).collect()
    };
    assert_eq!(ids(&facade), ["8d2e4f6a1b93"]);
    assert_eq!(ids(&facade), ids(&direct));
    let ops = |m: &'static Migrations| -> Vec<usize> {
        m.scripts()
            .iter()
            .map(|s| s.revision().plan_upgrade().unwrap().len())
            .collect()
    };
    assert_eq!(ops(&via_facade::MIGRATIONS), [2, 2]);
    assert_eq!(ops(&via_facade::MIGRATIONS), ops(&example::MIGRATIONS));
    Ok(())
}

const SHIPPED: &str = "../../examples/migrations/migrations/versions";
const FIRST: &str = "3f1c9a2b7d40_create_holder_and_policy.rs";
const SECOND: &str = "8d2e4f6a1b93_add_premium_to_policy.rs";

async fn db(m: &Migrate, words: &[&str]) -> (u8, Vec<String>) {
    match parse_args(words) {
        Ok(args) => m.run_captured(&args).await,
        Err(e) => (2, vec![e.to_string()]),
    }
}

fn temp_dir(db_: &TestDb, what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "aludel-migrate-{what}-{:?}-{}",
        db_.kind,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A script's text without its create date (the one thing that differs
/// between two runs of `db migrate`).
fn undated(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("// Create Date:") && !l.trim_start().starts_with(".created("))
        .collect::<Vec<_>>()
        .join("\n")
}

fn script_files(versions: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(versions)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rs"))
        .collect();
    v.sort();
    v
}

/// The model change of the walkthrough (`--features premium`): the
/// registered models plus `Policy::premium`, written out by hand. The test
/// below proves it equal to the derive's by comparing what `db migrate`
/// writes from it with the script the example generated with the feature.
fn models_with_premium() -> MetaData {
    let mut md = MetaData::new();
    for t in aludel_orm::registered_metadata().unwrap().tables() {
        if t.name() != "policy" {
            md.add(t.clone()).unwrap();
        }
    }
    let policy = Table::builder("policy")
        .column(Column::new("id", SqlType::BigInteger).primary_key())
        .column(
            Column::new("holder_id", SqlType::BigInteger)
                .not_null()
                .references("holder.id")
                .index(),
        )
        .column(Column::new("address", SqlType::string(200)).not_null())
        .column(
            Column::new("premium", SqlType::BigInteger)
                .not_null()
                .server_default(0)
                .index(),
        )
        .build()
        .unwrap();
    md.add(policy).unwrap();
    md
}

#[test]
fn every_model_of_the_binary_is_registered_sorted() {
    use aludel::orm::Model;
    let md = aludel::orm::registered_metadata().unwrap();
    let names: Vec<&str> = md.tables().map(|t| t.name()).collect();
    assert_eq!(names, ["holder", "policy"]);
    assert_eq!(md.table("holder"), Some(models::Holder::table()));
    assert_eq!(md.table("policy"), Some(models::Policy::table()));
    let types: Vec<&str> = aludel::orm::registered_models()
        .iter()
        .map(|r| r.type_name())
        .collect();
    assert_eq!(
        types,
        ["it::flow::models::Holder", "it::flow::models::Policy"]
    );
}

/// The README's walkthrough, as `cargo run -p migrations-example -- db …`
/// runs it.
async fn the_readme_walkthrough(db_: &TestDb) -> Result<()> {
    let root = temp_dir(db_, "walkthrough");
    let dir = root.join("migrations");
    let versions = dir.join("versions");
    let m = Migrate::new(&example::MIGRATIONS)
        .directory(&dir)
        .engine(&db_.engine());

    assert_eq!(db(&m, &["init"]).await.0, 0);

    // the models, no table yet: check lists both and fails
    let (code, lines) = db(&m, &["check"]).await;
    assert_eq!(code, 255, "{lines:?}");
    assert_eq!(
        lines,
        [
            "Detected added table 'holder'",
            "Detected added table 'policy'",
            "New upgrade operations detected: 2 (0 destructive); write them with `db migrate -m \"…\"`",
        ]
    );

    // the first autogenerated revision, from the registered models
    let (code, lines) = db(
        &m,
        &[
            "migrate",
            "-m",
            "create holder and policy",
            "--rev-id",
            "3f1c9a2b7d40",
        ],
    )
    .await;
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines,
        [
            "Detected added table 'holder'".to_string(),
            "Detected added table 'policy'".to_string(),
            format!("  Generating {} ...  done", versions.join(FIRST).display()),
        ]
    );
    let written = std::fs::read_to_string(versions.join(FIRST)).unwrap();
    let shipped = std::fs::read_to_string(Path::new(SHIPPED).join(FIRST)).unwrap();
    assert_eq!(undated(&written), undated(&shipped));

    // autogenerate needs a database at head
    let (code, lines) = db(&m, &["migrate", "-m", "too early"]).await;
    assert_eq!(code, 1);
    assert!(
        lines[0].contains("not up to date")
            && lines[0].contains("3f1c9a2b7d40")
            && lines[0].contains("db upgrade"),
        "{lines:?}"
    );
    assert_eq!(script_files(&versions), [FIRST], "nothing written");

    // `cargo run` rebuilds the app: it now has the first script compiled in
    let first_only: &'static Migrations = Box::leak(Box::new(Migrations::new(
        example::MIGRATIONS.dir(),
        &example::MIGRATIONS.scripts()[..1],
    )));
    let m1 = Migrate::new(first_only)
        .directory(&dir)
        .engine(&db_.engine());
    let (code, lines) = db(&m1, &["upgrade"]).await;
    assert_eq!(
        (code, lines),
        (
            0,
            vec!["Running upgrade  -> 3f1c9a2b7d40, create holder and policy".into()]
        )
    );

    // nothing changed: no script, exit 0
    let (code, lines) = db(&m, &["migrate", "-m", "nothing"]).await;
    assert_eq!(
        (code, lines),
        (0, vec!["No changes in schema detected.".to_string()])
    );
    assert_eq!(script_files(&versions), [FIRST]);
    assert_eq!(
        db(&m, &["check"]).await,
        (0, vec!["No new upgrade operations detected.".to_string()])
    );

    // the model change, and the second autogenerated revision
    let m2 = m.clone().metadata(models_with_premium());
    let (code, lines) = db(&m2, &["check"]).await;
    assert_eq!(code, 255, "{lines:?}");
    let (code, lines) = db(
        &m2,
        &[
            "migrate",
            "-m",
            "add premium to policy",
            "--rev-id",
            "8d2e4f6a1b93",
        ],
    )
    .await;
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines,
        [
            "Detected added column 'policy.premium'".to_string(),
            "Detected added index 'ix_policy_premium' on 'policy' (premium)".to_string(),
            format!("  Generating {} ...  done", versions.join(SECOND).display()),
        ]
    );
    let written = std::fs::read_to_string(versions.join(SECOND)).unwrap();
    let shipped = std::fs::read_to_string(Path::new(SHIPPED).join(SECOND)).unwrap();
    assert_eq!(undated(&written), undated(&shipped));
    assert!(
        written.contains(r#"&["3f1c9a2b7d40"]"#),
        "revises the first"
    );

    let (code, lines) = db(&m2, &["upgrade"]).await;
    assert_eq!(
        (code, lines),
        (
            0,
            vec!["Running upgrade 3f1c9a2b7d40 -> 8d2e4f6a1b93, add premium to policy".into()]
        )
    );
    assert_eq!(db(&m2, &["check"]).await.0, 0, "models and database agree");
    // no constraint is left unnamed: the naming convention named each one
    // the models did not, and the database reports those names
    let inspector = db_.engine().inspector();
    let fks = inspector.foreign_keys("policy").await?;
    let fk_names: Vec<Option<&str>> = fks.iter().map(|f| f.name.as_deref()).collect();
    assert_eq!(fk_names, [Some("fk_policy_holder_id_holder")]);
    let uniques = inspector.unique_constraints("holder").await?;
    let unique_names: Vec<Option<&str>> = uniques.iter().map(|u| u.name.as_deref()).collect();
    assert_eq!(unique_names, [Some("uq_holder_email")]);
    let mut ix: Vec<String> = inspector
        .indexes("policy")
        .await?
        .into_iter()
        .map(|i| i.name.expect("a named index"))
        .collect();
    ix.sort();
    assert_eq!(ix, ["ix_policy_holder_id", "ix_policy_premium"]);
    let engine = db_.engine();
    engine
        .execute(
            text("INSERT INTO holder (id, name, email) VALUES (1, 'Ada', 'ada@example.com')"),
            (),
        )
        .await?;
    engine
        .execute(
            text("INSERT INTO policy (id, holder_id, address) VALUES (1, 1, '12 St James''s Square')"),
            (),
        )
        .await?;
    let premium: i64 = engine
        .execute(text("SELECT premium FROM policy"), ())
        .await?
        .scalar_one()?;
    assert_eq!(premium, 0, "the server default");

    let (code, lines) = db(&m, &["history"]).await;
    assert_eq!(
        (code, lines),
        (
            0,
            vec![
                "3f1c9a2b7d40 -> 8d2e4f6a1b93 (head), add premium to policy".to_string(),
                "<base> -> 3f1c9a2b7d40, create holder and policy".to_string(),
            ]
        )
    );
    let (code, lines) = db(&m, &["downgrade"]).await;
    assert_eq!(
        (code, lines),
        (
            0,
            vec!["Running downgrade 8d2e4f6a1b93 -> 3f1c9a2b7d40, add premium to policy".into()]
        )
    );
    let (code, lines) = db(&m, &["check"]).await;
    assert_eq!(code, 1, "below head, check refuses to compare: {lines:?}");
    assert!(lines[0].contains("it is at 3f1c9a2b7d40"), "{lines:?}");
    let (code, lines) = db(&m, &["downgrade", "base"]).await;
    assert_eq!((code, lines.len()), (0, 1), "{lines:?}");
    assert_eq!(engine.inspector().table_names().await?, ["alembic_version"]);
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}

all_backends!(the_readme_walkthrough);

static NO_SCRIPTS: Migrations = Migrations::new("versions", &[]);

/// `check` marks destructive differences, never proposes dropping a table
/// no model owns, and `revision --autogenerate` writes the drop with a
/// warning; a database that is not at head is refused.
async fn check_marks_destructive_changes(db_: &TestDb) -> Result<()> {
    let root = temp_dir(db_, "destructive");
    let engine = db_.engine();
    let account = |legacy: bool| {
        let mut b = Table::builder("account")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("email", SqlType::string(200)).not_null());
        if legacy {
            b = b.column(Column::new("legacy", SqlType::string(20)));
        }
        b.build().unwrap()
    };
    let mut live = MetaData::new();
    live.add(account(true))?;
    live.add(
        Table::builder("not_ours")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .build()?,
    )?;
    live.create_all(&engine).await?;
    let mut models = MetaData::new();
    models.add(account(false))?;
    let m = Migrate::new(&NO_SCRIPTS)
        .directory(root.join("migrations"))
        .engine(&engine)
        .metadata(models);

    let (code, lines) = db(&m, &["check"]).await;
    assert_eq!(code, 255, "{lines:?}");
    assert_eq!(
        lines,
        [
            "Detected removed column 'account.legacy' [destructive]",
            "New upgrade operations detected: 1 (1 destructive); write them with `db migrate -m \"…\"`",
        ],
        "the table no model owns is left alone"
    );

    assert_eq!(db(&m, &["init"]).await.0, 0);
    let (code, lines) = db(
        &m,
        &[
            "revision",
            "--autogenerate",
            "-m",
            "drop legacy",
            "--rev-id",
            "dddddddddddd",
        ],
    )
    .await;
    assert_eq!(code, 0, "{lines:?}");
    let text =
        std::fs::read_to_string(root.join("migrations/versions/dddddddddddd_drop_legacy.rs"))
            .unwrap();
    assert!(
        text.contains(r#"op.drop_column("account", "legacy");"#),
        "{text}"
    );
    assert!(
        text.contains("// Destructive changes (review before running):\n//   - removed column 'account.legacy' [destructive]"),
        "{text}"
    );
    assert!(
        text.contains(r#"op.add_column("account", Column::new("legacy", SqlType::string(20)));"#),
        "the downgrade restores it: {text}"
    );

    // the scripts have a revision the database has not run: refused
    let (code, lines) = db(&m, &["check"]).await;
    assert_eq!(code, 1, "{lines:?}");
    assert!(
        lines[0].contains("not up to date") && lines[0].contains("dddddddddddd"),
        "{lines:?}"
    );
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}

all_backends!(check_marks_destructive_changes);
