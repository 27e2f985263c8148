use super::*;

#[test]
fn reads_what_was_written_and_is_sealed() {
    let shared = SharedSlice::from_slice(&[1u64, 2, 3]).unwrap();
    assert_eq!(&shared[..], &[1, 2, 3]);
    let fd = shared.mapping.fd().unwrap();
    let seals = rustix::fs::fcntl_get_seals(fd).unwrap();
    assert!(seals.contains(rustix::fs::SealFlags::WRITE | rustix::fs::SealFlags::SEAL));
    assert!(rustix::io::pwrite(fd, &[0], 0).is_err());
}

#[test]
fn empty_arrays_work() {
    let shared = SharedSlice::<f64>::from_slice(&[]).unwrap();
    assert!(shared.is_empty());
    let shared = SharedSlice::<[u16; 3]>::from_vec(vec![[1, 2, 3]; 5]).unwrap();
    assert_eq!(shared[4], [1, 2, 3]);
}

#[test]
fn encoding_outside_a_request_fails() {
    let shared = SharedSlice::from_slice(&[1u8]).unwrap();
    assert!(postcard::to_allocvec(&shared).is_err());
}

#[test]
fn collecting_records_each_array_once_and_nests() {
    let a = SharedSlice::from_slice(&[1u8]).unwrap();
    let b = SharedSlice::from_slice(&[2u8]).unwrap();
    let mut outer = Vec::new();
    let mut inner = Vec::new();
    collecting(&mut outer, || {
        postcard::to_allocvec(&(a.clone(), a.clone())).unwrap();
        collecting(&mut inner, || postcard::to_allocvec(&(&b, &a)).unwrap());
        postcard::to_allocvec(&a).unwrap();
    });
    assert_eq!(outer.iter().map(|m| m.id).collect::<Vec<_>>(), [a.id()]);
    assert_eq!(
        inner.iter().map(|m| m.id).collect::<Vec<_>>(),
        [b.id(), a.id()]
    );
    assert!(postcard::to_allocvec(&a).is_err());
}

#[test]
fn a_received_file_decodes_checked() {
    let shared = SharedSlice::from_slice(&[1.5f64, 2.5]).unwrap();
    let id = u64::MAX - 7;
    let fd = shared.mapping.fd().unwrap().try_clone_to_owned().unwrap();
    receive([id, id - 1], vec![fd]);
    let decode = |len: u64| {
        postcard::from_bytes::<SharedSlice<f64>>(&postcard::to_allocvec(&(id, len)).unwrap())
    };
    assert_eq!(&decode(2).unwrap()[..], &[1.5, 2.5]);
    assert!(decode(3).is_err());
    assert!(
        postcard::from_bytes::<SharedSlice<u32>>(&postcard::to_allocvec(&(id, 2u64)).unwrap())
            .is_err()
    );
    assert!(received(id - 1).unwrap_err().contains("without its file"));
    assert!(received(id - 2).is_err());
    // An unsealed file is refused.
    let unsealed = rustix::fs::memfd_create("x", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
    receive([id - 3], vec![unsealed]);
    assert!(received(id - 3).unwrap_err().contains("sealed"));
    forget([id, id - 1, id - 3]);
    assert!(decode(2).is_err());
}
