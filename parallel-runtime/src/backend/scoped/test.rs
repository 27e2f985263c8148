use super::*;

use std::collections::HashSet;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::{self, ThreadId};

/// Runs `jobs` jobs through `threads_join` with `workers`, each first calling `body(index)`, and
/// returns the distinct threads they ran on.
fn threads_used(
    workers: Option<usize>,
    jobs: usize,
    body: impl Fn(usize) + Sync,
) -> HashSet<ThreadId> {
    let seen = Mutex::new(HashSet::new());
    let (seen_ref, body) = (&seen, &body);
    let jobs: Vec<ScopedJob<'_>> = (0..jobs)
        .map(|index| -> ScopedJob<'_> {
            Box::new(move || {
                body(index);
                seen_ref.lock().unwrap().insert(thread::current().id());
            })
        })
        .collect();
    threads_join(workers, jobs);
    seen.into_inner().unwrap()
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    crate::error::panic_message(payload)
}

#[test]
fn threads_join_runs_every_job_and_lets_jobs_borrow() {
    let mut results = vec![0; 10];
    let jobs: Vec<ScopedJob<'_>> = results
        .iter_mut()
        .enumerate()
        .map(|(i, slot)| -> ScopedJob<'_> { Box::new(move || *slot = i * i) })
        .collect();
    threads_join(Some(3), jobs);
    assert_eq!(results, (0..10).map(|i| i * i).collect::<Vec<_>>());
}

#[test]
fn threads_join_with_no_jobs_returns() {
    threads_join(None, Vec::new());
    threads_join(Some(4), Vec::new());
}

#[test]
fn threads_join_runs_on_threads_named_parallel_threads() {
    let names = Mutex::new(Vec::new());
    threads_join(
        None,
        vec![
            Box::new(|| {
                names
                    .lock()
                    .unwrap()
                    .push(thread::current().name().map(str::to_owned))
            }),
            Box::new(|| {
                names
                    .lock()
                    .unwrap()
                    .push(thread::current().name().map(str::to_owned))
            }),
        ],
    );
    let names = names.into_inner().unwrap();
    assert_eq!(names.len(), 2);
    for name in names {
        assert_eq!(name.as_deref(), Some("parallel-threads"));
    }
}

#[test]
fn one_worker_runs_every_job_on_one_thread() {
    // With one worker, jobs cannot overlap: they all run, one after the other, on one thread.
    let order = Mutex::new(Vec::new());
    let threads = threads_used(Some(1), 8, |i| order.lock().unwrap().push(i));
    assert_eq!(threads.len(), 1);
    assert_eq!(order.into_inner().unwrap(), (0..8).collect::<Vec<_>>());
}

#[test]
fn n_workers_run_n_jobs_at_once_and_no_more() {
    // The first three jobs wait for each other: they finish only if three threads run at once.
    // The pool may not use a fourth thread for the rest.
    let barrier = Barrier::new(3);
    let threads = threads_used(Some(3), 9, |i| {
        if i < 3 {
            barrier.wait();
        }
    });
    assert_eq!(threads.len(), 3);
}

#[test]
fn no_worker_count_means_one_thread_per_job() {
    let barrier = Barrier::new(6);
    let threads = threads_used(None, 6, |_| {
        barrier.wait();
    });
    assert_eq!(threads.len(), 6);
}

#[test]
fn more_workers_than_jobs_start_one_thread_per_job() {
    let started = AtomicUsize::new(0);
    let threads = threads_used(Some(50), 2, |_| {
        started.fetch_add(1, Ordering::Relaxed);
    });
    assert!(threads.len() <= 2, "{} threads for 2 jobs", threads.len());
    assert_eq!(started.into_inner(), 2);
}

#[test]
fn threads_join_reraises_the_earliest_panic_after_every_job_finished() {
    // Two workers. Job 0 waits until job 2 runs; job 2 runs on the other worker after job 1 has
    // panicked, so job 1's panic is recorded first in time, and job 0's comes later. Job 3 runs
    // after both. The earliest job's panic must win, and only once everything has finished.
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let last_finished = AtomicBool::new(false);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        threads_join(
            Some(2),
            vec![
                Box::new(move || {
                    go_rx.recv().unwrap();
                    panic!("job 0 failed");
                }),
                Box::new(|| panic!("job 1 failed")),
                Box::new(move || go_tx.send(()).unwrap()),
                Box::new(|| last_finished.store(true, Ordering::SeqCst)),
            ],
        );
    }));
    let payload = caught.expect_err("the panic was lost");
    assert_eq!(panic_message(&*payload), "job 0 failed");
    assert!(
        last_finished.load(Ordering::SeqCst),
        "the panic came before every job finished"
    );
}

#[test]
fn threads_join_waits_for_a_slow_job_before_reraising() {
    // Job 0 panics right away; job 1 may only finish after it, and must have finished when the
    // panic reaches the caller.
    let (panicking_tx, panicking_rx) = mpsc::channel::<()>();
    let slow_finished = &AtomicBool::new(false);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        threads_join(
            None,
            vec![
                Box::new(move || {
                    panicking_tx.send(()).unwrap();
                    panic!("fast failure");
                }),
                Box::new(move || {
                    panicking_rx.recv().unwrap();
                    slow_finished.store(true, Ordering::SeqCst);
                }),
            ],
        );
    }));
    assert_eq!(panic_message(&*caught.unwrap_err()), "fast failure");
    assert!(slow_finished.load(Ordering::SeqCst));
}

#[test]
fn the_original_payload_is_reraised() {
    let caught = catch_unwind(|| {
        threads_join(Some(1), vec![Box::new(|| std::panic::panic_any(7_u16))]);
    });
    assert_eq!(caught.unwrap_err().downcast_ref::<u16>(), Some(&7));
}
