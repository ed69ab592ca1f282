//! [`Db`]: the app's engines (the default one and named binds), how its
//! sessions are made, and the models' metadata; shared as axum state.

use std::collections::BTreeMap;
use std::sync::Arc;

use aludel_core::schema::MetaData;
use aludel_core::{Engine, Error, ErrorKind, PoolStatus, Result};
use aludel_orm::{Session, SessionFactory, SharedConnection};

use crate::config::DbConfig;

/// The app's database (Flask-SQLAlchemy's `db`): the default [`Engine`],
/// named binds, the [`SessionFactory`] per-request sessions come from, and
/// the [`MetaData`] that [`create_all`](Db::create_all) creates.
///
/// Cheap to clone (an `Arc`); put it in the router's state and extract it
/// with `State<Db>`, or hold it in a larger state struct and implement
/// (or derive) `FromRef`:
///
/// ```
/// use aludel_axum::{Db, DbConfig, DbLayer};
/// use axum::extract::{FromRef, State};
/// use axum::{routing::get, Router};
///
/// #[derive(Clone, FromRef)]
/// struct AppState {
///     db: Db,
///     greeting: String,
/// }
///
/// async fn health(State(db): State<Db>) -> String {
///     format!("{} connections idle", db.pool_status().idle)
/// }
///
/// # fn main() -> aludel_core::Result<()> {
/// let db = Db::from_config(&DbConfig::new("sqlite://"))?;
/// let app: Router = Router::new()
///     .route("/health", get(health))
///     .layer(DbLayer::new(db.clone()))
///     .with_state(AppState { db, greeting: "hi".into() });
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    engine: Engine,
    binds: BTreeMap<&'static str, Engine>,
    factory: SessionFactory,
    metadata: Option<MetaData>,
    bind_metadata: BTreeMap<&'static str, MetaData>,
}

