//! A million frames, valid, random and mutated (truncated, huge or lying length prefixes, lying
//! counts, flipped bytes, trailing bytes), through both sides' decoding: no panic, no allocation
//! beyond the bound in the module's docs, and every frame either rejected or decoded to what its
//! bytes say (and, for a valid frame, to what was encoded).

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use super::frame::*;
use super::*;
use crate::test_random::Random;

/// Counts, on the thread that asks, the largest block allocated.
struct Measured;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` with the same arguments, so the allocator's
// contract holds as it does for `System`. The bookkeeping touches only const-initialized
// thread-locals of types without `Drop`, which never allocate.
unsafe impl GlobalAlloc for Measured {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from `System` through this allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: forwarded as is; `ptr` came from `System` through this allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Measured = Measured;

fn note(size: usize) {
    if MEASURING.with(Cell::get) {
        LARGEST.with(|largest| largest.set(largest.get().max(size)));
    }
}

/// Runs `f` and returns the largest block it allocated on this thread.
fn largest_allocation(f: impl FnOnce()) -> usize {
    LARGEST.with(|largest| largest.set(0));
    MEASURING.with(|measuring| measuring.set(true));
    f();
    MEASURING.with(|measuring| measuring.set(false));
    LARGEST.with(Cell::get)
}

/// The type the fuzzed calls carry, for both arguments and values.
type Value = (u64, String, Vec<u8>);

fn value(random: &mut Random) -> Value {
    let text: String = (0..random.below(12))
        .map(|_| char::from(b'a' + random.below(26) as u8))
        .collect();
    let len = random.below(16);
    (random.next(), text, random.bytes(len))
}

/// A valid frame, and what decoding it must give.
enum Valid {
    Run {
        seq: u32,
        id: String,
        calls: Vec<Value>,
    },
    Done {
        seq: u32,
        nanos: u64,
        outcomes: Vec<Result<Value, (FailureKind, String)>>,
    },
    Refused {
        seq: u32,
        message: String,
    },
    Hello,
    Setup,
}

fn valid(random: &mut Random) -> (Vec<u8>, Valid) {
    let seq = random.next() as u32;
    match random.below(10) {
        0..=3 => {
            let id = format!(
                "jobs::f{}@src/lib.rs:{}:1",
                random.below(100),
                random.below(999)
            );
            let calls: Vec<Value> = (0..random.below(8)).map(|_| value(random)).collect();
            let mut frame = RunFrame::new(&id, calls.len(), 0);
            for call in &calls {
                frame.push(call).unwrap();
            }
            let mut bytes = frame.finish().into_whole();
            set_seq(&mut bytes, seq);
            (bytes, Valid::Run { seq, id, calls })
        }
        4..=7 => {
            let nanos = random.next();
            let kinds = [
                FailureKind::Panicked,
                FailureKind::Arguments,
                FailureKind::Result,
            ];
            let outcomes: Vec<_> = (0..random.below(8))
                .map(|_| match random.below(4) {
                    0 => Err((
                        kinds[random.below(3)],
                        format!("oops {}", random.below(1000)),
                    )),
                    _ => Ok(value(random)),
                })
                .collect();
            let mut builder = OutcomesBuilder::new(Vec::new(), None);
            for (index, outcome) in outcomes.iter().enumerate() {
                match outcome {
                    Ok(value) => builder.push_value(index, value),
                    Err((kind, message)) => builder.fail(index, *kind, message),
                }
            }
            let bytes = builder.finish(seq, outcomes.len() as u32, nanos);
            (
                bytes,
                Valid::Done {
                    seq,
                    nanos,
                    outcomes,
                },
            )
        }
        8 => {
            let message = format!("no function {}", random.below(1000));
            (refused(seq, &message), Valid::Refused { seq, message })
        }
        _ if random.below(2) == 0 => (HELLO_FRAME.to_vec(), Valid::Hello),
        _ => (SETUP_FRAME.to_vec(), Valid::Setup),
    }
}

/// Breaks a frame the way a lying or broken peer would.
fn mutate(random: &mut Random, mut bytes: Vec<u8>) -> Vec<u8> {
    let len = bytes.len();
    match random.below(9) {
        // Cut short.
        0 => bytes.truncate(random.below(len)),
        // A huge length prefix, or one off.
        1 => bytes[..4].copy_from_slice(&u32::MAX.to_le_bytes()),
        2 => {
            let claimed = (len as u32 - 4)
                .wrapping_add(random.below(3) as u32)
                .wrapping_sub(1);
            bytes[..4].copy_from_slice(&claimed.to_le_bytes());
        }
        // A lying count (or sequence number) in the header.
        3 if len >= 13 => {
            let lie = [u32::MAX, 1 << 16, (1 << 16) + 1, random.next() as u32][random.below(4)];
            bytes[9..13].copy_from_slice(&lie.to_le_bytes());
        }
        // Lying counts in the outcomes' footer.
        4 if len >= 12 => {
            let at = len - 4 * (1 + random.below(3));
            let lie = [u32::MAX, 0, 1, random.next() as u32][random.below(4)];
            bytes[at..at + 4].copy_from_slice(&lie.to_le_bytes());
        }
        // Bytes flipped anywhere after the prefix.
        5 if len > 4 => {
            for _ in 0..1 + random.below(4) {
                let at = 4 + random.below(len - 4);
                bytes[at] ^= 1 << random.below(8);
            }
        }
        // Trailing bytes inside the frame's length.
        6 => {
            let extra = 1 + random.below(8);
            bytes.extend(random.bytes(extra));
            let claimed = (bytes.len() - 4) as u32;
            bytes[..4].copy_from_slice(&claimed.to_le_bytes());
        }
        // Garbage of any length, as a frame.
        7 => {
            let garbage_len = random.below(64);
            bytes = random.bytes(garbage_len);
        }
        // Garbage with a plausible prefix.
        _ => {
            let body_len = random.below(64);
            let body = random.bytes(body_len);
            bytes = (body.len() as u32).to_le_bytes().to_vec();
            bytes.extend(body);
        }
    }
    bytes
}

/// Everything both sides do with bytes from the socket, reading into `buffer` as a driver or
/// a worker does, frame after frame; returns the frame's tag and body when it was read.
fn read_and_decode(input: &[u8], buffer: &mut FrameBuffer) -> Option<Vec<u8>> {
    let held = buffer.held();
    let read = read_frame(&mut &input[..], buffer);
    // Growth follows what arrived, never what the prefix claims.
    assert!(
        buffer.held() <= held.max(2 * input.len()).max(FIRST_READ),
        "a buffer of {} after {held}, for {} bytes",
        buffer.held(),
        input.len()
    );
    if !matches!(read, Ok(true)) {
        return None;
    }
    let frame = buffer.frame();
    // The worker's side.
    if let Ok(ToWorker::Run(run)) = decode_to_worker(frame) {
        assert!(run.calls.len() <= MAX_CALLS);
        let mut total = 0;
        for args in run.calls.iter() {
            total += args.len();
            let _ = decode_exact::<Value>(args);
        }
        assert!(total <= frame.len());
    }
    // The parent's side.
    if let Ok(ToParent::Done {
        count, outcomes, ..
    }) = decode_to_parent(frame)
        && let Ok(parsed) = Outcomes::parse(&frame[outcomes..], count)
    {
        assert_eq!(parsed.iter().count(), count as usize);
        for outcome in parsed.iter() {
            match outcome {
                Outcome::Value(bytes) => {
                    let _ = decode_exact::<Value>(bytes);
                }
                Outcome::Failed(failure) => assert!(failure.index < count),
            }
        }
    }
    Some(frame.to_vec())
}

/// Decodes a valid frame and checks it gives what was encoded.
fn check_valid(bytes: &[u8], expected: &Valid) {
    let mut frame = FrameBuffer::default();
    assert!(read_frame(&mut &bytes[..], &mut frame).unwrap());
    let buffer = frame.frame();
    match expected {
        Valid::Run { seq, id, calls } => {
            let Ok(ToWorker::Run(run)) = decode_to_worker(buffer) else {
                panic!("a valid run frame was rejected")
            };
            assert_eq!((run.seq, run.task_id), (*seq, id.as_str()));
            let decoded: Vec<Value> = run
                .calls
                .iter()
                .map(|args| decode_exact(args).unwrap())
                .collect();
            assert_eq!(&decoded, calls);
        }
        Valid::Done {
            seq,
            nanos,
            outcomes,
        } => {
            let Ok(ToParent::Done {
                seq: got_seq,
                count,
                nanos: got_nanos,
                outcomes: start,
            }) = decode_to_parent(buffer)
            else {
                panic!("a valid done frame was rejected")
            };
            assert_eq!(
                (got_seq, got_nanos, count as usize),
                (*seq, *nanos, outcomes.len())
            );
            let parsed = Outcomes::parse(&buffer[start..], count).unwrap();
            for (got, want) in parsed.iter().zip(outcomes) {
                match (got, want) {
                    (Outcome::Value(bytes), Ok(value)) => {
                        assert_eq!(&decode_exact::<Value>(bytes).unwrap(), value);
                    }
                    (Outcome::Failed(failure), Err((kind, message))) => {
                        assert_eq!((&failure.kind, &failure.message), (kind, message));
                    }
                    (got, want) => panic!("{got:?} instead of {want:?}"),
                }
            }
        }
        Valid::Refused { seq, message } => match decode_to_parent(buffer) {
            Ok(ToParent::Refused {
                seq: got,
                message: text,
            }) => assert_eq!((got, text), (*seq, message.as_str())),
            other => panic!("{other:?}"),
        },
        Valid::Hello => assert!(matches!(decode_to_parent(buffer), Ok(ToParent::Hello))),
        Valid::Setup => assert!(matches!(decode_to_worker(buffer), Ok(ToWorker::Setup))),
    }
}

#[test]
fn a_million_frames_are_decoded_or_rejected_within_bounds() {
    const FRAMES: usize = 1_000_000;
    let mut random = Random::new(0x5eed_1234_abcd_0001);
    let (mut valid_frames, mut rejected, mut read) = (0, 0, 0);
    let mut buffer = FrameBuffer::default();
    for n in 0..FRAMES {
        let (bytes, expected) = valid(&mut random);
        // One frame in eight goes as it is; the rest broken.
        let input = if n % 8 == 0 {
            check_valid(&bytes, &expected);
            valid_frames += 1;
            bytes
        } else {
            mutate(&mut random, bytes)
        };
        let largest = largest_allocation(|| match read_and_decode(&input, &mut buffer) {
            Some(_) => read += 1,
            None => rejected += 1,
        });
        assert!(
            largest <= (2 * input.len()).max(FIRST_READ).max(1 << 20),
            "{largest} bytes allocated at once for a frame of {}",
            input.len()
        );
    }
    assert_eq!(valid_frames, FRAMES / 8);
    // Both outcomes happen a lot: the mutations reach past the length prefix.
    assert!(
        rejected > FRAMES / 10 && read > FRAMES / 10,
        "{rejected} rejected, {read} read"
    );
}
