//! [`ProcessFn`]: what can run in a worker process, and how the pool finds its registry entry.

use std::any::TypeId;

use crate::backend::process::registry::{self, Entry};
use crate::error::TaskError;
use crate::task;

/// A function that can run in a worker process with arguments `Args` (a tuple): a
/// `#[parallel]` function that takes and returns owned serde data.
///
/// Implemented for every function of up to eight arguments; whether it is a `#[parallel]`
/// function is checked when a task is spawned (the macros check it at compile time).
///
/// # Examples
///
/// ```
/// use parallel::{ProcessFn, ProcessPool, parallel};
///
/// #[parallel]
/// fn add(a: u64, b: u64) -> u64 {
///     a + b
/// }
///
/// // A function of two arguments takes them as a pair.
/// fn spawn_on<F: ProcessFn<(u64, u64), Output = u64>>(pool: &ProcessPool, f: F) -> u64 {
///     pool.spawn(f, (2, 3)).join().unwrap()
/// }
///
/// let pool = ProcessPool::builder().workers(1).build().unwrap();
/// assert_eq!(spawn_on(&pool, add), 5);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run in a worker process with the arguments `{Args}`",
    label = "not a function of `{Args}`",
    note = "a process task is a `#[parallel]` function; its arguments go in a tuple: `pool.spawn(f, (a, b))`"
)]
pub trait ProcessFn<Args>: Copy + Send + Sync + 'static {
    /// What the function returns.
    type Output;

    /// The address this value points to, when it is a function pointer (`fn(A) -> R`) rather
    /// than a function item or a closure: the pool finds the `#[parallel]` function it points
    /// to by that address (the address itself never crosses to a worker).
    #[doc(hidden)]
    fn __pointer_address(&self) -> Option<usize>
    where
        Args: 'static,
        Self::Output: 'static;
}

macro_rules! process_fn {
    ($($arg:ident),*) => {
        impl<F, R, $($arg),*> ProcessFn<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> R + Copy + Send + Sync + 'static,
        {
            type Output = R;

            fn __pointer_address(&self) -> Option<usize>
            where
                ($($arg,)*): 'static,
                R: 'static,
            {
                let value: &dyn std::any::Any = self;
                value
                    .downcast_ref::<fn($($arg),*) -> R>()
                    .map(|pointer| *pointer as usize)
            }
        }
    };
}
process_fn!();
process_fn!(A);
process_fn!(A, B);
process_fn!(A, B, C);
process_fn!(A, B, C, D);
process_fn!(A, B, C, D, E);
process_fn!(A, B, C, D, E, G);
process_fn!(A, B, C, D, E, G, H);
process_fn!(A, B, C, D, E, G, H, J);

/// The registry entry of `f`: a `#[parallel]` function item, or a function pointer to one.
pub(in crate::backend::process) fn entry_of<F, Args>(f: &F) -> Result<&'static Entry, TaskError>
where
    F: ProcessFn<Args>,
    Args: 'static,
    F::Output: 'static,
{
    if let Some(entry) = registry::by_type(TypeId::of::<F>()) {
        return Ok(entry);
    }
    let pointer = f.__pointer_address();
    if let Some(entry) = pointer.and_then(registry::by_address) {
        return Ok(entry);
    }
    let what = match (pointer, task::name_of::<F>()) {
        (Some(_), _) => format!(
            "this function pointer (`{}`) points to a function without `#[parallel]`",
            std::any::type_name::<F>()
        ),
        (None, Some(name)) => format!("`{name}` is not a `#[parallel]` function"),
        (None, None) if std::any::type_name::<F>().contains("{{closure}}") => {
            "a closure is not a `#[parallel]` function".to_owned()
        }
        (None, None) => format!(
            "`{}` is not a `#[parallel]` function",
            std::any::type_name::<F>()
        ),
    };
    Err(TaskError::refused(format!(
        "{what}: only those run in a worker process"
    )))
}
