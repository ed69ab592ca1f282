//! Column and constraint changes: in place on PostgreSQL and MariaDB; on
//! SQLite a rename in place and the rest by rebuilding the table.

use aludel_core::schema::{Column, ForeignKey, SqlType, Table};
use aludel_migrate::{AlterColumn, ConstraintKind, Result, Revision, Revisions, Runner};

use crate::harness::TestDb;

const ITEMS: Revision = Revision::new("a1a1a1a1a1a1", &[], "items")
    .upgrade(|op| {
        op.create_table(
            &Table::builder("owner")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .build()?,
        );
        op.create_table(
            &Table::builder("item")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("name", SqlType::string(50)).not_null())
                .column(Column::new("price", SqlType::Integer))
                .column(Column::new("owner_id", SqlType::Integer))
                .build()?,
        );
        Ok(())
    })
    .downgrade(|op| {
        op.drop_table("item");
        op.drop_table("owner");
        Ok(())
    });

const CHANGE: Revision = Revision::new("b2b2b2b2b2b2", &["a1a1a1a1a1a1"], "change items")
    .upgrade(|op| {
        op.alter_column(
            "item",
            "name",
            AlterColumn::new()
                .sql_type(SqlType::string(200))
                .nullable(true)
                .rename("title"),
        );
        op.alter_column(
            "item",
            "price",
            AlterColumn::new().server_default(0).nullable(false),
        );
        op.create_foreign_key(
            "item",
            ForeignKey {
                name: None,
                columns: vec!["owner_id".into()],
                referred_table: "owner".into(),
                referred_columns: vec!["id".into()],
                on_delete: None,
                on_update: None,
            },
        );
        op.create_unique_constraint("uq_item_title", "item", ["title"]);
        op.create_check_constraint("ck_item_price_positive", "item", "price >= 0");
        Ok(())
    })
    .downgrade(|op| {
        op.drop_constraint("ck_item_price_positive", "item", ConstraintKind::Check);
        op.drop_constraint("uq_item_title", "item", ConstraintKind::Unique);
        op.drop_constraint("fk_item_owner_id_owner", "item", ConstraintKind::ForeignKey);
        op.alter_column(
            "item",
            "price",
            AlterColumn::new().drop_server_default().nullable(true),
        );
        op.alter_column(
            "item",
            "title",
            AlterColumn::new()
                .rename("name")
                .sql_type(SqlType::string(50))
                .nullable(false),
        );
        Ok(())
    });

const RENAME: Revision = Revision::new("c3c3c3c3c3c3", &["a1a1a1a1a1a1"], "rename only")
    .upgrade(|op| {
        op.alter_column("item", "name", AlterColumn::new().rename("title"));
        Ok(())
    })
    .downgrade(|op| {
        op.alter_column("item", "title", AlterColumn::new().rename("name"));
        Ok(())
    });

async fn alter_columns_and_constraints(db: &TestDb) -> Result<()> {
    let engine = db.engine();
    let inspector = engine.inspector();
    let revisions = Revisions::new([ITEMS, CHANGE])?;
    let runner = Runner::new(&engine, &revisions);
    runner.upgrade("a1a1").await?;
    {
        // A rename alone is native everywhere (SQLite ≥ 3.25 too).
        let renames = Revisions::new([ITEMS, RENAME])?;
        let runner = Runner::new(&engine, &renames);
        runner.upgrade("head").await?;
        let cols: Vec<String> = inspector
            .columns("item")
            .await?
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(cols, ["id", "title", "price", "owner_id"]);
        runner.downgrade("-1").await?;
        let cols: Vec<String> = inspector
            .columns("item")
            .await?
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(cols, ["id", "name", "price", "owner_id"]);
    }

    // On SQLite the rest rebuilds the table (batch mode).
    runner.upgrade("head").await?;
    let cols = inspector.columns("item").await?;
    assert_eq!(cols[1].name, "title");
    assert_eq!(cols[1].sql_type, SqlType::String(Some(200)));
    assert!(cols[1].nullable);
    assert!(!cols[2].nullable);
    assert!(
        cols[2].default.as_deref().is_some_and(|d| d.contains('0')),
        "{:?}",
        cols[2]
    );
    let fks = inspector.foreign_keys("item").await?;
    assert_eq!(fks.len(), 1);
    assert_eq!(fks[0].name.as_deref(), Some("fk_item_owner_id_owner"));
    let uqs = inspector.unique_constraints("item").await?;
    assert_eq!(uqs[0].name.as_deref(), Some("uq_item_title"));
    let cks = inspector.check_constraints("item").await?;
    assert!(
        cks.iter().any(|c| c.name == "ck_item_price_positive"),
        "{cks:?}"
    );

    runner.downgrade("-1").await?;
    let cols = inspector.columns("item").await?;
    assert_eq!(cols[1].name, "name");
    assert_eq!(cols[1].sql_type, SqlType::String(Some(50)));
    assert!(!cols[1].nullable);
    assert!(
        cols[2].nullable && cols[2].default.is_none(),
        "{:?}",
        cols[2]
    );
    assert!(inspector.foreign_keys("item").await?.is_empty());
    assert!(inspector.unique_constraints("item").await?.is_empty());
    assert!(inspector.check_constraints("item").await?.is_empty());
    runner.downgrade("base").await?;
    assert_eq!(inspector.table_names().await?, ["alembic_version"]);
    Ok(())
}

all_backends!(alter_columns_and_constraints);
