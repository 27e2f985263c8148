//! How a driver talks to one worker: the transport seam.
//!
//! A driver sends numbered requests (run frames) to its worker and reads the replies in order;
//! batching, pipelining, take-backs, retries, timeouts and reordering sit above this seam and
//! know nothing of what carries the frames. A transport says how to start a worker, how to send
//! and receive frames, and how the worker ended. Two carry them today: a private socket pair to
//! a worker process ([`socket::SocketTransport`]), and rings in memory shared with it, beside
//! that socket ([`shared_memory::SharedMemoryTransport`], the default).

pub(super) mod shared_memory;
pub(super) mod socket;

use std::io;
use std::time::{Duration, Instant};

use super::claim::Claims;
use super::protocol::{self, FrameBuffer, Malformed, ToParent};
use crate::error::WorkerExit;

/// One worker, as a driver sees it.
pub(super) trait Transport: Sized {
    /// Starts a worker and waits until it is ready.
    fn start() -> Result<Self, StartError>;

    /// Numbers the run frame `frame` and sends it; returns its number (from 1, wrapping).
    ///
    /// # Errors
    ///
    /// When the worker is gone.
    fn send(&mut self, frame: &mut [u8]) -> io::Result<u32>;

    /// Reads the reply to the oldest request into `buffer`, within `timeout`, polling for it
    /// first if `poll`.
    fn receive(
        &mut self,
        timeout: Option<Duration>,
        poll: bool,
        buffer: &mut FrameBuffer,
    ) -> Result<Reply, ReceiveError>;

    /// Waits until a reply can be read, or `deadline` passes; whether one can.
    fn wait_readable(&self, deadline: Instant) -> bool;

    /// The page this worker shares with the parent, where the transport has one: without it,
    /// requests are not pipelined and a crash in a batch is searched for call by call.
    fn claims(&self) -> Option<&Claims>;

    /// The number of the last request sent.
    fn last_seq(&self) -> u32;

    /// Stops the worker now; replies it already sent can still be read.
    fn kill(&mut self);

    /// Ends the worker (stopping it first if `kill`; otherwise it ends once told there is no
    /// more work) and says how it ended.
    fn end(&mut self, kill: bool) -> WorkerExit;
}

/// Why a worker did not start.
#[derive(Debug)]
pub(super) enum StartError {
    /// The executable could not be started at all (no processes left, no memory, ...).
    Spawn(io::Error),
    /// It started, and ended before it was ready: it was killed, or crashed.
    Died(WorkerExit),
    /// It did not say it was ready within its start timeout, and was killed.
    TimedOut,
    /// It said something else than that it was ready.
    Malformed(Malformed),
    /// This platform runs no worker processes.
    Unsupported,
}

/// A reply of the worker, read into the driver's buffer.
pub(super) enum Reply {
    Done {
        seq: u32,
        count: u32,
        nanos: u64,
        /// Where the outcomes start in the buffer.
        outcomes: usize,
    },
    Refused {
        seq: u32,
        message: String,
    },
}

/// Why no reply came.
#[derive(Debug)]
pub(super) enum ReceiveError {
    /// The timeout passed.
    TimedOut,
    /// The worker is gone: its socket closed or failed.
    Gone,
    /// It sent something that is not a reply.
    Malformed(Malformed),
}

/// Reads the reply frame in `buffer`.
pub(super) fn decode_reply(buffer: &FrameBuffer) -> Result<Reply, ReceiveError> {
    match protocol::decode_to_parent(buffer.frame()) {
        Ok(ToParent::Done {
            seq,
            count,
            nanos,
            outcomes,
        }) => Ok(Reply::Done {
            seq,
            count,
            nanos,
            outcomes,
        }),
        Ok(ToParent::Refused { seq, message }) => Ok(Reply::Refused {
            seq,
            message: message.to_owned(),
        }),
        Ok(ToParent::Hello) => Err(ReceiveError::Malformed(Malformed("a second greeting"))),
        Err(malformed) => Err(ReceiveError::Malformed(malformed)),
    }
}
