//! One driver thread: one worker process, and the requests sent to it in order.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crossbeam_channel::Receiver;

use super::handle::{Answer, WorkerHandle};
use super::request::Request;
use crate::error::{TaskError, WorkerExit};
use crate::spin::spin_until;

/// The most requests waiting in a worker's socket behind the one it runs. Pipelining hides the
/// round trip between two small calls.
pub(super) const PIPELINE_DEPTH: usize = 4;
/// The most bytes of requests in a worker's socket: well under the socket's buffer, so that a
/// write never blocks on a worker that is itself blocked writing a reply.
pub(super) const PIPELINE_BYTES: usize = 64 * 1024;
/// Pipelining is for short calls: a request queued behind a long one would wait while another
/// worker might be free.
pub(super) const PIPELINE_MAX_NANOS: u64 = 200_000;
/// Calls at least this long are not waited for by polling: their answers are far off, and
/// polling would only take time from the workers sharing the cores.
pub(super) const LONG_CALL_NANOS: u64 = 1_000_000;

/// The loop of one driver thread: one worker process, and the requests sent to it in order.
pub(super) fn drive(queue: &Receiver<Request>, idle: &AtomicUsize) {
    let mut driver = Driver {
        worker: WorkerHandle::start().ok(),
        buffer: Vec::new(),
        sent: VecDeque::new(),
        sent_bytes: 0,
        backlog: VecDeque::new(),
        idle,
        per_call: None,
    };
    while driver.fill(queue) {
        driver.receive_one();
    }
    // The pool is gone: close the worker's socket (it exits) and reap it, leaving no zombie.
    if let Some(worker) = driver.worker.take() {
        worker.end(false);
    }
}

pub(super) struct Driver<'a> {
    worker: Option<WorkerHandle>,
    buffer: Vec<u8>,
    /// Requests written to the worker, oldest (the one it runs) first.
    sent: VecDeque<Request>,
    sent_bytes: usize,
    /// Jobs to send before taking new ones from the queue: those a dead worker never started.
    backlog: VecDeque<Request>,
    /// How many of the pool's drivers wait for work: while one does, nobody pipelines.
    idle: &'a AtomicUsize,
    /// Nanoseconds per call in the worker's last answer; `None` before its first answer.
    per_call: Option<u64>,
}

