//! Aludel's integration tests: one binary, a module per topic. Each test
//! body runs on SQLite, PostgreSQL and MariaDB (see `harness`).

#[macro_use]
mod harness;

mod cancel;
mod ddl;
mod engine;
mod errors;
mod examples;
mod expr;
mod models;
mod observe;
mod pagination;
mod pool;
mod reflect;
mod relationships;
mod results;
mod roundtrip;
mod session;
mod ui;
mod values;
