//! rayon's consumer of a loop whose first pushed-to `Vec` is written in place: item `i` writes
//! slot `i` of the `Vec`'s spare capacity, and the runs of written slots become the `Vec`'s
//! values after the loop.
//!
//! Writing into spare capacity takes `unsafe` in three places, each saying what it relies on:
//! a run of written slots drops or moves out the values it holds, and the variable's length
//! grows over its slots once they are all proven written.

#![allow(unsafe_code)]

use std::mem::{self, MaybeUninit};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::iter::ParallelIterator;
use rayon::iter::plumbing::{Consumer, Folder, Reducer, UnindexedConsumer};

use super::Sink;
use crate::__private::reduce::LoopStep;

/// Slots of the variable's spare capacity that all hold values: the run of items that each
/// pushed once, in a row. Dropping it drops those values.
struct Run<'w, T> {
    slots: &'w mut [MaybeUninit<T>],
}

impl<T> Run<'_, T> {
    /// Moves the values out, in order.
    fn move_into(mut self, values: &mut Vec<T>) {
        for slot in mem::take(&mut self.slots) {
            // SAFETY: every slot of a run holds a value, and the run no longer holds the slot
            // (`self.slots` is empty now): each value is read once and never dropped here.
            values.push(unsafe { slot.assume_init_read() });
        }
    }
}

impl<T> Drop for Run<'_, T> {
    fn drop(&mut self) {
        for slot in self.slots.iter_mut() {
            // SAFETY: every slot of a run holds a value, and a run is dropped once.
            unsafe { slot.assume_init_drop() };
        }
    }
}

/// A part of the collected values, in input order.
enum Piece<'w, T> {
    /// Values written in place.
    Run(Run<'w, T>),
    /// The pushes of one item after its first.
    Kept(Vec<T>),
}

/// A part of the collected values while a split runs: slots by position in the split.
enum Mark<T> {
    /// These slots were written.
    Written(Range<usize>),
    /// The pushes of one item after its first.
    Kept(Vec<T>),
}

/// What one split of the loop gives: its partial of the other reductions and its pieces.
struct Done<'w, A, T> {
    partial: A,
    pieces: Vec<Piece<'w, T>>,
}

/// The pieces of the loop that every split shares.
pub(in crate::__private) struct Shared<'f, A, B, C, K> {
    pub identity: &'f (dyn Fn() -> A + Sync),
    pub body: &'f B,
    pub combine: &'f C,
    pub tick: K,
    pub stop: AtomicBool,
}

/// rayon's consumer of the loop's items, over the slots of the items it is given.
struct PlaceConsumer<'f, 'w, A, B, C, K, T> {
    shared: &'f Shared<'f, A, B, C, K>,
    slots: &'w mut [MaybeUninit<T>],
}

/// One split's sequential run over its items.
///
/// Item `i` of the split gets slot `i`. Until the split completes, its written slots are known
/// by `marks` only: a panicking body leaks their values instead of dropping them.
struct PlaceFolder<'f, 'w, A, B, C, K, T, E> {
    shared: &'f Shared<'f, A, B, C, K>,
    partial: A,
    slots: &'w mut [MaybeUninit<T>],
    /// The next item's position in the split.
    next: usize,
    /// Where the current run of written slots began.
    run_start: usize,
    marks: Vec<Mark<T>>,
    exit: Option<E>,
}

struct PlaceReducer<'f, A, B, C, K> {
    shared: &'f Shared<'f, A, B, C, K>,
}

impl<'f, 'w, X, A, B, C, K, T, S> Consumer<X> for PlaceConsumer<'f, 'w, A, B, C, K, T>
where
    A: Send,
    T: Send,
    S: LoopStep<Exit: Send>,
    B: for<'s> Fn(&mut A, &mut Sink<'s, T>, X) -> S + Sync,
    C: Fn(&mut A, A) + Sync,
    K: Fn() + Sync,
{
    type Folder = PlaceFolder<'f, 'w, A, B, C, K, T, S::Exit>;
    type Reducer = PlaceReducer<'f, A, B, C, K>;
    type Result = Result<Done<'w, A, T>, S::Exit>;

    fn split_at(self, index: usize) -> (Self, Self, Self::Reducer) {
        let (left, right) = self.slots.split_at_mut(index);
        let shared = self.shared;
        (
            PlaceConsumer {
                shared,
                slots: left,
            },
            PlaceConsumer {
                shared,
                slots: right,
            },
            PlaceReducer { shared },
        )
    }

    fn into_folder(self) -> Self::Folder {
        PlaceFolder {
            shared: self.shared,
            partial: (self.shared.identity)(),
            slots: self.slots,
            next: 0,
            run_start: 0,
            marks: Vec::new(),
            exit: None,
        }
    }

    fn full(&self) -> bool {
        S::STOPS && self.shared.stop.load(Ordering::Relaxed)
    }
}

