//! The shipped examples, run on each backend with their output checked.

#[allow(dead_code)]
#[path = "../../examples/engine_and_connections.rs"]
mod engine_and_connections;

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

all_backends!(example_1);
