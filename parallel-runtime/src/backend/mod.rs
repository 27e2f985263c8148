//! The pools tasks run on. Each backend module is named after what it runs on.

#[cfg(unix)]
pub mod process;
pub mod rayon;
pub mod threads;

/// A job: a task, or a batch of a map, erased to one type.
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

/// What a pool offers the generic task machinery (spawn, map, as-completed): a place to run jobs.
pub(crate) trait Executor: Clone + Send + Sync + 'static {
    /// Runs `job` on one of the pool's workers, eventually. A job that cannot run any more (the
    /// pool is gone) is dropped, and its drop reports the cancellation.
    fn execute(&self, job: Job);

    /// How many jobs run at once.
    fn workers(&self) -> usize;
}
