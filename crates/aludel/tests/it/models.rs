//! `#[derive(Model)]` and `#[derive(DbEnum)]`: the generated table, the
//! typed column handles, and models created, written and read on every
//! backend.

use aludel::orm::{DbEnum as _, Model};
use aludel::schema::{MetaData, ReferentialAction, ServerDefault, SqlType};
use aludel::sql::{delete, insert, select, update, Expr};
use aludel::{DbEnum, ErrorKind, Model, Value};
use chrono::{NaiveDate, NaiveDateTime};

use crate::harness::TestDb;

#[derive(DbEnum, Debug, Clone, Copy, PartialEq)]
#[aludel(name = "user_role")]
enum Role {
    Admin,
    Member,
    #[aludel(rename = "read-only")]
    ReadOnly,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "users")]
struct User {
    #[aludel(primary_key, autoincrement)]
    id: i64,
    #[aludel(unique, length = 200)]
    email: String,
    nickname: Option<String>,
    #[aludel(server_default = "member")]
    role: Role,
    #[aludel(server_default_sql = "CURRENT_TIMESTAMP")]
    created: NaiveDateTime,
    /// Not a column.
    #[aludel(skip)]
    visits: u64,
}

fn untitled() -> String {
    "untitled".into()
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "posts")]
struct Post {
    #[aludel(primary_key)]
    id: i32,
    #[aludel(foreign_key = "users.id", on_delete = "cascade", index)]
    user_id: i64,
    #[aludel(column = "headline", length = 100, default = "untitled")]
    title: String,
    #[aludel(text)]
    body: String,
    score: Option<f64>,
    #[aludel(version)]
    version: i32,
}

/// An association with a composite key.
#[derive(Model, Debug, Clone, PartialEq)]
struct PostTag {
    #[aludel(
        primary_key,
        foreign_key = "posts.id",
        on_delete = "cascade",
        on_update = "no action"
    )]
    post_id: i32,
    #[aludel(primary_key, length = 50)]
    tag: String,
    tagged_on: Option<NaiveDate>,
}

fn metadata() -> MetaData {
    let mut md = MetaData::new();
    md.add(User::table().clone()).unwrap();
    md.add(Post::table().clone()).unwrap();
    md.add(PostTag::table().clone()).unwrap();
    md
}

/// Every column of a model, for a select that decodes into it.
fn columns<M: Model>() -> Vec<Expr> {
    M::column_names().iter().map(|c| M::table().c(c)).collect()
}

