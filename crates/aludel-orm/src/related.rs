//! The Session's side of relationships: the loaded-relationship cache,
//! explicit (lazy) and eager loads, and writes through relationships that
//! the flush turns into foreign key values and association rows.

use aludel_core::sql::{delete, insert, select, Expr};
use aludel_core::{Error, ErrorKind, Result, Row, RowPlan, Value};

use crate::relationship::{short_type, Cardinality, RelKind, Relationship, Resolved};
use crate::session::{value_key, FastMap, FastSet, Key, PkKey, Session, SlotSet, State};
use crate::Model;

/// Ids per `IN (…)` list when loading related objects: far below every
/// backend's bound-parameter limit (SQLite 32 766, PostgreSQL and MySQL
/// 65 535), so one SELECT never fails for its size.
pub(crate) const IN_CHUNK: usize = 1000;

/// A foreign key value to set at flush: the `holder` object's column at
/// `holder_pos` takes the `target` object's column at `target_pos` (known
/// only once the target is inserted).
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub holder: u32,
    pub holder_pos: usize,
    pub target: u32,
    pub target_pos: usize,
}

/// An association row to insert or delete at flush (many-to-many).
#[derive(Debug, Clone)]
pub(crate) struct AssocOp {
    pub insert: bool,
    pub table: &'static aludel_core::schema::Table,
    pub parent_col: String,
    pub child_col: String,
    pub parent: u32,
    pub parent_pos: usize,
    pub child: u32,
    pub child_pos: usize,
}

fn position<T: Model>(column: &str) -> Result<usize> {
    T::column_names()
        .iter()
        .position(|c| *c == column)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!(
                    "model {} has no field for column \"{column}\", which a relationship joins on",
                    short_type::<T>()
                ),
            )
        })
}

impl Session {
    /// The relationship's join columns, found once per Session (appending
    /// thousands of children resolves the same foreign key each time).
    fn resolved<P: Model, C: Model, M>(
        &mut self,
        rel: Relationship<P, C, M>,
    ) -> Result<std::sync::Arc<Resolved>> {
        let key = (std::any::TypeId::of::<P>(), rel.name());
        if let Some(r) = self.resolved.get(&key) {
            return Ok(r.clone());
        }
        let r = std::sync::Arc::new(rel.resolve()?);
        self.resolved.insert(key, r.clone());
        Ok(r)
    }

    /// The related objects of `key` through `rel`, loading them if this
    /// Session has not yet (one SELECT; the result is cached, so a second
    /// call runs none). `Vec<Key<C>>` for collections, `Option<Key<C>>`
    /// for many-to-one and one-to-one.
    ///
    /// # Errors
    /// [`ErrorKind::NotLoaded`] when lazy loads are refused (a `raiseload`
    /// option of the query that loaded `key`, or
    /// [`set_raise_on_lazy_load`](Session::set_raise_on_lazy_load)); the
    /// database's error; [`ErrorKind::Config`] when the relationship's
    /// foreign key cannot be found.
    pub async fn load_related<P: Model, C: Model, M: Cardinality>(
        &mut self,
        key: Key<P>,
        rel: Relationship<P, C, M>,
    ) -> Result<M::Keys<C>> {
        let keys = self.load_related_keys(key, rel).await?;
        Ok(M::wrap(keys))
    }

    pub(crate) async fn load_related_keys<P: Model, C: Model, M: Cardinality>(
        &mut self,
        key: Key<P>,
        rel: Relationship<P, C, M>,
    ) -> Result<Vec<Key<C>>> {
        self.try_get(key)?;
        if !self.is_loaded(key, rel) {
            if self.raise_on_lazy || self.raise.contains(&(key.slot, rel.name())) {
                return Err(Error::new(
                    ErrorKind::NotLoaded,
                    format!(
                        "{}.{} is not loaded and lazy loading is refused (raise); \
                         load it with selectin() or joined() in the query",
                        rel.model(),
                        rel.name()
                    ),
                ));
            }
            // The same relationship loaded lazily again and again is a loop
            // over a result: N+1. Flag it at the 3rd, 4th, 8th, 16th… time.
            let n = self.lazy_loads.entry(rel.name()).or_insert(0);
            *n += 1;
            if *n == 3 || (*n > 3 && n.is_power_of_two()) {
                tracing::warn!(
                    target: "aludel::orm",
                    relationship = %format!("{}.{}", rel.model(), rel.name()),
                    lazy_loads = *n,
                    "{}.{} loaded lazily {} times in one session: a loop over a result \
                     (N+1)? load it with selectin() or joined() in the query",
                    rel.model(),
                    rel.name(),
                    *n
                );
            }
            self.load_many(&[key], rel).await?;
        }
        self.related_keys(key, rel)
    }

