//! The engine under `par_map!`: picks, at compile time, the fastest rayon path for the input and
//! the collection for the output, then runs on the planned backend.
//!
//! The picks use method resolution ("autoref specialization"): the generated code calls
//! `(&&&call).__parallel_input()`; the trait implemented for the most references wins (method
//! resolution tries the receiver's type before dereferencing it), and an impl whose bounds do
//! not hold is skipped.

use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::iter::{IndexedParallelIterator, IntoParallelIterator, ParallelIterator};

use crate::backend::rayon::RayonPool;
use crate::backend::threads::default_workers;
use crate::config::Options;
use crate::join::{FirstPanic, Plan, join_plan, scoped_chunks};
use crate::macro_process::Route;
use crate::progress::{Ticker, ticker};

/// The input of a `par_map!`, held until its kind is picked.
pub struct MapCall<I>(pub I);

/// The input is one of rayon's indexed parallel iterators (ranges, `Vec`, slices): rayon splits
/// it in place.
#[derive(Clone, Copy, Debug)]
pub struct IndexedInput;

/// One of rayon's parallel iterators that cannot be indexed (ranges of `u64`, `i64`, `u128`):
/// rayon splits it as it goes.
#[derive(Clone, Copy, Debug)]
pub struct UnindexedInput;

/// Any other `IntoIterator`: its items are gathered first.
#[derive(Clone, Copy, Debug)]
pub struct IterInput;

/// Picks [`IndexedInput`] where rayon can split the input in place.
pub trait ViaIndexed {
    /// The input's kind.
    fn __parallel_input(&self) -> IndexedInput {
        IndexedInput
    }
}

impl<I> ViaIndexed for &&MapCall<I>
where
    I: IntoIterator + IntoParallelIterator<Item = <I as IntoIterator>::Item>,
    <I as IntoParallelIterator>::Iter: IndexedParallelIterator,
{
}

/// Picks [`UnindexedInput`] for rayon's other parallel iterators.
pub trait ViaUnindexed {
    /// The input's kind.
    fn __parallel_input(&self) -> UnindexedInput {
        UnindexedInput
    }
}

impl<I> ViaUnindexed for &MapCall<I> where
    I: IntoIterator + IntoParallelIterator<Item = <I as IntoIterator>::Item>
{
}

/// Picks [`IterInput`] for every other input.
pub trait ViaIter {
    /// The input's kind.
    fn __parallel_input(&self) -> IterInput {
        IterInput
    }
}

impl<I> ViaIter for MapCall<I> {}

/// The output type of the mapped function, carried to the collector's pick.
pub struct OutProbe<T>(PhantomData<fn() -> T>);

/// Gives a closure its parameter type from the input before anything else looks at it, and
/// returns the probe of its output type.
pub fn bind<F, I, T>(f: F, _items: &I) -> (F, OutProbe<T>)
where
    I: IntoIterator,
    F: Fn(I::Item) -> T,
{
    (f, OutProbe(PhantomData))
}

/// How the results of a map become its value.
pub trait Collector<T>: Copy + Send + Sync {
    /// What the map returns.
    type Output;
    /// Whether some values stop the map, so that later items are skipped.
    const STOPS: bool;
    /// Whether `value` stops the map.
    fn stops(&self, value: &T) -> bool;
    /// The value of a map whose every item ran, in input order.
    fn finish(self, values: Vec<T>) -> Self::Output;
    /// The value of a map that skipped items after a stop (`None`), in input order.
    fn finish_partial(self, values: Vec<Option<T>>) -> Self::Output;
}

/// Results collect into `Vec<T>`.
#[derive(Clone, Copy, Debug)]
pub struct PlainCollect;

impl<T> Collector<T> for PlainCollect {
    type Output = Vec<T>;
    const STOPS: bool = false;

    fn stops(&self, _: &T) -> bool {
        false
    }

    fn finish(self, values: Vec<T>) -> Vec<T> {
        values
    }

    fn finish_partial(self, values: Vec<Option<T>>) -> Vec<T> {
        // Nothing stops a plain map, so nothing was skipped.
        values.into_iter().flatten().collect()
    }
}

/// `Result<U, E>` results collect into `Result<Vec<U>, E>`: the error of the earliest failing
/// item, as `Iterator::collect` would give; items after it are skipped where they had not
/// started.
#[derive(Clone, Copy, Debug)]
pub struct ResultCollect;

impl<U, E> Collector<Result<U, E>> for ResultCollect {
    type Output = Result<Vec<U>, E>;
    const STOPS: bool = true;