#[test]
fn generated_table() {
    let users = User::table();
    assert!(std::ptr::eq(users, User::table()), "built once");
    assert_eq!(users.name(), "users");
    assert_eq!(
        User::column_names(),
        ["id", "email", "nickname", "role", "created"]
    );
    assert_eq!(users.primary_key(), ["id"]);
    assert_eq!(users.autoincrement_column().unwrap().name(), "id");
    let col = |name: &str| users.column(name).unwrap();
    assert_eq!(col("id").sql_type(), &SqlType::BigInteger);
    assert_eq!(col("email").sql_type(), &SqlType::String(Some(200)));
    assert!(!col("email").is_nullable());
    assert_eq!(col("nickname").sql_type(), &SqlType::String(Some(255)));
    assert!(col("nickname").is_nullable());
    assert_eq!(
        col("role").sql_type(),
        &SqlType::enumeration("user_role", ["admin", "member", "read-only"])
    );
    assert_eq!(
        col("role").default(),
        Some(&ServerDefault::Value(Value::from("member")))
    );
    assert_eq!(col("created").sql_type(), &SqlType::datetime());
    assert_eq!(
        col("created").default(),
        Some(&ServerDefault::Sql("CURRENT_TIMESTAMP".into()))
    );
    assert_eq!(users.unique_constraints()[0].columns, ["email"]);
    assert!(users.indexes().is_empty());
    assert!(users.column("visits").is_err(), "skip maps no column");

    let posts = Post::table();
    assert_eq!(Post::column_names()[2], "headline");
    assert_eq!(
        posts.column("headline").unwrap().sql_type(),
        &SqlType::string(100)
    );
    assert_eq!(posts.column("body").unwrap().sql_type(), &SqlType::Text);
    assert_eq!(posts.column("score").unwrap().sql_type(), &SqlType::Float);
    let fk = &posts.foreign_keys()[0];
    assert_eq!(fk.columns, ["user_id"]);
    assert_eq!(
        (fk.referred_table.as_str(), fk.referred_columns.as_slice()),
        ("users", &["id".to_string()][..])
    );
    assert_eq!(fk.on_delete, Some(ReferentialAction::Cascade));
    assert_eq!(fk.on_update, None);
    assert_eq!(posts.indexes()[0].columns, ["user_id"]);
    assert!(!posts.indexes()[0].unique);
    assert_eq!(Post::VERSION_COLUMN, Some("version"));
    assert_eq!(User::VERSION_COLUMN, None);
    assert_eq!(Post::COLUMN_DEFAULTS.len(), 1);
    assert_eq!(Post::COLUMN_DEFAULTS[0].0, "headline");
    assert_eq!((Post::COLUMN_DEFAULTS[0].1)(), Value::from("untitled"));

    let tags = PostTag::table();
    assert_eq!(
        tags.name(),
        "post_tag",
        "default name: snake_case of the struct"
    );
    assert_eq!(tags.primary_key(), ["post_id", "tag"]);
    assert_eq!(PostTag::primary_key_positions(), [0, 1]);
    assert!(tags.autoincrement_column().is_none());
    assert_eq!(
        tags.foreign_keys()[0].on_update,
        Some(ReferentialAction::NoAction)
    );
    assert_eq!(tags.column("tagged_on").unwrap().sql_type(), &SqlType::Date);

    // The handles are typed columns bound to their table.
    assert_eq!(User::email.name(), "email");
    assert_eq!(Post::title.name(), "headline");
    let _: aludel::sql::Col<String> = User::nickname;
    let _: aludel::sql::Col<Role> = User::role;
}

#[test]
fn values_in_and_out() {
    let mut post = Post {
        id: 7,
        user_id: 1,
        title: "Hello".into(),
        body: "…".into(),
        score: None,
        version: 1,
    };
    assert_eq!(
        post.to_values(),
        [
            Value::I32(7),
            Value::I64(1),
            Value::from("Hello"),
            Value::from("…"),
            Value::Null,
            Value::I32(1)
        ]
    );
    assert_eq!(post.primary_key(), [Value::I32(7)]);
    post.set_value(0, Value::I64(8)).unwrap();
    post.set_value(4, Value::F64(2.5)).unwrap();
    assert_eq!((post.id, post.score), (8, Some(2.5)));
    let e = assert_err!(post.set_value(0, Value::from("eight")), ErrorKind::Decode);
    assert!(
        e.to_string()
            .contains("cannot set column \"id\" of table \"posts\" (Rust type i32)"),
        "{e}"
    );
    assert_err!(post.set_value(6, Value::Null), ErrorKind::Config);

    let tag = PostTag {
        post_id: 3,
        tag: "rust".into(),
        tagged_on: None,
    };
    assert_eq!(tag.primary_key(), [Value::I32(3), Value::from("rust")]);

    assert_eq!(Role::NAME, "user_role");
    assert_eq!(Role::ReadOnly.as_str(), "read-only");
    assert_eq!(Value::from(Role::ReadOnly), Value::from("read-only"));
    let e = <Role as aludel::FromValue>::from_value(Value::from("root")).unwrap_err();
    assert!(
        e.0.contains("\"root\" is not a variant of enum user_role"),
        "{}",
        e.0
    );
}

