//! A serving rank: every rank but 0 of a launched job, and every rank that rank 0 spawned.
//!
//! Entered before `main` (from the worker entry, `worker::entry`) and never returns: it starts
//! MPI, serves rank 0's requests in order until told to stop, finishes MPI and exits, so a
//! serving rank never runs the user's `main` or a test harness. Requests run exactly as in a
//! worker process (`worker::run_request`): a task that panics or fails its (de)serialization
//! fails alone and the rank serves on. A panic outside a task is a bug of the runtime: the rank
//! says so and aborts the MPI job rather than leave rank 0 waiting (an unwinding panic through
//! `MPI_Finalize` would hang every rank).
//!
//! While idle, a rank polls for the next message for [`POLL_FOR`], then sleeps between polls,
//! longer and longer up to [`MAX_NAP`]: ranks left idle leave the cores to the ones that work.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::exit;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mpi::environment::Universe;
use mpi::point_to_point::{Message, Status};
use mpi::topology::{Communicator, Process};
use mpi::traits::{Destination, Equivalence, Source};

use super::launch::{self, Place};
use super::parts::{Head, PartSource};
use super::watch;
use super::{
    ISOLATED_HEADER, TAG_HELLO, TAG_PART, TAG_REPLY, TAG_RUN, TAG_RUN_ISOLATED, TAG_RUN_PARTS,
    TAG_STOP, TAG_STOPPED, crash,
};
use crate::backend::process::ProcessPool;
use crate::backend::process::forward;
use crate::backend::process::protocol::{self, FrameBuffer, ToWorker};
use crate::backend::process::registry;
use crate::backend::process::worker::{QUIET_PANICS_VAR, panics, run_request};
use crate::error::panic_message;

/// The exit code of an MPI job that a serving rank aborts.
const EXIT_ABORTED: i32 = 104;
/// How long a rank polls for its next request before it sleeps between polls: requests of a
/// busy program come back to back, and a sleeping rank answers up to [`MAX_NAP`] late.
const POLL_FOR: Duration = Duration::from_millis(2);
/// The first sleep of an idle rank between two polls; each next one is twice as long.
const FIRST_NAP: Duration = Duration::from_micros(20);
/// The longest sleep of an idle rank between two polls: the delay a request to a rank that has
/// been idle for a while may see.
const MAX_NAP: Duration = Duration::from_millis(1);

/// Serves requests if this process is a serving rank of an MPI job; returns at once otherwise.
pub(crate) fn enter() {
    match launch::place() {
        Place::Spawned => {
            let universe = initialize();
            let world = universe.world();
            let Some(parent) = world.parent() else {
                die(&format!(
                    "started with `{}` by something other than an MPI program's spawn",
                    launch::MPI_WORKER_ARG
                ))
            };
            // For rank 0 to watch this rank (`watch`).
            parent
                .process_at_rank(0)
                .send_with_tag(&watch::hello()[..], TAG_HELLO);
            serve(&parent, world.rank(), universe)
        }
        Place::Serving(_) => {
            let universe = initialize();
            let world = universe.world();
            serve(&world, world.rank(), universe)
        }
        Place::Main => {}
    }
}

fn initialize() -> Universe {
    match mpi::initialize_with_threading(mpi::Threading::Single) {
        Some((universe, _)) => universe,
        None => die("MPI is initialized already"),
    }
}

fn serve<C: Communicator>(comm: &C, rank: i32, universe: Universe) -> ! {
    // As in a worker process; the launcher passes the environment on.
    panics::install(std::env::var_os(QUIET_PANICS_VAR).is_some());
    crash::install();
    let root = comm.process_at_rank(0);
    match catch_unwind(AssertUnwindSafe(|| serve_requests(&root, rank))) {
        Ok(()) => {
            crash::outside_tasks(rank, "finalized MPI");
            finalize(comm, universe);
            exit(0)
        }
        Err(payload) => {
            let _ = writeln!(
                std::io::stderr(),
                "parallel: MPI rank {rank} fails outside a task ({}); aborting the MPI job",
                panic_message(&*payload)
            );
            comm.abort(EXIT_ABORTED)
        }
    }
}

/// Disconnects from a spawning parent (which does the same), and finalizes MPI with rank 0
/// and every other rank.
#[allow(unsafe_code)]
fn finalize<C: Communicator>(comm: &C, universe: Universe) {
    if comm.test_inter() {
        let mut handle = comm.as_raw();
        // SAFETY: `handle` is the live intercommunicator to the parent, not used after this;
        // `universe` is forgotten below, so rsmpi does not disconnect it a second time.
        unsafe {
            mpi::ffi::MPI_Comm_disconnect(&mut handle);
        }
        std::mem::forget(universe);
        // SAFETY: every MPI call of this process is done; this is its last.
        unsafe {
            mpi::ffi::MPI_Finalize();
        }
    } else {
        drop(universe);
    }
}

