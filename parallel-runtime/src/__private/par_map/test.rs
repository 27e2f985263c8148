use super::*;

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::AtomicBool;
use std::sync::{Barrier, Mutex, mpsc};
use std::thread::{self, ThreadId};

use super::super::collect::{PlainCollect, ResultCollect};
use super::super::par_map_process::LocalRoute;
use super::super::pick::{IndexedInput, IterInput};
use crate::config::{Backend, Workers};

fn on(backend: Backend, workers: i64) -> Options {
    Options {
        backend: Some(backend),
        workers: Some(Workers::new(workers).unwrap()),
        ..Options::new()
    }
}

fn with_chunk(options: Options, chunk: usize) -> Options {
    Options {
        chunk: NonZeroUsize::new(chunk),
        ..options
    }
}

/// `map` for closures: the route of calls that cannot run in a worker process.
#[track_caller]
fn map_local<I, F, T, K, C>(
    options: Options,
    label: &'static str,
    items: I,
    f: F,
    kind: K,
    collector: C,
) -> C::Output
where
    I: IntoIterator,
    I::Item: Send,
    F: Fn(I::Item) -> T + Sync,
    T: Send,
    K: InputKind<I>,
    C: Collector<T>,
    C::Output: Send,
{
    map(options, label, items, f, kind, collector, LocalRoute)
}

const BACKENDS: [Backend; 2] = [Backend::Rayon, Backend::Threads];

fn parse(s: &str) -> Result<u32, String> {
    s.parse().map_err(|_| format!("bad {s}"))
}

/// An input that counts how many items have been read from it.
struct Counted<'a, I> {
    inner: I,
    pulls: &'a AtomicUsize,
}

impl<I: Iterator> Iterator for Counted<'_, I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next()?;
        self.pulls.fetch_add(1, Ordering::SeqCst);
        Some(item)
    }
}

#[test]
fn results_come_back_in_input_order_on_every_backend_and_input_kind() {
    let expected: Vec<u32> = (0..1_000).map(|x| x * x).collect();
    for backend in BACKENDS {
        let options = on(backend, 3);
        let indexed = map_local(
            options,
            "t",
            0..1_000_u32,
            |x| x * x,
            IndexedInput,
            PlainCollect,
        );
        assert_eq!(indexed, expected, "{backend}, indexed");
        let filtered = (0..2_000_u32).filter(|x| x % 2 == 0).map(|x| x / 2);
        let iter = map_local(options, "t", filtered, |x| x * x, IterInput, PlainCollect);
        assert_eq!(iter, expected, "{backend}, iterator");
        let chunked = map_local(
            with_chunk(options, 7),
            "t",
            0..1_000_u32,
            |x| x * x,
            IndexedInput,
            PlainCollect,
        );
        assert_eq!(chunked, expected, "{backend}, chunked");
        let empty = map_local(
            options,
            "t",
            Vec::<u32>::new(),
            |x| x,
            IndexedInput,
            PlainCollect,
        );
        assert!(empty.is_empty());
    }
}

#[test]
fn results_collect_into_the_earliest_error() {
    for backend in BACKENDS {
        let options = on(backend, 3);
        let ok = map_local(
            options,
            "t",
            ["1", "2", "3"],
            parse,
            IndexedInput,
            ResultCollect,
        );
        assert_eq!(ok, Ok(vec![1, 2, 3]));
        let inputs = ["0", "1", "2", "x", "4", "5", "6", "y", "8"];
        for kind_iter in [false, true] {
            let out = if kind_iter {
                map_local(
                    options,
                    "t",
                    inputs.iter().copied(),
                    parse,
                    IterInput,
                    ResultCollect,
                )
            } else {
                map_local(options, "t", inputs, parse, IndexedInput, ResultCollect)
            };
            assert_eq!(out, Err("bad x".to_owned()), "{backend}");
        }
    }
}

#[test]
fn the_earliest_error_wins_even_when_a_later_one_comes_first() {
    // Item 1 fails only after item 5 has failed and the map has seen it.
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Mutex::new(rx);
    let tx = Mutex::new(tx);
    let out = map_local(
        on(Backend::Threads, 2),
        "t",
        0..6_u32,
        |i| match i {
            1 => {
                rx.lock().unwrap().recv().unwrap();
                Err(i)
            }
            5 => {
                tx.lock().unwrap().send(()).unwrap();
                Err(i)
            }
            _ => Ok(i),
        },
        IndexedInput,
        ResultCollect,
    );
    assert_eq!(out, Err(1));
}

#[test]
fn on_threads_a_map_stops_at_an_error_without_reading_further() {
    // One worker takes the items in order: after item 0 fails no other item runs, and reading
    // stops at once, although the input is endless.
    let pulls = AtomicUsize::new(0);
    let ran = AtomicUsize::new(0);
    let input = Counted {
        inner: 0_u64..,
        pulls: &pulls,
    };
    let out: Result<Vec<u64>, u64> = map_local(
        on(Backend::Threads, 1),
        "t",
        input,
        |i| {
            ran.fetch_add(1, Ordering::SeqCst);
            if i == 0 { Err(i) } else { Ok(i) }
        },
        IterInput,
        ResultCollect,
    );
    assert_eq!(out, Err(0));
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    // At most: the item that failed, one waiting in the queue, and one being handed over.
    assert!(
        pulls.load(Ordering::SeqCst) <= 3,
        "read {}",
        pulls.load(Ordering::SeqCst)
    );
}

