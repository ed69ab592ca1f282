//! Relationships on every backend: declaring (one-to-many, many-to-one,
//! one-to-one, many-to-many through an association model, self-referential),
//! loading (lazy and cached, selectin, joined, raise, chained), writing
//! through them, cascades, and statement counts.

use aludel::orm::{joined, lazyload, raiseload, selectin, Key, Model, Session};
use aludel::schema::MetaData;
use aludel::{text, ErrorKind, IntegrityKind, Model};

use crate::harness::TestDb;

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_users")]
#[aludel(has_many(posts: Post, back_populates = "author", cascade = "all, delete-orphan"))]
#[aludel(has_one(profile: Profile, back_populates = "user"))]
struct User {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 50)]
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_posts")]
#[aludel(belongs_to(author: User, back_populates = "posts"))]
#[aludel(has_many(comments: Comment, cascade = "all"))]
#[aludel(many_to_many(tags: Tag, through = PostTag, back_populates = "posts"))]
struct Post {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "r_users.id")]
    user_id: i64,
    #[aludel(length = 100)]
    title: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_comments")]
#[aludel(belongs_to(post: Post))]
struct Comment {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "r_posts.id")]
    post_id: i64,
    #[aludel(length = 100)]
    body: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_profiles")]
#[aludel(belongs_to(user: User, back_populates = "profile"))]
struct Profile {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "r_users.id", unique)]
    user_id: Option<i64>,
    #[aludel(length = 100)]
    bio: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_tags")]
#[aludel(many_to_many(posts: Post, through = PostTag, back_populates = "tags"))]
struct Tag {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 30)]
    label: String,
}

/// The association model (an association table with one extra column).
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_post_tags")]
struct PostTag {
    #[aludel(primary_key, autoincrement = false, foreign_key = "r_posts.id")]
    post_id: i64,
    #[aludel(primary_key, autoincrement = false, foreign_key = "r_tags.id")]
    tag_id: i64,
    #[aludel(server_default = 0)]
    weight: i32,
}

/// Self-referential: an employee's manager and reports.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_employees")]
#[aludel(belongs_to(manager: Employee, foreign_key = "manager_id", back_populates = "reports"))]
#[aludel(has_many(reports: Employee, foreign_key = "manager_id", back_populates = "manager"))]
struct Employee {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 50)]
    name: String,
    #[aludel(foreign_key = "r_employees.id")]
    manager_id: Option<i64>,
}

/// A parent whose children's foreign key is RESTRICT, without cascade.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_shelves")]
#[aludel(has_many(books: ShelfBook))]
struct Shelf {
    #[aludel(primary_key)]
    id: i64,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_shelf_books")]
struct ShelfBook {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "r_shelves.id", on_delete = "restrict")]
    shelf_id: i64,
}

/// Tracks load with every album query (declared `lazy = "selectin"`), and
/// deleting an album leaves its tracks to the database's ON DELETE CASCADE.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_albums")]
#[aludel(has_many(tracks: Track, lazy = "selectin", cascade = "all", passive_deletes))]
struct Album {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 50)]
    title: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_tracks")]
struct Track {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "r_albums.id", on_delete = "cascade")]
    album_id: i64,
    #[aludel(length = 50)]
    name: String,
}

/// A tree whose cascade points back at its own model.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_nodes")]
#[aludel(has_many(children: Node, foreign_key = "parent_id", back_populates = "parent", cascade = "all"))]
#[aludel(belongs_to(parent: Node, foreign_key = "parent_id", back_populates = "children"))]
struct Node {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "r_nodes.id")]
    parent_id: Option<i64>,
}

/// No foreign key to `User` at all: the relationship cannot resolve.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_orphans")]
#[aludel(belongs_to(owner: User))]
struct Stray {
    #[aludel(primary_key)]
    id: i64,
    owner_id: i64,
}

async fn setup(db: &TestDb) -> aludel::Result<aludel::Engine> {
    let engine = db.engine();
    let mut md = MetaData::new();
    for t in [
        User::table(),
        Post::table(),
        Comment::table(),
        Profile::table(),
        Tag::table(),
        PostTag::table(),
        Employee::table(),
        Shelf::table(),
        ShelfBook::table(),
        Album::table(),
        Track::table(),
        Node::table(),
    ] {
        md.add(t.clone())?;
    }
    md.create_all(&engine).await?;
    Ok(engine)
}

