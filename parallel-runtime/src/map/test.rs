use super::*;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

use crossbeam_channel::{Receiver, Sender};

use crate::backend::threads::ThreadPool;
use crate::backend::work_stealing::RayonPool;
use crate::backend::{Executor, Job};
use crate::error::ErrorKind;

/// An input that counts how many items have been read from it.
struct Counted<I> {
    inner: I,
    pulls: Arc<AtomicUsize>,
}

fn counted<I: IntoIterator>(items: I) -> (Counted<I::IntoIter>, Arc<AtomicUsize>) {
    let pulls = Arc::new(AtomicUsize::new(0));
    let input = Counted {
        inner: items.into_iter(),
        pulls: Arc::clone(&pulls),
    };
    (input, pulls)
}

impl<I: Iterator> Iterator for Counted<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next()?;
        self.pulls.fetch_add(1, Ordering::SeqCst);
        Some(item)
    }
}

/// An executor that runs jobs on a thread pool, counts them, and reports each job's end (after
/// the job has sent its results). Without a pool it stands for a pool that is gone: every job is
/// dropped unrun.
#[derive(Clone)]
struct Probe {
    pool: Option<ThreadPool>,
    jobs: Arc<AtomicUsize>,
    finished: Sender<()>,
}

impl Probe {
    fn new(pool: Option<ThreadPool>) -> (Probe, Receiver<()>) {
        let (finished, finished_rx) = crossbeam_channel::unbounded();
        let probe = Probe {
            pool,
            jobs: Arc::new(AtomicUsize::new(0)),
            finished,
        };
        (probe, finished_rx)
    }
}

impl Executor for Probe {
    fn execute(&self, job: Job) {
        self.jobs.fetch_add(1, Ordering::SeqCst);
        match &self.pool {
            Some(pool) => {
                let finished = self.finished.clone();
                pool.execute(Box::new(move || {
                    job();
                    let _ = finished.send(());
                }));
            }
            None => drop(job),
        }
    }

    fn workers(&self) -> usize {
        self.pool.as_ref().map_or(1, ThreadPool::workers)
    }
}

fn pool(workers: i64) -> ThreadPool {
    ThreadPool::builder().workers(workers).build().unwrap()
}

fn fail_on_three(x: u32) -> u32 {
    assert_ne!(x, 3, "three is bad");
    x * 10
}

fn double(x: u64) -> u64 {
    2 * x
}

#[test]
fn map_yields_input_order_though_the_first_item_finishes_last() {
    // Item 0 is held until items 1 and 2 have finished and sent their results, so the results
    // arrive in the order 1, 2, 0.
    let (gate_tx, gate) = crossbeam_channel::unbounded::<()>();
    let (probe, finished) = Probe::new(Some(pool(3)));
    let map = Map::new(
        probe,
        move |i: usize| {
            if i == 0 {
                gate.recv().unwrap();
            }
            i * 100
        },
        0..3,
    );
    thread::scope(|s| {
        let consumer = s.spawn(|| map.map(Result::unwrap).collect::<Vec<_>>());
        finished.recv().unwrap();
        finished.recv().unwrap();
        gate_tx.send(()).unwrap();
        assert_eq!(consumer.join().unwrap(), [0, 100, 200]);
    });
}

#[test]
fn map_unordered_yields_each_result_as_it_finishes() {
    let (gate_tx, gate) = crossbeam_channel::unbounded::<()>();
    let mut results = pool(3).map_unordered(
        move |i: usize| {
            if i == 0 {
                gate.recv().unwrap();
            }
            i
        },
        0..3,
    );
    let first_two: HashSet<usize> = results.by_ref().take(2).map(|(index, _)| index).collect();
    assert_eq!(first_two, HashSet::from([1, 2]));
    gate_tx.send(()).unwrap();
    let (index, value) = results.next().unwrap();
    assert_eq!((index, value.unwrap()), (0, 0));
    assert!(results.next().is_none());
}

