//! Relationships between models (SQLAlchemy's `relationship()`): declared
//! by `#[derive(Model)]` as typed constants (`User::posts`), loaded
//! explicitly (`session.load_related(user, User::posts).await`) or eagerly
//! per query (`selectin`, `joined`), and written through the Session
//! (`append`, `set_related`, `remove_related`), which turns them into
//! foreign key values and association rows at flush.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use aludel_core::schema::Table;
use aludel_core::{Error, ErrorKind, Result};

use crate::session::{Key, Session};
use crate::Model;

/// A boxed future, for loaders and cascades called through trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a relationship's loaded value is: many keys or at most one.
pub trait Cardinality: Send + Sync + 'static {
    /// `Vec<Key<C>>` or `Option<Key<C>>`.
    type Keys<C: 'static>: Clone + fmt::Debug;
    /// Whether this is a collection.
    const MANY: bool;
    /// The loaded value from the related keys.
    fn wrap<C: 'static>(keys: Vec<Key<C>>) -> Self::Keys<C>;
}

/// A collection: one-to-many and many-to-many.
#[derive(Debug, Clone, Copy)]
pub struct Many;

/// A single object or none: many-to-one and one-to-one.
#[derive(Debug, Clone, Copy)]
pub struct One;

impl Cardinality for Many {
    type Keys<C: 'static> = Vec<Key<C>>;
    const MANY: bool = true;
    fn wrap<C: 'static>(keys: Vec<Key<C>>) -> Vec<Key<C>> {
        keys
    }
}

impl Cardinality for One {
    type Keys<C: 'static> = Option<Key<C>>;
    const MANY: bool = false;
    fn wrap<C: 'static>(keys: Vec<Key<C>>) -> Option<Key<C>> {
        keys.into_iter().next()
    }
}

/// The shape of a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelKind {
    /// This model holds the foreign key (`Post::author`).
    ManyToOne,
    /// The other model holds a foreign key to this one (`User::posts`).
    OneToMany,
    /// As one-to-many, with at most one related object (`User::profile`).
    OneToOne,
    /// Through an association model holding a foreign key to each side.
    ManyToMany,
}

/// How a relationship loads when a query does not say (SQLAlchemy's
/// `relationship(lazy=…)`); a query's option for the relationship overrides
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loading {
    /// Explicitly, with `session.load_related` (the default).
    Lazy,
    /// With every query of the model, as [`selectin`].
    Selectin,
    /// With every query of the model, as [`joined`].
    Joined,
    /// Never lazily, as [`raiseload`].
    Raise,
}

/// SQLAlchemy's cascades beyond save-update (which is always on: an object
/// linked through a relationship must already be in the Session).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cascade {
    /// Deleting the parent deletes the related objects (loading them first
    /// unless `passive_deletes`).
    pub delete: bool,
    /// Removing an object from the parent's collection deletes it.
    pub delete_orphan: bool,
}

impl Cascade {
    /// Parse SQLAlchemy's cascade string: `"all"`, `"delete"`,
    /// `"delete-orphan"`, `"save-update"`, `"merge"`, comma-separated.
    ///
    /// # Errors
    /// The unknown word, with the accepted ones.
    pub fn parse(spec: &str) -> std::result::Result<Cascade, String> {
        let mut c = Cascade::default();
        for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "all" | "delete" => c.delete = true,
                "delete-orphan" => c.delete_orphan = true,
                "save-update" | "merge" | "refresh-expire" | "expunge" => {}
                other => {
                    return Err(format!(
                        "unknown cascade \"{other}\"; the cascades are all, save-update, merge, \
                         refresh-expire, expunge, delete and delete-orphan"
                    ))
                }
            }
        }
        Ok(c)
    }
}

/// A relationship from model `P` to model `C`, with cardinality `M`
/// ([`Many`] or [`One`]); `#[derive(Model)]` makes one associated constant
/// per declared relationship.
///
/// ```
/// # use aludel_orm::{Relationship, RelKind, Many};
/// # struct User;
/// # struct Post;
/// // What the derive writes for `#[aludel(has_many(posts: Post, back_populates = "author"))]`:
/// const POSTS: Relationship<User, Post, Many> =
///     Relationship::new("User", "posts", RelKind::OneToMany).back_populates("author");
/// assert_eq!(POSTS.name(), "posts");
/// ```
pub struct Relationship<P, C, M> {
    model: &'static str,
    name: &'static str,
    kind: RelKind,
    foreign_key: Option<&'static str>,
    through: Option<fn() -> &'static Table>,
    back_populates: Option<&'static str>,
    cascade: Cascade,
    passive_deletes: bool,
    loading: Loading,
    _t: Marker<P, C, M>,
}

