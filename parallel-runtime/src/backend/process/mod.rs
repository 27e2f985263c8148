//! Worker processes: isolation, killable timeouts, and a pool that survives its workers.
//!
//! The parent keeps one driver thread per worker. A driver takes a job (a batch of calls of one
//! `#[parallel]` function) from the pool's queue, sends it over the worker's private socket and
//! waits for the reply. When the worker dies instead, the driver reads its exit status, starts a
//! new worker, and reports the failure for that call only; a batch that loses its worker is split
//! and re-run one call at a time, so that only the call that kills its worker fails.

mod protocol;
pub mod registry;
mod worker;

use std::any::TypeId;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::iter::Enumerate;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{Workers, available_cores};
use crate::error::{ConfigError, TaskError, WorkerExit};
use crate::mailbox::Mailbox;
use crate::spin::{spin_until, spin_until_readable};
use crate::task::{self, Completer, Task};
use protocol::{Message, RunFrame};
use registry::Entry;

/// How long a new worker may take to answer before the pool gives up on it.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// The compute time a batch of small calls aims for: long enough to hide a round trip.
const TARGET_BATCH_NANOS: u64 = 2_000_000;
/// The most calls in one batch.
const MAX_BATCH: usize = 1 << 16;
/// A batch closes once its arguments reach this size: large arguments go one or a few at a
/// time, so that workers share them and memory in flight stays bounded.
const MAX_BATCH_BYTES: usize = 1 << 20;

/// A function that can run in a worker process with arguments `Args` (a tuple): a
/// `#[parallel]` function that takes and returns owned serde data.
///
/// Implemented for every function of up to eight arguments; whether it is a `#[parallel]`
/// function is checked when a task is spawned (the macros check it at compile time).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run in a worker process with the arguments `{Args}`",
    label = "not a function of `{Args}`",
    note = "a process task is a `#[parallel]` function; its arguments go in a tuple: `pool.spawn(f, (a, b))`"
)]
pub trait ProcessFn<Args>: Copy + Send + Sync + 'static {
    /// What the function returns.
    type Output;
}

macro_rules! process_fn {
    ($($arg:ident),*) => {
        impl<F, R, $($arg),*> ProcessFn<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> R + Copy + Send + Sync + 'static,
        {
            type Output = R;
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
    timeout: Option<Duration>,
    retries: u32,
}

struct Inner {
    jobs: Sender<Job>,
    workers: usize,
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
}

impl ProcessPoolBuilder {
    /// The number of worker processes (one per core by default). Negative counts are relative to
    /// the cores, as in [`Workers`].
    pub fn workers(mut self, workers: i64) -> Self {
        self.workers = Some(workers);
        self
    }

    /// How long one call may run; a late call's worker is killed and the call fails with a
    /// timeout. Calls run one at a time (unbatched) when a timeout is set.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// How many times a call whose worker died is run again on a new worker (0 by default).
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }

    /// Starts the workers.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for zero workers.
    pub fn build(self) -> Result<ProcessPool, ConfigError> {
        let workers = match self.workers {
            Some(n) => Workers::new(n)?.get(),
            None => available_cores(),
        };
        Ok(ProcessPool::start(workers).configured(self.timeout, self.retries))
    }
}

impl ProcessPool {
    /// A builder with the default settings.
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder::default()
    }

    /// The warm pool of `workers` processes shared by every caller that asks for that many: the
    /// macros use it, so repeated calls reuse running workers.
    ///
    /// # Examples
    ///
    /// ```
    /// let a = parallel::ProcessPool::shared(2);
    /// let b = parallel::ProcessPool::shared(2);
    /// assert!(a.same_pool(&b));
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
            .or_insert_with(|| ProcessPool::start(workers))
            .clone()
    }

    fn start(workers: usize) -> ProcessPool {
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        let idle = Arc::new(AtomicUsize::new(0));
        for number in 0..workers {
            let queue = queue.clone();
            let idle = Arc::clone(&idle);
            let spawned = std::thread::Builder::new()
                .name(format!("parallel-process-{number}"))
                .spawn(move || drive(&queue, &idle));
            // Without a driver the pool runs on the others; with none, jobs report cancelled.
            drop(spawned);
        }
        ProcessPool {
            inner: Arc::new(Inner { jobs, workers }),
            timeout: None,
            retries: 0,
        }
    }

    /// This pool with another timeout and retry count for the tasks spawned through it.
    #[must_use]
    pub fn configured(mut self, timeout: Option<Duration>, retries: u32) -> ProcessPool {
        self.timeout = timeout;
        self.retries = retries;
        self
    }

    /// Whether two handles share the same workers.
    pub fn same_pool(&self, other: &ProcessPool) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The number of worker processes.
    pub fn workers(&self) -> usize {
        self.inner.workers
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
        Args: Serialize,
        F::Output: DeserializeOwned + Send + 'static,
    {
        let _ = f;
        let (task, completer) = task::pair(task::name_of::<F>());
        let entry = match entry_of::<F>() {
            Ok(entry) => entry,
            Err(err) => {
                completer.finish(Err(err));
                return task;
            }
        };
        let mut batch = BatchBuilder::new(entry, 0);
        if let Err(err) = batch.push(&args) {
            completer.finish(Err(err));
            return task;
        }
        let reply = Arc::new(TaskReply {
            completer: Mutex::new(Some(completer)),
        });
        self.submit(batch.finish(reply, self));
        task
    }

    /// Applies `f` to every item in worker processes and yields the results in input order,
    /// each as `Ok(value)` or the [`TaskError`] of that item. Small calls are batched
    /// automatically; the input is read lazily with a bounded number of calls in flight.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn halve(n: u32) -> u32 {
    ///     assert!(n % 2 == 0, "{n} is odd");
    ///     n / 2
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(2).build().unwrap();
    /// let results: Vec<_> = pool.map(halve, [2, 3, 4]).collect();
    /// assert_eq!(results[0].as_ref().unwrap(), &1);
    /// assert_eq!(results[1].as_ref().unwrap_err().panic_message(), Some("3 is odd"));
    /// assert_eq!(results[2].as_ref().unwrap(), &2);
    /// ```
    pub fn map<F, I>(&self, f: F, items: I) -> ProcessMap<I::IntoIter, F::Output>
    where
        I: IntoIterator,
        F: ProcessFn<(I::Item,)>,
        I::Item: Serialize,
        F::Output: DeserializeOwned + Send + 'static,
    {
        ProcessMap {
            unordered: self.map_unordered(f, items),
            current: BatchIter::default(),
            order: Runs::default(),
        }
    }

    /// Like [`map`](ProcessPool::map), but yields `(index, result)` as each call finishes.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn double(n: u64) -> u64 {
    ///     2 * n
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(2).build().unwrap();
    /// let mut total = 0;
    /// for (_index, result) in pool.map_unordered(double, 1..=100) {
    ///     total += result.unwrap();
    /// }
    /// assert_eq!(total, 10_100);
    /// ```
    pub fn map_unordered<F, I>(&self, f: F, items: I) -> ProcessMapUnordered<I::IntoIter, F::Output>
    where
        I: IntoIterator,
        F: ProcessFn<(I::Item,)>,
        I::Item: Serialize,
        F::Output: DeserializeOwned + Send + 'static,
    {
        let _ = f;
        let replies = Arc::new(Mailbox::new());
        let entry = entry_of::<F>();
        let reply = Arc::new(ChannelReply::<F::Output> {
            replies: Arc::clone(&replies),
            name: entry.as_ref().map_or("", |entry| entry.name),
        });
        ProcessMapUnordered {
            pool: self.clone(),
            entry,
            input: items.into_iter().enumerate(),
            input_done: false,
            stopped: false,
            batch: 1,
            bytes_per_call: 0,
            long_calls: false,
            chunk: None,
            outstanding: 0,
            ready: VecDeque::new(),
            current: BatchIter::default(),
            reply,
            replies,
        }
    }

    fn submit(&self, job: Job) {
        // The pool holds the receiving side's drivers for as long as it exists; if every
        // driver failed to start, the job comes back here and its drop reports a cancellation.
        let _ = self.inner.jobs.send(job);
    }
}

