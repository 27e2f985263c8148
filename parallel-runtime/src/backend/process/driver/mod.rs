//! One driver thread: one worker process, and the requests sent to it in order.
//!
//! A driver takes requests from the pool's queue and writes them to its worker (a caller may
//! also send one call to a free worker itself, and drive it with this same code: `slot`); while the
//! worker's calls are short it writes up to [`PIPELINE_DEPTH`] of them at once, so that the
//! next one is there when the worker finishes. It reads the replies in order. When the worker
//! fails instead, the driver works out which call was at fault and answers every other call:
//!
//! - **The worker dies** (crash, abort, `exit`, kill): the shared page says which request it had
//!   started and which call of it ran. That call fails (or runs again, with `retries`); the
//!   calls before it in its request ran, but their results died with the worker, so they run
//!   again; the calls after it, and the requests behind it, never ran and go to the new worker.
//!   A worker that died before starting the request is nobody's fault: the request goes again.
//!   Without a page, a request of several calls that loses its worker runs again one call at a
//!   time, to find the call that kills it.
//! - **A call runs past its timeout**: the worker is killed; that call fails.
//! - **The worker breaks the protocol** (a malformed reply, a reply to another request): the
//!   worker is killed and replaced; the request it ran fails with that error.
//! - **A worker cannot start**: one killed as it starts is a worker that died in the first call
//!   of its request. When the system refuses to start a process at all, the pool goes on with
//!   the workers it has (saying why on stderr, once) and tries again later; only when it has
//!   none left do calls fail, with the system's error.
//!
//! A request written behind a long call waits in the worker's socket. Once the call has run for
//! longer than expected, the driver takes back, through the shared page, the requests the
//! worker has not started, and puts them at the front of the queue, for the next free worker.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

mod failure;
pub(super) mod lifecycle;
mod shared;
pub(super) mod slot;

pub(super) use shared::Drivers;

use super::protocol::{FrameBuffer, Malformed, Outcomes};
use super::request::Request;
use super::transport::{CallLimits, ReceiveError, Reply, StartError, Transport};
use crate::error::{TaskError, WorkerExit};

/// The most requests in a worker's socket: the one it runs and those waiting behind it.
/// Pipelining hides the round trip between two small calls.
pub(super) const PIPELINE_DEPTH: usize = 4;
/// The most bytes of requests in a worker's socket: well under the socket's buffer, so that a
/// write never blocks on a worker that is itself blocked writing a reply.
const PIPELINE_BYTES: usize = 64 * 1024;
/// Pipelining is for short calls: their requests wait behind each other only briefly.
const PIPELINE_MAX_NANOS: u64 = 200_000;
/// Calls at least this long are not waited for by polling: their answers are far off, and
/// polling would only take time from the workers sharing the cores.
pub(super) const LONG_CALL_NANOS: u64 = 1_000_000;
/// Requests waiting behind one that runs this many times longer than its calls took so far
/// (and at least [`TAKE_BACK_AFTER`]) are taken back, for another worker.
const TAKE_BACK_FACTOR: u32 = 4;
const TAKE_BACK_AFTER: Duration = Duration::from_millis(1);
/// After a worker failed to start, the first wait before the next try; it doubles up to
/// [`START_BACKOFF_MAX`].
const START_BACKOFF: Duration = Duration::from_millis(50);
const START_BACKOFF_MAX: Duration = Duration::from_secs(2);
/// A request written to the worker, and its number.
struct Sent {
    request: Request,
    seq: u32,
}

struct Driver<T: Transport> {
    drivers: Arc<Drivers>,
    worker: Option<T>,
    buffer: FrameBuffer,
    /// Requests written to the worker, oldest (the one it runs) first.
    sent: VecDeque<Sent>,
    sent_bytes: usize,
    /// Requests to send before taking new ones from the queue: those a dead worker never ran.
    backlog: VecDeque<Request>,
    /// Nanoseconds per call in the worker's last answer; `None` before its first answer.
    per_call: Option<u64>,
    /// Since when the request at the head of `sent` has been the worker's to run.
    head_since: Instant,
    /// Workers that died before starting the head request, in a row.
    deaths_before_start: u32,
    /// While starting a worker fails: when to try again, and the wait after that.
    start_again: Option<(Instant, Duration)>,
    /// Calls the worker has answered.
    calls_run: usize,
}

