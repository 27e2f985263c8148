//! The map iterators of the process backend: [`ProcessPool::map`] and
//! [`ProcessPool::map_unordered`] (and their `starmap` forms), which batch calls automatically
//! and read their input lazily. The batching and sending is `unordered`'s; `ordered` puts the
//! results back in input order.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::pool::{ProcessFn, ProcessPool, entry_of};
use super::registry::Entry;
use crate::error::TaskError;

mod ordered;
mod unordered;

pub use ordered::ProcessMap;
pub use unordered::ProcessMapUnordered;

impl ProcessPool {
    /// Applies `f` to every item in worker processes and yields the results in input order,
    /// each as `Ok(value)` or the [`TaskError`] of that item. Small calls are batched
    /// automatically; the input is read lazily with a bounded number of calls in flight.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn halve(n: u32) -> u32 {
    ///     assert!(n % 2 == 0, "{n} is odd");
    ///     n / 2
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(2).build().unwrap();
    /// let results: Vec<_> = pool.map(halve, [2, 3, 4]).collect();
    /// assert_eq!(results[0].as_ref().unwrap(), &1);
    /// assert_eq!(results[1].as_ref().unwrap_err().panic_message(), Some("3 is odd"));
    /// assert_eq!(results[2].as_ref().unwrap(), &2);
    /// ```
    pub fn map<F, I>(&self, f: F, items: I) -> ProcessMap<I::IntoIter, F::Output>
    where
        I: IntoIterator,
        F: ProcessFn<(I::Item,)>,
        I::Item: Serialize + 'static,
        F::Output: DeserializeOwned + Send + 'static,
    {
        ProcessMap::new(self.map_unordered(f, items))
    }

    /// Like [`map`](ProcessPool::map), but yields `(index, result)` as each call finishes.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn double(n: u64) -> u64 {
    ///     2 * n
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(2).build().unwrap();
    /// let mut total = 0;
    /// for (_index, result) in pool.map_unordered(double, 1..=100) {
    ///     total += result.unwrap();
    /// }
    /// assert_eq!(total, 10_100);
    /// ```
    pub fn map_unordered<F, I>(&self, f: F, items: I) -> ProcessMapUnordered<I::IntoIter, F::Output>
    where
        I: IntoIterator,
        F: ProcessFn<(I::Item,)>,
        I::Item: Serialize + 'static,
        F::Output: DeserializeOwned + Send + 'static,
    {
        // Only `F` names the task (its registry entry); the value itself never crosses.
        // An item is the argument tuple of a function of one argument, as it crosses.
        self.unordered(entry_of(&f), items)
    }

    /// Applies `f`, a function of several arguments, to every tuple of arguments in `items`,
    /// and yields the results in input order: Python's `pool.starmap(f, [(a, b), ...])`, and
    /// `executor.map(f, xs, ys)` with `xs.into_iter().zip(ys)`. Batched and lazy as
    /// [`map`](ProcessPool::map).
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn power(base: u64, exponent: u32) -> u64 {
    ///     base.pow(exponent)
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(2).build().unwrap();
    /// // Python: Pool(2).starmap(pow, [(2, 3), (3, 2), (10, 1)])
    /// let powers: Vec<u64> = pool
    ///     .starmap(power, [(2, 3), (3, 2), (10, 1)])
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(powers, [8, 9, 10]);
    ///
    /// // Python: executor.map(pow, bases, exponents)
    /// let (bases, exponents) = (vec![2, 5], vec![10, 2]);
    /// let powers: Vec<u64> = pool
    ///     .starmap(power, bases.into_iter().zip(exponents))
    ///     .map(Result::unwrap)
    ///     .collect();
    /// assert_eq!(powers, [1024, 25]);
    /// ```
    pub fn starmap<F, I>(&self, f: F, items: I) -> ProcessMap<I::IntoIter, F::Output>
    where
        I: IntoIterator,
        F: ProcessFn<I::Item>,
        I::Item: Serialize + 'static,
        F::Output: DeserializeOwned + Send + 'static,
    {
        ProcessMap::new(self.starmap_unordered(f, items))
    }

    /// Like [`starmap`](ProcessPool::starmap), but yields `(index, result)` as each call
    /// finishes.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::{ProcessPool, parallel};
    ///
    /// #[parallel]
    /// fn repeat(text: String, times: usize) -> String {
    ///     text.repeat(times)
    /// }
    ///
    /// let pool = ProcessPool::builder().workers(2).build().unwrap();
    /// let mut done: Vec<(usize, String)> = pool
    ///     .starmap_unordered(repeat, [("ab".to_owned(), 2), ("c".to_owned(), 3)])
    ///     .map(|(i, r)| (i, r.unwrap()))
    ///     .collect();
    /// done.sort();
    /// assert_eq!(done, [(0, "abab".to_owned()), (1, "ccc".to_owned())]);
    /// ```
    pub fn starmap_unordered<F, I>(
        &self,
        f: F,
        items: I,
    ) -> ProcessMapUnordered<I::IntoIter, F::Output>
    where
        I: IntoIterator,
        F: ProcessFn<I::Item>,
        I::Item: Serialize + 'static,
        F::Output: DeserializeOwned + Send + 'static,
    {
        // An item is the function's whole argument tuple.
        self.unordered(entry_of(&f), items)
    }

    /// The map of `entry`'s function over `items`, each item its encoded arguments.
    fn unordered<I, R>(
        &self,
        entry: Result<&'static Entry, TaskError>,
        items: I,
    ) -> ProcessMapUnordered<I::IntoIter, R>
    where
        I: IntoIterator,
        I::Item: Serialize + 'static,
        R: DeserializeOwned + Send + 'static,
    {
        ProcessMapUnordered::new(self.clone(), entry, items.into_iter())
    }
}