    /// The related objects of `key` through `rel`, already loaded (by
    /// [`load_related`](Session::load_related), an eager option, or a write
    /// through the relationship); never runs SQL.
    ///
    /// # Errors
    /// [`ErrorKind::NotLoaded`] naming model and relationship when it was
    /// not loaded.
    pub fn related<P: Model, C: Model, M: Cardinality>(
        &self,
        key: Key<P>,
        rel: Relationship<P, C, M>,
    ) -> Result<M::Keys<C>> {
        self.related_keys(key, rel).map(M::wrap)
    }

    fn related_keys<P: Model, C: Model, M>(
        &self,
        key: Key<P>,
        rel: Relationship<P, C, M>,
    ) -> Result<Vec<Key<C>>> {
        self.try_get(key)?;
        let Some(slots) = self.related.get(&(key.slot, rel.name())) else {
            return Err(Error::new(
                ErrorKind::NotLoaded,
                format!(
                    "{}.{} is not loaded for {key:?}: load it with session.load_related(…) \
                     or selectin()/joined() in the query",
                    rel.model(),
                    rel.name()
                ),
            ));
        };
        Ok(self.live_keys::<C>(slots))
    }

    /// Whether `rel` is loaded for `key` in this Session.
    pub fn is_loaded<P: Model, C: Model, M>(
        &self,
        key: Key<P>,
        rel: Relationship<P, C, M>,
    ) -> bool {
        self.contains(key) && self.related.contains_key(&(key.slot, rel.name()))
    }

    /// Refuse (`true`) or allow (`false`, the default) lazy loads: with
    /// `true`, [`load_related`](Session::load_related) of a relationship
    /// not loaded eagerly is an [`ErrorKind::NotLoaded`] error (SQLAlchemy's
    /// `lazy="raise"` as a session default).
    pub fn set_raise_on_lazy_load(&mut self, on: bool) {
        self.raise_on_lazy = on;
    }

    pub(crate) fn set_raise<P>(&mut self, parents: &[Key<P>], name: &'static str) {
        for k in parents {
            self.raise.insert((k.slot, name));
        }
    }

