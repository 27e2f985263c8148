//! [`MpiPool`]: the worker ranks of an MPI job, behind the process backend's API.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::process::{ProcessFn, ProcessMap, ProcessMapUnordered, ProcessPool, mpi_world};
use crate::config::{Workers, available_cores};
use crate::error::ConfigError;
use crate::task::Task;

/// The worker ranks of an MPI job: [`ProcessPool`]'s API (`spawn`, `map`, `map_unordered`,
/// [`as_completed`](crate::as_completed()) over its tasks) on the ranks of a cluster. Needs the
/// `mpi` feature. Python's `mpi4py.futures.MPIPoolExecutor`.
///
/// - **Launched by MPI** (`mpirun -n 8 ./app`, or `srun`): rank 0 runs `main`; every other rank
///   serves tasks from before `main`, and never runs it. The pool's workers are those ranks.
/// - **Started alone** (`./app`): the first pool spawns its worker ranks (`MPI_Comm_spawn`),
///   [`workers`](MpiPoolBuilder::workers) of them (one per core by default), running this
///   executable.
///
/// Every `MpiPool` shares the job's worker ranks: the first one built (or the first macro call
/// with `backend = mpi`) decides how many there are; later ones get the same ranks, with their
/// own timeout and retries. At exit, rank 0 stops the worker ranks and finalizes MPI: `main`
/// needs no setup line.
///
/// Tasks are `#[parallel]` functions of serde data, batched, ordered and reported exactly as on
/// the process backend. A task that panics or returns an error fails alone, on any rank. What
/// differs: a rank cannot be killed without ending the job, so a `timeout` fails the late call
/// while its rank finishes it (and serves on after); and a rank that dies (a segfault, an abort,
/// `kill -9`) ends the whole job, as plain MPI does, after the rank names the task that killed
/// it. [`SharedSlice`](crate::SharedSlice)s do not travel between hosts.
///
/// # Examples
///
/// ```
/// // Built with `--features mpi`; run with `mpirun -n 3 ./app`, or alone.
/// use parallel::{MpiPool, parallel};
///
/// #[parallel]
/// fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// let pool = MpiPool::builder().build().unwrap();
/// let squares: Vec<u64> = pool.map(square, 0..100).map(Result::unwrap).collect();
/// assert_eq!(squares[9], 81);
/// assert_eq!(pool.spawn(square, (12,)).join().unwrap(), 144);
/// ```
#[derive(Clone)]
pub struct MpiPool {
    pool: ProcessPool,
}

/// Configures an [`MpiPool`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use parallel::MpiPool;
///
/// let pool = MpiPool::builder()
///     .workers(4)
///     .timeout(Duration::from_secs(60))
///     .build()
///     .unwrap();
/// println!("{} worker ranks", pool.workers());
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct MpiPoolBuilder {
    workers: Option<i64>,
    isolate: bool,
    timeout: Option<Duration>,
    retries: u32,
}

/// Why an [`MpiPool`] cannot start: MPI would not start, or would not give this process worker
/// ranks (the message says what to do instead), or a setting is invalid.
///
/// # Examples
///
/// ```
/// match parallel::MpiPool::builder().workers(0).build() {
///     Ok(pool) => println!("{} worker ranks", pool.workers()),
///     Err(err) => eprintln!("no MPI workers: {err}"),
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpiError(String);

impl fmt::Display for MpiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MpiError {}

impl From<ConfigError> for MpiError {
    fn from(err: ConfigError) -> Self {
        MpiError(err.to_string())
    }
}

impl MpiPoolBuilder {
    /// How many worker ranks: started alone, the number the first pool spawns (one per core by
    /// default); launched by MPI, at most this many of the job's ranks (all but rank 0 by
    /// default). Only the first pool of a program decides; negative counts are relative to the
    /// cores, as in [`Workers`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::MpiPool::builder().workers(2).build().unwrap();
    /// assert!(pool.workers() <= 2);
    /// ```
    pub fn workers(mut self, workers: i64) -> Self {
        self.workers = Some(workers);
        self
    }

