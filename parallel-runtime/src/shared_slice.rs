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
//! This file holds the handle (its `unsafe`: reading the mapping as `[T]`); `mapping`, the
//! sealed file and its mapping; `collect`, the parent's side; `received`, the worker's.

#![allow(unsafe_code)]

mod collect;
mod mapping;
mod received;

pub(crate) use collect::collecting;
use collect::record;
pub(crate) use mapping::Mapping;
use received::received;
pub(crate) use received::{forget, receive};

use std::cell::Cell;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
        if !(mapping.base.as_ptr() as usize).is_multiple_of(align_of::<T>()) {
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

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod test;
