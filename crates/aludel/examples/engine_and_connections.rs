//! The talk's example_1: an Engine from a URL, statements run directly on
//! the engine, then a Connection with one transaction committed and one
//! rolled back; the rows printed at the end show which survived.
//!
//! ```text
//! cargo run --example engine_and_connections                      # SQLite file, no setup
//! DATABASE_URL=postgresql://postgres@127.0.0.1/test \
//!     cargo run --all-features --example engine_and_connections
//! DATABASE_URL=mysql://root@127.0.0.1/test \
//!     cargo run --all-features --example engine_and_connections
//! ```
//!
//! Every statement is echoed (the engine's `echo`, through `tracing`).

use std::io::Write;

use aludel::{params, text, Engine, FromRow};

#[derive(FromRow, Debug)]
struct Policy {
    id: i64,
    holder: String,
    premium: i64,
}

/// Everything the example does, writing its report to `out`.
pub async fn run(url: &str, out: &mut impl Write) -> aludel::Result<()> {
    // The Engine: URL → dialect + pool. No connection is opened yet.
    let engine = Engine::builder(url)?.echo(true).build()?;
    writeln!(
        out,
        "engine: {} (dialect {})",
        engine.url(),
        engine.dialect().name()
    )
    .ok();

    // Direct statements on the engine: each one commits on its own.
    engine
        .execute(text("DROP TABLE IF EXISTS policies"), ())
        .await?;
    let pk = match engine.dialect().backend() {
        aludel::Backend::Postgres => "BIGSERIAL PRIMARY KEY",
        aludel::Backend::Mysql => "BIGINT AUTO_INCREMENT PRIMARY KEY",
        _ => "INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    engine
        .execute(
            text(format!(
                "CREATE TABLE policies (id {pk}, holder VARCHAR(100) NOT NULL, premium INTEGER NOT NULL)"
            )),
            (),
        )
        .await?;
    engine
        .execute(
            text("INSERT INTO policies (holder, premium) VALUES (:holder, :premium)"),
            params! { "holder": "Ada", "premium": 120 },
        )
        .await?;

    // A Connection: the first statement begins a transaction.
    let mut conn = engine.connect().await?;
    conn.execute(
        text("INSERT INTO policies (holder, premium) VALUES (:holder, :premium)"),
        params! { "holder": "Grace", "premium": 95 },
    )
    .await?;
    conn.commit().await?;
    writeln!(out, "committed: Grace").ok();

    // "Begin once": this transaction is rolled back, so Linus never lands.
    let mut tx = conn.begin().await?;
    tx.execute(
        text("INSERT INTO policies (holder, premium) VALUES (:holder, :premium)"),
        params! { "holder": "Linus", "premium": 300 },
    )
    .await?;
    tx.rollback().await?;
    writeln!(out, "rolled back: Linus").ok();

    let policies: Vec<Policy> = conn
        .execute(
            text("SELECT id, holder, premium FROM policies ORDER BY id"),
            (),
        )
        .await?
        .all_as()?;
    for p in &policies {
        writeln!(out, "policy {}: {} pays {}", p.id, p.holder, p.premium).ok();
    }
    conn.execute(text("DROP TABLE policies"), ()).await?;
    conn.commit().await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> aludel::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "aludel=info".into()),
        )
        .with_target(false)
        .without_time()
        .compact()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let url = aludel::Url::from_env_or("sqlite:///example_1.db")?.render_as_string(false);
    run(&url, &mut std::io::stdout()).await
}
