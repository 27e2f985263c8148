//! The worker side: a process the pool started runs this before `main`, and never returns.
//!
//! The pool starts a worker by executing the program again with [`WORKER_ARG`], with
//! [`WORKER_VAR`] set to the parent's process id and one end of a fresh socket pair as stdin.
//! A constructor (an `.init_array` entry, run by the loader before `main`) decides whether this
//! process is such a worker; if it is, it serves requests until the parent goes away and exits,
//! so a worker never runs the user's `main` or a test harness, and programs need no setup line.
//!
//! The decision rests on what only the pool produces: stdin is a Unix socket whose other end was
//! made by the process that [`WORKER_VAR`] names (the kernel records who made a socket pair).
//! The variable alone, set by a user or inherited by a program a task starts, is not enough, so
//! an ordinary start never becomes a worker. Once a worker, a process never returns to `main`:
//! a worker whose parent is already gone exits at once.
//!
//! Exit codes: 0 when the parent closes the socket; [`EXIT_SETUP`] when the worker cannot set
//! itself up and [`EXIT_MALFORMED`] on a frame that breaks the protocol (both say why on
//! stderr); [`EXIT_ORPHANED`] when the parent is gone, silently: that is how workers end when
//! their program is killed.

use std::fs::File;
use std::io::{IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::exit;
use std::time::Instant;

mod link;
pub(super) mod panics;

use super::channel::SharedChannel;
use super::claim::Claims;
use super::protocol::{self, FrameBuffer, OutcomesBuilder, Run, ToWorker};
use super::registry;
use crate::shared_slice;
use link::Link;

/// Whether this platform runs [`entry`] before `main`: elsewhere no worker is started.
pub(crate) const HAS_ENTRY: bool = cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "macos"
));

/// Set in a worker's environment to its parent's process id.
pub(crate) const WORKER_VAR: &str = "PARALLEL_WORKER";
/// Set in a worker's environment when its pool was built with `quiet_panics(true)`.
pub(crate) const QUIET_PANICS_VAR: &str = "PARALLEL_QUIET_PANICS";
/// A worker's only argument, so that `ps` tells workers apart.
pub(crate) const WORKER_ARG: &str = "--parallel-worker";

/// The worker could not set itself up (its socket, its shared page, a thread).
pub(crate) const EXIT_SETUP: i32 = 101;
/// The parent sent a frame that breaks the protocol.
pub(crate) const EXIT_MALFORMED: i32 = 102;
/// The parent is gone.
pub(crate) const EXIT_ORPHANED: i32 = 103;

/// The loader calls `entry` before `main` in every program that links the runtime.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
#[used]
#[allow(unsafe_code)]
// SAFETY: `.init_array` holds pointers to functions the loader calls with no arguments before
// `main`; `entry` has the C ABI, takes no arguments (extra ones the loader passes are ignored,
// as the C ABI allows), and does not unwind (`serve` catches every panic of a task and exits).
// It relies on std working before `main` (the environment, sockets, threads, stdout), which
// Rust does not promise; `tests/backend_process.rs` and `tests/worker_start.rs` guard it.
#[unsafe(link_section = ".init_array")]
static ENTRY: extern "C" fn() = entry;

/// The same for Mach-O, where the section is `__mod_init_func`.
#[cfg(target_os = "macos")]
#[used]
#[allow(unsafe_code)]
// SAFETY: as for `.init_array` above: a table of C-ABI functions the loader calls before `main`.
#[unsafe(link_section = "__DATA,__mod_init_func,mod_init_funcs")]
static ENTRY: extern "C" fn() = entry;

extern "C" fn entry() {
    if let Some(parent) = parent_of_worker() {
        serve(parent);
    }
    // Checked after: a worker process that a serving rank starts inherits its rank's
    // environment, and is a worker process all the same.
    #[cfg(feature = "mpi")]
    super::mpi::serve::enter();
}

/// The parent's process id if this process is a worker the pool started; `None` for every
/// other start, whatever the environment says.
fn parent_of_worker() -> Option<u32> {
    let parent = std::env::var_os(WORKER_VAR)?
        .to_str()?
        .parse::<u32>()
        .ok()?;
    let stdin = std::io::stdin();
    let socket = stdin.as_fd();
    let is_stream = rustix::net::sockopt::socket_type(socket)
        .is_ok_and(|kind| kind == rustix::net::SocketType::STREAM);
    (is_stream && made_by(socket, parent)).then_some(parent)
}

