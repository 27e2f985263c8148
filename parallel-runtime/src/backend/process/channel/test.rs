use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use super::ring::{Popped, Pushed, Rings};
use super::{SharedChannel, Waited};
use crate::backend::process::protocol::FrameBuffer;
use crate::test_random::Random;

const SMALL: usize = 4096;

/// The parent's rings and the worker's view of the same file.
fn pair(capacity: usize) -> (Rings, Rings) {
    let parent = Rings::create_with(capacity).unwrap();
    let worker = Rings::open(parent.fd().try_clone_to_owned().unwrap()).unwrap();
    (parent, worker)
}

/// The two sides of a channel, in one process.
fn channels(capacity: usize) -> (SharedChannel, SharedChannel) {
    let (parent, theirs) = SharedChannel::create_with(capacity).unwrap();
    let rings = parent.rings_fd().try_clone_to_owned().unwrap();
    let worker = SharedChannel::open(rings, theirs).unwrap();
    (parent, worker)
}

/// The rings' file, to write into it as a broken or dying peer would.
fn file_of(rings: &Rings) -> std::fs::File {
    std::fs::File::from(rings.fd().try_clone_to_owned().unwrap())
}

/// A frame with a length prefix, as the protocol sends them.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut frame = (body.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(body);
    frame
}

#[test]
fn frames_arrive_whole_and_in_order_across_many_wraps() {
    let (mut parent, mut worker) = pair(SMALL);
    let mut buffer = FrameBuffer::default();
    for round in 0..2_000usize {
        // Sizes that do not divide the ring, so entries land everywhere and wrap.
        let frame: Vec<u8> = (0..1 + round * 37 % 1500)
            .map(|i| (i + round) as u8)
            .collect();
        assert_eq!(parent.push(&frame), Ok(Pushed::InRing));
        assert_eq!(worker.pop(&mut buffer), Ok(Popped::Frame));
        assert_eq!(buffer.frame(), frame.as_slice(), "round {round}");
        assert_eq!(worker.pop(&mut buffer), Ok(Popped::Empty));
    }
}

#[test]
fn both_rings_carry_frames_at_once() {
    let (mut parent, mut worker) = pair(SMALL);
    let mut buffer = FrameBuffer::default();
    assert_eq!(parent.push(b"request"), Ok(Pushed::InRing));
    assert_eq!(worker.push(b"reply"), Ok(Pushed::InRing));
    assert!(parent.readable() && worker.readable());
    assert_eq!(parent.pop(&mut buffer), Ok(Popped::Frame));
    assert_eq!(buffer.frame(), b"reply");
    assert_eq!(worker.pop(&mut buffer), Ok(Popped::Frame));
    assert_eq!(buffer.frame(), b"request");
}

#[test]
fn a_frame_too_large_for_the_ring_keeps_its_place_as_an_entry() {
    let (mut parent, mut worker) = pair(SMALL);
    let mut buffer = FrameBuffer::default();
    assert_eq!(parent.push(b"first"), Ok(Pushed::InRing));
    assert_eq!(parent.push(&[7; SMALL]), Ok(Pushed::OnSocket));
    assert_eq!(parent.push(b"third"), Ok(Pushed::InRing));
    assert_eq!(worker.pop(&mut buffer), Ok(Popped::Frame));
    assert_eq!(buffer.frame(), b"first");
    assert_eq!(worker.pop(&mut buffer), Ok(Popped::OnSocket));
    assert_eq!(worker.pop(&mut buffer), Ok(Popped::Frame));
    assert_eq!(buffer.frame(), b"third");
}

#[test]
fn a_frame_with_files_goes_on_the_socket_whatever_its_size() {
    let (mut parent, mut worker) = pair(SMALL);
    let mut buffer = FrameBuffer::default();
    assert_eq!(parent.push_entry(b"attach", true), Ok(Pushed::OnSocket));
    assert_eq!(parent.push(b"run"), Ok(Pushed::InRing));
    assert_eq!(worker.pop(&mut buffer), Ok(Popped::OnSocket));
    assert_eq!(worker.pop(&mut buffer), Ok(Popped::Frame));
    assert_eq!(buffer.frame(), b"run");
}