/// Three users with 0, 2 and 3 posts; each post has `post index + 1`
/// comments. Returns the users' keys.
async fn seed(s: &mut Session) -> aludel::Result<Vec<Key<User>>> {
    let mut users = Vec::new();
    for (i, name) in ["Ann", "Bob", "Cy"].iter().enumerate() {
        let u = s.add(User {
            id: 0,
            name: (*name).into(),
        });
        for p in 0..i + (i > 0) as usize {
            let post = s.add(Post {
                id: 0,
                user_id: 0,
                title: format!("{name} {p}"),
            });
            s.append(u, User::posts, post)?;
            for c in 0..=p {
                let comment = s.add(Comment {
                    id: 0,
                    post_id: 0,
                    body: format!("{name} {p} #{c}"),
                });
                s.append(post, Post::comments, comment)?;
            }
        }
        users.push(u);
    }
    s.commit().await?;
    Ok(users)
}

/// (user name, [(post title, [comment bodies])]) for comparing loaders.
type Tree = Vec<(String, Vec<(String, Vec<String>)>)>;

fn tree(s: &Session, users: &[Key<User>]) -> aludel::Result<Tree> {
    let mut out = Vec::new();
    for &u in users {
        let mut posts = Vec::new();
        for p in s.related(u, User::posts)? {
            let comments = s
                .related(p, Post::comments)?
                .into_iter()
                .map(|c| s[c].body.clone())
                .collect();
            posts.push((s[p].title.clone(), comments));
        }
        out.push((s[u].name.clone(), posts));
    }
    Ok(out)
}

fn expected() -> Tree {
    let mut out = Vec::new();
    for (i, name) in ["Ann", "Bob", "Cy"].iter().enumerate() {
        let posts = (0..i + (i > 0) as usize)
            .map(|p| {
                (
                    format!("{name} {p}"),
                    (0..=p).map(|c| format!("{name} {p} #{c}")).collect(),
                )
            })
            .collect();
        out.push(((*name).to_string(), posts));
    }
    out
}

/// Writes through `append` set the foreign keys at flush, parents first.
async fn append_sets_foreign_keys(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    seed(&mut s).await?;
    let rows: Vec<(String, String)> = engine
        .execute(
            text(
                "SELECT u.name, p.title FROM r_posts p JOIN r_users u ON u.id = p.user_id \
                 ORDER BY p.id",
            ),
            (),
        )
        .await?
        .all_as()?;
    assert_eq!(
        rows,
        [
            ("Bob".into(), "Bob 0".into()),
            ("Bob".into(), "Bob 1".into()),
            ("Cy".into(), "Cy 0".into()),
            ("Cy".into(), "Cy 1".into()),
            ("Cy".into(), "Cy 2".into()),
        ]
    );
    let comments: i64 = engine
        .execute(text("SELECT count(*) FROM r_comments"), ())
        .await?
        .scalar_one()?;
    assert_eq!(comments, 1 + 2 + 1 + 2 + 3);
    Ok(())
}

all_backends!(append_sets_foreign_keys);

/// Lazy loads are explicit, awaited and cached: the second load runs no SQL.
async fn lazy_load_is_cached(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    seed(&mut s).await?;
    let cy = User::query(&mut s)
        .filter(User::name.eq("Cy"))
        .one()
        .await?;
    assert!(!s.is_loaded(cy, User::posts));
    assert_err!(s.related(cy, User::posts), ErrorKind::NotLoaded);
    let before = s.statement_count();
    let posts = s.load_related(cy, User::posts).await?;
    assert_eq!(s.statement_count() - before, 1, "one SELECT");
    assert_eq!(posts.len(), 3);
    let again = s.load_related(cy, User::posts).await?;
    assert_eq!(again, posts, "same keys");
    assert_eq!(s.statement_count() - before, 1, "cached: no second SELECT");
    // back_populates: each post's author is known without SQL.
    assert_eq!(s.related(posts[0], Post::author)?, Some(cy));
    // Many-to-one, lazily.
    let first_comment = s.load_related(posts[1], Post::comments).await?[0];
    let post = s.load_related(first_comment, Comment::post).await?;
    assert_eq!(post, Some(posts[1]), "identity map: the same post object");
    Ok(())
}

