//! `par_map!`'s entry point: runs the map on the planned backend, the fastest rayon path for
//! its kind of input, or scoped threads, or worker processes where the call can run there.

use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::iter::{IndexedParallelIterator, ParallelIterator};

use super::collect::Collector;
use super::par_map_process::Route;
use super::pick::{InputKind, RayonRun};
use crate::backend::scoped::{FirstPanic, scoped_chunks};
use crate::backend::work_stealing::RayonPool;
use crate::config::Options;
use crate::config::default_thread_workers;
use crate::plan::{Plan, plan};
use crate::progress::{Ticker, ticker, ticker_for};

/// The per-call settings of a map that the backends share.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    chunk: Option<NonZeroUsize>,
    progress: bool,
    label: &'static str,
}

/// A map on rayon, for the input's kind to run.
struct MapRun<'a, F, T, C> {
    f: &'a F,
    settings: Settings,
    collector: C,
    output: PhantomData<fn() -> T>,
}

impl<X, T, F, C> RayonRun<X> for MapRun<'_, F, T, C>
where
    X: Send,
    T: Send,
    F: Fn(X) -> T + Sync,
    C: Collector<T>,
    C::Output: Send,
{
    type Output = C::Output;

    fn needs_index(&self) -> bool {
        C::STOPS || self.settings.chunk.is_some() || self.settings.progress
    }

    fn indexed<P: IndexedParallelIterator<Item = X>>(self, items: P) -> C::Output {
        rayon_indexed(items, self.f, self.settings, self.collector)
    }

    fn unindexed<P: ParallelIterator<Item = X>>(self, items: P) -> C::Output {
        // Rayon keeps the input's order when it collects, indexed or not.
        self.collector.finish(items.map(self.f).collect())
    }
}

fn rayon_indexed<P, F, T, C>(items: P, f: &F, settings: Settings, collector: C) -> C::Output
where
    P: IndexedParallelIterator,
    F: Fn(P::Item) -> T + Sync,
    T: Send,
    C: Collector<T>,
{
    let ticker = ticker(settings.progress, Some(items.len()), settings.label);
    let min_len = settings.chunk.map_or(1, NonZeroUsize::get);
    if !C::STOPS {
        // The common case compiles to exactly `items.into_par_iter().map(f).collect()`.
        let values: Vec<T> = match (settings.chunk, ticker.is_drawn()) {
            (None, false) => items.map(f).collect(),
            (Some(_), false) => items.with_min_len(min_len).map(f).collect(),
            (_, true) => items
                .with_min_len(min_len)
                .map(ticked(f, &ticker))
                .collect(),
        };
        return collector.finish(values);
    }
    let stop = AtomicUsize::new(usize::MAX);
    let values: Vec<Option<T>> = items
        .enumerate()
        .with_min_len(min_len)
        .map(|(index, item)| {
            if index > stop.load(Ordering::Relaxed) {
                return None;
            }
            let value = f(item);
            ticker.tick();
            if collector.stops(&value) {
                stop.fetch_min(index, Ordering::Relaxed);
            }
            Some(value)
        })
        .collect();
    collector.finish_partial(values)
}

fn ticked<'a, X, T>(f: &'a (impl Fn(X) -> T + Sync), ticker: &'a Ticker) -> impl Fn(X) -> T + Sync {
    move |item| {
        let value = f(item);
        ticker.tick();
        value
    }
}

/// `par_map!`'s entry point: maps `items` with `f` where `options` (merged with the function's
/// defaults) and the environment say.
///
/// # Panics
///
/// If a task panics: with that task's payload (the earliest one, on threads), once the tasks
/// that had started have finished. Also for an invalid environment variable.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn map<I, F, T, K, C, R>(
    options: Options,
    label: &'static str,
    items: I,
    f: F,
    kind: K,
    collector: C,
    route: R,
) -> C::Output
where
    I: IntoIterator,
    I::Item: Send,
    F: Fn(I::Item) -> T + Sync,
    T: Send,
    K: InputKind<I>,
    C: Collector<T>,
    C::Output: Send,
    R: Route<I, F, T>,
{
    let settings = Settings {
        chunk: options.chunk,
        progress: options.progress.unwrap_or(false),
        label,
    };
    match plan(options) {
        // `process_pool` resolves the pool (its backend and workers) from the options again.
        Plan::Process => match route.run(options, label, items, f, collector) {
            Ok(output) => output,
            // Not a call a process can run: rayon instead (see `LocalRoute`).
            Err((items, f)) => {
                let run = MapRun {
                    f: &f,
                    settings,
                    collector,
                    output: PhantomData,
                };
                kind.run_rayon(&RayonPool::global(), items, run)
            }
        },
        Plan::Rayon(pool) => {
            let run = MapRun {
                f: &f,
                settings,
                collector,
                output: PhantomData,
            };
            kind.run_rayon(&pool, items, run)
        }
        Plan::Threads(workers) => threads_map(
            workers.unwrap_or_else(default_thread_workers),
            items,
            &f,
            settings,
            collector,
        ),
    }
}

/// Maps on scoped OS threads: the caller feeds chunks of the input through a bounded channel,
/// so the input is read lazily and only `workers` chunks wait at a time.
fn threads_map<I, F, T, C>(
    workers: usize,
    items: I,
    f: &F,
    settings: Settings,
    collector: C,
) -> C::Output
where
    I: IntoIterator,
    I::Item: Send,
    F: Fn(I::Item) -> T + Sync,
    T: Send,
    C: Collector<T>,
{
    let input = items.into_iter().enumerate();
    let ticker = ticker_for(settings.progress, input.size_hint(), settings.label);
    let stop = AtomicUsize::new(usize::MAX);
    let first_panic = FirstPanic::default();
    let done: Mutex<Vec<(usize, T)>> = Mutex::new(Vec::new());
    let read = scoped_chunks(
        workers,
        settings.chunk.map_or(1, NonZeroUsize::get),
        input,
        // Once an item stops the map, every later item would be skipped: stop reading.
        || stop.load(Ordering::Relaxed) == usize::MAX,
        |_, items| {
            let mut finished = Vec::with_capacity(items.len());
            for (index, item) in items {
                if index > stop.load(Ordering::Relaxed) {
                    continue;
                }
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item))) {
                    Ok(value) => {
                        ticker.tick();
                        if collector.stops(&value) {
                            stop.fetch_min(index, Ordering::Relaxed);
                        }
                        finished.push((index, value));
                    }
                    Err(payload) => {
                        stop.fetch_min(index, Ordering::Relaxed);
                        first_panic.record(index, payload);
                    }
                }
            }
            done.lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(finished);
        },
    );
    first_panic.resume();

    let mut values: Vec<Option<T>> = std::iter::repeat_with(|| None).take(read).collect();
    for (index, value) in done.into_inner().unwrap_or_else(|e| e.into_inner()) {
        values[index] = Some(value);
    }
    collector.finish_partial(values)
}

#[cfg(test)]
mod test;