#[test]
fn a_full_ring_takes_nothing_until_the_reader_makes_room() {
    let (mut parent, mut worker) = pair(SMALL);
    let mut buffer = FrameBuffer::default();
    let frame = [1; 1000];
    let mut pushed = 0;
    while parent.push(&frame) == Ok(Pushed::InRing) {
        pushed += 1;
    }
    assert_eq!(pushed, SMALL / 1008);
    assert!(!parent.room_for(frame.len(), false));
    assert_eq!(parent.push(&frame), Ok(Pushed::Full));
    assert_eq!(worker.pop(&mut buffer), Ok(Popped::Frame));
    assert!(parent.room_for(frame.len(), false));
    assert_eq!(parent.push(&frame), Ok(Pushed::InRing));
    for _ in 0..pushed {
        assert_eq!(worker.pop(&mut buffer), Ok(Popped::Frame));
        assert_eq!(buffer.frame(), frame.as_slice());
    }
    assert_eq!(worker.pop(&mut buffer), Ok(Popped::Empty));
}

#[test]
fn an_entry_written_but_not_published_is_never_read() {
    // A writer that dies in the middle of an entry has copied bytes but not moved its tail.
    let (parent, mut worker) = pair(SMALL);
    let half_written = [200, 0, 0, 0, 1, 0, 0, 0, 42, 42];
    file_of(&parent).write_all_at(&half_written, 4096).unwrap();
    let mut buffer = FrameBuffer::default();
    assert_eq!(worker.pop(&mut buffer), Ok(Popped::Empty));
    assert!(!worker.readable());
}

/// Offsets in the rings' file: the request ring's tail and head, and its data.
const REQUEST_TAIL: u64 = 0;
const REPLY_HEAD: u64 = 256 + 64;
const REQUEST_DATA: u64 = 4096;

fn publish(file: &std::fs::File, entry: &[u8], tail: u64) {
    file.write_all_at(entry, REQUEST_DATA).unwrap();
    file.write_all_at(&tail.to_le_bytes(), REQUEST_TAIL)
        .unwrap();
}

#[test]
fn entries_that_break_the_rules_are_malformed_never_read() {
    let cases: [(&str, Vec<u8>, u64); 6] = [
        ("tail past the ring", vec![], SMALL as u64 + 8),
        ("tail not on an entry boundary", vec![], 5),
        ("unknown kind", vec![8, 0, 0, 0, 99, 0, 0, 0], 8),
        ("empty frame", vec![0, 0, 0, 0, 1, 0, 0, 0], 8),
        (
            "frame past what was published",
            vec![64, 0, 0, 0, 1, 0, 0, 0],
            16,
        ),
        (
            "frame past the ring",
            vec![0xff, 0xff, 0, 0, 1, 0, 0, 0],
            SMALL as u64,
        ),
    ];
    for (what, entry, tail) in cases {
        let (parent, mut worker) = pair(SMALL);
        publish(&file_of(&parent), &entry, tail);
        let mut buffer = FrameBuffer::default();
        assert!(worker.pop(&mut buffer).is_err(), "{what}");
        assert!(buffer.held() <= SMALL, "{what}");
    }
}

#[test]
fn a_head_out_of_range_is_malformed_for_the_writer() {
    let (mut parent, worker) = pair(SMALL);
    // The worker reads the request ring: its head word is the worker's to write.
    file_of(&worker)
        .write_all_at(&u64::MAX.to_le_bytes(), 64)
        .unwrap();
    assert!(parent.push(b"frame").is_err());
    // And the parent's head of the reply ring, for the worker.
    let (parent, mut worker) = pair(SMALL);
    file_of(&parent)
        .write_all_at(&(SMALL as u64 * 3).to_le_bytes(), REPLY_HEAD)
        .unwrap();
    assert!(worker.push(b"frame").is_err());
}

