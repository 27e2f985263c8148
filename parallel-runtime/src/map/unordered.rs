//! [`MapUnordered`]: reads the input as room frees up, runs it in batches on an executor, and
//! yields results as they finish.

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::iter::{Enumerate, FusedIterator};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::Indexed;
use crate::backend::Executor;
use crate::error::TaskError;
use crate::progress::{Ticker, ticker_for};
use crate::task;

/// Starts one batch of items on the executor, sending their results to the sender.
type SpawnBatch<X, T> = Box<dyn Fn(Vec<(usize, X)>, Sender<Indexed<T>>) + Send>;

/// Results of a map in the order they finish, as `(index, result)`; see
/// [`ThreadPool::map_unordered`](crate::ThreadPool::map_unordered).
///
/// Items are read from the input only as room frees up: at most
/// [`in_flight`](MapUnordered::in_flight) items are queued or running at once, so an endless input
/// streams with bounded memory. Dropping the iterator stops reading the input; items already
/// running finish and their results are dropped.
///
/// # Examples
///
/// ```
/// let pool = parallel::ThreadPool::builder().workers(4).build().unwrap();
/// let mut lengths: Vec<usize> = pool
///     .map_unordered(|word: &str| word.len(), ["a", "bb", "ccc"])
///     .map(|(_, result)| result.unwrap())
///     .collect();
/// lengths.sort();
/// assert_eq!(lengths, [1, 2, 3]);
/// ```
#[must_use = "iterators are lazy: nothing runs until the map is iterated"]
pub struct MapUnordered<I: Iterator, T> {
    input: Enumerate<I>,
    input_done: bool,
    spawn: SpawnBatch<I::Item, T>,
    chunk: usize,
    workers: usize,
    /// The limit set with `in_flight`; without one, it follows the workers and the chunk.
    in_flight: Option<usize>,
    outstanding: usize,
    results_tx: Sender<Indexed<T>>,
    results: Receiver<Indexed<T>>,
    ticker: Ticker,
    /// The function's name, for the errors of items that time out.
    name: Option<Cow<'static, str>>,
    /// When the items not finished yet come back as timed out, and the timeout they report.
    deadline: Option<(Instant, Duration)>,
    /// The items started and not finished: kept only with a deadline.
    unfinished: Option<HashSet<usize>>,
    /// Items that timed out, to yield before anything else.
    expired: VecDeque<Indexed<T>>,
}

impl<I: Iterator, T> MapUnordered<I, T>
where
    I::Item: Send + 'static,
    T: Send + 'static,
{
    pub(crate) fn new<E, F>(executor: E, f: F, input: I) -> Self
    where
        E: Executor,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
    {
        let workers = executor.workers();
        let name = task::name_of::<F>();
        let map_name = name.clone();
        let f = Arc::new(f);
        let spawn = move |items: Vec<(usize, I::Item)>, results: Sender<Indexed<T>>| {
            let batch = Batch {
                items: items.into(),
                f: Arc::clone(&f),
                name: name.clone(),
                results,
            };
            executor.execute(Box::new(move || batch.run()));
        };
        let (results_tx, results) = crossbeam_channel::unbounded();
        MapUnordered {
            input: input.enumerate(),
            input_done: false,
            spawn: Box::new(spawn),
            chunk: 1,
            workers,
            in_flight: None,
            outstanding: 0,
            results_tx,
            results,
            ticker: Ticker::default(),
            name: map_name,
            deadline: None,
            unfinished: None,
            expired: VecDeque::new(),
        }
    }
}

impl<I: Iterator, T> MapUnordered<I, T> {
    /// How many items one job handles (1 by default). Larger chunks cost less per item for
    /// small tasks.
    ///
    /// # Panics
    ///
    /// If `chunk` is zero, or the map has started.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::ThreadPool;
    ///
    /// let pool = ThreadPool::builder().workers(2).build().unwrap();
    /// let count = pool.map_unordered(|x: u32| x + 1, 0..1000).chunk(100).count();
    /// assert_eq!(count, 1000);
    /// ```
    pub fn chunk(mut self, chunk: usize) -> Self {
        assert!(chunk > 0, "chunk must be at least 1");
        assert!(self.outstanding == 0, "chunk is set before the map starts");
        self.chunk = chunk;
        self
    }

