//! [`as_completed`]: tasks' results as they finish, each with its position.

use std::collections::{HashMap, VecDeque};
use std::iter::{Enumerate, FusedIterator};
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use crate::config::available_cores;
use crate::error::TaskError;
use crate::map::Indexed;
use crate::progress::{Ticker, ticker_for};
use crate::task::Task;

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
        deadline: None,
        ticker: Ticker::default(),
    }
}

/// The iterator [`as_completed`] returns.
///
/// # Examples
///
/// ```
/// use parallel::{ThreadPool, as_completed};
///
/// let pool = ThreadPool::builder().workers(4).build().unwrap();
/// let tasks = (0..4u64).map(|i| pool.spawn(move || i * 10));
/// let mut done: Vec<(usize, u64)> = as_completed(tasks)
///     .map(|(index, result)| (index, result.unwrap()))
///     .collect();
/// done.sort();
/// assert_eq!(done, [(0, 0), (1, 10), (2, 20), (3, 30)]);
/// ```
#[must_use = "iterators are lazy: nothing is read until it is iterated"]
pub struct AsCompleted<I, T> {
    input: Enumerate<I>,
    input_done: bool,
    limit: usize,
    watching: HashMap<usize, (Task<T>, Waker)>,
    ready: VecDeque<Indexed<T>>,
    wakes_tx: Sender<usize>,
    wakes: Receiver<usize>,
    /// When the tasks still running come back as timed out, and the timeout they report.
    deadline: Option<(Instant, Duration)>,
    ticker: Ticker,
}

/// Wakes an [`AsCompleted`] with the index of the task that finished.
pub(crate) struct IndexWaker {
    pub(crate) index: usize,
    pub(crate) wakes: Sender<usize>,
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

    /// Waits for the tasks at most `timeout` from now: Python's `as_completed(fs, timeout=...)`.
    /// Tasks that finish in time are yielded as usual; once the time is up, each task read from
    /// the input and not finished comes back as [`TimedOut`](crate::ErrorKind::TimedOut), in
    /// input order, and is cancelled (a queued task never starts; one already running on a
    /// thread runs to its end, its result dropped; a process task's call is not stopped). The
    /// input is not read further: tasks it has not yet given are never asked for.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use parallel::{ThreadPool, as_completed};
    ///
    /// let pool = ThreadPool::builder().workers(2).build().unwrap();
    /// let (_never, wait) = std::sync::mpsc::channel::<()>();
    /// let stuck = pool.spawn(move || wait.recv_timeout(Duration::from_secs(5)).is_ok());
    /// let quick = pool.spawn(|| true);
    /// let results: Vec<_> = as_completed([stuck, quick])
    ///     .timeout(Duration::from_millis(50))
    ///     .collect();
    /// assert_eq!(results[0].0, 1); // the quick task, in time
    /// assert!(results[0].1.as_ref().unwrap());
    /// assert_eq!(results[1].0, 0); // the stuck one, timed out
    /// assert!(results[1].1.as_ref().unwrap_err().is_timeout());
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.deadline = Some((Instant::now() + timeout, timeout));
        self
    }

    /// Draws a progress bar on stderr, one step per task yielded, when `show` and stderr is a
    /// terminal (the macros' `progress` option); nothing otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ThreadPool, as_completed};
    ///
    /// let pool = ThreadPool::builder().workers(2).build().unwrap();
    /// let tasks: Vec<_> = (0..10).map(|i| pool.spawn(move || i)).collect();
    /// assert_eq!(as_completed(tasks).progress(true).count(), 10);
    /// ```
    pub fn progress(mut self, show: bool) -> Self
    where
        I: Iterator,
    {
        self.ticker = ticker_for(show, self.input.size_hint(), "as_completed");
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

    /// The time is up: every task being watched comes back as timed out (or with its result,
    /// if it finished at the last moment), and the input is not read further.
    fn expire(&mut self, timeout: Duration) {
        self.input_done = true;
        self.deadline = None;
        let mut late: Vec<usize> = self.watching.keys().copied().collect();
        late.sort_unstable();
        for index in late {
            let Some((task, waker)) = self.watching.remove(&index) else {
                continue;
            };
            let result = match task.poll_result(&waker) {
                Poll::Ready(result) => result,
                Poll::Pending => {
                    task.cancel();
                    let err = TaskError::timed_out(timeout);
                    Err(match task.name() {
                        Some(name) => err.with_name(name.to_owned()),
                        None => err,
                    })
                }
            };
            self.ready.push_back((index, with_index(result, index)));
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
            // Checked here too, not only when waiting: tasks that keep finishing at once would
            // otherwise read an endless input past the deadline.
            if let Some((deadline, timeout)) = self.deadline
                && Instant::now() >= deadline
            {
                self.expire(timeout);
            }
            self.fill();
            if let Some(done) = self.ready.pop_front() {
                self.ticker.tick();
                return Some(done);
            }
            if self.watching.is_empty() {
                return None;
            }
            let index = match self.deadline {
                None => self
                    .wakes
                    .recv()
                    .expect("the iterator holds a sender itself"),
                Some((deadline, timeout)) => match self.wakes.recv_deadline(deadline) {
                    Ok(index) => index,
                    Err(_) => {
                        self.expire(timeout);
                        continue;
                    }
                },
            };
            if let Some((task, waker)) = self.watching.remove(&index) {
                match task.poll_result(&waker) {
                    Poll::Ready(result) => {
                        self.ticker.tick();
                        return Some((index, with_index(result, index)));
                    }
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

#[cfg(test)]
mod test;
