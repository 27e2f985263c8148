//! The parent's side: the arrays that the arguments of a request being encoded name.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::mapping::{LIVE, Mapping};

thread_local! {
    /// Whether a collection is open on this thread ([`collecting`]).
    static OPEN: Cell<bool> = const { Cell::new(false) };
    /// How many arrays `COLLECTED` holds: read without touching it, which most encodings (of
    /// arguments that name no array) never do.
    static COUNT: Cell<usize> = const { Cell::new(0) };
    /// Where the innermost open collection starts in `COLLECTED`.
    static MARK: Cell<usize> = const { Cell::new(0) };
    /// The arrays encoded in the open collections of this thread, innermost last.
    static COLLECTED: RefCell<Vec<Arc<Mapping>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `encode`, adding to `into` the arrays that the handles it encodes name (each once).
/// Collections nest: an inner one takes only what was encoded while it was open. Everything is
/// restored after, even if `encode` panics.
///
/// This runs for every call's arguments: while no array is alive in this process it only loads
/// one counter; when they name no array it touches only `Cell`s without destructors.
#[inline]
pub(crate) fn collecting<R>(into: &mut Vec<Arc<Mapping>>, encode: impl FnOnce() -> R) -> R {
    struct Close<'a> {
        into: &'a mut Vec<Arc<Mapping>>,
        was_open: bool,
        mark: usize,
        outer_mark: usize,
    }
    impl Drop for Close<'_> {
        #[inline]
        fn drop(&mut self) {
            OPEN.set(self.was_open);
            MARK.set(self.outer_mark);
            if COUNT.get() != self.mark {
                self.take();
            }
        }
    }
    impl Close<'_> {
        #[cold]
        fn take(&mut self) {
            COLLECTED.with_borrow_mut(|collected| {
                for mapping in collected.drain(self.mark.min(collected.len())..) {
                    if !self.into.iter().rev().any(|held| held.id == mapping.id) {
                        self.into.push(mapping);
                    }
                }
                COUNT.set(collected.len());
            });
        }
    }
    // A handle reaches this thread through something that orders its creation before (a
    // channel, a join, a lock): a relaxed load sees it.
    if LIVE.load(Ordering::Relaxed) == 0 {
        return encode();
    }
    let mark = COUNT.get();
    let _close = Close {
        into,
        was_open: OPEN.replace(true),
        mark,
        outer_mark: MARK.replace(mark),
    };
    encode()
}

/// Records `mapping` in the open collection; `false` when none is open.
pub(super) fn record(mapping: &Arc<Mapping>) -> bool {
    if !OPEN.get() {
        return false;
    }
    COLLECTED.with_borrow_mut(|collected| {
        // Repeats of one array in a row are common (a handle in every item); others are
        // removed when the collection closes.
        let repeat = collected.len() > MARK.get()
            && collected.last().is_some_and(|last| last.id == mapping.id);
        if !repeat {
            collected.push(Arc::clone(mapping));
        }
        COUNT.set(collected.len());
    });
    true
}
