//! Compile-time proofs for the process backend, with messages that say what to write: a
//! function is a `#[parallel]` task, and values of a type can cross to a worker process.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::pick::MapCall;
use crate::backend::process::ProcessFn;
use crate::type_of::TypeOf;

/// Proof, given by `#[parallel]`, that a function is registered to run in a worker process.
#[derive(Clone, Copy, Debug)]
pub struct IsTask;

/// What the probe gives for a function without `#[parallel]`.
#[derive(Clone, Copy, Debug)]
pub struct NotTask;

/// What the probe gives for a generic (or `unsafe`) `#[parallel]` function: it has no single
/// registry entry.
#[derive(Clone, Copy, Debug)]
pub struct GenericTask;

/// What the probe gives for a `#[parallel]` function that takes or returns borrowed data.
#[derive(Clone, Copy, Debug)]
pub struct BorrowingTask;

// A `#[parallel]` function of owned, concrete types is the only one that can run in a worker
// process. Each way to miss that fails one of three bounds, each with its own message: without
// `#[parallel]`, generic, borrowing.
//
// The macros check a proof by calling the trait's own `require`, not a function bounded by the
// trait: a failed bound is then reported at the user's tokens alone, without a "required by a
// bound in" note that shows this file.

/// A function with `#[parallel]`.
#[diagnostic::on_unimplemented(
    message = "this function cannot run in a worker process: it has no `#[parallel]`",
    label = "not a `#[parallel]` function",
    note = "a process task is a `#[parallel]` function without generics whose arguments and result are owned serde data; add `#[parallel]` to its definition, or choose `backend = rayon` or `backend = threads`"
)]
pub trait ParallelTask {
    /// Checks the proof, as `Trait::require(&proof)`.
    fn require(&self) {}
}

impl ParallelTask for IsTask {}
impl ParallelTask for GenericTask {}
impl ParallelTask for BorrowingTask {}

/// A `#[parallel]` function that is not generic.
#[diagnostic::on_unimplemented(
    message = "this `#[parallel]` function cannot run in a worker process: it is generic (or `unsafe`)",
    label = "a generic `#[parallel]` function",
    note = "a worker runs one registered function with known types; write one `#[parallel]` function per type (it may call the generic one), or choose `backend = rayon` or `backend = threads`"
)]
pub trait ConcreteTask {
    /// Checks the proof, as `Trait::require(&proof)`.
    fn require(&self) {}
}

impl ConcreteTask for IsTask {}
impl ConcreteTask for NotTask {}
impl ConcreteTask for BorrowingTask {}

/// A `#[parallel]` function whose arguments and result are owned.
#[diagnostic::on_unimplemented(
    message = "this `#[parallel]` function cannot run in a worker process: it takes or returns borrowed data",
    label = "a `#[parallel]` function of borrowed data",
    note = "its data crosses to another process: take and return owned values (`String` for `&str`, `Vec<T>` for `&[T]`), or choose `backend = rayon` or `backend = threads`, where borrowing works"
)]
pub trait OwningTask {
    /// Checks the proof, as `Trait::require(&proof)`.
    fn require(&self) {}
}

impl OwningTask for IsTask {}
impl OwningTask for NotTask {}
impl OwningTask for GenericTask {}

/// The type of the items of a map: whether they can cross to a worker process is picked on
/// it, by method resolution, so that a type that is neither `Serialize` nor `Deserialize` gives
/// one error, not one per missing trait.
pub fn item_type<I: IntoIterator>(_: &MapCall<I>) -> TypeOf<I::Item> {
    TypeOf::new()
}

/// The type of what `f` returns on the items of a map.
pub fn output_type<I, F, R>(_: &F, _: &MapCall<I>) -> TypeOf<R>
where
    I: IntoIterator,
    F: Fn(I::Item) -> R,
{
    TypeOf::new()
}

/// The type is serde data.
#[derive(Clone, Copy, Debug)]
pub struct Serde;

/// The type is not serde data.
#[derive(Clone, Copy, Debug)]
pub struct NotSerde;

/// Picks [`Serde`] for owned serde data.
pub trait ViaSerdeData {
    fn __parallel_data(&self) -> Serde {
        Serde
    }
}

impl<T: Serialize + DeserializeOwned> ViaSerdeData for TypeOf<T> {}

/// Picks [`NotSerde`] for every other type.
pub trait ViaNotSerde {
    fn __parallel_data(&self) -> NotSerde {
        NotSerde
    }
}

impl<T: ?Sized> ViaNotSerde for &TypeOf<T> {}

/// Values of `T` can cross to a worker process: implemented for [`Serde`] only.
#[diagnostic::on_unimplemented(
    message = "`{T}` cannot cross to a worker process",
    label = "not owned serde data",
    note = "process tasks take and return owned values that implement `serde::Serialize` and `serde::Deserialize`: derive them, pass an owned value instead of a reference, or choose `backend = threads`"
)]
pub trait Crosses<T: ?Sized> {
    /// Checks the pick for `T`, as `Crosses::require(&type_of, &pick)`. `T` comes first, so
    /// that it is known when the bound fails and the message names it.
    fn require(_: &TypeOf<T>, _: &Self) {}
}

impl<T: ?Sized> Crosses<T> for Serde {}

/// The type of what `f` returns on `args`.
pub fn spawn_output_type<F, Args>(_: &F, _: &Args) -> TypeOf<F::Output>
where
    F: ProcessFn<Args>,
{
    TypeOf::new()
}
