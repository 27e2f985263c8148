//! Functions run concurrently and waited for: `cargo run --example par_join_run_functions`
//!
//! The Rust counterpart of this Python helper:
//!
//! ```python
//! def run_functions_in_parallel(fns):
//!     threads = [threading.Thread(target=f) for f in fns]
//!     for t in threads: t.start()
//!     for t in threads: t.join()
//! ```
//!
//! For a fixed set of functions known when writing the code, `par_join!` runs them and hands
//! back a tuple, each value with its own type. For a list built at run time, `par_map!` over a
//! `Vec` of boxed functions returns their results in the list's order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use parallel::{par_join, par_map};

/// A boxed function, as a list of Python callables would hold them. It may borrow for `'a`.
type Job<'a, T> = Box<dyn Fn() -> T + Send + Sync + 'a>;

/// Runs every function at once on its own thread and returns their results in the list's order.
fn run_functions_in_parallel<T: Send>(fns: Vec<Job<'_, T>>) -> Vec<T> {
    let workers = fns.len().max(1);
    par_map!(|f: Job<'_, T>| f(), fns; backend = threads, workers = workers)
}

fn greet() -> String {
    thread::sleep(Duration::from_millis(100));
    "hello".to_owned()
}

fn count_words(text: &str) -> usize {
    thread::sleep(Duration::from_millis(100));
    text.split_whitespace().count()
}

fn main() {
    // A fixed set: par_join! with any expressions, each with its own type. They may borrow.
    let text = "the quick brown fox";
    let start = Instant::now();
    let (greeting, words, sum) = par_join!(
        greet(),
        count_words(text),
        (1..=100u32).sum::<u32>();
        backend = threads
    );
    println!(
        "par_join!: {greeting:?}, {words} words, sum {sum} in {:.0?}",
        start.elapsed()
    );
    assert_eq!((greeting.as_str(), words, sum), ("hello", 4, 5050));

    // A list built at run time: boxed functions, all with the same result type. They borrow
    // `calls`: the map returns only when every function has finished.
    let calls = AtomicUsize::new(0);
    let calls = &calls;
    let fns: Vec<Job<'_, u64>> = (1..=5u64)
        .map(|i| -> Job<'_, u64> {
            Box::new(move || {
                thread::sleep(Duration::from_millis(100));
                calls.fetch_add(1, Ordering::Relaxed);
                i * 10
            })
        })
        .collect();
    let start = Instant::now();
    let results = run_functions_in_parallel(fns);
    println!(
        "run_functions_in_parallel: {results:?} in {:.0?} ({} calls of 100ms each)",
        start.elapsed(),
        calls.load(Ordering::Relaxed)
    );
    assert_eq!(results, [10, 20, 30, 40, 50]);
    assert_eq!(calls.load(Ordering::Relaxed), 5);
    assert!(run_functions_in_parallel::<u64>(Vec::new()).is_empty());
}
