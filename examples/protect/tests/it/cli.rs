//! The app's own command line, as a user runs it: the `db` commands mounted
//! next to `serve`, `db seed` among them, and `serve --upgrade --seed`, the
//! one command that runs Protect on SQLite (SQLite only: the same code
//! runs on the servers in the other tests).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn protect(dir: &std::path::Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_protect"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("ALUDEL_MIGRATIONS_DIR")
        .output()
        .expect("run the protect binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("protect-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn db_commands_and_seed() {
    let dir = scratch("db");
    // No DATABASE_URL: a SQLite file protect.db where it runs.
    let r = protect(&dir, &["db", "upgrade"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("Running upgrade  -> 5b7dfcb5f868, create protect tables"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Running upgrade 5b7dfcb5f868 -> 5c17c23e116f, add deductible to policies"),
        "{}",
        r.stdout
    );
    assert!(dir.join("protect.db").exists());
    let r = protect(&dir, &["db", "check"]);
    assert_eq!(
        (r.code, r.stdout.trim()),
        (0, "No new upgrade operations detected.")
    );
    let r = protect(&dir, &["db", "history"]);
    assert_eq!(
        r.stdout.trim(),
        "5b7dfcb5f868 -> 5c17c23e116f (head), add deductible to policies\n\
         <base> -> 5b7dfcb5f868, create protect tables"
    );
    let r = protect(&dir, &["db", "seed", "--customers", "25", "--seed", "3"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("  customers: 25\n"), "{}", r.stdout);
    assert!(r.stdout.trim_end().ends_with("rows."), "{}", r.stdout);
    let r = protect(&dir, &["db", "seed"]);
    assert_eq!(r.code, 0);
    assert_eq!(
        r.stdout.trim(),
        "The database already has 25 customers: nothing seeded (seed an empty database)"
    );
    // --url names another database, for the db commands and seed alike.
    let other = format!("sqlite:///{}", dir.join("other.db").display());
    let r = protect(&dir, &["db", "--url", &other, "seed"]);
    assert_eq!(r.code, 1, "an unmigrated database: {}", r.stdout);
    assert!(r.stderr.starts_with("Error: "), "{}", r.stderr);
    let r = protect(&dir, &["db", "--url", &other, "upgrade"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = protect(&dir, &["db", "--url", &other, "seed", "--customers", "5"]);
    assert!(r.stdout.contains("  customers: 5\n"), "{}", r.stdout);
    // One step down (the deductible goes, the seeded rows stay), then to base.
    let r = protect(&dir, &["db", "downgrade"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("5c17c23e116f -> 5b7dfcb5f868"),
        "{}",
        r.stdout
    );
    let r = protect(&dir, &["db", "current"]);
    assert!(r.stdout.starts_with("5b7dfcb5f868"), "{}", r.stdout);
    let r = protect(&dir, &["db", "downgrade", "base"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = protect(&dir, &["db", "current"]);
    assert_eq!((r.code, r.stdout.trim()), (0, ""));
    let r = protect(&dir, &["db", "bogus"]);
    assert_eq!(r.code, 2, "clap's usage error");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serve_with_one_command() {
    let dir = scratch("serve");
    let mut child = Command::new(env!("CARGO_BIN_EXE_protect"))
        .args(["serve", "--upgrade", "--seed", "--addr", "127.0.0.1:0"])
        .current_dir(&dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start protect serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("the server's address").unwrap();
        if let Some(url) = line.strip_prefix("Protect listening on http://") {
            break url.trim_end_matches("/policies").to_string();
        }
    };
    let get = |path: &str| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let health = get("/health");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let page = get("/policies?page=2");
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("1157 policies"),
        "{page}"
    );
    let api = get("/api/customers?per_page=1");
    assert!(api.contains("\"total\":1000"), "{api}");
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