/// Bind names as the ORM wants them (`&'static str`): each distinct name is
/// leaked once per process, however many `Db`s use it.
fn intern(name: &str) -> &'static str {
    static NAMES: std::sync::Mutex<BTreeMap<String, &'static str>> =
        std::sync::Mutex::new(BTreeMap::new());
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = names.get(name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(name.to_string(), leaked);
    leaked
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("engine", &self.inner.engine)
            .field("binds", &self.inner.binds.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Db {
    /// A `Db` on `engine`, with no binds, default session settings and the
    /// registered models as its metadata.
    pub fn new(engine: Engine) -> Db {
        Db {
            inner: Arc::new(Inner {
                factory: SessionFactory::new(&engine),
                engine,
                binds: BTreeMap::new(),
                metadata: None,
                bind_metadata: BTreeMap::new(),
            }),
        }
    }

    /// Build the engines of `config` (none connects yet).
    ///
    /// ```
    /// use aludel_axum::{Db, DbConfig, EngineConfig};
    /// let db = Db::from_config(
    ///     &DbConfig::new("sqlite://").pool_size(3).bind("replica", EngineConfig::new("sqlite://")),
    /// )?;
    /// assert_eq!(db.engine().pool_status().pool_size, 1); // in-memory SQLite: one shared connection
    /// assert_eq!(db.bind_names().collect::<Vec<_>>(), ["replica"]);
    /// # Ok::<(), aludel_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`ErrorKind::Url`] for a URL that does not parse, [`ErrorKind::Config`]
    /// for impossible settings, each naming the bind when it is one.
    pub fn from_config(config: &DbConfig) -> Result<Db> {
        let mut db = Db::new(config.engine.build()?);
        for name in config.binds.keys() {
            let c = config.bind_config(name).expect("a key of binds");
            let engine = c.build().map_err(|e| e.context(format!("bind {name:?}")))?;
            db = db.with_bind(name.clone(), engine);
        }
        Ok(db)
    }

    /// [`DbConfig::from_env`], then [`from_config`](Db::from_config).
    ///
    /// # Errors
    /// As both.
    pub fn from_env() -> Result<Db> {
        Db::from_config(&DbConfig::from_env()?)
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Db {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// The same `Db` with a named engine (a read replica, another database),
    /// registered with its sessions ([`SessionFactory::bind`]): a model
    /// declared `#[aludel(bind = "audit")]` is read and written on bind
    /// `audit`, and `User::query(&mut s).bind("replica")` reads from the
    /// replica. The request's commit covers every bind the Session used,
    /// each its own transaction (named binds first, then the default); see
    /// the crate docs for what that means when a COMMIT fails part way.
    pub fn with_bind(self, name: impl AsRef<str>, engine: Engine) -> Db {
        let name = intern(name.as_ref());
        self.edit(|i| {
            i.factory = i.factory.clone().bind(name, &engine);
            i.binds.insert(name, engine);
        })
    }

    /// The same `Db` with the tables that live on bind `name`:
    /// [`create_all`](Db::create_all) and [`drop_all`](Db::drop_all) create
    /// and drop them on that bind's engine, and leave them out of the
    /// default engine's [`metadata`](Db::metadata).
    ///
    /// ```
    /// use aludel::orm::Model;
    /// use aludel::Model;
    /// #[derive(Model, Clone)]
    /// #[aludel(table = "audit_log", bind = "audit")]
    /// struct AuditLog { #[aludel(primary_key)] id: i64, what: String }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel::Result<()> {
    /// let mut audit_tables = aludel::schema::MetaData::new();
    /// audit_tables.add(AuditLog::table().clone())?;
    /// let db = aludel_axum::Db::new(aludel::create_engine("sqlite://")?)
    ///     .with_bind("audit", aludel::create_engine("sqlite://")?)
    ///     .with_bind_metadata("audit", audit_tables);
    /// db.create_all().await?;
    /// assert_eq!(db.bind("audit")?.inspector().table_names().await?, ["audit_log"]);
    /// assert!(db.metadata()?.table("audit_log").is_none());
    /// # Ok(()) }
    /// ```
    pub fn with_bind_metadata(self, name: impl AsRef<str>, metadata: MetaData) -> Db {
        let name = intern(name.as_ref());
        self.edit(|i| {
            i.bind_metadata.insert(name, metadata);
        })
    }

    /// The same `Db` with `metadata` as the tables [`create_all`](Db::create_all),
    /// [`drop_all`](Db::drop_all) and autogenerate work on (default: every
    /// `#[derive(Model)]` of the program, [`aludel_orm::registered_metadata`]).
    pub fn with_metadata(self, metadata: MetaData) -> Db {
        self.edit(|i| i.metadata = Some(metadata))
    }

    /// The same `Db` making sessions with other settings:
    ///
    /// ```
    /// # let db = aludel_axum::Db::new(aludel_core::create_engine("sqlite://")?);
    /// let db = db.configure_sessions(|f| f.expire_on_commit(false));
    /// # Ok::<(), aludel_core::Error>(())
    /// ```
    pub fn configure_sessions(self, f: impl FnOnce(SessionFactory) -> SessionFactory) -> Db {
        self.edit(|i| i.factory = f(i.factory.clone()))
    }

    /// The same `Db` whose sessions run inside `shared`'s transaction, each
    /// in a SAVEPOINT ([`SessionFactory::join`]): give it to the app under
    /// test so everything its requests commit is rolled back with `shared`
    /// at the end (see [`testing::TestTransaction`](crate::testing) with
    /// feature `testing`). Joined sessions take turns on the one
    /// connection; a test must end its own Session before it sends a
    /// request.
    pub fn join(self, shared: &SharedConnection) -> Db {
        let shared = shared.clone();
        self.edit(|i| i.factory = i.factory.clone().join(&shared))
    }

    /// The default engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The engine of bind `name`.
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the bind and the ones configured.
    pub fn bind(&self, name: &str) -> Result<&Engine> {
        self.inner.binds.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.bind_names().collect();
            Error::new(
                ErrorKind::Config,
                format!(
                    "no bind named {name:?}; configured binds: {} (set DATABASE_URL_{} or add it to DbConfig::binds)",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") },
                    name.to_ascii_uppercase()
                ),
            )
        })
    }

    /// The names of the binds, sorted.
    pub fn bind_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.inner.binds.keys().copied()
    }

    /// The factory sessions come from.
    pub fn session_factory(&self) -> &SessionFactory {
        &self.inner.factory
    }

    /// A new Session on the default engine (outside a request: jobs,
    /// commands, tests). In a handler, extract [`DbSession`](crate::DbSession).
    pub fn session(&self) -> Session {
        self.inner.factory.session()
    }

    /// A new Session whose default engine is bind `name`'s (for a job that
    /// works on that database alone); handlers reach binds through the
    /// request's Session instead.
    ///
    /// # Errors
    /// As [`bind`](Db::bind).
    pub fn session_on(&self, name: &str) -> Result<Session> {
        Ok(Session::new(self.bind(name)?))
    }

    /// The tables [`create_all`](Db::create_all) creates: those given to
    /// [`with_metadata`](Db::with_metadata), else every registered model.
    ///
    /// # Errors
    /// [`aludel_orm::registered_metadata`]'s (two models defining one table
    /// differently).
    pub fn metadata(&self) -> Result<MetaData> {
        let all = match &self.inner.metadata {
            Some(m) => m.clone(),
            None => aludel_orm::registered_metadata()?,
        };
        if self.inner.bind_metadata.is_empty() {
            return Ok(all);
        }
        let on_binds = |name: &str| {
            self.inner
                .bind_metadata
                .values()
                .any(|m| m.table(name).is_some())
        };
        let mut out = MetaData::with_naming_convention(all.naming_convention().clone());
        for t in all.tables().filter(|t| !on_binds(t.name())) {
            out.add(t.clone())?;
        }
        Ok(out)
    }

    /// The tables given for bind `name` ([`with_bind_metadata`](Db::with_bind_metadata)).
    pub fn bind_metadata(&self, name: &str) -> Option<&MetaData> {
        self.inner.bind_metadata.get(name)
    }

    /// Create the missing tables of [`metadata`](Db::metadata) on the default
    /// engine (and those of each [`bind_metadata`](Db::bind_metadata) on its
    /// bind), in foreign-key order (never ALTERs an existing table; use
    /// migrations for that). For tests and quick starts.
    ///
    /// ```
    /// use aludel::Model;
    /// #[derive(Model, Clone)]
    /// #[aludel(table = "notes")]
    /// struct Note { #[aludel(primary_key)] id: i64, text: String }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> aludel::Result<()> {
    /// let db = aludel_axum::Db::new(aludel::create_engine("sqlite://")?);
    /// db.create_all().await?;
    /// let names = db.engine().inspector().table_names().await?;
    /// assert!(names.iter().any(|n| n == "notes"));
    /// db.drop_all().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The DDL's error, or [`metadata`](Db::metadata)'s.
    pub async fn create_all(&self) -> Result<()> {
        self.metadata()?.create_all(&self.inner.engine).await?;
        for (name, md) in &self.inner.bind_metadata {
            md.create_all(self.bind(name)?)
                .await
                .map_err(|e| e.context(format!("bind {name:?}")))?;
        }
        Ok(())
    }

    /// Drop the tables of [`metadata`](Db::metadata) that exist, children
    /// first.
    ///
    /// # Errors
    /// The DDL's error, or [`metadata`](Db::metadata)'s.
    pub async fn drop_all(&self) -> Result<()> {
        for (name, md) in &self.inner.bind_metadata {
            md.drop_all(self.bind(name)?)
                .await
                .map_err(|e| e.context(format!("bind {name:?}")))?;
        }
        self.metadata()?.drop_all(&self.inner.engine).await
    }

    /// The default engine's pool: how many connections exist, are idle, lent.
    pub fn pool_status(&self) -> PoolStatus {
        self.inner.engine.pool_status()
    }

    /// Close every idle connection of every engine (at shutdown, or after a
    /// fork).
    pub fn dispose(&self) {
        self.inner.engine.dispose();
        for e in self.inner.binds.values() {
            e.dispose();
        }
    }

    /// The `db` command's runner for this app (Flask-Migrate's `Migrate(app,
    /// db)`): the scripts, this `Db`'s default engine (a `--url` argument
    /// still wins) and its metadata when one was given.
    ///
    /// ```no_run
    /// use aludel_axum::Db;
    /// aludel::migrate::migrations!("migrations/versions");
    ///
    /// #[derive(clap::Parser)]
    /// enum Cli {
    ///     /// Run the web server.
    ///     Serve,
    ///     /// Database migrations.
    ///     Db(aludel::migrate::cli::DbArgs),
    /// }
    ///
    /// #[tokio::main]
    /// async fn main() -> std::process::ExitCode {
    ///     let db = Db::from_env().expect("DATABASE_URL");
    ///     match <Cli as clap::Parser>::parse() {
    ///         Cli::Serve => std::process::ExitCode::SUCCESS, // axum::serve(…)
    ///         Cli::Db(args) => db.migrate(&MIGRATIONS).run(&args).await,
    ///     }
    /// }
    /// ```
    #[cfg(feature = "migrate")]
    pub fn migrate(
        &self,
        migrations: &'static aludel_migrate::Migrations,
    ) -> aludel_migrate::cli::Migrate {
        let m = aludel_migrate::cli::Migrate::new(migrations).engine(&self.inner.engine);
        match &self.inner.metadata {
            Some(md) => m.metadata(md.clone()),
            None => m,
        }
    }
}