/// Serves until rank 0 says stop. Panics on a message that breaks the protocol.
fn serve_requests(root: &Process<'_>, rank: i32) {
    let mut input = FrameBuffer::default();
    // A request with parts, put back together.
    let mut assembled = FrameBuffer::default();
    let mut output = Vec::new();
    loop {
        let (message, status) = next_message(root);
        let len = usize::try_from(status.count(u8::equivalent_datatype())).unwrap_or(0);
        message.matched_receive_into(input.fill(len));
        let (tag, body) = match status.tag() {
            TAG_RUN_PARTS => {
                let head = Head::parse(input.frame()).unwrap_or_else(|malformed| {
                    panic!(
                        "rank 0 sent a request with parts that breaks the protocol: {}",
                        malformed.0
                    )
                });
                let mut parts = Parts { root, next: None };
                if let Err(malformed) = head.assemble(&mut parts, &mut assembled) {
                    // The part announced and not read: rsmpi asserts that a matched message is
                    // read before it is dropped, and a second panic would abort the rank
                    // before it says why. The job ends just after.
                    std::mem::forget(parts.next.take());
                    panic!(
                        "rank 0 sent a part that breaks the protocol: {}",
                        malformed.0
                    );
                }
                (head.tag, assembled.frame())
            }
            tag => (tag, input.frame()),
        };
        match tag {
            TAG_RUN => {}
            TAG_RUN_ISOLATED => {
                let reply = run_isolated(body);
                root.send_with_tag(&reply[4..], TAG_REPLY);
                continue;
            }
            TAG_STOP => {
                root.send_with_tag(&[0u8; 0][..], TAG_STOPPED);
                return;
            }
            tag => panic!("rank 0 sent a message with tag {tag}"),
        }
        let run = match protocol::decode_to_worker(body) {
            Ok(ToWorker::Run(run)) => run,
            Ok(_) => panic!("rank 0 sent a frame other than a run"),
            Err(malformed) => panic!("rank 0 sent a malformed frame: {malformed}"),
        };
        if let Some(entry) = registry::by_id(run.task_id) {
            crash::running(rank, entry.name);
        }
        let reply = run_request(&run, std::mem::take(&mut output), None);
        // What tasks printed goes to the launcher before their results reach rank 0.
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        // The frame without its length prefix: MPI carries the length.
        root.send_with_tag(&reply[4..], TAG_REPLY);
        output = reply;
    }
}

/// The parts of a request, as they come from rank 0.
struct Parts<'a, 'b> {
    root: &'a Process<'b>,
    /// The part announced, to be read.
    next: Option<Message>,
}

impl PartSource for Parts<'_, '_> {
    fn next_len(&mut self) -> usize {
        let (message, status) = self.root.matched_probe_with_tag(TAG_PART);
        self.next = Some(message);
        usize::try_from(status.count(u8::equivalent_datatype())).unwrap_or(usize::MAX)
    }

    fn receive(&mut self, into: &mut [u8]) {
        let message = self.next.take().expect("`next_len` announced a part");
        message.matched_receive_into(into);
    }
}

/// Runs an isolated request (its header, then its run frame) in this rank's worker process,
/// which the process backend starts on first use and replaces when a task kills it; returns
/// the reply frame.
fn run_isolated(message: &[u8]) -> Vec<u8> {
    static POOL: OnceLock<ProcessPool> = OnceLock::new();
    let Some((header, frame)) = message.split_at_checked(ISOLATED_HEADER) else {
        panic!("rank 0 sent an isolated request without its header");
    };
    let (timeout, retries) = header.split_at(8);
    let timeout = u64::from_le_bytes(timeout.try_into().expect("8 bytes"));
    let retries = u32::from_le_bytes(retries.try_into().expect("4 bytes"));
    let timeout = (timeout > 0).then(|| Duration::from_nanos(timeout));
    let pool = POOL.get_or_init(|| {
        ProcessPool::builder()
            .workers(1)
            .quiet_panics(std::env::var_os(QUIET_PANICS_VAR).is_some())
            .build()
            .unwrap_or_else(|e| panic!("cannot start the rank's worker process: {e}"))
    });
    forward::run_frame(pool, frame, timeout, retries)
}

/// Waits for the next message from rank 0: polls (yielding the core between polls) for up to
/// [`POLL_FOR`], as MPI ranks do, then sleeps between polls.
fn next_message(root: &Process<'_>) -> (Message, Status) {
    let start = Instant::now();
    while start.elapsed() < POLL_FOR {
        if let Some(found) = root.immediate_matched_probe() {
            return found;
        }
        std::thread::yield_now();
    }
    let mut nap = FIRST_NAP;
    loop {
        if let Some(found) = root.immediate_matched_probe() {
            return found;
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(MAX_NAP);
    }
}

/// Says why on stderr and exits: a rank that cannot serve.
fn die(why: &str) -> ! {
    let _ = writeln!(
        std::io::stderr(),
        "parallel: MPI worker process {} exits: {why}",
        std::process::id()
    );
    exit(crate::backend::process::worker::EXIT_SETUP)
}
