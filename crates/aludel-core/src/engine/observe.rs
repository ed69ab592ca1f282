//! Tracing for statements: a span per statement with OpenTelemetry's stable
//! database attribute names, and SQLAlchemy's `echo` as an INFO event.

use std::time::Instant;

use tracing::field::Empty;
use tracing::Span;

use super::EngineInner;
use crate::error::Error;

/// The span of one statement. Field values are only computed when a
/// subscriber wants the span.
pub(crate) fn span(engine: &EngineInner, sql: &str) -> Span {
    let span = tracing::info_span!(
        target: "aludel::engine",
        "db.query",
        otel.name = Empty,
        otel.kind = "client",
        db.system.name = engine.system_name(),
        db.namespace = engine.namespace.as_deref(),
        db.operation.name = Empty,
        db.collection.name = Empty,
        db.query.text = sql,
        server.address = engine.server.as_ref().map(|s| s.0.as_str()),
        server.port = engine.server.as_ref().map(|s| s.1),
        "error.type" = Empty,
    );
    if !span.is_disabled() {
        let (op, table) = summarize(sql);
        span.record("db.operation.name", op);
        if let Some(t) = table {
            span.record("otel.name", format!("{op} {t}"));
            span.record("db.collection.name", t);
        } else {
            span.record("otel.name", op);
        }
    }
    span
}

/// Record the outcome: `echo` logs the SQL and duration at INFO (DEBUG
/// otherwise); an error sets `error.type`.
pub(crate) fn finish(
    engine: &EngineInner,
    span: &Span,
    sql: &str,
    start: Instant,
    err: Option<&Error>,
) {
    let micros = start.elapsed().as_micros() as u64;
    if let Some(e) = err {
        span.record("error.type", format!("{:?}", e.kind()));
    }
    if engine.echo {
        tracing::info!(target: "aludel::engine", parent: span, duration_us = micros, "{sql}");
    } else {
        tracing::debug!(target: "aludel::engine", parent: span, duration_us = micros, "{sql}");
    }
}

/// The operation keyword and, where easy to see, the table of a statement.
pub(crate) fn summarize(sql: &str) -> (&'static str, Option<String>) {
    let mut words = sql.split_ascii_whitespace();
    let first = words.next().unwrap_or("").to_ascii_uppercase();
    let op = match first.as_str() {
        "SELECT" => "SELECT",
        "INSERT" => "INSERT",
        "UPDATE" => "UPDATE",
        "DELETE" => "DELETE",
        "WITH" => "WITH",
        "CREATE" => "CREATE",
        "DROP" => "DROP",
        "ALTER" => "ALTER",
        "BEGIN" | "START" => "BEGIN",
        "COMMIT" => "COMMIT",
        "ROLLBACK" => "ROLLBACK",
        "SAVEPOINT" => "SAVEPOINT",
        "RELEASE" => "RELEASE",
        _ => "OTHER",
    };
    let after = match op {
        "SELECT" | "DELETE" => "FROM",
        "INSERT" => "INTO",
        "UPDATE" => return (op, words.next().map(clean)),
        _ => return (op, None),
    };
    let table = words
        .skip_while(|w| !w.eq_ignore_ascii_case(after))
        .nth(1)
        .filter(|w| !w.starts_with('('))
        .map(clean);
    (op, table)
}

fn clean(word: &str) -> String {
    word.trim_matches(|c: char| matches!(c, '"' | '`' | '(' | ')' | ',' | ';'))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::summarize;

    #[test]
    fn operation_and_table() {
        assert_eq!(
            summarize("SELECT a FROM \"users\" WHERE x"),
            ("SELECT", Some("users".into()))
        );
        assert_eq!(
            summarize("insert into t (a) values (1)"),
            ("INSERT", Some("t".into()))
        );
        assert_eq!(
            summarize("UPDATE `t` SET a = 1"),
            ("UPDATE", Some("t".into()))
        );
        assert_eq!(summarize("SELECT 1"), ("SELECT", None));
        assert_eq!(summarize("BEGIN"), ("BEGIN", None));
    }
}
