//! [`ProcessMapUnordered`]: a process map's engine. It reads the input lazily, gathers calls
//! into batches sized from how long the last ones took, keeps a bounded number of calls in
//! flight, and yields each batch's results as they come back.

use std::collections::{BTreeMap, VecDeque};
use std::iter::Enumerate;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::process::driver::{LONG_CALL_NANOS, PIPELINE_DEPTH};
use crate::backend::process::pool::ProcessPool;
use crate::backend::process::protocol::ValueCodec;
use crate::backend::process::registry::Entry;
use crate::backend::process::reply::{ChannelReply, Reply, ReplyTo};
use crate::backend::process::request::RequestBuilder;
use crate::backend::process::results::{ResultRun, ResultRunIter};
use crate::error::TaskError;
use crate::progress::{Ticker, ticker_for};
use crate::wait::mailbox::Mailbox;
use crate::wait::spin::spin_until;

/// The compute time a batch of small calls aims for: long enough to hide a round trip.
const TARGET_BATCH_NANOS: u64 = 2_000_000;
/// The fewest calls in flight per worker: the requests a driver keeps with its worker (the one
/// it runs and those queued behind it), and as many again at hand. Measured on 1,000 calls of
/// one each on two workers: 1.22 µs a call, against 4.3 with two per worker, and 2.0–2.5 with
/// 6 or 12.
const MIN_CALLS_PER_WORKER: usize = 2 * PIPELINE_DEPTH;
/// The most calls in one batch.
const MAX_BATCH: usize = 1 << 16;
/// A batch closes once its arguments reach this size: large arguments go one or a few at a
/// time, so that workers share them and memory in flight stays bounded.
const MAX_BATCH_BYTES: usize = 1 << 20;

/// Results of a process map as they finish, as `(index, result)`; see
/// [`ProcessPool::map_unordered`].
///
/// Small calls are batched automatically, joblib-style: the first batches hold one call, later
/// ones as many as take about 2 ms in the worker. At most about two batches per worker are in
/// flight, so the input streams with bounded memory.
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
/// let mut squares: Vec<u64> = pool
///     .map_unordered(square, 0..100)
///     .map(|(_, result)| result.unwrap())
///     .collect();
/// squares.sort();
/// assert_eq!(squares[99], 99 * 99);
/// ```
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
    ready: VecDeque<ResultRun<R>>,
    current: ResultRunIter<R>,
    /// Where every job of this map replies: one for all of them.
    reply: Arc<dyn ReplyTo>,
    replies: Arc<Mailbox<Reply<R>>>,
    ticker: Ticker,
    /// When the calls not answered yet come back as timed out, and the timeout they report.
    deadline: Option<(Instant, Duration)>,
    /// The calls sent and not answered, as ranges of indices (`start → end`): kept only with a
    /// deadline, to answer them when it passes.
    unanswered: BTreeMap<usize, usize>,
}

impl<I: Iterator, R: DeserializeOwned + Send + 'static> ProcessMapUnordered<I, R> {
    /// The map of `entry`'s function over `input` on `pool`, each item its encoded arguments.
    pub(super) fn new(
        pool: ProcessPool,
        entry: Result<&'static Entry, TaskError>,
        input: I,
    ) -> Self {
        let replies = Arc::new(Mailbox::new());
        let reply = Arc::new(ChannelReply::<R> {
            replies: Arc::clone(&replies),
            name: entry.as_ref().map_or("", |entry| entry.name),
            decode: entry
                .as_ref()
                .map_or(ValueCodec::WHOLE, |entry| (entry.value)())
                .decode,
        });
        ProcessMapUnordered {
            pool,
            entry,
            input: input.enumerate(),
            input_done: false,
            stopped: false,
            batch: 1,
            bytes_per_call: 0,
            long_calls: false,
            chunk: None,
            outstanding: 0,
            ready: VecDeque::new(),
            current: ResultRunIter::default(),
            reply,
            replies,
            ticker: Ticker::default(),
            deadline: None,
            unanswered: BTreeMap::new(),
        }
    }
}

impl<I: Iterator, R> ProcessMapUnordered<I, R> {
    /// Bounds on the number of items the input has left, for a progress bar.
    pub(super) fn input_size_hint(&self) -> (usize, Option<usize>) {
        self.input.size_hint()
    }
}

