//! Rank 0's side of an MPI job: MPI started, the worker ranks lent to drivers, messages to and
//! from them, and MPI finished when the program exits.
//!
//! MPI starts on first use, on a thread of its own that initializes it with
//! `MPI_THREAD_MULTIPLE` (each driver thread then talks to its rank directly) and later
//! finalizes it, since MPI wants both on one thread. In a job that a launcher started with more
//! than one rank, ranks 1.. are the workers. Started alone, rank 0 spawns its workers
//! (`MPI_Comm_spawn`, in `spawn`), and they serve it through the intercommunicator.
//!
//! At exit (an `atexit` handler, so `main` needs no line), rank 0 closes the gate every MPI call
//! goes through, tells each worker rank to stop, reads what they still send until each says it
//! stopped, and finalizes MPI. A rank still running a task at exit is waited for up to
//! [`STOP_GRACE`]; then the job is aborted, with a message.

use std::sync::mpsc;
use std::sync::{Condvar, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use mpi::Tag;
use mpi::point_to_point::{Message, Status};
use mpi::topology::{Communicator, InterCommunicator, Process, Rank, SimpleCommunicator};
use mpi::traits::{AsRaw, Destination, Equivalence, Source};

use super::watch::Watch;
use super::{TAG_PART, TAG_REPLY, TAG_RUN_PARTS, TAG_STOP, TAG_STOPPED, poll, spawn};
use crate::backend::process::protocol::{FrameBuffer, Part};

/// How long a worker rank still running a task at exit is waited for before the job is aborted.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// The communicator to the worker ranks.
enum Comm {
    /// A launched job's world: the workers are ranks 1 ..= n.
    World(SimpleCommunicator),
    /// Ranks this process spawned: the workers are ranks 0 .. n of the remote group.
    Spawned(InterCommunicator),
}

impl Comm {
    fn process(&self, rank: Rank) -> Process<'_> {
        match self {
            Comm::World(world) => world.process_at_rank(rank),
            Comm::Spawned(children) => children.process_at_rank(rank),
        }
    }

    /// Disconnects from spawned ranks (which do the same as they finalize); nothing for a
    /// launched job's world. The communicator is not used again.
    #[allow(unsafe_code)]
    fn disconnect(&self) {
        if let Comm::Spawned(children) = self {
            let mut handle = children.as_raw();
            // SAFETY: `handle` is the live intercommunicator to the spawned ranks, used by
            // nothing after this (the gate is closed, and the `World` is never dropped, so its
            // own copy of the handle is never disconnected again).
            unsafe {
                mpi::ffi::MPI_Comm_disconnect(&mut handle);
            }
        }
    }

    fn abort(&self, code: i32) -> ! {
        match self {
            Comm::World(world) => world.abort(code),
            Comm::Spawned(children) => children.abort(code),
        }
    }
}

// SAFETY: a `Comm` exists only once MPI runs with `MPI_THREAD_MULTIPLE` (`start` makes none
// otherwise): any thread may then call MPI at any time, with communicator handles that the
// library synchronizes. The handle is never freed while the `Comm` lives (in the `World`,
// until the process ends).
#[allow(unsafe_code)]
unsafe impl Send for Comm {}
// SAFETY: as above.
#[allow(unsafe_code)]
unsafe impl Sync for Comm {}

/// One worker rank, while no driver holds it.
pub(crate) struct Lent {
    pub(crate) rank: Rank,
    /// The number of the last request sent to it.
    pub(crate) last_seq: u32,
    /// Replies still to come to requests a driver gave up on (timed out): read and dropped
    /// before the next driver uses the rank.
    pub(crate) stale: u32,
}

/// Rank 0's MPI state.
pub(crate) struct World {
    comm: Comm,
    /// Whether worker ranks run tasks in worker processes of their own.
    isolated: bool,
    /// Open until exit: every MPI call holds it for reading, the exit for writing.
    gate: RwLock<bool>,
    free: Mutex<Vec<Lent>>,
    returned: Condvar,
    ranks: Vec<Rank>,
    /// The ranks this process spawned, by rank, to end the program if one dies; none in a
    /// launched job.
    watches: Vec<Watch>,
    /// Tells the MPI thread to finalize; it answers once done.
    finish: Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>,
}

static WORLD: OnceLock<Result<World, String>> = OnceLock::new();

/// The MPI world, started on first use: in a launched job, its ranks but 0; otherwise
/// `spawn` new ranks running this executable.
///
/// # Errors
///
/// Why MPI cannot give this process workers (it says what to do instead).
pub(crate) fn world(spawn: usize, isolated: bool) -> Result<&'static World, String> {
    WORLD
        .get_or_init(|| start(spawn, isolated))
        .as_ref()
        .map_err(Clone::clone)
}

