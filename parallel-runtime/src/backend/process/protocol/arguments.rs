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
//! Tuples of one argument are [`Bulk`]'s already, and plain numbers are [`plain`](super::plain)'s
//! (tried first on both ends).
//!
//! For a transport that takes parts (MPI, [`Outgoing`](super::Outgoing)), an element that is a
//! large byte string stays out of the frame as a part, as a whole argument does: the caller
//! hands its arguments over, and each element is moved, not copied.

use std::any::Any;

use postcard::de_flavors::Slice;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::SerializeTuple;

use super::bulk::{self, Bulk, into_byte_string};
use super::codec::EncodeError;
use super::outgoing::SHORTEST_PART;
use super::run::{CallInPieces, RunFrame};

/// The postcard decoder a worker reads a call's arguments with.
pub type ArgsDecoder<'de> = postcard::Deserializer<'de, Slice<'de>>;

/// The argument tuple of a function that can run in a process: its elements are serde data.
///
/// Implemented for tuples of up to eight elements, as [`ProcessFn`](crate::ProcessFn) is for
/// functions of up to eight arguments.
#[doc(hidden)]
pub trait Arguments: Sized + 'static {
    /// Reads the tuple that [`Arguments::encode`] (or postcard) wrote.
    ///
    /// # Errors
    ///
    /// postcard's, when the bytes are not such a tuple.
    fn decode(decoder: &mut ArgsDecoder<'_>) -> postcard::Result<Self>;

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

    /// Adds a call of `args`, encoded whole.
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

/// Appends one element of an argument tuple to `call`: a byte string of [`SHORTEST_PART`] or
/// more as a part, anything else encoded in place.
fn append_element<T: Serialize + 'static>(
    call: &mut CallInPieces<'_>,
    value: T,
) -> Result<(), EncodeError> {
    match into_byte_string(value) {
        Ok(bytes) if bytes.len() >= SHORTEST_PART => call.append_part(bytes),
        // The same bytes on the wire as the element itself.
        Ok(bytes) => call.append(&Bulk(&bytes)),
        Err(value) => call.append(&Bulk(&value)),
    }
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

/// A tuple whose elements each serialize through [`Bulk`].
pub(super) struct Spread<'a, T>(pub(super) &'a T);

macro_rules! arguments {
    // Whole: a tuple of fewer than two elements.
    (whole $($arg:ident)*) => {
        impl<$($arg: Serialize + DeserializeOwned + 'static),*> Arguments for ($($arg,)*) {
            #[inline]
            fn decode(decoder: &mut ArgsDecoder<'_>) -> postcard::Result<Self> {
                bulk::deserialize(decoder)
            }

            #[inline]
            fn encode(self, _: &mut ArgsOut<'_>) -> Result<(), Self> {
                Err(self)
            }
        }
    };
    ($len:literal: $($arg:ident $index:tt)*) => {
        impl<$($arg: Serialize + DeserializeOwned + 'static),*> Arguments for ($($arg,)*) {
            #[inline]
            fn decode(decoder: &mut ArgsDecoder<'_>) -> postcard::Result<Self> {
                Ok(($(bulk::deserialize::<$arg, _>(&mut *decoder)?,)*))
            }

            #[inline]
            fn encode(self, out: &mut ArgsOut<'_>) -> Result<(), Self> {
                if out.parts {
                    out.push_in_pieces(move |call| {
                        $(append_element(call, self.$index)?;)*
                        Ok(())
                    });
                } else {
                    out.push(&Spread(&self));
                }
                Ok(())
            }
        }

        impl<$($arg: Serialize + 'static),*> Serialize for Spread<'_, ($($arg,)*)> {
            #[inline]
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut tuple = serializer.serialize_tuple($len)?;
                $(tuple.serialize_element(&Bulk(&(self.0).$index))?;)*
                tuple.end()
            }
        }
    };
}
arguments!(whole);
arguments!(whole A);
arguments!(2: A 0 B 1);
arguments!(3: A 0 B 1 C 2);
arguments!(4: A 0 B 1 C 2 D 3);
arguments!(5: A 0 B 1 C 2 D 3 E 4);
arguments!(6: A 0 B 1 C 2 D 3 E 4 G 5);
arguments!(7: A 0 B 1 C 2 D 3 E 4 G 5 H 6);
arguments!(8: A 0 B 1 C 2 D 3 E 4 G 5 H 6 I 7);

#[cfg(test)]
mod test;
