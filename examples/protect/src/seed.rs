//! `db seed`: fill an empty database with a few thousand rows of realistic,
//! reproducible data — customers, homes, policies with riders, claims and
//! their status histories — derived from the Chinook sample customers
//! ([`crate::seed_data`]) with a seeded random generator, so the same
//! options always give the same rows.

use aludel::orm::{Model as _, Session};
use aludel::types::chrono::{DateTime, Days, NaiveDate, Utc};
use aludel::types::Decimal;
use aludel_axum::Db;

use crate::models::{
    Claim, ClaimStatus, ClaimStatusChange, Customer, Home, Policy, PolicyRider, PolicyStatus, Rider,
};
use crate::seed_data::{ADDRESSES, EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, PHONES};

/// What to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedOptions {
    /// How many customers (each has a home, a quarter a second one, most
    /// homes a policy).
    pub customers: usize,
    /// The random generator's seed: the same seed, the same data.
    pub seed: u64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            customers: 1000,
            seed: 2026,
        }
    }
}

/// How many rows `seed` wrote, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Riders (the catalogue).
    pub riders: usize,
    /// Customers.
    pub customers: usize,
    /// Homes.
    pub homes: usize,
    /// Policies.
    pub policies: usize,
    /// Policy–rider rows.
    pub policy_riders: usize,
    /// Claims.
    pub claims: usize,
    /// Claim status changes.
    pub history: usize,
}

impl SeedReport {
    /// All rows written.
    pub fn total(&self) -> usize {
        self.riders
            + self.customers
            + self.homes
            + self.policies
            + self.policy_riders
            + self.claims
            + self.history
    }
}

/// The day the seeded book of business is "as of": policies are active on
/// it, claims filed before it. Fixed, so seeding is reproducible.
pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date")
}

/// SplitMix64: small, fast, and the same sequence on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A whole number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % ((hi - lo + 1) as u64)) as i64
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn day(d: NaiveDate, n: i64) -> NaiveDate {
    if n >= 0 {
        d.checked_add_days(Days::new(n as u64)).expect("in range")
    } else {
        d.checked_sub_days(Days::new((-n) as u64))
            .expect("in range")
    }
}

fn at(d: NaiveDate, seconds: i64) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()
        + aludel::types::chrono::Duration::seconds(seconds)
}

/// Lowercase ASCII for an email's local part (`"Gonçalves"` → `"goncalves"`).
fn ascii(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            let c = c.to_lowercase().next().unwrap_or(c);
            let folded = match c {
                'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' => 'a',
                'ç' => 'c',
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'í' | 'ì' | 'î' | 'ï' => 'i',
                'ñ' => 'n',
                'ó' | 'ò' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
                'ú' | 'ù' | 'û' | 'ü' | 'ů' => 'u',
                'ý' => 'y',
                'ł' => 'l',
                'š' => 's',
                'ž' => 'z',
                'č' => 'c',
                'ř' => 'r',
                c => c,
            };
            folded.is_ascii_alphanumeric().then_some(folded)
        })
        .collect()
}

/// A phone number in the style of a Chinook customer's, last digits new.
fn phone(rng: &mut Rng) -> Option<String> {
    if rng.chance(0.1) {
        return None;
    }
    let (_, sample) = rng.pick(PHONES);
    let mut out = String::new();
    let digits = sample.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    for c in sample.chars() {
        if c.is_ascii_digit() {
            seen += 1;
            if seen > digits.saturating_sub(4) {
                out.push(char::from(b'0' + rng.range(0, 9) as u8));
                continue;
            }
        }
        out.push(c);
    }
    Some(out)
}

const RIDERS: &[(&str, &str, i64)] = &[
    ("flood", "Flood damage", 9500),
    ("earthquake", "Earthquake", 14000),
    ("valuables", "Jewellery and valuables", 6000),
    ("home_office", "Home office equipment", 3500),
    ("legal", "Legal expenses", 2500),
    ("garden", "Garden and outbuildings", 3000),
];

