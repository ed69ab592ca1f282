//! The migration error: a kind to match on, the revisions involved, and the
//! database error underneath when there is one.

use std::fmt;

/// A specialised `Result` for migration operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in a form a caller can `match` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A revision id is empty, longer than the version column's 32
    /// characters, uses characters other than ASCII letters, digits and
    /// `_`, or is one of the reserved words (`head`, `heads`, `base`,
    /// `current`).
    InvalidRevisionId,
    /// Two revisions carry one id.
    DuplicateRevision,
    /// A `down_revision` names a revision that is not in the set.
    MissingDownRevision,
    /// Following `down_revision`s leads back to where it started.
    Cycle,
    /// A target or a row of the version table names no known revision.
    UnknownRevision,
    /// A partial revision id matches several revisions.
    AmbiguousRevision,
    /// `head` was asked for while the graph has several heads.
    MultipleHeads,
    /// A relative target (`+N`, `-N`) crosses a branch point or a merge,
    /// or starts from several heads.
    AmbiguousWalk,
    /// A relative target walks past the first or the last revision.
    RelativeOutOfRange,
    /// The target cannot be reached in the asked direction (a downgrade to
    /// a revision that is not below the current one, `+N` in a downgrade).
    InvalidTarget,
    /// The version table did not hold what the step expected (an UPDATE or
    /// DELETE matched a number of rows other than one).
    VersionTable,
    /// A revision stopped halfway on a backend without transactional DDL
    /// (MySQL, MariaDB) and the command asked for something else than
    /// finishing it.
    Incomplete,
    /// A revision's `upgrade` or `downgrade` body returned an error while
    /// its ops were being collected (nothing ran).
    Plan,
    /// The database reported an error (while running an op, or reading or
    /// writing the version table).
    Database,
    /// A revision script on disk or in the compiled registry is wrong: its
    /// file name does not start with its revision id, it cannot be read,
    /// or `db revision` / `db merge` cannot write one.
    Script,
    /// The migration lock was not acquired within the timeout; the message
    /// names who holds it.
    LockTimeout,
    /// An op cannot be rendered as SQL without a database (offline mode,
    /// `--sql`): a data migration with a connection, say.
    Offline,
    /// A command-line usage error (`db` CLI): bad arguments, a directory
    /// that exists already, no database given.
    Usage,
    /// Autogenerate (`db migrate`, `db check`) was asked to compare the
    /// models with a database that is not at the scripts' head: the
    /// message names both and says to run `db upgrade` first (Alembic's
    /// "Target database is not up to date").
    NotUpToDate,
}

/// The error of every fallible migration operation.
///
/// Messages are lowercase, name the revisions involved (also given by
/// [`revisions`](Error::revisions)) and say what to do. A database error
/// underneath is kept whole: [`database_error`](Error::database_error)
/// returns it, with its SQL.
///
/// ```
/// use aludel_migrate::{ErrorKind, Revision, Revisions};
/// const A: Revision = Revision::new("aaaaaaaaaaaa", &["ffffffffffff"], "first");
/// let err = Revisions::new([A]).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::MissingDownRevision);
/// assert_eq!(err.revisions(), ["aaaaaaaaaaaa", "ffffffffffff"]);
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    revisions: Vec<String>,
    ops_done: Option<usize>,
    source: Option<aludel_core::Error>,
}

impl Error {
    /// An error of `kind` with a message (lowercase, no final period).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                revisions: Vec::new(),
                ops_done: None,
                source: None,
            }),
        }
    }

    pub(crate) fn with_revisions<I, S>(mut self, revisions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.inner.revisions = revisions.into_iter().map(Into::into).collect();
        self
    }

    pub(crate) fn with_ops_done(mut self, n: usize) -> Self {
        self.inner.ops_done = Some(n);
        self
    }

    pub(crate) fn with_source(mut self, source: aludel_core::Error) -> Self {
        self.inner.source = Some(source);
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The message, without the database error underneath.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The revision ids the error is about, in the order the message names
    /// them.
    pub fn revisions(&self) -> &[String] {
        &self.inner.revisions
    }

    /// For a revision that failed halfway: how many of its ops had run
    /// (and, on MySQL/MariaDB, stay committed) before the failing one.
    pub fn ops_done(&self) -> Option<usize> {
        self.inner.ops_done
    }

    /// The database's error, when one caused this error.
    pub fn database_error(&self) -> Option<&aludel_core::Error> {
        self.inner.source.as_ref()
    }
}

impl From<aludel_core::Error> for Error {
    fn from(e: aludel_core::Error) -> Self {
        Error::new(ErrorKind::Database, e.message().to_string()).with_source(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(sql) = self.inner.source.as_ref().and_then(|e| e.sql()) {
            write!(f, "\n[SQL: {sql}]")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("revisions", &self.inner.revisions);
        if let Some(n) = self.inner.ops_done {
            d.field("ops_done", &n);
        }
        if let Some(s) = &self.inner.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A migration error as Aludel's one error type (DESIGN.md: one error
/// type), of kind [`Migration`](aludel_core::ErrorKind::Migration), with
/// the same message. The migration error stays whole underneath: get it
/// back with [`Error::from_core`] (or `source()` and a downcast) for its
/// revisions, the ops done, and the database error with its SQL.
///
/// ```
/// use aludel_migrate::{Revision, Revisions};
/// const A: Revision = Revision::new("aaaaaaaaaaaa", &["ffffffffffff"], "first");
/// fn load() -> aludel_core::Result<Revisions> {
///     Ok(Revisions::new([A])?) // `?` converts
/// }
/// let err = load().unwrap_err();
/// assert_eq!(err.kind(), aludel_core::ErrorKind::Migration);
/// let migration = aludel_migrate::Error::from_core(&err).unwrap();
/// assert_eq!(migration.revisions(), ["aaaaaaaaaaaa", "ffffffffffff"]);
/// ```
impl From<Error> for aludel_core::Error {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        let mut out = aludel_core::Error::new(aludel_core::ErrorKind::Migration, message);
        if let Some(db) = e.database_error() {
            out = out
                .with_table(db.table().map(str::to_string))
                .with_column(db.column().map(str::to_string));
        }
        out.with_source(e)
    }
}

impl Error {
    /// The migration error inside an Aludel error converted from one (see
    /// the `From` impl), if `err` is such an error.
    pub fn from_core(err: &aludel_core::Error) -> Option<&Error> {
        std::error::Error::source(err).and_then(|s| s.downcast_ref::<Error>())
    }
}
