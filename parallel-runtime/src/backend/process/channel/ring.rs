//! Two rings of frames in one mapping shared by the parent and one worker: requests to the
//! worker, replies to the parent.
//!
//! Each ring has one writer and one reader. Positions count the bytes written (the tail) and
//! read (the head) since the start, as `u64`s (they would wrap after 2^64 bytes); the byte at
//! position `p` sits at `p % capacity` in the ring's data. An *entry* is an 8-byte header (a
//! frame's length and a kind) followed by the frame, padded to 8 bytes. Its kinds:
//!
//! - a frame, in the ring;
//! - a frame too large for the ring, sent on the socket instead: the entry keeps its place, so
//!   frames arrive in the order they were sent whichever way they travel;
//! - a wrap: the rest of the ring is unused, the next entry starts at its beginning.
//!
//! The writer copies an entry in, then publishes the new tail (a release store); the reader
//! loads the tail (acquire), copies the frame out, then publishes the new head. So a writer that
//! dies in the middle of an entry never published it, and the reader never reads it
//! half-written. Besides the positions, each ring has two *asleep* words: the reader's (it
//! sleeps until there is an entry) and the writer's (it sleeps until there is room); whoever
//! changes a position and finds the other side asleep rings its doorbell.
//!
//! Nothing written by the other process is trusted: a position out of range, an entry that
//! overruns the ring or what was published, or an unknown kind is [`Malformed`], and no length
//! read from the ring sizes an allocation beyond the ring's capacity.
//!
//! The mapping is a sealed `memfd` (Linux, Android), private to the two processes: no name
//! another process could open. This file holds the mapping's `unsafe`; each block says what it
//! relies on.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

use crate::backend::process::protocol::{FrameBuffer, Malformed};

/// Bytes of the words before the rings' data: one page.
const WORDS: usize = 4096;
/// Each ring's words, as offsets from its first word; each on a cache line of its own.
const TAIL: usize = 0;
const HEAD: usize = 64;
const READER_ASLEEP: usize = 128;
const WRITER_ASLEEP: usize = 192;
/// Bytes between the first words of the two rings.
const RING_WORDS: usize = 256;

/// The data bytes of each ring a parent makes.
pub(crate) const CAPACITY: usize = 4 << 20;
/// The capacities a worker accepts: powers of two in this range.
const MIN_CAPACITY: usize = 4096;
const MAX_CAPACITY: usize = 1 << 30;

const ENTRY_HEADER: usize = 8;
const FRAME: u32 = 1;
const ON_SOCKET: u32 = 2;
const WRAP: u32 = 3;

/// Which of the two rings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ring {
    /// The parent writes requests, the worker reads them.
    ToWorker = 0,
    /// The worker writes replies, the parent reads them.
    ToParent = 1,
}

/// Where [`Rings::push_entry`] put a frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// In the ring.
    InRing,
    /// Its entry is in the ring; the frame itself must go on the socket, next.
    OnSocket,
    /// Nowhere: the ring has no room for it now.
    Full,
}

/// What [`Rings::pop`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Popped {
    /// Nothing yet.
    Empty,
    /// A frame, now in the buffer.
    Frame,
    /// A frame that comes on the socket: read it from there, next.
    OnSocket,
}

/// One side's view of the two rings: it writes one and reads the other.
pub(crate) struct Rings {
    /// The start of the mapping, `WORDS + 2 * capacity` bytes, page-aligned.
    base: NonNull<u8>,
    len: usize,
    fd: OwnedFd,
    capacity: usize,
    writes: Ring,
    reads: Ring,
    /// This side's tail of the ring it writes: the shared word is only ever its copy.
    tail: u64,
    /// This side's head of the ring it reads.
    head: u64,
}

// SAFETY: a `Rings` owns its mapping (unmapped on drop) and reaches it only through its own
// methods, with atomics for the words and copies for the data; nothing about the mapping is
// tied to the thread that made it, so moving the owner to another thread is sound.
unsafe impl Send for Rings {}

