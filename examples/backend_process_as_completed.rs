//! `ProcessPoolExecutor` with `submit` and `as_completed`: `cargo run --example backend_process_as_completed`
//!
//! The Rust counterpart of:
//!
//! ```python
//! from concurrent.futures import ProcessPoolExecutor, as_completed
//!
//! if __name__ == "__main__":
//!     with ProcessPoolExecutor(max_workers=3) as executor:
//!         futures = {executor.submit(simulate, job, ms): job for job, ms in JOBS}
//!         for future in as_completed(futures):
//!             print(futures[future], future.result())
//! ```
//!
//! `pool.spawn(f, (args,))` is `executor.submit(f, *args)`; `parallel::as_completed(tasks)` yields
//! `(index, result)` in the order the tasks finish, the index being the task's position in
//! `tasks` (what the `futures` dict is for in Python). `pool.map_unordered(f, items)` is the same
//! for one function over many items (Python's `imap_unordered`).

use std::time::{Duration, Instant};

use parallel::{ProcessPool, as_completed, parallel};
use serde::{Deserialize, Serialize};

/// A job description: any type that derives `Serialize` and `Deserialize` can cross to a worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Job {
    name: String,
    millis: u64,
}

/// What a worker sends back.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Report {
    name: String,
    words: usize,
    worker: u32,
}

/// Stands for CPU or I/O work that takes `job.millis`.
#[parallel]
fn simulate(job: Job) -> Report {
    std::thread::sleep(Duration::from_millis(job.millis));
    Report {
        words: job.name.split('-').count(),
        name: job.name,
        worker: std::process::id(),
    }
}

#[parallel]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {
    // ProcessPoolExecutor(max_workers=3)
    let pool = ProcessPool::builder()
        .workers(3)
        .build()
        .expect("3 workers is valid");

    let jobs = [
        ("slow-report", 300),
        ("quick-check", 20),
        ("medium-sized-import", 150),
        ("tiny", 5),
        ("late-night-batch-job", 250),
    ];

    // futures = [executor.submit(simulate, job) for job in jobs]
    let start = Instant::now();
    let tasks: Vec<_> = jobs
        .iter()
        .map(|&(name, millis)| {
            let job = Job {
                name: name.to_owned(),
                millis,
            };
            pool.spawn(simulate, (job,))
        })
        .collect();

    // for future in as_completed(futures): print(future.result())
    let mut finished = Vec::new();
    for (index, result) in as_completed(tasks) {
        let report = result.expect("simulate does not fail");
        println!(
            "{:>6.0?}  task {index} ({}) done by worker {}: {} words",
            start.elapsed(),
            report.name,
            report.worker,
            report.words
        );
        assert_eq!(report.name, jobs[index].0);
        assert_eq!(report.words, jobs[index].0.split('-').count());
        assert_ne!(report.worker, std::process::id());
        finished.push(index);
    }
    println!("completion order: {finished:?} (submission order: [0, 1, 2, 3, 4])");
    finished.sort_unstable();
    assert_eq!(finished, [0, 1, 2, 3, 4], "every task reports exactly once");

    // imap_unordered(square, range(20)): one function over many items, as they finish.
    let mut total = 0;
    let mut seen = 0;
    for (index, result) in pool.map_unordered(square, 0..20) {
        let value = result.expect("square does not fail");
        assert_eq!(value, (index * index) as u64);
        total += value;
        seen += 1;
    }
    println!("map_unordered(square, 0..20): {seen} results, sum {total}");
    assert_eq!((seen, total), (20, 2470));
}
