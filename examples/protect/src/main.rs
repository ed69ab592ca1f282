//! Protect's command line: `serve`, and the `db` commands (Alembic's, as
//! Flask-Migrate mounts them, plus `db seed`).
//!
//! ```sh
//! cargo run -p protect -- serve --upgrade --seed     # one command: SQLite file protect.db
//! cargo run -p protect -- db upgrade                 # migrate to the head revision
//! cargo run -p protect -- db seed                    # a few thousand rows of sample data
//! cargo run -p protect -- db history
//! DATABASE_URL=mysql://root@127.0.0.1/protect cargo run -p protect -- serve --upgrade --seed
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use aludel::migrate::cli::{DbArgs, DbCommand};
use aludel_axum::{Db, DbConfig};
use clap::{Args, Parser, Subcommand};
use protect::seed::{seed, SeedOptions};

#[derive(Parser)]
#[command(
    name = "protect",
    about = "Protect: a home-insurance service on axum and Aludel"
)]
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
        /// Run the migrations up to head first (`db upgrade`).
        #[arg(long)]
        upgrade: bool,
        /// Seed sample data first if the database has none (`db seed`).
        #[arg(long)]
        seed: bool,
    },
    /// Database migrations (init, migrate, upgrade, downgrade, history, …) and `seed`.
    Db(DbCli),
}

/// `db`: Aludel's commands with the app's own (`seed`) beside them.
#[derive(Args)]
struct DbCli {
    /// The migrations directory [default: examples/protect/migrations].
    #[arg(short = 'd', long, global = true, env = "ALUDEL_MIGRATIONS_DIR")]
    directory: Option<PathBuf>,
    /// The database URL [default: DATABASE_URL, else sqlite:///protect.db?begin=immediate].
    #[arg(long, global = true)]
    url: Option<String>,
    #[command(subcommand)]
    command: DbSubcommand,
}

#[derive(Subcommand)]
enum DbSubcommand {
    /// Fill an empty, migrated database with sample data (a few thousand rows, reproducible).
    Seed {
        /// How many customers (with their homes, policies, claims).
        #[arg(long, default_value_t = SeedOptions::default().customers)]
        customers: usize,
        /// The random seed: the same seed gives the same data.
        #[arg(long, default_value_t = SeedOptions::default().seed)]
        seed: u64,
    },
    #[command(flatten)]
    Migrations(DbCommand),
}

fn config() -> Result<DbConfig, aludel::Error> {
    match DbConfig::from_env() {
        Ok(c) => Ok(c),
        // No DATABASE_URL: a SQLite file where it runs, no setup.
        Err(_) if std::env::var_os("DATABASE_URL").is_none() => {
            Ok(DbConfig::new("sqlite:///protect.db?begin=immediate"))
        }
        Err(e) => Err(e),
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("Error: {e}");
    ExitCode::FAILURE
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut config = match config() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if let Command::Db(DbCli { url: Some(url), .. }) = &cli.command {
        config.engine.url = url.clone();
    }
    let db = match Db::from_config(&config) {
        Ok(db) => db,
        Err(e) => return fail(e),
    };
    if let Err(e) = protect::models::check_relationships() {
        return fail(e);
    }
    match cli.command {
        Command::Db(DbCli {
            directory,
            url,
            command: DbSubcommand::Migrations(command),
        }) => {
            let args = DbArgs {
                directory,
                url,
                command,
            };
            protect::migrate(&db).run(&args).await
        }
        Command::Db(DbCli {
            command: DbSubcommand::Seed { customers, seed: n },
            ..
        }) => {
            let options = SeedOptions { customers, seed: n };
            match seed(&db, options, |line| println!("{line}")).await {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => fail(e),
            }
        }
        Command::Serve {
            addr,
            upgrade,
            seed: with_seed,
        } => match serve(db, addr, upgrade, with_seed).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        },
    }
}

async fn serve(
    db: Db,
    addr: SocketAddr,
    upgrade: bool,
    with_seed: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,aludel::engine=warn".into()),
        )
        .init();
    if upgrade {
        protect::upgrade(&db, |line| println!("{line}")).await?;
    }
    if with_seed {
        seed(&db, SeedOptions::default(), |line| println!("{line}")).await?;
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "Protect listening on http://{}/policies",
        listener.local_addr()?
    );
    axum::serve(listener, protect::app(db.clone()))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    db.dispose();
    Ok(())
}