impl Rings {
    /// Makes the rings for a worker about to start (the parent's side), of `capacity` bytes
    /// each (a power of two; [`CAPACITY`] in a pool).
    ///
    /// # Errors
    ///
    /// Where the system has no sealed `memfd` (then the pool uses the socket alone).
    pub(crate) fn create_with(capacity: usize) -> io::Result<Rings> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::fs::{MemfdFlags, SealFlags};
            debug_assert!(capacity.is_power_of_two() && capacity >= MIN_CAPACITY);
            let fd = rustix::fs::memfd_create(
                "parallel-rings",
                MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
            )?;
            rustix::fs::ftruncate(&fd, (WORDS + 2 * capacity) as u64)?;
            rustix::fs::fcntl_add_seals(
                &fd,
                SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL,
            )?;
            Rings::map(fd, capacity, Ring::ToWorker, Ring::ToParent)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = capacity;
            Err(io::ErrorKind::Unsupported.into())
        }
    }

    /// Maps the rings the parent sent (the worker's side).
    ///
    /// # Errors
    ///
    /// When `fd` is not a file whose size is a page and two rings of a capacity in range, or
    /// cannot be mapped.
    pub(crate) fn open(fd: OwnedFd) -> io::Result<Rings> {
        let size = rustix::fs::fstat(&fd)?.st_size;
        let capacity = usize::try_from(size)
            .ok()
            .and_then(|size| size.checked_sub(WORDS))
            .map(|data| data / 2)
            .filter(|&capacity| {
                capacity.is_power_of_two()
                    && (MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity)
                    && size as usize == WORDS + 2 * capacity
            })
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "the rings have a wrong size")
            })?;
        Rings::map(fd, capacity, Ring::ToParent, Ring::ToWorker)
    }

    fn map(fd: OwnedFd, capacity: usize, writes: Ring, reads: Ring) -> io::Result<Rings> {
        use rustix::mm::{MapFlags, ProtFlags};
        let len = WORDS + 2 * capacity;
        // SAFETY: a new shared mapping at an address the kernel picks (a null hint), so no
        // memory of this process changes meaning. The file is `len` bytes (made so, or checked
        // by `open`), and sealed against shrinking where it was made, so every byte of the
        // mapping stays backed.
        let base = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                &fd,
                0,
            )?
        };
        let base = NonNull::new(base.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap returned null"))?;
        let mut rings = Rings {
            base,
            len,
            fd,
            capacity,
            writes,
            reads,
            tail: 0,
            head: 0,
        };
        // A worker starts where the parent left the rings: at their start, since it wrote
        // nothing before the worker was ready.
        rings.tail = rings.position(writes, TAIL).load(Ordering::Acquire);
        rings.head = rings.position(reads, HEAD).load(Ordering::Acquire);
        Ok(rings)
    }

    /// The mapping's file, to send to the worker.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The position word at `offset` of `ring`.
    fn position(&self, ring: Ring, offset: usize) -> &AtomicU64 {
        let at = ring as usize * RING_WORDS + offset;
        debug_assert!(at + 8 <= WORDS && at.is_multiple_of(8));
        // SAFETY: `at` is `TAIL` or `HEAD` of ring 0 or 1: inside the words page and 8-byte
        // aligned (the mapping is page-aligned). The mapping lives as long as `self`, which the
        // reference borrows. Both processes only touch these bytes through atomics; the other
        // process may change the value at any time, and every value is checked where it is read.
        unsafe { AtomicU64::from_ptr(self.base.as_ptr().add(at).cast::<u64>()) }
    }

    /// The asleep word at `offset` of `ring`.
    fn flag(&self, ring: Ring, offset: usize) -> &AtomicU32 {
        let at = ring as usize * RING_WORDS + offset;
        debug_assert!(at + 4 <= WORDS && at.is_multiple_of(4));
        // SAFETY: as in `position`: `READER_ASLEEP` or `WRITER_ASLEEP` of ring 0 or 1, inside
        // the words page, 4-byte aligned, and only ever touched through atomics.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(at).cast::<u32>()) }
    }

    /// The start of `ring`'s data.
    fn data(&self, ring: Ring) -> *mut u8 {
        // SAFETY: `WORDS + ring * capacity` is at most `WORDS + capacity`, within the mapping
        // of `WORDS + 2 * capacity` bytes.
        unsafe {
            self.base
                .as_ptr()
                .add(WORDS + ring as usize * self.capacity)
        }
    }

    /// Copies `bytes` into the ring this side writes, at `index`.
    fn write_at(&mut self, index: usize, bytes: &[u8]) {
        assert!(index + bytes.len() <= self.capacity);
        // SAFETY: the range is inside the ring's data (asserted above). The reader never reads
        // these bytes before the tail that covers them is published, which happens after this
        // copy; they are plain bytes, so a reader breaking that rule reads garbage it then
        // checks, never an invalid value.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.data(self.writes).add(index),
                bytes.len(),
            );
        }
    }

    /// Copies bytes out of the ring this side reads, from `index`.
    fn read_at(&self, index: usize, into: &mut [u8]) {
        assert!(index + into.len() <= self.capacity);
        // SAFETY: the range is inside the ring's data (asserted above), and `into` is memory of
        // this process, not the mapping. An honest writer does not touch published bytes until
        // the head passes them; one that does only changes which plain bytes are read, and
        // whatever is read is checked by the protocol's decoding.
        unsafe {
            std::ptr::copy_nonoverlapping(
                self.data(self.reads).add(index),
                into.as_mut_ptr(),
                into.len(),
            );
        }
    }

    /// The largest frame that travels in the ring: larger ones go on the socket.
    fn largest_in_ring(&self) -> usize {
        self.capacity / 2 - ENTRY_HEADER
    }

    /// [`push_entry`](Rings::push_entry) of a frame that carries no files.
    #[cfg(test)]
    pub(crate) fn push(&mut self, frame: &[u8]) -> Result<Pushed, Malformed> {
        self.push_entry(frame, false)
    }

    /// Puts `frame` (its tag and body) into the ring this side writes and publishes it, or
    /// its entry alone when it must go on the socket: a frame too large for the ring, or one
    /// that carries files (`on_socket`), which only a socket can pass. [`Pushed::Full`] when
    /// there is no room now (nothing is written).
    ///
    /// # Errors
    ///
    /// When the reader's head is out of range.
    pub(crate) fn push_entry(
        &mut self,
        frame: &[u8],
        on_socket: bool,
    ) -> Result<Pushed, Malformed> {
        let (kind, size) = self.entry_for(frame.len(), on_socket);
        let (needed, free) = self.needed_and_free(size)?;
        if needed as u64 > free {
            return Ok(Pushed::Full);
        }
        let mut index = (self.tail % self.capacity as u64) as usize;
        let to_end = self.capacity - index;
        if size > to_end {
            self.write_at(index, &entry_header(0, WRAP));
            self.tail += to_end as u64;
            index = 0;
        }
        self.write_at(index, &entry_header(frame.len(), kind));
        if kind == FRAME {
            self.write_at(index + ENTRY_HEADER, frame);
        }
        self.tail += size as u64;
        self.position(self.writes, TAIL)
            .store(self.tail, Ordering::Release);
        Ok(if kind == FRAME {
            Pushed::InRing
        } else {
            Pushed::OnSocket
        })
    }

    /// Whether the ring this side reads has an entry.
    pub(crate) fn readable(&self) -> bool {
        self.position(self.reads, TAIL).load(Ordering::Acquire) != self.head
    }

    /// Whether the ring this side writes has room for a frame of `len` bytes (its entry alone
    /// if `on_socket`).
    pub(crate) fn room_for(&self, len: usize, on_socket: bool) -> bool {
        let (_, size) = self.entry_for(len, on_socket);
        // A head out of range is for `push` to report: there is "room" to find it.
        self.needed_and_free(size)
            .map_or(true, |(needed, free)| needed as u64 <= free)
    }

    /// The kind of the entry for a frame of `len` bytes (on the socket if `on_socket`, or when
    /// too large for the ring), and the bytes the entry takes in the ring.
    fn entry_for(&self, len: usize, on_socket: bool) -> (u32, usize) {
        if on_socket || len > self.largest_in_ring() {
            (ON_SOCKET, ENTRY_HEADER)
        } else {
            (FRAME, ENTRY_HEADER + len.next_multiple_of(8))
        }
    }

    /// The bytes an entry of `size` needs from the tail on (with the rest of the ring before it
    /// when it wraps), and the bytes free in the ring this side writes.
    ///
    /// # Errors
    ///
    /// When the reader's head is out of range.
    fn needed_and_free(&self, size: usize) -> Result<(usize, u64), Malformed> {
        let head = self.position(self.writes, HEAD).load(Ordering::Acquire);
        let used = self.tail.wrapping_sub(head);
        if used > self.capacity as u64 || !used.is_multiple_of(8) {
            return Err(Malformed("a ring's head out of range"));
        }
        let to_end = self.capacity - (self.tail % self.capacity as u64) as usize;
        let needed = if size > to_end { to_end + size } else { size };
        Ok((needed, self.capacity as u64 - used))
    }

    /// Takes the next entry of the ring this side reads: its frame goes into `buffer`.
    ///
    /// # Errors
    ///
    /// An entry that breaks the rules above.
    pub(crate) fn pop(&mut self, buffer: &mut FrameBuffer) -> Result<Popped, Malformed> {
        let tail = self.position(self.reads, TAIL).load(Ordering::Acquire);
        loop {
            let published = tail.wrapping_sub(self.head);
            if published == 0 {
                return Ok(Popped::Empty);
            }
            if published > self.capacity as u64 || !published.is_multiple_of(8) {
                return Err(Malformed("a ring's tail out of range"));
            }
            let index = (self.head % self.capacity as u64) as usize;
            let mut header = [0; ENTRY_HEADER];
            self.read_at(index, &mut header);
            let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
            let kind = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
            match kind {
                WRAP => {
                    let to_end = (self.capacity - index) as u64;
                    if to_end > published {
                        return Err(Malformed("a ring's wrap past its tail"));
                    }
                    self.head += to_end;
                }
                FRAME => {
                    let size = ENTRY_HEADER + len.next_multiple_of(8);
                    if len == 0
                        || len > self.largest_in_ring()
                        || index + size > self.capacity
                        || size as u64 > published
                    {
                        return Err(Malformed("a ring entry out of range"));
                    }
                    let into = buffer.fill(len);
                    self.read_at(index + ENTRY_HEADER, into);
                    self.advance(size);
                    return Ok(Popped::Frame);
                }
                ON_SOCKET => {
                    self.advance(ENTRY_HEADER);
                    return Ok(Popped::OnSocket);
                }
                _ => return Err(Malformed("an unknown ring entry")),
            }
        }
    }

    /// Publishes the head `size` bytes further on.
    fn advance(&mut self, size: usize) {
        self.head += size as u64;
        self.position(self.reads, HEAD)
            .store(self.head, Ordering::Release);
    }

    /// This side is about to sleep until the ring it reads has an entry (`on`), or is awake.
    pub(crate) fn set_waiting_to_read(&self, on: bool) {
        self.flag(self.reads, READER_ASLEEP)
            .store(u32::from(on), Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// This side is about to sleep until the ring it writes has room (`on`), or is awake.
    pub(crate) fn set_waiting_to_write(&self, on: bool) {
        self.flag(self.writes, WRITER_ASLEEP)
            .store(u32::from(on), Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    /// Whether the other side sleeps until the ring this side writes has an entry: then a
    /// push must ring its doorbell.
    pub(crate) fn peer_waits_to_read(&self) -> bool {
        fence(Ordering::SeqCst);
        self.flag(self.writes, READER_ASLEEP).load(Ordering::SeqCst) != 0
    }

    /// Whether the other side sleeps until the ring this side reads has room.
    pub(crate) fn peer_waits_to_write(&self) -> bool {
        fence(Ordering::SeqCst);
        self.flag(self.reads, WRITER_ASLEEP).load(Ordering::SeqCst) != 0
    }
}

fn entry_header(len: usize, kind: u32) -> [u8; ENTRY_HEADER] {
    let mut header = [0; ENTRY_HEADER];
    header[..4].copy_from_slice(&(len as u32).to_le_bytes());
    header[4..].copy_from_slice(&kind.to_le_bytes());
    header
}

impl Drop for Rings {
    fn drop(&mut self) {
        // SAFETY: `base` is the start of a `len`-byte mapping made by `map` and not unmapped
        // since; no reference into it outlives `self` (the words borrow `self`).
        let _ = unsafe { rustix::mm::munmap(self.base.as_ptr().cast(), self.len) };
    }
}