all_backends!(lazy_load_is_cached);

/// selectin, joined and lazy loading give the same objects; the eager ones
/// in a fixed number of statements.
async fn loaders_agree(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    seed(&mut s).await?;

    // selectin, chained: users, then posts, then comments: 3 SELECTs.
    let mut s1 = Session::new(&engine);
    let before = s1.statement_count();
    let users = User::query(&mut s1)
        .order_by([User::id.asc()])
        .options(selectin(User::posts).then(selectin(Post::comments)))
        .all()
        .await?;
    assert_eq!(s1.statement_count() - before, 3);
    assert_eq!(tree(&s1, &users)?, expected());

    // joined for posts (one query with a LEFT JOIN), then selectin comments.
    let mut s2 = Session::new(&engine);
    let before = s2.statement_count();
    let users2 = User::query(&mut s2)
        .order_by([User::id.asc()])
        .options(joined(User::posts).then(selectin(Post::comments)))
        .all()
        .await?;
    assert_eq!(s2.statement_count() - before, 2);
    assert_eq!(users2.len(), 3, "parents repeated by the join come once");
    assert_eq!(tree(&s2, &users2)?, expected());

    // Lazy, one relationship at a time: 1 + 3 + 5 statements (N+1).
    let mut s3 = Session::new(&engine);
    let before = s3.statement_count();
    let users3 = User::query(&mut s3)
        .order_by([User::id.asc()])
        .all()
        .await?;
    for &u in &users3 {
        for p in s3.load_related(u, User::posts).await? {
            s3.load_related(p, Post::comments).await?;
        }
    }
    assert_eq!(s3.statement_count() - before, 1 + 3 + 5);
    assert_eq!(tree(&s3, &users3)?, expected());

    // joined many-to-one, and joined with a LIMIT (runs as a second SELECT).
    let mut s4 = Session::new(&engine);
    let posts = Post::query(&mut s4)
        .order_by([Post::id.asc()])
        .options(joined(Post::author))
        .all()
        .await?;
    let authors: Vec<String> = posts
        .iter()
        .map(|&p| {
            let a = s4.related(p, Post::author)?.expect("author");
            Ok(s4[a].name.clone())
        })
        .collect::<aludel::Result<_>>()?;
    assert_eq!(authors, ["Bob", "Bob", "Cy", "Cy", "Cy"]);
    let before = s4.statement_count();
    let two = User::query(&mut s4)
        .order_by([User::id.desc()])
        .limit(2)
        .options(joined(User::posts))
        .all()
        .await?;
    assert_eq!(s4.statement_count() - before, 2);
    assert_eq!(two.len(), 2, "LIMIT counts parents, not joined rows");
    assert_eq!(s4.related(two[0], User::posts)?.len(), 3);
    Ok(())
}

all_backends!(loaders_agree);

/// raise: per query and as a session default, naming model and relationship.
async fn raise_refuses_lazy_loads(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    seed(&mut s).await?;
    let mut s = Session::new(&engine);
    let users = User::query(&mut s)
        .options(raiseload(User::posts))
        .all()
        .await?;
    let e = assert_err!(
        s.load_related(users[0], User::posts).await,
        ErrorKind::NotLoaded
    );
    assert!(e.to_string().contains("User.posts"), "{e}");
    // Other relationships still load lazily.
    s.load_related(users[0], User::profile).await?;

    let mut s = Session::new(&engine);
    s.set_raise_on_lazy_load(true);
    let users = User::query(&mut s)
        .options(selectin(User::posts))
        .all()
        .await?;
    assert!(
        s.load_related(users[2], User::posts).await?.len() == 3,
        "eager: fine"
    );
    let posts = s.related(users[2], User::posts)?;
    let e = assert_err!(
        s.load_related(posts[0], Post::comments).await,
        ErrorKind::NotLoaded
    );
    assert!(e.to_string().contains("Post.comments"), "{e}");
    Ok(())
}

all_backends!(raise_refuses_lazy_loads);

