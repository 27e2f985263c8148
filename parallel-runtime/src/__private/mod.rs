//! Called only by code that `parallel-macros` generates. Not a public API: it changes without
//! notice.

use std::num::NonZeroUsize;
use std::time::Duration;

mod collect;
mod par_for;
mod par_join;
mod par_map;
mod par_map_process;
mod pick;
mod place;
mod proof;
mod reduce;

pub use linkme;
pub use rayon;

pub use self::collect::{Collector, PlainCollect, ResultCollect, ViaPlain, ViaResult};
pub use self::par_for::par_for;
pub use self::par_join::{Spawn, process_spawn, raise_first};
pub use self::par_map::map;
pub use self::par_map_process::{
    LocalRoute, NoSpread, PickSpread, ProcessRoute, Route, SpreadProcessRoute, ViaLocal,
    ViaProcess, ViaProcessSpread, pick_spread, route_of,
};
pub use self::pick::{
    IndexedInput, IterInput, MapCall, UnindexedInput, ViaIndexed, ViaIter, ViaUnindexed, bind,
};
pub use self::place::{
    ExtendPlace, Extended, NoPlace, Place, Sink, VecPlace, ViaExtendPlace, ViaVecPlace,
};
pub use self::proof::{
    BorrowingTask, ConcreteTask, Crosses, GenericTask, IsTask, NotSerde, NotTask, OwningTask,
    ParallelTask, Serde, ViaNotSerde, ViaSerdeData, item_type, output_type, spawn_output_type,
};
pub use self::reduce::{
    LoopExit, LoopStep, Segments, Tried, awaited, extend_segments, fold_option, merge_option,
    merge_segments, none, segments, tried, zero,
};
pub use crate::backend::process::registry;
pub use crate::backend::scoped::threads_join;
pub use crate::config::{Backend, Options, Workers};
pub use crate::plan::{Plan, plan, process_pool, process_pools_for_join};
pub use crate::progress::{Ticker, ticker};
pub use crate::type_of::{TypeOf, type_of};

/// `backend = mpi` in a macro's options: the backend, with the `mpi` feature.
#[cfg(all(unix, feature = "mpi"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __parallel_mpi_backend {
    () => {
        $crate::__private::Backend::Mpi
    };
}

/// `backend = mpi` in a macro's options, without the `mpi` feature: one error that says what
/// to do.
#[cfg(not(all(unix, feature = "mpi")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __parallel_mpi_backend {
    () => {
        ::core::compile_error!(
            "`backend = mpi` needs the `mpi` feature of `parallel`: write `parallel = { version = \"…\", features = [\"mpi\"] }` in Cargo.toml (building it needs an MPI library, such as Open MPI, and libclang)"
        )
    };
}

pub use crate::__parallel_mpi_backend as mpi_backend;

/// Fault injection for the MPI tests: sends worker rank `worker` (0 for the first) a message
/// with `tag` and `body`, as no part of the runtime would. Starts MPI as `MpiPool` does.
#[cfg(all(unix, feature = "mpi"))]
#[doc(hidden)]
pub fn mpi_send_raw(worker: usize, tag: i32, body: &[u8]) -> bool {
    crate::backend::process::mpi_send_raw(worker, tag, body)
}

/// The `TypeId` of a function item, for the registry.
pub fn type_id_of<F: 'static>(_: &F) -> std::any::TypeId {
    std::any::TypeId::of::<F>()
}

/// The receiver of the `#[parallel]` defaults probe: `#[parallel] fn f` implements a hidden trait
/// named `f` for `Probe`, whose method returns `f`'s options. Where no such trait is in scope,
/// a fallback declared by the macro answers instead.
#[derive(Clone, Copy, Debug)]
pub struct Probe;

/// A count of workers from an option's expression, such as `workers = n`.
pub trait IntoWorkers {
    /// The count; negative counts are relative to the cores.
    fn into_workers(self) -> i64;
}

macro_rules! into_workers {
    ($($t:ty),*) => {$(
        impl IntoWorkers for $t {
            #[allow(clippy::cast_possible_wrap, clippy::cast_lossless)]
            fn into_workers(self) -> i64 {
                i64::try_from(self).unwrap_or(i64::MAX)
            }
        }
    )*};
}
into_workers!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl IntoWorkers for NonZeroUsize {
    fn into_workers(self) -> i64 {
        self.get().into_workers()
    }
}

/// `workers = <expr>`.
///
/// # Panics
///
/// On zero, naming the option.
#[track_caller]
pub fn workers(n: impl IntoWorkers) -> Workers {
    match Workers::new(n.into_workers()) {
        Ok(workers) => workers,
        Err(e) => panic!("{}", e.in_setting("`workers`")),
    }
}

/// `chunk = <expr>`.
///
/// # Panics
///
/// On zero, naming the option.
#[track_caller]
pub fn chunk(n: usize) -> NonZeroUsize {
    match NonZeroUsize::new(n) {
        Some(chunk) => chunk,
        None => panic!("invalid `chunk` 0: expected at least 1 item"),
    }
}

/// The runtime options of one call, from the options written after `;` or in `#[parallel(...)]`.
pub fn options(
    backend: Option<Backend>,
    workers: Option<Workers>,
    chunk: Option<NonZeroUsize>,
    progress: Option<bool>,
    timeout: Option<Duration>,
    retries: Option<u32>,
) -> Options {
    Options {
        backend,
        workers,
        chunk,
        progress,
        timeout,
        retries,
    }
}
