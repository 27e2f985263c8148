//! The MPI transport: a worker rank of an MPI job, lent by the world (`mpi::world`) to one
//! driver, and MPI messages to and from it.
//!
//! Requests and replies are the process backend's frames, without their length prefix (MPI
//! carries the length). What MPI cannot do changes three things:
//!
//! - A rank cannot be killed: a call past its timeout fails as timed out, and the rank goes back
//!   to the world still running it; its reply is read and dropped before the rank's next
//!   request. A dead rank ends the whole job in plain MPI (the launcher stops every rank), so
//!   there is no dead worker to replace.
//! - There is no shared page: requests are not pipelined.
//! - Large byte strings of arguments cross from their own memory, as messages of their own
//!   (`mpi::parts`), rather than copied into the frame first.
//! - `SharedSlice`s do not reach other hosts: their handles travel, their memory does not, and a
//!   task that reads one fails (its argument does not decode).

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{CallLimits, ReceiveError, Reply, StartError, Transport, WorkerSettings, decode_reply};
use crate::backend::process::claim::Claims;
use crate::backend::process::mpi::parts::{self, PART_PLACE, PARTS_HEAD};
use crate::backend::process::mpi::world::{self, Lent, World};
use crate::backend::process::mpi::{ISOLATED_HEADER, TAG_RUN, TAG_RUN_ISOLATED};
use crate::backend::process::protocol::{self, FrameBuffer, Outgoing};
use crate::error::WorkerExit;
use crate::shared_slice::Mapping;

/// Bytes of a frame's length prefix, which MPI messages leave out.
const PREFIX: usize = 4;
/// How much longer than a call's timeout the driver waits for an isolated rank, which kills
/// its worker process at the timeout and answers that the call timed out: the rank stays
/// usable, rather than becoming one that runs a late call.
const ISOLATED_GRACE: Duration = Duration::from_secs(2);

pub(in crate::backend::process) struct MpiTransport {
    world: &'static World,
    /// `None` once given back.
    lent: Option<Lent>,
    /// Requests sent and not answered yet.
    unanswered: u32,
    /// Given up on: no reply is waited for any more.
    killed: bool,
    /// An isolated request as it goes out: its header, then its frame.
    isolated: Vec<u8>,
}

impl Transport for MpiTransport {
    fn start(_: WorkerSettings) -> Result<MpiTransport, StartError> {
        // The pool started the world before its drivers.
        let world = world::started()
            .ok_or_else(|| StartError::Spawn(io::Error::other("MPI did not start")))?;
        let Some(mut lent) = world.lend() else {
            return Err(StartError::Spawn(io::Error::other(
                "the program is exiting",
            )));
        };
        // Replies to calls an earlier driver gave up on.
        let mut buffer = FrameBuffer::default();
        while lent.stale > 0 {
            world.wait_reply(lent.rank, None, false);
            match world.try_receive(lent.rank, &mut buffer) {
                Ok(true) => lent.stale -= 1,
                Ok(false) => {}
                Err(()) => {
                    return Err(StartError::Spawn(io::Error::other(
                        "the program is exiting",
                    )));
                }
            }
        }
        Ok(MpiTransport {
            world,
            lent: Some(lent),
            unanswered: 0,
            killed: false,
            isolated: Vec::new(),
        })
    }

