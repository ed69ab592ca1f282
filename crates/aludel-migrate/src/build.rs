//! A helper for the app's build script: rebuild when a revision script is
//! added, removed or changed.
//!
//! [`migrations!`](crate::migrations!) is a procedural macro, and a
//! procedural macro cannot tell Cargo (on stable Rust) to watch a
//! directory: an edited script rebuilds the app (the macro `include!`s
//! it), but a *new* file is only seen when something else rebuilds the
//! crate. A build script can watch the directory:
//!
//! ```no_run
//! // in build.rs's main()
//! aludel_migrate::build::watch("migrations/versions");
//! ```
//!
//! with `aludel-migrate` (default features off keeps it light) under
//! `[build-dependencies]`. Apps that would rather not add the dependency
//! print the same line themselves:
//! `println!("cargo:rerun-if-changed=migrations/versions");`.

use std::path::Path;

/// Tell Cargo to re-run the build script, and so rebuild the crate, when
/// anything under `dir` changes; and pass the directory's listing to the
/// crate as `ALUDEL_MIGRATIONS_STAMP`, which
/// [`migrations!`](crate::migrations!) reads, so a new or removed file
/// always recompiles the macro's output.
pub fn watch(dir: impl AsRef<Path>) {
    let dir = dir.as_ref();
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rustc-env=ALUDEL_MIGRATIONS_STAMP={}", stamp(dir));
}

/// A hash of the file names and sizes under `dir`.
fn stamp(dir: &Path) -> String {
    let mut names: Vec<(String, u64)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| {
            let len = e.metadata().map_or(0, |m| m.len());
            (e.file_name().to_string_lossy().into_owned(), len)
        })
        .collect();
    names.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, len) in names {
        for b in name.bytes().chain(len.to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    format!("{h:016x}")
}
