//! sqlx as a peer contender of Aludel's benchmarks: every workload of
//! bench/peers/README.md with sqlx's pools, `query_as` into
//! `#[derive(FromRow)]` structs, `QueryBuilder` for the multi-row INSERTs
//! and `IN` lists, and `fetch` for streaming. Results go to stdout as JSON
//! lines, everything else to stderr.
//!
//! ```sh
//! cargo run --release --manifest-path bench/peers/sqlx/Cargo.toml -- \
//!     --backend sqlite|postgres|mysql --url URL [--quick] [--workload NAME]...
//! ```

mod common;
mod mysql;
mod postgres;
mod sqlite;

use common::{Res, WORKLOADS};

/// What the runner asked for.
#[derive(Debug)]
pub struct Args {
    pub backend: String,
    pub url: String,
    pub quick: bool,
    pub workloads: Vec<String>,
}

impl Args {
    fn parse(mut argv: impl Iterator<Item = String>) -> Res<Args> {
        let (mut backend, mut url, mut quick, mut workloads) = (None, None, false, Vec::new());
        while let Some(arg) = argv.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| -> Res<String> {
                inline
                    .clone()
                    .or_else(|| argv.next())
                    .ok_or_else(|| format!("{name} needs a value").into())
            };
            match flag.as_str() {
                "--backend" => backend = Some(value("--backend")?),
                "--url" => url = Some(value("--url")?),
                "--workload" => workloads.push(value("--workload")?),
                "--quick" => quick = true,
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        let backend = match backend.as_deref() {
            Some("sqlite") => "sqlite",
            Some("postgres" | "postgresql") => "postgres",
            Some("mysql" | "mariadb") => "mysql",
            Some(other) => return Err(format!("unknown backend {other}").into()),
            None => return Err("--backend sqlite|postgres|mysql is required".into()),
        };
        for w in &workloads {
            if !WORKLOADS.iter().any(|(name, _)| name == w) {
                return Err(format!("unknown workload {w}").into());
            }
        }
        Ok(Args {
            backend: backend.to_string(),
            url: url.ok_or("--url is required")?,
            quick,
            workloads,
        })
    }

    /// Whether `workload` was asked for (all when none was named).
    pub fn wants(&self, workload: &str) -> bool {
        self.workloads.is_empty() || self.workloads.iter().any(|w| w == workload)
    }
}

async fn run(args: &Args) -> Res<()> {
    match args.backend.as_str() {
        "sqlite" => {
            let pool = sqlite::connect(&args.url).await?;
            let out = sqlite::run(&pool, args, "sqlite").await;
            pool.close().await;
            out
        }
        "postgres" => {
            let pool = postgres::connect(&args.url).await?;
            let out = postgres::run(&pool, args, "postgres").await;
            pool.close().await;
            out
        }
        _ => {
            let pool = mysql::connect(&args.url).await?;
            let out = mysql::run(&pool, args, "mysql").await;
            pool.close().await;
            out
        }
    }
}

#[tokio::main]
async fn main() {
    eprintln!(
        "versions: {} ({})",
        env!("SQLX_PEER_VERSIONS"),
        env!("SQLX_PEER_RUSTC")
    );
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sqlx peer: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args).await {
        eprintln!("sqlx peer ({}): {e}", args.backend);
        std::process::exit(1);
    }
}
