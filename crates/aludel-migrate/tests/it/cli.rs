//! Script discovery (`migrations!`) and the `db` command line, run in
//! process: files written, lines printed, exit codes.

use std::path::{Path, PathBuf};

use aludel_migrate::cli::{parse_args, Migrate};
use aludel_migrate::{ErrorKind, Migrations, Result, Revision, Script};

use crate::harness::TestDb;

aludel_migrate::migrations!("tests/it/migrations/versions");

/// The exact text `db revision` writes, compiled: it must stay valid Rust.
mod rendered {
    aludel_migrate::migrations!("tests/it/rendered/versions");
}

const DIR: &str = "tests/it/migrations";

async fn db(m: &Migrate, words: &[&str]) -> (u8, Vec<String>) {
    match parse_args(words) {
        Ok(args) => m.run_captured(&args).await,
        Err(e) => (2, vec![e.to_string()]),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("aludel-migrate-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_macro_finds_every_script_sorted() -> Result<()> {
    let files: Vec<&str> = MIGRATIONS.scripts().iter().map(|s| s.file()).collect();
    assert_eq!(
        files,
        [
            "1975ea83b712_create_account_table.rs",
            "27c6a30d7c24_create_invoice_table.rs",
            "ae1027a6acf0_add_plan_column.rs",
        ]
    );
    let g = MIGRATIONS.revisions()?;
    let heads: Vec<&str> = g.heads().iter().map(|r| r.id()).collect();
    assert_eq!(heads, ["27c6a30d7c24"]);
    assert_eq!(
        g.get("ae1027a6acf0").unwrap().create_date(),
        "2024-05-02 10:00:00.000000"
    );
    assert_eq!(MIGRATIONS.dir(), "tests/it/migrations/versions");
    Ok(())
}

#[test]
fn the_rendered_template_compiles_and_is_what_revision_writes() {
    let s = rendered::MIGRATIONS.scripts()[0];
    assert_eq!(s.revision().id(), "0123456789ab");
    assert_eq!(s.revision().down_revisions(), ["1975ea83b712"]);
    assert_eq!(s.revision().plan_upgrade().unwrap().len(), 0);
    let on_disk =
        std::fs::read_to_string(Path::new("tests/it/rendered/versions").join(s.file())).unwrap();
    let rendered = aludel_migrate::render_script(
        "0123456789ab",
        &["1975ea83b712".to_string()],
        "a rendered script",
        "2024-05-04 10:00:00.000000",
    );
    assert_eq!(on_disk, rendered);
}

#[test]
fn a_file_named_for_another_revision_is_an_error_naming_both() {
    const A: Revision = Revision::new("1975ea83b712", &[], "a");
    static BAD: Migrations = Migrations::new("versions", &[Script::new("ae1027a6acf0_a.rs", &A)]);
    let e = BAD.revisions().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Script);
    assert!(e.message().contains("ae1027a6acf0_a.rs"), "{e}");
    assert!(
        e.message().contains("'1975ea83b712'") && e.message().contains("'ae1027a6acf0'"),
        "{e}"
    );
}

#[tokio::test]
async fn init_revision_merge_write_scripts() {
    let root = temp_dir("files");
    let dir = root.join("migrations");
    let m = Migrate::new(&MIGRATIONS).directory(&dir);

    let (code, lines) = db(&m, &["init"]).await;
    assert_eq!(code, 0, "{lines:?}");
    assert!(lines[0].contains("Creating directory") && lines[0].ends_with("migrations ...  done"));
    assert!(dir.join("versions").is_dir() && dir.join("README").is_file());
    assert!(
        dir.join("versions/.gitkeep").is_file(),
        "git keeps the empty directory"
    );
    let (code, lines) = db(&m, &["init"]).await;
    assert_eq!(code, 1);
    assert!(
        lines[0].contains("already exists and is not empty"),
        "{lines:?}"
    );

    // the first revision revises nothing; the next revises it
    let (code, lines) = db(
        &m,
        &[
            "revision",
            "-m",
            "Create account table",
            "--rev-id",
            "aaaaaaaaaaaa",
        ],
    )
    .await;
    assert_eq!(code, 0, "{lines:?}");
    let first = dir.join("versions/aaaaaaaaaaaa_create_account_table.rs");
    assert_eq!(
        lines,
        [format!("  Generating {} ...  done", first.display())]
    );
    let text = std::fs::read_to_string(&first).unwrap();
    assert!(
        text.contains(r#"Revision::new("aaaaaaaaaaaa", &[], "Create account table")"#),
        "{text}"
    );
    assert!(text.contains("fn upgrade(op: &mut Ops) -> Result<()>"));
    let (code, _) = db(&m, &["revision", "-m", "add plan"]).await;
    assert_eq!(code, 0);
    let scripts = aludel_migrate::read_scripts(&dir.join("versions")).unwrap();
    let second = scripts.iter().find(|s| s.message == "add plan").unwrap();
    assert_eq!(second.down_revisions, ["aaaaaaaaaaaa"]);
    assert_eq!(second.id.len(), 12);
    assert!(second.id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(second.create_date.len(), 26, "{}", second.create_date);
    assert!(second.path.ends_with(format!("{}_add_plan.rs", second.id)));

    // --head on a revision that is not a head needs --splice
    let (code, lines) = db(&m, &["revision", "-m", "x", "--head", "aaaa"]).await;
    assert_eq!(code, 1);
    assert!(
        lines[0].contains("aaaaaaaaaaaa is not a head revision; please specify --splice"),
        "{lines:?}"
    );
    let (code, _) = db(
        &m,
        &[
            "revision",
            "-m",
            "branch",
            "--head",
            "aaaa",
            "--splice",
            "--rev-id",
            "bbbbbbbbbbbb",
        ],
    )
    .await;
    assert_eq!(code, 0);

    // two heads: a plain revision must say to merge
    let (code, lines) = db(&m, &["revision", "-m", "y"]).await;
    assert_eq!(code, 1);
    assert!(
        lines[0].contains("multiple heads") && lines[0].contains("merge"),
        "{lines:?}"
    );
    let (code, lines) = db(
        &m,
        &[
            "merge",
            "-m",
            "merge heads",
            "--rev-id",
            "cccccccccccc",
            "heads",
        ],
    )
    .await;
    assert_eq!(code, 0, "{lines:?}");
    let merge = std::fs::read_to_string(dir.join("versions/cccccccccccc_merge_heads.rs")).unwrap();
    let mut parents = [second.id.clone(), "bbbbbbbbbbbb".to_string()];
    parents.sort();
    let expected = format!(r#"&["{}", "{}"]"#, parents[0], parents[1]);
    let expected_rev = format!(r#"&["{}", "{}"]"#, parents[1], parents[0]);
    assert!(
        merge.contains(&expected) || merge.contains(&expected_rev),
        "{merge}"
    );
    // one head again
    let (code, _) = db(
        &m,
        &["revision", "-m", "after merge", "--rev-id", "dddddddddddd"],
    )
    .await;
    assert_eq!(code, 0);
    let after = std::fs::read_to_string(dir.join("versions/dddddddddddd_after_merge.rs")).unwrap();
    assert!(after.contains(r#"&["cccccccccccc"]"#), "{after}");
    let (code, lines) = db(&m, &["merge", "dddd"]).await;
    assert_eq!(code, 1);
    assert!(lines[0].contains("two or more"), "{lines:?}");
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn heads_branches_show_history_read_the_graph() {
    let m = Migrate::new(&MIGRATIONS).directory(DIR);
    assert_eq!(
        db(&m, &["heads"]).await,
        (0, vec!["27c6a30d7c24 (head)".to_string()])
    );
    assert_eq!(db(&m, &["branches"]).await, (0, vec![]));
    let (code, lines) = db(&m, &["history"]).await;
    assert_eq!(code, 0);
    assert_eq!(
        lines,
        [
            "ae1027a6acf0 -> 27c6a30d7c24 (head), create invoice table",
            "1975ea83b712 -> ae1027a6acf0, add plan column",
            "<base> -> 1975ea83b712, create account table",
        ]
    );
    let (_, lines) = db(&m, &["history", "-r", "ae10:"]).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (_, lines) = db(&m, &["history", "-r", ":ae10"]).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].starts_with("1975ea83b712 -> ae1027a6acf0"),
        "{lines:?}"
    );
    let (_, lines) = db(&m, &["history", "-r", "-1:head"]).await;
    assert_eq!(
        lines,
        ["ae1027a6acf0 -> 27c6a30d7c24 (head), create invoice table"]
    );
    let (code, lines) = db(&m, &["show", "ae10"]).await;
    assert_eq!(code, 0);
    let text = lines.join("\n");
    assert!(
        text.starts_with("Rev: ae1027a6acf0\nParent: 1975ea83b712\nPath: "),
        "{text}"
    );
    assert!(text.contains("ae1027a6acf0_add_plan_column.rs"), "{text}");
    assert!(
        text.contains("    add plan column\n\n    Revision ID: ae1027a6acf0"),
        "{text}"
    );
    let (code, lines) = db(&m, &["show", "f00"]).await;
    assert_eq!(code, 1);
    assert!(
        lines[0].contains("'f00'") && lines[0].contains("stamp"),
        "{lines:?}"
    );

    // a branched and merged graph
    const A: Revision = Revision::new("aaaaaaaaaaaa", &[], "a");
    const B: Revision = Revision::new("bbbbbbbbbbbb", &["aaaaaaaaaaaa"], "b");
    const C: Revision = Revision::new("cccccccccccc", &["aaaaaaaaaaaa"], "c");
    const M: Revision = Revision::new("dddddddddddd", &["bbbbbbbbbbbb", "cccccccccccc"], "merge");
    static BRANCHED: Migrations = Migrations::new(
        "versions",
        &[
            Script::new("aaaaaaaaaaaa_a.rs", &A),
            Script::new("bbbbbbbbbbbb_b.rs", &B),
            Script::new("cccccccccccc_c.rs", &C),
        ],
    );
    static MERGED: Migrations = Migrations::new(
        "versions",
        &[
            Script::new("aaaaaaaaaaaa_a.rs", &A),
            Script::new("bbbbbbbbbbbb_b.rs", &B),
            Script::new("cccccccccccc_c.rs", &C),
            Script::new("dddddddddddd_merge.rs", &M),
        ],
    );
    let m = Migrate::new(&BRANCHED).directory("nowhere");
    assert_eq!(
        db(&m, &["heads"]).await.1,
        ["bbbbbbbbbbbb (head)", "cccccccccccc (head)"]
    );
    assert_eq!(
        db(&m, &["branches"]).await.1,
        [
            "aaaaaaaaaaaa (branchpoint)",
            "             -> bbbbbbbbbbbb (head)",
            "             -> cccccccccccc (head)",
            ""
        ]
    );
    let (code, lines) = db(&m, &["show", "head"]).await;
    assert_eq!(code, 1);
    assert!(lines[0].contains("multiple heads"), "{lines:?}");
    let m = Migrate::new(&MERGED).directory("nowhere");
    let (_, lines) = db(&m, &["history"]).await;
    assert_eq!(
        lines[0],
        "bbbbbbbbbbbb, cccccccccccc -> dddddddddddd (head) (mergepoint), merge"
    );
    assert_eq!(
        lines.last().unwrap(),
        "<base> -> aaaaaaaaaaaa (branchpoint), a"
    );
    let text = db(&m, &["show", "dddd"]).await.1.join("\n");
    assert!(
        text.contains("Merges: bbbbbbbbbbbb, cccccccccccc"),
        "{text}"
    );
}

async fn upgrade_history_downgrade(db_: &TestDb) -> Result<()> {
    let m = Migrate::new(&MIGRATIONS).directory(DIR);
    let url = db_.url.as_str();
    let (code, lines) = db(&m, &["--url", url, "upgrade"]).await;
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines,
        [
            "Running upgrade  -> 1975ea83b712, create account table",
            "Running upgrade 1975ea83b712 -> ae1027a6acf0, add plan column",
            "Running upgrade ae1027a6acf0 -> 27c6a30d7c24, create invoice table",
        ]
    );
    assert_eq!(
        db(&m, &["--url", url, "current"]).await,
        (0, vec!["27c6a30d7c24 (head)".into()])
    );
    let (_, lines) = db(&m, &["--url", url, "history", "-i"]).await;
    assert_eq!(
        lines[0],
        "ae1027a6acf0 -> 27c6a30d7c24 (head) (current), create invoice table"
    );
    let (code, lines) = db(&m, &["--url", url, "downgrade"]).await;
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines,
        ["Running downgrade 27c6a30d7c24 -> ae1027a6acf0, create invoice table"]
    );
    let (_, lines) = db(&m, &["--url", url, "history", "-r", "current:"]).await;
    assert_eq!(lines.len(), 2, "{lines:?}");
    let (_, lines) = db(&m, &["--url", url, "current", "-v"]).await;
    assert!(lines[0].starts_with("Rev: ae1027a6acf0\n"), "{lines:?}");

    // an unknown target: exit 1, the error names it and the heads
    let (code, lines) = db(&m, &["--url", url, "upgrade", "f00f00"]).await;
    assert_eq!(code, 1);
    assert!(
        lines[0].contains("'f00f00'") && lines[0].contains("27c6a30d7c24"),
        "{lines:?}"
    );

    // stamp moves the version table without running anything
    let (code, lines) = db(&m, &["--url", url, "stamp", "head"]).await;
    assert_eq!(code, 0);
    assert_eq!(
        lines,
        ["Running stamp_revision ae1027a6acf0 -> 27c6a30d7c24"]
    );
    let engine = db_.engine();
    assert!(!engine
        .inspector()
        .table_names()
        .await?
        .contains(&"invoice".to_string()));
    db(&m, &["--url", url, "stamp", "ae10"]).await;

    let (code, lines) = db(&m, &["--url", url, "downgrade", "base"]).await;
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines,
        [
            "Running downgrade ae1027a6acf0 -> 1975ea83b712, add plan column",
            "Running downgrade 1975ea83b712 -> , create account table",
        ]
    );
    assert_eq!(db(&m, &["--url", url, "current"]).await, (0, vec![]));
    let left = engine.inspector().table_names().await?;
    assert_eq!(
        left,
        ["alembic_version"],
        "base leaves only the version table"
    );
    let (code, lines) = db(&m, &["--url", url, "downgrade", "-1"]).await;
    assert_eq!(code, 1);
    assert!(lines[0].contains("base"), "{lines:?}");
    Ok(())
}

all_backends!(upgrade_history_downgrade);
