//! Requests whose large byte strings travel as MPI messages of their own ([`Part`]s of an
//! `Outgoing` frame): rank 0 sends them from the arguments' own memory, and the serving rank
//! receives each straight into its place in the request.
//!
//! ```text
//! run*  = TAG_RUN_PARTS, tag:u8 parts:u32le (at:u64le len:u64le){parts} body
//!           rank 0 -> worker rank: the message `tag` (a run or an isolated run) without the
//!           bytes of its parts; part i goes before body[at_i], after the parts before it
//!           (`at` never decreases, and is at most the body's length)
//! part  = TAG_PART, the bytes of one part       rank 0 -> worker rank, right after its run*,
//!                                                in order, `len` bytes each
//! ```
//!
//! The rank checks the head before it reads a part (its tag, its count against its length, the
//! places in order and inside the body, a total within a frame), and each part's length, as MPI
//! announces it, against the head; its buffer grows with the parts that arrive.

use mpi::Tag;

use super::{TAG_RUN, TAG_RUN_ISOLATED};
use crate::backend::process::protocol::{FrameBuffer, MAX_FRAME, Malformed, Part, SHORTEST_PART};

/// Bytes of a head before its places: the tag and the count.
pub(in crate::backend::process) const PARTS_HEAD: usize = 1 + 4;
/// Bytes of one part's place in a head.
pub(in crate::backend::process) const PART_PLACE: usize = 8 + 8;
/// The most parts a request carries: each holds at least [`SHORTEST_PART`] bytes of a frame.
const MAX_PARTS: usize = MAX_FRAME / SHORTEST_PART + 1;

/// The head of a request with `parts` (see the module's grammar): the message `tag`, made of
/// `prefix` then `frame` (a run frame's own bytes, from its tag on), where each part's `at`
/// counts from `frame_start` bytes before `frame`.
pub(in crate::backend::process) fn head(
    tag: Tag,
    prefix: &[u8],
    frame: &[u8],
    frame_start: usize,
    parts: &[Part],
) -> Vec<u8> {
    let tag = u8::try_from(tag).expect("the run tags are small");
    let mut head =
        Vec::with_capacity(PARTS_HEAD + PART_PLACE * parts.len() + prefix.len() + frame.len());
    head.push(tag);
    head.extend_from_slice(
        &u32::try_from(parts.len())
            .expect("parts of one frame")
            .to_le_bytes(),
    );
    for part in parts {
        let at = prefix.len() + part.at - frame_start;
        head.extend_from_slice(&(at as u64).to_le_bytes());
        head.extend_from_slice(&(part.bytes.len() as u64).to_le_bytes());
    }
    head.extend_from_slice(prefix);
    head.extend_from_slice(frame);
    head
}

/// A head, checked.
#[derive(Debug)]
pub(super) struct Head<'a> {
    /// The tag of the message the parts and the body make.
    pub(super) tag: Tag,
    /// Each part's place and length, in order.
    places: Vec<(usize, usize)>,
    body: &'a [u8],
}

/// Where a rank reads the parts of a request, in order.
pub(super) trait PartSource {
    /// The length of the next part, as it arrives; [`PartSource::receive`] reads it.
    fn next_len(&mut self) -> usize;
    /// Reads the part whose length [`PartSource::next_len`] gave into `into`, of that length.
    fn receive(&mut self, into: &mut [u8]);
}

