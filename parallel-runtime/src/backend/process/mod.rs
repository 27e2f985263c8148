//! Worker processes: isolation, killable timeouts, and a pool that survives its workers.
//!
//! The parent keeps one driver thread per worker. A driver takes a request (a batch of calls of
//! one `#[parallel]` function) from the pool's queue, sends it to the worker (through rings in
//! shared memory, or its private socket) and waits for the reply. When the worker dies instead, the driver reads its exit status and
//! the page it shares with the worker, which says which call was running; that call fails alone,
//! and the others run on a new worker (`driver` says exactly how each failure is answered).
//!
//! The files, from the public API down:
//!
//! - `pool`: [`ProcessPool`], its builder and `spawn`; `map`: the map iterators;
//! - `request`: calls gathered and encoded into one request; `reply`: where results go;
//!   `results`: decoding a request's results;
//! - `queue`: the requests waiting for a driver; `driver`: the state machine of one driver
//!   thread; `transport`: how a driver talks to its worker (the seam), `transport::socket`, a
//!   worker process and a private socket pair to it, and `transport::shared_memory`, the same
//!   with frames in shared rings;
//! - `channel`: one side of the shared rings and their doorbell (the parent's and the worker's);
//! - `protocol`: the frames; `claim`: the page shared with each worker;
//!   `serde_message`: the message of a failed `Serialize`; `registry`: the link-time table of
//!   `#[parallel]` functions; `worker`: the child's side;
//! - `mpi` (feature `mpi`): the ranks of an MPI job as workers, and `transport::mpi`, the
//!   transport to them.
//!
//! `SharedSlice`s (`crate::shared_slice`) ride along: a request records the arrays its
//! arguments name, and before sending it the driver asks the transport to `attach` them, which
//! sends the worker the files of those it does not hold yet (an attach frame, its files passed
//! on the socket) and the ids of those the parent dropped.

mod channel;
mod claim;
mod driver;
#[cfg(feature = "mpi")]
mod forward;
mod map;
#[cfg(feature = "mpi")]
mod mpi;
mod pool;
mod protocol;
mod queue;
pub mod registry;
mod reply;
mod request;
mod results;
mod serde_message;
mod transport;
mod worker;

pub use map::{ProcessMap, ProcessMapUnordered};
#[cfg(feature = "mpi")]
pub(crate) use mpi::world::{send_raw as mpi_send_raw, world as mpi_world};
pub use pool::{ProcessFn, ProcessPool, ProcessPoolBuilder};
