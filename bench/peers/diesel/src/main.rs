//! The Diesel peer of Aludel's benchmark: the workloads of
//! `bench/peers/README.md` through Diesel 2.3 (sync, an r2d2 pool) on SQLite,
//! PostgreSQL and MySQL/MariaDB, and through diesel-async (a deadpool pool)
//! on PostgreSQL and MySQL/MariaDB. One JSON line per result on stdout.

mod async_diesel;
mod schema;
mod sync_diesel;

use std::future::Future;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Res<T> = Result<T, Error>;

/// The workloads and their sizes, as the README lists them.
pub const LOAD_USERS: [usize; 3] = [1, 100, 10_000];
pub const USERS_JOIN_POSTS: [usize; 3] = [1, 100, 1_000];
pub const INSERT_USERS: [usize; 3] = [1, 100, 1_000];
pub const EAGER_LOAD: usize = 100;
pub const UNIT_OF_WORK: usize = 1_000;
pub const STREAM_ROWS: usize = 1_000_000;
/// `SUM(a)` over `stream_rows` (`a = id % 1000` for ids 1..=1 000 000).
pub const STREAM_SUM: i64 = 499_500_000;

/// Whether the pools run a test query (`SELECT 1`) on every checkout: r2d2's
/// `test_on_check_out` (on by r2d2's default) and diesel-async's
/// `RecyclingMethod::Verified` (its default; its docs call `Fast` "a safe
/// choice" unless one has special needs). Off, as Aludel's `pool_pre_ping`
/// is off by default: the workloads then time the ORM's statements, not a
/// health check per op.
pub const TEST_ON_CHECKOUT: bool = false;

const ALL_WORKLOADS: [&str; 7] = [
    "load_users",
    "users_join_posts",
    "insert_users",
    "eager_load",
    "pk_lookup",
    "unit_of_work",
    "stream_rows",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    fn parse(s: &str) -> Option<Backend> {
        match s {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            "mysql" | "mariadb" => Some(Backend::Mysql),
            _ => None,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::Mysql => "mysql",
        }
    }
}

/// The command line (see the README's protocol), plus `--contender`, which
/// this binary gives itself when it runs `stream_rows` in a child process.
#[derive(Debug, Clone)]
pub struct Args {
    pub backend: Backend,
    pub url: String,
    pub quick: bool,
    pub workloads: Vec<String>,
    pub contender: Option<String>,
}

impl Args {
    fn parse() -> Res<Args> {
        let mut backend = None;
        let mut url = None;
        let mut quick = false;
        let mut workloads = Vec::new();
        let mut contender = None;
        let mut it = std::env::args().skip(1);
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
            match a.as_str() {
                "--backend" => {
                    let v = value()?;
                    backend = Some(Backend::parse(&v).ok_or(format!("unknown backend {v}"))?);
                }
                "--url" => url = Some(value()?),
                "--quick" => quick = true,
                "--workload" => {
                    let v = value()?;
                    if !ALL_WORKLOADS.contains(&v.as_str()) {
                        return Err(format!("unknown workload {v}").into());
                    }
                    workloads.push(v);
                }
                "--contender" => contender = Some(value()?),
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        Ok(Args {
            backend: backend.ok_or("--backend is required")?,
            url: url.ok_or("--url is required")?,
            quick,
            workloads,
            contender,
        })
    }

    /// Whether `workload` was asked for (all when none was named).
    pub fn wants(&self, workload: &str) -> bool {
        self.workloads.is_empty() || self.workloads.iter().any(|w| w == workload)
    }

    /// Whether this process runs `contender` (both unless `--contender`).
    fn runs(&self, contender: &str) -> bool {
        self.contender.as_deref().is_none_or(|c| c == contender)
    }

    /// Print one result line on stdout.
    pub fn emit(&self, contender: &str, workload: &str, n: usize, us: f64, rss: Option<u64>) {
        let rss = rss
            .map(|r| format!(",\"peak_rss_kib\":{r}"))
            .unwrap_or_default();
        println!(
            "{{\"contender\":\"{contender}\",\"backend\":\"{}\",\"workload\":\"{workload}\",\"n\":{n},\"us_per_op\":{us:.3}{rss}}}",
            self.backend.key()
        );
    }
}

fn budget(quick: bool) -> (usize, Duration) {
    if quick {
        (3, Duration::from_millis(100))
    } else {
        (7, Duration::from_millis(500))
    }
}

fn median(mut per: Vec<f64>) -> f64 {
    per.sort_by(f64::total_cmp);
    per[per.len() / 2]
}

/// The README's timing: a warm-up, then the median of 7 samples (3 quick);
/// a sample repeats the op until 0.5 s (0.1 s) passed or 10 000 runs; µs
/// per op.
pub fn measure(quick: bool, mut op: impl FnMut() -> Res<()>) -> Res<f64> {
    let (samples, budget) = budget(quick);
    op()?; // warm-up
    let mut per = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let mut runs = 0u32;
        while runs < 10_000 && (runs == 0 || start.elapsed() < budget) {
            op()?;
            runs += 1;
        }
        per.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(runs));
    }
    Ok(median(per))
}

