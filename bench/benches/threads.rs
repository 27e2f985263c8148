//! The threads backend against `std::thread::scope` for blocking work, in the same run (issue 5,
//! point 1). Run it with `cargo bench -p parallel-bench --bench threads`.
//!
//! - `threads/sleep_5ms_32x32`: 32 sleeps of 5 ms on 32 threads: `par_map!` (threads started for
//!   the call), a warm `ThreadPool`, and a scope that spawns one thread per sleep. The ideal is
//!   5 ms.
//! - `threads/sleep_5ms_128x32`: 128 sleeps on 32 threads (the ideal is 20 ms): `par_map!`, a
//!   warm `ThreadPool`, and a scope of 32 threads taking items from a shared counter.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use parallel::{ThreadPool, par_map};

const WORKERS: usize = 32;
const SLEEP: Duration = Duration::from_millis(5);

/// Stands for a blocking call: a request, a file read.
fn blocking(n: usize) -> usize {
    thread::sleep(SLEEP);
    black_box(n)
}

/// `blocking` over `0..tasks` on `WORKERS` scoped threads that share the items.
fn scoped(tasks: usize) -> Vec<usize> {
    let next = AtomicUsize::new(0);
    let mut results = vec![0; tasks];
    thread::scope(|scope| {
        let handles: Vec<_> = (0..WORKERS.min(tasks))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= tasks {
                            return done;
                        }
                        done.push((i, blocking(i)));
                    }
                })
            })
            .collect();
        for handle in handles {
            for (i, value) in handle.join().expect("no panics") {
                results[i] = value;
            }
        }
    });
    results
}

fn sleeps(c: &mut Criterion) {
    let pool = ThreadPool::builder()
        .workers(WORKERS as i64)
        .build()
        .expect("32 threads");

    let mut group = c.benchmark_group("threads/sleep_5ms_32x32");
    group.bench_function("par_map_threads", |b| {
        b.iter(|| par_map!(blocking, 0..32; backend = threads, workers = 32));
    });
    group.bench_function("thread_pool_map", |b| {
        b.iter(|| {
            pool.map(blocking, 0..32)
                .map(|result| result.expect("no panics"))
                .collect::<Vec<usize>>()
        });
    });
    group.bench_function("scope_thread_per_task", |b| {
        b.iter(|| {
            thread::scope(|scope| {
                let handles: Vec<_> = (0..32).map(|i| scope.spawn(move || blocking(i))).collect();
                handles
                    .into_iter()
                    .map(|handle| handle.join().expect("no panics"))
                    .collect::<Vec<usize>>()
            })
        });
    });
    group.finish();

    let mut group = c.benchmark_group("threads/sleep_5ms_128x32");
    group.bench_function("par_map_threads", |b| {
        b.iter(|| par_map!(blocking, 0..128; backend = threads, workers = 32));
    });
    group.bench_function("thread_pool_map", |b| {
        b.iter(|| {
            pool.map(blocking, 0..128)
                .map(|result| result.expect("no panics"))
                .collect::<Vec<usize>>()
        });
    });
    group.bench_function("scope_32_threads", |b| {
        b.iter(|| scoped(128));
    });
    group.finish();
}

criterion_group!(benches, sleeps);
criterion_main!(benches);