const LOSSES: &[&str] = &[
    "Burst pipe under the kitchen sink flooded the ground floor",
    "Storm blew tiles off the roof; rain came into the attic",
    "Burglary through the back door: laptop and jewellery taken",
    "Chimney fire damaged the living room ceiling",
    "Tree fell on the garden shed during high winds",
    "Washing machine leak soaked the floor and the flat below",
    "Lightning strike destroyed the television and the router",
    "Frozen pipe split in the loft over the winter",
    "Basement flooded after two days of heavy rain",
    "Kitchen fire from an unattended pan: cabinets and ceiling",
    "Subsidence cracks appeared in the front wall",
    "Vandalism: windows broken and the front door forced",
    "Hail dented the conservatory roof and broke two panes",
    "Water heater failed and leaked into the utility room",
];

/// Fill `db` (already migrated) with sample data, unless it holds
/// customers already. Each stage is one multi-row INSERT per table (the
/// ORM's flush batches them), all in one transaction. `out` gets a line per
/// table.
///
/// # Errors
/// The database's error; nothing is kept then.
pub async fn seed(db: &Db, options: SeedOptions, out: impl Fn(&str)) -> aludel::Result<SeedReport> {
    let mut s = db.session();
    let existing = Customer::query(&mut s).count().await?;
    if existing > 0 {
        out(&format!(
            "The database already has {existing} customers: nothing seeded (seed an empty database)"
        ));
        s.rollback().await?;
        return Ok(SeedReport::default());
    }
    let report = seed_into(&mut s, options, &out).await?;
    s.commit().await?;
    out(&format!("Seeded {} rows.", report.total()));
    Ok(report)
}

