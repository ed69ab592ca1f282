//! `--peers`: the raw drivers, Aludel Core, the Aludel ORM, Diesel, sqlx and
//! SeaORM on the same seeded database per backend, in one run; a markdown
//! table per backend (time per op, ratio to raw, Aludel's rank), a CSV and
//! an SVG chart of the ratios. See bench/peers/README.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use mysql_async::prelude::Queryable as _;

use crate::harness::Res;
use crate::peer_protocol::{Line, WORKLOADS};
use crate::Kind;

const DB: &str = "aludel_peers";

/// Contenders in report order; the peers are separate Cargo projects.
const CONTENDERS: &[&str] = &[
    "raw",
    "aludel-core",
    "aludel-orm",
    "diesel",
    "diesel-async",
    "sqlx",
    "seaorm",
];

/// Peer projects under bench/peers (a project may report several
/// contenders, as diesel/ does with diesel-async).
const PEER_PROJECTS: &[&str] = &["diesel", "sqlx", "seaorm"];

fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run a statement file (statements end with `;` at a line end).
fn statements(sql: &str) -> Vec<String> {
    let body: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    body.split(";\n")
        .map(|s| s.trim().trim_end_matches(';').trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Create the database for `kind`, run the schema and seed; its URL.
async fn prepare(kind: Kind, stream: bool) -> Res<String> {
    let dir = bench_dir().join("peers/schema");
    let mut files = vec![dir.join(format!("{}.sql", kind.key_peers()))];
    if stream {
        files.push(dir.join(format!("{}-stream.sql", kind.key_peers())));
    }
    let scripts: Vec<String> = files
        .iter()
        .map(std::fs::read_to_string)
        .collect::<Result<_, _>>()?;
    match kind {
        Kind::Sqlite => {
            let path = std::env::temp_dir().join(format!("{DB}.db"));
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            let conn = rusqlite::Connection::open(&path)?;
            for s in &scripts {
                conn.execute_batch(s)?;
            }
            Ok(format!("sqlite:///{}", path.display()))
        }
        Kind::Postgres => {
            let url = crate::env_url(
                "BENCH_POSTGRES_URL",
                "postgresql://postgres@127.0.0.1:5432/test",
            );
            let admin = crate::postgres::connect(&url).await?;
            let _ = admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
                .await;
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {DB}"))
                .await?;
            admin
                .batch_execute(&format!("CREATE DATABASE {DB}"))
                .await?;
            let db_url = crate::data::with_database(&url, DB);
            let conn = crate::postgres::connect(&db_url).await?;
            for s in &scripts {
                conn.batch_execute(s).await?;
            }
            Ok(db_url)
        }
        Kind::Mysql => {
            let url = crate::env_url("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
            let mut admin = crate::mysql::connect(&url).await?;
            admin
                .query_drop(format!("DROP DATABASE IF EXISTS {DB}"))
                .await?;
            admin
                .query_drop(format!("CREATE DATABASE {DB} CHARACTER SET utf8mb4"))
                .await?;
            let db_url = crate::data::with_database(&url, DB);
            let mut conn = crate::mysql::connect(&db_url).await?;
            for s in &scripts {
                for stmt in statements(s) {
                    conn.query_drop(stmt).await?;
                }
            }
            let _ = conn.disconnect().await;
            let _ = admin.disconnect().await;
            Ok(db_url)
        }
    }
}

/// Put the tables back in one state before each contender: the write
/// workloads leave dead rows behind, and an autovacuum's ANALYZE landing
/// in one contender's run changes PostgreSQL's plans (its cached generic
/// plan for the join) for the contenders after it, which showed as a 3×
/// swing of one workload between runs.
async fn settle(kind: Kind, url: &str) -> Res<()> {
    const TABLES: [&str; 3] = ["users", "posts", "comments"];
    match kind {
        Kind::Sqlite => {
            let path = url.trim_start_matches("sqlite:///");
            let conn = rusqlite::Connection::open(path)?;
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")?;
        }
        Kind::Postgres => {
            let conn = crate::postgres::connect(url).await?;
            for t in TABLES {
                conn.batch_execute(&format!("VACUUM ANALYZE {t}")).await?;
            }
            // Write the pages VACUUM dirtied now, not during the next run.
            conn.batch_execute("CHECKPOINT").await?;
        }
        Kind::Mysql => {
            let mut conn = crate::mysql::connect(url).await?;
            conn.query_drop(format!("ANALYZE TABLE {}", TABLES.join(", ")))
                .await?;
            let _ = conn.disconnect().await;
        }
    }
    Ok(())
}

async fn drop_database(kind: Kind) {
    match kind {
        Kind::Sqlite => {
            let path = std::env::temp_dir().join(format!("{DB}.db"));
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        Kind::Postgres => {
            let url = crate::env_url(
                "BENCH_POSTGRES_URL",
                "postgresql://postgres@127.0.0.1:5432/test",
            );
            if let Ok(admin) = crate::postgres::connect(&url).await {
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
                    .await;
            }
        }
        Kind::Mysql => {
            let url = crate::env_url("BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/test");
            if let Ok(mut admin) = crate::mysql::connect(&url).await {
                let _ = admin
                    .query_drop(format!("DROP DATABASE IF EXISTS {DB}"))
                    .await;
                let _ = admin.disconnect().await;
            }
        }
    }
}

/// Run one contender process; its result lines, and its `versions:` line.
fn run_process(mut cmd: Command, label: &str) -> (Vec<Line>, Option<String>) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("[{label}] cannot start: {e}");
            return (Vec::new(), None);
        }
    };
    let out = match child.wait_with_output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("[{label}] failed: {e}");
            return (Vec::new(), None);
        }
    };
    let mut versions = None;
    for line in BufReader::new(&out.stderr[..])
        .lines()
        .map_while(Result::ok)
    {
        if let Some(v) = line.strip_prefix("versions: ") {
            versions = Some(v.to_string());
        } else if !line.trim().is_empty() && !line.contains("Compiling") {
            eprintln!("[{label}] {line}");
        }
    }
    if !out.status.success() {
        eprintln!("[{label}] exited with {}", out.status);
    }
    let lines: Vec<Line> = BufReader::new(&out.stdout[..])
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| Line::parse(&l))
        .collect();
    for l in &lines {
        eprintln!(
            "[{label}] {} {} n={}: {:.1} µs",
            l.contender, l.workload, l.n, l.us_per_op
        );
    }
    (lines, versions)
}

