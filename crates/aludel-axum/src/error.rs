//! Errors as HTTP responses: [`AppError`] renders an RFC 9457 problem
//! document (`application/problem+json`) with a status chosen from the
//! database error's kind.

use std::fmt;

use aludel_core::{Error, ErrorKind, IntegrityKind};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json};

/// The media type of a problem document (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A handler error rendered as an RFC 9457 problem document: the status,
/// `type` (`about:blank`), `title` (the status's reason phrase), a `detail`
/// for people, a `code` for programs, and members naming what failed
/// (`constraint`, `table`, `field`).
///
/// `From<aludel::Error>` chooses the status from [`Error::kind`]:
///
/// | error kind | status | `code` | members |
/// | --- | --- | --- | --- |
/// | `NoRow` (a `*_or_404` helper, a page out of range) | 404 | `not_found` | |
/// | `Integrity` (unique, foreign key, not null, check) | 409 | `integrity_violation` | `constraint`, `table`, `column` where known |
/// | `StaleData` (a version check failed at flush) | 409 | `stale_data` | `table` |
/// | `PoolTimeout` | 503 + `Retry-After` | `pool_timeout` | |
/// | `ConnectionLost`, `Connect` | 503 + `Retry-After` | `database_unavailable` | |
/// | `Serialization`, `Deadlock`, `Timeout` | 503 + `Retry-After` | `retry` | |
/// | anything else | 500 | `internal` | (the detail says only "internal server error") |
///
/// A 5xx error is logged at ERROR (target `aludel::axum`) with the full
/// error; its body never carries SQL, parameters or server messages. On
/// SQLite, which names the column of a violated UNIQUE constraint but not
/// the constraint, the name is found in the registered models' tables.
///
/// ```
/// use aludel_axum::AppError;
/// use aludel_core::{Error, ErrorKind};
/// use axum::http::StatusCode;
///
/// let err = AppError::from(Error::new(ErrorKind::PoolTimeout, "pool of 5 + overflow 10 exhausted after 30s"));
/// assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(err.body()["code"], "pool_timeout");
///
/// let err = AppError::validation("email", "must contain @");
/// assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
/// assert_eq!(err.body()["field"], "email");
/// assert_eq!(
///     err.body_json(),
///     r#"{"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"email: must contain @","code":"validation","errors":[{"detail":"must contain @","field":"email"}],"field":"email"}"#
/// );
/// ```
#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    body: Map<String, Json>,
    retry_after: Option<u32>,
    source: Option<Error>,
}

impl AppError {
    /// An error with `status`, a `detail` and a `code`.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        let mut body = Map::new();
        body.insert("type".into(), "about:blank".into());
        body.insert(
            "title".into(),
            status.canonical_reason().unwrap_or("Error").into(),
        );
        body.insert("status".into(), status.as_u16().into());
        body.insert("detail".into(), detail.into().into());
        body.insert("code".into(), code.into());
        AppError {
            status,
            body,
            retry_after: None,
            source: None,
        }
    }

    /// 404 Not Found.
    pub fn not_found(detail: impl Into<String>) -> Self {
        AppError::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 422 Unprocessable Content naming the invalid field: `field` and an
    /// `errors` list (`[{"field": …, "detail": …}]`) in the body.
    pub fn validation(field: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            format!("{field}: {detail}"),
        )
        .with("field", field)
        .with(
            "errors",
            serde_json::json!([{ "field": field, "detail": detail }]),
        )
    }

    /// 400 Bad Request.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    /// 500 Internal Server Error; `detail` is logged, the body says only
    /// "internal server error".
    pub fn internal(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        tracing::error!(target: "aludel::axum", "{detail}");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }

    /// The same error with an extension member in its body.
    pub fn with(mut self, name: &str, value: impl Into<Json>) -> Self {
        self.body.insert(name.to_string(), value.into());
        self
    }

    /// The same error with `prefix: ` before its detail.
    pub fn context(mut self, prefix: impl fmt::Display) -> Self {
        if let Some(Json::String(d)) = self.body.get_mut("detail") {
            *d = format!("{prefix}: {d}");
        }
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The problem document.
    pub fn body(&self) -> &Map<String, Json> {
        &self.body
    }

    /// The database error this came from, if any.
    pub fn source_error(&self) -> Option<&Error> {
        self.source.as_ref()
    }

    /// The problem document as JSON text, RFC 9457's members first
    /// (`type`, `title`, `status`, `detail`), then the extensions by name.
    pub fn body_json(&self) -> String {
        const FIRST: [&str; 5] = ["type", "title", "status", "detail", "instance"];
        let mut out = String::from("{");
        let keys = FIRST
            .iter()
            .copied()
            .filter(|k| self.body.contains_key(*k))
            .chain(
                self.body
                    .keys()
                    .map(String::as_str)
                    .filter(|k| !FIRST.contains(k)),
            );
        for (i, k) in keys.enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&Json::from(k).to_string());
            out.push(':');
            out.push_str(&self.body[k].to_string());
        }
        out.push('}');
        out
    }

    fn retry_after(mut self, secs: u32) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(e) => write!(f, "{}: {e}", self.status),
            None => write!(
                f,
                "{}: {}",
                self.status,
                self.body
                    .get("detail")
                    .and_then(Json::as_str)
                    .unwrap_or_default()
            ),
        }
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut res = (self.status, self.body_json()).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        let mut out = match e.kind() {
            ErrorKind::NoRow => AppError::not_found(e.message().to_string()),
            ErrorKind::Integrity(kind) => integrity(&e, kind),
            ErrorKind::StaleData => AppError::new(
                StatusCode::CONFLICT,
                "stale_data",
                "the row was changed or deleted by another request since it was read; read it again and retry",
            ),
            ErrorKind::PoolTimeout => {
                log_5xx(&e);
                AppError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "pool_timeout",
                    "no database connection became free in time; try again",
                )
                .retry_after(1)
            }
            ErrorKind::ConnectionLost | ErrorKind::Connect => {
                log_5xx(&e);
                AppError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the database is unavailable; try again",
                )
                .retry_after(1)
            }
            ErrorKind::Serialization | ErrorKind::Deadlock | ErrorKind::Timeout => {
                log_5xx(&e);
                AppError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "retry",
                    "the database could not complete the request in time or in isolation; try again",
                )
                .retry_after(1)
            }
            _ => {
                log_5xx(&e);
                AppError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal server error",
                )
            }
        };
        if let (Some(t), StatusCode::CONFLICT) = (e.table(), out.status) {
            out = out.with("table", t);
        }
        out.source = Some(e);
        out
    }
}

