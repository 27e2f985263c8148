// `backend = mpi` runs `#[parallel]` functions on other ranks, checked as on `process`: a
// closure is one error on the closure (reported before the missing feature's).
use parallel::par_map;

fn main() {
    let _ = par_map!(|n: u32| n + 1, 0..4u32; backend = mpi);
}
