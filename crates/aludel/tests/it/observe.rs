//! `echo` and tracing: each statement is an event with its SQL and
//! duration, in a span with OpenTelemetry's database attribute names;
//! parameters only at TRACE; the password never.

use std::cell::RefCell;
use std::io::Write;
use std::sync::Once;

use aludel::{params, text};
use tracing_subscriber::filter::dynamic_filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::harness::{Kind, TestDb};

thread_local! {
    /// What this thread's statements are logged into, and at which level.
    static CAPTURE: RefCell<Option<(Vec<u8>, tracing::Level)>> = const { RefCell::new(None) };
}

/// Writes into the current thread's capture buffer, if any.
struct ThreadWriter;

impl Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| {
            if let Some((out, _)) = c.borrow_mut().as_mut() {
                out.extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One global subscriber for the test binary, filtering per thread: tracing
/// caches callsite interest process-wide, so a thread-local subscriber can
/// miss spans that another test's thread registered first.
fn install_subscriber() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = dynamic_filter_fn(|meta, _| {
            CAPTURE.with(|c| {
                c.borrow()
                    .as_ref()
                    .is_some_and(|(_, level)| meta.level() <= level)
            })
        });
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(|| ThreadWriter)
            .with_ansi(false)
            .with_filter(filter);
        tracing_subscriber::registry().with(layer).init();
    });
}

/// Start capturing this thread's tracing output at `level`.
pub(crate) fn start_capture(level: tracing::Level) {
    install_subscriber();
    CAPTURE.with(|c| *c.borrow_mut() = Some((Vec::new(), level)));
}

/// Stop capturing; what was logged since [`start_capture`].
pub(crate) fn take_capture() -> String {
    let out = CAPTURE
        .with(|c| c.borrow_mut().take())
        .map(|(out, _)| out)
        .unwrap_or_default();
    String::from_utf8(out).expect("utf-8 log")
}

const SECRET: &str = "s3cr3t-pw";

/// Run statements with `echo` on under a subscriber at `level`; return the log.
async fn capture(db: &TestDb, level: tracing::Level) -> aludel::Result<String> {
    let url: aludel::Url = db.url.parse()?;
    // PostgreSQL trusts local users and MariaDB's root has no password, so a
    // password can only be tried on PostgreSQL, where it is ignored.
    let url = match db.kind {
        Kind::Postgres => url.with_password(SECRET),
        _ => url,
    };
    let engine = aludel::Engine::builder(&url.render_as_string(false))?
        .echo(true)
        .build()?;
    install_subscriber();
    CAPTURE.with(|c| *c.borrow_mut() = Some((Vec::new(), level)));
    let mut conn = engine.connect().await?;
    conn.execute(text("CREATE TABLE echoed (name VARCHAR(20))"), ())
        .await?;
    conn.execute(
        text("INSERT INTO echoed (name) VALUES (:name)"),
        params! { "name": "param-value-42" },
    )
    .await?;
    conn.commit().await?;
    let err = conn.execute(text("SELECT * FROM missing_table"), ()).await;
    assert!(err.is_err());
    conn.rollback().await?;
    conn.execute(text("DROP TABLE echoed"), ()).await?;
    conn.commit().await?;
    drop(conn);
    let out = CAPTURE
        .with(|c| c.borrow_mut().take())
        .map(|(out, _)| out)
        .unwrap_or_default();
    Ok(String::from_utf8(out).expect("utf-8 log"))
}

async fn echo_logs_statements(db: TestDb) -> aludel::Result<()> {
    let log = capture(&db, tracing::Level::INFO).await?;
    assert!(log.contains("INSERT INTO echoed (name) VALUES ("), "{log}");
    assert!(log.contains("duration_us="), "{log}");
    assert!(log.contains("COMMIT"), "{log}");
    let system = match db.kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgresql",
        Kind::Mysql => "mariadb",
    };
    for attr in [
        format!("db.system.name=\"{system}\""),
        "db.operation.name=\"INSERT\"".to_string(),
        "db.collection.name=\"echoed\"".to_string(),
        "db.query.text=".to_string(),
        "error.type=\"Syntax\"".to_string(),
    ] {
        assert!(log.contains(&attr), "{attr} missing from {log}");
    }
    if db.kind != Kind::Sqlite {
        assert!(log.contains("server.address=\"127.0.0.1\""), "{log}");
        assert!(log.contains("db.namespace="), "{log}");
    }
    assert!(
        !log.contains("param-value-42"),
        "parameters must not appear below TRACE: {log}"
    );
    assert!(!log.contains(SECRET));
    let log = capture(&db, tracing::Level::TRACE).await?;
    assert!(
        log.contains("param-value-42"),
        "parameters appear at TRACE: {log}"
    );
    assert!(!log.contains(SECRET), "the password never appears: {log}");
    Ok(())
}

mod echo_logs_statements {
    use crate::harness::{run, Kind};

    // A thread-local subscriber needs a single-threaded runtime.
    #[tokio::test(flavor = "current_thread")]
    async fn sqlite() {
        run(Kind::Sqlite, module_path!(), super::echo_logs_statements).await
    }
    #[tokio::test(flavor = "current_thread")]
    async fn postgres() {
        run(Kind::Postgres, module_path!(), super::echo_logs_statements).await
    }
    #[tokio::test(flavor = "current_thread")]
    async fn mysql() {
        run(Kind::Mysql, module_path!(), super::echo_logs_statements).await
    }
}
