//! Rebuild the app when a revision script is added or removed, so the next
//! `cargo run -- db upgrade` runs what `db migrate` just wrote (an app with
//! `aludel-migrate` as a build dependency calls
//! `aludel::migrate::build::watch("migrations/versions")` instead).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=build.rs");
}
