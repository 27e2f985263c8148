//! The worker side: a process the pool started runs this before `main`, and never returns.
//!
//! The pool starts workers by re-entering the same executable with `PARALLEL_WORKER` set to the
//! parent's process id and the protocol socket as stdin. A constructor (an `.init_array` entry,
//! run by the loader before `main`) checks both and serves tasks until the parent goes away, so
//! a worker never runs the user's `main` or a test harness, and programs need no setup line.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::parent_id;
use std::process::exit;
use std::time::{Duration, Instant};

use super::protocol::{self, DoneFrame, Message};
use super::registry;
use crate::spin::spin_until_readable;

/// Whether this platform runs [`entry`] before `main`: elsewhere no worker is started.
pub(crate) const HAS_ENTRY: bool = cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "macos"
));

/// Set in a worker's environment to its parent's process id.
pub(crate) const WORKER_VAR: &str = "PARALLEL_WORKER";

/// The loader calls `entry` before `main` in every program that links the runtime.
#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
#[used]
// SAFETY: `.init_array` holds pointers to functions the loader calls with no arguments before
// `main`; `entry` has the C ABI, takes no arguments (extra ones the loader passes are ignored,
// as the C ABI allows), and does not unwind (`serve` catches every panic of a task and exits).
#[unsafe(link_section = ".init_array")]
static ENTRY: extern "C" fn() = entry;

/// The same for Mach-O, where the section is `__mod_init_func`.
#[cfg(target_os = "macos")]
#[used]
// SAFETY: as for `.init_array` above: a table of C-ABI functions the loader calls before `main`.
#[unsafe(link_section = "__DATA,__mod_init_func,mod_init_funcs")]
static ENTRY: extern "C" fn() = entry;

extern "C" fn entry() {
    if is_worker() {
        serve();
    }
}

/// A process is a worker when its parent started it as one: a grandchild that inherits the
/// variable (a task that runs the executable again) has another parent, and runs normally.
fn is_worker() -> bool {
    std::env::var_os(WORKER_VAR)
        .and_then(|value| value.to_str()?.parse::<u32>().ok())
        .is_some_and(|parent| parent == parent_id())
}

fn serve() -> ! {
    let Ok(mut stream) = take_socket() else {
        exit(101)
    };
    watch_parent();
    if protocol::write(&mut stream, &protocol::HELLO_FRAME).is_err() {
        exit(0);
    }
    let mut input = Vec::new();
    let mut output = Vec::new();
    loop {
        // The next request often follows the last reply closely: poll before sleeping.
        spin_until_readable(&stream);
        let reply = match protocol::read(&mut stream, &mut input) {
            Ok(Some(Message::Run {
                task_id,
                count,
                args,
            })) => run(task_id, count, args, std::mem::take(&mut output)),
            // The parent closed the socket: the pool is done with this worker.
            Ok(None) => exit(0),
            Ok(Some(_)) | Err(_) => exit(102),
        };
        // What tasks printed reaches the terminal before their results reach the parent.
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        if protocol::write(&mut stream, &reply).is_err() {
            exit(0);
        }
        output = reply;
    }
}

fn run(task_id: &str, count: u32, args: &[u8], buffer: Vec<u8>) -> Vec<u8> {
    let Some(entry) = registry::by_id(task_id) else {
        return protocol::refused(&format!(
            "the worker has no `#[parallel]` function `{task_id}`; parent and worker must run \
             the same executable"
        ));
    };
    let started = Instant::now();
    let mut frame = DoneFrame::new(buffer);
    match (entry.invoke)(args, count, frame.buffer()) {
        Ok(()) => {
            let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            frame.finish(count, nanos)
        }
        Err(message) => protocol::refused(&format!("`{}` cannot run: {message}", entry.name)),
    }
}

/// Moves the socket off stdin to a private descriptor, and gives tasks `/dev/null` as stdin.
fn take_socket() -> std::io::Result<UnixStream> {
    let socket = std::io::stdin().as_fd().try_clone_to_owned()?;
    let null = File::open("/dev/null")?;
    rustix::stdio::dup2_stdin(&null)?;
    let stream = UnixStream::from(socket);
    protocol::tune(&stream);
    Ok(stream)
}

/// Exits when the parent goes away, even while a task runs: no orphans.
fn watch_parent() {
    let parent = parent_id();
    let spawned = std::thread::Builder::new()
        .name("parallel-watchdog".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(100));
                if parent_id() != parent {
                    exit(103);
                }
            }
        });
    if spawned.is_err() {
        exit(104);
    }
}
