//! Picks made at compile time by method resolution ("autoref specialization"): the generated
//! code calls `(&&&call).__parallel_input()`; the trait implemented for the most references wins
//! (method resolution tries the receiver's type before dereferencing it), and an impl whose
//! bounds do not hold is skipped. Here: the kind of a map's input, and the type of its output.

use std::marker::PhantomData;

use rayon::iter::{IndexedParallelIterator, IntoParallelIterator};

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
