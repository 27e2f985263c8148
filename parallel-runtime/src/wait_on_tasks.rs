//! [`wait`]: Python's `concurrent.futures.wait(fs, timeout, return_when)` for tasks.

use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::as_completed::IndexWaker;
use crate::task::Task;

/// When [`wait`] returns: Python's `FIRST_COMPLETED`, `FIRST_EXCEPTION` and `ALL_COMPLETED`.
///
/// # Examples
///
/// ```
/// assert_ne!(parallel::ReturnWhen::FirstCompleted, parallel::ReturnWhen::AllCompleted);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as one task has finished (or none is left unfinished).
    FirstCompleted,
    /// As soon as one task has failed (panicked, timed out, ...: its `join` is an `Err`); when
    /// none does, once all have finished.
    FirstException,
    /// Once every task has finished.
    AllCompleted,
}

/// Which tasks had finished when [`wait`] returned, by their index in the slice it was given.
///
/// # Examples
///
/// ```
/// let tasks = vec![parallel::spawn(|| 1)];
/// let waited = parallel::wait(&tasks, None, parallel::ReturnWhen::AllCompleted);
/// assert_eq!(waited.done, [0]);
/// assert!(waited.pending.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Waited {
    /// The tasks finished, with a value or an error (their results stay for `join`).
    pub done: Vec<usize>,
    /// The tasks not finished yet.
    pub pending: Vec<usize>,
}

/// Waits until `when` holds for `tasks`, or `timeout` passes, and says which tasks have
/// finished: Python's `concurrent.futures.wait(fs, timeout, return_when)`. Nothing is taken
/// from the tasks: join them afterwards for their results, or keep waiting on the pending ones.
/// A timeout stops the waiting, never the tasks.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use parallel::{ReturnWhen, ThreadPool, wait};
///
/// let pool = ThreadPool::builder().workers(3).build().unwrap();
/// let (release, stuck) = std::sync::mpsc::channel::<()>();
/// let tasks = vec![
///     pool.spawn(|| 1),
///     pool.spawn(move || stuck.recv().map_or(0, |()| 2)),
///     pool.spawn(|| -> i32 { panic!("no") }),
/// ];
/// // Python: wait(fs, return_when=FIRST_EXCEPTION): a task that panicked is an exception.
/// let waited = wait(&tasks, Some(Duration::from_secs(10)), ReturnWhen::FirstException);
/// assert!(waited.done.contains(&2) && waited.pending.contains(&1));
/// // Python: wait(fs, timeout=0.05): the stuck task is still pending.
/// let waited = wait(&tasks, Some(Duration::from_millis(50)), ReturnWhen::AllCompleted);
/// assert_eq!(waited.pending, [1]);
/// release.send(()).unwrap();
/// let waited = wait(&tasks, None, ReturnWhen::AllCompleted);
/// assert_eq!(waited.done, [0, 1, 2]);
/// ```
pub fn wait<T>(tasks: &[Task<T>], timeout: Option<Duration>, when: ReturnWhen) -> Waited {
    let deadline = timeout.map(|timeout| Instant::now() + timeout);
    let (wakes_tx, wakes) = crossbeam_channel::unbounded();
    let wakers: Vec<Waker> = (0..tasks.len())
        .map(|index| {
            Waker::from(Arc::new(IndexWaker {
                index,
                wakes: wakes_tx.clone(),
            }))
        })
        .collect();
    loop {
        let mut waited = Waited::default();
        let mut failed = false;
        for (index, (task, waker)) in tasks.iter().zip(&wakers).enumerate() {
            match task.watch(waker) {
                Some(is_err) => {
                    failed |= is_err;
                    waited.done.push(index);
                }
                None => waited.pending.push(index),
            }
        }
        let holds = waited.pending.is_empty()
            || match when {
                ReturnWhen::FirstCompleted => !waited.done.is_empty(),
                ReturnWhen::FirstException => failed,
                ReturnWhen::AllCompleted => false,
            };
        if holds {
            return waited;
        }
        let woken = match deadline {
            None => wakes.recv().is_ok(),
            Some(deadline) => wakes.recv_deadline(deadline).is_ok(),
        };
        if !woken {
            return waited;
        }
        // Look again at every task: several may have finished.
        while wakes.try_recv().is_ok() {}
    }
}
