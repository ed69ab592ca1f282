//! The expression language on real servers: every construct runs on each
//! backend and its rows are asserted.

use aludel::schema::{Column, SqlType, Table};
use aludel::sql::{
    case, cast, delete, exists, func, insert, literal, select, sq, update, Cte, Expr,
};
use aludel::{params, text, Connection, ErrorKind};

use crate::harness::{Kind, TestDb};

struct Schema {
    users: Table,
    posts: Table,
}

async fn schema(db: &TestDb, conn: &mut Connection) -> aludel::Result<Schema> {
    let users = Table::builder("users")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(Column::new("name", SqlType::string(50)).not_null())
        .column(Column::new("age", SqlType::Integer))
        .build()?;
    let posts = Table::builder("posts")
        .column(Column::new("id", SqlType::Integer).primary_key())
        .column(
            Column::new("user_id", SqlType::Integer)
                .not_null()
                .references("users.id"),
        )
        .column(Column::new("title", SqlType::string(100)).not_null())
        .column(Column::new("score", SqlType::Integer))
        .build()?;
    let pk = db.serial_pk();
    conn.execute(
        text(format!(
            "CREATE TABLE users (id {pk}, name VARCHAR(50) NOT NULL, age INTEGER)"
        )),
        (),
    )
    .await?;
    conn.execute(
        text(format!(
            "CREATE TABLE posts (id {pk}, user_id BIGINT NOT NULL REFERENCES users (id), \
             title VARCHAR(100) NOT NULL, score INTEGER)"
        )),
        (),
    )
    .await?;
    conn.commit().await?;
    let rows = [
        ("Ada", Some(36)),
        ("Grace", Some(85)),
        ("Linus", None),
        ("Barbara", Some(80)),
    ];
    let stmt = insert(&users).values_many(
        rows.iter()
            .map(|(n, a)| [("name", Expr::from(*n)), ("age", Expr::from(*a))]),
    );
    assert_eq!(conn.execute(&stmt, ()).await?.rows_affected(), 4);
    let posts_rows = [
        (1, "Notes", Some(10)),
        (1, "Engine", Some(30)),
        (2, "COBOL", Some(20)),
        (3, "Kernel", None),
    ];
    let stmt = insert(&posts).values_many(posts_rows.iter().map(|(u, t, s)| {
        [
            ("user_id", Expr::from(*u)),
            ("title", Expr::from(*t)),
            ("score", Expr::from(*s)),
        ]
    }));
    conn.execute(&stmt, ()).await?;
    conn.commit().await?;
    Ok(Schema { users, posts })
}

async fn filters_and_ordering(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let Schema { users: u, .. } = schema(&db, &mut conn).await?;
    let names = |rows: Vec<String>| rows;
    let q = select([u.c("name")])
        .filter(u.c("age").between(30, 81))
        .order_by([u.c("name").asc()]);
    assert_eq!(
        names(conn.execute(&q, ()).await?.scalars()?),
        ["Ada", "Barbara"]
    );
    let q = select([u.c("name")])
        .filter(u.c("name").ilike("%A%").and(!u.c("name").like("G%")))
        .order_by([u.c("id").asc()]);
    assert_eq!(
        conn.execute(&q, ()).await?.scalars::<String>()?,
        ["Ada", "Barbara"]
    );
    let q = select([u.c("name")]).filter(u.c("id").in_(Vec::<i32>::new()));
    assert!(
        conn.execute(&q, ()).await?.scalars::<String>()?.is_empty(),
        "empty IN matches nothing"
    );
    let q = select([func::count_star()])
        .from(&u)
        .filter(u.c("id").not_in(Vec::<i32>::new()));
    assert_eq!(conn.execute(&q, ()).await?.scalar_one::<i64>()?, 4);
    let q = select([u.c("name")]).filter(u.c("age").is_null());
    assert_eq!(conn.execute(&q, ()).await?.scalars::<String>()?, ["Linus"]);
    // NULLS FIRST / LAST, emulated on MySQL.
    let q = select([u.c("name")]).order_by([u.c("age").desc().nulls_first()]);
    assert_eq!(
        conn.execute(&q, ()).await?.scalars::<String>()?,
        ["Linus", "Grace", "Barbara", "Ada"]
    );
    let q = select([u.c("name")])
        .order_by([u.c("age").asc().nulls_last()])
        .limit(2)
        .offset(1);
    assert_eq!(
        conn.execute(&q, ()).await?.scalars::<String>()?,
        ["Barbara", "Grace"]
    );
    let q = select([u.c("name")]).order_by([u.c("id").asc()]).offset(3);
    assert_eq!(
        conn.execute(&q, ()).await?.scalars::<String>()?,
        ["Barbara"]
    );
    let q = select([u.c("name")])
        .distinct()
        .filter(Expr::from(true).eq(true))
        .order_by([u.c("name").asc()])
        .limit(1);
    assert_eq!(conn.execute(&q, ()).await?.scalars::<String>()?, ["Ada"]);
    Ok(())
}

