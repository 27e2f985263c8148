use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::*;
use crate::backend::process::protocol::calls_of;
use crate::test_random::Random;

/// Byte strings of every varint length's edge, and one past the bound of a part.
fn byte_strings() -> Vec<Vec<u8>> {
    [0usize, 1, 127, 128, 16_383, 16_384, 70_000]
        .iter()
        .map(|&len| (0..len).map(|i| (i * 7 + len) as u8).collect())
        .collect()
}

/// The frame `args` makes element by element (made whole, when `parts` left some out), and the
/// one postcard makes of the whole tuple.
fn both_frames<T: Arguments + Serialize + Clone>(args: &T, parts: bool) -> (Vec<u8>, Vec<u8>) {
    let mut spread = RunFrame::new("t", 1, 0);
    let mut out = ArgsOut::new(&mut spread, parts);
    assert!(encode_any::<T>(&mut Some(args.clone()), &mut out), "spread");
    out.into_pushed().unwrap();
    let mut whole = RunFrame::new("t", 1, 0);
    whole.push(args).unwrap();
    (spread.finish().into_whole(), whole.finish().into_whole())
}

/// `args` is written element by element as postcard writes the tuple, and read back.
fn crosses<T: Arguments + Serialize + Clone + PartialEq + Debug>(args: T) {
    for parts in [false, true] {
        let (spread, whole) = both_frames(&args, parts);
        assert!(spread == whole, "{args:?}, parts {parts}");
    }
    let mut bytes = postcard::to_allocvec(&args).unwrap();
    assert_eq!(T::decode(&bytes).unwrap(), (args.clone(), &[][..]));
    // What follows the tuple is left.
    bytes.push(7);
    assert_eq!(T::decode(&bytes).unwrap(), (args, &[7u8][..]));
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
        // Arrays of fixed-width numbers, written in one pass each.
        let doubles: Vec<f64> = bytes.iter().map(|&b| f64::from(b) * 0.5).collect();
        let floats: Vec<f32> = bytes.iter().map(|&b| f32::from(b) - 3.0).collect();
        let small: Vec<i8> = bytes.iter().map(|&b| b as i8).collect();
        crosses((doubles.clone(), floats, small, bytes.clone()));
        crosses((7u32, doubles));
    }
}

#[test]
fn tuples_of_fewer_than_two_are_left_whole() {
    let mut frame = RunFrame::new("t", 1, 0);
    let mut out = ArgsOut::new(&mut frame, true);
    let mut one = Some((vec![1u8; 9],));
    assert!(!encode_any::<(Vec<u8>,)>(&mut one, &mut out));
    assert_eq!(one, Some((vec![1u8; 9],)), "given back");
    assert!(!encode_any::<()>(&mut Some(()), &mut out));
    out.into_pushed().unwrap();
    assert_eq!(frame.len(), 0);
    // They read back as `Bulk` wrote them.
    let bytes = postcard::to_allocvec(&(vec![5u8; 200],)).unwrap();
    assert_eq!(
        <(Vec<u8>,)>::decode(&bytes).unwrap(),
        ((vec![5u8; 200],), &[][..])
    );
}

#[test]
fn another_tuple_is_left_to_the_generic_path() {
    let mut frame = RunFrame::new("t", 1, 0);
    let mut out = ArgsOut::new(&mut frame, true);
    // A `u64` where the function takes a `u32`: not its tuple.
    let mut other = Some((vec![1u8], 2u64));
    assert!(!encode_any::<(Vec<u8>, u32)>(&mut other, &mut out));
    assert!(other.is_some());
    out.into_pushed().unwrap();
    assert_eq!(frame.len(), 0);
}

#[test]
fn large_byte_strings_among_the_arguments_stay_out_of_the_frame_unmoved() {
    let large = vec![7u8; SHORTEST_PART];
    let address = large.as_ptr();
    let args = (
        large,
        3u32,
        serde_bytes::ByteBuf::from(vec![8u8; SHORTEST_PART + 1]),
        vec![9u8; SHORTEST_PART - 1],
    );
    let expected = postcard::to_allocvec(&args).unwrap();
    let mut frame = RunFrame::new("t", 2, 0);
    // A call before it, encoded whole.
    frame.push(&(1u8, 2u8)).unwrap();
    let mut out = ArgsOut::new(&mut frame, true);
    assert!(encode_any::<(Vec<u8>, u32, serde_bytes::ByteBuf, Vec<u8>)>(
        &mut Some(args),
        &mut out
    ));
    out.into_pushed().unwrap();
    assert_eq!(frame.len(), 2);
    let mut frame = frame.finish();
    let (_, parts) = frame.pieces();
    // The two of at least `SHORTEST_PART`: the first still where the caller made it.
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].bytes.as_ptr(), address);
    assert_eq!(parts[1].bytes.len(), SHORTEST_PART + 1);
    let whole = frame.into_whole();
    let calls: Vec<&[u8]> = calls_of(&whole).iter().collect();
    assert_eq!(calls, [&[1u8, 2][..], &expected[..]]);
}

/// Encodes as a unit struct, or fails to, when `fails`.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
struct Refuses {
    fails: bool,
}

impl Serialize for Refuses {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.fails {
            return Err(serde::ser::Error::custom("refused"));
        }
        serializer.serialize_bool(false)
    }
}

#[test]
fn arguments_that_fail_to_encode_midway_leave_the_frame_as_it_was() {
    let mut frame = RunFrame::new("t", 2, 0);
    frame.push(&(1u8, 2u8)).unwrap();
    let args_len = frame.args_len();
    for parts in [false, true] {
        let mut out = ArgsOut::new(&mut frame, parts);
        let args = (vec![1u8; SHORTEST_PART], 5u8, Refuses { fails: true });
        assert!(encode_any::<(Vec<u8>, u8, Refuses)>(
            &mut Some(args),
            &mut out
        ));
        let error = out.into_pushed().unwrap_err();
        assert!(error.to_string().contains("refused"), "{error}");
        assert_eq!((frame.len(), frame.args_len()), (1, args_len));
    }
    let mut frame = frame.finish();
    assert!(frame.pieces().1.is_empty());
}

/// Reads `bytes` as a `T` element by element and with postcard: where either reads a value,
/// both read the same one.
fn reads_as_postcard<T: Arguments + DeserializeOwned + PartialEq + Debug>(bytes: &[u8]) {
    let spread = T::decode(bytes).ok();
    let whole = postcard::take_from_bytes::<T>(bytes).ok();
    match (&spread, &whole) {
        (Some((spread, spread_rest)), Some((whole, rest))) => {
            assert_eq!(spread, whole, "{bytes:?}");
            assert_eq!(spread_rest, rest, "{bytes:?}");
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
        reads_as_postcard::<(Vec<i8>, u8)>(&bytes);
    }
}