    /// Load `rel` for all `parents` (those not loaded yet) with one SELECT
    /// per chunk of keys; returns every related key (deduplicated).
    pub(crate) async fn load_many<P: Model, C: Model, M: Cardinality>(
        &mut self,
        parents: &[Key<P>],
        rel: Relationship<P, C, M>,
    ) -> Result<Vec<Key<C>>> {
        let r = self.resolved(rel)?;
        let parent_pos = position::<P>(&r.parent_col)?;
        let child_pos = position::<C>(&r.child_col)?;
        // Parents by the value they join on: an index into `groups`, which
        // holds the parents' slots and, as rows arrive, their children's.
        let mut by_value: FastMap<PkKey, usize> = FastMap::default();
        let mut groups: Vec<(Vec<u32>, Vec<u32>)> = Vec::new();
        let mut values = Vec::new();
        let mut seen = SlotSet::default();
        let mut all = Vec::new();
        let mut all_seen = SlotSet::default();
        // The parents this call loads; marked loaded only once every chunk
        // has arrived, so a failed load leaves them not loaded.
        let mut fresh = Vec::new();
        for &k in parents {
            if !self.contains(k) || !seen.insert(k.slot) {
                continue;
            }
            // Loaded already (by an earlier load or a write): kept, as
            // SQLAlchemy's eager loaders keep loaded collections.
            if let Some(loaded) = self.related.get(&(k.slot, rel.name())) {
                for &c in loaded {
                    if all_seen.insert(c) {
                        if let Some(ck) = self.key_if::<C>(c) {
                            all.push(ck);
                        }
                    }
                }
                continue;
            }
            let v = self.object_value(k.slot, parent_pos);
            fresh.push(k.slot);
            if v.is_null() {
                continue;
            }
            let at = *by_value.entry(value_key(&v)).or_insert_with(|| {
                values.push(v);
                groups.push((Vec::new(), Vec::new()));
                groups.len() - 1
            });
            groups[at].0.push(k.slot);
        }
        let (ct, cols) = (C::table(), C::column_names());
        let pk_order: Vec<Expr> = C::primary_key_positions()
            .iter()
            .map(|&i| ct.c(cols[i]))
            .collect();
        for chunk in values.chunks(IN_CHUNK) {
            // The objects, and the value each was joined on.
            let (joined_on, objects): (Vec<Value>, Vec<C>) = match &r.through {
                None => {
                    let stmt = select(cols.iter().map(|c| ct.c(c)))
                        .from(ct)
                        .filter(ct.c(&r.child_col).in_(chunk.iter().cloned()))
                        .order_by(pk_order.clone());
                    let rows: Vec<C> = self
                        .read_conn_for(C::bind())
                        .await?
                        .execute(&stmt, ())
                        .await?
                        .all_as()?;
                    (rows.iter().map(|c| c.value_at(child_pos)).collect(), rows)
                }
                Some((at, to_p, to_c)) => {
                    let mut columns = vec![at.c(to_p).label("aludel_parent_key")];
                    columns.extend(cols.iter().map(|c| ct.c(c)));
                    let stmt = select(columns)
                        .from(ct)
                        .join_on(*at, at.c(to_c).eq(ct.c(&r.child_col)))
                        .filter(at.c(to_p).in_(chunk.iter().cloned()))
                        .order_by(pk_order.clone());
                    let rows = self
                        .read_conn_for(C::bind())
                        .await?
                        .execute(&stmt, ())
                        .await?
                        .all()?;
                    let plan = RowPlan::from_positions((1..=cols.len()).map(Some).collect());
                    let mut joined_on = Vec::with_capacity(rows.len());
                    let mut objects = Vec::with_capacity(rows.len());
                    for mut row in rows {
                        joined_on.push(row.take(0usize)?);
                        objects.push(C::from_row_planned(&mut row, &plan)?);
                    }
                    (joined_on, objects)
                }
            };
            let keys = self.adopt(objects);
            let back = rel
                .back_name()
                .filter(|_| rel.kind() == RelKind::OneToMany || rel.kind() == RelKind::OneToOne);
            for (v, key) in joined_on.iter().zip(&keys) {
                if let Some(&at) = by_value.get(&value_key(v)) {
                    let (parents, children) = &mut groups[at];
                    // Through an association table a child can come twice
                    // for one parent (a duplicated association row); by a
                    // foreign key each child row comes once.
                    if r.through.is_none() || !children.contains(&key.slot) {
                        children.push(key.slot);
                    }
                    if let Some(back) = back {
                        self.related.insert((key.slot, back), parents.clone());
                    }
                }
                if all_seen.insert(key.slot) {
                    all.push(*key);
                }
            }
        }
        for p in fresh {
            self.related.entry((p, rel.name())).or_default();
        }
        for (parents, children) in groups {
            for p in parents {
                if let Some(list) = self.related.get_mut(&(p, rel.name())) {
                    list.extend_from_slice(&children);
                }
            }
        }
        Ok(all)
    }

