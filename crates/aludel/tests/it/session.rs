//! The Session on every backend, through `#[derive(Model)]`: identity map,
//! unit-of-work ordering, changed-columns-only UPDATEs, rollback and a
//! failed flush.

use aludel::orm::{Model, Session};
use aludel::schema::MetaData;
use aludel::sql::{select, Expr};
use aludel::{params, text, ErrorKind, Model};

use crate::harness::{Kind, TestDb};

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "authors")]
struct Author {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(unique, length = 100)]
    name: String,
    karma: i32,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "books")]
struct Book {
    #[aludel(primary_key, autoincrement = false)]
    id: i64,
    #[aludel(foreign_key = "authors.id")]
    author_id: i64,
    #[aludel(length = 100)]
    title: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "accounts")]
struct Account {
    #[aludel(primary_key)]
    id: i64,
    balance: i64,
    #[aludel(version)]
    version: i32,
}

fn untitled() -> aludel::Value {
    aludel::Value::from("untitled")
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "drafts")]
struct Draft {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 50, default = "untitled")]
    title: Option<String>,
}

async fn setup(db: &TestDb) -> aludel::Result<aludel::Engine> {
    let engine = db.engine();
    let mut md = MetaData::new();
    md.add(Author::table().clone())?;
    md.add(Book::table().clone())?;
    md.add(Account::table().clone())?;
    md.add(Draft::table().clone())?;
    md.create_all(&engine).await?;
    Ok(engine)
}

fn author(name: &str) -> Author {
    Author {
        id: 0,
        name: name.into(),
        karma: 0,
    }
}

async fn identity_map_and_generated_keys(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    let ada = s.add(author("Ada"));
    let grace = s.add(author("Grace"));
    s.flush().await?;
    assert_eq!((s[ada].id, s[grace].id), (1, 2));
    // The same row is the same object, without a query.
    assert_eq!(s.get::<Author>(1).await?, Some(ada));
    let found = s
        .query::<Author>()
        .filter(Author::name.eq("Grace"))
        .all()
        .await?;
    assert_eq!(found, [grace]);
    assert_eq!(s.get::<Author>(99).await?, None);
    s.commit().await?;
    // A fresh session sees the committed rows.
    let mut other = Session::new(&engine);
    let k = other.get::<Author>(2).await?.expect("row");
    assert_eq!(other[k].name, "Grace");
    Ok(())
}

