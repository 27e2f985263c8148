//! [`Task`]: the handle to one spawned task, and the other half the backend completes it with.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::TaskError;

/// A handle to a task that runs in the background, like a `concurrent.futures.Future` or the
/// result of `apply_async`.
///
/// Get the value with [`join`](Task::join) (blocking), [`join_timeout`](Task::join_timeout), or by
/// `.await`ing the task: `Task<T>` is a [`Future`] whose output is `Result<T, TaskError>`, so async
/// code can wait for parallel work without blocking its executor. Dropping a `Task` detaches it:
/// the work still runs, and its result is dropped.
///
/// # Examples
///
/// ```
/// use parallel::ThreadPool;
///
/// let pool = ThreadPool::builder().workers(2).build().unwrap();
/// let task = pool.spawn(|| 6 * 7);
/// assert_eq!(task.join().unwrap(), 42);
/// ```
#[must_use = "a task's result is lost unless it is joined or awaited"]
pub struct Task<T> {
    shared: Arc<Shared<T>>,
    /// Who drives the task's work when no thread of the backend does: set when the caller's
    /// thread sent it (`ProcessPool::spawn` to a free worker).
    attendant: Option<Arc<dyn Attendant>>,
}

/// The part a caller's thread plays in finishing a task it sent itself.
///
/// `join` drives the work on the caller's thread ([`attend`](Attendant::attend)); every other
/// way of waiting for the task, and dropping it, gives that charge to the backend's own threads
/// ([`hand_off`](Attendant::hand_off)), so that the task finishes whatever its owner does.
pub(crate) trait Attendant: Send + Sync {
    /// Drives the work on this thread until `finished`, unless another thread drives it (or
    /// was handed it): then returns at once.
    fn attend(&self, finished: &dyn Fn() -> bool);
    /// Hands the work to the backend's threads; only the first call does anything.
    fn hand_off(&self);
}

/// The backend's half of a task: runs the work and stores the result.
pub(crate) struct Completer<T> {
    shared: Option<Arc<Shared<T>>>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    finished: Condvar,
    /// Whether the state left `Pending`: polled without the lock.
    done: AtomicBool,
    /// Threads asleep on `finished`: finishing makes the wake-up call only for them.
    sleepers: AtomicUsize,
    /// [`NOT_STARTED`], [`STARTED`] or [`CANCELLED`]: one compare-and-swap decides whether the
    /// work starts or the task is cancelled first.
    start: AtomicU8,
    name: Option<Cow<'static, str>>,
}

const NOT_STARTED: u8 = 0;
const STARTED: u8 = 1;
const CANCELLED: u8 = 2;

enum State<T> {
    Pending(Option<Waker>),
    Done(Result<T, TaskError>),
    Taken,
}

/// A new task and the completer that finishes it.
pub(crate) fn pair<T>(name: Option<Cow<'static, str>>) -> (Task<T>, Completer<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::Pending(None)),
        finished: Condvar::new(),
        done: AtomicBool::new(false),
        sleepers: AtomicUsize::new(0),
        start: AtomicU8::new(NOT_STARTED),
        name,
    });
    (
        Task {
            shared: Arc::clone(&shared),
            attendant: None,
        },
        Completer {
            shared: Some(shared),
        },
    )
}

/// The name to report for a task running `F`: a function's name as written, nothing for a
/// closure.
pub(crate) fn name_of<F>() -> Option<Cow<'static, str>> {
    let path = std::any::type_name::<F>();
    // A generic function's name ends in its arguments, `jobs::first<alloc::string::String>`.
    let without_generics = path.split('<').next().unwrap_or(path);
    let name = without_generics.rsplit("::").next().unwrap_or(path);
    // A closure's type name holds `{{closure}}`; a function pointer's or a `dyn Fn`'s holds its
    // signature, `fn(u32) -> u32`, which says nothing about which function runs.
    (!without_generics.contains(['{', '('])).then_some(Cow::Borrowed(name))
}