async fn seed_into(
    s: &mut Session,
    options: SeedOptions,
    out: &impl Fn(&str),
) -> aludel::Result<SeedReport> {
    let mut rng = Rng(options.seed);
    let mut report = SeedReport::default();
    let today = as_of();

    // The rider catalogue.
    let riders = s.add_all(RIDERS.iter().map(|&(code, name, cents)| Rider {
        id: 0,
        code: code.into(),
        name: name.into(),
        annual_price: Decimal::new(cents, 2),
    }));
    s.flush().await?;
    let rider_ids: Vec<(i64, Decimal)> = riders
        .iter()
        .map(|&k| (s[k].id, s[k].annual_price))
        .collect();
    report.riders = riders.len();
    out(&format!("  riders: {}", report.riders));

    // Customers.
    let customers = s.add_all((0..options.customers).map(|i| {
        let first = *rng.pick(FIRST_NAMES);
        let last = *rng.pick(LAST_NAMES);
        let domain = *rng.pick(EMAIL_DOMAINS);
        Customer {
            id: 0,
            name: format!("{first} {last}"),
            email: format!("{}.{}.{}@{domain}", ascii(first), ascii(last), i + 1),
            phone: phone(&mut rng),
            created_at: at(
                day(today, -rng.range(30, 1800)),
                rng.range(8 * 3600, 20 * 3600),
            ),
        }
    }));
    s.flush().await?;
    let customer_ids: Vec<i64> = customers.iter().map(|&k| s[k].id).collect();
    report.customers = customers.len();
    out(&format!("  customers: {}", report.customers));

    // Homes: one each, a second for a quarter of the customers.
    let mut homes = Vec::new();
    for &customer_id in &customer_ids {
        let n = if rng.chance(0.25) { 2 } else { 1 };
        for _ in 0..n {
            let &(street, city, country) = rng.pick(ADDRESSES);
            let address = if rng.chance(0.5) {
                format!("{street}, apt {}", rng.range(1, 40))
            } else {
                street.to_string()
            };
            homes.push(Home {
                id: 0,
                customer_id,
                address,
                city: city.into(),
                country: country.into(),
                year_built: rng.range(1890, 2024) as i32,
                value: Decimal::new(rng.range(120, 1400) * 1000, 0),
            });
        }
    }
    let homes = s.add_all(homes);
    s.flush().await?;
    report.homes = homes.len();
    out(&format!("  homes: {}", report.homes));

    // Policies: nine homes in ten are insured.
    let mut policies = Vec::new();
    let mut chosen_riders = Vec::new();
    for &h in &homes {
        if !rng.chance(0.9) {
            continue;
        }
        let home = &s[h];
        let roll = rng.range(0, 99);
        let (status, start) = match roll {
            0..=69 => (PolicyStatus::Active, day(today, -rng.range(0, 364))),
            70..=79 => (PolicyStatus::Expired, day(today, -rng.range(400, 1100))),
            80..=87 => (PolicyStatus::Cancelled, day(today, -rng.range(30, 700))),
            88..=92 => (PolicyStatus::Lapsed, day(today, -rng.range(60, 700))),
            _ => (PolicyStatus::Quoted, day(today, rng.range(1, 60))),
        };
        let end = day(
            start
                .checked_add_months(aludel::types::chrono::Months::new(12))
                .expect("in range"),
            -1,
        );
        // Rebuild cost: the value plus up to a quarter, to the thousand.
        let factor = Decimal::new(rng.range(100, 125), 2);
        let coverage = (home.value * factor / Decimal::from(1000)).round() * Decimal::from(1000);
        let rate = Decimal::new(rng.range(25, 60), 4); // 0.25 % to 0.60 % a year
        let mut premium = coverage * rate;
        let mut mine = Vec::new();
        for (i, &(id, price)) in rider_ids.iter().enumerate() {
            if rng.chance(if i == 0 { 0.3 } else { 0.15 }) {
                mine.push(id);
                premium += price;
            }
        }
        chosen_riders.push(mine);
        policies.push(Policy {
            id: 0,
            number: format!("PRT-{:07}", policies.len() + 1),
            customer_id: home.customer_id,
            home_id: home.id,
            // The usual choice: a higher deductible for a dearer home.
            deductible: Decimal::from(if coverage < Decimal::from(500_000) {
                500
            } else {
                1000
            }),
            coverage,
            premium: premium.round_dp(2),
            start_date: start,
            end_date: end,
            status,
            version: 0,
        });
    }
    let policies = s.add_all(policies);
    s.flush().await?;
    report.policies = policies.len();
    out(&format!("  policies: {}", report.policies));

    let mut links = Vec::new();
    for (&p, mine) in policies.iter().zip(&chosen_riders) {
        for &rider_id in mine {
            links.push(PolicyRider {
                policy_id: s[p].id,
                rider_id,
            });
        }
    }
    report.policy_riders = s.add_all(links).len();
    s.flush().await?;
    out(&format!("  policy riders: {}", report.policy_riders));

    // Claims, filed during each policy's term (up to today), and how far
    // each got in the adjusters' workflow.
    let mut claims = Vec::new();
    let mut walks = Vec::new();
    for &p in &policies {
        let policy = &s[p];
        if policy.status == PolicyStatus::Quoted {
            continue;
        }
        let n = match rng.range(0, 99) {
            0..=54 => 0,
            55..=84 => 1,
            _ => 2,
        };
        let last_day = policy.end_date.min(day(today, -1));
        let span = (last_day - policy.start_date).num_days().max(0);
        for _ in 0..n {
            let filed = at(
                day(policy.start_date, rng.range(0, span)),
                rng.range(7 * 3600, 22 * 3600),
            );
            let cap = policy.coverage.min(Decimal::from(60_000));
            let cents = rng.range(
                50_000,
                (cap * Decimal::from(100))
                    .round()
                    .try_into()
                    .unwrap_or(5_000_000),
            );
            // Walk the workflow: older claims got further.
            let mut path = vec![ClaimStatus::Filed];
            let mut when = filed;
            let mut times = vec![filed];
            loop {
                let next = path[path.len() - 1].next();
                if next.is_empty() || !rng.chance(0.75) {
                    break;
                }
                let step = when + aludel::types::chrono::Duration::days(rng.range(1, 20));
                if step.date_naive() >= today {
                    break;
                }
                path.push(*rng.pick(next));
                when = step;
                times.push(step);
            }
            claims.push(Claim {
                id: 0,
                policy_id: policy.id,
                amount: Decimal::new(cents, 2),
                description: (*rng.pick(LOSSES)).to_string(),
                status: path[path.len() - 1],
                filed_at: filed,
                version: 0,
            });
            walks.push((path, times));
        }
    }
    let claims = s.add_all(claims);
    s.flush().await?;
    report.claims = claims.len();
    out(&format!("  claims: {}", report.claims));

    let mut history = Vec::new();
    for (&c, (path, times)) in claims.iter().zip(&walks) {
        for (i, (&to, &when)) in path.iter().zip(times).enumerate() {
            history.push(ClaimStatusChange {
                id: 0,
                claim_id: s[c].id,
                from_status: (i > 0).then(|| path[i - 1]),
                to_status: to,
                changed_at: when,
                note: None,
            });
        }
    }
    report.history = s.add_all(history).len();
    s.flush().await?;
    out(&format!("  claim status changes: {}", report.history));
    Ok(report)
}
