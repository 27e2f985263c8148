//! Replies, worker to parent: the outcomes of a request's calls, built in place by the worker,
//! and read back by the parent with every count checked.

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::Serialize;

use super::arguments::Appending;
use super::codec::{EncodeError, encode, encode_limited};
use super::failure::{FailureKind, cut};
use super::frame::{
    DONE, DONE_HEADER, FRAME_HEADER, HELLO, Lengths, MAX_FRAME, Malformed, OUTCOMES_FOOTER,
    REFUSED, REPLY_RESERVE, Reader, push_varint, u32_le,
};
use super::panic_report;

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

/// One call that failed in the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CallFailure {
    /// Its index in the request.
    pub(crate) index: u32,
    pub(crate) kind: FailureKind,
    pub(crate) message: String,
    /// Where the call panicked, for a panic the worker located.
    pub(crate) location: Option<String>,
    /// The worker's backtrace of the panic, when `RUST_BACKTRACE` asked for one.
    pub(crate) backtrace: Option<String>,
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
            let (kind, message, location, backtrace) =
                panic_report::read(FailureKind::from_byte(kind)?, message)?;
            failures.push(CallFailure {
                index,
                kind,
                message,
                location,
                backtrace,
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

    /// Decodes the values of the calls that returned with `decode`, in call order, each from
    /// exactly its own bytes; the index is the one among them.
    #[inline]
    pub(crate) fn decode_values<T, C: ?Sized>(
        &self,
        decode: impl Fn(&[u8]) -> Result<T, String>,
        context: &mut C,
        mut each: impl FnMut(&mut C, usize, T),
        mut failed: impl FnMut(&mut C, usize, String),
    ) {
        for (index, value) in self.lens.split(self.values).enumerate() {
            match decode(value) {
                Ok(value) => each(context, index, value),
                Err(message) => failed(context, index, message),
            }
        }
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

/// Writes the value `value` (a `&R`) of call `index` to `out`; `false`, with nothing added,
/// when `R` is not the codec's type.
pub type EncodeValue = fn(value: &dyn Any, out: &mut OutcomesBuilder<'_>, index: usize) -> bool;

/// Reads `bytes`, all of them, into `value` (an `&mut Option<R>`); `None`, with `value` as it
/// was, when `R` is not the codec's type.
///
/// # Errors
///
/// In `Some`: the decoder's message, when the bytes are not such a value.
pub type DecodeValue = fn(bytes: &[u8], value: &mut dyn Any) -> Option<Result<(), String>>;

/// How the values of one function cross: as a whole ([`ValueCodec::WHOLE`]), or element by
/// element for a tuple (`value.rs`, which picks the codec of each function).
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct ValueCodec {
    /// `None` for a value written whole.
    pub(crate) encode: Option<EncodeValue>,
    /// `None` for a value read whole.
    pub(crate) decode: Option<DecodeValue>,
}

impl ValueCodec {
    /// The codec of a type that crosses whole.
    pub(crate) const WHOLE: ValueCodec = ValueCodec {
        encode: None,
        decode: None,
    };
}

/// The most bytes a reply's values may take (with its header), leaving room for its failures
/// and lengths.
const VALUES_LIMIT: usize = MAX_FRAME + 4 - REPLY_RESERVE;

/// The outcomes of a request being built in the worker: values in place, and which call runs
/// now, for the parent to read if the worker dies in it.
pub struct OutcomesBuilder<'a> {
    bytes: Vec<u8>,
    value_ends: Vec<u32>,
    failures: Vec<u8>,
    failed: u32,
    progress: Option<&'a AtomicU32>,
    /// How the function's values are written when they are tuples ([`super::value`]).
    encode_value: Option<EncodeValue>,
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
            encode_value: ValueCodec::WHOLE.encode,
        }
    }

    /// Writes the values of the calls with `codec`, the function's ([`super::value`]).
    pub(crate) fn set_value_codec(&mut self, codec: ValueCodec) {
        self.encode_value = codec.encode;
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
        self.push_value_in_pieces(index, |sink| encode_limited(value, sink.bytes, sink.limit));
    }

    /// Adds the value call `index` returned, written by `write` (in pieces, for the elements of
    /// a tuple), or its failure to encode.
    #[inline]
    pub(super) fn push_value_in_pieces(
        &mut self,
        index: usize,
        write: impl FnOnce(&mut Appending<'_>) -> Result<(), EncodeError>,
    ) {
        let mark = self.bytes.len();
        let mut sink = Appending {
            bytes: &mut self.bytes,
            limit: VALUES_LIMIT,
        };
        match write(&mut sink) {
            Ok(()) => self.end_value(),
            Err(e) => self.fail_result(index, mark, &e),
        }
    }

    /// Records where the value just written ends.
    #[inline]
    fn end_value(&mut self) {
        self.value_ends
            .push((self.bytes.len() - DONE_HEADER) as u32);
    }

    /// Adds the value call `index` returned: a plain number or an array of fixed-width numbers
    /// directly ([`super::plain`], [`super::array`]), a tuple element by element where the
    /// function's codec says so ([`super::value`]), any other type as
    /// [`OutcomesBuilder::push_value`] does, a `Vec<u8>` as a byte string.
    #[inline]
    pub(crate) fn push_result<R: Serialize + 'static>(&mut self, index: usize, value: &R) {
        if self.bytes.len() + super::plain::MAX_LEN <= VALUES_LIMIT
            && super::plain::encode(value, &mut self.bytes)
        {
            return self.end_value();
        }
        let mark = self.bytes.len();
        match super::array::encode(value, &mut self.bytes, VALUES_LIMIT) {
            Some(Ok(())) => return self.end_value(),
            Some(Err(e)) => return self.fail_result(index, mark, &e),
            None => {}
        }
        if let Some(encode) = self.encode_value
            && encode(value, self, index)
        {
            return;
        }
        self.push_value(index, &super::Bulk(value));
    }

    /// Adds a value that is encoded already (a call run elsewhere, passed on).
    #[cfg(feature = "mpi")]
    pub(crate) fn push_encoded(&mut self, value: &[u8]) {
        self.bytes.extend_from_slice(value);
        self.end_value();
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

    /// Adds the panic of call `index`, where the worker's hook saw it if it did, with its
    /// backtrace if the hook took one.
    pub fn fail_panicked(&mut self, index: usize, message: &str) {
        let (kind, message) = panic_report::take_recorded(message);
        self.fail(index, kind, &message);
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
            push_varint(&mut self.bytes, u64::from(end - start));
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