impl<T> Shared<T> {
    fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // The lock is never held while user code runs, so poisoning cannot leave a broken state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps until the task may have finished; the lock is held again on return.
    fn sleep<'a>(&self, state: MutexGuard<'a, State<T>>) -> MutexGuard<'a, State<T>> {
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let state = self.finished.wait(state).unwrap_or_else(|e| e.into_inner());
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        state
    }

    /// [`sleep`](Shared::sleep), for at most `timeout`.
    fn sleep_at_most<'a>(
        &self,
        state: MutexGuard<'a, State<T>>,
        timeout: Duration,
    ) -> MutexGuard<'a, State<T>> {
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        let state = self
            .finished
            .wait_timeout(state, timeout)
            .unwrap_or_else(|e| e.into_inner())
            .0;
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
        state
    }

    /// Stores `result` and wakes whoever waits, unless the task is finished already: a task is
    /// finished once, with its first result.
    fn finish(&self, result: Result<T, TaskError>) {
        let result = result.map_err(|e| self.with_name(e));
        let waker = {
            let mut state = self.lock();
            match &mut *state {
                State::Pending(waker) => {
                    let waker = waker.take();
                    *state = State::Done(result);
                    self.done.store(true, Ordering::Release);
                    waker
                }
                _ => return,
            }
        };
        // A sleeper counted itself under the lock before it slept, and the lock was taken here
        // after that: it is seen. The call is skipped for the usual joiner, which polls.
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            self.finished.notify_all();
        }
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    fn with_name(&self, err: TaskError) -> TaskError {
        match (&self.name, err.name()) {
            (Some(name), None) => err.with_name(name.clone()),
            _ => err,
        }
    }
}

impl<T> Completer<T> {
    /// Runs `work` unless the task was cancelled, catching a panic, and stores the result.
    pub(crate) fn run(mut self, work: impl FnOnce() -> T) {
        let result = if self.start() {
            catch_unwind(AssertUnwindSafe(work)).map_err(TaskError::panicked)
        } else {
            Err(TaskError::cancelled())
        };
        self.complete(result);
    }

    /// Stores a result computed elsewhere (in a worker process).
    pub(crate) fn finish(mut self, result: Result<T, TaskError>) {
        self.complete(result);
    }

    /// Marks the task as started, so that [`Task::cancel`] no longer stops it. `false` if it
    /// was cancelled first: then the work must not run.
    pub(crate) fn start(&self) -> bool {
        self.shared.as_ref().is_some_and(|s| {
            s.start
                .compare_exchange(NOT_STARTED, STARTED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        })
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.shared
            .as_ref()
            .is_some_and(|s| s.start.load(Ordering::Acquire) == CANCELLED)
    }

    fn complete(&mut self, result: Result<T, TaskError>) {
        if let Some(shared) = self.shared.take() {
            shared.finish(result);
        }
    }
}

impl<T> Drop for Completer<T> {
    /// A completer dropped without running (its pool shut down) cancels the task, so that no
    /// `join` waits forever.
    fn drop(&mut self) {
        self.complete(Err(TaskError::cancelled()));
    }
}

impl<T> Task<T> {
    /// Waits for the task and returns its value, or how it failed.
    ///
    /// # Errors
    ///
    /// A [`TaskError`] when the task panicked or was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::ThreadPool;
    ///
    /// let pool = ThreadPool::builder().build().unwrap();
    /// let task = pool.spawn(|| "done".to_string());
    /// assert_eq!(task.join().unwrap(), "done");
    /// ```
    pub fn join(self) -> Result<T, TaskError> {
        if let Some(attendant) = &self.attendant {
            attendant.attend(&|| self.shared.is_done());
        }
        #[cfg(unix)]
        crate::wait::spin::spin_until(|| self.shared.is_done());
        let mut state = self.shared.lock();
        loop {
            if let Some(result) = take_done(&mut state) {
                return result;
            }
            state = self.shared.sleep(state);
        }
    }

    /// Waits at most `timeout` for the task's value.
    ///
    /// If the task has not finished by then it is cancelled: it will not start if it has not yet,
    /// and a task already running on a thread runs to its end with its result dropped (a thread
    /// cannot be stopped safely). To wait again instead, use [`wait_timeout`](Task::wait_timeout).
    ///
    /// # Errors
    ///
    /// A [`TaskError`] whose [`is_timeout`](TaskError::is_timeout) is true when the time ran out;
    /// otherwise as [`join`](Task::join).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use parallel::ThreadPool;
    ///
    /// let pool = ThreadPool::builder().build().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let stuck = pool.spawn(move || rx.recv().is_ok());
    /// let err = stuck.join_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert!(err.is_timeout());
    /// drop(tx); // lets the thread finish
    /// ```
    pub fn join_timeout(self, timeout: Duration) -> Result<T, TaskError> {
        if self.wait_timeout(timeout) {
            return self.join();
        }
        self.cancel();
        Err(self.shared.with_name(TaskError::timed_out(timeout)))
    }

