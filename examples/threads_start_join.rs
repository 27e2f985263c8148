//! Two threads started and joined: `cargo run --example threads_start_join`
//!
//! The Rust counterpart of Python's `threading.Thread(target=f).start(); t.join()`:
//!
//! ```python
//! t1 = threading.Thread(target=download, args=("a.csv",)); t1.start()
//! t2 = threading.Thread(target=download, args=("b.csv",)); t2.start()
//! t1.join(); t2.join()
//! ```
//!
//! Two ways to write it: `par_join!` when the caller waits for both right away (the expressions
//! may borrow locals), and `ThreadPool::spawn` + `Task::join` when the caller does something else
//! in between, like holding on to Python's `Thread` objects.

use std::thread;
use std::time::{Duration, Instant};

use parallel::{ThreadPool, par_join};

/// A simulated download: blocks for a while, then returns the file's size.
fn download(name: &str) -> usize {
    thread::sleep(Duration::from_millis(200));
    println!(
        "  downloaded {name} on thread {:?}",
        thread::current().name().unwrap_or("?")
    );
    name.len() * 100
}

fn main() {
    // 1. par_join!: both calls run at once on dedicated threads; the tuple comes back when both
    //    have finished. The expressions may borrow `files`.
    let files = ["a.csv", "bigger.csv"];
    let start = Instant::now();
    let (a, b) = par_join!(download(files[0]), download(files[1]); backend = threads);
    let elapsed = start.elapsed();
    println!("par_join!:           sizes {a} and {b} in {elapsed:.0?}");
    assert_eq!((a, b), (500, 1000));

    // 2. ThreadPool::spawn + Task::join: start both, do other work, then join.
    let pool = ThreadPool::builder()
        .workers(2)
        .build()
        .expect("2 workers is valid");
    let start = Instant::now();
    let t1 = pool.spawn(|| download("a.csv"));
    let t2 = pool.spawn(|| download("bigger.csv"));
    println!("  (main thread is free while the downloads run)");
    let a = t1.join().expect("the download did not panic");
    let b = t2.join().expect("the download did not panic");
    let elapsed = start.elapsed();
    println!("ThreadPool::spawn:   sizes {a} and {b} in {elapsed:.0?}");
    assert_eq!((a, b), (500, 1000));
}
