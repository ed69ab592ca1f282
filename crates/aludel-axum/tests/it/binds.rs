//! Named binds through the request's Session: a model on its own database,
//! committed and rolled back with the request; a read routed to a replica.

use aludel::orm::Model;
use aludel::schema::MetaData;
use aludel::{text, Model};
use aludel_axum::testing::TestDatabase;
use aludel_axum::{AppError, Db, DbConfig, DbLayer, DbSession, EngineConfig};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::all_backends;
use crate::app::Todo;
use crate::harness::{send, server_url, Kind};

/// A model on bind `audit` (Flask-SQLAlchemy's `__bind_key__`).
#[derive(Model, Clone, Debug)]
#[aludel(table = "audit_entries", bind = "audit")]
struct AuditEntry {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 100)]
    what: String,
}

async fn create(
    mut s: DbSession,
    axum::extract::Path(fail): axum::extract::Path<bool>,
) -> Result<StatusCode, AppError> {
    s.add(Todo {
        id: 0,
        title: "with audit".into(),
        done: false,
        version: 0,
    });
    s.add(AuditEntry {
        id: 0,
        what: "created a todo".into(),
    });
    s.flush().await?;
    if fail {
        return Err(AppError::bad_request("failed after writing to both binds"));
    }
    Ok(StatusCode::CREATED)
}

async fn from_replica(mut s: DbSession) -> Result<Json<usize>, AppError> {
    let keys = Todo::query(&mut s).bind("replica").all().await?;
    Ok(Json(keys.len()))
}

async fn binds_in_a_request(kind: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let audit = TestDatabase::create(&server_url(kind)).await?;
    let mut audit_tables = MetaData::new();
    audit_tables.add(AuditEntry::table().clone())?;
    let config = tdb
        .config()
        .bind("audit", EngineConfig::new(audit.url()))
        // The "replica" is the primary itself here: what matters is the routing.
        .bind("replica", EngineConfig::new(tdb.url()));
    let db = Db::from_config(&config)?.with_bind_metadata("audit", audit_tables);
    db.create_all().await?;
    assert!(db.metadata()?.table("audit_entries").is_none());
    let audit_rows = |db: Db| async move {
        db.bind("audit")?
            .execute(text("SELECT count(*) FROM audit_entries"), ())
            .await?
            .scalar_one::<i64>()
    };
    let todo_rows = |db: Db| async move {
        db.engine()
            .execute(text("SELECT count(*) FROM todos"), ())
            .await?
            .scalar_one::<i64>()
    };
    let app: Router = Router::new()
        .route("/create/{fail}", post(create))
        .route("/replica", get(from_replica))
        .layer(DbLayer::new(db.clone()));
    let r = send(&app, "POST", "/create/true", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        (todo_rows(db.clone()).await?, audit_rows(db.clone()).await?),
        (0, 0),
        "both rolled back"
    );
    let r = send(&app, "POST", "/create/false", None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    assert_eq!(
        (todo_rows(db.clone()).await?, audit_rows(db.clone()).await?),
        (1, 1),
        "both committed"
    );
    let r = send(&app, "GET", "/replica", None).await;
    assert_eq!((r.status, &r.json), (StatusCode::OK, &json!(1)));
    for name in ["audit", "replica"] {
        assert_eq!(db.bind(name)?.pool_status().checked_out, 0, "{name}");
    }
    assert_eq!(db.pool_status().checked_out, 0);
    drop(db);
    drop(audit);
    Ok(())
}

all_backends!(binds_in_a_request);

#[test]
fn unknown_bind_is_named() {
    let db = Db::from_config(&DbConfig::new("sqlite://")).unwrap();
    let err = db.bind("replica").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("no bind named \"replica\"; configured binds: none"),
        "{err}"
    );
}