fn non_stream_workloads() -> Vec<&'static str> {
    WORKLOADS
        .iter()
        .map(|(w, _)| *w)
        .filter(|w| *w != "stream_rows")
        .collect()
}

/// The command running contender `name` (this binary) or peer `project`.
fn command(
    project: Option<&str>,
    name: &str,
    kind: Kind,
    url: &str,
    quick: bool,
    workloads: &[&str],
) -> Command {
    let mut cmd = match project {
        None => {
            let mut c = Command::new(std::env::current_exe().expect("own path"));
            c.arg("--contender").arg(name);
            c
        }
        Some(p) => {
            let mut c = Command::new("cargo");
            c.arg("run")
                .arg("--release")
                .arg("--quiet")
                .arg("--manifest-path")
                .arg(bench_dir().join(format!("peers/{p}/Cargo.toml")))
                .arg("--");
            c
        }
    };
    cmd.arg("--backend")
        .arg(kind.key_peers())
        .arg("--url")
        .arg(url);
    if quick {
        cmd.arg("--quick");
    }
    for w in workloads {
        cmd.arg("--workload").arg(w);
    }
    cmd
}

/// Sync Diesel's MySQL backend links the C client library: install
/// Debian's package when it is missing (bench/peers/diesel/README.md).
fn ensure_mysql_client_library() {
    let present = Command::new("dpkg")
        .args(["-s", "libmariadb-dev-compat"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if present {
        return;
    }
    eprintln!(
        "[peers] installing libmariadb-dev-compat and libmariadb-dev for Diesel's MySQL backend"
    );
    let _ = Command::new("apt-get").arg("update").status();
    let status = Command::new("apt-get")
        .args(["install", "-y", "libmariadb-dev-compat", "libmariadb-dev"])
        .status();
    if !status.is_ok_and(|s| s.success()) {
        eprintln!("[peers] could not install the MySQL client library; Diesel may not build");
    }
}

/// Build the peer projects first, showing cargo's progress.
fn build_peers() -> Vec<&'static str> {
    let mut ok = Vec::new();
    // BENCH_PEERS=diesel,sqlx runs only those peer projects ("" for none).
    let only: Option<Vec<String>> = std::env::var("BENCH_PEERS").ok().map(|v| {
        v.split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    });
    for p in PEER_PROJECTS {
        if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == p)) {
            continue;
        }
        let manifest = bench_dir().join(format!("peers/{p}/Cargo.toml"));
        if !manifest.exists() {
            eprintln!("[peers] {p}: no project at {}; skipped", manifest.display());
            continue;
        }
        if *p == "diesel" {
            ensure_mysql_client_library();
        }
        eprintln!("[peers] building {p} (first time: several minutes)");
        let status = Command::new("cargo")
            .arg("build")
            .arg("--release")
            .arg("--manifest-path")
            .arg(&manifest)
            .status();
        match status {
            Ok(s) if s.success() => ok.push(*p),
            other => eprintln!("[peers] {p}: build failed ({other:?}); skipped"),
        }
    }
    ok
}

