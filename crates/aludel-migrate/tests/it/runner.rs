//! The runner against real databases: tables after upgrade and downgrade,
//! the rows of alembic_version, errors naming revisions, failures.

use aludel_core::schema::{Column, SqlType, Table};
use aludel_core::{params, text, Connection, Engine};
use aludel_migrate::{ErrorKind, Ops, Result, Revision, Revisions, Runner};

use crate::harness::{Kind, TestDb};

async fn tables(engine: &Engine) -> Result<Vec<String>> {
    Ok(engine.inspector().table_names().await?)
}

fn users() -> aludel_core::Result<Table> {
    Table::builder("users")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::string(50)).not_null().unique())
        .column(Column::new("email", SqlType::string(100)).index())
        .build()
}

fn posts() -> aludel_core::Result<Table> {
    Table::builder("posts")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("user_id", SqlType::Integer)
                .not_null()
                .references("users.id"),
        )
        .column(Column::new("title", SqlType::string(100)).not_null())
        .build()
}

const R1: Revision = Revision::new("1975ea83b712", &[], "create users")
    .upgrade(|op| {
        op.create_table(&users()?);
        Ok(())
    })
    .downgrade(|op| {
        op.drop_table("users");
        Ok(())
    });

const R2: Revision = Revision::new("ae1027a6acf0", &["1975ea83b712"], "create posts")
    .upgrade(|op| {
        op.create_table(&posts()?);
        op.bulk_insert(
            &users()?,
            (1..=3).map(
                |i| params! { "id": i, "name": format!("user {i}"), "email": format!("u{i}@x") },
            ),
        );
        op.bulk_insert(
            &posts()?,
            [params! { "id": 1, "user_id": 2, "title": "hello" }],
        );
        Ok(())
    })
    .downgrade(|op| {
        op.drop_table("posts");
        op.execute("DELETE FROM users");
        Ok(())
    });

const R3: Revision = Revision::new("27c6a30d7c24", &["ae1027a6acf0"], "add karma")
    .upgrade(|op| {
        op.add_column(
            "users",
            Column::new("karma", SqlType::Integer)
                .not_null()
                .server_default(0),
        );
        op.create_index("ix_posts_title", "posts", ["title"], false);
        op.execute_with(
            "UPDATE users SET karma = :k WHERE id > 1",
            params! { "k": 7 },
        );
        Ok(())
    })
    .downgrade(|op| {
        op.drop_index("ix_posts_title", "posts");
        op.drop_column("users", "karma");
        Ok(())
    });

async fn upgrade_to_head_and_back_to_base(db: &TestDb) -> Result<()> {
    let engine = db.engine();
    let revisions = Revisions::new([R1, R2, R3])?;
    let runner = Runner::new(&engine, &revisions);
    assert!(runner.current().await?.is_empty());

    let lines = runner.upgrade("head").await?;
    assert_eq!(
        lines,
        [
            "Running upgrade  -> 1975ea83b712, create users",
            "Running upgrade 1975ea83b712 -> ae1027a6acf0, create posts",
            "Running upgrade ae1027a6acf0 -> 27c6a30d7c24, add karma",
        ]
    );
    assert_eq!(
        tables(&engine).await?,
        ["alembic_version", "posts", "users"]
    );
    assert_eq!(runner.current().await?, ["27c6a30d7c24"]);
    let inspector = engine.inspector();
    let cols: Vec<String> = inspector
        .columns("users")
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(cols, ["id", "name", "email", "karma"]);
    let ix: Vec<Option<String>> = inspector
        .indexes("posts")
        .await?
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert!(ix.contains(&Some("ix_posts_title".into())), "{ix:?}");
    let fks = inspector.foreign_keys("posts").await?;
    assert_eq!(fks[0].referred_table, "users");
    let karma: Vec<i64> = engine
        .execute(text("SELECT karma FROM users ORDER BY id"), ())
        .await?
        .scalars()?;
    assert_eq!(karma, [0, 7, 7]);
    assert!(
        runner.upgrade("head").await?.is_empty(),
        "nothing left to do"
    );

    let lines = runner.downgrade("-1").await?;
    assert_eq!(
        lines,
        ["Running downgrade 27c6a30d7c24 -> ae1027a6acf0, add karma"]
    );
    let cols: Vec<String> = inspector
        .columns("users")
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(cols, ["id", "name", "email"]);
    let ix: Vec<Option<String>> = inspector
        .indexes("posts")
        .await?
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert!(!ix.contains(&Some("ix_posts_title".into())), "{ix:?}");
    assert_eq!(runner.current().await?, ["ae1027a6acf0"]);

    let lines = runner.downgrade("base").await?;
    assert_eq!(
        lines,
        [
            "Running downgrade ae1027a6acf0 -> 1975ea83b712, create posts",
            "Running downgrade 1975ea83b712 -> , create users",
        ]
    );
    assert_eq!(tables(&engine).await?, ["alembic_version"]);
    assert!(runner.current().await?.is_empty());
    let rows: i64 = engine
        .execute(text("SELECT count(*) FROM alembic_version"), ())
        .await?
        .scalar_one()?;
    assert_eq!(
        rows, 0,
        "base: the version table is empty, as Alembic leaves it"
    );

    // relative targets and prefixes
    runner.upgrade("+1").await?;
    assert_eq!(runner.current().await?, ["1975ea83b712"]);
    runner.upgrade("ae10").await?;
    assert_eq!(runner.current().await?, ["ae1027a6acf0"]);
    assert_eq!(
        tables(&engine).await?,
        ["alembic_version", "posts", "users"]
    );
    let err = runner.downgrade("-3").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RelativeOutOfRange);
    assert!(err.message().contains("past base"), "{err}");
    assert_eq!(
        runner.current().await?,
        ["ae1027a6acf0"],
        "a refused target changes nothing"
    );
    runner.downgrade("1975").await?;
    assert_eq!(tables(&engine).await?, ["alembic_version", "users"]);
    runner.downgrade("base").await?;
    assert_eq!(tables(&engine).await?, ["alembic_version"]);
    Ok(())
}

