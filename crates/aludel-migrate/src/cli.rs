//! The `db` command line, as Flask-Migrate's `flask db`: a clap
//! subcommand an app mounts into its own CLI, and [`main`] for an app
//! with none.
//!
//! ```no_run
//! use clap::{Parser, Subcommand};
//!
//! // the scripts, relative to Cargo.toml (an app writes "migrations/versions")
//! aludel_migrate::migrations!("../../examples/migrations/migrations/versions");
//!
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(subcommand)]
//!     command: Command,
//! }
//!
//! #[derive(Subcommand)]
//! enum Command {
//!     /// Run the web server.
//!     Serve,
//!     /// Database migrations.
//!     Db(aludel_migrate::cli::DbArgs),
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     match Cli::parse().command {
//!         Command::Serve => std::process::ExitCode::SUCCESS,
//!         Command::Db(args) => aludel_migrate::cli::Migrate::new(&MIGRATIONS).run(&args).await,
//!     }
//! }
//! ```
//!
//! # Commands
//!
//! | command | does |
//! | --- | --- |
//! | `init` | creates `migrations/` with `versions/` and a README |
//! | `revision [-m MSG] [--autogenerate] [--head REV] [--splice] [--rev-id ID]` | writes `versions/<rev>_<slug>.rs` revising the head |
//! | `migrate [-m MSG] [--rev-id ID]` | `revision --autogenerate`: a script of the differences between the models and the database |
//! | `upgrade [TARGET=head] [--sql] [--lock-timeout S]` | runs upgrades, a line per revision as it runs |
//! | `downgrade [TARGET=-1] [--sql] [--lock-timeout S]` | runs downgrades (`--sql` takes `from:to`, default `head:-1`) |
//! | `current [-v]` | the database's revisions |
//! | `history [-v] [-r START:END] [-i]` | revisions newest first |
//! | `heads [-v]`, `branches [-v]` | heads; branch points and where they lead |
//! | `show [REV=head]` | one revision in full |
//! | `stamp REV [--lock-timeout S]` | sets the version table without running migrations |
//! | `merge [-m MSG] [--rev-id ID] REVS…` | writes a revision revising `REVS` (`heads`: every head) |
//! | `check` | each difference between the models and the database (`[destructive]` marked); exit 255 if any |
//!
//! Targets are Alembic's (`head`, `heads`, `base`, ids, prefixes, `+N`,
//! `-N`, `<rev>+N`). The database is `--url`, else the engine given to
//! [`Migrate::engine`], else `DATABASE_URL`; the directory is `-d`, else
//! `ALUDEL_MIGRATIONS_DIR`, else [`Migrate::directory`] (`migrations`).
//!
//! # Exit codes
//!
//! | code | when |
//! | --- | --- |
//! | `0` | success; also `migrate` with nothing to do ("No changes in schema detected.", no file written: an unchanged schema is not an error, so a deploy script can run `db migrate` blindly) and `check` with no difference ("No new upgrade operations detected.") |
//! | `1` | an error, printed to stderr as `Error: <message>` (among them a database that is not at head for `migrate`/`check`: run `db upgrade` first) |
//! | `255` | `check` found differences (as Alembic's `check`): one `Detected …` line each, destructive ones marked `[destructive]` |
//!
//! # Autogenerate
//!
//! `migrate -m MSG` (or `revision --autogenerate -m MSG`) compares the
//! models with the database, which must be at the scripts' head, prints
//! Alembic's lines and writes the script:
//!
//! ```text
//! $ app db migrate -m "add premium"
//! Detected added column 'policy.premium'
//! Detected added index 'ix_policy_premium' on 'policy' (premium)
//!   Generating migrations/versions/8d2e4f6a1b93_add_premium.rs ...  done
//! ```
//!
//! The models are every `#[derive(Model)]` type of the program
//! ([`aludel_orm::registered_metadata`]) unless the app gives its own
//! [`MetaData`] to [`Migrate::metadata`]. A new script is compiled in at the
//! app's next build: run `db upgrade` through `cargo run` (which rebuilds)
//! or rebuild first.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aludel_core::schema::MetaData;
use aludel_core::{Dialect, Engine, Url};
use clap::{Args, Parser, Subcommand};

use crate::autogenerate::{check, render_revision};
use crate::compare::{AutogenerateOptions, Difference};
use crate::error::{Error, ErrorKind, Result};
use crate::graph::Revisions;
use crate::revision::{new_revision_id, Revision};
use crate::runner::{Runner, DEFAULT_LOCK_TIMEOUT};
use crate::script::{read_scripts, render_script, slug, Migrations};

/// The `db` subcommand's arguments: mount it in the app's clap CLI
/// (`Db(aludel_migrate::cli::DbArgs)`) and hand it to [`Migrate::run`].
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// The migrations directory [default: migrations].
    #[arg(short = 'd', long, global = true, env = "ALUDEL_MIGRATIONS_DIR")]
    pub directory: Option<PathBuf>,
    /// The database URL [default: the app's engine, or DATABASE_URL].
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: DbCommand,
}

