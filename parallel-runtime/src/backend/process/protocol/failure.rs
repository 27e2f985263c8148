//! How a call's failure is named on the wire: its kind, and its message cut to a bound.

use super::frame::{MAX_MESSAGE, Malformed};

/// How a call failed in the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// The function panicked; the message is the panic's.
    Panicked,
    /// The arguments did not decode.
    Arguments,
    /// The result did not encode.
    Result,
    /// The function panicked, and the worker knows where: on the wire only, as `Panicked`
    /// with the message `location\nmessage`; read back as `Panicked` with a location.
    PanickedAt,
    // The failures of a process pool that an MPI rank ran the call in (`forward`), passed on:
    // a worker process never sends these.
    /// The worker process running the call died; the message is how (`WorkerExit::to_wire`).
    WorkerDied,
    /// The call ran past its timeout; the message is the timeout in nanoseconds.
    TimedOut,
    /// The call was cancelled.
    Cancelled,
    /// The call could not run; the message says why.
    Refused,
    /// A worker process broke the protocol; the message says how.
    Protocol,
    /// The function panicked, and the worker knows where and has its backtrace: on the wire
    /// only, with the message `location\nlength\nbacktrace message` (the backtrace's length in
    /// bytes); read back as `Panicked` with a location and a backtrace.
    PanickedTraced,
}

impl FailureKind {
    pub(super) fn to_byte(self) -> u8 {
        match self {
            FailureKind::Panicked => 0,
            FailureKind::Arguments => 1,
            FailureKind::Result => 2,
            FailureKind::PanickedAt => 3,
            FailureKind::WorkerDied => 4,
            FailureKind::TimedOut => 5,
            FailureKind::Cancelled => 6,
            FailureKind::Refused => 7,
            FailureKind::Protocol => 8,
            FailureKind::PanickedTraced => 9,
        }
    }

    pub(super) fn from_byte(byte: u8) -> Result<Self, Malformed> {
        match byte {
            0 => Ok(FailureKind::Panicked),
            1 => Ok(FailureKind::Arguments),
            2 => Ok(FailureKind::Result),
            3 => Ok(FailureKind::PanickedAt),
            4 => Ok(FailureKind::WorkerDied),
            5 => Ok(FailureKind::TimedOut),
            6 => Ok(FailureKind::Cancelled),
            7 => Ok(FailureKind::Refused),
            8 => Ok(FailureKind::Protocol),
            9 => Ok(FailureKind::PanickedTraced),
            _ => Err(Malformed("an unknown kind of failure")),
        }
    }
}

/// `message`, cut to [`MAX_MESSAGE`] bytes on a character boundary.
pub(super) fn cut(message: &str) -> &str {
    cut_to(message, MAX_MESSAGE)
}

/// `message`, cut to `max` bytes on a character boundary.
pub(super) fn cut_to(message: &str, max: usize) -> &str {
    if message.len() <= max {
        return message;
    }
    let mut end = max;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}
