//! Results: SQLAlchemy's Result API, generated keys, streaming, and the
//! per-connection statement cache.

use aludel::{params, text, ErrorKind, Value};

use crate::harness::{settle, Kind, TestDb};

async fn people(db: &TestDb) -> aludel::Result<aludel::Engine> {
    let engine = db.engine();
    let sql = format!(
        "CREATE TABLE people (id {}, name VARCHAR(20), age INTEGER)",
        db.serial_pk()
    );
    engine.execute(text(sql), ()).await?;
    for (name, age) in [("Ada", 36), ("Grace", 85), ("Linus", 28)] {
        engine
            .execute(
                text("INSERT INTO people (name, age) VALUES (:name, :age)"),
                params! { "name": name, "age": age },
            )
            .await?;
    }
    Ok(engine)
}

async fn result_api(db: TestDb) -> aludel::Result<()> {
    let engine = people(&db).await?;
    let mut conn = engine.connect().await?;
    let q = text("SELECT name, age FROM people WHERE age > :min ORDER BY age");
    let r = conn.execute(&q, params! { "min": 30 }).await?;
    assert_eq!(r.keys().collect::<Vec<_>>(), ["name", "age"]);
    assert_eq!(r.len(), 2);
    let rows = r.all()?;
    assert_eq!(rows[0].get::<String, _>("name")?, "Ada");
    assert_eq!(rows[1].get::<i64, _>(1)?, 85);
    let first = conn
        .execute(&q, params! { "min": 0 })
        .await?
        .first()?
        .expect("a row");
    assert_eq!(first.get::<String, _>(0)?, "Linus");
    assert!(conn
        .execute(&q, params! { "min": 99 })
        .await?
        .first()?
        .is_none());
    assert_eq!(
        conn.execute(&q, params! { "min": 99 })
            .await?
            .one_or_none()?,
        None
    );
    assert_err!(
        conn.execute(&q, params! { "min": 0 }).await?.one_or_none(),
        ErrorKind::MultipleRows
    );
    let names: Vec<String> = conn.execute(&q, params! { "min": 0 }).await?.scalars()?;
    assert_eq!(names, ["Linus", "Ada", "Grace"]);
    let maps = conn.execute(&q, params! { "min": 80 }).await?.mappings()?;
    assert_eq!(maps[0]["name"], Value::String("Grace".into()));
    assert_eq!(maps[0].get("age").and_then(Value::as_i64), Some(85));
    assert_eq!(maps[0].keys().collect::<Vec<_>>(), ["name", "age"]);
    let none: Option<i64> = conn
        .execute(text("SELECT age FROM people WHERE 1 = 0"), ())
        .await?
        .scalar()?;
    assert_eq!(none, None);
    let n: i64 = conn
        .execute(text("SELECT count(*) FROM people"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 3);
    let pairs: Vec<(String, i32)> = conn.execute(&q, params! { "min": 0 }).await?.all_as()?;
    assert_eq!(pairs[2], ("Grace".to_string(), 85));
    let err = assert_err!(
        conn.execute(&q, params! { "min": 0 })
            .await?
            .all_as::<(String,)>(),
        ErrorKind::Decode
    );
    assert!(err.to_string().contains("2 columns"), "{err}");
    Ok(())
}

/// A name used twice binds once; the same statement runs on every dialect.
async fn repeated_and_reordered_binds(db: TestDb) -> aludel::Result<()> {
    let engine = people(&db).await?;
    let q = text(
        "SELECT name FROM people WHERE age >= :lo AND age <= :hi OR (name = :who AND age >= :lo)",
    );
    let names: Vec<String> = engine
        .execute(&q, params! { "who": "Grace", "hi": 40, "lo": 30 })
        .await?
        .scalars()?;
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Ada".into()) && names.contains(&"Grace".into()));
    Ok(())
}

/// Generated keys: `last_insert_id()` where the backend reports one
/// (SQLite, MySQL); `RETURNING` where the dialect supports it.
async fn generated_keys(db: TestDb) -> aludel::Result<()> {
    let engine = people(&db).await?;
    let mut conn = engine.connect().await?;
    let r = conn
        .execute(
            text("INSERT INTO people (name, age) VALUES ('Edsger', 72)"),
            (),
        )
        .await?;
    assert_eq!(r.rows_affected(), 1);
    match db.kind {
        Kind::Postgres => assert_eq!(r.last_insert_id(), None),
        _ => assert_eq!(r.last_insert_id(), Some(4)),
    }
    // MariaDB 10.5+ and the bundled SQLite have INSERT … RETURNING, as PostgreSQL does.
    assert!(engine.dialect().supports_returning());
    let id: i64 = conn
        .execute(
            text("INSERT INTO people (name, age) VALUES ('Barbara', 80) RETURNING id"),
            (),
        )
        .await?
        .scalar_one()?;
    assert_eq!(id, 5);
    conn.commit().await?;
    Ok(())
}

/// Streaming reads rows one at a time; dropping a stream early leaves the
/// connection and pool usable.
async fn streaming(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let series = match db.kind {
        Kind::Postgres => "SELECT g AS x FROM generate_series(1, :n) AS g",
        _ => "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < :n) SELECT x FROM s",
    };
    let n = 100_000i64;
    let mut conn = engine.connect().await?;
    if db.kind == Kind::Mysql {
        conn.execute(text("SET SESSION max_recursive_iterations = 1000000"), ())
            .await?;
    }
    {
        let mut rows = conn.stream(text(series), params! { "n": n }).await?;
        assert_eq!(rows.columns()[0].name(), "x");
        let (mut count, mut sum) = (0i64, 0i64);
        while let Some(row) = rows.next().await {
            sum += row?.get::<i64, _>(0)?;
            count += 1;
        }
        assert_eq!((count, sum), (n, n * (n + 1) / 2));
    }
    {
        let mut rows = conn.stream(text(series), params! { "n": n }).await?;
        let first: Option<(i64,)> = rows.try_next_as().await?;
        assert_eq!(first, Some((1,)));
        // dropped after one row
    }
    drop(conn);
    settle(&engine).await;
    let mut conn = engine.connect().await?;
    let one: i64 = conn.execute(text("SELECT 1"), ()).await?.scalar_one()?;
    assert_eq!(one, 1);
    drop(conn);
    assert_eq!(settle(&engine).await.checked_out, 0);
    Ok(())
}

/// The same SQL executed repeatedly is prepared once per connection.
async fn statements_are_cached(db: TestDb) -> aludel::Result<()> {
    let engine = people(&db).await?;
    let mut conn = engine.connect().await?;
    let q = text("SELECT name FROM people WHERE id = :id");
    let prepared = match db.kind {
        Kind::Postgres => "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT name FROM people%'",
        _ => "SELECT CAST(VARIABLE_VALUE AS SIGNED) FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COM_STMT_PREPARE'",
    };
    let before: i64 = conn.execute(text(prepared), ()).await?.scalar_one()?;
    for id in 1..=3 {
        for _ in 0..5 {
            conn.execute(&q, params! { "id": id }).await?;
        }
    }
    let after: i64 = conn.execute(text(prepared), ()).await?.scalar_one()?;
    match db.kind {
        Kind::Postgres => assert_eq!(
            after - before,
            1,
            "one prepared statement for 15 executions"
        ),
        // MySQL counts the probe statement's own preparation too.
        _ => assert!(
            after - before <= 2,
            "prepared {} times for 15 executions",
            after - before
        ),
    }
    Ok(())
}

all_backends!(
    result_api,
    repeated_and_reordered_binds,
    generated_keys,
    streaming
);
server_backends!(statements_are_cached);

/// A cached statement whose table changed: the connection's own DDL drops
/// its cached statements, so the next `SELECT *` sees the new column on
/// every backend. Another connection's DDL is invisible to the cache:
/// SQLite and MariaDB prepare again by themselves, PostgreSQL refuses the
/// stale statement once (code 0A000) and the connection prepares it anew.
async fn schema_change_under_a_cached_statement(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    conn.execute(
        text("CREATE TABLE cached_t (id INTEGER PRIMARY KEY, a INTEGER)"),
        (),
    )
    .await?;
    conn.execute(text("INSERT INTO cached_t (id, a) VALUES (1, 10)"), ())
        .await?;
    let star = text("SELECT * FROM cached_t");
    assert_eq!(
        conn.execute(&star, ()).await?.keys().collect::<Vec<_>>(),
        ["id", "a"]
    );
    conn.execute(text("ALTER TABLE cached_t ADD COLUMN b INTEGER"), ())
        .await?;
    assert_eq!(
        conn.execute(&star, ()).await?.keys().collect::<Vec<_>>(),
        ["id", "a", "b"]
    );
    conn.commit().await?;

    let mut other = engine.connect().await?;
    other
        .execute(text("ALTER TABLE cached_t ADD COLUMN c INTEGER"), ())
        .await?;
    other.commit().await?;
    drop(other);
    match (db.kind, conn.execute(&star, ()).await) {
        (Kind::Postgres, Err(e)) => {
            assert_eq!(e.code(), Some("0A000"), "{e}");
            conn.rollback().await?;
        }
        (Kind::Postgres, Ok(_)) => panic!("PostgreSQL refuses a stale cached statement"),
        (_, res) => assert_eq!(res?.keys().collect::<Vec<_>>(), ["id", "a", "b", "c"]),
    }
    assert_eq!(
        conn.execute(&star, ()).await?.keys().collect::<Vec<_>>(),
        ["id", "a", "b", "c"]
    );
    conn.rollback().await?;

    // The same through a stream (the statement is prepared before the
    // first row is read).
    let mut other = engine.connect().await?;
    other
        .execute(text("ALTER TABLE cached_t ADD COLUMN d INTEGER"), ())
        .await?;
    other.commit().await?;
    drop(other);
    type Wide = (i64, i64, Option<i64>, Option<i64>, Option<i64>);
    async fn read(conn: &mut aludel::Connection) -> aludel::Result<Vec<Wide>> {
        let mut rows = conn
            .stream(text("SELECT * FROM cached_t"), ())
            .await?
            .typed::<Wide>();
        let mut out = Vec::new();
        while let Some(r) = rows.try_next().await? {
            out.push(r);
        }
        Ok(out)
    }
    match (db.kind, read(&mut conn).await) {
        (Kind::Postgres, Err(e)) => {
            assert_eq!(e.code(), Some("0A000"), "{e}");
            conn.rollback().await?;
        }
        (Kind::Postgres, Ok(_)) => panic!("PostgreSQL refuses a stale cached statement"),
        (_, res) => assert_eq!(res?, [(1, 10, None, None, None)]),
    }
    assert_eq!(read(&mut conn).await?, [(1, 10, None, None, None)]);
    conn.rollback().await?;
    Ok(())
}

all_backends!(schema_change_under_a_cached_statement);

/// `insert_many`: plain rows in as few statements as the parameter limit
/// allows, the values bound as given; bad rows are refused before anything
/// is sent.
async fn insert_many_batches_rows(db: TestDb) -> aludel::Result<()> {
    use aludel::schema::{Column, MetaData, SqlType, Table};
    let engine = db.engine();
    let t = Table::builder("bulk")
        .column(
            Column::new("id", SqlType::Integer)
                .primary_key()
                .autoincrement(false),
        )
        .column(Column::new("label", SqlType::String(Some(20))))
        .build()?;
    let mut md = MetaData::new();
    md.add(t.clone())?;
    md.create_all(&engine).await?;
    let mut conn = engine.connect().await?;
    let before = conn.statement_count();
    let rows = (1..=2500).map(|i| vec![Value::from(i as i64), Value::from(format!("row {i}"))]);
    assert_eq!(conn.insert_many(&t, &["id", "label"], rows).await?, 2500);
    assert_eq!(
        conn.statement_count() - before,
        3,
        "1 000 rows per statement"
    );
    conn.commit().await?;
    let n: i64 = conn
        .execute(text("SELECT count(*) FROM bulk"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 2500);
    for id in [1i64, 1000, 1001, 2500] {
        let label: String = conn
            .execute(
                text("SELECT label FROM bulk WHERE id = :id"),
                params! { "id": id },
            )
            .await?
            .scalar_one()?;
        assert_eq!(label, format!("row {id}"), "each row's values in place");
    }

    let before = conn.statement_count();
    let bad = vec![
        vec![Value::from(3001i64), Value::from("ok")],
        vec![Value::from(3002i64)],
    ];
    let err = conn
        .insert_many(&t, &["id", "label"], bad)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("row 1"), "{err}");
    let err = conn
        .insert_many(
            &t,
            &["id", "nope"],
            [vec![Value::from(1i64), Value::from(2i64)]],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    assert_eq!(conn.statement_count(), before, "nothing sent");
    conn.rollback().await?;
    Ok(())
}

all_backends!(insert_many_batches_rows);
