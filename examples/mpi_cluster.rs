//! Python's `MPIPoolExecutor` patterns on the ranks of an MPI job: a `Pool.map` and an
//! `as_completed` across the cluster, and a task that fails alone.
//!
//! ```text
//! cargo build --release --features mpi --example mpi_cluster
//! mpirun -n 3 target/release/examples/mpi_cluster     # rank 0 runs main, ranks 1-2 serve
//! target/release/examples/mpi_cluster                 # alone: spawns its worker ranks
//! ```

use std::collections::BTreeMap;

use parallel::{MpiPool, as_completed, par_map, parallel};

/// Which host and process ran a call, and the square.
#[parallel]
fn square_where(n: u64) -> (u64, String) {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "?".to_owned());
    (n * n, format!("{host}:{}", std::process::id()))
}

#[parallel]
fn collatz_steps(mut n: u64) -> u32 {
    let mut steps = 0;
    while n != 1 {
        n = if n.is_multiple_of(2) {
            n / 2
        } else {
            3 * n + 1
        };
        steps += 1;
    }
    steps
}

#[parallel]
fn parse(text: String) -> u32 {
    text.parse().expect("a number")
}

fn main() {
    let pool = MpiPool::builder().build().expect("MPI worker ranks");
    println!("{} worker ranks", pool.workers());

    // Pool.map: results in input order.
    let mut by_worker: BTreeMap<String, usize> = BTreeMap::new();
    let mut total = 0;
    for result in pool.map(square_where, 0..10_000) {
        let (square, worker) = result.unwrap();
        total += square;
        *by_worker.entry(worker).or_default() += 1;
    }
    println!("sum of squares below 10,000: {total}");
    for (worker, calls) in &by_worker {
        println!("  {worker} ran {calls} calls");
    }

    // as_completed: the longest Collatz chains, as they finish.
    let starts = [27u64, 97, 871, 6_171, 77_031, 837_799];
    let tasks: Vec<_> = starts
        .iter()
        .map(|&n| pool.spawn(collatz_steps, (n,)))
        .collect();
    for (index, steps) in as_completed(tasks) {
        println!("collatz({}) takes {} steps", starts[index], steps.unwrap());
    }

    // The macro form, and a task that fails alone.
    let lengths: Vec<u32> = par_map!(collatz_steps, 1..1_000u64; backend = mpi);
    println!(
        "longest chain below 1,000: {}",
        lengths.iter().max().unwrap()
    );
    let results: Vec<_> = pool
        .map(parse, ["1", "two", "3"].map(String::from))
        .collect();
    for result in results {
        match result {
            Ok(n) => println!("parsed {n}"),
            Err(err) => println!("failed alone: {err}"),
        }
    }
}
