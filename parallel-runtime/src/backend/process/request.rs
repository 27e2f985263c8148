//! A request: calls of one `#[parallel]` function gathered and encoded into one frame, with
//! where their results go.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::protocol::{self, RunFrame};
use super::registry::Entry;
use super::reply::ReplyTo;
use crate::error::TaskError;

/// Calls of one function being gathered into a job.
pub(super) struct RequestBuilder {
    entry: &'static Entry,
    first: usize,
    frame: RunFrame,
    ends: Vec<u32>,
}

impl RequestBuilder {
    pub(super) fn new(entry: &'static Entry, first: usize) -> Self {
        Self::with_capacity(entry, first, 1, 0)
    }

    /// A batch with room for `calls` calls of `bytes` bytes of arguments in all.
    pub(super) fn with_capacity(
        entry: &'static Entry,
        first: usize,
        calls: usize,
        bytes: usize,
    ) -> Self {
        RequestBuilder {
            entry,
            first,
            frame: RunFrame::new(entry.id, bytes),
            ends: Vec::with_capacity(calls),
        }
    }

    /// Adds a call; one whose arguments do not encode is left out.
    pub(super) fn push<T: Serialize>(&mut self, args: &T) -> Result<(), TaskError> {
        let buffer = self.frame.buffer();
        let mark = buffer.len();
        if let Err(e) = protocol::encode(args, buffer) {
            buffer.truncate(mark);
            return Err(TaskError::refused(format!(
                "could not encode the arguments: {e}"
            )));
        }
        let end = u32::try_from(self.args_len()).unwrap_or(u32::MAX);
        self.ends.push(end);
        Ok(())
    }

    /// Bytes of arguments so far.
    pub(super) fn args_len(&self) -> usize {
        self.frame.args_len()
    }

    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(super) fn finish(
        self,
        reply: Arc<dyn ReplyTo>,
        timeout: Option<Duration>,
        retries: u32,
    ) -> Request {
        let count = u32::try_from(self.ends.len()).expect("batches are small");
        let args_start = self.frame.args_start();
        Request {
            entry: self.entry,
            first: self.first,
            count,
            frame: self.frame.finish(count),
            args_start,
            ends: self.ends,
            reply,
            timeout,
            retries,
            answered: false,
        }
    }
}

/// A batch of calls of one function, ready to send.
pub(super) struct Request {
    pub(super) entry: &'static Entry,
    pub(super) first: usize,
    pub(super) count: u32,
    pub(super) frame: Vec<u8>,
    pub(super) args_start: usize,
    /// The end of each call's arguments, relative to `args_start`: how to split the batch.
    pub(super) ends: Vec<u32>,
    pub(super) reply: Arc<dyn ReplyTo>,
    pub(super) timeout: Option<Duration>,
    pub(super) retries: u32,
    pub(super) answered: bool,
}

impl Request {
    pub(super) fn fail_all(mut self, error: impl Fn() -> TaskError) {
        self.answered = true;
        for index in self.first..self.first + self.count as usize {
            self.reply.failed(index, self.named(error(), index));
        }
    }

    pub(super) fn named(&self, error: TaskError, index: usize) -> TaskError {
        error.with_index(index).with_name(self.entry.name)
    }

    /// One job per call, to find the call that killed a worker.
    pub(super) fn split(mut self) -> Vec<Request> {
        self.answered = true;
        let args = &self.frame[self.args_start..];
        let mut start = 0;
        let mut singles = Vec::with_capacity(self.ends.len());
        for (offset, &end) in self.ends.iter().enumerate() {
            let mut frame = RunFrame::new(self.entry.id, (end - start) as usize);
            frame
                .buffer()
                .extend_from_slice(&args[start as usize..end as usize]);
            let args_start = frame.args_start();
            singles.push(Request {
                entry: self.entry,
                first: self.first + offset,
                count: 1,
                frame: frame.finish(1),
                args_start,
                ends: vec![end - start],
                reply: Arc::clone(&self.reply),
                timeout: self.timeout,
                retries: self.retries,
                answered: false,
            });
            start = end;
        }
        singles
    }

    /// Hands what the worker answered for every call to the request's reply.
    pub(super) fn done(mut self, nanos: u64, outcomes: &[u8]) {
        self.answered = true;
        self.reply.done(self.first, self.count, nanos, outcomes);
    }

    /// Takes one retry, if any is left.
    pub(super) fn take_retry(&mut self) -> bool {
        let left = self.retries > 0;
        self.retries = self.retries.saturating_sub(1);
        left
    }
}

impl Drop for Request {
    /// A job dropped unanswered (its pool is gone) reports its calls as cancelled.
    fn drop(&mut self) {
        if !self.answered {
            for index in self.first..self.first + self.count as usize {
                let error = self.named(TaskError::cancelled(), index);
                self.reply.failed(index, error);
            }
        }
    }
}
