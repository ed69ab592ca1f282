//! Interop with Alembic itself (from PyPI): Alembic migrates a database
//! half way, Aludel continues to head, Alembic downgrades it; then the
//! other way round. The Alembic scripts carry the ids of
//! `tests/it/migrations/versions` and make the same schema.
//!
//! Runs only with `ALUDEL_ALEMBIC_TESTS=1` (CI sets it): it needs Python
//! 3 (`ALUDEL_PYTHON`, default `python3`) and PyPI. A virtualenv with
//! alembic, SQLAlchemy, psycopg2-binary and PyMySQL is made once under
//! `ALUDEL_ALEMBIC_VENV` (default `<temp>/aludel-alembic-venv`); when it
//! cannot be made, the test fails saying why.

use std::path::{Path, PathBuf};
use std::process::Command;

use aludel_core::{text, Engine};
use aludel_migrate::{Result, Runner};

use crate::cli::MIGRATIONS;
use crate::harness::{Kind, TestDb};

fn enabled() -> bool {
    let on = std::env::var("ALUDEL_ALEMBIC_TESTS").is_ok_and(|v| v == "1");
    if !on {
        eprintln!("skipped: the Alembic interop test runs with ALUDEL_ALEMBIC_TESTS=1 (needs python3 and PyPI)");
    }
    on
}

fn run(cmd: &mut Command) -> std::result::Result<String, String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{shown} failed ({}):\n{text}", out.status))
    }
}

/// The virtualenv's python, made (once per machine, under a lock) if needed.
fn venv_python() -> PathBuf {
    static ONCE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = ONCE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::var_os("ALUDEL_ALEMBIC_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("aludel-alembic-venv"));
    let py = dir.join("bin").join("python");
    let ready = py.exists()
        && run(Command::new(&py).args(["-c", "import alembic, sqlalchemy, psycopg2, pymysql"]))
            .is_ok();
    if !ready {
        let base = std::env::var("ALUDEL_PYTHON").unwrap_or_else(|_| "python3".into());
        let made = run(Command::new(&base).arg("-m").arg("venv").arg(&dir)).and_then(|_| {
            run(Command::new(&py).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "alembic",
                "sqlalchemy",
                "psycopg2-binary",
                "pymysql",
            ]))
        });
        if let Err(e) = made {
            panic!(
                "ALUDEL_ALEMBIC_TESTS=1 but Alembic could not be installed from PyPI into {}: {e}",
                dir.display()
            );
        }
    }
    py
}

const ENV_PY: &str = r#"
from logging.config import fileConfig
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
fileConfig(config.config_file_name)
connectable = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
"#;

const SCRIPTS: [(&str, &str); 3] = [
    (
        "1975ea83b712_create_account_table.py",
        r#""""create account table"""
from alembic import op
import sqlalchemy as sa

revision = "1975ea83b712"
down_revision = None
branch_labels = None
depends_on = None

def upgrade():
    op.create_table("account",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False))

def downgrade():
    op.drop_table("account")
"#,
    ),
    (
        "ae1027a6acf0_add_plan_column.py",
        r#""""add plan column"""
from alembic import op
import sqlalchemy as sa

revision = "ae1027a6acf0"
down_revision = "1975ea83b712"
branch_labels = None
depends_on = None

def upgrade():
    op.add_column("account", sa.Column("plan", sa.String(20), server_default="free"))

def downgrade():
    op.drop_column("account", "plan")
"#,
    ),
    (
        "27c6a30d7c24_create_invoice_table.py",
        r#""""create invoice table"""
from alembic import op
import sqlalchemy as sa

revision = "27c6a30d7c24"
down_revision = "ae1027a6acf0"
branch_labels = None
depends_on = None

def upgrade():
    invoice = op.create_table("invoice",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, sa.ForeignKey("account.id"), nullable=False),
        sa.Column("total", sa.Integer, nullable=False))
    account = sa.table("account", sa.column("id", sa.Integer), sa.column("name", sa.String))
    op.bulk_insert(account, [{"id": 1, "name": "Ada"}])
    op.bulk_insert(invoice, [{"id": 1, "account_id": 1, "total": 42}])

def downgrade():
    op.drop_table("invoice")
    op.execute("DELETE FROM account WHERE id = 1")
"#,
    ),
];

/// Alembic's `alembic.ini` logging: its `Running upgrade …` lines on stderr.
const LOGGING: &str = "
[loggers]
keys = root,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
";

