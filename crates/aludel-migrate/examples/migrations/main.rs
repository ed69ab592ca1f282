//! The Flask-Migrate live code, in Rust: an app with its own command line
//! that mounts Aludel's `db` commands (`init`, `revision`, `upgrade`,
//! `downgrade`, `history`, …) next to its own.
//!
//! ```sh
//! cargo run -p aludel-migrate --example migrations -- db upgrade
//! cargo run -p aludel-migrate --example migrations -- db history
//! cargo run -p aludel-migrate --example migrations -- db downgrade
//! cargo run -p aludel-migrate --example migrations -- show   # the app's own command
//! ```
//!
//! The database is `DATABASE_URL`, else `sqlite:///migrations-example.db`
//! in the current directory. The scripts live in `migrations/versions/`
//! beside this file and are compiled in by `migrations!`.

use std::process::ExitCode;

use aludel_core::text;
use aludel_migrate::cli::{DbArgs, Migrate};
use clap::{Parser, Subcommand};

aludel_migrate::migrations!("examples/migrations/migrations/versions");

#[derive(Parser)]
#[command(
    name = "policies",
    about = "A tiny insurance-policy app with migrations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Database migrations (Alembic's commands).
    Db(DbArgs),
    /// List the tables and the policies in the database.
    Show,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "sqlite:///migrations-example.db".to_string());
    let engine = match aludel_core::create_engine(&url) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match Cli::parse().command {
        Command::Db(args) => {
            Migrate::new(&MIGRATIONS)
                .engine(&engine)
                .directory(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/examples/migrations/migrations"
                ))
                .run(&args)
                .await
        }
        Command::Show => match show(&engine).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn show(engine: &aludel_core::Engine) -> aludel_core::Result<()> {
    let mut tables = engine.inspector().table_names().await?;
    tables.sort();
    println!("tables: {}", tables.join(", "));
    if tables.iter().any(|t| t == "policy") {
        let n: i64 = engine
            .execute(text("SELECT count(*) FROM policy"), ())
            .await?
            .scalar_one()?;
        println!("policies: {n}");
    }
    Ok(())
}