    /// One joined row: decode the related object at `offset` (none when the
    /// LEFT JOIN found nothing) and record it for `parent`.
    pub(crate) fn take_joined<P: Model, C: Model>(
        &mut self,
        parent: Key<P>,
        name: &'static str,
        many: bool,
        row: &mut Row,
        offset: usize,
        plan: &RowPlan,
    ) -> Result<()> {
        let missing = C::primary_key_positions()
            .iter()
            .any(|&i| row.value(offset + i).is_ok_and(Value::is_null));
        let child = if missing {
            None
        } else {
            let object = C::from_row_planned(row, plan)?;
            Some(self.adopt_one(object).slot)
        };
        let list = self.related.entry((parent.slot, name)).or_default();
        if let Some(c) = child {
            if !list.contains(&c) && (many || list.is_empty()) {
                list.push(c);
            }
        }
        Ok(())
    }

    /// After a joined query: every parent has the relationship loaded (an
    /// empty one where the join found nothing); returns the related keys.
    pub(crate) fn finish_joined<P: Model, C: Model, M: Cardinality>(
        &mut self,
        parents: &[Key<P>],
        rel: Relationship<P, C, M>,
    ) -> Result<Vec<Key<C>>> {
        let mut all = Vec::new();
        let mut seen = SlotSet::default();
        for &p in parents {
            let slots = self
                .related
                .entry((p.slot, rel.name()))
                .or_default()
                .clone();
            if let (RelKind::OneToMany | RelKind::OneToOne, Some(back)) =
                (rel.kind(), rel.back_name())
            {
                for &c in &slots {
                    self.related.insert((c, back), vec![p.slot]);
                }
            }
            for s in slots {
                if seen.insert(s) {
                    if let Some(k) = self.key_if::<C>(s) {
                        all.push(k);
                    }
                }
            }
        }
        Ok(all)
    }

    /// Add `child` to `parent`'s collection `rel` (one-to-many or
    /// many-to-many). At flush the child's foreign key is set from the
    /// parent's key (after the parent's INSERT, if it is new), or an
    /// association row is inserted. The loaded collection and, with
    /// `back_populates`, the child's side are updated now.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when a key left the Session or the
    /// relationship's foreign key cannot be found.
    pub fn append<P: Model, C: Model>(
        &mut self,
        parent: Key<P>,
        rel: Relationship<P, C, crate::Many>,
        child: Key<C>,
    ) -> Result<()> {
        self.try_get(parent)?;
        self.try_get(child)?;
        let r = self.resolved(rel)?;
        self.link(parent, rel.kind(), &r, child)?;
        if let Some(list) = self.related.get_mut(&(parent.slot, rel.name())) {
            if !list.contains(&child.slot) {
                list.push(child.slot);
            }
        }
        if let Some(back) = rel.back_name() {
            match rel.kind() {
                RelKind::ManyToMany => {
                    if let Some(list) = self.related.get_mut(&(child.slot, back)) {
                        if !list.contains(&parent.slot) {
                            list.push(parent.slot);
                        }
                    }
                }
                _ => self.set_back_parent(child.slot, back, Some(parent.slot)),
            }
        }
        Ok(())
    }

