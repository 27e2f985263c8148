//! [`ProcessPool`]: the public face of the process backend, its builder, and `spawn`.

use std::any::TypeId;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::driver::lifecycle::{Initializer, Lifecycle};
use super::driver::{Drivers, drive};
use super::registry::{self, Entry};
use super::reply::TaskReply;
use super::request::{Request, RequestBuilder};
use super::transport::WorkerSettings;
use super::transport::shared_memory::SharedMemoryTransport;
use super::transport::socket::SocketTransport;
use crate::config::{ProcessTransport, Workers, available_cores};
use crate::error::{ConfigError, TaskError};
use crate::task::{self, Task};

/// A function that can run in a worker process with arguments `Args` (a tuple): a
/// `#[parallel]` function that takes and returns owned serde data.
///
/// Implemented for every function of up to eight arguments; whether it is a `#[parallel]`
/// function is checked when a task is spawned (the macros check it at compile time).
///
/// # Examples
///
/// ```
/// use parallel::{ProcessFn, ProcessPool, parallel};
///
/// #[parallel]
/// fn add(a: u64, b: u64) -> u64 {
///     a + b
/// }
///
/// // A function of two arguments takes them as a pair.
/// fn spawn_on<F: ProcessFn<(u64, u64), Output = u64>>(pool: &ProcessPool, f: F) -> u64 {
///     pool.spawn(f, (2, 3)).join().unwrap()
/// }
///
/// let pool = ProcessPool::builder().workers(1).build().unwrap();
/// assert_eq!(spawn_on(&pool, add), 5);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run in a worker process with the arguments `{Args}`",
    label = "not a function of `{Args}`",
    note = "a process task is a `#[parallel]` function; its arguments go in a tuple: `pool.spawn(f, (a, b))`"
)]
pub trait ProcessFn<Args>: Copy + Send + Sync + 'static {
    /// What the function returns.
    type Output;

    /// The address this value points to, when it is a function pointer (`fn(A) -> R`) rather
    /// than a function item or a closure: the pool finds the `#[parallel]` function it points
    /// to by that address (the address itself never crosses to a worker).
    #[doc(hidden)]
    fn __pointer_address(&self) -> Option<usize>
    where
        Args: 'static,
        Self::Output: 'static;
}

macro_rules! process_fn {
    ($($arg:ident),*) => {
        impl<F, R, $($arg),*> ProcessFn<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> R + Copy + Send + Sync + 'static,
        {
            type Output = R;

            fn __pointer_address(&self) -> Option<usize>
            where
                ($($arg,)*): 'static,
                R: 'static,
            {
                let value: &dyn std::any::Any = self;
                value
                    .downcast_ref::<fn($($arg),*) -> R>()
                    .map(|pointer| *pointer as usize)
            }
        }
    };
}
process_fn!();
process_fn!(A);
process_fn!(A, B);
process_fn!(A, B, C);
process_fn!(A, B, C, D);
process_fn!(A, B, C, D, E);
process_fn!(A, B, C, D, E, G);
process_fn!(A, B, C, D, E, G, H);
process_fn!(A, B, C, D, E, G, H, J);

/// A pool of worker processes that re-enter the current executable.
///
/// Python's `multiprocessing.Pool` and `ProcessPoolExecutor`, without their failure modes: a
/// task that panics, aborts, segfaults, exits or is killed fails alone (its [`TaskError`] says
/// how), the pool starts a new worker, and every other task completes. A `timeout` kills the
/// worker of a late task. Workers exit when the parent does, however it ends.
///
/// Tasks are `#[parallel]` functions; arguments and results cross as serde data (postcard).
/// Clones share the pool; workers start when the pool is built and stay warm.
///
/// # Examples
///
/// ```
/// use parallel::{ProcessPool, parallel};
///
/// #[parallel]
/// fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// let pool = ProcessPool::builder().workers(2).build().unwrap();
/// let task = pool.spawn(square, (7,)); // Python: pool.apply_async(square, (7,))
/// assert_eq!(task.join().unwrap(), 49);
/// let squares: Vec<u64> = pool.map(square, 0..5).map(Result::unwrap).collect();
/// assert_eq!(squares, [0, 1, 4, 9, 16]);
/// ```
#[derive(Clone)]
pub struct ProcessPool {
    inner: Arc<Inner>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retries: u32,
}

