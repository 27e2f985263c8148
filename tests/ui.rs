//! Compile-fail cases: each file under `tests/ui/` is one mistake and the error it must give.
//! Update the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    // The cases are written for a build without optional features (`backend = mpi` without
    // `mpi` is one of them).
    if cfg!(feature = "mpi") {
        eprintln!("skipped: the ui cases expect a build without the `mpi` feature");
        return;
    }
    t.compile_fail("tests/ui/**/*.rs");
}