async fn joins_groups_and_subqueries(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let Schema { users: u, posts: p } = schema(&db, &mut conn).await?;
    // JOIN with ON inferred from the foreign key.
    let q = select([u.c("name"), p.c("title")])
        .from(&u)
        .join(&p)
        .order_by([p.c("id").asc()]);
    let rows: Vec<(String, String)> = conn.execute(&q, ()).await?.all_as()?;
    assert_eq!(rows[0], ("Ada".into(), "Notes".into()));
    assert_eq!(rows.len(), 4);
    // LEFT JOIN keeps users without posts; GROUP BY / HAVING.
    let n = func::count(p.c("id")).label("n");
    let q = select([u.c("name"), n])
        .from(&u)
        .left_join(&p)
        .group_by([u.c("name")])
        .having(func::count(p.c("id")).lt(2))
        .order_by([u.c("name").asc()]);
    let rows: Vec<(String, i64)> = conn.execute(&q, ()).await?.all_as()?;
    assert_eq!(
        rows,
        [
            ("Barbara".into(), 0),
            ("Grace".into(), 1),
            ("Linus".into(), 1)
        ]
    );
    // A correlated scalar subquery and EXISTS.
    let posts_of = select([func::count_star()])
        .from(&p)
        .filter(p.c("user_id").eq(u.c("id")))
        .scalar_subquery();
    let q = select([u.c("name"), posts_of.label("posts")])
        .filter(exists(
            select([p.c("id")]).filter(p.c("user_id").eq(u.c("id")).and(p.c("score").gt(15))),
        ))
        .order_by([u.c("id").asc()]);
    let rows: Vec<(String, i64)> = conn.execute(&q, ()).await?.all_as()?;
    assert_eq!(rows, [("Ada".into(), 2), ("Grace".into(), 1)]);
    // IN (SELECT …), a subquery in FROM, and an alias for a self-join.
    let q = select([u.c("name")]).filter(
        u.c("id")
            .in_select(select([p.c("user_id")]).filter(p.c("score").is_null())),
    );
    assert_eq!(conn.execute(&q, ()).await?.scalars::<String>()?, ["Linus"]);
    let best = select([p.c("user_id"), func::max(p.c("score")).label("top")])
        .from(&p)
        .group_by([p.c("user_id")]);
    let q = select([sq("b", "top")])
        .from_subquery(best, "b")
        .filter(sq("b", "user_id").eq(1));
    assert_eq!(conn.execute(&q, ()).await?.scalar_one::<i64>()?, 30);
    let older = u.alias("older");
    let q = select([func::count_star()])
        .from(&u)
        .join_on(&older, older.c("age").gt(u.c("age")))
        .filter(u.c("name").eq("Ada"));
    assert_eq!(conn.execute(&q, ()).await?.scalar_one::<i64>()?, 2);
    Ok(())
}

async fn functions_case_cast_windows(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let Schema { users: u, posts: p } = schema(&db, &mut conn).await?;
    let grade = case(
        [
            (u.c("age").ge(80), literal("senior")),
            (u.c("age").lt(80), literal("junior")),
        ],
        Some(literal("unknown")),
    );
    let q = select([u.c("name"), grade.label("grade")]).order_by([u.c("id").asc()]);
    let rows: Vec<(String, String)> = conn.execute(&q, ()).await?.all_as()?;
    assert_eq!(rows[1], ("Grace".into(), "senior".into()));
    assert_eq!(rows[2], ("Linus".into(), "unknown".into()));
    let q =
        select([cast(u.c("age"), SqlType::string(10)).label("s")]).filter(u.c("name").eq("Ada"));
    assert_eq!(conn.execute(&q, ()).await?.scalar_one::<String>()?, "36");
    let q = select([func::coalesce([func::sum(p.c("score")), literal(0)])]).from(&p);
    assert_eq!(conn.execute(&q, ()).await?.scalar_one::<i64>()?, 60);
    let q = select([u.c("name").concat("!").label("shout")]).filter(u.c("id").eq(1));
    assert_eq!(conn.execute(&q, ()).await?.scalar_one::<String>()?, "Ada!");
    let rank = func::row_number()
        .over([p.c("user_id")], [p.c("score").desc()])
        .label("r");
    let q = select([p.c("title"), rank])
        .filter(p.c("user_id").eq(1))
        .order_by([p.c("id").asc()]);
    let rows: Vec<(String, i64)> = conn.execute(&q, ()).await?.all_as()?;
    assert_eq!(rows, [("Notes".into(), 2), ("Engine".into(), 1)]);
    Ok(())
}

