//! How a driver talks to one worker: the transport seam.
//!
//! A driver sends numbered requests (run frames) to its worker and reads the replies in order;
//! batching, pipelining, take-backs, retries, timeouts and reordering sit above this seam and
//! know nothing of what carries the frames. A transport says how to start a worker, how to send
//! and receive frames, and how the worker ended. Two carry them today: a private socket pair to
//! a worker process ([`socket::SocketTransport`]), and rings in memory shared with it, beside
//! that socket ([`shared_memory::SharedMemoryTransport`], the default).

#[cfg(feature = "mpi")]
pub(super) mod mpi;
pub(super) mod shared_memory;
pub(super) mod socket;

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::claim::Claims;
use super::protocol::{self, FrameBuffer, MAX_ATTACH, Malformed, Outgoing, ToParent};
use crate::error::WorkerExit;
use crate::shared_slice::Mapping;

/// How the pool's workers are started.
#[derive(Clone, Copy, Debug, Default)]
pub(in crate::backend::process) struct WorkerSettings {
    /// Whether a worker prints nothing when a task panics (the caller gets the message).
    pub(in crate::backend::process) quiet_panics: bool,
}

/// One worker, as a driver sees it.
pub(super) trait Transport: Sized {
    /// Starts a worker and waits until it is ready.
    fn start(settings: WorkerSettings) -> Result<Self, StartError>;

    /// Numbers the run frame `frame` and sends it; returns its number (from 1, wrapping).
    /// A transport that can send the frame's parts from their own memory does (MPI); the others
    /// send it whole. `limits` are its calls' timeout and retries, for a transport whose worker enforces
    /// them itself (an isolated MPI rank's pool); the others ignore them (their driver does).
    ///
    /// # Errors
    ///
    /// When the worker is gone.
    fn send(&mut self, frame: &mut Outgoing, limits: CallLimits) -> io::Result<u32>;

    /// Brings the worker up to date for a request that names the `SharedSlice`s `slices`,
    /// before it is sent: sends the files of those it does not hold yet, and names those it
    /// holds that the parent has dropped since, for it to unmap.
    ///
    /// # Errors
    ///
    /// When the worker is gone.
    fn attach(&mut self, slices: &[Arc<Mapping>]) -> io::Result<()>;

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

    /// The worker's process id, where it is a process of this host that the pool may kill
    /// (`ProcessPool::terminate`).
    fn pid(&self) -> Option<u32>;

    /// Stops the worker now; replies it already sent can still be read.
    fn kill(&mut self);

    /// Ends the worker (stopping it first if `kill`; otherwise it ends once told there is no
    /// more work) and says how it ended.
    fn end(&mut self, kill: bool) -> WorkerExit;
}

/// A request's calls' timeout and retries.
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub(super) struct CallLimits {
    pub(super) timeout: Option<Duration>,
    pub(super) retries: u32,
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
    /// It started, and the pool's initializer failed in it (the message says how).
    Initializer(String),
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

/// The `SharedSlice`s one worker holds, as its transport knows them: a new worker holds none.
#[derive(Default)]
pub(super) struct Attached {
    held: HashMap<u64, Weak<Mapping>>,
    /// [`Mapping::dropped`] when `held` was last searched for dropped arrays.
    dropped_seen: u64,
}

/// An attach frame, and the arrays whose files go with it (in the frame's order).
pub(super) struct AttachFrame<'a> {
    pub(super) frame: Vec<u8>,
    pub(super) files: Vec<&'a Mapping>,
}

impl Attached {
    /// The frames that bring the worker up to date for `slices` (see [`Transport::attach`]),
    /// recorded as sent; usually none, found without allocating. A transport that fails to send
    /// them has lost its worker, and the next one starts from nothing.
    pub(super) fn frames<'a>(&mut self, slices: &'a [Arc<Mapping>]) -> Vec<AttachFrame<'a>> {
        let dropped = Mapping::dropped();
        let detach = dropped != self.dropped_seen && !self.held.is_empty();
        if !detach
            && slices
                .iter()
                .all(|slice| self.held.contains_key(&slice.id()))
        {
            self.dropped_seen = dropped;
            return Vec::new();
        }
        self.dropped_seen = dropped;
        let mut detached = Vec::new();
        if detach {
            self.held.retain(|&id, slice| {
                let alive = slice.strong_count() > 0;
                if !alive {
                    detached.push(id);
                }
                alive
            });
        }
        let mut new: Vec<&Mapping> = Vec::new();
        for slice in slices {
            // Only the parent's arrays have a file (a worker's handles refuse to encode).
            if slice.fd().is_some() && !self.held.contains_key(&slice.id()) {
                self.held.insert(slice.id(), Arc::downgrade(slice));
                new.push(slice);
            }
        }
        if new.is_empty() && detached.is_empty() {
            return Vec::new();
        }
        let mut frames: Vec<AttachFrame<'a>> = new
            .chunks(MAX_ATTACH)
            .map(|files| AttachFrame {
                frame: Vec::new(),
                files: files.to_vec(),
            })
            .collect();
        if frames.is_empty() {
            frames.push(AttachFrame {
                frame: Vec::new(),
                files: Vec::new(),
            });
        }
        for (at, frame) in frames.iter_mut().enumerate() {
            let ids: Vec<u64> = frame.files.iter().map(|file| file.id()).collect();
            let detached: &[u64] = if at == 0 { &detached } else { &[] };
            frame.frame = protocol::attach_frame(&ids, detached);
        }
        frames
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod test {
    use super::*;
    use crate::SharedSlice;

    fn ids(frames: &[AttachFrame<'_>]) -> Vec<Vec<u64>> {
        frames
            .iter()
            .map(|frame| frame.files.iter().map(|file| file.id()).collect())
            .collect()
    }

    #[test]
    fn each_array_goes_once_and_dropped_ones_are_named() {
        let mut slices: Vec<SharedSlice<u8>> = (0..70)
            .map(|i| SharedSlice::from_slice(&[i]).unwrap())
            .collect();
        let mappings: Vec<Arc<Mapping>> = slices.iter().map(|s| Arc::clone(s.mapping())).collect();
        let mut attached = Attached::default();
        let frames = attached.frames(&mappings[..3]);
        assert_eq!(
            ids(&frames),
            [mappings[..3].iter().map(|m| m.id()).collect::<Vec<_>>()]
        );
        // Held already: nothing to send.
        assert!(attached.frames(&mappings[..3]).is_empty());
        // 67 new ones: two frames, 64 files at most each.
        let frames = attached.frames(&mappings);
        assert_eq!(
            frames.iter().map(|f| f.files.len()).collect::<Vec<_>>(),
            [64, 3]
        );
        drop(frames);
        // The first array dropped everywhere: the next request names it, once.
        let first = mappings[0].id();
        drop(mappings);
        drop(slices.remove(0));
        let frames = attached.frames(&[]);
        assert_eq!(frames.len(), 1);
        assert!(frames[0].files.is_empty());
        assert_eq!(frames[0].frame, protocol::attach_frame(&[], &[first]));
        assert!(attached.frames(&[]).is_empty());
    }
}
