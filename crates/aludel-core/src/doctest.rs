//! The hidden setup shared by doctests: a connection to a fresh in-memory
//! SQLite database, as Diesel's `doctest_setup.rs` does.

use std::future::Future;

use crate::{create_engine, Connection, Result};

/// Run `f` with a connection to a new in-memory SQLite database.
///
/// # Panics
/// When `f` returns an error, so the doctest fails with it.
pub fn run<F, Fut>(f: F)
where
    F: FnOnce(Connection) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let engine = create_engine("sqlite://").expect("engine");
        let conn = engine.connect().await.expect("connection");
        if let Err(e) = f(conn).await {
            panic!("doctest failed: {e}");
        }
    });
}
