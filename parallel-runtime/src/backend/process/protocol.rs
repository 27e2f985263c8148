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

use std::fmt;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::serde_message::serialize_error;

const RUN: u8 = 1;
const DONE: u8 = 2;
const REFUSED: u8 = 3;
const HELLO: u8 = 4;
const SETUP: u8 = 5;

/// The largest frame, tag and body: the length prefix is a `u32`.
pub(crate) const MAX_FRAME: usize = u32::MAX as usize;
/// The most calls in one request. A worker rejects a request that claims more.
pub(crate) const MAX_CALLS: usize = 1 << 16;
/// Bytes of a frame before its body: the length prefix and the tag.
const FRAME_HEADER: usize = 4 + 1;
/// Bytes before a run's task id: frame header, seq, count, id length.
const RUN_HEADER: usize = FRAME_HEADER + 4 + 4 + 2;
/// The most bytes of a varint.
const MAX_VARINT: usize = 5;
/// Bytes before a done's outcomes: frame header, seq, count, nanos.
const DONE_HEADER: usize = FRAME_HEADER + 4 + 4 + 8;
/// Bytes of the outcomes' footer: the values' and lengths' sizes, the returned and failed
/// counts.
const OUTCOMES_FOOTER: usize = 4 + 4 + 4 + 4;
/// A reply keeps this much of the frame for its value lengths and failures: values stop short
/// of it.
const REPLY_RESERVE: usize = 64 << 20;
/// The longest message kept for a failed call; longer ones are cut.
const MAX_MESSAGE: usize = 64 << 10;
/// How many bytes of a frame are asked for before any of it has arrived: a frame's allocation
/// grows with the bytes that arrive, never with what its length prefix claims.
const FIRST_READ: usize = 64 << 10;

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

/// Where frames are read. Its bytes stay initialized from one frame to the next, so that
/// reading a frame writes only the bytes that arrive.
#[derive(Default)]
pub(crate) struct FrameBuffer {
    bytes: Vec<u8>,
    len: usize,
}

impl FrameBuffer {
    /// The last frame read: its tag and body.
    #[inline]
    pub(crate) fn frame(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The bytes held, for frames to come.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.bytes.capacity()
    }
}

