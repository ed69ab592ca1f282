//! One migration script: Alembic's module with `revision`, `down_revision`,
//! a message, a creation date and `upgrade()` / `downgrade()`.

use std::hash::{BuildHasher, Hasher};

use crate::ops::Ops;

/// The body of an upgrade or a downgrade: it records ops on [`Ops`]; the
/// runner runs them afterwards, in order. Returning an error (a
/// [`Table`](aludel_core::schema::Table) that does not build, say) stops
/// the command before anything runs.
pub type Body = fn(&mut Ops) -> aludel_core::Result<()>;

fn nothing(_: &mut Ops) -> aludel_core::Result<()> {
    Ok(())
}

/// One revision: its id, the ids it revises, a message, a creation date,
/// and the `upgrade` / `downgrade` bodies.
///
/// Built by `const fn`s, so a script compiled into the app defines its
/// revision as a constant, as an Alembic script defines module variables:
///
/// ```
/// use aludel_core::schema::{Column, SqlType, Table};
/// use aludel_migrate::{Ops, Revision};
///
/// pub const REVISION: Revision =
///     Revision::new("ae1027a6acf0", &["1975ea83b712"], "add account table")
///         .created("2024-05-01 10:00:00.000000")
///         .upgrade(upgrade)
///         .downgrade(downgrade);
///
/// fn upgrade(op: &mut Ops) -> aludel_core::Result<()> {
///     op.create_table(&Table::builder("account")
///         .column(Column::new("id", SqlType::Integer).primary_key())
///         .column(Column::new("name", SqlType::string(50)).not_null())
///         .build()?);
///     Ok(())
/// }
///
/// fn downgrade(op: &mut Ops) -> aludel_core::Result<()> {
///     op.drop_table("account");
///     Ok(())
/// }
///
/// assert_eq!(REVISION.id(), "ae1027a6acf0");
/// assert_eq!(REVISION.down_revisions(), ["1975ea83b712"]);
/// assert_eq!(REVISION.plan_upgrade()?.len(), 1);
/// # Ok::<(), aludel_core::Error>(())
/// ```
///
/// The first revision revises nothing (`&[]`); a merge revises several.
#[derive(Clone, Copy)]
pub struct Revision {
    id: &'static str,
    down: &'static [&'static str],
    message: &'static str,
    create_date: &'static str,
    upgrade: Body,
    downgrade: Body,
}

impl Revision {
    /// A revision `id` revising `down_revisions` (none for the first, two
    /// or more for a merge), with empty bodies and no creation date.
    pub const fn new(
        id: &'static str,
        down_revisions: &'static [&'static str],
        message: &'static str,
    ) -> Self {
        Revision {
            id,
            down: down_revisions,
            message,
            create_date: "",
            upgrade: nothing,
            downgrade: nothing,
        }
    }

    /// The same revision with a creation date (Alembic writes
    /// `2024-05-01 10:00:00.123456`; the text is kept as given).
    pub const fn created(mut self, date: &'static str) -> Self {
        self.create_date = date;
        self
    }

    /// The same revision with `body` as its upgrade.
    pub const fn upgrade(mut self, body: Body) -> Self {
        self.upgrade = body;
        self
    }

    /// The same revision with `body` as its downgrade.
    pub const fn downgrade(mut self, body: Body) -> Self {
        self.downgrade = body;
        self
    }

    /// The revision id (12 lower-case hex characters when generated).
    pub fn id(&self) -> &'static str {
        self.id
    }

    /// The ids this revision revises: Alembic's `down_revision`.
    pub fn down_revisions(&self) -> &'static [&'static str] {
        self.down
    }

    /// The message (`-m` of `db revision`).
    pub fn message(&self) -> &'static str {
        self.message
    }

    /// The creation date, as given to [`created`](Revision::created); empty
    /// when none was.
    pub fn create_date(&self) -> &'static str {
        self.create_date
    }

    /// True for a first revision (it revises nothing).
    pub fn is_base(&self) -> bool {
        self.down.is_empty()
    }

    /// True for a merge (it revises two or more revisions).
    pub fn is_merge(&self) -> bool {
        self.down.len() > 1
    }

    /// The ops of the upgrade, collected without running anything.
    ///
    /// # Errors
    /// Whatever the body returns.
    pub fn plan_upgrade(&self) -> aludel_core::Result<Ops> {
        let mut ops = Ops::new();
        (self.upgrade)(&mut ops)?;
        Ok(ops)
    }

    /// The ops of the downgrade, collected without running anything.
    ///
    /// # Errors
    /// Whatever the body returns.
    pub fn plan_downgrade(&self) -> aludel_core::Result<Ops> {
        let mut ops = Ops::new();
        (self.downgrade)(&mut ops)?;
        Ok(ops)
    }
}

impl AsRef<Revision> for Revision {
    fn as_ref(&self) -> &Revision {
        self
    }
}

impl std::fmt::Debug for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revision")
            .field("id", &self.id)
            .field("down_revisions", &self.down)
            .field("message", &self.message)
            .field("create_date", &self.create_date)
            .finish_non_exhaustive()
    }
}

/// A new revision id: 12 random lower-case hex characters, as Alembic's
/// `uuid4().hex[-12:]`.
///
/// ```
/// let id = aludel_migrate::new_revision_id();
/// assert_eq!(id.len(), 12);
/// assert!(id.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
/// ```
pub fn new_revision_id() -> String {
    // RandomState is seeded from the OS per process and varies per
    // instance; mixing in the time separates ids made in one process.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// Words a target may use that are therefore not valid ids.
pub(crate) const RESERVED: [&str; 4] = ["head", "heads", "base", "current"];

/// Why `id` cannot be a revision id, if it cannot.
pub(crate) fn invalid_id(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("it is empty")
    } else if id.len() > 32 {
        Some("it is longer than the 32 characters of alembic_version.version_num")
    } else if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Some("only ASCII letters, digits and '_' are allowed")
    } else if RESERVED.contains(&id) {
        Some("it is a reserved word (head, heads, base, current)")
    } else {
        None
    }
}
