//! What the macros cost over hand-written rayon, in the same run (issue 5, point 1). Run it with
//! `cargo bench -p parallel-bench --bench rayon_overhead`; one group:
//! `cargo bench -p parallel-bench --bench rayon_overhead -- join/`.
//!
//! - `join/trivial/N`, `join/100us/N`: `par_join!` of N = 2, 4, 8 calls against the same calls
//!   in hand-nested `rayon::join` (a balanced tree, as `par_join!` builds).
//! - `map/trivial_1e6`: `par_map!` against `into_par_iter().map().collect()` over a range, and
//!   over a slice (`par_iter()`).
//! - `map/1ms_1e3`: the same for 1,000 calls of about 1 ms.
//!
//! Both sides run on rayon's global pool and are called from outside it, as user code is.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use parallel::{par_join, par_map};
use rayon::iter::{IntoParallelIterator, IntoParallelRefIterator, ParallelIterator};

/// Nothing worth running in parallel: what is left is the cost of getting there.
fn trivial(n: u64) -> u64 {
    black_box(n).wrapping_mul(3)
}

/// A CPU loop of `iterations` steps that the optimiser cannot shorten.
fn spin(iterations: u64) -> u64 {
    let mut x = 0u64;
    for i in 0..iterations {
        x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
    }
    x
}

/// The loop count for which one `spin` call takes about `target` on this machine.
fn calibrate(target: Duration) -> u64 {
    let mut iterations = 100_000u64;
    for _ in 0..3 {
        let start = Instant::now();
        black_box(spin(black_box(iterations)));
        let elapsed = start.elapsed().as_secs_f64().max(1e-7);
        iterations = ((iterations as f64) * target.as_secs_f64() / elapsed).max(1.0) as u64;
    }
    iterations
}

/// `par_join!` and hand-nested `rayon::join` over 2, 4 and 8 calls of `work`.
fn join_group(c: &mut Criterion, name: &str, work: impl Fn(u64) -> u64 + Sync) {
    let w = &work;
    let mut group = c.benchmark_group(format!("join/{name}"));
    group.bench_function(BenchmarkId::new("par_join", 2), |b| {
        b.iter(|| par_join!(w(0), w(1)));
    });
    group.bench_function(BenchmarkId::new("rayon_join", 2), |b| {
        b.iter(|| rayon::join(|| w(0), || w(1)));
    });
    group.bench_function(BenchmarkId::new("par_join", 4), |b| {
        b.iter(|| par_join!(w(0), w(1), w(2), w(3)));
    });
    group.bench_function(BenchmarkId::new("rayon_join", 4), |b| {
        b.iter(|| {
            rayon::join(
                || rayon::join(|| w(0), || w(1)),
                || rayon::join(|| w(2), || w(3)),
            )
        });
    });
    group.bench_function(BenchmarkId::new("par_join", 8), |b| {
        b.iter(|| par_join!(w(0), w(1), w(2), w(3), w(4), w(5), w(6), w(7)));
    });
    group.bench_function(BenchmarkId::new("rayon_join", 8), |b| {
        b.iter(|| {
            rayon::join(
                || {
                    rayon::join(
                        || rayon::join(|| w(0), || w(1)),
                        || rayon::join(|| w(2), || w(3)),
                    )
                },
                || {
                    rayon::join(
                        || rayon::join(|| w(4), || w(5)),
                        || rayon::join(|| w(6), || w(7)),
                    )
                },
            )
        });
    });
    group.finish();
}

fn joins(c: &mut Criterion) {
    join_group(c, "trivial", trivial);
    let iterations = calibrate(Duration::from_micros(100));
    join_group(c, "100us", move |n| spin(iterations + n));
}

fn maps(c: &mut Criterion) {
    const TRIVIAL_ITEMS: u64 = 1_000_000;
    let mut group = c.benchmark_group("map/trivial_1e6");
    group.throughput(Throughput::Elements(TRIVIAL_ITEMS));
    group.bench_function("par_map_range", |b| {
        b.iter(|| par_map!(trivial, 0..black_box(TRIVIAL_ITEMS)));
    });
    group.bench_function("rayon_range", |b| {
        b.iter(|| {
            (0..black_box(TRIVIAL_ITEMS))
                .into_par_iter()
                .map(trivial)
                .collect::<Vec<u64>>()
        });
    });
    let items: Vec<u64> = (0..TRIVIAL_ITEMS).collect();
    group.bench_function("par_map_slice", |b| {
        b.iter(|| par_map!(|n: &u64| trivial(*n), &items));
    });
    group.bench_function("rayon_par_iter", |b| {
        b.iter(|| items.par_iter().map(|n| trivial(*n)).collect::<Vec<u64>>());
    });
    group.finish();

    const SLOW_ITEMS: u64 = 1_000;
    let iterations = calibrate(Duration::from_millis(1));
    let slow = move |n: u64| spin(iterations + n);
    let mut group = c.benchmark_group("map/1ms_1e3");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(SLOW_ITEMS));
    group.bench_function("par_map", |b| {
        b.iter(|| par_map!(slow, 0..SLOW_ITEMS));
    });
    group.bench_function("rayon", |b| {
        b.iter(|| {
            (0..SLOW_ITEMS)
                .into_par_iter()
                .map(slow)
                .collect::<Vec<u64>>()
        });
    });
    group.finish();
}

criterion_group!(benches, joins, maps);
criterion_main!(benches);