/// Reads one frame (its tag and body) into `buffer`; `Ok(false)` at a clean end of stream,
/// before any byte of a frame.
///
/// The buffer grows with the bytes that arrive, whatever the length prefix claims: a frame of
/// which `n` bytes arrived never makes it grow past `max(2n, 64 KiB)`.
///
/// # Errors
///
/// `InvalidData` for a length of zero; `UnexpectedEof` when the stream ends inside a frame;
/// the stream's own errors (a read timeout is `WouldBlock` or `TimedOut`).
pub(crate) fn read_frame(stream: &mut impl Read, buffer: &mut FrameBuffer) -> io::Result<bool> {
    buffer.len = 0;
    let mut prefix = [0; 4];
    let mut have = 0;
    while have < prefix.len() {
        match stream.read(&mut prefix[have..]) {
            Ok(0) if have == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(read) => have += read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(prefix) as usize;
    if len == 0 {
        return Err(Malformed("a frame of length zero").into());
    }
    // In the usual frame, the whole body is there and one read takes it; the buffer grows
    // only when what arrived fills it, to twice that, never past `len`.
    let bytes = &mut buffer.bytes;
    let mut filled = 0;
    while filled < len {
        if filled == bytes.len() {
            let grown = (2 * filled).max(FIRST_READ).min(len);
            bytes.resize(grown, 0);
        }
        let room = len.min(bytes.len());
        match stream.read(&mut bytes[filled..room]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(read) => filled += read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buffer.len = len;
    Ok(true)
}

/// Writes a whole frame to a socket. A peer that is gone is an error (`BrokenPipe`), never a
/// `SIGPIPE`, whatever the program did with that signal.
pub(crate) fn write_frame(socket: &impl AsFd, mut frame: &[u8]) -> io::Result<()> {
    while !frame.is_empty() {
        match rustix::net::send(socket, frame, rustix::net::SendFlags::NOSIGNAL) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(sent) => frame = &frame[sent..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// A message to a worker, as read from the socket.
#[derive(Debug)]
pub(crate) enum ToWorker<'a> {
    Setup,
    Run(Run<'a>),
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

/// The lengths of `count` values, as varints, checked to add up to the bytes they split.
#[derive(Clone, Copy, Debug)]
struct Lengths<'a> {
    varints: &'a [u8],
    count: usize,
}

impl<'a> Lengths<'a> {
    /// Checks that `varints` is exactly `count` varints, adding up to `total`.
    fn check(varints: &'a [u8], count: usize, total: usize) -> Result<Self, Malformed> {
        if varints.len() < count || varints.len() > count.saturating_mul(MAX_VARINT) {
            return Err(Malformed("lengths for another number of values"));
        }
        let mut at = 0;
        let mut sum = 0u64;
        for _ in 0..count {
            let len =
                read_varint(varints, &mut at).ok_or(Malformed("a length that is no varint"))?;
            sum += u64::from(len);
        }
        if at != varints.len() {
            return Err(Malformed("bytes after the lengths"));
        }
        if sum != total as u64 {
            return Err(Malformed("lengths that do not add up"));
        }
        Ok(Lengths { varints, count })
    }

    /// `bytes` cut at each length.
    #[inline]
    fn split(self, bytes: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut at = 0;
        let mut start = 0;
        (0..self.count).map(move |_| {
            // Checked by `check`: the varints are there and add up to `bytes`.
            let len = read_varint(self.varints, &mut at).unwrap_or(0) as usize;
            let value = bytes.get(start..start + len).unwrap_or_default();
            start += len;
            value
        })
    }
}

/// Reads a varint below 2^32 at `at`, moving `at` past it.
#[inline]
fn read_varint(bytes: &[u8], at: &mut usize) -> Option<u32> {
    let mut value = 0u32;
    for shift in [0, 7, 14, 21, 28] {
        let byte = *bytes.get(*at)?;
        *at += 1;
        if shift == 28 && byte > 0x0f {
            return None;
        }
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Appends `value` as a varint.
#[inline]
fn push_varint(bytes: &mut Vec<u8>, mut value: u32) {
    while value >= 0x80 {
        bytes.push(value as u8 | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}

/// Decodes, one after the other, the values `lens` cuts `bytes` into: each value is decoded
/// from its own bytes only, and must take all of them.
#[inline]
fn decode_each<T: DeserializeOwned, C: ?Sized>(
    bytes: &[u8],
    lens: Lengths<'_>,
    context: &mut C,
    mut before: impl FnMut(&mut C, usize),
    mut each: impl FnMut(&mut C, usize, T),
    mut failed: impl FnMut(&mut C, usize, String),
) {
    for (index, value) in lens.split(bytes).enumerate() {
        before(context, index);
        let mut decoder = postcard::Deserializer::from_bytes(value);
        match T::deserialize(&mut decoder) {
            Ok(value) => match decoder.finalize() {
                Ok([]) => each(context, index, value),
                Ok(rest) => failed(context, index, left_over(rest.len())),
                Err(e) => failed(context, index, e.to_string()),
            },
            Err(e) => failed(context, index, e.to_string()),
        }
    }
}

/// Decodes a message to a worker.
pub(crate) fn decode_to_worker(frame: &[u8]) -> Result<ToWorker<'_>, Malformed> {
    let (&tag, body) = frame.split_first().ok_or(Malformed("no tag"))?;
    match tag {
        SETUP if body.is_empty() => Ok(ToWorker::Setup),
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
        _ => Err(Malformed("an unknown tag")),
    }
}

/// A message to the parent, as read from the socket.
#[derive(Debug)]
pub(crate) enum ToParent<'a> {
    Hello,
    Done {
        seq: u32,
        count: u32,
        nanos: u64,
        /// Where the outcomes start in the frame.
        outcomes: usize,
    },
    Refused {
        seq: u32,
        message: &'a str,
    },
}

/// Decodes a message to the parent. The outcomes of a `Done` are checked by [`Outcomes::parse`].
pub(crate) fn decode_to_parent(frame: &[u8]) -> Result<ToParent<'_>, Malformed> {
    let (&tag, body) = frame.split_first().ok_or(Malformed("no tag"))?;
    let mut reader = Reader(body);
    match tag {
        HELLO if body.is_empty() => Ok(ToParent::Hello),
        DONE => Ok(ToParent::Done {
            seq: reader.u32()?,
            count: reader.u32()?,
            nanos: reader.u64()?,
            outcomes: frame.len() - reader.0.len(),
        }),
        REFUSED => Ok(ToParent::Refused {
            seq: reader.u32()?,
            message: std::str::from_utf8(reader.0)
                .map_err(|_| Malformed("a refusal that is not UTF-8"))?,
        }),
        _ => Err(Malformed("an unknown tag")),
    }
}

/// How a call failed in the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// The function panicked; the message is the panic's.
    Panicked,
    /// The arguments did not decode.
    Arguments,
    /// The result did not encode.
    Result,
}

impl FailureKind {
    fn to_byte(self) -> u8 {
        match self {
            FailureKind::Panicked => 0,
            FailureKind::Arguments => 1,
            FailureKind::Result => 2,
        }
    }

    fn from_byte(byte: u8) -> Result<Self, Malformed> {
        match byte {
            0 => Ok(FailureKind::Panicked),
            1 => Ok(FailureKind::Arguments),
            2 => Ok(FailureKind::Result),
            _ => Err(Malformed("an unknown kind of failure")),
        }
    }
}

/// One call that failed in the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CallFailure {
    /// Its index in the request.
    pub(crate) index: u32,
    pub(crate) kind: FailureKind,
    pub(crate) message: String,
}

/// The outcomes of a request's calls, checked against the request's count of calls.
#[derive(Debug)]
pub(crate) struct Outcomes<'a> {
    values: &'a [u8],
    lens: Lengths<'a>,
    failures: Vec<CallFailure>,
}

/// What one call gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome<'a> {
    /// The encoded value it returned.
    Value(&'a [u8]),
    Failed(&'a CallFailure),
}

impl<'a> Outcomes<'a> {
    /// Checks the outcomes of `count` calls.
    pub(crate) fn parse(outcomes: &'a [u8], count: u32) -> Result<Self, Malformed> {
        let (body, footer) = outcomes
            .split_last_chunk::<OUTCOMES_FOOTER>()
            .ok_or(Malformed("no outcomes footer"))?;
        let values_len = u32_le(&footer[..4]) as usize;
        let lens_len = u32_le(&footer[4..8]) as usize;
        let returned = u32_le(&footer[8..12]);
        let failed = u32_le(&footer[12..]);
        if u64::from(returned) + u64::from(failed) != u64::from(count) {
            return Err(Malformed("outcomes for another number of calls"));
        }
        let mut reader = Reader(body);
        let values = reader.take(values_len)?;
        let lens = Lengths::check(reader.take(lens_len)?, returned as usize, values_len)?;
        // At most `count` failures, each of at least three bytes that arrived: bounded.
        let mut failures = Vec::new();
        let mut rest = reader.0;
        let mut last_index = None;
        for _ in 0..failed {
            let ((index, kind, message), tail): ((u32, u8, String), _) =
                postcard::take_from_bytes(rest)
                    .map_err(|_| Malformed("a failure that does not decode"))?;
            if index >= count || last_index.is_some_and(|last| index <= last) {
                return Err(Malformed("failures out of order"));
            }
            last_index = Some(index);
            failures.push(CallFailure {
                index,
                kind: FailureKind::from_byte(kind)?,
                message,
            });
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(Malformed("bytes after the failures"));
        }
        Ok(Outcomes {
            values,
            lens,
            failures,
        })
    }

    /// How many calls there are.
    pub(crate) fn len(&self) -> usize {
        self.lens.count + self.failures.len()
    }

    /// Whether every call returned a value.
    pub(crate) fn all_returned(&self) -> bool {
        self.failures.is_empty()
    }

    /// Decodes the values of the calls that returned, in call order, each checked as in
    /// [`Calls::decode_each`]; the index is the one among them.
    #[inline]
    pub(crate) fn decode_values<T: DeserializeOwned, C: ?Sized>(
        &self,
        context: &mut C,
        each: impl FnMut(&mut C, usize, T),
        failed: impl FnMut(&mut C, usize, String),
    ) {
        decode_each(self.values, self.lens, context, |_, _| {}, each, failed);
    }

    /// The encoded values of the calls that returned, in call order.
    #[inline]
    pub(crate) fn values(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.lens.split(self.values)
    }

    /// What each call gave, in call order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Outcome<'_>> + '_ {
        let mut values = self.values();
        let mut failures = self.failures.iter().peekable();
        let count = self.len();
        (0..count).map(move |index| {
            match failures.next_if(|failure| failure.index as usize == index) {
                Some(failure) => Outcome::Failed(failure),
                None => Outcome::Value(values.next().unwrap_or_default()),
            }
        })
    }
}

/// A run request being built: each call's arguments are encoded in place.
pub(crate) struct RunFrame {
    bytes: Vec<u8>,
    args_start: usize,
    ends: Vec<u32>,
}

impl RunFrame {
    /// A request for `task_id` with room for `calls` calls and `capacity` bytes of arguments.
    pub(crate) fn new(task_id: &str, calls: usize, capacity: usize) -> Self {
        let id_len = u16::try_from(task_id.len()).expect("task identities are short");
        let mut bytes = Vec::with_capacity(RUN_HEADER + task_id.len() + capacity.max(64));
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
        // Room for the lengths of the calls so far and this one.
        let limit = MAX_FRAME + 4 - MAX_VARINT * (self.ends.len() + 1);
        let mark = self.bytes.len();
        match encode_limited(args, &mut self.bytes, limit) {
            Ok(()) => {
                self.ends.push((self.bytes.len() - self.args_start) as u32);
                Ok(())
            }
            Err(e) => {
                self.bytes.truncate(mark);
                Err(e)
            }
        }
    }

    /// Adds a call whose arguments are already encoded (a call of another request).
    pub(crate) fn push_encoded(&mut self, args: &[u8]) {
        self.bytes.extend_from_slice(args);
        self.ends.push((self.bytes.len() - self.args_start) as u32);
    }

    /// How many calls there are.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Bytes of arguments so far.
    #[inline]
    pub(crate) fn args_len(&self) -> usize {
        self.bytes.len() - self.args_start
    }

    /// The frame, ready to send once [`set_seq`] has numbered it.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let count = self.ends.len() as u32;
        let args_len = (self.bytes.len() - self.args_start) as u32;
        self.bytes[self.args_start - 4..self.args_start].copy_from_slice(&args_len.to_le_bytes());
        let mut start = 0;
        for &end in &self.ends {
            push_varint(&mut self.bytes, end - start);
            start = end;
        }
        let len = (self.bytes.len() - 4) as u32;
        self.bytes[..4].copy_from_slice(&len.to_le_bytes());
        self.bytes[FRAME_HEADER + 4..FRAME_HEADER + 8].copy_from_slice(&count.to_le_bytes());
        self.bytes
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

/// Why a value did not encode.
#[derive(Debug)]
pub(crate) enum EncodeError {
    /// It would have made its frame larger than a frame can be.
    TooLarge,
    /// Its `Serialize` impl or the format refused it.
    Serde(String),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::TooLarge => f.write_str("it takes more than the 4 GiB a frame can carry"),
            EncodeError::Serde(message) => f.write_str(message),
        }
    }
}

/// Appends the postcard encoding of `value` to `buffer`, in place, as long as `buffer` stays
/// within `limit` bytes; `buffer` may hold a partial encoding after an error.
///
/// # Errors
///
/// When `value` does not encode (with its `Serialize` impl's own message where it gave one), or
/// would take `buffer` past `limit`.
#[inline]
pub(crate) fn encode_limited<T: Serialize + ?Sized>(
    value: &T,
    buffer: &mut Vec<u8>,
    limit: usize,
) -> Result<(), EncodeError> {
    let mut over = false;
    let flavor = Append {
        buffer,
        limit,
        over: &mut over,
    };
    match postcard::serialize_with_flavor(value, flavor) {
        Ok(()) => Ok(()),
        Err(error) => Err(encode_error(value, error, over)),
    }
}

/// Why `value` did not encode; out of the hot path.
#[cold]
#[inline(never)]
fn encode_error<T: Serialize + ?Sized>(
    value: &T,
    error: postcard::Error,
    over: bool,
) -> EncodeError {
    match error {
        _ if over => EncodeError::TooLarge,
        postcard::Error::SerdeSerCustom => EncodeError::Serde(
            serialize_error(value).unwrap_or_else(|| postcard::Error::SerdeSerCustom.to_string()),
        ),
        e => EncodeError::Serde(e.to_string()),
    }
}

/// Appends the postcard encoding of `value` to `buffer`, in place.
///
/// # Errors
///
/// When `value` cannot be encoded (a serializer error of its `Serialize` impl).
pub fn encode<T: serde::Serialize + ?Sized>(
    value: &T,
    buffer: &mut Vec<u8>,
) -> Result<(), postcard::Error> {
    let mut over = false;
    postcard::serialize_with_flavor(
        value,
        Append {
            buffer,
            limit: usize::MAX,
            over: &mut over,
        },
    )
}

/// Decodes one value that takes exactly `bytes`.
///
/// # Errors
///
/// postcard's message when the bytes do not decode, or when bytes are left over.
#[inline]
pub(crate) fn decode_exact<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(left_over(rest.len())),
        Err(e) => Err(e.to_string()),
    }
}

#[cold]
pub(crate) fn left_over(bytes: usize) -> String {
    format!(
        "{bytes} bytes left over: the type's `Deserialize` does not read what its `Serialize` \
         wrote"
    )
}

/// A postcard flavor that pushes straight onto a `Vec`, up to a limit.
struct Append<'a> {
    buffer: &'a mut Vec<u8>,
    limit: usize,
    over: &'a mut bool,
}

impl postcard::ser_flavors::Flavor for Append<'_> {
    type Output = ();

    #[inline]
    fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
        if self.buffer.len() + data.len() > self.limit {
            *self.over = true;
            return Err(postcard::Error::SerializeBufferFull);
        }
        // Most pieces are varints of a few bytes. A copy of a known length is a few moves,
        // where a `memcpy` call (the top symbol of a trivial map's profile) or a push per byte
        // cost more: 6 ns per `u64` against 10 (pushes) and 12 (`memcpy`) on the benchmark VM.
        macro_rules! known_lengths {
            ($($len:literal)*) => {
                match data.len() {
                    $($len => self.buffer.extend_from_slice(
                        <&[u8; $len]>::try_from(data).expect("the length was matched"),
                    ),)*
                    _ => self.buffer.extend_from_slice(data),
                }
            };
        }
        known_lengths!(1 2 3 4 5 6 7 8 9 10);
        Ok(())
    }

    #[inline]
    fn try_push(&mut self, data: u8) -> postcard::Result<()> {
        if self.buffer.len() >= self.limit {
            *self.over = true;
            return Err(postcard::Error::SerializeBufferFull);
        }
        self.buffer.push(data);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// The outcomes of a request being built in the worker: values in place, and which call runs
/// now, for the parent to read if the worker dies in it.
pub struct OutcomesBuilder<'a> {
    bytes: Vec<u8>,
    value_ends: Vec<u32>,
    failures: Vec<u8>,
    failed: u32,
    progress: Option<&'a AtomicU32>,
}

