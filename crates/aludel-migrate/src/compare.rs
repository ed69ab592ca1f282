//! Compare a target [`MetaData`] (the app's models) with the live schema,
//! reflected on a connection: the differences autogenerate writes a
//! script from (Alembic's `autogenerate.compare`).
//!
//! Each comparison first puts both sides in the form the backend reports,
//! so a fresh `create_all` database shows no difference: types as the
//! dialect stores them (MySQL's `TINYINT(1)` is a Boolean, a UUID is
//! `CHAR(32)` outside PostgreSQL, an SQLite rowid key is `INTEGER` whatever
//! its declared width, an enum is a VARCHAR on SQLite and named after its
//! column on MySQL), server defaults parsed back to values (quoting,
//! `::type` casts, `E'…'` strings, MySQL's `CONVERT(X'…' USING …)`,
//! `current_timestamp()` and numbers written `10.5` or `10.50`), foreign
//! keys by their columns and targets (their actions with each backend's
//! defaults), and unique constraints and unique indexes as one kind (MySQL
//! has only the latter).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use aludel_core::schema::{
    Column, ForeignKey, Index, Inspector, MetaData, NamingConvention, ReferentialAction,
    ServerDefault, SqlType, Table, UniqueConstraint,
};
use aludel_core::url::Backend;
use aludel_core::{Connection, Dialect, Result};

use crate::version::{PROGRESS_TABLE, VERSION_TABLE};

/// A table filter given to [`AutogenerateOptions::include_table`].
type TableFilter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// What autogenerate compares and may propose.
///
/// ```
/// use aludel_migrate::AutogenerateOptions;
/// let options = AutogenerateOptions::new()
///     .include_drop_tables(true)
///     .include_table(|name| !name.starts_with("legacy_"));
/// assert!(options.includes("users") && !options.includes("legacy_users"));
/// assert!(!options.includes("alembic_version"), "never compared");
/// ```
#[derive(Clone)]
pub struct AutogenerateOptions {
    drop_tables: bool,
    renames: bool,
    server_defaults: bool,
    filter: Option<TableFilter>,
}

impl Default for AutogenerateOptions {
    fn default() -> Self {
        AutogenerateOptions {
            drop_tables: false,
            renames: true,
            server_defaults: true,
            filter: None,
        }
    }
}

impl fmt::Debug for AutogenerateOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutogenerateOptions")
            .field("include_drop_tables", &self.drop_tables)
            .field("detect_renames", &self.renames)
            .field("compare_server_defaults", &self.server_defaults)
            .field("include_table", &self.filter.is_some())
            .finish()
    }
}

impl AutogenerateOptions {
    /// The defaults: tables the models do not have are left alone (never
    /// dropped), renames are detected, server defaults compared.
    pub fn new() -> Self {
        Self::default()
    }

    /// Propose dropping tables the database has and the models do not
    /// (off by default: a table the app does not own is never dropped
    /// unless asked).
    pub fn include_drop_tables(mut self, on: bool) -> Self {
        self.drop_tables = on;
        self
    }

    /// Propose a column dropped and one added with the same type in one
    /// table as a rename (on by default).
    pub fn detect_renames(mut self, on: bool) -> Self {
        self.renames = on;
        self
    }

    /// Compare server defaults (on by default).
    pub fn compare_server_defaults(mut self, on: bool) -> Self {
        self.server_defaults = on;
        self
    }

    /// Compare only the tables `filter` accepts (on both sides: a table
    /// it rejects is neither created nor dropped).
    pub fn include_table(mut self, filter: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.filter = Some(Arc::new(filter));
        self
    }

    /// Whether the table `name` is compared: never the version table, the
    /// migration progress table or a batch-mode leftover; otherwise what
    /// [`include_table`](Self::include_table) says.
    pub fn includes(&self, name: &str) -> bool {
        name != VERSION_TABLE
            && name != PROGRESS_TABLE
            && !name.starts_with("_alembic_tmp_")
            && self.filter.as_ref().is_none_or(|f| f(name))
    }
}

