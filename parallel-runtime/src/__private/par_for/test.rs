use super::super::pick::IndexedInput;
use super::super::place::{Sink, VecPlace};
use super::super::reduce::{LoopExit, LoopStep, fold_option, merge_option};
use super::*;
use crate::config::Backend;

fn options(backend: Backend) -> Options {
    let mut options = Options::new();
    options.backend = Some(backend);
    options
}

/// A sum, a max and an in-order collection, the way the macro generates them.
fn run(backend: Backend, items: Vec<u32>) -> Result<(u64, Option<u32>, Vec<u32>), String> {
    let mut evens = Vec::new();
    let (sum, max) = par_for(
        options(backend),
        items,
        IndexedInput,
        &mut evens,
        VecPlace,
        || (0u64, None),
        |acc: &mut (u64, Option<u32>),
         evens: &mut Sink<'_, u32>,
         item: u32|
         -> Result<(), String> {
            if item == 13 {
                return Err("13 is unlucky".to_owned());
            }
            if item % 2 == 1 {
                return Ok(());
            }
            acc.0 += u64::from(item);
            fold_option(&mut acc.1, item, u32::max);
            evens.push(item);
            Ok(())
        },
        |left, right| {
            left.0 += right.0;
            left.1 = merge_option(left.1.take(), right.1, u32::max);
        },
    )?;
    Ok((sum, max, evens))
}

#[test]
fn partials_combine_in_input_order_on_every_backend() {
    for backend in [Backend::Rayon, Backend::Threads] {
        let items: Vec<u32> = (0..1000).filter(|&i| i != 13).collect();
        let (sum, max, evens) = run(backend, items).unwrap();
        let expected: Vec<u32> = (0..1000).filter(|i| i % 2 == 0).collect();
        assert_eq!(sum, expected.iter().map(|&i| u64::from(i)).sum::<u64>());
        assert_eq!(max, Some(998));
        assert_eq!(evens, expected, "{backend:?} lost the order");
    }
}

#[test]
fn an_exit_stops_the_loop() {
    for backend in [Backend::Rayon, Backend::Threads] {
        assert_eq!(
            run(backend, (0..100).collect()).unwrap_err(),
            "13 is unlucky"
        );
    }
}

#[test]
fn an_empty_input_gives_the_identity() {
    for backend in [Backend::Rayon, Backend::Threads] {
        assert_eq!(run(backend, Vec::new()).unwrap(), (0, None, Vec::new()));
    }
}

#[test]
fn steps_and_exits() {
    assert_eq!(<Result<(), u8> as LoopStep>::CONTINUE.into_exit(), None);
    assert_eq!(Err::<(), u8>(3).into_exit(), Some(3));
    assert_eq!(None::<()>.into_exit(), Some(()));
    assert_eq!(<Option<u8> as LoopExit>::exit(()), None);
    assert_eq!(<Result<u8, &str> as LoopExit>::exit("no"), Err("no"));
    assert_eq!(merge_option(None, Some(2), u8::max), Some(2));
    assert_eq!(merge_option(Some(5), Some(2), u8::max), Some(5));
}
