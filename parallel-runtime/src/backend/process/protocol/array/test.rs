use serde::Serialize;
use serde::de::DeserializeOwned;

use super::*;
use crate::test_random::Random;

const LENS: [usize; 7] = [0, 1, 2, 127, 128, 16_383, 16_384];

/// `value` is written as postcard writes it, bare and as a tuple of one, and reads back with the
/// bytes after it.
fn crosses<A: Serialize + DeserializeOwned + 'static>(value: A, same: impl Fn(&A, &A) -> bool) {
    let expected = postcard::to_allocvec(&value).unwrap();
    let mut out = vec![9];
    assert!(matches!(encode(&value, &mut out, usize::MAX), Some(Ok(()))));
    assert_eq!(out[1..], expected[..]);
    let mut tupled = Vec::new();
    assert!(matches!(
        encode(&(value,), &mut tupled, usize::MAX),
        Some(Ok(()))
    ));
    assert_eq!(tupled, expected);
    let mut followed = expected.clone();
    followed.extend_from_slice(&[1, 2, 3]);
    let (back, rest) = decode::<A>(&followed).unwrap();
    assert!(same(&back, &postcard::from_bytes(&expected).unwrap()));
    assert_eq!(rest, [1, 2, 3]);
    let ((back,), rest) = decode::<(A,)>(&expected).unwrap();
    assert!(same(&back, &postcard::from_bytes(&expected).unwrap()));
    assert!(rest.is_empty());
}

#[test]
fn arrays_are_written_as_postcard_writes_them_and_read_back() {
    let mut random = Random::new(0xa77a_5eed);
    for len in LENS {
        let bits: Vec<u64> = (0..len).map(|_| random.next()).collect();
        // Every bit pattern, NaNs and infinities too: compared bit for bit.
        let doubles: Vec<f64> = bits.iter().map(|&b| f64::from_bits(b)).collect();
        crosses(doubles, |a, b| {
            a.iter()
                .map(|x| x.to_bits())
                .eq(b.iter().map(|x| x.to_bits()))
        });
        let floats: Vec<f32> = bits.iter().map(|&b| f32::from_bits(b as u32)).collect();
        crosses(floats, |a, b| {
            a.iter()
                .map(|x| x.to_bits())
                .eq(b.iter().map(|x| x.to_bits()))
        });
        let bytes: Vec<i8> = bits.iter().map(|&b| b as i8).collect();
        crosses(bytes, |a, b| a == b);
    }
}

#[test]
fn other_types_are_left_to_postcard() {
    let mut out = Vec::new();
    assert!(encode(&vec![1u64, 2], &mut out, usize::MAX).is_none());
    assert!(encode(&vec![1u8, 2], &mut out, usize::MAX).is_none());
    assert!(encode(&(vec![1.0f64], 2u8), &mut out, usize::MAX).is_none());
    assert!(encode(&1.0f64, &mut out, usize::MAX).is_none());
    assert!(out.is_empty());
    assert!(decode::<Vec<u64>>(&[1, 1]).is_none());
    assert!(decode::<Vec<bool>>(&[1, 1]).is_none());
}

#[test]
fn an_array_past_the_limit_is_too_large_and_writes_nothing() {
    let mut out = vec![7; 5];
    let value = vec![1.5f64; 100];
    let needed = 5 + 1 + 800;
    assert!(matches!(
        encode(&value, &mut out, needed + MAX_COUNT_LEN - 2),
        Some(Err(EncodeError::TooLarge))
    ));
    assert_eq!(out, [7; 5]);
    assert!(matches!(
        encode(&value, &mut out, needed + MAX_COUNT_LEN),
        Some(Ok(()))
    ));
    assert_eq!(out.len(), needed);
}

#[test]
fn counts_beyond_the_bytes_or_not_postcard_s_are_left_to_postcard() {
    // A count of 3 doubles with 2 doubles' bytes; a count near 2^64: nothing allocated.
    let mut short = vec![3];
    short.extend_from_slice(&[0; 16]);
    assert!(decode::<Vec<f64>>(&short).is_none());
    let huge = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert!(decode::<Vec<f64>>(&huge).is_none());
    // A count in a longer form than the shortest, and one of eleven bytes.
    assert!(decode::<Vec<i8>>(&[0x80, 0x00]).is_none());
    assert!(decode::<Vec<i8>>(&[0x80; 11]).is_none());
    assert!(decode::<Vec<i8>>(&[]).is_none());
}

/// Where the fast path reads `bytes` as an `A`, postcard reads the same value and leaves the
/// same bytes.
fn reads_as_postcard<A: DeserializeOwned + PartialEq + std::fmt::Debug + 'static>(bytes: &[u8]) {
    if let Some((value, rest)) = decode::<A>(bytes) {
        let (expected, expected_rest) = postcard::take_from_bytes::<A>(bytes).unwrap();
        assert_eq!(value, expected, "{bytes:?}");
        assert_eq!(rest, expected_rest, "{bytes:?}");
    }
}

#[test]
fn random_bytes_read_as_postcard_reads_them() {
    let mut random = Random::new(0xa77a_f022);
    for _ in 0..200_000 {
        let len = random.below(40);
        let mut bytes = random.bytes(len);
        // Mostly counts that fit what follows.
        if let Some(first) = bytes.first_mut() {
            *first %= 1 + (random.below(3) * 60) as u8;
        }
        reads_as_postcard::<Vec<i8>>(&bytes);
        reads_as_postcard::<(Vec<i8>,)>(&bytes);
        // Compared as bits: NaNs differ from themselves.
        if let Some((value, rest)) = decode::<Vec<f32>>(&bytes) {
            let (expected, expected_rest) = postcard::take_from_bytes::<Vec<f32>>(&bytes).unwrap();
            assert!(
                value
                    .iter()
                    .map(|x| x.to_bits())
                    .eq(expected.iter().map(|x| x.to_bits()))
            );
            assert_eq!(rest, expected_rest);
        }
    }
}