#[test]
fn map_unordered_reads_at_most_in_flight_items_before_the_first_result() {
    let (input, pulls) = counted(0..1_000_u32);
    let mut results = pool(4).map_unordered(|x: u32| x, input).in_flight(3);
    assert_eq!(
        pulls.load(Ordering::SeqCst),
        0,
        "the map read before it was iterated"
    );
    results.next().unwrap().1.unwrap();
    assert_eq!(pulls.load(Ordering::SeqCst), 3);

    // Through the whole map: when the k-th result is handed out, at most k - 1 + 3 items have
    // been read.
    let mut consumed = 1;
    for (_, result) in results {
        result.unwrap();
        consumed += 1;
        let read = pulls.load(Ordering::SeqCst);
        assert!(
            read < consumed + 3,
            "{read} items read for {consumed} results"
        );
    }
    assert_eq!(consumed, 1_000);
}

#[test]
fn the_default_in_flight_is_two_per_worker_times_the_chunk() {
    let (input, pulls) = counted(0..1_000_u32);
    let mut results = pool(2).map_unordered(|x: u32| x, input);
    results.next().unwrap().1.unwrap();
    assert_eq!(pulls.load(Ordering::SeqCst), 4);

    let (input, pulls) = counted(0..1_000_u32);
    let mut results = pool(2).map_unordered(|x: u32| x, input).chunk(5);
    results.next().unwrap().1.unwrap();
    assert_eq!(pulls.load(Ordering::SeqCst), 20);
}

#[test]
fn an_explicit_in_flight_holds_whatever_the_order_of_the_calls() {
    for in_flight_first in [true, false] {
        let (input, pulls) = counted(0..1_000_u32);
        let results = pool(2).map_unordered(|x: u32| x, input);
        let mut results = if in_flight_first {
            results.in_flight(3).chunk(2)
        } else {
            results.chunk(2).in_flight(3)
        };
        results.next().unwrap().1.unwrap();
        let read = pulls.load(Ordering::SeqCst);
        assert_eq!(read, 3, "in_flight first: {in_flight_first}");
    }
}

#[test]
fn map_counts_results_waiting_for_a_slow_item_as_in_flight() {
    // Item 0 is held until items 1 and 2 have finished and sent their results. While the map
    // waits for item 0, those two finished results count against `in_flight(3)`: reading a
    // fourth item would run further ahead of the caller than allowed.
    let (gate_tx, gate) = crossbeam_channel::unbounded::<()>();
    let (input, pulls) = counted(0..100_usize);
    let (probe, finished) = Probe::new(Some(pool(3)));
    let mut map = Map::new(
        probe,
        move |i: usize| {
            if i == 0 {
                gate.recv().unwrap();
            }
            i
        },
        input,
    )
    .in_flight(3);
    thread::scope(|s| {
        let consumer = s.spawn(|| map.next());
        finished.recv().unwrap();
        finished.recv().unwrap();
        gate_tx.send(()).unwrap();
        assert_eq!(consumer.join().unwrap().unwrap().unwrap(), 0);
    });
    assert_eq!(pulls.load(Ordering::SeqCst), 3);
    // The rest still comes, in order.
    assert_eq!(
        map.map(Result::unwrap).collect::<Vec<_>>(),
        (1..100).collect::<Vec<_>>()
    );
}

#[test]
fn chunks_run_as_one_job_on_one_thread_in_order() {
    let (probe, _finished) = Probe::new(Some(pool(2)));
    let jobs = Arc::clone(&probe.jobs);
    let seen = Arc::new(Mutex::new(Vec::<(usize, ThreadId)>::new()));
    let record = Arc::clone(&seen);
    let values: Vec<usize> = Map::new(
        probe,
        move |i: usize| {
            record.lock().unwrap().push((i, thread::current().id()));
            i + 1
        },
        0..10,
    )
    .chunk(5)
    .map(Result::unwrap)
    .collect();
    assert_eq!(values, (1..=10).collect::<Vec<_>>());
    assert_eq!(jobs.load(Ordering::SeqCst), 2);
    let seen = seen.lock().unwrap();
    for chunk in [0..5, 5..10] {
        let runs: Vec<_> = seen.iter().filter(|(i, _)| chunk.contains(i)).collect();
        let order: Vec<usize> = runs.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            order,
            chunk.clone().collect::<Vec<_>>(),
            "a chunk ran out of order"
        );
        assert!(
            runs.iter().all(|(_, t)| *t == runs[0].1),
            "a chunk ran on two threads"
        );
    }
}

