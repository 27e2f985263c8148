//! The parent's and the worker's mapping of one shared array's sealed file.

#![allow(unsafe_code)]

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// The alignment of every mapping (the kernel maps whole pages), and the address an empty
/// array points at: aligned for every element type.
pub(super) const PAGE: usize = 4096;

/// One shared file, mapped read-only into this process.
pub(crate) struct Mapping {
    /// In the parent, the identity of its handles; in a worker, the parent's identity.
    pub(super) id: u64,
    /// The start of the mapping, page-aligned; when `len` is 0, a dangling address of `PAGE`.
    pub(super) base: NonNull<u8>,
    /// The bytes mapped: the whole file.
    pub(super) len: usize,
    /// The file, in the parent only (to send to workers); a worker closes it once mapped.
    pub(super) fd: Option<OwnedFd>,
}

// SAFETY: the mapping is read-only and never changes (sealed), and `Mapping` only hands out
// shared reads of it; nothing about it is tied to the thread that made it.
unsafe impl Send for Mapping {}
// SAFETY: as for `Send`: concurrent reads of immutable memory.
unsafe impl Sync for Mapping {}

/// The identities handed out in this process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// How many of the parent's mappings were dropped: a transport whose worker holds arrays looks
/// for dropped ones only when this moved.
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// How many of the parent's mappings are alive. While none is, no argument can name an array,
/// and encoding a call skips the collection altogether: a map of trivial items does not pay
/// for arrays it does not use.
pub(super) static LIVE: AtomicU64 = AtomicU64::new(0);

impl Mapping {
    /// Makes a sealed file holding `bytes` and maps it (the parent's side).
    pub(super) fn create(bytes: &[u8]) -> io::Result<Mapping> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::fs::{MemfdFlags, SealFlags};
            let fd = rustix::fs::memfd_create(
                "parallel-shared-slice",
                MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
            )?;
            rustix::fs::ftruncate(&fd, bytes.len() as u64)?;
            let mut at = 0;
            while at < bytes.len() {
                match rustix::io::pwrite(&fd, &bytes[at..], at as u64) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(written) => at += written,
                    Err(rustix::io::Errno::INTR) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            rustix::fs::fcntl_add_seals(
                &fd,
                SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW | SealFlags::SEAL,
            )?;
            let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
            let mapping = Mapping::map(fd, bytes.len(), id, true)?;
            LIVE.fetch_add(1, Ordering::Relaxed);
            Ok(mapping)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = bytes;
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "a `SharedSlice` needs a sealed `memfd`: Linux or Android",
            ))
        }
    }

    /// Maps a file the parent sent as array `id` (the worker's side), after checking that it
    /// is sealed so that it can never change or shrink; the file is closed once mapped.
    pub(super) fn open(fd: OwnedFd, id: u64) -> io::Result<Mapping> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::fs::SealFlags;
            let seals = rustix::fs::fcntl_get_seals(&fd)?;
            if !seals.contains(SealFlags::WRITE | SealFlags::SHRINK | SealFlags::GROW) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the file is not sealed against writes and resizing",
                ));
            }
            let size = rustix::fs::fstat(&fd)?.st_size;
            let len = usize::try_from(size)
                .ok()
                .filter(|&len| len <= isize::MAX as usize)
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "a size out of range"))?;
            Mapping::map(fd, len, id, false)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = (fd, id);
            Err(io::ErrorKind::Unsupported.into())
        }
    }

    fn map(fd: OwnedFd, len: usize, id: u64, keep_fd: bool) -> io::Result<Mapping> {
        use rustix::mm::{MapFlags, ProtFlags};
        let base = if len == 0 {
            // No memory to map: a slice of no elements needs only an aligned, non-null address.
            NonNull::new(std::ptr::without_provenance_mut::<u8>(PAGE)).expect("not null")
        } else {
            // SAFETY: a new read-only shared mapping at an address the kernel picks (a null
            // hint), so no memory of this process changes meaning. The file is `len` bytes
            // (written so, or its size just read) and sealed against shrinking, so every byte
            // of the mapping stays backed; sealed against writes, so it never changes.
            let base = unsafe {
                rustix::mm::mmap(
                    std::ptr::null_mut(),
                    len,
                    ProtFlags::READ,
                    MapFlags::SHARED,
                    &fd,
                    0,
                )?
            };
            NonNull::new(base.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned null"))?
        };
        Ok(Mapping {
            id,
            base,
            len,
            fd: keep_fd.then_some(fd),
        })
    }

    /// The array's identity (the parent's).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The file, to send to a worker; `None` in a worker.
    pub(crate) fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(AsFd::as_fd)
    }

    /// How many of the parent's arrays were dropped so far: see [`Mapping::fd`].
    pub(crate) fn dropped() -> u64 {
        DROPPED.load(Ordering::Acquire)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: `base` is the start of a `len`-byte mapping made by `map` and not unmapped
            // since; no slice into it outlives `self` (`SharedSlice::deref` borrows the handle,
            // which holds an `Arc` of `self`).
            let _ = unsafe { rustix::mm::munmap(self.base.as_ptr().cast(), self.len) };
        }
        if self.fd.is_some() {
            LIVE.fetch_sub(1, Ordering::Relaxed);
            DROPPED.fetch_add(1, Ordering::Release);
        }
    }
}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapping")
            .field("id", &self.id)
            .field("len", &self.len)
            .finish()
    }
}
