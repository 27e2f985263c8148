use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::*;
use crate::backend::threads::ThreadPool;
use crate::error::ErrorKind;
use crate::task;

fn pool(workers: i64) -> ThreadPool {
    ThreadPool::builder().workers(workers).build().unwrap()
}

#[test]
fn as_completed_yields_a_fast_task_before_a_slow_one() {
    let pool = pool(2);
    let (go, wait) = crossbeam_channel::unbounded::<()>();
    let slow = pool.spawn(move || {
        wait.recv().unwrap();
        "slow"
    });
    let fast = pool.spawn(|| "fast");
    let mut done = as_completed([slow, fast]);
    let (index, value) = done.next().unwrap();
    assert_eq!((index, value.unwrap()), (1, "fast"));
    go.send(()).unwrap();
    let (index, value) = done.next().unwrap();
    assert_eq!((index, value.unwrap()), (0, "slow"));
    assert!(done.next().is_none());
}

#[test]
fn as_completed_reports_each_task_error_at_its_index() {
    let pool = pool(2);
    let tasks = vec![
        pool.spawn(|| 1),
        pool.spawn(|| -> i32 { panic!("second failed") }),
        pool.spawn(|| 3),
    ];
    let mut results: Vec<_> = as_completed(tasks).collect();
    results.sort_by_key(|(index, _)| *index);
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].1.as_ref().unwrap(), &1);
    assert_eq!(
        results[1].1.as_ref().unwrap_err().panic_message(),
        Some("second failed")
    );
    assert_eq!(results[2].1.as_ref().unwrap(), &3);
}

#[test]
fn as_completed_reads_an_endless_input_lazily() {
    let pool = pool(2);
    let pulls = AtomicUsize::new(0);
    let endless = (0_u64..).map(|i| {
        pulls.fetch_add(1, Ordering::SeqCst);
        pool.spawn(move || i * i)
    });
    let mut done = as_completed(endless).in_flight(4);
    for consumed in 1..=20 {
        let (index, value) = done.next().unwrap();
        assert_eq!(value.unwrap(), (index as u64).pow(2));
        let read = pulls.load(Ordering::SeqCst);
        assert!(
            read < consumed + 4,
            "{read} tasks read for {consumed} results"
        );
    }
}

#[test]
fn as_completed_reports_tasks_whose_pool_is_gone_as_cancelled() {
    let (task, completer) = task::pair::<u8>(None);
    drop(completer);
    let (index, result) = as_completed([task]).next().unwrap();
    assert_eq!(index, 0);
    assert_eq!(result.unwrap_err().kind(), &ErrorKind::Cancelled);
}

#[test]
fn past_the_timeout_unfinished_tasks_come_back_timed_out_and_queued_ones_never_run() {
    let pool = pool(1);
    let (release, wait) = crossbeam_channel::unbounded::<()>();
    let ran = Arc::new(AtomicUsize::new(0));
    let stuck = pool.spawn(move || {
        wait.recv().unwrap();
        "stuck"
    });
    let queued = {
        let ran = Arc::clone(&ran);
        pool.spawn(move || {
            ran.fetch_add(1, Ordering::SeqCst);
            "queued"
        })
    };
    let results: Vec<_> = as_completed([stuck, queued])
        .timeout(Duration::from_millis(30))
        .collect();
    assert_eq!(results.len(), 2);
    for (position, (index, result)) in results.iter().enumerate() {
        assert_eq!(*index, position);
        let err = result.as_ref().unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert_eq!(err.index(), Some(position));
    }
    // The running task ends once released; the queued one was cancelled and never runs.
    release.send(()).unwrap();
    let after = pool.spawn(|| ()).join();
    assert!(after.is_ok());
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn past_the_timeout_the_input_is_not_read_further() {
    let pool = pool(2);
    let read = Arc::new(AtomicUsize::new(0));
    let (_never, wait) = crossbeam_channel::unbounded::<()>();
    let endless = {
        let read = Arc::clone(&read);
        (0..).map(move |_| {
            read.fetch_add(1, Ordering::SeqCst);
            let wait = wait.clone();
            pool.spawn(move || wait.recv_timeout(Duration::from_secs(2)).is_ok())
        })
    };
    let results: Vec<_> = as_completed(endless)
        .in_flight(3)
        .timeout(Duration::from_millis(30))
        .collect();
    assert_eq!(results.len(), 3);
    assert!(
        results
            .iter()
            .all(|(_, r)| r.as_ref().unwrap_err().is_timeout())
    );
    assert_eq!(read.load(Ordering::SeqCst), 3);
}

#[test]
fn tasks_that_finish_in_time_are_yielded_as_usual() {
    let pool = pool(2);
    let tasks = (0..10u32).map(|i| pool.spawn(move || i * 2));
    let mut values: Vec<u32> = as_completed(tasks)
        .timeout(Duration::from_secs(60))
        .map(|(_, r)| r.unwrap())
        .collect();
    values.sort_unstable();
    assert_eq!(values, (0..10).map(|i| i * 2).collect::<Vec<_>>());
}
