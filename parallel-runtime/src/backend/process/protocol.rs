//! Parent <-> worker messages on the private socket: length-prefixed frames, built in place so
//! that large arguments are never copied.
//!
//! ```text
//! frame     = len:u32le tag:u8 body            (len counts tag and body, 1 ..= u32::MAX)
//! setup     = tag 5                            parent -> worker, first; carries the fd of the
//!                                              shared page (SCM_RIGHTS) where there is one
//! hello     = tag 4                            worker -> parent, once it serves
//! run       = tag 1, seq:u32le count:u32le id_len:u16le id args ends
//! done      = tag 2, seq:u32le count:u32le nanos:u64le outcomes
//! refused   = tag 3, seq:u32le message (UTF-8)
//!
//! args      = one postcard argument tuple per call, back to back
//! ends      = count × u32le: where each call's arguments end in `args`
//! outcomes  = values value_ends failures values_len:u32le returned:u32le failed:u32le
//! values    = one postcard value per call that returned, in call order
//! value_ends= returned × u32le: where each value ends in `values`
//! failures  = `failed` postcard (index:u32, kind:u8, message:String), in call order
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
/// Bytes before a done's outcomes: frame header, seq, count, nanos.
const DONE_HEADER: usize = FRAME_HEADER + 4 + 4 + 8;
/// Bytes of the outcomes' footer: the values' length, the returned and failed counts.
const OUTCOMES_FOOTER: usize = 4 + 4 + 4;
/// A reply keeps this much of the frame for its value ends and failures: values stop short of it.
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
pub(crate) fn read_frame(stream: &mut impl Read, buffer: &mut Vec<u8>) -> io::Result<bool> {
    let mut prefix = [0; 4];
    loop {
        match stream.read(&mut prefix[..1]) {
            Ok(0) => return Ok(false),
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    stream.read_exact(&mut prefix[1..])?;
    let len = u32::from_le_bytes(prefix) as usize;
    if len == 0 {
        return Err(Malformed("a frame of length zero").into());
    }
    buffer.clear();
    buffer.reserve(len.min(FIRST_READ));
    let read = Read::take(&mut *stream, len as u64).read_to_end(buffer)?;
    if read < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
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
    ends: &'a [u8],
}

impl<'a> Calls<'a> {
    /// How many calls there are.
    pub fn len(&self) -> usize {
        self.ends.len() / 4
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The argument bytes of each call, in call order.
    pub fn iter(self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let args = self.args;
        let mut start = 0;
        self.ends.chunks_exact(4).map(move |end| {
            let end = u32_le(end) as usize;
            let call = &args[start..end];
            start = end;
            call
        })
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
            let rest = body.0;
            let args_len = rest
                .len()
                .checked_sub(4 * count)
                .ok_or(Malformed("fewer bytes than the calls' ends"))?;
            let (args, ends) = rest.split_at(args_len);
            check_ends(ends, args_len)?;
            Ok(ToWorker::Run(Run {
                seq,
                task_id,
                calls: Calls { args, ends },
            }))
        }
        _ => Err(Malformed("an unknown tag")),
    }
}

/// Checks that `ends` (u32le each) never decrease and that the last one is `len`.
fn check_ends(ends: &[u8], len: usize) -> Result<(), Malformed> {
    let mut last = 0;
    for end in ends.chunks_exact(4) {
        let end = u32_le(end) as usize;
        if end < last || end > len {
            return Err(Malformed("the ends of calls out of order"));
        }
        last = end;
    }
    if last != len {
        return Err(Malformed("bytes after the last call"));
    }
    Ok(())
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
    ends: &'a [u8],
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
        let returned = u32_le(&footer[4..8]);
        let failed = u32_le(&footer[8..]);
        if u64::from(returned) + u64::from(failed) != u64::from(count) {
            return Err(Malformed("outcomes for another number of calls"));
        }
        let mut reader = Reader(body);
        let values = reader.take(values_len)?;
        let ends = reader.take(4 * returned as usize)?;
        check_ends(ends, values.len())?;
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
            ends,
            failures,
        })
    }

    /// Whether every call returned a value.
    pub(crate) fn all_returned(&self) -> bool {
        self.failures.is_empty()
    }

    /// The encoded values of the calls that returned, in call order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        Calls {
            args: self.values,
            ends: self.ends,
        }
        .iter()
    }

    /// What each call gave, in call order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Outcome<'_>> + '_ {
        let mut values = self.values();
        let mut failures = self.failures.iter().peekable();
        let count = self.ends.len() / 4 + self.failures.len();
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
    pub(crate) fn push<T: Serialize + ?Sized>(&mut self, args: &T) -> Result<(), EncodeError> {
        // Room for this call's end and the frame's, whatever comes after.
        let limit = MAX_FRAME + 4 - 4 * (self.ends.len() + 1);
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
        for end in &self.ends {
            self.bytes.extend_from_slice(&end.to_le_bytes());
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
        Err(_) if over => Err(EncodeError::TooLarge),
        Err(postcard::Error::SerdeSerCustom) => Err(EncodeError::Serde(
            serialize_error(value).unwrap_or_else(|| postcard::Error::SerdeSerCustom.to_string()),
        )),
        Err(e) => Err(EncodeError::Serde(e.to_string())),
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
pub(crate) fn decode_exact<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match postcard::take_from_bytes(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!(
            "{} bytes left over: the type's `Deserialize` does not read what its `Serialize` \
             wrote",
            rest.len()
        )),
        Err(e) => Err(e.to_string()),
    }
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
    pub fn push_value<R: Serialize + ?Sized>(&mut self, index: usize, value: &R) {
        let mark = self.bytes.len();
        match encode_limited(value, &mut self.bytes, MAX_FRAME + 4 - REPLY_RESERVE) {
            Ok(()) => self
                .value_ends
                .push((self.bytes.len() - DONE_HEADER) as u32),
            Err(e) => {
                self.bytes.truncate(mark);
                self.fail(
                    index,
                    FailureKind::Result,
                    &format!("could not encode the result: {e}"),
                );
            }
        }
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
        for end in &self.value_ends {
            self.bytes.extend_from_slice(&end.to_le_bytes());
        }
        self.bytes.extend_from_slice(&self.failures);
        self.bytes.extend_from_slice(&values_len.to_le_bytes());
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

fn u32_le(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes.try_into().expect("four bytes"))
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
