//! The request's transaction: commit on success (before the response),
//! rollback on an error status, an `Err` or a panic, a failed commit turned
//! into an error response, pool exhaustion as 503, and no connection left
//! checked out after any request.

use std::time::Duration;

use aludel::orm::Model;
use aludel::text;
use aludel_axum::testing::TestDatabase;
use aludel_axum::{AppError, Db, DbLayer, DbSession};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::all_backends;
use crate::app::{self, Todo};
use crate::harness::{send, Kind};

async fn todo_count(db: &Db) -> aludel::Result<i64> {
    db.engine()
        .execute(text("SELECT count(*) FROM todos"), ())
        .await?
        .scalar_one()
}

fn assert_no_leak(db: &Db) {
    let p = db.pool_status();
    assert_eq!(p.checked_out, 0, "a connection is still checked out: {p}");
}

async fn write_then_fail(mut s: DbSession) -> Result<Json<()>, AppError> {
    s.add(Todo {
        id: 0,
        title: "half".into(),
        done: false,
        version: 0,
    });
    s.flush().await?; // the INSERT ran
    Err(AppError::bad_request("something after the write failed"))
}

async fn write_then_panic(mut s: DbSession) -> Json<()> {
    s.add(Todo {
        id: 0,
        title: "half".into(),
        done: false,
        version: 0,
    });
    s.flush().await.unwrap();
    panic!("boom after the write");
}

