//! What a `#[parallel] for` loop's body returns and how its reductions combine: loop steps and
//! exits, `?` and `.await` in the body, and the partials of each worker.

use crate::type_of::TypeOf;
use std::convert::Infallible;

/// What one iteration's closure returns: go on, or stop the loop with an exit value.
pub trait LoopStep {
    /// What stops the loop (the error of a `?`).
    type Exit;
    /// Whether any step can stop the loop (else the loop runs without checking).
    const STOPS: bool = true;
    /// The value that ends an iteration normally (what `continue` returns).
    const CONTINUE: Self;
    /// The exit value, if this step stops the loop.
    fn into_exit(self) -> Option<Self::Exit>;
}

impl LoopStep for () {
    type Exit = Infallible;
    const STOPS: bool = false;
    const CONTINUE: Self = ();

    fn into_exit(self) -> Option<Infallible> {
        None
    }
}

impl<E> LoopStep for Result<(), E> {
    type Exit = E;
    const CONTINUE: Self = Ok(());

    fn into_exit(self) -> Option<E> {
        self.err()
    }
}

impl LoopStep for Option<()> {
    type Exit = ();
    const CONTINUE: Self = Some(());

    fn into_exit(self) -> Option<()> {
        match self {
            Some(()) => None,
            None => Some(()),
        }
    }
}

/// A function return type that a `?` inside a `#[parallel]` loop can return through: the
/// iteration's closure returns [`LoopExit::Step`], so that its `?` converts errors exactly as
/// the function's own `?` would.
#[diagnostic::on_unimplemented(
    message = "`?` in a `#[parallel]` loop returns from the function, which returns `{Self}`",
    label = "the function must return `Result` or `Option` for `?` to stop the loop",
    note = "make the function return `Result` or `Option`, or handle the error inside the loop"
)]
pub trait LoopExit {
    /// What an iteration returns.
    type Step: LoopStep;
    /// The function's value when an iteration's `?` stopped the loop.
    fn exit(exit: <Self::Step as LoopStep>::Exit) -> Self;
}

impl<T, E> LoopExit for Result<T, E> {
    type Step = Result<(), E>;

    fn exit(error: E) -> Self {
        Err(error)
    }
}

impl<T> LoopExit for Option<T> {
    type Step = Option<()>;

    fn exit((): ()) -> Self {
        None
    }
}

/// Stands for `future.await` in a loop that was rejected for awaiting: keeps the type, never
/// runs (the program does not compile).
pub fn awaited<F: std::future::IntoFuture>(_: F) -> F::Output {
    unreachable!("a rejected `#[parallel]` loop never compiles")
}

/// Stands for `value?` in a loop that was rejected for its `?`: keeps the type, never runs.
pub fn tried<R: Tried>(_: R) -> R::Output {
    unreachable!("a rejected `#[parallel]` loop never compiles")
}

/// What `?` unwraps: the value of a `Result` or an `Option`.
pub trait Tried {
    /// The value.
    type Output;
}

impl<T, E> Tried for Result<T, E> {
    type Output = T;
}

impl<T> Tried for Option<T> {
    type Output = T;
}

/// The partial of a collecting reduction (`x.push(e)`, `x.extend(e)`): the body fills
/// `current`; merging two partials only links their segments, so that every element is copied
/// once, into the variable, after the loop.
pub struct Segments<C> {
    /// The collection the body pushes onto.
    pub current: C,
    done: std::collections::LinkedList<C>,
}

/// The starting partial of a collecting reduction.
pub fn segments<C: Default>(_: TypeOf<C>) -> Segments<C> {
    Segments {
        current: C::default(),
        done: std::collections::LinkedList::new(),
    }
}

/// Merges the partial of the items after `left`'s into `left`.
pub fn merge_segments<C: Default>(left: &mut Segments<C>, right: Segments<C>) {
    let current = std::mem::replace(&mut left.current, right.current);
    left.done.push_back(current);
    let mut right_done = right.done;
    left.done.append(&mut right_done);
}

impl<C> Segments<C> {
    /// The segments, in order.
    pub(super) fn into_list(self) -> std::collections::LinkedList<C> {
        let mut list = self.done;
        list.push_back(self.current);
        list
    }
}

/// Appends a collecting reduction's segments, in order, to the variable.
pub fn extend_segments<C>(target: &mut C, partial: Segments<C>)
where
    C: Extend<<C as IntoIterator>::Item> + IntoIterator,
{
    for segment in partial.done {
        target.extend(segment);
    }
    target.extend(partial.current);
}

/// The starting partial of a sum-like or collecting reduction: `T::default()`.
pub fn zero<T: Default>(_: TypeOf<T>) -> T {
    T::default()
}

/// The starting partial of a `max`/`min` reduction: nothing yet.
pub fn none<T>(_: TypeOf<T>) -> Option<T> {
    None
}

/// Folds `value` into a `max`/`min` partial with `pick`.
pub fn fold_option<T>(partial: &mut Option<T>, value: T, pick: impl FnOnce(T, T) -> T) {
    *partial = Some(match partial.take() {
        Some(current) => pick(current, value),
        None => value,
    });
}

/// Merges two `max`/`min` partials with `pick`.
pub fn merge_option<T>(
    left: Option<T>,
    right: Option<T>,
    pick: impl FnOnce(T, T) -> T,
) -> Option<T> {
    match (left, right) {
        (Some(left), Some(right)) => Some(pick(left, right)),
        (left, right) => left.or(right),
    }
}