async fn set_operations_and_ctes(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let Schema { users: u, .. } = schema(&db, &mut conn).await?;
    let young = select([u.c("name")]).filter(u.c("age").lt(50));
    let named_a = select([u.c("name")]).filter(u.c("name").like("%a%"));
    let mut all: Vec<String> = conn
        .execute(&young.clone().union(named_a.clone()), ())
        .await?
        .scalars()?;
    all.sort();
    assert_eq!(all, ["Ada", "Barbara", "Grace"]);
    let n: Vec<String> = conn
        .execute(&young.clone().union_all(named_a.clone()), ())
        .await?
        .scalars()?;
    assert_eq!(n.len(), 4, "{n:?}");
    let both: Vec<String> = conn
        .execute(&young.clone().intersect(named_a.clone()), ())
        .await?
        .scalars()?;
    assert_eq!(both, ["Ada"]);
    let only: Vec<String> = conn.execute(&named_a.except(young), ()).await?.scalars()?;
    let mut only = only;
    only.sort();
    assert_eq!(only, ["Barbara", "Grace"]);
    // WITH RECURSIVE.
    if db.kind == Kind::Mysql {
        conn.execute(text("SET SESSION max_recursive_iterations = 1000"), ())
            .await?;
    }
    let nums = Cte::new("nums").columns(["x"]);
    let body = select([literal(1).label("x")]).union_all(
        select([nums.c("x").add(1)])
            .from_cte(&nums)
            .filter(nums.c("x").lt(5)),
    );
    let q = select([func::sum(nums.c("x"))])
        .with(nums.recursive(body))
        .from_cte_name("nums");
    assert_eq!(conn.execute(&q, ()).await?.scalar_one::<i64>()?, 15);
    // A plain CTE.
    let adults =
        Cte::new("adults").defined(select([u.c("name"), u.c("age")]).filter(u.c("age").ge(18)));
    let q = select([func::count_star()])
        .with(adults)
        .from_cte_name("adults");
    assert_eq!(conn.execute(&q, ()).await?.scalar_one::<i64>()?, 3);
    Ok(())
}

async fn insert_update_delete_upsert(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let Schema { users: u, posts: p } = schema(&db, &mut conn).await?;
    // INSERT … RETURNING where the dialect has it (MariaDB 10.5+ does).
    let ins = insert(&u)
        .values([("name", Expr::from("Edsger")), ("age", 72.into())])
        .returning([u.c("id")]);
    assert!(engine.dialect().supports_returning());
    assert_eq!(conn.execute(&ins, ()).await?.scalar_one::<i64>()?, 5);
    // INSERT … SELECT.
    let copy = insert(&p).from_select(
        ["user_id", "title"],
        select([u.c("id"), u.c("name")]).filter(u.c("age").gt(80)),
    );
    assert_eq!(conn.execute(&copy, ()).await?.rows_affected(), 1);
    // UPDATE with an expression and a bound parameter at execution.
    let up = update(&u)
        .set("age", u.c("age").add(1))
        .filter(u.c("name").eq(aludel::sql::bindparam("who")));
    assert_eq!(
        conn.execute(&up, params! { "who": "Ada" })
            .await?
            .rows_affected(),
        1
    );
    let age: i64 = conn
        .execute(&select([u.c("age")]).filter(u.c("name").eq("Ada")), ())
        .await?
        .scalar_one()?;
    assert_eq!(age, 37);
    let missing = conn.execute(&up, ()).await;
    assert_err!(missing, ErrorKind::Bind);
    // UPDATE … RETURNING: PostgreSQL and SQLite; MariaDB has none.
    let ret = update(&u)
        .set("age", 40)
        .filter(u.c("name").eq("Edsger"))
        .returning([u.c("age")]);
    match db.kind {
        Kind::Mysql => {
            let e = assert_err!(conn.execute(&ret, ()).await, ErrorKind::Unsupported);
            assert!(
                e.to_string()
                    .contains("UPDATE … RETURNING is not supported by the mariadb dialect"),
                "{e}"
            );
        }
        _ => assert_eq!(conn.execute(&ret, ()).await?.scalar_one::<i64>()?, 40),
    }
    // DELETE … RETURNING (MariaDB has it).
    let del = delete(&p)
        .filter(p.c("score").is_null())
        .returning([p.c("title")]);
    let mut gone: Vec<String> = conn.execute(&del, ()).await?.scalars()?;
    gone.sort();
    assert_eq!(gone, ["Grace", "Kernel"]);
    // Upsert on the primary key.
    let up = insert(&u)
        .values([
            ("id", Expr::from(1)),
            ("name", "Ada L.".into()),
            ("age", 36.into()),
        ])
        .on_conflict_do_update(["id"], ["name"]);
    conn.execute(&up, ()).await?;
    let row: (String, i64) = conn
        .execute(
            &select([u.c("name"), u.c("age")]).filter(u.c("id").eq(1)),
            (),
        )
        .await?
        .one_as()?;
    assert_eq!(row, ("Ada L.".into(), 37), "name updated, age kept");
    let ignore = insert(&u)
        .values([("id", Expr::from(1)), ("name", "nobody".into())])
        .on_conflict_do_nothing(["id"]);
    conn.execute(&ignore, ()).await?;
    let n: i64 = conn
        .execute(&select([func::count_star()]).from(&u), ())
        .await?
        .scalar_one()?;
    assert_eq!(n, 5);
    conn.commit().await?;
    Ok(())
}

