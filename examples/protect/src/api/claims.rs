//! `/api/claims`: a status change appends a row to the claim's history in
//! the same transaction.

use aludel::orm::{Key, Model as _, Session};
use aludel::types::chrono::{DateTime, Days, NaiveDate, Utc};
use aludel::types::Decimal;
use aludel_axum::{AppError, DbSession, PageParams, Paginated, SessionExt};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Json, Query};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{amount, filters, text, Body, Id};
use crate::models::{now, Claim, ClaimStatus, ClaimStatusChange, Policy, PolicyStatus};

/// A claim with its status history (oldest first).
#[derive(Debug, Clone, Serialize)]
pub struct ClaimOut {
    /// The claim.
    #[serde(flatten)]
    pub claim: Claim,
    /// Its status changes, oldest first.
    pub history: Vec<ClaimStatusChange>,
}

/// The body of `POST /api/claims`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClaim {
    /// The policy claimed against (active).
    pub policy_id: i64,
    /// The amount claimed ("2500.00"), at most the policy's coverage.
    pub amount: Decimal,
    /// What happened (1–500 characters).
    pub description: String,
    /// When it was filed (default: now; not in the future).
    #[serde(default)]
    pub filed_at: Option<DateTime<Utc>>,
}

/// The body of `PATCH /api/claims/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimPatch {
    /// A new status (see [`ClaimStatus::next`]); recorded in the history.
    pub status: Option<ClaimStatus>,
    /// Why the status changed (kept in the history row).
    pub note: Option<String>,
    /// A corrected amount.
    pub amount: Option<Decimal>,
    /// A corrected description.
    pub description: Option<String>,
}

/// `GET /api/claims` filters; the dates are inclusive days (UTC).
#[derive(Debug, Deserialize)]
pub struct ClaimFilters {
    /// Claims against this policy.
    pub policy_id: Option<i64>,
    /// Claims with this status.
    pub status: Option<ClaimStatus>,
    /// Claims filed on or after this day (`2025-01-31`).
    pub filed_from: Option<NaiveDate>,
    /// Claims filed on or before this day.
    pub filed_to: Option<NaiveDate>,
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
}

/// The claim's history rows, oldest first.
pub(crate) async fn history_of(
    s: &mut Session,
    claim: Key<Claim>,
) -> Result<Vec<ClaimStatusChange>, AppError> {
    let mut rows: Vec<ClaimStatusChange> = s
        .load_related(claim, Claim::history)
        .await?
        .into_iter()
        .map(|k| s[k].clone())
        .collect();
    rows.sort_by_key(|h| (h.changed_at, h.id));
    Ok(rows)
}

async fn claim_out(s: &mut Session, key: Key<Claim>) -> Result<ClaimOut, AppError> {
    let history = history_of(s, key).await?;
    Ok(ClaimOut {
        claim: s[key].clone(),
        history,
    })
}

fn note(n: Option<String>) -> Result<Option<String>, AppError> {
    match n.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => Ok(Some(text("note", t, 500)?)),
    }
}

pub(super) async fn list(
    mut s: DbSession,
    pages: PageParams,
    f: Result<Query<ClaimFilters>, QueryRejection>,
) -> Result<Json<Paginated<Claim>>, AppError> {
    let f = filters(f)?;
    if let (Some(from), Some(to)) = (f.filed_from, f.filed_to) {
        if to < from {
            return Err(AppError::validation(
                "filed_to",
                "must not be before filed_from",
            ));
        }
    }
    let mut q = Claim::query(&mut s).order_by([Claim::filed_at.desc()]);
    if let Some(p) = f.policy_id {
        q = q.filter(Claim::policy_id.eq(p));
    }
    if let Some(st) = f.status {
        q = q.filter(Claim::status.eq(st));
    }
    if let Some(from) = f.filed_from {
        q = q.filter(Claim::filed_at.ge(midnight(from)));
    }
    if let Some(to) = f.filed_to {
        // Up to the end of that day: before the next midnight.
        if let Some(next) = to.checked_add_days(Days::new(1)) {
            q = q.filter(Claim::filed_at.lt(midnight(next)));
        }
    }
    let page = pages.paginate(q).await?;
    Ok(Json(pages.render(&page, |k| s[k].clone())))
}

