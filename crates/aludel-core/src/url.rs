//! Database URLs in SQLAlchemy's grammar:
//! `dialect[+driver]://[user[:password]@][host][:port]/[database][?key=value&...]`.
//!
//! Reserved characters in the username, password, database and query must be
//! percent-encoded, as in SQLAlchemy. Passwords never appear in `Debug`,
//! `Display` or error messages.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{Error, ErrorKind, Result};

const FORM: &str = "dialect[+driver]://[user[:password]@][host][:port]/[database][?key=value&...]";
const SCHEMES: &str = "sqlite, postgresql, postgres, mysql, mariadb (optionally with +driver: \
                       sqlite+rusqlite, postgresql+tokio_postgres, mysql+mysql_async)";
const SQLITE_FORMS: &str = "write sqlite:///relative.db or sqlite:////absolute/path.db";
const ENV_VAR: &str = "DATABASE_URL";
/// Everything but RFC 3986's unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
const PATH: &AsciiSet = &COMPONENT.remove(b'/').remove(b':');

fn err(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Url, message)
}

/// The kind of database a [`Url`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite, through `rusqlite` (schemes `sqlite`, `sqlite+rusqlite`).
    Sqlite,
    /// PostgreSQL, through `tokio-postgres` (schemes `postgresql`, `postgres`).
    Postgres,
    /// MySQL or MariaDB, through `mysql_async` (schemes `mysql`, `mariadb`).
    Mysql,
}

impl Backend {
    /// The canonical dialect name: `"sqlite"`, `"postgresql"` or `"mysql"`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
            Backend::Mysql => "mysql",
        }
    }

    fn driver(self) -> &'static str {
        match self {
            Backend::Sqlite => "rusqlite",
            Backend::Postgres => "tokio_postgres",
            Backend::Mysql => "mysql_async",
        }
    }

    fn options(self) -> &'static str {
        match self {
            Backend::Sqlite => "mode cache uri timeout foreign_keys begin",
            Backend::Postgres => "sslmode connect_timeout application_name options host \
                                  target_session_attrs keepalives keepalives_idle statement_cache_size",
            Backend::Mysql => "charset connect_timeout ssl_mode socket init_command \
                               statement_cache_size local_infile",
        }
    }

    fn check_option(self, key: &str, value: &str) -> Result<()> {
        let opts = || self.options().split(' ');
        if !opts().any(|o| o == key) {
            let mut msg = format!(
                "unknown option \"{key}\" in {} URL; known options: {}",
                self.name(),
                opts().collect::<Vec<_>>().join(", ")
            );
            let best = opts().map(|n| (edit_distance(key, n), n)).min();
            if let Some((_, name)) = best.filter(|(d, _)| *d <= 2) {
                let _ = write!(msg, "; did you mean \"{name}\"?");
            }
            return Err(err(msg));
        }
        let (ok, expected) = match key {
            "connect_timeout" | "keepalives" | "keepalives_idle" | "statement_cache_size" => {
                (value.parse::<u64>().is_ok(), "a non-negative integer")
            }
            "uri" | "foreign_keys" | "local_infile" => (
                ["on", "off", "true", "false", "1", "0"].contains(&&*value.to_ascii_lowercase()),
                "one of on, off, true, false, 1, 0",
            ),
            "begin" => (
                ["deferred", "immediate", "exclusive"].contains(&value),
                "one of deferred, immediate, exclusive",
            ),
            "timeout" => (
                value
                    .parse::<f64>()
                    .is_ok_and(|s| s.is_finite() && s >= 0.0),
                "a non-negative number of seconds",
            ),
            _ => (true, ""),
        };
        if ok {
            return Ok(());
        }
        Err(err(format!(
            "invalid value \"{value}\" for option \"{key}\" in {} URL: expected {expected}",
            self.name()
        )))
    }
}

