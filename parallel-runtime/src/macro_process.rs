//! What `par_map!` and `par_join!` need of the process backend: compile-time checks with
//! messages that say what to write, the route a call takes when the process backend is chosen
//! at run time, and the map and join themselves.

use std::marker::PhantomData;
use std::panic::resume_unwind;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::process::{ProcessFn, ProcessMapUnordered, ProcessPool};
use crate::config::{Options, available_cores, env_options};
use crate::error::TaskError;
use crate::macro_map::{Collector, MapCall};
use crate::order::Runs;
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
    message = "this function cannot run in a worker process",
    label = "not a `#[parallel]` function of owned, concrete types",
    note = "a process task is a `#[parallel]` function without generics whose arguments and result are owned serde data; add `#[parallel]` to its definition, or choose `backend = rayon` or `backend = threads`"
)]
pub trait ParallelTask {}

impl ParallelTask for IsTask {}

/// Checks that the probe found a `#[parallel]` function.
pub fn require_task<P: ParallelTask>(_: &P) {}

/// The pick of whether values of `T` can cross to a worker process and back. The pick is made
/// by method resolution, so that a type that is neither `Serialize` nor `Deserialize` gives one
/// error, not one per missing trait.
pub struct DataProbe<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> DataProbe<T> {
    /// The probe for `T`.
    pub const fn new() -> Self {
        DataProbe(PhantomData)
    }
}

impl<T: ?Sized> Default for DataProbe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The probe for the type of `value`.
pub fn data_probe<T>(_: &T) -> DataProbe<T> {
    DataProbe::new()
}

/// The probe for the items of a map.
pub fn items_probe<I: IntoIterator>(_: &MapCall<I>) -> DataProbe<I::Item> {
    DataProbe::new()
}

/// The probe for what `f` returns on the items of a map.
pub fn output_probe<I, F, R>(_: &F, _: &MapCall<I>) -> DataProbe<R>
where
    I: IntoIterator,
    F: Fn(I::Item) -> R,
{
    DataProbe::new()
}

/// The type is serde data.
#[derive(Clone, Copy, Debug)]
pub struct Serde;

/// The type is not serde data.
#[derive(Clone, Copy, Debug)]
pub struct NotSerde;

/// Picks [`Serde`] for owned serde data.
pub trait ViaSerdeData {
    /// The pick.
    fn __parallel_data(&self) -> Serde {
        Serde
    }
}

impl<T: Serialize + DeserializeOwned> ViaSerdeData for DataProbe<T> {}

/// Picks [`NotSerde`] for every other type.
pub trait ViaNotSerde {
    /// The pick.
    fn __parallel_data(&self) -> NotSerde {
        NotSerde
    }
}

impl<T: ?Sized> ViaNotSerde for &DataProbe<T> {}

/// Values of `T` can cross to a worker process: implemented for [`Serde`] only.
#[diagnostic::on_unimplemented(
    message = "`{T}` cannot cross to a worker process",
    label = "not owned serde data",
    note = "process tasks take and return owned values that implement `serde::Serialize` and `serde::Deserialize`: derive them, pass an owned value instead of a reference, or choose `backend = threads`"
)]
pub trait Crosses<T: ?Sized> {}

impl<T: ?Sized> Crosses<T> for Serde {}

/// Checks the pick for `T`.
pub fn require_crossing<T: ?Sized, M: Crosses<T>>(_: &DataProbe<T>, _: M) {}

/// The pick of a call's route to the process backend.
pub struct RouteProbe<P, F, I>(Marker<(P, F, I)>);

/// Carries types without owning values of them (and without their auto traits).
type Marker<T> = PhantomData<fn() -> T>;

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
    let pool =
        ProcessPool::shared(workers).configured(options.timeout, options.retries.unwrap_or(0));
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
                if C::STOPS {
                    if let Some(at) = batch.iter().position(|value| collector.stops(value)) {
                        stops_at(first + at, &mut map);
                    }
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

/// The values of a map's batches back in input order, each batch moved once.
struct InOrder<T> {
    done: Vec<T>,
    runs: Runs<Vec<T>>,
}

impl<T> InOrder<T> {
    fn with_capacity(capacity: usize) -> Self {
        InOrder {
            done: Vec::with_capacity(capacity),
            runs: Runs::default(),
        }
    }

    /// Adds the results of calls `first..first + run.len()`.
    fn insert(&mut self, first: usize, run: Vec<T>) {
        self.runs.insert(first, run.len(), run);
        while let Some(mut run) = self.runs.pop() {
            self.done.append(&mut run);
        }
    }

    /// The results from the first call on, up to `len` of them when given.
    ///
    /// # Panics
    ///
    /// If a call before the end (or before `len`) has no result: a map that lost none has them
    /// all.
    fn into_prefix(mut self, len: Option<usize>) -> Vec<T> {
        match len {
            Some(len) => {
                assert!(self.done.len() >= len, "a call before a stop has no result");
                self.done.truncate(len);
            }
            None => assert!(self.runs.is_empty(), "a call has no result"),
        }
        self.done
    }
}

/// The shared process pool for a call's options and the environment.
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
    let workers = options.workers.map_or_else(available_cores, |w| w.get());
    ProcessPool::shared(workers).configured(options.timeout, options.retries.unwrap_or(0))
}

/// The probe for what `f` returns on `args`.
pub fn spawn_output_probe<F, Args>(_: &F, _: &Args) -> DataProbe<F::Output>
where
    F: ProcessFn<Args>,
{
    DataProbe::new()
}

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
    Args: Serialize,
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

#[cfg(test)]
mod test {
    use super::InOrder;

    #[test]
    fn runs_arriving_out_of_order_come_out_in_order() {
        let mut order = InOrder::with_capacity(0);
        order.insert(5, vec![5, 6]);
        order.insert(2, vec![2, 3, 4]);
        order.insert(0, vec![0, 1]);
        order.insert(7, vec![7]);
        assert_eq!(order.into_prefix(None), [0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn a_stop_keeps_the_calls_before_it() {
        let mut order = InOrder::with_capacity(0);
        order.insert(4, vec![4, 5]);
        order.insert(0, vec![0, 1, 2]);
        // Call 3 never ran: the map stopped at call 2.
        assert_eq!(order.into_prefix(Some(3)), [0, 1, 2]);
    }
}