    /// Set the object `holder` relates to through a many-to-one or
    /// one-to-one `rel` (`None` clears it: the foreign key becomes NULL).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when a key left the Session; with `None` on a
    /// NOT NULL foreign key, an [`ErrorKind::Integrity`] error before any
    /// SQL is sent.
    pub fn set_related<P: Model, C: Model>(
        &mut self,
        holder: Key<P>,
        rel: Relationship<P, C, crate::One>,
        target: Option<Key<C>>,
    ) -> Result<()> {
        self.try_get(holder)?;
        let r = self.resolved(rel)?;
        match (rel.kind(), target) {
            (RelKind::ManyToOne, Some(t)) => {
                self.try_get(t)?;
                let holder_pos = position::<P>(&r.parent_col)?;
                self.links.insert(
                    (holder.slot, holder_pos),
                    Link {
                        holder: holder.slot,
                        holder_pos,
                        target: t.slot,
                        target_pos: position::<C>(&r.child_col)?,
                    },
                );
            }
            (RelKind::ManyToOne, None) => {
                self.clear_fk::<P>(holder.slot, &r.parent_col, rel.model(), rel.name())?;
            }
            (_, Some(t)) => {
                // One-to-one from the parent side: the target holds the key.
                self.try_get(t)?;
                self.link(holder, RelKind::OneToMany, &r, t)?;
            }
            (_, None) => {
                let old = self
                    .related
                    .get(&(holder.slot, rel.name()))
                    .cloned()
                    .unwrap_or_default();
                for c in old {
                    if let Some(k) = self.key_if::<C>(c) {
                        self.clear_fk::<C>(k.slot, &r.child_col, rel.model(), rel.name())?;
                    }
                }
            }
        }
        self.related.insert(
            (holder.slot, rel.name()),
            target.map(|t| vec![t.slot]).unwrap_or_default(),
        );
        if let (Some(back), Some(t)) = (rel.back_name(), target) {
            if rel.kind() == RelKind::ManyToOne {
                if let Some(list) = self.related.get_mut(&(t.slot, back)) {
                    if !list.contains(&holder.slot) {
                        list.push(holder.slot);
                    }
                }
            } else {
                self.set_back_parent(t.slot, back, Some(holder.slot));
            }
        }
        Ok(())
    }

    /// Take `child` out of `parent`'s collection `rel`. One-to-many: with
    /// the `delete-orphan` cascade the child is deleted at flush, otherwise
    /// its foreign key becomes NULL. Many-to-many: the association row is
    /// deleted.
    ///
    /// # Errors
    /// Without `delete-orphan`, a NOT NULL foreign key is an
    /// [`ErrorKind::Integrity`] error naming the column, before any SQL.
    pub fn remove_related<P: Model, C: Model>(
        &mut self,
        parent: Key<P>,
        rel: Relationship<P, C, crate::Many>,
        child: Key<C>,
    ) -> Result<()> {
        self.try_get(parent)?;
        self.try_get(child)?;
        let r = self.resolved(rel)?;
        match rel.kind() {
            RelKind::ManyToMany => self.unlink_many_to_many(parent, rel, child)?,
            _ if rel.cascades().delete_orphan => {
                self.delete(child)?;
            }
            _ => {
                self.clear_fk::<C>(child.slot, &r.child_col, rel.model(), rel.name())?;
                self.links.retain(|_, l| l.holder != child.slot);
            }
        }
        if let Some(list) = self.related.get_mut(&(parent.slot, rel.name())) {
            list.retain(|&s| s != child.slot);
        }
        if let Some(back) = rel.back_name() {
            match rel.kind() {
                RelKind::ManyToMany => {
                    if let Some(list) = self.related.get_mut(&(child.slot, back)) {
                        list.retain(|&s| s != parent.slot);
                    }
                }
                _ => self.set_back_parent(child.slot, back, None),
            }
        }
        Ok(())
    }

    /// Record the foreign key (or association row) that makes `child`
    /// related to `parent`.
    fn link<P: Model, C: Model>(
        &mut self,
        parent: Key<P>,
        kind: RelKind,
        r: &Resolved,
        child: Key<C>,
    ) -> Result<()> {
        match &r.through {
            Some((table, to_p, to_c)) => {
                self.assoc_ops.push(AssocOp {
                    insert: true,
                    table,
                    parent_col: to_p.clone(),
                    child_col: to_c.clone(),
                    parent: parent.slot,
                    parent_pos: position::<P>(&r.parent_col)?,
                    child: child.slot,
                    child_pos: position::<C>(&r.child_col)?,
                });
            }
            None => {
                debug_assert!(kind != RelKind::ManyToOne);
                // One link per foreign key column: a later write replaces it.
                let holder_pos = position::<C>(&r.child_col)?;
                self.links.insert(
                    (child.slot, holder_pos),
                    Link {
                        holder: child.slot,
                        holder_pos,
                        target: parent.slot,
                        target_pos: position::<P>(&r.parent_col)?,
                    },
                );
            }
        }
        Ok(())
    }

