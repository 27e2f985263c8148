//! An interleaved probe of two rayon-overhead comparisons, for a VM whose speed drifts: each
//! round times the macro side and the hand-written rayon side alternately, call by call, and
//! prints the medians and their ratio.
//!
//! `cargo run --release -p parallel-bench --example interleaved -- map|push|sum [rounds]
//! [calls]`: `map` is `par_map!` over `0..1e6u64` against `into_par_iter().map().collect()`,
//! `push` is a `#[parallel] for` pushing in order against the same rayon collect, `sum` a
//! `#[parallel] for` summing against rayon's `sum`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use parallel::{par_map, parallel};
use rayon::prelude::*;

const N: u64 = 1_000_000;

/// Calls timed together, as criterion does: one call's time alone is mostly the wake-up of
/// rayon's sleeping workers.
const BATCH: u32 = 10;

fn trivial(n: u64) -> u64 {
    black_box(n).wrapping_mul(3)
}

fn mix(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ i
}

#[parallel]
fn loop_sum(n: u64) -> u64 {
    let mut total = 0u64;
    #[parallel]
    for i in 0..n {
        total += mix(i) & 0xFF;
    }
    total
}

#[parallel]
fn loop_collect(n: u64) -> Vec<u64> {
    let mut out = Vec::new();
    #[parallel]
    for i in 0..n {
        out.push(mix(i));
    }
    out
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

/// Times `ours` and `theirs` alternately, `calls` batches each per round, and prints the
/// medians of every round and the median of their ratios.
fn probe(
    name: &str,
    rounds: usize,
    calls: usize,
    ours: impl Fn() -> usize,
    theirs: impl Fn() -> usize,
) {
    assert_eq!(ours(), theirs());
    // `PROBE_ONLY=ours` or `=rayon` runs one side alone, for a profiler to look at.
    match std::env::var("PROBE_ONLY").as_deref() {
        Ok("ours") => return repeat(rounds * calls, ours),
        Ok("rayon") => return repeat(rounds * calls, theirs),
        _ => {}
    }
    let time = |f: &dyn Fn() -> usize, times: &mut Vec<Duration>| {
        let start = Instant::now();
        for _ in 0..BATCH {
            black_box(f());
        }
        times.push(start.elapsed() / BATCH);
    };
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for call in 0..calls {
            // Alternate which side goes first, so neither always follows the other.
            if call % 2 == 0 {
                time(&ours, &mut a);
                time(&theirs, &mut b);
            } else {
                time(&theirs, &mut b);
                time(&ours, &mut a);
            }
        }
        let (a, b) = (median(a), median(b));
        let ratio = a.as_secs_f64() / b.as_secs_f64();
        ratios.push(ratio);
        println!("round {round}: {name} {a:?}  rayon {b:?}  ratio {ratio:.3}");
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "median ratio over {rounds} rounds: {:.3}",
        ratios[rounds / 2]
    );
}

/// Runs `f` in `batches` batches, untimed.
fn repeat(batches: usize, f: impl Fn() -> usize) {
    for _ in 0..batches * BATCH as usize {
        black_box(f());
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "map".to_owned());
    let rounds: usize = args.next().map_or(7, |a| a.parse().expect("rounds"));
    let calls: usize = args.next().map_or(40, |a| a.parse().expect("calls"));
    match which.as_str() {
        "map" => probe(
            "par_map!",
            rounds,
            calls,
            || par_map!(trivial, 0..black_box(N)).len(),
            || {
                (0..black_box(N))
                    .into_par_iter()
                    .map(trivial)
                    .collect::<Vec<u64>>()
                    .len()
            },
        ),
        "push" => probe(
            "#[parallel] for push",
            rounds,
            calls,
            || loop_collect(black_box(N)).len(),
            || {
                (0..black_box(N))
                    .into_par_iter()
                    .map(mix)
                    .collect::<Vec<u64>>()
                    .len()
            },
        ),
        "sum" => probe(
            "#[parallel] for sum",
            rounds,
            calls,
            || usize::from(loop_sum(black_box(N)) > 0),
            || {
                usize::from(
                    (0..black_box(N))
                        .into_par_iter()
                        .map(|i| mix(i) & 0xFF)
                        .sum::<u64>()
                        > 0,
                )
            },
        ),
        other => panic!("unknown probe {other}: map, push or sum"),
    }
}
