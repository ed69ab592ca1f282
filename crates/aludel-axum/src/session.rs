//! The per-request Session: the [`DbSession`] extractor and the slot
//! [`DbLayer`](crate::DbLayer) puts in each request.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aludel_orm::Session;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use tokio::sync::OwnedMutexGuard;

use crate::db::Db;
use crate::error::AppError;

/// What [`DbLayer`](crate::DbLayer) puts in a request's extensions: the
/// request's Session, created at the first extraction, and what the handler
/// asked of the layer.
#[derive(Clone)]
pub(crate) struct RequestDb(pub(crate) Arc<Slot>);

pub(crate) struct Slot {
    pub(crate) db: Db,
    pub(crate) session: Arc<tokio::sync::Mutex<Option<Session>>>,
    pub(crate) controls: Mutex<Controls>,
}

#[derive(Default, Clone, Copy)]
pub(crate) struct Controls {
    pub(crate) rollback_only: bool,
    /// `Some` when the handler set its own budget (`Some(None)`: none).
    pub(crate) budget: Option<Option<u64>>,
    /// When the Session was first extracted.
    pub(crate) started: Option<Instant>,
}

impl Slot {
    pub(crate) fn new(db: Db) -> Slot {
        Slot {
            db,
            session: Arc::new(tokio::sync::Mutex::new(None)),
            controls: Mutex::new(Controls::default()),
        }
    }

    pub(crate) fn controls(&self) -> Controls {
        *self.controls.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn edit(&self, f: impl FnOnce(&mut Controls)) {
        f(&mut self.controls.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// The request's [`Session`], for a handler: derefs to `Session`, so
/// `session.add(…)`, `session.get::<User>(id)`, `User::query(&mut session)`
/// work as on any Session.
///
/// The Session belongs to the request, not to the handler:
/// [`DbLayer`](crate::DbLayer) (which must wrap the route) **commits** it after
/// the handler returns a 2xx or 3xx response and **rolls it back** after any
/// other status, an `Err`, or a panic; either way its connection goes back
/// to the pool before the response leaves. A commit that fails replaces
/// the response with the error's (409 for a constraint or a version
/// conflict, 503 when the database is unavailable), so a client never sees
/// a 2xx for data that was not saved. No connection is taken until the
/// first statement.
///
/// ```
/// use aludel::orm::Model;
/// use aludel::Model;
/// use aludel_axum::{AppError, Db, DbLayer, DbSession, SessionExt};
/// use axum::{extract::Path, routing::{get, post}, Json, Router};
/// # use tower::ServiceExt;
///
/// #[derive(Model, Clone, serde::Serialize, serde::Deserialize)]
/// #[aludel(table = "notes")]
/// struct Note {
///     #[aludel(primary_key)]
///     #[serde(default)]
///     id: i64,
///     text: String,
/// }
///
/// async fn create(mut session: DbSession, Json(note): Json<Note>) -> Result<Json<Note>, AppError> {
///     let key = session.add(note);
///     session.flush().await?; // INSERT now, to answer with the generated id
///     Ok(Json(session[key].clone())) // committed by DbLayer before the response leaves
/// }
///
/// async fn show(mut session: DbSession, Path(id): Path<i64>) -> Result<Json<Note>, AppError> {
///     let key = session.get_or_404::<Note>(id).await?;
///     Ok(Json(session[key].clone()))
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel::Result<()> {
/// let db = Db::new(aludel::create_engine("sqlite://")?);
/// db.create_all().await?;
/// let app = Router::new()
///     .route("/notes", post(create))
///     .route("/notes/{id}", get(show))
///     .layer(DbLayer::new(db.clone()));
///
/// let req = axum::http::Request::post("/notes")
///     .header("content-type", "application/json")
///     .body(axum::body::Body::from(r#"{"text": "hello"}"#))
///     .unwrap();
/// let res = app.clone().oneshot(req).await.unwrap();
/// assert_eq!(res.status(), 200);
/// let res = app.oneshot(axum::http::Request::get("/notes/1").body(axum::body::Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(res.status(), 200);
/// assert_eq!(db.pool_status().checked_out, 0);
/// # Ok(()) }
/// ```
///
/// **Rejection**: a 500 problem document when the route has no
/// [`DbLayer`](crate::DbLayer), or when a handler extracts `DbSession`
/// twice (one request, one Session; pass it to helpers as `&mut Session`).
pub struct DbSession {
    guard: OwnedMutexGuard<Option<Session>>,
    slot: Arc<Slot>,
}

impl std::fmt::Debug for DbSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DbSession").field(&**self).finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for DbSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let slot = parts
            .extensions
            .get::<RequestDb>()
            .map(|r| r.0.clone())
            .ok_or_else(|| {
                AppError::internal(
                    "DbSession extracted on a route without DbLayer: add .layer(DbLayer::new(db)) to the Router",
                )
            })?;
        let mut guard = slot.session.clone().try_lock_owned().map_err(|_| {
            AppError::internal(
                "the request's Session is already extracted: take DbSession once per handler and pass &mut Session on",
            )
        })?;
        if guard.is_none() {
            *guard = Some(slot.db.session());
            slot.edit(|c| c.started = Some(Instant::now()));
        }
        Ok(DbSession { guard, slot })
    }
}

impl DbSession {
    /// The app's [`Db`] (its engines and binds).
    pub fn db(&self) -> &Db {
        &self.slot.db
    }

    /// Roll the request's transaction back even if the response is a
    /// success (a dry run, a preview): nothing it wrote is kept, unless the
    /// handler commits explicitly before returning.
    pub fn set_rollback_only(&mut self) {
        self.slot.edit(|c| c.rollback_only = true);
    }

    /// This request's query budget instead of the layer's
    /// ([`DbLayer::query_budget`](crate::DbLayer::query_budget)); `None`
    /// turns the check off for it (an export that reads in many batches).
    pub fn set_query_budget(&mut self, budget: Option<u64>) {
        self.slot.edit(|c| c.budget = Some(budget));
    }
}

impl Deref for DbSession {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.guard.as_ref().expect("set when extracted")
    }
}

impl DerefMut for DbSession {
    fn deref_mut(&mut self) -> &mut Session {
        self.guard.as_mut().expect("set when extracted")
    }
}

impl AsMut<Session> for DbSession {
    fn as_mut(&mut self) -> &mut Session {
        self
    }
}
