//! Waiting that polls briefly before it sleeps.
//!
//! Waking a sleeping thread or process costs tens of microseconds on some machines (60 µs for
//! a bare ping-pong over a socket on the 2-core machines this was measured on), far more than a
//! round trip to a warm worker needs. So a thread that expects an answer soon polls for a short,
//! bounded time, yielding the core between polls, and only then sleeps.

use std::os::fd::AsFd;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};

/// How long a waiting thread polls before it sleeps.
pub(crate) const SPIN: Duration = Duration::from_micros(50);

/// A yield that takes longer than this means something else had the core: another program
/// (the machine is oversubscribed, and polling would only give away time slices), or the
/// hypervisor, which now and then stops a virtual machine's core whatever runs on it.
const PREEMPTED: Duration = Duration::from_micros(200);
/// Two such yields this close together mean another program: polling stops. One alone is
/// taken for the hypervisor's doing, which polling less would not help.
const CONFIRM: Duration = Duration::from_millis(10);
/// How long polling stays off then; waits sleep at once meanwhile.
const BACK_OFF: Duration = Duration::from_millis(100);

/// Polls `ready` for up to [`SPIN`], yielding the core between polls (so that a worker or a
/// driver sharing it can run); whether it became true.
///
/// On an oversubscribed machine a yield can hand the core to another program for a whole time
/// slice (milliseconds), far longer than the wake-up polling saves. So a yield that took too
/// long ends the polling, and a second one soon after turns it off for every thread for
/// [`BACK_OFF`].
pub(crate) fn spin_until(mut ready: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    if backing_off(start) {
        return ready();
    }
    let mut last = start;
    loop {
        if ready() {
            return true;
        }
        let now = Instant::now();
        if now.duration_since(last) >= PREEMPTED {
            preempted(now);
            return false;
        }
        if now.duration_since(start) >= SPIN {
            return false;
        }
        last = now;
        std::thread::yield_now();
    }
}

/// When polling may start again, in nanoseconds since [`epoch`] (0: now).
static BACK_OFF_UNTIL: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn nanos_since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch()).as_nanos()).unwrap_or(u64::MAX)
}

fn backing_off(now: Instant) -> bool {
    nanos_since_epoch(now) < BACK_OFF_UNTIL.load(Ordering::Relaxed)
}

/// When a yield last took too long, in nanoseconds since [`epoch`].
static LAST_PREEMPTED: AtomicU64 = AtomicU64::new(0);

fn preempted(now: Instant) {
    let at = nanos_since_epoch(now);
    let before = LAST_PREEMPTED.swap(at, Ordering::Relaxed);
    if confirms(before, at) {
        BACK_OFF_UNTIL.store(nanos_since_epoch(now + BACK_OFF), Ordering::Relaxed);
    }
}

/// Whether a long yield at `at` confirms the one at `before` (0: none yet).
fn confirms(before: u64, at: u64) -> bool {
    before != 0 && at.saturating_sub(before) < u64::try_from(CONFIRM.as_nanos()).unwrap_or(0)
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

#[cfg(test)]
mod test;
