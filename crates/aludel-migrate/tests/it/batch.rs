//! Changes SQLite's ALTER cannot make (batch mode there, in place
//! elsewhere): rows, indexes and foreign keys in both directions survive;
//! a failure leaves the database at the previous revision.

use aludel_core::schema::{Column, ForeignKey, ReferentialAction, SqlType, Table};
use aludel_core::{params, text, Connection, Engine, ErrorKind as CoreKind, IntegrityKind};
use aludel_migrate::{AlterColumn, ConstraintKind, ErrorKind, Result, Revision, Revisions, Runner};

use crate::harness::{Kind, TestDb};

const BASE: Revision = Revision::new("ba5e00000001", &[], "parents and children")
    .upgrade(|op| {
        op.create_table(
            &Table::builder("parent")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("name", SqlType::string(20)).index())
                .column(Column::new("note", SqlType::string(20)))
                .build()?,
        );
        op.create_table(
            &Table::builder("child")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(
                    Column::new("parent_id", SqlType::Integer)
                        .not_null()
                        .references("parent.id")
                        .on_delete(ReferentialAction::Cascade),
                )
                .column(Column::new("tag", SqlType::string(10)).index())
                .column(Column::new("extra", SqlType::Integer))
                .build()?,
        );
        let parent = Table::builder("parent")
            .column(Column::new("id", SqlType::Integer))
            .column(Column::new("name", SqlType::string(20)))
            .build()?;
        op.bulk_insert(
            &parent,
            [
                params! { "id": 1, "name": "ada" },
                params! { "id": 2, "name": "grace" },
            ],
        );
        let child = Table::builder("child")
            .column(Column::new("id", SqlType::Integer))
            .column(Column::new("parent_id", SqlType::Integer))
            .column(Column::new("tag", SqlType::string(10)))
            .column(Column::new("extra", SqlType::Integer))
            .build()?;
        op.bulk_insert(
            &child,
            [
                params! { "id": 10, "parent_id": 1, "tag": "a", "extra": 1 },
                params! { "id": 11, "parent_id": 1, "tag": "b", "extra": 2 },
                params! { "id": 12, "parent_id": 2, "tag": "c", "extra": 3 },
            ],
        );
        Ok(())
    })
    .downgrade(|op| {
        op.drop_table("child");
        op.drop_table("parent");
        Ok(())
    });

/// Alter the referred table (type, NOT NULL, default), add a unique
/// constraint and a check to it, drop an indexed column of the referring
/// table and a plain one.
const RESHAPE: Revision = Revision::new("ba5e00000002", &["ba5e00000001"], "reshape")
    .upgrade(|op| {
        op.alter_column(
            "parent",
            "name",
            AlterColumn::new()
                .sql_type(SqlType::string(100))
                .nullable(false)
                .server_default("nobody"),
        );
        op.create_unique_constraint("uq_parent_name", "parent", ["name"]);
        op.create_check_constraint("ck_parent_name_long", "parent", "length(name) > 1");
        op.drop_column("child", "tag");
        op.drop_column("child", "extra");
        Ok(())
    })
    .downgrade(|op| {
        op.add_column("child", Column::new("extra", SqlType::Integer));
        op.add_column("child", Column::new("tag", SqlType::string(10)).index());
        op.drop_constraint("ck_parent_name_long", "parent", ConstraintKind::Check);
        op.drop_constraint("uq_parent_name", "parent", ConstraintKind::Unique);
        op.alter_column(
            "parent",
            "name",
            AlterColumn::new()
                .sql_type(SqlType::string(20))
                .nullable(true)
                .drop_server_default(),
        );
        Ok(())
    });

/// Fails at its second op: `note` holds NULLs.
const FAILING: Revision = Revision::new("ba5e00000003", &["ba5e00000002"], "note required")
    .upgrade(|op| {
        op.alter_column("parent", "name", AlterColumn::new().rename("full_name"));
        op.alter_column("parent", "note", AlterColumn::new().nullable(false));
        Ok(())
    });

