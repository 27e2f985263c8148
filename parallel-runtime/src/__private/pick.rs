//! Picks made at compile time by method resolution ("autoref specialization"): the generated
//! code calls `(&&&call).__parallel_input()`; the trait implemented for the most references wins
//! (method resolution tries the receiver's type before dereferencing it), and an impl whose
//! bounds do not hold is skipped. Here: the kind of a map's input, and the type of its output.

use rayon::iter::{IndexedParallelIterator, IntoParallelIterator, ParallelIterator};

use crate::backend::work_stealing::RayonPool;
use crate::type_of::TypeOf;

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
    fn __parallel_input(&self) -> IterInput {
        IterInput
    }
}

impl<I> ViaIter for MapCall<I> {}

/// Gives a closure its parameter type from the input before anything else looks at it, and
/// returns its output type.
pub fn bind<F, I, T>(f: F, _items: &I) -> (F, TypeOf<T>)
where
    I: IntoIterator,
    F: Fn(I::Item) -> T,
{
    (f, TypeOf::new())
}

/// A computation over the items of a parallel iterator, once the input's kind has given one: a
/// map's, or a loop's.
pub trait RayonRun<T: Send>: Send + Sized {
    /// What the run gives.
    type Output: Send;

    /// Whether the run needs an indexed iterator (positions, or a length).
    fn needs_index(&self) -> bool;

    /// Runs on an indexed iterator.
    fn indexed<P: IndexedParallelIterator<Item = T>>(self, items: P) -> Self::Output;

    /// Runs on an iterator that rayon splits as it goes.
    fn unindexed<P: ParallelIterator<Item = T>>(self, items: P) -> Self::Output;
}

/// Runs a computation on rayon, the best way for the kind of input: split in place where it is
/// indexed, split as it goes where it is not, gathered into a `Vec` first otherwise.
pub trait InputKind<I: IntoIterator<Item: Send>>: Copy {
    /// Runs `run` over `items` on `pool`.
    fn run_rayon<R: RayonRun<I::Item>>(self, pool: &RayonPool, items: I, run: R) -> R::Output;
}

impl<I> InputKind<I> for IndexedInput
where
    I: IntoIterator<Item: Send> + IntoParallelIterator<Item = <I as IntoIterator>::Item> + Send,
    <I as IntoParallelIterator>::Iter: IndexedParallelIterator,
{
    fn run_rayon<R>(self, pool: &RayonPool, items: I, run: R) -> R::Output
    where
        R: RayonRun<<I as IntoIterator>::Item>,
    {
        pool.install(|| run.indexed(items.into_par_iter()))
    }
}

impl<I> InputKind<I> for UnindexedInput
where
    I: IntoIterator<Item: Send> + IntoParallelIterator<Item = <I as IntoIterator>::Item> + Send,
{
    fn run_rayon<R>(self, pool: &RayonPool, items: I, run: R) -> R::Output
    where
        R: RayonRun<<I as IntoIterator>::Item>,
    {
        if run.needs_index() {
            return IterInput.run_rayon(pool, items, run);
        }
        pool.install(|| run.unindexed(items.into_par_iter()))
    }
}

impl<I: IntoIterator<Item: Send>> InputKind<I> for IterInput {
    fn run_rayon<R: RayonRun<I::Item>>(self, pool: &RayonPool, items: I, run: R) -> R::Output {
        let items: Vec<I::Item> = items.into_iter().collect();
        pool.install(|| run.indexed(items.into_par_iter()))
    }
}
