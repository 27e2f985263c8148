//! The in-order `x.push(e)` of a `#[parallel] for`, written in place: where the input's length
//! is known and `x` is a `Vec`, item `i`'s first push goes straight into slot `i` of `x`'s spare
//! capacity, as rayon's indexed `collect` writes, and nothing is copied after the loop when
//! every item pushed exactly once. Items that push nothing leave a gap, and further pushes of
//! an item are kept aside; the values are then gathered in order once, after the loop.
//!
//! This file holds what the rewritten loop body calls ([`Sink`]) and how a variable receives its
//! values ([`Place`]); `in_place` holds rayon's consumer that writes the slots.

use std::collections::LinkedList;
use std::mem::MaybeUninit;

use crate::type_of::TypeOf;

mod in_place;

pub(super) use in_place::{Shared, run_in_place};

/// What `x.push(e)` and `x.extend(e)` act on inside a `#[parallel]` loop, for the loop's first
/// collected variable `x`: this iteration's slot of `x` where the loop writes in place, else
/// the partial `Vec` of the worker running the iteration.
pub struct Sink<'s, T> {
    slot: Option<&'s mut MaybeUninit<T>>,
    wrote: bool,
    kept: bool,
    extra: &'s mut Vec<T>,
}

impl<'s, T> Sink<'s, T> {
    /// A sink that pushes onto `values`.
    pub(super) fn onto(values: &'s mut Vec<T>) -> Self {
        Sink {
            slot: None,
            wrote: false,
            kept: false,
            extra: values,
        }
    }

    /// Appends `value` after the values this iteration already pushed (`Vec::push`).
    #[inline]
    pub fn push(&mut self, value: T) {
        match self.slot.take() {
            Some(slot) => {
                slot.write(value);
                self.wrote = true;
            }
            None => {
                self.extra.push(value);
                self.kept = true;
            }
        }
    }

    /// Appends every value of `values`, in order (`Vec::extend`: values, or references to
    /// `Copy` values).
    pub fn extend<I>(&mut self, values: I)
    where
        I: IntoIterator<Item: Extended<T>>,
    {
        for value in values {
            self.push(value.into_value());
        }
    }
}

/// What [`Sink::extend`] takes, as `Vec::extend` does: values, or references to `Copy` values.
pub trait Extended<T> {
    /// The value to push.
    fn into_value(self) -> T;
}

impl<T> Extended<T> for T {
    fn into_value(self) -> T {
        self
    }
}

impl<T: Copy> Extended<T> for &T {
    fn into_value(self) -> T {
        *self
    }
}

/// How a loop's first collected variable receives its values: in place (a `Vec`), or by
/// `Extend` (any other collection), or not at all (a loop that collects nothing).
pub trait Place<C>: Copy + Send + Sync {
    /// What the loop pushes.
    type Item: Send;
    /// The variable as a `Vec`, for the loop to write in place.
    fn as_vec(self, target: &mut C) -> Option<&mut Vec<Self::Item>>;
    /// Appends the partials of the workers, in input order.
    fn extend(self, target: &mut C, segments: LinkedList<Vec<Self::Item>>);
}

/// A `Vec`: written in place where the input's length is known.
#[derive(Clone, Copy, Debug)]
pub struct VecPlace;

impl<T: Send> Place<Vec<T>> for VecPlace {
    type Item = T;

    fn as_vec(self, target: &mut Vec<T>) -> Option<&mut Vec<T>> {
        Some(target)
    }

    fn extend(self, target: &mut Vec<T>, segments: LinkedList<Vec<T>>) {
        target.reserve(segments.iter().map(Vec::len).sum());
        for mut segment in segments {
            target.append(&mut segment);
        }
    }
}

/// Any other collection: extended with the partials after the loop.
#[derive(Clone, Copy, Debug)]
pub struct ExtendPlace;

impl<C> Place<C> for ExtendPlace
where
    C: Extend<<C as IntoIterator>::Item> + IntoIterator<Item: Send>,
{
    type Item = C::Item;

    fn as_vec(self, _: &mut C) -> Option<&mut Vec<C::Item>> {
        None
    }

    fn extend(self, target: &mut C, segments: LinkedList<Vec<C::Item>>) {
        for segment in segments {
            target.extend(segment);
        }
    }
}

/// A loop that collects nothing.
#[derive(Clone, Copy, Debug)]
pub struct NoPlace;

impl Place<()> for NoPlace {
    type Item = ();

    fn as_vec(self, _: &mut ()) -> Option<&mut Vec<()>> {
        None
    }

    fn extend(self, _: &mut (), _: LinkedList<Vec<()>>) {}
}

/// Picks [`VecPlace`] for a `Vec`.
pub trait ViaVecPlace {
    fn __parallel_place(&self) -> VecPlace {
        VecPlace
    }
}

impl<T> ViaVecPlace for TypeOf<Vec<T>> {}

/// Picks [`ExtendPlace`] for every other collection.
pub trait ViaExtendPlace {
    fn __parallel_place(&self) -> ExtendPlace {
        ExtendPlace
    }
}

impl<C> ViaExtendPlace for &TypeOf<C> {}

#[cfg(test)]
mod test;