impl std::fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessPool")
            .field("workers", &self.inner.workers)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

/// The registry entry of the function item `F`.
fn entry_of<F: 'static>() -> Result<&'static Entry, TaskError> {
    registry::by_type(TypeId::of::<F>()).ok_or_else(|| {
        let name = task::name_of::<F>().unwrap_or(std::borrow::Cow::Borrowed("a closure"));
        TaskError::refused(format!(
            "`{name}` is not a `#[parallel]` function: only those run in a worker process"
        ))
    })
}

/// Calls of one function being gathered into a job.
struct BatchBuilder {
    entry: &'static Entry,
    first: usize,
    frame: RunFrame,
    ends: Vec<u32>,
}

impl BatchBuilder {
    fn new(entry: &'static Entry, first: usize) -> Self {
        Self::with_capacity(entry, first, 1, 0)
    }

    /// A batch with room for `calls` calls of `bytes` bytes of arguments in all.
    fn with_capacity(entry: &'static Entry, first: usize, calls: usize, bytes: usize) -> Self {
        BatchBuilder {
            entry,
            first,
            frame: RunFrame::new(entry.id, bytes),
            ends: Vec::with_capacity(calls),
        }
    }

    /// Adds a call; one whose arguments do not encode is left out.
    fn push<T: Serialize>(&mut self, args: &T) -> Result<(), TaskError> {
        let buffer = self.frame.buffer();
        let mark = buffer.len();
        if let Err(e) = protocol::encode(args, buffer) {
            buffer.truncate(mark);
            return Err(TaskError::refused(format!(
                "could not encode the arguments: {e}"
            )));
        }
        let end = u32::try_from(self.args_len()).unwrap_or(u32::MAX);
        self.ends.push(end);
        Ok(())
    }

