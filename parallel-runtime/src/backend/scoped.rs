//! Scoped OS threads for the macros on `backend = threads`: tasks may borrow from the caller,
//! since the call returns only once every task has finished.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Mutex;

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
