//! Arrays of fixed-width numbers at memory speed: a `Vec<f64>`, `Vec<f32>` or `Vec<i8>` (or a
//! tuple of one) is written and read here, byte for byte as postcard writes it (a varint count,
//! then each number's little-endian bytes), in one pass over memory instead of one serde call per
//! number. postcard writes these numbers at a fixed width, so the bytes of the array are the
//! numbers' own; integers wider than a byte are varints, and stay postcard's. The choice is made
//! by type identity, fixed when the code is compiled, as [`super::plain`] chooses numbers.
//!
//! As there, decoding here only ever succeeds where postcard would give the same value: a count
//! that is not postcard's shortest varint, or that more bytes than arrived would hold, goes to
//! postcard, whose error then names what is wrong. Nothing is allocated before the count is
//! checked against the bytes that arrived.

use std::any::Any;

use super::codec::EncodeError;
use super::frame::push_varint;
use super::identity::{bare_or_tuple, is_bare_or_tuple};
use super::plain::{MAX_LEN as MAX_COUNT_LEN, leading_varint};

/// A number postcard writes at a fixed width, its little-endian bytes.
trait Fixed: Copy + 'static {
    /// Its width in bytes.
    const WIDTH: usize;
    /// Writes its bytes into `out`, of [`Fixed::WIDTH`] bytes.
    fn write(self, out: &mut [u8]);
    /// Reads it from `bytes`, of [`Fixed::WIDTH`] bytes.
    fn read(bytes: &[u8]) -> Self;
}

macro_rules! fixed {
    ($($t:ty),*) => {$(
        impl Fixed for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();

            #[inline(always)]
            fn write(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }

            #[inline(always)]
            fn read(bytes: &[u8]) -> Self {
                let mut le = [0; std::mem::size_of::<$t>()];
                le.copy_from_slice(bytes);
                <$t>::from_le_bytes(le)
            }
        }
    )*};
}
fixed!(f64, f32, i8);

/// Appends the postcard encoding of `value` to `out`, which must stay within `limit` bytes, if
/// it is an array of fixed-width numbers or a tuple of one; `None`, with `out` as it was, for
/// any other type.
///
/// # Errors
///
/// In `Some`: when the encoding would take `out` past `limit` (`out` is then as it was).
#[inline]
pub(crate) fn encode<T: 'static>(
    value: &T,
    out: &mut Vec<u8>,
    limit: usize,
) -> Option<Result<(), EncodeError>> {
    macro_rules! each {
        ($($t:ty),*) => {$(
            if is_bare_or_tuple::<Vec<$t>, T>() {
                let value: &dyn Any = value;
                let items = value
                    .downcast_ref::<Vec<$t>>()
                    .or_else(|| value.downcast_ref::<(Vec<$t>,)>().map(|(items,)| items))?;
                return Some(write(items, out, limit));
            }
        )*};
    }
    each!(f64, f32, i8);
    None
}

fn write<N: Fixed>(items: &[N], out: &mut Vec<u8>, limit: usize) -> Result<(), EncodeError> {
    let bytes = items
        .len()
        .checked_mul(N::WIDTH)
        .filter(|&bytes| out.len() + MAX_COUNT_LEN + bytes <= limit)
        .ok_or(EncodeError::TooLarge)?;
    push_varint(out, items.len() as u64);
    let start = out.len();
    out.resize(start + bytes, 0);
    for (to, &item) in out[start..].chunks_exact_mut(N::WIDTH).zip(items) {
        item.write(to);
    }
    Ok(())
}

/// The array at the start of `bytes`, and the bytes after it, when `T` is an array of
/// fixed-width numbers or a tuple of one and `bytes` start with its postcard encoding; `None`
/// otherwise (postcard then decodes, or says why not).
#[inline]
pub(crate) fn decode<T: 'static>(bytes: &[u8]) -> Option<(T, &[u8])> {
    macro_rules! each {
        ($($t:ty),*) => {$(
            if is_bare_or_tuple::<Vec<$t>, T>() {
                let (items, rest) = read::<$t>(bytes)?;
                return bare_or_tuple(items).map(|value| (value, rest));
            }
        )*};
    }
    each!(f64, f32, i8);
    None
}

fn read<N: Fixed>(bytes: &[u8]) -> Option<(Vec<N>, &[u8])> {
    let (count, used) = leading_varint(bytes)?;
    let bytes = &bytes[used..];
    let len = usize::try_from(count).ok()?.checked_mul(N::WIDTH)?;
    let (numbers, rest) = bytes.split_at_checked(len)?;
    let mut items = Vec::with_capacity(numbers.len() / N::WIDTH);
    items.extend(numbers.chunks_exact(N::WIDTH).map(N::read));
    Some((items, rest))
}

/// Whether `T` is an array of fixed-width numbers (or a tuple of one): folded away by the
/// compiler for each `T`.
#[inline(always)]
pub(crate) fn is_array<T: 'static>() -> bool {
    is_bare_or_tuple::<Vec<f64>, T>()
        || is_bare_or_tuple::<Vec<f32>, T>()
        || is_bare_or_tuple::<Vec<i8>, T>()
}

#[cfg(test)]
mod test;