/// set_related, remove_related with and without delete-orphan, and the
/// NOT NULL check before SQL.
async fn writes_through_relationships(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    s.set_expire_on_commit(false);
    let users = seed(&mut s).await?;
    let (ann, bob) = (users[0], users[1]);
    let bobs = s.load_related(bob, User::posts).await?;
    s.load_related(ann, User::posts).await?;
    // Move a post from Bob to Ann through the many-to-one side.
    s.set_related(bobs[0], Post::author, Some(ann))?;
    assert_eq!(s.related(ann, User::posts)?, [bobs[0]], "back_populates");
    s.commit().await?;
    let owner: i64 = engine
        .execute(
            text("SELECT user_id FROM r_posts WHERE id = :id"),
            aludel::params! { "id": s[bobs[0]].id },
        )
        .await?
        .scalar_one()?;
    assert_eq!(owner, s[ann].id);

    // Post.user_id is NOT NULL and Comment has no delete-orphan on
    // Post.comments: removing one is refused before any SQL.
    let comments = s.load_related(bobs[1], Post::comments).await?;
    let before = s.statement_count();
    let e = assert_err!(
        s.remove_related(bobs[1], Post::comments, comments[0]),
        ErrorKind::Integrity(IntegrityKind::NotNull)
    );
    assert_eq!(e.column(), Some("post_id"));
    assert_eq!(s.statement_count(), before);

    // User.posts has delete-orphan: removing a post deletes it (and its
    // comments, by the "all" cascade of Post.comments).
    s.remove_related(bob, User::posts, bobs[1])?;
    s.commit().await?;
    let left: i64 = engine
        .execute(
            text("SELECT count(*) FROM r_posts WHERE user_id = :u"),
            aludel::params! { "u": s[bob].id },
        )
        .await?
        .scalar_one()?;
    assert_eq!(left, 0);
    let orphans: i64 = engine
        .execute(
            text("SELECT count(*) FROM r_comments c LEFT JOIN r_posts p ON p.id = c.post_id WHERE p.id IS NULL"),
            (),
        )
        .await?
        .scalar_one()?;
    assert_eq!(orphans, 0, "comments went with their post");

    // One-to-one with a nullable key: set, then clear.
    let profile = s.add(Profile {
        id: 0,
        user_id: None,
        bio: "hi".into(),
    });
    s.set_related(ann, User::profile, Some(profile))?;
    s.flush().await?;
    assert_eq!(s[profile].user_id, Some(s[ann].id));
    assert_eq!(s.related(profile, Profile::user)?, Some(ann));
    s.set_related(profile, Profile::user, None)?;
    s.commit().await?;
    let user_id: Option<i64> = engine
        .execute(text("SELECT user_id FROM r_profiles"), ())
        .await?
        .scalar_one()?;
    assert_eq!(user_id, None);
    Ok(())
}

all_backends!(writes_through_relationships);

/// Many-to-many through an association model: append inserts the row,
/// remove deletes it, and both sides load (selectin, lazy).
async fn many_to_many(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    let users = seed(&mut s).await?;
    let posts = s.load_related(users[2], User::posts).await?;
    let rust = s.add(Tag {
        id: 0,
        label: "rust".into(),
    });
    let sql = s.add(Tag {
        id: 0,
        label: "sql".into(),
    });
    for &p in &posts {
        s.append(p, Post::tags, rust)?;
    }
    s.append(posts[0], Post::tags, sql)?;
    s.commit().await?;
    let rows: i64 = engine
        .execute(
            text("SELECT count(*) FROM r_post_tags WHERE weight = 0"),
            (),
        )
        .await?
        .scalar_one()?;
    assert_eq!(rows, 4, "association rows, with the server default");

    let mut s = Session::new(&engine);
    let before = s.statement_count();
    let tags = Tag::query(&mut s)
        .order_by([Tag::label.asc()])
        .options(selectin(Tag::posts))
        .all()
        .await?;
    assert_eq!(s.statement_count() - before, 2);
    let counts: Vec<usize> = tags
        .iter()
        .map(|&t| s.related(t, Tag::posts).map(|p| p.len()))
        .collect::<aludel::Result<_>>()?;
    assert_eq!(counts, [3, 1]);
    let tagged = s.related(tags[1], Tag::posts)?[0];
    let its_tags = s.load_related(tagged, Post::tags).await?;
    assert_eq!(its_tags.len(), 2);
    s.remove_related(tagged, Post::tags, tags[1])?;
    s.commit().await?;
    let rows: i64 = engine
        .execute(text("SELECT count(*) FROM r_post_tags"), ())
        .await?
        .scalar_one()?;
    assert_eq!(rows, 3);
    Ok(())
}