#[test]
fn a_short_last_chunk_and_an_empty_input() {
    let v: Vec<u64> = pool(2)
        .map(double, 0..7)
        .chunk(3)
        .map(Result::unwrap)
        .collect();
    assert_eq!(v, [0, 2, 4, 6, 8, 10, 12]);
    assert_eq!(pool(2).map(double, Vec::new()).count(), 0);
    assert_eq!(pool(2).map_unordered(double, Vec::new()).count(), 0);
}

#[test]
fn an_endless_input_streams() {
    let (input, pulls) = counted(0_u64..);
    let firsts: Vec<u64> = pool(2)
        .map(double, input)
        .take(50)
        .map(Result::unwrap)
        .collect();
    assert_eq!(firsts, (0..50).map(double).collect::<Vec<_>>());
    // Default in flight: 2 per worker.
    assert!(pulls.load(Ordering::SeqCst) <= 50 + 4);

    let mut seen = HashSet::new();
    for (index, result) in pool(2).map_unordered(double, 0_u64..).take(50) {
        assert_eq!(result.unwrap(), 2 * index as u64);
        assert!(seen.insert(index), "index {index} twice");
    }
    assert_eq!(seen.len(), 50);
}

#[test]
fn a_panicking_item_becomes_an_error_with_its_index_and_function_name() {
    let results: Vec<_> = pool(2).map(fail_on_three, 0..6).collect();
    for (i, result) in results.iter().enumerate() {
        if i == 3 {
            let err = result.as_ref().unwrap_err();
            assert_eq!(err.index(), Some(3));
            assert!(err.name().unwrap().ends_with("fail_on_three"), "{err}");
            assert!(
                err.panic_message().unwrap().contains("three is bad"),
                "{err}"
            );
            assert!(matches!(err.kind(), ErrorKind::Panicked { .. }));
        } else {
            assert_eq!(result.as_ref().unwrap(), &(i as u32 * 10));
        }
    }
}

#[test]
fn a_closure_gives_an_index_but_no_name() {
    let results: Vec<_> = RayonPool::global()
        .map_unordered(|x: u32| if x == 1 { panic!("one") } else { x }, 0..3)
        .collect();
    let (index, err) = results
        .into_iter()
        .find_map(|(index, r)| r.err().map(|e| (index, e)))
        .unwrap();
    assert_eq!(index, 1);
    assert_eq!(err.index(), Some(1));
    assert_eq!(err.name(), None);
    assert_eq!(err.panic_message(), Some("one"));
}

#[test]
fn a_function_pointer_gives_no_name() {
    // Only the pointer's type is known, not which function it points to.
    let f: fn(u32) -> u32 = fail_on_three;
    let err = pool(1).map(f, [3]).next().unwrap().unwrap_err();
    assert_eq!(err.name(), None, "{err}");
}

#[test]
fn items_of_a_pool_that_is_gone_are_cancelled_not_lost() {
    let (gone, _) = Probe::new(None);
    let results: Vec<_> = MapUnordered::new(gone.clone(), double, 0..5_u64).collect();
    let mut indices: Vec<usize> = results.iter().map(|(index, _)| *index).collect();
    indices.sort_unstable();
    assert_eq!(indices, [0, 1, 2, 3, 4]);
    for (index, result) in results {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), &ErrorKind::Cancelled);
        assert_eq!(err.index(), Some(index));
        assert!(err.name().unwrap().ends_with("double"));
    }

    let in_order: Vec<_> = Map::new(gone, double, 0..3_u64).chunk(2).collect();
    assert_eq!(in_order.len(), 3);
    for (i, result) in in_order.into_iter().enumerate() {
        assert_eq!(result.unwrap_err().index(), Some(i));
    }
}

#[test]
fn rayon_pools_map_too() {
    let pool = RayonPool::builder().workers(2).build().unwrap();
    let v: Vec<u64> = pool.map(double, 0..100).map(Result::unwrap).collect();
    assert_eq!(v, (0..100).map(double).collect::<Vec<_>>());
}
