//! Crashing tasks fail alone, the pool carries on: `cargo run --example backend_process_crash`
//!
//! A task that aborts, panics or calls `exit` in a worker process fails on its own: the pool
//! reports it as a `TaskError` (which item, which function, and how: the panic message, the
//! exit code or the signal), starts a new worker in place of the dead one, and every other task
//! completes. A pool with a `timeout` kills the worker of a task that runs late.
//!
//! Python's pools do worse with the same input: `multiprocessing.Pool.map` waits forever for
//! the result of a worker that died, and `ProcessPoolExecutor` raises `BrokenProcessPool` for
//! every pending task and stays broken.
//!
//! ```python
//! with ProcessPoolExecutor(2) as ex:
//!     list(ex.map(risky, ["a", "abort", "b", "panic", "exit", "c"]))   # BrokenProcessPool
//! ```
//!
//! The panic's usual message on stderr comes from the worker and is expected.

use std::time::{Duration, Instant};

use parallel::{ErrorKind, ProcessPool, WorkerExit, parallel};

/// Fails in the way its input asks for; otherwise returns it in capitals.
#[parallel]
fn risky(input: String) -> String {
    match input.as_str() {
        "abort" => std::process::abort(),
        "panic" => panic!("refusing to process {input:?}"),
        "exit" => std::process::exit(3),
        _ => input.to_uppercase(),
    }
}

#[parallel]
fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

fn main() {
    let pool = ProcessPool::builder()
        .workers(2)
        .build()
        .expect("2 workers is valid");

    // 1. Three ways to die among three calls that return.
    let inputs = ["a", "abort", "b", "panic", "exit", "c"].map(String::from);
    let results: Vec<_> = pool.map(risky, inputs.clone()).collect();
    for result in &results {
        match result {
            Ok(value) => println!("  ok:     {value}"),
            Err(err) => println!(
                "  failed: item {} of `{}`: {:?}\n          ({err})",
                err.index().unwrap(),
                err.name().unwrap(),
                err.kind()
            ),
        }
    }
    assert_eq!(results[0].as_ref().unwrap(), "A");
    assert_eq!(results[2].as_ref().unwrap(), "B");
    assert_eq!(results[5].as_ref().unwrap(), "C");

    let aborted = results[1].as_ref().unwrap_err();
    assert_eq!((aborted.index(), aborted.name()), (Some(1), Some("risky")));
    assert_eq!(
        aborted.kind(),
        &ErrorKind::WorkerDied {
            exit: WorkerExit::Signal(6) // SIGABRT
        }
    );
    let panicked = results[3].as_ref().unwrap_err();
    assert_eq!(panicked.index(), Some(3));
    assert_eq!(
        panicked.panic_message(),
        Some("refusing to process \"panic\"")
    );
    let exited = results[4].as_ref().unwrap_err();
    assert_eq!(exited.index(), Some(4));
    assert_eq!(
        exited.kind(),
        &ErrorKind::WorkerDied {
            exit: WorkerExit::Code(3)
        }
    );

    // 2. The same pool still works: the dead workers were replaced.
    let after: Vec<String> = pool
        .map(risky, ["still", "working"].map(String::from))
        .map(|result| result.expect("no failure this time"))
        .collect();
    println!("the same pool afterwards: {after:?}");
    assert_eq!(after, ["STILL", "WORKING"]);

    // 3. A timeout: the worker of the late call is killed; the others finish.
    let limit = Duration::from_millis(300);
    let pool = ProcessPool::builder()
        .workers(2)
        .timeout(limit)
        .build()
        .expect("2 workers is valid");
    let start = Instant::now();
    let results: Vec<_> = pool.map(sleep_ms, [10, 60_000, 20]).collect();
    println!(
        "with timeout = {limit:?}: {:?}, {:?}, {:?} in {:.0?}",
        results[0].as_ref().map_err(ToString::to_string),
        results[1].as_ref().map_err(ToString::to_string),
        results[2].as_ref().map_err(ToString::to_string),
        start.elapsed()
    );
    assert_eq!(results[0].as_ref().unwrap(), &10);
    assert_eq!(
        results[1].as_ref().unwrap_err().kind(),
        &ErrorKind::TimedOut { after: limit }
    );
    assert_eq!(results[2].as_ref().unwrap(), &20);
    assert_eq!(pool.spawn(sleep_ms, (1,)).join().unwrap(), 1);
    println!("3 of 6 calls crashed, 1 of 3 timed out: every other call completed");
}
