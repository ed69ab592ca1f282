//! Autogenerate: no false positives on a fresh `create_all` database, the
//! differences a model change makes, and a generated script that compiles
//! (it is `include!`d below) and runs up and down on every backend.

use aludel_core::schema::{Column, ForeignKey, MetaData, ReferentialAction, SqlType, Table};
use aludel_core::Engine;
use aludel_migrate::{
    autogenerate, check, render_revision, AutogenerateOptions, Difference, Result, Revisions,
    Runner,
};

use crate::harness::{Kind, TestDb};

/// A model set using every type, defaults that need quoting, escaping or
/// normalising, composite keys, self-reference, every referential action,
/// unique constraints and unique and composite indexes.
fn rich_models() -> MetaData {
    let mut md = MetaData::new();
    let tables = [
        Table::builder("users")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(
                Column::new("email", SqlType::string(200))
                    .not_null()
                    .unique(),
            )
            .column(Column::new("name", SqlType::string(100)).not_null())
            .column(
                Column::new("active", SqlType::Boolean)
                    .not_null()
                    .server_default(true),
            )
            .column(Column::new("admin", SqlType::Boolean).server_default(false))
            .column(Column::new("motto", SqlType::string(100)).server_default(r"it's a \ test"))
            .column(Column::new("plain", SqlType::Text))
            .column(
                Column::new("visits", SqlType::BigInteger)
                    .not_null()
                    .server_default(0_i64),
            )
            .column(Column::new("delta", SqlType::Integer).server_default(-1_i32))
            .column(
                Column::new("balance", SqlType::numeric(12, 2))
                    .server_default(aludel_core::types::Decimal::new(1050, 2)),
            )
            .column(Column::new("ratio", SqlType::Float).server_default(0.5_f64))
            .column(
                Column::new("created_at", SqlType::datetime())
                    .server_default_sql("CURRENT_TIMESTAMP"),
            )
            .check("balance_positive", "balance >= 0")
            .index(["name", "created_at"], false)
            .build()
            .unwrap(),
        Table::builder("categories")
            .column(Column::new("id", SqlType::BigInteger).primary_key())
            .column(
                Column::new("parent_id", SqlType::BigInteger)
                    .references("categories.id")
                    .on_delete(ReferentialAction::SetNull),
            )
            .column(Column::new("name", SqlType::Text).not_null())
            .build()
            .unwrap(),
        Table::builder("posts")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(
                Column::new("user_id", SqlType::Integer)
                    .not_null()
                    .references("users.id")
                    .on_delete(ReferentialAction::Cascade)
                    .on_update(ReferentialAction::Cascade),
            )
            .column(Column::new("category_id", SqlType::BigInteger).references("categories.id"))
            .column(
                Column::new("title", SqlType::string(200))
                    .not_null()
                    .index(),
            )
            .column(
                Column::new(
                    "status",
                    SqlType::enumeration("post_status", ["draft", "published", "it's"]),
                )
                .not_null()
                .server_default("draft"),
            )
            .column(Column::new("uid", SqlType::Uuid).not_null().unique())
            .column(Column::new("meta", SqlType::Json))
            .column(Column::new("published_on", SqlType::Date))
            .column(Column::new(
                "published_at",
                SqlType::DateTime { timezone: true },
            ))
            .column(Column::new("remind_at", SqlType::Time))
            .column(Column::new("thumbnail", SqlType::LargeBinary))
            .column(Column::new("small", SqlType::SmallInteger))
            .unique(["user_id", "title"])
            .index(["user_id", "published_at"], true)
            .build()
            .unwrap(),
        Table::builder("tags")
            .column(Column::new("id", SqlType::SmallInteger).primary_key())
            .column(
                Column::new("label", SqlType::string(50))
                    .not_null()
                    .unique(),
            )
            .build()
            .unwrap(),
        Table::builder("post_tags")
            .column(Column::new("post_id", SqlType::Integer))
            .column(Column::new("tag_id", SqlType::SmallInteger))
            .primary_key(["post_id", "tag_id"])
            .foreign_key(ForeignKey {
                name: None,
                columns: vec!["post_id".into()],
                referred_table: "posts".into(),
                referred_columns: vec!["id".into()],
                on_delete: Some(ReferentialAction::Cascade),
                on_update: None,
            })
            .foreign_key(ForeignKey {
                name: Some("post_tags_tag_fk".into()),
                columns: vec!["tag_id".into()],
                referred_table: "tags".into(),
                referred_columns: vec!["id".into()],
                on_delete: Some(ReferentialAction::Restrict),
                on_update: Some(ReferentialAction::NoAction),
            })
            .build()
            .unwrap(),
    ];
    for t in tables {
        md.add(t).unwrap();
    }
    md
}