    /// Bytes of arguments so far.
    fn args_len(&self) -> usize {
        self.frame.args_len()
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn finish(self, reply: Arc<dyn ReplyTo>, pool: &ProcessPool) -> Job {
        let count = u32::try_from(self.ends.len()).expect("batches are small");
        let args_start = self.frame.args_start();
        Job {
            entry: self.entry,
            first: self.first,
            count,
            frame: self.frame.finish(count),
            args_start,
            ends: self.ends,
            reply,
            timeout: pool.timeout,
            retries: pool.retries,
            answered: false,
        }
    }
}

/// Where a job's results go.
trait ReplyTo: Send + Sync {
    /// Calls `first..first + count` finished in `nanos` of the worker's time; `outcomes` holds
    /// what each gave. Called on the driver's thread, so that decoding is off the caller's.
    fn done(&self, first: usize, count: u32, nanos: u64, outcomes: &[u8]);
    /// Call `index` failed.
    fn failed(&self, index: usize, error: TaskError);
    /// Marks the calls as started, just before they are sent; `false` if nobody wants their
    /// results any more (a cancelled task), and they are not sent.
    fn start(&self) -> bool {
        true
    }
}

/// A batch of calls of one function, ready to send.
struct Job {
    entry: &'static Entry,
    first: usize,
    count: u32,
    frame: Vec<u8>,
    args_start: usize,
    /// The end of each call's arguments, relative to `args_start`: how to split the batch.
    ends: Vec<u32>,
    reply: Arc<dyn ReplyTo>,
    timeout: Option<Duration>,
    retries: u32,
    answered: bool,
}

impl Job {
    fn fail_all(mut self, error: impl Fn() -> TaskError) {
        self.answered = true;
        for index in self.first..self.first + self.count as usize {
            self.reply.failed(index, self.named(error(), index));
        }
    }

    fn named(&self, error: TaskError, index: usize) -> TaskError {
        error.with_index(index).with_name(self.entry.name)
    }

    /// One job per call, to find the call that killed a worker.
    fn split(mut self) -> Vec<Job> {
        self.answered = true;
        let args = &self.frame[self.args_start..];
        let mut start = 0;
        let mut singles = Vec::with_capacity(self.ends.len());
        for (offset, &end) in self.ends.iter().enumerate() {
            let mut frame = RunFrame::new(self.entry.id, (end - start) as usize);
            frame
                .buffer()
                .extend_from_slice(&args[start as usize..end as usize]);
            let args_start = frame.args_start();
            singles.push(Job {
                entry: self.entry,
                first: self.first + offset,
                count: 1,
                frame: frame.finish(1),
                args_start,
                ends: vec![end - start],
                reply: Arc::clone(&self.reply),
                timeout: self.timeout,
                retries: self.retries,
                answered: false,
            });
            start = end;
        }
        singles
    }

    /// Answers the job with what its worker said, or deals with how the worker failed: a
    /// batch whose worker died runs again one call at a time, to find the call that killed it.
    fn settle(mut self, outcome: Result<Answer, Failure>, driver: &mut Driver) {
        match outcome {
            Ok(Answer::Done {
                count,
                nanos,
                start,
            }) if count == self.count => {
                self.answered = true;
                self.reply
                    .done(self.first, count, nanos, &driver.buffer[start..]);
            }
            Ok(Answer::Done { count, .. }) => {
                let message = format!("the worker answered {count} calls of {}", self.count);
                self.fail_all(|| TaskError::refused(message.clone()));
            }
            Ok(Answer::Refused(message)) => self.fail_all(|| TaskError::refused(message.clone())),
            Err(Failure::Died(_)) if self.count > 1 => {
                for single in self.split() {
                    driver.run_alone(single);
                }
            }
            Err(Failure::Died(_)) if self.retries > 0 => {
                self.retries -= 1;
                driver.run_alone(self);
            }
            Err(Failure::Died(exit)) => self.fail_all(|| TaskError::worker_died(exit)),
            Err(Failure::TimedOut(after)) => self.fail_all(|| TaskError::timed_out(after)),
            Err(Failure::Start(message)) => self.fail_all(|| TaskError::refused(message.clone())),
        }
    }
}

impl Drop for Job {
    /// A job dropped unanswered (its pool is gone) reports its calls as cancelled.
    fn drop(&mut self) {
        if !self.answered {
            for index in self.first..self.first + self.count as usize {
                let error = self.named(TaskError::cancelled(), index);
                self.reply.failed(index, error);
            }
        }
    }
}

/// The most requests waiting in a worker's socket behind the one it runs. Pipelining hides the
/// round trip between two small calls.
const PIPELINE_DEPTH: usize = 4;
/// The most bytes of requests in a worker's socket: well under the socket's buffer, so that a
/// write never blocks on a worker that is itself blocked writing a reply.
const PIPELINE_BYTES: usize = 64 * 1024;
/// Pipelining is for short calls: a request queued behind a long one would wait while another
/// worker might be free.
const PIPELINE_MAX_NANOS: u64 = 200_000;
/// Calls at least this long are not waited for by polling: their answers are far off, and
/// polling would only take time from the workers sharing the cores.
const LONG_CALL_NANOS: u64 = 1_000_000;

/// The loop of one driver thread: one worker process, and the requests sent to it in order.
fn drive(queue: &Receiver<Job>, idle: &AtomicUsize) {
    let mut driver = Driver {
        worker: Worker::start().ok(),
        buffer: Vec::new(),
        sent: VecDeque::new(),
        sent_bytes: 0,
        backlog: VecDeque::new(),
        idle,
        per_call: None,
    };
    while driver.fill(queue) {
        driver.receive_one();
    }
    // The pool is gone: close the worker's socket (it exits) and reap it, leaving no zombie.
    if let Some(worker) = driver.worker.take() {
        worker.end(false);
    }
}

struct Driver<'a> {
    worker: Option<Worker>,
    buffer: Vec<u8>,
    /// Requests written to the worker, oldest (the one it runs) first.
    sent: VecDeque<Job>,
    sent_bytes: usize,
    /// Jobs to send before taking new ones from the queue: those a dead worker never started.
    backlog: VecDeque<Job>,
    /// How many of the pool's drivers wait for work: while one does, nobody pipelines.
    idle: &'a AtomicUsize,
    /// Nanoseconds per call in the worker's last answer; `None` before its first answer.
    per_call: Option<u64>,
}