all_backends!(many_to_many);

/// Self-referential: manager and reports, both ways.
async fn self_referential(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    let boss = s.add(Employee {
        id: 0,
        name: "Boss".into(),
        manager_id: None,
    });
    let names = ["Ann", "Bo"];
    for n in names {
        let e = s.add(Employee {
            id: 0,
            name: n.into(),
            manager_id: None,
        });
        s.set_related(e, Employee::manager, Some(boss))?;
    }
    s.commit().await?;
    let mut s = Session::new(&engine);
    let all = Employee::query(&mut s)
        .order_by([Employee::id.asc()])
        .options(selectin(Employee::reports))
        .options(joined(Employee::manager))
        .all()
        .await?;
    let reports: Vec<String> = s
        .related(all[0], Employee::reports)?
        .into_iter()
        .map(|k| s[k].name.clone())
        .collect();
    assert_eq!(reports, names);
    assert_eq!(s.related(all[1], Employee::manager)?, Some(all[0]));
    assert_eq!(s.related(all[0], Employee::manager)?, None);
    Ok(())
}

all_backends!(self_referential);

/// Cascade delete, and a RESTRICT foreign key without cascade.
async fn delete_cascades_and_restrict(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    let users = seed(&mut s).await?;
    // Deleting Cy deletes Cy's posts (loaded by the cascade) and their
    // comments; nothing else.
    s.delete(users[2])?;
    s.commit().await?;
    let counts: (i64, i64, i64) = engine
        .execute(
            text(
                "SELECT (SELECT count(*) FROM r_users), (SELECT count(*) FROM r_posts), \
                 (SELECT count(*) FROM r_comments)",
            ),
            (),
        )
        .await?
        .one_as()?;
    assert_eq!(counts, (2, 2, 3));

    let shelf = s.add(Shelf { id: 0 });
    s.flush().await?;
    let sid = s[shelf].id;
    s.add(ShelfBook {
        id: 0,
        shelf_id: sid,
    });
    s.commit().await?;
    let shelf = s.get::<Shelf>(sid).await?.expect("shelf");
    s.delete(shelf)?;
    let e = assert_err!(
        s.commit().await,
        ErrorKind::Integrity(IntegrityKind::ForeignKey)
    );
    assert!(e.to_string().contains("r_shelves"), "{e}");
    let shelves: i64 = engine
        .execute(text("SELECT count(*) FROM r_shelves"), ())
        .await?
        .scalar_one()?;
    assert_eq!(shelves, 1, "nothing deleted");
    Ok(())
}

all_backends!(delete_cascades_and_restrict);

/// selectin over more parents than one IN list holds: chunked, complete.
async fn selectin_chunks_large_results(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    let n = 2500;
    let users: Vec<_> = (0..n)
        .map(|i| {
            s.add(User {
                id: 0,
                name: format!("u{i}"),
            })
        })
        .collect();
    for &u in users.iter().step_by(2) {
        let p = s.add(Post {
            id: 0,
            user_id: 0,
            title: "t".into(),
        });
        s.append(u, User::posts, p)?;
    }
    s.commit().await?;
    let mut s = Session::new(&engine);
    let before = s.statement_count();
    let loaded = User::query(&mut s)
        .order_by([User::id.asc()])
        .options(selectin(User::posts))
        .all()
        .await?;
    assert_eq!(s.statement_count() - before, 1 + 3, "2500 ids in 3 chunks");
    let with_posts = loaded
        .iter()
        .filter(|&&u| s.related(u, User::posts).is_ok_and(|p| p.len() == 1))
        .count();
    assert_eq!(with_posts, n / 2);
    Ok(())
}

all_backends!(selectin_chunks_large_results);

