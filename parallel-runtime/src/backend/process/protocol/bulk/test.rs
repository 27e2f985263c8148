use serde::de::value::{Error as ValueError, SeqDeserializer};

use super::{Bulk, deserialize};
use crate::backend::process::protocol::codec::{decode_exact, encode};

fn encoded<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::new();
    encode(value, &mut bytes).unwrap();
    bytes
}

#[test]
fn a_byte_string_is_written_exactly_as_serde_writes_a_vec_of_bytes() {
    for len in [0, 1, 127, 128, 16_384, 100_000] {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        assert_eq!(encoded(&Bulk(&bytes)), encoded(&bytes), "len {len}");
        let tuple = (bytes.clone(),);
        assert_eq!(encoded(&Bulk(&tuple)), encoded(&tuple), "len {len}");
        // And read back either way.
        assert_eq!(decode_exact::<Vec<u8>>(&encoded(&bytes)).unwrap(), bytes);
        assert_eq!(decode_exact::<(Vec<u8>,)>(&encoded(&tuple)).unwrap(), tuple);
    }
}

#[test]
fn other_types_are_untouched() {
    let value = (vec![1u8, 2, 3], 7u32, String::from("x"));
    assert_eq!(encoded(&Bulk(&value)), encoded(&value));
    assert_eq!(
        decode_exact::<(Vec<u8>, u32, String)>(&encoded(&value)).unwrap(),
        value
    );
    let numbers = vec![1u16, 300, 65535];
    assert_eq!(encoded(&Bulk(&numbers)), encoded(&numbers));
}

#[test]
fn a_byte_string_longer_than_what_arrived_is_an_error_without_allocating_it() {
    // A length of 2^32 - 1, then three bytes.
    let lying = [0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3];
    assert!(decode_exact::<Vec<u8>>(&lying).is_err());
    assert!(decode_exact::<(Vec<u8>,)>(&lying).is_err());
    // Bytes left over are an error too.
    assert!(decode_exact::<Vec<u8>>(&[1, 9, 9]).is_err());
}

#[test]
fn a_format_without_byte_strings_is_read_element_by_element() {
    let seq = SeqDeserializer::<_, ValueError>::new(vec![4u8, 5, 6].into_iter());
    assert_eq!(deserialize::<Vec<u8>, _>(seq).unwrap(), vec![4, 5, 6]);
}

#[test]
fn byte_strings_are_taken_whole_and_written_as_their_types_write_them() {
    use super::into_byte_string;
    use serde_bytes::ByteBuf;
    let bytes: Vec<u8> = (0..1000).map(|i| (i * 3) as u8).collect();
    let address = bytes.as_ptr();
    // Taken without a copy, and its encoding as a `Vec<u8>` is the type's own.
    let taken = into_byte_string(bytes.clone()).unwrap();
    assert_eq!(encoded(&taken), encoded(&bytes));
    let moved = into_byte_string(bytes).unwrap();
    assert_eq!(moved.as_ptr(), address);
    for value in [
        into_byte_string((moved.clone(),)).unwrap(),
        into_byte_string(ByteBuf::from(moved.clone())).unwrap(),
        into_byte_string((ByteBuf::from(moved.clone()),)).unwrap(),
    ] {
        assert_eq!(value, moved);
    }
    assert_eq!(encoded(&(moved.clone(),)), encoded(&moved));
    assert_eq!(encoded(&ByteBuf::from(moved.clone())), encoded(&moved));
    assert_eq!(encoded(&(ByteBuf::from(moved.clone()),)), encoded(&moved));
    // Other types come back as they went.
    assert_eq!(into_byte_string(7u32), Err(7));
    assert_eq!(into_byte_string((vec![1u8], 2u8)), Err((vec![1u8], 2u8)));
    assert_eq!(into_byte_string(vec![1u16]), Err(vec![1u16]));
}
