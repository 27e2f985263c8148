//! The page a parent shares with one worker: which requests the worker has started, and which
//! call of the one it runs.
//!
//! Pipelining writes requests into a worker's socket behind the one it runs. The *claim word*
//! lets the parent take back those the worker has not started, without a race: the worker
//! starts request `s` only by moving the word from `s - 1` to `s`, and the parent takes back
//! every request after `a` by moving the word from `a` to the last request it sent. Whichever
//! moves the word first wins; the worker skips a request it finds taken back. The *progress
//! word* names the call the worker runs, so that when a worker dies in a batch the parent knows
//! which call killed it and which never ran.
//!
//! The page is a sealed `memfd` (Linux, Android): private to the two processes, with no name
//! another process could open, and neither side can shrink it under the other. The parent trusts
//! nothing it reads there: a value out of range is the worker's failure. Elsewhere there is no
//! page, and the parent neither pipelines nor knows which call of a batch killed its worker.
//!
//! The mapping takes `unsafe` (as do the rings, the worker's entry before `main` and the
//! in-place writes of a `#[parallel] for`'s pushes): each block says what it relies on.

#![allow(unsafe_code)]

use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

/// The bytes mapped: two words, in a page of their own.
const PAGE: usize = 4096;
/// The words' offsets.
const CLAIM: usize = 0;
const PROGRESS: usize = 4;

/// One worker's shared page, mapped into this process.
pub(crate) struct Claims {
    /// The start of the mapping, `PAGE` bytes long and page-aligned.
    base: std::ptr::NonNull<u8>,
    fd: OwnedFd,
    /// The parent's side: the last take-back, as (the last request the worker had started, the
    /// last request taken back). Until the worker claims another request, the claim word holds
    /// the second, and the first says what the worker runs.
    taken_back: Cell<Option<(u32, u32)>>,
}

// SAFETY: a `Claims` owns its mapping (unmapped on drop) and reaches it only through its own
// methods, with atomics for the words; nothing about the mapping is tied to the thread that made
// it, so moving the owner to another thread (a caller that drives the worker: `driver::slot`)
// is sound. It stays `!Sync` (its `Cell`): one thread at a time uses it.
unsafe impl Send for Claims {}

/// A value read from the page that cannot be right.
#[derive(Debug)]
pub(crate) struct Untrusted;