struct Inner {
    drivers: Arc<Drivers>,
    workers: usize,
    carrier: Carrier,
    /// The driver threads, for `shutdown` and `terminate` to wait for.
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// What carries a pool's requests to its workers.
#[derive(Clone, Copy, Debug)]
enum Carrier {
    /// Worker processes of this pool, on this transport.
    Process(ProcessTransport),
    /// Worker ranks of the MPI job (only inside an `MpiPool`).
    #[cfg(feature = "mpi")]
    Mpi,
}

impl Drop for Inner {
    /// The last handle is gone: the drivers finish the requests queued, end their workers and
    /// exit.
    fn drop(&mut self) {
        self.drivers.queue.close();
    }
}

/// Configures a [`ProcessPool`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use parallel::ProcessPool;
///
/// let pool = ProcessPool::builder()
///     .workers(2)
///     .timeout(Duration::from_secs(10))
///     .retries(1)
///     .build()
///     .unwrap();
/// assert_eq!(pool.workers(), 2);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct ProcessPoolBuilder {
    workers: Option<i64>,
    timeout: Option<Duration>,
    retries: u32,
    transport: Option<ProcessTransport>,
    quiet_panics: bool,
    /// The initializer, or why it cannot be one (reported by `build`).
    initializer: Option<Result<Initializer, ConfigError>>,
    max_tasks_per_worker: Option<usize>,
}

impl ProcessPoolBuilder {
    /// The number of worker processes (one per core by default). Negative counts are relative to
    /// the cores, as in [`Workers`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::ProcessPool::builder().workers(-1).build().unwrap();
    /// assert_eq!(pool.workers(), parallel::available_cores());
    /// ```
    pub fn workers(mut self, workers: i64) -> Self {
        self.workers = Some(workers);
        self
    }