/// All results of one backend.
async fn run_backend(
    kind: Kind,
    quick: bool,
    rounds: usize,
    peers: &[&str],
    versions: &mut BTreeMap<String, String>,
) -> Res<Vec<Line>> {
    eprintln!("== peers on {} ==", kind.title());
    let url = prepare(kind, true).await?;
    let mut lines = Vec::new();
    let main = non_stream_workloads();
    let mut jobs: Vec<(Option<&str>, &str)> =
        vec![(None, "raw"), (None, "aludel-core"), (None, "aludel-orm")];
    for p in peers {
        jobs.push((Some(p), p));
    }
    // Rounds take the contenders in turn, so a slow spell of the machine
    // lands on all of them rather than on one.
    for round in 1..=rounds {
        if rounds > 1 {
            eprintln!("[peers] {} round {round} of {rounds}", kind.title());
        }
        for &(project, name) in &jobs {
            // The workloads in one process, then the stream in a fresh one,
            // so its peak RSS is the stream's own.
            for set in [main.clone(), vec!["stream_rows"]] {
                settle(kind, &url).await?;
                let cmd = command(project, name, kind, &url, quick, &set);
                let (got, v) = run_process(cmd, name);
                if let Some(v) = v {
                    versions.insert(name.to_string(), v);
                }
                lines.extend(got);
            }
        }
    }
    drop_database(kind).await;
    Ok(median_of_rounds(lines))
}

/// One line per (contender, workload, n): the median time over the rounds
/// (the lower middle one for an even count) and that round's peak RSS.
fn median_of_rounds(lines: Vec<Line>) -> Vec<Line> {
    let mut groups: Vec<Vec<Line>> = Vec::new();
    for l in lines {
        let same = |g: &Vec<Line>| {
            let f = &g[0];
            f.contender == l.contender && f.workload == l.workload && f.n == l.n
        };
        match groups.iter_mut().find(|g| same(g)) {
            Some(g) => g.push(l),
            None => groups.push(vec![l]),
        }
    }
    groups
        .into_iter()
        .map(|mut g| {
            g.sort_by(|a, b| a.us_per_op.total_cmp(&b.us_per_op));
            let mid = (g.len() - 1) / 2;
            g.swap_remove(mid)
        })
        .collect()
}

