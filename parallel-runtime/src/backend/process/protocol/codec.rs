//! Values in postcard: encoded in place up to a limit, with the serializer's own message when
//! they do not encode; decoded from exactly their own bytes.

use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::super::serde_message::serialize_error;

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
pub(crate) fn encode<T: serde::Serialize + ?Sized>(
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
pub(crate) fn decode_exact<T: DeserializeOwned + 'static>(bytes: &[u8]) -> Result<T, String> {
    let mut decoder = postcard::Deserializer::from_bytes(bytes);
    let value = super::bulk::deserialize::<T, _>(&mut decoder).map_err(|e| e.to_string())?;
    match decoder.finalize() {
        Ok([]) => Ok(value),
        Ok(rest) => Err(left_over(rest.len())),
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

    // Always: one call per value of a trivial map; left to the heuristics it was inlined in one
    // build and not in the next, and the call cost a trivial `u64` map 12% (criterion, same run).
    #[inline(always)]
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

    #[inline(always)]
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
