//! Frames on a socket: reading one with allocation bounded by what arrives, writing one whole;
//! and the fields and varint lengths inside a frame, read with their bounds checked.

use std::fmt;
use std::io::{self, Read};
use std::os::fd::AsFd;

// The grammar's tags and sizes, which the request and reply modules build and read.
pub(super) const RUN: u8 = 1;
pub(super) const DONE: u8 = 2;
pub(super) const REFUSED: u8 = 3;
pub(super) const HELLO: u8 = 4;
pub(super) const SETUP: u8 = 5;
pub(super) const SETUP_SHARED: u8 = 6;
pub(super) const ATTACH: u8 = 7;

/// The most arrays one attach frame brings (one file each, in its `SCM_RIGHTS`): a worker keeps
/// no more files than this of any one frame.
pub(crate) const MAX_ATTACH: usize = 64;

/// The largest frame, tag and body: the length prefix is a `u32`.
pub(crate) const MAX_FRAME: usize = u32::MAX as usize;
/// The most calls in one request. A worker rejects a request that claims more.
pub(crate) const MAX_CALLS: usize = 1 << 16;
/// Bytes of a frame before its body: the length prefix and the tag.
pub(super) const FRAME_HEADER: usize = 4 + 1;
/// Bytes before a run's task id: frame header, seq, count, id length.
pub(super) const RUN_HEADER: usize = FRAME_HEADER + 4 + 4 + 2;
/// The most bytes of a varint.
pub(super) const MAX_VARINT: usize = 5;
/// Bytes before a done's outcomes: frame header, seq, count, nanos.
pub(super) const DONE_HEADER: usize = FRAME_HEADER + 4 + 4 + 8;
/// Bytes of the outcomes' footer: the values' and lengths' sizes, the returned and failed
/// counts.
pub(super) const OUTCOMES_FOOTER: usize = 4 + 4 + 4 + 4;
/// A reply keeps this much of the frame for its value lengths and failures: values stop short
/// of it.
pub(super) const REPLY_RESERVE: usize = 64 << 20;
/// The longest message kept for a failed call; longer ones are cut.
pub(super) const MAX_MESSAGE: usize = 64 << 10;
/// How many bytes of a frame are asked for before any of it has arrived: a frame's allocation
/// grows with the bytes that arrive, never with what its length prefix claims.
pub(super) const FIRST_READ: usize = 64 << 10;

/// What was wrong with a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed frame: {}", self.0)
    }
}

impl From<Malformed> for io::Error {
    fn from(malformed: Malformed) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, malformed.to_string())
    }
}

/// The worker's greeting, sent once it serves.
pub(crate) const HELLO_FRAME: [u8; 5] = [1, 0, 0, 0, HELLO];
/// The parent's first frame.
pub(crate) const SETUP_FRAME: [u8; 5] = [1, 0, 0, 0, SETUP];
/// The parent's first frame when frames travel in shared rings.
pub(crate) const SETUP_SHARED_FRAME: [u8; 5] = [1, 0, 0, 0, SETUP_SHARED];

/// Where frames are read. Its bytes stay initialized from one frame to the next, so that
/// reading a frame writes only the bytes that arrive.
#[derive(Default)]
pub(crate) struct FrameBuffer {
    bytes: Vec<u8>,
    len: usize,
}

impl FrameBuffer {
    /// The last frame read: its tag and body.
    #[inline]
    pub(crate) fn frame(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Makes room for a frame of `len` bytes, to be written in whole into the slice returned.
    pub(crate) fn fill(&mut self, len: usize) -> &mut [u8] {
        if self.bytes.len() < len {
            self.bytes.resize(len, 0);
        }
        self.len = len;
        &mut self.bytes[..len]
    }

    /// The bytes held, for frames to come.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.bytes.capacity()
    }
}