/// Ties a relationship to its types without owning values of them.
type Marker<P, C, M> = PhantomData<fn() -> (P, C, M)>;

impl<P, C, M> Clone for Relationship<P, C, M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<P, C, M> Copy for Relationship<P, C, M> {}

impl<P, C, M> fmt::Debug for Relationship<P, C, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{} ({:?})", self.model, self.name, self.kind)
    }
}

impl<P, C, M> Relationship<P, C, M> {
    /// A relationship named `name` on the model named `model`.
    pub const fn new(model: &'static str, name: &'static str, kind: RelKind) -> Self {
        Relationship {
            model,
            name,
            kind,
            foreign_key: None,
            through: None,
            back_populates: None,
            cascade: Cascade {
                delete: false,
                delete_orphan: false,
            },
            passive_deletes: false,
            loading: Loading::Lazy,
            _t: PhantomData,
        }
    }

    /// How it loads when a query does not say (default [`Loading::Lazy`]).
    pub const fn lazy(mut self, loading: Loading) -> Self {
        self.loading = loading;
        self
    }

    /// Its declared loading.
    pub const fn loading(&self) -> Loading {
        self.loading
    }

    /// The foreign key column to join on, when the tables have several
    /// (on `C` for one-to-many and one-to-one, on `P` for many-to-one).
    pub const fn foreign_key(mut self, column: &'static str) -> Self {
        self.foreign_key = Some(column);
        self
    }

    /// The association model's table, for many-to-many.
    pub const fn through(mut self, table: fn() -> &'static Table) -> Self {
        self.through = Some(table);
        self
    }

    /// The relationship on `C` that mirrors this one: writes through either
    /// side keep both loaded sides in step inside the Session.
    pub const fn back_populates(mut self, name: &'static str) -> Self {
        self.back_populates = Some(name);
        self
    }

    /// The cascades (see [`Cascade`]).
    pub const fn cascade(mut self, cascade: Cascade) -> Self {
        self.cascade = cascade;
        self
    }

    /// Let the database's ON DELETE do the work: deleting the parent does
    /// not load the related objects.
    pub const fn passive_deletes(mut self) -> Self {
        self.passive_deletes = true;
        self
    }

    /// The relationship's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The declaring model's name.
    pub const fn model(&self) -> &'static str {
        self.model
    }

    /// Its shape.
    pub const fn kind(&self) -> RelKind {
        self.kind
    }

    /// The mirrored relationship's name, if declared.
    pub const fn back_name(&self) -> Option<&'static str> {
        self.back_populates
    }

    /// Its cascades.
    pub const fn cascades(&self) -> Cascade {
        self.cascade
    }

    /// Whether deletes are left to the database.
    pub const fn is_passive_deletes(&self) -> bool {
        self.passive_deletes
    }
}

/// How the two tables of a relationship join: `C.child_col = P.parent_col`,
/// through an association table for many-to-many.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub parent_col: String,
    pub child_col: String,
    /// The association table, its column referring to `P` and the one
    /// referring to `C`.
    pub through: Option<(&'static Table, String, String)>,
}

impl<P: Model, C: Model, M> Relationship<P, C, M> {
    fn config_error(&self, detail: String) -> Error {
        Error::new(
            ErrorKind::Config,
            format!(
                "relationship {}.{} to {}: {detail}",
                self.model,
                self.name,
                short_type::<C>()
            ),
        )
    }