async fn no_false_positives_after_create_all(db: &TestDb) -> Result<()> {
    let engine = db.engine();
    let models = rich_models();
    let options = AutogenerateOptions::new().include_drop_tables(true);
    let before = check(&engine, &models, &options).await?;
    assert_eq!(before.len(), 5, "{before:#?}");
    assert!(before.iter().all(|d| matches!(d, Difference::AddTable(_))));
    models.create_all(&engine).await?;
    let after = check(&engine, &models, &options).await?;
    let shown: Vec<String> = after.iter().map(ToString::to_string).collect();
    assert!(
        shown.is_empty(),
        "false positives on {:?}: {shown:#?}",
        db.kind
    );
    assert!(
        autogenerate(&engine, &models, &options, "nothing", &[])
            .await?
            .is_none(),
        "no changes detected"
    );
    // The version table is never proposed for dropping.
    let revisions = Revisions::new(Vec::<aludel_migrate::Revision>::new())?;
    Runner::new(&engine, &revisions).stamp("base").await?;
    assert!(check(&engine, &models, &options).await?.is_empty());
    models.drop_all(&engine).await?;
    Ok(())
}

/// Before: what the database has.
fn v1() -> MetaData {
    let mut md = MetaData::new();
    md.add(
        Table::builder("account")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(
                Column::new("email", SqlType::string(100))
                    .not_null()
                    .unique(),
            )
            .column(Column::new("name", SqlType::string(50)))
            .column(Column::new("nickname", SqlType::string(30)))
            .column(Column::new("age", SqlType::SmallInteger))
            .column(Column::new("plan", SqlType::string(20)).server_default("free"))
            .column(Column::new("note", SqlType::string(50)).index())
            .build()
            .unwrap(),
    )
    .unwrap();
    md.add(
        Table::builder("post")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("account_id", SqlType::Integer))
            .column(Column::new("title", SqlType::string(50)).not_null())
            .build()
            .unwrap(),
    )
    .unwrap();
    md
}

/// After: what the models say now.
fn v2() -> MetaData {
    let mut md = MetaData::new();
    md.add(
        Table::builder("account")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(
                Column::new("email", SqlType::string(100))
                    .not_null()
                    .unique(),
            )
            .column(Column::new("name", SqlType::string(100)).not_null())
            .column(Column::new("handle", SqlType::string(30)))
            .column(Column::new("plan", SqlType::string(20)).server_default("basic"))
            .column(Column::new("note", SqlType::string(50)))
            .column(
                Column::new("score", SqlType::Integer)
                    .not_null()
                    .server_default(0_i32),
            )
            .build()
            .unwrap(),
    )
    .unwrap();
    md.add(
        Table::builder("post")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(
                Column::new("account_id", SqlType::Integer)
                    .references("account.id")
                    .on_delete(ReferentialAction::Cascade),
            )
            .column(Column::new("title", SqlType::string(50)).not_null().index())
            .unique(["account_id", "title"])
            .build()
            .unwrap(),
    )
    .unwrap();
    md.add(
        Table::builder("tag")
            .column(Column::new("id", SqlType::SmallInteger).primary_key())
            .column(
                Column::new("label", SqlType::string(30))
                    .not_null()
                    .unique(),
            )
            .build()
            .unwrap(),
    )
    .unwrap();
    md
}

fn legacy() -> Table {
    Table::builder("legacy")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .build()
        .unwrap()
}

/// A database at v1, plus a table no model owns.
async fn at_v1(engine: &Engine) -> Result<()> {
    let mut md = v1();
    md.add(legacy())?;
    md.create_all(engine).await?;
    Ok(())
}

const EXPECTED: [&str; 10] = [
    "removed index 'ix_account_note' on 'account'",
    "added table 'tag'",
    "modified column 'account.name': type VARCHAR(50) to VARCHAR(100), nullable true to false",
    "modified column 'account.plan': server default",
    "renamed column 'account.nickname' to 'handle' (a column dropped and one added with the same type)",
    "added column 'account.score'",
    "removed column 'account.age' [destructive]",
    "added index 'ix_post_title' on 'post' (title)",
    "added unique constraint 'uq_post_account_id_title' on 'post' (account_id, title)",
    "added foreign key 'fk_post_account_id_account' on 'post' (account_id) -> 'account'",
];