    fn send(&mut self, frame: &mut Outgoing, limits: CallLimits) -> io::Result<u32> {
        let lent = self.lent.as_mut().ok_or(io::ErrorKind::BrokenPipe)?;
        if self.killed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let (frame, parts) = frame.pieces();
        // Every message within MPI's counts: the frame with the longest head it can have, and
        // each part.
        let longest = frame.len() + ISOLATED_HEADER + PARTS_HEAD + PART_PLACE * parts.len();
        if frame.len() <= PREFIX
            || i32::try_from(longest).is_err()
            || parts
                .iter()
                .any(|part| i32::try_from(part.bytes.len()).is_err())
        {
            return Err(io::Error::other(
                "a request of 2 GiB or more cannot go by MPI",
            ));
        }
        let seq = lent.last_seq.wrapping_add(1);
        protocol::set_seq(frame, seq);
        let header = self.world.isolated().then(|| {
            let timeout = limits.timeout.map_or(0, |timeout| {
                u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX).max(1)
            });
            let mut header = [0; ISOLATED_HEADER];
            header[..8].copy_from_slice(&timeout.to_le_bytes());
            header[8..].copy_from_slice(&limits.retries.to_le_bytes());
            header
        });
        let sent = if !parts.is_empty() {
            let (tag, prefix) = match &header {
                Some(header) => (TAG_RUN_ISOLATED, &header[..]),
                None => (TAG_RUN, &[][..]),
            };
            let head = parts::head(tag, prefix, &frame[PREFIX..], PREFIX, parts);
            self.world.send_parts(lent.rank, &head, parts)
        } else if let Some(header) = header {
            self.isolated.clear();
            self.isolated.extend_from_slice(&header);
            self.isolated.extend_from_slice(&frame[PREFIX..]);
            let sent = self.world.send(lent.rank, &self.isolated, TAG_RUN_ISOLATED);
            if self.isolated.capacity() > 1 << 20 {
                self.isolated = Vec::new();
            }
            sent
        } else {
            self.world.send(lent.rank, &frame[PREFIX..], TAG_RUN)
        };
        if !sent {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        lent.last_seq = seq;
        self.unanswered += 1;
        Ok(seq)
    }

    fn attach(&mut self, _: &[Arc<Mapping>]) -> io::Result<()> {
        Ok(())
    }

    fn receive(
        &mut self,
        timeout: Option<Duration>,
        poll: bool,
        buffer: &mut FrameBuffer,
    ) -> Result<Reply, ReceiveError> {
        let rank = self.lent.as_ref().ok_or(ReceiveError::Gone)?.rank;
        let received = if self.killed {
            // Only what has come already.
            self.world.try_receive(rank, buffer)
        } else {
            let grace = if self.world.isolated() {
                ISOLATED_GRACE
            } else {
                Duration::ZERO
            };
            let deadline = timeout.map(|timeout| Instant::now() + timeout + grace);
            match self.world.receive(rank, deadline, poll, buffer) {
                Ok(false) => return Err(ReceiveError::TimedOut),
                received => received,
            }
        };
        if received != Ok(true) {
            return Err(ReceiveError::Gone);
        }
        self.unanswered = self.unanswered.saturating_sub(1);
        if buffer.frame().is_empty() {
            return Err(ReceiveError::Malformed(protocol::Malformed(
                "a frame of length zero",
            )));
        }
        decode_reply(buffer)
    }

    fn wait_readable(&self, deadline: Instant) -> bool {
        match &self.lent {
            Some(lent) => self.world.wait_reply(lent.rank, Some(deadline), true),
            None => true,
        }
    }

    fn claims(&self) -> Option<&Claims> {
        None
    }

    fn last_seq(&self) -> u32 {
        self.lent.as_ref().map_or(0, |lent| lent.last_seq)
    }

    fn pid(&self) -> Option<u32> {
        // A rank, on this host or another: MPI cannot kill it alone.
        None
    }

    fn kill(&mut self) {
        // A rank cannot be killed without ending the job: its late replies are dropped instead.
        self.killed = true;
    }

    fn end(&mut self, kill: bool) -> WorkerExit {
        if kill {
            self.kill();
        }
        if let Some(mut lent) = self.lent.take() {
            lent.stale += std::mem::take(&mut self.unanswered);
            self.world.give_back(lent);
        }
        // The rank serves on.
        WorkerExit::Code(0)
    }
}

impl Drop for MpiTransport {
    fn drop(&mut self) {
        self.end(false);
    }
}
