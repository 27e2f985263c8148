use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::*;
use crate::test_random::Random;

/// Byte strings of every varint length's edge, and one past the bound of a part.
fn byte_strings() -> Vec<Vec<u8>> {
    [0usize, 1, 127, 128, 16_383, 16_384, 70_000]
        .iter()
        .map(|&len| (0..len).map(|i| (i * 7 + len) as u8).collect())
        .collect()
}

/// The frame `args` makes element by element, and the one postcard makes of the whole tuple.
fn both_frames<T: Arguments + Serialize>(args: &T) -> (Vec<u8>, Vec<u8>) {
    let mut spread = RunFrame::new("t", 1, 0);
    let mut out = ArgsOut::new(&mut spread);
    assert!(encode_any::<T>(args, &mut out), "spread");
    out.into_pushed().unwrap();
    let mut whole = RunFrame::new("t", 1, 0);
    whole.push(args).unwrap();
    (spread.finish().into_whole(), whole.finish().into_whole())
}

/// `args` is written element by element as postcard writes the tuple, and read back.
fn crosses<T: Arguments + Serialize + PartialEq + Debug>(args: T) {
    let (spread, whole) = both_frames(&args);
    assert_eq!(spread, whole, "{args:?}");
    let bytes = postcard::to_allocvec(&args).unwrap();
    let mut decoder = postcard::Deserializer::from_bytes(&bytes);
    assert_eq!(T::decode(&mut decoder).unwrap(), args);
    assert_eq!(decoder.finalize().unwrap(), [0u8; 0]);
}

#[test]
fn tuples_written_element_by_element_are_postcard_s_bytes_and_read_back() {
    for bytes in byte_strings() {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
        crosses((bytes.clone(), 300u32));
        crosses((7u8, bytes.clone(), text.clone()));
        crosses((bytes.clone(), bytes.clone()));
        crosses(((bytes.clone(),), Some(bytes.clone()), -1i64));
        crosses((
            serde_bytes::ByteBuf::from(bytes.clone()),
            vec![bytes.clone()],
        ));
        crosses((1u8, 2u16, 3u32, 4u64, text, 6.5f64, bytes.clone(), ()));
    }
}

#[test]
fn tuples_of_fewer_than_two_are_left_whole() {
    let mut frame = RunFrame::new("t", 1, 0);
    let mut out = ArgsOut::new(&mut frame);
    assert!(!encode_any::<(Vec<u8>,)>(&(vec![1u8; 9],), &mut out));
    assert!(!encode_any::<()>(&(), &mut out));
    out.into_pushed().unwrap();
    assert_eq!(frame.len(), 0);
    // They read back as `Bulk` wrote them.
    let bytes = postcard::to_allocvec(&(vec![5u8; 200],)).unwrap();
    let mut decoder = postcard::Deserializer::from_bytes(&bytes);
    assert_eq!(
        <(Vec<u8>,)>::decode(&mut decoder).unwrap(),
        (vec![5u8; 200],)
    );
}

#[test]
fn another_tuple_is_left_to_the_generic_path() {
    let mut frame = RunFrame::new("t", 1, 0);
    let mut out = ArgsOut::new(&mut frame);
    // A `u64` where the function takes a `u32`: not its tuple.
    assert!(!encode_any::<(Vec<u8>, u32)>(&(vec![1u8], 2u64), &mut out));
    out.into_pushed().unwrap();
    assert_eq!(frame.len(), 0);
}

/// Reads `bytes` as a `T` element by element and with postcard: where either reads a value,
/// both read the same one.
fn reads_as_postcard<T: Arguments + DeserializeOwned + PartialEq + Debug>(bytes: &[u8]) {
    let mut decoder = postcard::Deserializer::from_bytes(bytes);
    let spread = T::decode(&mut decoder).ok();
    let spread_rest = decoder.finalize().ok().map(<[u8]>::len);
    let whole = postcard::take_from_bytes::<T>(bytes).ok();
    match (&spread, &whole) {
        (Some(spread), Some((whole, rest))) => {
            assert_eq!(spread, whole, "{bytes:?}");
            assert_eq!(spread_rest, Some(rest.len()), "{bytes:?}");
        }
        (None, None) => {}
        _ => panic!("{bytes:?}: element by element {spread:?}, postcard {whole:?}"),
    }
}

#[test]
fn random_bytes_read_alike_element_by_element_and_whole() {
    let mut random = Random::new(0x5eed_a265);
    for round in 0..100_000 {
        let len = random.below(24);
        let mut bytes = random.bytes(len);
        // Short lengths first, so that byte strings are often whole.
        if let Some(first) = bytes.first_mut() {
            *first %= if round % 2 == 0 { 24 } else { 255 };
        }
        reads_as_postcard::<(Vec<u8>, u32)>(&bytes);
        reads_as_postcard::<(u16, Vec<u8>, String)>(&bytes);
        reads_as_postcard::<(bool, Vec<u8>)>(&bytes);
    }
}
