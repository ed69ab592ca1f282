//! `/api/homes`.

use aludel::orm::Model as _;
use aludel::types::chrono::Datelike;
use aludel::types::Decimal;
use aludel_axum::{AppError, DbSession, PageParams, Paginated, SessionExt};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Json, Query};
use axum::http::StatusCode;
use serde::Deserialize;

use super::{amount, filters, text, Body, Id};
use crate::models::{Customer, Home};

/// The body of `POST /api/homes` (and of a policy's inline `home`, without
/// `customer_id`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewHome {
    /// The owner (an existing customer).
    #[serde(default)]
    pub customer_id: Option<i64>,
    /// Street address.
    pub address: String,
    /// City.
    pub city: String,
    /// Country.
    pub country: String,
    /// The year it was built (1500 to this year).
    pub year_built: i32,
    /// Its estimated value ("350000.00").
    pub value: Decimal,
}

/// The body of `PATCH /api/homes/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HomePatch {
    /// A new street address.
    pub address: Option<String>,
    /// A new city.
    pub city: Option<String>,
    /// A new country.
    pub country: Option<String>,
    /// A corrected year of construction.
    pub year_built: Option<i32>,
    /// A new estimated value.
    pub value: Option<Decimal>,
}

/// `GET /api/homes` filters.
#[derive(Debug, Deserialize)]
pub struct HomeFilters {
    /// Homes of this customer.
    pub customer_id: Option<i64>,
}

fn year_built(field: &str, y: i32) -> Result<i32, AppError> {
    let this_year = crate::models::now().year();
    if !(1500..=this_year).contains(&y) {
        return Err(AppError::validation(
            field,
            format!("must be a year from 1500 to {this_year}"),
        ));
    }
    Ok(y)
}

/// A checked [`Home`] from `new`, for `customer_id` (prefix: how the
/// fields are named in the request, `""` or `"home."`).
pub(crate) fn home_from(new: NewHome, customer_id: i64, prefix: &str) -> Result<Home, AppError> {
    let f = |name: &str| format!("{prefix}{name}");
    Ok(Home {
        id: 0,
        customer_id,
        address: text(&f("address"), &new.address, 200)?,
        city: text(&f("city"), &new.city, 100)?,
        country: text(&f("country"), &new.country, 60)?,
        year_built: year_built(&f("year_built"), new.year_built)?,
        value: amount(&f("value"), new.value, false, 10)?,
    })
}

/// A 422 naming `field` unless a customer with this id exists.
pub(crate) async fn existing_customer(
    s: &mut DbSession,
    field: &str,
    id: i64,
) -> Result<aludel::orm::Key<Customer>, AppError> {
    s.get::<Customer>(id)
        .await?
        .ok_or_else(|| AppError::validation(field, format!("no customer with id {id}")))
}

pub(super) async fn list(
    mut s: DbSession,
    pages: PageParams,
    f: Result<Query<HomeFilters>, QueryRejection>,
) -> Result<Json<Paginated<Home>>, AppError> {
    let f = filters(f)?;
    let mut q = Home::query(&mut s).order_by([Home::id.asc()]);
    if let Some(c) = f.customer_id {
        q = q.filter(Home::customer_id.eq(c));
    }
    let page = pages.paginate(q).await?;
    Ok(Json(pages.render(&page, |k| s[k].clone())))
}

pub(super) async fn create(
    mut s: DbSession,
    Body(new): Body<NewHome>,
) -> Result<(StatusCode, Json<Home>), AppError> {
    let Some(customer_id) = new.customer_id else {
        return Err(AppError::validation("customer_id", "is required"));
    };
    let home = home_from(new, customer_id, "")?;
    existing_customer(&mut s, "customer_id", customer_id).await?;
    let key = s.add(home);
    s.flush().await?;
    Ok((StatusCode::CREATED, Json(s[key].clone())))
}

pub(super) async fn show(mut s: DbSession, Id(id): Id) -> Result<Json<Home>, AppError> {
    let key = s.get_or_404::<Home>(id).await?;
    Ok(Json(s[key].clone()))
}

pub(super) async fn update(
    mut s: DbSession,
    Id(id): Id,
    Body(patch): Body<HomePatch>,
) -> Result<Json<Home>, AppError> {
    let key = s.get_or_404::<Home>(id).await?;
    if let Some(v) = patch.address {
        s[key].address = text("address", &v, 200)?;
    }
    if let Some(v) = patch.city {
        s[key].city = text("city", &v, 100)?;
    }
    if let Some(v) = patch.country {
        s[key].country = text("country", &v, 60)?;
    }
    if let Some(v) = patch.year_built {
        s[key].year_built = year_built("year_built", v)?;
    }
    if let Some(v) = patch.value {
        s[key].value = amount("value", v, false, 10)?;
    }
    s.flush().await?;
    Ok(Json(s[key].clone()))
}

/// An insured home cannot go: the policy's foreign key refuses (409).
pub(super) async fn delete(mut s: DbSession, Id(id): Id) -> Result<StatusCode, AppError> {
    let key = s.get_or_404::<Home>(id).await?;
    s.delete(key)?;
    s.flush().await?;
    Ok(StatusCode::NO_CONTENT)
}
