use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::decode as decode_value;
use super::*;
use crate::test_random::Random;

/// The codec `#[parallel]` picks for a function returning `T`.
macro_rules! codec_of {
    ($t:ty) => {{
        #[allow(unused_imports)]
        use super::{ViaSpreadValue as _, ViaWholeValue as _};
        (&TypeOf::<$t>::new()).__parallel_value()
    }};
}

/// The reply `value` makes with `codec`, and the one postcard makes of it whole.
fn both_replies<T: Serialize + 'static>(value: &T, codec: ValueCodec) -> (Vec<u8>, Vec<u8>) {
    let mut spread = OutcomesBuilder::new(Vec::new(), None);
    spread.set_value_codec(codec);
    spread.push_result(0, value);
    let mut whole = OutcomesBuilder::new(Vec::new(), None);
    whole.push_value(0, value);
    (spread.finish(1, 1, 0), whole.finish(1, 1, 0))
}

/// `value` crosses with `codec` as postcard writes it, and reads back.
fn crosses<T: Serialize + DeserializeOwned + PartialEq + Debug + 'static>(
    value: T,
    codec: ValueCodec,
) {
    let spread = codec.encode.is_some();
    assert_eq!(codec.decode.is_some(), spread);
    // Written element by element (or whole), as postcard writes it.
    let mut out = OutcomesBuilder::new(Vec::new(), None);
    assert_eq!(
        codec
            .encode
            .is_some_and(|encode| encode(&value, &mut out, 0)),
        spread
    );
    let (written, whole) = both_replies(&value, codec);
    assert!(written == whole, "{value:?}");
    let bytes = postcard::to_allocvec(&value).unwrap();
    if spread {
        let mut slot: Option<T> = None;
        assert_eq!(codec.decode.unwrap()(&bytes, &mut slot), Some(Ok(())));
        assert_eq!(slot.as_ref(), Some(&value));
    }
    assert_eq!(decode_value::<T>(&bytes, codec.decode).unwrap(), value);
}

#[test]
fn tuple_values_cross_element_by_element_as_postcard_writes_them() {
    for len in [0usize, 1, 127, 128, 16_384, 70_000] {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 3 + len) as u8).collect();
        crosses((bytes.clone(), len), codec_of!((Vec<u8>, usize)));
        crosses(
            (String::from("x"), bytes.clone(), Some(bytes.clone())),
            codec_of!((String, Vec<u8>, Option<Vec<u8>>)),
        );
        crosses(
            (1u8, 2u16, 3u32, 4u64, 5i8, -6i64, 7.5f64, bytes.clone()),
            codec_of!((u8, u16, u32, u64, i8, i64, f64, Vec<u8>)),
        );
        let doubles: Vec<f64> = bytes.iter().map(|&b| f64::from(b) / 4.0).collect();
        crosses(
            (doubles.clone(), len as u32, bytes.clone()),
            codec_of!((Vec<f64>, u32, Vec<u8>)),
        );
        // A whole array is written directly, whatever the codec.
        crosses(doubles, ValueCodec::WHOLE);
    }
}

#[test]
fn other_values_are_left_whole() {
    for codec in [
        codec_of!(Vec<u8>),
        codec_of!((Vec<u8>,)),
        codec_of!(u64),
        // Small values: as fast whole.
        codec_of!((u64, String, Option<u8>)),
        // Not serde data: never sent, and never written element by element.
        codec_of!((Vec<u8>, std::rc::Rc<u8>)),
    ] {
        assert!(codec.encode.is_none() && codec.decode.is_none());
    }
    // A codec meets a value of another type: it adds and reads nothing.
    let codec = codec_of!((Vec<u8>, usize));
    let (encode, decode) = (codec.encode.unwrap(), codec.decode.unwrap());
    let mut out = OutcomesBuilder::new(Vec::new(), None);
    assert!(!encode(&(vec![3u8], 1u32), &mut out, 0));
    let mut slot: Option<(Vec<u8>, u32)> = None;
    assert_eq!(decode(&[1, 3, 1], &mut slot), None);
    assert_eq!(slot, None);
    // Then the value is read whole.
    assert_eq!(
        decode_value::<(Vec<u8>, u32)>(&[1, 3, 1], codec.decode).unwrap(),
        (vec![3], 1)
    );
}

#[test]
fn values_that_do_not_decode_say_why() {
    let codec = codec_of!((Vec<u8>, u8));
    // Two bytes more than the tuple.
    let left = decode_value::<(Vec<u8>, u8)>(&[1, 9, 4, 0, 0], codec.decode).unwrap_err();
    assert!(left.contains("2 bytes left over"), "{left}");
    // A byte string longer than what arrived.
    assert!(decode_value::<(Vec<u8>, u8)>(&[5, 1, 2], codec.decode).is_err());
}

/// Where either reads a value from `bytes` as a `T`, the codec and postcard read the same one,
/// from all of the bytes.
fn reads_as_postcard<T: DeserializeOwned + PartialEq + Debug + 'static>(
    bytes: &[u8],
    codec: ValueCodec,
) {
    let spread = decode_value::<T>(bytes, codec.decode).ok();
    let whole = postcard::from_bytes::<T>(bytes)
        .ok()
        .filter(|_| postcard::take_from_bytes::<T>(bytes).is_ok_and(|(_, rest)| rest.is_empty()));
    assert_eq!(spread, whole, "{bytes:?}");
}

#[test]
fn random_bytes_read_alike_element_by_element_and_whole() {
    let mut random = Random::new(0x7a1e_c0de);
    for round in 0..100_000 {
        let len = random.below(24);
        let mut bytes = random.bytes(len);
        if let Some(first) = bytes.first_mut() {
            *first %= if round % 2 == 0 { 24 } else { 255 };
        }
        reads_as_postcard::<(Vec<u8>, u32)>(&bytes, codec_of!((Vec<u8>, u32)));
        reads_as_postcard::<(u16, Vec<u8>, String)>(&bytes, codec_of!((u16, Vec<u8>, String)));
    }
}
