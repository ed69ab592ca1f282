//! [`DbLayer`]: the middleware that owns each request's Session — commit or
//! rollback after the handler, before the response leaves — and its tracing
//! span and query budget.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use aludel_orm::Session;
use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tower::{Layer, Service};
use tracing::field::Empty;
use tracing::Instrument;

use crate::db::Db;
use crate::error::AppError;
use crate::session::{RequestDb, Slot};

/// The middleware that gives each request its Session and ends it: wrap the
/// routes that extract [`DbSession`](crate::DbSession).
///
/// ```
/// use aludel_axum::{Db, DbLayer};
/// use axum::{routing::get, Router};
/// # fn main() -> aludel_core::Result<()> {
/// let db = Db::new(aludel_core::create_engine("sqlite://")?);
/// let app: Router = Router::new()
///     .route("/", get(|| async { "ok" }))
///     .layer(DbLayer::new(db).query_budget(20));
/// # let _ = app; Ok(()) }
/// ```
///
/// After the handler, for a request that extracted its Session:
///
/// | the handler… | the layer | the client gets |
/// | --- | --- | --- |
/// | returned 2xx or 3xx | flushes and COMMITs | the handler's response |
/// | …but the flush or COMMIT failed | rolls back | the error's problem document (409, 503, 500) instead |
/// | returned any other status (an `Err`) | rolls back | the handler's response |
/// | panicked | rolls back | 500 problem document |
/// | called [`set_rollback_only`](crate::DbSession::set_rollback_only) | rolls back | the handler's response |
///
/// With [`auto_commit(false)`](DbLayer::auto_commit) the layer never
/// commits: handlers call `session.commit().await?` themselves and whatever
/// is left uncommitted is rolled back.
///
/// **Tracing.** Each request runs in an INFO span `request` (target
/// `aludel::axum`) with `http.request.method`, `http.route` (the matched
/// route, `/users/{id}`), and, when it ends, `http.response.status_code`,
/// `db.statements` (the Session's statements, [`Session::statement_count`]),
/// `db.statement_ms` (the time spent waiting for them,
/// [`Session::statement_time`]),
/// `db.outcome` (`commit`, `rollback`, `commit_failed`, `none`) and
/// `db.session_ms` / `db.commit_ms` (how long the Session lived, and its
/// final flush + COMMIT). The engine's `db.query` span of each statement,
/// with its duration, is a child of it.
///
/// **Query budget.** With [`query_budget(n)`](DbLayer::query_budget), a
/// request whose Session ran more than `n` statements is logged at WARN
/// (`request ran 41 statements, over its budget of 10: a likely N+1 …`);
/// with [`fail_over_budget(true)`](DbLayer::fail_over_budget) (for tests)
/// it is also rolled back and answered with a 500.
#[derive(Clone)]
pub struct DbLayer {
    cfg: Arc<LayerConfig>,
}

#[derive(Clone)]
struct LayerConfig {
    db: Db,
    budget: Option<u64>,
    fail_over_budget: bool,
    auto_commit: bool,
}

impl std::fmt::Debug for DbLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbLayer")
            .field("budget", &self.cfg.budget)
            .field("fail_over_budget", &self.cfg.fail_over_budget)
            .field("auto_commit", &self.cfg.auto_commit)
            .finish_non_exhaustive()
    }
}

