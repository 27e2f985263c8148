//! The requests of a pool that wait for a driver.
//!
//! New requests join the back. Requests that a driver gives back (taken back from a busy
//! worker, or held while no worker could start) go to the front, so that the next free driver
//! runs them first. Once the pool is dropped the queue is closed: drivers finish what it holds
//! and exit.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use super::request::Request;
use crate::wait::spin::spin_until;

pub(super) struct RequestQueue {
    state: Mutex<State>,
    /// Wakes drivers waiting for a request.
    ready: Condvar,
    /// Wakes drivers waiting for the queue to close.
    closing: Condvar,
    /// The number of requests, readable without the lock: polling an empty queue never takes
    /// it.
    len: AtomicUsize,
    /// Whether a driver polls the queue: a new request then wakes no sleeper, the poller takes
    /// it (and wakes a sleeper for any request behind it).
    polled: AtomicBool,
}

struct State {
    requests: VecDeque<Request>,
    closed: bool,
    /// Drivers asleep in [`RequestQueue::pop`]: a new request wakes one only then (a wake-up
    /// is a system call, and most requests find a driver polling).
    sleeping: usize,
}

impl RequestQueue {
    pub(super) fn new() -> Self {
        RequestQueue {
            state: Mutex::new(State {
                requests: VecDeque::new(),
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

    /// Publishes the new length, and wakes a sleeping driver if there is one and none polls.
    fn added(&self, state: MutexGuard<'_, State>) {
        self.len.store(state.requests.len(), Ordering::SeqCst);
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
        self.pop_locked(&mut self.lock())
    }

    /// The next request, polling for it briefly if no other driver polls, then sleeping;
    /// `None` once the queue is closed and empty.
    pub(super) fn next(&self) -> Option<Request> {
        if self
            .polled
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            let mut request = None;
            let found = spin_until(|| {
                request = self.try_pop();
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

    /// The next request, waiting for one; `None` once the queue is closed and empty.
    pub(super) fn pop(&self) -> Option<Request> {
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

    fn pop_locked(&self, state: &mut State) -> Option<Request> {
        let request = state.requests.pop_front();
        self.len.store(state.requests.len(), Ordering::Release);
        request
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

    /// Takes every request that waits, leaving the queue empty.
    pub(super) fn take_all(&self) -> Vec<Request> {
        let mut state = self.lock();
        let taken = state.requests.drain(..).collect();
        self.len.store(0, Ordering::Release);
        taken
    }

    /// Closes the queue: no new request is taken, and waiting drivers wake up.
    pub(super) fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
        self.closing.notify_all();
    }
}