    /// Find the foreign key the relationship joins on.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming both models when there is no foreign key
    /// between their tables, or several and none was chosen.
    pub(crate) fn resolve(&self) -> Result<Resolved> {
        let (pt, ct) = (P::table(), C::table());
        match self.kind {
            RelKind::OneToMany | RelKind::OneToOne => {
                let (fk_col, referred) = self.single_fk(ct, pt, "the related model")?;
                Ok(Resolved {
                    parent_col: referred,
                    child_col: fk_col,
                    through: None,
                })
            }
            RelKind::ManyToOne => {
                let (fk_col, referred) = self.single_fk(pt, ct, "this model")?;
                Ok(Resolved {
                    parent_col: fk_col,
                    child_col: referred,
                    through: None,
                })
            }
            RelKind::ManyToMany => {
                let Some(through) = self.through else {
                    return Err(self.config_error(
                        "a many-to-many relationship needs `through = AssociationModel`".into(),
                    ));
                };
                let at = through();
                let to_p = self.fk_between(at, pt, None)?;
                let to_c = self.fk_between(at, ct, None)?;
                if pt.name() == ct.name() {
                    return Err(self.config_error(format!(
                        "a self-referential many-to-many through \"{}\" is not supported yet",
                        at.name()
                    )));
                }
                Ok(Resolved {
                    parent_col: to_p.1,
                    child_col: to_c.1,
                    through: Some((at, to_p.0, to_c.0)),
                })
            }
        }
    }

    /// The one foreign key from `holder` to `target` (honouring an explicit
    /// `foreign_key`): (holder column, referred column).
    fn single_fk(&self, holder: &Table, target: &Table, side: &str) -> Result<(String, String)> {
        self.fk_between(holder, target, self.foreign_key)
            .map_err(|e| match self.foreign_key {
                Some(_) => e,
                None => Error::new(
                    ErrorKind::Config,
                    format!(
                        "{e} (the foreign key is looked up on {side}, \"{}\")",
                        holder.name()
                    ),
                ),
            })
    }

    fn fk_between(
        &self,
        holder: &Table,
        target: &Table,
        column: Option<&str>,
    ) -> Result<(String, String)> {
        let candidates: Vec<_> = holder
            .foreign_keys()
            .iter()
            .filter(|fk| fk.referred_table == target.name())
            .filter(|fk| column.is_none_or(|c| fk.columns.iter().any(|x| x == c)))
            .collect();
        match candidates.as_slice() {
            [fk] if fk.columns.len() == 1 => {
                Ok((fk.columns[0].clone(), fk.referred_columns[0].clone()))
            }
            [fk] => Err(self.config_error(format!(
                "the foreign key ({}) of \"{}\" has several columns; relationships join on one",
                fk.columns.join(", "),
                holder.name()
            ))),
            [] => Err(self.config_error(match column {
                Some(c) => format!(
                    "\"{}\".\"{c}\" is not a foreign key to \"{}\"",
                    holder.name(),
                    target.name()
                ),
                None => format!(
                    "no foreign key from \"{}\" to \"{}\"; declare one with \
                     #[aludel(foreign_key = \"{}.<column>\")]",
                    holder.name(),
                    target.name(),
                    target.name()
                ),
            })),
            several => Err(self.config_error(format!(
                "\"{}\" has {} foreign keys to \"{}\" ({}); choose one with `foreign_key = \"column\"`",
                holder.name(),
                several.len(),
                target.name(),
                several
                    .iter()
                    .map(|fk| fk.columns.join(", "))
                    .collect::<Vec<_>>()
                    .join("; ")
            ))),
        }
    }
}

/// The type's name without its module path.
pub(crate) fn short_type<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// A relationship seen without its types, for what the Session does to
/// every relationship of a model (cascades, startup checks).
pub trait AnyRelationship: Send + Sync {
    /// The relationship's name.
    fn name(&self) -> &'static str;
    /// Check that the foreign key it joins on exists and is unambiguous.
    ///
    /// # Errors
    /// As [`Model::check_relationships`].
    fn check(&self) -> Result<()>;
    /// Delete cascade for the object in `slot`: load the related objects
    /// (unless passive) and mark them deleted. Returns how many were marked.
    #[doc(hidden)]
    fn cascade_delete<'a>(
        &'a self,
        session: &'a mut Session,
        slot: u32,
    ) -> BoxFuture<'a, Result<usize>>;
}

