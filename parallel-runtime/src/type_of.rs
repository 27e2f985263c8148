//! [`TypeOf`]: a type, carried without a value of it to a choice made at compile time.
//!
//! The code the macros generate picks an implementation by method resolution ("autoref
//! specialization"): it calls a method on `&TypeOf<X>`, and of the traits that provide that
//! method, the one implemented for the most references wins (method resolution tries the
//! receiver's type before dereferencing it), while an impl whose bounds do not hold is skipped.
//! Each kind of choice has its own traits and method name: what collects a map's results, whether
//! a type is serde data, which route a map takes, how a worker invokes a function.

use std::marker::PhantomData;

/// The type `T`, without a value of it (and without its auto traits).
pub struct TypeOf<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> TypeOf<T> {
    /// The carrier of `T`.
    pub const fn new() -> Self {
        TypeOf(PhantomData)
    }
}

impl<T: ?Sized> Default for TypeOf<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: ?Sized> Clone for TypeOf<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for TypeOf<T> {}

/// The type of `value`.
pub fn type_of<T>(_: &T) -> TypeOf<T> {
    TypeOf::new()
}
