//! Offline SQL (`--sql`): rendered without a database, then run for real to
//! prove it does what the online runner does.

use aludel_core::{text, Connection, Dialect, Engine};
use aludel_migrate::cli::{parse_args, Migrate};
use aludel_migrate::{offline, ErrorKind, Result, Revision, Revisions, Runner};

use crate::cli::MIGRATIONS;
use crate::harness::{Kind, TestDb};

/// Run a script the way `psql -f` / `mysql <` would: statement by statement.
async fn run_script(engine: &Engine, sql: &str) -> Result<()> {
    let mut conn = engine.connect().await?;
    for stmt in sql.split(";\n\n") {
        let stmt: String = stmt
            .lines()
            .filter(|l| !l.starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        let stmt = stmt.trim();
        match stmt {
            "" => {}
            "BEGIN" => {}
            "COMMIT" => conn.commit().await?,
            _ => {
                conn.execute(text(stmt.to_string()), ()).await?;
            }
        }
    }
    conn.commit().await?;
    Ok(())
}

async fn offline_sql_does_what_the_runner_does(db: &TestDb) -> Result<()> {
    let revs = MIGRATIONS.revisions()?;
    let engine = db.engine();
    let dialect = engine.dialect().clone();
    let up = offline::upgrade_sql(&revs, &dialect, "head")?;
    assert!(up.starts_with("CREATE TABLE"), "{up}");
    assert!(
        up.contains("-- Running upgrade  -> 1975ea83b712, create account table\n"),
        "{up}"
    );
    assert!(up.contains("-- Running upgrade 1975ea83b712 -> ae1027a6acf0, add plan column\n"));
    let q = |s: &str| dialect.quote_identifier(s);
    let (t, c) = (q("alembic_version"), q("version_num"));
    assert!(
        up.contains(&format!("INSERT INTO {t} ({c}) VALUES ('1975ea83b712');")),
        "{up}"
    );
    assert!(
        up.contains(&format!(
            "UPDATE {t} SET {c} = 'ae1027a6acf0' WHERE {t}.{c} = '1975ea83b712';"
        )),
        "{up}"
    );
    assert!(
        up.contains("'Ada'"),
        "bulk_insert values are literals: {up}"
    );
    assert_eq!(
        up.contains("BEGIN;"),
        db.kind != Kind::Mysql,
        "a transaction per revision where DDL is transactional"
    );
    run_script(&engine, &up).await?;
    let runner = Runner::new(&engine, &revs);
    assert_eq!(runner.current().await?, ["27c6a30d7c24"]);
    let n: i64 = engine
        .execute(text("SELECT count(*) FROM invoice"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 1);
    assert!(
        runner.upgrade("head").await?.is_empty(),
        "the runner agrees: at head"
    );

    let down = offline::downgrade_sql(&revs, &dialect, "head:ae1027a6acf0")?;
    assert!(
        down.contains("-- Running downgrade 27c6a30d7c24 -> ae1027a6acf0, create invoice table")
    );
    assert!(down.contains(&format!(
        "UPDATE {t} SET {c} = 'ae1027a6acf0' WHERE {t}.{c} = '27c6a30d7c24';"
    )));
    assert!(!down.contains("CREATE TABLE"), "{down}");
    run_script(&engine, &down).await?;
    assert_eq!(runner.current().await?, ["ae1027a6acf0"]);
    let tables = engine.inspector().table_names().await?;
    assert!(!tables.contains(&"invoice".to_string()), "{tables:?}");
    runner.downgrade("base").await?;

    // the same through the command line, with no database at all
    let m = Migrate::new(&MIGRATIONS).directory("tests/it/migrations");
    let url = match db.kind {
        Kind::Postgres => "postgresql://nobody@127.0.0.1:1/none",
        Kind::Mysql => "mysql://nobody@127.0.0.1:1/none",
        Kind::Sqlite => "sqlite:////nonexistent/dir/x.db",
    };
    let args = parse_args(["--url", url, "upgrade", "--sql", "ae10"]).unwrap();
    let (code, lines) = m.run_captured(&args).await;
    assert_eq!(code, 0, "{lines:?}");
    assert!(
        lines[0].contains("-- Running upgrade 1975ea83b712 -> ae1027a6acf0"),
        "{lines:?}"
    );
    assert!(!lines[0].contains("invoice"));
    let args = parse_args(["--url", url, "downgrade", "--sql"]).unwrap();
    let (code, lines) = m.run_captured(&args).await;
    assert_eq!(code, 0, "head:-1 by default: {lines:?}");
    assert!(
        lines[0].starts_with("-- Running downgrade 27c6a30d7c24 -> ae1027a6acf0"),
        "{lines:?}"
    );
    let args = parse_args(["--url", url, "downgrade", "--sql", "base"]).unwrap();
    let (code, lines) = m.run_captured(&args).await;
    assert_eq!(code, 1);
    assert!(lines[0].contains("<fromrev>:<torev>"), "{lines:?}");
    Ok(())
}

const DATA: Revision = Revision::new("1975ea83b712", &[], "backfill").upgrade(|op| {
    op.execute("UPDATE account SET name = 'x'");
    op.run("backfill names", |_c: &mut Connection| {
        Box::pin(async { Ok(()) })
    });
    Ok(())
});

#[test]
fn a_data_migration_is_refused_offline_naming_the_revision() {
    let revs = Revisions::new([DATA]).unwrap();
    for backend in [
        aludel_core::Backend::Sqlite,
        aludel_core::Backend::Postgres,
        aludel_core::Backend::Mysql,
    ] {
        let e = offline::upgrade_sql(&revs, &Dialect::new(backend), "head").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Offline);
        assert_eq!(e.revisions(), ["1975ea83b712"]);
        let msg = e.message();
        assert!(msg.contains("revision '1975ea83b712'"), "{msg}");
        assert!(
            msg.contains("op 2 of 2") && msg.contains("backfill names"),
            "{msg}"
        );
        assert!(msg.contains("live database connection"), "{msg}");
    }
}

all_backends!(offline_sql_does_what_the_runner_does);
