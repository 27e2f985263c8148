//! Rayon's work-stealing pool, for CPU-bound work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::backend::{Executor, Job};
use crate::config::Workers;
use crate::error::ConfigError;
use crate::task::{self, Task};

/// A rayon work-stealing pool: rayon's global pool, or one of its own size.
///
/// Cheap to clone; clones share the pool.
///
/// # Examples
///
/// ```
/// use parallel::RayonPool;
///
/// let pool = RayonPool::builder().workers(2).build().unwrap();
/// let sum = pool.spawn(|| (1..=100u64).sum::<u64>());
/// assert_eq!(sum.join().unwrap(), 5050);
/// ```
#[derive(Clone)]
pub struct RayonPool {
    /// `None` is rayon's global pool.
    pool: Option<Arc<rayon::ThreadPool>>,
}

/// Configures a [`RayonPool`].
///
/// # Examples
///
/// ```
/// use parallel::RayonPool;
///
/// let pool = RayonPool::builder().workers(3).build().unwrap();
/// assert_eq!(pool.workers(), 3);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct RayonPoolBuilder {
    workers: Option<i64>,
    name: Option<String>,
}

impl RayonPoolBuilder {
    /// The number of worker threads (one per core by default). Negative counts are relative to
    /// the cores, as in [`Workers`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::RayonPool::builder().workers(2).build().unwrap();
    /// assert_eq!(pool.workers(), 2);
    /// ```
    pub fn workers(mut self, workers: i64) -> Self {
        self.workers = Some(workers);
        self
    }

    /// The prefix of the threads' names (`parallel-rayon` by default).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::RayonPool::builder().workers(1).name("crunch").build().unwrap();
    /// let name = pool.install(|| std::thread::current().name().map(str::to_owned));
    /// assert!(name.unwrap().starts_with("crunch"));
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Starts the pool's threads.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for zero workers, or when the threads cannot start.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::RayonPool::builder().workers(2).build().unwrap();
    /// assert_eq!(pool.spawn(|| 6 * 7).join().unwrap(), 42);
    /// assert!(parallel::RayonPool::builder().workers(0).build().is_err());
    /// ```
    pub fn build(self) -> Result<RayonPool, ConfigError> {
        let workers = match self.workers {
            Some(n) => Workers::new(n)?,
            None => Workers::ALL_CORES,
        };
        let name = self.name.unwrap_or_else(|| "parallel-rayon".to_owned());
        build_pool(workers.get(), name)
    }
}

fn build_pool(workers: usize, name: String) -> Result<RayonPool, ConfigError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(move |i| format!("{name}-{i}"))
        .build()
        .map(|pool| RayonPool {
            pool: Some(Arc::new(pool)),
        })
        .map_err(|e| ConfigError::new("rayon pool", workers.to_string(), e.to_string()))
}

/// The size of rayon's global pool, asked from outside any pool.
fn global_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| match rayon::current_thread_index() {
        None => rayon::current_num_threads(),
        Some(_) => std::thread::scope(|s| s.spawn(rayon::current_num_threads).join())
            .unwrap_or_else(|_| rayon::current_num_threads()),
    })
}

impl RayonPool {
    /// A builder with the default settings.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::RayonPool::builder().build().unwrap();
    /// assert_eq!(pool.workers(), parallel::available_cores());
    /// ```
    pub fn builder() -> RayonPoolBuilder {
        RayonPoolBuilder::default()
    }

    /// Rayon's global pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::RayonPool;
    ///
    /// assert_eq!(RayonPool::global().workers(), rayon::current_num_threads());
    /// ```
    pub fn global() -> RayonPool {
        RayonPool { pool: None }
    }

    /// A pool with `workers` threads, shared by every caller that asks for that many: the macros'
    /// `workers = N` uses it, so repeated calls reuse warm threads. Rayon's global pool when it
    /// already has that size.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] when the threads cannot start.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::RayonPool;
    ///
    /// let (a, b) = (RayonPool::shared(3).unwrap(), RayonPool::shared(3).unwrap());
    /// assert_eq!(a.workers(), 3);
    /// // The same threads serve both handles.
    /// let name_a = a.install(|| std::thread::current().name().map(str::to_owned));
    /// let name_b = b.install(|| std::thread::current().name().map(str::to_owned));
    /// assert_eq!(name_a.is_some(), name_b.is_some());
    /// ```
    pub fn shared(workers: usize) -> Result<RayonPool, ConfigError> {
        static POOLS: OnceLock<Mutex<HashMap<usize, RayonPool>>> = OnceLock::new();
        if workers == global_threads() {
            return Ok(RayonPool::global());
        }
        let mut pools = POOLS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(pool) = pools.get(&workers) {
            return Ok(pool.clone());
        }
        let pool = build_pool(workers, format!("parallel-rayon{workers}"))?;
        pools.insert(workers, pool.clone());
        Ok(pool)
    }

    /// The number of worker threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::RayonPool::builder().workers(3).build().unwrap();
    /// assert_eq!(pool.workers(), 3);
    /// ```
    pub fn workers(&self) -> usize {
        match &self.pool {
            Some(pool) => pool.current_num_threads(),
            None => rayon::current_num_threads(),
        }
    }

    /// Runs `f` inside the pool, so that rayon calls in it (`join`, parallel iterators) use this
    /// pool, and returns its result. Runs `f` right away if the caller is in the pool already.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::RayonPool;
    ///
    /// let pool = RayonPool::builder().workers(2).build().unwrap();
    /// assert_eq!(pool.install(rayon::current_num_threads), 2);
    /// ```
    ///
    /// # Panics
    ///
    /// If `f` panics, `install` panics with the same payload.
    pub fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    /// Runs `f` on the pool and returns its handle (Python's `submit`).
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::RayonPool;
    ///
    /// let task = RayonPool::global().spawn(|| "from rayon");
    /// assert_eq!(task.join().unwrap(), "from rayon");
    /// ```
    pub fn spawn<F, T>(&self, f: F) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (task, completer) = task::pair(task::name_of::<F>());
        self.execute(Box::new(move || completer.run(f)));
        task
    }
}

impl Executor for RayonPool {
    fn execute(&self, job: Job) {
        match &self.pool {
            Some(pool) => pool.spawn(job),
            None => rayon::spawn(job),
        }
    }

    fn workers(&self) -> usize {
        RayonPool::workers(self)
    }
}

impl std::fmt::Debug for RayonPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RayonPool")
            .field("global", &self.pool.is_none())
            .field("workers", &self.workers())
            .finish()
    }
}
