//! A finished run frame as it goes out: its bytes, and the byte strings of arguments that stay
//! in the arguments' own memory beside it.
//!
//! On MPI, a rank reads a request straight from rank 0's memory. An argument that is a large
//! `Vec<u8>` would be copied into the frame first, and that copy, from memory the cache no
//! longer holds, took as long as the transfer itself. So a frame built for MPI
//! (`RequestBuilder::with_parts`, through [`RunFrame::push_part`](super::RunFrame::push_part))
//! keeps such a byte string as a [`Part`]: the frame holds its length and not its bytes, and the
//! MPI transport sends the bytes from the `Vec` itself, into their place on the rank. A transport that needs the frame in one
//! block asks for [`Outgoing::whole`], which moves the parts in.

/// The shortest byte string that a frame for a transport that takes parts leaves out as a
/// [`Part`]: shorter ones cost less to copy than a message of their own.
pub(crate) const SHORTEST_PART: usize = 64 << 10;

/// A run frame, with its parts beside it.
#[derive(Debug, Default)]
pub(crate) struct Outgoing {
    /// The frame without its parts' bytes; its length prefix counts them.
    bytes: Vec<u8>,
    /// In frame order (boxed: a `Request` holding this stays small).
    parts: Box<[Part]>,
}

/// A byte string left out of its frame.
#[derive(Debug)]
pub(crate) struct Part {
    /// Where its bytes belong in the frame's own bytes: they go before `bytes[at]`, after the
    /// bytes of the parts before it.
    pub(crate) at: usize,
    pub(crate) bytes: Vec<u8>,
}

impl Outgoing {
    /// A frame with its bytes in one block.
    pub(crate) fn whole_frame(bytes: Vec<u8>) -> Self {
        Outgoing {
            bytes,
            parts: Box::default(),
        }
    }

    /// A frame of `bytes` with `parts` left out of them (in frame order).
    pub(super) fn with_parts(bytes: Vec<u8>, parts: Vec<Part>) -> Self {
        debug_assert!(parts.windows(2).all(|two| two[0].at <= two[1].at));
        debug_assert!(parts.last().is_none_or(|last| last.at <= bytes.len()));
        Outgoing {
            bytes,
            parts: parts.into_boxed_slice(),
        }
    }

    /// The frame's length, parts included.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
            + self
                .parts
                .iter()
                .map(|part| part.bytes.len())
                .sum::<usize>()
    }

    /// The whole frame in one block: the parts' bytes are moved in (copied once) if there are
    /// any.
    pub(crate) fn whole(&mut self) -> &mut [u8] {
        if !self.parts.is_empty() {
            let mut whole = super::frame_pool::take(self.len());
            let mut from = 0;
            for part in std::mem::take(&mut self.parts).into_vec() {
                whole.extend_from_slice(&self.bytes[from..part.at]);
                whole.extend_from_slice(&part.bytes);
                from = part.at;
            }
            whole.extend_from_slice(&self.bytes[from..]);
            super::frame_pool::give_back(std::mem::replace(&mut self.bytes, whole));
        }
        &mut self.bytes
    }

    /// The frame's own bytes, without its parts: the whole frame once [`Outgoing::whole`] ran.
    pub(crate) fn own_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether some bytes of the frame are parts beside it.
    pub(crate) fn has_parts(&self) -> bool {
        !self.parts.is_empty()
    }

    /// The frame's own bytes, without its parts, and the parts.
    #[cfg(any(test, feature = "mpi"))]
    pub(crate) fn pieces(&mut self) -> (&mut [u8], &[Part]) {
        (&mut self.bytes, &self.parts)
    }

    /// The whole frame in one block (see [`Outgoing::whole`]).
    pub(crate) fn into_whole(mut self) -> Vec<u8> {
        self.whole();
        self.bytes
    }

    /// The frame's own bytes, without its parts, for the frame pool.
    pub(crate) fn into_own_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn parts_go_back_in_their_places() {
        let mut frame = Outgoing::with_parts(
            b"abcdef".to_vec(),
            vec![
                Part {
                    at: 0,
                    bytes: b"01".to_vec(),
                },
                Part {
                    at: 3,
                    bytes: b"2".to_vec(),
                },
                Part {
                    at: 3,
                    bytes: b"34".to_vec(),
                },
                Part {
                    at: 6,
                    bytes: b"5".to_vec(),
                },
            ],
        );
        assert_eq!(frame.len(), 12);
        assert_eq!(frame.pieces().1.len(), 4);
        assert_eq!(frame.whole(), b"01abc234def5");
        // Once whole, it stays so.
        assert!(frame.pieces().1.is_empty());
        assert_eq!(frame.len(), 12);
        assert_eq!(frame.into_whole(), b"01abc234def5");
    }
}