impl<'a> OutcomesBuilder<'a> {
    /// Starts a reply in `bytes`, reusing its allocation; `progress` is where the call that
    /// runs is published.
    pub(crate) fn new(mut bytes: Vec<u8>, progress: Option<&'a AtomicU32>) -> Self {
        bytes.clear();
        bytes.extend_from_slice(&[0; DONE_HEADER]);
        bytes[4] = DONE;
        OutcomesBuilder {
            bytes,
            value_ends: Vec::new(),
            failures: Vec::new(),
            failed: 0,
            progress,
        }
    }

    /// Says that call `index` starts: if the worker dies now, that call killed it.
    #[inline]
    pub fn starting(&mut self, index: usize) {
        if let Some(progress) = self.progress {
            progress.store(index as u32, Ordering::Release);
        }
    }

    /// Adds the value call `index` returned, or its failure to encode.
    #[inline]
    pub fn push_value<R: Serialize + ?Sized>(&mut self, index: usize, value: &R) {
        let mark = self.bytes.len();
        match encode_limited(value, &mut self.bytes, MAX_FRAME + 4 - REPLY_RESERVE) {
            Ok(()) => self
                .value_ends
                .push((self.bytes.len() - DONE_HEADER) as u32),
            Err(e) => self.fail_result(index, mark, &e),
        }
    }

