//! Maps over pools and results as they complete: lazy over the input, bounded in flight.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::iter::{Enumerate, FusedIterator};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};

use crossbeam_channel::{Receiver, Sender};

use crate::backend::Executor;
use crate::config::available_cores;
use crate::error::TaskError;
use crate::task::{self, Task};

type Indexed<T> = (usize, Result<T, TaskError>);

/// Starts one batch of items on the executor, sending their results to the sender.
type SpawnBatch<X, T> = Box<dyn Fn(Vec<(usize, X)>, Sender<Indexed<T>>) + Send>;

/// Results of a map in the order they finish, as `(index, result)`; see
/// [`ThreadPool::map_unordered`](crate::ThreadPool::map_unordered).
///
/// Items are read from the input only as room frees up: at most
/// [`in_flight`](MapUnordered::in_flight) items are queued or running at once, so an endless input
/// streams with bounded memory. Dropping the iterator stops reading the input; items already
/// running finish and their results are dropped.
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
            (self.spawn)(batch, self.results_tx.clone());
        }
    }
}

impl<I: Iterator, T> MapUnordered<I, T> {
    /// The next result to finish, while the caller holds `held` earlier results: [`Map`] keeps
    /// results that wait for a slower, earlier item, and they count as in flight.
    fn next_holding(&mut self, held: usize) -> Option<Indexed<T>> {
        self.fill(held);
        if self.outstanding == 0 {
            return None;
        }
        // Every batch sends one result per item, even when dropped unrun, so this returns.
        let result = self.results.recv().expect("the map holds a sender itself");
        self.outstanding -= 1;
        Some(result)
    }
}

