//! The route of a `par_map!` to the process backend, chosen at compile time, and the map in
//! worker processes itself.

use std::panic::resume_unwind;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::collect::Collector;
use super::pick::MapCall;
use super::proof::IsTask;
use crate::backend::process::{ProcessFn, ProcessMapUnordered};
use crate::config::Options;
use crate::error::TaskError;
use crate::order::InOrder;
use crate::progress::ticker_for;
use crate::task::Task;
use crate::type_of::TypeOf;

/// The type that picks a call's route to the process backend: the proof that the function is
/// a task, the function, and the input.
pub fn route_of<P, F, I>(_: &P, _: &F, _: &MapCall<I>) -> TypeOf<(P, F, I)> {
    TypeOf::new()
}

/// The call can run in worker processes.
#[derive(Clone, Copy, Debug)]
pub struct ProcessRoute;

/// The call cannot run in worker processes (a closure, or data that is not serde data): when
/// the process backend is chosen at run time, it runs on rayon instead.
#[derive(Clone, Copy, Debug)]
pub struct LocalRoute;

/// The call, a `#[parallel]` function of several arguments over tuples of them, can run in
/// worker processes: the function itself (`G`) is sent, each tuple its arguments.
#[derive(Clone, Copy, Debug)]
pub struct SpreadProcessRoute<G>(G);

/// The function as `par_map!` binds it: a `#[parallel]` function of several arguments taking
/// them as one tuple (`spread`), every other function as it is.
pub fn pick_spread<S: PickSpread<F>, F>(spread: S, f: F) -> S::Out {
    spread.pick(f)
}

/// What a function with no spread form gives: itself.
#[derive(Clone, Copy, Debug)]
pub struct NoSpread;

/// See [`pick_spread`].
pub trait PickSpread<F> {
    type Out;
    fn pick(self, f: F) -> Self::Out;
}

impl<F> PickSpread<F> for NoSpread {
    type Out = F;
    fn pick(self, f: F) -> F {
        f
    }
}

impl<A, R, F> PickSpread<F> for fn(A) -> R {
    type Out = fn(A) -> R;
    fn pick(self, _: F) -> fn(A) -> R {
        self
    }
}

// The three `Via…` traits pick a route by autoref: called on `&&TypeOf<…>`, an impl for
// `&TypeOf` is found first (`ViaProcess`), then one for `&&TypeOf` (`ViaProcessSpread`), then
// one for `TypeOf` (`ViaLocal`, which always applies).

/// Picks [`ProcessRoute`] where a `#[parallel]` function's data can cross.
pub trait ViaProcess {
    fn __parallel_route<G>(&self, _: G) -> ProcessRoute {
        ProcessRoute
    }
}

impl<F, I> ViaProcess for &TypeOf<(IsTask, F, I)>
where
    I: IntoIterator,
    F: ProcessFn<(I::Item,)>,
    I::Item: Serialize + 'static,
    F::Output: DeserializeOwned + Send + 'static,
{
}

/// Picks [`SpreadProcessRoute`] for a `#[parallel]` function of several arguments over tuples
/// of them, where their data can cross.
pub trait ViaProcessSpread<F> {
    fn __parallel_route(&self, f: F) -> SpreadProcessRoute<F> {
        SpreadProcessRoute(f)
    }
}

impl<F, I> ViaProcessSpread<F> for &&TypeOf<(IsTask, F, I)>
where
    I: IntoIterator,
    F: ProcessFn<I::Item>,
    I::Item: Serialize + 'static,
    F::Output: DeserializeOwned + Send + 'static,
{
}

/// Picks [`LocalRoute`] for every other call.
pub trait ViaLocal {
    fn __parallel_route<G>(&self, _: G) -> LocalRoute {
        LocalRoute
    }
}

impl<P, F, I> ViaLocal for TypeOf<(P, F, I)> {}

/// Runs a map in worker processes, where the route allows it.
pub trait Route<I, F, T> {
    /// The map's value, or the items and function back when this route cannot run it.
    ///
    /// # Errors
    ///
    /// The items and the function, for a call that must run elsewhere.
    fn run<C: Collector<T>>(
        self,
        options: Options,
        label: &'static str,
        items: I,
        f: F,
        collector: C,
    ) -> Result<C::Output, (I, F)>;
}

impl<I, F, T> Route<I, F, T> for LocalRoute {
    fn run<C: Collector<T>>(
        self,
        _: Options,
        _: &'static str,
        items: I,
        f: F,
        _: C,
    ) -> Result<C::Output, (I, F)> {
        Err((items, f))
    }
}

