//! The compiled cache (SQLAlchemy's `compiled_cache`): a statement's shape
//! (its structure without the values) is hashed; the SQL compiled for a
//! shape is kept per dialect, so building the same statement again with
//! other values costs one walk and a lookup, not a compile.
//!
//! Values are matched between the shape walk and the compiler by address:
//! the shape walk numbers every value of the tree in its own order, and the
//! compiler records, for each placeholder it writes, which numbered value
//! (or which named parameter) fills it. A cache hit replays that list.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use super::compiler::Compiler;
use super::expr::{Expr, OrderBy, Source, TableRef};
use super::select::{Delete, FromItem, Insert, InsertSource, OnConflict, Select, Update};
use super::{CompiledStatement, Params};
use crate::dialect::Dialect;
use crate::error::{Error, ErrorKind, Result};
use crate::schema::Table;
use crate::value::Value;

/// Where a placeholder's value comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BindSrc {
    /// A value in the statement tree, by address.
    Addr(*const ()),
    /// A named parameter, by position in the `Params` given.
    Param(usize),
}

impl BindSrc {
    pub(crate) fn of<T>(v: &T) -> Self {
        BindSrc::Addr(v as *const T as *const ())
    }
}

#[derive(Debug, Clone)]
enum Slot {
    Canon(usize),
    Param(String),
}

/// Notes, while compiling a cache miss, where each placeholder's value
/// comes from.
pub(crate) struct Recorder {
    index: HashMap<*const (), usize>,
    slots: Vec<Slot>,
    complete: bool,
}

impl Recorder {
    pub(crate) fn note(&mut self, src: BindSrc, params: &Params) {
        let slot = match src {
            BindSrc::Addr(a) => self.index.get(&a).map(|&i| Slot::Canon(i)),
            BindSrc::Param(i) => Some(Slot::Param(params.as_slice()[i].0.to_string())),
        };
        match slot {
            Some(s) => self.slots.push(s),
            // A value the shape walk did not see: never cache this shape.
            None => self.complete = false,
        }
    }
}

/// A compiled shape: its SQL and where each placeholder's value comes from.
#[derive(Debug)]
struct Template {
    sql: Arc<str>,
    slots: Vec<Slot>,
    params: Vec<String>,
    /// No walked value fills two placeholders, so values can be moved.
    moves: bool,
}

/// The per-dialect cache of compiled shapes.
#[derive(Debug)]
pub(crate) struct CompiledCache {
    map: Mutex<HashMap<u64, Arc<Template>>>,
    capacity: usize,
}

