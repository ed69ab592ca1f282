//! The timing loop and what every backend provides to it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::data::User;

pub type BoxError = Box<dyn std::error::Error>;
pub type Res<T> = Result<T, BoxError>;

/// One backend: a raw driver connection and an Aludel `Connection` on the
/// same database, with the statements of every workload ready.
pub trait Backend {
    /// Raw driver: cached prepared statement, rows mapped by hand.
    async fn select_raw(&mut self, n: usize) -> Res<Vec<User>>;
    /// Aludel: `conn.execute(&text, params!{"n": n}).await?.all_as::<User>()`.
    async fn select_aludel(&mut self, n: usize) -> Res<Vec<User>>;
    /// Build the rows, SQL and prepared statements of an insert batch of `n`.
    async fn prepare_insert(&mut self, n: usize) -> Res<()>;
    /// BEGIN; one multi-row INSERT of `n` rows; COMMIT. Each returns rows inserted.
    async fn insert_raw(&mut self, n: usize) -> Res<u64>;
    async fn insert_aludel_text(&mut self, n: usize) -> Res<u64>;
    async fn insert_aludel_driver_sql(&mut self, n: usize) -> Res<u64>;
    /// Empty the table (between insert samples, outside the timed part).
    async fn truncate(&mut self) -> Res<()>;
    /// Put both sides in the same server state for the selects: Aludel's
    /// held connection autobegins a transaction on its first statement, so
    /// the raw connection sends one BEGIN too.
    async fn begin_selects(&mut self) -> Res<()>;
    /// Roll back both select transactions.
    async fn end_selects(&mut self) -> Res<()>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    SelectRaw,
    SelectAludel,
    InsertRaw,
    InsertAludelText,
    InsertAludelDriverSql,
}

async fn run<B: Backend>(b: &mut B, op: Op, n: usize) -> Res<()> {
    let got = match op {
        Op::SelectRaw => black_box(b.select_raw(n).await?).len() as u64,
        Op::SelectAludel => black_box(b.select_aludel(n).await?).len() as u64,
        Op::InsertRaw => b.insert_raw(n).await?,
        Op::InsertAludelText => b.insert_aludel_text(n).await?,
        Op::InsertAludelDriverSql => b.insert_aludel_driver_sql(n).await?,
    };
    if got != n as u64 {
        return Err(format!("{op:?} with N={n} handled {got} rows").into());
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub samples: usize,
    pub sample_time: Duration,
    pub max_iters: u64,
    pub warmup: Duration,
}

impl Settings {
    pub fn full() -> Self {
        Settings {
            samples: 7,
            sample_time: Duration::from_millis(500),
            max_iters: 10_000,
            warmup: Duration::from_millis(200),
        }
    }

    pub fn quick() -> Self {
        Settings {
            samples: 3,
            sample_time: Duration::from_millis(100),
            max_iters: 10_000,
            warmup: Duration::from_millis(50),
        }
    }
}

/// Repeat `op` until `limit` has passed or `max_iters` ran; µs per op.
async fn sample<B: Backend>(
    b: &mut B,
    op: Op,
    n: usize,
    limit: Duration,
    max_iters: u64,
) -> Res<f64> {
    let start = Instant::now();
    let mut iters = 0u64;
    loop {
        run(b, op, n).await?;
        iters += 1;
        let elapsed = start.elapsed();
        if elapsed >= limit || iters >= max_iters {
            return Ok(elapsed.as_secs_f64() * 1e6 / iters as f64);
        }
    }
}

/// Median µs/op of each of `ops`, whose samples are interleaved so that a
/// drift of the machine hits every side alike. With `reset`, the table is
/// emptied before each sample, outside the timed part.
pub async fn measure<B: Backend>(
    b: &mut B,
    ops: &[Op],
    n: usize,
    s: &Settings,
    reset: bool,
) -> Res<Vec<f64>> {
    for &op in ops {
        if reset {
            b.truncate().await?;
        }
        // Warm-up (statements prepared, caches filled): `warmup` long, and
        // at least 3 runs.
        sample(b, op, n, s.warmup, s.max_iters).await?;
        run(b, op, n).await?;
        run(b, op, n).await?;
    }
    let mut per_op = vec![Vec::with_capacity(s.samples); ops.len()];
    for _ in 0..s.samples {
        for (k, &op) in ops.iter().enumerate() {
            if reset {
                b.truncate().await?;
            }
            per_op[k].push(sample(b, op, n, s.sample_time, s.max_iters).await?);
        }
    }
    Ok(per_op.into_iter().map(median).collect())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// One line of a result table.
#[derive(Debug, Clone)]
pub struct Row {
    pub workload: &'static str,
    pub n: usize,
    pub raw_us: f64,
    pub aludel_us: f64,
}

impl Row {
    pub fn ratio(&self) -> f64 {
        self.aludel_us / self.raw_us
    }
}

pub const SELECT_NS: [usize; 3] = [1, 100, 10_000];
pub const INSERT_NS: [usize; 3] = [1, 100, 1_000];

pub const SELECT: &str = "select N rows → structs";
pub const INSERT_TEXT: &str = "insert N rows, one INSERT (text())";
pub const INSERT_DRIVER_SQL: &str = "insert N rows, one INSERT (exec_driver_sql)";

pub fn us(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 1000.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// Run every workload on `b`; progress goes to stderr.
pub async fn run_all<B: Backend>(b: &mut B, name: &str, s: &Settings) -> Res<Vec<Row>> {
    b.begin_selects().await?;
    // The two sides must read the same thing.
    let (raw, aludel) = (b.select_raw(100).await?, b.select_aludel(100).await?);
    if raw != aludel {
        return Err(format!("{name}: raw and Aludel selects differ").into());
    }
    let mut rows = Vec::new();
    for n in SELECT_NS {
        let m = measure(b, &[Op::SelectRaw, Op::SelectAludel], n, s, false).await?;
        eprintln!(
            "[{name}] select N={n}: raw {} µs, aludel {} µs (x{:.2})",
            us(m[0]),
            us(m[1]),
            m[1] / m[0]
        );
        rows.push(Row {
            workload: SELECT,
            n,
            raw_us: m[0],
            aludel_us: m[1],
        });
    }
    b.end_selects().await?;
    let mut driver_sql_rows = Vec::new();
    for n in INSERT_NS {
        b.prepare_insert(n).await?;
        let ops = [
            Op::InsertRaw,
            Op::InsertAludelText,
            Op::InsertAludelDriverSql,
        ];
        let m = measure(b, &ops, n, s, true).await?;
        eprintln!(
            "[{name}] insert N={n}: raw {} µs, aludel text() {} µs (x{:.2}), exec_driver_sql {} µs (x{:.2})",
            us(m[0]),
            us(m[1]),
            m[1] / m[0],
            us(m[2]),
            m[2] / m[0]
        );
        rows.push(Row {
            workload: INSERT_TEXT,
            n,
            raw_us: m[0],
            aludel_us: m[1],
        });
        driver_sql_rows.push(Row {
            workload: INSERT_DRIVER_SQL,
            n,
            raw_us: m[0],
            aludel_us: m[2],
        });
    }
    b.truncate().await?;
    rows.extend(driver_sql_rows);
    Ok(rows)
}
