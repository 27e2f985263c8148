//! What a worker prints when a task panics.
//!
//! A worker never runs `main`, so a panic hook set there does not reach it, and Rust's default
//! hook would name the thread `<unnamed>`. A worker prints instead which worker and which task
//! panicked, where, and the message (with a backtrace when `RUST_BACKTRACE` asks for one), or
//! nothing when its pool was built with `quiet_panics(true)`. The caller gets the message in
//! the task's error either way. A hook that a task sets replaces this one, as in any program.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::Cell;
use std::io::Write;

use crate::backend::process::protocol;
use crate::error::panic_message;

thread_local! {
    /// The task this thread runs, if it runs one.
    static TASK: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// Installs the worker's panic hook: silent if `quiet`.
pub(in crate::backend::process) fn install(quiet: bool) {
    std::panic::set_hook(Box::new(move |info| {
        if let Some(at) = info.location() {
            protocol::record_panic_location(at.to_string());
        }
        // Taken when `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) asks, as a program would; the
        // caller gets it in the task's error, printed or not.
        let backtrace = Backtrace::capture();
        let captured = backtrace.status() == BacktraceStatus::Captured;
        if captured {
            protocol::record_panic_backtrace(backtrace.to_string());
        }
        if quiet {
            return;
        }
        let task = TASK
            .with(Cell::get)
            .map(|name| format!(" in task `{name}`"))
            .unwrap_or_default();
        let place = info
            .location()
            .map(|at| format!(" at {at}"))
            .unwrap_or_default();
        let message = panic_message(info.payload());
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(
            stderr,
            "parallel worker {}{task} panicked{place}:\n{message}",
            std::process::id()
        );
        if captured {
            let _ = writeln!(stderr, "stack backtrace:\n{backtrace}");
        }
    }));
}

/// Runs `f` as task `name`, for the hook to say which task panicked.
pub(super) fn running<R>(name: &'static str, f: impl FnOnce() -> R) -> R {
    // No location left from an earlier request (a hook that a task set records none).
    protocol::forget_panic_location();
    let before = TASK.with(|task| task.replace(Some(name)));
    let result = f();
    TASK.with(|task| task.set(before));
    result
}
