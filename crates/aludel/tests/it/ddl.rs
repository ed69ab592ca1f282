//! DDL: `MetaData::create_all` / `drop_all` on real servers — the tables
//! work, the constraint names are the server's, hostile names and defaults
//! survive.

use aludel::schema::{Column, DdlOptions, ForeignKey, MetaData, ReferentialAction, SqlType, Table};
use aludel::types::{Decimal, Uuid};
use aludel::{params, text, Connection, Engine, ErrorKind, IntegrityKind, Value};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

use crate::harness::{Kind, TestDb};

fn blog() -> MetaData {
    let mut md = MetaData::new();
    let tables = [
        Table::builder("users")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(
                Column::new("email", SqlType::string(200))
                    .not_null()
                    .unique(),
            )
            .column(Column::new("name", SqlType::string(100)).not_null())
            .column(
                Column::new("active", SqlType::Boolean)
                    .not_null()
                    .server_default(true),
            )
            .column(Column::new("motto", SqlType::string(100)).server_default(r"it's a \ test"))
            .column(
                Column::new("balance", SqlType::numeric(12, 2))
                    .not_null()
                    .server_default(Decimal::new(1050, 2)),
            )
            .check("balance_positive", "balance >= 0")
            .index(["name", "email"], false)
            .build()
            .unwrap(),
        Table::builder("categories")
            .column(Column::new("id", SqlType::BigInteger).primary_key())
            .column(
                Column::new("parent_id", SqlType::BigInteger)
                    .references("categories.id")
                    .on_delete(ReferentialAction::SetNull),
            )
            .column(Column::new("name", SqlType::string(50)).not_null())
            .build()
            .unwrap(),
        Table::builder("posts")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(
                Column::new("user_id", SqlType::Integer)
                    .not_null()
                    .references("users.id")
                    .on_delete(ReferentialAction::Cascade),
            )
            .column(Column::new("category_id", SqlType::BigInteger).references("categories.id"))
            .column(
                Column::new("title", SqlType::string(200))
                    .not_null()
                    .index(),
            )
            .column(
                Column::new(
                    "status",
                    SqlType::enumeration("post_status", ["draft", "published", "it's"]),
                )
                .not_null()
                .server_default("draft"),
            )
            .column(Column::new("uid", SqlType::Uuid).not_null().unique())
            .column(Column::new("meta", SqlType::Json))
            .column(Column::new("score", SqlType::Float))
            .column(Column::new("published_on", SqlType::Date))
            .column(Column::new(
                "published_at",
                SqlType::DateTime { timezone: true },
            ))
            .column(Column::new("edited_at", SqlType::datetime()))
            .column(Column::new("remind_at", SqlType::Time))
            .column(Column::new("thumbnail", SqlType::LargeBinary))
            .unique(["user_id", "title"])
            .index(["user_id", "published_at"], true)
            .build()
            .unwrap(),
        Table::builder("tags")
            .column(Column::new("id", SqlType::SmallInteger).primary_key())
            .column(
                Column::new("label", SqlType::string(50))
                    .not_null()
                    .unique(),
            )
            .build()
            .unwrap(),
        Table::builder("post_tags")
            .column(Column::new("post_id", SqlType::Integer))
            .column(Column::new("tag_id", SqlType::SmallInteger))
            .primary_key(["post_id", "tag_id"])
            .foreign_key(ForeignKey {
                name: None,
                columns: vec!["post_id".into()],
                referred_table: "posts".into(),
                referred_columns: vec!["id".into()],
                on_delete: Some(ReferentialAction::Cascade),
                on_update: None,
            })
            .foreign_key(ForeignKey {
                name: None,
                columns: vec!["tag_id".into()],
                referred_table: "tags".into(),
                referred_columns: vec!["id".into()],
                on_delete: None,
                on_update: None,
            })
            .build()
            .unwrap(),
    ];
    for t in tables {
        md.add(t).unwrap();
    }
    md
}

/// Insert and return the new row's id: RETURNING on PostgreSQL, the
/// driver's last insert id elsewhere.
async fn insert_id(
    db: &TestDb,
    conn: &mut Connection,
    sql: &str,
    p: aludel::Params,
) -> aludel::Result<i64> {
    if db.kind == Kind::Postgres {
        conn.execute(text(format!("{sql} RETURNING id")), p)
            .await?
            .scalar_one()
    } else {
        let r = conn.execute(text(sql), p).await?;
        Ok(r.last_insert_id().expect("last insert id"))
    }
}