    /// Waits at most `timeout` for the task to finish; returns whether it has.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use parallel::ThreadPool;
    ///
    /// let pool = ThreadPool::builder().build().unwrap();
    /// let task = pool.spawn(|| 1);
    /// while !task.wait_timeout(Duration::from_millis(50)) {}
    /// assert!(task.is_finished());
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.hand_off();
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if !matches!(*state, State::Pending(_)) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self.shared.sleep_at_most(state, left);
        }
    }

    /// Whether the task has finished (with a value or an error). Never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::ThreadPool;
    ///
    /// let pool = ThreadPool::builder().build().unwrap();
    /// let task = pool.spawn(|| 1);
    /// let value = task.join().unwrap(); // after join, the task is gone; before, poll it:
    /// assert_eq!(value, 1);
    /// let task = pool.spawn(|| 2);
    /// while !task.is_finished() { std::thread::yield_now(); }
    /// assert_eq!(task.join().unwrap(), 2);
    /// ```
    pub fn is_finished(&self) -> bool {
        let done = self.shared.is_done();
        if !done {
            self.hand_off();
        }
        done
    }

    /// The task's work is driven by `attendant` when joined (see [`Attendant`]).
    pub(crate) fn attended_by(&mut self, attendant: Arc<dyn Attendant>) {
        self.attendant = Some(attendant);
    }

    /// Gives the driving of the work, if the caller's thread had it, to the backend's threads:
    /// the task's owner waits some other way than `join`.
    fn hand_off(&self) {
        if let Some(attendant) = &self.attendant
            && !self.shared.is_done()
        {
            attendant.hand_off();
        }
    }

    /// Asks the task not to run. Returns `true` if it had not started yet: it never will, and
    /// it is finished at once, as cancelled ([`is_finished`](Task::is_finished) is true, and
    /// joining or awaiting it gives a cancelled error without waiting). A task that is already
    /// running finishes normally, and `cancel` returns `false`.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ErrorKind, ThreadPool};
    ///
    /// let pool = ThreadPool::builder().workers(1).build().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let busy = pool.spawn(move || rx.recv().ok());
    /// let queued = pool.spawn(|| 1);
    /// assert!(queued.cancel()); // the only worker is busy, so `queued` has not started
    /// assert!(queued.is_finished());
    /// assert_eq!(queued.join().unwrap_err().kind(), &ErrorKind::Cancelled);
    /// tx.send(()).unwrap();
    /// assert!(busy.join().is_ok());
    /// ```
    pub fn cancel(&self) -> bool {
        // A task already sent runs on: whoever drives it must be there to answer it.
        self.hand_off();
        // Checking `is_finished` instead would call a running task "not started".
        match self.shared.start.compare_exchange(
            NOT_STARTED,
            CANCELLED,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => {
                // It will never run: finish it now. The backend's completer finds it finished
                // and keeps this result.
                self.shared.finish(Err(TaskError::cancelled()));
                true
            }
            Err(state) => state == CANCELLED,
        }
    }

    /// The name of the function the task runs, where it is known.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::ThreadPool;
    ///
    /// fn fetch() -> u8 {
    ///     1
    /// }
    ///
    /// assert_eq!(ThreadPool::global().spawn(fetch).name(), Some("fetch"));
    /// // A closure has no name.
    /// assert_eq!(ThreadPool::global().spawn(|| 1).name(), None);
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.shared.name.as_deref()
    }

    /// Whether the task finished with an error, if it has finished (its result stays for
    /// `join`); otherwise registers `waker` to be woken when it does.
    pub(crate) fn watch(&self, waker: &Waker) -> Option<bool> {
        self.hand_off();
        let mut state = self.shared.lock();
        match &mut *state {
            State::Done(result) => Some(result.is_err()),
            State::Taken => Some(true),
            State::Pending(slot) => {
                if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    *slot = Some(waker.clone());
                }
                None
            }
        }
    }

    /// Registers `waker` to be woken when the task finishes; `Ready` if it already has.
    pub(crate) fn poll_result(&self, waker: &Waker) -> Poll<Result<T, TaskError>> {
        self.hand_off();
        let mut state = self.shared.lock();
        if let Some(result) = take_done(&mut state) {
            return Poll::Ready(result);
        }
        match &mut *state {
            State::Pending(slot) => {
                if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    *slot = Some(waker.clone());
                }
                Poll::Pending
            }
            _ => unreachable!("take_done returns every finished state"),
        }
    }
}

/// Takes the result out of a finished task's state.
impl<T> Drop for Task<T> {
    /// A task dropped unfinished runs on: its work goes to the backend's threads.
    fn drop(&mut self) {
        self.hand_off();
    }
}

fn take_done<T>(state: &mut State<T>) -> Option<Result<T, TaskError>> {
    match std::mem::replace(state, State::Taken) {
        State::Done(result) => Some(result),
        State::Taken => Some(Err(TaskError::cancelled())),
        pending => {
            *state = pending;
            None
        }
    }
}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_result(cx.waker())
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.shared.name)
            .field("finished", &self.shared.is_done())
            .finish()
    }
}

#[cfg(test)]
mod test;
