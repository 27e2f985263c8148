//! Parent <-> worker messages on the private socket: length-prefixed frames, built in place so
//! that large arguments are never copied.
//!
//! ```text
//! frame     = len:u32le tag:u8 body            (len counts tag and body, 1 ..= u32::MAX)
//! setup     = tag 5                            parent -> worker, first; carries the fd of the
//!                                              shared page (SCM_RIGHTS) where there is one
//! setup'    = tag 6                            the same, with the shared page, the rings and
//!                                              the doorbell (`channel`): frames then travel
//!                                              in the rings, large ones still here
//! hello     = tag 4                            worker -> parent, once it serves
//! run       = tag 1, seq:u32le count:u32le id_len:u16le id args_len:u32le args lens
//! done      = tag 2, seq:u32le count:u32le nanos:u64le outcomes
//! refused   = tag 3, seq:u32le message (UTF-8)
//! attach    = tag 7, attached:u32le detached:u32le ids
//!                                              parent -> worker, before the run that needs
//!                                              them: the `SharedSlice`s it brings (one
//!                                              sealed file each, SCM_RIGHTS, in id order;
//!                                              at most `MAX_ATTACH`), then those dropped
//! ids       = attached + detached u64le identities
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

mod arguments;
mod array;
mod bulk;
mod codec;
mod failure;
mod frame;
mod frame_pool;
mod identity;
mod outcomes;
mod outgoing;
mod panic_report;
mod plain;
mod run;
mod value;

pub use arguments::{ArgsOut, Arguments, EncodeArgs, encode_any};
pub(crate) use array::decode as decode_array;
pub(crate) use bulk::{Bulk, into_byte_string};
#[cfg(test)]
pub(crate) use codec::decode_exact;
pub(crate) use codec::{EncodeError, left_over};
pub(crate) use failure::FailureKind;
#[cfg(feature = "mpi")]
pub(crate) use frame::MAX_FRAME;
pub(crate) use frame::{
    FrameBuffer, HELLO_FRAME, MAX_ATTACH, Malformed, SETUP_FRAME, SETUP_SHARED_FRAME,
    enlarge_send_buffer, read_frame, write_frame,
};
pub(crate) use frame_pool::give_back as give_back_frame;
pub(crate) use outcomes::DecodeValue;
pub use outcomes::OutcomesBuilder;
pub use outcomes::ValueCodec;
pub(crate) use outcomes::{CallFailure, Outcome, Outcomes, ToParent, decode_to_parent, refused};
#[cfg(feature = "mpi")]
pub(crate) use outgoing::Part;
pub(crate) use outgoing::{Outgoing, SHORTEST_PART};
#[cfg(any(test, feature = "mpi"))]
pub(crate) use panic_report::panic_on_wire;
pub(crate) use panic_report::{
    forget_panic_location, record_panic_backtrace, record_panic_location,
};
pub(crate) use plain::decode as decode_plain;
pub use run::Calls;
pub(crate) use run::{Run, RunFrame, ToWorker, attach_frame, calls_of, decode_to_worker, set_seq};
pub(crate) use value::decode as decode_value;
pub use value::{ViaSpreadValue, ViaWholeValue};

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod test;
