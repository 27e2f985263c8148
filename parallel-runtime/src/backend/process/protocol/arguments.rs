//! Argument tuples of several arguments, written and read element by element.
//!
//! serde writes a tuple through its elements' own `Serialize`, so a `Vec<u8>` beside another
//! argument (`fn f(data: Vec<u8>, key: u32)`) went one byte at a time, as a sequence (about
//! 1 GB/s here), where alone it crosses as a byte string in one block ([`Bulk`]). postcard
//! writes a tuple as its elements back to back, so a tuple written element by element, each
//! through [`Bulk`], is the same bytes on the wire, and reading it element by element reads
//! the same values. Both ends do so:
//!
//! - **The worker**, in the invoker `#[parallel]` generates, which knows the argument types.
//! - **The caller**, through the function's registry entry ([`EncodeArgs`]): the call site only
//!   knows that its tuple is serde data, not what it holds.
//!
//! Each element that is an array of fixed-width numbers is written and read in one pass, as
//! [`array`](super::array) does for a whole argument. Tuples of one argument are [`Bulk`]'s and
//! [`array`](super::array)'s already, and plain numbers are [`plain`](super::plain)'s (tried
//! first on both ends).
//!
//! For a transport that takes parts (MPI, [`Outgoing`](super::Outgoing)), an element that is a
//! large byte string stays out of the frame as a part, as a whole argument does: the caller
//! hands its arguments over, and each element is moved, not copied.

use std::any::Any;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::SerializeTuple;

use super::bulk::{self, Bulk, into_byte_string};
use super::codec::{EncodeError, encode_limited};
use super::outgoing::SHORTEST_PART;
use super::run::{CallInPieces, RunFrame};

/// The argument tuple of a function that can run in a process: its elements are serde data.
///
/// Implemented for tuples of up to eight elements, as [`ProcessFn`](crate::ProcessFn) is for
/// functions of up to eight arguments.
#[doc(hidden)]
pub trait Arguments: Sized + 'static {
    /// Reads the tuple that [`Arguments::encode`] (or postcard) wrote at the start of `bytes`,
    /// and gives the bytes after it.
    ///
    /// # Errors
    ///
    /// postcard's, when the bytes are not such a tuple.
    fn decode(bytes: &[u8]) -> postcard::Result<(Self, &[u8])>;

    /// Adds a call with these arguments to `out`, element by element; gives them back, with
    /// nothing added, for a tuple of fewer than two elements (which [`Bulk`] writes whole).
    ///
    /// # Errors
    ///
    /// The arguments, when they are a tuple of fewer than two elements.
    fn encode(self, out: &mut ArgsOut<'_>) -> Result<(), Self>;
}

/// Where [`EncodeArgs`] adds a call: a request being built.
#[doc(hidden)]
pub struct ArgsOut<'a> {
    frame: &'a mut RunFrame,
    /// Whether byte strings of [`SHORTEST_PART`] or more stay out of the frame.
    parts: bool,
    pushed: Result<(), EncodeError>,
}

impl<'a> ArgsOut<'a> {
    /// Adds calls to `frame`, with parts if `parts`.
    pub(crate) fn new(frame: &'a mut RunFrame, parts: bool) -> Self {
        ArgsOut {
            frame,
            parts,
            pushed: Ok(()),
        }
    }

    /// Whether the call was added.
    ///
    /// # Errors
    ///
    /// When its arguments did not encode ([`RunFrame::push`]); the frame is then as before.
    pub(crate) fn into_pushed(self) -> Result<(), EncodeError> {
        self.pushed
    }

    /// Adds a call of `args`, encoded in one pass.
    fn push<T: Serialize + ?Sized>(&mut self, args: &T) {
        self.pushed = self.frame.push(args);
    }

    /// Adds a call that `write` writes in pieces.
    fn push_in_pieces(
        &mut self,
        write: impl FnOnce(&mut CallInPieces<'_>) -> Result<(), EncodeError>,
    ) {
        let mut call = self.frame.begin_call();
        self.pushed = write(&mut call);
        if self.pushed.is_ok() {
            call.end();
        }
    }
}

/// Appends one element of an argument tuple to `call`, taking it: a byte string of
/// [`SHORTEST_PART`] or more as a part, anything else as [`ElementSink::element`] writes it.
fn append_owned<T: Serialize + 'static>(
    call: &mut CallInPieces<'_>,
    value: T,
) -> Result<(), EncodeError> {
    match into_byte_string(value) {
        Ok(bytes) if bytes.len() >= SHORTEST_PART => call.append_part(bytes),
        // The same bytes on the wire as the element itself.
        Ok(bytes) => call.element(&bytes),
        Err(value) => call.element(&value),
    }
}

/// Where a tuple's elements are written, one after the other.
pub(super) trait ElementSink {
    /// Writes `value`: an array of fixed-width numbers in one pass ([`super::array`]), anything
    /// else through [`Bulk`].
    ///
    /// # Errors
    ///
    /// When it does not encode, or would pass the sink's limit.
    fn element<T: Serialize + 'static>(&mut self, value: &T) -> Result<(), EncodeError>;
}

/// Appends to a buffer that must stay within `limit` bytes.
pub(super) struct Appending<'a> {
    pub(super) bytes: &'a mut Vec<u8>,
    pub(super) limit: usize,
}

impl ElementSink for Appending<'_> {
    #[inline]
    fn element<T: Serialize + 'static>(&mut self, value: &T) -> Result<(), EncodeError> {
        match super::array::encode(value, self.bytes, self.limit) {
            Some(written) => written,
            None => encode_limited(&Bulk(value), self.bytes, self.limit),
        }
    }
}

