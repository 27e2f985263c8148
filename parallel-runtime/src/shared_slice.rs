//! [`SharedSlice`]: an array of plain numbers that worker processes read in place, never copied
//! per call, like joblib's memory-mapped numpy arrays.
//!
//! The array lives in a sealed `memfd` (Linux, Android): written once, sealed against any
//! further write, resize or seal change, then mapped read-only. A handle that crosses to a
//! worker inside a task's arguments is encoded as `(id, len)`; the parent sends the worker the
//! file once, before the first request that needs it (see `backend::process::transport`), and
//! the worker maps it and keeps it by id until the parent says the last handle is gone.
//!
//! Two sides meet here:
//!
//! - the parent's: encoding a handle records its mapping in a thread-local list that the
//!   request being encoded opened ([`collecting`]); outside one, encoding is an error;
//! - the worker's: the files received ([`receive`], [`forget`]), kept by id, which decoding a
//!   handle looks up. Nothing received is trusted: a file that is not a sealed `memfd`, an
//!   unknown id, or a length that does not fit the file is the decode error of that one call.
//!
//! This file holds the mapping's `unsafe`; each block says what it relies on.

#![allow(unsafe_code)]

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::ops::Deref;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The alignment of every mapping (the kernel maps whole pages), and the address an empty
/// array points at: aligned for every element type.
const PAGE: usize = 4096;

/// The most arrays one worker keeps at once; more are refused (their calls fail).
const MAX_RECEIVED: usize = 1 << 16;

/// What encoding a handle outside a process request says.
const OUTSIDE_A_REQUEST: &str = "a `SharedSlice` only crosses to process workers, as an \
     argument of a process task; it cannot be encoded anywhere else (a result, a file)";

/// Plain-old-data: the element types a [`SharedSlice`] can hold.
///
/// Implemented for the integer and float primitives (`u8` ..= `u64`, `i8` ..= `i64`, `usize`,
/// `isize`, `f32`, `f64`) and for arrays `[T; N]` of them.
///
/// # Safety
///
/// An implementing type must be `Copy`, hold no pointer or reference (its bytes mean the same
/// in another process), have no padding bytes (every byte is written to the shared file), and
/// accept every bit pattern as a valid value (a worker reads whatever bytes the file holds),
/// with an alignment of at most 4096. A `#[repr(C)]` struct of such fields without padding
/// qualifies; `bool`, `char`, references and enums do not.
///
/// # Examples
///
/// ```
/// use parallel::{SharedElement, SharedSlice};
///
/// fn share<T: SharedElement>(items: &[T]) -> std::io::Result<SharedSlice<T>> {
///     SharedSlice::from_slice(items)
/// }
/// # if cfg!(any(target_os = "linux", target_os = "android")) {
/// let points = share(&[[1.0f32, 2.0], [3.0, 4.0]]).unwrap();
/// assert_eq!(points[1], [3.0, 4.0]);
/// # }
/// ```
pub unsafe trait SharedElement: Copy + Send + Sync + 'static {}

macro_rules! shared_elements {
    ($($t:ty),*) => {
        $(
            // SAFETY: a primitive number: no pointer, no padding, every bit pattern a value.
            unsafe impl SharedElement for $t {}
        )*
    };
}
shared_elements!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, f32, f64);

// SAFETY: an array has no padding between its elements (its size is `N` times theirs) and holds
// only elements, which have none and accept every bit pattern themselves.
unsafe impl<T: SharedElement, const N: usize> SharedElement for [T; N] {}