/// Reads one frame (its tag and body) into `buffer`; `Ok(false)` at a clean end of stream,
/// before any byte of a frame.
///
/// The buffer grows with the bytes that arrive, whatever the length prefix claims: a frame of
/// which `n` bytes arrived never makes it grow past `max(2n, 64 KiB)`.
///
/// # Errors
///
/// `InvalidData` for a length of zero; `UnexpectedEof` when the stream ends inside a frame;
/// the stream's own errors (a read timeout is `WouldBlock` or `TimedOut`).
pub(crate) fn read_frame(stream: &mut impl Read, buffer: &mut FrameBuffer) -> io::Result<bool> {
    buffer.len = 0;
    let mut prefix = [0; 4];
    let mut have = 0;
    while have < prefix.len() {
        match stream.read(&mut prefix[have..]) {
            Ok(0) if have == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(read) => have += read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(prefix) as usize;
    if len == 0 {
        return Err(Malformed("a frame of length zero").into());
    }
    // In the usual frame, the whole body is there and one read takes it; the buffer grows
    // only when what arrived fills it, to twice that, never past `len`.
    let bytes = &mut buffer.bytes;
    let mut filled = 0;
    while filled < len {
        if filled == bytes.len() {
            let grown = (2 * filled).max(FIRST_READ).min(len);
            bytes.resize(grown, 0);
        }
        let room = len.min(bytes.len());
        match stream.read(&mut bytes[filled..room]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(read) => filled += read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buffer.len = len;
    Ok(true)
}

/// Writes a whole frame to a socket. A peer that is gone is an error (`BrokenPipe`), never a
/// `SIGPIPE`, whatever the program did with that signal.
pub(crate) fn write_frame(socket: &impl AsFd, mut frame: &[u8]) -> io::Result<()> {
    while !frame.is_empty() {
        match rustix::net::send(socket, frame, rustix::net::SendFlags::NOSIGNAL) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(sent) => frame = &frame[sent..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The socket send buffer asked for: a megabyte-sized frame is then written in one go instead
/// of waking the reader for every 200 KiB. The system caps it (`net.core.wmem_max`).
const SEND_BUFFER: usize = 4 << 20;

/// Enlarges the send buffer of one end of the protocol socket; where the system refuses, the
/// default buffer still works, only slower.
pub(crate) fn enlarge_send_buffer(socket: &impl std::os::fd::AsFd) {
    let _ = rustix::net::sockopt::set_socket_send_buffer_size(socket, SEND_BUFFER);
}

#[inline]
pub(super) fn u32_le(bytes: &[u8]) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(bytes);
    u32::from_le_bytes(word)
}

/// Reads fixed-size fields off the front of a body, checking that they are there.
pub(super) struct Reader<'a>(pub(super) &'a [u8]);

impl<'a> Reader<'a> {
    pub(super) fn take(&mut self, len: usize) -> Result<&'a [u8], Malformed> {
        let (taken, rest) = self
            .0
            .split_at_checked(len)
            .ok_or(Malformed("a body shorter than its fields"))?;
        self.0 = rest;
        Ok(taken)
    }

    pub(super) fn u16(&mut self) -> Result<u16, Malformed> {
        let bytes = self.take(2)?;
        Ok(u16::from_le_bytes([bytes[0], bytes[1]]))
    }

    pub(super) fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32_le(self.take(4)?))
    }

    pub(super) fn u64(&mut self) -> Result<u64, Malformed> {
        let bytes = self.take(8)?;
        Ok(u64::from_le_bytes(bytes.try_into().expect("eight bytes")))
    }
}

/// The lengths of `count` values, as varints, checked to add up to the bytes they split.
#[derive(Clone, Copy, Debug)]
pub(super) struct Lengths<'a> {
    varints: &'a [u8],
    pub(super) count: usize,
}

impl<'a> Lengths<'a> {
    /// Checks that `varints` is exactly `count` varints, adding up to `total`.
    pub(super) fn check(varints: &'a [u8], count: usize, total: usize) -> Result<Self, Malformed> {
        if varints.len() < count || varints.len() > count.saturating_mul(MAX_VARINT) {
            return Err(Malformed("lengths for another number of values"));
        }
        let mut at = 0;
        let mut sum = 0u64;
        for _ in 0..count {
            let len =
                read_varint(varints, &mut at).ok_or(Malformed("a length that is no varint"))?;
            sum += u64::from(len);
        }
        if at != varints.len() {
            return Err(Malformed("bytes after the lengths"));
        }
        if sum != total as u64 {
            return Err(Malformed("lengths that do not add up"));
        }
        Ok(Lengths { varints, count })
    }

    /// `bytes` cut at each length.
    #[inline]
    pub(super) fn split(self, bytes: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut at = 0;
        let mut start = 0;
        (0..self.count).map(move |_| {
            // Checked by `check`: the varints are there and add up to `bytes`.
            let len = read_varint(self.varints, &mut at).unwrap_or(0) as usize;
            let value = bytes.get(start..start + len).unwrap_or_default();
            start += len;
            value
        })
    }
}

/// Reads a varint below 2^32 at `at`, moving `at` past it.
#[inline]
pub(super) fn read_varint(bytes: &[u8], at: &mut usize) -> Option<u32> {
    let mut value = 0u32;
    for shift in [0, 7, 14, 21, 28] {
        let byte = *bytes.get(*at)?;
        *at += 1;
        if shift == 28 && byte > 0x0f {
            return None;
        }
        value |= u32::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Appends `value` as a varint (postcard's too: seven bits a byte, low first, the high bit set
/// on all but the last).
#[inline]
pub(super) fn push_varint(bytes: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        bytes.push(value as u8 | 0x80);
        value >>= 7;
    }
    bytes.push(value as u8);
}
