//! `#[parallel] for`: runs a loop's iterations on the planned backend, each worker folding a
//! partial of every reduction, combined in input order after the loop. The loop's first
//! collected `Vec` is written in place where rayon knows the input's length (see `place`).

use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::iter::{IndexedParallelIterator, ParallelIterator};

use super::pick::{InputKind, RayonRun};
use super::place::{Place, Shared, Sink, run_in_place};
use super::reduce::{LoopStep, Segments, merge_segments, segments};
use crate::backend::scoped::{FirstPanic, scoped_chunks};
use crate::config::Options;
use crate::config::default_thread_workers;
use crate::plan::{Plan, plan};
use crate::progress::{Ticker, ticker, ticker_for};
use crate::type_of::TypeOf;

/// The pieces the macro generates for one loop.
pub struct Parts<'a, A, B, C> {
    identity: &'a (dyn Fn() -> A + Sync),
    body: &'a B,
    combine: &'a C,
    chunk: Option<NonZeroUsize>,
}

/// A loop on rayon, for the input's kind to run.
struct ForRun<'a, A, S, B, C, G, P> {
    parts: Parts<'a, A, B, C>,
    target: &'a mut G,
    place: P,
    ticker: &'a Ticker,
    step: PhantomData<fn() -> S>,
}

impl<X, A, S, B, C, G, P> RayonRun<X> for ForRun<'_, A, S, B, C, G, P>
where
    X: Send,
    A: Send,
    S: LoopStep<Exit: Send>,
    B: for<'s> Fn(&mut A, &mut Sink<'s, P::Item>, X) -> S + Sync,
    C: Fn(&mut A, A) + Sync,
    G: Send,
    P: Place<G>,
{
    type Output = Result<A, S::Exit>;

    fn needs_index(&self) -> bool {
        self.parts.chunk.is_some()
    }

    fn indexed<I: IndexedParallelIterator<Item = X>>(self, items: I) -> Self::Output {
        let ForRun {
            parts,
            target,
            place,
            ticker,
            ..
        } = self;
        let len = items.len();
        if let Some(vec) = place.as_vec(target) {
            let items = items.with_min_len(parts.chunk.map_or(1, NonZeroUsize::get));
            return in_place(items, len, vec, parts, ticker);
        }
        let (body, combine) = (with_sink(parts.body), with_segments(parts.combine));
        let identity = || (parts.identity)();
        let identity = with_empty_pushes::<_, P::Item>(&identity);
        let wrapped = Parts {
            identity: &identity,
            body: &body,
            combine: &combine,
            chunk: parts.chunk,
        };
        let (partial, pushes) = rayon_for(items, wrapped, ticker)?;
        place.extend(target, pushes.into_list());
        Ok(partial)
    }

    fn unindexed<I: ParallelIterator<Item = X>>(self, items: I) -> Self::Output {
        let ForRun {
            parts,
            target,
            place,
            ticker,
            ..
        } = self;
        if let (Some(vec), Some(len)) = (place.as_vec(target), items.opt_len()) {
            return in_place(items, len, vec, parts, ticker);
        }
        let (body, combine) = (with_sink(parts.body), with_segments(parts.combine));
        let identity = || (parts.identity)();
        let identity = with_empty_pushes::<_, P::Item>(&identity);
        let wrapped = Parts {
            identity: &identity,
            body: &body,
            combine: &combine,
            chunk: parts.chunk,
        };
        let (partial, pushes) = fold_splits(items, wrapped, ticker)?;
        place.extend(target, pushes.into_list());
        Ok(partial)
    }
}

/// The partial of the loop's other reductions, with the pushes onto its first collected
/// variable where they are not written in place.
type WithPushes<A, T> = (A, Segments<Vec<T>>);

/// The starting partial with no pushes yet.
fn with_empty_pushes<A, T>(
    identity: &(impl Fn() -> A + Sync),
) -> impl Fn() -> WithPushes<A, T> + Sync {
    move || (identity(), segments(TypeOf::<Vec<T>>::new()))
}

/// The body over a partial that carries its pushes: they go onto the partial's `Vec`.
fn with_sink<A, T, X, S, B>(body: &B) -> impl Fn(&mut WithPushes<A, T>, X) -> S + Sync
where
    B: for<'s> Fn(&mut A, &mut Sink<'s, T>, X) -> S + Sync,
{
    move |(partial, pushes), item| body(partial, &mut Sink::onto(&mut pushes.current), item)
}

/// The combination of partials that carry their pushes: the right's come after the left's.
fn with_segments<A, T, C>(combine: &C) -> impl Fn(&mut WithPushes<A, T>, WithPushes<A, T>) + Sync
where
    C: Fn(&mut A, A) + Sync,
{
    move |left, right| {
        combine(&mut left.0, right.0);
        merge_segments(&mut left.1, right.1);
    }
}

