//! The peer protocol (bench/peers/README.md) for the contenders this binary
//! runs itself (`--contender raw|aludel-core|aludel-orm`): the workload
//! list, one result line, the timing loop, peak RSS.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::harness::Res;

/// The workloads and their sizes, as the README lists them.
pub const WORKLOADS: &[(&str, &[usize])] = &[
    ("load_users", &[1, 100, 10_000]),
    ("users_join_posts", &[1, 100, 1_000]),
    ("insert_users", &[1, 100, 1_000]),
    ("eager_load", &[100]),
    ("pk_lookup", &[1]),
    ("unit_of_work", &[1_000]),
    ("stream_rows", &[1_000_000]),
];

/// Which backend a contender runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    pub fn parse(s: &str) -> Option<Backend> {
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

/// What a contender was asked to do.
#[derive(Debug, Clone)]
pub struct Args {
    pub backend: Backend,
    pub url: String,
    pub quick: bool,
    pub workloads: Vec<String>,
}

impl Args {
    /// Whether `workload` was asked for (all when none was named).
    pub fn wants(&self, workload: &str) -> bool {
        self.workloads.is_empty() || self.workloads.iter().any(|w| w == workload)
    }
}

/// One result line: `{"contender":…,"backend":…,"workload":…,"n":…,"us_per_op":…}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub contender: String,
    pub backend: String,
    pub workload: String,
    pub n: usize,
    pub us_per_op: f64,
    pub peak_rss_kib: Option<u64>,
}

impl Line {
    pub fn to_json(&self) -> String {
        let rss = self
            .peak_rss_kib
            .map(|r| format!(",\"peak_rss_kib\":{r}"))
            .unwrap_or_default();
        format!(
            "{{\"contender\":\"{}\",\"backend\":\"{}\",\"workload\":\"{}\",\"n\":{},\"us_per_op\":{:.3}{rss}}}",
            self.contender, self.backend, self.workload, self.n, self.us_per_op
        )
    }

    /// Parse one line a peer printed (the flat JSON object above; no
    /// nesting, no escapes in the values).
    pub fn parse(json: &str) -> Option<Line> {
        let body = json.trim().strip_prefix('{')?.strip_suffix('}')?;
        let mut fields = std::collections::HashMap::new();
        for part in body.split(',') {
            let (k, v) = part.split_once(':')?;
            fields.insert(k.trim().trim_matches('"'), v.trim().trim_matches('"'));
        }
        Some(Line {
            contender: fields.get("contender")?.to_string(),
            backend: fields.get("backend")?.to_string(),
            workload: fields.get("workload")?.to_string(),
            n: fields.get("n")?.parse().ok()?,
            us_per_op: fields.get("us_per_op")?.parse().ok()?,
            peak_rss_kib: fields.get("peak_rss_kib").and_then(|v| v.parse().ok()),
        })
    }
}

/// Whether a sample goes on: until `budget` passed or 10 000 runs; with
/// `BENCH_FIXED_RUNS=k`, exactly k runs (for instruction counts under
/// callgrind, where time means nothing).
fn more(runs: u32, start: Instant, budget: Duration) -> bool {
    static FIXED: std::sync::OnceLock<Option<u32>> = std::sync::OnceLock::new();
    match FIXED.get_or_init(|| std::env::var("BENCH_FIXED_RUNS").ok()?.parse().ok()) {
        Some(k) => runs < *k,
        None => runs < 10_000 && (runs == 0 || start.elapsed() < budget),
    }
}

/// The README's timing: a warm-up, then the median of 7 samples (3 quick);
/// a sample repeats the op until 0.5 s (0.1 s) passed or 10 000 runs.
pub async fn measure<F, Fut>(quick: bool, mut op: F) -> Res<f64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<()>>,
{
    let (samples, budget) = if quick {
        (3, Duration::from_millis(100))
    } else {
        (7, Duration::from_millis(500))
    };
    op().await?;
    let mut per = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let mut runs = 0u32;
        while more(runs, start, budget) {
            op().await?;
            runs += 1;
        }
        per.push(start.elapsed().as_secs_f64() * 1e6 / f64::from(runs));
    }
    per.sort_by(f64::total_cmp);
    Ok(per[per.len() / 2])
}

/// As [`measure`], for an op that times itself (it returns the µs of the
/// part that counts: unit_of_work times create + commit, not the cleanup).
pub async fn measure_timed<F, Fut>(quick: bool, mut op: F) -> Res<f64>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Res<f64>>,
{
    let (samples, budget) = if quick {
        (3, Duration::from_millis(100))
    } else {
        (7, Duration::from_millis(500))
    };
    op().await?;
    let mut per = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        let (mut runs, mut total) = (0u32, 0.0);
        while more(runs, start, budget) {
            total += op().await?;
            runs += 1;
        }
        per.push(total / f64::from(runs));
    }
    per.sort_by(f64::total_cmp);
    Ok(per[per.len() / 2])
}

/// The process's peak resident set, in KiB (Linux: VmHWM).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Print one result line on stdout (the runner reads it).
pub fn emit(line: &Line) {
    println!("{}", line.to_json());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let line = Line {
            contender: "aludel-orm".into(),
            backend: "postgres".into(),
            workload: "load_users".into(),
            n: 100,
            us_per_op: 12.5,
            peak_rss_kib: Some(2048),
        };
        assert_eq!(Line::parse(&line.to_json()), Some(line));
        assert_eq!(Line::parse("not json"), None);
    }
}