    /// Drops what call `index` wrote of its value from `mark` on, and fails it.
    #[cold]
    #[inline(never)]
    fn fail_result(&mut self, index: usize, mark: usize, error: &dyn fmt::Display) {
        self.bytes.truncate(mark);
        self.fail(
            index,
            FailureKind::Result,
            &format!("could not encode the result: {error}"),
        );
    }

    /// Where the next value starts.
    #[inline]
    pub fn mark(&self) -> usize {
        self.bytes.len()
    }

    /// Drops the bytes of a value cut short from `mark` on (its `Serialize` panicked).
    #[cold]
    pub fn drop_from(&mut self, mark: usize) {
        self.bytes.truncate(mark);
    }

    /// Adds the failure of call `index`.
    pub(crate) fn fail(&mut self, index: usize, kind: FailureKind, message: &str) {
        let message = cut(message);
        // The reserve holds the ends and the failures: past it, messages are dropped.
        if self.failures.len() + message.len() < REPLY_RESERVE / 2 {
            let _ = encode(&(index as u32, kind.to_byte(), message), &mut self.failures);
        } else {
            let _ = encode(&(index as u32, kind.to_byte(), "…"), &mut self.failures);
        }
        self.failed += 1;
    }

    /// Adds the failure of call `index` to decode its arguments.
    pub fn fail_arguments(&mut self, index: usize, message: &str) {
        self.fail(
            index,
            FailureKind::Arguments,
            &format!("could not decode the arguments: {message}"),
        );
    }

