//! What `par_map!` and `par_join!` need of the process backend: compile-time checks with
//! messages that say what to write, the route a call takes when the process backend is chosen
//! at run time, and the map and join themselves.

use std::marker::PhantomData;
use std::panic::resume_unwind;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::process::{ProcessFn, ProcessPool};
use crate::config::{Options, available_cores, env_options};
use crate::error::TaskError;
use crate::macro_map::{Collector, MapCall};
use crate::progress::ticker;
use crate::task::Task;

/// Proof, given by `#[parallel]`, that a function is registered to run in a worker process.
#[derive(Clone, Copy, Debug)]
pub struct IsTask;

/// What the probe gives for a function without `#[parallel]`.
#[derive(Clone, Copy, Debug)]
pub struct NotTask;

/// What the probe gives for a generic `#[parallel]` function: it has no single registry entry.
#[derive(Clone, Copy, Debug)]
pub struct GenericTask;

/// A function that can run in a worker process.
#[diagnostic::on_unimplemented(
    message = "only non-generic `#[parallel]` functions can run in a worker process",
    label = "not a `#[parallel]` function",
    note = "add `#[parallel]` to the function's definition, or choose `backend = rayon` or `backend = threads`"
)]
pub trait ParallelTask {}

impl ParallelTask for IsTask {}

/// Checks that the probe found a `#[parallel]` function.
pub fn require_task<P: ParallelTask>(_: &P) {}

/// Data that can cross to a worker process and back.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross to a worker process",
    label = "not owned serde data",
    note = "process tasks take and return owned values that implement `serde::Serialize` and `serde::Deserialize`: derive them, pass an owned value instead of a reference, or choose `backend = threads`"
)]
pub trait ProcessData: Serialize + DeserializeOwned {}

impl<T: Serialize + DeserializeOwned> ProcessData for T {}

/// Checks a type at the definition of a `#[parallel(backend = process)]` function.
pub fn require_data<T: ProcessData + ?Sized>() {}

/// Checks one argument of a `par_join!` process task where it is written.
pub fn process_arg<T: ProcessData>(value: T) -> T {
    value
}

/// Checks the items of a `par_map!` process call.
pub fn check_items<I>(_: &MapCall<I>)
where
    I: IntoIterator,
    I::Item: ProcessData,
{
}

/// Checks the result type of a `par_map!` process call.
pub fn check_output<I, F, R>(_: &F, _: &MapCall<I>)
where
    I: IntoIterator,
    F: Fn(I::Item) -> R,
    R: ProcessData,
{
}

/// The pick of a call's route to the process backend.
pub struct RouteProbe<P, F, I>(PhantomData<fn() -> (P, F, I)>);

/// Makes the probe from the call's proof, function and input.
pub fn route_probe<P, F, I>(_: &P, _: &F, _: &MapCall<I>) -> RouteProbe<P, F, I> {
    RouteProbe(PhantomData)
}

/// The call can run in worker processes.
#[derive(Clone, Copy, Debug)]
pub struct ProcessRoute;

/// The call cannot run in worker processes (a closure, or data that is not serde data): when
/// the process backend is chosen at run time, it runs on rayon instead.
#[derive(Clone, Copy, Debug)]
pub struct LocalRoute;

/// Picks [`ProcessRoute`] where a `#[parallel]` function's data can cross.
pub trait ViaProcess {
    /// The route.
    fn __parallel_route(&self) -> ProcessRoute {
        ProcessRoute
    }
}

impl<F, I> ViaProcess for RouteProbe<IsTask, F, I>
where
    I: IntoIterator,
    F: ProcessFn<(I::Item,)>,
    I::Item: Serialize,
    F::Output: DeserializeOwned + Send + 'static,
{
}

/// Picks [`LocalRoute`] for every other call.
pub trait ViaLocal {
    /// The route.
    fn __parallel_route(&self) -> LocalRoute {
        LocalRoute
    }
}

impl<P, F, I> ViaLocal for &RouteProbe<P, F, I> {}

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
        workers: usize,
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
        _: usize,
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
    I::Item: Serialize,
    T: DeserializeOwned + Send + 'static,
{
    fn run<C: Collector<T>>(
        self,
        options: Options,
        workers: usize,
        label: &'static str,
        items: I,
        f: F,
        collector: C,
    ) -> Result<C::Output, (I, F)> {
        Ok(process_map(options, workers, label, items, f, collector))
    }
}

/// The map in worker processes: results in input order; the earliest failure re-raised in the
/// caller once the calls already sent have finished.
fn process_map<I, F, C>(
    options: Options,
    workers: usize,
    label: &'static str,
    items: I,
    f: F,
    collector: C,
) -> C::Output
where
    I: IntoIterator,
    F: ProcessFn<(I::Item,)>,
    I::Item: Serialize,
    F::Output: DeserializeOwned + Send + 'static,
    C: Collector<F::Output>,
{
    let pool = ProcessPool::shared(workers).configured(options.timeout, options.retries.unwrap_or(0));
    let items = items.into_iter();
    let (low, high) = items.size_hint();
    let ticker = ticker(
        options.progress.unwrap_or(false),
        (Some(low) == high).then_some(low),
        label,
    );
    let mut map = pool.map_unordered(f, items);
    if let Some(chunk) = options.chunk {
        map = map.chunk(chunk.get());
    }
    let mut values: Vec<Option<F::Output>> = Vec::with_capacity(low);
    let mut first_error: Option<(usize, TaskError)> = None;
    while let Some((index, result)) = map.next() {
        ticker.tick();
        match result {
            Ok(value) => {
                if collector.stops(&value) {
                    map.stop_reading();
                }
                if values.len() <= index {
                    values.resize_with(index + 1, || None);
                }
                values[index] = Some(value);
            }
            Err(error) => {
                map.stop_reading();
                if first_error.as_ref().is_none_or(|(earliest, _)| index < *earliest) {
                    first_error = Some((index, error));
                }
            }
        }
    }
    if let Some((_, error)) = first_error {
        resume_unwind(error.into_panic());
    }
    collector.finish_partial(values)
}

/// The shared process pool for a call's options and the environment.
///
/// # Panics
///
/// If `PARALLEL_WORKERS` is invalid.
#[track_caller]
pub fn process_pool(options: Options) -> ProcessPool {
    let env = env_options().unwrap_or_else(|e| panic!("{e}"));
    let options = options.or(env);
    let workers = options.workers.map_or_else(available_cores, |w| w.get());
    ProcessPool::shared(workers).configured(options.timeout, options.retries.unwrap_or(0))
}

/// Spawns one `par_join!` process task.
pub fn process_spawn<F, Args>(pool: &ProcessPool, f: F, args: Args) -> Task<F::Output>
where
    F: ProcessFn<Args>,
    Args: Serialize,
    F::Output: DeserializeOwned + Send + 'static,
{
    pool.spawn(f, args)
}

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