/// A read-only array of plain numbers shared with worker processes, passed to process tasks by
/// handle: the data is written once and never copied per call.
///
/// Make one with [`from_slice`](SharedSlice::from_slice) (or
/// [`from_vec`](SharedSlice::from_vec)), then pass clones of it (cheap: a reference count) in
/// the arguments of as many process tasks as you like; each worker maps the array the first
/// time a call needs it, and reads it in place from then on. It reads as a `&[T]` everywhere
/// (`Deref`).
///
/// - **Lifetime**: the array lives as long as a handle to it does, in the parent or in a
///   request waiting to run. Once the parent drops the last one, each worker that mapped it
///   unmaps it when it receives its next request.
/// - **Read-only**: the memory is sealed against writes in the kernel. A task that writes
///   through it anyway (with `unsafe`) is killed by `SIGSEGV`; that call fails with
///   [`WorkerDied`](crate::ErrorKind::WorkerDied), and the others run on.
/// - **Workers that die**: a new worker gets the array again, with the first request that
///   needs it.
/// - **Where it goes**: only into the arguments of process tasks (`ProcessPool`, `par_map!` and
///   `par_join!` with `backend = process`). Encoding one anywhere else (a task's result, a file)
///   is a serde error. A task of the other backends gets the handle itself, no copy either.
///
/// Linux and Android only: elsewhere the constructors fail with
/// [`io::ErrorKind::Unsupported`].
///
/// # Examples
///
/// ```
/// use parallel::{ProcessPool, SharedSlice, parallel};
///
/// #[parallel]
/// fn sum_every((data, step): (SharedSlice<f64>, usize)) -> f64 {
///     data.iter().step_by(step).sum()
/// }
///
/// # if cfg!(any(target_os = "linux", target_os = "android")) {
/// let data = SharedSlice::from_vec((0..1000).map(f64::from).collect()).unwrap();
/// let pool = ProcessPool::builder().workers(2).build().unwrap();
/// let sums: Vec<f64> = pool
///     .map(sum_every, (1..=4).map(|step| (data.clone(), step)))
///     .map(Result::unwrap)
///     .collect();
/// assert_eq!(sums[0], 499_500.0);
/// # }
/// ```
pub struct SharedSlice<T: SharedElement> {
    mapping: Arc<Mapping>,
    len: usize,
    element: PhantomData<T>,
}

impl<T: SharedElement> SharedSlice<T> {
    /// Copies `items` into a new shared array.
    ///
    /// # Errors
    ///
    /// [`io::ErrorKind::Unsupported`] off Linux and Android; the system's error when it cannot
    /// make, fill, seal or map the file (no memory, too many open files).
    ///
    /// # Examples
    ///
    /// ```
    /// # if cfg!(any(target_os = "linux", target_os = "android")) {
    /// let shared = parallel::SharedSlice::from_slice(&[1u32, 2, 3]).unwrap();
    /// assert_eq!(&shared[..], &[1, 2, 3]);
    /// # }
    /// ```
    pub fn from_slice(items: &[T]) -> io::Result<Self> {
        // SAFETY: `T: SharedElement` has no padding, so every byte of `items` is initialized;
        // the bytes borrow `items` and are only read.
        let bytes =
            unsafe { std::slice::from_raw_parts(items.as_ptr().cast::<u8>(), size_of_val(items)) };
        let mapping = Arc::new(Mapping::create(bytes)?);
        Ok(SharedSlice::over(mapping, items.len()).expect("a mapping made for these items"))
    }

    /// [`from_slice`](SharedSlice::from_slice) for a vector (which it then drops).
    ///
    /// # Errors
    ///
    /// As [`from_slice`](SharedSlice::from_slice).
    ///
    /// # Examples
    ///
    /// ```
    /// # if cfg!(any(target_os = "linux", target_os = "android")) {
    /// let shared = parallel::SharedSlice::from_vec(vec![0.5f64; 1000]).unwrap();
    /// assert_eq!(shared.len(), 1000);
    /// # }
    /// ```
    pub fn from_vec(items: Vec<T>) -> io::Result<Self> {
        SharedSlice::from_slice(&items)
    }

    /// The handle's identity, unique in this process: clones share it.
    ///
    /// # Examples
    ///
    /// ```
    /// # if cfg!(any(target_os = "linux", target_os = "android")) {
    /// let a = parallel::SharedSlice::from_slice(&[1u8]).unwrap();
    /// let b = parallel::SharedSlice::from_slice(&[1u8]).unwrap();
    /// assert_eq!(a.id(), a.clone().id());
    /// assert_ne!(a.id(), b.id());
    /// # }
    /// ```
    pub fn id(&self) -> u64 {
        self.mapping.id
    }

    /// The mapping, for the runtime's tests.
    #[cfg(test)]
    pub(crate) fn mapping(&self) -> &Arc<Mapping> {
        &self.mapping
    }

    /// `len` elements over `mapping`, checked to fill it exactly and to be aligned.
    fn over(mapping: Arc<Mapping>, len: usize) -> Result<Self, String> {
        let size = size_of::<T>();
        if len.checked_mul(size) != Some(mapping.len) {
            return Err(format!(
                "`SharedSlice` {}: {len} elements of {size} bytes do not fill its {} bytes (the \
                 element type or length differs from the parent's)",
                mapping.id, mapping.len
            ));
        }
        if mapping.base.as_ptr() as usize % align_of::<T>() != 0 {
            return Err(format!(
                "`SharedSlice` {}: not aligned for its element type",
                mapping.id
            ));
        }
        Ok(SharedSlice {
            mapping,
            len,
            element: PhantomData,
        })
    }
}