/// As [`measure`], for an op that times itself and returns the µs of the
/// part that counts (unit_of_work: create + commit, not the cleanup).
pub fn measure_timed(quick: bool, mut op: impl FnMut() -> Res<f64>) -> Res<f64> {
    let (samples, budget) = budget(quick);
    op()?; // warm-up
    let mut per = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let (mut runs, mut total) = (0u32, 0.0);
        while runs < 10_000 && (runs == 0 || start.elapsed() < budget) {
            total += op()?;
            runs += 1;
        }
        per.push(total / f64::from(runs));
    }
    Ok(median(per))
}

/// [`measure`] for async ops.
pub async fn measure_async<F, Fut>(quick: bool, mut op: F) -> Res<f64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<()>>,
{
    let (samples, budget) = budget(quick);
    op().await?; // warm-up
    let mut per = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let mut runs = 0u32;
        while runs < 10_000 && (runs == 0 || start.elapsed() < budget) {
            op().await?;
            runs += 1;
        }
        per.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(runs));
    }
    Ok(median(per))
}

/// [`measure_timed`] for async ops.
pub async fn measure_timed_async<F, Fut>(quick: bool, mut op: F) -> Res<f64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<f64>>,
{
    let (samples, budget) = budget(quick);
    op().await?; // warm-up
    let mut per = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let (mut runs, mut total) = (0u32, 0.0);
        while runs < 10_000 && (runs == 0 || start.elapsed() < budget) {
            total += op().await?;
            runs += 1;
        }
        per.push(total / f64::from(runs));
    }
    Ok(median(per))
}

/// The process's peak resident set in KiB (`getrusage` `ru_maxrss`, which
/// Linux gives in KiB).
pub fn peak_rss_kib() -> Option<u64> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is valid.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: getrusage returned 0, so it initialised the struct.
    let usage = unsafe { usage.assume_init() };
    u64::try_from(usage.ru_maxrss).ok()
}

/// Which contenders run on a backend.
fn contenders(backend: Backend) -> &'static [&'static str] {
    match backend {
        Backend::Sqlite => &["diesel"],
        Backend::Postgres | Backend::Mysql => &["diesel", "diesel-async"],
    }
}

/// Run `stream_rows` for `contender` in a child process of this binary, so
/// that the peak RSS it reports is that contender's streaming alone.
fn stream_in_child(args: &Args, contender: &str) -> Res<()> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.args(["--backend", args.backend.key(), "--url", &args.url])
        .args(["--workload", "stream_rows", "--contender", contender])
        .stdin(Stdio::null());
    if args.quick {
        cmd.arg("--quick");
    }
    let status = cmd.status()?;
    if !status.success() {
        return Err(format!("stream_rows for {contender} failed: {status}").into());
    }
    Ok(())
}

fn run_contender(args: &Args, contender: &str) -> Res<()> {
    match (contender, args.backend) {
        ("diesel", Backend::Sqlite) => sync_diesel::sqlite::run(args),
        ("diesel", Backend::Postgres) => sync_diesel::pg::run(args),
        ("diesel", Backend::Mysql) => sync_diesel::mysql::run(args),
        ("diesel-async", Backend::Postgres) => async_diesel::run_pg(args),
        ("diesel-async", Backend::Mysql) => async_diesel::run_mysql(args),
        (c, b) => Err(format!("{c} does not run on {}", b.key()).into()),
    }
}

fn main() {
    let args = match Args::parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!(
                "usage: aludel-peer-diesel --backend sqlite|postgres|mysql --url URL \
                 [--quick] [--workload NAME]..."
            );
            std::process::exit(2);
        }
    };
    if args.contender.is_none() {
        eprintln!(
            "versions: {}, {}",
            env!("PEER_CRATE_VERSIONS"),
            env!("PEER_RUSTC_VERSION")
        );
    }
    if let Err(e) = run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Res<()> {
    // Everything but stream_rows runs in this process, one contender after
    // the other.
    let mut here = args.clone();
    let stream = args.wants("stream_rows");
    let in_child = stream && args.contender.is_none();
    if in_child {
        here.workloads = ALL_WORKLOADS
            .iter()
            .filter(|w| **w != "stream_rows" && args.wants(w))
            .map(|w| w.to_string())
            .collect();
    }
    for contender in contenders(args.backend) {
        if !args.runs(contender) {
            continue;
        }
        if !here.workloads.is_empty() || !in_child {
            eprintln!("{contender} on {}", args.backend.key());
            run_contender(&here, contender)?;
        }
        if in_child {
            stream_in_child(args, contender)?;
        }
    }
    Ok(())
}