impl CompiledCache {
    pub(crate) fn new(capacity: usize) -> Self {
        CompiledCache {
            map: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn get(&self, key: u64) -> Option<Arc<Template>> {
        self.map.lock().ok()?.get(&key).cloned()
    }

    fn put(&self, key: u64, t: Template) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= self.capacity {
                // Simple and bounded: start over (SQLAlchemy prunes an LRU).
                map.clear();
            }
            map.insert(key, Arc::new(t));
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// Compile `stmt` through the dialect's compiled cache, if it has one.
pub(crate) fn compile<'s, S: Shape>(
    stmt: &'s S,
    d: &Dialect,
    params: Params,
    run: impl FnOnce(&mut Compiler<'_>, &S) -> Result<()>,
) -> Result<CompiledStatement<'s>> {
    let Some(cache) = d.compiled_cache() else {
        let mut c = Compiler::new(d, &params);
        run(&mut c, stmt)?;
        return c.finish();
    };
    let mut walk = ShapeWalk::default();
    stmt.shape(&mut walk);
    let key = walk.hasher.finish();
    if let Some(t) = cache.get(key) {
        return fill(&t, walk.values, &params);
    }
    // A miss: walk again for the values' addresses, then compile and record.
    let mut walk = ShapeWalk {
        with_addrs: true,
        ..ShapeWalk::default()
    };
    stmt.shape(&mut walk);
    let index = walk
        .addrs
        .iter()
        .enumerate()
        .map(|(i, a)| (*a, i))
        .collect();
    let rec = Recorder {
        index,
        slots: Vec::new(),
        complete: true,
    };
    let mut c = Compiler::new(d, &params).recording(rec);
    run(&mut c, stmt)?;
    let rec = c.take_recorder().expect("recorder");
    let compiled = c.finish()?;
    if rec.complete {
        let mut seen = vec![false; walk.addrs.len()];
        let moves = rec.slots.iter().all(|s| match s {
            Slot::Canon(i) => !std::mem::replace(&mut seen[*i], true),
            Slot::Param(_) => true,
        });
        cache.put(
            key,
            Template {
                sql: compiled.sql.as_ref().into(),
                slots: rec.slots,
                params: params
                    .as_slice()
                    .iter()
                    .map(|(n, _)| n.to_string())
                    .collect(),
                moves,
            },
        );
    }
    Ok(compiled)
}

fn fill(
    t: &Template,
    mut canon: Vec<Value>,
    params: &Params,
) -> Result<CompiledStatement<'static>> {
    for (name, _) in params.as_slice() {
        if !t.params.iter().any(|p| p == name) {
            return Err(Error::new(
                ErrorKind::Bind,
                format!("unexpected bind parameter \"{name}\": the statement has no bindparam(\"{name}\")"),
            ));
        }
    }
    let values = t
        .slots
        .iter()
        .map(|s| match s {
            // Each walked value fills one placeholder, except where a dialect
            // repeats an expression (MySQL's NULLS FIRST emulation).
            Slot::Canon(i) if t.moves => Ok(std::mem::replace(&mut canon[*i], Value::Null)),
            Slot::Canon(i) => Ok(canon[*i].clone()),
            Slot::Param(name) => params.get(name).cloned().ok_or_else(|| {
                Error::new(
                    ErrorKind::Bind,
                    format!("missing bind parameter \"{name}\""),
                )
            }),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(CompiledStatement {
        sql: std::borrow::Cow::Owned(t.sql.to_string()),
        values,
    })
}

/// A word-at-a-time multiplicative hash (rustc's FxHash idea), as a
/// `Hasher`: fast for the many small writes of a shape walk.
#[derive(Default)]
struct Fnv(u64);

impl Fnv {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.mix(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(buf) ^ (rest.len() as u64) << 56);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
}

/// Accumulates a statement's shape hash and its values in walk order.
#[derive(Default)]
pub(crate) struct ShapeWalk {
    hasher: Fnv,
    values: Vec<Value>,
    addrs: Vec<*const ()>,
    /// Collect addresses too (only needed to fill the cache on a miss).
    with_addrs: bool,
}

impl ShapeWalk {
    fn tag(&mut self, t: u8) {
        self.hasher.write_u8(t);
    }
    fn str(&mut self, s: &str) {
        s.hash(&mut self.hasher);
    }
    fn value(&mut self, v: &Value) {
        // The value's kind is part of the shape (PostgreSQL casts select-list
        // values by type); its content is not.
        std::mem::discriminant(v).hash(&mut self.hasher);
        if self.with_addrs {
            self.addrs.push(v as *const Value as *const ());
        } else {
            self.values.push(v.clone());
        }
    }
    fn count(&mut self, n: &Option<u64>) {
        match n {
            Some(v) => {
                self.tag(1);
                if self.with_addrs {
                    self.addrs.push(v as *const u64 as *const ());
                } else {
                    self.values
                        .push(Value::I64(i64::try_from(*v).unwrap_or(i64::MAX)));
                }
            }
            None => self.tag(0),
        }
    }
    fn table(&mut self, t: &Table) {
        // Identity, not just the name: two tables named alike may differ in
        // columns, which the compiler checks.
        self.str(t.name());
        (t.identity() as usize).hash(&mut self.hasher);
        if let Some(s) = t.schema() {
            self.str(s);
        }
    }
    fn table_ref(&mut self, t: &TableRef) {
        self.table(&t.table);
        match &t.alias {
            Some(a) => self.str(a),
            None => self.tag(0),
        }
    }
    fn exprs(&mut self, es: &[Expr]) {
        self.hasher.write_usize(es.len());
        for e in es {
            e.shape(self);
        }
    }
    fn strings(&mut self, ss: &[String]) {
        self.hasher.write_usize(ss.len());
        for s in ss {
            self.str(s);
        }
    }
}

/// Statements and expressions whose shape can be hashed.
pub(crate) trait Shape {
    fn shape(&self, w: &mut ShapeWalk);
}

impl Shape for Expr {
    fn shape(&self, w: &mut ShapeWalk) {
        std::mem::discriminant(self).hash(&mut w.hasher);
        match self {
            Expr::Column(c) => {
                match &c.source {
                    Source::Table(t) => w.table_ref(t),
                    Source::Named(n) => w.str(n),
                }
                w.str(&c.name);
            }
            Expr::Value(v) => w.value(v),
            Expr::Param(n) | Expr::Raw(n) => w.str(n),
            Expr::Null => {}
            Expr::Star(t) => match t {
                Some(t) => w.str(t),
                None => w.tag(0),
            },
            Expr::Binary(op, l, r) => {
                (*op as u8).hash(&mut w.hasher);
                l.shape(w);
                r.shape(w);
            }
            Expr::And(v) | Expr::Or(v) | Expr::Tuple(v) => w.exprs(v),
            Expr::Not(e) => e.shape(w),
            Expr::IsNull(e, n) => {
                e.shape(w);
                n.hash(&mut w.hasher);
            }
            Expr::InList(e, l, n) => {
                e.shape(w);
                w.exprs(l);
                n.hash(&mut w.hasher);
            }
            Expr::InSelect(e, s, n) => {
                e.shape(w);
                s.shape(w);
                n.hash(&mut w.hasher);
            }
            Expr::Between(e, a, b, n) => {
                e.shape(w);
                a.shape(w);
                b.shape(w);
                n.hash(&mut w.hasher);
            }
            Expr::Like {
                expr,
                pattern,
                ilike,
                negated,
            } => {
                expr.shape(w);
                pattern.shape(w);
                ilike.hash(&mut w.hasher);
                negated.hash(&mut w.hasher);
            }
            Expr::Func {
                name,
                args,
                distinct,
            } => {
                w.str(name);
                w.exprs(args);
                distinct.hash(&mut w.hasher);
            }
            Expr::Cast(e, ty) => {
                e.shape(w);
                ty.hash(&mut w.hasher);
            }
            Expr::Case(whens, else_) => {
                w.hasher.write_usize(whens.len());
                for (c, r) in whens {
                    c.shape(w);
                    r.shape(w);
                }
                match else_ {
                    Some(e) => e.shape(w),
                    None => w.tag(0),
                }
            }
            Expr::Subquery(s) | Expr::Exists(s) => s.shape(w),
            Expr::Label(e, l) => {
                e.shape(w);
                w.str(l);
            }
            Expr::Over(e, p, o) => {
                e.shape(w);
                w.exprs(p);
                order_shape(o, w);
            }
        }
    }
}

fn order_shape(items: &[OrderBy], w: &mut ShapeWalk) {
    w.hasher.write_usize(items.len());
    for o in items {
        o.expr.shape(w);
        o.desc.hash(&mut w.hasher);
        o.nulls.map(|n| n as u8).hash(&mut w.hasher);
    }
}

fn from_shape(f: &FromItem, w: &mut ShapeWalk) {
    match f {
        FromItem::Table(t) => {
            w.tag(1);
            w.table_ref(t);
        }
        FromItem::Subquery(s, alias) => {
            w.tag(2);
            s.shape(w);
            w.str(alias);
        }
        FromItem::Cte(n) => {
            w.tag(3);
            w.str(n);
        }
    }
}

impl Shape for Select {
    fn shape(&self, w: &mut ShapeWalk) {
        w.tag(b'S');
        w.hasher.write_usize(self.ctes.len());
        for c in &self.ctes {
            w.str(&c.name);
            w.strings(&c.columns);
            c.recursive.hash(&mut w.hasher);
            match &c.body {
                Some(b) => b.shape(w),
                None => w.tag(0),
            }
        }
        w.exprs(&self.columns);
        w.hasher.write_usize(self.from.len());
        for f in &self.from {
            from_shape(f, w);
        }
        w.hasher.write_usize(self.joins.len());
        for j in &self.joins {
            (j.kind as u8).hash(&mut w.hasher);
            from_shape(&j.item, w);
            match &j.on {
                Some(e) => e.shape(w),
                None => w.tag(0),
            }
        }
        w.exprs(&self.filters);
        w.exprs(&self.group_by);
        w.exprs(&self.having);
        order_shape(&self.order_by, w);
        w.count(&self.limit);
        w.count(&self.offset);
        self.distinct.hash(&mut w.hasher);
        self.for_update.hash(&mut w.hasher);
        w.hasher.write_usize(self.compound.len());
        for (op, s) in &self.compound {
            (*op as u8).hash(&mut w.hasher);
            s.shape(w);
        }
    }
}

impl Shape for Insert {
    fn shape(&self, w: &mut ShapeWalk) {
        w.tag(b'I');
        w.table(&self.table);
        match &self.source {
            InsertSource::Rows(cols, rows) => {
                w.tag(1);
                w.strings(cols);
                w.hasher.write_usize(rows.len());
                for r in rows {
                    w.exprs(r);
                }
            }
            InsertSource::Select(cols, s) => {
                w.tag(2);
                w.strings(cols);
                s.shape(w);
            }
        }
        w.exprs(&self.returning);
        match &self.on_conflict {
            None => w.tag(0),
            Some(OnConflict::Nothing(t)) => {
                w.tag(1);
                w.strings(t);
            }
            Some(OnConflict::Update { target, set }) => {
                w.tag(2);
                w.strings(target);
                w.strings(set);
            }
        }
    }
}

impl Shape for Update {
    fn shape(&self, w: &mut ShapeWalk) {
        w.tag(b'U');
        w.table(&self.table);
        w.hasher.write_usize(self.set.len());
        for (c, e) in &self.set {
            w.str(c);
            e.shape(w);
        }
        w.exprs(&self.filters);
        w.exprs(&self.returning);
    }
}

impl Shape for Delete {
    fn shape(&self, w: &mut ShapeWalk) {
        w.tag(b'D');
        w.table(&self.table);
        w.exprs(&self.filters);
        w.exprs(&self.returning);
    }
}