impl<T: Transport> Driver<T> {
    fn new(drivers: Arc<Drivers>) -> Self {
        Driver {
            drivers,
            worker: None,
            buffer: FrameBuffer::default(),
            sent: VecDeque::new(),
            sent_bytes: 0,
            backlog: VecDeque::new(),
            per_call: None,
            head_since: Instant::now(),
            deaths_before_start: 0,
            start_again: None,
            calls_run: 0,
        }
    }

    /// Runs `request`, and every request the queue holds while the worker is busy, until
    /// nothing is in flight and no request waits.
    fn run(&mut self, request: Request) {
        self.backlog.push_back(request);
        while self.fill() {
            self.receive_one();
        }
    }

    /// Answers every call in flight and sends the requests a dead worker left, without taking
    /// new ones from the queue, until `done` or nothing is left.
    fn drain(&mut self, done: &dyn Fn() -> bool) {
        while !done() {
            if self.sent.is_empty() {
                let Some(request) = self.backlog.pop_front() else {
                    return;
                };
                self.send_unless_cancelled(request);
                continue;
            }
            self.receive_one();
        }
    }

    /// Answers everything in flight, then ends the worker: the pool is gone.
    fn finish(&mut self) {
        self.drain(&|| false);
        self.end_worker(false);
    }

    /// Whether a caller may send `request` to the worker now: it runs, nothing is in flight or
    /// waits to be sent again, and the request would not take it past its share of calls. A
    /// request with a timeout goes through the queue: its driver watches the clock from the
    /// moment it is sent, where a caller would start to only when it joins. So does a large
    /// one: `spawn` returns without waiting for its bytes to reach the worker.
    fn free_for(&self, request: &Request) -> bool {
        request.timeout.is_none()
            && request.frame.len() <= PIPELINE_BYTES
            && self.is_free()
            && !self.beyond_share(request)
    }

    /// Whether the worker runs, with nothing in flight or waiting to be sent again, and has
    /// calls left in its share.
    fn is_free(&self) -> bool {
        self.worker.is_some()
            && self.sent.is_empty()
            && self.backlog.is_empty()
            && self.start_again.is_none()
            && !self.spent()
            && !self.drivers.terminated.load(Ordering::SeqCst)
    }

    /// Whether the worker's last calls were short enough to pipeline.
    fn short_calls(&self) -> bool {
        self.per_call
            .is_some_and(|nanos| nanos < PIPELINE_MAX_NANOS)
    }

    /// Whether they were long enough that waiting for the next answer sleeps at once.
    fn long_calls(&self) -> bool {
        self.per_call.is_some_and(|nanos| nanos >= LONG_CALL_NANOS)
    }

    /// Sends requests while the pipe has room; `false` when nothing is in flight and no
    /// request waits (or the pool is gone).
    fn fill(&mut self) -> bool {
        if self.sent.is_empty() && self.spent() {
            // Replaced now, warm for the next request.
            self.end_worker(false);
            let _ = self.start_worker();
        }
        loop {
            if self.sent.len() >= PIPELINE_DEPTH {
                return true;
            }
            let request = match self.backlog.pop_front() {
                Some(request) => request,
                None if self.sent.is_empty() => {
                    if self.start_again.is_some() {
                        match self.wait_to_start_again() {
                            Some(true) => continue,
                            Some(false) => {}
                            None => return false,
                        }
                    }
                    match self.drivers.queue.try_pop() {
                        Some(request) => request,
                        None => return false,
                    }
                }
                None if !self.may_pipeline() => return true,
                None => match self.drivers.queue.try_pop() {
                    Some(request) => request,
                    None => return true,
                },
            };
            if !self.sent.is_empty() && !self.fits(&request) {
                self.backlog.push_front(request);
                return true;
            }
            self.send_unless_cancelled(request);
            if !self.sent.is_empty() && !self.may_pipeline() {
                return true;
            }
        }
    }

    /// Sends `request`, unless nobody wants its results any more (a cancelled task).
    fn send_unless_cancelled(&mut self, request: Request) {
        if request.reply.start() {
            self.send(request);
        } else {
            request.fail_all(TaskError::cancelled);
        }
    }

    /// Whether requests may queue behind the one the worker runs: its calls are short, no
    /// other driver waits for work, and the worker has a shared page to take them back.
    fn may_pipeline(&self) -> bool {
        self.short_calls()
            && self.drivers.idle.load(Ordering::SeqCst) == 0
            && self
                .worker
                .as_ref()
                .is_some_and(|worker| worker.claims().is_some())
    }