async fn table_count(db: &TestDb, engine: &Engine) -> aludel::Result<i64> {
    let sql = match db.kind {
        Kind::Sqlite => {
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        Kind::Postgres => "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()",
        Kind::Mysql => {
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE()"
        }
    };
    engine.execute(text(sql), ()).await?.scalar_one()
}

async fn create_use_and_drop(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let md = blog();
    md.create_all(&engine).await?;
    assert_eq!(table_count(&db, &engine).await?, 5);
    let mut conn = engine.connect().await?;

    let u1 = insert_id(
        &db,
        &mut conn,
        "INSERT INTO users (email, name) VALUES (:e, :n)",
        params! { "e": "ada@example.com", "n": "Ada" },
    )
    .await?;
    let u2 = insert_id(
        &db,
        &mut conn,
        "INSERT INTO users (email, name) VALUES (:e, :n)",
        params! { "e": "bob@example.com", "n": "Bob" },
    )
    .await?;
    assert_eq!((u1, u2), (1, 2), "autoincrement ids come back");
    let root = insert_id(
        &db,
        &mut conn,
        "INSERT INTO categories (name) VALUES (:n)",
        params! { "n": "root" },
    )
    .await?;
    let child = insert_id(
        &db,
        &mut conn,
        "INSERT INTO categories (parent_id, name) VALUES (:p, :n)",
        params! { "p": root, "n": "child" },
    )
    .await?;
    assert_eq!((root, child), (1, 2));

    let uid = Uuid::from_u128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
    let at = Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 58).unwrap()
        + chrono::Duration::microseconds(123_456);
    let edited = NaiveDate::from_ymd_opt(2024, 3, 1)
        .unwrap()
        .and_hms_micro_opt(1, 2, 3, 456_789)
        .unwrap();
    let day = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let remind = NaiveTime::from_hms_micro_opt(7, 30, 0, 250_000).unwrap();
    let meta = serde_json::json!({"k": [1, 2, "three"], "quote": "it's"});
    let p1 = insert_id(
        &db,
        &mut conn,
        "INSERT INTO posts (user_id, category_id, title, uid, meta, score, published_on, published_at, edited_at, remind_at, thumbnail) \
         VALUES (:u, :c, :t, :uid, :meta, :score, :day, :at, :edited, :remind, :thumb)",
        params! {
            "u": u1, "c": child, "t": "Hello", "uid": uid, "meta": meta.clone(), "score": 2.5_f64,
            "day": day, "at": at, "edited": edited, "remind": remind, "thumb": vec![0_u8, 1, 2, 255],
        },
    )
    .await?;
    let status_sql = match db.kind {
        Kind::Postgres => "INSERT INTO posts (user_id, title, status, uid) VALUES (:u, :t, CAST(:s AS post_status), :uid)",
        _ => "INSERT INTO posts (user_id, title, status, uid) VALUES (:u, :t, :s, :uid)",
    };
    let p2 = insert_id(
        &db,
        &mut conn,
        status_sql,
        params! { "u": u2, "t": "Quoted", "s": "it's", "uid": Uuid::from_u128(7) },
    )
    .await?;
    let t1 = insert_id(
        &db,
        &mut conn,
        "INSERT INTO tags (label) VALUES (:l)",
        params! { "l": "rust" },
    )
    .await?;
    let t2 = insert_id(
        &db,
        &mut conn,
        "INSERT INTO tags (label) VALUES (:l)",
        params! { "l": "sql" },
    )
    .await?;
    for (p, t) in [(p1, t1), (p1, t2), (p2, t2)] {
        conn.execute(
            text("INSERT INTO post_tags (post_id, tag_id) VALUES (:p, :t)"),
            params! { "p": p, "t": t },
        )
        .await?;
    }
    conn.commit().await?;

    // Server defaults applied where the column was omitted.
    let (active, motto, balance): (bool, String, Decimal) = conn
        .execute(
            text("SELECT active, motto, balance FROM users WHERE id = :id"),
            params! { "id": u1 },
        )
        .await?
        .one_as()?;
    assert!(active);
    assert_eq!(motto, r"it's a \ test");
    assert_eq!(balance, Decimal::new(1050, 2));

    // Every type round-trips.
    let row = conn
        .execute(
            text("SELECT status, uid, meta, score, published_on, published_at, edited_at, remind_at, thumbnail FROM posts WHERE id = :id"),
            params! { "id": p1 },
        )
        .await?
        .one()?;
    assert_eq!(row.get::<String, _>("status")?, "draft");
    assert_eq!(row.get::<Uuid, _>("uid")?, uid);
    assert_eq!(row.get::<serde_json::Value, _>("meta")?, meta);
    assert_eq!(row.get::<f64, _>("score")?, 2.5);
    assert_eq!(row.get::<NaiveDate, _>("published_on")?, day);
    assert_eq!(row.get::<chrono::DateTime<Utc>, _>("published_at")?, at);
    assert_eq!(row.get::<NaiveDateTime, _>("edited_at")?, edited);
    assert_eq!(row.get::<NaiveTime, _>("remind_at")?, remind);
    assert_eq!(row.get::<Vec<u8>, _>("thumbnail")?, vec![0_u8, 1, 2, 255]);
    let status: String = conn
        .execute(
            text("SELECT status FROM posts WHERE id = :id"),
            params! { "id": p2 },
        )
        .await?
        .scalar_one()?;
    assert_eq!(status, "it's");

    // A value outside the enum is refused by the database.
    let bad = match db.kind {
        Kind::Postgres => "INSERT INTO posts (user_id, title, status, uid) VALUES (1, 'x', CAST('nope' AS post_status), '00000000000000000000000000000001')",
        _ => "INSERT INTO posts (user_id, title, status, uid) VALUES (1, 'x', 'nope', '00000000000000000000000000000001')",
    };
    assert!(
        conn.execute(text(bad), ()).await.is_err(),
        "enum rejects 'nope'"
    );
    conn.rollback().await?;

    // The many-to-many join, the self-referential key and ON DELETE CASCADE work.
    let n: i64 = conn
        .execute(
            text("SELECT count(*) FROM posts p JOIN post_tags pt ON pt.post_id = p.id JOIN tags t ON t.id = pt.tag_id WHERE t.label = 'sql'"),
            (),
        )
        .await?
        .scalar_one()?;
    assert_eq!(n, 2);
    let parent: Option<i64> = conn
        .execute(
            text("SELECT parent_id FROM categories WHERE name = 'child'"),
            (),
        )
        .await?
        .scalar_one()?;
    assert_eq!(parent, Some(root));
    conn.execute(
        text("DELETE FROM users WHERE id = :id"),
        params! { "id": u1 },
    )
    .await?;
    conn.commit().await?;
    let n: i64 = conn
        .execute(text("SELECT count(*) FROM post_tags"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 1, "deleting a user cascaded to posts and post_tags");
    drop(conn);

    md.drop_all(&engine).await?;
    assert_eq!(
        table_count(&db, &engine).await?,
        0,
        "drop_all leaves no table"
    );
    if db.kind == Kind::Postgres {
        let types: i64 = engine
            .execute(
                text("SELECT count(*) FROM pg_type WHERE typname = 'post_status'"),
                (),
            )
            .await?
            .scalar_one()?;
        assert_eq!(types, 0, "the enum type was dropped");
    }
    Ok(())
}

async fn checkfirst(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let md = blog();
    md.create_all(&engine).await?;
    engine
        .execute(text("INSERT INTO tags (label) VALUES ('kept')"), ())
        .await?;
    md.create_all(&engine).await?; // a no-op: everything exists
    let n: i64 = engine
        .execute(text("SELECT count(*) FROM tags"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 1, "the second create_all touched nothing");
    let err = assert_err!(
        md.create_all_with(&engine, DdlOptions::new().checkfirst(false))
            .await,
        ErrorKind::Syntax | ErrorKind::Database
    );
    assert!(err.sql().is_some_and(|s| s.starts_with("CREATE")), "{err}");
    assert_eq!(
        table_count(&db, &engine).await?,
        5,
        "the failed create left the tables as they were"
    );

    // Tables missing from the database are created, existing ones are kept.
    engine.execute(text("DROP TABLE post_tags"), ()).await?;
    md.create_all(&engine).await?;
    assert_eq!(table_count(&db, &engine).await?, 5);
    let n: i64 = engine
        .execute(text("SELECT count(*) FROM tags"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 1);

    md.drop_all(&engine).await?;
    assert_eq!(table_count(&db, &engine).await?, 0);
    md.drop_all(&engine).await?; // nothing left: a no-op
    assert_err!(
        md.drop_all_with(&engine, DdlOptions::new().checkfirst(false))
            .await,
        ErrorKind::Syntax | ErrorKind::Database
    );
    Ok(())
}

fn cycle() -> MetaData {
    let mut md = MetaData::new();
    md.add(
        Table::builder("departments")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("name", SqlType::string(50)).not_null())
            .column(Column::new("head_id", SqlType::Integer).references("employees.id"))
            .build()
            .unwrap(),
    )
    .unwrap();
    md.add(
        Table::builder("employees")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(Column::new("department_id", SqlType::Integer).references("departments.id"))
            .build()
            .unwrap(),
    )
    .unwrap();
    md
}

async fn foreign_key_cycle(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let md = cycle();
    md.create_all(&engine).await?;
    let mut conn = engine.connect().await?;
    conn.execute(
        text("INSERT INTO departments (id, name) VALUES (1, 'R&D')"),
        (),
    )
    .await?;
    conn.execute(
        text("INSERT INTO employees (id, department_id) VALUES (10, 1)"),
        (),
    )
    .await?;
    conn.execute(text("UPDATE departments SET head_id = 10 WHERE id = 1"), ())
        .await?;
    conn.commit().await?;
    // Both foreign keys exist and are enforced.
    let e = assert_err!(
        conn.execute(text("UPDATE departments SET head_id = 99 WHERE id = 1"), ())
            .await,
        ErrorKind::Integrity(IntegrityKind::ForeignKey)
    );
    if db.kind != Kind::Sqlite {
        assert_eq!(e.constraint(), Some("fk_departments_head_id_employees"));
    }
    conn.rollback().await?;
    assert_err!(
        conn.execute(
            text("INSERT INTO employees (id, department_id) VALUES (11, 42)"),
            ()
        )
        .await,
        ErrorKind::Integrity(IntegrityKind::ForeignKey)
    );
    conn.rollback().await?;
    drop(conn);
    // Dropped with rows in both tables.
    md.drop_all(&engine).await?;
    assert_eq!(table_count(&db, &engine).await?, 0);
    Ok(())
}

async fn constraint_names_are_the_servers(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let md = blog();
    md.create_all(&engine).await?;
    engine
        .execute(
            text("INSERT INTO users (email, name) VALUES ('a@x', 'A')"),
            (),
        )
        .await?;
    let e = assert_err!(
        engine
            .execute(
                text("INSERT INTO users (email, name) VALUES ('a@x', 'B')"),
                ()
            )
            .await,
        ErrorKind::Integrity(IntegrityKind::Unique)
    );
    let e2 = assert_err!(
        engine.execute(text("INSERT INTO posts (user_id, title, uid) VALUES (99, 't', '00000000000000000000000000000002')"), ()).await,
        ErrorKind::Integrity(IntegrityKind::ForeignKey)
    );
    let e3 = assert_err!(
        engine
            .execute(
                text("INSERT INTO users (email, name, balance) VALUES ('b@x', 'B', -1)"),
                ()
            )
            .await,
        ErrorKind::Integrity(IntegrityKind::Check)
    );
    if db.kind != Kind::Sqlite {
        assert_eq!(e.constraint(), Some("uq_users_email"), "{e}");
        assert_eq!(e2.constraint(), Some("fk_posts_user_id_users"), "{e2}");
        assert_eq!(e3.constraint(), Some("ck_users_balance_positive"), "{e3}");
    }
    // The index names too: ask the catalog.
    let sql = match db.kind {
        Kind::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'posts' AND name LIKE 'ix_%' ORDER BY name",
        Kind::Postgres => "SELECT indexname FROM pg_indexes WHERE tablename = 'posts' AND indexname LIKE 'ix_%' ORDER BY indexname",
        Kind::Mysql => "SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'posts' AND index_name LIKE 'ix_%' ORDER BY index_name",
    };
    let names: Vec<String> = engine.execute(text(sql), ()).await?.scalars()?;
    assert_eq!(names, ["ix_posts_title", "ix_posts_user_id_published_at"]);
    md.drop_all(&engine).await?;
    Ok(())
}

fn placeholder(db: &TestDb, i: usize) -> String {
    match db.kind {
        Kind::Sqlite => format!("?{i}"),
        Kind::Postgres => format!("${i}"),
        Kind::Mysql => "?".into(),
    }
}

async fn hostile_identifiers(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let weird = [
        "select",
        "we\"ird",
        "back`tick",
        "it's",
        "with space",
        "é 日本",
    ];
    let mut md = MetaData::new();
    let mut b = Table::builder("order").column(Column::new("id", SqlType::Integer).primary_key());
    for name in weird {
        b = b.column(Column::new(name, SqlType::string(50)));
    }
    md.add(
        b.unique(["select"])
            .index(["é 日本", "it's"], false)
            .build()?,
    )?;
    md.add(
        Table::builder("l'ordre \"du\" `jour` é")
            .column(Column::new("id", SqlType::Integer).primary_key())
            .column(
                Column::new("order id", SqlType::Integer)
                    .not_null()
                    .references("order.id")
                    .on_delete(ReferentialAction::Cascade),
            )
            .build()?,
    )?;
    md.create_all(&engine).await?;
    md.create_all(&engine).await?; // checkfirst finds the hostile names too

    let d = engine.dialect().clone();
    let q = |s: &str| d.quote_identifier(s);
    let cols: Vec<String> = weird.iter().map(|c| q(c)).collect();
    let phs: Vec<String> = (1..=weird.len()).map(|i| placeholder(&db, i)).collect();
    let insert = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        q("order"),
        cols.join(", "),
        phs.join(", ")
    );
    let values: Vec<Value> = weird
        .iter()
        .map(|c| Value::from(format!("value of {c}")))
        .collect();
    let mut conn = engine.connect().await?;
    conn.exec_driver_sql(&insert, &values).await?;
    conn.exec_driver_sql(
        &format!(
            "INSERT INTO {} ({}) VALUES ({})",
            q("l'ordre \"du\" `jour` é"),
            q("order id"),
            placeholder(&db, 1)
        ),
        &[Value::I64(1)],
    )
    .await?;
    conn.commit().await?;
    let row = conn
        .exec_driver_sql(
            &format!("SELECT {} FROM {}", cols.join(", "), q("order")),
            &[],
        )
        .await?
        .one()?;
    for (i, c) in weird.iter().enumerate() {
        assert_eq!(row.get::<String, _>(i)?, format!("value of {c}"));
    }
    let keys: Vec<String> = conn
        .exec_driver_sql(
            &format!("SELECT {} FROM {}", cols.join(", "), q("order")),
            &[],
        )
        .await?
        .keys()
        .map(str::to_string)
        .collect();
    assert_eq!(keys, weird);
    let e = assert_err!(
        conn.exec_driver_sql(&insert, &values).await,
        ErrorKind::Integrity(IntegrityKind::Unique)
    );
    if db.kind != Kind::Sqlite {
        assert_eq!(e.constraint(), Some("uq_order_select"), "{e}");
    }
    conn.rollback().await?;
    drop(conn);
    md.drop_all(&engine).await?;
    assert_eq!(table_count(&db, &engine).await?, 0);
    Ok(())
}

async fn hostile_server_defaults(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let hostile = [
        "it's",
        r"back\slash",
        r"\'",
        r"\\''\",
        "\"double\" `tick`",
        ":name %s ? $1",
        "line\nbreak\ttab",
        "é 日本 🦀",
        "'); DROP TABLE t; --",
    ];
    let mut b = Table::builder("t").column(Column::new("id", SqlType::Integer).primary_key());
    for (i, h) in hostile.iter().enumerate() {
        b = b.column(Column::new(format!("c{i}"), SqlType::string(100)).server_default(*h));
    }
    b = b
        .column(
            Column::new("j", SqlType::Json).server_default(serde_json::json!({"a": "it's \\ \""})),
        )
        .column(Column::new("n", SqlType::numeric(10, 3)).server_default(Decimal::new(-12345, 3)))
        .column(Column::new("f", SqlType::Float).server_default(0.1_f64))
        .column(Column::new("flag", SqlType::Boolean).server_default(false));
    let mut md = MetaData::new();
    md.add(b.build()?)?;
    md.create_all(&engine).await?;
    engine
        .execute(text("INSERT INTO t (id) VALUES (1)"), ())
        .await?;
    let row = engine.execute(text("SELECT * FROM t"), ()).await?.one()?;
    for (i, h) in hostile.iter().enumerate() {
        assert_eq!(
            row.get::<String, _>(format!("c{i}").as_str())?,
            *h,
            "column c{i}"
        );
    }
    assert_eq!(
        row.get::<serde_json::Value, _>("j")?,
        serde_json::json!({"a": "it's \\ \""})
    );
    assert_eq!(row.get::<Decimal, _>("n")?, Decimal::new(-12345, 3));
    assert_eq!(row.get::<f64, _>("f")?, 0.1);
    assert!(!row.get::<bool, _>("flag")?);
    md.drop_all(&engine).await?;
    Ok(())
}

all_backends!(
    create_use_and_drop,
    checkfirst,
    foreign_key_cycle,
    constraint_names_are_the_servers,
    hostile_identifiers,
    hostile_server_defaults,
);