/// Leaves a child pointing nowhere while a rebuild runs: the foreign key
/// check before the commit must refuse it.
const ORPHAN: Revision = Revision::new("ba5e00000004", &["ba5e00000002"], "orphan").upgrade(|op| {
    op.execute("INSERT INTO child (id, parent_id) VALUES (99, 12345)");
    op.create_foreign_key(
        "parent",
        ForeignKey {
            name: None,
            columns: vec!["id".into()],
            referred_table: "parent".into(),
            referred_columns: vec!["id".into()],
            on_delete: None,
            on_update: None,
        },
    );
    Ok(())
});

async fn rows(engine: &Engine, sql: &str) -> Result<Vec<(i64, String)>> {
    Ok(engine.execute(text(sql), ()).await?.all_as()?)
}

async fn index_names(engine: &Engine, table: &str) -> Result<Vec<String>> {
    Ok(engine
        .inspector()
        .indexes(table)
        .await?
        .into_iter()
        .filter_map(|i| i.name)
        .collect())
}

async fn child_insert(engine: &Engine, parent_id: i64) -> aludel_core::Result<()> {
    let mut conn: Connection = engine.connect().await?;
    conn.execute(
        text("INSERT INTO child (id, parent_id) VALUES (:id, :p)"),
        params! { "id": 500 + parent_id, "p": parent_id },
    )
    .await?;
    conn.commit().await
}

async fn rebuilds_keep_rows_indexes_and_foreign_keys(db: &TestDb) -> Result<()> {
    let engine = db.engine();
    let inspector = engine.inspector();
    let revisions = Revisions::new([BASE, RESHAPE])?;
    let runner = Runner::new(&engine, &revisions);
    runner.upgrade("head").await?;

    // Rows kept, on both sides of the foreign key (a CASCADE from the
    // rebuilt parent would have emptied child).
    assert_eq!(
        rows(&engine, "SELECT id, name FROM parent ORDER BY id").await?,
        [(1, "ada".to_string()), (2, "grace".to_string())]
    );
    let children: Vec<(i64, i64)> = engine
        .execute(text("SELECT id, parent_id FROM child ORDER BY id"), ())
        .await?
        .all_as()?;
    assert_eq!(children, [(10, 1), (11, 1), (12, 2)]);

    // The new shape.
    let name = &inspector.columns("parent").await?[1];
    assert_eq!(name.sql_type, SqlType::String(Some(100)));
    assert!(!name.nullable);
    assert!(
        name.default
            .as_deref()
            .is_some_and(|d| d.contains("nobody")),
        "{name:?}"
    );
    let child_cols: Vec<String> = inspector
        .columns("child")
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(child_cols, ["id", "parent_id"]);
    assert_eq!(
        inspector.unique_constraints("parent").await?[0]
            .name
            .as_deref(),
        Some("uq_parent_name")
    );
    assert!(inspector
        .check_constraints("parent")
        .await?
        .iter()
        .any(|c| c.name == "ck_parent_name_long"));
    // The index of the altered table survives its rebuild; the dropped
    // column's index went with it.
    assert_eq!(index_names(&engine, "parent").await?, ["ix_parent_name"]);
    assert!(index_names(&engine, "child").await?.is_empty());

    // Foreign keys: still declared, still enforced, and the parent's
    // identity unchanged (a CASCADE still reaches the children).
    let fks = inspector.foreign_keys("child").await?;
    assert_eq!(fks.len(), 1);
    assert_eq!(fks[0].referred_table, "parent");
    assert_eq!(fks[0].on_delete, Some(ReferentialAction::Cascade));
    let err = child_insert(&engine, 777).await.unwrap_err();
    assert_eq!(
        err.kind(),
        CoreKind::Integrity(IntegrityKind::ForeignKey),
        "{err}"
    );
    child_insert(&engine, 2).await?;
    engine
        .execute(text("DELETE FROM parent WHERE id = 2"), ())
        .await?;
    let left: i64 = engine
        .execute(text("SELECT count(*) FROM child"), ())
        .await?
        .scalar_one()?;
    assert_eq!(left, 2, "the cascade removed the children of parent 2");

    // And back: the old shape, the rows still there.
    runner.downgrade("-1").await?;
    let name = &inspector.columns("parent").await?[1];
    assert_eq!(name.sql_type, SqlType::String(Some(20)));
    assert!(name.nullable && name.default.is_none(), "{name:?}");
    assert!(inspector.unique_constraints("parent").await?.is_empty());
    assert!(inspector.check_constraints("parent").await?.is_empty());
    assert_eq!(index_names(&engine, "child").await?, ["ix_child_tag"]);
    // The same SQL text as before the downgrade changed the column's type:
    // Core re-prepares a statement cached before DDL (PostgreSQL would
    // otherwise refuse it: "cached plan must not change result type").
    assert_eq!(
        rows(&engine, "SELECT id, name FROM parent ORDER BY id").await?,
        [(1, "ada".to_string())]
    );
    runner.downgrade("base").await?;
    assert_eq!(inspector.table_names().await?, ["alembic_version"]);
    Ok(())
}

