use parallel::{par_map, parallel};

// A wrong option still expands the function, with the default options: a call elsewhere that
// runs it in a worker process finds its registration, and the option is the only error.
#[parallel(backend = proces)]
fn square(n: u64) -> u64 {
    n * n
}

fn main() {
    let squares = par_map!(square, 0..4u64; backend = process);
    assert_eq!(squares, [0, 1, 4, 9]);
}
