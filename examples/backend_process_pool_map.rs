//! `Pool().map(square, range(10))` in worker processes: `cargo run --example backend_process_pool_map`
//!
//! The Rust counterpart of:
//!
//! ```python
//! from multiprocessing import Pool
//!
//! def square(x):
//!     return x * x
//!
//! if __name__ == "__main__":
//!     with Pool() as pool:
//!         print(pool.map(square, range(10)))
//! ```
//!
//! `par_map!(square, 0..10; backend = process)` runs the calls in the shared pool of worker
//! processes (one per core, started at the first call and reused by the next ones) and returns a
//! `Vec` in input order. `pool.map(square, 0..10)` is the runtime's version: lazy, with a
//! `Result` per item. Small calls are batched automatically, so a map over many trivial items
//! costs little more than the work itself.

use std::time::Instant;

use parallel::{ProcessPool, par_map, parallel};

#[parallel]
fn square(x: u64) -> u64 {
    x * x
}

/// Which process ran the call.
#[parallel]
fn worker_pid(_: u32) -> u32 {
    std::process::id()
}

/// Every `par_map!` of this function runs in processes unless the call says otherwise.
#[parallel(backend = process, workers = 2)]
fn cube(x: u64) -> u64 {
    x * x * x
}

fn main() {
    let expected: Vec<u64> = (0..10).map(|x| x * x).collect();

    // pool.map(square, range(10))
    let squares = par_map!(square, 0..10; backend = process);
    println!("par_map!(square, 0..10; backend = process) = {squares:?}");
    assert_eq!(squares, expected);

    // Pool(processes=2).map(...), with the runtime API: a Result per item, in input order.
    let pool = ProcessPool::builder()
        .workers(2)
        .build()
        .expect("2 workers is valid");
    let squares: Vec<u64> = pool
        .map(square, 0..10)
        .map(|result| result.expect("square does not fail"))
        .collect();
    println!("pool.map(square, 0..10)                    = {squares:?}");
    assert_eq!(squares, expected);

    // The calls really ran elsewhere.
    let parent = std::process::id();
    let mut pids = par_map!(worker_pid, 0..20; backend = process, workers = 2);
    pids.sort_unstable();
    pids.dedup();
    println!("worker processes used: {pids:?} (parent {parent})");
    assert!(!pids.contains(&parent));

    // `#[parallel(backend = process, workers = 2)]`: the function's own default.
    let cubes = par_map!(cube, 0..5);
    println!("par_map!(cube, 0..5)                       = {cubes:?}");
    assert_eq!(cubes, [0, 1, 8, 27, 64]);

    // Many trivial items: batched automatically (joblib-style), the pool already warm.
    let start = Instant::now();
    let squares = par_map!(square, 0..1_000_000; backend = process);
    let elapsed = start.elapsed();
    println!(
        "1,000,000 squares in worker processes in {elapsed:.0?} ({:.3} us/item)",
        elapsed.as_secs_f64() * 1e6 / 1e6
    );
    assert_eq!(squares.len(), 1_000_000);
    assert_eq!(squares[999_999], 999_999 * 999_999);
}