async fn version_table_is_alembics(db: &TestDb) -> Result<()> {
    let engine = db.engine();
    let revisions = Revisions::new([R1])?;
    Runner::new(&engine, &revisions).upgrade("head").await?;
    let inspector = engine.inspector();
    let cols = inspector.columns("alembic_version").await?;
    assert_eq!(cols.len(), 1);
    assert_eq!(cols[0].name, "version_num");
    assert_eq!(cols[0].sql_type, SqlType::String(Some(32)));
    assert!(!cols[0].nullable);
    let pk = inspector.primary_key("alembic_version").await?;
    assert_eq!(pk.columns, ["version_num"]);
    // MySQL calls every primary key PRIMARY
    if db.kind != Kind::Mysql {
        assert_eq!(pk.name.as_deref(), Some("alembic_version_pkc"));
    }
    let v: String = engine
        .execute(text("SELECT version_num FROM alembic_version"), ())
        .await?
        .scalar_one()?;
    assert_eq!(v, "1975ea83b712");
    Ok(())
}

fn table_named(name: &'static str) -> impl Fn(&mut Ops) -> aludel_core::Result<()> {
    move |op| {
        op.create_table(
            &Table::builder(name)
                .column(Column::new("id", SqlType::Integer).primary_key())
                .build()?,
        );
        Ok(())
    }
}

const A: Revision = Revision::new("aaaaaaaaaaaa", &[], "a")
    .upgrade(|op| table_named("t_a")(op))
    .downgrade(|op| {
        op.drop_table("t_a");
        Ok(())
    });
const B: Revision = Revision::new("bbbbbbbbbbbb", &["aaaaaaaaaaaa"], "b")
    .upgrade(|op| table_named("t_b")(op))
    .downgrade(|op| {
        op.drop_table("t_b");
        Ok(())
    });
const C: Revision = Revision::new("cccccccccccc", &["aaaaaaaaaaaa"], "c")
    .upgrade(|op| table_named("t_c")(op))
    .downgrade(|op| {
        op.drop_table("t_c");
        Ok(())
    });
const M: Revision = Revision::new("eeeeeeeeeeee", &["bbbbbbbbbbbb", "cccccccccccc"], "merge");

