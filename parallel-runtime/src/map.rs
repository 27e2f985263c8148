//! [`Map`] and [`MapUnordered`]: a function over an input on any pool of closures (rayon's, or
//! dedicated threads), lazy over the input and bounded in flight; and those pools' `map` methods.
//! The reading, batching and bounding is `unordered`'s; `ordered` puts results back in input
//! order.

use crate::backend::threads::ThreadPool;
use crate::backend::work_stealing::RayonPool;
use crate::error::TaskError;

mod ordered;
mod unordered;

pub use ordered::Map;
pub use unordered::MapUnordered;

pub(crate) type Indexed<T> = (usize, Result<T, TaskError>);

/// The pool API's maps on rayon's pool: a map over any executor (see [`Map`]).
impl RayonPool {
    /// Applies `f` to every item on the pool and yields the results in input order; see
    /// [`ThreadPool::map`](crate::ThreadPool::map).
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::RayonPool;
    ///
    /// let squares: Vec<u64> = RayonPool::global()
    ///     .map(|n: u64| n * n, 0..5)
    ///     .collect::<Result<_, _>>()
    ///     .unwrap();
    /// assert_eq!(squares, [0, 1, 4, 9, 16]);
    /// ```
    pub fn map<F, I, T>(&self, f: F, items: I) -> Map<I::IntoIter, T>
    where
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        T: Send + 'static,
    {
        Map::new(self.clone(), f, items.into_iter())
    }

    /// Like [`map`](RayonPool::map), but yields `(index, result)` as each item finishes.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::RayonPool;
    ///
    /// let mut seen: Vec<usize> = RayonPool::global()
    ///     .map_unordered(|n: u32| n + 1, [10, 20, 30])
    ///     .map(|(index, _)| index)
    ///     .collect();
    /// seen.sort();
    /// assert_eq!(seen, [0, 1, 2]);
    /// ```
    pub fn map_unordered<F, I, T>(&self, f: F, items: I) -> MapUnordered<I::IntoIter, T>
    where
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        T: Send + 'static,
    {
        MapUnordered::new(self.clone(), f, items.into_iter())
    }
}

/// The pool API's maps on dedicated threads (see [`Map`]).
impl ThreadPool {
    /// Applies `f` to every item on the pool and yields the results in input order, each as
    /// `Ok(value)` or the [`TaskError`] of that item. The input is read lazily,
    /// with a bounded number of items in flight.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::ThreadPool;
    ///
    /// let pool = ThreadPool::builder().workers(2).build().unwrap();
    /// let results: Vec<_> = pool.map(|x: u32| 100 / x, [5, 0, 10]).collect();
    /// assert_eq!(results[0].as_ref().unwrap(), &20);
    /// assert!(results[1].is_err()); // that item panicked; the others completed
    /// assert_eq!(results[2].as_ref().unwrap(), &10);
    /// ```
    pub fn map<F, I, T>(&self, f: F, items: I) -> Map<I::IntoIter, T>
    where
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        T: Send + 'static,
    {
        Map::new(self.clone(), f, items.into_iter())
    }

    /// Like [`map`](ThreadPool::map), but yields `(index, result)` as soon as each item finishes.
    /// An endless input works: items are read only as earlier ones finish.
    ///
    /// # Examples
    ///
    /// ```
    /// use parallel::ThreadPool;
    ///
    /// let pool = ThreadPool::builder().workers(2).build().unwrap();
    /// let firsts: Vec<u64> = pool
    ///     .map_unordered(|n: u64| n * n, 1..) // an endless input
    ///     .map(|(_, square)| square.unwrap())
    ///     .take(5)
    ///     .collect();
    /// assert_eq!(firsts.len(), 5);
    /// ```
    pub fn map_unordered<F, I, T>(&self, f: F, items: I) -> MapUnordered<I::IntoIter, T>
    where
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        T: Send + 'static,
    {
        MapUnordered::new(self.clone(), f, items.into_iter())
    }
}

#[cfg(test)]
mod test;
