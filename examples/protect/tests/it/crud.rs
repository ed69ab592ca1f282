//! Create, read, update and delete for each resource, with the JSON bodies
//! asserted.

use axum::http::StatusCode;
use serde_json::json;

use crate::all_backends;
use crate::harness::{count, send, Fixture};

async fn customers(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    let r = send(
        app,
        "POST",
        "/api/customers",
        Some(json!({"name": "  Ada Lovelace ", "email": "Ada@Example.com", "phone": "+44 20 7946 0000"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let id = r.json["id"].as_i64().unwrap();
    let created_at = r.json["created_at"].clone();
    assert_eq!(
        r.json,
        json!({"id": id, "name": "Ada Lovelace", "email": "ada@example.com",
               "phone": "+44 20 7946 0000", "created_at": created_at})
    );
    let r = send(app, "GET", &format!("/api/customers/{id}"), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["email"], "ada@example.com");
    assert_eq!(r.json["created_at"], created_at, "stored as returned");

    let r = send(
        app,
        "PATCH",
        &format!("/api/customers/{id}"),
        Some(json!({"name": "Ada King"})),
    )
    .await;
    assert_eq!(
        (r.status, &r.json["name"], &r.json["email"]),
        (
            StatusCode::OK,
            &json!("Ada King"),
            &json!("ada@example.com")
        )
    );
    let r = send(app, "GET", "/api/customers?q=King", None).await;
    assert_eq!(
        (r.json["total"].clone(), r.json["items"][0]["id"].clone()),
        (json!(1), json!(id))
    );
    let r = send(app, "GET", "/api/customers?email=ADA@example.com", None).await;
    assert_eq!(r.json["total"], 1);

    let r = send(app, "DELETE", &format!("/api/customers/{id}"), None).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::NO_CONTENT, ""));
    let r = send(app, "GET", &format!("/api/customers/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(
        r.json,
        json!({"type": "about:blank", "title": "Not Found", "status": 404,
               "detail": format!("no \"customers\" row with primary key {id}"), "code": "not_found"})
    );
    assert_eq!(count(&f.db, "customers").await?, 0);
    assert_eq!(f.db.pool_status().checked_out, 0);
    Ok(())
}

async fn homes_policies_riders(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    let c = send(
        app,
        "POST",
        "/api/customers",
        Some(json!({"name": "Grace Hopper", "email": "grace@example.com"})),
    )
    .await;
    let cid = c.json["id"].as_i64().unwrap();
    let h = send(
        app,
        "POST",
        "/api/homes",
        Some(
            json!({"customer_id": cid, "address": "627 Broadway", "city": "New York",
                    "country": "USA", "year_built": 1931, "value": "850000"}),
        ),
    )
    .await;
    assert_eq!(h.status, StatusCode::CREATED, "{:?}", h.json);
    let hid = h.json["id"].as_i64().unwrap();
    assert_eq!(
        h.json,
        json!({"id": hid, "customer_id": cid, "address": "627 Broadway", "city": "New York",
               "country": "USA", "year_built": 1931, "value": "850000.00"})
    );
    let r = send(
        app,
        "PATCH",
        &format!("/api/homes/{hid}"),
        Some(json!({"value": 900000.5})),
    )
    .await;
    assert_eq!(
        (r.status, &r.json["value"]),
        (StatusCode::OK, &json!("900000.50"))
    );

    for (code, name, price) in [
        ("flood", "Flood damage", "95"),
        ("valuables", "Jewellery", "60.00"),
    ] {
        let r = send(
            app,
            "POST",
            "/api/riders",
            Some(json!({"code": code, "name": name, "annual_price": price})),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    }
    let r = send(app, "GET", "/api/riders", None).await;
    assert_eq!(r.json["items"][0]["annual_price"], "95.00");
    let rider = r.json["items"][1]["id"].as_i64().unwrap();
    let r = send(
        app,
        "PATCH",
        &format!("/api/riders/{rider}"),
        Some(json!({"name": "Jewellery and valuables"})),
    )
    .await;
    assert_eq!(
        (r.status, &r.json["code"]),
        (StatusCode::OK, &json!("valuables"))
    );

    let r = send(
        app,
        "POST",
        "/api/policies",
        Some(json!({"customer_id": cid, "home_id": hid, "coverage": "1000000", "premium": "1180.00",
                    "start_date": "2026-01-01", "end_date": "2026-12-31", "riders": ["valuables", "FLOOD"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let pid = r.json["id"].as_i64().unwrap();
    assert_eq!(
        r.json,
        json!({"id": pid, "number": format!("PRT-{pid:07}"), "customer_id": cid, "home_id": hid,
               "coverage": "1000000.00", "premium": "1180.00", "deductible": "0.00", "start_date": "2026-01-01",
               "end_date": "2026-12-31", "status": "quoted", "version": 2,
               "riders": ["flood", "valuables"]})
    );
    let r = send(app, "GET", &format!("/api/policies/{pid}"), None).await;
    assert_eq!(
        (r.status, &r.json["riders"]),
        (StatusCode::OK, &json!(["flood", "valuables"]))
    );

    // Renewal: a new end date, a new premium, one rider less, and in force.
    let r = send(
        app,
        "PATCH",
        &format!("/api/policies/{pid}"),
        Some(json!({"end_date": "2027-12-31", "premium": "1200.5", "deductible": 750, "status": "active", "riders": ["flood"]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(
        (
            &r.json["end_date"],
            &r.json["premium"],
            &r.json["status"],
            &r.json["riders"]
        ),
        (
            &json!("2027-12-31"),
            &json!("1200.50"),
            &json!("active"),
            &json!(["flood"])
        )
    );
    assert_eq!(count(&f.db, "policy_riders").await?, 1);
    let r = send(app, "GET", "/api/policies", None).await;
    assert_eq!(
        (
            r.json["total"].clone(),
            r.json["items"][0]["riders"].clone()
        ),
        (json!(1), json!(["flood"]))
    );

    // An insured home, a customer with homes: the foreign keys refuse.
    let r = send(app, "DELETE", &format!("/api/homes/{hid}"), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);
    assert_eq!(
        (&r.json["code"], &r.json["constraint_kind"]),
        (&json!("integrity_violation"), &json!("foreign key"))
    );
    let r = send(app, "DELETE", &format!("/api/customers/{cid}"), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);

    // Deleting a rider takes it off the policy.
    let r = send(app, "GET", "/api/riders", None).await;
    let flood = r.json["items"][0]["id"].as_i64().unwrap();
    assert_eq!(
        send(app, "DELETE", &format!("/api/riders/{flood}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let r = send(app, "GET", &format!("/api/policies/{pid}"), None).await;
    assert_eq!(r.json["riders"], json!([]));

    for uri in [
        format!("/api/policies/{pid}"),
        format!("/api/homes/{hid}"),
        format!("/api/customers/{cid}"),
    ] {
        let r = send(app, "DELETE", &uri, None).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{uri}: {:?}", r.json);
    }
    for t in ["customers", "homes", "policies", "policy_riders"] {
        assert_eq!(count(&f.db, t).await?, 0, "{t}");
    }
    assert_eq!(f.db.pool_status().checked_out, 0);
    Ok(())
}

async fn claims_and_their_history(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    let ids = crate::harness::book(&f.db, 3).await?;
    let (active, cancelled) = (ids[0], ids[2]);
    let r = send(
        app,
        "POST",
        "/api/claims",
        Some(json!({"policy_id": active, "amount": "2500", "description": "Burst pipe in the kitchen",
                    "filed_at": "2026-03-14T09:30:15.250Z"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let id = r.json["id"].as_i64().unwrap();
    let hid = r.json["history"][0]["id"].clone();
    assert_eq!(
        r.json,
        json!({"id": id, "policy_id": active, "amount": "2500.00", "description": "Burst pipe in the kitchen",
               "status": "filed", "filed_at": "2026-03-14T09:30:15Z", "version": 1,
               "history": [{"id": hid, "claim_id": id, "from_status": null, "to_status": "filed",
                            "changed_at": "2026-03-14T09:30:15Z", "note": null}]})
    );
    // The workflow: each change appends a history row.
    let r = send(
        app,
        "PATCH",
        &format!("/api/claims/{id}"),
        Some(json!({"status": "under_review", "note": "adjuster assigned"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(
        (&r.json["status"], &r.json["version"]),
        (&json!("under_review"), &json!(2))
    );
    let h = r.json["history"].as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(
        (&h[1]["from_status"], &h[1]["to_status"], &h[1]["note"]),
        (
            &json!("filed"),
            &json!("under_review"),
            &json!("adjuster assigned")
        )
    );
    // Not allowed: under review → paid. 422 naming the field; nothing written.
    let r = send(
        app,
        "PATCH",
        &format!("/api/claims/{id}"),
        Some(json!({"status": "paid"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json,
        json!({"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
               "detail": "status: a under_review claim cannot become paid; it can become: approved, denied, withdrawn",
               "code": "validation", "field": "status", "from": "under_review",
               "errors": [{"field": "status", "detail": "a under_review claim cannot become paid; it can become: approved, denied, withdrawn"}]})
    );
    assert_eq!(count(&f.db, "claim_status_changes").await?, 2);
    for st in ["approved", "paid"] {
        let r = send(
            app,
            "PATCH",
            &format!("/api/claims/{id}"),
            Some(json!({"status": st})),
        )
        .await;
        assert_eq!((r.status, &r.json["status"]), (StatusCode::OK, &json!(st)));
    }
    // The same status again is no change (and no history row).
    let r = send(
        app,
        "PATCH",
        &format!("/api/claims/{id}"),
        Some(json!({"status": "paid", "description": "Burst pipe under the kitchen sink"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = send(app, "GET", &format!("/api/claims/{id}/history"), None).await;
    let steps: Vec<_> = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to_status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(steps, ["filed", "under_review", "approved", "paid"]);
    let r = send(app, "GET", &format!("/api/claims/{id}"), None).await;
    assert_eq!(r.json["description"], "Burst pipe under the kitchen sink");
    assert_eq!(r.json["history"].as_array().unwrap().len(), 4);

    // Claims need an active policy, and at most its coverage.
    let r = send(
        app,
        "POST",
        "/api/claims",
        Some(json!({"policy_id": cancelled, "amount": "10", "description": "x"})),
    )
    .await;
    assert_eq!(
        (r.status, &r.json["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("policy_id"))
    );
    assert_eq!(
        r.json["errors"][0]["detail"],
        "policy PRT-T000003 is cancelled: claims need an active policy"
    );
    let r = send(
        app,
        "POST",
        "/api/claims",
        Some(json!({"policy_id": active, "amount": "400000.01", "description": "x"})),
    )
    .await;
    assert_eq!(
        (r.status, &r.json["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("amount"))
    );

    // Deleting a claim takes its history with it.
    assert_eq!(
        send(app, "DELETE", &format!("/api/claims/{id}"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(count(&f.db, "claims").await?, 0);
    assert_eq!(count(&f.db, "claim_status_changes").await?, 0);
    // A policy with claims cannot be deleted.
    let r = send(
        app,
        "POST",
        "/api/claims",
        Some(json!({"policy_id": active, "amount": "99.90", "description": "Broken window"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = send(app, "DELETE", &format!("/api/policies/{active}"), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);
    assert_eq!(f.db.pool_status().checked_out, 0);
    Ok(())
}

all_backends!(customers, homes_policies_riders, claims_and_their_history);
