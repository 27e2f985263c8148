//! Requests, parent to worker: building a run frame in place, and reading one back.

use serde::Serialize;

use super::codec::{EncodeError, encode_limited};
use super::frame::{
    ATTACH, FRAME_HEADER, Lengths, MAX_ATTACH, MAX_CALLS, MAX_FRAME, MAX_VARINT, Malformed, RUN,
    RUN_HEADER, Reader, SETUP, SETUP_SHARED, push_varint,
};
use super::outgoing::{Outgoing, Part};

/// A message to a worker, as read from the socket.
#[derive(Debug)]
pub(crate) enum ToWorker<'a> {
    Setup,
    Run(Run<'a>),
    /// `SharedSlice`s: those the files of this frame bring, and those the parent dropped.
    Attach {
        attached: Ids<'a>,
        detached: Ids<'a>,
    },
}

/// Identities of `SharedSlice`s in a frame, checked to be whole.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ids<'a>(&'a [u8]);

impl<'a> Ids<'a> {
    /// Each identity, in frame order.
    pub(crate) fn iter(self) -> impl Iterator<Item = u64> + 'a {
        self.0
            .chunks_exact(8)
            .map(|id| u64::from_le_bytes(id.try_into().expect("eight bytes")))
    }
}

/// A request to run calls of one function.
#[derive(Debug)]
pub(crate) struct Run<'a> {
    pub(crate) seq: u32,
    pub(crate) task_id: &'a str,
    pub(crate) calls: Calls<'a>,
}

/// The argument bytes of each call of a request, checked against each other.
#[derive(Clone, Copy, Debug)]
pub struct Calls<'a> {
    args: &'a [u8],
    lens: Lengths<'a>,
}

impl<'a> Calls<'a> {
    /// How many calls there are.
    pub fn len(&self) -> usize {
        self.lens.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.lens.count == 0
    }

    /// The argument bytes of each call, in call order.
    #[inline]
    pub fn iter(self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.lens.split(self.args)
    }
}

/// Decodes a message to a worker.
pub(crate) fn decode_to_worker(frame: &[u8]) -> Result<ToWorker<'_>, Malformed> {
    let (&tag, body) = frame.split_first().ok_or(Malformed("no tag"))?;
    match tag {
        SETUP | SETUP_SHARED if body.is_empty() => Ok(ToWorker::Setup),
        RUN => {
            let mut body = Reader(body);
            let seq = body.u32()?;
            let count = body.u32()? as usize;
            if count > MAX_CALLS {
                return Err(Malformed("too many calls in a request"));
            }
            let id_len = body.u16()? as usize;
            let task_id = std::str::from_utf8(body.take(id_len)?)
                .map_err(|_| Malformed("a task id that is not UTF-8"))?;
            let args_len = body.u32()? as usize;
            let args = body.take(args_len)?;
            let lens = Lengths::check(body.0, count, args_len)?;
            Ok(ToWorker::Run(Run {
                seq,
                task_id,
                calls: Calls { args, lens },
            }))
        }
        ATTACH => {
            let mut body = Reader(body);
            let attached = body.u32()? as usize;
            let detached = body.u32()? as usize;
            if attached > MAX_ATTACH {
                return Err(Malformed("too many files in an attach frame"));
            }
            if Some(body.0.len())
                != attached
                    .checked_add(detached)
                    .and_then(|n| n.checked_mul(8))
            {
                return Err(Malformed("an attach frame of another length than its ids"));
            }
            let (attached, detached) = body.0.split_at(attached * 8);
            Ok(ToWorker::Attach {
                attached: Ids(attached),
                detached: Ids(detached),
            })
        }
        _ => Err(Malformed("an unknown tag")),
    }
}

/// An attach frame (with its length prefix): the files sent with it bring arrays `attached`
/// (at most [`MAX_ATTACH`]); arrays `detached` are to be forgotten.
pub(crate) fn attach_frame(attached: &[u64], detached: &[u64]) -> Vec<u8> {
    assert!(attached.len() <= MAX_ATTACH, "one file per attached array");
    let len = 1 + 8 + 8 * (attached.len() + detached.len());
    let mut frame = Vec::with_capacity(4 + len);
    frame.extend_from_slice(&u32::try_from(len).expect("a frame's length").to_le_bytes());
    frame.push(ATTACH);
    frame.extend_from_slice(&(attached.len() as u32).to_le_bytes());
    frame.extend_from_slice(&(detached.len() as u32).to_le_bytes());
    for id in attached.iter().chain(detached) {
        frame.extend_from_slice(&id.to_le_bytes());
    }
    frame
}

