//! How a driver answers a request whose worker failed it: which call was at fault, which calls
//! run again, and on which worker (the module doc of `driver` lists each case).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Driver, START_BACKOFF, Sent};
use crate::backend::process::protocol::Malformed;
use crate::backend::process::request::Request;
use crate::backend::process::transport::{ReceiveError, StartError, Transport};
use crate::error::{TaskError, WorkerExit};

/// Workers that die before they start a request that was sent to them, in a row, after which
/// the request is blamed: a request that kills its worker before it runs is still its fault.
const DEATHS_BEFORE_START: u32 = 3;

/// How the worker failed the request at the head of the pipe.
pub(super) enum Failure {
    /// It died; `call` is the index (in the request) of the call it was running, where known.
    Died {
        exit: WorkerExit,
        call: Option<usize>,
    },
    /// The call ran past its timeout, and the worker was killed.
    TimedOut(Duration),
    /// It broke the protocol, and was killed.
    Malformed(Malformed),
}

impl<T: Transport> Driver<T> {
    /// No worker could start for `request`.
    pub(super) fn not_started(&mut self, request: Request, error: StartError) {
        let live = self.drivers.live.load(Ordering::SeqCst);
        match error {
            // Killed or crashed as it started: like a worker that died in the first call.
            StartError::Died(exit) => self.settle(
                request,
                Failure::Died {
                    exit,
                    call: Some(0),
                },
            ),
            StartError::Spawn(error) if live > 0 => {
                if !self.drivers.warned.swap(true, Ordering::SeqCst) {
                    eprintln!(
                        "parallel: could not start a worker process ({error}); the process pool \
                         goes on with {live} of its {} workers",
                        self.drivers.workers
                    );
                }
                // Another worker runs it, while this driver waits to try again.
                self.drivers.queue.push_front(request);
                let backoff = self
                    .start_again
                    .map_or(START_BACKOFF, |(_, backoff)| backoff);
                self.start_again = Some((Instant::now() + backoff, backoff));
            }
            StartError::Spawn(error) => {
                let message = format!("could not start a worker process: {error}");
                let error: Arc<dyn std::error::Error + Send + Sync> = Arc::new(error);
                request.fail_all(|| {
                    TaskError::refused(message.clone()).with_source(Arc::clone(&error))
                });
            }
            StartError::TimedOut => request.fail_all(|| {
                TaskError::refused("a new worker process did not become ready within 30 s")
            }),
            StartError::Malformed(malformed) => {
                request.fail_all(|| TaskError::protocol(malformed.to_string()));
            }
            StartError::Initializer(message) => {
                let name = self
                    .drivers
                    .lifecycle
                    .initializer
                    .as_ref()
                    .map_or("?", |init| init.name());
                let message =
                    format!("the pool's initializer `{name}` failed in a new worker: {message}");
                request.fail_all(|| TaskError::refused(message.clone()));
            }
            StartError::Unsupported => request.fail_all(|| {
                TaskError::refused("the process backend needs Linux, Android, FreeBSD or macOS")
            }),
        }
    }

    /// The worker closed its socket while a request was being written: it is gone. The
    /// replies it wrote before it died are still in the socket, and answer the oldest
    /// requests; the first request without a reply is the one it died in.
    pub(super) fn lost_while_sending(&mut self) {
        let Some(worker) = self.worker.as_mut() else {
            return;
        };
        // Already dead, or about to be: the kill changes nothing of how it ended, and makes
        // sure the reads below end.
        worker.kill();
        while !self.sent.is_empty() {
            let Some(worker) = self.worker.as_mut() else {
                return;
            };
            match worker.receive(None, false, &mut self.buffer) {
                Ok(reply) => self.answer(reply),
                Err(ReceiveError::Malformed(malformed)) => return self.misbehaved(malformed),
                Err(_) => break,
            }
        }
        self.worker_failed(None);
    }

    /// The worker died, or ran late and is killed: finds out which call was at fault, and
    /// sends the requests it never ran again.
    pub(super) fn worker_failed(&mut self, late: Option<Duration>) {
        let Some(head) = self.sent.front() else {
            self.end_worker(late.is_some());
            return;
        };
        // Read the page before the worker is reaped: it stays mapped until then anyway.
        let started = self.worker.as_ref().and_then(|worker| {
            let claims = worker.claims()?;
            let started = claims.started(head.seq, worker.last_seq()).ok()?;
            Some((started, claims.progress_of_dead() as usize))
        });
        let exit = self.end_worker(late.is_some());
        self.per_call = None;
        let Sent { request: head, seq } = self.sent.pop_front().expect("looked at above");
        while let Some(sent) = self.sent.pop_back() {
            self.backlog.push_front(sent.request);
        }
        self.sent_bytes = 0;
        if let Some(after) = late {
            return self.settle(head, Failure::TimedOut(after));
        }
        let call = match started {
            // It had not started this request: it died between requests, nobody's fault.
            Some((started, _)) if started == seq.wrapping_sub(1) => {
                self.deaths_before_start += 1;
                if self.deaths_before_start < DEATHS_BEFORE_START {
                    self.backlog.push_front(head);
                    return;
                }
                Some(0)
            }
            Some((started, call)) if started == seq && call < head.count => Some(call),
            // It ran every call, and died before its reply got out: the results are lost.
            _ => None,
        };
        self.deaths_before_start = 0;
        self.settle(head, Failure::Died { exit, call });
    }

    /// The worker broke the protocol: it is killed and replaced, and the request it ran fails.
    pub(super) fn misbehaved(&mut self, malformed: Malformed) {
        self.end_worker(true);
        self.per_call = None;
        let head = self.sent.pop_front();
        while let Some(sent) = self.sent.pop_back() {
            self.backlog.push_front(sent.request);
        }
        self.sent_bytes = 0;
        if let Some(head) = head {
            self.settle(head.request, Failure::Malformed(malformed));
        }
    }

    /// Answers `request`, whose worker failed it.
    pub(super) fn settle(&mut self, request: Request, failure: Failure) {
        match failure {
            Failure::Died {
                exit,
                call: Some(at),
            } if at < request.count => {
                let (before, mut culprit, after) = request.split_at(at);
                // Those after never ran; those before ran, and their results died with the
                // worker: both run again, before anything else.
                for part in [after, before].into_iter().flatten() {
                    self.backlog.push_front(part);
                }
                if culprit.take_retry() {
                    self.run_alone(culprit);
                } else {
                    culprit.fail_all(|| TaskError::worker_died(exit));
                }
            }
            Failure::Died { .. } if request.count > 1 => {
                for single in request.split() {
                    self.run_alone(single);
                }
            }
            Failure::Died { exit, .. } => {
                let mut request = request;
                if request.take_retry() {
                    self.run_alone(request);
                } else {
                    request.fail_all(|| TaskError::worker_died(exit));
                }
            }
            Failure::TimedOut(after) => request.fail_all(|| TaskError::timed_out(after)),
            Failure::Malformed(malformed) => {
                request.fail_all(|| TaskError::protocol(malformed.to_string()));
            }
        }
    }

    /// Runs one request with nothing else in flight (a retry, a call of a split batch): if
    /// the worker dies, this request killed it.
    pub(super) fn run_alone(&mut self, request: Request) {
        debug_assert!(
            self.sent.is_empty(),
            "a request runs alone on an idle worker"
        );
        self.send(request);
        while !self.sent.is_empty() {
            self.receive_one();
        }
    }
}
