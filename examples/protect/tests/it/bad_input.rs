//! Bad input: malformed JSON, wrong types, missing and unknown fields,
//! invalid values, unknown ids, duplicate unique values. Each is a problem
//! document with the status asserted, and nothing is written.

use axum::http::StatusCode;
use serde_json::json;

use crate::all_backends;
use crate::harness::{book, count, send, send_raw, Fixture};

async fn malformed_and_mistyped_bodies(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    let ids = book(&f.db, 1).await?;
    // Not JSON: 400; no content type: 415.
    let r = send_raw(
        app,
        "POST",
        "/api/customers",
        Some("application/json"),
        "{\"name\": \"Ada\", ",
    )
    .await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (StatusCode::BAD_REQUEST, "application/problem+json")
    );
    assert_eq!(r.json["code"], "bad_request");
    let r = send_raw(app, "POST", "/api/customers", None, "{}").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.json["code"], "unsupported_media_type");
    // Wrong types, missing and unknown fields: 422 naming the field.
    for (uri, body, field) in [
        (
            "/api/customers",
            json!({"name": 5, "email": "a@b.c"}),
            "name",
        ),
        ("/api/customers", json!({"name": "Ada"}), "email"),
        (
            "/api/customers",
            json!({"name": "Ada", "email": "a@b.c", "nmae": "x"}),
            "nmae",
        ),
        (
            "/api/homes",
            json!({"customer_id": "one", "address": "a", "city": "c", "country": "x", "year_built": 1990, "value": "1"}),
            "customer_id",
        ),
        (
            "/api/homes",
            json!({"customer_id": 1, "address": "a", "city": "c", "country": "x", "year_built": 1990.5, "value": "1"}),
            "year_built",
        ),
        (
            "/api/policies",
            json!({"customer_id": 1, "home_id": 1, "coverage": "lots", "premium": "1", "start_date": "2026-01-01", "end_date": "2026-12-31"}),
            "coverage",
        ),
        (
            "/api/policies",
            json!({"customer_id": 1, "home_id": 1, "coverage": "1", "premium": "1", "start_date": "2026-13-01", "end_date": "2026-12-31"}),
            "start_date",
        ),
        (
            "/api/policies",
            json!({"customer_id": 1, "home_id": 1, "coverage": "1", "premium": "1", "start_date": "2026-01-01", "end_date": "2026-12-31", "status": "pending"}),
            "status",
        ),
        (
            "/api/claims",
            json!({"policy_id": ids[0], "amount": [1], "description": "x"}),
            "amount",
        ),
        (
            "/api/claims",
            json!({"policy_id": ids[0], "amount": "1", "description": "x", "filed_at": "yesterday"}),
            "filed_at",
        ),
    ] {
        let r = send(app, "POST", uri, Some(body.clone())).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:?}",
            r.json
        );
        assert_eq!(
            (&r.json["code"], &r.json["field"]),
            (&json!("validation"), &json!(field)),
            "{body}: {:?}",
            r.json
        );
    }
    let r = send(
        app,
        "PATCH",
        &format!("/api/claims/{}", 1),
        Some(json!({"status": 3})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Wrong types in the path: 400.
    let r = send(app, "GET", "/api/policies/abc", None).await;
    assert_eq!(
        (r.status, &r.json["code"]),
        (StatusCode::BAD_REQUEST, &json!("bad_request"))
    );
    assert_eq!(count(&f.db, "customers").await?, 1);
    assert_eq!(count(&f.db, "claims").await?, 0);
    Ok(())
}

async fn invalid_values(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    let ids = book(&f.db, 1).await?;
    let policy = send(app, "GET", &format!("/api/policies/{}", ids[0]), None)
        .await
        .json;
    let (cid, hid) = (
        policy["customer_id"].as_i64().unwrap(),
        policy["home_id"].as_i64().unwrap(),
    );
    let this_year = format!(
        "must be a year from 1500 to {}",
        aludel::types::chrono::Datelike::year(&aludel::types::chrono::Utc::now())
    );
    let home = |k: &str, v: serde_json::Value| {
        let mut b = json!({"customer_id": cid, "address": "1 Main St", "city": "Oslo", "country": "Norway", "year_built": 1990, "value": "300000"});
        b[k] = v;
        b
    };
    let policy_with = |k: &str, v: serde_json::Value| {
        let mut b = json!({"customer_id": cid, "home": {"address": "2 Main St", "city": "Oslo", "country": "Norway", "year_built": 1990, "value": "300000"},
                           "coverage": "300000", "premium": "900", "start_date": "2026-01-01", "end_date": "2026-12-31"});
        b[k] = v;
        b
    };
    for (uri, body, field, detail) in [
        (
            "/api/customers",
            json!({"name": " ", "email": "a@b.c"}),
            "name",
            "must not be empty",
        ),
        (
            "/api/customers",
            json!({"name": "x".repeat(101), "email": "a@b.c"}),
            "name",
            "must be at most 100 characters",
        ),
        (
            "/api/customers",
            json!({"name": "Ada", "email": "ada"}),
            "email",
            "must be an email address (name@example.com)",
        ),
        (
            "/api/homes",
            home("year_built", json!(1200)),
            "year_built",
            this_year.as_str(),
        ),
        (
            "/api/homes",
            home("value", json!("-5")),
            "value",
            "must be more than 0",
        ),
        (
            "/api/homes",
            home("value", json!("10.001")),
            "value",
            "must be in whole cents",
        ),
        (
            "/api/homes",
            home("customer_id", json!(999_999)),
            "customer_id",
            "no customer with id 999999",
        ),
        (
            "/api/homes",
            home("customer_id", json!(null)),
            "customer_id",
            "is required",
        ),
        (
            "/api/policies",
            policy_with("end_date", json!("2025-12-31")),
            "end_date",
            "must be after start_date",
        ),
        (
            "/api/policies",
            policy_with("premium", json!("0")),
            "premium",
            "must be more than 0",
        ),
        (
            "/api/policies",
            policy_with("deductible", json!("300000")),
            "deductible",
            "must be less than the coverage",
        ),
        (
            "/api/policies",
            policy_with("deductible", json!(-1)),
            "deductible",
            "must not be negative",
        ),
        (
            "/api/policies",
            policy_with("riders", json!(["flood"])),
            "riders",
            "no rider with code \"flood\"",
        ),
        (
            "/api/policies",
            policy_with("customer_id", json!(999_999)),
            "customer_id",
            "no customer with id 999999",
        ),
        (
            "/api/policies",
            policy_with("home_id", json!(hid)),
            "home",
            "give home_id or home, not both",
        ),
        (
            "/api/claims",
            json!({"policy_id": 999_999, "amount": "10", "description": "x"}),
            "policy_id",
            "no policy with id 999999",
        ),
        (
            "/api/claims",
            json!({"policy_id": ids[0], "amount": "10", "description": "x", "filed_at": "2999-01-01T00:00:00Z"}),
            "filed_at",
            "must not be in the future",
        ),
        (
            "/api/riders",
            json!({"code": "Flood Cover", "name": "Flood", "annual_price": "1"}),
            "code",
            "must be lowercase letters, digits and _",
        ),
    ] {
        let r = send(app, "POST", uri, Some(body.clone())).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {:?}",
            r.json
        );
        assert_eq!(
            r.json,
            json!({"type": "about:blank", "title": "Unprocessable Entity", "status": 422,
                   "detail": format!("{field}: {detail}"), "code": "validation", "field": field,
                   "errors": [{"field": field, "detail": detail}]}),
            "{body}"
        );
    }
    // The policy of another customer's home.
    let other = send(
        app,
        "POST",
        "/api/customers",
        Some(json!({"name": "Other", "email": "other@example.com"})),
    )
    .await;
    let mut b = policy_with("home_id", json!(hid));
    b.as_object_mut().unwrap().remove("home");
    b["customer_id"] = other.json["id"].clone();
    let r = send(app, "POST", "/api/policies", Some(b)).await;
    assert_eq!(
        (r.status, &r.json["field"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &json!("home_id"))
    );
    for t in ["homes", "policies", "claims", "riders"] {
        assert_eq!(
            count(&f.db, t).await?,
            if t == "homes" || t == "policies" {
                1
            } else {
                0
            },
            "{t}"
        );
    }
    Ok(())
}

async fn unknown_ids_are_404(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    for (method, uri) in [
        ("GET", "/api/customers/424242"),
        ("PATCH", "/api/customers/424242"),
        ("DELETE", "/api/customers/424242"),
        ("GET", "/api/homes/424242"),
        ("DELETE", "/api/homes/424242"),
        ("GET", "/api/policies/424242"),
        ("PATCH", "/api/policies/424242"),
        ("DELETE", "/api/policies/424242"),
        ("GET", "/api/riders/424242"),
        ("GET", "/api/claims/424242"),
        ("PATCH", "/api/claims/424242"),
        ("DELETE", "/api/claims/424242"),
        ("GET", "/api/claims/424242/history"),
    ] {
        let body = (method == "PATCH").then(|| json!({}));
        let r = send(app, method, uri, body).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {uri}: {:?}",
            r.json
        );
        assert_eq!(r.json["code"], "not_found");
        assert!(
            r.json["detail"]
                .as_str()
                .unwrap()
                .ends_with("row with primary key 424242"),
            "{:?}",
            r.json
        );
    }
    Ok(())
}

