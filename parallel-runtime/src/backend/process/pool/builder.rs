//! [`ProcessPoolBuilder`]: a process pool's settings, checked when it is built.

use std::num::NonZeroUsize;
use std::time::Duration;

use serde::Serialize;

use super::{Carrier, ProcessFn, ProcessPool};
use crate::backend::process::driver::lifecycle::{Initializer, Lifecycle};
use crate::backend::process::transport::WorkerSettings;
use crate::config::{ProcessTransport, Workers, available_cores};
use crate::error::ConfigError;

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
    /// way the caller gets the message in the task's [`TaskError`](crate::TaskError).
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
