//! Errors: one [`ErrorKind`] per failure on every backend, with what each
//! server really reports (constraint, table, column, code), the SQL attached,
//! nothing sent for a bind error, no password in any message, and the engine
//! healthy afterwards.

use std::time::Duration;

use aludel::{params, text, Engine, Error, ErrorKind, IntegrityKind, Url, Value};

use crate::harness::{settle, Kind, TestDb};

/// Every connection is back in the pool and the engine still answers.
async fn healthy(engine: &Engine) -> aludel::Result<()> {
    assert_eq!(settle(engine).await.checked_out, 0, "a connection leaked");
    let one: i64 = engine.execute(text("SELECT 1"), ()).await?.scalar_one()?;
    assert_eq!(one, 1);
    assert_eq!(settle(engine).await.checked_out, 0);
    Ok(())
}

/// The error, its message and its whole `source()` chain, as text.
fn everything_said(err: &Error) -> String {
    let mut out = format!("{err}\n{err:?}");
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        out.push_str(&format!("\n{s}\n{s:?}"));
        source = s.source();
    }
    out
}

async fn schema(db: &TestDb, engine: &Engine) -> aludel::Result<()> {
    let mut conn = engine.connect().await?;
    conn.execute(
        text(
            "CREATE TABLE users (
                id INTEGER PRIMARY KEY,
                email VARCHAR(100) NOT NULL,
                age INTEGER,
                CONSTRAINT uq_users_email UNIQUE (email),
                CONSTRAINT ck_users_age CHECK (age >= 0)
            )",
        ),
        (),
    )
    .await?;
    conn.execute(
        text(
            "CREATE TABLE posts (
                id INTEGER PRIMARY KEY,
                user_id INTEGER NOT NULL,
                CONSTRAINT fk_posts_user FOREIGN KEY (user_id) REFERENCES users (id)
            )",
        ),
        (),
    )
    .await?;
    conn.execute(
        text("INSERT INTO users (id, email, age) VALUES (1, 'ada@example.com', 36)"),
        (),
    )
    .await?;
    conn.commit().await?;
    let _ = db;
    Ok(())
}

/// What a backend reports about a violated constraint.
#[derive(Debug, PartialEq)]
struct Reported<'a> {
    constraint: Option<&'a str>,
    table: Option<&'a str>,
    column: Option<&'a str>,
    code: Option<&'a str>,
}

fn reported(err: &Error) -> Reported<'_> {
    Reported {
        constraint: err.constraint(),
        table: err.table(),
        column: err.column(),
        code: err.code(),
    }
}

