//! The runtime of [`parallel`](https://docs.rs/parallel): pools, tasks and backends.
//!
//! Users depend on the `parallel` crate, which re-exports everything here next to the macros.
//! The runtime is usable without the macros:
//!
//! - pools per backend, each with a builder: [`RayonPool`] (work stealing, CPU-bound work) and
//!   [`ThreadPool`] (dedicated OS threads, blocking I/O);
//! - [`Task`]: the handle [`spawn`] returns, joined with a timeout or awaited as a `Future`;
//! - [`ThreadPool::map`], [`ThreadPool::map_unordered`] and [`as_completed()`]: results in order or
//!   as they finish, reading the input lazily;
//! - [`TaskError`]: which task failed, and how.
//!
//! # Examples
//!
//! ```
//! use parallel::{ThreadPool, as_completed};
//!
//! let pool = ThreadPool::builder().workers(4).build().unwrap();
//! let tasks: Vec<_> = (0..8u64).map(|i| pool.spawn(move || i * i)).collect();
//! let mut total = 0;
//! for (index, result) in as_completed(tasks) {
//!     total += result.unwrap();
//!     assert!(index < 8);
//! }
//! assert_eq!(total, 140);
//! ```

#![deny(missing_docs)]
// Where the documentation is built with `--cfg docsrs` (a nightly toolchain), items of a feature
// say which.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]

// The layers, from the bottom up: a module imports only from its own layer or the ones before.
// Primitives.
mod config;
mod error;
mod order;
mod progress;
#[cfg(unix)]
mod shared_slice;
mod task;
#[cfg(test)]
mod test_random;
mod type_of;
#[cfg(unix)]
mod wait;

// Backends, and where a call runs.
mod backend;
mod plan;

// The public API over the pools.
mod as_completed;
mod join;
mod map;
mod wait_on_tasks;

// Type errors in runtime use, as `compile_fail` doc tests.
#[cfg(doctest)]
mod compile_fail;

// What only the code the macros generate calls: hidden, and not an API.
#[doc(hidden)]
#[allow(missing_docs)]
pub mod __private;

pub use as_completed::{AsCompleted, as_completed};
#[cfg(all(unix, feature = "mpi"))]
#[cfg_attr(docsrs, doc(cfg(feature = "mpi")))]
pub use backend::mpi::{MpiError, MpiPool, MpiPoolBuilder};
#[cfg(unix)]
pub use backend::process::{
    ProcessFn, ProcessMap, ProcessMapUnordered, ProcessPool, ProcessPoolBuilder,
};
pub use backend::thread_per_task::{spawn_thread, spawn_thread_named};
pub use backend::threads::{ThreadPool, ThreadPoolBuilder};
pub use backend::work_stealing::{RayonPool, RayonPoolBuilder};
pub use config::{
    BACKEND_VAR, Backend, Options, ProcessTransport, TRANSPORT_VAR, WORKERS_VAR, Workers,
    available_cores, env_options,
};
pub use error::{ConfigError, ErrorKind, TaskError, WorkerExit};
pub use join::join;
pub use map::{Map, MapUnordered};
#[cfg(unix)]
pub use shared_slice::{SharedElement, SharedSlice};
pub use task::Task;
pub use wait_on_tasks::{ReturnWhen, Waited, wait};

/// Runs `f` in the background on the default backend and returns its handle: Python's
/// `executor.submit(f)`.
///
/// The backend is `PARALLEL_BACKEND` (rayon's global pool when unset); `threads` uses
/// [`ThreadPool::global`].
///
/// # Examples
///
/// ```
/// let task = parallel::spawn(|| 21 * 2);
/// assert_eq!(task.join().unwrap(), 42);
/// ```
///
/// # Panics
///
/// If `PARALLEL_BACKEND` or `PARALLEL_WORKERS` is invalid.
pub fn spawn<F, T>(f: F) -> Task<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match plan::plan(Options::new()) {
        plan::Plan::Threads(_) => ThreadPool::global().spawn(f),
        // A closure cannot run in a process: `PARALLEL_BACKEND=process` leaves it on rayon.
        plan => plan.rayon_pool().spawn(f),
    }
}