fn log_5xx(e: &Error) {
    tracing::error!(target: "aludel::axum", kind = ?e.kind(), "{e}");
}

fn integrity(e: &Error, kind: IntegrityKind) -> AppError {
    let what = match kind {
        IntegrityKind::Unique => "unique",
        IntegrityKind::ForeignKey => "foreign key",
        IntegrityKind::NotNull => "not null",
        IntegrityKind::Check => "check",
        _ => "integrity",
    };
    let constraint = e
        .constraint()
        .map(str::to_string)
        .or_else(|| infer_constraint(kind, e.table()?, e.column()?));
    let detail = match &constraint {
        Some(c) => format!("the request conflicts with {what} constraint \"{c}\""),
        None => match (e.table(), e.column()) {
            (Some(t), Some(c)) => {
                format!("the request conflicts with a {what} constraint on \"{t}\".\"{c}\"")
            }
            _ => format!("the request conflicts with a {what} constraint"),
        },
    };
    let mut out = AppError::new(StatusCode::CONFLICT, "integrity_violation", detail)
        .with("constraint_kind", what);
    if let Some(c) = constraint {
        out = out.with("constraint", c);
    }
    if let Some(c) = e.column() {
        out = out.with("column", c);
    }
    out
}

/// SQLite reports `UNIQUE constraint failed: users.email`: find the
/// constraint on that column among the registered models' tables.
fn infer_constraint(kind: IntegrityKind, table: &str, column: &str) -> Option<String> {
    let models = aludel_orm::registered_models();
    let t = models
        .iter()
        .map(|m| m.table())
        .find(|t| t.name() == table)?;
    let names = t.constraint_names(&aludel_core::schema::NamingConvention::default());
    match kind {
        IntegrityKind::Unique => {
            let one = |cols: &[String]| cols.len() == 1 && cols[0] == column;
            if let Some(i) = t.unique_constraints().iter().position(|u| one(&u.columns)) {
                return names.uniques.get(i).cloned();
            }
            if let Some(i) = t
                .indexes()
                .iter()
                .position(|ix| ix.unique && one(&ix.columns))
            {
                return names.indexes.get(i).cloned();
            }
            if one(t.primary_key()) {
                return Some(names.primary_key);
            }
            None
        }
        _ => None,
    }
}

impl From<axum::extract::rejection::JsonRejection> for AppError {
    /// A body that is not JSON, or JSON of the wrong shape: 400 for syntax,
    /// 415 for a missing `Content-Type`, 422 for a wrong type or a missing
    /// field (axum's statuses), as a problem document with axum's message.
    fn from(r: axum::extract::rejection::JsonRejection) -> Self {
        let status = r.status();
        let code = match status {
            StatusCode::UNPROCESSABLE_ENTITY => "validation",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "bad_request",
        };
        AppError::new(status, code, r.body_text())
    }
}

impl From<axum::extract::rejection::QueryRejection> for AppError {
    /// A query string of the wrong shape: 400 with axum's message.
    fn from(r: axum::extract::rejection::QueryRejection) -> Self {
        AppError::new(r.status(), "bad_request", r.body_text())
    }
}

impl From<axum::extract::rejection::PathRejection> for AppError {
    /// A path parameter of the wrong type: axum's status (400, or 500 for a
    /// route/extractor mismatch) with axum's message.
    fn from(r: axum::extract::rejection::PathRejection) -> Self {
        AppError::new(r.status(), "bad_request", r.body_text())
    }
}
