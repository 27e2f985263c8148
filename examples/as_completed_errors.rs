//! `submit` + `as_completed` with per-task errors: `cargo run --example as_completed_errors`
//!
//! Python's `ThreadPoolExecutor.submit` + `as_completed`: each task's failure is reported, and the
//! others are unaffected.
//!
//! ```python
//! with ThreadPoolExecutor(max_workers=4) as ex:
//!     futures = [ex.submit(f) for f in (fetch_index, fetch_users, parse_config, fetch_missing)]
//!     for fut in as_completed(futures):
//!         try:
//!             print(fut.result())
//!         except Exception as exc:
//!             print(f"failed: {exc}")
//! ```
//!
//! A task that panics comes back as a `TaskError` (with the function's name and the panic
//! message); a task that returns `Err` has run fine and hands back its `Err` value. Either way
//! the other tasks complete. The panic's usual message on stderr is expected.

use std::collections::BTreeMap;
use std::thread;
use std::time::Duration;

use parallel::{ErrorKind, ThreadPool, as_completed};

type Page = Result<String, String>;

fn fetch_index() -> Page {
    thread::sleep(Duration::from_millis(150));
    Ok("<h1>index</h1>".to_owned())
}

fn fetch_users() -> Page {
    thread::sleep(Duration::from_millis(50));
    Ok("alice, bob".to_owned())
}

fn parse_config() -> Page {
    thread::sleep(Duration::from_millis(100));
    panic!("config line 3: expected `=`");
}

fn fetch_missing() -> Page {
    thread::sleep(Duration::from_millis(20));
    Err("404 not found: /missing".to_owned())
}

fn main() {
    let pool = ThreadPool::builder()
        .workers(4)
        .build()
        .expect("4 workers is valid");

    // submit: each spawn starts right away and returns a handle. Spawning a function by name
    // (rather than a closure) lets a `TaskError` say which function failed.
    let tasks = vec![
        pool.spawn(fetch_index),
        pool.spawn(fetch_users),
        pool.spawn(parse_config),
        pool.spawn(fetch_missing),
    ];

    // as_completed: results in the order the tasks finish, each with its index in `tasks`.
    let mut outcomes = BTreeMap::new();
    for (index, result) in as_completed(tasks) {
        match &result {
            Ok(Ok(page)) => println!("task {index}: ok: {page}"),
            Ok(Err(error)) => println!("task {index}: returned an error: {error}"),
            Err(error) => match error.panic_message() {
                Some(message) => println!(
                    "task {index}: `{}` panicked: {message}",
                    error.name().unwrap_or("<closure>")
                ),
                None => println!("task {index}: {error}"), // timed out or cancelled
            },
        }
        outcomes.insert(index, result);
    }

    assert_eq!(outcomes.len(), 4, "every task reports exactly once");
    assert_eq!(
        outcomes[&0].as_ref().unwrap(),
        &Ok("<h1>index</h1>".to_owned())
    );
    assert_eq!(outcomes[&1].as_ref().unwrap(), &Ok("alice, bob".to_owned()));
    assert_eq!(
        outcomes[&3].as_ref().unwrap(),
        &Err("404 not found: /missing".to_owned())
    );
    let panicked = outcomes[&2].as_ref().unwrap_err();
    assert!(matches!(panicked.kind(), ErrorKind::Panicked { .. }));
    assert_eq!(
        panicked.panic_message(),
        Some("config line 3: expected `=`")
    );
    assert!(
        panicked
            .name()
            .is_some_and(|name| name.ends_with("parse_config"))
    );
    println!("2 tasks succeeded, 1 returned an error, 1 panicked: the pool carried on");
}
