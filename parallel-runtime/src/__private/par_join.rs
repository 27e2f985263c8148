//! `par_join!` on the process backend: spawning each call, and re-raising the first failure.

use std::panic::resume_unwind;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::proof::{NotSerde, Serde};
use crate::backend::process::{ProcessFn, ProcessPool};
use crate::error::TaskError;
use crate::task::Task;

/// Spawns one `par_join!` process task. `picks` says whether the arguments and the result are
/// serde data; where they are not, a compile error has already said so, and the task is never
/// spawned (no second error follows from the bounds of [`ProcessPool::spawn`]).
pub fn process_spawn<F, Args, P>(pool: &ProcessPool, f: F, args: Args, picks: P) -> Task<F::Output>
where
    F: ProcessFn<Args>,
    P: Spawn<F, Args>,
{
    picks.spawn(pool, f, args)
}

/// Spawns a process task for the picks of its data; see [`process_spawn`].
pub trait Spawn<F: ProcessFn<Args>, Args> {
    /// Spawns the task.
    fn spawn(self, pool: &ProcessPool, f: F, args: Args) -> Task<F::Output>;
}

impl<F, Args> Spawn<F, Args> for (Serde, Serde)
where
    F: ProcessFn<Args>,
    Args: Serialize + 'static,
    F::Output: DeserializeOwned + Send + 'static,
{
    fn spawn(self, pool: &ProcessPool, f: F, args: Args) -> Task<F::Output> {
        pool.spawn(f, args)
    }
}

macro_rules! unspawnable {
    ($($picks:ty),*) => {$(
        impl<F: ProcessFn<Args>, Args> Spawn<F, Args> for $picks {
            fn spawn(self, _: &ProcessPool, _: F, _: Args) -> Task<F::Output> {
                let (task, completer) = crate::task::pair(None);
                completer.finish(Err(TaskError::refused("not serde data")));
                task
            }
        }
    )*};
}
unspawnable!((Serde, NotSerde), (NotSerde, Serde), (NotSerde, NotSerde));

/// Re-raises the first failure of a `par_join!`, in the order the tasks were written.
///
/// # Panics
///
/// Always: with the task's panic message, or the error's description.
pub fn raise_first(errors: Vec<Option<TaskError>>) -> ! {
    let error = errors
        .into_iter()
        .flatten()
        .next()
        .unwrap_or_else(TaskError::cancelled);
    resume_unwind(error.into_panic())
}