/// A run request being built: each call's arguments are encoded in place, or left where they
/// are as a [`Part`] ([`RunFrame::push_part`]).
pub(crate) struct RunFrame {
    bytes: Vec<u8>,
    args_start: usize,
    ends: Vec<u32>,
    parts: Vec<Part>,
    /// Bytes of `parts`.
    parts_len: usize,
}

impl RunFrame {
    /// A request for `task_id` with room for `calls` calls and `capacity` bytes of arguments.
    pub(crate) fn new(task_id: &str, calls: usize, capacity: usize) -> Self {
        let id_len = u16::try_from(task_id.len()).expect("task identities are short");
        let mut bytes = super::frame_pool::take(RUN_HEADER + task_id.len() + capacity.max(64));
        bytes.extend_from_slice(&[0; 4]);
        bytes.push(RUN);
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&id_len.to_le_bytes());
        bytes.extend_from_slice(task_id.as_bytes());
        // The arguments' length, once known.
        bytes.extend_from_slice(&[0; 4]);
        let args_start = bytes.len();
        RunFrame {
            bytes,
            args_start,
            ends: Vec::with_capacity(calls),
            parts: Vec::new(),
            parts_len: 0,
        }
    }

    /// Adds a call: the postcard encoding of `args`.
    ///
    /// # Errors
    ///
    /// When `args` does not encode, or would make the frame larger than a frame can be; the
    /// frame is then as before.
    #[inline]
    pub(crate) fn push<T: Serialize + ?Sized>(&mut self, args: &T) -> Result<(), EncodeError> {
        let limit = self.own_limit();
        let mark = self.bytes.len();
        match encode_limited(args, &mut self.bytes, limit) {
            Ok(()) => {
                self.end_call();
                Ok(())
            }
            Err(e) => {
                self.bytes.truncate(mark);
                Err(e)
            }
        }
    }

    /// Adds a call whose arguments are one plain number (or a tuple of one), written directly
    /// ([`super::plain`]); `false`, with nothing added, for arguments of other types.
    #[inline(always)]
    pub(crate) fn push_plain<T: 'static>(&mut self, args: &T) -> bool {
        if self.bytes.len() + self.parts_len + super::plain::MAX_LEN > self.room()
            || !super::plain::encode(args, &mut self.bytes)
        {
            return false;
        }
        self.end_call();
        true
    }

    /// Adds a call whose arguments are one array of fixed-width numbers (or a tuple of one),
    /// written directly ([`super::array`]); `None`, with nothing added, for arguments of other
    /// types.
    ///
    /// # Errors
    ///
    /// In `Some`: when it would make the frame larger than a frame can be; the frame is then as
    /// before.
    #[inline]
    pub(crate) fn push_array<T: 'static>(&mut self, args: &T) -> Option<Result<(), EncodeError>> {
        let limit = self.own_limit();
        let pushed = super::array::encode(args, &mut self.bytes, limit)?;
        if pushed.is_ok() {
            self.end_call();
        }
        Some(pushed)
    }

    /// Adds a call whose arguments are one byte string, as postcard writes it (a varint length,
    /// then the bytes), leaving `bytes` out of the frame as a [`Part`]: a `Vec<u8>`, or a tuple
    /// of one.
    ///
    /// # Errors
    ///
    /// When it would make the frame larger than a frame can be; the frame is then as before.
    pub(crate) fn push_part(&mut self, bytes: Vec<u8>) -> Result<(), EncodeError> {
        let mut call = self.begin_call();
        call.append_part(bytes)?;
        call.end();
        Ok(())
    }

    /// Starts a call whose arguments are written in pieces ([`CallInPieces`]): encoded in
    /// place, and byte strings left out as parts.
    pub(crate) fn begin_call(&mut self) -> CallInPieces<'_> {
        CallInPieces {
            bytes: self.bytes.len(),
            parts: self.parts.len(),
            parts_len: self.parts_len,
            frame: self,
            ended: false,
        }
    }

    /// The most bytes the frame may hold, parts and length prefix included, leaving room for
    /// the lengths of the calls so far and one more.
    fn room(&self) -> usize {
        MAX_FRAME + 4 - MAX_VARINT * (self.ends.len() + 1)
    }

    /// The most bytes the frame's own bytes may take: its room, less its parts.
    fn own_limit(&self) -> usize {
        self.room() - self.parts_len
    }

    /// Records where the call just written ends.
    #[inline]
    fn end_call(&mut self) {
        self.ends.push(self.args_len() as u32);
    }

    /// Adds a call whose arguments are already encoded (a call of another request).
    pub(crate) fn push_encoded(&mut self, args: &[u8]) {
        self.bytes.extend_from_slice(args);
        self.end_call();
    }

    /// How many calls there are.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Bytes of arguments so far.
    #[inline]
    pub(crate) fn args_len(&self) -> usize {
        self.bytes.len() - self.args_start + self.parts_len
    }

    /// The frame, ready to send once [`set_seq`] has numbered it.
    pub(crate) fn finish(mut self) -> Outgoing {
        let count = self.ends.len() as u32;
        let args_len = self.args_len() as u32;
        self.bytes[self.args_start - 4..self.args_start].copy_from_slice(&args_len.to_le_bytes());
        let mut start = 0;
        for &end in &self.ends {
            push_varint(&mut self.bytes, u64::from(end - start));
            start = end;
        }
        let len = (self.bytes.len() + self.parts_len - 4) as u32;
        self.bytes[..4].copy_from_slice(&len.to_le_bytes());
        self.bytes[FRAME_HEADER + 4..FRAME_HEADER + 8].copy_from_slice(&count.to_le_bytes());
        Outgoing::with_parts(self.bytes, self.parts)
    }
}