/// Whether the socket pair `socket` belongs to was made by process `parent`.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn made_by(socket: std::os::fd::BorrowedFd<'_>, parent: u32) -> bool {
    // The credentials recorded when the pair was made: still there once the parent is gone.
    rustix::net::sockopt::socket_peercred(socket)
        .is_ok_and(|peer| u32::try_from(peer.pid.as_raw_nonzero().get()) == Ok(parent))
}

/// Elsewhere, the best available: the process that started this one is `parent`. A worker whose
/// parent died before this check runs as a program; the watchdog covers the rest.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn made_by(_: std::os::fd::BorrowedFd<'_>, parent: u32) -> bool {
    std::os::unix::process::parent_id() == parent
}

fn serve(parent: u32) -> ! {
    let stream = match set_up(parent) {
        Ok(stream) => stream,
        Err(message) => die(EXIT_SETUP, &message),
    };
    panics::install(std::env::var_os(QUIET_PANICS_VAR).is_some());
    let (claims, channel) = match receive_setup(&stream) {
        Ok(setup) => setup,
        Err(message) => die(EXIT_MALFORMED, &message),
    };
    if protocol::write_frame(&stream, &protocol::HELLO_FRAME).is_err() {
        exit(0);
    }
    let mut link = Link {
        stream,
        channel,
        files: Vec::new(),
    };
    let mut input = FrameBuffer::default();
    let mut output = Vec::new();
    loop {
        match link.read(&mut input) {
            Ok(true) => {}
            // The parent is done with this worker.
            Ok(false) => exit(0),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                die(EXIT_MALFORMED, &e.to_string())
            }
            // The parent died mid-frame.
            Err(_) => exit(0),
        }
        let run = match protocol::decode_to_worker(input.frame()) {
            Ok(ToWorker::Run(run)) => run,
            Ok(ToWorker::Attach { attached, detached }) => {
                shared_slice::forget(detached.iter());
                shared_slice::receive(attached.iter(), std::mem::take(&mut link.files));
                continue;
            }
            Ok(ToWorker::Setup) => die(EXIT_MALFORMED, "a second setup frame"),
            Err(malformed) => die(EXIT_MALFORMED, &malformed.to_string()),
        };
        // Taken back by the parent (it runs elsewhere): no reply.
        if claims.as_ref().is_some_and(|claims| !claims.start(run.seq)) {
            continue;
        }
        let progress = claims.as_ref().map(Claims::progress);
        let reply = run_request(&run, std::mem::take(&mut output), progress);
        // What tasks printed reaches the terminal before their results reach the parent.
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        if link.write(&reply).is_err() {
            exit(0);
        }
        output = reply;
    }
}

pub(super) fn run_request(
    run: &Run<'_>,
    buffer: Vec<u8>,
    progress: Option<&std::sync::atomic::AtomicU32>,
) -> Vec<u8> {
    let Some(entry) = registry::by_id(run.task_id) else {
        return protocol::refused(
            run.seq,
            &format!(
                "the worker has no `#[parallel]` function `{}`; parent and worker must run \
                 the same executable",
                run.task_id
            ),
        );
    };
    let started = Instant::now();
    let mut outcomes = OutcomesBuilder::new(buffer, progress);
    outcomes.set_value_codec((entry.value)());
    match panics::running(entry.name, || (entry.invoke)(run.calls, &mut outcomes)) {
        Ok(()) => {
            let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            outcomes.finish(run.seq, run.calls.len() as u32, nanos)
        }
        Err(message) => {
            protocol::refused(run.seq, &format!("`{}` cannot run: {message}", entry.name))
        }
    }
}