/// One difference between the models and the database, with what the
/// database has (`from`, reflected) and what the models want (`to`).
/// Constraints and indexes always carry their name (the naming
/// convention's when the model gave none).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Difference {
    /// A model's table is missing.
    AddTable(Table),
    /// The database has a table no model has (only with
    /// [`include_drop_tables`](AutogenerateOptions::include_drop_tables)).
    RemoveTable(Table),
    /// A column is missing.
    AddColumn {
        /// The table.
        table: String,
        /// The model's column.
        column: Column,
    },
    /// The database has a column the model has not.
    RemoveColumn {
        /// The table.
        table: String,
        /// The reflected column.
        column: Column,
    },
    /// A column dropped and one added with the same type: proposed as a
    /// rename (see [`detect_renames`](AutogenerateOptions::detect_renames)).
    RenameColumn {
        /// The table.
        table: String,
        /// The reflected column.
        from: Column,
        /// The model's column.
        to: Column,
    },
    /// A column's type, nullability or server default differs.
    AlterColumn {
        /// The table.
        table: String,
        /// The reflected column.
        from: Column,
        /// The model's column.
        to: Column,
        /// The type differs.
        type_changed: bool,
        /// Nullability differs.
        nullable_changed: bool,
        /// The server default differs.
        default_changed: bool,
    },
    /// An index is missing.
    AddIndex {
        /// The table.
        table: String,
        /// The index, named.
        index: Index,
    },
    /// The database has an index the model has not.
    RemoveIndex {
        /// The table.
        table: String,
        /// The index.
        index: Index,
    },
    /// A unique constraint is missing.
    AddUnique {
        /// The table.
        table: String,
        /// The constraint, named.
        constraint: UniqueConstraint,
    },
    /// The database has a unique constraint the model has not.
    RemoveUnique {
        /// The table.
        table: String,
        /// The constraint, named.
        constraint: UniqueConstraint,
    },
    /// A foreign key is missing.
    AddForeignKey {
        /// The table.
        table: String,
        /// The foreign key, named.
        foreign_key: ForeignKey,
    },
    /// The database has a foreign key the model has not.
    RemoveForeignKey {
        /// The table.
        table: String,
        /// The foreign key, named.
        foreign_key: ForeignKey,
    },
}

impl Difference {
    /// Whether applying it can lose data: a dropped table or column, or
    /// a type change that narrows (a shorter string, a smaller integer,
    /// fewer digits, text to something else).
    pub fn is_destructive(&self) -> bool {
        match self {
            Difference::RemoveTable(_) | Difference::RemoveColumn { .. } => true,
            Difference::AlterColumn {
                from,
                to,
                type_changed: true,
                ..
            }
            | Difference::RenameColumn { from, to, .. } => !widens(from.sql_type(), to.sql_type()),
            _ => false,
        }
    }

    /// The table it concerns.
    pub fn table(&self) -> &str {
        match self {
            Difference::AddTable(t) | Difference::RemoveTable(t) => t.name(),
            Difference::AddColumn { table, .. }
            | Difference::RemoveColumn { table, .. }
            | Difference::RenameColumn { table, .. }
            | Difference::AlterColumn { table, .. }
            | Difference::AddIndex { table, .. }
            | Difference::RemoveIndex { table, .. }
            | Difference::AddUnique { table, .. }
            | Difference::RemoveUnique { table, .. }
            | Difference::AddForeignKey { table, .. }
            | Difference::RemoveForeignKey { table, .. } => table,
        }
    }
}