/// Parents are inserted before children whatever the order they were
/// added in, and children deleted before parents.
async fn unit_of_work_orders_by_foreign_key(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    let book = s.add(Book {
        id: 7,
        author_id: 10,
        title: "Notes".into(),
    });
    let writer = s.add(Author {
        id: 10,
        name: "Ada".into(),
        karma: 0,
    });
    s.commit().await?;
    let n: i64 = engine
        .execute(text("SELECT count(*) FROM books"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 1);
    let book = s.get::<Book>(7).await?.unwrap_or(book);
    let writer = s.get::<Author>(10).await?.unwrap_or(writer);
    s.delete(writer)?;
    s.delete(book)?;
    s.commit().await?;
    let n: i64 = engine
        .execute(text("SELECT count(*) FROM authors"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 0);
    Ok(())
}

/// An UPDATE sets only the changed columns: a concurrent change to another
/// column survives the flush.
async fn update_sets_only_changed_columns(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    s.set_expire_on_commit(false);
    let ada = s.add(author("Ada"));
    s.commit().await?;
    engine
        .execute(
            text("UPDATE authors SET karma = :k WHERE id = 1"),
            params! { "k": 42 },
        )
        .await?;
    s[ada].name = "Ada Lovelace".into();
    s.commit().await?;
    let row: (String, i32) = engine
        .execute(text("SELECT name, karma FROM authors WHERE id = 1"), ())
        .await?
        .one_as()?;
    assert_eq!(
        row,
        ("Ada Lovelace".into(), 42),
        "karma was not written back"
    );
    // An unchanged object emits nothing: a row deleted behind the session's
    // back is not noticed by a commit with no changes.
    engine
        .execute(text("DELETE FROM authors WHERE id = 1"), ())
        .await?;
    s.commit().await?;
    Ok(())
}

async fn failed_flush_rolls_back(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    let ada = s.add(author("Ada"));
    s.commit().await?;
    let dup = s.add(author("Ada"));
    let err = assert_err!(s.flush().await, ErrorKind::Integrity(_));
    assert!(err.to_string().contains("rolled back"), "{err}");
    assert!(!s.contains(dup));
    assert_eq!(
        crate::harness::settle(&engine).await.checked_out,
        0,
        "the connection went back"
    );
    // Usable right away (no PendingRollbackError).
    let bea = s.add(author("Bea"));
    s.commit().await?;
    let n: i64 = engine
        .execute(text("SELECT count(*) FROM authors"), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 2);
    assert!(s.contains(bea) && s.contains(ada));
    Ok(())
}

async fn rollback_restores_objects(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    let ada = s.add(author("Ada"));
    s.commit().await?;
    let ada_now = s.load(ada).await?;
    ada_now.karma = 5;
    s.flush().await?;
    let temp = s.add(author("Temp"));
    s.flush().await?;
    s.rollback().await?;
    assert!(!s.contains(temp), "inserted in the rolled-back transaction");
    assert!(s.is_expired(ada));
    assert_eq!(s[ada].karma, 0, "a flushed change is undone in memory too");
    assert_eq!(s.load(ada).await?.karma, 0, "reloaded from the database");
    Ok(())
}

/// Optimistic locking: a concurrent change makes the flush fail with a
/// stale-data error naming the table and key.
async fn version_column_detects_concurrent_changes(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut a = Session::new(&engine);
    let acct = a.add(Account {
        id: 0,
        balance: 100,
        version: 0,
    });
    a.commit().await?;
    assert_eq!(a.load(acct).await?.version, 1, "versions start at 1");
    // b reads the row in a transaction of its own (as one web request
    // would), keeping the object (no expiry) for a later write.
    let mut b = Session::new(&engine);
    b.set_expire_on_commit(false);
    let in_b = b.get::<Account>(1).await?.expect("row");
    b.commit().await?;
    a.load(acct).await?.balance += 10;
    a.commit().await?;
    assert_eq!(a.load(acct).await?.version, 2);
    // End a's read transaction: on SQLite (rollback journal) an open read
    // transaction would block b's commit until the busy timeout.
    a.commit().await?;
    b[in_b].balance -= 50;
    let err = assert_err!(b.commit().await, ErrorKind::StaleData);
    let msg = err.to_string();
    assert!(msg.contains("accounts") && msg.contains("I64(1)"), "{msg}");
    assert!(msg.contains("rolled back"), "{msg}");
    let (balance, version): (i64, i32) = engine
        .execute(
            text("SELECT balance, version FROM accounts WHERE id = 1"),
            (),
        )
        .await?
        .one_as()?;
    assert_eq!((balance, version), (110, 2), "the stale write did not land");
    // b reloads and can write.
    b.load(in_b).await?.balance -= 50;
    b.commit().await?;
    assert_eq!(b.load(in_b).await?.balance, 60);
    Ok(())
}

all_backends!(
    version_column_detects_concurrent_changes,
    identity_map_and_generated_keys,
    unit_of_work_orders_by_foreign_key,
    update_sets_only_changed_columns,
    failed_flush_rolls_back,
    rollback_restores_objects,
);

/// expunge hands the object back; merge copies a detached object's state
/// onto the tracked one; close forgets everything.
async fn expunge_merge_close(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let factory = aludel::orm::SessionFactory::new(&engine).expire_on_commit(false);
    let mut s = factory.session();
    let ada = s.add(author("Ada"));
    s.commit().await?;
    let mut detached = s.expunge(ada)?;
    assert!(!s.contains(ada));
    detached.karma = 7;
    let merged = s.merge(detached.clone()).await?;
    assert_eq!(s[merged].karma, 7);
    s.commit().await?;
    let karma: i32 = engine
        .execute(text("SELECT karma FROM authors WHERE id = 1"), ())
        .await?
        .scalar_one()?;
    assert_eq!(karma, 7, "the merged change was written");
    let new = s
        .merge(Author {
            id: 5,
            name: "New".into(),
            karma: 1,
        })
        .await?;
    s.commit().await?;
    assert_eq!(s[new].id, 5);
    s.close().await?;
    assert!(!s.contains(merged) && !s.contains(new));
    assert_eq!(
        s.get::<Author>(5).await?.map(|k| s[k].name.clone()),
        Some("New".into())
    );
    Ok(())
}

all_backends!(expunge_merge_close);

/// Bad input: each failure names what went wrong (with the constraint where
/// the server gives it) and leaves the database as it was.
async fn bad_input_leaves_the_database_unchanged(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let count = |sql: &'static str| {
        let engine = engine.clone();
        async move { engine.execute(text(sql), ()).await?.scalar_one::<i64>() }
    };
    let mut s = Session::new(&engine);
    s.add(Author {
        id: 1,
        name: "Ada".into(),
        karma: 0,
    });
    s.commit().await?;
    // The same primary key twice, alongside a valid object: nothing lands.
    s.add(author("Valid"));
    s.add(Author {
        id: 1,
        name: "Twin".into(),
        karma: 0,
    });
    let err = assert_err!(
        s.commit().await,
        ErrorKind::Integrity(aludel::IntegrityKind::Unique)
    );
    let msg = err.to_string();
    assert!(
        msg.contains("INSERT of") && msg.contains("\"authors\""),
        "{msg}"
    );
    assert_eq!(count("SELECT count(*) FROM authors").await?, 1);
    // A foreign key to a missing row.
    s.add(Book {
        id: 1,
        author_id: 404,
        title: "Orphan".into(),
    });
    let err = assert_err!(
        s.commit().await,
        ErrorKind::Integrity(aludel::IntegrityKind::ForeignKey)
    );
    if db.kind != crate::harness::Kind::Sqlite {
        assert_eq!(
            err.constraint(),
            Some("fk_books_author_id_authors"),
            "{err}"
        );
    }
    assert_eq!(count("SELECT count(*) FROM books").await?, 0);
    // A key from another session, and keys after close.
    let mut other = Session::new(&engine);
    let foreign = other.add(author("Elsewhere"));
    let _ = foreign;
    let ada = s.get::<Author>(1).await?.expect("row");
    s.close().await?;
    let err = assert_err!(s.delete(ada), ErrorKind::Config);
    assert!(err.to_string().contains("not in this session"), "{err}");
    assert!(s.try_get(ada).is_err());
    assert_eq!(count("SELECT count(*) FROM authors").await?, 1);
    Ok(())
}

/// The talk's `Model.query`: querying straight from the model type.
async fn model_query_convenience(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    for n in ["Ada", "Grace", "Linus"] {
        s.add(author(n));
    }
    s.commit().await?;
    let found = Author::query(&mut s)
        .filter(Author::name.like("%a%"))
        .order_by([Author::name.asc()])
        .all()
        .await?;
    let names: Vec<&str> = found.iter().map(|k| s[*k].name.as_str()).collect();
    assert_eq!(names, ["Ada", "Grace"]);
    assert_eq!(Author::query(&mut s).count().await?, 3);
    assert!(Author::query(&mut s)
        .filter(Author::karma.gt(0))
        .first()
        .await?
        .is_none());
    assert_err!(Author::query(&mut s).one().await, ErrorKind::MultipleRows);
    assert!(
        Author::query(&mut s)
            .filter(Author::name.eq("Linus"))
            .exists()
            .await?
    );
    Ok(())
}

all_backends!(
    bad_input_leaves_the_database_unchanged,
    model_query_convenience
);

/// A flush of many new objects is batched into multi-row INSERTs, and every
/// object gets the id of its own row (generated ids on every backend, also
/// after an explicit id pushed the sequence or counter).
async fn batched_flush_assigns_the_right_ids(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    s.set_expire_on_commit(false);
    s.add(author("first"));
    s.commit().await?;
    s.add(Author {
        id: 100_000,
        name: "explicit".into(),
        karma: 0,
    });
    let keys = s.add_all((0..1500).map(|i| author(&format!("a{i}"))));
    let accts: Vec<_> = (0..3)
        .map(|_| {
            s.add(Account {
                id: 0,
                balance: 1,
                version: 0,
            })
        })
        .collect();
    s.commit().await?;
    let ids: Vec<i64> = keys.iter().map(|k| s[*k].id).collect();
    assert!(
        ids.windows(2).all(|w| w[1] > w[0]),
        "ids increase in the order added"
    );
    // What the database holds, read through another connection.
    let rows: std::collections::HashMap<i64, String> = engine
        .execute(text("SELECT id, name FROM authors"), ())
        .await?
        .all_as::<(i64, String)>()?
        .into_iter()
        .collect();
    assert_eq!(rows.len(), 1502);
    for k in &keys {
        assert_eq!(
            rows.get(&s[*k].id),
            Some(&s[*k].name),
            "object and row agree"
        );
    }
    for a in accts {
        assert_eq!(s[a].version, 1, "versions start at 1 in a batch too");
    }
    Ok(())
}

all_backends!(batched_flush_assigns_the_right_ids);

/// Bulk UPDATE and DELETE by query keep the Session's objects in step.
async fn bulk_update_and_delete_by_query(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    s.set_expire_on_commit(false);
    let keys: Vec<_> = ["Ada", "Grace", "Linus", "Barbara"]
        .iter()
        .map(|n| s.add(author(n)))
        .collect();
    s.commit().await?;
    let before = s.statement_count();
    let n = Author::query(&mut s)
        .filter(Author::name.like("%a%"))
        .update([("karma", Expr::from(Author::karma).add(10))])
        .await?;
    assert_eq!(n, 3, "Ada, Grace, Barbara");
    assert_eq!(
        s.statement_count() - before,
        3,
        "matching keys, the UPDATE, one SELECT reloading the tracked objects"
    );
    let karmas: Vec<i32> = keys.iter().map(|k| s[*k].karma).collect();
    assert_eq!(karmas, [10, 10, 0, 10], "tracked objects were reloaded");
    let gone = Author::query(&mut s)
        .filter(Author::karma.eq(10))
        .filter(Author::name.ne("Ada"))
        .delete()
        .await?;
    assert_eq!(gone, 2);
    assert!(
        s.contains(keys[0]) && !s.contains(keys[1]) && s.contains(keys[2]) && !s.contains(keys[3])
    );
    s.commit().await?;
    let left: i64 = engine
        .execute(text("SELECT count(*) FROM authors"), ())
        .await?
        .scalar_one()?;
    assert_eq!(left, 2);
    Ok(())
}

all_backends!(bulk_update_and_delete_by_query);

/// Joins between models, and column or tuple selects through a query.
async fn joins_and_column_selects(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    s.add(Author {
        id: 1,
        name: "Ada".into(),
        karma: 3,
    });
    s.add(Author {
        id: 2,
        name: "Grace".into(),
        karma: 5,
    });
    s.add(Book {
        id: 1,
        author_id: 1,
        title: "Notes".into(),
    });
    s.add(Book {
        id: 2,
        author_id: 1,
        title: "Engine".into(),
    });
    s.commit().await?;
    let writers = Author::query(&mut s)
        .join::<Book>()
        .filter(Book::title.eq("Engine"))
        .all()
        .await?;
    assert_eq!(writers.len(), 1);
    assert_eq!(s[writers[0]].name, "Ada");
    let names: Vec<String> = Author::query(&mut s)
        .order_by([Author::name.asc()])
        .scalars(Author::name)
        .await?;
    assert_eq!(names, ["Ada", "Grace"]);
    let pairs: Vec<(String, String)> = Author::query(&mut s)
        .join::<Book>()
        .order_by([Book::id.asc()])
        .rows_as([Author::name.expr(), Book::title.expr()])
        .await?;
    assert_eq!(
        pairs,
        [
            ("Ada".into(), "Notes".into()),
            ("Ada".into(), "Engine".into())
        ]
    );
    Ok(())
}

all_backends!(joins_and_column_selects);

/// expire: the next load reads the row again, dropping unflushed changes.
async fn expire_reloads(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    s.set_expire_on_commit(false);
    let ada = s.add(author("Ada"));
    s.commit().await?;
    engine
        .execute(text("UPDATE authors SET karma = 9"), ())
        .await?;
    s[ada].name = "unsaved".into();
    s.expire(ada)?;
    assert!(s.is_expired(ada));
    let fresh = s.load(ada).await?;
    assert_eq!((fresh.name.as_str(), fresh.karma), ("Ada", 9));
    s.expire_all();
    assert!(s.is_expired(ada));
    Ok(())
}

all_backends!(expire_reloads);

/// A Rust-side default fills a column left NULL at INSERT, in the database
/// and in the object.
async fn rust_side_defaults(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    s.set_expire_on_commit(false);
    let blank = s.add(Draft { id: 0, title: None });
    let named = s.add(Draft {
        id: 0,
        title: Some("mine".into()),
    });
    s.commit().await?;
    assert_eq!(s[blank].title.as_deref(), Some("untitled"));
    assert_eq!(s[named].title.as_deref(), Some("mine"));
    let titles: Vec<String> = engine
        .execute(text("SELECT title FROM drafts ORDER BY id"), ())
        .await?
        .scalars()?;
    assert_eq!(titles, ["untitled", "mine"]);
    Ok(())
}

all_backends!(rust_side_defaults);

/// A flush with nothing to write sends nothing, however many objects the
/// Session holds; a mutable borrow makes the next flush look again.
async fn idle_flush_sends_nothing(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    s.add_all(["Ada", "Grace", "Linus"].map(author));
    s.commit().await?;
    let keys = Author::query(&mut s).all().await?;
    let read: Vec<String> = keys.iter().map(|&k| s[k].name.clone()).collect();
    assert_eq!(read.len(), 3);
    let before = s.statement_count();
    let time_before = s.statement_time();
    assert!(time_before > std::time::Duration::ZERO);
    s.flush().await?;
    assert_eq!(
        s.statement_time(),
        time_before,
        "an idle flush waits for nothing"
    );
    Author::query(&mut s).count().await?; // autoflush first
    assert_eq!(s.statement_count() - before, 1, "only the COUNT");
    assert!(s.statement_time() > time_before);
    s[keys[0]].karma = 5;
    let before = s.statement_count();
    s.flush().await?;
    assert_eq!(s.statement_count() - before, 1, "the UPDATE");
    s.flush().await?;
    assert_eq!(s.statement_count() - before, 1, "nothing new");
    Ok(())
}

all_backends!(idle_flush_sends_nothing);

/// `stream()` reads a model query row by row into untracked values, after
/// flushing what is pending; the identity map is left as it was.
async fn streamed_queries(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    let names: Vec<String> = (0..250).map(|i| format!("author {i:03}")).collect();
    s.add_all(names.iter().map(|n| author(n)));
    s.commit().await?;

    let mut s = Session::new(&engine);
    let first = Author::query(&mut s)
        .filter(Author::name.eq("author 000"))
        .one()
        .await?;
    s[first].karma = 7; // pending: the stream's autoflush writes it
    let before = s.statement_count();
    let mut stream = Author::query(&mut s)
        .filter(Author::karma.ge(0))
        .order_by([Author::name.asc()])
        .stream()
        .await?;
    let mut read = Vec::new();
    while let Some(a) = stream.try_next().await? {
        read.push(a);
    }
    drop(stream);
    assert_eq!(
        s.statement_count() - before,
        2,
        "the UPDATE, then the SELECT"
    );
    assert_eq!(
        read.iter().map(|a| a.name.clone()).collect::<Vec<_>>(),
        names
    );
    assert_eq!(read[0].karma, 7, "pending change flushed before streaming");

    // Nothing streamed was put in the identity map: a get by key selects.
    let before = s.statement_count();
    let last = s.get::<Author>(read[249].id).await?.expect("author");
    assert_eq!(s.statement_count() - before, 1);
    assert_eq!(s[last].name, "author 249");
    // The tracked object was not replaced either.
    let again = s.get::<Author>(read[0].id).await?.expect("author");
    assert_eq!(again, first);
    assert_eq!(
        s.statement_count() - before,
        1,
        "served from the identity map"
    );

    // A decode error names the column, mid-stream too.
    let mut s = Session::new(&engine);
    let mut bad = s
        .connection()
        .await?
        .stream(text("SELECT id, name, 'x' AS karma FROM authors"), ())
        .await?
        .typed::<Author>();
    let err = bad.try_next().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert!(err.to_string().contains("\"karma\""), "{err}");
    Ok(())
}

all_backends!(streamed_queries);

/// Sessions joined to a shared connection: each runs in a savepoint of the
/// shared transaction (commit releases it, rollback undoes only its own
/// work, a dropped Session's work is undone by the next), they take turns,
/// and rolling the shared transaction back leaves the database as it was.
async fn sessions_joined_to_a_shared_connection(db: TestDb) -> aludel::Result<()> {
    use aludel::orm::{SessionFactory, SharedConnection};
    let engine = setup(&db).await?;
    let shared = SharedConnection::begin(&engine).await?;
    let factory = SessionFactory::new(&engine).join(&shared);

    let mut s = factory.session();
    s.add(author("Ada"));
    s.commit().await?;
    // The INSERT alone (PostgreSQL's keys come back by RETURNING): the
    // savepoint statements are not counted.
    assert_eq!(s.statement_count(), 1);

    let mut s = factory.session();
    assert_eq!(
        Author::query(&mut s).count().await?,
        1,
        "committed to the shared txn"
    );
    s.add(author("Grace"));
    s.flush().await?;
    assert_eq!(Author::query(&mut s).count().await?, 2);
    s.rollback().await?;

    let mut s = factory.session();
    assert_eq!(
        Author::query(&mut s).count().await?,
        1,
        "the rollback undid Grace only"
    );
    s.add(author("Linus"));
    s.flush().await?;
    drop(s); // neither committed nor rolled back

    let mut s = factory.session();
    assert_eq!(
        Author::query(&mut s).count().await?,
        1,
        "the dropped Session's work is undone"
    );
    // A failed flush rolls back to the savepoint; the shared transaction
    // goes on.
    s.add(author("Ada"));
    let err = s.flush().await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Integrity(_)), "{err}");
    assert_eq!(Author::query(&mut s).count().await?, 1);

    // Joined Sessions take turns: a second one waits for the first.
    let mut other = factory.session();
    let waiting = tokio::spawn(async move {
        let n = Author::query(&mut other).count().await;
        other.rollback().await.map(|()| n)
    });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        !waiting.is_finished(),
        "waits while `s` holds the connection"
    );
    s.commit().await?;
    assert_eq!(waiting.await.expect("task")??, 1);

    // Direct statements share the transaction too.
    let n: i64 = shared
        .run(async |conn| {
            conn.execute(text("SELECT count(*) FROM authors"), ())
                .await?
                .scalar_one()
        })
        .await?;
    assert_eq!(n, 1);

    shared.rollback().await?;
    let mut fresh = Session::new(&engine);
    assert_eq!(Author::query(&mut fresh).count().await?, 0, "nothing kept");
    let err = factory
        .session()
        .execute(text("SELECT 1"), ())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    Ok(())
}

