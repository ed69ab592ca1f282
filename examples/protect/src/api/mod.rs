//! The JSON API under `/api`: create, read, update and delete for each
//! resource, paginated lists with filters, errors as problem documents.
//!
//! | route | methods |
//! | --- | --- |
//! | `/api/customers` | GET (`?q=` name contains, `?email=`), POST |
//! | `/api/customers/{id}` | GET, PATCH, DELETE |
//! | `/api/homes` | GET (`?customer_id=`), POST |
//! | `/api/homes/{id}` | GET, PATCH, DELETE |
//! | `/api/policies` | GET (`?status=`, `?customer_id=`), POST |
//! | `/api/policies/{id}` | GET, PATCH, DELETE |
//! | `/api/riders` | GET, POST |
//! | `/api/riders/{id}` | GET, PATCH, DELETE |
//! | `/api/claims` | GET (`?policy_id=`, `?status=`, `?filed_from=`, `?filed_to=`), POST |
//! | `/api/claims/{id}` | GET (with its history), PATCH (a status change appends to the history), DELETE |
//! | `/api/claims/{id}/history` | GET |
//!
//! Every request runs in one transaction (aludel-axum's `DbLayer`):
//! committed before a 2xx response leaves, rolled back otherwise, so a
//! request that fails midway leaves nothing behind. Lists take
//! `?page=&per_page=` (Flask-SQLAlchemy's rules: page 0, -1, `abc` or past
//! the end is a 404; per_page 0 is the default 20, above 100 is 100).
//! Invalid input is a 422 naming the field; an unknown id in the path a
//! 404; a unique or foreign-key conflict a 409 naming the constraint.

mod claims;
mod customers;
mod homes;
mod policies;
mod riders;

use aludel::types::Decimal;
use aludel_axum::{AppError, Db};
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequest, FromRequestParts, Json, Path, Query, Request};
use axum::http::request::Parts;
use axum::routing::get;
use axum::Router;
use serde::de::DeserializeOwned;

pub use claims::{change_status, ClaimOut, ClaimPatch, NewClaim};
pub use customers::{CustomerPatch, NewCustomer};
pub use homes::{HomePatch, NewHome};
pub use policies::{NewPolicy, PolicyOut, PolicyPatch};
pub use riders::{NewRider, RiderPatch};

/// The API's routes (state: the app's [`Db`]).
pub fn routes() -> Router<Db> {
    Router::new()
        .route(
            "/api/customers",
            get(customers::list).post(customers::create),
        )
        .route(
            "/api/customers/{id}",
            get(customers::show)
                .patch(customers::update)
                .delete(customers::delete),
        )
        .route("/api/homes", get(homes::list).post(homes::create))
        .route(
            "/api/homes/{id}",
            get(homes::show).patch(homes::update).delete(homes::delete),
        )
        .route("/api/policies", get(policies::list).post(policies::create))
        .route(
            "/api/policies/{id}",
            get(policies::show)
                .patch(policies::update)
                .delete(policies::delete),
        )
        .route("/api/riders", get(riders::list).post(riders::create))
        .route(
            "/api/riders/{id}",
            get(riders::show)
                .patch(riders::update)
                .delete(riders::delete),
        )
        .route("/api/claims", get(claims::list).post(claims::create))
        .route(
            "/api/claims/{id}",
            get(claims::show)
                .patch(claims::update)
                .delete(claims::delete),
        )
        .route("/api/claims/{id}/history", get(claims::history))
}

/// A JSON request body, deserialized into `T`, or the problem document for
/// what is wrong with it: a body that is not JSON is a 400, a missing
/// `Content-Type: application/json` a 415, and JSON of the wrong shape (a
/// value of the wrong type, a missing or an unknown field) a 422 naming the
/// field (`"field": "premium"`, `"field": "home.year_built"`).
///
/// axum's `Json<T>` would answer some wrong values (a number where an
/// enum's name belongs) with 400, as serde_json reports them as syntax;
/// reading JSON first and then `T` from it keeps the two apart.
#[derive(Debug, Clone)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let Json(value) = Json::<serde_json::Value>::from_request(req, state).await?;
        serde_path_to_error::deserialize(value)
            .map(Body)
            .map_err(|e| {
                let path = e.path().to_string();
                let detail = e.into_inner().to_string();
                let field = if path == "." {
                    named_field(&detail).unwrap_or_else(|| "body".to_string())
                } else {
                    path
                };
                AppError::validation(&field, detail)
            })
    }
}

/// The field serde names in backticks in a "missing field" or "unknown
/// field" message.
fn named_field(detail: &str) -> Option<String> {
    ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| detail.split_once(p).map(|(_, r)| r))
        .and_then(|r| r.split_once('`').map(|(f, _)| f.to_string()))
}

/// An id from the path (`/api/policies/{id}`), or a 400 problem document
/// when it is not a whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Path(id) = Path::<i64>::from_request_parts(parts, state).await?;
        Ok(Id(id))
    }
}

/// The query string's filters, or a 400 naming the parameter.
pub(crate) fn filters<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, AppError> {
    match q {
        Ok(Query(v)) => Ok(v),
        Err(r) => {
            let text = r.body_text();
            let mut err = AppError::bad_request(text.clone());
            if let Some(field) = field_of(&text) {
                err = err.with("parameter", field);
            }
            Err(err)
        }
    }
}

/// The parameter an axum query-string message is about: `"Failed to
/// deserialize query string: status: unknown variant …"` → `status`.
fn field_of(text: &str) -> Option<String> {
    let rest = text.split_once("query string: ").map(|(_, r)| r)?;
    match rest.split_once(": ") {
        Some((p, _)) if !p.contains(' ') => Some(p.to_string()),
        _ => named_field(rest),
    }
}

/// A text field: trimmed, not empty, at most `max` characters.
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<String, AppError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AppError::validation(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(AppError::validation(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v.to_string())
}

/// An amount of money: more than zero (or zero when `zero_ok`), whole
/// cents, below `max_digits` digits before the point.
pub(crate) fn amount(
    field: &str,
    value: Decimal,
    zero_ok: bool,
    max_digits: u32,
) -> Result<Decimal, AppError> {
    let refused = if zero_ok {
        value < Decimal::ZERO
    } else {
        value <= Decimal::ZERO
    };
    if refused {
        return Err(AppError::validation(
            field,
            if zero_ok {
                "must not be negative"
            } else {
                "must be more than 0"
            },
        ));
    }
    if value.normalize().scale() > 2 {
        return Err(AppError::validation(field, "must be in whole cents"));
    }
    if value.trunc() >= Decimal::from(10_i64.pow(max_digits)) {
        return Err(AppError::validation(
            field,
            format!("must be less than {}", 10_i64.pow(max_digits)),
        ));
    }
    Ok(value.round_dp(2))
}

#[cfg(test)]
mod tests {
    use super::{field_of, named_field};

    #[test]
    fn fields_from_serde_messages() {
        assert_eq!(
            field_of("Failed to deserialize query string: status: unknown variant `bogus`, expected one of `quoted`, `active`"),
            Some("status".into())
        );
        assert_eq!(named_field("missing field `email`"), Some("email".into()));
        assert_eq!(
            named_field("unknown field `nmae`, expected one of `name`, `email`"),
            Some("nmae".into())
        );
        assert_eq!(field_of("Failed to parse the request body as JSON"), None);
    }
}