/// `from` → `to` keeps every value (or the types are equal).
fn widens(from: &SqlType, to: &SqlType) -> bool {
    use SqlType as T;
    let rank = |t: &T| match t {
        T::SmallInteger => Some(1),
        T::Integer => Some(2),
        T::BigInteger => Some(3),
        _ => None,
    };
    match (from, to) {
        _ if from == to => true,
        (a, b) if rank(a).is_some() && rank(b).is_some() => rank(a) <= rank(b),
        (a, T::Numeric { .. } | T::Float) if rank(a).is_some() => true,
        (T::String(Some(a)), T::String(Some(b))) => a <= b,
        (T::String(_) | T::Enum { .. }, T::String(None) | T::Text) => true,
        (
            T::Numeric {
                precision: p1,
                scale: s1,
            },
            T::Numeric {
                precision: p2,
                scale: s2,
            },
        ) => p2.is_none() || (p1 <= p2 && s1 <= s2),
        (T::Enum { variants: a, .. }, T::Enum { variants: b, .. }) => {
            a.iter().all(|v| b.contains(v))
        }
        _ => false,
    }
}

impl fmt::Display for Difference {
    /// One line, as Alembic logs it (`added table 'tag'`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.is_destructive() {
            " [destructive]"
        } else {
            ""
        };
        match self {
            Difference::AddTable(t) => write!(f, "added table '{}'", t.name()),
            Difference::RemoveTable(t) => write!(f, "removed table '{}'{mark}", t.name()),
            Difference::AddColumn { table, column } => {
                write!(f, "added column '{table}.{}'", column.name())
            }
            Difference::RemoveColumn { table, column } => {
                write!(f, "removed column '{table}.{}'{mark}", column.name())
            }
            Difference::RenameColumn { table, from, to } => write!(
                f,
                "renamed column '{table}.{}' to '{}' (a column dropped and one added with the same type){mark}",
                from.name(),
                to.name()
            ),
            Difference::AlterColumn {
                table,
                from,
                to,
                type_changed,
                nullable_changed,
                default_changed,
            } => {
                let mut what = Vec::new();
                if *type_changed {
                    what.push(format!("type {} to {}", from.sql_type(), to.sql_type()));
                }
                if *nullable_changed {
                    what.push(format!(
                        "nullable {} to {}",
                        from.is_nullable(),
                        to.is_nullable()
                    ));
                }
                if *default_changed {
                    what.push("server default".to_string());
                }
                write!(
                    f,
                    "modified column '{table}.{}': {}{mark}",
                    from.name(),
                    what.join(", ")
                )
            }
            Difference::AddIndex { table, index } => write!(
                f,
                "added index '{}' on '{table}' ({})",
                index.name.as_deref().unwrap_or(""),
                index.columns.join(", ")
            ),
            Difference::RemoveIndex { table, index } => write!(
                f,
                "removed index '{}' on '{table}'",
                index.name.as_deref().unwrap_or("")
            ),
            Difference::AddUnique { table, constraint } => write!(
                f,
                "added unique constraint '{}' on '{table}' ({})",
                constraint.name.as_deref().unwrap_or(""),
                constraint.columns.join(", ")
            ),
            Difference::RemoveUnique { table, constraint } => write!(
                f,
                "removed unique constraint '{}' on '{table}'",
                constraint.name.as_deref().unwrap_or("")
            ),
            Difference::AddForeignKey { table, foreign_key } => write!(
                f,
                "added foreign key '{}' on '{table}' ({}) -> '{}'",
                foreign_key.name.as_deref().unwrap_or(""),
                foreign_key.columns.join(", "),
                foreign_key.referred_table
            ),
            Difference::RemoveForeignKey { table, foreign_key } => write!(
                f,
                "removed foreign key '{}' on '{table}'",
                foreign_key.name.as_deref().unwrap_or("")
            ),
        }
    }
}