all_backends!(sessions_joined_to_a_shared_connection);

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "audit_events", bind = "audit")]
struct AuditEvent {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 100)]
    what: String,
}

/// Models on a named bind live in the bind's database; a query can be
/// routed to another bind (a replica); a bind the Session lacks is an
/// error naming it; commit and rollback cover every bind.
async fn binds_route_models_and_queries(db: TestDb) -> aludel::Result<()> {
    use aludel::orm::SessionFactory;
    let engine = setup(&db).await?;
    let audit_db = crate::harness::extra_db(&db, "audit").await;
    let replica_db = crate::harness::extra_db(&db, "replica").await;
    let result = async {
        let audit = audit_db.engine();
        let mut md = MetaData::new();
        md.add(AuditEvent::table().clone())?;
        md.create_all(&audit).await?;
        let replica = replica_db.engine();
        let mut md = MetaData::new();
        md.add(Author::table().clone())?;
        md.create_all(&replica).await?;
        replica
            .execute(
                text("INSERT INTO authors (id, name, karma) VALUES (7, 'on the replica', 0)"),
                (),
            )
            .await?;

        let factory = SessionFactory::new(&engine)
            .bind("audit", &audit)
            .bind("replica", &replica);
        let mut s = factory.session();
        s.add(author("Ada"));
        s.add(AuditEvent {
            id: 0,
            what: "Ada signed up".into(),
        });
        s.commit().await?;
        // Each row went to its own database.
        let n: i64 = engine
            .execute(text("SELECT count(*) FROM authors"), ())
            .await?
            .scalar_one()?;
        assert_eq!(n, 1);
        let what: String = audit
            .execute(text("SELECT what FROM audit_events"), ())
            .await?
            .scalar_one()?;
        assert_eq!(what, "Ada signed up");
        assert!(
            engine
                .execute(text("SELECT count(*) FROM audit_events"), ())
                .await
                .is_err(),
            "no audit table in the default database"
        );

        // Queries of a bound model go to its bind; `bind()` routes a query.
        let mut s = factory.session();
        let events = AuditEvent::query(&mut s).all().await?;
        assert_eq!(s[events[0]].what, "Ada signed up");
        let from_replica = Author::query(&mut s).bind("replica").all().await?;
        assert_eq!(s[from_replica[0]].name, "on the replica");
        let on_main = Author::query(&mut s).all().await?;
        assert_eq!(s[on_main[0]].name, "Ada");

        // Rollback covers every bind.
        s.add(AuditEvent {
            id: 0,
            what: "discarded".into(),
        });
        s.add(author("Grace"));
        s.flush().await?;
        s.rollback().await?;
        let n: i64 = audit
            .execute(text("SELECT count(*) FROM audit_events"), ())
            .await?
            .scalar_one()?;
        assert_eq!(n, 1);

        // A bind on another backend than the default engine: the bind's
        // dialect writes its rows (generated keys included).
        let dir =
            std::env::temp_dir().join(format!("aludel-binds-{}-{:?}", std::process::id(), db.kind));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let other = aludel::create_engine(format!("sqlite:///{}", dir.join("main.db").display()))?;
        let mixed = SessionFactory::new(&other).bind("audit", &audit);
        let mut s = mixed.session();
        let k = s.add(AuditEvent {
            id: 0,
            what: "from a SQLite default".into(),
        });
        s.commit().await?;
        assert!(
            s[k].id > 1,
            "the key the audit database generated: {}",
            s[k].id
        );
        drop(s);
        other.dispose();
        let _ = std::fs::remove_dir_all(&dir);

        // The registry knows each model's bind.
        let audit_tables = aludel::orm::registered_metadata_for(Some("audit"))?;
        assert!(audit_tables.table("audit_events").is_some());
        assert!(audit_tables.table("authors").is_none());
        let default_tables = aludel::orm::registered_metadata_for(None)?;
        assert!(default_tables.table("authors").is_some());
        assert!(default_tables.table("audit_events").is_none());

        // A Session without the bind says so, naming it.
        let mut plain = Session::new(&engine);
        let err = AuditEvent::query(&mut plain).all().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("no bind named \"audit\""), "{err}");
        Ok::<_, aludel::Error>(())
    }
    .await;
    crate::harness::drop_extra(audit_db).await;
    crate::harness::drop_extra(replica_db).await;
    result
}

