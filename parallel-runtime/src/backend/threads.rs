//! Dedicated OS threads for blocking work: Python's `ThreadPoolExecutor`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use crossbeam_channel::{Receiver, Sender};

use crate::backend::{Executor, Job};
use crate::config::{Workers, default_thread_workers};
use crate::error::ConfigError;
use crate::task::{self, Task};

/// A pool of dedicated OS threads, for blocking work such as file or network I/O.
///
/// Threads start when work arrives and there is no idle one, up to `workers`; then tasks queue.
/// Blocking a thread here never starves rayon's pool, so CPU-bound work elsewhere keeps running.
/// Clones share the pool; the threads exit once every clone is dropped and the queue is empty.
///
/// # Examples
///
/// ```
/// use parallel::ThreadPool;
///
/// let pool = ThreadPool::builder().workers(4).build().unwrap();
/// let lengths: Vec<usize> = pool
///     .map(|word: &str| word.len(), ["a", "bb", "ccc"])
///     .map(Result::unwrap)
///     .collect();
/// assert_eq!(lengths, [1, 2, 3]);
/// ```
#[derive(Clone)]
pub struct ThreadPool {
    inner: Arc<Inner>,
}

struct Inner {
    /// Only the pool holds senders: once every clone is dropped, the workers drain the queue
    /// and exit.
    queue: Sender<Job>,
    shared: Arc<Shared>,
}

/// What the pool and its threads share: the queue's receiving end and the thread counts, so
/// that a worker can start threads too.
struct Shared {
    jobs: Receiver<Job>,
    max_threads: usize,
    threads: AtomicUsize,
    idle: AtomicUsize,
    name: String,
}

/// Configures a [`ThreadPool`].
///
/// # Examples
///
/// ```
/// use parallel::ThreadPool;
///
/// let pool = ThreadPool::builder().workers(64).name("fetch").build().unwrap();
/// assert_eq!(pool.workers(), 64);
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct ThreadPoolBuilder {
    workers: Option<i64>,
    name: Option<String>,
}

impl ThreadPoolBuilder {
    /// The most threads the pool runs at once. Negative counts are relative to the cores, as in
    /// [`Workers`]. The default is Python's: `min(32, cores + 4)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::ThreadPool::builder().workers(8).build().unwrap();
    /// assert_eq!(pool.workers(), 8);
    /// ```
    pub fn workers(mut self, workers: i64) -> Self {
        self.workers = Some(workers);
        self
    }

    /// The prefix of the threads' names (`parallel-threads` by default).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::ThreadPool::builder().name("fetch").build().unwrap();
    /// let name = pool.spawn(|| std::thread::current().name().map(str::to_owned));
    /// assert!(name.join().unwrap().unwrap().starts_with("fetch"));
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Builds the pool. No thread starts until there is work.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for zero workers.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::ThreadPool::builder().workers(2).build().unwrap();
    /// assert_eq!(pool.spawn(|| 6 * 7).join().unwrap(), 42);
    /// assert!(parallel::ThreadPool::builder().workers(0).build().is_err());
    /// ```
    pub fn build(self) -> Result<ThreadPool, ConfigError> {
        let max_threads = match self.workers {
            Some(n) => Workers::new(n)?.get(),
            None => default_thread_workers(),
        };
        let (queue, jobs) = crossbeam_channel::unbounded();
        Ok(ThreadPool {
            inner: Arc::new(Inner {
                queue,
                shared: Arc::new(Shared {
                    jobs,
                    max_threads,
                    threads: AtomicUsize::new(0),
                    idle: AtomicUsize::new(0),
                    name: self.name.unwrap_or_else(|| "parallel-threads".to_owned()),
                }),
            }),
        })
    }
}

impl ThreadPool {
    /// A builder with the default settings.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::ThreadPool::builder().build().unwrap();
    /// assert_eq!(pool.workers(), (parallel::available_cores() + 4).min(32));
    /// ```
    pub fn builder() -> ThreadPoolBuilder {
        ThreadPoolBuilder::default()
    }

    /// The shared pool that [`spawn`](crate::spawn) uses for the `threads` backend, with the
    /// default number of workers. Started on first use.
    ///
    /// # Examples
    ///
    /// ```
    /// let task = parallel::ThreadPool::global().spawn(|| 2 + 2);
    /// assert_eq!(task.join().unwrap(), 4);
    /// ```
    pub fn global() -> &'static ThreadPool {
        static GLOBAL: OnceLock<ThreadPool> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            ThreadPool::builder()
                .build()
                .expect("the defaults are valid")
        })
    }

    /// The most threads this pool runs at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::ThreadPool::builder().workers(3).build().unwrap();
    /// assert_eq!(pool.workers(), 3);
    /// ```
    pub fn workers(&self) -> usize {
        self.inner.shared.max_threads
    }

    /// Runs `f` on a thread of the pool and returns its handle (Python's `submit`).
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::ThreadPool;
    ///
    /// let pool = ThreadPool::builder().build().unwrap();
    /// let tasks: Vec<_> = (1..=3).map(|i| pool.spawn(move || i * 10)).collect();
    /// let values: Vec<i32> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
    /// assert_eq!(values, [10, 20, 30]);
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

impl Shared {
    /// Starts another thread if every running one is busy and the limit allows it.
    fn grow(self: &Arc<Self>) {
        if self.jobs.len() <= self.idle.load(Ordering::SeqCst) {
            return;
        }
        let started = self
            .threads
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max_threads).then_some(n + 1)
            });
        let Ok(number) = started else { return };
        let workers = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name(format!("{}-{number}", self.name))
            .spawn(move || workers.work());
        if spawned.is_err() {
            // The system refused a thread; the queued work waits for the threads there are.
            self.threads.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// A worker thread: runs jobs until the pool is gone and the queue is empty.
    fn work(self: &Arc<Self>) {
        loop {
            self.idle.fetch_add(1, Ordering::SeqCst);
            let job = self.jobs.recv();
            self.idle.fetch_sub(1, Ordering::SeqCst);
            let Ok(job) = job else { return };
            // A job sent after `recv` returned but before `idle` went down counted this thread
            // as idle, so `execute` started no thread for it. Check again, or that job could
            // wait behind this one (forever, if this one waits for it).
            self.grow();
            // Jobs catch their own panics, so a worker thread outlives any task.
            job();
        }
    }
}

impl Executor for ThreadPool {
    fn execute(&self, job: Job) {
        // The pool owns a receiver, so the queue is open as long as `self` exists.
        if self.inner.queue.send(job).is_ok() {
            self.inner.shared.grow();
        }
    }

    fn workers(&self) -> usize {
        self.inner.shared.max_threads
    }
}

impl std::fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPool")
            .field("name", &self.inner.shared.name)
            .field("workers", &self.inner.shared.max_threads)
            .field(
                "threads",
                &self.inner.shared.threads.load(Ordering::Relaxed),
            )
            .finish()
    }
}
