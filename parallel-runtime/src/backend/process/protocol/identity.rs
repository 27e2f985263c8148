//! Choosing by type identity, fixed when the code is compiled: whether a type is `A` or the
//! tuple `(A,)` (how an argument or result of one value arrives), and a value of `A` as either.
//! [`super::plain`] and [`super::array`] choose their fast paths so.

use std::any::{Any, TypeId};

/// Whether `T` is `A` or `(A,)`: folded away by the compiler for each `T`.
#[inline(always)]
pub(super) fn is_bare_or_tuple<A: 'static, T: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<A>() || TypeId::of::<T>() == TypeId::of::<(A,)>()
}

/// `value` as a `T`, when `T` is `A` or `(A,)`; `None` otherwise.
#[inline(always)]
pub(super) fn bare_or_tuple<A: 'static, T: 'static>(value: A) -> Option<T> {
    let mut bare = Some(value);
    if let Some(slot) = (&mut bare as &mut dyn Any).downcast_mut::<Option<T>>() {
        return slot.take();
    }
    let mut tuple = bare.map(|value| (value,));
    (&mut tuple as &mut dyn Any)
        .downcast_mut::<Option<T>>()
        .and_then(Option::take)
}