all_backends!(binds_route_models_and_queries);

/// Whether another connection can lock `authors` exclusively right now: it
/// cannot while a transaction that read the table is open (PostgreSQL's
/// ACCESS SHARE lock, MySQL's metadata lock, both held to the end of the
/// transaction). `None` on SQLite, whose readers take no such lock.
async fn authors_lockable(db: &TestDb, engine: &aludel::Engine) -> aludel::Result<Option<bool>> {
    let mut conn = engine.connect().await?;
    let res = match db.kind {
        Kind::Sqlite => return Ok(None),
        Kind::Postgres => {
            let res = conn
                .execute(
                    text("LOCK TABLE authors IN ACCESS EXCLUSIVE MODE NOWAIT"),
                    (),
                )
                .await;
            conn.rollback().await?;
            res.map(drop)
        }
        Kind::Mysql => {
            conn.set_autocommit(true)?;
            conn.execute(text("SET SESSION lock_wait_timeout = 1"), ())
                .await?;
            let res = conn.execute(text("LOCK TABLES authors WRITE"), ()).await;
            conn.execute(text("UNLOCK TABLES"), ()).await?;
            conn.execute(text("SET SESSION lock_wait_timeout = DEFAULT"), ())
                .await?;
            res.map(drop)
        }
    };
    match res {
        Ok(()) => Ok(Some(true)),
        Err(e) => {
            let msg = e.to_string().to_lowercase();
            assert!(msg.contains("lock"), "not a lock error: {e}");
            Ok(Some(false))
        }
    }
}