/// A parsed database URL, in SQLAlchemy's grammar.
///
/// The username, password, database and query values are stored
/// percent-decoded. `Display` and `Debug` show the password as `***`; use
/// [`Url::render_as_string`] to get the real URL back.
///
/// ```
/// use aludel_core::url::{Backend, Url};
///
/// let url: Url = "postgresql://scott:p%40ss@db.example.com:5433/mydb?sslmode=require".parse()?;
/// assert_eq!(url.backend(), Backend::Postgres);
/// assert_eq!(url.username(), Some("scott"));
/// assert_eq!(url.password(), Some("p@ss"));
/// assert_eq!(url.host(), Some("db.example.com"));
/// assert_eq!(url.port(), Some(5433));
/// assert_eq!(url.database(), Some("mydb"));
/// assert_eq!(url.query_value("sslmode"), Some("require"));
/// assert_eq!(
///     url.to_string(),
///     "postgresql://scott:***@db.example.com:5433/mydb?sslmode=require"
/// );
/// assert!(!format!("{url:?}").contains("p@ss"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Url {
    backend: Backend,
    drivername: String,
    username: Option<String>,
    password: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    database: Option<String>,
    query: Vec<(String, String)>,
}

impl Url {
    /// A URL for `backend` with no driver, credentials, host, port, database
    /// or options. For [`Backend::Sqlite`] it names an in-memory database.
    pub fn new(backend: Backend) -> Self {
        Url {
            backend,
            drivername: backend.name().to_owned(),
            username: None,
            password: None,
            host: None,
            port: None,
            database: None,
            query: Vec::new(),
        }
    }