/// Compare `target` with the schema seen through `conn` (inside its
/// transaction, if one is open).
///
/// The differences come in the order a script applies them: foreign keys,
/// indexes and unique constraints that go away; new tables (referred
/// tables first); new, renamed and changed columns; dropped columns; new
/// unique constraints, indexes and foreign keys; dropped tables.
///
/// # Errors
/// Whatever reflection reports.
pub async fn compare_metadata(
    conn: &mut Connection,
    target: &MetaData,
    options: &AutogenerateOptions,
) -> Result<Vec<Difference>> {
    let dialect = conn.dialect().clone();
    let mut live = BTreeMap::new();
    for name in Inspector::table_names_on(conn).await? {
        if options.includes(&name) {
            let t = Inspector::reflect_table_on(conn, &name).await?;
            live.insert(name, t);
        }
    }
    Ok(compare_tables(&dialect, target, &live, options))
}

#[derive(Default)]
struct Phases {
    drop_fks: Vec<Difference>,
    drop_indexes: Vec<Difference>,
    add_tables: Vec<Difference>,
    columns: Vec<Difference>,
    drop_columns: Vec<Difference>,
    add_indexes: Vec<Difference>,
    add_fks: Vec<Difference>,
    drop_tables: Vec<Difference>,
}

fn compare_tables(
    dialect: &Dialect,
    target: &MetaData,
    live: &BTreeMap<String, Table>,
    options: &AutogenerateOptions,
) -> Vec<Difference> {
    let nc = target.naming_convention();
    let mut p = Phases::default();
    let wanted: Vec<&Table> = target
        .sorted_tables()
        .into_iter()
        .filter(|t| options.includes(t.name()))
        .collect();
    for t in &wanted {
        match live.get(t.name()) {
            None => p.add_tables.push(Difference::AddTable(named(t, nc))),
            Some(have) => compare_table(dialect, nc, t, have, options, &mut p),
        }
    }
    if options.drop_tables {
        let names: BTreeSet<&str> = wanted.iter().map(|t| t.name()).collect();
        let mut gone = MetaData::new();
        for t in live.values().filter(|t| !names.contains(t.name())) {
            let _ = gone.add(t.clone());
        }
        let mut order = gone.sorted_tables();
        order.reverse();
        for t in order {
            p.drop_tables.push(Difference::RemoveTable(t.clone()));
        }
    }
    [
        p.drop_fks,
        p.drop_indexes,
        p.add_tables,
        p.columns,
        p.drop_columns,
        p.add_indexes,
        p.add_fks,
        p.drop_tables,
    ]
    .concat()
}

/// `t` with every constraint and index named.
fn named(t: &Table, nc: &NamingConvention) -> Table {
    let names = t.constraint_names(nc);
    // Column-level flags were folded into table-level lists at build time;
    // a copy of the columns would add them again, so rebuild from the
    // lists with plain columns.
    let mut b2 = Table::builder(t.name());
    let auto = t.autoincrement_column().map(|c| c.name().to_string());
    for c in t.columns() {
        b2 = b2.column(plain(c, auto.as_deref() == Some(c.name())));
    }
    if !t.primary_key().is_empty() {
        b2 = b2
            .primary_key(t.primary_key().to_vec())
            .primary_key_name(names.primary_key.clone());
    }
    for (fk, n) in t.foreign_keys().iter().zip(&names.foreign_keys) {
        b2 = b2.foreign_key(ForeignKey {
            name: Some(n.clone()),
            ..fk.clone()
        });
    }
    for (u, n) in t.unique_constraints().iter().zip(&names.uniques) {
        b2 = b2.unique_constraint(UniqueConstraint {
            name: Some(n.clone()),
            columns: u.columns.clone(),
        });
    }
    for ck in t.check_constraints() {
        b2 = b2.check(ck.name.clone(), ck.sql.clone());
    }
    for (i, n) in t.indexes().iter().zip(&names.indexes) {
        b2 = b2.add_index(Index {
            name: Some(n.clone()),
            ..i.clone()
        });
    }
    if let Some(c) = t.comment() {
        b2 = b2.comment(c);
    }
    b2.build().unwrap_or_else(|_| t.clone())
}

