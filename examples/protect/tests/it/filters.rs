//! List endpoints: filters (policies by status, claims by date range) and
//! pagination, with Flask-SQLAlchemy's rules for bad page numbers.

use aludel::types::chrono::{DateTime, Utc};
use aludel::types::Decimal;
use axum::http::StatusCode;
use protect::models::{Claim, ClaimStatus};
use serde_json::json;

use crate::all_backends;
use crate::harness::{book, send, Fixture};

async fn policies_by_status_and_pages(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    book(&f.db, 45).await?; // 30 active, 15 cancelled
    let r = send(
        app,
        "GET",
        "/api/policies?status=active&per_page=10&page=2",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let j = &r.json;
    assert_eq!(
        (
            &j["page"],
            &j["per_page"],
            &j["total"],
            &j["pages"],
            &j["has_prev"],
            &j["has_next"]
        ),
        (
            &json!(2),
            &json!(10),
            &json!(30),
            &json!(3),
            &json!(true),
            &json!(true)
        )
    );
    assert_eq!(j["prev"], "/api/policies?status=active&per_page=10&page=1");
    assert_eq!(j["next"], "/api/policies?status=active&per_page=10&page=3");
    let items = j["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert!(items.iter().all(|p| p["status"] == "active"));
    // Ordered by id: the 11th active policy is PRT-T000016 (every third is cancelled).
    assert_eq!(items[0]["number"], "PRT-T000016");
    let r = send(app, "GET", "/api/policies?status=cancelled", None).await;
    assert_eq!(
        (
            r.json["total"].clone(),
            r.json["items"].as_array().unwrap().len()
        ),
        (json!(15), 15)
    );
    let r = send(app, "GET", "/api/policies?status=quoted", None).await;
    assert_eq!(
        (r.status, &r.json["total"], &r.json["items"]),
        (StatusCode::OK, &json!(0), &json!([]))
    );
    // An unknown status is a bad request naming the parameter.
    let r = send(app, "GET", "/api/policies?status=bogus", None).await;
    assert_eq!(
        (r.status, &r.json["parameter"]),
        (StatusCode::BAD_REQUEST, &json!("status")),
        "{:?}",
        r.json
    );
    let r = send(app, "GET", "/api/policies?customer_id=abc", None).await;
    assert_eq!(
        (r.status, &r.json["parameter"]),
        (StatusCode::BAD_REQUEST, &json!("customer_id"))
    );
    Ok(())
}

async fn page_numbers(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    book(&f.db, 45).await?;
    // Out of range or not a number: 404 problem documents.
    for (q, detail) in [
        ("page=0", "page 0 does not exist: pages are numbered from 1"),
        (
            "page=-1",
            "page -1 does not exist: pages are numbered from 1",
        ),
        ("page=abc", "page \"abc\" is not a page number"),
        (
            "page=1000000000",
            "page 1000000000 does not exist: the query has no rows there (20 per page)",
        ),
        ("per_page=abc", "per_page \"abc\" is not a whole number"),
    ] {
        let r = send(app, "GET", &format!("/api/policies?{q}"), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{q}: {:?}", r.json);
        assert_eq!(r.content_type, "application/problem+json");
        assert_eq!(
            (&r.json["code"], &r.json["detail"]),
            (&json!("not_found"), &json!(detail)),
            "{q}"
        );
    }
    // per_page 0 is the default (20); 10^6 is clamped to 100.
    let r = send(app, "GET", "/api/policies?per_page=0", None).await;
    assert_eq!(
        (
            r.status,
            &r.json["per_page"],
            r.json["items"].as_array().unwrap().len()
        ),
        (StatusCode::OK, &json!(20), 20)
    );
    let r = send(app, "GET", "/api/policies?per_page=1000000", None).await;
    assert_eq!(
        (
            r.status,
            &r.json["per_page"],
            r.json["items"].as_array().unwrap().len()
        ),
        (StatusCode::OK, &json!(100), 45)
    );
    assert_eq!(
        (&r.json["pages"], &r.json["next"]),
        (&json!(1), &json!(null))
    );
    // The last page, and one past it.
    let r = send(app, "GET", "/api/policies?page=3", None).await;
    assert_eq!(
        (r.status, r.json["items"].as_array().unwrap().len()),
        (StatusCode::OK, 5)
    );
    assert_eq!(
        send(app, "GET", "/api/policies?page=4", None).await.status,
        StatusCode::NOT_FOUND
    );
    // Every list endpoint paginates the same way.
    for list in ["/api/customers", "/api/homes", "/api/claims", "/api/riders"] {
        let r = send(app, "GET", &format!("{list}?page=0"), None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{list}");
        let r = send(app, "GET", &format!("{list}?per_page=1000000"), None).await;
        assert_eq!(
            (r.status, &r.json["per_page"]),
            (StatusCode::OK, &json!(100)),
            "{list}"
        );
    }
    let r = send(app, "GET", "/api/customers?per_page=10&page=5", None).await;
    assert_eq!(
        (
            r.json["items"].as_array().unwrap().len(),
            &r.json["has_next"]
        ),
        (5, &json!(false))
    );
    Ok(())
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

async fn claims_by_date_range(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    let policies = book(&f.db, 2).await?;
    let mut s = f.db.session();
    for (i, at) in [
        "2026-02-28T23:59:59Z",
        "2026-03-01T00:00:00Z",
        "2026-03-15T12:00:00Z",
        "2026-03-31T23:59:59Z",
        "2026-04-01T00:00:00Z",
        "2026-05-20T08:00:00Z",
    ]
    .into_iter()
    .enumerate()
    {
        s.add(Claim {
            id: 0,
            policy_id: policies[i % 2],
            amount: Decimal::new(10_000 * (i as i64 + 1), 2),
            description: format!("claim {i}"),
            status: if i == 2 {
                ClaimStatus::Paid
            } else {
                ClaimStatus::Filed
            },
            filed_at: t(at),
            version: 0,
        });
    }
    s.commit().await?;
    drop(s);
    let descriptions = |j: &serde_json::Value| -> Vec<String> {
        j["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["description"].as_str().unwrap().to_string())
            .collect()
    };
    // March, both ends included, newest first.
    let r = send(
        app,
        "GET",
        "/api/claims?filed_from=2026-03-01&filed_to=2026-03-31",
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(descriptions(&r.json), ["claim 3", "claim 2", "claim 1"]);
    assert_eq!(r.json["items"][0]["filed_at"], "2026-03-31T23:59:59Z");
    let r = send(app, "GET", "/api/claims?filed_from=2026-04-01", None).await;
    assert_eq!(descriptions(&r.json), ["claim 5", "claim 4"]);
    let r = send(app, "GET", "/api/claims?filed_to=2026-02-28", None).await;
    assert_eq!(descriptions(&r.json), ["claim 0"]);
    // With the other filters.
    let r = send(
        app,
        "GET",
        &format!(
            "/api/claims?filed_from=2026-03-01&filed_to=2026-03-31&policy_id={}",
            policies[1]
        ),
        None,
    )
    .await;
    assert_eq!(descriptions(&r.json), ["claim 3", "claim 1"]);
    let r = send(app, "GET", "/api/claims?status=paid", None).await;
    assert_eq!(descriptions(&r.json), ["claim 2"]);
    // The range's links keep the filters.
    let r = send(
        app,
        "GET",
        "/api/claims?filed_from=2026-01-01&per_page=2",
        None,
    )
    .await;
    assert_eq!(
        r.json["next"],
        "/api/claims?filed_from=2026-01-01&per_page=2&page=2"
    );
    // Bad ranges.
    let r = send(
        app,
        "GET",
        "/api/claims?filed_from=2026-04-01&filed_to=2026-03-01",
        None,
    )
    .await;
    assert_eq!(
        (r.status, &r.json["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("filed_to"))
    );
    let r = send(app, "GET", "/api/claims?filed_from=March", None).await;
    assert_eq!(
        (r.status, &r.json["parameter"]),
        (StatusCode::BAD_REQUEST, &json!("filed_from")),
        "{:?}",
        r.json
    );
    Ok(())
}

all_backends!(
    policies_by_status_and_pages,
    page_numbers,
    claims_by_date_range
);
