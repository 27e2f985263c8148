//! joblib's `Parallel(n_jobs=4)(delayed(square)(...))`: `cargo run --example par_map_joblib`
//!
//! `Parallel(n_jobs=4)(delayed(square)(i) for i in range(10))` is
//! `par_map!(square, 0..10; workers = 4)`:
//!
//! ```python
//! from joblib import Parallel, delayed
//! squares = Parallel(n_jobs=4)(delayed(square)(i) for i in range(10))
//! ```
//!
//! `n_jobs` is `workers` (with `-1` for one per core, as in joblib), `prefer="threads"` is
//! `backend = threads`, and `#[parallel(...)]` on the function sets defaults that every
//! `par_map!` of it uses unless the call says otherwise.

use parallel::{par_map, parallel};

#[parallel]
fn square(i: u64) -> u64 {
    i * i
}

/// joblib's defaults for a function: `Parallel(n_jobs=2, prefer="threads")` on every call.
#[parallel(backend = threads, workers = 2)]
fn describe(i: u64) -> String {
    let thread = std::thread::current();
    format!("{i} on {}", thread.name().unwrap_or("?"))
}

fn main() {
    let expected: Vec<u64> = (0..10).map(|i| i * i).collect();

    // Parallel(n_jobs=4)(delayed(square)(i) for i in range(10))
    let squares = par_map!(square, 0..10; workers = 4);
    println!("n_jobs=4:                 {squares:?}");
    assert_eq!(squares, expected);

    // Parallel(n_jobs=-1)(...): one worker per core.
    let squares = par_map!(square, 0..10; workers = -1);
    let cores = parallel::available_cores();
    println!("n_jobs=-1:                {squares:?} ({cores} workers)");
    assert_eq!(squares, expected);

    // Parallel(n_jobs=4, prefer="threads")(...)
    let squares = par_map!(square, 0..10; backend = threads, workers = 4);
    println!("n_jobs=4, prefer=threads: {squares:?}");
    assert_eq!(squares, expected);

    // `square` is still an ordinary function.
    assert_eq!(square(12), 144);

    // Defaults from #[parallel(backend = threads, workers = 2)]: this call runs on threads.
    let described = par_map!(describe, 0..4);
    println!("#[parallel] defaults:     {described:?}");
    assert!(described.iter().all(|d| d.ends_with("parallel-threads")));
}