    /// Parses a database URL; the same as `s.parse::<Url>()`.
    ///
    /// # Errors
    ///
    /// An error of kind [`ErrorKind::Url`] when the string does not follow the
    /// grammar, names an unsupported scheme or driver, has a bad port, or has
    /// an unknown or invalid query option. The message never contains the
    /// password.
    pub fn parse(s: &str) -> Result<Url> {
        let s = s.trim();
        let unparsable = || {
            let shown = match s.rfind('@') {
                _ if s.is_empty() => "an empty string".to_owned(),
                Some(at) => format!("\"***{}\"", &s[at..]),
                None => format!("\"{s}\""),
            };
            err(format!(
                "could not parse a database URL from {shown}: expected {FORM}"
            ))
        };
        let (scheme, rest) = s.split_once("://").ok_or_else(unparsable)?;
        let scheme_char = |c: char| c.is_ascii_alphanumeric() || "+-._".contains(c);
        if scheme.is_empty() || !scheme.chars().all(scheme_char) {
            return Err(unparsable());
        }
        let (dialect, driver) = split(scheme, '+');
        let backend = match dialect {
            "sqlite" => Backend::Sqlite,
            "postgresql" | "postgres" => Backend::Postgres,
            "mysql" | "mariadb" => Backend::Mysql,
            _ => {
                return Err(err(format!(
                    "unsupported database URL scheme \"{scheme}\": expected one of {SCHEMES}"
                )))
            }
        };
        if let Some(d) = driver.filter(|d| *d != backend.driver()) {
            let (name, drv) = (backend.name(), backend.driver());
            return Err(err(format!(
                "unsupported driver \"{d}\" for {name}: Aludel supports {name}+{drv}"
            )));
        }

        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = split(rest, '/');
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, pass) = userinfo.map_or((None, None), |u| {
            let (u, p) = split(u, ':');
            (Some(u), p)
        });
        let username = user.map(|u| decode(u, "username")).transpose()?;
        let password = pass.map(|p| decode(p, "password")).transpose()?;
        let (host, port) = match hostport.strip_prefix('[') {
            Some(v6) => match split(v6, ']') {
                (h, Some(t)) if t.is_empty() || t.starts_with(':') => (h, t.strip_prefix(':')),
                _ => {
                    return Err(err(
                        "invalid ipv6 host in database URL: expected [address]:port",
                    ))
                }
            },
            None => split(hostport, ':'),
        };
        let port = port.filter(|p| !p.is_empty()).map(parse_port).transpose()?;
        let host = Some(host.to_owned()).filter(|h| !h.is_empty());
        if backend == Backend::Sqlite {
            if let Some(h) = &host {
                return Err(err(format!(
                    "a sqlite URL takes no host, but it has the host part \"{h}\": {SQLITE_FORMS}"
                )));
            }
            if username.is_some() || password.is_some() || port.is_some() {
                return Err(err(format!(
                    "a sqlite URL takes no username, password or port: {SQLITE_FORMS}"
                )));
            }
        }
        let database = path.map(|p| decode(p, "database")).transpose()?;
        let mut pairs = Vec::new();
        for piece in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = piece.split_once('=').unwrap_or((piece, ""));
            let (k, v) = (decode_form(k)?, decode_form(v)?);
            backend.check_option(&k, &v)?;
            pairs.push((k, v));
        }
        Ok(Url {
            backend,
            drivername: scheme.to_owned(),
            username: username.filter(|u| !u.is_empty()),
            password,
            host,
            port,
            database: database.filter(|d| !d.is_empty()),
            query: pairs,
        })
    }

    /// Parses the URL in the `DATABASE_URL` environment variable.
    ///
    /// # Errors
    ///
    /// An error of kind [`ErrorKind::Url`] naming `DATABASE_URL` when it is
    /// unset or not valid unicode, or any error of [`Url::parse`].
    pub fn from_env() -> Result<Url> {
        from_var(ENV_VAR, None)
    }

    /// Parses the URL in the `DATABASE_URL` environment variable, or `default`
    /// when the variable is unset.
    ///
    /// # Errors
    ///
    /// An error of kind [`ErrorKind::Url`] when `DATABASE_URL` is not valid
    /// unicode, or any error of [`Url::parse`].
    pub fn from_env_or(default: &str) -> Result<Url> {
        from_var(ENV_VAR, Some(default))
    }

    /// The kind of database.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The scheme as written, such as `"postgresql+tokio_postgres"` or `"mariadb"`.
    pub fn drivername(&self) -> &str {
        &self.drivername
    }

    /// The driver after `+` in the scheme, if one was written.
    pub fn driver(&self) -> Option<&str> {
        self.drivername.split_once('+').map(|(_, d)| d)
    }

    /// The username, percent-decoded.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The password, percent-decoded.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The host name or address (an IPv6 address without its brackets).
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The port.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The database name (for SQLite, the file path), percent-decoded.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The query options in the order written, repeated keys included.
    pub fn query(&self) -> &[(String, String)] {
        &self.query
    }

    /// The value of the last query option named `key`.
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True for an in-memory SQLite database: `sqlite://` or `sqlite:///:memory:`.
    pub fn is_memory(&self) -> bool {
        self.backend == Backend::Sqlite && matches!(self.database(), None | Some(":memory:"))
    }

    /// This URL with `username` as its username.
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into()).filter(|u| !u.is_empty());
        self
    }

    /// This URL with `password` as its password.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// This URL with `host` as its host (an IPv6 address without brackets).
    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into()).filter(|h| !h.is_empty());
        self
    }

    /// This URL with `port` as its port.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// This URL with `database` as its database (for SQLite, the file path;
    /// an empty string means none).
    pub fn with_database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into()).filter(|d| !d.is_empty());
        self
    }

    /// The URL as a string, with query keys sorted as SQLAlchemy does. With
    /// `hide_password` the password is `***`; without, it is percent-encoded.
    pub fn render_as_string(&self, hide_password: bool) -> String {
        let mut s = String::new();
        let _ = self.write_to(&mut s, hide_password);
        s
    }

    fn write_to(&self, f: &mut impl fmt::Write, hide_password: bool) -> fmt::Result {
        write!(f, "{}://", self.drivername)?;
        if self.username.is_some() || self.password.is_some() {
            f.write_str(&encode(self.username().unwrap_or(""), COMPONENT))?;
            match &self.password {
                Some(_) if hide_password => f.write_str(":***")?,
                Some(p) => write!(f, ":{}", encode(p, COMPONENT))?,
                None => {}
            }
            f.write_char('@')?;
        }
        match &self.host {
            Some(h) if h.contains(':') => write!(f, "[{h}]")?,
            Some(h) => f.write_str(h)?,
            None => {}
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        if let Some(d) = &self.database {
            write!(f, "/{}", encode(d, PATH))?;
        }
        let mut query: Vec<_> = self.query.iter().collect();
        query.sort_by(|a, b| a.0.cmp(&b.0));
        for (i, (k, v)) in query.into_iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            write!(f, "{sep}{}={}", encode_form(k), encode_form(v))?;
        }
        Ok(())
    }
}