/// The column without its column-level key, unique, index and foreign key
/// flags (those are table-level in a built table).
pub(crate) fn plain(c: &Column, autoincrement: bool) -> Column {
    let mut out = Column::new(c.name(), c.sql_type().clone())
        .nullable(c.is_nullable())
        .autoincrement(autoincrement);
    match c.default() {
        Some(ServerDefault::Value(v)) => out = out.server_default(v.clone()),
        Some(ServerDefault::Sql(s)) => out = out.server_default_sql(s.clone()),
        _ => {}
    }
    if let Some(text) = c.comment_text() {
        out = out.comment(text);
    }
    out
}

fn compare_table(
    dialect: &Dialect,
    nc: &NamingConvention,
    want: &Table,
    have: &Table,
    options: &AutogenerateOptions,
    p: &mut Phases,
) {
    let table = want.name().to_string();
    let backend = dialect.backend();
    let want_auto = want.autoincrement_column().map(Column::name);
    let have_auto = have.autoincrement_column().map(Column::name);
    let mut added: Vec<&Column> = Vec::new();
    for c in want.columns() {
        match have.columns().iter().find(|h| h.name() == c.name()) {
            None => added.push(c),
            Some(h) => {
                let auto = want_auto == Some(c.name()) || have_auto == Some(h.name());
                if let Some(d) = alter(dialect, &table, h, c, auto, options) {
                    p.columns.push(d);
                }
            }
        }
    }
    let mut removed: Vec<&Column> = have
        .columns()
        .iter()
        .filter(|h| want.column(h.name()).is_err())
        .collect();
    if options.renames {
        let mut pairs = Vec::new();
        removed.retain(|r| {
            let found = added.iter().position(|a| {
                same_type(backend, r.sql_type(), a.sql_type(), false)
                    && !pairs
                        .iter()
                        .any(|(_, b): &(&Column, &Column)| b.name() == a.name())
            });
            match found {
                Some(i) => {
                    pairs.push((*r, added.remove(i)));
                    false
                }
                None => true,
            }
        });
        for (from, to) in pairs {
            p.columns.push(Difference::RenameColumn {
                table: table.clone(),
                from: from.clone(),
                to: plain(to, false),
            });
        }
    }
    for c in added {
        p.columns.push(Difference::AddColumn {
            table: table.clone(),
            column: plain(c, want_auto == Some(c.name())),
        });
    }
    for c in removed {
        p.drop_columns.push(Difference::RemoveColumn {
            table: table.clone(),
            column: c.clone(),
        });
    }

    // Indexes and unique constraints, by name (one "unique" kind).
    let names = want.constraint_names(nc);
    #[derive(PartialEq)]
    enum K {
        Index(bool),
        Unique,
    }
    let mut want_items: Vec<(String, K, Vec<String>)> = Vec::new();
    for (i, n) in want.indexes().iter().zip(&names.indexes) {
        want_items.push((n.clone(), K::Index(i.unique), i.columns.clone()));
    }
    for (u, n) in want.uniques_named(&names.uniques) {
        want_items.push((n, K::Unique, u.columns.clone()));
    }
    let mut have_items: Vec<(Option<String>, K, Vec<String>)> = Vec::new();
    for i in have.indexes() {
        have_items.push((i.name.clone(), K::Index(i.unique), i.columns.clone()));
    }
    for u in have.unique_constraints() {
        have_items.push((u.name.clone(), K::Unique, u.columns.clone()));
    }
    let unique = |k: &K| matches!(k, K::Unique | K::Index(true));
    let same = |a: &K, b: &K| unique(a) == unique(b);
    for (n, k, cols) in &want_items {
        let found = have_items.iter().any(|(hn, hk, hc)| {
            (hn.as_deref() == Some(n.as_str()) || (hn.is_none() && unique(hk)))
                && same(k, hk)
                && hc == cols
        });
        if !found {
            p.add_indexes.push(match k {
                K::Index(u) => Difference::AddIndex {
                    table: table.clone(),
                    index: Index {
                        name: Some(n.clone()),
                        columns: cols.clone(),
                        unique: *u,
                    },
                },
                K::Unique => Difference::AddUnique {
                    table: table.clone(),
                    constraint: UniqueConstraint {
                        name: Some(n.clone()),
                        columns: cols.clone(),
                    },
                },
            });
        }
    }
    for (hn, hk, hc) in &have_items {
        let found = want_items.iter().any(|(n, k, cols)| {
            (hn.as_deref() == Some(n.as_str()) || (hn.is_none() && unique(hk)))
                && same(k, hk)
                && hc == cols
        });
        if found {
            continue;
        }
        let name = hn.clone().unwrap_or_else(|| nc.unique(&table, hc));
        p.drop_indexes.push(match hk {
            K::Index(u) => Difference::RemoveIndex {
                table: table.clone(),
                index: Index {
                    name: Some(name),
                    columns: hc.clone(),
                    unique: *u,
                },
            },
            K::Unique => Difference::RemoveUnique {
                table: table.clone(),
                constraint: UniqueConstraint {
                    name: Some(name),
                    columns: hc.clone(),
                },
            },
        });
    }

    // Foreign keys, by what they say (names aside).
    let sig = |fk: &ForeignKey| {
        let norm = |a: Option<ReferentialAction>| match (a, backend) {
            (Some(ReferentialAction::NoAction), _) => None,
            (Some(ReferentialAction::Restrict), Backend::Mysql) => None,
            (a, _) => a,
        };
        (
            fk.columns.clone(),
            fk.referred_table.clone(),
            fk.referred_columns.clone(),
            norm(fk.on_delete),
            norm(fk.on_update),
        )
    };
    let have_sigs: Vec<_> = have.foreign_keys().iter().map(sig).collect();
    let want_sigs: Vec<_> = want.foreign_keys().iter().map(sig).collect();
    for (fk, n) in want.foreign_keys().iter().zip(&names.foreign_keys) {
        if !have_sigs.contains(&sig(fk)) {
            p.add_fks.push(Difference::AddForeignKey {
                table: table.clone(),
                foreign_key: ForeignKey {
                    name: Some(n.clone()),
                    ..fk.clone()
                },
            });
        }
    }
    for fk in have.foreign_keys() {
        if !want_sigs.contains(&sig(fk)) {
            let name = fk
                .name
                .clone()
                .unwrap_or_else(|| nc.foreign_key(&table, &fk.columns, &fk.referred_table));
            p.drop_fks.push(Difference::RemoveForeignKey {
                table: table.clone(),
                foreign_key: ForeignKey {
                    name: Some(name),
                    ..fk.clone()
                },
            });
        }
    }
}