    /// The most items queued or running at once (2 × workers × chunk by default, whatever the
    /// order of the calls to `chunk` and `in_flight`).
    ///
    /// # Panics
    ///
    /// If `limit` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::ThreadPool;
    ///
    /// let pool = ThreadPool::builder().workers(4).build().unwrap();
    /// let total: u64 = pool
    ///     .map_unordered(|x: u64| x, 0..100)
    ///     .in_flight(8)
    ///     .map(|(_, r)| r.unwrap())
    ///     .sum();
    /// assert_eq!(total, 4950);
    /// ```
    pub fn in_flight(mut self, limit: usize) -> Self {
        assert!(limit > 0, "in_flight must be at least 1");
        self.in_flight = Some(limit);
        self
    }

    /// Waits for the whole map at most `timeout` from now: Python's
    /// `executor.map(f, xs, timeout=...)`. Once it passes, every item not finished comes back
    /// as [`TimedOut`](crate::ErrorKind::TimedOut) at its index, and the input is not read
    /// further. Items already running go on (a thread cannot be stopped); their results are
    /// dropped. Waiting always stops.
    ///
    /// # Panics
    ///
    /// If the map has started.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = parallel::ThreadPool::builder().workers(2).build().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let rx = std::sync::Mutex::new(rx);
    /// let results: Vec<_> = pool
    ///     .map_unordered(
    ///         move |stuck: bool| stuck && rx.lock().unwrap().recv().is_ok(),
    ///         [false, true],
    ///     )
    ///     .timeout(Duration::from_millis(100))
    ///     .collect();
    /// let late = results.iter().find(|(i, _)| *i == 1).unwrap();
    /// assert!(late.1.as_ref().unwrap_err().is_timeout());
    /// drop(tx);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        assert!(
            self.outstanding == 0,
            "timeout is set before the map starts"
        );
        self.deadline = Some((Instant::now() + timeout, timeout));
        self.unfinished = Some(HashSet::new());
        self
    }

    /// Draws a progress bar on stderr, one step per result yielded, when `show` and stderr is
    /// a terminal (the macros' `progress` option); nothing otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = parallel::ThreadPool::builder().workers(2).build().unwrap();
    /// let done = pool.map_unordered(|n: u64| n * n, 0..100).progress(true).count();
    /// assert_eq!(done, 100);
    /// ```
    pub fn progress(mut self, show: bool) -> Self {
        self.ticker = ticker_for(show, self.input.size_hint(), "map");
        self
    }

    fn limit(&self) -> usize {
        self.in_flight
            .unwrap_or_else(|| self.workers.saturating_mul(2).saturating_mul(self.chunk))
    }

    /// Reads items and starts them while fewer than the limit are in flight, counting `held`
    /// results that finished but that the caller has not received yet.
    fn fill(&mut self, held: usize) {
        let limit = self.limit();
        while !self.input_done && self.outstanding + held < limit {
            let room = self.chunk.min(limit - self.outstanding - held);
            let batch: Vec<_> = self.input.by_ref().take(room).collect();
            if batch.len() < room {
                self.input_done = true;
            }
            if batch.is_empty() {
                return;
            }
            self.outstanding += batch.len();
            if let Some(unfinished) = &mut self.unfinished {
                unfinished.extend(batch.iter().map(|(index, _)| *index));
            }
            (self.spawn)(batch, self.results_tx.clone());
        }
    }
}

impl<I: Iterator, T> MapUnordered<I, T> {
    /// Bounds on the number of items the input has left, for a progress bar.
    pub(super) fn input_size_hint(&self) -> (usize, Option<usize>) {
        self.input.size_hint()
    }

