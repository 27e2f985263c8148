//! `par_map!`: results in input order, on every backend, with every kind of input and function.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

use parallel::par_map;

fn square(n: u64) -> u64 {
    n * n
}

fn parse(s: &str) -> Result<u32, String> {
    s.parse().map_err(|_| format!("not a number: {s}"))
}

mod math {
    pub fn double(n: u64) -> u64 {
        2 * n
    }
}

#[test]
fn a_function_path_over_a_range_keeps_input_order() {
    let squares = par_map!(square, 0..10_000);
    assert_eq!(squares, (0..10_000).map(square).collect::<Vec<_>>());
}

#[test]
fn closures_paths_through_modules_and_associated_functions() {
    let offset = 7; // borrowed by the closure
    assert_eq!(par_map!(|x: u64| x + offset, vec![1, 2, 3]), [8, 9, 10]);
    assert_eq!(par_map!(|x| x * 3, [1u8, 2]), [3, 6]);
    assert_eq!(par_map!(math::double, 1..4), [2, 4, 6]);
    assert_eq!(
        par_map!(u64::is_power_of_two, [1u64, 3, 4]),
        [true, false, true]
    );
    assert_eq!(par_map!(str::len, ["a", "bcd"]), [1, 3]);
}

#[test]
fn every_kind_of_input() {
    let words = vec!["apple".to_string(), "kiwi".to_string()];
    // a slice iterator of borrowed items: not one of rayon's indexed inputs
    assert_eq!(par_map!(|w: &String| w.len(), words.iter()), [5, 4]);
    // a reference to a Vec: rayon's indexed path
    assert_eq!(par_map!(|w: &String| w.len(), &words), [5, 4]);
    // an iterator chain
    let odd = par_map!(square, (0..10u64).filter(|n| n % 2 == 1));
    assert_eq!(odd, [1, 9, 25, 49, 81]);
    // a set, in its own iteration order
    let set: BTreeSet<u64> = [3, 1, 2].into();
    assert_eq!(par_map!(square, set), [1, 4, 9]);
    // nothing at all
    assert!(par_map!(square, Vec::<u64>::new()).is_empty());
}

#[test]
fn results_collect_into_a_result_with_the_earliest_error() {
    let all: Result<Vec<u32>, String> = par_map!(parse, ["1", "2", "3"]);
    assert_eq!(all, Ok(vec![1, 2, 3]));
    for backend_threads in [false, true] {
        let inputs = ["1", "x", "3", "y", "5"];
        let first = if backend_threads {
            par_map!(parse, inputs; backend = threads, workers = 3)
        } else {
            par_map!(parse, inputs)
        };
        assert_eq!(first, Err("not a number: x".to_string()));
    }
}

#[test]
fn items_after_an_error_are_skipped_on_threads() {
    let ran = AtomicUsize::new(0);
    let out: Result<Vec<u32>, u32> = par_map!(
        |i: u32| {
            ran.fetch_add(1, Ordering::Relaxed);
            if i == 0 { Err(i) } else { Ok(i) }
        },
        0..1_000_000;
        backend = threads, workers = 2
    );
    assert_eq!(out, Err(0));
    // Reading stopped soon after the error: nowhere near the million items ran.
    assert!(
        ran.load(Ordering::Relaxed) < 1_000,
        "{} items ran",
        ran.load(Ordering::Relaxed)
    );
}

#[test]
fn threads_backend_with_workers_and_chunks() {
    let v = par_map!(square, 0..1000; backend = threads, workers = 4, chunk = 16);
    assert_eq!(v, (0..1000).map(square).collect::<Vec<_>>());
    let workers = 3;
    let v = par_map!(square, 0..10; backend = threads, workers = workers);
    assert_eq!(v.len(), 10);
    let v = par_map!(square, 0..100; workers = -1, chunk = 10, progress);
    assert_eq!(v[99], 9801);
}

#[test]
fn threads_backend_runs_as_many_at_once_as_workers() {
    // Each task waits until all 8 have started: this finishes only if 8 run at once.
    let barrier = std::sync::Barrier::new(8);
    let v = par_map!(|i: usize| { barrier.wait(); i }, 0..8; backend = threads, workers = 8);
    assert_eq!(v, (0..8).collect::<Vec<_>>());
}

#[test]
fn a_panic_reaches_the_caller_with_its_message() {
    for threads in [false, true] {
        let caught = catch_unwind(AssertUnwindSafe(|| {
            let f = |i: u32| if i == 3 { panic!("item {i} is bad") } else { i };
            if threads {
                par_map!(f, 0..8; backend = threads)
            } else {
                par_map!(f, 0..8)
            }
        }));
        let payload = caught.expect_err("the panic was lost");
        let message = payload
            .downcast_ref::<String>()
            .expect("the original String payload");
        assert_eq!(message, "item 3 is bad");
    }
}
