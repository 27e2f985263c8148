//! WorkerHandle processes: isolation, killable timeouts, and a pool that survives its workers.
//!
//! The parent keeps one driver thread per worker. A driver takes a request (a batch of calls of
//! one `#[parallel]` function) from the pool's queue, sends it over the worker's private socket
//! and waits for the reply. When the worker dies instead, the driver reads its exit status, starts
//! a new worker, and reports the failure for that call only; a batch that loses its worker is
//! split and re-run one call at a time, so that only the call that kills its worker fails.
//!
//! The files, from the public API down:
//!
//! - `pool`: [`ProcessPool`], its builder and `spawn`; `map`: the map iterators;
//! - `request`: calls gathered and encoded into one request; `reply`: where results go;
//!   `results`: decoding a request's results;
//! - `driver`: the state machine of one driver thread; `handle`: the parent's end of one worker;
//! - `protocol`: the frames on the socket; `registry`: the link-time table of `#[parallel]`
//!   functions; `worker`: the child's side.

mod claim;
mod driver;
mod handle;
mod map;
mod pool;
mod protocol;
mod queue;
pub mod registry;
mod reply;
mod request;
mod results;
mod serde_message;
mod worker;

pub use map::{ProcessMap, ProcessMapUnordered};
pub use pool::{ProcessFn, ProcessPool, ProcessPoolBuilder};
