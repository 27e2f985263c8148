//! [`ProcessMap`]: a process map's results in input order.

use std::time::Duration;

use serde::Serialize;

use super::ProcessMapUnordered;
use crate::backend::process::results::{ResultRun, ResultRunIter};
use crate::error::TaskError;
use crate::order::Runs;
use crate::progress::{Ticker, ticker_for};

/// Results of a process map in input order; see [`ProcessPool::map`](crate::ProcessPool::map).
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
/// let squares: Vec<u64> = pool.map(square, 0..5).map(Result::unwrap).collect();
/// assert_eq!(squares, [0, 1, 4, 9, 16]);
/// ```
#[must_use = "iterators are lazy: nothing runs until the map is iterated"]
pub struct ProcessMap<I: Iterator, R> {
    unordered: ProcessMapUnordered<I, R>,
    /// The batch being yielded: the next calls in input order.
    current: ResultRunIter<R>,
    /// Batches received and not yet yielded.
    order: Runs<ResultRun<R>>,
    ticker: Ticker,
}

impl<I: Iterator, R> ProcessMap<I, R> {
    /// `unordered`'s results, put back in input order.
    pub(super) fn new(unordered: ProcessMapUnordered<I, R>) -> Self {
        ProcessMap {
            unordered,
            current: ResultRunIter::default(),
            order: Runs::default(),
            ticker: Ticker::default(),
        }
    }
}

impl<I: Iterator<Item: Serialize + 'static>, R> ProcessMap<I, R> {
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

    /// Waits for the whole map at most `timeout` from now: Python's
    /// `executor.map(f, xs, timeout=...)`. Once it passes, every call not answered yet comes
    /// back as [`TimedOut`](crate::ErrorKind::TimedOut), in order, and the input is not read
    /// further; see [`ProcessMapUnordered::timeout`].
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
    /// let results: Vec<_> = pool.map(nap, [1, 60_000]).timeout(Duration::from_millis(500)).collect();
    /// assert_eq!(results[0].as_ref().unwrap(), &1);
    /// assert!(results[1].as_ref().unwrap_err().is_timeout());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.unordered = self.unordered.timeout(timeout);
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
    /// let squares: Vec<u64> = pool.map(square, 0..100).progress(true).map(Result::unwrap).collect();
    /// assert_eq!(squares[99], 99 * 99);
    /// ```
    pub fn progress(mut self, show: bool) -> Self {
        self.ticker = ticker_for(show, self.unordered.input_size_hint(), "pool.map");
        self
    }
}

impl<I: Iterator<Item: Serialize + 'static>, R> Iterator for ProcessMap<I, R> {
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((_, result)) = self.current.next() {
                self.ticker.tick();
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