fn from_var(name: &str, default: Option<&str>) -> Result<Url> {
    match (std::env::var(name), default) {
        (Ok(s), _) => Url::parse(&s),
        (Err(std::env::VarError::NotPresent), Some(d)) => Url::parse(d),
        (Err(std::env::VarError::NotPresent), None) => Err(err(format!(
            "environment variable {name} is not set: set it to a database URL such as \
             postgresql://user:password@localhost/mydb"
        ))),
        (Err(std::env::VarError::NotUnicode(_)), _) => Err(err(format!(
            "environment variable {name} is not valid unicode"
        ))),
    }
}

fn split(s: &str, sep: char) -> (&str, Option<&str>) {
    s.split_once(sep).map_or((s, None), |(a, b)| (a, Some(b)))
}

fn parse_port(p: &str) -> Result<u16> {
    p.parse::<u16>()
        .ok()
        .filter(|n| *n > 0 && p.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            err(format!(
                "invalid port \"{p}\" in database URL: expected a number from 1 to 65535"
            ))
        })
}

fn decode(s: &str, part: &str) -> Result<String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| {
            err(format!(
                "the {part} in the database URL is not valid utf-8 once percent-decoded"
            ))
        })
}

fn decode_form(s: &str) -> Result<String> {
    decode(&s.replace('+', " "), "query")
}

fn encode(s: &str, set: &'static AsciiSet) -> String {
    utf8_percent_encode(s, set).to_string()
}

