//! Results that are tuples, written and read element by element, as argument tuples are
//! ([`super::arguments`]): a `Vec<u8>` in a result `(Vec<u8>, usize)` crosses as a byte string
//! in one block, as it does when it is the whole result.
//!
//! The worker writes a value and the caller reads it in code that only knows the type is serde
//! data, so the function's registry entry carries a [`ValueCodec`] for its result type, picked
//! where `#[parallel]` expands, on `TypeOf<R>`: element by element for a tuple of two to eight
//! serde elements of which one is a `Vec<u8>` or an array of fixed-width numbers, and nothing
//! for any other type, which [`Bulk`](super::Bulk) writes whole (a tuple of small values costs
//! less that way). Either way the bytes are postcard's.

use std::any::Any;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::arguments::{Arguments, Elements, Spread};
use super::codec::{decode_exact, left_over};
use super::outcomes::{DecodeValue, OutcomesBuilder, ValueCodec};
use super::{array, bulk};
use crate::type_of::TypeOf;

/// Writes a tuple element by element.
fn encode_spread<T: Elements + 'static>(
    value: &dyn Any,
    out: &mut OutcomesBuilder<'_>,
    index: usize,
) -> bool
where
    for<'a> Spread<'a, T>: Serialize,
{
    let Some(value) = value.downcast_ref::<T>() else {
        return false;
    };
    if T::has_array() {
        out.push_value_in_pieces(index, |sink| value.write_elements(sink));
    } else {
        out.push_value(index, &Spread(value));
    }
    true
}

/// Reads a tuple element by element, from exactly its own bytes.
fn decode_spread<T: Arguments>(bytes: &[u8], value: &mut dyn Any) -> Option<Result<(), String>> {
    let slot = value.downcast_mut::<Option<T>>()?;
    Some(match T::decode(bytes) {
        Ok((decoded, [])) => {
            *slot = Some(decoded);
            Ok(())
        }
        Ok((_, rest)) => Err(left_over(rest.len())),
        Err(e) => Err(e.to_string()),
    })
}

/// Decodes a value from exactly its own bytes: a plain number or an array of fixed-width
/// numbers directly ([`super::plain`], [`super::array`]), a tuple with `decode` (the function's
/// [`ValueCodec`]) where there is one, anything else as [`decode_exact`] does (a `Vec<u8>` as a
/// byte string).
///
/// # Errors
///
/// The decoder's message, when the bytes are not a `T`.
#[inline(always)]
pub(crate) fn decode<T: DeserializeOwned + 'static>(
    bytes: &[u8],
    decode: Option<DecodeValue>,
) -> Result<T, String> {
    if let Some(value) = super::plain::decode::<T>(bytes) {
        return Ok(value);
    }
    if let Some((value, [])) = super::array::decode::<T>(bytes) {
        return Ok(value);
    }
    if let Some(decode) = decode {
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
                // A tuple of small values reads and writes as fast whole.
                if !(false $(|| bulk::is_byte_vec::<$arg>() || array::is_array::<$arg>())*) {
                    return ValueCodec::WHOLE;
                }
                ValueCodec {
                    encode: Some(encode_spread::<($($arg,)*)>),
                    decode: Some(decode_spread::<($($arg,)*)>),
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