async fn branches_and_merges(db: &TestDb) -> Result<()> {
    let engine = db.engine();
    let branched = Revisions::new([A, B, C])?;
    let runner = Runner::new(&engine, &branched);
    let err = runner.upgrade("head").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MultipleHeads);
    assert_eq!(err.revisions(), ["bbbbbbbbbbbb", "cccccccccccc"]);
    assert!(err.message().contains("db merge heads"), "{err}");
    assert!(runner.current().await?.is_empty(), "nothing ran");

    let lines = runner.upgrade("heads").await?;
    assert_eq!(lines.len(), 3);
    assert_eq!(runner.current().await?, ["bbbbbbbbbbbb", "cccccccccccc"]);
    assert_eq!(
        tables(&engine).await?,
        ["alembic_version", "t_a", "t_b", "t_c"]
    );

    let merged = Revisions::new([A, B, C, M])?;
    let runner = Runner::new(&engine, &merged);
    let lines = runner.upgrade("head").await?;
    assert_eq!(
        lines,
        ["Running upgrade bbbbbbbbbbbb, cccccccccccc -> eeeeeeeeeeee, merge"]
    );
    assert_eq!(
        runner.current().await?,
        ["eeeeeeeeeeee"],
        "the merge leaves one row"
    );

    let lines = runner.downgrade("bbbb").await?;
    assert_eq!(
        lines,
        ["Running downgrade eeeeeeeeeeee -> bbbbbbbbbbbb, cccccccccccc, merge"]
    );
    assert_eq!(runner.current().await?, ["bbbbbbbbbbbb", "cccccccccccc"]);
    runner.downgrade("aaaa").await?;
    assert_eq!(runner.current().await?, ["aaaaaaaaaaaa"]);
    assert_eq!(tables(&engine).await?, ["alembic_version", "t_a"]);

    // stamp writes the rows and runs nothing
    let lines = runner.stamp("heads").await?;
    assert_eq!(
        lines,
        ["Running stamp_revision aaaaaaaaaaaa -> eeeeeeeeeeee"]
    );
    assert_eq!(runner.current().await?, ["eeeeeeeeeeee"]);
    assert_eq!(tables(&engine).await?, ["alembic_version", "t_a"]);
    runner.stamp("base").await?;
    assert!(runner.current().await?.is_empty());
    Ok(())
}

async fn unknown_revisions_name_themselves(db: &TestDb) -> Result<()> {
    let engine = db.engine();
    let revisions = Revisions::new([R1])?;
    let runner = Runner::new(&engine, &revisions);
    let err = runner.upgrade("f00baa").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownRevision);
    assert_eq!(err.revisions(), ["f00baa"]);
    for part in ["'f00baa'", "1975ea83b712", "stamp"] {
        assert!(err.message().contains(part), "{part}: {err}");
    }

    runner.upgrade("head").await?;
    // a database migrated by a chain this app does not know
    engine
        .execute(
            text("UPDATE alembic_version SET version_num = 'deadbeef0000'"),
            (),
        )
        .await?;
    let err = runner.upgrade("head").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownRevision);
    for part in ["'deadbeef0000'", "1975ea83b712", "db stamp"] {
        assert!(err.message().contains(part), "{part}: {err}");
    }
    assert_eq!(runner.current().await?, ["deadbeef0000"]);
    let lines = runner.stamp("head").await?;
    assert_eq!(
        lines,
        ["Running stamp_revision deadbeef0000 -> 1975ea83b712"]
    );
    assert_eq!(runner.current().await?, ["1975ea83b712"]);
    assert!(runner.upgrade("head").await?.is_empty());
    Ok(())
}

const DATA1: Revision = Revision::new("0d0d0d0d0d01", &[], "accounts")
    .upgrade(|op| {
        let account = Table::builder("account")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("name", SqlType::string(50)).not_null())
            .column(Column::new("slug", SqlType::string(50)))
            .build()?;
        op.create_table(&account);
        op.bulk_insert(
            &account,
            ["Ada Lovelace", "Alan Turing"]
                .iter()
                .enumerate()
                .map(|(i, n)| params! { "id": i as i64 + 1, "name": *n }),
        );
        op.run("fill slugs", |conn: &mut Connection| {
            Box::pin(async move {
                let names: Vec<(i64, String)> = conn
                    .execute(text("SELECT id, name FROM account"), ())
                    .await?
                    .all_as()?;
                for (id, name) in names {
                    let slug = name.to_lowercase().replace(' ', "-");
                    conn.execute(
                        text("UPDATE account SET slug = :s WHERE id = :id"),
                        params! { "s": slug, "id": id },
                    )
                    .await?;
                }
                Ok(())
            })
        });
        op.rename_table("account", "member");
        Ok(())
    })
    .downgrade(|op| {
        op.drop_table("member");
        Ok(())
    });

