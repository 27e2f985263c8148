use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::super::par_for::par_for;
use super::super::pick::{IndexedInput, UnindexedInput};
use super::*;
use crate::config::{Backend, Options};

fn options(backend: Backend, chunk: Option<usize>) -> Options {
    let mut options = Options::new();
    options.backend = Some(backend);
    options.chunk = chunk.and_then(std::num::NonZeroUsize::new);
    options
}

/// What a loop body pushes for `item`: nothing for multiples of 3, `item` and `item + 1000` for
/// multiples of 5, `item` alone otherwise.
fn pushes(item: u64) -> Vec<u64> {
    match item {
        i if i % 3 == 0 => Vec::new(),
        i if i % 5 == 0 => vec![i, i + 1000],
        i => vec![i],
    }
}

/// A loop that pushes `pushes(item)` onto `target` and counts its items, on `backend`.
fn push_loop<G, P>(backend: Backend, chunk: Option<usize>, target: &mut G, place: P, n: u64) -> u64
where
    G: Send,
    P: Place<G, Item = u64>,
{
    let counted = par_for(
        options(backend, chunk),
        (0..n).collect::<Vec<u64>>(),
        IndexedInput,
        target,
        place,
        || 0u64,
        |count: &mut u64, sink: &mut Sink<'_, u64>, item: u64| {
            *count += 1;
            sink.extend(pushes(item));
        },
        |left, right| *left += right,
    );
    match counted {
        Ok(count) => count,
        Err(never) => match never {},
    }
}

#[test]
fn one_push_per_item_fills_the_vec_in_order_after_its_values() {
    let mut target = vec![7, 8];
    let counted = par_for(
        options(Backend::Rayon, None),
        (0..10_000u64).collect::<Vec<u64>>(),
        IndexedInput,
        &mut target,
        VecPlace,
        || 0u64,
        |count: &mut u64, sink: &mut Sink<'_, u64>, item: u64| {
            *count += 1;
            sink.push(item * 2);
        },
        |left, right| *left += right,
    );
    assert_eq!(counted.ok(), Some(10_000));
    let expected: Vec<u64> = [7, 8]
        .into_iter()
        .chain((0..10_000).map(|i| i * 2))
        .collect();
    assert_eq!(target, expected);
}

#[test]
fn gaps_and_extra_pushes_keep_the_input_order_on_every_path() {
    let n = 5_000;
    let expected: Vec<u64> = (0..n).flat_map(pushes).collect();
    for (backend, chunk) in [
        (Backend::Rayon, None),
        (Backend::Rayon, Some(7)),
        (Backend::Threads, None),
        (Backend::Threads, Some(64)),
    ] {
        let mut target = Vec::new();
        assert_eq!(push_loop(backend, chunk, &mut target, VecPlace, n), n);
        assert_eq!(target, expected, "{backend:?}, chunk {chunk:?}");
    }
}

#[test]
fn other_collections_are_extended_in_order() {
    let mut target = VecDeque::from([1]);
    push_loop(Backend::Rayon, None, &mut target, ExtendPlace, 100);
    let expected: Vec<u64> = std::iter::once(1)
        .chain((0..100).flat_map(pushes))
        .collect();
    assert_eq!(Vec::from(target), expected);
}

#[test]
fn a_range_that_rayon_cannot_index_is_still_written_in_place() {
    // Ranges of `u64` are not indexed in rayon, but know their length.
    let mut target = Vec::new();
    let counted = par_for(
        options(Backend::Rayon, None),
        10..2_010u64,
        UnindexedInput,
        &mut target,
        VecPlace,
        || (),
        |(): &mut (), sink: &mut Sink<'_, u64>, item: u64| {
            if !item.is_multiple_of(4) {
                sink.push(item);
            }
        },
        |(), ()| {},
    );
    assert!(counted.is_ok());
    assert_eq!(
        target,
        (10..2_010).filter(|i| i % 4 != 0).collect::<Vec<_>>()
    );
}

/// Counts its live values, to check that every pushed value is dropped exactly once.
struct Counted<'a>(u64, &'a AtomicUsize);

impl<'a> Counted<'a> {
    fn new(value: u64, live: &'a AtomicUsize) -> Self {
        live.fetch_add(1, Ordering::Relaxed);
        Counted(value, live)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.1.fetch_sub(1, Ordering::Relaxed);
    }
}

#[test]
fn an_exit_leaves_the_vec_as_it_was_and_drops_what_was_pushed() {
    let live = AtomicUsize::new(0);
    let mut target = vec![Counted::new(1, &live)];
    let outcome = par_for(
        options(Backend::Rayon, None),
        (0..10_000u64).collect::<Vec<u64>>(),
        IndexedInput,
        &mut target,
        VecPlace,
        || (),
        |(): &mut (), sink: &mut Sink<'_, Counted<'_>>, item: u64| -> Result<(), u64> {
            if item == 6_000 {
                return Err(item);
            }
            sink.push(Counted::new(item, &live));
            if item.is_multiple_of(7) {
                sink.push(Counted::new(item, &live));
            }
            Ok(())
        },
        |(), ()| {},
    );
    assert_eq!(outcome.err(), Some(6_000));
    assert_eq!(target.len(), 1);
    assert_eq!(live.load(Ordering::Relaxed), 1, "pushed values leaked");
    drop(target);
    assert_eq!(live.load(Ordering::Relaxed), 0);
}

#[test]
fn values_written_in_place_are_dropped_once_with_the_vec() {
    let live = AtomicUsize::new(0);
    for every in [1, 3] {
        let mut target = Vec::new();
        let outcome = par_for(
            options(Backend::Rayon, None),
            (0..3_000u64).collect::<Vec<u64>>(),
            IndexedInput,
            &mut target,
            VecPlace,
            || (),
            |(): &mut (), sink: &mut Sink<'_, Counted<'_>>, item: u64| {
                // Every item pushes once, or a third of them push nothing.
                if item.is_multiple_of(every) {
                    sink.push(Counted::new(item, &live));
                }
            },
            |(), ()| {},
        );
        assert!(outcome.is_ok());
        let values: Vec<u64> = target.iter().map(|c| c.0).collect();
        assert_eq!(
            values,
            (0..3_000).step_by(every as usize).collect::<Vec<_>>()
        );
        assert_eq!(live.load(Ordering::Relaxed), values.len());
        drop(target);
        assert_eq!(live.load(Ordering::Relaxed), 0);
    }
}
