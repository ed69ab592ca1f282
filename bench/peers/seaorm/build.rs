//! Exports the versions this binary is built with, as resolved in this
//! project's Cargo.lock, for the `versions:` line on stderr.

use std::path::Path;
use std::process::Command;

/// The crates worth naming, in the order they are printed.
const CRATES: &[&str] = &[
    "sea-orm",
    "sea-query",
    "sqlx",
    "libsqlite3-sys",
    "tokio",
    "chrono",
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=Cargo.lock");

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "rustc unknown".to_string());
    println!("cargo:rustc-env=PEER_RUSTC_VERSION={rustc_version}");

    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let lock =
        std::fs::read_to_string(Path::new(&manifest_dir).join("Cargo.lock")).unwrap_or_default();

    // Cargo.lock lists `[[package]]` blocks whose first two lines are
    // `name = "…"` and `version = "…"`.
    let mut versions: Vec<Option<String>> = vec![None; CRATES.len()];
    let mut current: Option<&str> = None;
    for line in lock.lines() {
        let line = line.trim();
        if line == "[[package]]" {
            current = None;
        } else if let Some(rest) = line.strip_prefix("name = ") {
            current = Some(rest.trim_matches('"'));
        } else if let Some(rest) = line.strip_prefix("version = ") {
            if let Some(idx) = current.and_then(|n| CRATES.iter().position(|c| *c == n)) {
                // Several versions of one crate: keep them all.
                let v = rest.trim_matches('"');
                let slot = &mut versions[idx];
                *slot = Some(match slot.take() {
                    Some(prev) => format!("{prev}/{v}"),
                    None => v.to_string(),
                });
            }
            current = None;
        }
    }
    let list: Vec<String> = CRATES
        .iter()
        .zip(versions)
        .filter_map(|(name, v)| v.map(|v| format!("{name} {v}")))
        .collect();
    println!("cargo:rustc-env=PEER_CRATE_VERSIONS={}", list.join(", "));
}