fn ratio(us: f64, raw: Option<f64>) -> Option<f64> {
    raw.filter(|r| *r > 0.0).map(|r| us / r)
}

fn cell(l: &Line, raw: Option<f64>) -> String {
    let time = if l.us_per_op >= 100_000.0 {
        format!("{:.2} s", l.us_per_op / 1e6)
    } else if l.us_per_op >= 1000.0 {
        format!("{:.2} ms", l.us_per_op / 1e3)
    } else {
        format!("{:.1} µs", l.us_per_op)
    };
    let mut s = match ratio(l.us_per_op, raw) {
        Some(r) => format!("{time} ({r:.2}×)"),
        None => time,
    };
    if let Some(kib) = l.peak_rss_kib {
        let _ = write!(s, ", {:.0} MiB", kib as f64 / 1024.0);
    }
    s
}

/// One backend's table: a row per (workload, n), a column per contender.
fn table(kind: Kind, lines: &[Line]) -> String {
    let present: Vec<&str> = CONTENDERS
        .iter()
        .copied()
        .filter(|c| lines.iter().any(|l| l.contender == *c))
        .collect();
    let mut md = format!("\n## {}\n\n| workload | n |", kind.title());
    for c in &present {
        let _ = write!(md, " {c} |");
    }
    md.push_str(" Aludel's rank |\n| --- | ---: |");
    for _ in &present {
        md.push_str(" ---: |");
    }
    md.push_str(" --- |\n");
    for (workload, sizes) in WORKLOADS {
        for &n in *sizes {
            let row: Vec<&Line> = lines
                .iter()
                .filter(|l| l.workload == *workload && l.n == n)
                .collect();
            if row.is_empty() {
                continue;
            }
            let raw = row
                .iter()
                .find(|l| l.contender == "raw")
                .map(|l| l.us_per_op);
            let _ = write!(md, "| {workload} | {n} |");
            for c in &present {
                match row.iter().find(|l| l.contender == *c) {
                    Some(l) => {
                        let _ = write!(md, " {} |", cell(l, raw));
                    }
                    None => md.push_str(" – |"),
                }
            }
            // Rank among the libraries (the raw drivers are the floor).
            let mut libs: Vec<&&Line> = row.iter().filter(|l| l.contender != "raw").collect();
            libs.sort_by(|a, b| a.us_per_op.total_cmp(&b.us_per_op));
            let rank = |name: &str| {
                libs.iter()
                    .position(|l| l.contender == name)
                    .map(|i| format!("{}/{}", i + 1, libs.len()))
                    .unwrap_or_else(|| "–".into())
            };
            let _ = writeln!(
                md,
                " core {}, orm {} |",
                rank("aludel-core"),
                rank("aludel-orm")
            );
        }
    }
    md
}

fn csv(all: &[(Kind, Vec<Line>)]) -> String {
    let mut out =
        String::from("backend,workload,n,contender,us_per_op,ratio_to_raw,peak_rss_kib\n");
    for (kind, lines) in all {
        for l in lines {
            let raw = lines
                .iter()
                .find(|r| r.contender == "raw" && r.workload == l.workload && r.n == l.n)
                .map(|r| r.us_per_op);
            let _ = writeln!(
                out,
                "{},{},{},{},{:.3},{},{}",
                kind.key_peers(),
                l.workload,
                l.n,
                l.contender,
                l.us_per_op,
                ratio(l.us_per_op, raw)
                    .map(|r| format!("{r:.4}"))
                    .unwrap_or_default(),
                l.peak_rss_kib.map(|r| r.to_string()).unwrap_or_default()
            );
        }
    }
    out
}