/// The `db` commands.
#[derive(Debug, Clone, Subcommand)]
pub enum DbCommand {
    /// Create the migrations directory: versions/ and a README.
    Init,
    /// Write a new revision script revising the current head.
    Revision(RevisionArgs),
    /// `revision --autogenerate`: a script from the models' differences.
    Migrate(RevisionArgs),
    /// Upgrade to a later revision.
    Upgrade {
        /// Where to: head, heads, a revision, +N.
        #[arg(default_value = "head", allow_hyphen_values = true)]
        target: String,
        /// Print the SQL instead of running it (TARGET may be FROM:TO).
        #[arg(long)]
        sql: bool,
        /// Seconds to wait for the migration lock.
        #[arg(long, value_name = "SECONDS")]
        lock_timeout: Option<f64>,
    },
    /// Revert to a previous revision.
    Downgrade {
        /// Where to: base, a revision, -N.
        #[arg(default_value = "-1", allow_hyphen_values = true)]
        target: String,
        /// Print the SQL instead of running it (from:to; default head:-1).
        #[arg(long)]
        sql: bool,
        /// Seconds to wait for the migration lock.
        #[arg(long, value_name = "SECONDS")]
        lock_timeout: Option<f64>,
    },
    /// The database's current revisions.
    Current {
        /// Show each revision in full.
        #[arg(short, long)]
        verbose: bool,
    },
    /// The revisions, newest first.
    History {
        /// Show each revision in full.
        #[arg(short, long)]
        verbose: bool,
        /// A range START:END (base, head, heads, current, ids, -N for START).
        #[arg(short = 'r', long = "rev-range", allow_hyphen_values = true)]
        range: Option<String>,
        /// Mark the database's current revisions.
        #[arg(short, long)]
        indicate_current: bool,
    },
    /// The head revisions.
    Heads {
        /// Show each revision in full.
        #[arg(short, long)]
        verbose: bool,
    },
    /// The branch points and the revisions they lead to.
    Branches {
        /// Show each revision in full.
        #[arg(short, long)]
        verbose: bool,
    },
    /// One revision in full.
    Show {
        /// The revision (an id, a prefix, head).
        #[arg(default_value = "head")]
        revision: String,
    },
    /// Set the version table to a revision without running migrations.
    Stamp {
        /// The revision (head, heads, base, an id).
        revision: String,
        /// Seconds to wait for the migration lock.
        #[arg(long, value_name = "SECONDS")]
        lock_timeout: Option<f64>,
    },
    /// Write a revision merging several revisions (`heads`: all heads).
    Merge {
        /// The message.
        #[arg(short, long)]
        message: Option<String>,
        /// The new revision's id instead of a random one.
        #[arg(long)]
        rev_id: Option<String>,
        /// The revisions to merge.
        #[arg(required = true)]
        revisions: Vec<String>,
    },
    /// Exit 255 if the models and the database differ.
    Check,
}

/// The arguments of `revision` and `migrate`.
#[derive(Debug, Clone, Args)]
pub struct RevisionArgs {
    /// The message.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Fill the script from the differences between the models and the database.
    #[arg(long)]
    pub autogenerate: bool,
    /// The revision to build on (a head; `base` starts a new root) [default: head].
    #[arg(long)]
    pub head: Option<String>,
    /// Allow --head to name a revision that is not a head (a new branch).
    #[arg(long)]
    pub splice: bool,
    /// The new revision's id instead of a random one.
    #[arg(long)]
    pub rev_id: Option<String>,
}

/// The exit code of a failed command.
pub const EXIT_ERROR: u8 = 1;
/// The exit code of `check` when the models and the database differ.
pub const EXIT_CHECK_FAILED: u8 = 255;

type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// The app's side of the `db` command line (Flask-Migrate's `Migrate`):
/// its compiled-in scripts and, optionally, its engine, directory, and the
/// models autogenerate compares (every `#[derive(Model)]` of the program
/// unless [`metadata`](Migrate::metadata) says otherwise).
#[derive(Clone)]
pub struct Migrate {
    migrations: &'static Migrations,
    engine: Option<Engine>,
    directory: PathBuf,
    metadata: Option<MetaData>,
    options: AutogenerateOptions,
}