    /// Adds the panic of call `index`.
    pub fn fail_panicked(&mut self, index: usize, message: &str) {
        self.fail(index, FailureKind::Panicked, message);
    }

    /// The reply, ready to send, for request `seq` of `count` calls that ran in `nanos`.
    pub(crate) fn finish(mut self, seq: u32, count: u32, nanos: u64) -> Vec<u8> {
        if let Some(progress) = self.progress {
            progress.store(count, Ordering::Release);
        }
        let values_len = (self.bytes.len() - DONE_HEADER) as u32;
        let returned = self.value_ends.len() as u32;
        let lens_start = self.bytes.len();
        let mut start = 0;
        for &end in &self.value_ends {
            push_varint(&mut self.bytes, end - start);
            start = end;
        }
        let lens_len = (self.bytes.len() - lens_start) as u32;
        self.bytes.extend_from_slice(&self.failures);
        self.bytes.extend_from_slice(&values_len.to_le_bytes());
        self.bytes.extend_from_slice(&lens_len.to_le_bytes());
        self.bytes.extend_from_slice(&returned.to_le_bytes());
        self.bytes.extend_from_slice(&self.failed.to_le_bytes());
        let len = (self.bytes.len() - 4) as u32;
        self.bytes[..4].copy_from_slice(&len.to_le_bytes());
        self.bytes[FRAME_HEADER..FRAME_HEADER + 4].copy_from_slice(&seq.to_le_bytes());
        self.bytes[FRAME_HEADER + 4..FRAME_HEADER + 8].copy_from_slice(&count.to_le_bytes());
        self.bytes[FRAME_HEADER + 8..DONE_HEADER].copy_from_slice(&nanos.to_le_bytes());
        self.bytes
    }
}

