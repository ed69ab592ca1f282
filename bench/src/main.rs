//! Aludel Core against the raw drivers it wraps (rusqlite, tokio-postgres,
//! mysql_async): select N rows into structs, and insert N rows in one
//! multi-row INSERT inside a transaction. See README.md.

mod aludel_peer;
mod compile;
mod data;
mod eager;
mod harness;
mod mysql;
mod orm;
mod peer_protocol;
mod peers;
mod postgres;
mod raw_peer;
mod sqlite;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use harness::{us, Row, Settings};

/// The database created (and dropped) on each server.
pub const BENCH_DB: &str = "aludel_bench";

const USAGE: &str = "usage: cargo run --release --manifest-path bench/Cargo.toml -- \
[--backend sqlite|postgres|mysql]... [--quick] [--orm-only | --peers [--rounds K]]

  --backend B   run only backend B (repeatable; default: all three)
  --quick       3 samples of 0.1 s instead of 7 of 0.5 s (a smoke run)
  --orm-only    only the ORM section (load N objects, Session flush)
  --peers       the raw drivers, Aludel Core and ORM, Diesel, sqlx and SeaORM
                side by side (bench/peers/README.md): tables, CSV and SVG chart
  --rounds K    with --peers: run every contender K times, in turn, and report
                each figure's median over the rounds (default 1)

Servers: BENCH_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test)
and BENCH_MYSQL_URL (default mysql://root@127.0.0.1:3306/test); the benchmark
creates and drops a database named aludel_bench on each.";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sqlite,
    Postgres,
    Mysql,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        match s.to_ascii_lowercase().as_str() {
            "sqlite" => Some(Kind::Sqlite),
            "postgres" | "postgresql" | "pg" => Some(Kind::Postgres),
            "mysql" | "mariadb" => Some(Kind::Mysql),
            _ => None,
        }
    }

    /// The backend's name in the peer protocol.
    pub(crate) fn key_peers(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
            Kind::Mysql => "mysql",
        }
    }

    pub(crate) fn title(self) -> &'static str {
        match self {
            Kind::Sqlite => "SQLite",
            Kind::Postgres => "PostgreSQL",
            Kind::Mysql => "MariaDB / MySQL",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgresql",
            Kind::Mysql => "mysql",
        }
    }
}

pub enum Outcome {
    Done { rows: Vec<Row>, server: String },
    Skipped(String),
    Failed(String),
}

struct Args {
    backends: Vec<Kind>,
    quick: bool,
    orm_only: bool,
    peers: bool,
    rounds: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut backends = Vec::new();
    let mut quick = false;
    let mut orm_only = false;
    let mut peers = false;
    let mut rounds = 1;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let value = match arg.as_str() {
            "--quick" => {
                quick = true;
                continue;
            }
            "--orm-only" => {
                orm_only = true;
                continue;
            }
            "--peers" => {
                peers = true;
                continue;
            }
            "--rounds" => {
                let v = it.next().ok_or("--rounds needs a value")?;
                rounds = v
                    .parse::<usize>()
                    .ok()
                    .filter(|&k| k > 0)
                    .ok_or(format!("--rounds needs a positive number, not {v:?}"))?;
                continue;
            }
            "-h" | "--help" => return Err(String::new()),
            "--backend" => it.next().ok_or("--backend needs a value")?,
            other => match other.strip_prefix("--backend=") {
                Some(v) => v.to_string(),
                None => return Err(format!("unknown argument {other:?}")),
            },
        };
        let kind = Kind::parse(&value).ok_or(format!("unknown backend {value:?}"))?;
        if !backends.contains(&kind) {
            backends.push(kind);
        }
    }
    if backends.is_empty() {
        backends = vec![Kind::Sqlite, Kind::Postgres, Kind::Mysql];
    }
    Ok(Args {
        backends,
        quick,
        orm_only,
        peers,
        rounds,
    })
}

/// `--contender NAME --backend B --url URL [--quick] [--workload W]...`:
/// one of this binary's own contenders, speaking the peer protocol.
async fn contender_main(argv: &[String]) -> harness::Res<()> {
    let name = argv.first().ok_or("--contender needs a name")?;
    let (mut backend, mut url, mut quick, mut workloads) = (None, None, false, Vec::new());
    let mut it = argv[1..].iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--backend" => {
                let b = it.next().ok_or("--backend needs a value")?;
                backend =
                    Some(peer_protocol::Backend::parse(b).ok_or(format!("unknown backend {b:?}"))?);
            }
            "--url" => url = Some(it.next().ok_or("--url needs a value")?.clone()),
            "--quick" => quick = true,
            "--workload" => workloads.push(it.next().ok_or("--workload needs a value")?.clone()),
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    let args = peer_protocol::Args {
        backend: backend.ok_or("--backend is required")?,
        url: url.ok_or("--url is required")?,
        quick,
        workloads,
    };
    match name.as_str() {
        "raw" => raw_peer::run(&args).await,
        "aludel-core" => aludel_peer::run(&args, false).await,
        "aludel-orm" => aludel_peer::run(&args, true).await,
        other => Err(format!("unknown contender {other:?}").into()),
    }
}

pub(crate) fn env_url(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}

/// The commit Aludel was built from, and whether crates/ had local changes.
fn aludel_source() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(commit) => match git(&["status", "--porcelain", "--", "crates"]) {
            Some(s) if !s.is_empty() => format!("git {commit} + uncommitted changes in crates/"),
            _ => format!("git {commit}"),
        },
        None => "unknown (not a git checkout)".into(),
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| workload | N | raw µs/op | aludel µs/op | ratio |\n| --- | ---: | ---: | ---: | ---: |\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} |",
            r.workload,
            r.n,
            us(r.raw_us),
            us(r.aludel_us),
            r.ratio()
        );
    }
    out
}

