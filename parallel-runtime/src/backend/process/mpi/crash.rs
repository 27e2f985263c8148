//! What a serving rank says when a task kills it.
//!
//! In plain MPI a rank that dies ends the whole job: the launcher sees it and stops every
//! other rank. Before that happens, a rank killed by a crash of its own (a segfault, an abort,
//! a bus error, an illegal instruction, a division trap) writes one line on stderr saying which
//! rank died, of what, and in which task, so that the user reads more than the launcher's
//! "process exited on signal 11". A rank killed from outside (`kill -9`, the OOM killer) runs
//! no code: the launcher's own message is all there is.
//!
//! The line is written by a signal handler, which may only call what is async-signal-safe:
//! it is formatted before each request (see [`running`]), and the handler only writes it.

use std::sync::atomic::{AtomicPtr, Ordering};

/// The signals of a crash.
const CRASHES: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
];

/// The line to write if the rank dies now: one load gives its bytes and their length, and
/// lines are never freed, so a handler on any thread reads a whole line.
static LINE: AtomicPtr<&'static [u8]> = AtomicPtr::new(std::ptr::null_mut());

/// Installs the handler for the crash signals.
#[allow(unsafe_code)]
pub(super) fn install() {
    for signal in CRASHES {
        // SAFETY: `sigaction` with a zeroed struct, a handler of the `sa_handler` form and
        // `SA_RESETHAND` installs `on_crash` for one delivery; the previous action is not read.
        // `on_crash` only loads two atomics and calls `write(2)`, both async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_crash as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Prepares the line for a crash in task `task` of rank `rank`. Each line is built once per
/// task and kept for the life of the rank: a program has a fixed set of `#[parallel]`
/// functions.
pub(super) fn running(rank: i32, task: &'static str) {
    use std::collections::HashMap;
    use std::sync::Mutex;
    type Lines = HashMap<&'static str, &'static &'static [u8]>;
    static LINES: Mutex<Option<Lines>> = Mutex::new(None);
    let mut lines = LINES.lock().unwrap_or_else(|e| e.into_inner());
    let line = *lines
        .get_or_insert_with(HashMap::new)
        .entry(task)
        .or_insert_with(|| {
            let text = format!(
                "parallel: MPI rank {rank} (process {}) crashed in task `{task}`; in plain MPI \
                 this ends the job\n",
                std::process::id()
            );
            Box::leak(Box::new(&*Box::leak(text.into_bytes().into_boxed_slice())))
        });
    LINE.store(std::ptr::from_ref(line).cast_mut(), Ordering::SeqCst);
}

/// Says that the rank runs no task any more: it serves, or finishes.
pub(super) fn outside_tasks(rank: i32, doing: &str) {
    let text = format!(
        "parallel: MPI rank {rank} (process {}) crashed while it {doing}\n",
        std::process::id()
    );
    let line: &'static &'static [u8] =
        Box::leak(Box::new(&*Box::leak(text.into_bytes().into_boxed_slice())));
    LINE.store(std::ptr::from_ref(line).cast_mut(), Ordering::SeqCst);
}

#[allow(unsafe_code)]
extern "C" fn on_crash(_signal: libc::c_int) {
    let line = LINE.load(Ordering::SeqCst);
    if line.is_null() {
        return;
    }
    // SAFETY: a non-null `LINE` points to a leaked `&'static [u8]` (see `running`), never freed
    // nor written again; `write` is async-signal-safe. Returning re-raises the signal with its
    // default action (`SA_RESETHAND`): the faulting instruction runs again, or `abort` raises
    // again.
    unsafe {
        let line: &[u8] = *line;
        libc::write(libc::STDERR_FILENO, line.as_ptr().cast(), line.len());
    }
}