/// A relationship without a foreign key to join on: an error naming both
/// models, from the startup check and from first use.
async fn missing_foreign_key_is_named(db: TestDb) -> aludel::Result<()> {
    let e = assert_err!(Stray::check_relationships(), ErrorKind::Config);
    let msg = e.to_string();
    assert!(msg.contains("Stray.owner") && msg.contains("User"), "{msg}");
    assert!(
        msg.contains("r_orphans") && msg.contains("r_users"),
        "{msg}"
    );
    User::check_relationships()?;
    Post::check_relationships()?;
    Employee::check_relationships()?;
    let _ = db;
    Ok(())
}

all_backends!(missing_foreign_key_is_named);

/// A relationship loaded lazily in a loop is flagged in tracing output
/// (N+1), once at the third load and then at powers of two.
async fn lazy_loads_in_a_loop_are_flagged(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    seed(&mut s).await?;
    let mut s = Session::new(&engine);
    let users = User::query(&mut s).all().await?;
    crate::observe::start_capture(tracing::Level::WARN);
    s.load_related(users[0], User::posts).await?;
    s.load_related(users[1], User::posts).await?;
    let quiet = crate::observe::take_capture();
    assert!(quiet.is_empty(), "two loads are not a loop: {quiet}");
    crate::observe::start_capture(tracing::Level::WARN);
    s.load_related(users[2], User::posts).await?;
    let log = crate::observe::take_capture();
    assert!(
        log.contains("User.posts loaded lazily 3 times") && log.contains("N+1"),
        "{log}"
    );
    Ok(())
}

all_backends!(lazy_loads_in_a_loop_are_flagged);

/// A declared `lazy = "selectin"` loads with every query; an option of the
/// query overrides it. passive_deletes leaves the children to the database.
async fn declared_loading_and_passive_deletes(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    for a in 0..3 {
        let album = s.add(Album {
            id: 0,
            title: format!("album {a}"),
        });
        for t in 0..4 {
            let track = s.add(Track {
                id: 0,
                album_id: 0,
                name: format!("track {a}.{t}"),
            });
            s.append(album, Album::tracks, track)?;
        }
    }
    s.commit().await?;

    let mut s = Session::new(&engine);
    let before = s.statement_count();
    let albums = Album::query(&mut s).all().await?;
    assert_eq!(s.statement_count() - before, 2, "the declared selectin");
    assert_eq!(s.related(albums[1], Album::tracks)?.len(), 4);
    // (A SQLite reader holds up writers until its transaction ends.)
    s.close().await?;

    let mut s = Session::new(&engine);
    let before = s.statement_count();
    let albums = Album::query(&mut s)
        .options(lazyload(Album::tracks))
        .all()
        .await?;
    assert_eq!(s.statement_count() - before, 1, "overridden: lazy");
    assert!(!s.is_loaded(albums[0], Album::tracks));
    let albums = Album::query(&mut s)
        .options(raiseload(Album::tracks))
        .all()
        .await?;
    assert_err!(
        s.load_related(albums[0], Album::tracks).await,
        ErrorKind::NotLoaded
    );
    s.close().await?;

    // passive_deletes: one DELETE, the database removes the tracks.
    let mut s = Session::new(&engine);
    let album = Album::query(&mut s)
        .options(lazyload(Album::tracks))
        .first()
        .await?
        .expect("album");
    s.delete(album)?;
    let before = s.statement_count();
    s.commit().await?;
    assert_eq!(s.statement_count() - before, 1, "no SELECT of the tracks");
    let tracks: i64 = engine
        .execute(text("SELECT count(*) FROM r_tracks"), ())
        .await?
        .scalar_one()?;
    assert_eq!(tracks, 8);
    Ok(())
}

all_backends!(declared_loading_and_passive_deletes);

/// A cascade through a self-referential relationship (a cycle in the
/// declarations) deletes the subtree and stops.
async fn cascade_cycle_terminates(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    let root = s.add(Node {
        id: 0,
        parent_id: None,
    });
    let mut level = vec![root];
    for _ in 0..3 {
        let mut next = Vec::new();
        for &p in &level {
            for _ in 0..2 {
                let n = s.add(Node {
                    id: 0,
                    parent_id: None,
                });
                s.append(p, Node::children, n)?;
                next.push(n);
            }
        }
        level = next;
    }
    let spare = s.add(Node {
        id: 0,
        parent_id: None,
    });
    s.commit().await?;
    let total: i64 = engine
        .execute(text("SELECT count(*) FROM r_nodes"), ())
        .await?
        .scalar_one()?;
    assert_eq!(total, 1 + 2 + 4 + 8 + 1);
    s.delete(root)?;
    s.commit().await?;
    let ids: Vec<i64> = engine
        .execute(text("SELECT id FROM r_nodes"), ())
        .await?
        .scalars()?;
    assert_eq!(ids, [s[spare].id], "the tree is gone, the spare node stays");
    Ok(())
}

