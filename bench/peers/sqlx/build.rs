//! Exports the versions of the crates under test as resolved in this
//! project's Cargo.lock (`SQLX_PEER_VERSIONS`), and the compiler's
//! (`SQLX_PEER_RUSTC`), for the `versions:` line on stderr.

use std::path::Path;
use std::process::Command;

/// The crates named on the `versions:` line, in this order.
const CRATES: [&str; 7] = [
    "sqlx",
    "sqlx-core",
    "sqlx-sqlite",
    "sqlx-postgres",
    "sqlx-mysql",
    "libsqlite3-sys",
    "tokio",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=Cargo.lock");

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "rustc unknown".into());
    println!("cargo:rustc-env=SQLX_PEER_RUSTC={rustc_version}");

    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo");
    let lock = std::fs::read_to_string(Path::new(&dir).join("Cargo.lock")).unwrap_or_default();
    // Cargo.lock lists `name = "…"` then `version = "…"` for each package.
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
    let list = if list.is_empty() {
        "unknown (no Cargo.lock at build time)".to_string()
    } else {
        list.join(", ")
    };
    println!("cargo:rustc-env=SQLX_PEER_VERSIONS={list}");
}
