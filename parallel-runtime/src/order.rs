//! Results put back in input order: one at a time ([`Reorder`], for the pool API's maps), by
//! runs of consecutive calls ([`Runs`], for a process map's batches), and runs appended into one
//! `Vec` ([`InOrder`], for `par_map!` on the process backend).

use std::collections::{BTreeMap, VecDeque};

/// Runs of consecutive calls handed out in input order: a run comes out once every run before
/// it has. `pool.map` reorders its batches with it, and `par_map!` the values of its batches.
pub(crate) struct Runs<B> {
    /// The first call of the next run to hand out.
    next: usize,
    /// The runs received and not handed out, by first call, with their length.
    waiting: BTreeMap<usize, (usize, B)>,
}

impl<B> Default for Runs<B> {
    fn default() -> Self {
        Runs {
            next: 0,
            waiting: BTreeMap::new(),
        }
    }
}

impl<B> Runs<B> {
    /// Adds the run of calls `first..first + len`.
    pub(crate) fn insert(&mut self, first: usize, len: usize, run: B) {
        self.waiting.insert(first, (len, run));
    }

    /// The next run in input order, once it has come.
    pub(crate) fn pop(&mut self) -> Option<B> {
        let (len, run) = self.waiting.remove(&self.next)?;
        self.next += len;
        Some(run)
    }

    /// Whether every run received was handed out.
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

/// Puts results that finish out of order back in input order: a window that starts at the next
/// index to yield (results arrive close to their order, so the window stays short).
pub(crate) struct Reorder<T> {
    next: usize,
    window: VecDeque<Option<T>>,
    held: usize,
}

impl<T> Default for Reorder<T> {
    fn default() -> Self {
        Reorder {
            next: 0,
            window: VecDeque::new(),
            held: 0,
        }
    }
}

impl<T> Reorder<T> {
    pub(crate) fn push(&mut self, index: usize, value: T) {
        let offset = index - self.next;
        if offset >= self.window.len() {
            self.window.resize_with(offset + 1, || None);
        }
        self.window[offset] = Some(value);
        self.held += 1;
    }

    /// How many values wait for an earlier one.
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// The next value in order, if it has arrived.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let value = self.window.front_mut()?.take()?;
        self.window.pop_front();
        self.next += 1;
        self.held -= 1;
        Some(value)
    }
}

/// The values of a map's batches back in input order, each batch moved once.
pub(crate) struct InOrder<T> {
    done: Vec<T>,
    runs: Runs<Vec<T>>,
}

impl<T> InOrder<T> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        InOrder {
            done: Vec::with_capacity(capacity),
            runs: Runs::default(),
        }
    }

    /// Adds the results of calls `first..first + run.len()`.
    pub(crate) fn insert(&mut self, first: usize, run: Vec<T>) {
        self.runs.insert(first, run.len(), run);
        while let Some(mut run) = self.runs.pop() {
            self.done.append(&mut run);
        }
    }

    /// The results from the first call on, up to `len` of them when given.
    ///
    /// # Panics
    ///
    /// If a call before the end (or before `len`) has no result: a map that lost none has them
    /// all.
    pub(crate) fn into_prefix(mut self, len: Option<usize>) -> Vec<T> {
        match len {
            Some(len) => {
                assert!(self.done.len() >= len, "a call before a stop has no result");
                self.done.truncate(len);
            }
            None => assert!(self.runs.is_empty(), "a call has no result"),
        }
        self.done
    }
}

#[cfg(test)]
mod test;