fn encode_form(s: &str) -> String {
    encode(s, COMPONENT).replace("%20", "+")
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

impl FromStr for Url {
    type Err = Error;

    fn from_str(s: &str) -> Result<Url> {
        Url::parse(s)
    }
}

impl fmt::Display for Url {
    /// The URL with the password shown as `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f, true)
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Url")
            .field("drivername", &self.drivername)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("query", &self.query)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn fail(s: &str) -> String {
        let e = Url::parse(s).expect_err(s);
        assert_eq!(e.kind(), ErrorKind::Url);
        let msg = e.to_string();
        assert!(
            !msg.ends_with('.') && !msg.starts_with(char::is_uppercase),
            "{msg}"
        );
        msg
    }

    #[test]
    fn scheme_aliases() {
        for (schemes, backend, name) in [
            ("sqlite sqlite+rusqlite", Backend::Sqlite, "sqlite"),
            (
                "postgresql postgres postgresql+tokio_postgres postgres+tokio_postgres",
                Backend::Postgres,
                "postgresql",
            ),
            (
                "mysql mariadb mysql+mysql_async mariadb+mysql_async",
                Backend::Mysql,
                "mysql",
            ),
        ] {
            for scheme in schemes.split(' ') {
                let u = url(&format!("{scheme}://"));
                assert_eq!((u.backend(), u.backend().name()), (backend, name));
                assert_eq!(u.drivername(), scheme);
                let driver = scheme.contains('+').then(|| backend.driver());
                assert_eq!(u.driver(), driver);
                assert_eq!(u.to_string(), format!("{scheme}://"));
            }
        }
    }

    #[test]
    fn sqlite_forms() {
        let u = url("sqlite://");
        assert!(u.is_memory() && u.database().is_none());
        let u = url("sqlite:///:memory:");
        assert!(u.is_memory() && u.database() == Some(":memory:"));
        let u = url("sqlite:///relative.db");
        assert!(!u.is_memory() && u.database() == Some("relative.db"));
        let u = url("sqlite:////absolute/path.db?timeout=2.5&foreign_keys=ON");
        assert_eq!(u.database(), Some("/absolute/path.db"));
        assert_eq!(
            u.to_string(),
            "sqlite:////absolute/path.db?foreign_keys=ON&timeout=2.5"
        );
        assert!(!url("sqlite:///file::memory:?cache=shared").is_memory());
        assert!(Url::new(Backend::Sqlite).is_memory());
        let msg = fail("sqlite://host/x.db");
        assert!(
            msg.contains("\"host\"") && msg.contains("sqlite:////absolute"),
            "{msg}"
        );
        assert!(fail("sqlite:///x.db?foreign_keys=maybe").contains("\"foreign_keys\""));
        assert!(fail("sqlite:///x.db?timeout=soon").contains("\"soon\""));
    }

    #[test]
    fn full_url_and_percent_decoding() {
        let u = url("postgresql://sc%20ott:p%40ss%3Aw%2Frd@db.example.com:5433/my%2Fdb?application_name=a+b%26c");
        assert_eq!(u.username(), Some("sc ott"));
        assert_eq!(u.password(), Some("p@ss:w/rd"));
        assert_eq!(u.host(), Some("db.example.com"));
        assert_eq!(u.port(), Some(5433));
        assert_eq!(u.database(), Some("my/db"));
        assert_eq!(u.query_value("application_name"), Some("a b&c"));
        assert_eq!(url("mysql://scott:a:b@c@h/db").password(), Some("a:b@c"));
        assert!(fail("postgresql://u:%FF@h/db").contains("password"));
    }

    #[test]
    fn repeated_query_keys() {
        let u = url("postgresql://h/db?sslmode=require&application_name=x&sslmode=verify-full");
        assert_eq!(u.query().len(), 3);
        assert_eq!(u.query()[0], ("sslmode".into(), "require".into()));
        assert_eq!(u.query_value("sslmode"), Some("verify-full"));
        assert_eq!(
            u.to_string(),
            "postgresql://h/db?application_name=x&sslmode=require&sslmode=verify-full"
        );
    }

    #[test]
    fn ipv6() {
        let u = url("postgresql://scott@[::1]:5432/db");
        assert_eq!((u.host(), u.port()), (Some("::1"), Some(5432)));
        assert_eq!(u.to_string(), "postgresql://scott@[::1]:5432/db");
        assert_eq!(url("mysql://[fe80::1]/db").host(), Some("fe80::1"));
        assert!(fail("mysql://[::1/db").contains("ipv6"));
    }

    #[test]
    fn bad_port() {
        let msg = fail("postgresql://scott:tiger@h:54x2/db");
        assert_eq!(
            msg,
            "invalid port \"54x2\" in database URL: expected a number from 1 to 65535"
        );
        fail("postgresql://h:65536/db");
        fail("postgresql://h:+1/db");
        assert_eq!(url("postgresql://h:/db").port(), None);
    }

    #[test]
    fn unknown_scheme_and_driver() {
        let msg = fail("oracle://scott:tiger@h/db");
        assert!(msg.starts_with("unsupported database URL scheme \"oracle\": expected one of sqlite, postgresql, postgres, mysql, mariadb"), "{msg}");
        assert!(msg.contains("postgresql+tokio_postgres"));
        assert_eq!(
            fail("postgresql+psycopg2://h/db"),
            "unsupported driver \"psycopg2\" for postgresql: Aludel supports postgresql+tokio_postgres"
        );
        for s in ["", "  ", "localhost/db", "postgresql:/h/db", "://h/db"] {
            assert!(
                fail(s).starts_with("could not parse a database URL from"),
                "{s}"
            );
        }
        let msg = fail("postgresql:scott:tiger@h/db");
        assert!(!msg.contains("tiger") && msg.contains(FORM), "{msg}");
    }

    #[test]
    fn unknown_and_invalid_options() {
        let msg = fail("postgresql://h/db?sslmod=require");
        assert!(msg
            .starts_with("unknown option \"sslmod\" in postgresql URL; known options: sslmode, "));
        assert!(msg.ends_with("; did you mean \"sslmode\"?"), "{msg}");
        assert!(fail("mysql://h/db?sslmode=x").ends_with("did you mean \"ssl_mode\"?"));
        assert!(!fail("mysql://h/db?zzzzzzzz=1").contains("did you mean"));
        assert_eq!(
            fail("postgresql://h/db?connect_timeout=ten"),
            "invalid value \"ten\" for option \"connect_timeout\" in postgresql URL: expected a non-negative integer"
        );
        url("mysql://h/db?charset=utf8mb4&connect_timeout=5&local_infile=true&statement_cache_size=0");
    }

    #[test]
    fn password_is_masked() {
        let u = url("postgresql://scott:tiger@db.example.com:5433/mydb?sslmode=require");
        assert_eq!(
            u.to_string(),
            "postgresql://scott:***@db.example.com:5433/mydb?sslmode=require"
        );
        let debug = format!("{u:?}");
        assert!(
            !debug.contains("tiger") && debug.contains("password: Some(\"***\")"),
            "{debug}"
        );
        for s in [
            "postgresql://scott:tiger@h:54x2/db",
            "postgresql://scott:tiger@h/db?sslmod=x",
            "postgresql://scott:tiger@h/db?connect_timeout=x",
            "postgresql+psycopg2://scott:tiger@h/db",
            "oracle://scott:tiger@h/db",
            "sqlite://scott:tiger@host/x.db",
            "sqlite://scott:tiger@/x.db",
            "mysql://scott:tiger@[::1/db",
            "postgresql//scott:tiger@h/db",
            "post gres://scott:tiger@h/db",
        ] {
            let e = Url::parse(s).unwrap_err();
            assert!(
                !e.to_string().contains("tiger") && !format!("{e:?}").contains("tiger"),
                "{e}"
            );
        }
    }

    #[test]
    fn round_trip_and_setters() {
        for s in [
            "postgresql+tokio_postgres://sc%40tt:p%40ss%3Aw%2Frd%20x@[::1]:5433/my%3Fdb?options=-c+x%3D1&application_name=a",
            "mysql://:pw@h/db",
            "sqlite:////tmp/a%20b.db?mode=ro&uri=true",
            "mariadb://u@h",
        ] {
            let u = url(s);
            let again = url(&u.render_as_string(false));
            let sorted = |mut u: Url| {
                u.query.sort_by(|a, b| a.0.cmp(&b.0));
                u
            };
            assert_eq!(sorted(again.clone()), sorted(u.clone()), "{s}");
            assert_eq!(again.render_as_string(false), u.render_as_string(false));
        }
        let u = Url::new(Backend::Postgres)
            .with_username("scott")
            .with_password("p@:/?#%&= +é")
            .with_host("localhost")
            .with_port(5432)
            .with_database("app");
        assert_eq!(
            u.render_as_string(false),
            "postgresql://scott:p%40%3A%2F%3F%23%25%26%3D%20%2B%C3%A9@localhost:5432/app"
        );
        assert_eq!(url(&u.render_as_string(false)), u);
    }

    #[test]
    fn env_variable() {
        let name = "ALUDEL_URL_TEST_SURELY_UNSET";
        let e = from_var(name, None).unwrap_err();
        assert!(e.kind() == ErrorKind::Url && e.to_string().contains(name));
        assert!(from_var(name, Some("sqlite://")).unwrap().is_memory());
    }
}
