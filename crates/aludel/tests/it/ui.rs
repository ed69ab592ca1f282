//! Compile-fail tests: misuse that must not compile, with the compiler's
//! message pinned (regenerate with `TRYBUILD=overwrite` after reviewing).

#[test]
fn compile_fail() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
