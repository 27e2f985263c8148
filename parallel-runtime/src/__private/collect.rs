//! How the results of a map become its value: a `Vec`, or `Result<Vec<_>, E>` for functions
//! that return `Result`.

use crate::type_of::TypeOf;

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
    fn __parallel_collector(&self) -> ResultCollect {
        ResultCollect
    }
}

impl<U, E> ViaResult for TypeOf<Result<U, E>> {}

/// Picks [`PlainCollect`] for every other output.
pub trait ViaPlain {
    fn __parallel_collector(&self) -> PlainCollect {
        PlainCollect
    }
}

impl<T> ViaPlain for &TypeOf<T> {}