    /// How long one call may run: a late call fails with a timeout (its rank finishes it, and
    /// serves on). Calls run one at a time (unbatched) when a timeout is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = parallel::MpiPool::builder().timeout(Duration::from_secs(5)).build().unwrap();
    /// # let _ = pool;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many times a call that failed for want of its worker is run again (0 by default).
    /// In plain MPI a dead rank ends the job, so this matters little here.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::MpiPool::builder().retries(1).build().unwrap();
    /// # let _ = pool;
    /// ```
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Whether each worker rank runs its tasks in a worker process of its own (the process
    /// backend, on the rank's host), instead of in the rank itself (`false` by default).
    ///
    /// In plain MPI a rank that dies ends the whole job. Isolated, a task that segfaults,
    /// aborts, exits or is killed fails alone, with [`ErrorKind::WorkerDied`], and its rank
    /// starts a new worker process and serves on; a `timeout` kills the late call's worker
    /// process, so the rank is free again at once. It costs a copy of each request and reply
    /// on the rank, and a worker process per rank. Only the first pool of a program decides.
    ///
    /// [`ErrorKind::WorkerDied`]: crate::ErrorKind::WorkerDied
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ErrorKind, MpiPool, parallel};
    ///
    /// #[parallel]
    /// fn fragile(n: u32) -> u32 {
    ///     if n == 3 {
    ///         std::process::abort();
    ///     }
    ///     n
    /// }
    ///
    /// let pool = MpiPool::builder().isolate(true).build().unwrap();
    /// let results: Vec<_> = pool.map(fragile, 0..5).collect();
    /// assert!(matches!(results[3].as_ref().unwrap_err().kind(), ErrorKind::WorkerDied { .. }));
    /// assert_eq!(results[4].as_ref().unwrap(), &4);
    /// ```
    pub fn isolate(mut self, isolate: bool) -> Self {
        self.isolate = isolate;
        self
    }

    /// Starts MPI and the worker ranks, if no pool did yet.
    ///
    /// # Errors
    ///
    /// An [`MpiError`] for zero workers, or when MPI cannot give this process worker ranks.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::MpiPool::builder().build().unwrap();
    /// assert!(pool.workers() >= 1);
    /// ```
    pub fn build(self) -> Result<MpiPool, MpiError> {
        let workers = match self.workers {
            Some(n) => Some(Workers::new(n)?.get()),
            None => None,
        };
        Ok(MpiPool {
            pool: ranks_pool(workers, self.isolate)?.configured(self.timeout, self.retries),
        })
    }
}

/// The one pool of drivers for the job's worker ranks, started by the first caller.
fn ranks_pool(workers: Option<usize>, isolate: bool) -> Result<ProcessPool, MpiError> {
    static POOL: OnceLock<Result<ProcessPool, MpiError>> = OnceLock::new();
    POOL.get_or_init(|| {
        let spawn = workers.unwrap_or_else(available_cores);
        let world = mpi_world(spawn, isolate).map_err(MpiError)?;
        let drivers = workers.map_or(world.workers(), |n| n.min(world.workers()));
        Ok(ProcessPool::start_mpi(drivers.max(1)))
    })
    .clone()
}

impl MpiPool {
    /// A builder with the default settings.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::MpiPool::builder().build().unwrap();
    /// # let _ = pool;
    /// ```
    pub fn builder() -> MpiPoolBuilder {
        MpiPoolBuilder::default()
    }

    /// The pool the macros use for `backend = mpi`: the job's worker ranks, with no timeout.
    ///
    /// # Panics
    ///
    /// When MPI cannot give this process worker ranks (the message says why).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::MpiPool::shared();
    /// # let _ = pool;
    /// ```
    #[track_caller]
    pub fn shared() -> MpiPool {
        match ranks_pool(None, false) {
            Ok(pool) => MpiPool { pool },
            Err(err) => panic!("parallel: `backend = mpi`: {err}"),
        }
    }

    /// The number of worker ranks this pool runs tasks on.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::MpiPool::builder().build().unwrap();
    /// println!("{} worker ranks", pool.workers());
    /// ```
    pub fn workers(&self) -> usize {
        self.pool.workers()
    }

    /// Runs `f(args...)` on a worker rank and returns its handle: `executor.submit(f, *args)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{MpiPool, parallel};
    ///
    /// #[parallel]
    /// fn add(a: u64, b: u64) -> u64 {
    ///     a + b
    /// }
    ///
    /// let pool = MpiPool::builder().build().unwrap();
    /// assert_eq!(pool.spawn(add, (2, 3)).join().unwrap(), 5);
    /// ```
    pub fn spawn<F, Args>(&self, f: F, args: Args) -> Task<F::Output>
    where
        F: ProcessFn<Args>,
        Args: Serialize + 'static,
        F::Output: DeserializeOwned + Send + 'static,
    {
        self.pool.spawn(f, args)
    }