    pub(crate) fn unlink_many_to_many<P: Model, C: Model, M>(
        &mut self,
        parent: Key<P>,
        rel: Relationship<P, C, M>,
        child: Key<C>,
    ) -> Result<()> {
        let r = self.resolved(rel)?;
        let Some((table, to_p, to_c)) = r.through.clone() else {
            return Ok(());
        };
        // Not yet flushed: forget the pending insert instead.
        let before = self.assoc_ops.len();
        self.assoc_ops.retain(|op| {
            !(op.insert
                && op.parent == parent.slot
                && op.child == child.slot
                && op.table.name() == table.name())
        });
        if self.assoc_ops.len() == before {
            self.assoc_ops.push(AssocOp {
                insert: false,
                table,
                parent_col: to_p,
                child_col: to_c,
                parent: parent.slot,
                parent_pos: position::<P>(&r.parent_col)?,
                child: child.slot,
                child_pos: position::<C>(&r.child_col)?,
            });
        }
        Ok(())
    }

    /// The back side of a one-to-many pair (a many-to-one) now points at
    /// `parent`.
    fn set_back_parent(&mut self, child: u32, back: &'static str, parent: Option<u32>) {
        self.related
            .insert((child, back), parent.into_iter().collect());
    }

    /// Set a foreign key column to NULL now, or refuse if it is NOT NULL.
    fn clear_fk<T: Model>(
        &mut self,
        slot: u32,
        column: &str,
        model: &str,
        rel: &str,
    ) -> Result<()> {
        let t = T::table();
        if t.column(column).is_ok_and(|c| !c.is_nullable()) {
            return Err(Error::new(
                ErrorKind::Integrity(aludel_core::IntegrityKind::NotNull),
                format!(
                    "removing the object from {model}.{rel} would set \"{}\".\"{column}\" to NULL, \
                     but the column is NOT NULL: delete the object, or declare the relationship with \
                     cascade = \"all, delete-orphan\"",
                    t.name()
                ),
            )
            .with_table(Some(t.name().to_string()))
            .with_column(Some(column.to_string())));
        }
        let pos = position::<T>(column)?;
        self.links.remove(&(slot, pos));
        self.set_object_value(slot, pos, Value::Null)
    }

    /// Mark the object deleted (cascade); whether it was newly marked.
    pub(crate) fn mark_deleted<T: Model>(&mut self, key: Key<T>) -> bool {
        let live = self.entry(key).is_some_and(|e| e.state != State::Deleted);
        live && self.delete(key).is_ok()
    }

