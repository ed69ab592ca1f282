//! Errors as problem documents: 404 helpers, 409 naming the constraint,
//! 422 naming the field, malformed and mistyped JSON.

use aludel::Model;
use aludel_axum::testing::TestDatabase;
use aludel_axum::{AppError, Db, DbLayer, DbSession, QueryExt};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::all_backends;
use crate::app::{self, Todo};
use crate::harness::{send, send_raw, Kind};

/// A model with a two-column unique constraint and a named one.
#[derive(Model, Clone, Debug)]
#[aludel(table = "tags")]
struct Tag {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(unique, length = 40)]
    slug: String,
    #[aludel(length = 40)]
    label: String,
}

async fn first(mut s: DbSession, Path(title): Path<String>) -> Result<Json<i64>, AppError> {
    let key = s
        .query::<Todo>()
        .filter(Todo::title.eq(title))
        .first_or_404()
        .await?;
    Ok(Json(s[key].id))
}

async fn one(mut s: DbSession, Path(done): Path<bool>) -> Result<Json<i64>, AppError> {
    let key = s
        .query::<Todo>()
        .filter(Todo::done.eq(done))
        .one_or_404()
        .await?;
    Ok(Json(s[key].id))
}

async fn tag(mut s: DbSession, Path(slug): Path<String>) -> Result<StatusCode, AppError> {
    s.add(Tag {
        id: 0,
        slug,
        label: "x".into(),
    });
    s.flush().await?;
    Ok(StatusCode::CREATED)
}

fn test_app(db: &Db) -> Router {
    app::routes()
        .route("/t/first/{title}", get(first))
        .route("/t/one/{done}", get(one))
        .route("/t/tag/{slug}", axum::routing::post(tag))
        .layer(DbLayer::new(db.clone()))
        .with_state(db.clone())
}

async fn not_found_helpers(_k: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let db = tdb.db()?;
    db.create_all().await?;
    let app = test_app(&db);
    let r = send(&app, "GET", "/todos/42", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(
        r.json,
        json!({"type": "about:blank", "title": "Not Found", "status": 404,
               "detail": "no \"todos\" row with primary key 42", "code": "not_found"})
    );
    let r = send(&app, "GET", "/todos/abc", None).await;
    assert_eq!(
        r.status,
        StatusCode::BAD_REQUEST,
        "a mistyped path parameter"
    );

    for t in ["a", "b"] {
        let r = send(&app, "POST", "/todos", Some(json!({"title": t}))).await;
        assert_eq!(r.status, StatusCode::CREATED);
    }
    assert_eq!(send(&app, "GET", "/t/first/b", None).await.json, json!(2));
    let r = send(&app, "GET", "/t/first/zzz", None).await;
    assert_eq!(
        (r.status, &r.json["detail"]),
        (StatusCode::NOT_FOUND, &json!("no \"todos\" row matched"))
    );
    // one_or_404: none and several are both 404 (as Flask-SQLAlchemy).
    let r = send(&app, "GET", "/t/one/true", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(&app, "GET", "/t/one/false", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json["detail"],
        "more than one \"todos\" row matched where one was expected"
    );
    let r = send(&app, "PATCH", "/todos/1", Some(json!({"done": true}))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(send(&app, "GET", "/t/one/true", None).await.json, json!(1));
    assert_eq!(db.pool_status().checked_out, 0);
    Ok(())
}

async fn duplicate_is_409_naming_the_constraint(_k: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let db = tdb.db()?;
    db.create_all().await?;
    let app = test_app(&db);
    let r = send(&app, "POST", "/todos", Some(json!({"title": "same"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = send(&app, "POST", "/todos", Some(json!({"title": "same"}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.json["code"], "integrity_violation");
    assert_eq!(r.json["constraint"], "uq_todos_title", "{:?}", r.json);
    assert_eq!(r.json["constraint_kind"], "unique");
    assert_eq!(
        r.json["detail"],
        "the request conflicts with unique constraint \"uq_todos_title\""
    );
    assert!(!r.json.to_string().contains("INSERT"), "no SQL in the body");
    // A second model, to see the name is the right table's.
    assert_eq!(
        send(&app, "POST", "/t/tag/rust", None).await.status,
        StatusCode::CREATED
    );
    let r = send(&app, "POST", "/t/tag/rust", None).await;
    assert_eq!(
        (r.status, &r.json["constraint"]),
        (StatusCode::CONFLICT, &json!("uq_tags_slug"))
    );
    // Renaming into a duplicate through PATCH: 409 too, nothing changed.
    let r = send(&app, "POST", "/todos", Some(json!({"title": "other"}))).await;
    let id = r.json["id"].as_i64().unwrap();
    let r = send(
        &app,
        "PATCH",
        &format!("/todos/{id}"),
        Some(json!({"title": "same"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = send(&app, "GET", &format!("/todos/{id}"), None).await;
    assert_eq!(r.json["title"], "other");
    assert_eq!(db.pool_status().checked_out, 0);
    Ok(())
}

async fn bad_input(_k: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let db = tdb.db()?;
    db.create_all().await?;
    let app = test_app(&db);
    // Validation: 422 naming the field.
    let r = send(&app, "POST", "/todos", Some(json!({"title": "  "}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json,
        json!({"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
               "detail": "title: must not be empty", "code": "validation", "field": "title",
               "errors": [{"field": "title", "detail": "must not be empty"}]})
    );
    // Malformed JSON: 400; a wrong type or a missing field: 422 (axum's statuses).
    let r = send_raw(&app, "POST", "/todos", "{\"title\": ").await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (StatusCode::BAD_REQUEST, "application/problem+json")
    );
    let r = send(&app, "POST", "/todos", Some(json!({"title": 5}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json["code"], "validation");
    assert!(
        r.json["detail"].as_str().unwrap().contains("title"),
        "{:?}",
        r.json
    );
    let r = send(&app, "POST", "/todos", Some(json!({}))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A bad filter value.
    let r = send(&app, "GET", "/todos?done=maybe", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let n: i64 = db
        .engine()
        .execute(aludel::text("SELECT count(*) FROM todos"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 0);
    Ok(())
}

all_backends!(
    not_found_helpers,
    duplicate_is_409_naming_the_constraint,
    bad_input
);
