//! Results that are tuples, written and read element by element, as argument tuples are
//! ([`super::arguments`]): a `Vec<u8>` in a result `(Vec<u8>, usize)` crosses as a byte string
//! in one block, as it does when it is the whole result.
//!
//! The worker writes a value and the caller reads it in code that only knows the type is serde
//! data, so the function's registry entry carries a [`ValueCodec`] for its result type, picked
//! where `#[parallel]` expands, on `TypeOf<R>`: element by element for a tuple of two to eight
//! serde elements, and nothing for any other type, which [`Bulk`](super::Bulk) writes whole.
//! Either way the bytes are postcard's.

use std::any::Any;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::arguments::{Arguments, Spread};
use super::codec::{decode_exact, left_over};
use super::outcomes::OutcomesBuilder;
use crate::type_of::TypeOf;

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

/// How the values of one function cross: see the module.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct ValueCodec {
    pub(crate) encode: EncodeValue,
    pub(crate) decode: DecodeValue,
}

impl ValueCodec {
    /// The codec of a type that crosses whole: it adds and reads nothing.
    pub(crate) const WHOLE: ValueCodec = ValueCodec {
        encode: |_, _, _| false,
        decode: |_, _| None,
    };
}

/// Writes a tuple element by element.
fn encode_spread<T: 'static>(value: &dyn Any, out: &mut OutcomesBuilder<'_>, index: usize) -> bool
where
    for<'a> Spread<'a, T>: Serialize,
{
    match value.downcast_ref::<T>() {
        Some(value) => {
            out.push_value(index, &Spread(value));
            true
        }
        None => false,
    }
}

/// Reads a tuple element by element, from exactly its own bytes.
fn decode_spread<T: Arguments>(bytes: &[u8], value: &mut dyn Any) -> Option<Result<(), String>> {
    let slot = value.downcast_mut::<Option<T>>()?;
    let mut decoder = postcard::Deserializer::from_bytes(bytes);
    let decoded = T::decode(&mut decoder).map_err(|e| e.to_string());
    Some(decoded.and_then(|decoded| match decoder.finalize() {
        Ok([]) => {
            *slot = Some(decoded);
            Ok(())
        }
        Ok(rest) => Err(left_over(rest.len())),
        Err(e) => Err(e.to_string()),
    }))
}

/// Decodes a value from exactly its own bytes: a plain number directly ([`super::plain`]), a
/// tuple with `decode` where it is the function's codec for `T`, anything else as
/// [`decode_exact`] does (a `Vec<u8>` as a byte string).
///
/// # Errors
///
/// The decoder's message, when the bytes are not a `T`.
#[inline]
pub(crate) fn decode<T: DeserializeOwned + 'static>(
    bytes: &[u8],
    decode: DecodeValue,
) -> Result<T, String> {
    if let Some(value) = super::plain::decode::<T>(bytes) {
        return Ok(value);
    }
    let mut slot: Option<T> = None;
    match decode(bytes, &mut slot) {
        Some(Ok(())) => {
            if let Some(value) = slot {
                return Ok(value);
            }
        }
        Some(Err(message)) => return Err(message),
        None => {}
    }
    decode_exact(bytes)
}

/// The codec of a tuple of serde elements, picked where the bounds hold.
#[doc(hidden)]
pub trait ViaSpreadValue {
    /// Element by element.
    fn __parallel_value(&self) -> ValueCodec;
}

/// The codec of any other type.
#[doc(hidden)]
pub trait ViaWholeValue {
    /// [`ValueCodec::WHOLE`].
    fn __parallel_value(&self) -> ValueCodec;
}

impl<T: ?Sized> ViaWholeValue for &TypeOf<T> {
    fn __parallel_value(&self) -> ValueCodec {
        ValueCodec::WHOLE
    }
}

macro_rules! spread_value {
    ($($arg:ident)*) => {
        impl<$($arg: Serialize + DeserializeOwned + 'static),*> ViaSpreadValue
            for TypeOf<($($arg,)*)>
        {
            fn __parallel_value(&self) -> ValueCodec {
                ValueCodec {
                    encode: encode_spread::<($($arg,)*)>,
                    decode: decode_spread::<($($arg,)*)>,
                }
            }
        }
    };
}
spread_value!(A B);
spread_value!(A B C);
spread_value!(A B C D);
spread_value!(A B C D E);
spread_value!(A B C D E G);
spread_value!(A B C D E G H);
spread_value!(A B C D E G H I);

#[cfg(test)]
mod test;
