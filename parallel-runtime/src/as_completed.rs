//! [`as_completed`]: tasks' results as they finish, each with its position.

use std::collections::{HashMap, VecDeque};
use std::iter::{Enumerate, FusedIterator};
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};

use crossbeam_channel::{Receiver, Sender};

use crate::config::available_cores;
use crate::error::TaskError;
use crate::map::Indexed;
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

#[cfg(test)]
mod test;