impl<T: SharedElement> Deref for SharedSlice<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        // SAFETY: `over` checked that `base` is aligned for `T` and that `len` elements of `T`
        // take exactly the mapping's `len` bytes. The mapping (or, when empty, no memory at
        // all at a non-null aligned address) lives as long as `self.mapping`, which the
        // returned slice borrows through `self`. Its bytes never change: the file is sealed
        // against writes (`Mapping::create` seals it, `Mapping::open` checks the seals), and
        // every bit pattern is a valid `T` (`SharedElement`).
        unsafe { std::slice::from_raw_parts(self.mapping.base.as_ptr().cast::<T>(), self.len) }
    }
}

impl<T: SharedElement> AsRef<[T]> for SharedSlice<T> {
    fn as_ref(&self) -> &[T] {
        self
    }
}

impl<T: SharedElement> Clone for SharedSlice<T> {
    /// Another handle to the same array: a reference count, no copy.
    fn clone(&self) -> Self {
        SharedSlice {
            mapping: Arc::clone(&self.mapping),
            len: self.len,
            element: PhantomData,
        }
    }
}

impl<T: SharedElement> fmt::Debug for SharedSlice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedSlice")
            .field("id", &self.mapping.id)
            .field("len", &self.len)
            .field("element", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T: SharedElement> Serialize for SharedSlice<T> {
    /// `(id, len)`, and the array recorded for the request being encoded.
    ///
    /// # Errors
    ///
    /// Outside a process request, and for an array a worker received (it has no file to send).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.mapping.fd.is_none() {
            return Err(S::Error::custom(
                "a `SharedSlice` a worker received cannot be sent on: make a new one",
            ));
        }
        if !record(&self.mapping) {
            return Err(S::Error::custom(OUTSIDE_A_REQUEST));
        }
        (self.mapping.id, self.len as u64).serialize(serializer)
    }
}

impl<'de, T: SharedElement> Deserialize<'de> for SharedSlice<T> {
    /// Finds the array the parent sent this worker under the id read.
    ///
    /// # Errors
    ///
    /// An id this process did not receive (or could not map), or a length and element type that
    /// do not fill the array exactly.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (id, len) = <(u64, u64)>::deserialize(deserializer)?;
        let decoded = received(id).and_then(|mapping| {
            let len = usize::try_from(len).map_err(|_| "a length out of range".to_owned())?;
            SharedSlice::over(mapping, len)
        });
        decoded.map_err(|message| {
            // postcard keeps no message of its own: the worker asks for this one.
            DECODE_ERROR.with(|last| last.replace(Some(message.clone())));
            D::Error::custom(message)
        })
    }
}

thread_local! {
    /// Why the last handle that failed to decode on this thread failed.
    static DECODE_ERROR: Cell<Option<String>> = const { Cell::new(None) };
}

/// Why the last handle that failed to decode on this thread failed, if one did since the last
/// call: postcard reports every `Deserialize` error as the same message, without this one.
pub(crate) fn take_decode_error() -> Option<String> {
    DECODE_ERROR.with(Cell::take)
}

