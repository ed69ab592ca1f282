//! The talk's example_3, relationships: two related models (a `relationship`
//! on one, a foreign key on the other), and a many-to-many pair through an
//! association model. The same people and addresses are loaded lazily,
//! with `selectin` and with `joined`; each line reports how many statements
//! it took, and the SQL is echoed, so the difference is visible.
//!
//! ```text
//! cargo run --example relationships                                # SQLite file, no setup
//! DATABASE_URL=postgresql://postgres@127.0.0.1/test \
//!     cargo run --all-features --example relationships
//! DATABASE_URL=mysql://root@127.0.0.1/test \
//!     cargo run --all-features --example relationships
//! ```

use std::io::Write;

use aludel::orm::{joined, raiseload, selectin, Key, Model as _, Session};
use aludel::schema::MetaData;
use aludel::{Engine, Model};

/// A person with addresses: `has_many` here, the foreign key on `Address`.
#[derive(Model, Debug, Clone)]
#[aludel(table = "people")]
#[aludel(has_many(addresses: Address, back_populates = "person", cascade = "all, delete-orphan"))]
struct Person {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 50)]
    name: String,
}

#[derive(Model, Debug, Clone)]
#[aludel(table = "addresses")]
#[aludel(belongs_to(person: Person, back_populates = "addresses"))]
struct Address {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 120)]
    email: String,
    #[aludel(foreign_key = "people.id", on_delete = "cascade")]
    person_id: i64,
}

/// Pages and tags, many-to-many through `PageTag`.
#[derive(Model, Debug, Clone)]
#[aludel(table = "pages")]
#[aludel(many_to_many(tags: Tag, through = PageTag, back_populates = "pages"))]
struct Page {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 50)]
    title: String,
}

#[derive(Model, Debug, Clone)]
#[aludel(table = "tags")]
#[aludel(many_to_many(pages: Page, through = PageTag, back_populates = "tags"))]
struct Tag {
    #[aludel(primary_key)]
    id: i64,
    #[aludel(length = 30)]
    name: String,
}

/// The association table, as a model (it could carry more columns).
#[derive(Model, Debug, Clone)]
#[aludel(table = "page_tags")]
struct PageTag {
    #[aludel(
        primary_key,
        autoincrement = false,
        foreign_key = "pages.id",
        on_delete = "cascade"
    )]
    page_id: i64,
    #[aludel(
        primary_key,
        autoincrement = false,
        foreign_key = "tags.id",
        on_delete = "cascade"
    )]
    tag_id: i64,
}

fn emails(session: &Session, person: Key<Person>) -> aludel::Result<String> {
    let list: Vec<String> = session
        .related(person, Person::addresses)?
        .into_iter()
        .map(|a| session[a].email.clone())
        .collect();
    Ok(format!("{}: {}", session[person].name, list.join(", ")))
}