impl<P: Model, C: Model, M: Cardinality> AnyRelationship for Relationship<P, C, M> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn check(&self) -> Result<()> {
        self.resolve().map(drop)
    }

    fn cascade_delete<'a>(
        &'a self,
        session: &'a mut Session,
        slot: u32,
    ) -> BoxFuture<'a, Result<usize>> {
        Box::pin(async move {
            if !self.cascade.delete || self.kind == RelKind::ManyToOne {
                return Ok(0);
            }
            if self.passive_deletes && self.kind != RelKind::ManyToMany {
                return Ok(0);
            }
            let Some(parent) = session.key_if::<P>(slot) else {
                return Ok(0);
            };
            let children: Vec<Key<C>> = {
                let got = session.load_related_keys(parent, *self).await?;
                got.into_iter().collect()
            };
            let mut marked = 0;
            if self.kind == RelKind::ManyToMany {
                // Association rows go; the related objects stay (SQLAlchemy
                // deletes the secondary rows, not the targets).
                for c in children {
                    session.unlink_many_to_many(parent, *self, c)?;
                }
                return Ok(0);
            }
            for c in children {
                if session.mark_deleted(c) {
                    marked += 1;
                }
            }
            Ok(marked)
        })
    }
}

/// An eager-loading option for a query of `P` objects: [`selectin`],
/// [`joined`] or [`raiseload`], chained with `.then(…)`.
pub trait LoadOption<P>: Send + Sync {
    /// The relationship it loads; a query option replaces the declared
    /// default of the same relationship.
    fn relationship(&self) -> &'static str;

    /// Load the relationship for `parents` (the query's result).
    #[doc(hidden)]
    fn apply<'a>(
        &'a self,
        session: &'a mut Session,
        parents: &'a [Key<P>],
    ) -> BoxFuture<'a, Result<()>>;

    /// For a joined load: the relationship, so the query can add the JOIN.
    #[doc(hidden)]
    fn joined(&self) -> Option<&dyn JoinedLoad<P>> {
        None
    }
}

/// The part of a joined load the query needs: the LEFT JOIN, the related
/// columns, and decoding the related object out of each joined row.
#[doc(hidden)]
pub trait JoinedLoad<P>: Send + Sync {
    /// The related table, the join condition and the related columns; None
    /// when the load must run as a separate SELECT instead (self-referential
    /// or many-to-many).
    fn join(&self) -> Result<Option<crate::session::JoinSpec>>;
    /// Take the related object out of `row` (its columns start at `offset`
    /// and decode with `plan`) and record it for `parent`.
    fn take(
        &self,
        session: &mut Session,
        parent: Key<P>,
        row: &mut aludel_core::Row,
        offset: usize,
        plan: &aludel_core::RowPlan,
    ) -> Result<()>;
    /// Mark the relationship loaded for every parent (after all rows), and
    /// run chained options on the related objects.
    fn finish<'a>(
        &'a self,
        session: &'a mut Session,
        parents: &'a [Key<P>],
    ) -> BoxFuture<'a, Result<()>>;
}

/// Load `rel` for every object of a result in one more SELECT per
/// relationship (`WHERE fk IN (…)`, chunked under the backend's parameter
/// limit): SQLAlchemy's `selectinload`.
pub fn selectin<P, C, M>(rel: Relationship<P, C, M>) -> Selectin<P, C, M> {
    Selectin {
        rel,
        then: Vec::new(),
    }
}

/// Load `rel` in the query itself with a LEFT OUTER JOIN; parents repeated
/// by the join are returned once: SQLAlchemy's `joinedload` (no
/// `.unique()` needed). A query with LIMIT or OFFSET, a self-referential
/// relationship, or a many-to-many one loads it with a second SELECT instead,
/// since the join would limit joined rows rather than parents.
pub fn joined<P, C, M>(rel: Relationship<P, C, M>) -> Joined<P, C, M> {
    Joined {
        rel,
        then: Vec::new(),
    }
}

/// Mark `rel` as not to be loaded lazily for this query's objects: a later
/// `load_related` that would run SQL is an error ([`ErrorKind::NotLoaded`])
/// naming model and relationship (SQLAlchemy's `raiseload`).
pub fn raiseload<P, C, M>(rel: Relationship<P, C, M>) -> RaiseLoad<P, C, M> {
    RaiseLoad { rel }
}

/// Load `rel` only when asked (`session.load_related`), overriding a
/// declared `lazy = "selectin" | "joined" | "raise"` for this query.
pub fn lazyload<P, C, M>(rel: Relationship<P, C, M>) -> LazyLoad<P, C, M> {
    LazyLoad { rel }
}

/// See [`lazyload`].
pub struct LazyLoad<P, C, M> {
    rel: Relationship<P, C, M>,
}

impl<P: Model, C: Model, M: Cardinality> LoadOption<P> for LazyLoad<P, C, M> {
    fn relationship(&self) -> &'static str {
        self.rel.name
    }

    fn apply<'a>(&'a self, _: &'a mut Session, _: &'a [Key<P>]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// See [`selectin`].
