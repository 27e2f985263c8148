//! [`ProcessPool`]: the public face of the process backend, and `spawn`; its builder, the
//! functions it runs and how it is ended are in `pool/`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::driver::Drivers;
use super::driver::lifecycle::Lifecycle;
use super::driver::slot::{DirectWorker, Slot};
use super::reply::TaskReply;
use super::request::{Request, RequestBuilder};
use super::transport::shared_memory::SharedMemoryTransport;
use super::transport::socket::SocketTransport;
use super::transport::{Transport, WorkerSettings};
use crate::config::ProcessTransport;
use crate::task::{self, Task};

mod builder;
mod process_fn;
mod stop;

pub use builder::ProcessPoolBuilder;
pub use process_fn::ProcessFn;
pub(in crate::backend::process) use process_fn::entry_of;

/// A pool of worker processes that re-enter the current executable.
///
/// Python's `multiprocessing.Pool` and `ProcessPoolExecutor`, without their failure modes: a
/// task that panics, aborts, segfaults, exits or is killed fails alone (its
/// [`TaskError`](crate::TaskError) says how), the pool starts a new worker, and every other task
/// completes. A `timeout` kills the worker of a late task. Workers exit when the parent does,
/// however it ends.
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
    /// The workers a caller may send a call to itself (`driver::slot`): every worker, a
    /// process or an MPI rank (MPI runs with `MPI_THREAD_MULTIPLE`: any thread may talk to a
    /// rank).
    direct: Vec<Arc<dyn DirectWorker>>,
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
        let mut direct = Vec::with_capacity(workers);
        for number in 0..workers {
            let started = match carrier {
                Carrier::Process(ProcessTransport::SharedMemory) => {
                    start_driver::<SharedMemoryTransport>(&drivers, number, &mut direct)
                }
                Carrier::Process(ProcessTransport::Socket) => {
                    start_driver::<SocketTransport>(&drivers, number, &mut direct)
                }
                #[cfg(feature = "mpi")]
                Carrier::Mpi => start_driver::<super::transport::mpi::MpiTransport>(
                    &drivers,
                    number,
                    &mut direct,
                ),
            };
            // Without a driver the pool runs on the others.
            threads.extend(started);
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
                direct,
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
    /// When a worker is free and no call waits in the pool's queue, the call goes to that worker
    /// from this thread, and [`Task::join`] reads its answer on the joining thread too, with no
    /// thread of the pool in between; waiting any other way (or dropping the task) leaves that
    /// to the pool's threads. Calls with a timeout, or with more than 64 KiB of arguments,
    /// always go through the pool's threads, so `spawn` never waits for a worker.
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
        let (mut task, completer) = task::pair(name);
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                completer.finish(Err(err));
                return task;
            }
        };
        let mut batch = RequestBuilder::new(entry, 0).with_parts(self.sends_parts());
        if let Err(err) = batch.push_owned(args) {
            completer.finish(Err(err));
            return task;
        }
        let reply = Arc::new(TaskReply {
            completer: Mutex::new(Some(completer)),
            decode: (entry.value)().decode,
        });
        let request = batch.finish(reply, self.timeout, self.retries);
        match self.send_directly(request) {
            Ok(attendant) => task.attended_by(attendant),
            Err(request) => self.submit(request),
        }
        task
    }

    /// Sends `request` to a free worker from this thread, when no request waits in the queue
    /// (it would pass them); gives it back when no worker is free.
    #[expect(
        clippy::result_large_err,
        reason = "the request comes back as it went, to be queued: boxing it would allocate on every call"
    )]
    fn send_directly(
        &self,
        mut request: Request,
    ) -> Result<Arc<dyn crate::task::Attendant>, Request> {
        if !self.inner.drivers.queue.is_empty() {
            return Err(request);
        }
        for worker in &self.inner.direct {
            match Arc::clone(worker).try_send(request) {
                Ok(attendant) => return Ok(attendant),
                Err(back) => request = back,
            }
        }
        Err(request)
    }

    /// Workers free now: how many calls would start at once. (A driver waiting for a request
    /// may have a worker a caller sent a call to directly: idle drivers would count it.)
    pub(crate) fn idle_workers(&self) -> usize {
        self.inner
            .direct
            .iter()
            .filter(|worker| worker.is_free())
            .count()
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

    /// Whether this pool's transport sends large byte strings of arguments from their own
    /// memory ([`RequestBuilder::with_parts`]): MPI's does.
    pub(super) fn sends_parts(&self) -> bool {
        match self.inner.carrier {
            Carrier::Process(_) => false,
            #[cfg(feature = "mpi")]
            Carrier::Mpi => true,
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

/// Starts the driver thread of one worker; its slot joins `direct`, for callers to send to
/// directly.
fn start_driver<T: Transport + Send + 'static>(
    drivers: &Arc<Drivers>,
    number: usize,
    direct: &mut Vec<Arc<dyn DirectWorker>>,
) -> Option<std::thread::JoinHandle<()>> {
    let slot = Slot::<T>::new(Arc::clone(drivers));
    let driven = Arc::clone(&slot);
    let thread = std::thread::Builder::new()
        .name(format!("parallel-process-{number}"))
        .spawn(move || driven.drive())
        .ok()?;
    direct.push(slot);
    Some(thread)
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
