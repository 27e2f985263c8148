//! A `#[parallel] for` loop against the rayon code one would write by hand for it.
//!
//! `cargo bench -p parallel-bench --bench parallel_for`. Each group holds the hand-written rayon
//! baseline and the marked loop, measured in the same run: read the result as the ratio of the
//! two.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use parallel::parallel;
use rayon::prelude::*;

/// A little arithmetic: enough that the loop is not only overhead.
fn mix(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ i
}

/// About 10 µs of work.
fn heavy(i: u64) -> u64 {
    (0..2_000).fold(i, |acc, k| mix(acc ^ k))
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

fn rayon_sum(n: u64) -> u64 {
    (0..n).into_par_iter().map(|i| mix(i) & 0xFF).sum()
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

fn rayon_collect(n: u64) -> Vec<u64> {
    (0..n).into_par_iter().map(mix).collect()
}

#[parallel]
fn loop_heavy_max(n: u64) -> u64 {
    let mut best = 0u64;
    #[parallel]
    for i in 0..n {
        best = best.max(heavy(i));
    }
    best
}

fn rayon_heavy_max(n: u64) -> u64 {
    (0..n).into_par_iter().map(heavy).max().unwrap_or(0)
}

fn benches(c: &mut Criterion) {
    assert_eq!(loop_sum(10_000), rayon_sum(10_000));
    assert_eq!(loop_collect(10_000), rayon_collect(10_000));
    assert_eq!(loop_heavy_max(100), rayon_heavy_max(100));

    let mut group = c.benchmark_group("sum of 1e6 trivial items");
    group.throughput(Throughput::Elements(1_000_000));
    group.bench_function(BenchmarkId::new("rayon by hand", "sum"), |b| {
        b.iter(|| rayon_sum(black_box(1_000_000)))
    });
    group.bench_function(BenchmarkId::new("#[parallel] for", "sum"), |b| {
        b.iter(|| loop_sum(black_box(1_000_000)))
    });
    group.finish();

    let mut group = c.benchmark_group("collect 1e6 trivial items in order");
    group.throughput(Throughput::Elements(1_000_000));
    group.bench_function(BenchmarkId::new("rayon by hand", "collect"), |b| {
        b.iter(|| rayon_collect(black_box(1_000_000)))
    });
    group.bench_function(BenchmarkId::new("#[parallel] for", "push"), |b| {
        b.iter(|| loop_collect(black_box(1_000_000)))
    });
    group.finish();

    let mut group = c.benchmark_group("max of 1e3 items of ~10 us");
    group.sample_size(20);
    group.throughput(Throughput::Elements(1_000));
    group.bench_function(BenchmarkId::new("rayon by hand", "max"), |b| {
        b.iter(|| rayon_heavy_max(black_box(1_000)))
    });
    group.bench_function(BenchmarkId::new("#[parallel] for", "max"), |b| {
        b.iter(|| loop_heavy_max(black_box(1_000)))
    });
    group.finish();
}

criterion_group!(parallel_for, benches);
criterion_main!(parallel_for);
