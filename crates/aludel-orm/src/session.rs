//! The Session: an identity map and a unit of work over one connection,
//! holding the objects it tracks and lending them through typed keys (see
//! ARCHITECTURE.md, "The ORM").

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use aludel_core::schema::{MetaData, Table};
use aludel_core::sql::{delete, select, update, Expr, Select};
use aludel_core::{Connection, Engine, Error, ErrorKind, Result, Value};

use crate::Model;

/// A typed handle to an object tracked by a [`Session`]: `session[key]`
/// reads it, `session[key].field = …` changes it. `Copy` and cheap.
pub struct Key<T> {
    pub(crate) slot: u32,
    generation: u32,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Key<T> {}
impl<T> PartialEq for Key<T> {
    fn eq(&self, o: &Self) -> bool {
        self.slot == o.slot && self.generation == o.generation
    }
}
impl<T> Eq for Key<T> {}
impl<T> std::hash::Hash for Key<T> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (self.slot, self.generation).hash(h);
    }
}
impl<T> fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Key<{}>({}#{})",
            std::any::type_name::<T>(),
            self.slot,
            self.generation
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Pending,
    Persistent,
    Deleted,
}

/// What the Session needs of a model type, without knowing the type.
pub(crate) struct Ops {
    pub(crate) type_name: fn() -> &'static str,
    pub(crate) table: fn() -> &'static Table,
    columns: fn() -> &'static [&'static str],
    pk: fn() -> &'static [usize],
    defaults: fn() -> &'static [crate::ColumnDefault],
    /// Position of the version column, if the model has one.
    version: fn() -> Option<usize>,
    pub(crate) relationships: fn() -> &'static [&'static dyn crate::AnyRelationship],
    /// The model's bind (`#[aludel(bind = "…")]`).
    pub(crate) bind: fn() -> Option<&'static str>,
}

fn version_position<T: Model>() -> Option<usize> {
    T::version_column().and_then(|v| T::column_names().iter().position(|c| *c == v))
}

struct OpsFor<T>(PhantomData<T>);

impl<T: Model> OpsFor<T> {
    /// One table of operations per model type, shared by all its objects.
    const OPS: Ops = Ops {
        type_name: std::any::type_name::<T>,
        table: T::table,
        columns: T::column_names,
        pk: T::primary_key_positions,
        defaults: T::rust_defaults,
        version: version_position::<T>,
        bind: T::bind,
        relationships: T::relationships,
    };
}

fn ops<T: Model>() -> &'static Ops {
    &OpsFor::<T>::OPS
}

/// The objects of one model type, stored inline (no allocation per object):
/// an [`Entry`] points at its object by store and index.
struct Store<T> {
    objects: Vec<Option<T>>,
}

/// What the Session does to a store without knowing its type.
pub(crate) trait AnyStore: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn values(&self, index: u32) -> Vec<Value>;
    fn value_at(&self, index: u32, position: usize) -> Value;
    fn set(&mut self, index: u32, position: usize, value: Value) -> Result<()>;
    fn remove(&mut self, index: u32);
}

impl<T: Model> AnyStore for Store<T> {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn values(&self, index: u32) -> Vec<Value> {
        self.objects[index as usize]
            .as_ref()
            .expect("stored object")
            .to_values()
    }
    fn value_at(&self, index: u32, position: usize) -> Value {
        self.objects[index as usize]
            .as_ref()
            .expect("stored object")
            .value_at(position)
    }
    fn set(&mut self, index: u32, position: usize, value: Value) -> Result<()> {
        self.objects[index as usize]
            .as_mut()
            .expect("stored object")
            .set_value(position, value)
    }
    fn remove(&mut self, index: u32) {
        self.objects[index as usize] = None;
    }
}

pub(crate) struct Entry {
    /// Which store holds the object, and where in it.
    pub(crate) store: u32,
    pub(crate) index: u32,
    /// The column values as last loaded or flushed (None while pending):
    /// what the next flush compares with.
    snapshot: Option<Snapshot>,
    /// The column values as last loaded or committed: what a rollback
    /// restores (a flushed change is undone by the ROLLBACK too).
    committed: Option<Snapshot>,
    pub(crate) state: State,
    expired: bool,
    /// Inserted by a flush of the transaction still open: a rollback
    /// removes the row, so the object leaves the Session.
    inserted_in_txn: bool,
    generation: u32,
    pub(crate) ops: &'static Ops,
}

/// A key for the identity map: the model's store in the Session (one per
/// model type) and its primary key values.
type Identity = (u32, PkKey);

/// Column values shared between the flush snapshot and the committed copy
/// (usually the same values: one allocation, two owners).
type Snapshot = std::sync::Arc<Vec<Value>>;

/// A small multiplicative hasher for the identity map, whose keys are a
/// `TypeId` and (mostly) an integer: SipHash's DoS resistance buys nothing
/// here and costs on every loaded row.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        // A product's low bits depend only on the input's low bits, and the
        // table indexes by the low bits: rotate the well-mixed high bits
        // down, or keys that are multiples of a power of two would collide.
        self.0.rotate_left(26)
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in chunks.by_ref() {
            self.write_u64(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let mut buf = [0u8; 8];
            buf[..tail.len()].copy_from_slice(tail);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_i64(&mut self, i: i64) {
        self.write_u64(i as u64);
    }
}

/// The Session's hasher: fast for its small keys (slots, integers, short
/// relationship names).
pub(crate) type FastHash = std::hash::BuildHasherDefault<IdHasher>;

/// A HashMap with [`FastHash`].
pub(crate) type FastMap<K, V> = HashMap<K, V, FastHash>;

/// A HashSet with [`FastHash`].
pub(crate) type FastSet<K> = std::collections::HashSet<K, FastHash>;

/// A set of Session slots (dense indices into its entries), one bit each.
#[derive(Default)]
pub(crate) struct SlotSet(Vec<u64>);

impl SlotSet {
    /// Add `slot`; false when it was there already.
    pub(crate) fn insert(&mut self, slot: u32) -> bool {
        let (word, bit) = ((slot / 64) as usize, 1u64 << (slot % 64));
        if word >= self.0.len() {
            self.0.resize(word + 1, 0);
        }
        let fresh = self.0[word] & bit == 0;
        self.0[word] |= bit;
        fresh
    }
}

/// The identity map of one model type: primary key → slot. One-integer
/// keys (the common case) sit in a map of their own whose entries are 16
/// bytes, a quarter of a general key's: loading 10 000 rows fills 16 384 of
/// them, and a smaller table is less memory to allocate, fault in and free
/// per query.
#[derive(Default)]
struct Identities {
    ints: FastMap<i64, u32>,
    texts: FastMap<String, u32>,
}

/// The identity map: one [`Identities`] per store.
#[derive(Default)]
struct IdentityMap(Vec<Identities>);

impl IdentityMap {
    fn of(&mut self, store: u32) -> &mut Identities {
        let i = store as usize;
        if i >= self.0.len() {
            self.0.resize_with(i + 1, Identities::default);
        }
        &mut self.0[i]
    }

    fn get(&self, (store, key): &Identity) -> Option<&u32> {
        let ids = self.0.get(*store as usize)?;
        match key {
            PkKey::Int(i) => ids.ints.get(i),
            PkKey::Text(t) => ids.texts.get(t),
        }
    }

    fn insert(&mut self, (store, key): Identity, slot: u32) {
        let ids = self.of(store);
        match key {
            PkKey::Int(i) => ids.ints.insert(i, slot),
            PkKey::Text(t) => ids.texts.insert(t, slot),
        };
    }

    fn remove(&mut self, (store, key): &Identity) -> Option<u32> {
        let ids = self.0.get_mut(*store as usize)?;
        match key {
            PkKey::Int(i) => ids.ints.remove(i),
            PkKey::Text(t) => ids.texts.remove(t),
        }
    }

    fn clear(&mut self) {
        self.0.clear();
    }

    /// The slot `id` maps to, mapping it to `next` first if it is unmapped
    /// or its slot is not `live` (a stale mapping): one hash either way.
    fn claim(&mut self, (store, key): Identity, next: u32, live: impl Fn(u32) -> bool) -> u32 {
        fn claim_in<K: std::hash::Hash + Eq>(
            map: &mut FastMap<K, u32>,
            key: K,
            next: u32,
            live: impl Fn(u32) -> bool,
        ) -> u32 {
            use std::collections::hash_map::Entry as Slot;
            match map.entry(key) {
                Slot::Vacant(v) => *v.insert(next),
                Slot::Occupied(mut o) if !live(*o.get()) => {
                    o.insert(next);
                    next
                }
                Slot::Occupied(o) => *o.get(),
            }
        }
        let ids = self.of(store);
        match key {
            PkKey::Int(i) => claim_in(&mut ids.ints, i, next, live),
            PkKey::Text(t) => claim_in(&mut ids.texts, t, next, live),
        }
    }
}

/// A primary key as a hashable map key: integer keys (the common case)
/// without formatting, anything else by its debug text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum PkKey {
    Int(i64),
    Text(String),
}

/// A value as a hashable key (integers as themselves, anything else by its
/// debug text), for grouping rows by the value they join on.
pub(crate) fn value_key(v: &Value) -> PkKey {
    match v.as_i64() {
        Some(i) => PkKey::Int(i),
        None => PkKey::Text(format!("{v:?}")),
    }
}

fn identity_of(store: u32, pk: &[Value]) -> Identity {
    let key = match pk {
        [v] if v.as_i64().is_some() => PkKey::Int(v.as_i64().expect("integer")),
        _ => PkKey::Text(format!("{pk:?}")),
    };
    (store, key)
}

/// The identity of a loaded object, without collecting its key into a
/// vector when the key is one integer column (every loaded row pays this).
fn identity_of_object<T: Model>(store: u32, obj: &T) -> Identity {
    match T::primary_key_positions() {
        [i] => match obj.value_at(*i) {
            v if v.as_i64().is_some() => (store, PkKey::Int(v.as_i64().expect("integer"))),
            v => identity_of(store, std::slice::from_ref(&v)),
        },
        _ => identity_of(store, &obj.primary_key()),
    }
}

/// One connection whose transaction several [`Session`]s share, each in a
/// SAVEPOINT of its own; rolling the shared transaction back at the end
/// undoes all of them. It is the classic way to test an app against a real
/// database without cleanup: the test begins a `SharedConnection`, the app
/// under test gets Sessions joined to it ([`SessionFactory::join`]), and
/// the test ends with [`rollback`](SharedConnection::rollback). Tests each
/// with their own shared connection run in parallel.
///
/// Joined Sessions take turns: a Session holds the connection from its
/// first statement to its commit, rollback or drop (a dropped Session's
/// savepoint is rolled back by the next one). On MySQL and MariaDB a DDL
/// statement commits implicitly, ending the shared transaction: create the
/// schema before [`begin`](SharedConnection::begin).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_core::Result<()> {
/// use aludel_core::text;
/// use aludel_orm::{SessionFactory, SharedConnection};
/// # let dir = std::env::temp_dir().join(format!("aludel-shared-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir).unwrap();
/// # let url = format!("sqlite:///{}", dir.join("t.db").display());
/// let engine = aludel_core::create_engine(&url)?;
/// engine.execute(text("CREATE TABLE t (x INTEGER)"), ()).await?;
///
/// let shared = SharedConnection::begin(&engine).await?;
/// let factory = SessionFactory::new(&engine).join(&shared);
/// let mut s = factory.session();
/// s.execute(text("INSERT INTO t VALUES (1)"), ()).await?;
/// s.commit().await?; // RELEASE SAVEPOINT: visible to the next joined Session
/// let mut s = factory.session();
/// let n: i64 = s.execute(text("SELECT count(*) FROM t"), ()).await?.scalar_one()?;
/// assert_eq!(n, 1);
/// s.rollback().await?;
/// shared.rollback().await?; // the test's end: nothing was kept
/// let n: i64 = engine.execute(text("SELECT count(*) FROM t"), ()).await?.scalar_one()?;
/// assert_eq!(n, 0);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SharedConnection {
    engine: Engine,
    state: std::sync::Arc<tokio::sync::Mutex<SharedState>>,
}