impl Driver<'_> {
    /// Whether the worker's last calls were short enough to pipeline.
    fn short_calls(&self) -> bool {
        self.per_call
            .is_some_and(|nanos| nanos < PIPELINE_MAX_NANOS)
    }

    /// Whether they were long enough that waiting for the next answer sleeps at once.
    fn long_calls(&self) -> bool {
        self.per_call.is_some_and(|nanos| nanos >= LONG_CALL_NANOS)
    }

    /// Sends jobs while the pipe has room, waiting for one if none is in flight. `false` once
    /// the pool is gone and every job is answered.
    fn fill(&mut self, queue: &Receiver<Job>) -> bool {
        loop {
            let job = match self.backlog.pop_front() {
                Some(job) => job,
                None if self.sent.is_empty() => {
                    self.idle.fetch_add(1, Ordering::SeqCst);
                    let mut job = Err(crossbeam_channel::RecvError);
                    if !spin_until(|| queue.try_recv().map(|j| job = Ok(j)).is_ok()) {
                        job = queue.recv();
                    }
                    self.idle.fetch_sub(1, Ordering::SeqCst);
                    match job {
                        Ok(job) => job,
                        Err(_) => return false,
                    }
                }
                // Leave the job to a free worker if there is one.
                None if !self.short_calls() || self.idle.load(Ordering::SeqCst) > 0 => return true,
                None => match queue.try_recv() {
                    Ok(job) => job,
                    Err(_) => return true,
                },
            };
            if !self.sent.is_empty() && !self.fits(&job) {
                self.backlog.push_front(job);
                return true;
            }
            if !job.reply.start() {
                job.fail_all(TaskError::cancelled);
                continue;
            }
            self.send(job);
            if self.sent.len() >= PIPELINE_DEPTH {
                return true;
            }
        }
    }

    /// Whether `job` may queue behind the requests in flight: small, and with no timeout on
    /// either side (a timeout is measured on a request that runs alone).
    fn fits(&self, job: &Job) -> bool {
        self.short_calls()
            && self.sent.len() < PIPELINE_DEPTH
            && job.timeout.is_none()
            && self.sent.front().is_some_and(|head| head.timeout.is_none())
            && self.sent_bytes + job.frame.len() <= PIPELINE_BYTES
    }

    /// The worker, started if there is none.
    fn worker(&mut self) -> Result<&mut Worker, String> {
        if self.worker.is_none() {
            let worker =
                Worker::start().map_err(|e| format!("could not start a worker process: {e}"))?;
            self.worker = Some(worker);
        }
        Ok(self.worker.as_mut().expect("started above"))
    }

    /// Ends the worker (killed if it ran late, else already gone) and says how the call it ran
    /// failed.
    fn end_worker(&mut self, late: Option<Duration>) -> Failure {
        let exit = self
            .worker
            .take()
            .map_or(WorkerExit::Unknown, |worker| worker.end(late.is_some()));
        match late {
            Some(after) => Failure::TimedOut(after),
            None => Failure::Died(exit),
        }
    }

    fn send(&mut self, job: Job) {
        let worker = match self.worker() {
            Ok(worker) => worker,
            Err(message) => return job.fail_all(|| TaskError::refused(message.clone())),
        };
        if worker.send(&job.frame).is_ok() {
            self.sent_bytes += job.frame.len();
            self.sent.push_back(job);
            return;
        }
        // The worker is gone, dead in the request it runs (if any): this job never started.
        self.backlog.push_front(job);
        self.worker_failed(None);
    }

    fn receive_one(&mut self) {
        let timeout = self.sent.front().and_then(|head| head.timeout);
        let poll = !self.long_calls();
        let Some(worker) = self.worker.as_mut() else {
            return;
        };
        match worker.receive(timeout, poll, &mut self.buffer) {
            Ok(answer) => {
                if let Answer::Done { count, nanos, .. } = answer {
                    self.per_call = Some(nanos / u64::from(count.max(1)));
                }
                let job = self.sent.pop_front().expect("a reply answers a request");
                self.sent_bytes -= job.frame.len();
                job.settle(Ok(answer), self);
            }
            Err(late) => self.worker_failed(late),
        }
    }

    /// The worker died, or ran late and is killed: the request at the head of the pipe is the
    /// one it ran; those behind it never started and are sent again.
    fn worker_failed(&mut self, late: Option<Duration>) {
        let failure = self.end_worker(late);
        self.per_call = None;
        let head = self.sent.pop_front();
        while let Some(job) = self.sent.pop_back() {
            self.backlog.push_front(job);
        }
        self.sent_bytes = 0;
        if let Some(head) = head {
            head.settle(Err(failure), self);
        }
    }

    /// Runs one job with nothing else in flight (calls of a split batch, retries).
    fn run_alone(&mut self, job: Job) {
        let outcome = match self.worker() {
            Err(message) => Err(Failure::Start(message)),
            Ok(_) => {
                let poll = !self.long_calls();
                let worker = self.worker.as_mut().expect("started above");
                match worker.exchange(&job.frame, job.timeout, poll, &mut self.buffer) {
                    Ok(answer) => Ok(answer),
                    Err(late) => Err(self.end_worker(late)),
                }
            }
        };
        job.settle(outcome, self);
    }
}

