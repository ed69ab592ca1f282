//! # aludel-axum
//!
//! Aludel for [axum], what Flask-SQLAlchemy and Flask-Migrate are for Flask:
//!
//! - [`Db`]: the app's engines built from configuration ([`DbConfig`]:
//!   environment variables or any serde source), shared as axum state;
//!   [`Db::create_all`] / [`Db::drop_all`] over every registered model.
//! - [`DbLayer`] + [`DbSession`]: a Session per request, **committed after a
//!   successful handler and before the response leaves**, rolled back after
//!   an error or a panic, its connection back in the pool either way.
//! - [`SessionExt::get_or_404`], [`QueryExt::first_or_404`],
//!   [`QueryExt::one_or_404`]; [`PageParams`] reads `?page=&per_page=` with
//!   Flask-SQLAlchemy's rules and renders a [`Paginated`] JSON object.
//! - [`AppError`]: database errors as RFC 9457 problem documents (404, 409
//!   naming the constraint, 503 with `Retry-After`, 422 naming the field).
//! - [`Db::migrate`] (feature `migrate`, default): the `db` command line
//!   mounted into the app's own clap CLI next to `serve`.
//! - Observability: a tracing span per request with the Session's statement
//!   count; a per-request query budget to flag N+1 loops.
//! - [`testing::TestDatabase`] (feature `testing`): a database per test.
//!
//! ## An app
//!
//! ```
//! use aludel::orm::Model;
//! use aludel::Model;
//! use aludel_axum::{AppError, Db, DbConfig, DbLayer, DbSession, PageParams, Paginated, SessionExt};
//! use axum::{extract::Path, http::StatusCode, routing::get, Json, Router};
//! use serde::{Deserialize, Serialize};
//! # use tower::ServiceExt;
//!
//! #[derive(Model, Clone, Serialize)]
//! #[aludel(table = "todos")]
//! struct Todo {
//!     #[aludel(primary_key)]
//!     id: i64,
//!     #[aludel(unique, length = 100)]
//!     title: String,
//!     done: bool,
//! }
//!
//! #[derive(Deserialize)]
//! struct NewTodo { title: String }
//!
//! async fn create(mut s: DbSession, Json(new): Json<NewTodo>) -> Result<(StatusCode, Json<Todo>), AppError> {
//!     if new.title.trim().is_empty() {
//!         return Err(AppError::validation("title", "must not be empty"));
//!     }
//!     let key = s.add(Todo { id: 0, title: new.title, done: false });
//!     s.flush().await?; // the INSERT, for the generated id; a duplicate title is a 409 here
//!     Ok((StatusCode::CREATED, Json(s[key].clone())))
//! }
//!
//! async fn show(mut s: DbSession, Path(id): Path<i64>) -> Result<Json<Todo>, AppError> {
//!     let key = s.get_or_404::<Todo>(id).await?;
//!     Ok(Json(s[key].clone()))
//! }
//!
//! async fn list(mut s: DbSession, pages: PageParams) -> Result<Json<Paginated<Todo>>, AppError> {
//!     let page = pages.paginate(Todo::query(&mut s).order_by([Todo::id.asc()])).await?;
//!     Ok(Json(pages.render(&page, |k| s[k].clone())))
//! }
//!
//! fn app(db: Db) -> Router {
//!     Router::new()
//!         .route("/todos", get(list).post(create))
//!         .route("/todos/{id}", get(show))
//!         .layer(DbLayer::new(db.clone()).query_budget(10))
//!         .with_state(db)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Db::from_env()? reads DATABASE_URL, DATABASE_POOL_SIZE, …
//! let db = Db::from_config(&DbConfig::new("sqlite://"))?;
//! db.create_all().await?;
//! let req = |method: &str, uri: &str, body: &'static str| {
//!     axum::http::Request::builder().method(method).uri(uri)
//!         .header("content-type", "application/json")
//!         .body(axum::body::Body::from(body)).unwrap()
//! };
//! let res = app(db.clone()).oneshot(req("POST", "/todos", r#"{"title": "write docs"}"#)).await?;
//! assert_eq!(res.status(), 201);
//! let res = app(db.clone()).oneshot(req("POST", "/todos", r#"{"title": "write docs"}"#)).await?;
//! assert_eq!(res.status(), 409); // {"code": "integrity_violation", "constraint": "uq_todos_title", …}
//! let res = app(db.clone()).oneshot(req("GET", "/todos/7", "")).await?;
//! assert_eq!(res.status(), 404);
//! let res = app(db.clone()).oneshot(req("GET", "/todos?page=abc", "")).await?;
//! assert_eq!(res.status(), 404);
//! assert_eq!(db.pool_status().checked_out, 0);
//! # Ok(()) }
//! ```
//!
//! The crate's `examples/todos.rs` is the same app with a clap CLI (`serve`
//! and `db`), run by `cargo run -p aludel-axum --example todos -- serve`.
//!
//! ## Configuration
//!
//! [`DbConfig::from_env`] reads `DATABASE_URL` (required),
//! `DATABASE_POOL_SIZE`, `DATABASE_MAX_OVERFLOW`, `DATABASE_POOL_TIMEOUT`,
//! `DATABASE_POOL_RECYCLE`, `DATABASE_POOL_PRE_PING`, `DATABASE_ECHO`,
//! `DATABASE_CONNECT_TIMEOUT` and `DATABASE_URL_<NAME>` for named binds
//! ([`ENV_VARS`]); an app with a config file deserializes [`DbConfig`]
//! with serde instead (a bind is a URL or a map of options). As in
//! Flask-SQLAlchemy, the pool options configure the default engine and
//! `echo` every engine.
//!
//! ## The request's transaction: design and trade-offs
//!
//! An axum extractor runs before the handler and cannot run code after it,
//! so the Session's end is the job of a middleware: [`DbLayer`] puts an
//! empty slot (`Arc<tokio::sync::Mutex<Option<Session>>>`) in each
//! request's extensions; [`DbSession`] fills it at extraction and holds
//! its lock while the handler runs; after the handler's future completes
//! (or unwinds: it runs under `catch_unwind`), the layer takes the Session
//! back and looks at the response status: **2xx/3xx → flush and COMMIT;
//! anything else → ROLLBACK**. A failed flush or COMMIT (a deferred
//! constraint, a version conflict, a lost connection) replaces the
//! response with the error's problem document, so a 200 never goes out
//! for data that was not saved. The Session gives its connection back to
//! the pool at COMMIT or ROLLBACK, before the response is returned. A
//! request that never extracts the Session costs one small allocation and
//! no connection.
//!
//! The alternative is **explicit commit**: handlers call
//! `session.commit().await?` themselves and the layer only rolls back what
//! is left ([`DbLayer::auto_commit(false)`](DbLayer::auto_commit)). Choose it when
//! a handler must commit part of its work whatever happens next (an audit
//! row before a call to another service), commit several times, or answer
//! with a success status after deliberately discarding work. Its cost: a
//! forgotten `commit()` silently drops a write (the reason SQLAlchemy
//! users reach for `sessionmaker.begin()`), and a handler that commits and
//! then fails has saved half its work. With auto-commit the whole request
//! is one transaction and the status code is the single source of truth;
//! a handler can still call `commit()` early (the layer's final commit
//! then has nothing to do) or [`DbSession::set_rollback_only`] for a dry
//! run.
//!
//! Rejected: committing in the response body's `Drop` or after the
//! response is sent (a failed commit could no longer change the status);
//! an `IntoResponse` wrapper the handler must return (easy to forget on one
//! route, and a panic bypasses it).
//!
//! ## Errors as HTTP
//!
//! Handlers return `Result<_, AppError>`; `?` converts an `aludel::Error`
//! by kind (see [`AppError`]): `NoRow` 404, integrity 409 with the
//! constraint's name (on SQLite found from the registered models), stale
//! data 409, pool timeout and lost connections 503 with `Retry-After`,
//! anything else 500 with a generic body and the error logged. axum's
//! `Json`, `Query` and `Path` rejections convert too.
//!
//! ## Observability
//!
//! Each request runs in an INFO span `request` (target `aludel::axum`):
//! `http.request.method`, `http.route`, `http.response.status_code`,
//! `db.statements`, `db.outcome`, `db.session_ms`, `db.commit_ms`; each
//! statement's own `db.query` span (with its duration, from the engine)
//! is a child of it. [`DbLayer::query_budget`] logs a WARN for a request
//! running more statements than the budget, and
//! [`DbLayer::fail_over_budget`] turns it into a 500 in tests.
//!
//! ## Binds
//!
//! Named engines (`DATABASE_URL_<NAME>`, [`DbConfig::binds`]) are registered
//! with the sessions ([`Db::with_bind`]): a model declared
//! `#[aludel(bind = "audit")]` is read and written on bind `audit` by the
//! request's Session, and `User::query(&mut s).bind("replica")` sends a read
//! to a replica. [`Db::with_bind_metadata`] says which tables
//! [`Db::create_all`] creates on a bind. The layer's commit covers every
//! bind the request used, but each bind is its own transaction (named binds
//! are committed first, then the default; there is no two-phase commit): a
//! COMMIT failing on the default engine after a bind committed leaves the
//! bind's rows saved, and the response is the error's, naming the binds
//! already committed in the log. Keep writes that must be atomic on one
//! bind.
//!
//! ## Tests
//!
//! With feature `testing`, [`testing::TestDatabase`] creates a database per
//! test (a SQLite file, or a database on PostgreSQL/MySQL from
//! `ALUDEL_TEST_DATABASE_URL`) and drops it afterwards; drive the router
//! with `tower::ServiceExt::oneshot`.
//!
//! [axum]: https://docs.rs/axum

#![warn(missing_docs)]

mod config;
mod db;
mod error;
mod helpers;
mod layer;
mod paginate;
mod session;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::{DbConfig, EngineConfig, ENV_VARS};
pub use db::Db;
pub use error::{AppError, PROBLEM_JSON};
pub use helpers::{QueryExt, SessionExt};
pub use layer::{DbLayer, DbService};
pub use paginate::{PageParams, Paginated};
pub use session::DbSession;