async fn create_write_read(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let md = metadata();
    md.create_all(&engine).await?;
    let mut conn = engine.connect().await?;

    for (email, nickname, role) in [
        ("ada@example.com", Some("ada"), Some(Role::Admin)),
        ("alan@example.com", None, None),
        ("grace@example.com", None, Some(Role::ReadOnly)),
    ] {
        let mut row = vec![
            ("email", Expr::from(email)),
            ("nickname", Expr::from(nickname)),
        ];
        if let Some(role) = role {
            row.push(("role", Expr::from(role)));
        }
        conn.execute(&insert(User::table()).values(row), ()).await?;
    }

    let ada: User = conn
        .execute(
            &select(columns::<User>()).filter(User::email.eq("ada@example.com")),
            (),
        )
        .await?
        .one_as()?;
    assert_eq!(ada.nickname.as_deref(), Some("ada"));
    assert_eq!(ada.role, Role::Admin);
    assert_eq!(ada.visits, 0);
    assert!(
        ada.created.and_utc().timestamp() > 1_600_000_000,
        "server default"
    );

    // Option columns compare with the inner type, and test for NULL.
    let unnamed: Vec<User> = conn
        .execute(
            &select(columns::<User>())
                .filter(User::nickname.is_null())
                .order_by([User::id.asc()]),
            (),
        )
        .await?
        .all_as()?;
    let emails: Vec<&str> = unnamed.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["alan@example.com", "grace@example.com"]);
    assert_eq!(unnamed[0].role, Role::Member, "the server default");
    assert_eq!(unnamed[1].role, Role::ReadOnly);
    let by_nick: i64 = conn
        .execute(&select([User::id]).filter(User::nickname.eq("ada")), ())
        .await?
        .scalar_one()?;
    assert_eq!(by_nick, ada.id);
    let readers: i64 = conn
        .execute(
            &select([aludel::sql::func::count_star()])
                .from(User::table())
                .filter(User::role.eq(Role::ReadOnly)),
            (),
        )
        .await?
        .scalar_one()?;
    assert_eq!(readers, 1);

    // Posts, written from a model's own values.
    let post = Post {
        id: 1,
        user_id: ada.id,
        title: "Notes".into(),
        body: "On the analytical engine".into(),
        score: Some(9.5),
        version: 1,
    };
    let row: Vec<(&str, Expr)> = Post::column_names()
        .iter()
        .copied()
        .zip(post.to_values().into_iter().map(Expr::from))
        .collect();
    conn.execute(&insert(Post::table()).values(row), ()).await?;
    let tag = PostTag {
        post_id: 1,
        tag: "history".into(),
        tagged_on: NaiveDate::from_ymd_opt(1843, 9, 1),
    };
    let row: Vec<(&str, Expr)> = PostTag::column_names()
        .iter()
        .copied()
        .zip(tag.to_values().into_iter().map(Expr::from))
        .collect();
    conn.execute(&insert(PostTag::table()).values(row), ())
        .await?;

    let posts: Vec<Post> = conn
        .execute(
            &select(columns::<Post>()).filter(Post::user_id.eq(ada.id)),
            (),
        )
        .await?
        .all_as()?;
    assert_eq!(posts, [post]);
    let tags: Vec<PostTag> = conn
        .execute(&select(columns::<PostTag>()), ())
        .await?
        .all_as()?;
    assert_eq!(tags, [tag]);

    conn.execute(
        &update(Post::table())
            .set("version", 2)
            .filter(Post::id.eq(1))
            .filter(Post::version.eq(1)),
        (),
    )
    .await?;
    let version: i32 = conn
        .execute(&select([Post::version]).filter(Post::id.eq(1)), ())
        .await?
        .scalar_one()?;
    assert_eq!(version, 2);

    // ON DELETE CASCADE from users to posts to post_tag.
    conn.execute(&delete(User::table()).filter(User::id.eq(ada.id)), ())
        .await?;
    let left: i64 = conn
        .execute(
            &select([aludel::sql::func::count_star()]).from(PostTag::table()),
            (),
        )
        .await?
        .scalar_one()?;
    assert_eq!(left, 0);
    conn.commit().await?;
    drop(conn);

    md.drop_all(&engine).await?;
    Ok(())
}

all_backends!(create_write_read);