const COLORS: &[(&str, &str)] = &[
    ("aludel-core", "#1f77b4"),
    ("aludel-orm", "#08306b"),
    ("diesel", "#d62728"),
    ("diesel-async", "#ff9896"),
    ("sqlx", "#2ca02c"),
    ("seaorm", "#ff7f0e"),
];

/// Grouped bars of time / raw per (workload, n), one panel per backend;
/// the axis stops at 4× (taller bars are cut and labelled).
fn svg(all: &[(Kind, Vec<Line>)]) -> String {
    const CAP: f64 = 4.0;
    let (panel_h, bar_w, gap, left, top) = (260.0, 7.0, 14.0, 50.0, 40.0);
    let groups: Vec<(&str, usize)> = WORKLOADS
        .iter()
        .flat_map(|(w, sizes)| sizes.iter().map(move |&n| (*w, n)))
        .collect();
    let group_w = bar_w * COLORS.len() as f64 + gap;
    let width = left + group_w * groups.len() as f64 + 20.0;
    let height = top + (panel_h + 110.0) * all.len() as f64 + 20.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" font-family=\"sans-serif\" font-size=\"10\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{left}\" y=\"18\" font-size=\"14\">Time per op / raw driver (lower is better; 1× = the raw driver)</text>\n"
    );
    for (i, (name, color)) in COLORS.iter().enumerate() {
        let x = left + 330.0 + i as f64 * 90.0;
        let _ = writeln!(s, "<rect x=\"{x}\" y=\"8\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{}\" y=\"17\">{name}</text>", x + 13.0);
    }
    for (p, (kind, lines)) in all.iter().enumerate() {
        let y0 = top + p as f64 * (panel_h + 110.0);
        let base = y0 + panel_h;
        let _ = writeln!(
            s,
            "<text x=\"{left}\" y=\"{}\" font-size=\"12\" font-weight=\"bold\">{}</text>",
            y0 + 10.0,
            kind.title()
        );
        for k in 0..=4 {
            let y = base - panel_h * (k as f64 / CAP);
            let dash = if k == 1 {
                ""
            } else {
                " stroke-dasharray=\"2,3\""
            };
            let _ = writeln!(s, "<line x1=\"{left}\" x2=\"{:.0}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#999\"{dash}/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{k}×</text>", width - 20.0, left - 4.0, y + 3.0);
        }
        for (g, (w, n)) in groups.iter().enumerate() {
            let gx = left + g as f64 * group_w + gap / 2.0;
            let raw = lines
                .iter()
                .find(|l| l.contender == "raw" && l.workload == *w && l.n == *n)
                .map(|l| l.us_per_op);
            for (b, (name, color)) in COLORS.iter().enumerate() {
                let Some(l) = lines
                    .iter()
                    .find(|l| l.contender == *name && l.workload == *w && l.n == *n)
                else {
                    continue;
                };
                let Some(r) = ratio(l.us_per_op, raw) else {
                    continue;
                };
                let h = panel_h * (r.min(CAP) / CAP);
                let x = gx + b as f64 * bar_w;
                let _ = writeln!(s, "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{color}\"><title>{name} {w} n={n}: {r:.2}×</title></rect>", base - h, bar_w - 1.0);
                if r > CAP {
                    let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"8\" transform=\"rotate(-90 {:.1} {:.1})\">{r:.1}×</text>", x + 6.0, base - h - 2.0, x + 6.0, base - h - 2.0);
                }
            }
            let lx = gx + group_w / 2.0 - gap / 2.0;
            let _ = writeln!(s, "<text x=\"{lx:.1}\" y=\"{:.1}\" text-anchor=\"end\" transform=\"rotate(-45 {lx:.1} {:.1})\">{w} {n}</text>", base + 12.0, base + 12.0);
        }
    }
    s.push_str("</svg>\n");
    s
}