impl DbLayer {
    /// A layer making each request's Session from `db`, committing on
    /// success, with no query budget.
    pub fn new(db: Db) -> DbLayer {
        DbLayer {
            cfg: Arc::new(LayerConfig {
                db,
                budget: None,
                fail_over_budget: false,
                auto_commit: true,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut LayerConfig)) -> DbLayer {
        f(Arc::make_mut(&mut self.cfg));
        self
    }

    /// Warn when a request runs more than `n` statements (an N+1 loop).
    pub fn query_budget(self, n: u64) -> DbLayer {
        self.edit(|c| c.budget = Some(n))
    }

    /// Also fail a request over its budget: roll it back and answer 500
    /// (code `query_budget_exceeded`). Meant for tests.
    pub fn fail_over_budget(self, on: bool) -> DbLayer {
        self.edit(|c| c.fail_over_budget = on)
    }

    /// Commit after a successful handler (default on). Off, handlers commit
    /// explicitly and the layer only rolls back what is left.
    pub fn auto_commit(self, on: bool) -> DbLayer {
        self.edit(|c| c.auto_commit = on)
    }
}

impl<S> Layer<S> for DbLayer {
    type Service = DbService<S>;
    fn layer(&self, inner: S) -> DbService<S> {
        DbService {
            inner,
            cfg: self.cfg.clone(),
        }
    }
}

/// The service [`DbLayer`] wraps a route in.
#[derive(Clone)]
pub struct DbService<S> {
    inner: S,
    cfg: Arc<LayerConfig>,
}

impl<S> std::fmt::Debug for DbService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbService").finish_non_exhaustive()
    }
}

impl<S> Service<Request> for DbService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        // The clone is not ready; the one that was polled ready serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let cfg = self.cfg.clone();
        let slot = Arc::new(Slot::new(cfg.db.clone()));
        req.extensions_mut().insert(RequestDb(slot.clone()));
        let route = match req.extensions().get::<MatchedPath>() {
            Some(p) => p.as_str().to_string(),
            None => req.uri().path().to_string(),
        };
        let method = req.method().clone();
        let span = tracing::info_span!(
            target: "aludel::axum",
            "request",
            http.request.method = %method,
            http.route = %route,
            http.response.status_code = Empty,
            db.statements = Empty,
            db.statement_ms = Empty,
            db.outcome = Empty,
            db.session_ms = Empty,
            db.commit_ms = Empty,
        );
        let fut = async move {
            let handled = AssertUnwindSafe(async move { inner.call(req).await })
                .catch_unwind()
                .await;
            let ended = match handled {
                Ok(Ok(res)) => Ended::Response(res),
                Ok(Err(e)) => Ended::Error(e),
                Err(panic) => Ended::Panic(panic),
            };
            let req = Finish {
                cfg: &cfg,
                slot: &slot,
                method: method.as_str(),
                route: &route,
            };
            let out = req.finish(ended).await;
            if let Ok(res) = &out {
                tracing::Span::current().record("http.response.status_code", res.status().as_u16());
            }
            out
        };
        Box::pin(fut.instrument(span))
    }
}

enum Ended<E> {
    Response(Response),
    Error(E),
    Panic(Box<dyn Any + Send>),
}

struct Finish<'a> {
    cfg: &'a LayerConfig,
    slot: &'a Slot,
    method: &'a str,
    route: &'a str,
}

