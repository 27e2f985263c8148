use super::codec::encode_limited;
use std::io;

use super::frame::*;
use super::*;

fn read_one(bytes: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let mut buffer = FrameBuffer::default();
    Ok(read_frame(&mut &bytes[..], &mut buffer)?.then(|| buffer.frame().to_vec()))
}

#[test]
fn byte_strings_left_out_as_parts_make_the_same_frame() {
    let blobs: Vec<Vec<u8>> = [0usize, 1, 200, 70_000]
        .iter()
        .map(|&len| (0..len).map(|i| (i * 13) as u8).collect())
        .collect();
    let mut copied = RunFrame::new("t", 0, 0);
    let mut parted = RunFrame::new("t", 0, 0);
    for (at, blob) in blobs.iter().enumerate() {
        copied.push(&Bulk(blob)).unwrap();
        // Parts among calls encoded in place.
        if at % 2 == 0 {
            parted.push_part(blob.clone()).unwrap();
        } else {
            parted.push(&Bulk(blob)).unwrap();
        }
        assert_eq!(parted.args_len(), copied.args_len());
    }
    let copied = copied.finish();
    let mut parted = parted.finish();
    assert_eq!(parted.len(), copied.len());
    assert_eq!(parted.pieces().1.len(), 2);
    assert_eq!(parted.into_whole(), copied.into_whole());
}

#[test]
fn run_frames_round_trip() {
    let mut run = RunFrame::new("jobs::crunch@src/lib.rs:3:1", 3, 0);
    run.push(&(1u32, "a".to_owned())).unwrap();
    run.push(&(300u32, String::new())).unwrap();
    run.push(&(7u32, "ccc".to_owned())).unwrap();
    assert_eq!(run.len(), 3);
    let mut bytes = run.finish().into_whole();
    set_seq(&mut bytes, 41);
    let frame = read_one(&bytes).unwrap().unwrap();
    let ToWorker::Run(run) = decode_to_worker(&frame).unwrap() else {
        panic!("not a run frame")
    };
    assert_eq!((run.seq, run.task_id), (41, "jobs::crunch@src/lib.rs:3:1"));
    let calls: Vec<(u32, String)> = run
        .calls
        .iter()
        .map(|args| decode_exact(args).unwrap())
        .collect();
    assert_eq!(
        calls,
        [(1, "a".into()), (300, String::new()), (7, "ccc".into())]
    );
    // Splitting a request keeps each call's bytes.
    let singles: Vec<&[u8]> = calls_of(&bytes).iter().collect();
    assert_eq!(singles.len(), 3);
    assert_eq!(
        decode_exact::<(u32, String)>(singles[1]).unwrap(),
        (300, String::new())
    );
}

#[test]
fn outcomes_keep_each_calls_bytes_and_failures_apart() {
    let mut out = OutcomesBuilder::new(Vec::new(), None);
    out.push_value(0, &7u32);
    out.fail_panicked(1, "boom");
    out.push_value(2, &300u32);
    out.fail_arguments(3, "bad");
    let bytes = out.finish(9, 4, 1234);
    let frame = read_one(&bytes).unwrap().unwrap();
    let ToParent::Done {
        seq,
        count,
        nanos,
        outcomes,
    } = decode_to_parent(&frame).unwrap()
    else {
        panic!("not a done frame")
    };
    assert_eq!((seq, count, nanos), (9, 4, 1234));
    let outcomes = Outcomes::parse(&frame[outcomes..], count).unwrap();
    assert!(!outcomes.all_returned());
    let each: Vec<_> = outcomes.iter().collect();
    assert_eq!(each[0], Outcome::Value(&[7]));
    assert!(
        matches!(each[1], Outcome::Failed(f) if f.kind == FailureKind::Panicked && f.message == "boom")
    );
    assert_eq!(each[2], Outcome::Value(&[0xac, 0x02]));
    assert!(
        matches!(each[3], Outcome::Failed(f) if f.kind == FailureKind::Arguments
        && f.message == "could not decode the arguments: bad")
    );
    // The outcomes of another number of calls are rejected.
    assert!(Outcomes::parse(&frame[outcomes_start(&frame)..], 5).is_err());
}