/// The whole `--peers` run; writes bench/results/peers-<date>.{md,csv,svg}.
pub async fn run(kinds: &[Kind], quick: bool, rounds: usize) -> Res<()> {
    let started = std::time::Instant::now();
    let peers = build_peers();
    let mut versions = BTreeMap::new();
    let mut all = Vec::new();
    for &kind in kinds {
        match run_backend(kind, quick, rounds, &peers, &mut versions).await {
            Ok(lines) => all.push((kind, lines)),
            Err(e) => {
                eprintln!("[peers] {}: {e}", kind.title());
                drop_database(kind).await;
            }
        }
    }
    let date = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut md = format!("# Aludel against the raw drivers and the peer ORMs, {date}\n\n");
    let _ = writeln!(
        md,
        "- command: `cargo run --release --manifest-path bench/Cargo.toml -- --peers{}{}`",
        if quick { " --quick" } else { "" },
        if rounds > 1 {
            format!(" --rounds {rounds}")
        } else {
            String::new()
        }
    );
    let _ = writeln!(md, "- rustc: {}", env!("BENCH_RUSTC_VERSION"));
    let _ = writeln!(md, "- cores (available_parallelism): {cores}");
    for (name, v) in &versions {
        let _ = writeln!(md, "- {name}: {v}");
    }
    let _ = writeln!(
        md,
        "- method: bench/peers/README.md (median of {} samples of {} ms{}; µs per op; ratio = time / raw driver's; rank among the libraries, raw excluded); stream_rows is timed the same way (a pass over 1 000 000 rows per op) in a fresh process, with its peak RSS",
        if quick { 3 } else { 7 },
        if quick { 100 } else { 500 },
        if rounds > 1 {
            format!(
                ", then the median over {rounds} rounds that run the contenders in turn"
            )
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        md,
        "- total run time: {:.0} s",
        started.elapsed().as_secs_f64()
    );
    for (kind, lines) in &all {
        md.push_str(&table(*kind, lines));
    }
    print!("{md}");
    let dir = bench_dir().join("results");
    let stem = if quick {
        format!("peers-{date}-quick")
    } else {
        format!("peers-{date}")
    };
    std::fs::create_dir_all(&dir)?;
    write(&dir, &format!("{stem}.md"), &md)?;
    write(&dir, &format!("{stem}.csv"), &csv(&all))?;
    write(&dir, &format!("{stem}.svg"), &svg(&all))?;
    eprintln!("wrote {}/{stem}.md, .csv and .svg", dir.display());
    Ok(())
}

fn write(dir: &Path, name: &str, body: &str) -> Res<()> {
    std::fs::write(dir.join(name), body)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_files_split_at_line_ends() {
        let sql = "-- a comment\nCREATE TABLE t (a INT);\nINSERT INTO t\n    SELECT 1;\n";
        assert_eq!(
            statements(sql),
            ["CREATE TABLE t (a INT)", "INSERT INTO t\n    SELECT 1"]
        );
    }

    #[test]
    fn rounds_reduce_to_their_median() {
        let line = |contender: &str, n: usize, us: f64, rss: u64| Line {
            contender: contender.into(),
            backend: "sqlite".into(),
            workload: "load_users".into(),
            n,
            us_per_op: us,
            peak_rss_kib: Some(rss),
        };
        let lines = vec![
            line("raw", 1, 30.0, 1),
            line("raw", 100, 5.0, 2),
            line("raw", 1, 10.0, 3),
            line("orm", 1, 7.0, 4),
            line("raw", 1, 20.0, 5),
            line("raw", 100, 9.0, 6),
        ];
        let got: Vec<(String, usize, f64, Option<u64>)> = median_of_rounds(lines)
            .into_iter()
            .map(|l| (l.contender, l.n, l.us_per_op, l.peak_rss_kib))
            .collect();
        assert_eq!(
            got,
            [
                ("raw".into(), 1, 20.0, Some(5)),
                ("raw".into(), 100, 5.0, Some(2)),
                ("orm".into(), 1, 7.0, Some(4)),
            ]
        );
    }
}
