//! Protect's tests: one binary, a module per topic. The app's Router is
//! driven with `tower::ServiceExt::oneshot` (and over loopback for the
//! browser test), each test in a database of its own (aludel-axum's
//! `TestDatabase`) migrated with Protect's own revisions, on SQLite,
//! PostgreSQL and MariaDB.

mod harness;

mod bad_input;
mod browser;
mod cli;
mod crud;
mod filters;
mod migrations;
mod outage;
mod pages;
mod transactions;
