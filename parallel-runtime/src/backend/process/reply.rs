//! Where the results of a request go: a spawned [`Task`](crate::Task), or a map's mailbox.

use std::sync::{Arc, Mutex};

use serde::de::DeserializeOwned;

use super::protocol::{DecodeValue, Outcomes};
use super::results::{ResultRun, Results, decode_results};
use crate::error::TaskError;
use crate::task::Completer;
use crate::wait::mailbox::Mailbox;

/// Where a request's results go.
pub(super) trait ReplyTo: Send + Sync {
    /// Calls `first..first + count` finished in `nanos` of the worker's time; `outcomes` holds
    /// what each gave. Called on the thread that drives the worker: a driver, so that decoding
    /// is off the caller's, or the caller itself when it sent the call directly and joins it.
    fn done(&self, first: usize, count: usize, nanos: u64, outcomes: &Outcomes<'_>);
    /// Call `index` failed.
    fn failed(&self, index: usize, error: TaskError);
    /// Marks the calls as started, just before they are sent; `false` if nobody wants their
    /// results any more (a cancelled task), and they are not sent.
    fn start(&self) -> bool {
        true
    }
}

/// Completes one spawned [`Task`](crate::Task).
pub(super) struct TaskReply<R> {
    pub(super) completer: Mutex<Option<Completer<R>>>,
    /// How the function's tuple values are read ([`ValueCodec`](super::protocol::ValueCodec)).
    pub(super) decode: Option<DecodeValue>,
}

impl<R: DeserializeOwned + Send + 'static> ReplyTo for TaskReply<R> {
    fn done(&self, first: usize, _: usize, _: u64, outcomes: &Outcomes<'_>) {
        let results = decode_results::<R>(outcomes, first, None, self.decode);
        let result = ResultRun { first, results }
            .into_iter()
            .next()
            .map_or_else(|| Err(TaskError::cancelled()), |(_, result)| result);
        self.finish(result);
    }

    fn failed(&self, _: usize, error: TaskError) {
        // A spawned task has no index of its own.
        self.finish(Err(error.without_index()));
    }

    fn start(&self) -> bool {
        self.completer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            // Sent again after its worker died before reaching it: already started.
            .is_some_and(|completer| completer.start() || !completer.is_cancelled())
    }
}

impl<R> TaskReply<R> {
    pub(super) fn finish(&self, result: Result<R, TaskError>) {
        let completer = self
            .completer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(completer) = completer {
            completer.finish(result);
        }
    }
}

/// What a map's requests send back to it.
pub(super) enum Reply<R> {
    Done {
        first: usize,
        count: usize,
        nanos: u64,
        results: Results<R>,
    },
    Failed {
        index: usize,
        error: TaskError,
    },
}

/// Sends a map's results to its mailbox.
pub(super) struct ChannelReply<R> {
    pub(super) replies: Arc<Mailbox<Reply<R>>>,
    pub(super) name: &'static str,
    /// How the function's tuple values are read ([`ValueCodec`](super::protocol::ValueCodec)).
    pub(super) decode: Option<DecodeValue>,
}

impl<R: DeserializeOwned + Send + 'static> ReplyTo for ChannelReply<R> {
    fn done(&self, first: usize, count: usize, nanos: u64, outcomes: &Outcomes<'_>) {
        let results = decode_results(outcomes, first, Some(self.name), self.decode);
        self.replies.send(Reply::Done {
            first,
            count,
            nanos,
            results,
        });
    }

    fn failed(&self, index: usize, error: TaskError) {
        self.replies.send(Reply::Failed { index, error });
    }
}