#[test]
fn random_words_and_entries_never_panic_nor_allocate_past_the_ring() {
    let mut random = Random::new(0x2545_f491_4f6c_dd1d);
    let mut next = move || random.next();
    let (parent, mut worker) = pair(SMALL);
    let file = file_of(&parent);
    let mut buffer = FrameBuffer::default();
    for _ in 0..20_000 {
        let mut data = [0; 64];
        for chunk in data.chunks_mut(8) {
            chunk.copy_from_slice(&next().to_le_bytes());
        }
        // Plausible lengths and kinds more often than not.
        data[0] = (next() % 64) as u8;
        data[1] = 0;
        data[2] = 0;
        data[3] = 0;
        data[4] = (next() % 4) as u8;
        let at = next() % (SMALL as u64 / 64) * 64;
        file.write_all_at(&data, REQUEST_DATA + at).unwrap();
        let tail = match next() % 3 {
            0 => next(),
            _ => next() % (2 * SMALL as u64),
        };
        file.write_all_at(&tail.to_le_bytes(), REQUEST_TAIL)
            .unwrap();
        for _ in 0..4 {
            if !matches!(
                worker.pop(&mut buffer),
                Ok(Popped::Frame | Popped::OnSocket)
            ) {
                break;
            }
        }
        assert!(buffer.held() <= SMALL);
    }
}

#[test]
fn a_sleeping_reader_wakes_when_a_frame_arrives() {
    let (mut parent, mut worker) = channels(SMALL);
    let reader = std::thread::spawn(move || {
        // No polling: straight to sleep on the doorbell.
        let waited = worker.wait_readable(None, false);
        let mut buffer = FrameBuffer::default();
        (
            waited,
            worker.try_receive(&mut buffer),
            buffer.frame().to_vec(),
        )
    });
    // Whether the reader is asleep yet or not, the frame reaches it.
    assert_eq!(parent.send(&framed(b"hello")).unwrap(), Pushed::InRing);
    let (waited, popped, frame) = reader.join().unwrap();
    assert_eq!(waited, Waited::Ready);
    assert_eq!(popped, Ok(Popped::Frame));
    assert_eq!(frame, b"hello");
}

#[test]
fn a_writer_waiting_for_room_wakes_when_the_reader_takes_a_frame() {
    let (mut parent, mut worker) = channels(SMALL);
    let frame = framed(&[3; 1000]);
    let mut sent = 0;
    while parent.rings.room_for(frame.len() - 4, false) {
        parent.send(&frame).unwrap();
        sent += 1;
    }
    let writer = std::thread::spawn(move || parent.send(&frame).map(|_| parent));
    let mut buffer = FrameBuffer::default();
    let mut received = 0;
    while received < sent + 1 {
        match worker.try_receive(&mut buffer).unwrap() {
            Popped::Frame => received += 1,
            Popped::Empty => assert_eq!(worker.wait_readable(None, true), Waited::Ready),
            Popped::OnSocket => unreachable!("every frame fits in the ring"),
        }
    }
    assert!(writer.join().unwrap().is_ok());
}

#[test]
fn a_wait_ends_when_the_other_side_is_gone_or_at_its_deadline() {
    let (parent, worker) = channels(SMALL);
    let start = Instant::now();
    let deadline = start + Duration::from_millis(20);
    assert_eq!(parent.wait_readable(Some(deadline), true), Waited::TimedOut);
    assert!(Instant::now() >= deadline);
    drop(worker);
    assert_eq!(parent.wait_readable(None, true), Waited::PeerGone);
    // And a side that shut its doorbell down, as a parent done with its worker does.
    let (parent, worker) = channels(SMALL);
    parent.shut_down();
    assert_eq!(worker.wait_readable(None, false), Waited::PeerGone);
}

#[test]
fn a_frame_published_before_the_peer_died_is_still_read() {
    let (mut parent, mut worker) = channels(SMALL);
    worker.send(&framed(b"last words")).unwrap();
    drop(worker);
    assert_eq!(parent.wait_readable(None, false), Waited::Ready);
    let mut buffer = FrameBuffer::default();
    assert_eq!(parent.try_receive(&mut buffer), Ok(Popped::Frame));
    assert_eq!(buffer.frame(), b"last words");
    assert_eq!(parent.wait_readable(None, false), Waited::PeerGone);
}

#[test]
fn a_worker_refuses_rings_of_a_wrong_size() {
    for size in [0, 4096, 4096 + 2 * 4096 + 8, 4096 + 2 * 3000] {
        let file = rustix::fs::memfd_create("wrong", rustix::fs::MemfdFlags::CLOEXEC).unwrap();
        rustix::fs::ftruncate(&file, size).unwrap();
        assert!(Rings::open(file).is_err(), "size {size}");
    }
}
