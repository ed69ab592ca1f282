//! # Protect
//!
//! The home-insurance service of the talk's "live code: Protect", built on
//! axum and Aludel the way a team would build it for production:
//!
//! - [`models`]: customers, homes, policies, riders, claims and each
//!   claim's status history, with every relationship kind of the ORM;
//! - [`api`]: the JSON API (create, read, update, delete; paginated lists
//!   with filters; problem documents for errors);
//! - [`pages`]: server-rendered pages (the policies list with pagination
//!   links, a policy with its claims);
//! - `migrations/versions/`: the schema's revisions, written by `db
//!   migrate` and compiled in ([`MIGRATIONS`]);
//! - [`seed`]: `db seed`, a few thousand rows of reproducible sample data.
//!
//! Each request gets a Session of its own from aludel-axum's
//! [`DbLayer`], committed before the response leaves, or rolled back.
//!
//! ```sh
//! cargo run -p protect -- serve --upgrade --seed          # SQLite file protect.db, http://127.0.0.1:3000
//! DATABASE_URL=postgresql://postgres@127.0.0.1/protect cargo run -p protect -- serve --upgrade --seed
//! ```

#![warn(missing_docs)]

pub mod api;
pub mod models;
pub mod pages;
pub mod seed;
pub mod seed_data;

use aludel::migrate::cli::{parse_args, Migrate};
use aludel_axum::{Db, DbLayer};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

aludel::migrate::migrations!("migrations/versions");

/// The statements one request may run before a WARN flags it (an N+1 loop).
pub const QUERY_BUDGET: u64 = 20;

/// The whole service: the API, the pages and `/health`, each request in
/// a Session of its own, committed before the response leaves.
pub fn app(db: Db) -> Router {
    routes()
        .layer(DbLayer::new(db.clone()).query_budget(QUERY_BUDGET))
        .with_state(db)
}

/// The routes without the Session layer (to add routes or another layer).
pub fn routes() -> Router<Db> {
    api::routes()
        .merge(pages::routes())
        .route("/health", get(health))
}

/// `GET /health`: the pool's state (`size`, `idle`, `checked_out`).
async fn health(State(db): State<Db>) -> Json<serde_json::Value> {
    let p = db.pool_status();
    Json(serde_json::json!({
        "status": "ok",
        "pool": { "size": p.size, "idle": p.idle, "checked_out": p.checked_out }
    }))
}

/// The `db` command's runner for `db`: Protect's scripts and models, its
/// `migrations/` directory.
pub fn migrate(db: &Db) -> Migrate {
    db.migrate(&MIGRATIONS)
        .directory(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
}

/// `db upgrade`: run the migrations up to the head revision, one line per
/// revision to `out`.
///
/// # Errors
/// The migration's error (the database's, or a revision that failed).
pub async fn upgrade(db: &Db, out: impl Fn(&str) + Send + Sync + 'static) -> aludel::Result<()> {
    let args = parse_args(["upgrade", "head"])?;
    migrate(db).run_with(&args, out).await?;
    Ok(())
}