impl<'a> Head<'a> {
    /// Reads a head.
    ///
    /// # Errors
    ///
    /// When it breaks the grammar, or its message would be larger than a frame can be.
    pub(super) fn parse(message: &'a [u8]) -> Result<Self, Malformed> {
        let Some((head, rest)) = message.split_at_checked(PARTS_HEAD) else {
            return Err(Malformed("a request with parts without its head"));
        };
        let tag = Tag::from(head[0]);
        if tag != TAG_RUN && tag != TAG_RUN_ISOLATED {
            return Err(Malformed("parts of a message other than a run"));
        }
        let count = u32::from_le_bytes(head[1..].try_into().expect("four bytes")) as usize;
        if count > MAX_PARTS {
            return Err(Malformed("more parts than a frame can carry"));
        }
        let Some((places, body)) = rest.split_at_checked(count * PART_PLACE) else {
            return Err(Malformed("a request with parts shorter than its places"));
        };
        let mut total = body.len();
        let mut last = 0;
        let places = places
            .chunks_exact(PART_PLACE)
            .map(|place| {
                let number = |at: usize| {
                    usize::try_from(u64::from_le_bytes(
                        place[at..at + 8].try_into().expect("eight bytes"),
                    ))
                    .unwrap_or(usize::MAX)
                };
                let (at, len) = (number(0), number(8));
                if at < last || at > body.len() {
                    return Err(Malformed("a part out of order or outside its request"));
                }
                last = at;
                total = total
                    .checked_add(len)
                    .filter(|&total| total <= MAX_FRAME)
                    .ok_or(Malformed("a request with parts larger than a frame"))?;
                Ok((at, len))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Head { tag, places, body })
    }

    /// Reads the parts from `source` and writes the whole message into `out`.
    ///
    /// # Errors
    ///
    /// When a part's length is not the one the head gave it.
    pub(super) fn assemble(
        &self,
        source: &mut impl PartSource,
        out: &mut FrameBuffer,
    ) -> Result<(), Malformed> {
        let mut end = 0;
        let mut from = 0;
        let copy = |out: &mut FrameBuffer, end: &mut usize, bytes: &[u8]| {
            out.fill(*end + bytes.len())[*end..].copy_from_slice(bytes);
            *end += bytes.len();
        };
        for &(at, len) in &self.places {
            copy(out, &mut end, &self.body[from..at]);
            from = at;
            if source.next_len() != len {
                return Err(Malformed("a part of another length than its head gives"));
            }
            source.receive(&mut out.fill(end + len)[end..]);
            end += len;
        }
        copy(out, &mut end, &self.body[from..]);
        Ok(())
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::test_random::Random;

    /// Parts from memory.
    struct Given(std::collections::VecDeque<Vec<u8>>);

    impl PartSource for Given {
        fn next_len(&mut self) -> usize {
            self.0.front().map_or(0, Vec::len)
        }
        fn receive(&mut self, into: &mut [u8]) {
            into.copy_from_slice(&self.0.pop_front().expect("a part"));
        }
    }

    fn part(at: usize, bytes: &[u8]) -> Part {
        Part {
            at,
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn a_request_is_put_back_together() {
        // A frame `LLLLtbody`, its length prefix not sent; parts at 5 and 9 of it.
        let frame = b"LLLLtbody";
        let parts = [part(5, b"12"), part(9, b"345")];
        for (tag, prefix) in [(TAG_RUN, &b""[..]), (TAG_RUN_ISOLATED, &b"hh"[..])] {
            let message = head(tag, prefix, &frame[4..], 4, &parts);
            let head = Head::parse(&message).unwrap();
            assert_eq!(head.tag, tag);
            let mut source = Given(parts.iter().map(|part| part.bytes.clone()).collect());
            let mut out = FrameBuffer::default();
            head.assemble(&mut source, &mut out).unwrap();
            assert_eq!(out.frame(), [prefix, b"t12body345"].concat());
            assert!(source.0.is_empty());
        }
    }

    #[test]
    fn a_part_of_another_length_is_refused() {
        let message = head(TAG_RUN, b"", b"tbody", 4, &[part(5, b"12")]);
        let head = Head::parse(&message).unwrap();
        let mut source = Given([b"123".to_vec()].into());
        let error = head
            .assemble(&mut source, &mut FrameBuffer::default())
            .unwrap_err();
        assert_eq!(error.0, "a part of another length than its head gives");
    }

    #[test]
    fn broken_heads_are_refused_before_anything_is_read() {
        let good = head(TAG_RUN, b"", b"tbody", 4, &[part(5, b"12"), part(6, b"3")]);
        assert!(Head::parse(&good).is_ok());
        let with = |edit: &dyn Fn(&mut Vec<u8>)| {
            let mut message = good.clone();
            edit(&mut message);
            Head::parse(&message).unwrap_err().0
        };
        let place = |message: &mut Vec<u8>, at: usize, value: u64| {
            message[at..at + 8].copy_from_slice(&value.to_le_bytes());
        };
        assert_eq!(
            with(&|m| m.truncate(3)),
            "a request with parts without its head"
        );
        assert_eq!(with(&|m| m[0] = 9), "parts of a message other than a run");
        assert_eq!(
            with(&|m| m[1..5].copy_from_slice(&u32::MAX.to_le_bytes())),
            "more parts than a frame can carry"
        );
        assert_eq!(
            with(&|m| m[1..5].copy_from_slice(&3u32.to_le_bytes())),
            "a request with parts shorter than its places"
        );
        // The second part before the first; a part past the body.
        assert_eq!(
            with(&|m| place(m, PARTS_HEAD + PART_PLACE, 0)),
            "a part out of order or outside its request"
        );
        assert_eq!(
            with(&|m| place(m, PARTS_HEAD, 6)),
            "a part out of order or outside its request"
        );
        // Lengths that add up past a frame, or overflow.
        assert_eq!(
            with(&|m| place(m, PARTS_HEAD + 8, MAX_FRAME as u64)),
            "a request with parts larger than a frame"
        );
        assert_eq!(
            with(&|m| place(m, PARTS_HEAD + 8, u64::MAX)),
            "a request with parts larger than a frame"
        );
    }

    #[test]
    fn random_heads_are_refused_or_put_together_without_a_panic() {
        let good = head(
            TAG_RUN,
            b"hh",
            b"tbody",
            4,
            &[part(5, b"12"), part(6, b"3")],
        );
        let mut random = Random::new(0x2545_f491_4f6c_dd1d);
        let mut next = move || random.next();
        for _ in 0..20_000 {
            let mut message = good.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % message.len() as u64) as usize;
                message[at] = next() as u8;
            }
            message.truncate(message.len() - (next() % 3) as usize);
            if let Ok(head) = Head::parse(&message) {
                // Parts of the lengths the head gives, each at most 64 bytes here.
                let lens: Vec<usize> = head.places.iter().map(|&(_, len)| len).collect();
                if lens.iter().all(|&len| len <= 64) {
                    let mut source = Given(lens.iter().map(|&len| vec![7; len]).collect());
                    let mut out = FrameBuffer::default();
                    head.assemble(&mut source, &mut out).unwrap();
                    assert_eq!(
                        out.frame().len(),
                        head.body.len() + lens.iter().sum::<usize>()
                    );
                }
            }
        }
    }
}
