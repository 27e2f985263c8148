//! How a worker process ended, as a task's error reports it.

use std::fmt;

/// How a worker process ended: its exit code, or the signal that killed it.
///
/// # Examples
///
/// ```
/// use parallel::WorkerExit;
///
/// assert_eq!(WorkerExit::Signal(9).to_string(), "killed by signal 9 (SIGKILL)");
/// assert_eq!(WorkerExit::Code(3).to_string(), "exited with code 3");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WorkerExit {
    /// The worker exited with this code (`std::process::exit`, or a Rust abort's code).
    Code(i32),
    /// The worker was killed by this signal (a segfault, an abort, the OOM killer, `kill -9`).
    Signal(i32),
    /// The exit status could not be read.
    Unknown,
}

impl fmt::Display for WorkerExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WorkerExit::Code(code) => write!(f, "exited with code {code}"),
            WorkerExit::Signal(signal) => match signal_name(signal) {
                Some(name) => write!(f, "killed by signal {signal} ({name})"),
                None => write!(f, "killed by signal {signal}"),
            },
            WorkerExit::Unknown => f.write_str("ended"),
        }
    }
}

fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return None,
    })
}