impl<I: Iterator<Item: Serialize + 'static>, R> ProcessMapUnordered<I, R> {
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

    /// Waits for the whole map at most `timeout` from now: Python's
    /// `executor.map(f, xs, timeout=...)`. Once it passes, every call not answered yet comes
    /// back as [`TimedOut`](crate::ErrorKind::TimedOut) at its index, and the input is not read
    /// further. Those calls are not stopped (use the pool's own per-call `timeout` for that):
    /// their results are dropped. Waiting always stops, on every backend.
    ///
    /// # Panics
    ///
    /// If the map has started.
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
    /// let pool = ProcessPool::builder().workers(2).build().unwrap();
    /// let results: Vec<_> = pool
    ///     .map_unordered(nap, [1, 60_000])
    ///     .timeout(Duration::from_millis(500))
    ///     .collect();
    /// let late = results.iter().find(|(i, _)| *i == 1).unwrap();
    /// assert!(late.1.as_ref().unwrap_err().is_timeout());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        assert!(
            self.outstanding == 0 && !self.input_done,
            "timeout is set before the map starts"
        );
        self.deadline = Some((Instant::now() + timeout, timeout));
        self
    }

    /// Draws a progress bar on stderr, one step per result yielded, when `show` and stderr is
    /// a terminal (the macros' `progress` option); nothing otherwise.
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
    /// assert_eq!(pool.map_unordered(square, 0..100).progress(true).count(), 100);
    /// ```
    pub fn progress(mut self, show: bool) -> Self {
        self.ticker = ticker_for(show, self.input.size_hint(), "pool.map_unordered");
        self
    }

    /// Stops reading the input: calls already sent finish and are still yielded.
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
    /// // An endless input: stop once a large enough square turns up.
    /// let mut squares = pool.map_unordered(square, 0..);
    /// let mut seen = 0;
    /// while let Some((_, result)) = squares.next() {
    ///     seen += 1;
    ///     if result.unwrap() > 10_000 {
    ///         squares.stop_reading();
    ///     }
    /// }
    /// assert!(seen > 100);
    /// ```
    pub fn stop_reading(&mut self) {
        self.stopped = true;
    }

    fn batch_size(&self) -> usize {
        if self.pool.timeout.is_some() {
            return 1;
        }
        self.chunk.unwrap_or(self.batch)
    }

    /// The most calls in flight: two batches per worker, so that each has the next one at
    /// hand; for batches of a few calls, enough that no worker waits for this thread to send
    /// more.
    fn limit(&self) -> usize {
        let per_worker = (2 * self.batch_size()).max(MIN_CALLS_PER_WORKER);
        self.pool.workers() * per_worker
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
                            self.ready.push_back(ResultRun::single(index, Err(err)));
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
            let mut batch = RequestBuilder::with_capacity(entry, first, size, bytes)
                .with_parts(self.pool.sends_parts());
            let mut next = Some((first, item));
            while let Some((index, item)) = next.take() {
                if let Err(err) = batch.push_owned(item) {
                    let err = err.with_index(index).with_name(entry.name);
                    self.ready.push_back(ResultRun::single(index, Err(err)));
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
                if self.deadline.is_some() {
                    self.unanswered.insert(first, first + batch.len());
                }
                self.pool.submit(batch.finish(
                    Arc::clone(&self.reply),
                    self.pool.timeout,
                    self.pool.retries,
                ));
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
        let reply = match (reply, self.deadline) {
            (Some(reply), _) => reply,
            (None, None) => self.replies.recv(),
            (None, Some((deadline, timeout))) => match self.replies.recv_deadline(deadline) {
                Some(reply) => reply,
                None => return self.expire(timeout),
            },
        };
        match reply {
            Reply::Done {
                first,
                count,
                nanos,
                results,
            } => {
                self.outstanding -= count;
                self.answered(first..first + count);
                self.ready.push_back(ResultRun { first, results });
                self.adapt(count, nanos);
            }
            Reply::Failed { index, error } => {
                self.outstanding -= 1;
                self.answered(index..index + 1);
                self.ready.push_back(ResultRun::single(index, Err(error)));
            }
        }
    }

    /// Calls `calls` are answered: no longer due when the deadline passes.
    fn answered(&mut self, calls: std::ops::Range<usize>) {
        if self.deadline.is_none() {
            return;
        }
        // The range that holds them: usually exactly one sent batch.
        let Some((&start, &end)) = self.unanswered.range(..=calls.start).next_back() else {
            return;
        };
        if end < calls.end {
            return;
        }
        self.unanswered.remove(&start);
        if start < calls.start {
            self.unanswered.insert(start, calls.start);
        }
        if calls.end < end {
            self.unanswered.insert(calls.end, end);
        }
    }

    /// The deadline passed: every call not answered comes back as timed out, at its index, and
    /// the input is not read further. Their requests still run in the pool; their results are
    /// dropped.
    fn expire(&mut self, timeout: Duration) {
        self.deadline = None;
        self.input_done = true;
        self.outstanding = 0;
        let name = self.entry.as_ref().map_or("", |entry| entry.name);
        for (start, end) in std::mem::take(&mut self.unanswered) {
            for index in start..end {
                let err = TaskError::timed_out(timeout).with_index(index);
                let err = if name.is_empty() {
                    err
                } else {
                    err.with_name(name)
                };
                self.ready.push_back(ResultRun::single(index, Err(err)));
            }
        }
    }

    /// The next results received, a batch of consecutive calls at a time; `None` once every
    /// call has answered.
    pub(crate) fn next_batch(&mut self) -> Option<ResultRun<R>> {
        loop {
            if let Some(batch) = self.ready.pop_front() {
                return Some(batch);
            }
            // Checked here too, not only while waiting: calls that keep answering at once
            // would otherwise read an endless input past the deadline.
            if let Some((deadline, timeout)) = self.deadline
                && Instant::now() >= deadline
            {
                self.expire(timeout);
                continue;
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
    fn adapt(&mut self, count: usize, nanos: u64) {
        if count == 0 {
            return;
        }
        let per_call = (nanos / count as u64).max(1);
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

impl<I: Iterator<Item: Serialize + 'static>, R> Iterator for ProcessMapUnordered<I, R> {
    type Item = (usize, Result<R, TaskError>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(done) = self.current.next() {
                self.ticker.tick();
                return Some(done);
            }
            self.current = self.next_batch()?.into_iter();
        }
    }
}