async fn detects_model_changes(db: &TestDb) -> Result<()> {
    let engine = db.engine();
    at_v1(&engine).await?;
    let found = check(&engine, &v2(), &AutogenerateOptions::new()).await?;
    let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(shown, EXPECTED, "{:?}", db.kind);
    let destructive: Vec<&Difference> = found.iter().filter(|d| d.is_destructive()).collect();
    assert_eq!(destructive.len(), 1);

    // Unnamed constraints are impossible: every one proposed has a name.
    for d in &found {
        match d {
            Difference::AddIndex { index, .. } => assert!(index.name.is_some()),
            Difference::AddUnique { constraint, .. } => assert!(constraint.name.is_some()),
            Difference::AddForeignKey { foreign_key, .. } => {
                assert!(foreign_key.name.is_some())
            }
            Difference::AddTable(t) => {
                assert!(t.primary_key_name().is_some());
                assert!(t.unique_constraints().iter().all(|u| u.name.is_some()));
            }
            _ => {}
        }
    }

    // A table no model owns is dropped only when asked, and the filter
    // keeps it out even then.
    let asked = AutogenerateOptions::new().include_drop_tables(true);
    let found = check(&engine, &v2(), &asked).await?;
    assert_eq!(
        found.last().map(ToString::to_string).as_deref(),
        Some("removed table 'legacy' [destructive]")
    );
    let filtered = asked.include_table(|t| t != "legacy");
    assert_eq!(
        check(&engine, &v2(), &filtered).await?.len(),
        EXPECTED.len()
    );

    // Renames can be turned off: then a drop and an add.
    let plain = AutogenerateOptions::new().detect_renames(false);
    let shown: Vec<String> = check(&engine, &v2(), &plain)
        .await?
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        shown.contains(&"added column 'account.handle'".to_string()),
        "{shown:?}"
    );
    assert!(shown.contains(&"removed column 'account.nickname' [destructive]".to_string()));
    Ok(())
}

const GENERATED: &str = "tests/it/autogen/versions/feedc0ffee01_account_changes.rs";

/// The script autogenerate writes for v1 → v2, as checked in below and
/// compiled by `include!`. `ALUDEL_UPDATE_GENERATED=1` rewrites the file.
#[tokio::test]
async fn generated_script_is_the_checked_in_one() {
    crate::harness::run(Kind::Sqlite, module_path!(), async |db: &TestDb| {
        let engine = db.engine();
        at_v1(&engine).await?;
        let found = check(&engine, &v2(), &AutogenerateOptions::new()).await?;
        let text = render_revision(
            "feedc0ffee01",
            &[],
            "account changes",
            "2024-06-01 12:00:00.000000",
            &found,
        );
        assert!(!text.contains("name: None"), "{text}");
        assert!(text.contains("// Column \"nickname\" was dropped and \"handle\" added"));
        assert!(text.contains("Destructive changes"));
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(GENERATED);
        if std::env::var("ALUDEL_UPDATE_GENERATED").is_ok_and(|v| v == "1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "{GENERATED} is not what autogenerate writes now; rerun with ALUDEL_UPDATE_GENERATED=1\n{text}"
        );
        Ok(())
    })
    .await
}

mod generated {
    // What `migrations!` does with each script file.
    use aludel_migrate::prelude::*;
    include!("autogen/versions/feedc0ffee01_account_changes.rs");
}

async fn generated_script_upgrades_and_downgrades(db: &TestDb) -> Result<()> {
    let engine = db.engine();
    at_v1(&engine).await?;
    engine
        .execute(
            aludel_core::text(
                "INSERT INTO account (id, email, name, nickname, age) VALUES (1, 'a@x', 'Ada', 'ada', 36)",
            ),
            (),
        )
        .await?;
    let revisions = Revisions::new([generated::REVISION])?;
    let runner = Runner::new(&engine, &revisions);
    runner.upgrade("head").await?;
    let left = check(&engine, &v2(), &AutogenerateOptions::new()).await?;
    assert!(left.is_empty(), "after upgrade: {left:#?}");
    // The rename kept the data.
    let handle: String = engine
        .execute(
            aludel_core::text("SELECT handle FROM account WHERE id = 1"),
            (),
        )
        .await?
        .scalar_one()?;
    assert_eq!(handle, "ada");
    runner.downgrade("base").await?;
    let back = check(&engine, &v1(), &AutogenerateOptions::new()).await?;
    assert!(back.is_empty(), "after downgrade: {back:#?}");
    let nickname: String = engine
        .execute(
            aludel_core::text("SELECT nickname FROM account WHERE id = 1"),
            (),
        )
        .await?
        .scalar_one()?;
    assert_eq!(nickname, "ada");
    Ok(())
}

all_backends!(
    no_false_positives_after_create_all,
    detects_model_changes,
    generated_script_upgrades_and_downgrades
);
