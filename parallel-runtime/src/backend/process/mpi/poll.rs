//! How rank 0 waits on MPI, which offers no wait that sleeps: it polls.

use std::time::{Duration, Instant};

/// How long a driver polls for a reply it expects soon before it sleeps between polls.
const POLL_FOR: Duration = Duration::from_millis(1);
/// A driver waiting for a reply sleeps between polls for this share of the time it waited.
const NAP_SHARE: u32 = 32;
/// The shortest and longest sleeps between two polls of a driver waiting for a reply.
pub(super) const FIRST_NAP: Duration = Duration::from_micros(20);
const MAX_NAP: Duration = Duration::from_millis(1);

/// Calls `ready` until it says `Ok(true)` or `Err`, or `deadline` passes (`Ok(false)`); calls
/// `sleeping` before each sleep.
///
/// MPI offers no wait that sleeps, so this polls: for [`POLL_FOR`] first, yielding the core
/// between polls, if `poll` (an answer is expected soon); then it sleeps between polls, each
/// sleep a [`NAP_SHARE`]th of the time waited so far, between [`FIRST_NAP`] and [`MAX_NAP`]: an
/// answer is seen at most about 3% late, with few wake-ups while a long call runs.
pub(super) fn wait_for(
    deadline: Option<Instant>,
    poll: bool,
    mut ready: impl FnMut() -> Result<bool, ()>,
    mut sleeping: impl FnMut(),
) -> Result<bool, ()> {
    let start = Instant::now();
    if poll {
        while start.elapsed() < POLL_FOR {
            if ready()? {
                return Ok(true);
            }
            std::thread::yield_now();
        }
    }
    loop {
        if ready()? {
            return Ok(true);
        }
        let now = Instant::now();
        sleeping();
        let nap = (now.duration_since(start) / NAP_SHARE).clamp(FIRST_NAP, MAX_NAP);
        match deadline {
            Some(deadline) if now >= deadline => return Ok(false),
            Some(deadline) => std::thread::sleep(nap.min(deadline - now)),
            None => std::thread::sleep(nap),
        }
    }
}
