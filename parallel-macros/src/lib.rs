//! Procedural macros of [`parallel`](https://docs.rs/parallel): `#[parallel]`, `par_join!` and
//! `par_map!`. Depend on `parallel`, which re-exports them with the runtime they expand to.

mod blame;
mod options;
mod par_join;
mod par_map;
mod parallel;
mod probe;
mod runtime_path;

use proc_macro::TokenStream;

/// Marks a function as a task; its options become the defaults wherever the macros run it.
///
/// The function stays callable exactly as before. `par_map!(f, items)` uses the options of a
/// `#[parallel(...)]` function `f` where the call sets none; the call's own options win.
/// Options: `backend = rayon | threads`, `workers = N`, `chunk = N`, `progress`, `crate = path`.
///
/// # Examples
///
/// ```
/// use parallel::{par_map, parallel};
///
/// #[parallel(backend = threads, workers = 8)]
/// fn fetch(id: u32) -> String {
///     format!("record {id}") // stands for a blocking call
/// }
///
/// assert_eq!(fetch(1), "record 1"); // an ordinary function still
/// let records = par_map!(fetch, 0..3); // runs on 8 dedicated threads
/// assert_eq!(records, ["record 0", "record 1", "record 2"]);
/// ```
///
/// Without the macro, the call above is `items.into_iter().map(fetch).collect::<Vec<_>>()` run
/// on a pool of threads.
///
/// `#[parallel]` applies to free functions only: methods, `async fn` and other items are
/// compile errors that say what to write instead.
#[proc_macro_attribute]
pub fn parallel(args: TokenStream, item: TokenStream) -> TokenStream {
    parallel::entry(args.into(), item.into()).into()
}

/// Runs expressions concurrently and returns the tuple of their values.
///
/// `par_join!(a, b, c)` is `(a, b, c)`, with the expressions evaluated at the same time. The
/// expressions may borrow local variables. One expression gives its value, not a 1-tuple. On
/// the default rayon backend the expansion is nested `rayon::join` calls, as cheap as writing
/// them by hand. Options follow a `;`: `backend = rayon | threads`, `workers = N`, `progress`.
///
/// # Examples
///
/// ```
/// use parallel::par_join;
///
/// let words = vec!["a", "bb", "ccc"];
/// let (count, longest, total) = par_join!(
///     words.len(),
///     words.iter().max_by_key(|w| w.len()),
///     words.iter().map(|w| w.len()).sum::<usize>();
///     backend = threads
/// );
/// assert_eq!((count, longest, total), (3, Some(&"ccc"), 6));
/// ```
///
/// Without the macro, on rayon: `rayon::join(|| a, || rayon::join(|| b, || c))`, flattened.
///
/// # Panics
///
/// If an expression panics, `par_join!` panics with its payload once all have finished.
#[proc_macro]
pub fn par_join(input: TokenStream) -> TokenStream {
    par_join::entry(input.into()).into()
}

/// Applies a function to every item, in parallel, and returns the results in input order.
///
/// `par_map!(f, items)` is `items.into_iter().map(f).collect::<Vec<_>>()` run in parallel: `f` is
/// a function path or a closure, `items` anything `IntoIterator`. When `f` returns `Result`, the
/// results collect into `Result<Vec<T>, E>`: the error of the earliest failing item, as
/// `Iterator::collect` gives, and items after it are skipped where they had not started.
/// Options follow a `;`: `backend = rayon | threads`, `workers = N` (`-1`: one per core),
/// `chunk = N`, `progress`.
///
/// # Examples
///
/// ```
/// use parallel::par_map;
///
/// fn square(n: u64) -> u64 {
///     n * n
/// }
/// let squares = par_map!(square, 0..5);
/// assert_eq!(squares, [0, 1, 4, 9, 16]);
///
/// let parsed: Result<Vec<u8>, _> = par_map!(|s: &str| s.parse::<u8>(), ["1", "x", "3"]; workers = 2);
/// assert!(parsed.is_err());
/// ```
///
/// # Panics
///
/// If `f` panics on an item, `par_map!` panics with that payload once the running items have
/// finished.
#[proc_macro]
pub fn par_map(input: TokenStream) -> TokenStream {
    par_map::entry(input.into()).into()
}
