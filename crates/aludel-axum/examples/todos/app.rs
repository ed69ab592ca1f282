//! The todos service: models, handlers and the Router. `main.rs` puts a
//! command line around it; the crate's HTTP tests drive this Router.

use aludel::orm::Model;
use aludel::Model;
use aludel_axum::{AppError, Db, DbLayer, DbSession, PageParams, Paginated, SessionExt};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// A todo item. `title` is unique; `version` makes concurrent updates of
/// one todo a 409 instead of a lost update.
#[derive(Model, Clone, Debug, Serialize)]
#[aludel(table = "todos")]
pub struct Todo {
    #[aludel(primary_key)]
    pub id: i64,
    #[aludel(unique, length = 100)]
    pub title: String,
    pub done: bool,
    #[aludel(version)]
    pub version: i64,
}

/// The body of POST /todos.
#[derive(Deserialize)]
pub struct NewTodo {
    pub title: String,
    #[serde(default)]
    pub done: bool,
}

/// The body of PATCH /todos/{id}.
#[derive(Deserialize)]
pub struct TodoPatch {
    pub title: Option<String>,
    pub done: Option<bool>,
}

/// GET /todos filters.
#[derive(Deserialize)]
pub struct Filters {
    pub done: Option<bool>,
}

fn check_title(title: &str) -> Result<(), AppError> {
    if title.trim().is_empty() {
        return Err(AppError::validation("title", "must not be empty"));
    }
    if title.chars().count() > 100 {
        return Err(AppError::validation(
            "title",
            "must be at most 100 characters",
        ));
    }
    Ok(())
}

async fn list(
    mut s: DbSession,
    pages: PageParams,
    filters: Result<Query<Filters>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Paginated<Todo>>, AppError> {
    let Query(filters) = filters?;
    let mut q = Todo::query(&mut s).order_by([Todo::id.asc()]);
    if let Some(done) = filters.done {
        q = q.filter(Todo::done.eq(done));
    }
    let page = pages.paginate(q).await?;
    Ok(Json(pages.render(&page, |k| s[k].clone())))
}

async fn create(
    mut s: DbSession,
    body: Result<Json<NewTodo>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Todo>), AppError> {
    let Json(new) = body?;
    check_title(&new.title)?;
    let key = s.add(Todo {
        id: 0,
        title: new.title,
        done: new.done,
        version: 0,
    });
    // INSERT now for the generated id; DbLayer commits after the handler.
    s.flush().await?;
    Ok((StatusCode::CREATED, Json(s[key].clone())))
}

async fn show(mut s: DbSession, Path(id): Path<i64>) -> Result<Json<Todo>, AppError> {
    let key = s.get_or_404::<Todo>(id).await?;
    Ok(Json(s[key].clone()))
}

async fn update(
    mut s: DbSession,
    Path(id): Path<i64>,
    body: Result<Json<TodoPatch>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Todo>, AppError> {
    let Json(patch) = body?;
    let key = s.get_or_404::<Todo>(id).await?;
    if let Some(title) = patch.title {
        check_title(&title)?;
        s[key].title = title;
    }
    if let Some(done) = patch.done {
        s[key].done = done;
    }
    s.flush().await?; // the UPDATE (and its version check) before answering
    Ok(Json(s[key].clone()))
}

async fn delete(mut s: DbSession, Path(id): Path<i64>) -> Result<StatusCode, AppError> {
    let key = s.get_or_404::<Todo>(id).await?;
    s.delete(key)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn health(axum::extract::State(db): axum::extract::State<Db>) -> Json<serde_json::Value> {
    let p = db.pool_status();
    Json(
        serde_json::json!({ "pool": { "size": p.size, "idle": p.idle, "checked_out": p.checked_out } }),
    )
}

/// The service's routes, each request in a Session of its own.
pub fn routes() -> Router<Db> {
    Router::new()
        .route("/todos", get(list).post(create))
        .route("/todos/{id}", get(show).patch(update).delete(delete))
        .route("/health", get(health))
}

/// The service: [`routes`] with the Session layer and the `Db` state.
pub fn app(db: Db) -> Router {
    routes()
        .layer(DbLayer::new(db.clone()).query_budget(10))
        .with_state(db)
}
