//! Runs of consecutive results handed out in input order.

use std::collections::BTreeMap;

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