/// Hostile values are bound, never spliced: they round-trip unchanged.
async fn hostile_values(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut conn = engine.connect().await?;
    let Schema { users: u, .. } = schema(&db, &mut conn).await?;
    let nasty = [
        "'; DROP TABLE users; --",
        "back\\slash",
        "quote'\"`",
        "ÿ 日本 😀",
        "a\u{0}b",
    ];
    for (i, v) in nasty.iter().enumerate() {
        if v.contains('\u{0}') && db.kind == Kind::Postgres {
            continue; // PostgreSQL text cannot hold NUL.
        }
        let id = 100 + i as i32;
        conn.execute(
            &insert(&u).values([("id", Expr::from(id)), ("name", (*v).into())]),
            (),
        )
        .await?;
        let back: String = conn
            .execute(&select([u.c("name")]).filter(u.c("id").eq(id)), ())
            .await?
            .scalar_one()?;
        assert_eq!(&back, v);
        let found: i64 = conn
            .execute(
                &select([func::count_star()])
                    .from(&u)
                    .filter(u.c("name").eq(*v)),
                (),
            )
            .await?
            .scalar_one()?;
        assert_eq!(found, 1);
    }
    Ok(())
}

all_backends!(
    filters_and_ordering,
    joins_groups_and_subqueries,
    functions_case_cast_windows,
    set_operations_and_ctes,
    insert_update_delete_upsert,
    hostile_values,
);

/// Hostile identifiers are quoted by the dialect everywhere the expression
/// language writes them.
async fn hostile_identifiers(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let names = ["select", "we\"ird", "back`tick", "it's", "sp ace", "é日本"];
    let table = names
        .iter()
        .fold(Table::builder("order"), |t, n| {
            t.column(Column::new(*n, SqlType::string(40)))
        })
        .build()?;
    let d = engine.dialect();
    let cols: Vec<String> = names
        .iter()
        .map(|n| format!("{} VARCHAR(40)", d.quote_identifier(n)))
        .collect();
    let ddl = format!(
        "CREATE TABLE {} ({})",
        d.quote_identifier("order"),
        cols.join(", ")
    );
    let mut conn = engine.connect().await?;
    conn.exec_driver_sql(&ddl, &[]).await?;
    conn.commit().await?;
    let row: Vec<(String, Expr)> = names
        .iter()
        .map(|n| (n.to_string(), Expr::from(format!("v-{n}"))))
        .collect();
    conn.execute(&insert(&table).values(row), ()).await?;
    for n in names {
        let q = select([table.c(n)]).filter(table.c(n).eq(format!("v-{n}")));
        assert_eq!(
            conn.execute(&q, ()).await?.scalar_one::<String>()?,
            format!("v-{n}")
        );
    }
    let up = update(&table)
        .set("select", "changed")
        .filter(table.c("it's").eq("v-it's"));
    assert_eq!(conn.execute(&up, ()).await?.rows_affected(), 1);
    conn.commit().await?;
    Ok(())
}

all_backends!(hostile_identifiers);