#[test]
fn on_threads_an_endless_input_ends_at_its_first_error() {
    let out = map_local(
        on(Backend::Threads, 3),
        "t",
        0_u64..,
        |i| if i == 500 { Err(i) } else { Ok(i) },
        IterInput,
        ResultCollect,
    );
    assert_eq!(out, Err(500));
}

#[test]
fn on_threads_the_input_is_read_only_as_workers_take_items() {
    // With two workers and chunks of 3: at most 2 chunks queued, one being taken by each
    // worker and one being read by the caller, so at most (2 + 2 + 1) * 3 items read and not
    // started. Checked at every read.
    let started = AtomicUsize::new(0);
    let pulls = AtomicUsize::new(0);
    let too_far = AtomicBool::new(false);
    let input = (0..3_000_u32).inspect(|_| {
        let read = pulls.fetch_add(1, Ordering::SeqCst) + 1;
        if read > started.load(Ordering::SeqCst) + 15 {
            too_far.store(true, Ordering::SeqCst);
        }
    });
    let out = map_local(
        with_chunk(on(Backend::Threads, 2), 3),
        "t",
        input,
        |x| {
            started.fetch_add(1, Ordering::SeqCst);
            x + 1
        },
        IterInput,
        PlainCollect,
    );
    assert_eq!(out, (1..=3_000).collect::<Vec<_>>());
    assert!(
        !too_far.load(Ordering::SeqCst),
        "the input was read too far ahead"
    );
}

#[test]
fn on_threads_workers_bound_the_threads_and_all_run_at_once() {
    let barrier = Barrier::new(4);
    let threads = Mutex::new(HashSet::<ThreadId>::new());
    let out = map_local(
        on(Backend::Threads, 4),
        "t",
        0..40_usize,
        |i| {
            if i < 4 {
                // The first four items wait for each other: four threads run at once.
                barrier.wait();
            }
            threads.lock().unwrap().insert(thread::current().id());
            assert_eq!(thread::current().name(), Some("parallel-threads"));
            i
        },
        IndexedInput,
        PlainCollect,
    );
    assert_eq!(out, (0..40).collect::<Vec<_>>());
    assert_eq!(threads.into_inner().unwrap().len(), 4);
}

#[test]
fn on_threads_a_chunk_runs_in_order_on_one_thread() {
    let seen = Mutex::new(Vec::<(usize, ThreadId)>::new());
    map_local(
        with_chunk(on(Backend::Threads, 3), 4),
        "t",
        0..12_usize,
        |i| seen.lock().unwrap().push((i, thread::current().id())),
        IndexedInput,
        PlainCollect,
    );
    let mut by_chunk: HashMap<usize, Vec<(usize, ThreadId)>> = HashMap::new();
    for (i, thread) in seen.into_inner().unwrap() {
        by_chunk.entry(i / 4).or_default().push((i, thread));
    }
    assert_eq!(by_chunk.len(), 3);
    for (chunk, runs) in by_chunk {
        let order: Vec<usize> = runs.iter().map(|(i, _)| *i).collect();
        assert_eq!(order, (chunk * 4..chunk * 4 + 4).collect::<Vec<_>>());
        assert!(
            runs.iter().all(|(_, t)| *t == runs[0].1),
            "chunk {chunk} ran on two threads"
        );
    }
}

#[test]
fn on_rayon_the_worker_count_sizes_the_pool() {
    let sizes = map_local(
        on(Backend::Rayon, 3),
        "t",
        0..10,
        |_: i32| rayon::current_num_threads(),
        IndexedInput,
        PlainCollect,
    );
    assert_eq!(sizes, [3; 10]);
}

#[test]
fn a_panic_reaches_the_caller_with_the_earliest_payload_after_the_others_finish() {
    for backend in BACKENDS {
        let caught = catch_unwind(AssertUnwindSafe(|| {
            map_local(
                on(backend, 2),
                "t",
                0..8_u32,
                |i| if i == 5 { std::panic::panic_any(i) } else { i },
                IndexedInput,
                PlainCollect,
            )
        }));
        assert_eq!(
            caught.unwrap_err().downcast_ref::<u32>(),
            Some(&5),
            "{backend}"
        );
    }

    // On threads: item 1 starts to panic, which lets item 0 panic later. Item 0's panic wins,
    // and it is only raised once item 0 has finished.
    let (tx, rx) = mpsc::channel::<()>();
    let (tx, rx) = (Mutex::new(tx), Mutex::new(rx));
    let caught = catch_unwind(AssertUnwindSafe(|| {
        map_local(
            on(Backend::Threads, 2),
            "t",
            0..2_u32,
            |i| {
                if i == 0 {
                    rx.lock().unwrap().recv().unwrap();
                    panic!("item 0 failed");
                }
                tx.lock().unwrap().send(()).unwrap();
                panic!("item 1 failed");
            },
            IndexedInput,
            PlainCollect,
        )
    }));
    let payload = caught.unwrap_err();
    assert_eq!(crate::error::panic_message(&*payload), "item 0 failed");
}