#[tokio::main]
async fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--orm-loop") {
        let mode = argv.get(2).map_or("orm", String::as_str);
        let n = argv.get(3).and_then(|n| n.parse().ok()).unwrap_or(10_000);
        return match orm::run_loop(mode, n).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    }
    if argv.get(1).map(String::as_str) == Some("--contender") {
        return match contender_main(&argv[2..]).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    }
    if argv.get(1).map(String::as_str) == Some("--compile-loop") {
        let mode = argv.get(2).map_or("cached", String::as_str);
        let n = argv.get(3).and_then(|n| n.parse().ok()).unwrap_or(10_000);
        return match compile::run_loop(mode, n) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        };
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("error: {msg}\n");
            }
            eprintln!("{USAGE}");
            return if msg.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    if args.peers {
        return match peers::run(&args.backends, args.quick, args.rounds).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = if args.quick {
        Settings::quick()
    } else {
        Settings::full()
    };
    let started = std::time::Instant::now();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = chrono::Utc::now().format("%Y-%m-%d").to_string();

    let compile_md = if args.orm_only {
        String::new()
    } else {
        compile::run(args.quick)
    };
    let mut outcomes = Vec::new();
    for &kind in args.backends.iter().filter(|_| !args.orm_only) {
        eprintln!("== {} ==", kind.title());
        let outcome = match kind {
            Kind::Sqlite => sqlite::bench(&settings).await,
            Kind::Postgres => {
                let url = env_url(
                    "BENCH_POSTGRES_URL",
                    "postgresql://postgres@127.0.0.1:5432/test",
                );
                postgres::bench(&url, &settings).await
            }
            Kind::Mysql => {
                let url = env_url("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
                mysql::bench(&url, &settings).await
            }
        };
        match &outcome {
            Outcome::Skipped(why) => eprintln!("[{}] skipped: {why}", kind.key()),
            Outcome::Failed(why) => eprintln!("[{}] FAILED: {why}", kind.key()),
            Outcome::Done { .. } => {}
        }
        outcomes.push((kind, outcome));
    }

    let mut md = format!("# Aludel Core against the raw drivers, {date}\n\n");
    let mut cli = String::from("cargo run --release --manifest-path bench/Cargo.toml --");
    for a in std::env::args().skip(1) {
        cli.push(' ');
        cli.push_str(&a);
    }
    let _ = writeln!(md, "- command: `{cli}`");
    let _ = writeln!(md, "- rustc: {}", env!("BENCH_RUSTC_VERSION"));
    let _ = writeln!(md, "- cores (available_parallelism): {cores}");
    let _ = writeln!(md, "- crates: {}", env!("BENCH_CRATE_VERSIONS"));
    let _ = writeln!(md, "- aludel source: {}", aludel_source());
    for (kind, o) in &outcomes {
        if let Outcome::Done { server, .. } = o {
            let _ = writeln!(md, "- {}: {server}", kind.title());
        }
    }
    let _ = writeln!(
        md,
        "- method: per op, the median of {} samples; a sample repeats the op until {} ms \
         have passed or {} iterations ran (after a {} ms warm-up); raw and Aludel samples \
         interleaved; µs per op, ratio = aludel / raw",
        settings.samples,
        settings.sample_time.as_millis(),
        settings.max_iters,
        settings.warmup.as_millis()
    );
    let _ = writeln!(
        md,
        "- total run time: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let mut csv = String::from("backend,workload,n,raw_us,aludel_us,ratio\n");
    let mut failed = false;
    for (kind, o) in &outcomes {
        let _ = writeln!(md, "\n## {}\n", kind.title());
        match o {
            Outcome::Done { rows, .. } => {
                md.push_str(&table(rows));
                for r in rows {
                    let _ = writeln!(
                        csv,
                        "{},\"{}\",{},{:.3},{:.3},{:.4}",
                        kind.key(),
                        r.workload,
                        r.n,
                        r.raw_us,
                        r.aludel_us,
                        r.ratio()
                    );
                }
            }
            Outcome::Skipped(why) => {
                let _ = writeln!(md, "skipped: {why}");
            }
            Outcome::Failed(why) => {
                failed = true;
                let _ = writeln!(md, "failed: {why}");
            }
        }
    }
    md.push_str(&compile_md);
    for &kind in &args.backends {
        let (name, url) = match kind {
            Kind::Sqlite => (
                "SQLite",
                format!(
                    "sqlite:///{}/aludel_bench_orm.db",
                    std::env::temp_dir().display()
                ),
            ),
            Kind::Postgres => (
                "PostgreSQL",
                data::with_database(
                    &env_url(
                        "BENCH_POSTGRES_URL",
                        "postgresql://postgres@127.0.0.1:5432/test",
                    ),
                    "test",
                ),
            ),
            Kind::Mysql => (
                "MariaDB / MySQL",
                data::with_database(
                    &env_url("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
                    "test",
                ),
            ),
        };
        md.push_str(&orm::run(name, &url, args.quick).await);
    }
    print!("{md}");

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results");
    let stem = match (args.orm_only, args.quick) {
        (true, true) => format!("orm-{date}-quick"),
        (true, false) => format!("orm-{date}"),
        (false, true) => format!("core-{date}-quick"),
        (false, false) => format!("core-{date}"),
    };
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(format!("{stem}.md")), &md))
        .and_then(|()| std::fs::write(dir.join(format!("{stem}.csv")), &csv));
    match written {
        Ok(()) => eprintln!("wrote {}/{stem}.md and .csv", dir.display()),
        Err(e) => {
            eprintln!("cannot write results to {}: {e}", dir.display());
            failed = true;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
