//! Rebuild the app when a revision script is added or removed, so the next
//! `cargo run -p protect -- db upgrade` runs what `db migrate` just wrote
//! (the same lines `aludel::migrate::build::watch("migrations/versions")`
//! prints, without building aludel-migrate a second time for the build
//! script).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=build.rs");
}
