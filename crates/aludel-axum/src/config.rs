//! Configuration: [`DbConfig`] from environment variables or any serde
//! source (a TOML/JSON/YAML file, figment, config-rs), turned into engines
//! by [`Db::from_config`](crate::Db::from_config).

use std::collections::BTreeMap;
use std::time::Duration;

use aludel_core::{Engine, EngineBuilder, Error, ErrorKind, Result};
use serde::Deserialize;

/// One engine's settings: its URL and SQLAlchemy's `create_engine`
/// options. Options left `None` keep the engine defaults (pool_size 5,
/// max_overflow 10, pool_timeout 30 s, no recycling, no pre-ping, echo off).
///
/// Deserializes from a map, or from a bare URL string (as a
/// Flask-SQLAlchemy `SQLALCHEMY_BINDS` entry may be):
///
/// ```
/// use aludel_axum::EngineConfig;
/// let full: EngineConfig = serde_json::from_str(r#"{"url": "sqlite://", "pool_size": 2}"#)?;
/// let short: EngineConfig = serde_json::from_str(r#""sqlite://""#)?;
/// assert_eq!((full.url.as_str(), full.pool_size), ("sqlite://", Some(2)));
/// assert_eq!(short.url, "sqlite://");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Deserialize)]
#[serde(from = "EngineConfigRepr")]
#[non_exhaustive]
pub struct EngineConfig {
    /// The database URL as SQLAlchemy writes it (`postgresql://…`,
    /// `mysql://…`, `sqlite:///app.db`).
    pub url: String,
    /// Connections kept open in the pool.
    pub pool_size: Option<usize>,
    /// Connections allowed beyond `pool_size` under load.
    pub max_overflow: Option<usize>,
    /// Seconds a checkout waits for a free connection.
    pub pool_timeout: Option<f64>,
    /// Seconds after which a pooled connection is replaced at checkout.
    pub pool_recycle: Option<f64>,
    /// Ping each connection at checkout.
    pub pool_pre_ping: Option<bool>,
    /// Log every statement at INFO (SQLAlchemy's `echo=True`).
    pub echo: Option<bool>,
    /// Seconds opening a connection may take.
    pub connect_timeout: Option<f64>,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: show it as the Url type does (masked).
        let url = match self.url.parse::<aludel_core::Url>() {
            Ok(u) => u.to_string(),
            Err(_) => "<unparsable url>".to_string(),
        };
        f.debug_struct("EngineConfig")
            .field("url", &url)
            .field("pool_size", &self.pool_size)
            .field("max_overflow", &self.max_overflow)
            .field("pool_timeout", &self.pool_timeout)
            .field("pool_recycle", &self.pool_recycle)
            .field("pool_pre_ping", &self.pool_pre_ping)
            .field("echo", &self.echo)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EngineConfigRepr {
    Url(String),
    Full {
        url: String,
        #[serde(default)]
        pool_size: Option<usize>,
        #[serde(default)]
        max_overflow: Option<usize>,
        #[serde(default)]
        pool_timeout: Option<f64>,
        #[serde(default)]
        pool_recycle: Option<f64>,
        #[serde(default)]
        pool_pre_ping: Option<bool>,
        #[serde(default)]
        echo: Option<bool>,
        #[serde(default)]
        connect_timeout: Option<f64>,
    },
}

impl From<EngineConfigRepr> for EngineConfig {
    fn from(r: EngineConfigRepr) -> Self {
        match r {
            EngineConfigRepr::Url(url) => EngineConfig::new(url),
            EngineConfigRepr::Full {
                url,
                pool_size,
                max_overflow,
                pool_timeout,
                pool_recycle,
                pool_pre_ping,
                echo,
                connect_timeout,
            } => EngineConfig {
                url,
                pool_size,
                max_overflow,
                pool_timeout,
                pool_recycle,
                pool_pre_ping,
                echo,
                connect_timeout,
            },
        }
    }
}

impl EngineConfig {
    /// Settings for `url` with every option at the engine's default.
    pub fn new(url: impl Into<String>) -> Self {
        EngineConfig {
            url: url.into(),
            ..EngineConfig::default()
        }
    }

    /// Set [`pool_size`](EngineConfig::pool_size).
    pub fn pool_size(mut self, n: usize) -> Self {
        self.pool_size = Some(n);
        self
    }