/// A call of a [`RunFrame`] being written in pieces. Dropped before [`CallInPieces::end`] (its
/// arguments failed to encode), it leaves the frame as it was before the call.
pub(crate) struct CallInPieces<'a> {
    frame: &'a mut RunFrame,
    /// The frame's lengths before the call.
    bytes: usize,
    parts: usize,
    parts_len: usize,
    ended: bool,
}

impl CallInPieces<'_> {
    /// The frame's bytes, to append the call's next piece to, and the most bytes they may hold.
    pub(crate) fn bytes_and_limit(&mut self) -> (&mut Vec<u8>, usize) {
        let limit = self.frame.own_limit();
        (&mut self.frame.bytes, limit)
    }

    /// Appends a byte string as postcard writes it (a varint length, then the bytes), leaving
    /// `bytes` out of the frame as a [`Part`].
    ///
    /// # Errors
    ///
    /// When it would make the frame larger than a frame can be.
    pub(crate) fn append_part(&mut self, bytes: Vec<u8>) -> Result<(), EncodeError> {
        let frame = &mut *self.frame;
        let len = u32::try_from(bytes.len()).map_err(|_| EncodeError::TooLarge)?;
        if frame.bytes.len() + MAX_VARINT + frame.parts_len + bytes.len() > frame.room() {
            return Err(EncodeError::TooLarge);
        }
        push_varint(&mut frame.bytes, u64::from(len));
        frame.parts_len += bytes.len();
        frame.parts.push(Part {
            at: frame.bytes.len(),
            bytes,
        });
        Ok(())
    }

    /// Ends the call: its pieces are its arguments.
    pub(crate) fn end(mut self) {
        self.ended = true;
        self.frame.end_call();
    }
}

impl Drop for CallInPieces<'_> {
    fn drop(&mut self) {
        if !self.ended {
            let frame = &mut *self.frame;
            frame.bytes.truncate(self.bytes);
            frame.parts.truncate(self.parts);
            frame.parts_len = self.parts_len;
        }
    }
}

/// The argument bytes of each call of a finished run frame, for splitting it.
pub(crate) fn calls_of(frame: &[u8]) -> Calls<'_> {
    match decode_to_worker(&frame[4..]) {
        Ok(ToWorker::Run(run)) => run.calls,
        _ => unreachable!("a run frame built by `RunFrame` decodes"),
    }
}

/// Numbers a run frame: the worker's reply carries the same number.
pub(crate) fn set_seq(frame: &mut [u8], seq: u32) {
    frame[FRAME_HEADER..FRAME_HEADER + 4].copy_from_slice(&seq.to_le_bytes());
}
