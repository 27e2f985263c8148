//! `par_join!`: tuples back, borrowed locals, panics, and every backend.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Barrier;

use parallel::par_join;

fn fib(n: u64) -> u64 {
    if n < 2 { n } else { fib(n - 1) + fib(n - 2) }
}

#[test]
fn returns_the_tuple_of_values_in_order() {
    let (a, b) = par_join!(fib(20), fib(10));
    assert_eq!((a, b), (6765, 55));
    let (a, b, c, d, e) = par_join!(1, "two", 3.0, fib(5), vec![5]);
    assert_eq!((a, b, c, d, e), (1, "two", 3.0, 5, vec![5]));
    let eight = par_join!(1, 2, 3, 4, 5, 6, 7, 8);
    assert_eq!(eight, (1, 2, 3, 4, 5, 6, 7, 8));
}

#[test]
fn a_single_expression_gives_its_value() {
    let value: u64 = par_join!(fib(10));
    assert_eq!(value, 55);
}

#[test]
fn expressions_borrow_and_mutate_locals() {
    let data = [3, 1, 2];
    let mut left = Vec::new();
    let mut right = String::new();
    let (sum, max) = par_join!(data.iter().sum::<i32>(), *data.iter().max().unwrap());
    par_join!(left.push(sum), right.push_str("done"));
    assert_eq!((sum, max), (6, 3));
    assert_eq!(left, [6]);
    assert_eq!(right, "done");
    // `data` is still usable: it was only borrowed
    assert_eq!(data.len(), 3);
}

#[test]
fn threads_backend_runs_every_expression_at_once() {
    // Each expression waits until all three have started: only true concurrency finishes.
    let barrier = Barrier::new(3);
    let (a, b, c) = par_join!(
        { barrier.wait(); 'a' },
        { barrier.wait(); 'b' },
        { barrier.wait(); 'c' };
        backend = threads
    );
    assert_eq!((a, b, c), ('a', 'b', 'c'));
}

#[test]
fn workers_bound_the_threads_backend() {
    let (a, b, c) = par_join!(fib(3), fib(4), fib(5); backend = threads, workers = 1);
    assert_eq!((a, b, c), (2, 3, 5));
}

#[test]
fn rayon_with_its_own_worker_count() {
    let (inside, b) = par_join!(rayon::current_num_threads(), fib(8); workers = 3);
    assert_eq!(inside, 3);
    assert_eq!(b, 21);
    let (x, y) = par_join!(fib(9), fib(1); backend = rayon, progress);
    assert_eq!((x, y), (34, 1));
}

#[test]
fn a_panic_reaches_the_caller_with_its_message_after_the_others_finish() {
    for threads in [false, true] {
        let mut other_finished = false;
        let caught = catch_unwind(AssertUnwindSafe(|| {
            if threads {
                par_join!(panic!("task one failed"), other_finished = true; backend = threads)
            } else {
                par_join!(panic!("task one failed"), other_finished = true)
            }
        }));
        let payload = caught.expect_err("the panic was lost");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"task one failed"));
        assert!(other_finished, "the other expression did not finish");
    }
}
