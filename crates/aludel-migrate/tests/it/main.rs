//! aludel-migrate's integration tests: one binary, a module per topic;
//! every test body runs on SQLite, PostgreSQL and MariaDB (see `harness`).

#[macro_use]
mod harness;

mod alembic;
mod alter;
mod autogenerate;
mod batch;
mod cli;
mod flow;
mod lock;
mod offline;
mod runner;
