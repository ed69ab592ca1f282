//! A request is one transaction: one that fails midway (after some of its
//! INSERTs ran) leaves no partial rows, and a claim's status change and its
//! history row are saved together or not at all.

use aludel_axum::{AppError, DbLayer, DbSession, SessionExt};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::post;
use protect::models::{Claim, ClaimStatus};
use serde_json::json;

use crate::all_backends;
use crate::harness::{book, count, send, Fixture};

async fn failed_request_leaves_no_partial_rows(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    let ids = book(&f.db, 1).await?;
    let existing = send(app, "GET", &format!("/api/policies/{}", ids[0]), None)
        .await
        .json;
    assert_eq!(
        send(
            app,
            "POST",
            "/api/riders",
            Some(json!({"code": "flood", "name": "Flood", "annual_price": "95"}))
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let (homes, policies, links) = (
        count(&f.db, "homes").await?,
        count(&f.db, "policies").await?,
        count(&f.db, "policy_riders").await?,
    );
    // A new home and a policy whose number is taken: the home's INSERT
    // runs, then the policy's fails. Nothing of the request is kept.
    let r = send(
        app,
        "POST",
        "/api/policies",
        Some(json!({"customer_id": existing["customer_id"], "number": existing["number"],
                    "home": {"address": "3 Quay Road", "city": "Dublin", "country": "Ireland", "year_built": 1904, "value": "420000"},
                    "coverage": "450000", "premium": "1320.00", "start_date": "2026-06-01", "end_date": "2027-05-31",
                    "riders": ["flood"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);
    assert_eq!(r.json["constraint"], "uq_policies_number");
    assert_eq!(
        count(&f.db, "homes").await?,
        homes,
        "the new home was rolled back"
    );
    assert_eq!(count(&f.db, "policies").await?, policies);
    assert_eq!(count(&f.db, "policy_riders").await?, links);
    crate::harness::settle(&f.db).await;
    assert_eq!(f.db.pool_status().checked_out, 0);
    // The same request with a free number succeeds, home and all.
    let ok = json!({"customer_id": existing["customer_id"], "number": "PRT-NEW0001",
                    "home": {"address": "3 Quay Road", "city": "Dublin", "country": "Ireland", "year_built": 1904, "value": "420000"},
                    "coverage": "450000", "premium": "1320.00", "start_date": "2026-06-01", "end_date": "2027-05-31",
                    "riders": ["flood"], "status": "active"});
    let r = send(app, "POST", "/api/policies", Some(ok)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    assert_eq!(
        (&r.json["number"], &r.json["riders"], &r.json["version"]),
        (&json!("PRT-NEW0001"), &json!(["flood"]), &json!(1))
    );
    let home = send(
        app,
        "GET",
        &format!("/api/homes/{}", r.json["home_id"]),
        None,
    )
    .await;
    assert_eq!(
        (&home.json["address"], &home.json["customer_id"]),
        (&json!("3 Quay Road"), &existing["customer_id"])
    );
    assert_eq!(count(&f.db, "homes").await?, homes + 1);
    assert_eq!(count(&f.db, "policy_riders").await?, links + 1);
    Ok(())
}

/// Protect's status change, with a concurrent writer's UPDATE slipped in
/// between the read and the flush.
async fn stale_change(mut s: DbSession, Path(id): Path<i64>) -> Result<StatusCode, AppError> {
    let key = s.get_or_404::<Claim>(id).await?;
    s.execute(
        aludel::text("UPDATE claims SET version = version + 1 WHERE id = :id"),
        aludel::params! { "id": id },
    )
    .await?;
    protect::api::change_status(&mut s, key, ClaimStatus::UnderReview, None).await?;
    s.flush().await?;
    Ok(StatusCode::OK)
}

async fn status_change_and_history_are_one_transaction(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    let ids = book(&f.db, 1).await?;
    let r = send(
        app,
        "POST",
        "/api/claims",
        Some(json!({"policy_id": ids[0], "amount": "700", "description": "Storm damage"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.json["id"].as_i64().unwrap();
    assert_eq!(
        count(&f.db, "claim_status_changes").await?,
        1,
        "filing is recorded with the claim"
    );
    // Another adjuster's change lands between this request's read and its
    // write: the history row's INSERT runs, the claim's version-checked
    // UPDATE finds nothing, and neither is kept (409).
    let stale_app = protect::routes()
        .route("/t/stale/{id}", post(stale_change))
        .layer(DbLayer::new(f.db.clone()))
        .with_state(f.db.clone());
    let r = send(&stale_app, "POST", &format!("/t/stale/{id}"), None).await;
    assert_eq!(
        (r.status, &r.json["code"]),
        (StatusCode::CONFLICT, &json!("stale_data")),
        "{:?}",
        r.json
    );
    let status: String =
        f.db.engine()
            .execute(
                aludel::text("SELECT status FROM claims WHERE id = :id"),
                aludel::params! { "id": id },
            )
            .await?
            .scalar_one()?;
    assert_eq!(status, "filed");
    assert_eq!(count(&f.db, "claim_status_changes").await?, 1);
    crate::harness::settle(&f.db).await;
    // Each change is one row more.
    for st in ["under_review", "denied"] {
        let r = send(
            app,
            "PATCH",
            &format!("/api/claims/{id}"),
            Some(json!({"status": st})),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    }
    assert_eq!(count(&f.db, "claim_status_changes").await?, 3);
    let r = send(
        app,
        "PATCH",
        &format!("/api/claims/{id}"),
        Some(json!({"status": "approved"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json["errors"][0]["detail"],
        "a denied claim cannot become approved; it can become: nothing (final)"
    );
    assert_eq!(count(&f.db, "claim_status_changes").await?, 3);
    assert_eq!(f.db.pool_status().checked_out, 0);
    Ok(())
}

all_backends!(
    failed_request_leaves_no_partial_rows,
    status_change_and_history_are_one_transaction
);