enum Answer {
    Done {
        count: u32,
        nanos: u64,
        start: usize,
    },
    Refused(String),
}

enum Failure {
    Died(WorkerExit),
    TimedOut(Duration),
    Start(String),
}

/// A running worker process and the parent's end of its socket.
struct Worker {
    child: Child,
    stream: UnixStream,
    read_timeout: Option<Duration>,
}

impl Worker {
    /// Starts the current executable as a worker and waits for its greeting.
    fn start() -> io::Result<Worker> {
        if !worker::HAS_ENTRY {
            // Without the entry before `main`, a worker would run the program itself.
            return Err(io::Error::other(
                "the process backend needs Linux, Android, FreeBSD or macOS",
            ));
        }
        let exe = std::env::current_exe()?;
        let (ours, theirs) = UnixStream::pair()?;
        protocol::tune(&ours);
        let child = Command::new(exe)
            .arg("--parallel-worker")
            .env(worker::WORKER_VAR, std::process::id().to_string())
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .spawn()?;
        let mut worker = Worker {
            child,
            stream: ours,
            read_timeout: None,
        };
        worker.set_read_timeout(Some(START_TIMEOUT))?;
        let mut buffer = Vec::new();
        match protocol::read(&mut worker.stream, &mut buffer) {
            Ok(Some(Message::Hello)) => Ok(worker),
            _ => {
                worker.end(true);
                Err(io::Error::other(
                    "the executable did not start as a worker: is `parallel` linked into it?",
                ))
            }
        }
    }

    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        if self.read_timeout != timeout {
            self.stream.set_read_timeout(timeout)?;
            self.read_timeout = timeout;
        }
        Ok(())
    }

    /// One request and its answer. `Err(Some(after))`: the timeout passed; `Err(None)`: the
    /// worker is gone.
    fn exchange(
        &mut self,
        frame: &[u8],
        timeout: Option<Duration>,
        poll: bool,
        buffer: &mut Vec<u8>,
    ) -> Result<Answer, Option<Duration>> {
        self.send(frame).map_err(|_| None)?;
        self.receive(timeout, poll, buffer)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        protocol::write(&mut self.stream, frame)
    }

    /// Reads the answer to the oldest request, polling for it first if `poll`.
    /// `Err(Some(after))`: the timeout passed; `Err(None)`: the worker is gone.
    fn receive(
        &mut self,
        timeout: Option<Duration>,
        poll: bool,
        buffer: &mut Vec<u8>,
    ) -> Result<Answer, Option<Duration>> {
        self.set_read_timeout(timeout).map_err(|_| None)?;
        if poll {
            spin_until_readable(&self.stream);
        }
        let answer = match protocol::read(&mut self.stream, buffer) {
            Ok(Some(Message::Done {
                count,
                nanos,
                outcomes,
            })) => Ok((count, nanos, outcomes.len())),
            Ok(Some(Message::Refused(message))) => return Ok(Answer::Refused(message.to_owned())),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(timeout)
            }
            Ok(_) | Err(_) => Err(None),
        };
        let (count, nanos, outcomes) = answer?;
        Ok(Answer::Done {
            count,
            nanos,
            start: buffer.len() - outcomes,
        })
    }

    /// Ends the worker (killing it first if asked) and reads how it ended.
    fn end(mut self, kill: bool) -> WorkerExit {
        if kill {
            let _ = self.child.kill();
        }
        drop(self.stream);
        match self.child.wait() {
            Ok(status) => match (status.code(), status.signal()) {
                (Some(code), _) => WorkerExit::Code(code),
                (None, Some(signal)) => WorkerExit::Signal(signal),
                (None, None) => WorkerExit::Unknown,
            },
            Err(_) => WorkerExit::Unknown,
        }
    }
}

/// Completes one spawned [`Task`].
struct TaskReply<R> {
    completer: Mutex<Option<Completer<R>>>,
}

impl<R: DeserializeOwned + Send> ReplyTo for TaskReply<R> {
    fn done(&self, first: usize, _: u32, _: u64, outcomes: &[u8]) {
        let results = decode_results::<R>(outcomes, 1, first, None);
        let result = Batch { first, results }
            .into_iter()
            .next()
            .map_or_else(|| Err(TaskError::refused("no result")), |(_, r)| r);
        self.finish(result);
    }