async fn write_then_500(mut s: DbSession) -> StatusCode {
    s.add(Todo {
        id: 0,
        title: "half".into(),
        done: false,
        version: 0,
    });
    s.flush().await.unwrap();
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn rollback_only(mut s: DbSession) -> StatusCode {
    s.add(Todo {
        id: 0,
        title: "preview".into(),
        done: false,
        version: 0,
    });
    s.flush().await.unwrap();
    s.set_rollback_only();
    StatusCode::OK
}

/// Changes a todo without flushing, after another writer bumped its
/// version: the layer's flush at commit time finds the version changed.
async fn stale(mut s: DbSession, axum::extract::Path(id): axum::extract::Path<i64>) -> StatusCode {
    let key = s.get::<Todo>(id).await.unwrap().unwrap();
    s.execute(
        text("UPDATE todos SET version = version + 1 WHERE id = :id"),
        aludel::params! { "id": id },
    )
    .await
    .unwrap();
    s[key].title = "mine".into();
    StatusCode::OK // looks fine; the commit is what fails
}

/// A row violating a deferred foreign key: only COMMIT notices.
async fn deferred(mut s: DbSession) -> StatusCode {
    s.execute(
        text("INSERT INTO children (id, parent_id) VALUES (1, 42)"),
        (),
    )
    .await
    .unwrap();
    StatusCode::CREATED
}

/// Moves the Session into a task that outlives the request.
async fn leak_into_task(mut s: DbSession) -> StatusCode {
    s.add(Todo {
        id: 0,
        title: "escaped".into(),
        done: false,
        version: 0,
    });
    tokio::spawn(async move {
        s.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(s);
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    StatusCode::OK
}

async fn twice(_a: DbSession, _b: DbSession) -> StatusCode {
    StatusCode::OK
}

fn test_app(db: &Db) -> Router {
    app::routes()
        .route("/t/fail", post(write_then_fail))
        .route("/t/panic", post(write_then_panic))
        .route("/t/500", post(write_then_500))
        .route("/t/rollback-only", post(rollback_only))
        .route("/t/stale/{id}", post(stale))
        .route("/t/deferred", post(deferred))
        .route("/t/leak", post(leak_into_task))
        .route("/t/twice", get(twice))
        .layer(DbLayer::new(db.clone()))
        .with_state(db.clone())
}

async fn commit_on_success(_k: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let db = tdb.db()?;
    db.create_all().await?;
    let app = test_app(&db);
    let r = send(
        &app,
        "POST",
        "/todos",
        Some(json!({"title": "write tests"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    assert_eq!(r.json["title"], "write tests");
    assert_eq!(r.json["version"], 1);
    let id = r.json["id"].as_i64().unwrap();
    assert_no_leak(&db);
    // Committed: another Session (another connection) sees it.
    let mut other = db.session();
    let key = other.get::<Todo>(id).await?.expect("committed row");
    assert_eq!(other[key].title, "write tests");
    other.rollback().await?;
    assert_eq!(todo_count(&db).await?, 1);
    // Update and delete through the app, each committed.
    let r = send(
        &app,
        "PATCH",
        &format!("/todos/{id}"),
        Some(json!({"done": true})),
    )
    .await;
    assert_eq!(
        (r.status, &r.json["done"], &r.json["version"]),
        (StatusCode::OK, &json!(true), &json!(2))
    );
    let done: bool = db
        .engine()
        .execute(
            text("SELECT done FROM todos WHERE id = :id"),
            aludel::params! { "id": id },
        )
        .await?
        .scalar_one()?;
    assert!(done);
    let r = send(&app, "DELETE", &format!("/todos/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(todo_count(&db).await?, 0);
    let r = send(&app, "GET", &format!("/todos/{id}"), None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_no_leak(&db);
    Ok(())
}

async fn rollback_on_error_and_panic(_k: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let db = tdb.db()?;
    db.create_all().await?;
    let app = test_app(&db);
    let r = send(&app, "POST", "/t/fail", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json["detail"], "something after the write failed");
    assert_eq!(todo_count(&db).await?, 0, "an Err rolls back");
    assert_no_leak(&db);

    let r = send(&app, "POST", "/t/500", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(todo_count(&db).await?, 0, "a 5xx status rolls back");
    assert_no_leak(&db);

    let r = send(&app, "POST", "/t/panic", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(r.json["code"], "internal");
    assert!(
        !r.json.to_string().contains("boom"),
        "the panic message stays in the log"
    );
    assert_eq!(todo_count(&db).await?, 0, "a panic rolls back");
    assert_no_leak(&db);

    let r = send(&app, "POST", "/t/rollback-only", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        todo_count(&db).await?,
        0,
        "set_rollback_only rolls back a 200"
    );
    assert_no_leak(&db);

    // The app still works after all that.
    let r = send(&app, "POST", "/todos", Some(json!({"title": "fine"}))).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(todo_count(&db).await?, 1);
    assert_no_leak(&db);
    Ok(())
}

async fn failed_commit_is_an_error_response(kind: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let db = tdb.db()?;
    db.create_all().await?;
    let app = test_app(&db);
    let r = send(&app, "POST", "/todos", Some(json!({"title": "original"}))).await;
    let id = r.json["id"].as_i64().unwrap();

    // A version conflict found by the layer's flush, after the handler said 200.
    let r = send(&app, "POST", &format!("/t/stale/{id}"), None).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);
    assert_eq!(r.json["code"], "stale_data");
    assert!(r.json["detail"]
        .as_str()
        .unwrap()
        .starts_with("the changes could not be saved: "));
    let (title, version): (String, i64) = db
        .engine()
        .execute(
            text("SELECT title, version FROM todos WHERE id = :id"),
            aludel::params! { "id": id },
        )
        .await?
        .one_as()?;
    assert_eq!(
        (title.as_str(), version),
        ("original", 1),
        "nothing of the request was kept"
    );
    assert_no_leak(&db);

    // A deferred foreign key that only COMMIT checks (MySQL has none).
    if kind != Kind::Mysql {
        let e = db.engine();
        e.execute(text("CREATE TABLE parents (id INTEGER PRIMARY KEY)"), ())
            .await?;
        e.execute(
            text(
                "CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL, \
                 CONSTRAINT fk_children_parent FOREIGN KEY (parent_id) REFERENCES parents (id) \
                 DEFERRABLE INITIALLY DEFERRED)",
            ),
            (),
        )
        .await?;
        let r = send(&app, "POST", "/t/deferred", None).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.json);
        assert_eq!(r.json["code"], "integrity_violation");
        assert_eq!(r.json["constraint_kind"], "foreign key");
        if kind == Kind::Postgres {
            assert_eq!(r.json["constraint"], "fk_children_parent");
        }
        let n: i64 = e
            .execute(text("SELECT count(*) FROM children"), ())
            .await?
            .scalar_one()?;
        assert_eq!(n, 0);
        crate::harness::settle(&db).await;
        assert_no_leak(&db);
    }
    Ok(())
}

async fn pool_timeout_is_503(_k: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let db = Db::from_config(
        &tdb.config()
            .pool_size(1)
            .max_overflow(0)
            .pool_timeout(Duration::from_millis(300)),
    )?;
    db.create_all().await?;
    let app = test_app(&db);
    let mut held = db.engine().connect().await?;
    held.execute(text("SELECT 1"), ()).await?;
    let r = send(&app, "GET", "/todos", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.json);
    assert_eq!(r.json["code"], "pool_timeout");
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(db.pool_status().checked_out, 1, "only the held connection");
    held.rollback().await?;
    drop(held);
    crate::harness::settle(&db).await;
    let r = send(&app, "GET", "/todos", None).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "served again once a connection is free"
    );
    assert_no_leak(&db);
    Ok(())
}

async fn misuse_is_reported(_k: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let db = tdb.db()?;
    db.create_all().await?;
    let app = test_app(&db);
    // A Session moved into a task outliving the request cannot be committed.
    let r = send(&app, "POST", "/t/leak", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    tokio::time::sleep(Duration::from_millis(400)).await;
    crate::harness::settle(&db).await;
    assert_eq!(
        todo_count(&db).await?,
        0,
        "the escaped Session's work was rolled back"
    );
    assert_no_leak(&db);
    // Two DbSession extractors in one handler.
    let r = send(&app, "GET", "/t/twice", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    // A route without DbLayer.
    let bare: Router = Router::new().route("/", get(|_s: DbSession| async { "unreachable" }));
    let r = send(&bare, "GET", "/", None).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.content_type, "application/problem+json");
    assert_no_leak(&db);
    Ok(())
}

/// The explicit-commit mode: nothing is committed unless the handler does.
async fn explicit_commit_mode(_k: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    let db = tdb.db()?;
    db.create_all().await?;
    async fn forgets(mut s: DbSession) -> StatusCode {
        s.add(Todo {
            id: 0,
            title: "forgotten".into(),
            done: false,
            version: 0,
        });
        s.flush().await.unwrap();
        StatusCode::OK
    }
    async fn commits(mut s: DbSession) -> Result<StatusCode, AppError> {
        s.add(Todo {
            id: 0,
            title: "kept".into(),
            done: false,
            version: 0,
        });
        s.commit().await?;
        s.add(Todo {
            id: 0,
            title: "after".into(),
            done: false,
            version: 0,
        });
        s.flush().await?;
        Ok(StatusCode::OK)
    }
    let app: Router = Router::new()
        .route("/forgets", post(forgets))
        .route("/commits", post(commits))
        .layer(DbLayer::new(db.clone()).auto_commit(false));
    assert_eq!(
        send(&app, "POST", "/forgets", None).await.status,
        StatusCode::OK
    );
    assert_eq!(todo_count(&db).await?, 0);
    assert_eq!(
        send(&app, "POST", "/commits", None).await.status,
        StatusCode::OK
    );
    let titles: Vec<String> = db
        .engine()
        .execute(text("SELECT title FROM todos"), ())
        .await?
        .scalars()?;
    assert_eq!(titles, ["kept"]);
    assert_no_leak(&db);
    Ok(())
}

all_backends!(
    commit_on_success,
    rollback_on_error_and_panic,
    failed_commit_is_an_error_response,
    pool_timeout_is_503,
    misuse_is_reported,
    explicit_commit_mode,
);

/// Requests in parallel over a real loopback server: every one answered,
/// every row committed, the pool back to idle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_over_loopback() {
    let tdb = TestDatabase::sqlite().await.unwrap();
    let db = Db::from_config(&tdb.config().pool_size(3)).unwrap();
    db.create_all().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(std::future::IntoFuture::into_future(axum::serve(
        listener,
        app::app(db.clone()),
    )));
    let mut tasks = Vec::new();
    for i in 0..20 {
        tasks.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            let body = format!("{{\"title\": \"todo {i}\"}}");
            let req = format!(
                "POST /todos HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            stream.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            stream.read_to_string(&mut out).await.unwrap();
            out
        }));
    }
    for t in tasks {
        let out = t.await.unwrap();
        assert!(out.starts_with("HTTP/1.1 201"), "{out}");
    }
    assert_eq!(todo_count(&db).await.unwrap(), 20);
    crate::harness::settle(&db).await;
    assert_no_leak(&db);
    server.abort();
}

/// Connection lost mid-request: 503, and the next request is served.
async fn connection_lost_is_503(kind: Kind, tdb: TestDatabase) -> aludel::Result<()> {
    if kind == Kind::Sqlite {
        return Ok(());
    }
    let db = tdb.db()?;
    db.create_all().await?;
    async fn kill(mut s: DbSession) -> Result<StatusCode, AppError> {
        let sql = match s.db().engine().url().backend() {
            aludel::Backend::Postgres => "SELECT pg_terminate_backend(pg_backend_pid())",
            _ => "KILL CONNECTION_ID()",
        };
        s.execute(text(sql), ()).await?;
        Ok(StatusCode::OK)
    }
    let app = Router::new()
        .route("/kill", post(kill))
        .merge(app::routes())
        .layer(DbLayer::new(db.clone()))
        .with_state(db.clone());
    let r = send(&app, "POST", "/kill", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{:?}", r.json);
    assert_eq!(r.json["code"], "database_unavailable");
    crate::harness::settle(&db).await;
    assert_no_leak(&db);
    let r = send(&app, "POST", "/todos", Some(json!({"title": "after"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let _ = Todo::table();
    Ok(())
}

all_backends!(connection_lost_is_503);