impl fmt::Debug for SharedConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedConnection")
            .field("dialect", &self.engine.dialect().name())
            .finish()
    }
}

/// What the lock of a [`SharedConnection`] guards.
struct SharedState {
    /// Out while a joined Session holds it; `None` for good after rollback.
    conn: Option<Connection>,
    /// Savepoints handed out (for unique names).
    savepoints: u32,
    /// A savepoint a dropped Session left open.
    dangling: Option<String>,
}

type SharedGuard = tokio::sync::OwnedMutexGuard<SharedState>;

/// A joined Session's hold on the shared connection.
struct Joined {
    shared: SharedConnection,
    held: Option<(SharedGuard, String)>,
}

/// A connection a Session holds on a named bind.
struct BindConn {
    name: &'static str,
    conn: Connection,
    /// Switched to autocommit for reading.
    reading: bool,
}

/// Put a Session's connection to use: inside the Session's transaction
/// (`in_txn`: autobegin at the next statement), or for a read before the
/// first write (autocommit, no transaction). `reading` remembers that the
/// switch to autocommit was the Session's, so that an engine or connection
/// set to autocommit by the application stays so.
fn use_for(conn: &mut Connection, reading: &mut bool, in_txn: bool) -> Result<()> {
    if in_txn {
        if *reading {
            *reading = false;
            conn.set_autocommit(false)?;
        }
    } else if !*reading && !conn.autocommit() && !conn.in_transaction() {
        conn.set_autocommit(true)?;
        *reading = true;
    }
    Ok(())
}

impl SharedConnection {
    /// Check a connection out of `engine` and begin the transaction the
    /// joined Sessions will share.
    ///
    /// # Errors
    /// The pool's or the server's error.
    pub async fn begin(engine: &Engine) -> Result<Self> {
        let mut conn = engine.connect().await?;
        if conn.in_transaction() {
            conn.rollback().await?;
        }
        Ok(SharedConnection {
            engine: engine.clone(),
            state: std::sync::Arc::new(tokio::sync::Mutex::new(SharedState {
                conn: Some(conn),
                savepoints: 0,
                dangling: None,
            })),
        })
    }

    /// The engine the connection came from.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Run `f` with the shared connection itself (waiting for joined
    /// Sessions to finish), e.g. to set up data a test then reads through
    /// the app; its statements are part of the shared transaction.
    ///
    /// # Errors
    /// [`ErrorKind::Closed`] after [`rollback`](SharedConnection::rollback),
    /// or `f`'s error.
    pub async fn run<T>(&self, f: impl AsyncFnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut guard = self.state.clone().lock_owned().await;
        let d = self.engine.dialect().clone();
        settle(&mut guard, &d).await?;
        let conn = guard.conn.as_mut().ok_or_else(closed)?;
        f(conn).await
    }

    /// Roll the shared transaction back (everything the joined Sessions
    /// committed to their savepoints included) and return the connection to
    /// the pool. Joined Sessions made afterwards fail with
    /// [`ErrorKind::Closed`].
    ///
    /// # Errors
    /// The server's error on ROLLBACK.
    pub async fn rollback(self) -> Result<()> {
        let mut guard = self.state.lock().await;
        guard.dangling = None;
        match guard.conn.take() {
            Some(conn) => conn.close().await,
            None => Ok(()),
        }
    }

    /// Wait for the connection, settle what a dropped Session left, open a
    /// savepoint, and hand the connection out with the lock.
    async fn take(&self, d: &aludel_core::Dialect) -> Result<(Connection, String, SharedGuard)> {
        let mut guard = self.state.clone().lock_owned().await;
        settle(&mut guard, d).await?;
        guard.savepoints += 1;
        let name = format!("aludel_session_{}", guard.savepoints);
        let mut conn = guard.conn.take().ok_or_else(closed)?;
        if let Err(e) = conn.exec_driver_sql(&d.savepoint_sql(&name), &[]).await {
            guard.conn = Some(conn);
            return Err(e);
        }
        Ok((conn, name, guard))
    }
}

/// Roll back to the savepoint a dropped Session left open, if any.
async fn settle(guard: &mut SharedGuard, d: &aludel_core::Dialect) -> Result<()> {
    if let Some(sp) = guard.dangling.take() {
        let conn = guard.conn.as_mut().ok_or_else(closed)?;
        conn.exec_driver_sql(&d.rollback_to_savepoint_sql(&sp), &[])
            .await?;
        conn.exec_driver_sql(&d.release_savepoint_sql(&sp), &[])
            .await?;
    }
    Ok(())
}

fn closed() -> Error {
    Error::new(
        ErrorKind::Closed,
        "the shared connection was rolled back and closed; begin a new one",
    )
}

impl Drop for Session {
    fn drop(&mut self) {
        // Joined: the connection goes back to the shared state, its
        // savepoint left for the next Session to roll back to.
        if let Some((mut guard, savepoint)) = self.joined.as_mut().and_then(|j| j.held.take()) {
            guard.conn = self.conn.take();
            guard.dangling = Some(savepoint);
        }
    }
}

/// Makes [`Session`]s with the same settings (SQLAlchemy's `sessionmaker`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_core::Result<()> {
/// let engine = aludel_core::create_engine("sqlite://")?;
/// let factory = aludel_orm::SessionFactory::new(&engine).expire_on_commit(false);
/// let session = factory.session();
/// # let _ = session;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SessionFactory {
    engine: Engine,
    autoflush: bool,
    expire_on_commit: bool,
    joined: Option<SharedConnection>,
    binds: Vec<(&'static str, Engine)>,
    begin_on_write: bool,
}

impl SessionFactory {
    /// A factory on `engine` with SQLAlchemy's defaults (autoflush and
    /// expire-on-commit on).
    pub fn new(engine: &Engine) -> Self {
        SessionFactory {
            engine: engine.clone(),
            autoflush: true,
            expire_on_commit: true,
            joined: None,
            binds: Vec::new(),
            begin_on_write: true,
        }
    }

    /// Add a named bind: models declaring `#[aludel(bind = "name")]` (and
    /// queries routed with [`ModelQuery::bind`], e.g. to a read replica)
    /// use `engine`; the rest use the factory's own. Flask-SQLAlchemy's
    /// `SQLALCHEMY_BINDS`.
    ///
    /// Each bind is its own transaction: a Session's
    /// [`commit`](Session::commit) commits the named binds one after
    /// another, then the default one. That is not atomic: if a COMMIT fails
    /// part way, the binds committed before it stay committed (the error
    /// names them) and the others are rolled back, as with SQLAlchemy's
    /// Session without two-phase commit. Keep writes that must succeed or
    /// fail together on one bind.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_core::Result<()> {
    /// let main = aludel_core::create_engine("sqlite://")?;
    /// let replica = aludel_core::create_engine("sqlite://")?;
    /// let factory = aludel_orm::SessionFactory::new(&main).bind("replica", &replica);
    /// let mut s = factory.session();
    /// s.connection_for("replica").await?; // a connection of `replica`
    /// let err = s.connection_for("archive").await.unwrap_err();
    /// assert!(err.to_string().contains("no bind named \"archive\""));
    /// # Ok(()) }
    /// ```
    pub fn bind(mut self, name: &'static str, engine: &Engine) -> Self {
        self.binds.retain(|(n, _)| *n != name);
        self.binds.push((name, engine.clone()));
        self
    }

    /// Make Sessions that run inside `shared`'s transaction, each in a
    /// SAVEPOINT (see [`SharedConnection`]): what a test uses so the app
    /// under test writes into a transaction rolled back at its end.
    pub fn join(mut self, shared: &SharedConnection) -> Self {
        self.engine = shared.engine.clone();
        self.joined = Some(shared.clone());
        self
    }

    /// Flush before queries.
    pub fn autoflush(mut self, on: bool) -> Self {
        self.autoflush = on;
        self
    }

    /// Expire objects at commit.
    pub fn expire_on_commit(mut self, on: bool) -> Self {
        self.expire_on_commit = on;
        self
    }

    /// Begin each Session's transaction at its first write (on, the
    /// default) or at its first statement (off, as SQLAlchemy does); see
    /// [`Session::set_begin_on_write`].
    pub fn begin_on_write(mut self, on: bool) -> Self {
        self.begin_on_write = on;
        self
    }

    /// A new Session.
    pub fn session(&self) -> Session {
        let mut s = match &self.joined {
            Some(shared) => Session::joined(shared),
            None => Session::new(&self.engine),
        };
        s.autoflush = self.autoflush;
        s.expire_on_commit = self.expire_on_commit;
        s.begin_on_write = self.begin_on_write;
        s.binds = self.binds.clone().into();
        s
    }
}