    /// Whether `request` may queue behind the requests in flight: small, and with no timeout
    /// on either side (a timeout is measured on a request that runs alone).
    fn fits(&self, request: &Request) -> bool {
        self.sent.len() < PIPELINE_DEPTH
            && !self.beyond_share(request)
            && request.timeout.is_none()
            && self
                .sent
                .front()
                .is_some_and(|head| head.request.timeout.is_none())
            && self.sent_bytes + request.frame.len() <= PIPELINE_BYTES
    }

    /// Starts a worker if there is none.
    fn start_worker(&mut self) -> Result<(), StartError> {
        if self.worker.is_some() {
            return Ok(());
        }
        let mut worker = T::start(self.drivers.settings)?;
        if let Some(pid) = worker.pid() {
            self.drivers.pids().push(pid);
        }
        // Started as the pool was terminated, after its workers were killed.
        if self.drivers.terminated.load(Ordering::SeqCst) {
            self.forget_pid(worker.pid());
            worker.end(true);
            return Err(StartError::Spawn(std::io::Error::other(
                "the pool was terminated",
            )));
        }
        if let Some(initializer) = &self.drivers.lifecycle.initializer
            && let Err(message) = initializer.run(&mut worker, &mut self.buffer)
        {
            self.forget_pid(worker.pid());
            worker.end(true);
            return Err(StartError::Initializer(message));
        }
        self.drivers.live.fetch_add(1, Ordering::SeqCst);
        self.worker = Some(worker);
        self.calls_run = 0;
        self.start_again = None;
        Ok(())
    }

    /// Whether `request`, queued behind those in flight, would take the worker past its share
    /// of calls: it waits for the next worker instead.
    fn beyond_share(&self, request: &Request) -> bool {
        self.drivers.lifecycle.max_calls.is_some_and(|max| {
            let in_flight: usize = self.sent.iter().map(|sent| sent.request.count).sum();
            self.calls_run + in_flight + request.count > max.get()
        })
    }

    /// Whether the worker has run its share of calls, and is to be replaced.
    fn spent(&self) -> bool {
        self.drivers
            .lifecycle
            .max_calls
            .is_some_and(|max| self.calls_run >= max.get())
    }

    fn forget_pid(&self, pid: Option<u32>) {
        if let Some(pid) = pid {
            self.drivers.pids().retain(|&live| live != pid);
        }
    }

    /// The pool was terminated: the worker is killed (if it lives still), and every request
    /// this driver holds fails as terminated.
    fn stop_for_termination(&mut self) {
        self.end_worker(true);
        self.sent_bytes = 0;
        let held: Vec<Request> = self
            .sent
            .drain(..)
            .map(|sent| sent.request)
            .chain(self.backlog.drain(..))
            .collect();
        for request in held {
            request.fail_all(TaskError::terminated);
        }
    }

    /// Ends the worker, if there is one (killed first if asked), and says how it ended.
    fn end_worker(&mut self, kill: bool) -> WorkerExit {
        match self.worker.take() {
            Some(mut worker) => {
                self.drivers.live.fetch_sub(1, Ordering::SeqCst);
                // Forgotten before it is reaped, after which its id may be another process's:
                // `terminate` kills only workers that are not reaped yet.
                self.forget_pid(worker.pid());
                worker.end(kill)
            }
            None => WorkerExit::Unknown,
        }
    }

    /// While no worker can start: waits until it is time to try again, and tries. `Some(true)`
    /// when a worker started; `Some(false)` when the pool has no worker left, so that requests
    /// fail rather than wait; `None` when the pool is gone.
    fn wait_to_start_again(&mut self) -> Option<bool> {
        let (at, backoff) = self.start_again?;
        // Once the pool is gone, the drivers that have workers finish what is queued.
        if self.drivers.queue.wait_closed(at) {
            return None;
        }
        match self.start_worker() {
            Ok(()) => Some(true),
            Err(StartError::Spawn(_)) if self.drivers.live.load(Ordering::SeqCst) > 0 => {
                let backoff = (backoff * 2).min(START_BACKOFF_MAX);
                self.start_again = Some((Instant::now() + backoff, backoff));
                Some(true)
            }
            Err(_) => {
                self.start_again = None;
                Some(false)
            }
        }
    }