all_backends!(cascade_cycle_terminates);

/// An association model with an extra column: rows added as objects load
/// through the many-to-many relationship.
async fn association_model_with_extra_columns(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    let users = seed(&mut s).await?;
    let posts = s.load_related(users[1], User::posts).await?;
    let tag = s.add(Tag {
        id: 0,
        label: "weighted".into(),
    });
    s.flush().await?;
    let (tag_id, post_id) = (s[tag].id, s[posts[0]].id);
    s.add(PostTag {
        post_id,
        tag_id,
        weight: 7,
    });
    s.commit().await?;
    let mut s = Session::new(&engine);
    let post = s.get::<Post>(post_id).await?.expect("post");
    let tags = s.load_related(post, Post::tags).await?;
    assert_eq!(tags.len(), 1);
    assert_eq!(s[tags[0]].label, "weighted");
    let link = PostTag::query(&mut s)
        .filter(PostTag::tag_id.eq(tag_id))
        .one()
        .await?;
    assert_eq!(s[link].weight, 7);
    Ok(())
}

all_backends!(association_model_with_extra_columns);

/// A streamed query yields untracked rows, so it refuses a loader option
/// (naming model and relationship) before sending anything.
async fn stream_refuses_eager_loading(db: TestDb) -> aludel::Result<()> {
    let engine = setup(&db).await?;
    let mut s = Session::new(&engine);
    seed(&mut s).await?;
    s.commit().await?;
    let before = s.statement_count();
    let err = match User::query(&mut s)
        .options(selectin(User::posts))
        .stream()
        .await
    {
        Err(e) => e,
        Ok(_) => panic!("a stream with a loader option must be refused"),
    };
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let msg = err.to_string();
    assert!(
        msg.contains("r_users") && msg.contains("\"posts\""),
        "{msg}"
    );
    assert_eq!(s.statement_count(), before, "nothing sent");
    let mut names = Vec::new();
    let mut rows = User::query(&mut s)
        .order_by([User::id.asc()])
        .stream()
        .await?;
    while let Some(u) = rows.try_next().await? {
        names.push(u.name);
    }
    assert_eq!(names, ["Ann", "Bob", "Cy"]);
    Ok(())
}

all_backends!(stream_refuses_eager_loading);

/// A parent whose children's table is never created: its eager load fails.
#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_haunts")]
#[aludel(has_many(ghosts: Ghost))]
struct Haunt {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 30)]
    name: String,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[aludel(table = "r_ghosts")]
struct Ghost {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(foreign_key = "r_haunts.id")]
    haunt_id: i64,
}

/// A failed eager load leaves the relationship not loaded (an error on
/// reading it, not an empty collection), and the Session usable.
async fn failed_eager_load_leaves_nothing_loaded(db: TestDb) -> aludel::Result<()> {
    let engine = db.engine();
    let mut md = MetaData::new();
    md.add(Haunt::table().clone())?;
    md.create_all(&engine).await?;
    let mut s = Session::new(&engine);
    s.add(Haunt {
        id: 0,
        name: "manor".into(),
    });
    s.commit().await?;

    let manor = Haunt::query(&mut s).one().await?;
    let failed = Haunt::query(&mut s)
        .options(selectin(Haunt::ghosts))
        .all()
        .await;
    let err = failed.expect_err("r_ghosts does not exist");
    assert!(err.to_string().contains("r_ghosts"), "{err}");
    assert!(
        !s.is_loaded(manor, Haunt::ghosts),
        "marked loaded after a failed load"
    );
    assert_err!(s.related(manor, Haunt::ghosts), ErrorKind::NotLoaded);
    // PostgreSQL refuses statements until the failed transaction ends.
    s.rollback().await?;
    assert_eq!(Haunt::query(&mut s).count().await?, 1);
    Ok(())
}

all_backends!(failed_eager_load_leaves_nothing_loaded);
