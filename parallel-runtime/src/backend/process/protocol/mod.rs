//! Parent <-> worker messages on the private socket: length-prefixed frames, built in place so
//! that large arguments are never copied.
//!
//! ```text
//! frame     = len:u32le tag:u8 body            (len counts tag and body, 1 ..= u32::MAX)
//! setup     = tag 5                            parent -> worker, first; carries the fd of the
//!                                              shared page (SCM_RIGHTS) where there is one
//! hello     = tag 4                            worker -> parent, once it serves
//! run       = tag 1, seq:u32le count:u32le id_len:u16le id args_len:u32le args lens
//! done      = tag 2, seq:u32le count:u32le nanos:u64le outcomes
//! refused   = tag 3, seq:u32le message (UTF-8)
//!
//! args      = one postcard argument tuple per call, back to back
//! lens      = count varints: the length of each call's arguments in `args`
//! outcomes  = values lens failures values_len:u32le lens_len:u32le returned:u32le failed:u32le
//! values    = one postcard value per call that returned, in call order (and `lens`, one
//!             varint per value: its length)
//! failures  = `failed` postcard (index:u32, kind:u8, message:String), in call order
//! varint    = an unsigned LEB128 number below 2^32 (one byte below 128)
//! ```
//!
//! Every call has its own bytes, so a call whose data does not decode fails alone, and bytes a
//! decoder leaves over are an error of that call. Nothing read from the socket is trusted:
//! lengths and counts are checked against the bytes that arrived before anything is allocated
//! for them, and a frame that breaks the grammar is [`Malformed`]: the worker that sent it (or
//! the worker that received it) is replaced.
//!
//! The bound, for a frame of which `n` bytes arrived: reading it grows the buffer to at most
//! `max(2n, 64 KiB)`; decoding it (frame, outcomes, failures, and values of std types) allocates
//! no block larger than `n` bytes, or serde's cautious first allocation of a sequence (1 MiB).
//! `protocol/fuzz.rs` checks both on a million random and mutated frames.

mod codec;
mod frame;
mod outcomes;
mod run;

pub(crate) use codec::{EncodeError, decode_exact, left_over};
pub(crate) use frame::{FrameBuffer, enlarge_send_buffer, read_frame, write_frame};
pub use outcomes::OutcomesBuilder;
pub(crate) use outcomes::{
    CallFailure, FailureKind, Outcome, Outcomes, ToParent, decode_to_parent, refused,
};
pub use run::Calls;
pub(crate) use run::{Run, RunFrame, ToWorker, calls_of, decode_to_worker, set_seq};

use std::fmt;
use std::io;

pub(super) const RUN: u8 = 1;
pub(super) const DONE: u8 = 2;
pub(super) const REFUSED: u8 = 3;
pub(super) const HELLO: u8 = 4;
pub(super) const SETUP: u8 = 5;

/// The largest frame, tag and body: the length prefix is a `u32`.
pub(crate) const MAX_FRAME: usize = u32::MAX as usize;
/// The most calls in one request. A worker rejects a request that claims more.
pub(crate) const MAX_CALLS: usize = 1 << 16;
/// Bytes of a frame before its body: the length prefix and the tag.
pub(super) const FRAME_HEADER: usize = 4 + 1;
/// Bytes before a run's task id: frame header, seq, count, id length.
pub(super) const RUN_HEADER: usize = FRAME_HEADER + 4 + 4 + 2;
/// The most bytes of a varint.
pub(super) const MAX_VARINT: usize = 5;
/// Bytes before a done's outcomes: frame header, seq, count, nanos.
pub(super) const DONE_HEADER: usize = FRAME_HEADER + 4 + 4 + 8;
/// Bytes of the outcomes' footer: the values' and lengths' sizes, the returned and failed
/// counts.
pub(super) const OUTCOMES_FOOTER: usize = 4 + 4 + 4 + 4;
/// A reply keeps this much of the frame for its value lengths and failures: values stop short
/// of it.
pub(super) const REPLY_RESERVE: usize = 64 << 20;
/// The longest message kept for a failed call; longer ones are cut.
pub(super) const MAX_MESSAGE: usize = 64 << 10;
/// How many bytes of a frame are asked for before any of it has arrived: a frame's allocation
/// grows with the bytes that arrive, never with what its length prefix claims.
pub(super) const FIRST_READ: usize = 64 << 10;

/// What was wrong with a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed frame: {}", self.0)
    }
}

impl From<Malformed> for io::Error {
    fn from(malformed: Malformed) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, malformed.to_string())
    }
}

/// The worker's greeting, sent once it serves.
pub(crate) const HELLO_FRAME: [u8; 5] = [1, 0, 0, 0, HELLO];
/// The parent's first frame.
pub(crate) const SETUP_FRAME: [u8; 5] = [1, 0, 0, 0, SETUP];

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod test;