    /// Set [`max_overflow`](EngineConfig::max_overflow).
    pub fn max_overflow(mut self, n: usize) -> Self {
        self.max_overflow = Some(n);
        self
    }

    /// Set [`pool_timeout`](EngineConfig::pool_timeout).
    pub fn pool_timeout(mut self, timeout: Duration) -> Self {
        self.pool_timeout = Some(timeout.as_secs_f64());
        self
    }

    /// Set [`echo`](EngineConfig::echo).
    pub fn echo(mut self, on: bool) -> Self {
        self.echo = Some(on);
        self
    }

    /// An [`EngineBuilder`] with these settings, for options this struct
    /// does not carry (isolation level, cache sizes).
    ///
    /// # Errors
    /// [`ErrorKind::Url`] when the URL does not parse; [`ErrorKind::Config`]
    /// for a negative or non-finite number of seconds.
    pub fn builder(&self) -> Result<EngineBuilder> {
        let mut b = Engine::builder(&self.url)?;
        if let Some(n) = self.pool_size {
            b = b.pool_size(n);
        }
        if let Some(n) = self.max_overflow {
            b = b.max_overflow(n);
        }
        if let Some(s) = self.pool_timeout {
            b = b.pool_timeout(seconds("pool_timeout", s)?);
        }
        if let Some(s) = self.pool_recycle {
            b = b.pool_recycle(seconds("pool_recycle", s)?);
        }
        if let Some(on) = self.pool_pre_ping {
            b = b.pool_pre_ping(on);
        }
        if let Some(on) = self.echo {
            b = b.echo(on);
        }
        if let Some(s) = self.connect_timeout {
            b = b.connect_timeout(seconds("connect_timeout", s)?);
        }
        Ok(b)
    }

    /// Build the engine (no connection is opened yet).
    ///
    /// # Errors
    /// As [`builder`](EngineConfig::builder), and [`EngineBuilder::build`]'s.
    pub fn build(&self) -> Result<Engine> {
        self.builder()?.build()
    }
}

fn seconds(name: &str, s: f64) -> Result<Duration> {
    Duration::try_from_secs_f64(s).map_err(|_| {
        Error::new(
            ErrorKind::Config,
            format!("invalid {name} {s}: expected a number of seconds, 0 or more"),
        )
    })
}

/// The database configuration of an app (Flask-SQLAlchemy's
/// `SQLALCHEMY_DATABASE_URI`, `SQLALCHEMY_ENGINE_OPTIONS`, `SQLALCHEMY_ECHO`
/// and `SQLALCHEMY_BINDS`): the default engine's settings, flattened, plus
/// named binds.
///
/// Read it with serde from the app's own config file:
///
/// ```
/// use aludel_axum::DbConfig;
/// let config: DbConfig = serde_json::from_str(r#"{
///     "url": "postgresql://app@db.internal/app",
///     "pool_size": 10,
///     "echo": false,
///     "binds": {
///         "replica": {"url": "postgresql://app@replica.internal/app", "pool_size": 20},
///         "audit": "sqlite:///audit.db"
///     }
/// }"#)?;
/// assert_eq!(config.engine.pool_size, Some(10));
/// assert_eq!(config.binds["replica"].pool_size, Some(20));
/// assert_eq!(config.binds["audit"].url, "sqlite:///audit.db");
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// or from the environment with [`DbConfig::from_env`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct DbConfig {
    /// The default engine's URL and options.
    #[serde(flatten)]
    pub engine: EngineConfig,
    /// Named engines (binds): a read replica, another database. Each has
    /// its own options; the default engine's pool options are not copied
    /// (as in Flask-SQLAlchemy), but a top-level `echo` applies to every
    /// bind that does not set its own.
    #[serde(default)]
    pub binds: BTreeMap<String, EngineConfig>,
}

