//! Waiting that polls briefly before it sleeps.
//!
//! Waking a sleeping thread or process costs tens of microseconds on some machines (60 µs for
//! a bare ping-pong over a socket on the 2-core machines this was measured on), far more than a
//! round trip to a warm worker needs. So a thread that expects an answer soon polls for a short,
//! bounded time, yielding the core between polls, and only then sleeps.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};

/// How long a waiting thread polls before it sleeps.
pub(crate) const SPIN: Duration = Duration::from_micros(50);

/// Polls `ready` for up to [`SPIN`]; whether it became true.
pub(crate) fn spin_until(mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if ready() {
            return true;
        }
        if start.elapsed() >= SPIN {
            return false;
        }
        std::thread::yield_now();
    }
}

/// Polls `fd` for up to [`SPIN`] until it is readable (or closed); whether it is.
pub(crate) fn spin_until_readable(fd: impl AsFd) -> bool {
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    spin_until(|| {
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        // An error (a signal, say) only ends the polling early: the blocking read decides.
        poll(&mut fds, Some(&zero)).is_ok_and(|n| n > 0)
    })
}