async fn duplicates_are_409(f: Fixture) -> aludel::Result<()> {
    let app = &f.app;
    let ids = book(&f.db, 2).await?;
    let r = send(
        app,
        "POST",
        "/api/customers",
        Some(json!({"name": "Again", "email": "Customer1@example.com"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);
    assert_eq!(r.content_type, "application/problem+json");
    for (k, v) in [
        ("title", json!("Conflict")),
        ("status", json!(409)),
        (
            "detail",
            json!("the request conflicts with unique constraint \"uq_customers_email\""),
        ),
        ("code", json!("integrity_violation")),
        ("constraint_kind", json!("unique")),
        ("constraint", json!("uq_customers_email")),
    ] {
        assert_eq!(r.json[k], v, "{k}: {:?}", r.json);
    }
    assert!(!r.text.contains("INSERT"), "no SQL in the body: {}", r.text);
    // Renaming into a taken address.
    let second = send(
        app,
        "GET",
        "/api/customers?email=customer2@example.com",
        None,
    )
    .await;
    let id = second.json["items"][0]["id"].as_i64().unwrap();
    let r = send(
        app,
        "PATCH",
        &format!("/api/customers/{id}"),
        Some(json!({"email": "customer1@example.com"})),
    )
    .await;
    assert_eq!(
        (r.status, &r.json["constraint"]),
        (StatusCode::CONFLICT, &json!("uq_customers_email"))
    );
    assert_eq!(
        send(app, "GET", &format!("/api/customers/{id}"), None)
            .await
            .json["email"],
        "customer2@example.com"
    );
    // A second policy for an insured home.
    let p = send(app, "GET", &format!("/api/policies/{}", ids[0]), None)
        .await
        .json;
    let r = send(
        app,
        "POST",
        "/api/policies",
        Some(json!({"customer_id": p["customer_id"], "home_id": p["home_id"], "coverage": "1", "premium": "1",
                    "start_date": "2027-01-01", "end_date": "2027-12-31"})),
    )
    .await;
    assert_eq!(
        (r.status, &r.json["constraint"]),
        (StatusCode::CONFLICT, &json!("uq_policies_home_id")),
        "{:?}",
        r.json
    );
    // A taken rider code.
    let rider = json!({"code": "flood", "name": "Flood", "annual_price": "95"});
    assert_eq!(
        send(app, "POST", "/api/riders", Some(rider.clone()))
            .await
            .status,
        StatusCode::CREATED
    );
    let r = send(app, "POST", "/api/riders", Some(rider)).await;
    assert_eq!(
        (r.status, &r.json["constraint"]),
        (StatusCode::CONFLICT, &json!("uq_riders_code"))
    );
    assert_eq!(count(&f.db, "customers").await?, 2);
    assert_eq!(count(&f.db, "policies").await?, 2);
    assert_eq!(count(&f.db, "riders").await?, 1);
    assert_eq!(f.db.pool_status().checked_out, 0);
    Ok(())
}

all_backends!(
    malformed_and_mistyped_bodies,
    invalid_values,
    unknown_ids_are_404,
    duplicates_are_409
);
