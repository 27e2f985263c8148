//! A request: calls of one `#[parallel]` function gathered and encoded into one frame, with
//! where their results go.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::protocol::{self, ArgsOut, Outgoing, RunFrame, SHORTEST_PART};
use super::registry::Entry;
use super::reply::ReplyTo;
use crate::error::TaskError;
use crate::shared_slice::{self, Mapping};

/// Calls of one function being gathered into a request.
pub(super) struct RequestBuilder {
    entry: &'static Entry,
    first: usize,
    frame: RunFrame,
    /// The `SharedSlice`s the arguments name, each once.
    slices: Vec<Arc<Mapping>>,
    /// Whether arguments that are large byte strings stay out of the frame, as parts.
    parts: bool,
}

impl RequestBuilder {
    /// A request for calls `first..` with room for one call.
    pub(super) fn new(entry: &'static Entry, first: usize) -> Self {
        Self::with_capacity(entry, first, 1, 0)
    }

    /// A request for calls `first..` with room for `calls` calls of `bytes` bytes of arguments
    /// in all.
    pub(super) fn with_capacity(
        entry: &'static Entry,
        first: usize,
        calls: usize,
        bytes: usize,
    ) -> Self {
        RequestBuilder {
            entry,
            first,
            frame: RunFrame::new(entry.id, calls, bytes),
            slices: Vec::new(),
            parts: false,
        }
    }

    /// Leaves arguments that are large byte strings (a `Vec<u8>` or `ByteBuf` of 64 KiB or
    /// more, alone or as an element of the argument tuple) out of the frame, to be sent from
    /// their own memory: for a transport that can ([`Outgoing`]), when `parts`.
    pub(super) fn with_parts(mut self, parts: bool) -> Self {
        self.parts = parts;
        self
    }

    /// Adds a call, taking its arguments: a large byte string may stay out of the frame (see
    /// [`RequestBuilder::with_parts`]), alone or as an element of the argument tuple; one whose
    /// arguments do not encode is left out, and is the error.
    #[inline]
    pub(super) fn push_owned<T: Serialize + 'static>(&mut self, args: T) -> Result<(), TaskError> {
        if let Some(pushed) = self.push_direct(&args) {
            return pushed;
        }
        let args = if self.parts {
            match protocol::into_byte_string(args) {
                Ok(bytes) if bytes.len() >= SHORTEST_PART => {
                    return self.frame.push_part(bytes).map_err(arguments_error);
                }
                // The same bytes on the wire as the arguments themselves.
                Ok(bytes) => return self.push(&bytes),
                Err(args) => args,
            }
        } else {
            args
        };
        // Element by element where the function's entry knows the tuple (the same bytes).
        let (encode, parts) = (self.entry.encode, self.parts);
        let mut args = Some(args);
        self.push_with(|frame| {
            let mut out = ArgsOut::new(frame, parts);
            let encoded = encode(&mut args, &mut out);
            match &args {
                // Left as they were: not a tuple the entry writes element by element.
                Some(args) if !encoded => frame.push(&protocol::Bulk(args)),
                _ => out.into_pushed(),
            }
        })
    }

    /// Adds a call; one whose arguments do not encode is left out, and is the error.
    #[inline]
    pub(super) fn push<T: Serialize + 'static>(&mut self, args: &T) -> Result<(), TaskError> {
        if let Some(pushed) = self.push_direct(args) {
            return pushed;
        }
        self.push_with(|frame| frame.push(&protocol::Bulk(args)))
    }

    /// Adds a call whose arguments are a plain number or an array of fixed-width numbers (or
    /// a tuple of one), written directly; `None`, with nothing added, for other types.
    #[inline(always)]
    fn push_direct<T: 'static>(&mut self, args: &T) -> Option<Result<(), TaskError>> {
        if self.frame.push_plain(args) {
            return Some(Ok(()));
        }
        let pushed = self.frame.push_array(args)?;
        Some(pushed.map_err(arguments_error))
    }

    /// Adds the call `encode` adds to the frame, and the arrays its arguments name.
    #[inline]
    fn push_with(
        &mut self,
        encode: impl FnOnce(&mut RunFrame) -> Result<(), protocol::EncodeError>,
    ) -> Result<(), TaskError> {
        // The arrays of a call whose arguments do not encode are left out with it; an array
        // named by an earlier call stays.
        let before = self.slices.len();
        let frame = &mut self.frame;
        let pushed = shared_slice::collecting(&mut self.slices, || encode(frame));
        if pushed.is_err() {
            self.slices.truncate(before);
        }
        pushed.map_err(arguments_error)
    }

    /// Bytes of arguments so far.
    pub(super) fn args_len(&self) -> usize {
        self.frame.args_len()
    }

    /// How many calls there are.
    pub(super) fn len(&self) -> usize {
        self.frame.len()
    }

    /// The encoded frame alone, for a request sent outside the pool's queue (an initializer).
    pub(super) fn into_frame(self) -> Vec<u8> {
        self.frame.finish().into_whole()
    }

    /// The request, answered through `reply`.
    pub(super) fn finish(
        self,
        reply: Arc<dyn ReplyTo>,
        timeout: Option<Duration>,
        retries: u32,
    ) -> Request {
        let count = self.frame.len();
        Request {
            entry: self.entry,
            first: self.first,
            count,
            frame: self.frame.finish(),
            slices: self.slices,
            reply,
            timeout,
            retries,
            answered: false,
        }
    }
}