/// Reads before a Session's first write run outside a transaction: a
/// Session that only reads holds no transaction (and no lock) while it
/// lives, and sends no BEGIN or ROLLBACK. The first write begins the
/// transaction; `begin()` and `begin_on_write(false)` (SQLAlchemy's way)
/// begin it at the next statement, reads included.
async fn reads_before_the_first_write_hold_no_transaction(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    s.add(author("Ada"));
    s.add(author("Grace"));
    s.commit().await?;

    let mut s = Session::new(&engine);
    let all = s
        .query::<Author>()
        .order_by([Author::id.asc()])
        .all()
        .await?;
    let ada = s.get::<Author>(1).await?.expect("Ada");
    assert_eq!(all[0], ada, "one row, one object");
    assert_eq!(s.query::<Author>().count().await?, 2);
    assert!(!s.in_transaction(), "reads alone opened a transaction");
    assert_ne!(authors_lockable(&db, &engine).await?, Some(false));

    // The first write begins the transaction, and it holds the table.
    s[ada].karma = 5;
    s.flush().await?;
    assert!(s.in_transaction());
    assert_ne!(authors_lockable(&db, &engine).await?, Some(true));
    // Reads after it are inside it: they see the flushed change.
    let karma: i32 = s
        .execute(
            &select([Author::karma.expr()])
                .from(Author::table())
                .filter(Author::id.eq(1)),
            (),
        )
        .await?
        .scalar_one()?;
    assert_eq!(karma, 5);
    s.rollback().await?;
    assert!(!s.in_transaction());
    assert_eq!(s[ada].karma, 0, "rollback restored the loaded value");
    assert_ne!(authors_lockable(&db, &engine).await?, Some(false));

    // Autoflush before a query writes, so the query runs in the transaction.
    s.add(author("Linus"));
    assert_eq!(s.query::<Author>().count().await?, 3);
    assert!(s.in_transaction());
    s.rollback().await?;

    // begin(): the next read opens the transaction.
    s.begin();
    s.query::<Author>().all().await?;
    assert!(s.in_transaction());
    assert_ne!(authors_lockable(&db, &engine).await?, Some(true));
    s.commit().await?;
    assert!(!s.in_transaction(), "commit ends what begin() opened");
    s.query::<Author>().all().await?;
    assert!(!s.in_transaction(), "after commit, reads are outside again");

    // SQLAlchemy's way: the first statement begins, reads included.
    let mut sa = aludel::orm::SessionFactory::new(&engine)
        .begin_on_write(false)
        .session();
    sa.get::<Author>(2).await?;
    assert!(sa.in_transaction());
    assert_ne!(authors_lockable(&db, &engine).await?, Some(true));
    sa.close().await?;
    assert!(!sa.in_transaction());
    drop(s);
    assert_eq!(
        engine
            .execute(text("SELECT count(*) FROM authors"), ())
            .await?
            .scalar_one::<i64>()?,
        2,
        "nothing rolled back was kept"
    );
    Ok(())
}

