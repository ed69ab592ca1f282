//! Aludel's migrations: Alembic's model in Rust.
//!
//! A migration is a [`Revision`]: a 12-hex id, the ids it revises (none
//! for the first, several for a merge), a message, a creation date, and
//! `upgrade` / `downgrade` bodies that record [`Ops`]. [`Revisions`] checks
//! a set of them (duplicate ids, missing down revisions, cycles) and
//! answers graph questions (heads, bases, branch points, what an upgrade or
//! a downgrade runs, in Alembic's order). [`Runner`] applies them to a
//! database and keeps the applied heads in `alembic_version`, exactly as
//! Alembic does, so a database can move between the two tools. Apps use
//! it as `aludel::migrate` (the facade's `migrate` feature, on by default).
//!
//! # The lifecycle
//!
//! As with Flask-Migrate, the app mounts the `db` commands ([`cli`]) into
//! its own command line, and the work goes:
//!
//! 1. **`db init`** creates `migrations/` with `versions/` and a README. The
//!    app compiles the scripts in with
//!    `aludel::migrate::migrations!("migrations/versions")` (see
//!    [Scripts](#scripts)) and its build script calls
//!    [`build::watch`] so a new script rebuilds it.
//! 2. **`db migrate -m "create account"`** (`db revision --autogenerate`)
//!    compares the models — every `#[derive(Model)]` of the program,
//!    registered by the derive — with the database and writes
//!    `versions/<rev>_create_account.rs` made of ops, printing Alembic's
//!    `Detected added table 'account'` lines; review it. With no change it
//!    says "No changes in schema detected." and writes nothing (exit 0).
//!    **`db revision -m "…"`** writes an empty script to fill by hand (data
//!    migrations, raw SQL).
//! 3. **`db upgrade`** (after the rebuild that compiles the new script in;
//!    `cargo run` does it) runs the scripts up to `head`, one
//!    `Running upgrade <from> -> <to>, <message>` line per revision, under
//!    the [migration lock](#the-migration-lock).
//! 4. **`db downgrade`** reverts the last revision (`base`: all of them);
//!    `db history`, `db current`, `db check` (exit 255 when the models and
//!    the database differ) tell where things stand.
//!
//! The same in process, as an app's start-up or a test would do it:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_migrate::Result<()> {
//! use aludel_migrate::cli::{parse_args, Migrate};
//!
//! // an app writes migrations!("migrations/versions"); this is the example app's
//! aludel_migrate::migrations!("../../examples/migrations/migrations/versions");
//!
//! let engine = aludel_core::create_engine("sqlite://")?;
//! let db = Migrate::new(&MIGRATIONS).engine(&engine);
//! let (code, lines) = db.run_captured(&parse_args(["upgrade"])?).await;
//! assert_eq!(code, 0);
//! assert_eq!(lines, [
//!     "Running upgrade  -> 3f1c9a2b7d40, create holder and policy",
//!     "Running upgrade 3f1c9a2b7d40 -> 8d2e4f6a1b93, add premium to policy",
//! ]);
//! let (_, lines) = db.run_captured(&parse_args(["downgrade", "base"])?).await;
//! assert_eq!(lines.len(), 2);
//! assert_eq!(db.run_captured(&parse_args(["current"])?).await, (0, vec![]));
//! # Ok(()) }
//! ```
//!
//! The building blocks underneath, without the command line:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_migrate::Result<()> {
//! use aludel_core::schema::{Column, SqlType, Table};
//! use aludel_core::{params, text};
//! use aludel_migrate::{Ops, Revision, Revisions, Runner};
//!
//! pub const CREATE_ACCOUNT: Revision = Revision::new("1975ea83b712", &[], "create account table")
//!     .created("2024-05-01 10:00:00.000000")
//!     .upgrade(|op: &mut Ops| {
//!         let account = Table::builder("account")
//!             .column(Column::new("id", SqlType::Integer).primary_key())
//!             .column(Column::new("name", SqlType::string(50)).not_null())
//!             .build()?;
//!         op.create_table(&account);
//!         op.bulk_insert(&account, [params! { "id": 1, "name": "Ada" }]);
//!         Ok(())
//!     })
//!     .downgrade(|op: &mut Ops| {
//!         op.drop_table("account");
//!         Ok(())
//!     });
//!
//! pub const ADD_PLAN: Revision = Revision::new("ae1027a6acf0", &["1975ea83b712"], "add plan column")
//!     .upgrade(|op: &mut Ops| {
//!         op.add_column("account", Column::new("plan", SqlType::string(20)).server_default("free"));
//!         Ok(())
//!     })
//!     .downgrade(|op: &mut Ops| {
//!         op.drop_column("account", "plan");
//!         Ok(())
//!     });
//!
//! let engine = aludel_core::create_engine("sqlite://")?;
//! let revisions = Revisions::new([CREATE_ACCOUNT, ADD_PLAN])?;
//! let runner = Runner::new(&engine, &revisions);
//! assert_eq!(
//!     runner.upgrade("head").await?,
//!     [
//!         "Running upgrade  -> 1975ea83b712, create account table",
//!         "Running upgrade 1975ea83b712 -> ae1027a6acf0, add plan column",
//!     ]
//! );
//! let plan: String = engine.execute(text("SELECT plan FROM account"), ()).await?.scalar_one()?;
//! assert_eq!(plan, "free");
//! assert_eq!(
//!     runner.downgrade("-1").await?,
//!     ["Running downgrade ae1027a6acf0 -> 1975ea83b712, add plan column"]
//! );
//! assert_eq!(runner.current().await?, ["1975ea83b712"]);
//! # Ok(()) }
//! ```
//!
//! # Targets
//!
//! As Alembic's: `head` (the only head; with several it is an error that
//! says to `db merge heads`), `heads`, `base`, a full revision id or a
//! unique prefix of one (`ae1`), `+N` / `-N` relative to the current
//! revision, `<rev>+N` / `<rev>-N`.
//!
//! # Ops
//!
//! | op | SQL |
//! | --- | --- |
//! | [`create_table`](Ops::create_table) | `CREATE TABLE` with named constraints, its indexes, comments, and PostgreSQL enum types |
//! | [`drop_table`](Ops::drop_table) | `DROP TABLE` |
//! | [`rename_table`](Ops::rename_table) | `ALTER TABLE … RENAME TO` |
//! | [`add_column`](Ops::add_column) | `ALTER TABLE … ADD COLUMN`, plus its foreign key, unique constraint, index |
//! | [`drop_column`](Ops::drop_column) | `ALTER TABLE … DROP COLUMN` |
//! | [`create_index`](Ops::create_index) | `CREATE [UNIQUE] INDEX` |
//! | [`drop_index`](Ops::drop_index) | `DROP INDEX` (`… ON table` on MySQL) |
//! | [`alter_column`](Ops::alter_column) | type, nullability, server default, rename: `ALTER COLUMN` (PostgreSQL), `CHANGE COLUMN` (MySQL), `RENAME COLUMN` (SQLite), else a rebuild (SQLite) |
//! | [`create_foreign_key`](Ops::create_foreign_key) | `ADD CONSTRAINT … FOREIGN KEY` (a rebuild on SQLite) |
//! | [`create_unique_constraint`](Ops::create_unique_constraint) | `ADD CONSTRAINT … UNIQUE` (a rebuild on SQLite) |
//! | [`create_check_constraint`](Ops::create_check_constraint) | `ADD CONSTRAINT … CHECK` (a rebuild on SQLite) |
//! | [`drop_constraint`](Ops::drop_constraint) | `DROP CONSTRAINT` / MySQL's `DROP FOREIGN KEY`, `DROP INDEX`, `DROP PRIMARY KEY` (a rebuild on SQLite) |
//! | [`execute`](Ops::execute), [`execute_with`](Ops::execute_with) | raw SQL, with bound `:name` values |
//! | [`bulk_insert`](Ops::bulk_insert) | multi-row `INSERT`s, values bound |
//! | [`run`](Ops::run) | a data migration: an async closure given the connection |
//!
//! SQLite cannot change a column or a constraint in place; there those
//! ops rebuild the table as Alembic's batch mode does, without being
//! asked: `CREATE TABLE _alembic_tmp_<name>` with the new shape, copy the
//! rows, drop the old table, rename the new one, create the indexes again,
//! all inside the revision's transaction. Rows, indexes, unique and named
//! check constraints and foreign keys (to and from the table) are kept.
//! Such a revision runs with `PRAGMA foreign_keys` off (set before its
//! transaction opens, since SQLite ignores it inside one, and restored
//! after) and a `PRAGMA foreign_key_check` before its commit: a violation
//! rolls the revision back.
//!
//! Identifiers are always quoted by the dialect; values are always bound
//! (a column's DEFAULT is the one literal, rendered by the dialect).
//!
//! # Transactions
//!
//! On PostgreSQL and SQLite each revision runs in one transaction together
//! with its version-table update: when an op fails, nothing of that
//! revision remains and the version table still names the revision before
//! it. Revisions before it in the same command stay applied (Alembic's
//! `transaction_per_migration=True`).
//!
//! # MySQL and MariaDB
//!
//! These servers commit every DDL statement implicitly, so a revision
//! cannot be rolled back. The runner therefore records its progress in a
//! small table, `aludel_migration_progress(revision, direction,
//! ops_done)`: after each op it records how many ops of the revision have
//! run. When an op fails, the error (kind [`ErrorKind::Database`]) names
//! the revision, the failing op and how many ran before it
//! ([`Error::ops_done`]), and says that the next run resumes there. Fix the
//! failing op (without reordering the ones before it) and run the same
//! command again: the runner skips the ops that ran and continues with the
//! failed one instead of failing on "table exists". Any other command
//! first asks to finish that revision ([`ErrorKind::Incomplete`]);
//! [`Runner::stamp`] forgets it. The progress table is dropped again when
//! a command ends with nothing left halfway, so a database migrated without
//! trouble holds only `alembic_version`. A data op (DML) commits together
//! with its progress record; a DDL op commits before it, so a process
//! killed between the two re-runs that one op.
//!
//! # Scripts
//!
//! Scripts live in `migrations/versions/<rev>_<slug>.rs` and are Rust
//! compiled into the app; [`migrations!`] finds them (no hand-kept list:
//! every `<rev>_<slug>.rs` of the directory, sorted, each checked to carry
//! the id its name starts with) and defines `static MIGRATIONS:
//! Migrations`. A script is a `REVISION` constant and two functions that
//! record ops; the names come from [`prelude`], which the macro puts in
//! scope. The header comment is Alembic's, and `db history` reads it back:
//!
//! ```text
//! // migrations/versions/ae1027a6acf0_add_plan_column.rs (what `db revision` writes)
//! pub const REVISION: Revision = Revision::new("ae1027a6acf0", &["1975ea83b712"], "add plan column")
//!     .created("2024-05-02 10:00:00.000000")
//!     .upgrade(upgrade)
//!     .downgrade(downgrade);
//!
//! fn upgrade(op: &mut Ops) -> Result<()> {
//!     op.add_column("account", Column::new("plan", SqlType::string(20)).server_default("free"));
//!     Ok(())
//! }
//! fn downgrade(op: &mut Ops) -> Result<()> {
//!     op.drop_column("account", "plan");
//!     Ok(())
//! }
//! ```
//!
//! Why a procedural macro plus an optional build-script line
//! ([`build::watch`]) rather than a build script that generates the
//! registry: the macro needs no `OUT_DIR` include and checks each file's
//! name against its id at compile time, and `include!` makes rustc track
//! every script, so an edit rebuilds the app; only a *new* file needs the
//! build script's `rerun-if-changed`, which a proc macro cannot declare on
//! stable Rust.
//!
//! # The migration lock
//!
//! [`Runner::upgrade`], [`Runner::downgrade`] and [`Runner::stamp`] hold a
//! lock on the database while they work, so several instances of an app
//! that migrate at start-up are safe: one runs the revisions, the others
//! wait and then find nothing to do. PostgreSQL: a transaction-level
//! advisory lock (key [`POSTGRES_LOCK_KEY`]) on a connection of its own;
//! MySQL/MariaDB: `GET_LOCK('aludel_migrate.<database>')`; SQLite: an
//! exclusive `flock` on `<database file>-migrate.lock` (released by the OS
//! if the process dies; an in-memory database needs none). After
//! [`Runner::lock_timeout`] (default 60 s) the error
//! ([`ErrorKind::LockTimeout`]) names the holder: PostgreSQL's backend
//! pid, `application_name` (`aludel-migrate pid N on HOST`) and client;
//! MySQL's connection id and user@host; SQLite's pid and host.
//!
//! # Autogenerate
//!
//! [`check`] and [`autogenerate`] compare a [`MetaData`](aludel_core::schema::MetaData)
//! with the reflected live schema ([`compare_metadata`]): tables, columns,
//! types, nullability, server defaults, indexes, unique constraints and
//! foreign keys, each side first put in the form the backend reports, so
//! a database made by `create_all` shows no difference on any backend. A
//! column dropped and one added with the same type is proposed as a
//! rename (with a comment in the script); tables no model owns are never
//! dropped unless [`AutogenerateOptions::include_drop_tables`] asks;
//! [`Difference::is_destructive`] marks what can lose data. Every
//! constraint in a generated script carries a name (the naming
//! convention's, `pk_`/`fk_`/`uq_`/`ix_`/`ck_`), so none is left unnamed
//! and a downgrade can always drop what an upgrade made. The command line
//! compares every `#[derive(Model)]` of the program
//! (`aludel::orm::registered_metadata()`), or what
//! [`cli::Migrate::metadata`] gives.
//!
//! # Offline SQL
//!
//! [`offline::upgrade_sql`] and [`offline::downgrade_sql`] render a range
//! of revisions for a dialect without a database (`db upgrade --sql`),
//! version-table changes included; ops that need the live database (data
//! migrations) are refused naming the revision.
//!
//! # Moving between Alembic and Aludel
//!
//! The version table is Alembic's: `alembic_version(version_num
//! VARCHAR(32) NOT NULL)` with a primary key named
//! `alembic_version_pkc`, one row per applied head, ids as Alembic writes
//! them. A database Alembic migrated continues under Aludel when the Aludel
//! chain carries the same revision ids (write each script with `db revision
//! --rev-id <alembic's id>` and the same `down_revision`), and back; a
//! revision id Aludel does not know is an error naming it, listing the
//! heads and suggesting `db stamp`. The test suite runs Alembic itself (from
//! PyPI, with `ALUDEL_ALEMBIC_TESTS=1`) taking turns with Aludel on one
//! database of each backend.
//!
//! # The `db` command line
//!
//! [`cli`] (feature `cli`, on by default): `DbArgs` to mount in the app's
//! clap CLI, `Migrate` to run it, `cli::main` for a ready binary. See its
//! docs for the commands and exit codes.
//!
//! # Logging
//!
//! Each revision logs one line at INFO under the target `aludel::migrate`,
//! worded as Alembic's; [`Runner`]'s commands also return the lines.
#![warn(missing_docs)]

