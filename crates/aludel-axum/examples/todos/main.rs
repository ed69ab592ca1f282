//! A todos service on axum and Aludel, with the app's own command line:
//!
//! ```sh
//! cargo run -p aludel-axum --example todos -- serve            # SQLite file todos.db, port 3000
//! cargo run -p aludel-axum --example todos -- db init          # Flask-Migrate's `flask db …`
//! cargo run -p aludel-axum --example todos -- db migrate -m "create todos"
//! cargo run -p aludel-axum --example todos -- db upgrade
//! DATABASE_URL=postgresql://postgres@127.0.0.1/test cargo run -p aludel-axum --all-features --example todos -- serve
//! ```

mod app;

use std::net::SocketAddr;
use std::process::ExitCode;

use aludel_axum::{Db, DbConfig};
use clap::{Parser, Subcommand};

// The revision scripts `db migrate` writes, compiled in (a directory that
// does not exist yet is empty).
aludel::migrate::migrations!("examples/todos/migrations/versions");

#[derive(Parser)]
#[command(name = "todos", about = "A todos service on axum and Aludel")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
        /// Create missing tables first (instead of `db upgrade`).
        #[arg(long)]
        create_all: bool,
    },
    /// Database migrations (init, migrate, upgrade, downgrade, history, …).
    Db(aludel::migrate::cli::DbArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    // DATABASE_URL and friends, else a SQLite file next to where it runs.
    let config = match DbConfig::from_env() {
        Ok(c) => c,
        Err(_) if std::env::var_os("DATABASE_URL").is_none() => DbConfig::new("sqlite:///todos.db"),
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let db = match Db::from_config(&config) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("Error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match Cli::parse().command {
        Command::Db(args) => {
            db.migrate(&MIGRATIONS)
                .directory("examples/todos/migrations")
                .run(&args)
                .await
        }
        Command::Serve { addr, create_all } => match serve(db, addr, create_all).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("Error: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn serve(
    db: Db,
    addr: SocketAddr,
    create_all: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,aludel::engine=warn".into()),
        )
        .init();
    if create_all {
        db.create_all().await?;
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app::app(db.clone()))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    db.dispose();
    Ok(())
}