/// Sends worker rank `worker` (0 for the first) a message with `tag` and `body` that no part
/// of the runtime would: fault injection for tests. `false` if MPI does not start or there is
/// no such rank.
pub(crate) fn send_raw(worker: usize, tag: Tag, body: &[u8]) -> bool {
    let Ok(world) = world(crate::config::available_cores(), false) else {
        return false;
    };
    world
        .ranks
        .get(worker)
        .is_some_and(|&rank| world.send(rank, body, tag))
}

/// The MPI world, if it started.
pub(crate) fn started() -> Option<&'static World> {
    WORLD.get()?.as_ref().ok()
}

fn start(spawn: usize, isolated: bool) -> Result<World, String> {
    let (started, receive_started) = mpsc::channel();
    let (finish, receive_finish) = mpsc::channel::<()>();
    let (finished, receive_finished) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("parallel-mpi".to_owned())
        .spawn(move || {
            let Some((universe, threading)) =
                mpi::initialize_with_threading(mpi::Threading::Multiple)
            else {
                let _ = started.send(Err(
                    "MPI is initialized already, by something else in this program".to_owned(),
                ));
                return;
            };
            if threading != mpi::Threading::Multiple {
                let _ = started.send(Err(format!(
                    "this MPI library offers threads only {threading:?}; the MPI backend needs \
                     MPI_THREAD_MULTIPLE"
                )));
                return;
            }
            let world = universe.world();
            let comm = if world.size() > 1 {
                if world.rank() != 0 {
                    Err(format!(
                        "rank {} of the job reached `main`; only rank 0 runs it",
                        world.rank()
                    ))
                } else {
                    let ranks: Vec<Rank> = (1..world.size()).collect();
                    // The launcher watches them.
                    Ok((Comm::World(world), ranks, Vec::new()))
                }
            } else {
                spawn::workers(spawn)
                    .map(|(children, ranks, watches)| (Comm::Spawned(children), ranks, watches))
            };
            let failed = comm.is_err();
            let _ = started.send(comm);
            if !failed {
                // Until the program exits.
                let _ = receive_finish.recv();
            }
            drop(universe);
            let _ = finished.send(());
        })
        .map_err(|e| format!("cannot start the MPI thread: {e}"))?;
    let (comm, ranks, watches) = receive_started
        .recv()
        .map_err(|_| "the MPI thread ended before MPI started".to_owned())??;
    let free = ranks
        .iter()
        .rev()
        .map(|&rank| Lent {
            rank,
            last_seq: 0,
            stale: 0,
        })
        .collect();
    let world = World {
        comm,
        isolated,
        gate: RwLock::new(true),
        free: Mutex::new(free),
        returned: Condvar::new(),
        ranks,
        watches,
        finish: Mutex::new(Some((finish, receive_finished))),
    };
    at_exit();
    Ok(world)
}

/// Registers [`World::exit`] to run when the program exits.
#[allow(unsafe_code)]
fn at_exit() {
    extern "C" fn finalize() {
        if let Some(Ok(world)) = WORLD.get() {
            world.exit();
        }
    }
    // SAFETY: `finalize` is a C-ABI function of no arguments that does not unwind (`exit`
    // catches nothing, and panics nowhere: it only logs and aborts on failure).
    unsafe {
        libc::atexit(finalize);
    }
}

impl World {
    /// The worker ranks.
    pub(crate) fn workers(&self) -> usize {
        self.ranks.len()
    }

    /// Whether worker ranks run tasks in worker processes of their own.
    pub(crate) fn isolated(&self) -> bool {
        self.isolated
    }

    /// Takes a free worker rank, waiting for one; `None` once the program exits.
    pub(crate) fn lend(&self) -> Option<Lent> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if !self.is_open() {
                return None;
            }
            if let Some(lent) = free.pop() {
                return Some(lent);
            }
            free = self.returned.wait(free).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Gives a worker rank back.
    pub(crate) fn give_back(&self, lent: Lent) {
        self.free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(lent);
        self.returned.notify_one();
    }