    fn failed(&self, _: usize, error: TaskError) {
        // A spawned task has no index of its own.
        self.finish(Err(strip_index(error)));
    }

    fn start(&self) -> bool {
        self.completer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            // Sent again after its worker died before reaching it: already started.
            .is_some_and(|completer| completer.start() || !completer.is_cancelled())
    }
}

impl<R> TaskReply<R> {
    fn finish(&self, result: Result<R, TaskError>) {
        let completer = self
            .completer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(completer) = completer {
            completer.finish(result);
        }
    }
}

fn strip_index(error: TaskError) -> TaskError {
    error.without_index()
}

/// Decodes the outcomes of calls `first..first + count`; errors carry `name` when given.
fn decode_results<R: DeserializeOwned>(
    outcomes: &[u8],
    count: u32,
    first: usize,
    name: Option<&'static str>,
) -> Results<R> {
    let end = first + count as usize;
    let named = |err: TaskError, index: usize| {
        let err = err.with_index(index);
        match name {
            Some(name) => err.with_name(name),
            None => err,
        }
    };
    let undecodable = |message: &str, from: usize| {
        let message = format!("could not decode the result: {message}");
        (from..end).map(move |index| Err(named(TaskError::refused(message.clone()), index)))
    };
    let (values, failures) = match protocol::split_outcomes(outcomes) {
        Ok(split) => split,
        Err(message) => return Results::Mixed(undecodable(&message, first).collect()),
    };
    // One deserializer walks the whole batch.
    let mut decoder = postcard::Deserializer::from_bytes(values);
    if failures.is_empty() {
        // The usual batch: every call returned, and the values go straight into a `Vec`.
        let mut values = Vec::with_capacity(count as usize);
        for index in first..end {
            match R::deserialize(&mut decoder) {
                Ok(value) => values.push(value),
                Err(e) => {
                    let mut mixed: Vec<_> = values.into_iter().map(Ok).collect();
                    mixed.extend(undecodable(&e.to_string(), index));
                    return Results::Mixed(mixed);
                }
            }
        }
        return Results::Values(values);
    }
    let mut failures = failures.into_iter().peekable();
    let mut mixed = Vec::with_capacity(count as usize);
    for index in first..end {
        if let Some((_, message)) = failures.next_if(|(at, _)| first + *at as usize == index) {
            mixed.push(Err(named(TaskError::panicked(Box::new(message)), index)));
            continue;
        }
        match R::deserialize(&mut decoder) {
            Ok(value) => mixed.push(Ok(value)),
            Err(e) => {
                mixed.extend(undecodable(&e.to_string(), index));
                break;
            }
        }
    }
    Results::Mixed(mixed)
}

/// The results of one job's calls, in call order.
enum Results<R> {
    /// Every call returned: the usual case, kept as one `Vec`.
    Values(Vec<R>),
    /// Some call failed.
    Mixed(Vec<Result<R, TaskError>>),
}

/// The results of consecutive calls, from `first` on.
pub(crate) struct Batch<R> {
    first: usize,
    results: Results<R>,
}

impl<R> Batch<R> {
    fn single(index: usize, result: Result<R, TaskError>) -> Self {
        Batch {
            first: index,
            results: Results::Mixed(vec![result]),
        }
    }

    /// How many calls the batch holds.
    pub(crate) fn len(&self) -> usize {
        match &self.results {
            Results::Values(values) => values.len(),
            Results::Mixed(mixed) => mixed.len(),
        }
    }

    /// The index of the first call and the value of every call, where every call returned;
    /// else the batch, to be read call by call.
    pub(crate) fn into_values(self) -> Result<(usize, Vec<R>), Self> {
        match self.results {
            Results::Values(values) => Ok((self.first, values)),
            results => Err(Batch {
                first: self.first,
                results,
            }),
        }
    }
}

impl<R> IntoIterator for Batch<R> {
    type Item = (usize, Result<R, TaskError>);
    type IntoIter = BatchIter<R>;

    fn into_iter(self) -> BatchIter<R> {
        let results = match self.results {
            Results::Values(values) => Items::Values(values.into_iter()),
            Results::Mixed(mixed) => Items::Mixed(mixed.into_iter()),
        };
        BatchIter {
            next: self.first,
            results,
        }
    }
}

/// The results of a [`Batch`], as `(index, result)`.
pub(crate) struct BatchIter<R> {
    next: usize,
    results: Items<R>,
}

enum Items<R> {
    Values(std::vec::IntoIter<R>),
    Mixed(std::vec::IntoIter<Result<R, TaskError>>),
}

impl<R> Default for BatchIter<R> {
    fn default() -> Self {
        BatchIter {
            next: 0,
            results: Items::Mixed(Vec::new().into_iter()),
        }
    }
}

impl<R> Iterator for BatchIter<R> {
    type Item = (usize, Result<R, TaskError>);

    fn next(&mut self) -> Option<Self::Item> {
        let result = match &mut self.results {
            Items::Values(values) => Ok(values.next()?),
            Items::Mixed(mixed) => mixed.next()?,
        };
        self.next += 1;
        Some((self.next - 1, result))
    }
}