/// The environment variables [`DbConfig::from_env`] reads.
///
/// | variable | meaning |
/// | --- | --- |
/// | `DATABASE_URL` | the default engine's URL (required) |
/// | `DATABASE_POOL_SIZE` | connections kept open |
/// | `DATABASE_MAX_OVERFLOW` | connections beyond the pool size |
/// | `DATABASE_POOL_TIMEOUT` | seconds a checkout waits |
/// | `DATABASE_POOL_RECYCLE` | seconds before a connection is replaced |
/// | `DATABASE_POOL_PRE_PING` | ping at checkout (`1`/`0`, `true`/`false`, `yes`/`no`, `on`/`off`) |
/// | `DATABASE_ECHO` | log every statement at INFO, on every engine |
/// | `DATABASE_CONNECT_TIMEOUT` | seconds a connect may take |
/// | `DATABASE_URL_<NAME>` | the URL of bind `<name>` (lowercased: `DATABASE_URL_REPLICA` is `replica`) |
pub const ENV_VARS: &[&str] = &[
    "DATABASE_URL",
    "DATABASE_POOL_SIZE",
    "DATABASE_MAX_OVERFLOW",
    "DATABASE_POOL_TIMEOUT",
    "DATABASE_POOL_RECYCLE",
    "DATABASE_POOL_PRE_PING",
    "DATABASE_ECHO",
    "DATABASE_CONNECT_TIMEOUT",
    "DATABASE_URL_<NAME>",
];

impl DbConfig {
    /// A configuration with only the default engine's URL.
    pub fn new(url: impl Into<String>) -> Self {
        DbConfig {
            engine: EngineConfig::new(url),
            binds: BTreeMap::new(),
        }
    }

    /// Add a named bind.
    pub fn bind(mut self, name: impl Into<String>, engine: EngineConfig) -> Self {
        self.binds.insert(name.into(), engine);
        self
    }

    /// Set the default engine's `pool_size`.
    pub fn pool_size(mut self, n: usize) -> Self {
        self.engine.pool_size = Some(n);
        self
    }

    /// Set the default engine's `max_overflow`.
    pub fn max_overflow(mut self, n: usize) -> Self {
        self.engine.max_overflow = Some(n);
        self
    }

    /// Set the default engine's `pool_timeout`.
    pub fn pool_timeout(mut self, timeout: Duration) -> Self {
        self.engine.pool_timeout = Some(timeout.as_secs_f64());
        self
    }

    /// Set `echo` (for every engine that does not set its own).
    pub fn echo(mut self, on: bool) -> Self {
        self.engine.echo = Some(on);
        self
    }

    /// Read the configuration from the process environment (see
    /// [`ENV_VARS`]).
    ///
    /// # Errors
    /// [`ErrorKind::Config`] naming the variable: `DATABASE_URL` missing, or
    /// a value that is not a number or a boolean.
    pub fn from_env() -> Result<DbConfig> {
        DbConfig::from_vars(std::env::vars())
    }

    /// [`from_env`](DbConfig::from_env) over any list of variables (tests,
    /// or an app that reads a `.env` file itself).
    ///
    /// ```
    /// use aludel_axum::DbConfig;
    /// let config = DbConfig::from_vars([
    ///     ("DATABASE_URL", "sqlite:///app.db"),
    ///     ("DATABASE_POOL_SIZE", "3"),
    ///     ("DATABASE_ECHO", "true"),
    ///     ("DATABASE_URL_REPLICA", "sqlite:///replica.db"),
    /// ])?;
    /// assert_eq!(config.engine.pool_size, Some(3));
    /// assert_eq!(config.engine.echo, Some(true));
    /// assert_eq!(config.binds["replica"].url, "sqlite:///replica.db");
    ///
    /// let err = DbConfig::from_vars([("DATABASE_URL", "sqlite://"), ("DATABASE_POOL_SIZE", "ten")])
    ///     .unwrap_err();
    /// assert_eq!(err.to_string(), r#"invalid DATABASE_POOL_SIZE "ten": expected a whole number"#);
    /// # Ok::<(), aludel_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`from_env`](DbConfig::from_env).
    pub fn from_vars<I, K, V>(vars: I) -> Result<DbConfig>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut url = None;
        let mut engine = EngineConfig::default();
        let mut binds = BTreeMap::new();
        for (k, v) in vars {
            let (k, v) = (k.as_ref(), v.as_ref().trim());
            match k {
                "DATABASE_URL" => url = Some(v.to_string()),
                "DATABASE_POOL_SIZE" => engine.pool_size = Some(whole(k, v)?),
                "DATABASE_MAX_OVERFLOW" => engine.max_overflow = Some(whole(k, v)?),
                "DATABASE_POOL_TIMEOUT" => engine.pool_timeout = Some(secs(k, v)?),
                "DATABASE_POOL_RECYCLE" => engine.pool_recycle = Some(secs(k, v)?),
                "DATABASE_POOL_PRE_PING" => engine.pool_pre_ping = Some(boolean(k, v)?),
                "DATABASE_ECHO" => engine.echo = Some(boolean(k, v)?),
                "DATABASE_CONNECT_TIMEOUT" => engine.connect_timeout = Some(secs(k, v)?),
                _ => {
                    if let Some(name) = k.strip_prefix("DATABASE_URL_") {
                        if !name.is_empty() {
                            binds.insert(name.to_ascii_lowercase(), EngineConfig::new(v));
                        }
                    }
                }
            }
        }
        engine.url = url.filter(|u| !u.is_empty()).ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                "DATABASE_URL is not set: give the database URL, e.g. DATABASE_URL=sqlite:///app.db",
            )
        })?;
        Ok(DbConfig { engine, binds })
    }

    /// The settings of bind `name`, with the top-level `echo` applied when
    /// the bind does not set its own.
    pub(crate) fn bind_config(&self, name: &str) -> Option<EngineConfig> {
        let mut c = self.binds.get(name)?.clone();
        if c.echo.is_none() {
            c.echo = self.engine.echo;
        }
        Some(c)
    }
}

