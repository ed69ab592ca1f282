//! The database goes away while the service runs and comes back: requests
//! fail with 503 (and `Retry-After`) meanwhile, and succeed again
//! afterwards without a restart. On servers only (SQLite has none to lose).

use aludel::{params, text};
use axum::http::StatusCode;
use serde_json::json;

use crate::all_backends;
use crate::harness::{book, send, server_url, Fixture, Kind};

async fn database_goes_away_and_comes_back(f: Fixture) -> aludel::Result<()> {
    if f.kind == Kind::Sqlite {
        return Ok(());
    }
    let app = &f.app;
    book(&f.db, 3).await?;
    let r = send(app, "GET", "/api/policies", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(f.db.pool_status().idle >= 1, "a pooled connection to lose");
    let admin = aludel::create_engine(server_url(f.kind))?;
    let name = f.tdb.name().to_string();
    match f.kind {
        Kind::Postgres => {
            // No new connections, and the open ones cut.
            admin
                .execute(
                    text(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false")),
                    (),
                )
                .await?;
            admin
                .execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                    params! { "name": name.clone() },
                )
                .await?;
        }
        _ => {
            let ids: Vec<i64> = admin
                .execute(
                    text("SELECT id FROM information_schema.processlist WHERE db = :name"),
                    params! { "name": name.clone() },
                )
                .await?
                .scalars()?;
            assert!(!ids.is_empty(), "the app's connections are listed");
            for id in ids {
                admin.execute(text(format!("KILL {id}")), ()).await?;
            }
        }
    }
    // Meanwhile: 503, the problem document says to retry. (PostgreSQL
    // refuses new connections until it is allowed again; MariaDB's next
    // connection would succeed, so only the request on the cut one fails.)
    let r = send(app, "GET", "/api/policies", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.json);
    assert_eq!(r.json["code"], "database_unavailable");
    assert_eq!(r.headers["retry-after"], "1");
    if f.kind == Kind::Postgres {
        for _ in 0..2 {
            let r = send(
                app,
                "POST",
                "/api/customers",
                Some(json!({"name": "During", "email": "during@example.com"})),
            )
            .await;
            assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.json);
            assert_eq!(r.json["code"], "database_unavailable");
            let r = send(app, "GET", "/api/policies/1", None).await;
            assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.json);
        }
    }
    if f.kind == Kind::Postgres {
        admin
            .execute(
                text(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true")),
                (),
            )
            .await?;
    }
    admin.dispose();
    // And back, without a restart: the pool replaced the dead connections.
    let r = send(app, "GET", "/api/policies", None).await;
    assert_eq!(
        (r.status, &r.json["total"]),
        (StatusCode::OK, &json!(3)),
        "{:?}",
        r.json
    );
    let r = send(
        app,
        "POST",
        "/api/customers",
        Some(json!({"name": "After", "email": "after@example.com"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let r = send(app, "GET", "/api/customers?email=during@example.com", None).await;
    assert_eq!(
        r.json["total"], 0,
        "nothing of the failed requests was kept"
    );
    crate::harness::settle(&f.db).await;
    assert_eq!(f.db.pool_status().checked_out, 0);
    Ok(())
}

all_backends!(database_goes_away_and_comes_back);