/// Everything before the first frame: a worker that outlives its parent for even a moment
/// exits, tasks see `/dev/null` as stdin, and a broken pipe is an error as in any Rust program.
fn set_up(parent: u32) -> Result<UnixStream, String> {
    ignore_sigpipe();
    watch_parent(parent)?;
    // Moves the socket off stdin to a private descriptor (not inherited by what tasks start).
    let socket = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| format!("cannot take the socket: {e}"))?;
    let null = File::open("/dev/null").map_err(|e| format!("cannot open /dev/null: {e}"))?;
    rustix::stdio::dup2_stdin(&null).map_err(|e| format!("cannot replace stdin: {e}"))?;
    let stream = UnixStream::from(socket);
    // A large reply goes out in one write, instead of waking the parent for every 200 KiB.
    protocol::enlarge_send_buffer(&stream);
    Ok(stream)
}

/// What the setup frame carries: the shared page, if any, and the rings with their doorbell
/// when frames travel in shared memory.
type Setup = (Option<Claims>, Option<SharedChannel>);

/// Reads the parent's setup frame, and maps the shared page and rings it carries, if any.
fn receive_setup(stream: &UnixStream) -> Result<Setup, String> {
    let mut frame = [0; protocol::SETUP_FRAME.len()];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(3))];
    let mut control = rustix::net::RecvAncillaryBuffer::new(&mut space);
    let received = rustix::net::recvmsg(
        stream,
        &mut [IoSliceMut::new(&mut frame)],
        &mut control,
        rustix::net::RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(|e| format!("no setup frame: {e}"))?;
    let mut fds: Vec<OwnedFd> = Vec::new();
    for message in control.drain() {
        if let rustix::net::RecvAncillaryMessage::ScmRights(received) = message {
            // Three at most; any other descriptor is closed here.
            fds.extend(received.take(3 - fds.len().min(3)));
        }
    }
    if received.bytes == 0 {
        exit(0);
    }
    (&*stream)
        .read_exact(&mut frame[received.bytes..])
        .map_err(|e| format!("no setup frame: {e}"))?;
    let shared = if frame == protocol::SETUP_SHARED_FRAME {
        true
    } else if frame == protocol::SETUP_FRAME {
        false
    } else {
        return Err("the first frame is not a setup frame".to_owned());
    };
    let mut fds = fds.into_iter();
    let claims = fds
        .next()
        .map(Claims::open)
        .transpose()
        .map_err(|e| format!("cannot map the shared page: {e}"))?;
    let channel = match (shared, fds.next(), fds.next()) {
        (false, _, _) => None,
        (true, Some(rings), Some(doorbell)) if claims.is_some() => Some(
            SharedChannel::open(rings, doorbell)
                .map_err(|e| format!("cannot map the rings: {e}"))?,
        ),
        (true, ..) => return Err("a shared setup without its page, rings and doorbell".into()),
    };
    Ok((claims, channel))
}

/// Exits when the parent goes away, even while a task runs: no orphans.
fn watch_parent(parent: u32) -> Result<(), String> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // The kernel kills this process when the thread that started it ends. Set before the
        // check below, so that a parent dying in between is seen by one or the other.
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
            .map_err(|e| format!("cannot ask to die with the parent: {e}"))?;
        if std::os::unix::process::parent_id() != parent {
            exit(EXIT_ORPHANED);
        }
        Ok(())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        if std::os::unix::process::parent_id() != parent {
            exit(EXIT_ORPHANED);
        }
        std::thread::Builder::new()
            .name("parallel-watchdog".to_owned())
            .spawn(move || {
                loop {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    if std::os::unix::process::parent_id() != parent {
                        exit(EXIT_ORPHANED);
                    }
                }
            })
            .map(drop)
            .map_err(|e| format!("cannot start the watchdog thread: {e}"))
    }
}

/// What `main` would have done: a write to a closed pipe fails with `BrokenPipe` instead of
/// killing the process, as in every Rust program (std ignores `SIGPIPE` before `main`, which a
/// worker never reaches).
#[allow(unsafe_code)]
fn ignore_sigpipe() {
    // SAFETY: `signal` with `SIG_IGN` installs no handler code; it only changes how this
    // process treats `SIGPIPE`, and runs before any thread of this process starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// Says why on stderr and exits with `code`.
fn die(code: i32, why: &str) -> ! {
    let _ = writeln!(
        std::io::stderr(),
        "parallel: worker process {} exits: {why}",
        std::process::id()
    );
    exit(code)
}