impl Driver<'_> {
    /// Whether the worker's last calls were short enough to pipeline.
    pub(super) fn short_calls(&self) -> bool {
        self.per_call
            .is_some_and(|nanos| nanos < PIPELINE_MAX_NANOS)
    }

    /// Whether they were long enough that waiting for the next answer sleeps at once.
    pub(super) fn long_calls(&self) -> bool {
        self.per_call.is_some_and(|nanos| nanos >= LONG_CALL_NANOS)
    }

    /// Sends jobs while the pipe has room, waiting for one if none is in flight. `false` once
    /// the pool is gone and every job is answered.
    pub(super) fn fill(&mut self, queue: &Receiver<Request>) -> bool {
        loop {
            let job = match self.backlog.pop_front() {
                Some(job) => job,
                None if self.sent.is_empty() => {
                    self.idle.fetch_add(1, Ordering::SeqCst);
                    let mut job = Err(crossbeam_channel::RecvError);
                    if !spin_until(|| queue.try_recv().map(|j| job = Ok(j)).is_ok()) {
                        job = queue.recv();
                    }
                    self.idle.fetch_sub(1, Ordering::SeqCst);
                    match job {
                        Ok(job) => job,
                        Err(_) => return false,
                    }
                }
                // Leave the job to a free worker if there is one.
                None if !self.short_calls() || self.idle.load(Ordering::SeqCst) > 0 => return true,
                None => match queue.try_recv() {
                    Ok(job) => job,
                    Err(_) => return true,
                },
            };
            if !self.sent.is_empty() && !self.fits(&job) {
                self.backlog.push_front(job);
                return true;
            }
            if !job.reply.start() {
                job.fail_all(TaskError::cancelled);
                continue;
            }
            self.send(job);
            if self.sent.len() >= PIPELINE_DEPTH {
                return true;
            }
        }
    }

    /// Whether `job` may queue behind the requests in flight: small, and with no timeout on
    /// either side (a timeout is measured on a request that runs alone).
    pub(super) fn fits(&self, job: &Request) -> bool {
        self.short_calls()
            && self.sent.len() < PIPELINE_DEPTH
            && job.timeout.is_none()
            && self.sent.front().is_some_and(|head| head.timeout.is_none())
            && self.sent_bytes + job.frame.len() <= PIPELINE_BYTES
    }

    /// The worker, started if there is none.
    pub(super) fn worker(&mut self) -> Result<&mut WorkerHandle, String> {
        if self.worker.is_none() {
            let worker = WorkerHandle::start()
                .map_err(|e| format!("could not start a worker process: {e}"))?;
            self.worker = Some(worker);
        }
        Ok(self.worker.as_mut().expect("started above"))
    }

    /// Ends the worker (killed if it ran late, else already gone) and says how the call it ran
    /// failed.
    pub(super) fn end_worker(&mut self, late: Option<Duration>) -> Failure {
        let exit = self
            .worker
            .take()
            .map_or(WorkerExit::Unknown, |worker| worker.end(late.is_some()));
        match late {
            Some(after) => Failure::TimedOut(after),
            None => Failure::Died(exit),
        }
    }

    pub(super) fn send(&mut self, job: Request) {
        let worker = match self.worker() {
            Ok(worker) => worker,
            Err(message) => return job.fail_all(|| TaskError::refused(message.clone())),
        };
        if worker.send(&job.frame).is_ok() {
            self.sent_bytes += job.frame.len();
            self.sent.push_back(job);
            return;
        }
        // The worker is gone, dead in the request it runs (if any): this job never started.
        self.backlog.push_front(job);
        self.worker_failed(None);
    }

    pub(super) fn receive_one(&mut self) {
        let timeout = self.sent.front().and_then(|head| head.timeout);
        let poll = !self.long_calls();
        let Some(worker) = self.worker.as_mut() else {
            return;
        };
        match worker.receive(timeout, poll, &mut self.buffer) {
            Ok(answer) => {
                if let Answer::Done { count, nanos, .. } = answer {
                    self.per_call = Some(nanos / u64::from(count.max(1)));
                }
                let job = self.sent.pop_front().expect("a reply answers a request");
                self.sent_bytes -= job.frame.len();
                self.settle(job, Ok(answer));
            }
            Err(late) => self.worker_failed(late),
        }
    }

    /// The worker died, or ran late and is killed: the request at the head of the pipe is the
    /// one it ran; those behind it never started and are sent again.
    pub(super) fn worker_failed(&mut self, late: Option<Duration>) {
        let failure = self.end_worker(late);
        self.per_call = None;
        let head = self.sent.pop_front();
        while let Some(job) = self.sent.pop_back() {
            self.backlog.push_front(job);
        }
        self.sent_bytes = 0;
        if let Some(head) = head {
            self.settle(head, Err(failure));
        }
    }

    /// Answers `request` with what its worker said, or deals with how the worker failed: a
    /// batch whose worker died runs again one call at a time, to find the call that killed it.
    pub(super) fn settle(&mut self, mut request: Request, outcome: Result<Answer, Failure>) {
        match outcome {
            Ok(Answer::Done {
                count,
                nanos,
                start,
            }) if count == request.count => {
                let outcomes = std::mem::take(&mut self.buffer);
                request.done(nanos, &outcomes[start..]);
                self.buffer = outcomes;
            }
            Ok(Answer::Done { count, .. }) => {
                let message = format!("the worker answered {count} calls of {}", request.count);
                request.fail_all(|| TaskError::refused(message.clone()));
            }
            Ok(Answer::Refused(message)) => {
                request.fail_all(|| TaskError::refused(message.clone()));
            }
            Err(Failure::Died(_)) if request.count > 1 => {
                for single in request.split() {
                    self.run_alone(single);
                }
            }
            Err(Failure::Died(_)) if request.take_retry() => self.run_alone(request),
            Err(Failure::Died(exit)) => request.fail_all(|| TaskError::worker_died(exit)),
            Err(Failure::TimedOut(after)) => request.fail_all(|| TaskError::timed_out(after)),
            Err(Failure::Start(message)) => {
                request.fail_all(|| TaskError::refused(message.clone()));
            }
        }
    }

    /// Runs one job with nothing else in flight (calls of a split batch, retries).
    pub(super) fn run_alone(&mut self, job: Request) {
        let outcome = match self.worker() {
            Err(message) => Err(Failure::Start(message)),
            Ok(_) => {
                let poll = !self.long_calls();
                let worker = self.worker.as_mut().expect("started above");
                match worker.exchange(&job.frame, job.timeout, poll, &mut self.buffer) {
                    Ok(answer) => Ok(answer),
                    Err(late) => Err(self.end_worker(late)),
                }
            }
        };
        self.settle(job, outcome);
    }
}

pub(super) enum Failure {
    Died(WorkerExit),
    TimedOut(Duration),
    Start(String),
}