    fn is_open(&self) -> bool {
        *self.gate.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `body` (a frame without its length prefix) to `rank`; `false` once the program
    /// exits.
    ///
    /// A large frame waits for the rank to take it (MPI's rendezvous). Sent with
    /// `MPI_Isend` and waited for as a reply is ([`poll::wait_for`]: polling that yields the core,
    /// then sleeps), rather than with `MPI_Send`, which spins without yielding: the rank
    /// copying the frame needs that core.
    pub(crate) fn send(&self, rank: Rank, body: &[u8], tag: Tag) -> bool {
        self.send_all(rank, [(body, tag)])
    }

    /// Sends `head` (a request without its parts, [`super::parts::head`]) to `rank`, then each of
    /// `parts` from its own memory; `false` once the program exits. Nothing else reaches the
    /// rank in between: its driver holds it, and the exit waits.
    pub(crate) fn send_parts(&self, rank: Rank, head: &[u8], parts: &[Part]) -> bool {
        self.send_all(
            rank,
            std::iter::once((head, TAG_RUN_PARTS))
                .chain(parts.iter().map(|part| (&part.bytes[..], TAG_PART))),
        )
    }

    /// Sends each message (body, tag) in turn to `rank`, as [`World::send`] does; `false` once
    /// the program exits.
    fn send_all<'a>(
        &self,
        rank: Rank,
        messages: impl IntoIterator<Item = (&'a [u8], Tag)>,
    ) -> bool {
        let open = self.gate.read().unwrap_or_else(|e| e.into_inner());
        if !*open {
            return false;
        }
        for (body, tag) in messages {
            mpi::request::scope(|scope| {
                let mut pending = Some(
                    self.comm
                        .process(rank)
                        .immediate_send_with_tag(scope, body, tag),
                );
                // Never `Err`: the gate stays open while this holds it.
                let _ = poll::wait_for(
                    None,
                    true,
                    || match pending.take().map(|request| request.test()) {
                        Some(Err(request)) => {
                            pending = Some(request);
                            Ok(false)
                        }
                        _ => Ok(true),
                    },
                    || self.check_alive(rank),
                );
            });
        }
        true
    }

    /// Reads the next reply of `rank` into `buffer`, if one has come: `Ok(false)` if none has,
    /// `Err(())` once the program exits.
    pub(crate) fn try_receive(&self, rank: Rank, buffer: &mut FrameBuffer) -> Result<bool, ()> {
        let open = self.gate.read().unwrap_or_else(|e| e.into_inner());
        if !*open {
            return Err(());
        }
        match self
            .comm
            .process(rank)
            .immediate_matched_probe_with_tag(TAG_REPLY)
        {
            Some((message, status)) => {
                receive_into(message, &status, buffer);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Whether a reply of `rank` has come; `Err` once the program exits.
    fn has_reply(&self, rank: Rank) -> Result<bool, ()> {
        let open = self.gate.read().unwrap_or_else(|e| e.into_inner());
        if !*open {
            return Err(());
        }
        Ok(self
            .comm
            .process(rank)
            .immediate_probe_with_tag(TAG_REPLY)
            .is_some())
    }

    /// Reads the next reply of `rank` into `buffer`, waiting for it until `deadline`:
    /// `Ok(false)` if the deadline passed, `Err` once the program exits.
    pub(crate) fn receive(
        &self,
        rank: Rank,
        deadline: Option<Instant>,
        poll: bool,
        buffer: &mut FrameBuffer,
    ) -> Result<bool, ()> {
        poll::wait_for(
            deadline,
            poll,
            || self.try_receive(rank, buffer),
            || self.check_alive(rank),
        )
    }

    /// Waits until a reply of `rank` has come or `deadline` passes; whether one has (`true`
    /// once the program exits, for the read to find out).
    pub(crate) fn wait_reply(&self, rank: Rank, deadline: Option<Instant>, poll: bool) -> bool {
        poll::wait_for(
            deadline,
            poll,
            || self.has_reply(rank),
            || self.check_alive(rank),
        )
        .unwrap_or(true)
    }

    /// Ends the program if `rank` is a rank it spawned that died (see `watch`).
    fn check_alive(&self, rank: Rank) {
        // Not once the program exits (or while it does): the ranks then stop, as told.
        if !self.gate.try_read().is_ok_and(|open| *open) {
            return;
        }
        if let Some(watch) = usize::try_from(rank)
            .ok()
            .and_then(|at| self.watches.get(at))
            && watch.died()
        {
            watch.end_program(rank);
        }
    }

    /// At exit: stops every worker rank and finalizes MPI.
    fn exit(&self) {
        let mut open = self.gate.write().unwrap_or_else(|e| e.into_inner());
        if !*open {
            return;
        }
        *open = false;
        self.returned.notify_all();
        for &rank in &self.ranks {
            self.comm
                .process(rank)
                .send_with_tag(&[0u8; 0][..], TAG_STOP);
        }
        let deadline = Instant::now() + STOP_GRACE;
        let mut buffer = FrameBuffer::default();
        for &rank in &self.ranks {
            loop {
                let process = self.comm.process(rank);
                match process.immediate_matched_probe() {
                    Some((message, status)) => {
                        receive_into(message, &status, &mut buffer);
                        if status.tag() == TAG_STOPPED {
                            break;
                        }
                    }
                    None if Instant::now() > deadline => {
                        eprintln!(
                            "parallel: MPI rank {rank} still runs a task {} s after the program \
                             ended; aborting the MPI job",
                            STOP_GRACE.as_secs()
                        );
                        self.comm.abort(1);
                    }
                    None => std::thread::sleep(poll::FIRST_NAP),
                }
            }
        }
        self.comm.disconnect();
        drop(open);
        let finish = self.finish.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((finish, finished)) = finish {
            let _ = finish.send(());
            let _ = finished.recv();
        }
    }
}

/// Receives the probed `message` into `buffer`.
fn receive_into(message: Message, status: &Status, buffer: &mut FrameBuffer) {
    let len = usize::try_from(status.count(u8::equivalent_datatype())).unwrap_or(0);
    message.matched_receive_into(buffer.fill(len));
}