    /// The next result to finish, while the caller holds `held` earlier results: [`Map`](super::ordered::Map) keeps
    /// results that wait for a slower, earlier item, and they count as in flight.
    pub(super) fn next_holding(&mut self, held: usize) -> Option<Indexed<T>> {
        if let Some(expired) = self.expired.pop_front() {
            return Some(expired);
        }
        // Checked here too, not only while waiting: items that keep finishing at once would
        // otherwise read an endless input past the deadline.
        if let Some((deadline, timeout)) = self.deadline
            && Instant::now() >= deadline
        {
            self.expire(timeout);
            return self.expired.pop_front();
        }
        self.fill(held);
        if self.outstanding == 0 {
            return None;
        }
        // Every batch sends one result per item, even when dropped unrun, so this returns.
        let result = match self.deadline {
            None => self.results.recv().expect("the map holds a sender itself"),
            Some((deadline, timeout)) => match self.results.recv_deadline(deadline) {
                Ok(result) => result,
                Err(_) => {
                    self.expire(timeout);
                    return self.expired.pop_front();
                }
            },
        };
        self.outstanding -= 1;
        if let Some(unfinished) = &mut self.unfinished {
            unfinished.remove(&result.0);
        }
        Some(result)
    }

    /// The deadline passed: every item not finished comes back as timed out, at its index, and
    /// the input is not read further. Items already running are not stopped (a thread cannot
    /// be); their results are dropped.
    fn expire(&mut self, timeout: Duration) {
        self.deadline = None;
        self.input_done = true;
        self.outstanding = 0;
        let mut late: Vec<usize> = self
            .unfinished
            .take()
            .unwrap_or_default()
            .into_iter()
            .collect();
        late.sort_unstable();
        for index in late {
            let err = TaskError::timed_out(timeout).with_index(index);
            let err = match &self.name {
                Some(name) => err.with_name(name.clone()),
                None => err,
            };
            self.expired.push_back((index, Err(err)));
        }
    }
}

impl<I: Iterator, T> Iterator for MapUnordered<I, T> {
    type Item = Indexed<T>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.next_holding(0);
        if next.is_some() {
            self.ticker.tick();
        }
        next
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.input.size_hint();
        let low = low.saturating_add(self.outstanding);
        (low, high.and_then(|h| h.checked_add(self.outstanding)))
    }
}

impl<I: Iterator, T> FusedIterator for MapUnordered<I, T> {}

/// Items of one job, with the function and where their results go.
struct Batch<X, T, F> {
    items: VecDeque<(usize, X)>,
    f: Arc<F>,
    name: Option<Cow<'static, str>>,
    results: Sender<Indexed<T>>,
}

impl<X, T, F: Fn(X) -> T> Batch<X, T, F> {
    fn run(mut self) {
        while let Some((index, item)) = self.items.pop_front() {
            let f = &*self.f;
            let result = catch_unwind(AssertUnwindSafe(|| f(item)))
                .map_err(|payload| self.error(TaskError::panicked(payload), index));
            if self.results.send((index, result)).is_err() {
                // The map was dropped: nobody wants the rest.
                self.items.clear();
            }
        }
    }
}

impl<X, T, F> Batch<X, T, F> {
    fn error(&self, err: TaskError, index: usize) -> TaskError {
        let err = err.with_index(index);
        match &self.name {
            Some(name) => err.with_name(name.clone()),
            None => err,
        }
    }
}

impl<X, T, F> Drop for Batch<X, T, F> {
    /// A batch dropped before it ran (its pool is gone) reports its items as cancelled, so that
    /// the map never waits for them.
    fn drop(&mut self) {
        while let Some((index, _)) = self.items.pop_front() {
            let err = self.error(TaskError::cancelled(), index);
            let _ = self.results.send((index, Err(err)));
        }
    }
}