impl<I, F, T> Route<I, F, T> for ProcessRoute
where
    I: IntoIterator,
    F: ProcessFn<(I::Item,), Output = T>,
    I::Item: Serialize + 'static,
    T: DeserializeOwned + Send + 'static,
{
    fn run<C: Collector<T>>(
        self,
        options: Options,
        label: &'static str,
        items: I,
        f: F,
        collector: C,
    ) -> Result<C::Output, (I, F)> {
        Ok(process_map(
            options,
            label,
            items,
            collector,
            |pool, items| pool.map_unordered(f, items),
            |pool, item| pool.spawn(f, (item,)),
        ))
    }
}

impl<I, F, G, T> Route<I, F, T> for SpreadProcessRoute<G>
where
    I: IntoIterator,
    G: ProcessFn<I::Item, Output = T>,
    I::Item: Serialize + 'static,
    T: DeserializeOwned + Send + 'static,
{
    fn run<C: Collector<T>>(
        self,
        options: Options,
        label: &'static str,
        items: I,
        _: F,
        collector: C,
    ) -> Result<C::Output, (I, F)> {
        let function = self.0;
        Ok(process_map(
            options,
            label,
            items,
            collector,
            |pool, items| pool.starmap_unordered(function, items),
            |pool, item| pool.spawn(function, item),
        ))
    }
}

/// The map in worker processes: results in input order; the earliest failure re-raised in the
/// caller once the calls already sent have finished.
fn process_map<I, R, C>(
    options: Options,
    label: &'static str,
    items: I,
    collector: C,
    start: impl FnOnce(
        &crate::backend::process::ProcessPool,
        I::IntoIter,
    ) -> ProcessMapUnordered<I::IntoIter, R>,
    one: impl FnOnce(&crate::backend::process::ProcessPool, I::Item) -> Task<R>,
) -> C::Output
where
    I: IntoIterator,
    I::Item: Serialize + 'static,
    R: DeserializeOwned + Send + 'static,
    C: Collector<R>,
{
    let pool = crate::plan::process_pool(options);
    let mut items = items.into_iter();
    let low = items.size_hint().0;
    let ticker = ticker_for(options.progress.unwrap_or(false), items.size_hint(), label);
    if items.size_hint() == (1, Some(1))
        && let Some(item) = items.next()
    {
        // One call: a task, which a free worker gets from this thread and answers to it, with
        // none of a map's batching and reordering in between.
        let result = one(&pool, item).join();
        ticker.tick();
        return match result {
            Ok(value) => collector.finish(vec![value]),
            Err(error) => resume_unwind(error.with_index(0).into_panic()),
        };
    }
    let mut map = start(&pool, items);
    if let Some(chunk) = options.chunk {
        map = map.chunk(chunk.get());
    }
    let mut values = InOrder::with_capacity(low);
    // The earliest value that stops the map, and the earliest call that failed.
    let mut stop: Option<usize> = None;
    let mut first_error: Option<(usize, TaskError)> = None;
    let mut stops_at = |index: usize, map: &mut ProcessMapUnordered<_, _>| {
        map.stop_reading();
        stop = Some(stop.map_or(index, |stop| stop.min(index)));
    };
    while let Some(batch) = map.next_batch() {
        match batch.into_values() {
            Ok((first, batch)) => {
                ticker.tick_by(batch.len());
                if C::STOPS
                    && let Some(at) = batch.iter().position(|value| collector.stops(value))
                {
                    stops_at(first + at, &mut map);
                }
                values.insert(first, batch);
            }
            Err(batch) => {
                for (index, result) in batch {
                    ticker.tick();
                    match result {
                        Ok(value) => {
                            if collector.stops(&value) {
                                stops_at(index, &mut map);
                            }
                            values.insert(index, vec![value]);
                        }
                        Err(error) => {
                            map.stop_reading();
                            if first_error
                                .as_ref()
                                .is_none_or(|(earliest, _)| index < *earliest)
                            {
                                first_error = Some((index, error));
                            }
                        }
                    }
                }
            }
        }
    }
    if let Some((_, error)) = first_error {
        resume_unwind(error.into_panic());
    }
    // Every call before a stop ran; calls after it that ran anyway are dropped, as a
    // sequential `collect` would never have made them.
    collector.finish(values.into_prefix(stop.map(|stop| stop + 1)))
}