    /// Maps `items` with `f` on the worker ranks; results in input order, each a `Result`:
    /// `executor.map(f, items)`. Calls are batched as on the process backend.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{MpiPool, parallel};
    ///
    /// #[parallel]
    /// fn double(n: u32) -> u32 {
    ///     2 * n
    /// }
    ///
    /// let pool = MpiPool::builder().build().unwrap();
    /// let doubled: Vec<u32> = pool.map(double, 0..4).map(Result::unwrap).collect();
    /// assert_eq!(doubled, [0, 2, 4, 6]);
    /// ```
    pub fn map<F, I>(&self, f: F, items: I) -> ProcessMap<I::IntoIter, F::Output>
    where
        I: IntoIterator,
        F: ProcessFn<(I::Item,)>,
        I::Item: Serialize + 'static,
        F::Output: DeserializeOwned + Send + 'static,
    {
        self.pool.map(f, items)
    }

    /// Maps `items` with `f` on the worker ranks, yielding `(index, result)` as calls finish.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{MpiPool, parallel};
    ///
    /// #[parallel]
    /// fn double(n: u32) -> u32 {
    ///     2 * n
    /// }
    ///
    /// let pool = MpiPool::builder().build().unwrap();
    /// let mut doubled: Vec<(usize, u32)> = pool
    ///     .map_unordered(double, 0..4)
    ///     .map(|(i, r)| (i, r.unwrap()))
    ///     .collect();
    /// doubled.sort();
    /// assert_eq!(doubled, [(0, 0), (1, 2), (2, 4), (3, 6)]);
    /// ```
    pub fn map_unordered<F, I>(&self, f: F, items: I) -> ProcessMapUnordered<I::IntoIter, F::Output>
    where
        I: IntoIterator,
        F: ProcessFn<(I::Item,)>,
        I::Item: Serialize + 'static,
        F::Output: DeserializeOwned + Send + 'static,
    {
        self.pool.map_unordered(f, items)
    }

    /// Applies `f`, a function of several arguments, to every tuple of arguments in `items`,
    /// results in input order: `pool.starmap(f, pairs)`; see [`ProcessPool::starmap`].
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{MpiPool, parallel};
    ///
    /// #[parallel]
    /// fn power(base: u64, exponent: u32) -> u64 {
    ///     base.pow(exponent)
    /// }
    ///
    /// let pool = MpiPool::builder().build().unwrap();
    /// let powers: Vec<u64> = pool.starmap(power, [(2, 3), (3, 2)]).map(Result::unwrap).collect();
    /// assert_eq!(powers, [8, 9]);
    /// ```
    pub fn starmap<F, I>(&self, f: F, items: I) -> ProcessMap<I::IntoIter, F::Output>
    where
        I: IntoIterator,
        F: ProcessFn<I::Item>,
        I::Item: Serialize + 'static,
        F::Output: DeserializeOwned + Send + 'static,
    {
        self.pool.starmap(f, items)
    }

    /// Like [`starmap`](MpiPool::starmap), but yields `(index, result)` as each call finishes.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{MpiPool, parallel};
    ///
    /// #[parallel]
    /// fn add(a: u32, b: u32) -> u32 {
    ///     a + b
    /// }
    ///
    /// let pool = MpiPool::builder().build().unwrap();
    /// let total: u32 = pool
    ///     .starmap_unordered(add, [(1, 2), (3, 4)])
    ///     .map(|(_, r)| r.unwrap())
    ///     .sum();
    /// assert_eq!(total, 10);
    /// ```
    pub fn starmap_unordered<F, I>(
        &self,
        f: F,
        items: I,
    ) -> ProcessMapUnordered<I::IntoIter, F::Output>
    where
        I: IntoIterator,
        F: ProcessFn<I::Item>,
        I::Item: Serialize + 'static,
        F::Output: DeserializeOwned + Send + 'static,
    {
        self.pool.starmap_unordered(f, items)
    }

    /// The process backend's pool under this one, for the runtime's macro paths.
    pub(crate) fn process_pool(&self) -> &ProcessPool {
        &self.pool
    }
}

impl fmt::Debug for MpiPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpiPool")
            .field("workers", &self.pool.workers())
            .field("timeout", &self.pool.timeout)
            .field("retries", &self.pool.retries)
            .finish()
    }
}