/// SQLAlchemy's Session: an identity map (one row, one object) and a unit
/// of work (`flush` writes pending, changed and deleted objects in
/// foreign-key order) over one connection and transaction.
///
/// The transaction begins at the Session's first write, or at
/// [`begin`](Session::begin); reads before it run outside a transaction
/// (see [`set_begin_on_write`](Session::set_begin_on_write) for why, and for
/// SQLAlchemy's way).
///
/// Objects live in the Session; code holds [`Key`]s. See ARCHITECTURE.md for
/// why, and for the rules of expiry and rollback.
pub struct Session {
    engine: Engine,
    conn: Option<Connection>,
    /// Joined to a shared connection: the lock while `conn` is taken from
    /// it, and the savepoint this Session's transaction is.
    joined: Option<Joined>,
    /// The connection's statement count when this Session took it.
    conn_base: u64,
    /// Statement time on connections given back, and the taken
    /// connection's when this Session took it.
    time_done: std::time::Duration,
    time_base: std::time::Duration,
    /// Named binds: the engines of models declaring `bind = "…"` (and of
    /// queries routed with [`ModelQuery::bind`]).
    binds: std::sync::Arc<[(&'static str, Engine)]>,
    /// Connections taken on named binds, in order of first use.
    bind_conns: Vec<BindConn>,
    /// Reads before the first write run outside a transaction (default on).
    begin_on_write: bool,
    /// The transaction is wanted from now to the next commit or rollback:
    /// the Session wrote, or [`begin`](Session::begin) was called.
    transaction_wanted: bool,
    /// The default connection was switched to autocommit for reading.
    reading: bool,
    pub(crate) entries: Vec<Option<Entry>>,
    generations: Vec<u32>,
    /// One store per model type seen, and the type of each.
    pub(crate) stores: Vec<Box<dyn AnyStore>>,
    store_types: Vec<TypeId>,
    /// The model operations of each store (for the flush's table order).
    store_ops: Vec<&'static Ops>,
    /// Something may need writing: an object was added, deleted or
    /// borrowed mutably since the last flush. A flush without it is free.
    dirty: bool,
    identity: IdentityMap,
    autoflush: bool,
    expire_on_commit: bool,
    /// Statements sent on connections this Session has given back.
    statements_done: u64,
    /// Loaded relationships: (object slot, relationship name) → related
    /// slots. Present means loaded.
    pub(crate) related: FastMap<(u32, &'static str), Vec<u32>>,
    /// Relationships a query marked `raiseload`.
    pub(crate) raise: FastSet<(u32, &'static str)>,
    /// Refuse every lazy load.
    pub(crate) raise_on_lazy: bool,
    /// Lazy loads run so far per relationship (a growing count hints at N+1).
    pub(crate) lazy_loads: HashMap<&'static str, u64>,
    /// Foreign keys to set at flush, from writes through relationships.
    pub(crate) links: FastMap<(u32, usize), crate::related::Link>,
    /// Association rows to write at flush.
    pub(crate) assoc_ops: Vec<crate::related::AssocOp>,
    /// Relationships' join columns, by declaring model and name.
    pub(crate) resolved:
        FastMap<(TypeId, &'static str), std::sync::Arc<crate::relationship::Resolved>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("objects", &self.entries.iter().flatten().count())
            .field("in_transaction", &self.in_transaction())
            .field("joined", &self.joined.is_some())
            .finish()
    }
}

impl Session {
    /// A Session on `engine`; it takes a connection at its first statement.
    pub fn new(engine: &Engine) -> Self {
        Session {
            engine: engine.clone(),
            conn: None,
            joined: None,
            conn_base: 0,
            time_done: std::time::Duration::ZERO,
            time_base: std::time::Duration::ZERO,
            binds: std::sync::Arc::new([]),
            bind_conns: Vec::new(),
            begin_on_write: true,
            transaction_wanted: false,
            reading: false,
            entries: Vec::new(),
            generations: Vec::new(),
            stores: Vec::new(),
            store_types: Vec::new(),
            store_ops: Vec::new(),
            dirty: false,
            identity: IdentityMap::default(),
            autoflush: true,
            expire_on_commit: true,
            statements_done: 0,
            related: FastMap::default(),
            raise: FastSet::default(),
            raise_on_lazy: false,
            lazy_loads: HashMap::new(),
            links: FastMap::default(),
            assoc_ops: Vec::new(),
            resolved: FastMap::default(),
        }
    }

    /// How many statements this Session has sent (queries, INSERTs, UPDATEs,
    /// DELETEs, loads; not BEGIN, COMMIT or ROLLBACK), over all its
    /// transactions. Compare two readings to bound the queries of a piece of
    /// code (the N+1 check):
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_core::Result<()> {
    /// # let engine = aludel_core::create_engine("sqlite://")?;
    /// let mut session = aludel_orm::Session::new(&engine);
    /// let before = session.statement_count();
    /// session.flush().await?; // nothing to write: no statement
    /// assert_eq!(session.statement_count(), before);
    /// # Ok(()) }
    /// ```
    pub fn statement_count(&self) -> u64 {
        self.statements_done
            + self
                .conn
                .as_ref()
                .map_or(0, |c| c.statement_count() - self.conn_base)
            + self
                .bind_conns
                .iter()
                .map(|b| b.conn.statement_count())
                .sum::<u64>()
    }

    /// The time spent waiting for the statements
    /// [`statement_count`](Session::statement_count) counts, over all the
    /// Session's transactions and binds (for per-request timing).
    pub fn statement_time(&self) -> std::time::Duration {
        self.time_done
            + self.conn.as_ref().map_or(std::time::Duration::ZERO, |c| {
                c.statement_time().saturating_sub(self.time_base)
            })
            + self
                .bind_conns
                .iter()
                .map(|b| b.conn.statement_time())
                .sum::<std::time::Duration>()
    }

    /// A Session inside `shared`'s transaction: its first statement waits
    /// for the shared connection (one joined Session at a time) and opens a
    /// SAVEPOINT; [`commit`](Session::commit) releases it and
    /// [`rollback`](Session::rollback) rolls back to it, so the outer
    /// transaction decides in the end. SQLAlchemy's
    /// `Session(bind=connection, join_transaction_mode="create_savepoint")`.
    pub fn joined(shared: &SharedConnection) -> Self {
        let mut s = Session::new(&shared.engine);
        s.joined = Some(Joined {
            shared: shared.clone(),
            held: None,
        });
        s
    }

    /// Take the connection out (to end its transaction), keeping its
    /// statement count.
    fn release(&mut self) -> Option<Connection> {
        let conn = self.conn.take()?;
        self.reading = false;
        self.statements_done += conn.statement_count() - self.conn_base;
        self.conn_base = 0;
        self.time_done += conn.statement_time().saturating_sub(self.time_base);
        self.time_base = std::time::Duration::ZERO;
        Some(conn)
    }

    /// End the transaction: COMMIT or ROLLBACK and give the connection back
    /// to the pool; joined to a shared connection, RELEASE or ROLLBACK TO
    /// the Session's savepoint and give the connection back to the others.
    async fn end_transaction(&mut self, commit: bool) -> Result<()> {
        self.transaction_wanted = false;
        let named = self.end_named_binds(commit).await;
        let default = self.end_default(commit).await;
        match (named, default) {
            (Ok(_), Ok(())) => Ok(()),
            (Ok(committed), Err(e)) if commit && !committed.is_empty() => Err(e.context(format!(
                "COMMIT failed on the default bind after binds {} were committed: \
                     binds are separate transactions, not one atomic commit",
                committed.join(", ")
            ))),
            (Ok(_), Err(e)) | (Err(e), _) => Err(e),
        }
    }

    /// End the transactions on named binds. They are separate
    /// transactions: COMMITs run one after another (default bind last), so
    /// a failure part way leaves the binds already committed committed; the
    /// error names them, and the rest are rolled back.
    async fn end_named_binds(&mut self, commit: bool) -> Result<Vec<&'static str>> {
        let conns = std::mem::take(&mut self.bind_conns);
        let mut committed: Vec<&'static str> = Vec::new();
        let mut failure: Option<Error> = None;
        for BindConn { name, mut conn, .. } in conns {
            self.statements_done += conn.statement_count();
            self.time_done += conn.statement_time();
            if !commit || failure.is_some() {
                let res = conn.close().await;
                if failure.is_none() {
                    failure = res.err();
                }
                continue;
            }
            match conn.commit().await {
                Ok(()) => committed.push(name),
                Err(e) => {
                    let done = if committed.is_empty() {
                        "no bind was committed".to_string()
                    } else {
                        format!("already committed: {}", committed.join(", "))
                    };
                    failure = Some(e.context(format!(
                        "COMMIT failed on bind \"{name}\" ({done}; the others are rolled back): \
                         binds are separate transactions, not one atomic commit"
                    )));
                }
            }
        }
        if let Some(e) = failure {
            if commit {
                // The default bind's work is not committed after a failure.
                if let Some(conn) = self.release() {
                    if let Some((mut guard, savepoint)) =
                        self.joined.as_mut().and_then(|j| j.held.take())
                    {
                        guard.dangling = Some(savepoint);
                        guard.conn = Some(conn);
                    } else {
                        let _ = conn.close().await;
                    }
                }
            }
            return Err(e);
        }
        Ok(committed)
    }

    /// End the default bind's transaction (see `end_transaction`).
    async fn end_default(&mut self, commit: bool) -> Result<()> {
        let Some(mut conn) = self.release() else {
            return Ok(());
        };
        let Some((mut guard, savepoint)) = self.joined.as_mut().and_then(|j| j.held.take()) else {
            return if commit {
                conn.commit().await
            } else {
                conn.close().await
            };
        };
        let d = self.engine.dialect();
        let res = if commit {
            conn.exec_driver_sql(&d.release_savepoint_sql(&savepoint), &[])
                .await
                .map(drop)
        } else {
            match conn
                .exec_driver_sql(&d.rollback_to_savepoint_sql(&savepoint), &[])
                .await
            {
                Ok(_) => conn
                    .exec_driver_sql(&d.release_savepoint_sql(&savepoint), &[])
                    .await
                    .map(drop),
                Err(e) => Err(e),
            }
        };
        if res.is_err() && !commit {
            // Still open: the next joined Session rolls back to it first.
            guard.dangling = Some(savepoint);
        }
        guard.conn = Some(conn);
        res
    }

    /// Flush before queries (default on).
    pub fn set_autoflush(&mut self, on: bool) {
        self.autoflush = on;
    }

    /// Mark every object expired at commit (default on, as SQLAlchemy).
    pub fn set_expire_on_commit(&mut self, on: bool) {
        self.expire_on_commit = on;
    }

    /// Where the Session's transaction begins. On (the default), reads
    /// that come before the Session's first write (queries, `get`,
    /// relationship loads, `refresh`, `count`, streams) run outside a
    /// transaction, each statement on its own as in autocommit mode; the
    /// transaction begins at the first write (a flush that writes, a bulk
    /// update or delete, [`execute`](Session::execute) of anything but a
    /// `Select`, [`connection`](Session::connection)), at a locking read
    /// ([`ModelQuery::with_for_update`]) or at [`begin`](Session::begin),
    /// and from there every statement is in it until commit or rollback. A
    /// Session that only reads sends no BEGIN, COMMIT or ROLLBACK, which
    /// is what most web requests are.
    ///
    /// Off, the transaction begins at the Session's first statement, as
    /// SQLAlchemy's Session does: its reads share one transaction, which
    /// matters under REPEATABLE READ (MySQL's default) or SERIALIZABLE,
    /// where they then see one snapshot. A Session joined to a
    /// [`SharedConnection`] is always inside the shared transaction.
    ///
    /// Only the Session's own transaction changes: the identity map,
    /// autoflush (which writes, and so begins the transaction before the
    /// query it precedes), expiry and rollback behave the same either way.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_core::Result<()> {
    /// use aludel_core::sql::{func, select};
    /// use aludel_core::schema::{Column, SqlType, Table};
    /// use aludel_core::text;
    /// let engine = aludel_core::create_engine("sqlite://")?;
    /// let mut s = aludel_orm::Session::new(&engine);
    /// s.execute(text("CREATE TABLE t (x INTEGER)"), ()).await?;
    /// s.commit().await?;
    /// let t = Table::builder("t").column(Column::new("x", SqlType::Integer)).build()?;
    /// let count = select([func::count_star()]).from(&t);
    /// s.execute(&count, ()).await?;
    /// assert!(!s.in_transaction(), "a read before any write: no transaction");
    /// s.set_begin_on_write(false);
    /// s.execute(&count, ()).await?;
    /// assert!(s.in_transaction(), "SQLAlchemy's way: the first statement begins");
    /// # Ok(()) }
    /// ```
    pub fn set_begin_on_write(&mut self, on: bool) {
        self.begin_on_write = on;
    }

    /// Begin the Session's transaction at its next statement, reads
    /// included, instead of at its first write: what follows, to the next
    /// commit or rollback, is one transaction (one snapshot of the data
    /// under REPEATABLE READ or SERIALIZABLE). Like SQLAlchemy's
    /// `Session.begin()`, nothing is sent until the next statement.
    pub fn begin(&mut self) {
        self.transaction_wanted = true;
    }

    /// True while a transaction is open on one of the Session's
    /// connections (SQLAlchemy's `Session.in_transaction()` after a
    /// statement ran in it).
    pub fn in_transaction(&self) -> bool {
        self.conn.as_ref().is_some_and(Connection::in_transaction)
            || self.bind_conns.iter().any(|b| b.conn.in_transaction())
    }

    /// The Session's connection, checked out (and its transaction begun by
    /// the first statement) if it has none yet: SQLAlchemy's
    /// `Session.connection()`. Statements run on it share the Session's
    /// transaction, so [`commit`](Session::commit) and
    /// [`rollback`](Session::rollback) cover them. Nothing is flushed; see
    /// [`execute`](Session::execute).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel_core::Result<()> {
    /// use aludel_core::text;
    /// let engine = aludel_core::create_engine("sqlite://")?;
    /// let mut s = aludel_orm::Session::new(&engine);
    /// let conn = s.connection().await?;
    /// conn.execute(text("CREATE TABLE t (x INTEGER)"), ()).await?;
    /// conn.execute(text("INSERT INTO t VALUES (1)"), ()).await?;
    /// s.rollback().await?;
    /// let n: i64 = s.execute(text("SELECT count(*) FROM sqlite_master"), ()).await?.scalar_one()?;
    /// assert_eq!(n, 0, "the CREATE TABLE was rolled back with the Session");
    /// # Ok(()) }
    /// ```
    pub async fn connection(&mut self) -> Result<&mut Connection> {
        self.conn().await
    }

    /// The Session's connection on the named bind (see
    /// [`SessionFactory::bind`]), checked out at its first use.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the Session has no bind of that name.
    pub async fn connection_for(&mut self, bind: &'static str) -> Result<&mut Connection> {
        self.conn_for(Some(bind)).await
    }

    /// Run a Core statement in the Session's transaction, flushing pending
    /// changes first when autoflush is on: SQLAlchemy's `Session.execute`
    /// for statements that are not model queries.
    ///
    /// # Errors
    /// The flush's error, or the statement's.
    pub async fn execute<S, P>(
        &mut self,
        statement: S,
        params: P,
    ) -> Result<aludel_core::CursorResult>
    where
        S: aludel_core::sql::Executable,
        P: aludel_core::IntoParams,
    {
        if self.autoflush {
            self.flush().await?;
        }
        let write = !statement.is_read_only();
        self.conn_at(None, write)
            .await?
            .execute(statement, params)
            .await
    }

    /// The connection for `bind` (`None`: the default engine) for a write,
    /// taken at its first use: the Session's transaction begins with the
    /// next statement on it.
    pub(crate) async fn conn_for(&mut self, bind: Option<&'static str>) -> Result<&mut Connection> {
        self.conn_at(bind, true).await
    }

    /// The connection for `bind` for a read: outside a transaction until
    /// the Session wants one (see [`Session::begin`]).
    pub(crate) async fn read_conn_for(
        &mut self,
        bind: Option<&'static str>,
    ) -> Result<&mut Connection> {
        self.conn_at(bind, false).await
    }

    async fn conn_at(
        &mut self,
        bind: Option<&'static str>,
        write: bool,
    ) -> Result<&mut Connection> {
        if write {
            self.transaction_wanted = true;
        }
        let in_txn = !self.begin_on_write || self.transaction_wanted || self.joined.is_some();
        let Some(name) = bind else {
            self.checkout().await?;
            let conn = self.conn.as_mut().expect("connection");
            use_for(conn, &mut self.reading, in_txn)?;
            return Ok(conn);
        };
        let held = self.bind_conns.iter().position(|b| b.name == name);
        let i = match held {
            Some(i) => i,
            None => {
                let engine = self.bind_engine(name)?;
                let conn = engine.connect().await?;
                self.bind_conns.push(BindConn {
                    name,
                    conn,
                    reading: false,
                });
                self.bind_conns.len() - 1
            }
        };
        let b = &mut self.bind_conns[i];
        use_for(&mut b.conn, &mut b.reading, in_txn)?;
        Ok(&mut b.conn)
    }

    /// The engine of the named bind.
    fn bind_engine(&self, name: &'static str) -> Result<Engine> {
        if let Some((_, e)) = self.binds.iter().find(|(n, _)| *n == name) {
            return Ok(e.clone());
        }
        let known: Vec<String> = self.binds.iter().map(|(n, _)| format!("\"{n}\"")).collect();
        Err(Error::new(
            ErrorKind::Config,
            format!(
                "no bind named \"{name}\" in this Session (binds: {}); add it with \
                 SessionFactory::bind(\"{name}\", &engine)",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        ))
    }

    /// The connection for the bind of the object in `slot`, for a write.
    pub(crate) async fn conn_for_slot(&mut self, slot: usize) -> Result<&mut Connection> {
        let bind = self.entries[slot].as_ref().and_then(|e| (e.ops.bind)());
        self.conn_for(bind).await
    }

    /// The default bind's connection, for a write.
    pub(crate) async fn conn(&mut self) -> Result<&mut Connection> {
        self.conn_at(None, true).await
    }

    /// Take the default bind's connection if the Session has none.
    async fn checkout(&mut self) -> Result<()> {
        if self.conn.is_none() {
            match &mut self.joined {
                None => self.conn = Some(Box::pin(self.engine.connect()).await?),
                Some(j) => {
                    let (conn, savepoint, guard) = j.shared.take(self.engine.dialect()).await?;
                    self.conn_base = conn.statement_count();
                    self.time_base = conn.statement_time();
                    self.conn = Some(conn);
                    j.held = Some((guard, savepoint));
                }
            }
        }
        Ok(())
    }

    /// The key for `slot` as it is now (its current generation).
    fn key_at<T>(&self, slot: u32) -> Key<T> {
        Key {
            slot,
            generation: self.generations[slot as usize],
            _t: PhantomData,
        }
    }

    /// The keys of the live `T` objects among `slots`, in order (the type
    /// looked up once, each slot checked by its store).
    pub(crate) fn live_keys<T: Model>(&self, slots: &[u32]) -> Vec<Key<T>> {
        let Some(store) = self.store_index::<T>() else {
            return Vec::new();
        };
        let mut keys = Vec::with_capacity(slots.len());
        for &slot in slots {
            if let Some(Some(e)) = self.entries.get(slot as usize) {
                if e.store == store {
                    keys.push(self.key_at(slot));
                }
            }
        }
        keys
    }

    /// The key of the live object in `slot`, if it is a `T`.
    pub(crate) fn key_if<T: Model>(&self, slot: u32) -> Option<Key<T>> {
        let e = self.entries.get(slot as usize)?.as_ref()?;
        (self.store_types[e.store as usize] == TypeId::of::<T>()).then(|| self.key_at(slot))
    }

    /// The value of a column of the object in `slot`.
    pub(crate) fn object_value(&self, slot: u32, position: usize) -> Value {
        let e = self.entries[slot as usize].as_ref().expect("entry");
        self.stores[e.store as usize].value_at(e.index, position)
    }

    /// Set a column of the object in `slot` (snapshotting it first, so the
    /// flush sees the change).
    pub(crate) fn set_object_value(&mut self, slot: u32, position: usize, v: Value) -> Result<()> {
        self.ensure_snapshot(slot as usize);
        let e = self.entries[slot as usize].as_ref().expect("entry");
        self.stores[e.store as usize].set(e.index, position, v)
    }

    pub(crate) fn entry<T: Model>(&self, key: Key<T>) -> Option<&Entry> {
        self.entries
            .get(key.slot as usize)?
            .as_ref()
            .filter(|e| e.generation == key.generation)
    }

    /// The position of `T`'s store, if the Session has one.
    fn store_index<T: Model>(&self) -> Option<u32> {
        let id = TypeId::of::<T>();
        self.store_types
            .iter()
            .position(|t| *t == id)
            .map(|i| i as u32)
    }

    /// The position of `T`'s store, made on first use.
    fn store_of<T: Model>(&mut self) -> u32 {
        match self.store_index::<T>() {
            Some(i) => i,
            None => {
                self.store_types.push(TypeId::of::<T>());
                self.store_ops.push(ops::<T>());
                self.stores.push(Box::new(Store::<T> {
                    objects: Vec::new(),
                }));
                (self.stores.len() - 1) as u32
            }
        }
    }

    /// The identity of a `T` with primary key `pk`; `None` while the Session
    /// has never held a `T` (so nothing can map to it).
    fn identity_for<T: Model>(&self, pk: &[Value]) -> Option<Identity> {
        Some(identity_of(self.store_index::<T>()?, pk))
    }

    fn typed<T: Model>(&self, store: u32) -> &Store<T> {
        self.stores[store as usize]
            .as_any()
            .downcast_ref()
            .expect("model type")
    }

    fn typed_mut<T: Model>(&mut self, store: u32) -> &mut Store<T> {
        self.stores[store as usize]
            .as_any_mut()
            .downcast_mut()
            .expect("model type")
    }

    /// The object in `slot`, which must hold a `T`.
    fn object_mut<T: Model>(&mut self, slot: usize) -> &mut T {
        let (store, index) = {
            let e = self.entries[slot].as_ref().expect("entry");
            (e.store, e.index)
        };
        self.typed_mut::<T>(store).objects[index as usize]
            .as_mut()
            .expect("stored object")
    }

    /// Replace the object in `slot` (a reload).
    fn replace_object<T: Model>(&mut self, slot: usize, object: T) {
        *self.object_mut::<T>(slot) = object;
    }

    /// Drop the entry in `slot` and its object; its keys stop resolving.
    fn forget(&mut self, slot: usize) {
        if let Some(e) = self.entries[slot].take() {
            self.forget_related(slot as u32, e.ops);
            self.stores[e.store as usize].remove(e.index);
        }
        self.generations[slot] += 1;
    }

    /// Drop the loaded relationships of the object in `slot` (one lookup
    /// per relationship its model declares; lists of other objects that
    /// still name the slot are filtered when read).
    fn forget_related(&mut self, slot: u32, ops: &'static Ops) {
        for rel in (ops.relationships)() {
            self.related.remove(&(slot, rel.name()));
        }
    }

    fn insert_entry<T: Model>(
        &mut self,
        object: T,
        snapshot: Option<Vec<Value>>,
        state: State,
    ) -> Key<T> {
        let store = self.store_of::<T>();
        let objects = &mut self.typed_mut::<T>(store).objects;
        let index = objects.len() as u32;
        objects.push(Some(object));
        self.push_entry(store, index, snapshot, state)
    }

    /// The entry (and key) of the object at `index` in `store`.
    fn push_entry<T: Model>(
        &mut self,
        store: u32,
        index: u32,
        snapshot: Option<Vec<Value>>,
        state: State,
    ) -> Key<T> {
        let snapshot: Option<Snapshot> = snapshot.map(std::sync::Arc::new);
        let slot = self.entries.len() as u32;
        let generation = 0;
        self.entries.push(Some(Entry {
            store,
            index,
            committed: snapshot.clone(),
            snapshot,
            state,
            expired: false,
            inserted_in_txn: false,
            generation,
            ops: ops::<T>(),
        }));
        self.generations.push(generation);
        Key {
            slot,
            generation,
            _t: PhantomData,
        }
    }

    /// Track a new object; it is INSERTed at the next flush.
    pub fn add<T: Model>(&mut self, object: T) -> Key<T> {
        self.dirty = true;
        self.insert_entry(object, None, State::Pending)
    }

    /// Track many new objects (SQLAlchemy's `add_all`); the next flush
    /// INSERTs them in multi-row statements.
    pub fn add_all<T: Model, I: IntoIterator<Item = T>>(&mut self, objects: I) -> Vec<Key<T>> {
        objects.into_iter().map(|o| self.add(o)).collect()
    }

    /// Take the object out of the Session: it is no longer tracked (its key
    /// stops resolving) and is returned to the caller.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the key is no longer in the Session.
    pub fn expunge<T: Model>(&mut self, key: Key<T>) -> Result<T> {
        let slot = self.check(key)?;
        let pk = self.pk_values(slot);
        let e = self.entries[slot].take().expect("entry");
        self.generations[slot] += 1;
        self.identity.remove(&identity_of(e.store, &pk));
        Ok(self.typed_mut::<T>(e.store).objects[e.index as usize]
            .take()
            .expect("stored object"))
    }

    /// Copy the state of a detached object into the Session (SQLAlchemy's
    /// `merge`): onto the tracked object with the same primary key, else onto
    /// the row loaded from the database, else as a new pending object. The
    /// changes are written at the next flush.
    pub async fn merge<T: Model>(&mut self, object: T) -> Result<Key<T>> {
        let values = object.to_values();
        let pk: Vec<Value> = T::primary_key_positions()
            .iter()
            .map(|&i| values[i].clone())
            .collect();
        let existing = match self
            .identity_for::<T>(&pk)
            .and_then(|id| self.identity.get(&id))
        {
            Some(&slot) => Some(self.key_at(slot)),
            None if pk.iter().all(|v| !is_unset(v)) => {
                let t = T::table();
                let cond = pk_condition(t, T::column_names(), T::primary_key_positions(), &pk);
                self.query::<T>().filter(cond).first().await?
            }
            None => None,
        };
        match existing {
            Some(key) => {
                self.load(key).await?;
                let target = &mut self[key];
                for (i, v) in values.into_iter().enumerate() {
                    target.set_value(i, v)?;
                }
                Ok(key)
            }
            None => Ok(self.add(object)),
        }
    }

    /// Roll back and forget every object (SQLAlchemy's `close`); the Session
    /// can be used again.
    pub async fn close(&mut self) -> Result<()> {
        let res = self.rollback().await;
        self.entries.clear();
        self.generations.clear();
        self.stores.clear();
        self.store_types.clear();
        self.store_ops.clear();
        self.identity.clear();
        self.related.clear();
        self.raise.clear();
        res
    }

    /// Whether `key` still refers to an object in this Session.
    pub fn contains<T: Model>(&self, key: Key<T>) -> bool {
        self.entry(key).is_some()
    }

    /// Whether the object was expired (by commit) and will be reloaded by
    /// the next `get`, query or [`load`](Session::load).
    pub fn is_expired<T: Model>(&self, key: Key<T>) -> bool {
        self.entry(key).is_some_and(|e| e.expired)
    }

    /// Mark the object expired: the next `get`, query or
    /// [`load`](Session::load) reads it again (pending changes are dropped).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the key is no longer in the Session.
    pub fn expire<T: Model>(&mut self, key: Key<T>) -> Result<()> {
        let slot = self.check(key)?;
        let e = self.entries[slot].as_mut().expect("entry");
        if e.state != State::Pending {
            e.expired = true;
            let ops = e.ops;
            self.forget_related(slot as u32, ops);
        }
        Ok(())
    }

    /// Mark every tracked object expired.
    pub fn expire_all(&mut self) {
        for e in self.entries.iter_mut().flatten() {
            if e.state != State::Pending {
                e.expired = true;
            }
        }
        self.related.clear();
    }

    /// Mark the object for deletion at the next flush.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] when the key is no longer in the Session.
    pub fn delete<T: Model>(&mut self, key: Key<T>) -> Result<()> {
        let slot = self.check(key)?;
        self.dirty = true;
        let e = self.entries[slot].as_mut().expect("entry");
        if e.state == State::Pending {
            // Never written: just forget it.
            self.forget(slot);
        } else {
            e.state = State::Deleted;
        }
        Ok(())
    }

    fn check<T: Model>(&self, key: Key<T>) -> Result<usize> {
        self.entry(key)
            .map(|_| key.slot as usize)
            .ok_or_else(|| missing(key))
    }

    /// The object behind `key`, or an error if it left the Session.
    pub fn try_get<T: Model>(&self, key: Key<T>) -> Result<&T> {
        let e = self
            .entry(key)
            .ok_or_else(|| self.check(key).expect_err("missing"))?;
        Ok(self.typed::<T>(e.store).objects[e.index as usize]
            .as_ref()
            .expect("stored object"))
    }

    /// The object by primary key: from the identity map without SQL when it
    /// is there, else loaded.
    pub async fn get<T: Model>(&mut self, pk: impl Into<Value>) -> Result<Option<Key<T>>> {
        let pk = vec![pk.into()];
        if let Some(&slot) = self
            .identity_for::<T>(&pk)
            .and_then(|id| self.identity.get(&id))
        {
            let key = self.key_at(slot);
            if self
                .entry(key)
                .is_some_and(|e| !e.expired && e.state != State::Deleted)
            {
                return Ok(Some(key));
            }
        }
        let t = T::table();
        let cond = pk_condition(t, T::column_names(), T::primary_key_positions(), &pk);
        let keys = self.query::<T>().filter(cond).all().await?;
        Ok(keys.into_iter().next())
    }

    /// A query for `T` objects; `all()` returns keys.
    pub fn query<T: Model>(&mut self) -> ModelQuery<'_, T> {
        let t = T::table();
        let cols: Vec<Expr> = T::column_names().iter().map(|c| t.c(c)).collect();
        ModelQuery {
            session: self,
            select: select(cols).from(t),
            filters: Vec::new(),
            options: Vec::new(),
            limited: false,
            bind: T::bind(),
            _t: PhantomData,
        }
    }

    /// Reload the object's columns from the database now.
    pub async fn refresh<T: Model>(&mut self, key: Key<T>) -> Result<()> {
        let slot = self.check(key)?;
        let pk = self.pk_values(slot);
        let t = T::table();
        let cond = pk_condition(t, T::column_names(), T::primary_key_positions(), &pk);
        let cols: Vec<Expr> = T::column_names().iter().map(|c| t.c(c)).collect();
        let stmt = select(cols).from(t).filter(cond);
        let row = self
            .read_conn_for(T::bind())
            .await?
            .execute(&stmt, ())
            .await?
            .one()?;
        let fresh: T = row.decode()?;
        let e = self.entries[slot].as_mut().expect("entry");
        e.snapshot = None;
        e.committed = None;
        e.expired = false;
        self.replace_object(slot, fresh);
        Ok(())
    }

    /// Reload the tracked objects of type `T` with these primary keys, in
    /// one SELECT per chunk of keys (after a bulk UPDATE).
    async fn reload<T: Model>(&mut self, pks: &[Vec<Value>]) -> Result<()> {
        let t = T::table();
        let (cols, pk_pos) = (T::column_names(), T::primary_key_positions());
        for chunk in pks.chunks(RELOAD_CHUNK) {
            let cond = match pk_pos {
                [i] => t.c(cols[*i]).in_(chunk.iter().map(|pk| pk[0].clone())),
                _ => aludel_core::sql::or(chunk.iter().map(|pk| pk_condition(t, cols, pk_pos, pk))),
            };
            let stmt = select(cols.iter().map(|c| t.c(c))).from(t).filter(cond);
            let rows: Vec<T> = self
                .conn_for(T::bind())
                .await?
                .execute(&stmt, ())
                .await?
                .all_as()?;
            let store = self.store_of::<T>();
            for fresh in rows {
                let Some(&slot) = self.identity.get(&identity_of_object(store, &fresh)) else {
                    continue;
                };
                let Some(e) = self.entries[slot as usize].as_mut() else {
                    continue;
                };
                e.snapshot = None;
                e.committed = None;
                e.expired = false;
                self.replace_object(slot as usize, fresh);
            }
        }
        Ok(())
    }

    /// The object, reloaded first if it was expired.
    pub async fn load<T: Model>(&mut self, key: Key<T>) -> Result<&mut T> {
        if self.is_expired(key) {
            self.refresh(key).await?;
        }
        self.check(key)?;
        self.ensure_snapshot(key.slot as usize);
        Ok(self.object_mut(key.slot as usize))
    }

    /// Before the first mutable borrow of a loaded object, keep its values
    /// to compare with at flush (and to restore at rollback).
    pub(crate) fn ensure_snapshot(&mut self, slot: usize) {
        // A mutable borrow: the object may change.
        self.dirty = true;
        let e = self.entries[slot].as_mut().expect("entry");
        if e.snapshot.is_none() && e.state != State::Pending {
            let snap: Snapshot = std::sync::Arc::new(self.stores[e.store as usize].values(e.index));
            if e.committed.is_none() {
                e.committed = Some(snap.clone());
            }
            e.snapshot = Some(snap);
        }
    }

    fn pk_values(&self, slot: usize) -> Vec<Value> {
        let e = self.entries[slot].as_ref().expect("entry");
        let values = e
            .snapshot
            .clone()
            .unwrap_or_else(|| std::sync::Arc::new(self.stores[e.store as usize].values(e.index)));
        (e.ops.pk)().iter().map(|&i| values[i].clone()).collect()
    }

    /// Write pending, changed and deleted objects, in foreign-key order,
    /// inside the Session's transaction.
    ///
    /// # Errors
    /// The database's error, after the transaction was rolled back and the
    /// Session restored to its state before the failed flush; it stays usable.
    pub async fn flush(&mut self) -> Result<()> {
        if !self.dirty && self.links.is_empty() && self.assoc_ops.is_empty() {
            return Ok(());
        }
        // Boxed: every query awaits a flush, and the unit of work's future
        // (down to the driver's) would otherwise be inlined into each,
        // deep enough to hit rustc's query depth limit in callers' futures.
        let res = Box::pin(async {
            self.cascade_deletes().await?;
            let order = self.table_order();
            self.flush_in(&order).await
        })
        .await;
        if let Err(e) = res {
            self.rollback().await?;
            return Err(e.context("flush failed and the session's transaction was rolled back"));
        }
        // Objects borrowed mutably before stay candidates: only a new borrow
        // can change them, and it sets the flag again.
        self.dirty = false;
        Ok(())
    }

    /// Table names in foreign-key order (parents first) for the objects here.
    fn table_order(&self) -> Vec<String> {
        let mut md = MetaData::new();
        for ops in &self.store_ops {
            let _ = md.add((ops.table)().clone());
        }
        md.sorted_tables()
            .into_iter()
            .map(|t| t.name().to_string())
            .collect()
    }

    async fn flush_in(&mut self, order: &[String]) -> Result<()> {
        // INSERTs, parents first; within a table in the order added.
        for table in order {
            let slots: Vec<usize> = (0..self.entries.len())
                .filter(|&i| {
                    self.entries[i].as_ref().is_some_and(|e| {
                        e.state == State::Pending && (e.ops.table)().name() == table
                    })
                })
                .collect();
            // Rows whose foreign key refers to a new row of the same table
            // (an employee's new manager) wait for its INSERT: in waves.
            let mut remaining = slots;
            while !remaining.is_empty() {
                self.resolve_links(Some(table), false)?;
                let blocked = self.blocked_by_links(&remaining);
                let (ready, rest): (Vec<usize>, Vec<usize>) =
                    remaining.into_iter().partition(|s| !blocked.contains(s));
                if ready.is_empty() {
                    return Err(Error::new(
                        ErrorKind::Config,
                        format!(
                            "cannot order the INSERTs of {} new rows of \"{table}\": their \
                             relationships form a cycle",
                            rest.len()
                        ),
                    ));
                }
                self.insert_batch(&ready).await?;
                remaining = rest;
            }
        }
        self.resolve_links(None, true)?;
        // UPDATEs of changed columns.
        for slot in 0..self.entries.len() {
            let Some(e) = self.entries[slot].as_ref() else {
                continue;
            };
            if e.state != State::Persistent {
                continue;
            }
            // Only objects borrowed mutably have a snapshot; the rest
            // cannot have changed.
            let Some(before) = &e.snapshot else { continue };
            let now = self.stores[e.store as usize].values(e.index);
            let changed: Vec<usize> = (0..now.len()).filter(|&i| now[i] != before[i]).collect();
            if changed.is_empty() {
                continue;
            }
            let t = (e.ops.table)();
            let cols = (e.ops.columns)();
            let type_name = (e.ops.type_name)();
            let pk: Vec<Value> = (e.ops.pk)().iter().map(|&i| before[i].clone()).collect();
            let version = (e.ops.version)();
            let mut now = now;
            let mut stmt = update(t);
            for &i in &changed {
                if Some(i) != version {
                    stmt = stmt.set(cols[i], Expr::from(now[i].clone()));
                }
            }
            let mut cond = pk_condition(t, cols, (e.ops.pk)(), &pk);
            if let Some(v) = version {
                // Optimistic locking: only the version this object was read at.
                let next = before[v].as_i64().unwrap_or(0) + 1;
                now[v] = Value::I64(next);
                stmt = stmt.set(cols[v], Expr::from(next));
                cond = cond.and(t.c(cols[v]).eq(Expr::from(before[v].clone())));
            }
            let stmt = stmt.filter(cond);
            let what = format!("UPDATE of {type_name} in \"{}\" with key {pk:?}", t.name());
            let n = self
                .conn_for_slot(slot)
                .await?
                .execute(&stmt, ())
                .await
                .map_err(|err| err.context(&what))?
                .rows_affected();
            if n == 0 {
                let kind = if version.is_some() {
                    ErrorKind::StaleData
                } else {
                    ErrorKind::Database
                };
                return Err(Error::new(
                    kind,
                    format!(
                        "UPDATE of {} (table \"{}\") with key {:?} matched no row: another transaction changed or deleted it",
                        type_name,
                        t.name(),
                        pk
                    ),
                ));
            }
            if let Some(v) = version {
                let e = self.entries[slot].as_mut().expect("entry");
                self.stores[e.store as usize].set(e.index, v, now[v].clone())?;
            }
            let e = self.entries[slot].as_mut().expect("entry");
            e.snapshot = Some(std::sync::Arc::new(now));
        }
        // Association rows: removed ones, then new ones (both sides exist).
        self.flush_associations(false).await?;
        self.flush_associations(true).await?;
        // DELETEs, children first.
        for table in order.iter().rev() {
            let slots: Vec<usize> = (0..self.entries.len())
                .filter(|&i| {
                    self.entries[i].as_ref().is_some_and(|e| {
                        e.state == State::Deleted && (e.ops.table)().name() == table
                    })
                })
                .collect();
            let slots = self.children_first(slots);
            for slot in slots {
                let pk = self.pk_values(slot);
                let e = self.entries[slot].as_ref().expect("entry");
                let t = (e.ops.table)();
                let cols = (e.ops.columns)();
                let mut cond = pk_condition(t, cols, (e.ops.pk)(), &pk);
                let snap = e.snapshot.clone().unwrap_or_else(|| {
                    std::sync::Arc::new(self.stores[e.store as usize].values(e.index))
                });
                let versioned = (e.ops.version)().is_some();
                if let Some(v) = (e.ops.version)() {
                    cond = cond.and(t.c(cols[v]).eq(Expr::from(snap[v].clone())));
                }
                let stmt = delete(t).filter(cond);
                let id = identity_of(e.store, &pk);
                let (type_name, table) = ((e.ops.type_name)(), t.name());
                let what = format!("DELETE of {type_name} from \"{table}\" with key {pk:?}");
                let n = self
                    .conn_for_slot(slot)
                    .await?
                    .execute(&stmt, ())
                    .await
                    .map_err(|err| err.context(&what))?
                    .rows_affected();
                if n == 0 && versioned {
                    return Err(Error::new(
                        ErrorKind::StaleData,
                        format!(
                            "DELETE of {type_name} (table \"{table}\") with key {pk:?} matched no row: \
                             another transaction changed or deleted it"
                        ),
                    ));
                }
                self.identity.remove(&id);
                self.forget(slot);
            }
        }
        Ok(())
    }

    /// Deleted rows of one table, reordered so a row referring to another
    /// of them through a self-referential foreign key (a node and its
    /// parent) goes first.
    fn children_first(&self, slots: Vec<usize>) -> Vec<usize> {
        let Some(&first) = slots.first() else {
            return slots;
        };
        let e = self.entries[first].as_ref().expect("entry");
        let (t, cols) = ((e.ops.table)(), (e.ops.columns)());
        let pos = |c: &str| cols.iter().position(|x| *x == c);
        let self_refs: Vec<(usize, usize)> = t
            .foreign_keys()
            .iter()
            .filter(|fk| fk.referred_table == t.name() && fk.columns.len() == 1)
            .filter_map(|fk| Some((pos(&fk.columns[0])?, pos(&fk.referred_columns[0])?)))
            .collect();
        if self_refs.is_empty() {
            return slots;
        }
        let mut remaining = slots;
        let mut ordered = Vec::with_capacity(remaining.len());
        while !remaining.is_empty() {
            // Values referred to by the rows still to delete.
            let referred: std::collections::HashSet<PkKey> = remaining
                .iter()
                .flat_map(|&s| {
                    self_refs
                        .iter()
                        .map(move |&(fk, _)| self.object_value(s as u32, fk))
                })
                .filter(|v| !v.is_null())
                .map(|v| value_key(&v))
                .collect();
            let (leaves, rest): (Vec<usize>, Vec<usize>) = remaining.iter().partition(|&&s| {
                self_refs.iter().all(|&(_, to)| {
                    !referred.contains(&value_key(&self.object_value(s as u32, to)))
                })
            });
            if leaves.is_empty() {
                // A cycle in the data: the database will say which row.
                ordered.extend(rest);
                break;
            }
            ordered.extend(leaves);
            remaining = rest;
        }
        ordered
    }

    /// INSERT the pending objects of one table in multi-row statements.
    ///
    /// Keys the database generates are fetched without one statement per
    /// row: PostgreSQL hands out the ids first (`nextval` of the column's
    /// sequence, one query for the batch), so the rows are inserted with
    /// them; SQLite and MySQL/MariaDB give consecutive ids to the rows of one
    /// multi-row INSERT (SQLite: the new rowids follow the largest one, one
    /// writer at a time; InnoDB: a "simple insert" reserves a consecutive
    /// block), so the ids follow from the last (SQLite) or first (MySQL)
    /// one reported.
    async fn insert_batch(&mut self, slots: &[usize]) -> Result<()> {
        let Some(&first) = slots.first() else {
            return Ok(());
        };
        let e = self.entries[first].as_ref().expect("entry");
        let (t, cols) = ((e.ops.table)(), (e.ops.columns)());
        let auto = t.autoincrement_column().map(|c| c.name().to_string());
        let auto_pos = auto
            .as_deref()
            .and_then(|a| cols.iter().position(|c| *c == a));
        // Objects with versions get 1 before insertion, and NULL columns
        // with a Rust-side default get its value.
        for &slot in slots {
            let e = self.entries[slot].as_mut().expect("entry");
            for (column, make) in (e.ops.defaults)() {
                if let Some(i) = (e.ops.columns)().iter().position(|c| c == column) {
                    if self.stores[e.store as usize].value_at(e.index, i).is_null() {
                        self.stores[e.store as usize].set(e.index, i, make())?;
                    }
                }
            }
            if let Some(v) = (e.ops.version)() {
                if self.stores[e.store as usize].value_at(e.index, v).as_i64() == Some(0) {
                    self.stores[e.store as usize].set(e.index, v, Value::I64(1))?;
                }
            }
        }
        let generates = |s: &Self, slot: usize| {
            let e = s.entries[slot].as_ref().expect("entry");
            auto_pos.is_some_and(|i| is_unset(&s.stores[e.store as usize].value_at(e.index, i)))
        };
        let (gen, given): (Vec<usize>, Vec<usize>) =
            slots.iter().partition(|&&s| generates(self, s));
        self.insert_rows(&given, None).await?;
        // Objects needing a generated key exist only with an autoincrement column.
        match auto_pos {
            Some(i) => self.insert_rows(&gen, Some(i)).await,
            None => Ok(()),
        }
    }

    /// One multi-row INSERT per chunk of `slots`; with `generated`, the
    /// column at that position is left out and filled from the ids the
    /// database reports (consecutive within one statement).
    async fn insert_rows(&mut self, slots: &[usize], generated: Option<usize>) -> Result<()> {
        let Some(&first) = slots.first() else {
            return Ok(());
        };
        let e = self.entries[first].as_ref().expect("entry");
        let (t, cols, type_name) = ((e.ops.table)(), (e.ops.columns)(), (e.ops.type_name)());
        // The bind's dialect: a model may live on another backend.
        let backend = self.conn_for_slot(first).await?.dialect().backend();
        // Stay under every backend's bound-parameter limit.
        let per_row = cols.len().max(1);
        let chunk = (30_000 / per_row).clamp(1, 1000);
        let names: Vec<&str> = cols
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != generated)
            .map(|(_, c)| *c)
            .collect();
        let width = names.len();
        // PostgreSQL reports generated keys with RETURNING; SQLite and MySQL
        // through the last insert id.
        let returning = generated
            .filter(|_| backend == aludel_core::Backend::Postgres)
            .map(|g| cols[g]);
        for part in slots.chunks(chunk) {
            // The objects' values, copied once to be bound (the keys of the
            // identity map are read from here too).
            let mut params = Vec::with_capacity(part.len() * width);
            for &slot in part {
                let e = self.entries[slot].as_ref().expect("entry");
                let values = self.stores[e.store as usize].values(e.index);
                params.extend(
                    values
                        .into_iter()
                        .enumerate()
                        .filter(|(i, _)| Some(*i) != generated)
                        .map(|(_, v)| v),
                );
            }
            let result = match self
                .conn_for_slot(first)
                .await?
                .execute_insert(t, &names, part.len(), &params, returning)
                .await
            {
                Ok(r) => r,
                Err(err) => {
                    let what = format!(
                        "INSERT of {} {type_name} rows into \"{}\"",
                        part.len(),
                        t.name()
                    );
                    return Err(err.context(&what));
                }
            };
            // RETURNING's ids, ascending: the sequence hands them out in the
            // order of the VALUES rows (as SQLAlchemy's insertmanyvalues
            // relies on for PostgreSQL), whatever order the rows come back in.
            let last_insert_id = result.last_insert_id();
            let mut returned: Vec<i64> = Vec::new();
            if returning.is_some() {
                returned = result.scalars()?;
                if returned.len() != part.len() {
                    return Err(Error::new(
                        ErrorKind::Database,
                        format!(
                            "INSERT into \"{}\" returned {} keys for {} rows",
                            t.name(),
                            returned.len(),
                            part.len()
                        ),
                    ));
                }
                returned.sort_unstable();
            }
            let first_id = match generated {
                None => 0,
                Some(_) if returning.is_some() => 0,
                Some(_) => {
                    let n = part.len() as i64;
                    let reported = last_insert_id.ok_or_else(|| {
                        Error::new(
                            ErrorKind::Database,
                            format!("no generated key reported for {}", t.name()),
                        )
                    })?;
                    // SQLite reports the last rowid, MySQL the first id.
                    if backend == aludel_core::Backend::Sqlite {
                        reported - n + 1
                    } else {
                        reported
                    }
                }
            };
            let pk_positions = (self.entries[first].as_ref().expect("entry").ops.pk)();
            let store = self.entries[first].as_ref().expect("entry").store;
            self.identity.of(store).ints.reserve(part.len());
            for (k, &slot) in part.iter().enumerate() {
                let id = generated.map(|_| {
                    Value::I64(if returning.is_some() {
                        returned[k]
                    } else {
                        first_id + k as i64
                    })
                });
                if let (Some(i), Some(id)) = (generated, &id) {
                    let e = self.entries[slot].as_mut().expect("entry");
                    self.stores[e.store as usize].set(e.index, i, id.clone())?;
                }
                // The key as inserted: the generated id, or the bound value
                // (`params` lacks the generated column).
                let row = &params[k * width..(k + 1) * width];
                let key_part = |p: usize| match (generated, &id) {
                    (Some(g), Some(id)) if g == p => id.clone(),
                    (Some(g), _) if g < p => row[p - 1].clone(),
                    _ => row[p].clone(),
                };
                match pk_positions {
                    [p] => self.mark_inserted(slot, std::slice::from_ref(&key_part(*p))),
                    _ => {
                        let pk: Vec<Value> = pk_positions.iter().map(|&p| key_part(p)).collect();
                        self.mark_inserted(slot, &pk);
                    }
                }
            }
        }
        Ok(())
    }

    /// `slot` is in the database now, under primary key `pk`. Like a
    /// loaded object it has no snapshot until it is borrowed mutably (the
    /// object's values are the row's until then): a flush of many new
    /// objects does not keep a second copy of each.
    fn mark_inserted(&mut self, slot: usize, pk: &[Value]) {
        let e = self.entries[slot].as_mut().expect("entry");
        e.snapshot = None;
        e.state = State::Persistent;
        e.inserted_in_txn = true;
        self.identity.insert(identity_of(e.store, pk), slot as u32);
    }

    /// Flush, then COMMIT; objects are expired if `expire_on_commit`.
    pub async fn commit(&mut self) -> Result<()> {
        self.flush().await?;
        // The connection goes back to the pool at the end of the transaction,
        // as SQLAlchemy's Session releases it; the next statement takes one.
        self.end_transaction(true).await?;
        for e in self.entries.iter_mut().flatten() {
            e.inserted_in_txn = false;
            e.committed = e.snapshot.clone();
            e.expired |= self.expire_on_commit;
        }
        if self.expire_on_commit {
            self.related.clear();
        }
        Ok(())
    }

    /// ROLLBACK; pending objects leave the Session, changed ones get their
    /// loaded values back, deleted ones are live again.
    pub async fn rollback(&mut self) -> Result<()> {
        let res = self.end_transaction(false).await;
        // Loaded relationships and unflushed writes through them are as
        // unreliable as the objects: forget them.
        self.related.clear();
        self.links.clear();
        self.assoc_ops.clear();
        for slot in 0..self.entries.len() {
            let Some(e) = self.entries[slot].as_mut() else {
                continue;
            };
            if e.state == State::Pending || e.inserted_in_txn {
                if e.inserted_in_txn {
                    // In the identity map under its key as inserted (the
                    // snapshot's, if it was changed since).
                    let store = e.store;
                    let pk = self.pk_values(slot);
                    self.identity.remove(&identity_of(store, &pk));
                }
                self.forget(slot);
                continue;
            }
            // Loaded before this transaction: back to the values last read or
            // flushed, and expired, since the database may differ (a rolled
            // back flush); the next get, query or load reads it again.
            e.state = State::Persistent;
            e.expired = true;
            e.snapshot = e.committed.clone();
            if let Some(snap) = e.committed.clone() {
                for (i, v) in snap.iter().cloned().enumerate() {
                    self.stores[e.store as usize].set(e.index, i, v)?;
                }
            }
        }
        res
    }

    /// Keys of a query's rows: an object already here keeps its pending
    /// changes (SQLAlchemy's identity map), unless it is expired.
    pub(crate) fn adopt<T: Model>(&mut self, rows: Vec<T>) -> Vec<Key<T>> {
        let store = self.store_of::<T>();
        if self.typed::<T>(store).objects.is_empty() {
            return self.adopt_first(store, rows);
        }
        self.typed_mut::<T>(store).objects.reserve(rows.len());
        self.reserve_entries::<T>(store, rows.len());
        rows.into_iter()
            .map(|obj| self.adopt_in(store, obj))
            .collect()
    }

    /// [`adopt`](Session::adopt) of the first objects of `T` the Session
    /// holds: the decoded vector becomes the store (moved, not copied, as
    /// `Option<T>` is as large as `T` for any model with a `String` or
    /// other non-null pointer field), so a large result is not held twice.
    fn adopt_first<T: Model>(&mut self, store: u32, rows: Vec<T>) -> Vec<Key<T>> {
        let n = rows.len();
        self.typed_mut::<T>(store).objects = rows.into_iter().map(Some).collect();
        self.reserve_entries::<T>(store, n);
        let mut keys = Vec::with_capacity(n);
        for index in 0..n {
            let objects = &self.typed::<T>(store).objects;
            let id = identity_of_object(store, objects[index].as_ref().expect("decoded row"));
            let (slot, next) = self.claim_slot(id);
            if slot != next {
                // The same row twice in one result: one object. (No other
                // `T` was held, so it cannot be an expired one to refresh.)
                self.typed_mut::<T>(store).objects[index] = None;
                keys.push(self.key_at(slot));
                continue;
            }
            keys.push(self.push_entry(store, index as u32, None, State::Persistent));
        }
        keys
    }

    /// Room for `n` more loaded objects of `T` (in `store`): entries and
    /// identity-map entries.
    fn reserve_entries<T: Model>(&mut self, store: u32, n: usize) {
        self.entries.reserve(n);
        self.generations.reserve(n);
        let ids = self.identity.of(store);
        match T::primary_key_positions() {
            [_] => ids.ints.reserve(n),
            _ => ids.texts.reserve(n),
        }
    }

    /// The slot `id` maps to, and the slot a new entry would take; when
    /// they are equal, `id` was just mapped to it. One hash: a mapping to
    /// an empty slot is stale (the object left the Session) and replaced.
    fn claim_slot(&mut self, id: Identity) -> (u32, u32) {
        let next = self.entries.len() as u32;
        let entries = &self.entries;
        let slot = self
            .identity
            .claim(id, next, |slot| entries[slot as usize].is_some());
        (slot, next)
    }

    /// The key of one loaded row (see [`adopt`](Session::adopt)).
    pub(crate) fn adopt_one<T: Model>(&mut self, obj: T) -> Key<T> {
        let store = self.store_of::<T>();
        self.adopt_in(store, obj)
    }

    /// [`adopt_one`](Session::adopt_one) with `T`'s store known.
    fn adopt_in<T: Model>(&mut self, store: u32, obj: T) -> Key<T> {
        // The snapshot is taken lazily, at the first mutable borrow:
        // objects only read never pay for one.
        let (slot, next) = self.claim_slot(identity_of_object(store, &obj));
        if slot != next {
            let key = self.key_at(slot);
            let e = self.entries[slot as usize].as_mut().expect("mapped entry");
            if e.expired {
                e.committed = None;
                e.snapshot = None;
                e.expired = false;
                self.replace_object(slot as usize, obj);
            }
            return key;
        }
        let key = self.insert_entry(obj, None, State::Persistent);
        debug_assert_eq!(key.slot, next);
        key
    }
}

/// Primary keys per SELECT when reloading objects: far below every
/// backend's bound-parameter limit (SQLite 32 766, PostgreSQL 65 535).
const RELOAD_CHUNK: usize = 1000;

/// The error for a key whose object is no longer in the Session.
fn missing<T>(key: Key<T>) -> Error {
    Error::new(
        ErrorKind::Config,
        format!(
            "{key:?} is not in this session (expunged, deleted, rolled back, closed, or from another session)"
        ),
    )
}

fn is_unset(v: &Value) -> bool {
    matches!(v, Value::Null) || v.as_i64() == Some(0)
}

fn pk_condition(t: &Table, cols: &[&str], pk_pos: &[usize], pk: &[Value]) -> Expr {
    aludel_core::sql::and(
        pk_pos
            .iter()
            .zip(pk)
            .map(|(&i, v)| t.c(cols[i]).eq(Expr::from(v.clone()))),
    )
}

impl<T: Model> std::ops::Index<Key<T>> for Session {
    type Output = T;
    fn index(&self, key: Key<T>) -> &T {
        match self.try_get(key) {
            Ok(o) => o,
            Err(e) => panic!("{e}"),
        }
    }
}

impl<T: Model> std::ops::IndexMut<Key<T>> for Session {
    fn index_mut(&mut self, key: Key<T>) -> &mut T {
        if let Err(e) = self.check(key) {
            panic!("{e}");
        }
        self.ensure_snapshot(key.slot as usize);
        self.object_mut(key.slot as usize)
    }
}

/// A query for model objects (SQLAlchemy's `session.query(User)` /
/// `select(User)`); built like a [`Select`], run with [`all`](ModelQuery::all).
pub struct ModelQuery<'s, T> {
    pub(crate) session: &'s mut Session,
    pub(crate) select: Select,
    /// The WHERE conditions, kept for bulk UPDATE and DELETE.
    pub(crate) filters: Vec<Expr>,
    /// Eager-loading options, applied to the result.
    pub(crate) options: Vec<Box<dyn crate::LoadOption<T>>>,
    /// LIMIT or OFFSET given: a joined load runs as a second SELECT.
    pub(crate) limited: bool,
    /// The bind the query runs on (the model's, unless routed elsewhere).
    pub(crate) bind: Option<&'static str>,
    pub(crate) _t: PhantomData<fn() -> T>,
}

/// A joined load's table, ON condition, columns and key columns (to order by).
pub(crate) type JoinSpec = (&'static Table, Expr, Vec<Expr>, Vec<Expr>);

impl<'s, T: Model> ModelQuery<'s, T> {
    /// Stream the matching rows as plain `T` values, one at a time with
    /// bounded memory, for results too large to hold (what SQLAlchemy's
    /// `yield_per` is used for).
    ///
    /// Pending changes are flushed first (with autoflush on), so the rows
    /// read are what the session holds. The values are *not* tracked: the
    /// identity map is neither consulted nor filled, so a million-row scan
    /// does not grow the session; load with [`all`](Self::all) what you mean
    /// to change. Eager-loading options cannot be combined with a stream
    /// (declared `lazy = "selectin"`/`"joined"` defaults are not applied).
    /// The stream borrows the session until it is dropped.
    ///
    /// `while let Some(user) = stream.try_next().await? { … }` reads it; it
    /// is also a `futures` `Stream` of `Result<T>`.
    ///
    ///
    /// # Errors
    /// [`ErrorKind::Unsupported`] when the query has a loader option; the
    /// flush's or the statement's error otherwise.
    pub async fn stream(self) -> Result<aludel_core::TypedRowStream<'s, T>> {
        if let Some(o) = self.options.first() {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "a streamed query of {} cannot eager-load relationship \"{}\": \
                     stream() yields untracked rows one at a time; load the related \
                     objects in batches with all(), or drop the option",
                    T::table().name(),
                    o.relationship()
                ),
            ));
        }
        let write = self.locks();
        let session = self.session;
        if session.autoflush {
            session.flush().await?;
        }
        let rows = session
            .conn_at(self.bind, write)
            .await?
            .stream(&self.select, ())
            .await?;
        Ok(rows.typed::<T>())
    }
}