pub(super) async fn create(
    mut s: DbSession,
    Body(new): Body<NewClaim>,
) -> Result<(StatusCode, Json<ClaimOut>), AppError> {
    let claimed = amount("amount", new.amount, false, 10)?;
    let description = text("description", &new.description, 500)?;
    let at = now();
    let filed_at = match new.filed_at {
        Some(t) if t > at => {
            return Err(AppError::validation(
                "filed_at",
                "must not be in the future",
            ))
        }
        Some(t) => DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t),
        None => at,
    };
    let policy = s.get::<Policy>(new.policy_id).await?.ok_or_else(|| {
        AppError::validation("policy_id", format!("no policy with id {}", new.policy_id))
    })?;
    let p = &s[policy];
    if p.status != PolicyStatus::Active {
        return Err(AppError::validation(
            "policy_id",
            format!(
                "policy {} is {}: claims need an active policy",
                p.number,
                p.status.as_str()
            ),
        ));
    }
    if claimed > p.coverage {
        return Err(AppError::validation(
            "amount",
            format!(
                "must not exceed the policy's coverage of {}",
                crate::models::money_text(p.coverage)
            ),
        ));
    }
    let key = s.add(Claim {
        id: 0,
        policy_id: new.policy_id,
        amount: claimed,
        description,
        status: ClaimStatus::Filed,
        filed_at,
        version: 0,
    });
    let filed = s.add(ClaimStatusChange {
        id: 0,
        claim_id: 0,
        from_status: None,
        to_status: ClaimStatus::Filed,
        changed_at: filed_at,
        note: None,
    });
    // The history row gets the claim's id at the flush, after its INSERT.
    s.append(key, Claim::history, filed)?;
    s.flush().await?;
    let out = claim_out(&mut s, key).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

pub(super) async fn show(mut s: DbSession, Id(id): Id) -> Result<Json<ClaimOut>, AppError> {
    let key = s.get_or_404::<Claim>(id).await?;
    Ok(Json(claim_out(&mut s, key).await?))
}

/// Move a claim to status `to` and append the change to its history (in
/// the Session: both are written by the next flush, in its transaction).
/// The same status again is no change. Returns whether it changed.
///
/// # Errors
/// 422 naming `status` when the workflow does not allow the move
/// ([`ClaimStatus::next`]); the database's error loading the history.
pub async fn change_status(
    s: &mut Session,
    key: Key<Claim>,
    to: ClaimStatus,
    note: Option<String>,
) -> Result<bool, AppError> {
    let from = s[key].status;
    if to == from {
        return Ok(false);
    }
    if !from.next().contains(&to) {
        let allowed: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
        return Err(AppError::validation(
            "status",
            format!(
                "a {} claim cannot become {}; it can become: {}",
                from.as_str(),
                to.as_str(),
                if allowed.is_empty() {
                    "nothing (final)".to_string()
                } else {
                    allowed.join(", ")
                }
            ),
        )
        .with("from", from.as_str()));
    }
    s.load_related(key, Claim::history).await?;
    s[key].status = to;
    let change = s.add(ClaimStatusChange {
        id: 0,
        claim_id: s[key].id,
        from_status: Some(from),
        to_status: to,
        changed_at: now(),
        note,
    });
    s.append(key, Claim::history, change)?;
    Ok(true)
}

/// Changes a claim; a new status must follow the workflow
/// ([`ClaimStatus::next`]) and is recorded in the history, in the same
/// transaction as the claim's UPDATE (either both are saved or neither).
pub(super) async fn update(
    mut s: DbSession,
    Id(id): Id,
    Body(patch): Body<ClaimPatch>,
) -> Result<Json<ClaimOut>, AppError> {
    let key = s.get_or_404::<Claim>(id).await?;
    let note = note(patch.note)?;
    if let Some(v) = patch.description {
        s[key].description = text("description", &v, 500)?;
    }
    if let Some(v) = patch.amount {
        s[key].amount = amount("amount", v, false, 10)?;
    }
    if let Some(to) = patch.status {
        change_status(&mut s, key, to, note).await?;
    }
    // The claim's UPDATE (version-checked: a concurrent change is a 409)
    // and the history row's INSERT, in the request's transaction.
    s.flush().await?;
    Ok(Json(claim_out(&mut s, key).await?))
}

/// A claim goes with its history (ON DELETE CASCADE).
pub(super) async fn delete(mut s: DbSession, Id(id): Id) -> Result<StatusCode, AppError> {
    let key = s.get_or_404::<Claim>(id).await?;
    s.delete(key)?;
    s.flush().await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn history(
    mut s: DbSession,
    Id(id): Id,
) -> Result<Json<Vec<ClaimStatusChange>>, AppError> {
    let key = s.get_or_404::<Claim>(id).await?;
    Ok(Json(history_of(&mut s, key).await?))
}
