use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{decode, encode};
use crate::backend::process::protocol::codec::{decode_exact, encode as postcard_encode};
use crate::test_random::Random;

fn postcard<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::new();
    postcard_encode(value, &mut bytes).unwrap();
    bytes
}

/// Written exactly as postcard writes it, bare and as a tuple of one, and read back.
fn same_as_postcard<T>(values: &[T])
where
    T: Serialize + DeserializeOwned + PartialEq + Debug + Copy + 'static,
{
    for &value in values {
        let mut bytes = Vec::new();
        assert!(encode(&value, &mut bytes));
        assert_eq!(bytes, postcard(&value), "{value:?}");
        let mut tuple = Vec::new();
        assert!(encode(&(value,), &mut tuple));
        assert_eq!(tuple, bytes);
        assert_eq!(decode::<T>(&bytes), Some(value));
        assert_eq!(decode::<(T,)>(&bytes), Some((value,)));
    }
}

#[test]
fn numbers_are_written_and_read_as_postcard_does() {
    same_as_postcard(&[0u8, 1, 127, 128, 255]);
    same_as_postcard(&[0i8, -1, 1, i8::MIN, i8::MAX]);
    same_as_postcard(&[0u16, 127, 128, 16_383, 16_384, u16::MAX]);
    same_as_postcard(&[0i16, -1, 63, -64, 64, i16::MIN, i16::MAX]);
    same_as_postcard(&[0u32, 127, 128, 1 << 21, u32::MAX]);
    same_as_postcard(&[0i32, -1, 1, i32::MIN, i32::MAX]);
    same_as_postcard(&[0u64, 127, 128, 1 << 35, 1 << 63, u64::MAX]);
    same_as_postcard(&[0i64, -1, 1, i64::MIN, i64::MAX]);
    same_as_postcard(&[0usize, 300, usize::MAX]);
    same_as_postcard(&[0isize, -300, isize::MIN, isize::MAX]);
    same_as_postcard(&[0.0f32, -1.5, f32::MAX, f32::MIN_POSITIVE]);
    same_as_postcard(&[0.0f64, -1.5, f64::MAX, f64::EPSILON]);
    same_as_postcard(&[false, true]);
}

#[test]
fn other_types_are_left_to_postcard() {
    let mut bytes = Vec::new();
    assert!(!encode(&"text", &mut bytes));
    assert!(!encode(&(1u32, 2u32), &mut bytes));
    assert!(!encode(&Some(3u64), &mut bytes));
    assert!(!encode(&'c', &mut bytes));
    assert!(!encode(&1u128, &mut bytes));
    assert!(bytes.is_empty());
    assert_eq!(decode::<(u32, u32)>(&[1, 2]), None);
    assert_eq!(decode::<Option<u64>>(&[0]), None);
    assert_eq!(decode::<String>(&[0]), None);
}

/// What this reads of any bytes, postcard reads the same: where it gives up, postcard decides.
fn never_differs<T>(bytes: &[u8])
where
    T: DeserializeOwned + PartialEq + Debug + 'static,
{
    if let Some(value) = decode::<T>(bytes) {
        assert_eq!(
            decode_exact::<T>(bytes).ok(),
            Some(value),
            "{} from {bytes:?}",
            std::any::type_name::<T>()
        );
    }
}

#[test]
fn any_bytes_read_as_a_number_read_the_same_by_postcard() {
    let mut random = Random::new(0x9e37_79b9_7f4a_7c15);
    let mut next = move || random.next();
    let mut read = 0;
    for round in 0..200_000 {
        let len = (next() % 12) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Half the time, well-formed varints of every length, to reach the edges.
        if round % 2 == 0 {
            for byte in bytes.iter_mut().rev().skip(1) {
                *byte |= 0x80;
            }
            if let Some(last) = bytes.last_mut() {
                *last &= 0x7f;
            }
        }
        never_differs::<u8>(&bytes);
        never_differs::<i8>(&bytes);
        never_differs::<u16>(&bytes);
        never_differs::<i16>(&bytes);
        never_differs::<u32>(&bytes);
        never_differs::<i32>(&bytes);
        never_differs::<u64>(&bytes);
        never_differs::<i64>(&bytes);
        never_differs::<(u64,)>(&bytes);
        never_differs::<usize>(&bytes);
        never_differs::<isize>(&bytes);
        never_differs::<bool>(&bytes);
        if decode::<u64>(&bytes).is_some() {
            read += 1;
        }
    }
    // The well-formed half reaches the fast path often.
    assert!(read > 10_000, "{read}");
}