    /// How long one call may run; a late call's worker is killed and the call fails with a
    /// timeout. Calls run one at a time (unbatched) when a timeout is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn nap(ms: u64) -> u64 {
    ///     std::thread::sleep(Duration::from_millis(ms));
    ///     ms
    /// }
    ///
    /// let pool = ProcessPool::builder()
    ///     .workers(1)
    ///     .timeout(Duration::from_millis(200))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(pool.spawn(nap, (1,)).join().unwrap(), 1);
    /// assert!(pool.spawn(nap, (10_000,)).join().unwrap_err().is_timeout());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many times a call whose worker died is run again on a new worker (0 by default).
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ErrorKind, ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn always_aborts(_: u8) -> u8 {
    ///     std::process::abort()
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(1).retries(1).build().unwrap();
    /// // Run twice (once, then one retry), then reported.
    /// let err = pool.spawn(always_aborts, (0,)).join().unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::WorkerDied { .. }));
    /// ```
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// How requests and replies travel ([`ProcessTransport::from_env`] by default: shared
    /// memory unless `PARALLEL_TRANSPORT` says otherwise).
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, ProcessTransport};
    ///
    /// let pool = ProcessPool::builder()
    ///     .workers(1)
    ///     .transport(ProcessTransport::Socket)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(pool.transport(), ProcessTransport::Socket);
    /// ```
    pub fn transport(mut self, transport: ProcessTransport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Whether workers print nothing when a task panics. By default a worker prints the panic
    /// on stderr, as a program would, naming itself and the task:
    /// `parallel worker 1234 panicked in task `parse` at src/lib.rs:10:5: bad input`. Either
    /// way the caller gets the message in the task's [`TaskError`].
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn parse(text: String) -> u32 {
    ///     text.parse().expect("a number")
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(1).quiet_panics(true).build().unwrap();
    /// let err = pool.spawn(parse, ("ten".to_owned(),)).join().unwrap_err();
    /// assert!(err.panic_message().unwrap().starts_with("a number"));
    /// ```
    pub fn quiet_panics(mut self, quiet: bool) -> Self {
        self.quiet_panics = quiet;
        self
    }

    /// Runs `f(args...)` in every new worker before its first task: Python's
    /// `Pool(initializer=f, initargs=args)`. For setup a worker keeps (a connection, a cache, a
    /// logger): a worker is a process of its own, so what `f` sets in statics stays there for
    /// the worker's tasks. `f` is a `#[parallel]` function (its result is dropped). If it
    /// panics, the worker is discarded and the task that needed it fails with
    /// [`ErrorKind::Refused`](crate::ErrorKind::Refused), saying so.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::OnceLock;
    /// use parallel::{ProcessPool, parallel};
    ///
    /// static GREETING: OnceLock<String> = OnceLock::new();
    ///
    /// #[parallel]
    /// fn set_greeting(greeting: String) {
    ///     let _ = GREETING.set(greeting);
    /// }
    ///
    /// #[parallel]
    /// fn greet(name: String) -> String {
    ///     format!("{}, {name}", GREETING.get().map_or("?", String::as_str))
    /// }
    ///
    /// let pool = ProcessPool::builder()
    ///     .workers(2)
    ///     .initializer(set_greeting, ("hello".to_owned(),))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(pool.spawn(greet, ("you".to_owned(),)).join().unwrap(), "hello, you");
    /// ```
    pub fn initializer<F, Args>(mut self, f: F, args: Args) -> Self
    where
        F: ProcessFn<Args>,
        Args: Serialize + 'static,
        F::Output: 'static,
    {
        self.initializer = Some(Initializer::new(f, &args));
        self
    }

    /// Replaces a worker with a new one once it has run `calls` calls: Python's
    /// `maxtasksperchild` / `max_tasks_per_child`, for code that leaks memory or handles. A
    /// batch is not cut, so a worker may run a few more calls than `calls` when small calls
    /// are batched; `chunk(1)` on a map counts exactly.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn worker_pid(_: u32) -> u32 {
    ///     std::process::id()
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(1).max_tasks_per_worker(2).build().unwrap();
    /// let pids: Vec<u32> = pool.map(worker_pid, 0..6).chunk(1).map(Result::unwrap).collect();
    /// // Three workers, two calls each.
    /// assert_eq!(pids[0], pids[1]);
    /// assert_ne!(pids[1], pids[2]);
    /// assert_ne!(pids[3], pids[4]);
    /// ```
    pub fn max_tasks_per_worker(mut self, calls: usize) -> Self {
        self.max_tasks_per_worker = Some(calls);
        self
    }

    /// Starts the workers.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for zero workers, for an invalid `PARALLEL_TRANSPORT` when no
    /// transport was given, for an initializer that is not a `#[parallel]` function (or whose
    /// arguments do not encode), or for `max_tasks_per_worker(0)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::ProcessPool::builder().workers(2).build().unwrap();
    /// assert_eq!(pool.workers(), 2);
    /// assert!(parallel::ProcessPool::builder().workers(0).build().is_err());
    /// ```
    pub fn build(self) -> Result<ProcessPool, ConfigError> {
        let workers = match self.workers {
            Some(n) => Workers::new(n)?.get(),
            None => available_cores(),
        };
        let transport = match self.transport {
            Some(transport) => transport,
            None => ProcessTransport::from_env()?,
        };
        let settings = WorkerSettings {
            quiet_panics: self.quiet_panics,
        };
        let lifecycle = Lifecycle {
            initializer: self.initializer.transpose()?,
            max_calls: match self.max_tasks_per_worker {
                Some(calls) => Some(NonZeroUsize::new(calls).ok_or_else(|| {
                    ConfigError::new("max_tasks_per_worker", "0", "at least one call")
                })?),
                None => None,
            },
        };
        Ok(
            ProcessPool::start(workers, Carrier::Process(transport), settings, lifecycle)
                .configured(self.timeout, self.retries),
        )
    }
}

impl ProcessPool {
    /// A builder with the default settings.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::ProcessPool::builder().build().unwrap();
    /// assert_eq!(pool.workers(), parallel::available_cores());
    /// ```
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder::default()
    }

    /// The warm pool of `workers` processes shared by every caller that asks for that many: the
    /// macros use it, so repeated calls reuse running workers.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn worker_pid(_: u8) -> u32 {
    ///     std::process::id()
    /// }
    ///
    /// let a = ProcessPool::shared(1);
    /// let b = ProcessPool::shared(1);
    /// // One warm worker process serves both handles.
    /// let (first, second) = (a.spawn(worker_pid, (0,)), b.spawn(worker_pid, (0,)));
    /// assert_eq!(first.join().unwrap(), second.join().unwrap());
    /// ```
    pub fn shared(workers: usize) -> ProcessPool {
        static POOLS: OnceLock<Mutex<HashMap<usize, ProcessPool>>> = OnceLock::new();
        let workers = workers.max(1);
        let mut pools = POOLS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        pools
            .entry(workers)
            .or_insert_with(|| {
                let carrier = Carrier::Process(shared_transport());
                ProcessPool::start(
                    workers,
                    carrier,
                    WorkerSettings::default(),
                    Lifecycle::default(),
                )
            })
            .clone()
    }

    /// The pool of `workers` drivers for the worker ranks of the MPI job, which has started.
    #[cfg(feature = "mpi")]
    pub(crate) fn start_mpi(workers: usize) -> ProcessPool {
        ProcessPool::start(
            workers,
            Carrier::Mpi,
            WorkerSettings::default(),
            Lifecycle::default(),
        )
    }

    fn start(
        workers: usize,
        carrier: Carrier,
        settings: WorkerSettings,
        lifecycle: Lifecycle,
    ) -> ProcessPool {
        let drivers = Arc::new(Drivers::new(workers, settings, lifecycle));
        let mut threads = Vec::with_capacity(workers);
        for number in 0..workers {
            let drivers = Arc::clone(&drivers);
            let spawned = std::thread::Builder::new()
                .name(format!("parallel-process-{number}"))
                .spawn(move || match carrier {
                    Carrier::Process(ProcessTransport::SharedMemory) => {
                        drive::<SharedMemoryTransport>(&drivers);
                    }
                    Carrier::Process(ProcessTransport::Socket) => {
                        drive::<SocketTransport>(&drivers);
                    }
                    #[cfg(feature = "mpi")]
                    Carrier::Mpi => drive::<super::transport::mpi::MpiTransport>(&drivers),
                });
            // Without a driver the pool runs on the others.
            threads.extend(spawned.ok());
        }
        if threads.is_empty() {
            // With none, requests report cancelled rather than wait forever.
            drivers.queue.close();
        }
        ProcessPool {
            inner: Arc::new(Inner {
                drivers,
                workers,
                carrier,
                threads: Mutex::new(threads),
            }),
            timeout: None,
            retries: 0,
        }
    }

    /// This pool with another timeout and retry count for the tasks spawned through it.
    #[must_use]
    pub(crate) fn configured(mut self, timeout: Option<Duration>, retries: u32) -> ProcessPool {
        self.timeout = timeout;
        self.retries = retries;
        self
    }

    /// The number of worker processes.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::ProcessPool::builder().workers(3).build().unwrap();
    /// assert_eq!(pool.workers(), 3);
    /// ```
    pub fn workers(&self) -> usize {
        self.inner.workers
    }

    /// How requests and replies travel to this pool's workers.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, ProcessTransport};
    ///
    /// let pool = ProcessPool::builder()
    ///     .workers(1)
    ///     .transport(ProcessTransport::SharedMemory)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(pool.transport(), ProcessTransport::SharedMemory);
    /// ```
    pub fn transport(&self) -> ProcessTransport {
        match self.inner.carrier {
            Carrier::Process(transport) => transport,
            // Never asked: an `MpiPool` does not hand out its `ProcessPool`.
            #[cfg(feature = "mpi")]
            Carrier::Mpi => ProcessTransport::default(),
        }
    }

    /// Runs `f(args...)` in a worker process and returns its handle: Python's
    /// `pool.apply_async(f, args)` or `executor.submit(f, *args)`. `args` is a tuple.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn greet(name: String, times: usize) -> String {
    ///     format!("hello {name}").repeat(times)
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(1).build().unwrap();
    /// let task = pool.spawn(greet, ("you".to_string(), 2));
    /// assert_eq!(task.join().unwrap(), "hello youhello you");
    /// ```
    ///
    /// A function pointer to a `#[parallel]` function works too (its address only finds the
    /// function's entry, and never reaches a worker), so a list of functions can be chosen at
    /// run time:
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn double(n: u64) -> u64 {
    ///     2 * n
    /// }
    ///
    /// #[parallel]
    /// fn square(n: u64) -> u64 {
    ///     n * n
    /// }
    ///
    /// let chosen: Vec<fn(u64) -> u64> = vec![double, square];
    /// let pool = ProcessPool::builder().workers(2).build().unwrap();
    /// let tasks: Vec<_> = chosen.into_iter().map(|f| pool.spawn(f, (7,))).collect();
    /// let results: Vec<u64> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
    /// assert_eq!(results, [14, 49]);
    /// ```
    ///
    /// A function without `#[parallel]` fails when it is joined:
    ///
    /// ```
    /// fn plain(x: u8) -> u8 { x }
    /// let pool = parallel::ProcessPool::builder().workers(1).build().unwrap();
    /// let err = pool.spawn(plain, (1,)).join().unwrap_err();
    /// assert!(err.to_string().contains("not a `#[parallel]` function"));
    /// ```
    pub fn spawn<F, Args>(&self, f: F, args: Args) -> Task<F::Output>
    where
        F: ProcessFn<Args>,
        Args: Serialize + 'static,
        F::Output: DeserializeOwned + Send + 'static,
    {
        // `f` names the task (its registry entry, by its type or the address a function pointer
        // holds); it never crosses to the worker.
        let entry = entry_of(&f);
        let name = match &entry {
            Ok(entry) => Some(std::borrow::Cow::Borrowed(entry.name)),
            Err(_) => task::name_of::<F>(),
        };
        let (task, completer) = task::pair(name);
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                completer.finish(Err(err));
                return task;
            }
        };
        let mut batch = RequestBuilder::new(entry, 0);
        if let Err(err) = batch.push(&args) {
            completer.finish(Err(err));
            return task;
        }
        let reply = Arc::new(TaskReply {
            completer: Mutex::new(Some(completer)),
        });
        self.submit(batch.finish(reply, self.timeout, self.retries));
        task
    }