    /// Writes `request` to the worker, starting one if needed; whatever fails is dealt with
    /// here.
    fn send(&mut self, mut request: Request) {
        if self.drivers.terminated.load(Ordering::SeqCst) {
            return request.fail_all(TaskError::terminated);
        }
        if let Err(error) = self.start_worker() {
            return self.not_started(request, error);
        }
        let worker = self.worker.as_mut().expect("started above");
        // The `SharedSlice`s the request names reach the worker first.
        let sent = worker.attach(&request.slices).and_then(|()| {
            let limits = CallLimits {
                timeout: request.timeout,
                retries: request.retries,
            };
            worker.send(&mut request.frame, limits)
        });
        match sent {
            Ok(seq) => {
                if self.sent.is_empty() {
                    self.head_since = Instant::now();
                }
                self.sent_bytes += request.frame.len();
                self.sent.push_back(Sent { request, seq });
            }
            Err(_) => {
                // This request never reached the worker.
                self.backlog.push_front(request);
                self.lost_while_sending();
            }
        }
    }

    /// Waits for the reply to the oldest request and deals with it.
    fn receive_one(&mut self) {
        let Some(head) = self.sent.front() else {
            return;
        };
        let timeout = head.request.timeout;
        if self.sent.len() > 1 {
            self.take_back_if_late();
            // Everything may have been taken back, the head too when the worker had not
            // started it: then no reply is due.
            if self.sent.is_empty() {
                return;
            }
        }
        let poll = !self.long_calls();
        let Some(worker) = self.worker.as_mut() else {
            return;
        };
        let received = worker.receive(timeout, poll, &mut self.buffer);
        if received.is_err() && self.drivers.terminated.load(Ordering::SeqCst) {
            return self.stop_for_termination();
        }
        match received {
            Ok(reply) => self.answer(reply),
            Err(ReceiveError::TimedOut) => self.worker_failed(timeout),
            Err(ReceiveError::Gone) => self.worker_failed(None),
            Err(ReceiveError::Malformed(malformed)) => self.misbehaved(malformed),
        }
    }

    /// Waits for the head's reply as long as its calls should take; past that, takes back the
    /// requests behind it that the worker has not started, for the next free worker.
    fn take_back_if_late(&mut self) {
        let (Some(head), Some(worker)) = (self.sent.front(), self.worker.as_ref()) else {
            return;
        };
        let expected = Duration::from_nanos(
            self.per_call
                .unwrap_or(0)
                .saturating_mul(head.request.count as u64),
        );
        let deadline = self.head_since + (expected * TAKE_BACK_FACTOR).max(TAKE_BACK_AFTER);
        if worker.wait_readable(deadline) {
            return;
        }
        let Some(claims) = worker.claims() else {
            return;
        };
        let last = self.sent.back().map_or(head.seq, |sent| sent.seq);
        match claims.take_back(head.seq, last) {
            Ok(started) => {
                while let Some(sent) = self.sent.back() {
                    // Requests after `started`, in wrapping sequence numbers.
                    if sent.seq.wrapping_sub(started).wrapping_sub(1) >= last.wrapping_sub(started)
                    {
                        break;
                    }
                    let sent = self.sent.pop_back().expect("looked at above");
                    self.sent_bytes -= sent.request.frame.len();
                    self.drivers.queue.push_front(sent.request);
                }
            }
            Err(_) => self.misbehaved(Malformed("a claim word out of range")),
        }
    }

    /// Deals with the worker's reply to the oldest request.
    fn answer(&mut self, reply: Reply) {
        let Some(head) = self.sent.front() else {
            return self.misbehaved(Malformed("a reply to no request"));
        };
        match reply {
            Reply::Done {
                seq,
                count,
                nanos,
                outcomes,
            } if seq == head.seq && count as usize == head.request.count => {
                let buffer = std::mem::take(&mut self.buffer);
                match Outcomes::parse(&buffer.frame()[outcomes..], count) {
                    Ok(outcomes) => {
                        let head = self.pop_head();
                        self.per_call = Some(nanos / u64::from(count.max(1)));
                        self.deaths_before_start = 0;
                        self.calls_run += count as usize;
                        head.done(nanos, &outcomes);
                    }
                    Err(malformed) => self.misbehaved(malformed),
                }
                self.buffer = buffer;
            }
            Reply::Refused { seq, message } if seq == head.seq => {
                let head = self.pop_head();
                head.fail_all(|| TaskError::refused(message.clone()));
            }
            _ => self.misbehaved(Malformed("a reply to another request")),
        }
    }

    /// Takes the oldest request off the pipe: the next one is the worker's to run from now.
    fn pop_head(&mut self) -> Request {
        let head = self.sent.pop_front().expect("a reply answers a request");
        self.sent_bytes -= head.request.frame.len();
        self.head_since = Instant::now();
        head.request
    }
}

impl<T: Transport> Drop for Driver<T> {
    /// A driver that unwound kills its worker; its requests report themselves cancelled.
    fn drop(&mut self) {
        self.end_worker(true);
    }
}