/// An Alembic project for `url` in a fresh directory.
fn project(db: &TestDb) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "aludel-alembic-{}-{}",
        db_kind(db),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("migrations/versions")).unwrap();
    let url = match db.kind {
        Kind::Mysql => db.url.replacen("mysql://", "mysql+pymysql://", 1),
        // SQLAlchemy 2.1 takes psycopg (3) for a bare postgresql://
        Kind::Postgres => db
            .url
            .replacen("postgresql://", "postgresql+psycopg2://", 1),
        _ => db.url.clone(),
    };
    std::fs::write(
        dir.join("alembic.ini"),
        format!(
            "[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = {}\n{LOGGING}",
            url.replace('%', "%%")
        ),
    )
    .unwrap();
    std::fs::write(dir.join("migrations/env.py"), ENV_PY).unwrap();
    for (file, text) in SCRIPTS {
        std::fs::write(dir.join("migrations/versions").join(file), text).unwrap();
    }
    dir
}

fn db_kind(db: &TestDb) -> &'static str {
    match db.kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgres",
        Kind::Mysql => "mysql",
    }
}

fn alembic(py: &Path, project: &Path, args: &[&str]) -> String {
    run(Command::new(py)
        .args(["-m", "alembic", "-c"])
        .arg(project.join("alembic.ini"))
        .args(args))
    .unwrap_or_else(|e| panic!("{e}"))
}

async fn version(engine: &Engine) -> Result<Vec<String>> {
    let mut rows: Vec<String> = engine
        .execute(text("SELECT version_num FROM alembic_version"), ())
        .await?
        .scalars()?;
    rows.sort();
    Ok(rows)
}

async fn tables(engine: &Engine) -> Result<Vec<String>> {
    let mut t = engine.inspector().table_names().await?;
    t.sort();
    Ok(t)
}

async fn alembic_and_aludel_take_turns(db: &TestDb) -> Result<()> {
    if !enabled() {
        return Ok(());
    }
    let py = venv_python();
    let dir = project(db);
    let engine = db.engine();
    let revs = MIGRATIONS.revisions()?;
    let runner = Runner::new(&engine, &revs);

    // Alembic to the middle
    let out = alembic(&py, &dir, &["upgrade", "ae1027a6acf0"]);
    assert!(
        out.contains("Running upgrade 1975ea83b712 -> ae1027a6acf0, add plan column"),
        "{out}"
    );
    assert_eq!(version(&engine).await?, ["ae1027a6acf0"]);
    assert_eq!(runner.current().await?, ["ae1027a6acf0"]);
    // Aludel continues to head
    let lines = runner.upgrade("head").await?;
    assert_eq!(
        lines,
        ["Running upgrade ae1027a6acf0 -> 27c6a30d7c24, create invoice table"]
    );
    assert_eq!(version(&engine).await?, ["27c6a30d7c24"]);
    assert_eq!(
        tables(&engine).await?,
        ["account", "alembic_version", "invoice"]
    );
    let out = alembic(&py, &dir, &["current"]);
    assert!(
        out.contains("27c6a30d7c24 (head)"),
        "Alembic reads Aludel's version table: {out}"
    );
    // Alembic takes it back to base, through Aludel's tables
    let out = alembic(&py, &dir, &["downgrade", "base"]);
    assert!(
        out.contains("Running downgrade 27c6a30d7c24 -> ae1027a6acf0"),
        "{out}"
    );
    assert!(version(&engine).await?.is_empty());
    assert_eq!(tables(&engine).await?, ["alembic_version"]);

    // and the other way: Aludel first, Alembic to head, Aludel back to base
    runner.upgrade("1975ea83b712").await?;
    let out = alembic(&py, &dir, &["upgrade", "head"]);
    assert!(
        out.contains("Running upgrade 1975ea83b712 -> ae1027a6acf0"),
        "{out}"
    );
    assert!(!out.contains("Running upgrade  -> 1975ea83b712"), "{out}");
    assert_eq!(version(&engine).await?, ["27c6a30d7c24"]);
    let plan: String = engine
        .execute(text("SELECT plan FROM account WHERE id = 1"), ())
        .await?
        .scalar_one()?;
    assert_eq!(plan, "free", "Alembic's server default");
    let lines = runner.downgrade("base").await?;
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(version(&engine).await?.is_empty());
    assert_eq!(tables(&engine).await?, ["alembic_version"]);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

all_backends!(alembic_and_aludel_take_turns);
