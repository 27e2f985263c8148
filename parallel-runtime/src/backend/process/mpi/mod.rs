//! The ranks of an MPI job as workers (feature `mpi`).
//!
//! Rank 0 runs `main`; every other rank is a worker that serves requests, the same run frames
//! the process backend sends to its worker processes, carried by MPI messages instead of a
//! socket (`transport::mpi`). The files:
//!
//! - `launch`: where this process sits in an MPI job, read before `main` from what the launcher
//!   (`mpirun`, `srun`) or `MPI_Comm_spawn` left in its environment and arguments;
//! - `serve`: a serving rank's loop, entered before `main`, which it never reaches;
//! - `crash`: what a serving rank says on stderr when a task kills it;
//! - `spawn`: worker ranks for a program started alone, spawned by rank 0;
//! - `watch`: how rank 0 learns that a rank it spawned died;
//! - `poll`: how rank 0 waits on MPI (it polls, then naps);
//! - `parts`: requests whose large byte strings travel as messages of their own;
//! - `world`: rank 0's side: MPI started (or worker ranks spawned), ranks lent to drivers,
//!   messages to and from them, and MPI finished when the program exits.
//!
//! Messages (tag, then body; a body is a frame without its length prefix, which MPI carries):
//!
//! ```text
//! run     = TAG_RUN,     a run frame                      rank 0 -> worker rank
//! reply   = TAG_REPLY,   a done or refused frame          worker rank -> rank 0
//! run'    = TAG_RUN_ISOLATED, timeout:u64le retries:u32le  rank 0 -> worker rank: run it in
//!             and a run frame                               a worker process of the rank's own
//!                                                           (timeout in ns, 0 for none)
//! run*    = TAG_RUN_PARTS, a run or run' without its      rank 0 -> worker rank: a request
//!             large byte strings, then TAG_PART each     whose large byte strings cross from
//!                                                           their own memory (`parts`)
//! hello   = TAG_HELLO, pid:u32le host                     spawned worker rank -> rank 0, first
//! stop    = TAG_STOP,    empty                            rank 0 -> worker rank, at exit
//! stopped = TAG_STOPPED, empty                            worker rank -> rank 0, its last
//! ```

mod crash;
pub(super) mod launch;
pub(super) mod parts;
mod poll;
pub(super) mod serve;
mod spawn;
mod watch;
pub(super) mod world;

/// A request for a worker rank.
pub(super) const TAG_RUN: i32 = 1;
/// A worker rank's reply to the oldest request it has not answered.
const TAG_REPLY: i32 = 2;
/// Rank 0 is exiting: the worker rank answers with [`TAG_STOPPED`], finalizes MPI and exits.
const TAG_STOP: i32 = 3;
/// A worker rank's last message.
const TAG_STOPPED: i32 = 4;
/// A request for a worker rank, to run in a worker process of its own.
pub(super) const TAG_RUN_ISOLATED: i32 = 5;
/// A request without its large byte strings, which follow it, each as a message of its own
/// ([`TAG_PART`]).
pub(super) const TAG_RUN_PARTS: i32 = 6;
/// One large byte string of the request before it.
pub(super) const TAG_PART: i32 = 7;
/// A spawned worker rank's first message: its process id and host (`watch`).
const TAG_HELLO: i32 = 8;
/// Bytes before the run frame of an isolated request: the timeout and the retries.
pub(super) const ISOLATED_HEADER: usize = 8 + 4;