async fn a_failed_rebuild_leaves_the_previous_revision(db: &TestDb) -> Result<()> {
    let engine = db.engine();
    let inspector = engine.inspector();
    let revisions = Revisions::new([BASE, RESHAPE, FAILING])?;
    let runner = Runner::new(&engine, &revisions);
    runner.upgrade("ba5e00000002").await?;
    let err = runner.upgrade("head").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Database, "{err}");
    assert!(err.message().contains("op 2 of 2"), "{err}");
    assert_eq!(err.ops_done(), Some(1));
    if db.kind == Kind::Mysql {
        // DDL commits there: the rename ran and stays (see the runner tests
        // for resuming).
        return Ok(());
    }
    assert_eq!(runner.current().await?, ["ba5e00000002"]);
    let cols: Vec<String> = inspector
        .columns("parent")
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(
        cols,
        ["id", "name", "note"],
        "the rename was rolled back too"
    );
    assert_eq!(
        rows(&engine, "SELECT id, name FROM parent ORDER BY id").await?,
        [(1, "ada".to_string()), (2, "grace".to_string())]
    );
    assert!(!inspector
        .table_names()
        .await?
        .iter()
        .any(|t| t.starts_with("_alembic_tmp")));
    // Foreign keys are enforced again on the connection the runner used.
    for _ in 0..3 {
        let err = child_insert(&engine, 4242).await.unwrap_err();
        assert_eq!(err.kind(), CoreKind::Integrity(IntegrityKind::ForeignKey));
    }
    Ok(())
}

all_backends!(
    rebuilds_keep_rows_indexes_and_foreign_keys,
    a_failed_rebuild_leaves_the_previous_revision
);

/// SQLite only: the check that replaces enforcement during a rebuild.
#[tokio::test]
async fn sqlite_foreign_key_check_refuses_a_revision_leaving_orphans() {
    crate::harness::run(Kind::Sqlite, module_path!(), async |db: &TestDb| {
        let engine = db.engine();
        let revisions = Revisions::new([BASE, RESHAPE, ORPHAN])?;
        let runner = Runner::new(&engine, &revisions);
        runner.upgrade("ba5e00000002").await?;
        let err = runner.upgrade("head").await.unwrap_err();
        assert!(err.message().contains("foreign key check failed"), "{err}");
        assert!(err.message().contains("\"child\""), "{err}");
        assert_eq!(runner.current().await?, ["ba5e00000002"]);
        let n: i64 = engine
            .execute(text("SELECT count(*) FROM child WHERE id = 99"), ())
            .await?
            .scalar_one()?;
        assert_eq!(n, 0);
        Ok(())
    })
    .await
}