/// `message`, cut to [`MAX_MESSAGE`] bytes on a character boundary.
fn cut(message: &str) -> &str {
    if message.len() <= MAX_MESSAGE {
        return message;
    }
    let mut end = MAX_MESSAGE;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

/// A refusal of request `seq`: the worker could not run it.
pub(crate) fn refused(seq: u32, message: &str) -> Vec<u8> {
    let message = cut(message);
    let len = (1 + 4 + message.len()) as u32;
    let mut bytes = Vec::with_capacity(message.len() + 9);
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.push(REFUSED);
    bytes.extend_from_slice(&seq.to_le_bytes());
    bytes.extend_from_slice(message.as_bytes());
    bytes
}

/// The worker's greeting, sent once it serves.
pub(crate) const HELLO_FRAME: [u8; 5] = [1, 0, 0, 0, HELLO];
/// The parent's first frame.
pub(crate) const SETUP_FRAME: [u8; 5] = [1, 0, 0, 0, SETUP];

/// The socket send buffer asked for: a megabyte-sized frame is then written in one go instead
/// of waking the reader for every 200 KiB. The system caps it (`net.core.wmem_max`).
const SEND_BUFFER: usize = 4 << 20;

/// Enlarges the send buffer of one end of the protocol socket; where the system refuses, the
/// default buffer still works, only slower.
pub(crate) fn enlarge_send_buffer(socket: &impl std::os::fd::AsFd) {
    let _ = rustix::net::sockopt::set_socket_send_buffer_size(socket, SEND_BUFFER);
}

#[inline]
fn u32_le(bytes: &[u8]) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(bytes);
    u32::from_le_bytes(word)
}

/// Reads fixed-size fields off the front of a body, checking that they are there.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], Malformed> {
        let (taken, rest) = self
            .0
            .split_at_checked(len)
            .ok_or(Malformed("a body shorter than its fields"))?;
        self.0 = rest;
        Ok(taken)
    }

    fn u16(&mut self) -> Result<u16, Malformed> {
        let bytes = self.take(2)?;
        Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32_le(self.take(4)?))
    }

    fn u64(&mut self) -> Result<u64, Malformed> {
        let bytes = self.take(8)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("eight bytes")))
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod test;