impl Claims {
    /// Makes a new page for a worker about to start (the parent's side).
    ///
    /// # Errors
    ///
    /// Where the system has no sealed `memfd` (then the pool runs without a page).
    pub(crate) fn create() -> io::Result<Claims> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::fs::{MemfdFlags, SealFlags};
            let fd = rustix::fs::memfd_create(
                "parallel-claims",
                MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
            )?;
            rustix::fs::ftruncate(&fd, PAGE as u64)?;
            rustix::fs::fcntl_add_seals(
                &fd,
                SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL,
            )?;
            Claims::map(fd)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            Err(io::ErrorKind::Unsupported.into())
        }
    }

    /// Maps the page the parent sent (the worker's side).
    ///
    /// # Errors
    ///
    /// When `fd` is not a file of at least a page, or cannot be mapped.
    pub(crate) fn open(fd: OwnedFd) -> io::Result<Claims> {
        let size = rustix::fs::fstat(&fd)?.st_size;
        if usize::try_from(size).map_or(true, |size| size < PAGE) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the shared page is too small",
            ));
        }
        Claims::map(fd)
    }

    fn map(fd: OwnedFd) -> io::Result<Claims> {
        use rustix::mm::{MapFlags, ProtFlags};
        // SAFETY: a new shared mapping at an address the kernel picks (a null hint), so no
        // memory of this process changes meaning. The file is at least `PAGE` bytes (created
        // so, or checked by `open`), and sealed against shrinking where it was created, so
        // every byte of the mapping stays backed.
        let base = unsafe {
            rustix::mm::mmap(
                std::ptr::null_mut(),
                PAGE,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                &fd,
                0,
            )?
        };
        let base = std::ptr::NonNull::new(base.cast::<u8>())
            .ok_or_else(|| io::Error::other("mmap returned null"))?;
        Ok(Claims {
            base,
            fd,
            taken_back: Cell::new(None),
        })
    }

    /// The page's file, to send to the worker.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn word(&self, offset: usize) -> &AtomicU32 {
        // SAFETY: `offset` is `CLAIM` or `PROGRESS`, so the pointer is inside the mapping and
        // 4-byte aligned (the mapping is page-aligned). The mapping lives as long as `self`, and
        // the returned reference borrows `self`. Both processes only ever touch these bytes
        // through atomic operations; another process's writes can change the value at any time,
        // which is what an atomic is for, and every value is read as untrusted.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(offset).cast::<u32>()) }
    }

    /// The worker's side: claims request `seq`; `false` if the parent took it back first.
    pub(crate) fn start(&self, seq: u32) -> bool {
        let claim = self.word(CLAIM);
        // Before the claim, so that a worker dying between the two is not blamed on a call.
        self.progress().store(0, Ordering::Release);
        claim
            .compare_exchange(
                seq.wrapping_sub(1),
                seq,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// Where the worker publishes the index of the call it runs (the number of calls once all
    /// have run).
    pub(crate) fn progress(&self) -> &AtomicU32 {
        self.word(PROGRESS)
    }

    /// The parent's side: the last request the worker started, knowing that it finished every
    /// request before `head` and that `last` is the last one sent.
    ///
    /// # Errors
    ///
    /// A value outside `head - 1 ..= last`.
    pub(crate) fn started(&self, head: u32, last: u32) -> Result<u32, Untrusted> {
        let word = self.word(CLAIM).load(Ordering::Acquire);
        self.started_from(word, head, last)
    }

    fn started_from(&self, word: u32, head: u32, last: u32) -> Result<u32, Untrusted> {
        if !within(word, head, last) {
            return Err(Untrusted);
        }
        Ok(match self.taken_back.get() {
            // Nothing claimed since the take-back: the worker runs what it had started then,
            // unless that was answered, and then it has not started `head`.
            Some((started, through)) if word == through => {
                if within(started, head, last) {
                    started
                } else {
                    head.wrapping_sub(1)
                }
            }
            _ => word,
        })
    }

    /// The parent's side: takes back every request after the last one the worker started, up
    /// to `last`; returns the last one it started. The worker skips those taken back.
    ///
    /// # Errors
    ///
    /// A value outside `head - 1 ..= last` (see [`started`](Claims::started)).
    pub(crate) fn take_back(&self, head: u32, last: u32) -> Result<u32, Untrusted> {
        let claim = self.word(CLAIM);
        loop {
            let word = claim.load(Ordering::Acquire);
            let started = self.started_from(word, head, last)?;
            if started == last || word == last {
                return Ok(started);
            }
            // Fails only if the worker claimed one more meanwhile: at most `last - head` times.
            if claim
                .compare_exchange(word, last, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                self.taken_back.set(Some((started, last)));
                return Ok(started);
            }
        }
    }

    /// The parent's side, once the worker is gone: the call it was running in the request it
    /// had started, or the request's count if it had run them all.
    pub(crate) fn progress_of_dead(&self) -> u32 {
        self.progress().load(Ordering::Acquire)
    }
}

/// Whether `started` lies in `head - 1 ..= last`, counting in wrapping sequence numbers.
fn within(started: u32, head: u32, last: u32) -> bool {
    let floor = head.wrapping_sub(1);
    started.wrapping_sub(floor) <= last.wrapping_sub(floor)
}

impl Drop for Claims {
    fn drop(&mut self) {
        // SAFETY: `base` is the start of a `PAGE`-byte mapping made by `map` and not unmapped
        // since; no reference into it outlives `self`, since `word` borrows `self`.
        let _ = unsafe { rustix::mm::munmap(self.base.as_ptr().cast(), PAGE) };
    }
}

#[cfg(test)]
mod test;
