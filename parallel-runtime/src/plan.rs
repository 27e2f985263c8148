//! Where a call runs: the one place the call's options, the function's defaults and the
//! environment become a backend.

use crate::backend::process::ProcessPool;
use crate::backend::work_stealing::RayonPool;
use crate::config::{Backend, Options, available_cores, env_options};

/// Where one macro call runs, resolved from the call's options, the function's defaults and the
/// environment.
#[derive(Debug)]
pub enum Plan {
    /// On this rayon pool.
    Rayon(RayonPool),
    /// On scoped OS threads, at most this many at once (the macro's default where `None`).
    Threads(Option<usize>),
    /// In worker processes (or an MPI job's ranks), for calls that can run there; which pool is
    /// [`process_pool`]'s to say, when a call does run there.
    Process,
}

impl Plan {
    /// The rayon pool for a call that runs on rayon: the planned one, or rayon's global pool
    /// for a call that cannot run where the plan says (closures under `PARALLEL_BACKEND=process`).
    pub fn rayon_pool(self) -> RayonPool {
        match self {
            Plan::Rayon(pool) => pool,
            Plan::Threads(_) | Plan::Process => RayonPool::global(),
        }
    }
}

/// Resolves `options` (the call's, already merged with the function's) against the environment.
///
/// # Panics
///
/// If `PARALLEL_BACKEND` or `PARALLEL_WORKERS` is invalid, or a rayon pool cannot start; the
/// message names the variable.
#[track_caller]
pub fn plan(options: Options) -> Plan {
    // `match`, not `unwrap_or_else`: a closure would report its own line, not the caller's.
    let env = match env_options() {
        Ok(env) => env,
        Err(e) => panic!("{e}"),
    };
    let options = options.or(env);
    match options.backend.unwrap_or_default() {
        Backend::Rayon => Plan::Rayon(match options.workers {
            None => RayonPool::global(),
            Some(workers) => match RayonPool::shared(workers.get()) {
                Ok(pool) => pool,
                Err(e) => panic!("{e}"),
            },
        }),
        Backend::Threads => Plan::Threads(options.workers.map(|w| w.get())),
        Backend::Process => Plan::Process,
        // MPI starts only once a call runs there (`process_pool`), not for a closure that
        // falls back to rayon.
        #[cfg(all(unix, feature = "mpi"))]
        Backend::Mpi => Plan::Process,
    }
}

/// The shared process pool for a call's options and the environment: the MPI job's worker ranks
/// when the backend is `mpi`.
///
/// # Panics
///
/// If `PARALLEL_WORKERS` is invalid.
#[track_caller]
pub fn process_pool(options: Options) -> ProcessPool {
    let env = match env_options() {
        Ok(env) => env,
        Err(e) => panic!("{e}"),
    };
    let options = options.or(env);
    let retries = options.retries.unwrap_or(0);
    #[cfg(all(unix, feature = "mpi"))]
    if options.backend == Some(Backend::Mpi) {
        return crate::MpiPool::shared()
            .process_pool()
            .clone()
            .configured(options.timeout, retries);
    }
    let workers = options.workers.map_or_else(available_cores, |w| w.get());
    ProcessPool::shared(workers).configured(options.timeout, retries)
}

/// A pool for each of a `par_join!`'s `calls` process calls, so that every call starts at once,
/// as a thread per expression would: the shared pool for as many calls as it has idle workers,
/// and a pool of one new worker for each of the others (it exits once its call is answered).
///
/// # Panics
///
/// If `PARALLEL_WORKERS` is invalid.
#[track_caller]
pub fn process_pools_for_join(options: Options, calls: usize) -> Vec<ProcessPool> {
    let shared = process_pool(options);
    let idle = shared.idle_workers();
    (0..calls)
        .map(|call| {
            if call < idle {
                shared.clone()
            } else {
                shared.one_more()
            }
        })
        .collect()
}

#[cfg(test)]
mod test;