impl std::fmt::Debug for Migrate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrate")
            .field("migrations", &self.migrations.dir())
            .field("directory", &self.directory)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Migrate {
    /// The `db` commands for these scripts (what
    /// [`migrations!`](crate::migrations!) defines as `MIGRATIONS`).
    pub fn new(migrations: &'static Migrations) -> Self {
        Migrate {
            migrations,
            engine: None,
            directory: PathBuf::from("migrations"),
            metadata: None,
            options: AutogenerateOptions::new(),
        }
    }

    /// The models `migrate`, `revision --autogenerate` and `check` compare
    /// with the database. By default every `#[derive(Model)]` type linked
    /// into the program ([`aludel_orm::registered_metadata`]); give a
    /// [`MetaData`] to compare other tables (hand-built ones, a subset, a
    /// custom naming convention).
    ///
    /// ```
    /// use aludel_core::schema::{Column, MetaData, SqlType, Table};
    /// aludel_migrate::migrations!("../../examples/migrations/migrations/versions");
    ///
    /// let mut models = MetaData::new();
    /// models.add(Table::builder("account")
    ///     .column(Column::new("id", SqlType::Integer).primary_key())
    ///     .build()?)?;
    /// let db = aludel_migrate::cli::Migrate::new(&MIGRATIONS).metadata(models);
    /// # let _ = db;
    /// # Ok::<(), aludel_core::Error>(())
    /// ```
    pub fn metadata(mut self, metadata: MetaData) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// What autogenerate compares and may propose (tables to leave alone,
    /// whether to propose dropping tables no model owns, …); the defaults
    /// of [`AutogenerateOptions::new`] otherwise.
    pub fn autogenerate_options(mut self, options: AutogenerateOptions) -> Self {
        self.options = options;
        self
    }

    /// The app's engine (used unless `--url` is given).
    pub fn engine(mut self, engine: &Engine) -> Self {
        self.engine = Some(engine.clone());
        self
    }

    /// The migrations directory when `-d` and `ALUDEL_MIGRATIONS_DIR` are
    /// not given (default `migrations`).
    pub fn directory(mut self, dir: impl Into<PathBuf>) -> Self {
        self.directory = dir.into();
        self
    }

    /// Run a `db` command, printing to stdout (errors to stderr as
    /// `Error: <message>`), and return the exit code (see the
    /// [module docs](self#exit-codes)).
    pub async fn run(&self, args: &DbArgs) -> ExitCode {
        match self.run_with(args, |line: &str| println!("{line}")).await {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("Error: {e}");
                ExitCode::from(EXIT_ERROR)
            }
        }
    }

    /// Run a `db` command, giving each output line to `out` as it is
    /// produced; the exit code on success (0, or 255 for a failed
    /// `check`). Tests and apps with their own output use this.
    ///
    /// # Errors
    /// Whatever the command fails with (the process exits 1 on these).
    pub async fn run_with(
        &self,
        args: &DbArgs,
        out: impl Fn(&str) + Send + Sync + 'static,
    ) -> Result<u8> {
        let ctx = Ctx {
            app: self,
            args,
            out: Arc::new(out),
        };
        ctx.run().await
    }

    /// [`run_with`](Migrate::run_with) collecting the lines: `(exit code,
    /// lines)`, the error as its message on exit code 1.
    pub async fn run_captured(&self, args: &DbArgs) -> (u8, Vec<String>) {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = lines.clone();
        let res = self
            .run_with(args, move |s: &str| {
                l.lock().expect("lines").push(s.to_string())
            })
            .await;
        let mut lines = std::mem::take(&mut *lines.lock().expect("lines"));
        match res {
            Ok(code) => (code, lines),
            Err(e) => {
                lines.push(format!("Error: {e}"));
                (EXIT_ERROR, lines)
            }
        }
    }
}

/// The ready binary for apps with no CLI of their own: `src/bin/db.rs`
/// holding
///
/// ```no_run
/// // the scripts, relative to Cargo.toml (an app writes "migrations/versions")
/// aludel_migrate::migrations!("../../examples/migrations/migrations/versions");
///
/// #[tokio::main]
/// async fn main() -> std::process::ExitCode {
///     aludel_migrate::cli::main(&MIGRATIONS).await
/// }
/// ```
///
/// gives `cargo run --bin db -- upgrade`, `… history`, and the rest.
pub async fn main(migrations: &'static Migrations) -> ExitCode {
    #[derive(Parser)]
    #[command(name = "db", about = "Database migrations (Alembic's commands)")]
    struct Cli {
        #[command(flatten)]
        db: DbArgs,
    }
    let cli = Cli::parse();
    Migrate::new(migrations).run(&cli.db).await
}

