//! `/api/policies`.

use std::sync::atomic::{AtomicU64, Ordering};

use aludel::orm::{selectin, Key, Model as _, Session};
use aludel::types::chrono::NaiveDate;
use aludel::types::Decimal;
use aludel_axum::{AppError, DbSession, PageParams, Paginated, SessionExt};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Json, Query};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::homes::{existing_customer, home_from, NewHome};
use super::{amount, filters, text, Body, Id};
use crate::models::{Home, Policy, PolicyStatus, Rider};

/// A policy as the API shows it: its columns and its riders' codes.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyOut {
    /// The policy.
    #[serde(flatten)]
    pub policy: Policy,
    /// The codes of its riders, sorted.
    pub riders: Vec<String>,
}

/// The body of `POST /api/policies`: an existing home (`home_id`) or a new
/// one (`home`, created in the same transaction).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPolicy {
    /// The policy holder (an existing customer).
    pub customer_id: i64,
    /// An existing home of the customer, not yet insured.
    #[serde(default)]
    pub home_id: Option<i64>,
    /// A new home to insure (instead of `home_id`).
    #[serde(default)]
    pub home: Option<NewHome>,
    /// The policy number; `PRT-<id>` when not given.
    #[serde(default)]
    pub number: Option<String>,
    /// The most the policy pays for one loss ("400000.00").
    pub coverage: Decimal,
    /// The yearly premium ("1180.00").
    pub premium: Decimal,
    /// What the customer bears of each loss (default 0; below the coverage).
    #[serde(default)]
    pub deductible: Option<Decimal>,
    /// The first day of cover.
    pub start_date: NaiveDate,
    /// The last day of cover (after `start_date`).
    pub end_date: NaiveDate,
    /// The status (default `quoted`).
    #[serde(default)]
    pub status: Option<PolicyStatus>,
    /// Rider codes (`["flood"]`).
    #[serde(default)]
    pub riders: Vec<String>,
}

/// The body of `PATCH /api/policies/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyPatch {
    /// A new coverage.
    pub coverage: Option<Decimal>,
    /// A new premium.
    pub premium: Option<Decimal>,
    /// A new deductible.
    pub deductible: Option<Decimal>,
    /// A new first day.
    pub start_date: Option<NaiveDate>,
    /// A new last day (a renewal).
    pub end_date: Option<NaiveDate>,
    /// A new status.
    pub status: Option<PolicyStatus>,
    /// The riders, replacing the current ones.
    pub riders: Option<Vec<String>>,
}

/// `GET /api/policies` filters.
#[derive(Debug, Deserialize)]
pub struct PolicyFilters {
    /// Policies with this status (`active`, `quoted`, …).
    pub status: Option<PolicyStatus>,
    /// Policies of this customer.
    pub customer_id: Option<i64>,
}

/// The API's view of a loaded policy (riders as loaded, else none).
pub(crate) fn policy_out(s: &Session, key: Key<Policy>) -> PolicyOut {
    let mut riders: Vec<String> = s
        .related(key, Policy::riders)
        .unwrap_or_default()
        .into_iter()
        .map(|r| s[r].code.clone())
        .collect();
    riders.sort();
    PolicyOut {
        policy: s[key].clone(),
        riders,
    }
}

/// The riders with these codes, or a 422 naming the first unknown one.
async fn riders_by_code(s: &mut Session, codes: &[String]) -> Result<Vec<Key<Rider>>, AppError> {
    let mut codes: Vec<String> = codes.iter().map(|c| c.trim().to_lowercase()).collect();
    codes.sort();
    codes.dedup();
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let found = Rider::query(s)
        .filter(Rider::code.in_(codes.clone()))
        .all()
        .await?;
    if let Some(missing) = codes
        .iter()
        .find(|c| !found.iter().any(|&k| &s[k].code == *c))
    {
        return Err(AppError::validation(
            "riders",
            format!("no rider with code {missing:?}"),
        ));
    }
    Ok(found)
}

fn below_coverage(deductible: Decimal, coverage: Decimal) -> Result<(), AppError> {
    if deductible >= coverage {
        return Err(AppError::validation(
            "deductible",
            "must be less than the coverage",
        ));
    }
    Ok(())
}

fn term(start: NaiveDate, end: NaiveDate) -> Result<(), AppError> {
    if end <= start {
        return Err(AppError::validation("end_date", "must be after start_date"));
    }
    Ok(())
}

/// A unique placeholder number for a policy whose real number (from its
/// id) is set right after its INSERT, in the same transaction.
fn placeholder_number() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("~{:015x}{:04x}", nanos & 0x0fff_ffff_ffff_ffff, n & 0xffff)
}

pub(super) async fn list(
    mut s: DbSession,
    pages: PageParams,
    f: Result<Query<PolicyFilters>, QueryRejection>,
) -> Result<Json<Paginated<PolicyOut>>, AppError> {
    let f = filters(f)?;
    let mut q = Policy::query(&mut s)
        .options(selectin(Policy::riders))
        .order_by([Policy::id.asc()]);
    if let Some(status) = f.status {
        q = q.filter(Policy::status.eq(status));
    }
    if let Some(c) = f.customer_id {
        q = q.filter(Policy::customer_id.eq(c));
    }
    let page = pages.paginate(q).await?;
    Ok(Json(pages.render(&page, |k| policy_out(&s, k))))
}

