//! `/api/riders`: the optional extensions of cover policies can carry.

use aludel::orm::Model as _;
use aludel::types::Decimal;
use aludel_axum::{AppError, DbSession, PageParams, Paginated, SessionExt};
use axum::extract::Json;
use axum::http::StatusCode;
use serde::Deserialize;

use super::{amount, text, Body, Id};
use crate::models::Rider;

/// The body of `POST /api/riders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRider {
    /// A short code: lowercase letters, digits and `_` (`flood`).
    pub code: String,
    /// The name shown to customers.
    pub name: String,
    /// What it adds to the yearly premium ("95.00").
    pub annual_price: Decimal,
}

/// The body of `PATCH /api/riders/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiderPatch {
    /// A new name.
    pub name: Option<String>,
    /// A new price.
    pub annual_price: Option<Decimal>,
}

fn code(v: &str) -> Result<String, AppError> {
    let c = text("code", v, 40)?;
    if !c
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(AppError::validation(
            "code",
            "must be lowercase letters, digits and _",
        ));
    }
    Ok(c)
}

pub(super) async fn list(
    mut s: DbSession,
    pages: PageParams,
) -> Result<Json<Paginated<Rider>>, AppError> {
    let q = Rider::query(&mut s).order_by([Rider::code.asc()]);
    let page = pages.paginate(q).await?;
    Ok(Json(pages.render(&page, |k| s[k].clone())))
}

pub(super) async fn create(
    mut s: DbSession,
    Body(new): Body<NewRider>,
) -> Result<(StatusCode, Json<Rider>), AppError> {
    let key = s.add(Rider {
        id: 0,
        code: code(&new.code)?,
        name: text("name", &new.name, 100)?,
        annual_price: amount("annual_price", new.annual_price, true, 8)?,
    });
    s.flush().await?; // a taken code is a 409 naming uq_riders_code
    Ok((StatusCode::CREATED, Json(s[key].clone())))
}

pub(super) async fn show(mut s: DbSession, Id(id): Id) -> Result<Json<Rider>, AppError> {
    let key = s.get_or_404::<Rider>(id).await?;
    Ok(Json(s[key].clone()))
}

pub(super) async fn update(
    mut s: DbSession,
    Id(id): Id,
    Body(patch): Body<RiderPatch>,
) -> Result<Json<Rider>, AppError> {
    let key = s.get_or_404::<Rider>(id).await?;
    if let Some(v) = patch.name {
        s[key].name = text("name", &v, 100)?;
    }
    if let Some(v) = patch.annual_price {
        s[key].annual_price = amount("annual_price", v, true, 8)?;
    }
    s.flush().await?;
    Ok(Json(s[key].clone()))
}

/// Removing a rider takes it off every policy (ON DELETE CASCADE).
pub(super) async fn delete(mut s: DbSession, Id(id): Id) -> Result<StatusCode, AppError> {
    let key = s.get_or_404::<Rider>(id).await?;
    s.delete(key)?;
    s.flush().await?;
    Ok(StatusCode::NO_CONTENT)
}