impl<I: Iterator, T> Iterator for MapUnordered<I, T> {
    type Item = Indexed<T>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_holding(0)
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

/// Results of a map in input order; see [`ThreadPool::map`](crate::ThreadPool::map).
///
/// Runs ahead of the caller by at most [`in_flight`](Map::in_flight) items, counting finished
/// results that wait for an earlier, slower item.
#[must_use = "iterators are lazy: nothing runs until the map is iterated"]
pub struct Map<I: Iterator, T> {
    unordered: MapUnordered<I, T>,
    order: Reorder<Result<T, TaskError>>,
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
}

impl<I: Iterator, T> Iterator for Map<I, T> {
    type Item = Result<T, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(result) = self.order.pop() {
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

/// Yields tasks' results as they finish, as `(index, result)`: Python's
/// `concurrent.futures.as_completed`. `index` is the task's position in `tasks`.
///
/// The input is read lazily, [`in_flight`](AsCompleted::in_flight) tasks at a time (256 by
/// default), so an endless iterator that spawns as it is read works with bounded memory.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use parallel::{ThreadPool, as_completed};
///
/// let pool = ThreadPool::builder().workers(2).build().unwrap();
/// let (go, wait) = std::sync::mpsc::channel::<()>();
/// let slow = pool.spawn(move || { wait.recv().unwrap(); "slow" });
/// let fast = pool.spawn(|| "fast");
/// let mut done = as_completed([slow, fast]);
/// assert_eq!(done.next().unwrap().0, 1); // the fast task, though it was second
/// go.send(()).unwrap();
/// assert_eq!(done.next().unwrap().1.unwrap(), "slow");
/// assert!(done.next().is_none());
/// ```
pub fn as_completed<I, T>(tasks: I) -> AsCompleted<I::IntoIter, T>
where
    I: IntoIterator<Item = Task<T>>,
{
    let (wakes_tx, wakes) = crossbeam_channel::unbounded();
    AsCompleted {
        input: tasks.into_iter().enumerate(),
        input_done: false,
        limit: 256.max(2 * available_cores()),
        watching: HashMap::new(),
        ready: VecDeque::new(),
        wakes_tx,
        wakes,
    }
}

/// The iterator [`as_completed`] returns.
#[must_use = "iterators are lazy: nothing is read until it is iterated"]
pub struct AsCompleted<I, T> {
    input: Enumerate<I>,
    input_done: bool,
    limit: usize,
    watching: HashMap<usize, (Task<T>, Waker)>,
    ready: VecDeque<Indexed<T>>,
    wakes_tx: Sender<usize>,
    wakes: Receiver<usize>,
}

/// Wakes an [`AsCompleted`] with the index of the task that finished.
struct IndexWaker {
    index: usize,
    wakes: Sender<usize>,
}

impl Wake for IndexWaker {
    fn wake(self: Arc<Self>) {
        let _ = self.wakes.send(self.index);
    }
}

impl<I, T> AsCompleted<I, T> {
    /// The most unfinished tasks read from the input at once.
    ///
    /// # Panics
    ///
    /// If `limit` is zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ThreadPool, as_completed};
    ///
    /// let pool = ThreadPool::builder().workers(2).build().unwrap();
    /// let endless = (0u64..).map(|i| pool.spawn(move || i * i));
    /// let squares: Vec<u64> = as_completed(endless)
    ///     .in_flight(4)
    ///     .take(10)
    ///     .map(|(_, r)| r.unwrap())
    ///     .collect();
    /// assert_eq!(squares.len(), 10);
    /// ```
    pub fn in_flight(mut self, limit: usize) -> Self {
        assert!(limit > 0, "in_flight must be at least 1");
        self.limit = limit;
        self
    }
}

impl<I: Iterator<Item = Task<T>>, T> AsCompleted<I, T> {
    fn watch(&mut self, index: usize, task: Task<T>) {
        let waker = Waker::from(Arc::new(IndexWaker {
            index,
            wakes: self.wakes_tx.clone(),
        }));
        match task.poll_result(&waker) {
            Poll::Ready(result) => self.ready.push_back((index, with_index(result, index))),
            Poll::Pending => {
                self.watching.insert(index, (task, waker));
            }
        }
    }

    fn fill(&mut self) {
        while !self.input_done && self.watching.len() + self.ready.len() < self.limit {
            match self.input.next() {
                Some((index, task)) => self.watch(index, task),
                None => self.input_done = true,
            }
        }
    }
}

impl<I: Iterator<Item = Task<T>>, T> Iterator for AsCompleted<I, T> {
    type Item = Indexed<T>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.fill();
            if let Some(done) = self.ready.pop_front() {
                return Some(done);
            }
            if self.watching.is_empty() {
                return None;
            }
            let index = self
                .wakes
                .recv()
                .expect("the iterator holds a sender itself");
            if let Some((task, waker)) = self.watching.remove(&index) {
                match task.poll_result(&waker) {
                    Poll::Ready(result) => return Some((index, with_index(result, index))),
                    Poll::Pending => {
                        self.watching.insert(index, (task, waker));
                    }
                }
            }
        }
    }
}

impl<I: Iterator<Item = Task<T>>, T> FusedIterator for AsCompleted<I, T> {}

/// Gives a task's error its position in the input of [`as_completed`].
fn with_index<T>(result: Result<T, TaskError>, index: usize) -> Result<T, TaskError> {
    result.map_err(|err| match err.index() {
        Some(_) => err,
        None => err.with_index(index),
    })
}

/// Puts results that finish out of order back in input order: a window that starts at the next
/// index to yield (results arrive close to their order, so the window stays short).
pub(crate) struct Reorder<T> {
    next: usize,
    window: VecDeque<Option<T>>,
    held: usize,
}

impl<T> Default for Reorder<T> {
    fn default() -> Self {
        Reorder {
            next: 0,
            window: VecDeque::new(),
            held: 0,
        }
    }
}

impl<T> Reorder<T> {
    pub(crate) fn push(&mut self, index: usize, value: T) {
        let offset = index - self.next;
        if offset >= self.window.len() {
            self.window.resize_with(offset + 1, || None);
        }
        self.window[offset] = Some(value);
        self.held += 1;
    }

    /// How many values wait for an earlier one.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// The next value in order, if it has arrived.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let value = self.window.front_mut()?.take()?;
        self.window.pop_front();
        self.next += 1;
        self.held -= 1;
        Some(value)
    }
}

#[cfg(test)]
mod test;
