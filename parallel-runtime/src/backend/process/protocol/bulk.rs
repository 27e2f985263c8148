//! `Vec<u8>` at memory speed. serde writes and reads a `Vec<u8>` one byte at a time (about
//! 1 GB/s here), but postcard writes a byte string exactly as it writes a sequence of bytes: a
//! varint length, then the bytes. So an argument or result that *is* a `Vec<u8>` (or the
//! argument tuple `(Vec<u8>,)` of a function of one) crosses as a byte string, copied in one
//! block on both sides; either side still reads what the other wrote the slow way. The choice
//! is made by type identity, fixed when the code is compiled: other types pay nothing.

use std::any::{Any, TypeId};
use std::fmt;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};

/// `value`, serialized as serde does, except a `Vec<u8>` (or `(Vec<u8>,)`), written as a byte
/// string.
pub(crate) struct Bulk<'a, T>(pub(crate) &'a T);

impl<T: Serialize + 'static> Serialize for Bulk<'_, T> {
    #[inline]
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let value: &dyn Any = self.0;
        if TypeId::of::<T>() == TypeId::of::<Vec<u8>>()
            && let Some(bytes) = value.downcast_ref::<Vec<u8>>()
        {
            return serializer.serialize_bytes(bytes);
        }
        if TypeId::of::<T>() == TypeId::of::<(Vec<u8>,)>()
            && let Some((bytes,)) = value.downcast_ref::<(Vec<u8>,)>()
        {
            return (ByteString(bytes),).serialize(serializer);
        }
        self.0.serialize(serializer)
    }
}

/// Whether `T` is a `Vec<u8>`, which serde alone writes byte by byte: folded away by the
/// compiler for each `T`.
#[inline(always)]
pub(crate) fn is_byte_vec<T: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<Vec<u8>>()
}

/// The byte string `value` is, when it is a `Vec<u8>` or a `serde_bytes::ByteBuf`, or a tuple
/// of one (which postcard all writes alike, as [`Bulk`] writes a `Vec<u8>`: a varint length,
/// then the bytes); else `value` back.
///
/// # Errors
///
/// `value`, of another type.
#[inline]
pub(crate) fn into_byte_string<T: 'static>(value: T) -> Result<Vec<u8>, T> {
    let id = TypeId::of::<T>();
    if id == TypeId::of::<Vec<u8>>() {
        return Ok(same_type(value));
    }
    if id == TypeId::of::<(Vec<u8>,)>() {
        let (bytes,): (Vec<u8>,) = same_type(value);
        return Ok(bytes);
    }
    if id == TypeId::of::<serde_bytes::ByteBuf>() {
        let bytes: serde_bytes::ByteBuf = same_type(value);
        return Ok(bytes.into_vec());
    }
    if id == TypeId::of::<(serde_bytes::ByteBuf,)>() {
        let (bytes,): (serde_bytes::ByteBuf,) = same_type(value);
        return Ok(bytes.into_vec());
    }
    Err(value)
}

struct ByteString<'a>(&'a [u8]);

impl Serialize for ByteString<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// Deserializes a `T` as serde does, except a `Vec<u8>` (or `(Vec<u8>,)`), read as a byte
/// string.
///
/// # Errors
///
/// The deserializer's.
#[inline]
pub(crate) fn deserialize<'de, T, D>(deserializer: D) -> Result<T, D::Error>
where
    T: Deserialize<'de> + 'static,
    D: Deserializer<'de>,
{
    if TypeId::of::<T>() == TypeId::of::<Vec<u8>>() {
        let bytes = deserializer.deserialize_byte_buf(ByteBuf)?;
        return Ok(same_type(bytes));
    }
    if TypeId::of::<T>() == TypeId::of::<(Vec<u8>,)>() {
        let (bytes,): (OwnedBytes,) = Deserialize::deserialize(deserializer)?;
        return Ok(same_type((bytes.0,)));
    }
    T::deserialize(deserializer)
}

/// `value` as a `B`, when `A` and `B` are one type (checked by the caller).
fn same_type<A: 'static, B: 'static>(value: A) -> B {
    let mut slot = Some(value);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<B>>()
        .and_then(Option::take)
        .expect("the caller checked that the types are the same")
}

struct OwnedBytes(Vec<u8>);

impl<'de> Deserialize<'de> for OwnedBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_byte_buf(ByteBuf).map(OwnedBytes)
    }
}

/// Reads bytes in one block when the format has them so, and element by element otherwise.
struct ByteBuf;

impl<'de> Visitor<'de> for ByteBuf {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes")
    }

    fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
        Ok(bytes.to_vec())
    }

    fn visit_byte_buf<E: serde::de::Error>(self, bytes: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(bytes)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        // As serde reads a `Vec<u8>`: never more room up front than a sequence can prove.
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
        while let Some(byte) = seq.next_element()? {
            bytes.push(byte);
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod test;