    fn stops(&self, value: &Result<U, E>) -> bool {
        value.is_err()
    }

    fn finish(self, values: Vec<Result<U, E>>) -> Self::Output {
        values.into_iter().collect()
    }

    fn finish_partial(self, values: Vec<Option<Result<U, E>>>) -> Self::Output {
        // Every item before the earliest error ran: only later ones can be `None`.
        values.into_iter().flatten().collect()
    }
}

/// Picks [`ResultCollect`] for functions that return `Result`.
pub trait ViaResult {
    /// The collector.
    fn __parallel_collector(&self) -> ResultCollect {
        ResultCollect
    }
}

impl<U, E> ViaResult for OutProbe<Result<U, E>> {}

/// Picks [`PlainCollect`] for every other output.
pub trait ViaPlain {
    /// The collector.
    fn __parallel_collector(&self) -> PlainCollect {
        PlainCollect
    }
}

impl<T> ViaPlain for &OutProbe<T> {}

/// Runs a map on rayon, the best way for its kind of input.
pub trait InputKind<I: IntoIterator>: Copy {
    /// Maps `items` with `f` on `pool`.
    fn run_rayon<F, T, C>(
        self,
        pool: &RayonPool,
        items: I,
        f: &F,
        settings: Settings,
        collector: C,
    ) -> C::Output
    where
        F: Fn(I::Item) -> T + Sync,
        T: Send,
        C: Collector<T>,
        C::Output: Send;
}

/// The per-call settings of a map that the backends share.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    chunk: Option<NonZeroUsize>,
    progress: bool,
    label: &'static str,
}

impl<I> InputKind<I> for IndexedInput
where
    I: IntoIterator + IntoParallelIterator<Item = <I as IntoIterator>::Item> + Send,
    <I as IntoParallelIterator>::Iter: IndexedParallelIterator,
{
    fn run_rayon<F, T, C>(
        self,
        pool: &RayonPool,
        items: I,
        f: &F,
        settings: Settings,
        collector: C,
    ) -> C::Output
    where
        F: Fn(<I as IntoIterator>::Item) -> T + Sync,
        T: Send,
        C: Collector<T>,
        C::Output: Send,
    {
        pool.install(|| rayon_indexed(items.into_par_iter(), f, settings, collector))
    }
}

impl<I> InputKind<I> for UnindexedInput
where
    I: IntoIterator + IntoParallelIterator<Item = <I as IntoIterator>::Item> + Send,
    <I as IntoIterator>::Item: Send,
{
    fn run_rayon<F, T, C>(
        self,
        pool: &RayonPool,
        items: I,
        f: &F,
        settings: Settings,
        collector: C,
    ) -> C::Output
    where
        F: Fn(<I as IntoIterator>::Item) -> T + Sync,
        T: Send,
        C: Collector<T>,
        C::Output: Send,
    {
        if C::STOPS || settings.chunk.is_some() || settings.progress {
            // Those need positions or a length: gather the items first.
            return IterInput.run_rayon(pool, items, f, settings, collector);
        }
        // Rayon keeps the input's order when it collects, indexed or not.
        pool.install(|| collector.finish(items.into_par_iter().map(f).collect()))
    }
}

impl<I> InputKind<I> for IterInput
where
    I: IntoIterator,
    I::Item: Send,
{
    fn run_rayon<F, T, C>(
        self,
        pool: &RayonPool,
        items: I,
        f: &F,
        settings: Settings,
        collector: C,
    ) -> C::Output
    where
        F: Fn(I::Item) -> T + Sync,
        T: Send,
        C: Collector<T>,
        C::Output: Send,
    {
        let items: Vec<I::Item> = items.into_iter().collect();
        pool.install(|| rayon_indexed(items.into_par_iter(), f, settings, collector))
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
    match join_plan(options) {
        Plan::Process(workers) => match route.run(options, workers, label, items, f, collector) {
            Ok(output) => output,
            // Not a call a process can run: rayon instead (see `LocalRoute`).
            Err((items, f)) => kind.run_rayon(&RayonPool::global(), items, &f, settings, collector),
        },
        Plan::Rayon(pool) => kind.run_rayon(&pool, items, &f, settings, collector),
        Plan::Threads(workers) => threads_map(
            workers.unwrap_or_else(default_workers),
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
    let (low, high) = input.size_hint();
    let ticker = ticker(
        settings.progress,
        (Some(low) == high).then_some(low),
        settings.label,
    );
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