/// Parse `db` arguments from words (`["upgrade", "head"]`), as the app's
/// CLI would; for tests and for apps that build commands.
///
/// # Errors
/// [`ErrorKind::Usage`] with clap's message.
pub fn parse_args<I, S>(words: I) -> Result<DbArgs>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    #[derive(Parser)]
    #[command(name = "db")]
    struct Cli {
        #[command(flatten)]
        db: DbArgs,
    }
    let words =
        std::iter::once(std::ffi::OsString::from("db")).chain(words.into_iter().map(Into::into));
    Cli::try_parse_from(words)
        .map(|c| c.db)
        .map_err(|e| Error::new(ErrorKind::Usage, e.to_string().trim_end().to_string()))
}

struct Ctx<'a> {
    app: &'a Migrate,
    args: &'a DbArgs,
    out: Sink,
}

impl Ctx<'_> {
    fn say(&self, line: impl AsRef<str>) {
        (self.out)(line.as_ref());
    }

    fn dir(&self) -> PathBuf {
        self.args
            .directory
            .clone()
            .unwrap_or_else(|| self.app.directory.clone())
    }

    fn versions(&self) -> PathBuf {
        self.dir().join("versions")
    }

    fn url(&self) -> Result<Option<Url>> {
        if let Some(u) = &self.args.url {
            return Ok(Some(u.parse()?));
        }
        if let Some(e) = &self.app.engine {
            return Ok(Some(e.url().clone()));
        }
        match std::env::var("DATABASE_URL") {
            Ok(u) if !u.is_empty() => Ok(Some(u.parse()?)),
            _ => Ok(None),
        }
    }

    fn engine(&self) -> Result<Engine> {
        if self.args.url.is_none() {
            if let Some(e) = &self.app.engine {
                return Ok(e.clone());
            }
        }
        match self.url()? {
            Some(url) => Ok(aludel_core::create_engine(url.render_as_string(false))?),
            None => Err(no_database()),
        }
    }

    fn dialect(&self) -> Result<Dialect> {
        match self.url()? {
            Some(url) => Ok(Dialect::new(url.backend())),
            None => Err(no_database()),
        }
    }

    /// The compiled-in graph, with a note for scripts on disk it lacks.
    fn graph(&self) -> Result<Revisions> {
        let g = self.app.migrations.revisions()?;
        if let Ok(disk) = read_scripts(&self.versions()) {
            let missing: Vec<String> = disk
                .iter()
                .filter(|h| g.get(&h.id).is_none())
                .map(|h| file_name(&h.path))
                .collect();
            if !missing.is_empty() {
                tracing::warn!(
                    target: "aludel::migrate",
                    "{} script(s) in {} are not compiled into this program yet ({}); rebuild it",
                    missing.len(),
                    self.versions().display(),
                    missing.join(", ")
                );
            }
        }
        Ok(g)
    }

    fn path_of(&self, rev: &Revision) -> String {
        match self.app.migrations.script(rev.id()) {
            Some(s) => self.versions().join(s.file()).display().to_string(),
            None => "(not a script file)".into(),
        }
    }

    fn lock_timeout(t: Option<f64>) -> Duration {
        t.map_or(DEFAULT_LOCK_TIMEOUT, |s| {
            Duration::from_secs_f64(s.max(0.0))
        })
    }

    async fn run(&self) -> Result<u8> {
        match &self.args.command {
            DbCommand::Init => self.init().map(|()| 0),
            DbCommand::Revision(a) if a.autogenerate => self.autogenerate_revision(a).await,
            DbCommand::Revision(a) => self.revision(a).map(|_| 0),
            DbCommand::Migrate(a) => self.autogenerate_revision(a).await,
            DbCommand::Upgrade {
                target,
                sql,
                lock_timeout,
            } => {
                let g = self.graph()?;
                if *sql {
                    let text = crate::offline::upgrade_sql(&g, &self.dialect()?, target)?;
                    self.say(text.trim_end());
                    return Ok(0);
                }
                let out = self.out.clone();
                let engine = self.engine()?;
                Runner::new(&engine, &g)
                    .lock_timeout(Self::lock_timeout(*lock_timeout))
                    .on_line(move |l| out(l))
                    .upgrade(target)
                    .await?;
                Ok(0)
            }
            DbCommand::Downgrade {
                target,
                sql,
                lock_timeout,
            } => {
                let g = self.graph()?;
                if *sql {
                    let range = if target.contains(':') {
                        target.clone()
                    } else if target == "-1" {
                        "head:-1".to_string()
                    } else {
                        target.clone()
                    };
                    let text = crate::offline::downgrade_sql(&g, &self.dialect()?, &range)?;
                    self.say(text.trim_end());
                    return Ok(0);
                }
                let out = self.out.clone();
                let engine = self.engine()?;
                Runner::new(&engine, &g)
                    .lock_timeout(Self::lock_timeout(*lock_timeout))
                    .on_line(move |l| out(l))
                    .downgrade(target)
                    .await?;
                Ok(0)
            }
            DbCommand::Current { verbose } => self.current(*verbose).await.map(|()| 0),
            DbCommand::History {
                verbose,
                range,
                indicate_current,
            } => self
                .history(*verbose, range.as_deref(), *indicate_current)
                .await
                .map(|()| 0),
            DbCommand::Heads { verbose } => {
                let g = self.graph()?;
                for h in g.heads() {
                    self.say(self.format(&g, h, Fmt::plain(*verbose), &[]));
                }
                Ok(0)
            }
            DbCommand::Branches { verbose } => self.branches(*verbose).map(|()| 0),
            DbCommand::Show { revision } => {
                let g = self.graph()?;
                let rev = resolve_one(&g, revision)?;
                self.say(self.format(&g, rev, Fmt::plain(true), &[]));
                Ok(0)
            }
            DbCommand::Stamp {
                revision,
                lock_timeout,
            } => {
                let g = self.graph()?;
                let engine = self.engine()?;
                let lines = Runner::new(&engine, &g)
                    .lock_timeout(Self::lock_timeout(*lock_timeout))
                    .stamp(revision)
                    .await?;
                for l in lines {
                    self.say(l);
                }
                Ok(0)
            }
            DbCommand::Merge {
                message,
                rev_id,
                revisions,
            } => self
                .merge(message.as_deref(), rev_id.as_deref(), revisions)
                .map(|_| 0),
            DbCommand::Check => self.check().await,
        }
    }

    fn init(&self) -> Result<()> {
        let dir = self.dir();
        if dir.exists()
            && std::fs::read_dir(&dir)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
        {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "directory {} already exists and is not empty",
                    dir.display()
                ),
            ));
        }
        let io = |what: &Path, e: std::io::Error| {
            Error::new(
                ErrorKind::Script,
                format!("cannot create {}: {e}", what.display()),
            )
        };
        for d in [dir.clone(), dir.join("versions")] {
            self.say(format!("  Creating directory {} ...  done", d.display()));
            std::fs::create_dir_all(&d).map_err(|e| io(&d, e))?;
        }
        let keep = dir.join("versions").join(".gitkeep");
        std::fs::write(&keep, "").map_err(|e| io(&keep, e))?;
        let readme = dir.join("README");
        self.say(format!("  Generating {} ...  done", readme.display()));
        std::fs::write(&readme, README).map_err(|e| io(&readme, e))?;
        let versions = dir.join("versions");
        self.say(format!(
            "  Please compile the scripts into your app: `aludel_migrate::migrations!(\"{}\");` \
             (the path relative to Cargo.toml), and in build.rs \
             `aludel_migrate::build::watch(\"{}\");`",
            versions.display(),
            versions.display()
        ));
        Ok(())
    }

    /// The scripts on disk as a graph (so two `revision`s in a row chain
    /// up before the app is rebuilt).
    fn disk_graph(&self) -> Result<Revisions> {
        let headers = read_scripts(&self.versions())?;
        let revs: Vec<Revision> = headers
            .into_iter()
            .map(|h| {
                let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
                let downs: Vec<&'static str> = h.down_revisions.into_iter().map(leak).collect();
                Revision::new(
                    leak(h.id),
                    Box::leak(downs.into_boxed_slice()),
                    leak(h.message),
                )
                .created(leak(h.create_date))
            })
            .collect();
        Revisions::new(revs)
    }

    fn revision(&self, a: &RevisionArgs) -> Result<PathBuf> {
        let g = self.disk_graph()?;
        let down = Self::down_revisions(&g, a)?;
        self.write_script(
            &g,
            a.rev_id.as_deref(),
            &down,
            a.message.as_deref().unwrap_or(""),
        )
    }

    /// What a new revision revises: the head, or `--head` (a non-head
    /// only with `--splice`), or nothing for `--head base`.
    fn down_revisions(g: &Revisions, a: &RevisionArgs) -> Result<Vec<String>> {
        let heads: Vec<String> = g.heads().iter().map(|r| r.id().to_string()).collect();
        let down: Vec<String> = match a.head.as_deref() {
            Some("base") => Vec::new(),
            None | Some("head") => match &heads[..] {
                [] => Vec::new(),
                [h] => vec![h.clone()],
                _ => {
                    return Err(Error::new(
                        ErrorKind::MultipleHeads,
                        format!(
                            "multiple heads are present ({}); please specify the head revision \
                             on which the new revision should be based (--head), or perform a \
                             merge (`db merge heads`)",
                            heads.join(", ")
                        ),
                    )
                    .with_revisions(heads))
                }
            },
            Some(h) => {
                let rev = g.resolve(h)?.id().to_string();
                if !heads.contains(&rev) && !a.splice {
                    return Err(Error::new(
                        ErrorKind::InvalidTarget,
                        format!(
                            "revision {rev} is not a head revision; please specify --splice to \
                             create a new branch from this revision"
                        ),
                    )
                    .with_revisions([rev]));
                }
                vec![rev]
            }
        };
        Ok(down)
    }

    fn merge(
        &self,
        message: Option<&str>,
        rev_id: Option<&str>,
        revs: &[String],
    ) -> Result<PathBuf> {
        let g = self.disk_graph()?;
        let mut down: Vec<String> = Vec::new();
        for r in revs {
            if r == "heads" {
                down.extend(g.heads().iter().map(|h| h.id().to_string()));
            } else {
                down.push(g.resolve(r)?.id().to_string());
            }
        }
        down.dedup();
        if down.len() < 2 {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "a merge needs two or more revisions; got {}",
                    if down.is_empty() {
                        "none".to_string()
                    } else {
                        down.join(", ")
                    }
                ),
            ));
        }
        self.write_script(&g, rev_id, &down, message.unwrap_or(""))
    }

    fn write_script(
        &self,
        g: &Revisions,
        rev_id: Option<&str>,
        down: &[String],
        message: &str,
    ) -> Result<PathBuf> {
        self.write_script_with(g, rev_id, message, |id| {
            render_script(id, down, message, &now())
        })
    }

    /// Write `versions/<id>_<slug>.rs` with the text `render(id)` gives.
    fn write_script_with(
        &self,
        g: &Revisions,
        rev_id: Option<&str>,
        message: &str,
        render: impl FnOnce(&str) -> String,
    ) -> Result<PathBuf> {
        let id = rev_id.map_or_else(new_revision_id, str::to_string);
        if let Some(why) = crate::revision::invalid_id(&id) {
            return Err(Error::new(
                ErrorKind::InvalidRevisionId,
                format!("invalid revision id '{id}': {why}"),
            ));
        }
        if g.get(&id).is_some() {
            return Err(Error::new(
                ErrorKind::DuplicateRevision,
                format!("revision id '{id}' is already present"),
            )
            .with_revisions([id]));
        }
        let s = slug(message);
        let file = if s.is_empty() {
            format!("{id}_.rs")
        } else {
            format!("{id}_{s}.rs")
        };
        let path = self.versions().join(file);
        let text = render(&id);
        std::fs::write(&path, text).map_err(|e| {
            Error::new(
                ErrorKind::Script,
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
        self.say(format!("  Generating {} ...  done", path.display()));
        Ok(path)
    }

    /// The models autogenerate compares: [`Migrate::metadata`], else
    /// every registered model.
    fn target_metadata(&self) -> Result<MetaData> {
        match &self.app.metadata {
            Some(m) => Ok(m.clone()),
            None => Ok(aludel_orm::registered_metadata()?),
        }
    }

    /// The differences between the models and the database, which must be
    /// at the scripts' heads (`graph`), as Alembic requires.
    async fn differences(&self, g: &Revisions) -> Result<Vec<Difference>> {
        let models = self.target_metadata()?;
        let engine = self.engine()?;
        let mut rows = Runner::new(&engine, &Revisions::new(Vec::<Revision>::new())?)
            .current()
            .await?;
        let mut heads: Vec<String> = g.heads().iter().map(|r| r.id().to_string()).collect();
        rows.sort();
        heads.sort();
        if rows != heads {
            let at = if rows.is_empty() {
                "base (no revision applied)".to_string()
            } else {
                rows.join(", ")
            };
            return Err(Error::new(
                ErrorKind::NotUpToDate,
                format!(
                    "target database is not up to date: it is at {at}, the scripts' head is {}; \
                     run `db upgrade` first (autogenerate compares the models with a database \
                     at head)",
                    if heads.is_empty() {
                        "base".to_string()
                    } else {
                        heads.join(", ")
                    }
                ),
            )
            .with_revisions(rows.into_iter().chain(heads)));
        }
        check(&engine, &models, &self.app.options).await
    }

    /// `migrate` / `revision --autogenerate`: a script of the differences,
    /// or "No changes in schema detected." and no file (exit 0).
    async fn autogenerate_revision(&self, a: &RevisionArgs) -> Result<u8> {
        let g = self.disk_graph()?;
        let down = Self::down_revisions(&g, a)?;
        let found = self.differences(&g).await?;
        for d in &found {
            self.say(format!("Detected {d}"));
        }
        if found.is_empty() {
            self.say("No changes in schema detected.");
            return Ok(0);
        }
        let message = a.message.as_deref().unwrap_or("");
        self.write_script_with(&g, a.rev_id.as_deref(), message, |id| {
            render_revision(id, &down, message, &now(), &found)
        })?;
        Ok(0)
    }

    /// `check`: each difference (destructive ones marked), exit 255 when
    /// there are any; "No new upgrade operations detected." otherwise.
    async fn check(&self) -> Result<u8> {
        let g = match read_scripts(&self.versions()) {
            Ok(_) => self.disk_graph()?,
            Err(_) => self.graph()?,
        };
        let found = self.differences(&g).await?;
        if found.is_empty() {
            self.say("No new upgrade operations detected.");
            return Ok(0);
        }
        for d in &found {
            self.say(format!("Detected {d}"));
        }
        let destructive = found.iter().filter(|d| d.is_destructive()).count();
        self.say(format!(
            "New upgrade operations detected: {} ({destructive} destructive); write them with \
             `db migrate -m \"…\"`",
            found.len()
        ));
        Ok(EXIT_CHECK_FAILED)
    }

    async fn db_rows(&self) -> Result<Vec<String>> {
        let engine = self.engine()?;
        let g = Revisions::new(Vec::<Revision>::new())?;
        Runner::new(&engine, &g).current().await
    }

    async fn current(&self, verbose: bool) -> Result<()> {
        let g = self.graph()?;
        let rows = self.db_rows().await?;
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        g.current_indices(&refs)?;
        for r in &rows {
            let rev = g.resolve(r)?;
            self.say(self.format(&g, rev, Fmt::plain(verbose), &[]));
        }
        Ok(())
    }

    async fn history(&self, verbose: bool, range: Option<&str>, indicate: bool) -> Result<()> {
        let g = self.graph()?;
        let needs_db = indicate || range.is_some_and(|r| r.contains("current"));
        let rows = if needs_db {
            self.db_rows().await?
        } else {
            Vec::new()
        };
        let (start, end) = match range {
            None => ("", ""),
            Some(r) => r.split_once(':').ok_or_else(|| {
                Error::new(
                    ErrorKind::Usage,
                    format!("history range '{r}' must be START:END (either may be empty)"),
                )
            })?,
        };
        let place = |p: &str, default: &str| -> Result<Option<Vec<String>>> {
            let p = if p.is_empty() { default } else { p };
            Ok(match p {
                "base" => None,
                "current" => Some(rows.clone()),
                "heads" | "head" => Some(g.heads().iter().map(|r| r.id().to_string()).collect()),
                _ => Some(vec![g.resolve(p)?.id().to_string()]),
            })
        };
        let end_ids = place(end, "heads")?.unwrap_or_default();
        let end_refs: Vec<&str> = end_ids.iter().map(String::as_str).collect();
        // Everything the end stands on, newest first, in Alembic's order.
        let below_end = g.downgrade_revisions(&end_refs, "base")?;
        let keep: Vec<&Revision> = if let Some(n) = start.strip_prefix('-') {
            let n: usize = n.parse().map_err(|_| {
                Error::new(ErrorKind::Usage, format!("bad relative start '{start}'"))
            })?;
            let one: Vec<&str> = match &end_refs[..] {
                [one] => vec![one],
                _ => {
                    return Err(Error::new(
                        ErrorKind::AmbiguousWalk,
                        format!("'{start}' needs a single END revision"),
                    ))
                }
            };
            g.downgrade_revisions(&one, &format!("-{n}"))?
        } else {
            match place(start, "base")? {
                None => below_end,
                Some(s) => {
                    let s: Vec<usize> = s.iter().filter_map(|id| g.index_of(id)).collect();
                    let above = g.descendants(&s);
                    below_end
                        .into_iter()
                        .filter(|r| g.index_of(r.id()).is_some_and(|i| above.contains(&i)))
                        .collect()
                }
            }
        };
        let current: Vec<&str> = if indicate {
            rows.iter().map(String::as_str).collect()
        } else {
            Vec::new()
        };
        for rev in keep {
            let fmt = if verbose {
                Fmt::plain(true)
            } else {
                Fmt {
                    verbose: false,
                    parents: true,
                }
            };
            let text = self.format(&g, rev, fmt, &current);
            self.say(text);
            if verbose {
                self.say("");
            }
        }
        Ok(())
    }

    fn branches(&self, verbose: bool) -> Result<()> {
        let g = self.graph()?;
        let all: Vec<&str> = g.heads().iter().map(|r| r.id()).collect();
        for rev in g.downgrade_revisions(&all, "base")? {
            let children = g.children(rev.id());
            if children.len() < 2 {
                continue;
            }
            self.say(self.format(&g, rev, Fmt::plain(verbose), &[]));
            let pad = " ".repeat(rev.id().len());
            for c in children {
                let mut line = format!("{pad} -> {}", c.id());
                line.push_str(&indicators(&g, c, &[]));
                if verbose && !c.message().is_empty() {
                    line.push_str(&format!(", {}", c.message()));
                }
                self.say(line);
            }
            self.say("");
        }
        Ok(())
    }

    /// Alembic's `Script.cmd_format` / `log_entry`.
    fn format(&self, g: &Revisions, rev: &Revision, fmt: Fmt, current: &[&str]) -> String {
        let downs = if rev.down_revisions().is_empty() {
            "<base>".to_string()
        } else {
            rev.down_revisions().join(", ")
        };
        if fmt.verbose {
            let mut s = format!("Rev: {}{}\n", rev.id(), indicators(g, rev, current));
            if rev.is_merge() {
                s.push_str(&format!("Merges: {downs}\n"));
            } else {
                s.push_str(&format!("Parent: {downs}\n"));
            }
            let children = g.children(rev.id());
            if children.len() > 1 {
                let ids: Vec<&str> = children.iter().map(|c| c.id()).collect();
                s.push_str(&format!("Branches into: {}\n", ids.join(", ")));
            }
            s.push_str(&format!("Path: {}\n\n", self.path_of(rev)));
            let msg = if rev.message().is_empty() {
                "empty message"
            } else {
                rev.message()
            };
            s.push_str(&format!(
                "    {msg}\n\n    Revision ID: {}\n    Revises: {}\n    Create Date: {}",
                rev.id(),
                rev.down_revisions().join(", "),
                rev.create_date()
            ));
            return s;
        }
        let mut s = if fmt.parents {
            format!("{downs} -> {}", rev.id())
        } else {
            rev.id().to_string()
        };
        s.push_str(&indicators(g, rev, current));
        if fmt.parents && !rev.message().is_empty() {
            s.push_str(", ");
            s.push_str(rev.message());
        }
        s
    }
}

#[derive(Clone, Copy)]
struct Fmt {
    verbose: bool,
    parents: bool,
}

impl Fmt {
    fn plain(verbose: bool) -> Self {
        Fmt {
            verbose,
            parents: false,
        }
    }
}

fn indicators(g: &Revisions, rev: &Revision, current: &[&str]) -> String {
    let mut s = String::new();
    let children = g.children(rev.id());
    if children.is_empty() {
        s.push_str(" (head)");
    }
    if children.len() > 1 {
        s.push_str(" (branchpoint)");
    }
    if rev.is_merge() {
        s.push_str(" (mergepoint)");
    }
    if current.contains(&rev.id()) {
        s.push_str(" (current)");
    }
    s
}

fn resolve_one<'g>(g: &'g Revisions, target: &str) -> Result<&'g Revision> {
    match target {
        "head" => {
            let heads = g.heads();
            match heads[..] {
                [one] => Ok(one),
                _ => {
                    let ids: Vec<&str> = heads.iter().map(|r| r.id()).collect();
                    Err(Error::new(
                        ErrorKind::MultipleHeads,
                        format!("multiple heads are present: {}; name one", ids.join(", ")),
                    ))
                }
            }
        }
        _ => g.resolve(target),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

fn no_database() -> Error {
    Error::new(
        ErrorKind::Usage,
        "no database: pass --url, set DATABASE_URL, or give the app's engine to Migrate::engine",
    )
}

/// Now, UTC, as Alembic writes a create date: `2024-05-01 10:00:00.123456`.
fn now() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

const README: &str = "\
Database migrations, Alembic style, compiled into the app (aludel-migrate).

versions/<rev>_<slug>.rs   one revision script each: REVISION, upgrade(), downgrade()

The app compiles every script of versions/ with
    aludel_migrate::migrations!(\"migrations/versions\");
and its build.rs calls aludel_migrate::build::watch(\"migrations/versions\")
so that a new script rebuilds it. Then:

    db revision -m \"add account table\"   write a new script (edit its upgrade/downgrade)
    db upgrade                           run the scripts up to head
    db downgrade                         revert the last one
    db history                           list them
    db current                           what the database is at
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_looks_like_alembic_create_date() {
        let n = now();
        assert_eq!(n.len(), "2024-05-01 10:00:00.123456".len(), "{n}");
        assert!(n.starts_with("20"), "{n}");
        assert_eq!(&n[4..5], "-");
        assert_eq!(&n[10..11], " ");
    }

    #[test]
    fn arguments_parse_as_alembic_spells_them() {
        let a = parse_args(["downgrade", "-2"]).unwrap();
        assert!(matches!(a.command, DbCommand::Downgrade { ref target, .. } if target == "-2"));
        let a = parse_args(["history", "-r", "-3:current"]).unwrap();
        assert!(
            matches!(a.command, DbCommand::History { ref range, .. } if range.as_deref() == Some("-3:current"))
        );
        let e = parse_args(["merge"]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
    }
}
