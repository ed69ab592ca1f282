//! # Aludel
//!
//! SQLAlchemy's architecture, in Rust: an [`Engine`] made of a URL, a
//! [`Dialect`] and a connection pool; [`Connection`]s with SQLAlchemy 2.0's
//! transactions ("commit as you go" and "begin once", savepoints); textual
//! SQL with named binds; results with `one()`, `scalars()`, `mappings()`;
//! one [`Value`] model and one [`Error`] type across SQLite, PostgreSQL and
//! MySQL/MariaDB.
//!
//! ## Quickstart
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel::Result<()> {
//! use aludel::{create_engine, params, text, FromRow};
//!
//! #[derive(FromRow, Debug)]
//! struct User {
//!     id: i64,
//!     name: String,
//! }
//!
//! // SQLite in memory; "postgresql://user@host/db" or "mysql://…" work the same.
//! let engine = create_engine("sqlite://")?;
//! let mut conn = engine.connect().await?;
//! conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"), ())
//!     .await?;
//! conn.execute(text("INSERT INTO users (name) VALUES (:name)"), params! { "name": "Ada" })
//!     .await?;
//! conn.commit().await?;
//!
//! let users: Vec<User> = conn
//!     .execute(text("SELECT id, name FROM users WHERE name = :name"), params! { "name": "Ada" })
//!     .await?
//!     .all_as()?;
//! assert_eq!(users[0].name, "Ada");
//! # Ok(()) }
//! ```
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `sqlite` | yes | SQLite through rusqlite (bundled SQLite) |
//! | `postgres` | no | PostgreSQL through tokio-postgres |
//! | `mysql` | no | MySQL and MariaDB through mysql_async |
//! | `chrono` | yes | dates and times as chrono types |

pub use aludel_core::*;

/// The ORM: models (and, as issue 5 lands, the Session and model queries).
pub mod orm {
    pub use aludel_orm::*;
}
/// Derive [`FromRow`](trait@FromRow): decode a row into a struct, column by
/// field name (tuple structs by position). Field attributes:
/// `#[aludel(rename = "column")]` reads another column, `#[aludel(default)]`
/// uses `Default::default()` when the row has no such column.
///
/// ```
/// # aludel::doctest::run(|mut conn| async move {
/// use aludel::{text, FromRow};
///
/// #[derive(FromRow, Debug, PartialEq)]
/// struct User {
///     id: i64,
///     #[aludel(rename = "full_name")]
///     name: String,
///     nickname: Option<String>,
/// }
///
/// let user: User = conn
///     .execute(text("SELECT 1 AS id, 'Ada Lovelace' AS full_name, NULL AS nickname"), ())
///     .await?
///     .one_as()?;
/// assert_eq!(user, User { id: 1, name: "Ada Lovelace".into(), nickname: None });
/// # Ok(()) });
/// ```
pub use aludel_macros::FromRow;

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