#[cfg(feature = "mpi")]
impl Request {
    /// A request made of a run frame that arrived whole (its `count` calls of `entry`, with
    /// its length prefix), answered through `reply`: how an MPI rank hands a request on to its
    /// own worker process (`forward`).
    pub(super) fn forwarded(
        entry: &'static Entry,
        frame: Outgoing,
        count: usize,
        reply: Arc<dyn ReplyTo>,
        timeout: Option<Duration>,
        retries: u32,
    ) -> Request {
        Request {
            entry,
            first: 0,
            count,
            frame,
            slices: Vec::new(),
            reply,
            timeout,
            retries,
            answered: false,
        }
    }
}

#[cold]
fn arguments_error(error: protocol::EncodeError) -> TaskError {
    TaskError::serialization(format!("could not encode the arguments: {error}"))
}

/// Calls `first..first + count` of one function, encoded and ready to send.
pub(super) struct Request {
    pub(super) entry: &'static Entry,
    pub(super) first: usize,
    pub(super) count: usize,
    pub(super) frame: Outgoing,
    /// The `SharedSlice`s the calls name: the worker must hold them before the frame arrives,
    /// and they live at least until the request is answered.
    pub(super) slices: Vec<Arc<Mapping>>,
    pub(super) reply: Arc<dyn ReplyTo>,
    /// How long one call may run (requests with a timeout hold one call).
    pub(super) timeout: Option<Duration>,
    /// How many more times a call whose worker died runs again.
    pub(super) retries: u32,
    answered: bool,
}

impl Request {
    /// Fails every call with the error `error` makes.
    pub(super) fn fail_all(mut self, error: impl Fn() -> TaskError) {
        self.answered = true;
        for index in self.first..self.first + self.count {
            self.reply.failed(index, self.named(error(), index));
        }
    }

    fn named(&self, error: TaskError, index: usize) -> TaskError {
        error.with_index(index).with_name(self.entry.name)
    }

    /// The calls `range` (indexes within this request) as a request of their own; its frame
    /// must be whole.
    fn part(&self, range: Range<usize>) -> Request {
        debug_assert!(!self.frame.has_parts(), "split a whole frame");
        let calls = protocol::calls_of(self.frame.own_bytes());
        let args: Vec<&[u8]> = calls.iter().skip(range.start).take(range.len()).collect();
        let bytes = args.iter().map(|args| args.len()).sum();
        let mut frame = RunFrame::new(self.entry.id, args.len(), bytes);
        for args in args {
            frame.push_encoded(args);
        }
        Request {
            entry: self.entry,
            first: self.first + range.start,
            count: range.len(),
            frame: frame.finish(),
            // Every array of the whole request: a few too many costs nothing.
            slices: self.slices.clone(),
            reply: Arc::clone(&self.reply),
            timeout: self.timeout,
            retries: self.retries,
            answered: false,
        }
    }

    /// One request per call, to find the call that killed a worker.
    pub(super) fn split(mut self) -> Vec<Request> {
        self.answered = true;
        self.frame.whole();
        (0..self.count).map(|at| self.part(at..at + 1)).collect()
    }

    /// The calls before call `at`, call `at` alone, and the calls after it; empty parts are
    /// `None`.
    pub(super) fn split_at(mut self, at: usize) -> (Option<Request>, Request, Option<Request>) {
        self.answered = true;
        self.frame.whole();
        let before = (at > 0).then(|| self.part(0..at));
        let after = (at + 1 < self.count).then(|| self.part(at + 1..self.count));
        (before, self.part(at..at + 1), after)
    }

    /// Hands what the worker answered for every call to the request's reply.
    pub(super) fn done(mut self, nanos: u64, outcomes: &protocol::Outcomes<'_>) {
        self.reply.done(self.first, self.count, nanos, outcomes);
        self.answered = true;
    }

    /// Takes one retry, if any is left.
    pub(super) fn take_retry(&mut self) -> bool {
        let left = self.retries > 0;
        self.retries = self.retries.saturating_sub(1);
        left
    }
}

impl Drop for Request {
    /// A request dropped unanswered (its pool is gone, or its driver failed) reports its calls
    /// as cancelled: every call is answered once, whatever happens.
    fn drop(&mut self) {
        if !self.answered {
            for index in self.first..self.first + self.count {
                let error = self.named(TaskError::cancelled(), index);
                self.reply.failed(index, error);
            }
        }
        protocol::give_back_frame(std::mem::take(&mut self.frame).into_own_bytes());
    }
}