pub(super) async fn create(
    mut s: DbSession,
    Body(new): Body<NewPolicy>,
) -> Result<(StatusCode, Json<PolicyOut>), AppError> {
    let coverage = amount("coverage", new.coverage, false, 10)?;
    let premium = amount("premium", new.premium, false, 8)?;
    let deductible = amount("deductible", new.deductible.unwrap_or_default(), true, 8)?;
    below_coverage(deductible, coverage)?;
    term(new.start_date, new.end_date)?;
    let number = match &new.number {
        Some(n) => Some(text("number", n, 20)?),
        None => None,
    };
    let customer = existing_customer(&mut s, "customer_id", new.customer_id).await?;
    let home = match (new.home_id, new.home) {
        (Some(_), Some(_)) => {
            return Err(AppError::validation(
                "home",
                "give home_id or home, not both",
            ))
        }
        (None, None) => {
            return Err(AppError::validation(
                "home_id",
                "is required (or a new home in \"home\")",
            ))
        }
        (Some(id), None) => {
            let h = s
                .get::<Home>(id)
                .await?
                .ok_or_else(|| AppError::validation("home_id", format!("no home with id {id}")))?;
            if s[h].customer_id != new.customer_id {
                return Err(AppError::validation(
                    "home_id",
                    format!(
                        "home {id} belongs to another customer than {}",
                        new.customer_id
                    ),
                ));
            }
            h
        }
        // The new home is INSERTed with the policy, in this transaction:
        // if the policy's INSERT fails (a taken number), neither is kept.
        (None, Some(h)) => {
            let home = home_from(h, new.customer_id, "home.")?;
            let key = s.add(home);
            s.set_related(key, Home::owner, Some(customer))?;
            key
        }
    };
    let riders = riders_by_code(&mut s, &new.riders).await?;
    let key = s.add(Policy {
        id: 0,
        number: number.clone().unwrap_or_else(placeholder_number),
        customer_id: new.customer_id,
        home_id: 0,
        coverage,
        premium,
        deductible,
        start_date: new.start_date,
        end_date: new.end_date,
        status: new.status.unwrap_or(PolicyStatus::Quoted),
        version: 0,
    });
    s.set_related(key, Policy::customer, Some(customer))?;
    s.set_related(key, Policy::home, Some(home))?;
    for r in riders {
        s.append(key, Policy::riders, r)?;
    }
    // INSERT the home (if new), the policy and its rider rows: a home
    // already insured is a 409 naming uq_policies_home_id.
    s.flush().await?;
    if number.is_none() {
        let id = s[key].id;
        s[key].number = format!("PRT-{id:07}");
        s.flush().await?;
    }
    s.load_related(key, Policy::riders).await?;
    Ok((StatusCode::CREATED, Json(policy_out(&s, key))))
}

pub(super) async fn show(mut s: DbSession, Id(id): Id) -> Result<Json<PolicyOut>, AppError> {
    let key = s.get_or_404::<Policy>(id).await?;
    s.load_related(key, Policy::riders).await?;
    Ok(Json(policy_out(&s, key)))
}

pub(super) async fn update(
    mut s: DbSession,
    Id(id): Id,
    Body(patch): Body<PolicyPatch>,
) -> Result<Json<PolicyOut>, AppError> {
    let key = s.get_or_404::<Policy>(id).await?;
    if let Some(v) = patch.coverage {
        s[key].coverage = amount("coverage", v, false, 10)?;
    }
    if let Some(v) = patch.premium {
        s[key].premium = amount("premium", v, false, 8)?;
    }
    if let Some(v) = patch.deductible {
        s[key].deductible = amount("deductible", v, true, 8)?;
    }
    below_coverage(s[key].deductible, s[key].coverage)?;
    let start = patch.start_date.unwrap_or(s[key].start_date);
    let end = patch.end_date.unwrap_or(s[key].end_date);
    term(start, end)?;
    s[key].start_date = start;
    s[key].end_date = end;
    if let Some(v) = patch.status {
        s[key].status = v;
    }
    let current = s.load_related(key, Policy::riders).await?;
    if let Some(codes) = patch.riders {
        let wanted = riders_by_code(&mut s, &codes).await?;
        for r in current.iter().filter(|r| !wanted.contains(r)) {
            s.remove_related(key, Policy::riders, *r)?;
        }
        for r in wanted.iter().filter(|r| !current.contains(r)) {
            s.append(key, Policy::riders, *r)?;
        }
    }
    s.flush().await?; // the UPDATE and its version check, rider rows
    Ok(Json(policy_out(&s, key)))
}

/// A policy with claims cannot go: the claims' foreign key refuses (409);
/// its rider rows go with it (ON DELETE CASCADE).
pub(super) async fn delete(mut s: DbSession, Id(id): Id) -> Result<StatusCode, AppError> {
    let key = s.get_or_404::<Policy>(id).await?;
    s.delete(key)?;
    s.flush().await?;
    Ok(StatusCode::NO_CONTENT)
}
