//! Plain numbers at wire speed: an argument or result that is one number (`u64`, `i32`, `f64`,
//! `bool`, ..., or a tuple of one) is written and read here, byte for byte as postcard writes it,
//! without a postcard serializer. Maps of many tiny calls spend most of their time encoding and
//! decoding such values, and postcard's general path (a serializer set up per value, a varint
//! built in a buffer, then copied) cost several times the work itself. The choice is made by type
//! identity, fixed when the code is compiled, as [`super::bulk`] chooses byte strings; other
//! types go to postcard as before.
//!
//! Decoding here only ever succeeds where postcard would give the same value: bytes it does not
//! read exactly (a varint too long or cut short, a `bool` other than 0 or 1, bytes left over) go
//! to postcard, whose error then names what is wrong.

use std::any::Any;

use super::frame::push_varint;
use super::identity::{bare_or_tuple, is_bare_or_tuple};

/// The most bytes a plain number takes: a varint of 64 bits.
pub(super) const MAX_LEN: usize = 10;

/// Appends the postcard encoding of `value` to `out` and says `true`, if it is a plain number or
/// a tuple of one; says `false` and leaves `out` alone otherwise.
#[inline(always)]
pub(crate) fn encode<T: 'static>(value: &T, out: &mut Vec<u8>) -> bool {
    macro_rules! each {
        ($($t:ty => $write:expr),* $(,)?) => {$(
            if is_bare_or_tuple::<$t, T>() {
                let value: &dyn Any = value;
                let Some(&n) = value
                    .downcast_ref::<$t>()
                    .or_else(|| value.downcast_ref::<($t,)>().map(|(n,)| n))
                else {
                    return false;
                };
                #[allow(clippy::redundant_closure_call)]
                ($write)(out, n);
                return true;
            }
        )*};
    }
    each!(
        u16 => |out, n: u16| push_varint(out, u64::from(n)),
        u32 => |out, n: u32| push_varint(out, u64::from(n)),
        u64 => |out, n: u64| push_varint(out, n),
        usize => |out, n: usize| push_varint(out, n as u64),
        i16 => |out, n: i16| push_varint(out, zigzag(i64::from(n))),
        i32 => |out, n: i32| push_varint(out, zigzag(i64::from(n))),
        i64 => |out, n: i64| push_varint(out, zigzag(n)),
        isize => |out, n: isize| push_varint(out, zigzag(n as i64)),
        u8 => |out: &mut Vec<u8>, n: u8| out.push(n),
        i8 => |out: &mut Vec<u8>, n: i8| out.push(n as u8),
        f32 => |out: &mut Vec<u8>, n: f32| out.extend_from_slice(&n.to_le_bytes()),
        f64 => |out: &mut Vec<u8>, n: f64| out.extend_from_slice(&n.to_le_bytes()),
        bool => |out: &mut Vec<u8>, n: bool| out.push(u8::from(n)),
    );
    false
}

/// The value `bytes` encode, when `T` is a plain number or a tuple of one and `bytes` are
/// exactly its postcard encoding; `None` otherwise (postcard then decodes, or says why not).
#[inline(always)]
pub(crate) fn decode<T: 'static>(bytes: &[u8]) -> Option<T> {
    macro_rules! each {
        ($($t:ty => $read:expr),* $(,)?) => {$(
            if is_bare_or_tuple::<$t, T>() {
                #[allow(clippy::redundant_closure_call)]
                let n: Option<$t> = ($read)(bytes);
                return n.and_then(bare_or_tuple::<$t, T>);
            }
        )*};
    }
    each!(
        u16 => |b| whole_varint(b).and_then(|n| u16::try_from(n).ok()),
        u32 => |b| whole_varint(b).and_then(|n| u32::try_from(n).ok()),
        u64 => whole_varint,
        usize => |b| whole_varint(b).and_then(|n| usize::try_from(n).ok()),
        i16 => |b| whole_varint(b).and_then(|n| i16::try_from(unzigzag(n)).ok()),
        i32 => |b| whole_varint(b).and_then(|n| i32::try_from(unzigzag(n)).ok()),
        i64 => |b| whole_varint(b).map(unzigzag),
        isize => |b| whole_varint(b).and_then(|n| isize::try_from(unzigzag(n)).ok()),
        u8 => |b: &[u8]| <[u8; 1]>::try_from(b).ok().map(u8::from_le_bytes),
        i8 => |b: &[u8]| <[u8; 1]>::try_from(b).ok().map(i8::from_le_bytes),
        f32 => |b: &[u8]| <[u8; 4]>::try_from(b).ok().map(f32::from_le_bytes),
        f64 => |b: &[u8]| <[u8; 8]>::try_from(b).ok().map(f64::from_le_bytes),
        bool => |b: &[u8]| match b {
            [0] => Some(false),
            [1] => Some(true),
            _ => None,
        },
    );
    None
}

/// The varint at the start of `bytes`, as [`whole_varint`] reads it, and how many bytes it took;
/// `None` where that is not a varint.
pub(super) fn leading_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let len = bytes
        .iter()
        .take(MAX_LEN)
        .position(|&byte| byte & 0x80 == 0)?
        + 1;
    Some((whole_varint(&bytes[..len])?, len))
}

/// The varint that is all of `bytes`, in its shortest form (as postcard writes it) and within
/// 64 bits; `None` for anything else.
#[inline(always)]
fn whole_varint(bytes: &[u8]) -> Option<u64> {
    let (&last, rest) = bytes.split_last()?;
    if last & 0x80 != 0 || bytes.len() > MAX_LEN || (last == 0 && !rest.is_empty()) {
        return None;
    }
    let mut n = 0u64;
    for (at, &byte) in rest.iter().enumerate() {
        if byte & 0x80 == 0 {
            return None;
        }
        n |= u64::from(byte & 0x7f) << (7 * at);
    }
    let shift = 7 * rest.len() as u32;
    let high = u64::from(last).checked_shl(shift)?;
    if shift > 0 && (high >> shift) != u64::from(last) {
        return None;
    }
    Some(n | high)
}

#[inline(always)]
fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

#[inline(always)]
fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

#[cfg(test)]
mod test;