async fn data_migrations_use_the_connection(db: &TestDb) -> Result<()> {
    let engine = db.engine();
    let revisions = Revisions::new([DATA1])?;
    let runner = Runner::new(&engine, &revisions);
    runner.upgrade("head").await?;
    assert_eq!(tables(&engine).await?, ["alembic_version", "member"]);
    let slugs: Vec<String> = engine
        .execute(text("SELECT slug FROM member ORDER BY id"), ())
        .await?
        .scalars()?;
    assert_eq!(slugs, ["ada-lovelace", "alan-turing"]);
    runner.downgrade("base").await?;
    assert_eq!(tables(&engine).await?, ["alembic_version"]);
    Ok(())
}

const OK1: Revision = Revision::new("111111111111", &[], "first")
    .upgrade(|op| table_named("t1")(op))
    .downgrade(|op| {
        op.drop_table("t1");
        Ok(())
    });

/// The broken script: its third op fails.
const BROKEN2: Revision =
    Revision::new("222222222222", &["111111111111"], "second").upgrade(|op| {
        table_named("t2")(op)?;
        table_named("t3")(op)?;
        op.execute("INSERT INTO no_such_table (x) VALUES (1)");
        table_named("t5")(op)
    });

/// The same script once fixed: the ops before the failing one unchanged.
const FIXED2: Revision = Revision::new("222222222222", &["111111111111"], "second").upgrade(|op| {
    table_named("t2")(op)?;
    table_named("t3")(op)?;
    table_named("t4")(op)?;
    table_named("t5")(op)
});

async fn a_failed_revision(db: &TestDb) -> Result<()> {
    let engine = db.engine();
    let broken = Revisions::new([OK1, BROKEN2])?;
    let err = Runner::new(&engine, &broken)
        .upgrade("head")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Database);
    assert_eq!(err.revisions(), ["222222222222"]);
    assert_eq!(err.ops_done(), Some(2));
    assert!(err.database_error().is_some());
    let msg = err.message();
    assert!(
        msg.starts_with(
            "upgrade 111111111111 -> 222222222222 (\"second\") failed at op 3 of 4 (execute"
        ),
        "{msg}"
    );
    let runner = Runner::new(&engine, &broken);
    // the revision before the failing one stays applied
    assert_eq!(runner.current().await?, ["111111111111"]);
    if db.kind == Kind::Mysql {
        assert!(
            msg.contains("ops 1 to 2 of this revision ran and stay committed"),
            "{msg}"
        );
        assert!(msg.contains("it resumes at op 3"), "{msg}");
        assert_eq!(
            tables(&engine).await?,
            [
                "alembic_version",
                "aludel_migration_progress",
                "t1",
                "t2",
                "t3"
            ]
        );
        // anything but finishing that revision is refused
        let err = runner.downgrade("base").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Incomplete);
        assert!(
            err.message().contains("'222222222222' stopped after 2"),
            "{err}"
        );
    } else {
        assert!(msg.contains("nothing of it remains"), "{msg}");
        assert!(msg.contains("the database is at 111111111111"), "{msg}");
        assert_eq!(tables(&engine).await?, ["alembic_version", "t1"]);
    }

    // fixed, the upgrade runs again (and on MySQL resumes at op 3 instead
    // of failing on "table exists")
    let fixed = Revisions::new([OK1, FIXED2])?;
    let lines = Runner::new(&engine, &fixed).upgrade("head").await?;
    assert_eq!(
        lines,
        ["Running upgrade 111111111111 -> 222222222222, second"]
    );
    assert_eq!(
        tables(&engine).await?,
        ["alembic_version", "t1", "t2", "t3", "t4", "t5"],
        "the progress table is gone once nothing is left halfway"
    );
    assert_eq!(
        Runner::new(&engine, &fixed).current().await?,
        ["222222222222"]
    );
    Ok(())
}

all_backends!(
    upgrade_to_head_and_back_to_base,
    version_table_is_alembics,
    branches_and_merges,
    unknown_revisions_name_themselves,
    data_migrations_use_the_connection,
    a_failed_revision,
);

/// The runner's futures can be spawned (an axum app migrates at startup
/// from any task).
#[test]
fn runner_futures_are_send() {
    fn is_send<T: Send>(_: &T) {}
    let engine = aludel_core::create_engine("sqlite://").unwrap();
    let revisions = Revisions::new([R1, DATA1]).unwrap();
    let runner = Runner::new(&engine, &revisions);
    is_send(&runner.upgrade("head"));
    is_send(&runner.downgrade("base"));
    is_send(&runner.stamp("head"));
    is_send(&runner.current());
}