impl ElementSink for CallInPieces<'_> {
    #[inline]
    fn element<T: Serialize + 'static>(&mut self, value: &T) -> Result<(), EncodeError> {
        let (bytes, limit) = self.bytes_and_limit();
        Appending { bytes, limit }.element(value)
    }
}

/// A tuple of two or more elements, written element by element.
pub(super) trait Elements: Serialize {
    /// Whether an element is an array of fixed-width numbers ([`super::array`]): then the tuple
    /// is written and read one element at a time, each array in one pass; otherwise in one
    /// serde pass ([`Spread`]), which costs less for a few small elements.
    fn has_array() -> bool;

    /// Writes each element to `sink`, in order.
    ///
    /// # Errors
    ///
    /// The first element's that does not encode.
    fn write_elements(&self, sink: &mut impl ElementSink) -> Result<(), EncodeError>;
}

/// A tuple serialized in one pass, each element through [`Bulk`].
pub(super) struct Spread<'a, T>(pub(super) &'a T);

/// Reads one element of a tuple (or a whole tuple of fewer than two) at the start of `bytes`,
/// and gives the bytes after it: an array of fixed-width numbers directly ([`super::array`]),
/// anything else through [`bulk`].
#[inline]
fn element<T: DeserializeOwned + 'static>(bytes: &[u8]) -> postcard::Result<(T, &[u8])> {
    if let Some(read) = super::array::decode::<T>(bytes) {
        return Ok(read);
    }
    let mut decoder = postcard::Deserializer::from_bytes(bytes);
    let value = bulk::deserialize::<T, _>(&mut decoder)?;
    Ok((value, decoder.finalize()?))
}

/// How the caller adds a call of one function to a request: [`encode_any`] of the function's
/// argument tuple, or `false` where it takes no part (its arguments are not serde data).
pub type EncodeArgs = fn(args: &mut dyn Any, out: &mut ArgsOut<'_>) -> bool;

/// [`Arguments::encode`] of the `A` that `args` (an `Option<A>`) holds, taken out; `false`,
/// with `args` and `out` as they were, for anything else.
pub fn encode_any<A: Arguments>(args: &mut dyn Any, out: &mut ArgsOut<'_>) -> bool {
    let Some(slot) = args.downcast_mut::<Option<A>>() else {
        return false;
    };
    let Some(args) = slot.take() else {
        return false;
    };
    match args.encode(out) {
        Ok(()) => true,
        Err(args) => {
            *slot = Some(args);
            false
        }
    }
}

macro_rules! arguments {
    // Whole: a tuple of fewer than two elements.
    (whole $($arg:ident)*) => {
        impl<$($arg: Serialize + DeserializeOwned + 'static),*> Arguments for ($($arg,)*) {
            #[inline]
            fn decode(bytes: &[u8]) -> postcard::Result<(Self, &[u8])> {
                element(bytes)
            }

            #[inline]
            fn encode(self, _: &mut ArgsOut<'_>) -> Result<(), Self> {
                Err(self)
            }
        }
    };
    ($($arg:ident $index:tt $var:ident)*) => {
        impl<$($arg: Serialize + DeserializeOwned + 'static),*> Arguments for ($($arg,)*) {
            #[inline]
            fn decode(bytes: &[u8]) -> postcard::Result<(Self, &[u8])> {
                if Self::has_array() {
                    $(let ($var, bytes) = element::<$arg>(bytes)?;)*
                    return Ok((($($var,)*), bytes));
                }
                let mut decoder = postcard::Deserializer::from_bytes(bytes);
                $(let $var = bulk::deserialize::<$arg, _>(&mut decoder)?;)*
                Ok((($($var,)*), decoder.finalize()?))
            }

            #[inline]
            fn encode(self, out: &mut ArgsOut<'_>) -> Result<(), Self> {
                if out.parts {
                    out.push_in_pieces(move |call| {
                        $(append_owned(call, self.$index)?;)*
                        Ok(())
                    });
                } else if Self::has_array() {
                    out.push_in_pieces(|call| self.write_elements(call));
                } else {
                    out.push(&Spread(&self));
                }
                Ok(())
            }
        }

        impl<$($arg: Serialize + 'static),*> Elements for ($($arg,)*) {
            #[inline(always)]
            fn has_array() -> bool {
                false $(|| super::array::is_array::<$arg>())*
            }

            #[inline]
            fn write_elements(&self, sink: &mut impl ElementSink) -> Result<(), EncodeError> {
                $(sink.element(&self.$index)?;)*
                Ok(())
            }
        }

        impl<$($arg: Serialize + 'static),*> Serialize for Spread<'_, ($($arg,)*)> {
            #[inline]
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut tuple = serializer.serialize_tuple([$($index),*].len())?;
                $(tuple.serialize_element(&Bulk(&(self.0).$index))?;)*
                tuple.end()
            }
        }
    };
}
arguments!(whole);
arguments!(whole A);
arguments!(A 0 a B 1 b);
arguments!(A 0 a B 1 b C 2 c);
arguments!(A 0 a B 1 b C 2 c D 3 d);
arguments!(A 0 a B 1 b C 2 c D 3 d E 4 e);
arguments!(A 0 a B 1 b C 2 c D 3 d E 4 e G 5 g);
arguments!(A 0 a B 1 b C 2 c D 3 d E 4 e G 5 g H 6 h);
arguments!(A 0 a B 1 b C 2 c D 3 d E 4 e G 5 g H 6 h I 7 i);

#[cfg(test)]
mod test;