fn whole(var: &str, v: &str) -> Result<usize> {
    v.parse().map_err(|_| {
        Error::new(
            ErrorKind::Config,
            format!("invalid {var} {v:?}: expected a whole number"),
        )
    })
}

fn secs(var: &str, v: &str) -> Result<f64> {
    match v.parse::<f64>() {
        Ok(s) if s.is_finite() && s >= 0.0 => Ok(s),
        _ => Err(Error::new(
            ErrorKind::Config,
            format!("invalid {var} {v:?}: expected a number of seconds"),
        )),
    }
}

fn boolean(var: &str, v: &str) -> Result<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(Error::new(
            ErrorKind::Config,
            format!("invalid {var} {v:?}: expected true or false (1/0, yes/no, on/off)"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_url_is_an_error_naming_the_variable() {
        let err = DbConfig::from_vars([("DATABASE_ECHO", "1")]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().starts_with("DATABASE_URL is not set"));
    }

    #[test]
    fn every_variable_is_read() {
        let c = DbConfig::from_vars([
            ("DATABASE_URL", "sqlite://"),
            ("DATABASE_POOL_SIZE", "7"),
            ("DATABASE_MAX_OVERFLOW", "0"),
            ("DATABASE_POOL_TIMEOUT", "2.5"),
            ("DATABASE_POOL_RECYCLE", "3600"),
            ("DATABASE_POOL_PRE_PING", "yes"),
            ("DATABASE_ECHO", "off"),
            ("DATABASE_CONNECT_TIMEOUT", "4"),
            ("DATABASE_URL_REPLICA", "sqlite://"),
            ("UNRELATED", "x"),
        ])
        .unwrap();
        let e = &c.engine;
        assert_eq!(
            (e.pool_size, e.max_overflow, e.pool_timeout, e.pool_recycle),
            (Some(7), Some(0), Some(2.5), Some(3600.0))
        );
        assert_eq!(
            (e.pool_pre_ping, e.echo, e.connect_timeout),
            (Some(true), Some(false), Some(4.0))
        );
        assert_eq!(c.binds.keys().collect::<Vec<_>>(), ["replica"]);
        assert!(DbConfig::from_vars([("DATABASE_URL", "x"), ("DATABASE_ECHO", "maybe")]).is_err());
        assert!(
            DbConfig::from_vars([("DATABASE_URL", "x"), ("DATABASE_POOL_TIMEOUT", "-1")]).is_err()
        );
    }

    #[test]
    fn debug_masks_the_password() {
        let c = DbConfig::new("postgresql://scott:tiger@localhost/app");
        let shown = format!("{c:?}");
        assert!(!shown.contains("tiger"), "{shown}");
    }

    #[test]
    fn echo_applies_to_binds_without_their_own() {
        let c = DbConfig::new("sqlite://")
            .echo(true)
            .bind("a", EngineConfig::new("sqlite://"))
            .bind("b", EngineConfig::new("sqlite://").echo(false));
        assert_eq!(c.bind_config("a").unwrap().echo, Some(true));
        assert_eq!(c.bind_config("b").unwrap().echo, Some(false));
    }
}