impl<'f, 'w, X, A, B, C, K, T, S> UnindexedConsumer<X> for PlaceConsumer<'f, 'w, A, B, C, K, T>
where
    A: Send,
    T: Send,
    S: LoopStep<Exit: Send>,
    B: for<'s> Fn(&mut A, &mut Sink<'s, T>, X) -> S + Sync,
    C: Fn(&mut A, A) + Sync,
    K: Fn() + Sync,
{
    fn split_off_left(&self) -> Self {
        // Only iterators that know their length come here, and rayon drives those by index
        // (its own `collect` relies on the same).
        unreachable!("an in-place loop is driven by index")
    }

    fn to_reducer(&self) -> Self::Reducer {
        PlaceReducer {
            shared: self.shared,
        }
    }
}

impl<A, B, C, K, T, E> PlaceFolder<'_, '_, A, B, C, K, T, E> {
    /// Runs the body on each item with the item's slot, until the items end or the loop stops.
    /// Where every item pushes once the loop does nothing else, and compiles as rayon's
    /// `collect` does.
    #[inline]
    fn steps<X, S>(&mut self, items: impl IntoIterator<Item = X>)
    where
        S: LoopStep<Exit = E>,
        B: for<'s> Fn(&mut A, &mut Sink<'s, T>, X) -> S,
        K: Fn(),
    {
        let mut items = items.into_iter();
        let mut kept = Vec::new();
        let mut next = self.next;
        let free = self.slots.get_mut(next..).unwrap_or_default();
        // Slots first: where they ran out, `zip` takes no item to drop.
        for (slot, item) in free.iter_mut().zip(items.by_ref()) {
            let mut sink = Sink {
                slot: Some(slot),
                wrote: false,
                kept: false,
                extra: &mut kept,
            };
            let step = (self.shared.body)(&mut self.partial, &mut sink, item);
            let (wrote, more) = (sink.wrote, sink.kept);
            next += 1;
            if !wrote || more {
                let end = next - usize::from(!wrote);
                self.run_start = mark(&mut self.marks, self.run_start..end, &mut kept, next);
            }
            (self.shared.tick)();
            if let Some(exit) = step.into_exit() {
                self.exit = Some(exit);
                self.shared.stop.store(true, Ordering::Relaxed);
                break;
            }
            if S::STOPS && self.shared.stop.load(Ordering::Relaxed) {
                break;
            }
        }
        self.next = next;
        if self.exit.is_some() {
            return;
        }
        // More items than slots, which an indexed iterator never gives: they keep their pushes.
        for item in items {
            let mut sink = Sink::onto(&mut kept);
            let step = (self.shared.body)(&mut self.partial, &mut sink, item);
            self.run_start = mark(&mut self.marks, self.run_start..next, &mut kept, next);
            (self.shared.tick)();
            if let Some(exit) = step.into_exit() {
                self.exit = Some(exit);
                self.shared.stop.store(true, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// Ends the run `written` at an item that did not push exactly once, keeping the item's further
/// pushes `kept` after it; returns where the next run starts (`next`).
#[cold]
#[inline(never)]
fn mark<T>(
    marks: &mut Vec<Mark<T>>,
    written: Range<usize>,
    kept: &mut Vec<T>,
    next: usize,
) -> usize {
    if !written.is_empty() {
        marks.push(Mark::Written(written));
    }
    if !kept.is_empty() {
        marks.push(Mark::Kept(mem::take(kept)));
    }
    next
}

impl<'f, 'w, X, A, B, C, K, T, S> Folder<X> for PlaceFolder<'f, 'w, A, B, C, K, T, S::Exit>
where
    S: LoopStep,
    B: for<'s> Fn(&mut A, &mut Sink<'s, T>, X) -> S,
    K: Fn(),
{
    type Result = Result<Done<'w, A, T>, S::Exit>;

    fn consume(mut self, item: X) -> Self {
        self.steps(Some(item));
        self
    }

    fn consume_iter<I: IntoIterator<Item = X>>(mut self, items: I) -> Self {
        // One loop over `&mut self`: the folder is not moved at every item.
        self.steps(items);
        self
    }

    fn complete(mut self) -> Self::Result {
        let last = self.run_start..self.next.min(self.slots.len());
        if !last.is_empty() {
            self.marks.push(Mark::Written(last));
        }
        // The written ranges become runs that own their slots, cut from the split's slots in
        // order (the ranges rise and do not overlap).
        let mut rest = self.slots;
        let mut offset = 0;
        let pieces = self
            .marks
            .into_iter()
            .map(|mark| match mark {
                Mark::Written(range) => {
                    let (_, from_start) = mem::take(&mut rest).split_at_mut(range.start - offset);
                    let (slots, after) = from_start.split_at_mut(range.len());
                    (rest, offset) = (after, range.end);
                    Piece::Run(Run { slots })
                }
                Mark::Kept(kept) => Piece::Kept(kept),
            })
            .collect();
        match self.exit {
            // The pieces drop here, with the values they hold.
            Some(exit) => Err(exit),
            None => Ok(Done {
                partial: self.partial,
                pieces,
            }),
        }
    }

    fn full(&self) -> bool {
        self.exit.is_some() || (S::STOPS && self.shared.stop.load(Ordering::Relaxed))
    }
}

impl<'w, A, B, C, K, T, E> Reducer<Result<Done<'w, A, T>, E>> for PlaceReducer<'_, A, B, C, K>
where
    C: Fn(&mut A, A),
{
    fn reduce(
        self,
        left: Result<Done<'w, A, T>, E>,
        right: Result<Done<'w, A, T>, E>,
    ) -> Result<Done<'w, A, T>, E> {
        let (mut left, right) = (left?, right?);
        (self.shared.combine)(&mut left.partial, right.partial);
        left.pieces.extend(right.pieces);
        Ok(left)
    }
}

/// Runs the loop over `items`, of which there are `len`, writing the pushes in place after
/// `target`'s values; returns the other reductions' partial, or the exit that stopped the loop
/// (then `target` is left as it was).
pub(in crate::__private) fn run_in_place<P, A, B, C, K, T, S>(
    items: P,
    len: usize,
    target: &mut Vec<T>,
    shared: &Shared<'_, A, B, C, K>,
) -> Result<A, S::Exit>
where
    P: ParallelIterator,
    A: Send,
    T: Send,
    S: LoopStep<Exit: Send>,
    B: for<'s> Fn(&mut A, &mut Sink<'s, T>, P::Item) -> S + Sync,
    C: Fn(&mut A, A) + Sync,
    K: Fn() + Sync,
{
    target.reserve(len);
    let start = target.len();
    let consumer = PlaceConsumer {
        shared,
        slots: &mut target.spare_capacity_mut()[..len],
    };
    let Done { partial, pieces } = items.drive_unindexed(consumer)?;
    let only_runs = pieces.iter().all(|piece| matches!(piece, Piece::Run(_)));
    let written: usize = pieces
        .iter()
        .map(|piece| match piece {
            Piece::Run(run) => run.slots.len(),
            Piece::Kept(kept) => kept.len(),
        })
        .sum();
    if only_runs && written == len {
        // Every item pushed exactly once: the runs cover the `len` slots.
        for piece in pieces {
            mem::forget(piece);
        }
        // SAFETY: `reserve` made room for `len` values after `start`, and the consumer's
        // slots were exactly those `len`. The runs were cut from them with `split_at_mut`
        // only, so they are disjoint; every slot of a run holds a value (a run is cut to a
        // range of slots that the items wrote, one each); their lengths add up to `len`, so
        // together they fill every slot. They were forgotten above, so nothing else drops
        // those values.
        unsafe { target.set_len(start + len) };
    } else {
        let mut values = Vec::with_capacity(written);
        for piece in pieces {
            match piece {
                Piece::Run(run) => run.move_into(&mut values),
                Piece::Kept(mut kept) => values.append(&mut kept),
            }
        }
        target.append(&mut values);
    }
    Ok(partial)
}