/// The outcomes of a reply built by `build`, parsed back (`count` calls).
fn parsed_failures(count: u32, build: impl FnOnce(&mut OutcomesBuilder<'_>)) -> Vec<CallFailure> {
    let mut out = OutcomesBuilder::new(Vec::new(), None);
    build(&mut out);
    let bytes = out.finish(1, count, 0);
    let frame = read_one(&bytes).unwrap().unwrap();
    let outcomes = Outcomes::parse(&frame[outcomes_start(&frame)..], count).unwrap();
    outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Outcome::Failed(failure) => Some(failure.clone()),
            Outcome::Value(_) => None,
        })
        .collect()
}

#[test]
fn a_panic_located_by_the_worker_crosses_with_its_place() {
    let failures = parsed_failures(2, |out| {
        record_panic_location("src/lib.rs:3:5".to_owned());
        out.fail_panicked(0, "first");
        // Taken by the first failure: the second has no place.
        out.fail_panicked(1, "second");
    });
    assert_eq!(failures[0].kind, FailureKind::Panicked);
    assert_eq!(failures[0].message, "first");
    assert_eq!(failures[0].location.as_deref(), Some("src/lib.rs:3:5"));
    assert_eq!(failures[1].message, "second");
    assert_eq!(failures[1].location, None);
    // A message with a new line keeps it: only the first one separates the place.
    let failures = parsed_failures(1, |out| {
        record_panic_location("a.rs:1:1".to_owned());
        out.fail_panicked(0, "two\nlines");
    });
    assert_eq!(failures[0].message, "two\nlines");
    assert_eq!(failures[0].location.as_deref(), Some("a.rs:1:1"));
}

#[test]
fn a_located_panic_without_a_place_is_malformed() {
    let mut out = OutcomesBuilder::new(Vec::new(), None);
    out.fail(0, FailureKind::PanickedAt, "no new line");
    let bytes = out.finish(1, 1, 0);
    let frame = read_one(&bytes).unwrap().unwrap();
    assert!(Outcomes::parse(&frame[outcomes_start(&frame)..], 1).is_err());
}

fn outcomes_start(frame: &[u8]) -> usize {
    match decode_to_parent(frame).unwrap() {
        ToParent::Done { outcomes, .. } => outcomes,
        _ => unreachable!(),
    }
}

#[test]
fn other_frames_round_trip() {
    let frame = read_one(&refused(3, "no such task")).unwrap().unwrap();
    assert!(matches!(
        decode_to_parent(&frame).unwrap(),
        ToParent::Refused {
            seq: 3,
            message: "no such task"
        }
    ));
    let frame = read_one(&HELLO_FRAME).unwrap().unwrap();
    assert!(matches!(decode_to_parent(&frame).unwrap(), ToParent::Hello));
    let frame = read_one(&SETUP_FRAME).unwrap().unwrap();
    assert!(matches!(decode_to_worker(&frame).unwrap(), ToWorker::Setup));
    assert!(read_one(b"").unwrap().is_none());
    assert!(decode_to_parent(&[9]).is_err());
}

#[test]
fn a_length_prefix_is_not_trusted() {
    // Claims 4 GiB, sends 3 bytes: an error, and no 4 GiB buffer.
    let mut buffer = FrameBuffer::default();
    let lying = [0xff, 0xff, 0xff, 0xff, RUN, 0, 0];
    let err = read_frame(&mut &lying[..], &mut buffer).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    assert!(buffer.held() <= FIRST_READ, "{}", buffer.held());
    assert_eq!(
        read_frame(&mut &[0u8, 0, 0, 0][..], &mut buffer)
            .unwrap_err()
            .kind(),
        io::ErrorKind::InvalidData
    );
}

#[test]
fn a_count_is_checked_against_the_bytes() {
    // A request that claims u32::MAX calls with no bytes for their ends.
    let mut frame = vec![RUN];
    frame.extend_from_slice(&1u32.to_le_bytes());
    frame.extend_from_slice(&u32::MAX.to_le_bytes());
    frame.extend_from_slice(&0u16.to_le_bytes());
    assert!(decode_to_worker(&frame).is_err());
    // Fewer calls than the limit, still more than the bytes hold.
    let mut frame = vec![RUN];
    frame.extend_from_slice(&1u32.to_le_bytes());
    frame.extend_from_slice(&1000u32.to_le_bytes());
    frame.extend_from_slice(&0u16.to_le_bytes());
    frame.extend_from_slice(&[0; 12]);
    assert_eq!(
        decode_to_worker(&frame).unwrap_err(),
        Malformed("lengths for another number of values")
    );
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut run = RunFrame::new("f", 1, 0);
    run.push(&5u8).unwrap();
    let mut bytes = run.finish().into_whole();
    // One more byte in the frame, inside its length: the last end no longer matches.
    bytes.push(0);
    let len = u32::from_le_bytes(bytes[..4].try_into().unwrap()) + 1;
    bytes[..4].copy_from_slice(&len.to_le_bytes());
    let frame = read_one(&bytes).unwrap().unwrap();
    assert!(decode_to_worker(&frame).is_err());
    // A value with bytes its type does not read.
    assert!(
        decode_exact::<u8>(&[5, 0])
            .unwrap_err()
            .contains("left over")
    );
}

