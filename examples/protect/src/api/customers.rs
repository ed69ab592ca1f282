//! `/api/customers`.

use aludel::orm::Model as _;
use aludel_axum::{AppError, DbSession, PageParams, Paginated, SessionExt};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Json, Query};
use axum::http::StatusCode;
use serde::Deserialize;

use super::{filters, text, Body, Id};
use crate::models::{now, Customer};

/// The body of `POST /api/customers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// Full name (1–100 characters).
    pub name: String,
    /// Email address, unique among customers.
    pub email: String,
    /// Phone number (up to 40 characters).
    #[serde(default)]
    pub phone: Option<String>,
}

/// The body of `PATCH /api/customers/{id}`: the fields to change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    /// A new name.
    pub name: Option<String>,
    /// A new email address.
    pub email: Option<String>,
    /// A new phone number.
    pub phone: Option<String>,
}

/// `GET /api/customers` filters.
#[derive(Debug, Deserialize)]
pub struct CustomerFilters {
    /// Names containing this text.
    pub q: Option<String>,
    /// This exact email address.
    pub email: Option<String>,
}

fn email(value: &str) -> Result<String, AppError> {
    let v = text("email", value, 200)?.to_lowercase();
    match v.split_once('@') {
        Some((user, domain)) if !user.is_empty() && domain.contains('.') => Ok(v),
        _ => Err(AppError::validation(
            "email",
            "must be an email address (name@example.com)",
        )),
    }
}

fn phone(value: Option<String>) -> Result<Option<String>, AppError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(p) => Ok(Some(text("phone", p, 40)?)),
    }
}

pub(super) async fn list(
    mut s: DbSession,
    pages: PageParams,
    f: Result<Query<CustomerFilters>, QueryRejection>,
) -> Result<Json<Paginated<Customer>>, AppError> {
    let f = filters(f)?;
    let mut q = Customer::query(&mut s).order_by([Customer::id.asc()]);
    if let Some(name) = f.q.filter(|q| !q.trim().is_empty()) {
        q = q.filter(Customer::name.like(format!("%{}%", name.trim())));
    }
    if let Some(email) = f.email {
        q = q.filter(Customer::email.eq(email.trim().to_lowercase()));
    }
    let page = pages.paginate(q).await?;
    Ok(Json(pages.render(&page, |k| s[k].clone())))
}

pub(super) async fn create(
    mut s: DbSession,
    Body(new): Body<NewCustomer>,
) -> Result<(StatusCode, Json<Customer>), AppError> {
    let customer = Customer {
        id: 0,
        name: text("name", &new.name, 100)?,
        email: email(&new.email)?,
        phone: phone(new.phone)?,
        created_at: now(),
    };
    let key = s.add(customer);
    s.flush().await?; // a taken email is a 409 naming uq_customers_email
    Ok((StatusCode::CREATED, Json(s[key].clone())))
}

pub(super) async fn show(mut s: DbSession, Id(id): Id) -> Result<Json<Customer>, AppError> {
    let key = s.get_or_404::<Customer>(id).await?;
    Ok(Json(s[key].clone()))
}

pub(super) async fn update(
    mut s: DbSession,
    Id(id): Id,
    Body(patch): Body<CustomerPatch>,
) -> Result<Json<Customer>, AppError> {
    let key = s.get_or_404::<Customer>(id).await?;
    if let Some(name) = patch.name {
        s[key].name = text("name", &name, 100)?;
    }
    if let Some(e) = patch.email {
        s[key].email = email(&e)?;
    }
    if patch.phone.is_some() {
        s[key].phone = phone(patch.phone)?;
    }
    s.flush().await?;
    Ok(Json(s[key].clone()))
}

/// A customer with homes or policies cannot go: the foreign keys refuse
/// (409 naming the constraint).
pub(super) async fn delete(mut s: DbSession, Id(id): Id) -> Result<StatusCode, AppError> {
    let key = s.get_or_404::<Customer>(id).await?;
    s.delete(key)?;
    s.flush().await?;
    Ok(StatusCode::NO_CONTENT)
}
