//! Exports the versions of the crates under test, as resolved in this
//! project's Cargo.lock, for the `versions:` line on stderr.

use std::path::Path;
use std::process::Command;

const CRATES: [&str; 10] = [
    "diesel",
    "diesel-async",
    "r2d2",
    "deadpool",
    "libsqlite3-sys",
    "pq-sys",
    "mysqlclient-sys",
    "tokio-postgres",
    "mysql_async",
    "tokio",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=Cargo.lock");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=PEER_RUSTC_VERSION={version}");

    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo");
    let lock = std::fs::read_to_string(Path::new(&dir).join("Cargo.lock")).unwrap_or_default();
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut name: Option<String> = None;
    for line in lock.lines() {
        if let Some(n) = line.strip_prefix("name = \"") {
            name = n.strip_suffix('"').map(str::to_string);
        } else if let Some(v) = line.strip_prefix("version = \"") {
            if let (Some(n), Some(v)) = (name.take(), v.strip_suffix('"')) {
                if let Some(i) = CRATES.iter().position(|c| *c == n) {
                    found.push((i, format!("{n} {v}")));
                }
            }
        }
    }
    found.sort();
    let list: Vec<String> = found.into_iter().map(|(_, s)| s).collect();
    println!("cargo:rustc-env=PEER_CRATE_VERSIONS={}", list.join(", "));
}
