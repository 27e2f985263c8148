//! [`Map`]: a map's results in input order.

use std::iter::FusedIterator;
use std::time::Duration;

use super::MapUnordered;
use crate::backend::Executor;
use crate::error::TaskError;
use crate::order::Reorder;
use crate::progress::{Ticker, ticker_for};

/// Results of a map in input order; see [`ThreadPool::map`](crate::ThreadPool::map).
///
/// Runs ahead of the caller by at most [`in_flight`](Map::in_flight) items, counting finished
/// results that wait for an earlier, slower item.
///
/// # Examples
///
/// ```
/// let pool = parallel::ThreadPool::builder().workers(4).build().unwrap();
/// let lengths: Vec<usize> = pool
///     .map(|word: &str| word.len(), ["a", "bb", "ccc"])
///     .map(Result::unwrap)
///     .collect();
/// assert_eq!(lengths, [1, 2, 3]);
/// ```
#[must_use = "iterators are lazy: nothing runs until the map is iterated"]
pub struct Map<I: Iterator, T> {
    unordered: MapUnordered<I, T>,
    order: Reorder<Result<T, TaskError>>,
    ticker: Ticker,
}

impl<I: Iterator, T> Map<I, T>
where
    I::Item: Send + 'static,
    T: Send + 'static,
{
    pub(crate) fn new<E, F>(executor: E, f: F, input: I) -> Self
    where
        E: Executor,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
    {
        Map {
            unordered: MapUnordered::new(executor, f, input),
            order: Reorder::default(),
            ticker: Ticker::default(),
        }
    }
}

impl<I: Iterator, T> Map<I, T> {
    /// How many items one job handles; see [`MapUnordered::chunk`].
    ///
    /// # Panics
    ///
    /// If `chunk` is zero, or the map has started.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::RayonPool;
    ///
    /// let v: Vec<u32> = RayonPool::global().map(|x: u32| x * 2, 0..4).chunk(2).map(Result::unwrap).collect();
    /// assert_eq!(v, [0, 2, 4, 6]);
    /// ```
    pub fn chunk(mut self, chunk: usize) -> Self {
        self.unordered = self.unordered.chunk(chunk);
        self
    }

    /// The most items queued, running or finished but not yet yielded; see
    /// [`MapUnordered::in_flight`].
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
    /// let pool = ThreadPool::builder().build().unwrap();
    /// let v: Vec<u32> = pool.map(|x: u32| x, 0..10).in_flight(3).map(Result::unwrap).collect();
    /// assert_eq!(v, (0..10).collect::<Vec<_>>());
    /// ```
    pub fn in_flight(mut self, limit: usize) -> Self {
        self.unordered = self.unordered.in_flight(limit);
        self
    }

    /// Waits for the whole map at most `timeout` from now; the items not finished by then
    /// come back as [`TimedOut`](crate::ErrorKind::TimedOut), in order. See
    /// [`MapUnordered::timeout`].
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
    /// let results: Vec<_> = pool
    ///     .map(|ms: u64| std::thread::sleep(Duration::from_millis(ms)), [1, 5_000])
    ///     .timeout(Duration::from_millis(200))
    ///     .collect();
    /// assert!(results[0].is_ok());
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
    /// let pool = parallel::ThreadPool::builder().workers(2).build().unwrap();
    /// let squares: Vec<u64> = pool
    ///     .map(|n: u64| n * n, 0..100)
    ///     .progress(true)
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(squares[99], 99 * 99);
    /// ```
    pub fn progress(mut self, show: bool) -> Self {
        self.ticker = ticker_for(show, self.unordered.input_size_hint(), "map");
        self
    }
}

impl<I: Iterator, T> Iterator for Map<I, T> {
    type Item = Result<T, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(result) = self.order.pop() {
                self.ticker.tick();
                return Some(result);
            }
            // Never `None` while the next index is missing: with results held, the limit is
            // reached only while an item before them (the next index) is still outstanding.
            let (index, result) = self.unordered.next_holding(self.order.held())?;
            self.order.push(index, result);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.unordered.size_hint();
        let extra = self.order.held();
        (
            low.saturating_add(extra),
            high.and_then(|h| h.checked_add(extra)),
        )
    }
}

impl<I: Iterator, T> FusedIterator for Map<I, T> {}