all_backends!(reads_before_the_first_write_hold_no_transaction);

/// A query whose join repeats a row gives one object per row, the same key
/// each time, whether the Session held objects of the type before or not.
async fn repeated_rows_are_one_object(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    let ada = s.add(author("Ada"));
    s.add(author("Grace"));
    s.flush().await?;
    let ada_id = s[ada].id;
    for (id, title) in [(1, "Notes"), (2, "Letters"), (3, "Sketches")] {
        s.add(Book {
            id,
            author_id: ada_id,
            title: title.into(),
        });
    }
    s.commit().await?;
    for fresh in [true, false] {
        let mut s = Session::new(&engine);
        if !fresh {
            s.get::<Author>(2).await?.expect("Grace");
        }
        let keys = s
            .query::<Author>()
            .join::<Book>()
            .order_by([Book::id.asc()])
            .all()
            .await?;
        assert_eq!(keys.len(), 3, "one key per row");
        assert!(keys.iter().all(|&k| k == keys[0]), "one object: {keys:?}");
        assert_eq!(s[keys[0]].name, "Ada");
        s[keys[0]].karma = 9;
        s.commit().await?;
        let karma: i32 = engine
            .execute(text("SELECT karma FROM authors WHERE name = 'Ada'"), ())
            .await?
            .scalar_one()?;
        assert_eq!(karma, 9);
        engine
            .execute(text("UPDATE authors SET karma = 0"), ())
            .await?;
    }
    Ok(())
}