trait UniquesNamed {
    fn uniques_named(&self, names: &[String]) -> Vec<(UniqueConstraint, String)>;
}

impl UniquesNamed for Table {
    fn uniques_named(&self, names: &[String]) -> Vec<(UniqueConstraint, String)> {
        self.unique_constraints()
            .iter()
            .cloned()
            .zip(names.iter().cloned())
            .collect()
    }
}

fn alter(
    dialect: &Dialect,
    table: &str,
    have: &Column,
    want: &Column,
    auto: bool,
    options: &AutogenerateOptions,
) -> Option<Difference> {
    let backend = dialect.backend();
    let type_changed = !same_type(backend, have.sql_type(), want.sql_type(), auto);
    let nullable_changed = have.is_nullable() != want.is_nullable();
    let default_changed = options.server_defaults
        && !auto
        && canonical_default(dialect, have.default()) != canonical_default(dialect, want.default());
    (type_changed || nullable_changed || default_changed).then(|| Difference::AlterColumn {
        table: table.to_string(),
        from: have.clone(),
        to: plain(want, false),
        type_changed,
        nullable_changed,
        default_changed,
    })
}

/// The type as reflection reports it on `backend`.
fn as_stored(backend: Backend, ty: &SqlType, column_enum_name: Option<&str>) -> SqlType {
    use SqlType as T;
    match (backend, ty) {
        (Backend::Postgres, t) => t.clone(),
        (_, T::Uuid) => T::String(Some(32)),
        (_, T::DateTime { .. }) => T::DateTime { timezone: false },
        (Backend::Sqlite, T::Enum { variants, .. }) => T::String(Some(
            variants
                .iter()
                .map(|v| v.chars().count())
                .max()
                .unwrap_or(1)
                .max(1) as u32,
        )),
        (Backend::Mysql, T::Enum { variants, name }) => T::Enum {
            name: column_enum_name.unwrap_or(name).to_string(),
            variants: variants.clone(),
        },
        (_, t) => t.clone(),
    }
}