#[test]
fn an_encode_error_keeps_the_serializers_message() {
    #[derive(serde::Serialize)]
    enum Reply {
        #[allow(dead_code)]
        #[serde(skip_serializing)]
        Secret(u8),
    }
    let mut buffer = Vec::new();
    let err = encode_limited(&Reply::Secret(1), &mut buffer, usize::MAX).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the enum variant Reply::Secret cannot be serialized"
    );
}

#[test]
fn a_value_past_the_limit_is_refused_before_it_is_copied() {
    struct Huge(usize);
    impl serde::Serialize for Huge {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            // A slice of `self.0` zeros that is never written to: the check comes first.
            let bytes = vec![0u8; self.0];
            s.serialize_bytes(&bytes)
        }
    }
    let mut run = RunFrame::new("f", 1, 0);
    assert!(matches!(
        run.push(&Huge((u32::MAX as usize) + 1)),
        Err(EncodeError::TooLarge)
    ));
    assert_eq!((run.len(), run.args_len()), (0, 0));
    run.push(&Huge(10)).unwrap();
    assert_eq!(run.len(), 1);
}

#[test]
fn attach_frames_round_trip_and_are_checked() {
    let bytes = attach_frame(&[7, u64::MAX], &[3]);
    let frame = read_one(&bytes).unwrap().unwrap();
    let ToWorker::Attach { attached, detached } = decode_to_worker(&frame).unwrap() else {
        panic!("not an attach frame")
    };
    assert_eq!(attached.iter().collect::<Vec<_>>(), [7, u64::MAX]);
    assert_eq!(detached.iter().collect::<Vec<_>>(), [3]);
    // Counts that disagree with the ids, in either direction, or that overflow.
    let short = &frame[..frame.len() - 1];
    assert!(decode_to_worker(short).is_err());
    let mut long = frame.clone();
    long.extend_from_slice(&[0; 8]);
    assert!(decode_to_worker(&long).is_err());
    let mut huge = vec![ATTACH];
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(decode_to_worker(&huge).is_err());
    // More files than a frame may bring.
    let ids: Vec<u64> = (0..MAX_ATTACH as u64 + 1).collect();
    let mut too_many = vec![ATTACH];
    too_many.extend_from_slice(&(ids.len() as u32).to_le_bytes());
    too_many.extend_from_slice(&0u32.to_le_bytes());
    for id in &ids {
        too_many.extend_from_slice(&id.to_le_bytes());
    }
    assert!(decode_to_worker(&too_many).is_err());
}

/// A traced panic crosses whole, and a message too long for a failure gives way to its
/// location and backtrace, never to the format.
#[test]
fn a_traced_panic_crosses_with_its_location_and_backtrace() {
    for (message, backtrace) in [
        ("boom".to_owned(), "   0: frame\n   1: other\n".to_owned()),
        ("x".repeat(100 << 10), "   0: é\n".repeat(1000)),
    ] {
        let mut out = OutcomesBuilder::new(Vec::new(), None);
        let (kind, text) = panic_on_wire(Some("src/a.rs:1:2"), Some(&backtrace), &message);
        out.fail(0, kind, &text);
        let frame = out.finish(1, 1, 0);
        let Ok(ToParent::Done { outcomes, .. }) = decode_to_parent(&frame[4..]) else {
            panic!("not a done frame");
        };
        let outcomes = Outcomes::parse(&frame[4..][outcomes..], 1).unwrap();
        let Some(Outcome::Failed(failure)) = outcomes.iter().next() else {
            panic!("no failure");
        };
        assert_eq!(failure.kind, FailureKind::Panicked);
        assert_eq!(failure.location.as_deref(), Some("src/a.rs:1:2"));
        assert_eq!(failure.backtrace.as_deref(), Some(backtrace.as_str()));
        assert!(message.starts_with(&failure.message));
    }
}
