//! A run frame that arrived whole from elsewhere, run on a local process pool and answered as
//! one reply frame: how an MPI rank started with isolation (`MpiPoolBuilder::isolate`) runs its
//! tasks in a worker process of its own, so that a task that crashes it fails alone.
//!
//! The calls keep their bytes: the frame goes to the local worker as it came. What the local
//! pool answers (values, and failures, including those only a pool has: a dead worker, a
//! timeout) is written back into one reply in call order.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::ProcessPool;
use super::protocol::{self, FailureKind, Outcome, Outcomes, OutcomesBuilder, ToWorker};
use super::registry;
use super::reply::ReplyTo;
use super::request::Request;
use super::results::{exit_to_wire, failure_error};
use crate::error::{ErrorKind, TaskError};

/// Runs the run frame `frame` (its tag and body) on `pool`, each call with `timeout` and
/// `retries`, and returns the reply frame (with its length prefix) for the request's sender.
pub(crate) fn run_frame(
    pool: &ProcessPool,
    frame: &[u8],
    timeout: Option<Duration>,
    retries: u32,
) -> Vec<u8> {
    let (seq, task_id, count) = match protocol::decode_to_worker(frame) {
        Ok(ToWorker::Run(run)) => (run.seq, run.task_id, run.calls.len()),
        Ok(_) => return protocol::refused(0, "a frame other than a run to run"),
        Err(malformed) => return protocol::refused(0, &malformed.to_string()),
    };
    let Some(entry) = registry::by_id(task_id) else {
        return protocol::refused(
            seq,
            &format!("this program has no `#[parallel]` function `{task_id}`"),
        );
    };
    let mut prefixed = Vec::with_capacity(frame.len() + 4);
    prefixed.extend_from_slice(&u32::try_from(frame.len()).unwrap_or(0).to_le_bytes());
    prefixed.extend_from_slice(frame);
    let started = Instant::now();
    let collected = Arc::new(Collected::new(count));
    pool.submit(Request::forwarded(
        entry,
        protocol::Outgoing::whole_frame(prefixed),
        count,
        Arc::clone(&collected) as Arc<dyn ReplyTo>,
        timeout,
        retries,
    ));
    let outcomes = collected.wait();
    let mut reply = OutcomesBuilder::new(Vec::new(), None);
    for (index, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Some(Ok(value)) => reply.push_encoded(value),
            Some(Err(error)) => {
                let (kind, message) = to_wire(error);
                reply.fail(index, kind, &message);
            }
            None => reply.fail(index, FailureKind::Cancelled, ""),
        }
    }
    let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    reply.finish(seq, count as u32, nanos)
}

/// A failure as a reply carries it.
fn to_wire(error: &TaskError) -> (FailureKind, String) {
    match error.kind() {
        ErrorKind::Panicked { message } => {
            protocol::panic_on_wire(error.location(), error.backtrace(), message)
        }
        ErrorKind::TimedOut { after } => (FailureKind::TimedOut, after.as_nanos().to_string()),
        // A rank's own pool is never terminated; the nearest the wire has.
        ErrorKind::Cancelled | ErrorKind::Terminated => (FailureKind::Cancelled, String::new()),
        ErrorKind::WorkerDied { exit } => (FailureKind::WorkerDied, exit_to_wire(*exit)),
        ErrorKind::Refused { message } => (FailureKind::Refused, message.clone()),
        ErrorKind::Serialization { message } => (FailureKind::Arguments, message.clone()),
        ErrorKind::Protocol { message } => (FailureKind::Protocol, message.clone()),
    }
}

/// One call's encoded value or error; `None` until the local pool answers it.
type Slot = Option<Result<Vec<u8>, TaskError>>;

/// Each call's encoded value or error, in call order, as the local pool answers them, and how
/// many are answered.
struct Collected {
    outcomes: Mutex<(Vec<Slot>, usize)>,
    all_in: Condvar,
}

impl Collected {
    fn new(count: usize) -> Self {
        Collected {
            outcomes: Mutex::new(((0..count).map(|_| None).collect(), 0)),
            all_in: Condvar::new(),
        }
    }

    fn set(&self, index: usize, outcome: Result<Vec<u8>, TaskError>) {
        let mut guard = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
        let (outcomes, answered) = &mut *guard;
        if let Some(slot @ None) = outcomes.get_mut(index) {
            *slot = Some(outcome);
            *answered += 1;
            if *answered == outcomes.len() {
                self.all_in.notify_all();
            }
        }
    }

    /// Waits until every call is answered (a request is always answered, at worst as
    /// cancelled when its pool goes away).
    fn wait(&self) -> Vec<Slot> {
        let mut guard = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
        while guard.1 < guard.0.len() {
            guard = self.all_in.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
        std::mem::take(&mut guard.0)
    }
}

impl ReplyTo for Collected {
    fn done(&self, first: usize, _: usize, _: u64, outcomes: &Outcomes<'_>) {
        for (index, outcome) in (first..).zip(outcomes.iter()) {
            match outcome {
                Outcome::Value(bytes) => self.set(index, Ok(bytes.to_vec())),
                Outcome::Failed(failure) => self.set(index, Err(failure_error(failure))),
            }
        }
    }

    fn failed(&self, index: usize, error: TaskError) {
        self.set(index, Err(error));
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::WorkerExit;
    use crate::backend::process::protocol::ToParent;

    /// Every kind of failure a local pool gives survives the reply and reads back the same.
    #[test]
    fn every_failure_crosses_a_reply_unchanged() {
        let errors = [
            TaskError::panicked(Box::new("boom".to_owned())),
            TaskError::panicked(Box::new("here".to_owned())).with_location("src/x.rs:1:2".into()),
            TaskError::timed_out(Duration::from_millis(1_500)),
            TaskError::cancelled(),
            TaskError::worker_died(WorkerExit::Signal(11)),
            TaskError::worker_died(WorkerExit::Code(7)),
            TaskError::worker_died(WorkerExit::Unknown),
            TaskError::refused("no worker"),
            TaskError::serialization("could not decode the arguments: short"),
            TaskError::protocol("a reply to another request"),
        ];
        let mut reply = OutcomesBuilder::new(Vec::new(), None);
        reply.push_encoded(&[42]);
        for (index, error) in errors.iter().enumerate() {
            let (kind, message) = to_wire(error);
            reply.fail(index + 1, kind, &message);
        }
        let count = errors.len() as u32 + 1;
        let frame = reply.finish(9, count, 0);
        let Ok(ToParent::Done { seq, outcomes, .. }) = protocol::decode_to_parent(&frame[4..])
        else {
            panic!("not a done frame");
        };
        assert_eq!(seq, 9);
        let outcomes = Outcomes::parse(&frame[4..][outcomes..], count).unwrap();
        let read: Vec<_> = outcomes.iter().collect();
        assert_eq!(read[0], Outcome::Value(&[42]));
        for (error, outcome) in errors.iter().zip(&read[1..]) {
            let Outcome::Failed(failure) = outcome else {
                panic!("a value for {error}");
            };
            let back = failure_error(failure);
            assert_eq!(back.kind(), error.kind());
            assert_eq!(back.location(), error.location());
        }
    }
}
