//! Compile-time behaviour of the macros: what compiles (`pass/`), and the errors a user sees
//! (`fail/<macro>/<mistake>.rs` with the reviewed `.stderr`). Regenerate with
//! `TRYBUILD=overwrite cargo test -p zdk-trace-ui-tests` and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/pass/*.rs");
    t.compile_fail("tests/fail/*/*.rs");
}