/// One shared file, mapped read-only into this process.
pub(crate) struct Mapping {
    /// In the parent, the identity of its handles; in a worker, the parent's identity.
    id: u64,
    /// The start of the mapping, page-aligned; when `len` is 0, a dangling address of `PAGE`.
    base: NonNull<u8>,
    /// The bytes mapped: the whole file.
    len: usize,
    /// The file, in the parent only (to send to workers); a worker closes it once mapped.
    fd: Option<OwnedFd>,
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
static LIVE: AtomicU64 = AtomicU64::new(0);

impl Mapping {
    /// Makes a sealed file holding `bytes` and maps it (the parent's side).
    fn create(bytes: &[u8]) -> io::Result<Mapping> {
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
    fn open(fd: OwnedFd, id: u64) -> io::Result<Mapping> {
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

// The parent's side: the arrays a request's arguments name.

thread_local! {
    /// Whether a collection is open on this thread ([`collecting`]).
    static OPEN: Cell<bool> = const { Cell::new(false) };
    /// How many arrays `COLLECTED` holds: read without touching it, which most encodings (of
    /// arguments that name no array) never do.
    static COUNT: Cell<usize> = const { Cell::new(0) };
    /// Where the innermost open collection starts in `COLLECTED`.
    static MARK: Cell<usize> = const { Cell::new(0) };
    /// The arrays encoded in the open collections of this thread, innermost last.
    static COLLECTED: RefCell<Vec<Arc<Mapping>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `encode`, adding to `into` the arrays that the handles it encodes name (each once).
/// Collections nest: an inner one takes only what was encoded while it was open. Everything is
/// restored after, even if `encode` panics.
///
/// This runs for every call's arguments: while no array is alive in this process it only loads
/// one counter; when they name no array it touches only `Cell`s without destructors.
#[inline]
pub(crate) fn collecting<R>(into: &mut Vec<Arc<Mapping>>, encode: impl FnOnce() -> R) -> R {
    struct Close<'a> {
        into: &'a mut Vec<Arc<Mapping>>,
        was_open: bool,
        mark: usize,
        outer_mark: usize,
    }
    impl Drop for Close<'_> {
        #[inline]
        fn drop(&mut self) {
            OPEN.set(self.was_open);
            MARK.set(self.outer_mark);
            if COUNT.get() != self.mark {
                self.take();
            }
        }
    }
    impl Close<'_> {
        #[cold]
        fn take(&mut self) {
            COLLECTED.with_borrow_mut(|collected| {
                for mapping in collected.drain(self.mark.min(collected.len())..) {
                    if !self.into.iter().rev().any(|held| held.id == mapping.id) {
                        self.into.push(mapping);
                    }
                }
                COUNT.set(collected.len());
            });
        }
    }
    // A handle reaches this thread through something that orders its creation before (a
    // channel, a join, a lock): a relaxed load sees it.
    if LIVE.load(Ordering::Relaxed) == 0 {
        return encode();
    }
    let mark = COUNT.get();
    let _close = Close {
        into,
        was_open: OPEN.replace(true),
        mark,
        outer_mark: MARK.replace(mark),
    };
    encode()
}

/// Records `mapping` in the open collection; `false` when none is open.
fn record(mapping: &Arc<Mapping>) -> bool {
    if !OPEN.get() {
        return false;
    }
    COLLECTED.with_borrow_mut(|collected| {
        // Repeats of one array in a row are common (a handle in every item); others are
        // removed when the collection closes.
        let repeat = collected.len() > MARK.get()
            && collected.last().is_some_and(|last| last.id == mapping.id);
        if !repeat {
            collected.push(Arc::clone(mapping));
        }
        COUNT.set(collected.len());
    });
    true
}

// The worker's side: the arrays received, by the parent's identity.

/// An array received, or why it could not be mapped.
type Received = Result<Arc<Mapping>, String>;

static RECEIVED: Mutex<Option<HashMap<u64, Received>>> = Mutex::new(None);

fn with_received<R>(f: impl FnOnce(&mut HashMap<u64, Received>) -> R) -> R {
    // Nothing panics under the lock: a poisoned one still holds a sound map.
    let mut received = RECEIVED.lock().unwrap_or_else(|e| e.into_inner());
    f(received.get_or_insert_with(HashMap::new))
}

/// Maps the files of arrays `ids` the parent sent (`fds`, in the same order). An id without a
/// file, or whose file is not a sealed `memfd` or does not map, is remembered with why: its
/// calls fail with that reason. Files beyond the ids are closed.
pub(crate) fn receive(ids: impl IntoIterator<Item = u64>, fds: Vec<OwnedFd>) {
    let mut fds = fds.into_iter();
    with_received(|received| {
        for id in ids {
            let array = match fds.next() {
                Some(fd) => Mapping::open(fd, id)
                    .map(Arc::new)
                    .map_err(|e| format!("`SharedSlice` {id} could not be mapped: {e}")),
                None => Err(format!("`SharedSlice` {id} arrived without its file")),
            };
            if received.len() < MAX_RECEIVED || received.contains_key(&id) {
                received.insert(id, array);
            }
        }
    });
}

/// Forgets arrays `ids`: the parent dropped them. Each is unmapped once no handle a task kept
/// holds it.
pub(crate) fn forget(ids: impl IntoIterator<Item = u64>) {
    let forgotten: Vec<Received> = with_received(|received| {
        ids.into_iter()
            .filter_map(|id| received.remove(&id))
            .collect()
    });
    // Unmapped outside the lock.
    drop(forgotten);
}

/// The array received under `id`.
fn received(id: u64) -> Result<Arc<Mapping>, String> {
    with_received(|received| match received.get(&id) {
        Some(Ok(mapping)) => Ok(Arc::clone(mapping)),
        Some(Err(why)) => Err(why.clone()),
        None => Err(format!(
            "no `SharedSlice` {id} here: a `SharedSlice` decodes only in a worker process of \
             the pool it was sent through"
        )),
    })
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod test {
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
}