/// [`run_in_place`] with the loop's parts, ticking `ticker` after every item where it is drawn.
fn in_place<I, A, S, B, C, T>(
    items: I,
    len: usize,
    target: &mut Vec<T>,
    parts: Parts<'_, A, B, C>,
    ticker: &Ticker,
) -> Result<A, S::Exit>
where
    I: ParallelIterator,
    A: Send,
    T: Send,
    S: LoopStep<Exit: Send>,
    B: for<'s> Fn(&mut A, &mut Sink<'s, T>, I::Item) -> S + Sync,
    C: Fn(&mut A, A) + Sync,
{
    if ticker.is_drawn() {
        in_place_ticked(items, len, target, parts, || ticker.tick())
    } else {
        // No call in the loop, as in `fold_splits`.
        in_place_ticked(items, len, target, parts, || {})
    }
}

/// [`run_in_place`] with the loop's parts and `tick` called after every item.
fn in_place_ticked<I, A, S, B, C, T>(
    items: I,
    len: usize,
    target: &mut Vec<T>,
    parts: Parts<'_, A, B, C>,
    tick: impl Fn() + Sync,
) -> Result<A, S::Exit>
where
    I: ParallelIterator,
    A: Send,
    T: Send,
    S: LoopStep<Exit: Send>,
    B: for<'s> Fn(&mut A, &mut Sink<'s, T>, I::Item) -> S + Sync,
    C: Fn(&mut A, A) + Sync,
{
    let shared = Shared {
        identity: parts.identity,
        body: parts.body,
        combine: parts.combine,
        tick,
        stop: std::sync::atomic::AtomicBool::new(false),
    };
    run_in_place(items, len, target, &shared)
}

fn rayon_for<P, A, S, B, C>(
    items: P,
    parts: Parts<'_, A, B, C>,
    ticker: &Ticker,
) -> Result<A, S::Exit>
where
    P: IndexedParallelIterator,
    A: Send,
    S: LoopStep,
    S::Exit: Send,
    B: Fn(&mut A, P::Item) -> S + Sync,
    C: Fn(&mut A, A) + Sync,
{
    // Each split folds into a partial of its own, and partials merge up rayon's tree of splits:
    // a floor on the split size keeps that tree to about eight leaves per thread, enough to
    // balance the load, few enough that merging costs nothing next to the items.
    let min_len = parts.chunk.map_or_else(
        || items.len() / (8 * rayon::current_num_threads()),
        NonZeroUsize::get,
    );
    fold_splits(items.with_min_len(min_len.max(1)), parts, ticker)
}

/// Folds every split of `items` into a partial and merges neighbouring partials: rayon folds
/// each split in order and reduces neighbours in order, so collected reductions keep the
/// input's order.
fn fold_splits<P, A, S, B, C>(
    items: P,
    parts: Parts<'_, A, B, C>,
    ticker: &Ticker,
) -> Result<A, S::Exit>
where
    P: ParallelIterator,
    A: Send,
    S: LoopStep,
    S::Exit: Send,
    B: Fn(&mut A, P::Item) -> S + Sync,
    C: Fn(&mut A, A) + Sync,
{
    if ticker.is_drawn() {
        fold_ticked(items, parts, || ticker.tick())
    } else {
        // No call in the loop: the compiler then keeps a pushed `Vec`'s length in a register
        // instead of storing and reloading it at every item (a third of the time it took).
        fold_ticked(items, parts, || {})
    }
}

/// [`fold_splits`] with `tick` called after every item.
fn fold_ticked<P, A, S, B, C>(
    items: P,
    parts: Parts<'_, A, B, C>,
    tick: impl Fn() + Sync,
) -> Result<A, S::Exit>
where
    P: ParallelIterator,
    A: Send,
    S: LoopStep,
    S::Exit: Send,
    B: Fn(&mut A, P::Item) -> S + Sync,
    C: Fn(&mut A, A) + Sync,
{
    let Parts {
        identity,
        body,
        combine,
        ..
    } = parts;
    // Partials move through rayon's fold by value at every item: boxed, a move is one pointer,
    // where a partial of a few words (a `Vec` being filled) was copied through memory each time.
    let identity = || Box::new(identity());
    let merge = |mut left: Box<A>, right: Box<A>| {
        combine(&mut left, *right);
        left
    };
    if !S::STOPS {
        let fold = |mut partial: Box<A>, item| {
            body(&mut partial, item);
            tick();
            partial
        };
        return Ok(*items.fold(identity, fold).reduce(identity, merge));
    }
    let step = |mut partial: Box<A>, item| {
        let exit = body(&mut partial, item).into_exit();
        tick();
        match exit {
            None => Ok(partial),
            Some(exit) => Err(exit),
        }
    };
    items
        .try_fold(identity, step)
        .try_reduce(identity, |left, right| Ok(merge(left, right)))
        .map(|partial| *partial)
}