/// What a map's jobs send back to it.
enum Reply<R> {
    Done {
        first: usize,
        count: u32,
        nanos: u64,
        results: Results<R>,
    },
    Failed {
        index: usize,
        error: TaskError,
    },
}

struct ChannelReply<R> {
    replies: Arc<Mailbox<Reply<R>>>,
    name: &'static str,
}

impl<R: DeserializeOwned + Send> ReplyTo for ChannelReply<R> {
    fn done(&self, first: usize, count: u32, nanos: u64, outcomes: &[u8]) {
        let results = decode_results(outcomes, count, first, Some(self.name));
        self.replies.send(Reply::Done {
            first,
            count,
            nanos,
            results,
        });
    }

    fn failed(&self, index: usize, error: TaskError) {
        self.replies.send(Reply::Failed { index, error });
    }
}

/// Results of a process map as they finish, as `(index, result)`; see
/// [`ProcessPool::map_unordered`].
///
/// Small calls are batched automatically, joblib-style: the first batches hold one call, later
/// ones as many as take about 2 ms in the worker. At most about two batches per worker are in
/// flight, so the input streams with bounded memory.
#[must_use = "iterators are lazy: nothing runs until the map is iterated"]
pub struct ProcessMapUnordered<I: Iterator, R> {
    pool: ProcessPool,
    entry: Result<&'static Entry, TaskError>,
    input: Enumerate<I>,
    input_done: bool,
    stopped: bool,
    batch: usize,
    /// Bytes of arguments per call in the last batch: the next batch's buffer is sized from it.
    bytes_per_call: usize,
    /// Whether the last calls were long enough that waiting for an answer sleeps at once.
    long_calls: bool,
    chunk: Option<usize>,
    outstanding: usize,
    /// Results received and not yet yielded, a batch each; the first one is being yielded.
    ready: VecDeque<Batch<R>>,
    current: BatchIter<R>,
    /// Where every job of this map replies: one for all of them.
    reply: Arc<dyn ReplyTo>,
    replies: Arc<Mailbox<Reply<R>>>,
}

impl<I: Iterator<Item: Serialize>, R> ProcessMapUnordered<I, R> {
    /// Sends exactly `chunk` calls per batch instead of sizing batches automatically.
    ///
    /// # Panics
    ///
    /// If `chunk` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn id(n: u32) -> u32 {
    ///     n
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(2).build().unwrap();
    /// assert_eq!(pool.map_unordered(id, 0..100).chunk(10).count(), 100);
    /// ```
    pub fn chunk(mut self, chunk: usize) -> Self {
        assert!(chunk > 0, "chunk must be at least 1");
        self.chunk = Some(chunk);
        self
    }

    /// Stops reading the input: calls already sent finish and are still yielded.
    pub fn stop_reading(&mut self) {
        self.stopped = true;
    }

    fn batch_size(&self) -> usize {
        if self.pool.timeout.is_some() {
            return 1;
        }
        self.chunk.unwrap_or(self.batch)
    }

    fn limit(&self) -> usize {
        2 * self.pool.workers() * self.batch_size()
    }

    fn fill(&mut self) {
        while !self.input_done && !self.stopped && self.outstanding < self.limit() {
            let entry = match &self.entry {
                Ok(entry) => *entry,
                Err(err) => {
                    // Not a `#[parallel]` function: every item fails the same way.
                    match self.input.next() {
                        Some((index, _)) => {
                            let err = TaskError::refused(message_of(err)).with_index(index);
                            self.ready.push_back(Batch::single(index, Err(err)));
                        }
                        None => self.input_done = true,
                    }
                    continue;
                }
            };
            let Some((first, item)) = self.input.next() else {
                self.input_done = true;
                break;
            };
            let size = self.batch_size();
            // Room for as many bytes per call as the last batch had.
            let bytes = size
                .saturating_mul(self.bytes_per_call)
                .min(MAX_BATCH_BYTES);
            let mut batch = BatchBuilder::with_capacity(entry, first, size, bytes);
            let mut next = Some((first, item));
            while let Some((index, item)) = next.take() {
                if let Err(err) = batch.push(&item) {
                    let err = err.with_index(index).with_name(entry.name);
                    self.ready.push_back(Batch::single(index, Err(err)));
                    // Calls of a batch are consecutive: send what came before this one.
                    break;
                }
                if batch.len() < size && batch.args_len() < MAX_BATCH_BYTES {
                    next = self.input.next();
                    self.input_done = next.is_none();
                }
            }
            self.bytes_per_call = batch.args_len().div_ceil(batch.len().max(1));
            if batch.len() > 0 {
                self.outstanding += batch.len();
                self.pool
                    .submit(batch.finish(Arc::clone(&self.reply), &self.pool));
            }
        }
    }

    fn receive(&mut self) {
        let mut reply = None;
        if !self.long_calls {
            spin_until(|| {
                reply = self.replies.try_recv();
                reply.is_some()
            });
        }
        let reply = reply.unwrap_or_else(|| self.replies.recv());
        match reply {
            Reply::Done {
                first,
                count,
                nanos,
                results,
            } => {
                self.outstanding -= count as usize;
                self.ready.push_back(Batch { first, results });
                self.adapt(count, nanos);
            }
            Reply::Failed { index, error } => {
                self.outstanding -= 1;
                self.ready.push_back(Batch::single(index, Err(error)));
            }
        }
    }

