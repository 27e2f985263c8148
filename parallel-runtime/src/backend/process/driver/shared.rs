//! What the drivers of one pool share: the queue, the counts of idle drivers and live
//! workers, how workers start and end, and what `terminate` needs.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use super::lifecycle::Lifecycle;
use crate::backend::process::queue::{Job, RequestQueue};
use crate::backend::process::transport::WorkerSettings;

/// What the drivers of one pool share.
pub(in crate::backend::process) struct Drivers {
    pub(in crate::backend::process) queue: RequestQueue,
    /// The number of worker processes the pool aims for.
    pub(super) workers: usize,
    /// Drivers waiting for a request: while one does, nobody pipelines.
    pub(super) idle: AtomicUsize,
    /// Workers running (started and not yet ended).
    pub(super) live: AtomicUsize,
    /// Whether the pool said on stderr that it could not start a worker.
    pub(super) warned: AtomicBool,
    /// How workers are started.
    pub(super) settings: WorkerSettings,
    /// The initializer and the replacement of workers after a number of calls.
    pub(in crate::backend::process) lifecycle: Lifecycle,
    /// Set by `ProcessPool::terminate`: workers are killed, and every call not answered yet
    /// fails as terminated.
    pub(in crate::backend::process) terminated: AtomicBool,
    /// The process ids of the running workers, for `terminate` to kill.
    pub(in crate::backend::process) pids: Mutex<Vec<u32>>,
}

impl Drivers {
    /// The next job of the queue, for a driver with nothing to do; `None` once the queue is
    /// closed and empty.
    pub(super) fn next_job(&self) -> Option<Job> {
        self.idle.fetch_add(1, Ordering::SeqCst);
        let job = self.queue.next();
        self.idle.fetch_sub(1, Ordering::SeqCst);
        job
    }

    /// How workers are started.
    pub(in crate::backend::process) fn settings(&self) -> WorkerSettings {
        self.settings
    }

    pub(in crate::backend::process) fn pids(&self) -> MutexGuard<'_, Vec<u32>> {
        self.pids.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(in crate::backend::process) fn new(
        workers: usize,
        settings: WorkerSettings,
        lifecycle: Lifecycle,
    ) -> Self {
        Drivers {
            lifecycle,
            queue: RequestQueue::new(),
            workers,
            settings,
            idle: AtomicUsize::new(0),
            live: AtomicUsize::new(0),
            warned: AtomicBool::new(false),
            terminated: AtomicBool::new(false),
            pids: Mutex::new(Vec::new()),
        }
    }
}
