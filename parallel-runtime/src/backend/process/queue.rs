//! The requests of a pool that wait for a driver, and the workers handed to the drivers.
//!
//! New requests join the back. Requests that a driver gives back (taken back from a busy
//! worker, or held while no worker could start) go to the front, so that the next free driver
//! runs them first. A worker that a caller sent a call to directly, and then left (see
//! `driver::slot`), is handed to the drivers here too, ahead of every request. Once the pool is
//! dropped the queue is closed: drivers finish what it holds and exit.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use std::sync::Arc;

use super::request::Request;
use crate::wait::spin::spin_until;

/// A worker with calls in flight that the queue hands to a driver.
pub(super) trait Attend: Send + Sync {
    /// Drives the worker until every call in flight is answered.
    fn attend(&self);
}

/// What a driver takes from the queue.
pub(super) enum Job {
    /// Requests to send.
    Run(Request),
    /// A worker with calls in flight that nobody waits on: drive it until they are answered.
    Attend(Arc<dyn Attend>),
}

pub(super) struct RequestQueue {
    state: Mutex<State>,
    /// Wakes drivers waiting for a request.
    ready: Condvar,
    /// Wakes drivers waiting for the queue to close.
    closing: Condvar,
    /// The number of jobs (requests and workers to attend), readable without the lock: polling
    /// an empty queue never takes it.
    len: AtomicUsize,
    /// Whether a driver polls the queue: a new request then wakes no sleeper, the poller takes
    /// it (and wakes a sleeper for any request behind it).
    polled: AtomicBool,
}

struct State {
    requests: VecDeque<Request>,
    /// Workers handed over by callers, to drive before any request.
    attend: VecDeque<Arc<dyn Attend>>,
    closed: bool,
    /// Drivers asleep in [`RequestQueue::pop`]: a new request wakes one only then (a wake-up
    /// is a system call, and most requests find a driver polling).
    sleeping: usize,
}

impl State {
    fn len(&self) -> usize {
        self.requests.len() + self.attend.len()
    }
}

impl RequestQueue {
    pub(super) fn new() -> Self {
        RequestQueue {
            state: Mutex::new(State {
                requests: VecDeque::new(),
                attend: VecDeque::new(),
                closed: false,
                sleeping: 0,
            }),
            ready: Condvar::new(),
            closing: Condvar::new(),
            len: AtomicUsize::new(0),
            polled: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under the lock: a poisoned lock still holds a sound queue.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a new request at the back. On a closed queue the request is dropped, which reports
    /// its calls as cancelled.
    pub(super) fn push_back(&self, request: Request) {
        let mut state = self.lock();
        if state.closed {
            drop(state);
            drop(request);
            return;
        }
        state.requests.push_back(request);
        self.added(state);
    }

    /// Hands a worker with calls in flight to the drivers. Once the queue is closed, each
    /// driver answers every call of its own worker before it exits: nothing is kept then.
    pub(super) fn push_attend(&self, worker: Arc<dyn Attend>) {
        let mut state = self.lock();
        if state.closed {
            return;
        }
        state.attend.push_back(worker);
        self.added(state);
    }

    /// Whether no request waits: a caller may then send its call to a free worker itself,
    /// without passing anyone in the queue.
    pub(super) fn is_empty(&self) -> bool {
        self.len.load(Ordering::Acquire) == 0
    }

    /// Publishes the new length, and wakes a sleeping driver if there is one and none polls.
    fn added(&self, state: MutexGuard<'_, State>) {
        self.len.store(state.len(), Ordering::SeqCst);
        // A poller that stops polling after this looks at the queue under the lock before it
        // sleeps, so the request is never left behind.
        let wake = state.sleeping > 0 && !self.polled.load(Ordering::SeqCst);
        drop(state);
        if wake {
            self.ready.notify_one();
        }
    }

    /// Gives a request back, to run before the others.
    pub(super) fn push_front(&self, request: Request) {
        let mut state = self.lock();
        state.requests.push_front(request);
        self.added(state);
    }

    /// The next request, if one waits.
    pub(super) fn try_pop(&self) -> Option<Request> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        let mut state = self.lock();
        let request = state.requests.pop_front();
        self.len.store(state.len(), Ordering::Release);
        request
    }

    /// The next job, if one waits.
    fn try_pop_job(&self) -> Option<Job> {
        if self.len.load(Ordering::Acquire) == 0 {
            return None;
        }
        self.pop_locked(&mut self.lock())
    }

    /// The next job, polling for it briefly if no other driver polls, then sleeping; `None`
    /// once the queue is closed and empty.
    pub(super) fn next(&self) -> Option<Job> {
        if self
            .polled
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            let mut request = None;
            let found = spin_until(|| {
                request = self.try_pop_job();
                request.is_some()
            });
            self.polled.store(false, Ordering::SeqCst);
            if found {
                // Requests behind this one were added while it polled, and woke nobody.
                if self.len.load(Ordering::SeqCst) > 0 {
                    self.wake_one();
                }
                return request;
            }
        }
        self.pop()
    }

    /// Wakes a sleeping driver, if there is one.
    fn wake_one(&self) {
        if self.lock().sleeping > 0 {
            self.ready.notify_one();
        }
    }

    /// The next job, waiting for one; `None` once the queue is closed and empty.
    fn pop(&self) -> Option<Job> {
        let mut state = self.lock();
        loop {
            if let Some(request) = self.pop_locked(&mut state) {
                return Some(request);
            }
            if state.closed {
                return None;
            }
            state.sleeping += 1;
            state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
            state.sleeping -= 1;
        }
    }

    fn pop_locked(&self, state: &mut State) -> Option<Job> {
        let job = match state.attend.pop_front() {
            Some(worker) => Some(Job::Attend(worker)),
            None => state.requests.pop_front().map(Job::Run),
        };
        self.len.store(state.len(), Ordering::Release);
        job
    }

    /// Waits until `deadline` or until the queue closes; whether it is closed.
    pub(super) fn wait_closed(&self, deadline: Instant) -> bool {
        let mut state = self.lock();
        while !state.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self
                .closing
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Takes every request that waits. Workers handed over stay, for the drivers: their calls
    /// were sent, and are answered by whoever drives them.
    pub(super) fn take_all(&self) -> Vec<Request> {
        let mut state = self.lock();
        let taken = state.requests.drain(..).collect();
        self.len.store(state.len(), Ordering::Release);
        taken
    }

    /// Closes the queue: no new request is taken, and waiting drivers wake up.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
        self.closing.notify_all();
    }
}
