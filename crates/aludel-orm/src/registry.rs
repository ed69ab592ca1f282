//! Every model of the app, without a hand-kept list: `#[derive(Model)]`
//! submits each model's table getter to a registry ([`inventory`]), and
//! [`registered_metadata`] gathers them into one [`MetaData`] — what
//! autogenerate compares with the live schema (Flask-SQLAlchemy's
//! `db.metadata`, which every model class joins as it is defined).
//!
//! **Platforms.** `inventory` collects the submissions when the program
//! starts, on Linux, macOS, Windows and the other targets it supports
//! (not WebAssembly without a start hook). A model compiled into a
//! *static library* that the final program never references can be
//! dropped by the linker, and with it its registration; a model in the
//! binary or in a Rust library crate it depends on is always seen. When in
//! doubt, pass the tables explicitly (`Migrate::metadata` in the migrate
//! crate).

use aludel_core::schema::{MetaData, Table};
use aludel_core::{Error, ErrorKind, Result};

/// One model's entry in the registry: its Rust type name and its table
/// getter. `#[derive(Model)]` submits one per model; nothing else needs to.
#[derive(Debug, Clone, Copy)]
pub struct ModelRegistration {
    type_name: &'static str,
    table: fn() -> &'static Table,
    bind: fn() -> Option<&'static str>,
}

fn no_bind() -> Option<&'static str> {
    None
}

impl ModelRegistration {
    /// An entry for the model `type_name` (its path, for error messages)
    /// whose table `table` returns, on the default bind.
    pub const fn new(type_name: &'static str, table: fn() -> &'static Table) -> Self {
        ModelRegistration {
            type_name,
            table,
            bind: no_bind,
        }
    }

    /// The same entry on the bind `bind` returns (the model's
    /// [`Model::bind`](crate::Model::bind)).
    pub const fn with_bind(mut self, bind: fn() -> Option<&'static str>) -> Self {
        self.bind = bind;
        self
    }

    /// The model's bind (`None`: the default engine).
    pub fn bind(&self) -> Option<&'static str> {
        (self.bind)()
    }

    /// The model's Rust type name (`my_app::models::User`).
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The model's table.
    pub fn table(&self) -> &'static Table {
        (self.table)()
    }
}

inventory::collect!(ModelRegistration);

/// Every registered model, sorted by table name, then type name (the
/// order is the same on every run and every platform).
pub fn registered_models() -> Vec<ModelRegistration> {
    sorted(
        inventory::iter::<ModelRegistration>
            .into_iter()
            .copied()
            .collect(),
    )
}

fn sorted(mut all: Vec<ModelRegistration>) -> Vec<ModelRegistration> {
    all.sort_by(|a, b| (a.table().name(), a.type_name).cmp(&(b.table().name(), b.type_name)));
    all
}

/// A [`MetaData`] of the tables of every `#[derive(Model)]` type linked
/// into the program, with the default naming convention: the target of
/// autogenerate (`db migrate`, `db check`) unless the app passes its own.
///
/// Two models may map one table only if they define it identically.
///
/// ```
/// // A program's models register themselves; this doctest declares none.
/// let metadata = aludel_orm::registered_metadata()?;
/// assert_eq!(metadata.tables().count(), 0);
/// # Ok::<(), aludel_core::Error>(())
/// ```
///
/// **Platforms.** The registry ([`inventory`]) is filled when the program
/// starts, on Linux, macOS, Windows and the other targets `inventory`
/// supports. A model compiled into a *static library* that the final
/// program never references can be dropped by the linker, and with it its
/// registration; a model in the binary or in a Rust library crate it uses
/// is always seen. When in doubt, pass the tables explicitly
/// (`Migrate::metadata` in `aludel::migrate::cli`).
///
/// # Errors
/// [`ErrorKind::Config`] naming both models and the table when two models
/// claim one table name with different definitions.
pub fn registered_metadata() -> Result<MetaData> {
    metadata_of(registered_models())
}

/// Like [`registered_metadata`], for the models on one bind only (`None`:
/// the default engine's), e.g. to create each bind's tables in its own
/// database.
///
/// ```
/// let audit = aludel_orm::registered_metadata_for(Some("audit"))?;
/// assert_eq!(audit.tables().count(), 0);
/// # Ok::<(), aludel_core::Error>(())
/// ```
///
/// # Errors
/// As [`registered_metadata`].
pub fn registered_metadata_for(bind: Option<&str>) -> Result<MetaData> {
    metadata_of(
        registered_models()
            .into_iter()
            .filter(|m| m.bind() == bind)
            .collect(),
    )
}

/// The tables of `models` (sorted as [`registered_models`] sorts them).
fn metadata_of(models: Vec<ModelRegistration>) -> Result<MetaData> {
    let mut metadata = MetaData::new();
    let mut owner: Vec<(&str, &str)> = Vec::new();
    for reg in models {
        let table = reg.table();
        if let Some(existing) = metadata.table(table.name()) {
            if existing != table {
                let first = owner
                    .iter()
                    .find(|(t, _)| *t == table.name())
                    .map_or("another model", |(_, m)| m);
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "models {first} and {} both map table \"{}\" with different \
                         definitions; give one of them another `#[aludel(table = \"…\")]`",
                        reg.type_name(),
                        table.name()
                    ),
                )
                .with_table(Some(table.name().to_string())));
            }
            continue;
        }
        owner.push((table.name(), reg.type_name()));
        metadata.add(table.clone())?;
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aludel_core::schema::{Column, SqlType};
    use std::sync::OnceLock;

    fn users() -> &'static Table {
        static T: OnceLock<Table> = OnceLock::new();
        T.get_or_init(|| {
            Table::builder("users")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .build()
                .unwrap()
        })
    }
    fn accounts() -> &'static Table {
        static T: OnceLock<Table> = OnceLock::new();
        T.get_or_init(|| {
            Table::builder("accounts")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .build()
                .unwrap()
        })
    }
    fn other_users() -> &'static Table {
        static T: OnceLock<Table> = OnceLock::new();
        T.get_or_init(|| {
            Table::builder("users")
                .column(Column::new("id", SqlType::Integer).primary_key())
                .column(Column::new("name", SqlType::Text))
                .build()
                .unwrap()
        })
    }

    #[test]
    fn models_are_sorted_by_table_then_type_whatever_the_link_order() {
        let regs = vec![
            ModelRegistration::new("app::User", users),
            ModelRegistration::new("app::Account", accounts),
            ModelRegistration::new("app::AlsoUser", users),
        ];
        let names: Vec<&str> = sorted(regs).iter().map(|r| r.type_name()).collect();
        assert_eq!(names, ["app::Account", "app::AlsoUser", "app::User"]);
    }

    #[test]
    fn two_models_of_one_table_agree_or_are_an_error_naming_both() {
        let same = vec![
            ModelRegistration::new("app::User", users),
            ModelRegistration::new("app::Account", accounts),
            ModelRegistration::new("app::UserAgain", users),
        ];
        let md = metadata_of(sorted(same)).unwrap();
        let tables: Vec<&str> = md.tables().map(|t| t.name()).collect();
        assert_eq!(tables, ["accounts", "users"]);

        let clash = vec![
            ModelRegistration::new("app::User", users),
            ModelRegistration::new("legacy::User", other_users),
        ];
        let e = metadata_of(sorted(clash)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(
            e.message().contains("app::User")
                && e.message().contains("legacy::User")
                && e.message().contains("\"users\""),
            "{e}"
        );
    }
}