    /// Set the foreign keys recorded by writes through relationships, for
    /// holders in `table` (all holders when `None`), from their targets'
    /// keys. Called before each table's INSERTs (not `strict`: a link to a
    /// row not inserted yet waits) and, `strict`, before the UPDATEs.
    pub(crate) fn resolve_links(&mut self, table: Option<&str>, strict: bool) -> Result<()> {
        let links = std::mem::take(&mut self.links);
        let mut keep = FastMap::default();
        for (k, l) in links {
            let Some(holder) = self.entries[l.holder as usize].as_ref() else {
                continue;
            };
            if holder.state == State::Deleted {
                continue;
            }
            if table.is_some_and(|t| (holder.ops.table)().name() != t) {
                keep.insert(k, l);
                continue;
            }
            let Some(target) = self.entries[l.target as usize].as_ref() else {
                continue;
            };
            let v = self.stores[target.store as usize].value_at(target.index, l.target_pos);
            if target.state == State::Pending && !strict {
                // Its INSERT comes later (a row of the same table).
                keep.insert(k, l);
                continue;
            }
            if target.state == State::Pending || v.is_null() {
                let (tn, hn) = ((target.ops.type_name)(), (holder.ops.type_name)());
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "cannot set the foreign key of a {hn}: the {tn} it refers to has no key yet \
                         (is there a cycle between their tables?)"
                    ),
                ));
            }
            self.ensure_snapshot(l.holder as usize);
            let current = self.object_value(l.holder, l.holder_pos);
            if current != v {
                self.set_object_value(l.holder, l.holder_pos, v)?;
            }
        }
        self.links = keep;
        Ok(())
    }

    /// INSERT (or DELETE, `insert == false`) the association rows recorded
    /// by many-to-many writes; both sides have their keys by now.
    pub(crate) async fn flush_associations(&mut self, insert_rows: bool) -> Result<()> {
        let (ops, rest): (Vec<AssocOp>, Vec<AssocOp>) = std::mem::take(&mut self.assoc_ops)
            .into_iter()
            .partition(|op| op.insert == insert_rows);
        self.assoc_ops = rest;
        // Rows per association table: one multi-row INSERT per chunk, or a
        // DELETE per row.
        type Rows = Vec<[(String, Expr); 2]>;
        // The association table lives on the parent model's bind.
        type Table = &'static aludel_core::schema::Table;
        let mut by_table: Vec<(Table, Option<&'static str>, Rows)> = Vec::new();
        for op in ops {
            let live = |slot: u32| self.entries[slot as usize].is_some();
            if !live(op.parent) || !live(op.child) {
                continue;
            }
            let pv = self.object_value(op.parent, op.parent_pos);
            let cv = self.object_value(op.child, op.child_pos);
            let row = [
                (op.parent_col, Expr::from(pv)),
                (op.child_col, Expr::from(cv)),
            ];
            let bind = self.entries[op.parent as usize]
                .as_ref()
                .and_then(|e| (e.ops.bind)());
            match by_table
                .iter_mut()
                .find(|(t, b, _)| t.name() == op.table.name() && *b == bind)
            {
                Some((_, _, rows)) => rows.push(row),
                None => by_table.push((op.table, bind, vec![row])),
            }
        }
        for (t, bind, rows) in by_table {
            if insert_rows {
                for part in rows.chunks(IN_CHUNK) {
                    let what = format!(
                        "INSERT of {} association rows into \"{}\"",
                        part.len(),
                        t.name()
                    );
                    self.conn_for(bind)
                        .await?
                        .execute(&insert(t).values_many(part.to_vec()), ())
                        .await
                        .map_err(|e| e.context(&what))?;
                }
                continue;
            }
            for [(pc, pv), (cc, cv)] in rows {
                let what = format!(
                    "DELETE of an association row from \"{}\" ({pc} = {pv:?}, {cc} = {cv:?})",
                    t.name()
                );
                let stmt = delete(t).filter(t.c(&pc).eq(pv)).filter(t.c(&cc).eq(cv));
                self.conn_for(bind)
                    .await?
                    .execute(&stmt, ())
                    .await
                    .map_err(|e| e.context(&what))?;
            }
        }
        Ok(())
    }

    /// The pending objects among `slots` whose foreign key waits for another
    /// pending object (of the same table: a self-referential link).
    pub(crate) fn blocked_by_links(&self, slots: &[usize]) -> FastSet<usize> {
        let slots: FastSet<usize> = slots.iter().copied().collect();
        self.links
            .values()
            .filter(|l| {
                self.entries[l.target as usize]
                    .as_ref()
                    .is_some_and(|t| t.state == State::Pending)
            })
            .map(|l| l.holder as usize)
            .filter(|h| slots.contains(h))
            .collect()
    }

    /// Delete cascades: related objects of deleted objects are loaded (unless
    /// passive) and deleted too, until nothing new is marked.
    pub(crate) async fn cascade_deletes(&mut self) -> Result<()> {
        let mut done = FastSet::default();
        loop {
            let todo: Vec<u32> = (0..self.entries.len() as u32)
                .filter(|&s| {
                    !done.contains(&s)
                        && self.entries[s as usize]
                            .as_ref()
                            .is_some_and(|e| e.state == State::Deleted)
                })
                .collect();
            if todo.is_empty() {
                return Ok(());
            }
            for slot in todo {
                done.insert(slot);
                let rels = {
                    let e = self.entries[slot as usize].as_ref().expect("entry");
                    (e.ops.relationships)()
                };
                for rel in rels {
                    rel.cascade_delete(self, slot).await?;
                }
            }
        }
    }
}