mod autogenerate;
mod batch;
mod compare;
mod error;
mod graph;
mod ops;
mod revision;
mod runner;
mod version;

pub use autogenerate::{autogenerate, check, render_revision, GeneratedScript};
pub use compare::{compare_metadata, AutogenerateOptions, Difference};
pub use error::{Error, ErrorKind, Result};
pub use graph::Revisions;
pub use ops::{AlterColumn, BoxFuture, ConstraintKind, Ops};
pub use revision::{new_revision_id, Body, Revision};
pub use runner::Runner;
pub use version::{version_table, PROGRESS_TABLE, VERSION_TABLE};

// Scripts, discovery, the lock, offline SQL and the `db` command line.
pub mod build;
#[cfg(feature = "cli")]
pub mod cli;
mod lock;
pub mod offline;
mod script;

pub use lock::POSTGRES_LOCK_KEY;
pub use runner::DEFAULT_LOCK_TIMEOUT;
pub use script::{read_scripts, render_script, slug, Migrations, Script, ScriptHeader};

/// What every revision script has in scope: [`migrations!`] compiles each
/// script with `use <this crate>::prelude::*;` in front of it, so scripts
/// name `Ops`, `Table`, `Column`… without imports, whichever crate (this
/// one or a facade re-exporting it) the app depends on.
pub mod prelude {
    pub use crate::{AlterColumn, ConstraintKind, Ops, Revision};
    pub use aludel_core::schema::{
        Column, ForeignKey, Index, ReferentialAction, SqlType, Table, UniqueConstraint,
    };
    pub use aludel_core::{params, text, Connection, Params, Result, Value};
}

