//! The request span (method, route, status, statements, outcome) and the
//! query budget's warning.

use aludel::orm::Model;
use aludel_axum::testing::TestDatabase;
use aludel_axum::{AppError, DbLayer, DbSession};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};

use crate::all_backends;
use crate::app::Todo;
use crate::harness::{send, Captured, Kind};

/// An N+1 loop: one query per todo.
async fn n_plus_one(mut s: DbSession) -> Result<Json<usize>, AppError> {
    let keys = Todo::query(&mut s).all().await?;
    let ids: Vec<i64> = keys.iter().map(|&k| s[k].id).collect();
    for id in &ids {
        Todo::query(&mut s).filter(Todo::id.eq(*id)).one().await?;
    }
    Ok(Json(ids.len()))
}

async fn exempt(mut s: DbSession) -> Result<Json<usize>, AppError> {
    s.set_query_budget(None);
    n_plus_one(s).await
}

async fn query_budget(_k: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let db = tdb.db()?;
    db.create_all().await?;
    let mut s = db.session();
    for i in 0..6 {
        s.add(Todo {
            id: 0,
            title: format!("t{i}"),
            done: false,
            version: 0,
        });
    }
    s.commit().await?;
    drop(s);
    let routes = || {
        Router::new()
            .route("/items/{x}", get(n_plus_one))
            .route("/exempt", get(exempt))
    };

    let captured = Captured::default();
    let guard = captured.install();
    let app = routes().layer(DbLayer::new(db.clone()).query_budget(3));
    let r = send(&app, "GET", "/items/1", None).await;
    assert_eq!((r.status, &r.json), (StatusCode::OK, &serde_json::json!(6)));
    let r = send(&app, "GET", "/exempt", None).await;
    assert_eq!(r.status, StatusCode::OK);
    drop(guard);
    let log = captured.text();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
    assert_eq!(
        warnings.len(),
        1,
        "one request over budget, one exempt:\n{log}"
    );
    assert!(
        warnings[0]
            .contains("GET /items/{x} ran 7 statements, over its budget of 3: a likely N+1 loop"),
        "{log}"
    );
    // The request span closes with its fields.
    let closed: Vec<&str> = log.lines().filter(|l| l.contains("close")).collect();
    assert!(
        closed.iter().any(
            |l| l.contains("request{http.request.method=GET http.route=/items/{x}")
                && l.contains("http.response.status_code=200")
                && l.contains("db.statements=7")
                && l.contains("db.statement_ms=")
                && l.contains("db.outcome=\"commit\"")
        ),
        "{log}"
    );

    // fail_over_budget: a 500, and the request's writes rolled back.
    let strict = routes().layer(
        DbLayer::new(db.clone())
            .query_budget(3)
            .fail_over_budget(true),
    );
    let r = send(&strict, "GET", "/items/1", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.json["code"], "query_budget_exceeded");
    assert_eq!(
        (&r.json["statements"], &r.json["budget"]),
        (&serde_json::json!(7), &serde_json::json!(3))
    );
    assert_eq!(db.pool_status().checked_out, 0);
    Ok(())
}

all_backends!(query_budget);
