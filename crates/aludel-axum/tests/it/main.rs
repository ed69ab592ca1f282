//! aludel-axum's HTTP tests: one binary, a module per topic. The example
//! app (`examples/todos/app.rs`) is compiled in and driven with
//! `tower::ServiceExt::oneshot` on SQLite, PostgreSQL and MariaDB.

#[path = "../../examples/todos/app.rs"]
#[allow(dead_code)]
mod app;

mod harness;

mod binds;
mod cli;
mod config;
mod errors;
mod fixtures;
mod observe;
mod pagination;
mod requests;
