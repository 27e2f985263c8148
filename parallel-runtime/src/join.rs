//! Running a fixed set of closures at once: [`join`], and the plan `par_join!` and `par_map!`
//! follow.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Mutex;

use crate::backend::rayon::RayonPool;
use crate::config::{Backend, Options, available_cores, env_options};

/// Where one macro call runs, resolved from the call's options, the function's defaults and the
/// environment.
#[derive(Debug)]
pub enum Plan {
    /// On this rayon pool.
    Rayon(RayonPool),
    /// On scoped OS threads, at most this many at once (the macro's default where `None`).
    Threads(Option<usize>),
    /// In this many worker processes, for calls that can run there.
    Process(usize),
}

impl Plan {
    /// The rayon pool for a call that runs on rayon: the planned one, or rayon's global pool
    /// for a call that cannot run where the plan says (closures under `PARALLEL_BACKEND=process`).
    pub fn rayon_pool(self) -> RayonPool {
        match self {
            Plan::Rayon(pool) => pool,
            Plan::Threads(_) | Plan::Process(_) => RayonPool::global(),
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
pub fn join_plan(options: Options) -> Plan {
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
        Backend::Process => {
            Plan::Process(options.workers.map_or_else(available_cores, |w| w.get()))
        }
    }
}

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
    match join_plan(Options::new()) {
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

/// A job of [`threads_join`]: borrows from the caller for `'scope`.
pub type ScopedJob<'scope> = Box<dyn FnOnce() + Send + 'scope>;

/// Runs every job on scoped OS threads, at most `workers` at once (one thread per job where
/// `None`), and returns when all have finished. When the system refuses some threads, the jobs
/// run on those it gave, and on the caller's thread if it gave none.
///
/// # Panics
///
/// If a job panics, with the payload of the first such job (in input order), after every job
/// has finished.
pub fn threads_join(workers: Option<usize>, jobs: Vec<ScopedJob<'_>>) {
    let threads = workers.unwrap_or(jobs.len()).clamp(1, jobs.len().max(1));
    let queue = Mutex::new(jobs.into_iter().enumerate());
    let first_panic = FirstPanic::default();
    let work = || {
        loop {
            let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
            let Some((index, job)) = next else { return };
            if let Err(payload) = catch_unwind(AssertUnwindSafe(job)) {
                first_panic.record(index, payload);
            }
        }
    };
    std::thread::scope(|scope| {
        let started = (0..threads)
            .filter(|_| {
                std::thread::Builder::new()
                    .name("parallel-threads".to_owned())
                    .spawn_scoped(scope, work)
                    .is_ok()
            })
            .count();
        if started == 0 {
            work();
        }
    });
    first_panic.resume();
}

/// Hands `input` out in chunks of `chunk` items to at most `workers` scoped OS threads, which
/// call `work(chunk number, items)`. The caller reads the input lazily, a bounded number of
/// chunks ahead, and stops reading once `keep_reading` says so. Returns when every chunk handed
/// out has been worked on, with the number of items read. `work` catches its own panics. When
/// the system refuses every thread, the caller works on the chunks itself.
pub(crate) fn scoped_chunks<T: Send>(
    workers: usize,
    chunk: usize,
    mut input: impl Iterator<Item = T>,
    keep_reading: impl Fn() -> bool,
    work: impl Fn(usize, Vec<T>) + Sync,
) -> usize {
    let high = input.size_hint().1;
    let threads = workers.clamp(1, high.unwrap_or(usize::MAX).div_ceil(chunk).max(1));
    let (chunks_tx, chunks) = crossbeam_channel::bounded::<(usize, Vec<T>)>(threads);
    std::thread::scope(|scope| {
        let worker = || {
            for (number, items) in chunks.iter() {
                work(number, items);
            }
        };
        let started = (0..threads)
            .filter(|_| {
                std::thread::Builder::new()
                    .name("parallel-threads".to_owned())
                    .spawn_scoped(scope, worker)
                    .is_ok()
            })
            .count();
        let mut read = 0;
        let mut number = 0;
        while keep_reading() {
            let items: Vec<T> = input.by_ref().take(chunk).collect();
            if items.is_empty() {
                break;
            }
            read += items.len();
            if started == 0 {
                work(number, items);
            } else if chunks_tx.send((number, items)).is_err() {
                break;
            }
            number += 1;
        }
        // The workers end once the channel is empty and closed.
        drop(chunks_tx);
        read
    })
}

/// The panic of the earliest task, kept until every task has finished.
#[derive(Default)]
pub(crate) struct FirstPanic(Mutex<Option<(usize, Box<dyn Any + Send>)>>);

impl FirstPanic {
    pub(crate) fn record(&self, index: usize, payload: Box<dyn Any + Send>) {
        let mut first = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if first.as_ref().is_none_or(|(earliest, _)| index < *earliest) {
            *first = Some((index, payload));
        }
    }

    /// Re-raises the recorded panic, if any.
    pub(crate) fn resume(self) {
        if let Some((_, payload)) = self.0.into_inner().unwrap_or_else(|e| e.into_inner()) {
            resume_unwind(payload);
        }
    }
}

#[cfg(test)]
mod test;