impl<T: Model> ModelQuery<'_, T> {
    /// Run this query on the named bind instead of the model's own, e.g. a
    /// read replica: `User::query(&mut s).bind("replica").all()`. The
    /// objects read join the Session's identity map as any others.
    pub fn bind(mut self, name: &'static str) -> Self {
        self.bind = Some(name);
        self
    }

    /// WHERE (AND-ed).
    #[doc(alias = "where")]
    pub fn filter(mut self, condition: Expr) -> Self {
        self.filters.push(condition.clone());
        self.select = self.select.filter(condition);
        self
    }

    /// ORDER BY.
    pub fn order_by<I>(mut self, items: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<aludel_core::sql::OrderBy>,
    {
        self.select = self.select.order_by(items);
        self
    }

    /// LIMIT.
    pub fn limit(mut self, n: u64) -> Self {
        self.select = self.select.limit(n);
        self.limited = true;
        self
    }

    /// Whether the query locks rows (and so runs in the transaction).
    fn locks(&self) -> bool {
        use aludel_core::Executable as _;
        !self.select.is_read_only()
    }

    /// Lock the rows read to the end of the Session's transaction
    /// (`SELECT … FOR UPDATE`, see [`Select::with_for_update`]); the
    /// Session begins its transaction for this query, as for a write.
    /// SQLAlchemy's `select(User).with_for_update()`.
    pub fn with_for_update(mut self, lock: aludel_core::sql::ForUpdate) -> Self {
        self.select = self.select.with_for_update(lock);
        self
    }

    /// Load a relationship of the result eagerly: [`selectin`](crate::selectin),
    /// [`joined`](crate::joined) or [`raiseload`](crate::raiseload), chained
    /// with `.then(…)` (`selectin(User::posts).then(selectin(Post::comments))`).
    /// Call it once per relationship.
    pub fn options(mut self, option: impl crate::LoadOption<T> + 'static) -> Self {
        self.options.push(Box::new(option));
        self
    }

    /// JOIN the table of model `U`, ON inferred from the one foreign key
    /// between them, so filters can use `U`'s columns. The result is still
    /// `T` objects (one per joined row, as SQLAlchemy 2.0's `select(T).join(U)`).
    pub fn join<U: Model>(mut self) -> Self {
        self.select = self.select.join(U::table());
        self
    }

    /// LEFT OUTER JOIN the table of model `U`.
    pub fn left_join<U: Model>(mut self) -> Self {
        self.select = self.select.left_join(U::table());
        self
    }

    /// The values of one column (or expression) for the matching rows,
    /// after an autoflush, without loading objects.
    pub async fn scalars<V: aludel_core::FromValue>(
        self,
        column: impl Into<Expr>,
    ) -> Result<Vec<V>> {
        if self.session.autoflush {
            self.session.flush().await?;
        }
        let write = self.locks();
        let stmt = self.select.with_only_columns([column.into()]);
        self.session
            .conn_at(self.bind, write)
            .await?
            .execute(&stmt, ())
            .await?
            .scalars()
    }

    /// Selected columns of the matching rows decoded into `R` (a tuple or a
    /// `FromRow` struct), without loading objects.
    pub async fn rows_as<R, I>(self, columns: I) -> Result<Vec<R>>
    where
        R: aludel_core::FromRow,
        I: IntoIterator,
        I::Item: Into<Expr>,
    {
        if self.session.autoflush {
            self.session.flush().await?;
        }
        let write = self.locks();
        let stmt = self.select.with_only_columns(columns);
        self.session
            .conn_at(self.bind, write)
            .await?
            .execute(&stmt, ())
            .await?
            .all_as()
    }

    /// OFFSET.
    pub fn offset(mut self, n: u64) -> Self {
        self.select = self.select.offset(n);
        self.limited = true;
        self
    }

    /// Run the query (after an autoflush) and return the objects' keys.
    pub async fn all(mut self) -> Result<Vec<Key<T>>> {
        if self.session.autoflush {
            self.session.flush().await?;
        }
        // Declared loads, unless an option of the query names the same
        // relationship.
        for d in T::default_loads() {
            if !self
                .options
                .iter()
                .any(|o| o.relationship() == d.relationship())
            {
                self.options.push(d);
            }
        }
        // Joined loads that can join change the query itself.
        let mut joins = Vec::new();
        if !self.limited {
            for (i, o) in self.options.iter().enumerate() {
                if let Some(j) = o.joined() {
                    if let Some(spec) = j.join()? {
                        joins.push((i, spec));
                    }
                }
            }
        }
        let keys = if joins.is_empty() {
            let rows: Vec<T> = self
                .session
                .conn_at(self.bind, self.locks())
                .await?
                .execute(&self.select, ())
                .await?
                .all_as()?;
            self.session.adopt(rows)
        } else {
            self.all_joined(&joins).await?
        };
        for (i, o) in self.options.iter().enumerate() {
            match joins.iter().find(|(j, _)| *j == i) {
                Some(_) => {
                    let j = o.joined().expect("joined option");
                    j.finish(self.session, &keys).await?;
                }
                None => o.apply(self.session, &keys).await?,
            }
        }
        Ok(keys)
    }

    /// The query with a LEFT OUTER JOIN per joined load: the parents'
    /// columns, then each related model's; parents repeated by the joins
    /// are returned once, in order.
    async fn all_joined(&mut self, joins: &[(usize, JoinSpec)]) -> Result<Vec<Key<T>>> {
        let t = T::table();
        let mut cols: Vec<Expr> = T::column_names().iter().map(|c| t.c(c)).collect();
        let mut stmt = self.select.clone();
        // Where each related model's columns start, and its decoding plan.
        let mut related_plans = Vec::new();
        // The query's own order, then parents by key (kept together), then
        // related objects by key, as the other loaders give them.
        let mut order: Vec<Expr> = T::primary_key_positions()
            .iter()
            .map(|&i| t.c(T::column_names()[i]))
            .collect();
        for (_, (table, on, related, related_order)) in joins {
            stmt = stmt.left_join_on(*table, on.clone());
            let offset = cols.len();
            related_plans.push((
                offset,
                aludel_core::RowPlan::from_positions(
                    (offset..offset + related.len()).map(Some).collect(),
                ),
            ));
            cols.extend(related.iter().cloned());
            order.extend(related_order.iter().cloned());
        }
        let stmt = stmt.with_only_columns(cols).order_by(order);
        let rows = self
            .session
            .conn_at(self.bind, self.locks())
            .await?
            .execute(&stmt, ())
            .await?
            .all()?;
        let plan =
            aludel_core::RowPlan::from_positions((0..T::column_names().len()).map(Some).collect());
        let mut keys: Vec<Key<T>> = Vec::new();
        let mut seen = FastSet::default();
        for mut row in rows {
            let parent = T::from_row_planned(&mut row, &plan)?;
            let key = self.session.adopt_one(parent);
            if seen.insert(key.slot) {
                keys.push(key);
            }
            for ((i, _), (offset, plan)) in joins.iter().zip(&related_plans) {
                let j = self.options[*i].joined().expect("joined option");
                j.take(self.session, key, &mut row, *offset, plan)?;
            }
        }
        Ok(keys)
    }

    /// The first object, or `None`.
    pub async fn first(self) -> Result<Option<Key<T>>> {
        Ok(self.limit(1).all().await?.into_iter().next())
    }

    /// Exactly one object.
    ///
    /// # Errors
    /// [`ErrorKind::NoRow`] for none, [`ErrorKind::MultipleRows`] for more.
    pub async fn one(self) -> Result<Key<T>> {
        match self.one_or_none().await? {
            Some(k) => Ok(k),
            None => Err(Error::new(
                ErrorKind::NoRow,
                "no row was found when one was required",
            )),
        }
    }

    /// One object or none.
    ///
    /// # Errors
    /// [`ErrorKind::MultipleRows`] for more than one.
    pub async fn one_or_none(self) -> Result<Option<Key<T>>> {
        let keys = self.limit(2).all().await?;
        match keys.len() {
            0 | 1 => Ok(keys.into_iter().next()),
            _ => Err(Error::new(
                ErrorKind::MultipleRows,
                "more than one row was found when exactly one was required",
            )),
        }
    }

    /// The number of rows the query matches (ignoring its limit and
    /// offset), after an autoflush.
    pub async fn count(self) -> Result<i64> {
        if self.session.autoflush {
            self.session.flush().await?;
        }
        let write = self.locks();
        let inner = self.select.clear_order_by().clear_limit();
        let stmt = aludel_core::sql::select([aludel_core::sql::func::count_star()])
            .from_subquery(inner, "anon_1");
        self.session
            .conn_at(self.bind, write)
            .await?
            .execute(&stmt, ())
            .await?
            .scalar_one()
    }

    /// The primary keys of the matching rows, as the database has them now.
    async fn matching_keys(&mut self) -> Result<Vec<Vec<Value>>> {
        let t = T::table();
        let cols = T::column_names();
        let pk_cols: Vec<Expr> = T::primary_key_positions()
            .iter()
            .map(|&i| t.c(cols[i]))
            .collect();
        let mut stmt = select(pk_cols).from(t);
        for f in &self.filters {
            stmt = stmt.filter(f.clone());
        }
        let rows = self
            .session
            .conn_for(self.bind)
            .await?
            .execute(&stmt, ())
            .await?
            .all()?;
        Ok(rows.into_iter().map(|r| r.into_values()).collect())
    }

    /// UPDATE every matching row (SQLAlchemy's `update(User).where(…)`
    /// through the Session); tracked objects among them are reloaded, so
    /// the Session stays in step. Returns the rows matched.
    pub async fn update<I, S>(mut self, set: I) -> Result<u64>
    where
        I: IntoIterator<Item = (S, Expr)>,
        S: AsRef<str>,
    {
        if self.session.autoflush {
            self.session.flush().await?;
        }
        let keys = self.matching_keys().await?;
        let t = T::table();
        let mut stmt = update(t);
        for (c, e) in set {
            stmt = stmt.set(c.as_ref(), e);
        }
        for f in &self.filters {
            stmt = stmt.filter(f.clone());
        }
        let n = self
            .session
            .conn_for(self.bind)
            .await?
            .execute(&stmt, ())
            .await?
            .rows_affected();
        let tracked: Vec<Vec<Value>> = keys
            .into_iter()
            .filter(|pk| {
                self.session
                    .identity_for::<T>(pk)
                    .and_then(|id| self.session.identity.get(&id))
                    .is_some_and(|&slot| self.session.contains(self.session.key_at::<T>(slot)))
            })
            .collect();
        self.session.reload::<T>(&tracked).await?;
        Ok(n)
    }

    /// DELETE every matching row; tracked objects among them leave the
    /// Session. Returns the rows deleted.
    pub async fn delete(mut self) -> Result<u64> {
        if self.session.autoflush {
            self.session.flush().await?;
        }
        let keys = self.matching_keys().await?;
        let t = T::table();
        let mut stmt = delete(t);
        for f in &self.filters {
            stmt = stmt.filter(f.clone());
        }
        let n = self
            .session
            .conn_for(self.bind)
            .await?
            .execute(&stmt, ())
            .await?
            .rows_affected();
        for pk in keys {
            let id = self.session.identity_for::<T>(&pk);
            if let Some(slot) = id.and_then(|id| self.session.identity.remove(&id)) {
                self.session.forget(slot as usize);
            }
        }
        Ok(n)
    }

    /// Whether the query matches any row.
    pub async fn exists(self) -> Result<bool> {
        Ok(self.limit(1).all().await?.len() == 1)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use aludel_core::schema::{Column, MetaData, SqlType, Table};
    use aludel_core::{create_engine, text, FromRow, FromValue, Row};

    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct User {
        id: i64,
        name: String,
        karma: i32,
    }

    impl FromRow for User {
        fn from_row(mut row: Row) -> Result<Self> {
            Ok(User {
                id: row.take("id")?,
                name: row.take("name")?,
                karma: row.take("karma")?,
            })
        }
    }

    impl Model for User {
        fn table() -> &'static Table {
            static T: OnceLock<Table> = OnceLock::new();
            T.get_or_init(|| {
                Table::builder("users")
                    .column(Column::new("id", SqlType::BigInteger).primary_key())
                    .column(Column::new("name", SqlType::string(50)).not_null())
                    .column(Column::new("karma", SqlType::Integer).not_null())
                    .build()
                    .expect("table")
            })
        }
        fn column_names() -> &'static [&'static str] {
            &["id", "name", "karma"]
        }
        fn primary_key_positions() -> &'static [usize] {
            &[0]
        }
        fn to_values(&self) -> Vec<Value> {
            vec![self.id.into(), self.name.clone().into(), self.karma.into()]
        }
        fn set_value(&mut self, i: usize, v: Value) -> Result<()> {
            let bad = |e: aludel_core::DecodeError| Error::new(ErrorKind::Decode, e.0);
            match i {
                0 => self.id = i64::from_value(v).map_err(bad)?,
                1 => self.name = String::from_value(v).map_err(bad)?,
                _ => self.karma = i32::from_value(v).map_err(bad)?,
            }
            Ok(())
        }
    }

    async fn setup() -> Result<Engine> {
        let engine = create_engine("sqlite://")?;
        let mut md = MetaData::new();
        md.add(User::table().clone())?;
        md.create_all(&engine).await?;
        Ok(engine)
    }

    fn user(name: &str) -> User {
        User {
            id: 0,
            name: name.into(),
            karma: 0,
        }
    }

    #[tokio::test]
    async fn add_flush_get_update_delete() -> Result<()> {
        let engine = setup().await?;
        let mut s = Session::new(&engine);
        let ada = s.add(user("Ada"));
        let grace = s.add(user("Grace"));
        s.flush().await?;
        assert_eq!(
            (s[ada].id, s[grace].id),
            (1, 2),
            "generated keys set on the objects"
        );
        // Identity map: the same key, no new object.
        assert_eq!(s.get::<User>(1).await?, Some(ada));
        s[ada].karma += 5;
        s.commit().await?;
        let row: (String, i64) = engine
            .execute(text("SELECT name, karma FROM users WHERE id = 1"), ())
            .await?
            .one_as()?;
        assert_eq!(row, ("Ada".into(), 5));
        assert!(s.is_expired(ada));
        s.delete(grace)?;
        s.commit().await?;
        assert!(!s.contains(grace));
        let n: i64 = engine
            .execute(text("SELECT count(*) FROM users"), ())
            .await?
            .scalar_one()?;
        assert_eq!(n, 1);
        Ok(())
    }

    #[tokio::test]
    async fn queries_keep_pending_changes_and_rollback_restores() -> Result<()> {
        let engine = setup().await?;
        let mut s = Session::new(&engine);
        s.set_expire_on_commit(false);
        let ada = s.add(user("Ada"));
        s.commit().await?;
        s[ada].name = "changed".into();
        s.set_autoflush(false);
        let found = s
            .query::<User>()
            .filter(User::table().c("id").eq(1))
            .all()
            .await?;
        assert_eq!(found, [ada]);
        assert_eq!(
            s[ada].name, "changed",
            "a query does not overwrite pending changes"
        );
        let temp = s.add(user("Temp"));
        s.rollback().await?;
        assert_eq!(s[ada].name, "Ada", "rollback restores loaded values");
        assert!(!s.contains(temp), "rollback expunges pending objects");
        Ok(())
    }

    #[tokio::test]
    async fn failed_flush_rolls_back_and_session_stays_usable() -> Result<()> {
        let engine = setup().await?;
        let mut s = Session::new(&engine);
        let a = s.add(user("Ada"));
        s.commit().await?;
        let dup = s.add(User {
            id: s[a].id,
            name: "dup".into(),
            karma: 0,
        });
        let err = s.flush().await.unwrap_err();
        assert!(err.to_string().contains("rolled back"), "{err}");
        assert!(!s.contains(dup));
        let b = s.add(user("Bea"));
        s.commit().await?;
        assert_eq!(s[b].id, 2);
        Ok(())
    }
}
