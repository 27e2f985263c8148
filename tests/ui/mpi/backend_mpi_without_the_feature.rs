// `backend = mpi` in a build without the `mpi` feature: one error, on the option, that says
// how to enable it.
use parallel::{par_map, parallel};

#[parallel]
fn square(n: u64) -> u64 {
    n * n
}

fn main() {
    let _: Vec<u64> = par_map!(square, 0..10u64; backend = mpi);
}