    /// The next results received, a batch of consecutive calls at a time; `None` once every
    /// call has answered.
    pub(crate) fn next_batch(&mut self) -> Option<Batch<R>> {
        loop {
            if let Some(batch) = self.ready.pop_front() {
                return Some(batch);
            }
            self.fill();
            if !self.ready.is_empty() {
                continue;
            }
            if self.outstanding == 0 {
                return None;
            }
            self.receive();
        }
    }

    /// Sizes the next batches so that each takes about [`TARGET_BATCH_NANOS`] in a worker,
    /// while leaving work for every worker until the end of the input.
    fn adapt(&mut self, count: u32, nanos: u64) {
        if count == 0 {
            return;
        }
        let per_call = (nanos / u64::from(count)).max(1);
        self.long_calls = per_call >= LONG_CALL_NANOS;
        let ideal = usize::try_from(TARGET_BATCH_NANOS / per_call).unwrap_or(MAX_BATCH);
        let remaining = self.input.size_hint().0;
        let share = (remaining / (2 * self.pool.workers())).max(1);
        self.batch = ideal.min(share).clamp(1, MAX_BATCH);
    }
}

fn message_of(err: &TaskError) -> String {
    match err.kind() {
        crate::error::ErrorKind::Refused { message } => message.clone(),
        _ => err.to_string(),
    }
}

impl<I: Iterator<Item: Serialize>, R> Iterator for ProcessMapUnordered<I, R> {
    type Item = (usize, Result<R, TaskError>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(done) = self.current.next() {
                return Some(done);
            }
            self.current = self.next_batch()?.into_iter();
        }
    }
}

/// Runs of consecutive calls handed out in input order: a run comes out once every run before
/// it has. `pool.map` reorders its batches with it, and `par_map!` the values of its batches.
pub(crate) struct Runs<B> {
    /// The first call of the next run to hand out.
    next: usize,
    /// The runs received and not handed out, by first call, with their length.
    waiting: BTreeMap<usize, (usize, B)>,
}

impl<B> Default for Runs<B> {
    fn default() -> Self {
        Runs {
            next: 0,
            waiting: BTreeMap::new(),
        }
    }
}

impl<B> Runs<B> {
    /// Adds the run of calls `first..first + len`.
    pub(crate) fn insert(&mut self, first: usize, len: usize, run: B) {
        self.waiting.insert(first, (len, run));
    }

    /// The next run in input order, once it has come.
    pub(crate) fn pop(&mut self) -> Option<B> {
        let (len, run) = self.waiting.remove(&self.next)?;
        self.next += len;
        Some(run)
    }

    /// Whether every run received was handed out.
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

/// Results of a process map in input order; see [`ProcessPool::map`].
#[must_use = "iterators are lazy: nothing runs until the map is iterated"]
pub struct ProcessMap<I: Iterator, R> {
    unordered: ProcessMapUnordered<I, R>,
    /// The batch being yielded: the next calls in input order.
    current: BatchIter<R>,
    /// Batches received and not yet yielded.
    order: Runs<Batch<R>>,
}

impl<I: Iterator<Item: Serialize>, R> ProcessMap<I, R> {
    /// Sends exactly `chunk` calls per batch; see [`ProcessMapUnordered::chunk`].
    ///
    /// # Panics
    ///
    /// If `chunk` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn inc(n: u32) -> u32 {
    ///     n + 1
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(2).build().unwrap();
    /// let v: Vec<u32> = pool.map(inc, 0..4).chunk(2).map(Result::unwrap).collect();
    /// assert_eq!(v, [1, 2, 3, 4]);
    /// ```
    pub fn chunk(mut self, chunk: usize) -> Self {
        self.unordered = self.unordered.chunk(chunk);
        self
    }
}

impl<I: Iterator<Item: Serialize>, R> Iterator for ProcessMap<I, R> {
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((_, result)) = self.current.next() {
                return Some(result);
            }
            match self.order.pop() {
                Some(batch) => self.current = batch.into_iter(),
                None => {
                    let batch = self.unordered.next_batch()?;
                    self.order.insert(batch.first, batch.len(), batch);
                }
            }
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    /// A worker asked for a function it does not know answers with an error, and stays usable.
    #[test]
    fn a_worker_refuses_an_unknown_task() {
        let mut worker = Worker::start().expect("this test executable starts as a worker");
        let frame = RunFrame::new("no::such::task@nowhere:1:1", 0).finish(0);
        let mut buffer = Vec::new();
        match worker.exchange(&frame, None, true, &mut buffer) {
            Ok(Answer::Refused(message)) => {
                assert!(message.contains("no::such::task"), "{message}");
                assert!(message.contains("same executable"), "{message}");
            }
            Ok(Answer::Done { .. }) => panic!("the worker ran a task it does not know"),
            Err(_) => panic!("the worker died instead of answering"),
        }
        assert_eq!(worker.end(false), WorkerExit::Code(0));
    }
}