all_backends!(repeated_rows_are_one_object);

/// Objects inserted by a flush are tracked like loaded ones: unchanged,
/// they write nothing; changed, one UPDATE of what changed (the version
/// column too); a rollback forgets them and their keys.
async fn inserted_objects_track_changes(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    let ada = s.add(author("Ada"));
    let acct = s.add(Account {
        id: 0,
        balance: 10,
        version: 0,
    });
    s.flush().await?;
    let before = s.statement_count();
    s.flush().await?;
    assert_eq!(s.statement_count(), before, "inserted, unchanged: no SQL");
    s[ada].karma = 3;
    s[acct].balance = 20;
    s.flush().await?;
    assert_eq!(s.statement_count(), before + 2, "one UPDATE each");
    assert_eq!(s[acct].version, 2, "the UPDATE moved the version");
    let ada_id = s[ada].id;
    let stmt = select([Author::karma.expr()])
        .from(Author::table())
        .filter(Author::id.eq(ada_id));
    let karma: i32 = s.execute(&stmt, ()).await?.scalar_one()?;
    assert_eq!(karma, 3);
    s.rollback().await?;
    assert!(!s.contains(ada) && !s.contains(acct));
    assert_eq!(s.get::<Author>(ada_id).await?, None, "the row went too");
    let again = s.add(author("Grace"));
    s.commit().await?;
    let id = s.load(again).await?.id;
    assert_eq!(s.get::<Author>(id).await?, Some(again));
    assert_eq!(s[again].name, "Grace");
    Ok(())
}