/// Compile every revision script of a directory into the app and define
/// `pub static MIGRATIONS: Migrations` listing them — no hand-kept list.
///
/// The path is relative to the crate's `Cargo.toml`. Each
/// `<rev>_<slug>.rs` file (files starting with `_` or `.` are skipped)
/// becomes a private module holding the file, with [`prelude`] in scope;
/// it must define `pub const REVISION: Revision`. A file whose name does
/// not start with its revision id is a compile error naming both. A
/// directory that does not exist yet holds no script (so the app builds
/// before its first `db init`). Through the facade it is
/// `aludel::migrate::migrations!`, and the scripts' prelude comes along.
///
/// ```
/// // in an app: aludel_migrate::migrations!("migrations/versions");
/// aludel_migrate::migrations!("../../examples/migrations/migrations/versions");
///
/// let revisions = MIGRATIONS.revisions()?;
/// assert_eq!(revisions.heads()[0].message(), "add premium to policy");
/// assert_eq!(MIGRATIONS.scripts()[0].file(), "3f1c9a2b7d40_create_holder_and_policy.rs");
/// # Ok::<(), aludel_migrate::Error>(())
/// ```
///
/// A change to an existing script rebuilds the app (the files are
/// `include!`d, so rustc tracks them). A *new* file is compiled in at the
/// next build of the crate; to make adding one trigger that build, call
/// [`build::watch`] from the app's build script.
#[macro_export]
macro_rules! migrations {
    ($dir:literal) => {
        $crate::__private::migrations!($crate; $dir);
    };
}

#[doc(hidden)]
pub mod __private {
    pub use aludel_macros::migrations;
}
