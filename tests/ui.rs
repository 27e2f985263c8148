//! Compile-fail cases: each file under `tests/ui/` is one mistake and the error it must give.
//! Update the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/**/*.rs");
}