/// Run `sql` on a fresh connection, expect an integrity error of `kind`, then
/// check the connection recovers with a rollback and the engine is healthy.
async fn violate(engine: &Engine, sql: &str, kind: IntegrityKind) -> aludel::Result<Error> {
    let mut conn = engine.connect().await?;
    let err = assert_err!(conn.execute(text(sql), ()).await, ErrorKind::Integrity(_));
    assert_eq!(err.kind(), ErrorKind::Integrity(kind), "{err}");
    assert_eq!(err.sql(), Some(sql));
    assert!(err.to_string().contains(&format!("[SQL: {sql}]")), "{err}");
    assert!(!err.is_retryable() && !err.is_disconnect());
    // The connection is still good once the failed transaction is rolled back.
    conn.rollback().await?;
    let n: i64 = conn
        .execute(text("SELECT count(*) FROM users"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 1, "the violating statement changed nothing");
    drop(conn);
    healthy(engine).await?;
    Ok(err)
}

async fn integrity(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    schema(&db, &engine).await?;

    let err = violate(
        &engine,
        "INSERT INTO users (id, email) VALUES (2, 'ada@example.com')",
        IntegrityKind::Unique,
    )
    .await?;
    // SQLite names the table and column, not the constraint.
    let want = match db.kind {
        Kind::Postgres => Reported {
            constraint: Some("uq_users_email"),
            table: Some("users"),
            column: None,
            code: Some("23505"),
        },
        Kind::Mysql => Reported {
            constraint: Some("uq_users_email"),
            table: None,
            column: None,
            code: Some("1062"),
        },
        Kind::Sqlite => Reported {
            constraint: None,
            table: Some("users"),
            column: Some("email"),
            code: Some("2067"), // SQLITE_CONSTRAINT_UNIQUE
        },
    };
    assert_eq!(reported(&err), want, "{err:?}");
    assert!(err.to_string().contains("uq_users_email") || db.kind == Kind::Sqlite);

    // A duplicate primary key is a unique violation too.
    let err = violate(
        &engine,
        "INSERT INTO users (id, email) VALUES (1, 'other@example.com')",
        IntegrityKind::Unique,
    )
    .await?;
    if db.kind == Kind::Sqlite {
        assert_eq!(
            (err.table(), err.column(), err.code()),
            (Some("users"), Some("id"), Some("1555")) // SQLITE_CONSTRAINT_PRIMARYKEY
        );
    }

    let err = violate(
        &engine,
        "INSERT INTO posts (id, user_id) VALUES (1, 99)",
        IntegrityKind::ForeignKey,
    )
    .await?;
    // SQLite says only "FOREIGN KEY constraint failed".
    let want = match db.kind {
        Kind::Postgres => Reported {
            constraint: Some("fk_posts_user"),
            table: Some("posts"),
            column: None,
            code: Some("23503"),
        },
        Kind::Mysql => Reported {
            constraint: Some("fk_posts_user"),
            table: Some("posts"),
            column: None,
            code: Some("1452"),
        },
        Kind::Sqlite => Reported {
            constraint: None,
            table: None,
            column: None,
            code: Some("787"), // SQLITE_CONSTRAINT_FOREIGNKEY
        },
    };
    assert_eq!(reported(&err), want, "{err:?}");

    let err = violate(
        &engine,
        "INSERT INTO users (id, email) VALUES (3, NULL)",
        IntegrityKind::NotNull,
    )
    .await?;
    let want = match db.kind {
        Kind::Postgres => Reported {
            constraint: None,
            table: Some("users"),
            column: Some("email"),
            code: Some("23502"),
        },
        Kind::Mysql => Reported {
            constraint: None,
            table: None,
            column: Some("email"),
            code: Some("1048"),
        },
        Kind::Sqlite => Reported {
            constraint: None,
            table: Some("users"),
            column: Some("email"),
            code: Some("1299"), // SQLITE_CONSTRAINT_NOTNULL
        },
    };
    assert_eq!(reported(&err), want, "{err:?}");

    let err = violate(
        &engine,
        "INSERT INTO users (id, email, age) VALUES (4, 'young@example.com', -1)",
        IntegrityKind::Check,
    )
    .await?;
    // Every backend names a CHECK constraint.
    let want = match db.kind {
        Kind::Postgres => Reported {
            constraint: Some("ck_users_age"),
            table: Some("users"),
            column: None,
            code: Some("23514"),
        },
        Kind::Mysql => Reported {
            constraint: Some("ck_users_age"),
            table: Some("users"),
            column: None,
            code: Some("4025"), // MariaDB's ER_CONSTRAINT_FAILED
        },
        Kind::Sqlite => Reported {
            constraint: Some("ck_users_age"),
            table: None,
            column: None,
            code: Some("275"), // SQLITE_CONSTRAINT_CHECK
        },
    };
    assert_eq!(reported(&err), want, "{err:?}");
    Ok(())
}

/// Deleting a referenced parent row is a foreign key violation too.
async fn integrity_on_delete(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    schema(&db, &engine).await?;
    engine
        .execute(text("INSERT INTO posts (id, user_id) VALUES (1, 1)"), ())
        .await?;
    let mut conn = engine.connect().await?;
    let err = assert_err!(
        conn.execute(text("DELETE FROM users WHERE id = 1"), ())
            .await,
        ErrorKind::Integrity(IntegrityKind::ForeignKey)
    );
    // The table named is the referencing one.
    let want = match db.kind {
        Kind::Postgres | Kind::Mysql => (Some("fk_posts_user"), Some("posts")),
        Kind::Sqlite => (None, None),
    };
    assert_eq!((err.constraint(), err.table()), want, "{err:?}");
    drop(conn);
    healthy(&engine).await
}

async fn syntax_errors(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let sql = "SELEC 1";
    let err = assert_err!(conn.execute(text(sql), ()).await, ErrorKind::Syntax);
    assert_eq!(err.sql(), Some(sql));
    assert_eq!(err.to_string(), format!("{}\n[SQL: {sql}]", err.message()));
    assert!(err.message().contains("SELEC"), "{err}");
    // PostgreSQL's SQLSTATE, MySQL's error number, SQLite's result code.
    let code = match db.kind {
        Kind::Postgres => "42601",
        Kind::Mysql => "1064",
        Kind::Sqlite => "1", // SQLITE_ERROR
    };
    assert_eq!(err.code(), Some(code), "{err:?}");
    if db.kind == Kind::Sqlite {
        // The SQL is in err.sql(), not repeated in the message.
        assert_eq!(err.message(), "near \"SELEC\": syntax error (at offset 0)");
    }
    conn.rollback().await?;

    // An unknown table is reported the same way; the SQL carries the
    // dialect's placeholder where the statement had `:id`.
    let err = assert_err!(
        conn.execute(
            text("SELECT * FROM no_such_table WHERE id = :id"),
            params! { "id": 1 },
        )
        .await,
        ErrorKind::Syntax
    );
    let placeholder = match db.kind {
        Kind::Postgres => "$1",
        Kind::Sqlite => "?1",
        Kind::Mysql => "?",
    };
    assert_eq!(
        err.sql(),
        Some(format!("SELECT * FROM no_such_table WHERE id = {placeholder}").as_str())
    );
    assert!(err.message().contains("no_such_table"), "{err}");
    conn.rollback().await?;

    let err = assert_err!(
        conn.execute(text("SELECT no_such_column FROM (SELECT 1 AS x) AS t"), ())
            .await,
        ErrorKind::Syntax
    );
    assert!(err.message().contains("no_such_column"), "{err}");
    drop(conn);
    healthy(&engine).await
}

async fn bind_errors(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let sql = "SELECT :a AS a, :b AS b";

    let err = assert_err!(
        conn.execute(text(sql), params! { "a": 1 }).await,
        ErrorKind::Bind
    );
    assert!(
        err.message().contains("missing bind parameter \"b\""),
        "{err}"
    );
    assert!(!conn.in_transaction(), "nothing was sent, not even BEGIN");

    let err = assert_err!(
        conn.execute(text(sql), params! { "a": 1, "b": 2, "c": 3 })
            .await,
        ErrorKind::Bind
    );
    assert!(
        err.message().contains("unexpected bind parameter \"c\""),
        "{err}"
    );
    assert!(!conn.in_transaction());

    let err = assert_err!(
        conn.execute(text(sql), params! { "a": 1, "bb": 2 }).await,
        ErrorKind::Bind
    );
    assert!(err.message().contains("did you mean \"b\"?"), "{err}");
    assert!(!conn.in_transaction());

    let err = assert_err!(
        conn.execute(text(sql), params! { "a": 1, "a": 2, "b": 3 })
            .await,
        ErrorKind::Bind
    );
    assert!(
        err.message().contains("\"a\" was given more than once"),
        "{err}"
    );
    assert!(!conn.in_transaction());

    // executemany checks every set before sending the first.
    conn.execute(text("CREATE TABLE t (x INTEGER)"), ()).await?;
    conn.commit().await?;
    let err = assert_err!(
        conn.execute_many(
            text("INSERT INTO t (x) VALUES (:x)"),
            [params! { "x": 1 }, params! { "y": 2 }],
        )
        .await,
        ErrorKind::Bind
    );
    assert!(err.message().contains("\"y\""), "{err}");
    assert!(!conn.in_transaction());
    let n: i64 = conn
        .execute(text("SELECT count(*) FROM t"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 0);
    conn.rollback().await?;

    // Driver SQL has no names: a wrong count is caught by each driver.
    let driver_sql = match db.kind {
        Kind::Postgres => "SELECT $1::int AS a, $2::int AS b",
        Kind::Sqlite => "SELECT ?1 AS a, ?2 AS b",
        Kind::Mysql => "SELECT ? AS a, ? AS b",
    };
    let err = assert_err!(
        conn.exec_driver_sql(driver_sql, &[Value::I32(1)]).await,
        ErrorKind::Bind
    );
    assert_eq!(err.sql(), Some(driver_sql));
    let row = conn
        .exec_driver_sql(driver_sql, &[Value::I32(1), Value::I32(2)])
        .await?
        .one()?;
    assert_eq!((row.get::<i64, _>("a")?, row.get::<i64, _>("b")?), (1, 2));
    drop(conn);
    healthy(&engine).await
}

async fn decode_errors(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    conn.execute(
        text("CREATE TABLE t (name VARCHAR(20), big BIGINT, maybe INTEGER, huge DOUBLE PRECISION)"),
        (),
    )
    .await?;
    conn.execute(
        text("INSERT INTO t (name, big, maybe, huge) VALUES (:n, :b, NULL, :h)"),
        params! { "n": "abc", "b": i64::MAX, "h": 1e300 },
    )
    .await?;
    conn.commit().await?;
    let row = conn
        .execute(text("SELECT name, big, maybe, huge FROM t"), ())
        .await?
        .one()?;

    let name_type = match db.kind {
        Kind::Postgres => "VARCHAR",
        Kind::Sqlite => "VARCHAR(20)",
        Kind::Mysql => "VARCHAR",
    };
    assert_eq!(row.columns()[0].type_name(), name_type);
    let err = assert_err!(row.get::<i32, _>("name"), ErrorKind::Decode);
    let msg = err.to_string();
    for part in ["\"name\"", name_type, "i32", "\"abc\""] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
    assert_eq!(err.column(), Some("name"));

    // Out of range: an i64 column's largest value read as i32.
    let err = assert_err!(row.get::<i32, _>("big"), ErrorKind::Decode);
    let msg = err.to_string();
    for part in ["\"big\"", "i32", "9223372036854775807", "out of range"] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
    assert_eq!(row.get::<i64, _>("big")?, i64::MAX);
    // Floats too: 1e300 is beyond f32, not an infinity.
    let err = assert_err!(row.get::<f32, _>("huge"), ErrorKind::Decode);
    assert!(err.to_string().contains("out of range"), "{err}");
    assert_eq!(row.get::<f64, _>("huge")?, 1e300);
    assert_eq!(row.get::<Option<i64>, _>(1)?, Some(i64::MAX));

    // NULL into a non-Option type.
    let err = assert_err!(row.get::<i32, _>("maybe"), ErrorKind::Decode);
    assert!(err.to_string().contains("Option"), "{err}");
    assert_eq!(row.get::<Option<i32>, _>("maybe")?, None);

    // No such column, by name and by position.
    let err = assert_err!(row.get::<i64, _>("nope"), ErrorKind::Decode);
    assert!(err.to_string().contains("\"nope\""), "{err}");
    assert!(
        err.to_string().contains("\"name\", \"big\", \"maybe\""),
        "{err}"
    );
    assert_err!(row.get::<i64, _>(3usize), ErrorKind::Decode);

    // Through scalar_one and FromRow tuples as well.
    let err = assert_err!(
        conn.execute(text("SELECT big FROM t"), ())
            .await?
            .scalar_one::<i32>(),
        ErrorKind::Decode
    );
    assert!(err.to_string().contains("out of range"), "{err}");
    let err = assert_err!(
        conn.execute(text("SELECT big, name FROM t"), ())
            .await?
            .one_as::<(i64, i64)>(),
        ErrorKind::Decode
    );
    assert!(err.to_string().contains("\"name\""), "{err}");
    drop(conn);
    healthy(&engine).await
}

/// A value the column's type cannot take: PostgreSQL's driver refuses to
/// send it (naming the placeholder), MariaDB's strict mode rejects it, and
/// SQLite's dynamic typing stores it as given.
async fn wrong_type_bound(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    conn.execute(text("CREATE TABLE nums (id INTEGER, n INTEGER)"), ())
        .await?;
    conn.commit().await?;
    let insert = text("INSERT INTO nums (id, n) VALUES (:id, :n)");
    for (i, bad) in [Value::from("abc"), Value::from(i64::MAX)]
        .into_iter()
        .enumerate()
    {
        let res = conn
            .execute(&insert, params! { "id": i as i64, "n": bad.clone() })
            .await;
        match db.kind {
            Kind::Sqlite => {
                res?;
            }
            Kind::Postgres => {
                let err = assert_err!(res, ErrorKind::Bind);
                let why = if i == 0 { "\"abc\"" } else { "out of range" };
                assert!(
                    err.message().starts_with("cannot send parameter $2: "),
                    "{err}"
                );
                assert!(err.message().contains(why), "{err}");
                assert_eq!(err.sql(), Some("INSERT INTO nums (id, n) VALUES ($1, $2)"));
            }
            Kind::Mysql => {
                let err = assert_err!(res, ErrorKind::Database);
                // Incorrect integer value / Out of range value.
                let code = if i == 0 { "1366" } else { "1264" };
                assert_eq!(err.code(), Some(code), "{err:?}");
            }
        }
    }
    // Nothing reached the server on PostgreSQL: its transaction is not
    // aborted, and the connection goes on without a rollback.
    let stored: Vec<Value> = conn
        .execute(text("SELECT n FROM nums ORDER BY id"), ())
        .await?
        .scalars()?;
    let want = match db.kind {
        Kind::Sqlite => vec![Value::String("abc".into()), Value::I64(i64::MAX)],
        Kind::Postgres | Kind::Mysql => vec![],
    };
    assert_eq!(stored, want);
    drop(conn);
    healthy(&engine).await
}

async fn row_counts(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let none = "SELECT 1 AS x FROM (SELECT 1 AS y) AS t WHERE 1 = 0";
    let two = "SELECT 1 AS x UNION ALL SELECT 2";
    assert_err!(conn.execute(text(none), ()).await?.one(), ErrorKind::NoRow);
    let err = assert_err!(
        conn.execute(text(two), ()).await?.one(),
        ErrorKind::MultipleRows
    );
    assert!(err.to_string().contains('2'), "{err}");
    assert_err!(
        conn.execute(text(two), ()).await?.one_or_none(),
        ErrorKind::MultipleRows
    );
    assert!(conn.execute(text(none), ()).await?.one_or_none()?.is_none());
    assert_err!(
        conn.execute(text(none), ()).await?.scalar_one::<i64>(),
        ErrorKind::NoRow
    );
    assert_err!(
        conn.execute(text(two), ()).await?.scalar_one::<i64>(),
        ErrorKind::MultipleRows
    );
    assert_eq!(conn.execute(text(none), ()).await?.scalar::<i64>()?, None);
    assert_eq!(conn.execute(text(two), ()).await?.scalar::<i64>()?, Some(1));
    drop(conn);
    healthy(&engine).await
}

/// `::` is never a bind, and colons inside string literals are left alone.
async fn colons(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    if db.kind == Kind::Postgres {
        let row = conn
            .execute(
                text("SELECT :x::text AS v, '5'::int AS n, (:y)::int + 1 AS m"),
                params! { "x": "abc", "y": 41 },
            )
            .await?
            .one()?;
        assert_eq!(row.get::<String, _>("v")?, "abc");
        assert_eq!(row.get::<i32, _>("n")?, 5);
        assert_eq!(row.get::<i32, _>("m")?, 42);
    }
    let row = conn
        .execute(
            text("SELECT '12:30' AS t, :x AS v, 'a :b c' AS s /* :c */"),
            params! { "x": "v" },
        )
        .await?
        .one()?;
    assert_eq!(row.get::<String, _>("t")?, "12:30");
    assert_eq!(row.get::<String, _>("v")?, "v");
    assert_eq!(row.get::<String, _>("s")?, "a :b c");
    // A colon in a literal is not a parameter, so naming it is an error.
    let err = assert_err!(
        conn.execute(text("SELECT '12:30' AS t"), params! { "30": 1 })
            .await,
        ErrorKind::Bind
    );
    assert!(err.message().contains("no parameters"), "{err}");
    drop(conn);
    healthy(&engine).await
}

/// Host and port of the test server, as they appear in messages.
fn server(db: &TestDb) -> aludel::Result<(Url, String)> {
    let url = Url::parse(&db.url)?;
    let host = url.host().expect("a server URL has a host").to_string();
    assert_eq!(host, "127.0.0.1", "tests only ever connect to 127.0.0.1");
    let port = url.port().unwrap_or(match db.kind {
        Kind::Postgres => 5432,
        _ => 3306,
    });
    Ok((url, format!("{host}:{port}")))
}

fn quick(url: &str) -> aludel::Result<Engine> {
    Engine::builder(url)?
        .connect_timeout(Duration::from_secs(5))
        .build()
}

async fn connect_errors(db: TestDb) -> aludel::Result<()> {
    if db.kind == Kind::Sqlite {
        // No server: a file that cannot be created is the connect error.
        let url = "sqlite:////no-such-dir-xyz/sub/test.db";
        let engine = quick(url)?;
        let err = assert_err!(engine.connect().await, ErrorKind::Connect);
        assert!(
            err.to_string().contains("/no-such-dir-xyz/sub/test.db"),
            "{err}"
        );
        assert_eq!(settle(&engine).await.checked_out, 0);
        return healthy(&db.engine()).await;
    }
    let (url, hostport) = server(&db)?;

    // A database that does not exist.
    let missing = url
        .clone()
        .with_database("no_such_db_xyz")
        .render_as_string(false);
    let engine = quick(&missing)?;
    let err = assert_err!(engine.connect().await, ErrorKind::Connect);
    let msg = err.to_string();
    assert!(msg.contains(&hostport), "{hostport} not in {msg}");
    assert!(msg.contains("no_such_db_xyz"), "{msg}");
    assert_eq!(settle(&engine).await.checked_out, 0);
    assert_err!(
        engine.execute(text("SELECT 1"), ()).await,
        ErrorKind::Connect
    );

    // Nothing listens on port 1.
    let refused = url.clone().with_port(1).render_as_string(false);
    let engine = quick(&refused)?;
    let err = assert_err!(engine.connect().await, ErrorKind::Connect);
    assert!(err.to_string().contains("127.0.0.1:1"), "{err}");
    assert!(!err.to_string().contains("127.0.0.1:1/"), "{err}");
    assert_eq!(settle(&engine).await.checked_out, 0);

    // A password is never shown: not when the connection is refused, and not
    // when the server rejects the login.
    let secret = "s3cr3t-pw";
    let with_password = url
        .clone()
        .with_username("no_such_user_xyz")
        .with_password(secret);
    assert!(!with_password.to_string().contains(secret));
    assert!(with_password.to_string().contains("no_such_user_xyz:***@"));
    assert!(!format!("{with_password:?}").contains(secret));
    for target in [with_password.clone().with_port(1), with_password] {
        let engine = quick(&target.render_as_string(false))?;
        assert!(!format!("{engine:?}").contains(secret), "{engine:?}");
        let err = assert_err!(engine.connect().await, ErrorKind::Connect);
        let said = everything_said(&err);
        assert!(!said.contains(secret), "the password leaked: {said}");
        assert!(err.to_string().contains("127.0.0.1:"), "{err}");
        assert_eq!(settle(&engine).await.checked_out, 0);
    }

    // The test's own engine is unaffected.
    healthy(&db.engine()).await
}

all_backends!(
    integrity,
    integrity_on_delete,
    syntax_errors,
    bind_errors,
    decode_errors,
    wrong_type_bound,
    row_counts,
    colons,
    connect_errors,
);