impl Finish<'_> {
    async fn finish<E>(&self, ended: Ended<E>) -> Result<Response, E> {
        let span = tracing::Span::current();
        // The handler has returned (or unwound), so its DbSession is gone;
        // a Session still locked was moved into a task that outlives the
        // request and cannot be committed.
        let taken = match self.slot.session.try_lock() {
            Ok(mut guard) => guard.take(),
            Err(_) => {
                span.record("db.outcome", "in_use");
                let err = AppError::internal(format!(
                    "{} {}: the request's Session was still in use after the handler returned \
                     (moved into a spawned task?); nothing it did was committed",
                    self.method, self.route
                ));
                return match ended {
                    Ended::Error(e) => Err(e),
                    _ => Ok(err.into_response()),
                };
            }
        };
        let controls = self.slot.controls();
        let Some(mut session) = taken else {
            span.record("db.outcome", "none");
            return match ended {
                Ended::Response(res) => Ok(res),
                Ended::Error(e) => Err(e),
                Ended::Panic(p) => Ok(panic_response(p, self.method, self.route)),
            };
        };
        if let Some(started) = controls.started {
            span.record("db.session_ms", started.elapsed().as_secs_f64() * 1e3);
        }
        let budget = controls.budget.unwrap_or(self.cfg.budget);
        let response = match ended {
            Ended::Error(e) => {
                self.rollback(&mut session, "rollback").await;
                self.check_budget(&session, budget);
                return Err(e);
            }
            Ended::Panic(p) => {
                // The Session may be half-way through an operation: roll it
                // back guarded, and drop it (the pool rolls its connection
                // back on return) if even that panics.
                let rolled = AssertUnwindSafe(session.rollback()).catch_unwind().await;
                span.record("db.outcome", "rollback");
                if rolled.is_err() {
                    tracing::error!(target: "aludel::axum", "rollback after a panic panicked too; the Session was dropped");
                }
                self.check_budget(&session, budget);
                return Ok(panic_response(p, self.method, self.route));
            }
            Ended::Response(res) => res,
        };
        let status = response.status();
        let success = status.is_success() || status.is_redirection();
        if !(success && self.cfg.auto_commit && !controls.rollback_only) {
            self.rollback(&mut session, "rollback").await;
            self.check_budget(&session, budget);
            return Ok(response);
        }
        let start = Instant::now();
        // Flush first, so the budget sees the statements the commit writes.
        if let Err(e) = session.flush().await {
            return Ok(self.commit_failed(&mut session, e, budget).await);
        }
        if self.over_budget(&session, budget) && self.cfg.fail_over_budget {
            self.rollback(&mut session, "rollback").await;
            let n = session.statement_count();
            self.check_budget(&session, budget);
            return Ok(AppError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "query_budget_exceeded",
                format!(
                    "{} {} ran {n} statements, over its budget of {}; the transaction was rolled back",
                    self.method,
                    self.route,
                    budget.unwrap_or_default()
                ),
            )
            .with("statements", n)
            .with("budget", budget.unwrap_or_default())
            .into_response());
        }
        if let Err(e) = session.commit().await {
            return Ok(self.commit_failed(&mut session, e, budget).await);
        }
        span.record("db.commit_ms", start.elapsed().as_secs_f64() * 1e3);
        span.record("db.outcome", "commit");
        span.record("db.statements", session.statement_count());
        span.record(
            "db.statement_ms",
            session.statement_time().as_secs_f64() * 1e3,
        );
        self.check_budget(&session, budget);
        Ok(response)
    }

    async fn commit_failed(
        &self,
        session: &mut Session,
        e: aludel_core::Error,
        budget: Option<u64>,
    ) -> Response {
        self.rollback(session, "commit_failed").await;
        self.check_budget(session, budget);
        tracing::warn!(
            target: "aludel::axum",
            kind = ?e.kind(),
            "{} {}: the commit failed, the handler's response was replaced: {e}",
            self.method, self.route
        );
        AppError::from(e)
            .context("the changes could not be saved")
            .into_response()
    }

    async fn rollback(&self, session: &mut Session, outcome: &'static str) {
        if let Err(e) = session.rollback().await {
            // The connection was closed or given back anyway; the pool
            // checks it before lending it again.
            tracing::warn!(target: "aludel::axum", "rollback failed: {e}");
        }
        let span = tracing::Span::current();
        span.record("db.outcome", outcome);
        span.record("db.statements", session.statement_count());
        span.record(
            "db.statement_ms",
            session.statement_time().as_secs_f64() * 1e3,
        );
    }

    fn over_budget(&self, session: &Session, budget: Option<u64>) -> bool {
        budget.is_some_and(|b| session.statement_count() > b)
    }

    fn check_budget(&self, session: &Session, budget: Option<u64>) {
        if let Some(b) = budget {
            let n = session.statement_count();
            if n > b {
                tracing::warn!(
                    target: "aludel::axum",
                    statements = n,
                    budget = b,
                    http.request.method = self.method,
                    http.route = self.route,
                    "{} {} ran {n} statements, over its budget of {b}: a likely N+1 loop \
                     (load the relationship with selectin/joined)",
                    self.method,
                    self.route,
                );
            }
        }
    }
}

fn panic_response(payload: Box<dyn Any + Send>, method: &str, route: &str) -> Response {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_string());
    tracing::error!(target: "aludel::axum", "{method} {route}: the handler panicked: {message}");
    AppError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal server error; nothing the request did was saved",
    )
    .into_response()
}
