//! The message of a failed `Serialize` impl, which postcard drops.
//!
//! postcard's `serde::ser::Error::custom` returns the fieldless `Error::SerdeSerCustom`
//! ("Serde Serialization Error"), whatever the message. [`serialize_error`] serializes the value
//! again into a sink that writes nothing and keeps that message.
//!
//! The sink walks a value the way postcard does: it is not human-readable either, and it runs
//! `Display` in `collect_str`. It accepts what postcard refuses with errors of its own, such as a
//! sequence or map of unknown length (`SerializeSeqLengthUnknown`): ask it only when postcard's
//! error is `SerdeSerCustom`.

use std::fmt::{self, Display};

use serde::Serialize;
use serde::ser::{
    SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant, Serializer,
};

/// The message a value's `Serialize` impl fails with, when it fails through `S::Error::custom`
/// (directly, or through serde's helpers that call it); `None` when it serializes.
///
/// Also `None` when the value's `Display` fails in `collect_str` (postcard's `CollectStrError`):
/// there is no message to keep.
pub(crate) fn serialize_error<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    value
        .serialize(Sink)
        .err()
        .and_then(|failure| failure.message)
}

/// A serializer that writes nothing and fails only where the value does.
struct Sink;

/// Why the sink stopped.
#[derive(Debug)]
struct Failure {
    /// The message given to `custom`; `None` when a `Display` failed in `collect_str`.
    message: Option<String>,
}

impl Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            self.message
                .as_deref()
                .unwrap_or("a Display implementation failed"),
        )
    }
}

impl std::error::Error for Failure {}

impl serde::ser::Error for Failure {
    fn custom<T: Display>(message: T) -> Self {
        Failure {
            message: Some(message.to_string()),
        }
    }
}

/// A `fmt::Write` that keeps nothing, for running a value's `Display`.
struct Discard;

impl fmt::Write for Discard {
    fn write_str(&mut self, _: &str) -> fmt::Result {
        Ok(())
    }
}

impl Serializer for Sink {
    type Ok = ();
    type Error = Failure;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    /// Like postcard's: types with a compact form take it.
    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bool(self, _: bool) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_i8(self, _: i8) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_i16(self, _: i16) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_i32(self, _: i32) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_i64(self, _: i64) -> Result<(), Failure> {
        Ok(())
    }

    /// postcard encodes 128-bit integers; serde's default refuses them.
    fn serialize_i128(self, _: i128) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_u8(self, _: u8) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_u16(self, _: u16) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_u32(self, _: u32) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_u64(self, _: u64) -> Result<(), Failure> {
        Ok(())
    }

    /// See [`Sink::serialize_i128`].
    fn serialize_u128(self, _: u128) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_f32(self, _: f32) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_f64(self, _: f64) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_char(self, _: char) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_str(self, _: &str) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_none(self) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Failure> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<(), Failure> {
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Failure> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), Failure> {
        value.serialize(self)
    }

    /// Accepts an unknown length, which postcard refuses.
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Failure> {
        Ok(self)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self, Failure> {
        Ok(self)
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Failure> {
        Ok(self)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Failure> {
        Ok(self)
    }

    /// Accepts an unknown length, which postcard refuses.
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Failure> {
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Failure> {
        Ok(self)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Failure> {
        Ok(self)
    }

    /// Runs `value`'s `Display` as postcard does, keeping nothing. serde's default would build a
    /// `String`, and panic where `Display` fails.
    fn collect_str<T: Display + ?Sized>(self, value: &T) -> Result<(), Failure> {
        fmt::write(&mut Discard, format_args!("{value}")).map_err(|_| Failure { message: None })
    }
}

impl SerializeSeq for Sink {
    type Ok = ();
    type Error = Failure;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        value.serialize(Sink)
    }

    fn end(self) -> Result<(), Failure> {
        Ok(())
    }
}

impl SerializeTuple for Sink {
    type Ok = ();
    type Error = Failure;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        value.serialize(Sink)
    }

    fn end(self) -> Result<(), Failure> {
        Ok(())
    }
}

impl SerializeTupleStruct for Sink {
    type Ok = ();
    type Error = Failure;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        value.serialize(Sink)
    }

    fn end(self) -> Result<(), Failure> {
        Ok(())
    }
}

impl SerializeTupleVariant for Sink {
    type Ok = ();
    type Error = Failure;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        value.serialize(Sink)
    }

    fn end(self) -> Result<(), Failure> {
        Ok(())
    }
}

impl SerializeMap for Sink {
    type Ok = ();
    type Error = Failure;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Failure> {
        key.serialize(Sink)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        value.serialize(Sink)
    }

    fn end(self) -> Result<(), Failure> {
        Ok(())
    }
}

impl SerializeStruct for Sink {
    type Ok = ();
    type Error = Failure;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Failure> {
        value.serialize(Sink)
    }

    fn end(self) -> Result<(), Failure> {
        Ok(())
    }
}

impl SerializeStructVariant for Sink {
    type Ok = ();
    type Error = Failure;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Failure> {
        value.serialize(Sink)
    }

    fn end(self) -> Result<(), Failure> {
        Ok(())
    }
}

#[cfg(test)]
mod test;