pub struct Selectin<P, C, M> {
    rel: Relationship<P, C, M>,
    then: Vec<Box<dyn LoadOption<C>>>,
}

/// See [`joined`].
pub struct Joined<P, C, M> {
    rel: Relationship<P, C, M>,
    then: Vec<Box<dyn LoadOption<C>>>,
}

/// See [`raiseload`].
pub struct RaiseLoad<P, C, M> {
    rel: Relationship<P, C, M>,
}

impl<P, C, M> Selectin<P, C, M> {
    /// Then load `option` for the related objects (`users → posts →
    /// comments`).
    pub fn then(mut self, option: impl LoadOption<C> + 'static) -> Self {
        self.then.push(Box::new(option));
        self
    }
}

impl<P, C, M> Joined<P, C, M> {
    /// Then load `option` for the related objects.
    pub fn then(mut self, option: impl LoadOption<C> + 'static) -> Self {
        self.then.push(Box::new(option));
        self
    }
}

/// The chained options for the loaded objects, then their model's declared
/// defaults not overridden by one of them.
async fn run_then<C: Model>(
    session: &mut Session,
    then: &[Box<dyn LoadOption<C>>],
    children: &[Key<C>],
) -> Result<()> {
    if children.is_empty() {
        return Ok(());
    }
    for option in then {
        option.apply(session, children).await?;
    }
    for option in C::default_loads() {
        if !then
            .iter()
            .any(|o| o.relationship() == option.relationship())
        {
            option.apply(session, children).await?;
        }
    }
    Ok(())
}

impl<P: Model, C: Model, M: Cardinality> LoadOption<P> for Selectin<P, C, M> {
    fn relationship(&self) -> &'static str {
        self.rel.name
    }

    fn apply<'a>(
        &'a self,
        session: &'a mut Session,
        parents: &'a [Key<P>],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let children = session.load_many(parents, self.rel).await?;
            run_then(session, &self.then, &children).await
        })
    }
}

impl<P: Model, C: Model, M: Cardinality> LoadOption<P> for RaiseLoad<P, C, M> {
    fn relationship(&self) -> &'static str {
        self.rel.name
    }

    fn apply<'a>(
        &'a self,
        session: &'a mut Session,
        parents: &'a [Key<P>],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            session.set_raise(parents, self.rel.name);
            Ok(())
        })
    }
}

impl<P: Model, C: Model, M: Cardinality> LoadOption<P> for Joined<P, C, M> {
    fn relationship(&self) -> &'static str {
        self.rel.name
    }

    fn apply<'a>(
        &'a self,
        session: &'a mut Session,
        parents: &'a [Key<P>],
    ) -> BoxFuture<'a, Result<()>> {
        // Reached when the query could not join (see `joined`): a SELECT.
        Box::pin(async move {
            let children = session.load_many(parents, self.rel).await?;
            run_then(session, &self.then, &children).await
        })
    }

    fn joined(&self) -> Option<&dyn JoinedLoad<P>> {
        Some(self)
    }
}

impl<P: Model, C: Model, M: Cardinality> JoinedLoad<P> for Joined<P, C, M> {
    fn join(&self) -> Result<Option<crate::session::JoinSpec>> {
        let r = self.rel.resolve()?;
        let (pt, ct) = (P::table(), C::table());
        if r.through.is_some() || pt.name() == ct.name() {
            return Ok(None);
        }
        let on = ct.c(&r.child_col).eq(pt.c(&r.parent_col));
        let names = C::column_names();
        let cols = names.iter().map(|c| ct.c(c)).collect();
        let keys = C::primary_key_positions()
            .iter()
            .map(|&i| ct.c(names[i]))
            .collect();
        Ok(Some((ct, on, cols, keys)))
    }

    fn take(
        &self,
        session: &mut Session,
        parent: Key<P>,
        row: &mut aludel_core::Row,
        offset: usize,
        plan: &aludel_core::RowPlan,
    ) -> Result<()> {
        session.take_joined::<P, C>(parent, self.rel.name, M::MANY, row, offset, plan)
    }

    fn finish<'a>(
        &'a self,
        session: &'a mut Session,
        parents: &'a [Key<P>],
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let children = session.finish_joined(parents, self.rel)?;
            run_then(session, &self.then, &children).await
        })
    }
}