/// Whether two types are the same once stored; `rowid`: an SQLite rowid
/// key, stored `INTEGER` whatever its declared width.
fn same_type(backend: Backend, have: &SqlType, want: &SqlType, rowid: bool) -> bool {
    use SqlType as T;
    let (h, w) = (
        as_stored(backend, have, None),
        as_stored(backend, want, None),
    );
    if rowid && backend == Backend::Sqlite && h.is_integer() && w.is_integer() {
        return true;
    }
    match (&h, &w) {
        (
            T::Enum {
                variants: a,
                name: na,
            },
            T::Enum {
                variants: b,
                name: nb,
            },
        ) => a == b && (backend != Backend::Postgres || na == nb),
        (T::String(a), T::String(b)) => a.is_none() || b.is_none() || a == b,
        (
            T::Numeric {
                precision: p1,
                scale: s1,
            },
            T::Numeric {
                precision: p2,
                scale: s2,
            },
        ) => {
            (p1.is_none() || p2.is_none() || p1 == p2) && (s1.is_none() || s2.is_none() || s1 == s2)
        }
        (a, b) => a == b,
    }
}

/// A server default reduced to what it means: a value's text (strings
/// unquoted and unescaped, numbers normalised, booleans as 1/0) or an
/// expression's lowercase text without spaces.
pub(crate) fn canonical_default(dialect: &Dialect, d: Option<&ServerDefault>) -> Option<String> {
    let sql = match d? {
        ServerDefault::Value(v) => dialect.render_literal(v).ok()?,
        ServerDefault::Sql(s) => s.clone(),
        _ => return None,
    };
    let mut s = sql.trim().to_string();
    // Outer parentheses: `(CONVERT(…))`, `('x')`, `(-1)`.
    while s.starts_with('(') && s.ends_with(')') && balanced(&s[1..s.len() - 1]) {
        s = s[1..s.len() - 1].trim().to_string();
    }
    // A `::type` cast outside quotes (PostgreSQL).
    if let Some(i) = outside_quotes(&s, "::") {
        s = s[..i].trim().to_string();
        while s.starts_with('(') && s.ends_with(')') && balanced(&s[1..s.len() - 1]) {
            s = s[1..s.len() - 1].trim().to_string();
        }
    }
    let lower = s.to_ascii_lowercase();
    if lower == "null" {
        return None;
    }
    // MySQL's escape-proof strings: CONVERT(X'…' USING utf8mb4).
    if let Some(rest) = lower.strip_prefix("convert(x'") {
        if let Some(end) = rest.find('\'') {
            let bytes: Option<Vec<u8>> = (0..end)
                .step_by(2)
                .map(|i| u8::from_str_radix(rest.get(i..i + 2)?, 16).ok())
                .collect();
            if let Some(text) = bytes.and_then(|b| String::from_utf8(b).ok()) {
                return Some(value_text(text));
            }
        }
    }
    let backslashes = match dialect.backend() {
        Backend::Mysql => true,
        Backend::Postgres => s.starts_with(['E', 'e']) && s[1..].starts_with('\''),
        _ => false,
    };
    let body = s
        .strip_prefix(['E', 'e'])
        .filter(|r| r.starts_with('\''))
        .unwrap_or(&s);
    if body.starts_with('\'') && body.ends_with('\'') && body.len() >= 2 {
        return Some(value_text(unquote(&body[1..body.len() - 1], backslashes)));
    }
    match lower.as_str() {
        "true" => return Some("1".into()),
        "false" => return Some("0".into()),
        _ => {}
    }
    if let Some(n) = number(&s) {
        return Some(n);
    }
    let mut expr: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    for f in ["current_timestamp", "now", "localtimestamp"] {
        if expr == f || (expr.starts_with(f) && expr[f.len()..].starts_with('(')) {
            expr = "current_timestamp".into();
        }
    }
    Some(format!("expr:{expr}"))
}

