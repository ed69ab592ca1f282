//! The shipped examples, run on each backend with their output checked.

#[allow(dead_code)]
#[path = "../../examples/engine_and_connections.rs"]
mod engine_and_connections;

#[allow(dead_code)]
#[path = "../../examples/sessions.rs"]
mod sessions;

#[allow(dead_code)]
#[path = "../../examples/relationships.rs"]
mod relationships;

use crate::harness::TestDb;

async fn example_1(db: TestDb) -> aludel::Result<()> {
    let mut out = Vec::new();
    engine_and_connections::run(&db.url, &mut out).await?;
    let out = String::from_utf8(out).expect("utf-8");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("engine: "), "{out}");
    assert!(!lines[0].contains("pw"), "{out}");
    assert_eq!(
        &lines[1..],
        [
            "committed: Grace",
            "rolled back: Linus",
            "policy 1: Ada pays 120",
            "policy 2: Grace pays 95",
        ],
        "{out}"
    );
    Ok(())
}

async fn example_2(db: TestDb) -> aludel::Result<()> {
    let mut out = Vec::new();
    sessions::run(&db.url, &mut out).await?;
    let out = String::from_utf8(out).expect("utf-8");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("engine: "), "{out}");
    assert!(!lines[0].contains("pw"), "{out}");
    assert_eq!(
        &lines[1..],
        [
            "created: customers, policies",
            "flushed: Ada is customer 1, Grace is customer 2",
            "committed: policy 1 (flat in Paris)",
            "committed: policy 2 (garage in Paris)",
            "committed: policy 3 (house in Lyon)",
            "premium over 100: house in Lyon (210), flat in Paris (120)",
            "identity map: get::<Customer>(1) is the key add() returned: true (no SQL)",
            "identity map: the query for name = 'Ada' returns that key too: true",
            "updated: house in Lyon pays 230 instead of 210",
            "deleted: garage in Paris (still in the session: false)",
            "flushed: flat in Paris is cancelled, policy 4 (boat in Marseille) added",
            "rolled back: flat in Paris is active again, the boat is in the session: false",
            "policy 1: Ada, flat in Paris, 120 a year, active",
            "policy 3: Grace, house in Lyon, 230 a year, active",
        ],
        "{out}"
    );
    Ok(())
}

async fn example_3(db: TestDb) -> aludel::Result<()> {
    let mut out = Vec::new();
    relationships::run(&db.url, &mut out).await?;
    let out = String::from_utf8(out).expect("utf-8");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("engine: "), "{out}");
    assert_eq!(
        &lines[1..],
        [
            "lazy: 3 people and their addresses in 4 statements",
            "  Ada: ada@example.com, ada@work.example",
            "  Grace: grace@example.com",
            "  Linus: ",
            "again: 0 statements",
            "selectin: 3 people and their addresses in 2 statements",
            "joined: 3 people and their addresses in 1 statement",
            "  Ada: ada@example.com, ada@work.example",
            "  Grace: grace@example.com",
            "  Linus: ",
            "back_populates: ada@example.com belongs to Ada",
            "raise: Person.addresses is not loaded and lazy loading is refused (raise); \
             load it with selectin() or joined() in the query",
            "tag language: Python, Rust",
            "tag systems: Rust",
            "deleted Ada and, by the cascade, her addresses; left: 1",
        ],
        "{out}"
    );
    Ok(())
}

all_backends!(example_1, example_2, example_3);
