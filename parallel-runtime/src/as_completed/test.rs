use std::sync::atomic::{AtomicUsize, Ordering};

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
