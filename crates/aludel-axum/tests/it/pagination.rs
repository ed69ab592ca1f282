//! `?page=&per_page=` through the example's list endpoint: Flask-SQLAlchemy's
//! rules, the page object and its links, on every backend.

use aludel_axum::testing::TestDatabase;
use axum::http::StatusCode;
use serde_json::json;

use crate::all_backends;
use crate::app;
use crate::harness::{send, Kind};

async fn pages(_k: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let db = tdb.db()?;
    db.create_all().await?;
    let app = app::app(db.clone());
    // Page 1 of an empty listing is a 200 with no items.
    let r = send(&app, "GET", "/todos", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json,
        json!({"items": [], "page": 1, "per_page": 20, "total": 0, "pages": 0,
               "has_prev": false, "has_next": false, "prev_num": null, "next_num": null,
               "prev": null, "next": null})
    );
    // 45 rows in one transaction (Flask-SQLAlchemy's example: page 3 of 20 holds 5).
    let mut s = db.session();
    for i in 1..=45 {
        s.add(app::Todo {
            id: 0,
            title: format!("t{i:02}"),
            done: i % 3 == 0,
            version: 0,
        });
    }
    s.commit().await?;
    drop(s);

    let r = send(&app, "GET", "/todos?page=2", None).await;
    assert_eq!(r.status, StatusCode::OK);
    let j = &r.json;
    assert_eq!(j["items"].as_array().unwrap().len(), 20);
    assert_eq!(j["items"][0]["title"], "t21");
    assert_eq!(
        (&j["page"], &j["per_page"], &j["total"], &j["pages"]),
        (&json!(2), &json!(20), &json!(45), &json!(3))
    );
    assert_eq!(
        (&j["has_prev"], &j["has_next"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(
        (&j["prev"], &j["next"]),
        (&json!("/todos?page=1"), &json!("/todos?page=3"))
    );

    let r = send(&app, "GET", "/todos?page=3", None).await;
    assert_eq!(r.json["items"].as_array().unwrap().len(), 5);
    assert_eq!(
        (&r.json["has_next"], &r.json["next"]),
        (&json!(false), &json!(null))
    );

    // Filters stay in the links; per_page is clamped and written back.
    let r = send(
        &app,
        "GET",
        "/todos?done=true&per_page=1000000&page=1",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (&r.json["per_page"], &r.json["total"]),
        (&json!(100), &json!(15))
    );
    assert_eq!(r.json["items"].as_array().unwrap().len(), 15);
    let r = send(&app, "GET", "/todos?done=false&per_page=10&page=2", None).await;
    assert_eq!(r.json["next"], "/todos?done=false&per_page=10&page=3");
    assert_eq!(r.json["prev"], "/todos?done=false&per_page=10&page=1");

    // per_page 0 (or less) means the default.
    let r = send(&app, "GET", "/todos?per_page=0", None).await;
    assert_eq!(
        (r.status, &r.json["per_page"]),
        (StatusCode::OK, &json!(20))
    );
    let r = send(&app, "GET", "/todos?per_page=-7", None).await;
    assert_eq!(
        (r.status, &r.json["per_page"]),
        (StatusCode::OK, &json!(20))
    );

    // Out of range or not a number: 404 problem documents.
    for (q, detail) in [
        ("page=0", "page 0 does not exist: pages are numbered from 1"),
        (
            "page=-1",
            "page -1 does not exist: pages are numbered from 1",
        ),
        ("page=abc", "page \"abc\" is not a page number"),
        ("page=1.5", "page \"1.5\" is not a page number"),
        ("per_page=abc", "per_page \"abc\" is not a whole number"),
    ] {
        let r = send(&app, "GET", &format!("/todos?{q}"), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{q}");
        assert_eq!(r.content_type, "application/problem+json");
        assert_eq!(r.json["detail"], detail, "{q}");
    }
    for q in [
        "page=4",
        "page=1000000000",
        "page=99999999999999999999999",
        "page=1000000000&per_page=1000000",
    ] {
        let r = send(&app, "GET", &format!("/todos?{q}"), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{q}: {:?}", r.json);
        assert_eq!(r.json["code"], "not_found");
    }
    assert_eq!(db.pool_status().checked_out, 0);
    Ok(())
}

all_backends!(pages);
