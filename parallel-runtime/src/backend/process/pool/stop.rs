//! Ending a pool on purpose: [`ProcessPool::shutdown`], [`ProcessPool::cancel_queued`] and
//! [`ProcessPool::terminate`] (dropping the last handle ends it too, without waiting).

use super::ProcessPool;
use crate::error::TaskError;

impl ProcessPool {
    /// Stops taking tasks, lets every task already given to the pool finish, and returns once
    /// they have, with the workers gone: Python's `executor.shutdown(wait=True)` and
    /// `pool.close(); pool.join()`. Tasks spawned through any handle of the pool from now on
    /// fail at once as cancelled. Dropping the last handle does the same without waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ErrorKind, ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn square(n: u64) -> u64 {
    ///     n * n
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(2).build().unwrap();
    /// let tasks: Vec<_> = (0..4).map(|n| pool.spawn(square, (n,))).collect();
    /// pool.shutdown();
    /// // Every task given before the shutdown ran.
    /// let squares: Vec<u64> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
    /// assert_eq!(squares, [0, 1, 4, 9]);
    /// let late = pool.spawn(square, (5,)).join().unwrap_err();
    /// assert_eq!(late.kind(), &ErrorKind::Cancelled);
    /// ```
    pub fn shutdown(&self) {
        self.inner.drivers.queue.close();
        self.join_drivers();
    }

    /// Cancels every task that waits for a worker (running ones go on): Python's
    /// `executor.shutdown(cancel_futures=True)` is `pool.cancel_queued(); pool.shutdown()`.
    /// Returns how many calls were cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use parallel::{ErrorKind, ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn nap(ms: u64) -> u64 {
    ///     std::thread::sleep(Duration::from_millis(ms));
    ///     ms
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(1).build().unwrap();
    /// let running = pool.spawn(nap, (300,));
    /// let queued: Vec<_> = (0..3).map(|_| pool.spawn(nap, (1,))).collect();
    /// // Those no worker has taken yet (here all three, or all four).
    /// assert!(pool.cancel_queued() >= 3);
    /// pool.shutdown();
    /// for task in queued {
    ///     assert_eq!(task.join().unwrap_err().kind(), &ErrorKind::Cancelled);
    /// }
    /// ```
    pub fn cancel_queued(&self) -> usize {
        let queued = self.inner.drivers.queue.take_all();
        let calls = queued.iter().map(|request| request.count).sum();
        // A request dropped unanswered reports its calls as cancelled.
        drop(queued);
        calls
    }

    /// Kills the workers now and fails every task that has not finished, running or waiting,
    /// with [`ErrorKind::Terminated`](crate::ErrorKind::Terminated): Python's
    /// `pool.terminate()`. Returns once the workers are gone. Tasks spawned from now on fail
    /// at once as cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use parallel::{ErrorKind, ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn nap(ms: u64) -> u64 {
    ///     std::thread::sleep(Duration::from_millis(ms));
    ///     ms
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(2).build().unwrap();
    /// let tasks: Vec<_> = (0..4).map(|_| pool.spawn(nap, (60_000,))).collect();
    /// pool.terminate(); // at once, not in a minute
    /// for task in tasks {
    ///     assert_eq!(task.join().unwrap_err().kind(), &ErrorKind::Terminated);
    /// }
    /// ```
    pub fn terminate(&self) {
        let drivers = &self.inner.drivers;
        drivers
            .terminated
            .store(true, std::sync::atomic::Ordering::SeqCst);
        drivers.queue.close();
        for request in drivers.queue.take_all() {
            request.fail_all(TaskError::terminated);
        }
        for &pid in drivers.pids().iter() {
            if let Some(pid) = i32::try_from(pid)
                .ok()
                .and_then(rustix::process::Pid::from_raw)
            {
                // One already gone (its driver reaps it) makes this fail: nothing to do then.
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        self.join_drivers();
    }

    /// Waits until every driver thread has ended.
    fn join_drivers(&self) {
        let threads =
            std::mem::take(&mut *self.inner.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for thread in threads {
            let _ = thread.join();
        }
    }
}
