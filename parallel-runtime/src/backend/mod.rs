//! The pools tasks run on, one module each, named after what it runs on:
//!
//! - `work_stealing`: rayon's work-stealing pool, for CPU-bound work ([`RayonPool`]); the
//!   default backend, and the macros' `backend = rayon`;
//! - `threads`: dedicated OS threads that a pool keeps, for blocking work ([`ThreadPool`]);
//! - `thread_per_task`: a new OS thread for each task ([`spawn_thread`](crate::spawn_thread));
//! - `scoped`: OS threads started for one macro call, whose tasks may borrow from the caller
//!   (`backend = threads` in the macros);
//! - `process`: worker processes that re-enter this executable, for isolation and killable
//!   timeouts ([`ProcessPool`](crate::ProcessPool); `backend = process`);
//! - `mpi` (feature `mpi`): the worker ranks of an MPI job, on the process backend's machinery
//!   (`MpiPool`; `backend = mpi`).
//!
//! Where a call runs is decided in `crate::plan`; the maps over the pools are in `crate::map`.
//!
//! [`RayonPool`]: crate::RayonPool
//! [`ThreadPool`]: crate::ThreadPool

#[cfg(all(unix, feature = "mpi"))]
pub(crate) mod mpi;
#[cfg(unix)]
pub(crate) mod process;
pub(crate) mod scoped;
pub(crate) mod thread_per_task;
pub(crate) mod threads;
pub(crate) mod work_stealing;

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
