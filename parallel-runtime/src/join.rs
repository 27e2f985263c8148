//! [`join`]: two closures at once, on the default backend.

use crate::backend::scoped::threads_join;
use crate::config::Options;
use crate::plan::{Plan, plan};

/// Runs `a` and `b`, potentially in parallel, and returns both results: `par_join!` for two
/// closures. Runs on rayon unless `PARALLEL_BACKEND` says otherwise.
///
/// # Examples
///
/// ```
/// use parallel::join;
/// let (sum, max) = join(|| (1..=10).sum::<u32>(), || (1..=10).max());
/// assert_eq!((sum, max), (55, Some(10)));
/// ```
///
/// # Panics
///
/// If either closure panics, `join` panics with that value once both have finished.
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    match plan(Options::new()) {
        Plan::Threads(workers) => {
            let (mut ra, mut rb) = (None, None);
            threads_join(
                workers,
                vec![Box::new(|| ra = Some(a())), Box::new(|| rb = Some(b()))],
            );
            match (ra, rb) {
                (Some(ra), Some(rb)) => (ra, rb),
                _ => unreachable!("threads_join runs every job or panics"),
            }
        }
        plan => plan.rayon_pool().install(|| rayon::join(a, b)),
    }
}

#[cfg(test)]
mod test;