/// Everything the example does, writing its report to `out`.
pub async fn run(url: &str, out: &mut impl Write) -> aludel::Result<()> {
    let engine = Engine::builder(url)?.echo(true).build()?;
    writeln!(
        out,
        "engine: {} (dialect {})",
        engine.url(),
        engine.dialect().name()
    )
    .ok();

    let mut metadata = MetaData::new();
    for t in [
        Person::table(),
        Address::table(),
        Page::table(),
        Tag::table(),
        PageTag::table(),
    ] {
        metadata.add(t.clone())?;
    }
    // Fails at startup, naming both models, if a foreign key were missing.
    Person::check_relationships()?;
    Page::check_relationships()?;
    metadata.drop_all(&engine).await?;
    metadata.create_all(&engine).await?;

    // Writing through the relationship: the addresses get the person's id
    // at the flush, after the person's INSERT.
    let mut session = Session::new(&engine);
    for (name, mails) in [
        ("Ada", &["ada@example.com", "ada@work.example"][..]),
        ("Grace", &["grace@example.com"][..]),
        ("Linus", &[][..]),
    ] {
        let person = session.add(Person {
            id: 0,
            name: name.into(),
        });
        for email in mails {
            let address = session.add(Address {
                id: 0,
                email: (*email).into(),
                person_id: 0,
            });
            session.append(person, Person::addresses, address)?;
        }
    }
    session.commit().await?;
    session.close().await?;

    // Lazy: one query for the people, then one per person (N+1).
    let mut s = Session::new(&engine);
    let before = s.statement_count();
    let people = Person::query(&mut s)
        .order_by([Person::id.asc()])
        .all()
        .await?;
    for &p in &people {
        s.load_related(p, Person::addresses).await?;
    }
    let n = s.statement_count() - before;
    writeln!(
        out,
        "lazy: {} people and their addresses in {n} statements",
        people.len()
    )
    .ok();
    for &p in &people {
        writeln!(out, "  {}", emails(&s, p)?).ok();
    }
    // Loaded once, cached: asking again runs nothing.
    let before = s.statement_count();
    s.load_related(people[0], Person::addresses).await?;
    writeln!(out, "again: {} statements", s.statement_count() - before).ok();
    // Ends the Session's transaction (a SQLite reader would hold up writers).
    s.close().await?;

    // selectin: the people, then every address of all of them at once.
    let mut s = Session::new(&engine);
    let before = s.statement_count();
    let people = Person::query(&mut s)
        .order_by([Person::id.asc()])
        .options(selectin(Person::addresses))
        .all()
        .await?;
    let n = s.statement_count() - before;
    writeln!(
        out,
        "selectin: {} people and their addresses in {n} statements",
        people.len()
    )
    .ok();
    s.close().await?;

    // joined: one query, people LEFT OUTER JOIN addresses, each person once.
    let mut s = Session::new(&engine);
    let before = s.statement_count();
    let people = Person::query(&mut s)
        .order_by([Person::id.asc()])
        .options(joined(Person::addresses))
        .all()
        .await?;
    let n = s.statement_count() - before;
    writeln!(
        out,
        "joined: {} people and their addresses in {n} statement",
        people.len()
    )
    .ok();
    for &p in &people {
        writeln!(out, "  {}", emails(&s, p)?).ok();
    }
    // The back side was filled in too: each address knows its person.
    let first = s.related(people[0], Person::addresses)?[0];
    let owner = s.related(first, Address::person)?.expect("owner");
    writeln!(
        out,
        "back_populates: {} belongs to {}",
        s[first].email, s[owner].name
    )
    .ok();
    s.close().await?;

    // raise: a relationship that was not loaded eagerly is an error, not a
    // hidden query.
    let mut s = Session::new(&engine);
    let people = Person::query(&mut s)
        .options(raiseload(Person::addresses))
        .all()
        .await?;
    if let Err(e) = s.load_related(people[0], Person::addresses).await {
        writeln!(out, "raise: {e}").ok();
    }
    s.close().await?;

    // Many-to-many: appending a tag inserts the association row.
    let mut s = Session::new(&engine);
    let rust = s.add(Page {
        id: 0,
        title: "Rust".into(),
    });
    let python = s.add(Page {
        id: 0,
        title: "Python".into(),
    });
    let lang = s.add(Tag {
        id: 0,
        name: "language".into(),
    });
    let systems = s.add(Tag {
        id: 0,
        name: "systems".into(),
    });
    s.append(rust, Page::tags, lang)?;
    s.append(rust, Page::tags, systems)?;
    s.append(python, Page::tags, lang)?;
    s.commit().await?;
    let mut s = Session::new(&engine);
    let tags = Tag::query(&mut s)
        .order_by([Tag::name.asc()])
        .options(selectin(Tag::pages))
        .all()
        .await?;
    for t in tags {
        let mut titles: Vec<String> = s
            .related(t, Tag::pages)?
            .into_iter()
            .map(|p| s[p].title.clone())
            .collect();
        titles.sort();
        writeln!(out, "tag {}: {}", s[t].name, titles.join(", ")).ok();
    }

    // Delete cascade: Ada's addresses go with her.
    let ada = Person::query(&mut s)
        .filter(Person::name.eq("Ada"))
        .one()
        .await?;
    s.delete(ada)?;
    s.commit().await?;
    let left: i64 = engine
        .execute(aludel::text("SELECT count(*) FROM addresses"), ())
        .await?
        .scalar_one()?;
    writeln!(
        out,
        "deleted Ada and, by the cascade, her addresses; left: {left}"
    )
    .ok();
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> aludel::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "aludel=info".into()),
        )
        .with_target(false)
        .without_time()
        .compact()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let url = aludel::Url::from_env_or("sqlite:///example_3.db")?.render_as_string(false);
    run(&url, &mut std::io::stdout()).await
}