    /// Drivers waiting for work now: how many calls would start at once.
    pub(crate) fn idle_workers(&self) -> usize {
        self.inner.drivers.idle_drivers()
    }

    /// A pool of one new worker like this pool's (transport, timeout, retries), for a call that
    /// must start now while this pool is busy; its worker exits once the pool is dropped and its
    /// call answered. An MPI pool has no such thing: itself.
    pub(crate) fn one_more(&self) -> ProcessPool {
        match self.inner.carrier {
            Carrier::Process(transport) => ProcessPool::start(
                1,
                Carrier::Process(transport),
                self.inner.drivers.settings(),
                Lifecycle::default(),
            )
            .configured(self.timeout, self.retries),
            #[cfg(feature = "mpi")]
            Carrier::Mpi => self.clone(),
        }
    }

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

    pub(super) fn submit(&self, request: Request) {
        self.inner.drivers.queue.push_back(request);
    }
}

impl std::fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessPool")
            .field("workers", &self.inner.workers)
            .field("carrier", &self.inner.carrier)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

/// The transport of the shared pools: `PARALLEL_TRANSPORT`, or the default when it is invalid
/// (said once on stderr: the macros that use these pools have no error to return it in).
fn shared_transport() -> ProcessTransport {
    ProcessTransport::from_env().unwrap_or_else(|err| {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            eprintln!(
                "parallel: {err}; the process backend uses `{}`",
                ProcessTransport::default()
            );
        });
        ProcessTransport::default()
    })
}

/// The registry entry of `f`: a `#[parallel]` function item, or a function pointer to one.
pub(super) fn entry_of<F, Args>(f: &F) -> Result<&'static Entry, TaskError>
where
    F: ProcessFn<Args>,
    Args: 'static,
    F::Output: 'static,
{
    if let Some(entry) = registry::by_type(TypeId::of::<F>()) {
        return Ok(entry);
    }
    let pointer = f.__pointer_address();
    if let Some(entry) = pointer.and_then(registry::by_address) {
        return Ok(entry);
    }
    let what = match (pointer, task::name_of::<F>()) {
        (Some(_), _) => format!(
            "this function pointer (`{}`) points to a function without `#[parallel]`",
            std::any::type_name::<F>()
        ),
        (None, Some(name)) => format!("`{name}` is not a `#[parallel]` function"),
        (None, None) if std::any::type_name::<F>().contains("{{closure}}") => {
            "a closure is not a `#[parallel]` function".to_owned()
        }
        (None, None) => format!(
            "`{}` is not a `#[parallel]` function",
            std::any::type_name::<F>()
        ),
    };
    Err(TaskError::refused(format!(
        "{what}: only those run in a worker process"
    )))
}