/// `#[parallel] for`'s entry point: runs `body` on every item where `options` and the
/// environment say, and returns the combined partials, or the exit of the iteration that
/// stopped the loop (which one, if several fail at once, is not specified). The pushes of the
/// body onto its [`Sink`] are appended, in input order, to `target` (the loop's first collected
/// variable, or `()`) as `place` says, only if no iteration stopped the loop.
///
/// # Panics
///
/// If an iteration panics: with its payload, once the running iterations have finished.
#[track_caller]
#[allow(clippy::too_many_arguments)]
pub fn par_for<I, K, A, S, B, C, G, P>(
    options: Options,
    items: I,
    kind: K,
    target: &mut G,
    place: P,
    identity: impl Fn() -> A + Sync,
    body: B,
    combine: C,
) -> Result<A, S::Exit>
where
    I: IntoIterator,
    I::Item: Send,
    K: InputKind<I>,
    A: Send,
    S: LoopStep,
    S::Exit: Send,
    B: for<'s> Fn(&mut A, &mut Sink<'s, P::Item>, I::Item) -> S + Sync,
    C: Fn(&mut A, A) + Sync,
    G: Send,
    P: Place<G>,
{
    let parts = Parts {
        identity: &identity,
        body: &body,
        combine: &combine,
        chunk: options.chunk,
    };
    let progress = options.progress.unwrap_or(false);
    match plan(options) {
        Plan::Threads(workers) => {
            let (body, combine) = (with_sink(parts.body), with_segments(parts.combine));
            let identity = with_empty_pushes::<_, P::Item>(&identity);
            let wrapped = Parts {
                identity: &identity,
                body: &body,
                combine: &combine,
                chunk: parts.chunk,
            };
            let workers = workers.unwrap_or_else(default_thread_workers);
            let (partial, pushes) = threads_for(workers, items, wrapped, progress)?;
            place.extend(target, pushes.into_list());
            Ok(partial)
        }
        plan => {
            let ticker = ticker(progress, None, "parallel for");
            let run = ForRun {
                parts,
                target,
                place,
                ticker: &ticker,
                step: PhantomData,
            };
            kind.run_rayon(&plan.rayon_pool(), items, run)
        }
    }
}

/// The loop on scoped OS threads: the caller hands out chunks of the input; each chunk folds
/// into its own partial, and the partials combine in chunk order.
fn threads_for<I, A, S, B, C>(
    workers: usize,
    items: I,
    parts: Parts<'_, A, B, C>,
    progress: bool,
) -> Result<A, S::Exit>
where
    I: IntoIterator,
    I::Item: Send,
    A: Send,
    S: LoopStep,
    S::Exit: Send,
    B: Fn(&mut A, I::Item) -> S + Sync,
    C: Fn(&mut A, A) + Sync,
{
    let Parts {
        identity,
        body,
        combine,
        chunk,
    } = parts;
    let input = items.into_iter();
    let ticker = ticker_for(progress, input.size_hint(), "parallel for");
    let stopped = AtomicBool::new(false);
    let exit: Mutex<Option<S::Exit>> = Mutex::new(None);
    let partials: Mutex<Vec<(usize, A)>> = Mutex::new(Vec::new());
    let first_panic = FirstPanic::default();
    scoped_chunks(
        workers,
        chunk.map_or(1, NonZeroUsize::get),
        input,
        || !stopped.load(Ordering::Relaxed),
        |number, items| {
            if stopped.load(Ordering::Relaxed) {
                return;
            }
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut partial = identity();
                for item in items {
                    if let Some(stop) = body(&mut partial, item).into_exit() {
                        return Err(stop);
                    }
                    ticker.tick();
                }
                Ok(partial)
            }));
            match run {
                Ok(Ok(partial)) => partials
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((number, partial)),
                Ok(Err(stop)) => {
                    stopped.store(true, Ordering::Relaxed);
                    exit.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert(stop);
                }
                Err(payload) => {
                    stopped.store(true, Ordering::Relaxed);
                    first_panic.record(number, payload);
                }
            }
        },
    );
    first_panic.resume();
    if let Some(stop) = exit.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(stop);
    }
    let mut partials = partials.into_inner().unwrap_or_else(|e| e.into_inner());
    partials.sort_unstable_by_key(|(number, _)| *number);
    let mut total = identity();
    for (_, partial) in partials {
        combine(&mut total, partial);
    }
    Ok(total)
}

#[cfg(test)]
mod test;
