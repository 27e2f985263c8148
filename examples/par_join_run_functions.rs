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
//! `Vec` of boxed functions returns their results in the list's order; `spawn_thread` gives each
//! function of a list a thread of its own (`threading.Thread`); and on processes
//! (`multiprocessing.Process`), a list of `fn` pointers to `#[parallel]` functions, chosen at
//! run time, runs in worker processes. Each way takes about as long as the slowest function,
//! not their sum.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use parallel::{ProcessPool, par_join, par_map, parallel, spawn_thread};

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

/// Steps of a pipeline, each a `#[parallel]` function, so that it can run in a worker process.
#[parallel]
fn fetch(ms: u64) -> String {
    thread::sleep(Duration::from_millis(ms));
    format!("fetched in {ms}ms")
}

#[parallel]
fn index(ms: u64) -> String {
    thread::sleep(Duration::from_millis(ms));
    format!("indexed in {ms}ms")
}

#[parallel]
fn report(ms: u64) -> String {
    thread::sleep(Duration::from_millis(ms));
    format!("reported in {ms}ms")
}

/// A step: a pointer to one of the `#[parallel]` functions above.
type Step = fn(u64) -> String;

/// The steps named on the command line (all of them by default): a list chosen at run time.
fn chosen_steps() -> Vec<Step> {
    let names: Vec<String> = std::env::args().skip(1).collect();
    let all: [(&str, Step); 3] = [("fetch", fetch), ("index", index), ("report", report)];
    all.into_iter()
        .filter(|(name, _)| names.is_empty() || names.iter().any(|n| n == name))
        .map(|(_, step)| step)
        .collect()
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

    // The same list on threads of their own, and in worker processes: `fn` pointers of
    // `#[parallel]` functions go to a `ProcessPool` as the functions themselves do.
    let steps = chosen_steps();
    let start = Instant::now();
    let threads: Vec<_> = steps
        .iter()
        .map(|&step| spawn_thread(move || step(200)))
        .collect();
    let on_threads: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    println!(
        "{} steps of 200ms on threads of their own: {:.0?}",
        steps.len(),
        start.elapsed()
    );
    let pool = ProcessPool::builder()
        .workers(steps.len().max(1) as i64)
        .build()
        .unwrap();
    let start = Instant::now();
    let processes: Vec<_> = steps.iter().map(|&step| pool.spawn(step, (200,))).collect();
    let in_processes: Vec<String> = processes.into_iter().map(|t| t.join().unwrap()).collect();
    println!(
        "{} steps of 200ms in worker processes: {:.0?}",
        steps.len(),
        start.elapsed()
    );
    assert_eq!(on_threads, in_processes);
    assert_eq!(
        in_processes,
        ["fetched in 200ms", "indexed in 200ms", "reported in 200ms"]
    );
}
