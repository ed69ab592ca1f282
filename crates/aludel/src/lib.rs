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

/// Derive [`orm::Model`](trait@orm::Model): map a struct with named fields
/// to a table. It generates `impl FromRow` (do not derive `FromRow` too),
/// `impl orm::Model` (the [`Table`](schema::Table), built once; the column
/// names, primary key positions, `to_values`, `set_value`) and, per mapped
/// field, a typed column handle as an associated constant:
/// `User::email: sql::Col<String>`, with the field's visibility. A handle
/// knows its table, so `select([User::id]).filter(User::email.eq("…"))`
/// needs no FROM. The struct must also be `Clone + Send + Sync`, every
/// field `Clone + Into<Value> + FromValue`, and have no method named like a
/// field (the handle takes that name).
///
/// **Types.** A field's SQL type comes from [`orm::ColumnType`]: `bool`,
/// `i16`, `i32`, `i64`, `f32`, `f64`, `String` (`VARCHAR(255)` unless
/// `length`/`text`), `Vec<u8>`, `Uuid`, `Decimal`, `serde_json::Value`, the
/// chrono types and a `#[derive(DbEnum)]` enum. A field written `Option<T>`
/// is a nullable column of `T`'s type, and its handle is a `Col<T>`, so
/// `User::nickname.eq("x")` and `User::nickname.is_null()` both read as SQL
/// does; every other column is NOT NULL. Any other type is a compile error
/// at the field listing the supported ones.
///
/// **On the struct:**
/// - `table = "users"`: the table's name; by default the struct's name in
///   snake_case (`BlogPost` → `blog_post`, no plural is guessed).
/// - `schema = "name"`: the schema the table lives in.
/// - Relationships, each a typed constant `Self::name`
///   ([`orm::Relationship`]), loaded and written through the
///   [`Session`](orm::Session):
///   - `has_many(posts: Post, …)`: one-to-many, the foreign key on `Post`;
///   - `has_one(profile: Profile, …)`: one-to-one, the foreign key on `Profile`;
///   - `belongs_to(author: User, …)`: many-to-one, the foreign key here;
///   - `many_to_many(tags: Tag, through = PostTag, …)`: through an
///     association model with a foreign key to each side.
///
///   Options: `back_populates = "name"` (the mirror relationship, kept in
///   step inside the Session), `foreign_key = "column"` (when the tables
///   have several foreign keys between them, as self-referential models
///   do), `cascade = "all, delete-orphan"` (SQLAlchemy's words),
///   `lazy = "selectin" | "joined" | "raise"` (how every query of the model
///   loads it unless the query's own option says otherwise; `"select"`, the
///   default, loads only with `load_related`) and `passive_deletes` (leave
///   deletes to the database's ON DELETE). The
///   foreign key is found when first used, or by
///   [`Model::check_relationships`](orm::Model::check_relationships) at
///   startup; a missing or ambiguous one is an error naming both models.
///
/// **On a field** (the attributes combine):
/// - `primary_key`: part of the primary key (several make a composite key);
///   at least one is required. A lone integer key autoincrements.
/// - `autoincrement` / `autoincrement = false`: force the database to
///   generate the value, or stop it.
/// - `column = "name"`: the column's name (default: the field's).
/// - `unique`, `index`: a single-column UNIQUE constraint, an index.
/// - `foreign_key = "table.column"`, with `on_delete` / `on_update` =
///   `"cascade"`, `"set null"`, `"set default"`, `"restrict"` or
///   `"no action"`.
/// - `server_default = <value>` (a literal the dialect renders) or
///   `server_default_sql = "CURRENT_TIMESTAMP"` (SQL written as is).
/// - `default = "path::to::fn"`: a Rust-side default, which the Session
///   applies at INSERT to a column left NULL (also in `COLUMN_DEFAULTS`).
/// - `version`: the optimistic-locking counter (an `i16`/`i32`/`i64`): the
///   Session sets it to 1, increments it with every UPDATE and fails a
///   flush whose row changed underneath (also in `VERSION_COLUMN`).
/// - `sql_type = <expr>`: the column's [`SqlType`](schema::SqlType) given
///   outright (for a type without [`orm::ColumnType`]).
/// - `length = n`, `text`: `VARCHAR(n)`, unbounded `TEXT` (strings);
///   `precision = n`, `scale = n` (decimals, unbounded by default).
/// - `comment = "…"`: the column's comment.
/// - `skip`: not a column; filled with `Default::default()` when read.
///
/// Misuse (no primary key, an unknown attribute, an unsupported type, a
/// malformed `foreign_key` or action) is a compile error at the offending
/// item.
///
/// ```
/// # aludel::doctest::run(|mut conn| async move {
/// use aludel::orm::Model;
/// use aludel::schema::{MetaData, SqlType};
/// use aludel::sql::{insert, select, Expr};
/// use aludel::{DbEnum, Model, Value};
///
/// #[derive(DbEnum, Debug, Clone, Copy, PartialEq)]
/// enum Role {
///     Admin,
///     Member,
/// }
///
/// #[derive(Model, Debug, Clone, PartialEq)]
/// #[aludel(table = "users")]
/// struct User {
///     #[aludel(primary_key)]
///     id: i64,
///     #[aludel(unique, length = 200)]
///     email: String,
///     nickname: Option<String>,
///     #[aludel(server_default = "member")]
///     role: Role,
/// }
///
/// let table = User::table();
/// assert_eq!(table.column("email")?.sql_type(), &SqlType::String(Some(200)));
/// assert!(table.column("nickname")?.is_nullable());
///
/// let mut metadata = MetaData::new();
/// metadata.add(table.clone())?;
/// for sql in metadata.create_all_sql(conn.dialect())? {
///     conn.execute(aludel::text(sql), ()).await?;
/// }
/// conn.execute(
///     &insert(User::table()).values([
///         ("email", Expr::from("ada@example.com")),
///         ("role", Expr::from(Role::Admin)),
///     ]),
///     (),
/// )
/// .await?;
///
/// let users: Vec<User> = conn
///     .execute(
///         &select([User::id.expr(), User::email.expr(), User::nickname.expr(), User::role.expr()])
///             .filter(User::email.eq("ada@example.com"))
///             .filter(User::nickname.is_null()),
///         (),
///     )
///     .await?
///     .all_as()?;
/// let mut ada = users[0].clone();
/// assert_eq!(ada.role, Role::Admin);
/// assert_eq!(ada.primary_key(), [Value::I64(1)]);
/// ada.set_value(2, Value::from("Ada"))?;
/// assert_eq!(ada.nickname.as_deref(), Some("Ada"));
/// # Ok(()) });
/// ```
pub use aludel_macros::Model;

