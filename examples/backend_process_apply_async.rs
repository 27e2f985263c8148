//! `Pool(processes=4).apply_async(f, args).get()`: `cargo run --example backend_process_apply_async`
//!
//! The Rust counterpart of:
//!
//! ```python
//! from multiprocessing import Pool
//!
//! def calculate_square(n):
//!     return n * n
//!
//! if __name__ == "__main__":
//!     with Pool(processes=4) as pool:
//!         result = pool.apply_async(calculate_square, (5,))
//!         print(result.get())                                          # 25
//!         results = [pool.apply_async(calculate_square, (n,)) for n in range(8)]
//!         print([r.get(timeout=10) for r in results])
//! ```
//!
//! `ProcessPool::builder().workers(4).build()` is `Pool(processes=4)`; `pool.spawn(f, (args,))`
//! is `apply_async(f, (args,))` and returns a `Task`; `task.join()` is `.get()`, a `Result` that
//! is `Err(TaskError)` where Python would raise. Arguments go in a tuple, as in Python.

use std::time::Duration;

use parallel::{ProcessPool, parallel};

#[parallel]
fn calculate_square(n: u64) -> u64 {
    n * n
}

/// Two arguments: `apply_async(power, (2, 10))` is `pool.spawn(power, (2, 10))`.
#[parallel]
fn power(base: u64, exponent: u32) -> (u64, u32) {
    (base.pow(exponent), std::process::id())
}

fn main() {
    // Pool(processes=4): four worker processes, started now and kept warm.
    let pool = ProcessPool::builder()
        .workers(4)
        .build()
        .expect("4 workers is valid");

    // result = pool.apply_async(calculate_square, (5,)); result.get()
    let result = pool.spawn(calculate_square, (5,));
    let square = result.join().expect("calculate_square does not fail");
    println!("apply_async(calculate_square, (5,)).get() = {square}");
    assert_eq!(square, 25);

    // Several at once; each Task is joined in turn. `join_timeout` is `.get(timeout=10)`.
    let results: Vec<_> = (0..8).map(|n| pool.spawn(calculate_square, (n,))).collect();
    let squares: Vec<u64> = results
        .into_iter()
        .map(|task| task.join_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    println!("[r.get(timeout=10) for r in results] = {squares:?}");
    assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49]);

    // Several arguments: one tuple, in order.
    let (value, worker) = pool.spawn(power, (2, 10)).join().unwrap();
    println!(
        "apply_async(power, (2, 10)).get() = {value}, computed by worker {worker} (parent {})",
        std::process::id()
    );
    assert_eq!(value, 1024);
    assert_ne!(worker, std::process::id());
}