fn value_text(s: String) -> String {
    number(&s).unwrap_or(s)
}

fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    let mut quote = false;
    for c in s.chars() {
        match c {
            '\'' => quote = !quote,
            '(' if !quote => depth += 1,
            ')' if !quote => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

fn outside_quotes(s: &str, pat: &str) -> Option<usize> {
    let mut quote = false;
    for (i, c) in s.char_indices() {
        if c == '\'' {
            quote = !quote;
        } else if !quote && s[i..].starts_with(pat) {
            return Some(i);
        }
    }
    None
}

fn unquote(s: &str, backslashes: bool) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            '\\' if backslashes => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('0') => out.push('\0'),
                Some(o) => out.push(o),
                None => {}
            },
            c => out.push(c),
        }
    }
    out
}

/// A decimal number's normal text: no `+`, no leading zeros, no trailing
/// fractional zeros (`10.50` → `10.5`, `1.0` → `1`).
fn number(s: &str) -> Option<String> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        || digits.matches('.').count() > 1
        || digits == "."
    {
        return None;
    }
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let mut out = if int.is_empty() {
        "0".to_string()
    } else {
        int.to_string()
    };
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if neg && out != "0" {
        out.insert(0, '-');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(backend: Backend, d: ServerDefault) -> Option<String> {
        canonical_default(&Dialect::new(backend), Some(&d))
    }

    #[test]
    fn defaults_mean_the_same_however_written() {
        let sql = |s: &str| ServerDefault::Sql(s.into());
        let val = |v: aludel_core::Value| ServerDefault::Value(v);
        let pg = Backend::Postgres;
        assert_eq!(
            canon(pg, val(r"it's a \ test".into())),
            canon(pg, sql(r"'it''s a \ test'::character varying"))
        );
        assert_eq!(canon(pg, sql("'draft'::post_status")), Some("draft".into()));
        assert_eq!(canon(pg, val(true.into())), canon(pg, sql("1")));
        assert_eq!(canon(pg, sql("10.50")), canon(pg, sql("10.5")));
        assert_eq!(canon(pg, sql("'-1'::integer")), canon(pg, sql("(-1)")));
        let my = Backend::Mysql;
        assert_eq!(
            canon(my, val(r"a\b".into())),
            canon(my, sql(r"'a\\b'")),
            "CONVERT(X'…') and a backslash-escaped literal"
        );
        assert_eq!(
            canon(my, sql("CURRENT_TIMESTAMP")),
            canon(my, sql("current_timestamp()"))
        );
        assert_ne!(canon(my, sql("'a'")), canon(my, sql("'b'")));
        assert_ne!(canon(my, sql("0")), canon(my, sql("1")));
    }

    #[test]
    fn narrowing_is_destructive() {
        assert!(widens(&SqlType::string(10), &SqlType::string(20)));
        assert!(!widens(&SqlType::string(20), &SqlType::string(10)));
        assert!(widens(&SqlType::Integer, &SqlType::BigInteger));
        assert!(!widens(&SqlType::BigInteger, &SqlType::Integer));
        assert!(!widens(&SqlType::Text, &SqlType::string(10)));
    }
}