/// Derive [`orm::DbEnum`](trait@orm::DbEnum) for a fieldless enum, so a
/// model field can have it: it is stored as a string of a fixed set
/// (a named enum type on PostgreSQL, `ENUM` on MySQL, `VARCHAR` with a
/// CHECK on SQLite), and implements `From<E> for Value`, `FromValue` and
/// [`orm::ColumnType`]. The enum must be `Clone` to be a model field.
///
/// Each variant is stored as its name in snake_case unless
/// `#[aludel(rename = "…")]` says otherwise; the SQL type is named after
/// the enum in snake_case unless `#[aludel(name = "…")]` on the enum says
/// otherwise.
///
/// ```
/// use aludel::orm::DbEnum as _;
/// use aludel::schema::SqlType;
/// use aludel::{DbEnum, FromValue, Value};
///
/// #[derive(DbEnum, Debug, Clone, Copy, PartialEq)]
/// #[aludel(name = "post_status")]
/// enum Status {
///     Draft,
///     #[aludel(rename = "live")]
///     Published,
/// }
///
/// assert_eq!(Value::from(Status::Published), Value::from("live"));
/// assert_eq!(Status::from_value(Value::from("draft")), Ok(Status::Draft));
/// assert!(Status::from_value(Value::from("gone")).is_err());
/// assert_eq!(
///     <Status as aludel::orm::ColumnType>::sql_type(&Default::default()),
///     SqlType::enumeration("post_status", ["draft", "live"])
/// );
/// ```
pub use aludel_macros::DbEnum;

/// The README's examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