all_backends!(inserted_objects_track_changes);

/// `with_for_update`: the query begins the Session's transaction and its
/// rows stay locked until commit: another transaction's NOWAIT lock on them
/// fails, SKIP LOCKED passes them over, and both succeed after the commit.
/// SQLite has no row locks: the clause is left out, the transaction begins.
async fn for_update_locks_rows_until_commit(db: TestDb) -> aludel::Result<()> {
    use aludel::sql::ForUpdate;
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    for balance in [10, 20] {
        s.add(Account {
            id: 0,
            balance,
            version: 0,
        });
    }
    s.commit().await?;

    let mut a = Session::new(&engine);
    let locked = a
        .query::<Account>()
        .filter(Account::id.eq(1))
        .with_for_update(ForUpdate::new())
        .all()
        .await?;
    assert_eq!(locked.len(), 1);
    assert!(a.in_transaction(), "a locking read begins the transaction");
    let ids = || select([Account::id.expr()]).from(Account::table());
    let mut other = engine.connect().await?;
    if db.kind != Kind::Sqlite {
        let nowait = ids()
            .filter(Account::id.eq(1))
            .with_for_update(ForUpdate::new().nowait());
        let err = other.execute(&nowait, ()).await.unwrap_err();
        assert!(err.to_string().to_lowercase().contains("lock"), "{err}");
        other.rollback().await?;
        let skip = ids()
            .order_by([Account::id.asc()])
            .with_for_update(ForUpdate::new().skip_locked());
        let free: Vec<i64> = other.execute(&skip, ()).await?.scalars()?;
        assert_eq!(free, [2], "the locked row is skipped");
        other.rollback().await?;
    }
    a.commit().await?;
    assert!(!a.in_transaction());
    let all = ids()
        .order_by([Account::id.asc()])
        .with_for_update(ForUpdate::new().nowait());
    let got: Vec<i64> = other.execute(&all, ()).await?.scalars()?;
    assert_eq!(got, [1, 2], "free after the commit");
    other.rollback().await?;
    Ok(())
}

all_backends!(for_update_locks_rows_until_commit);
