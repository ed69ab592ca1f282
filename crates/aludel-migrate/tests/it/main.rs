//! aludel-migrate's integration tests: one binary, a module per topic;
//! every test body runs on SQLite, PostgreSQL and MariaDB (see `harness`).

#[macro_use]
mod harness;

mod alter;
mod batch;
mod runner;
