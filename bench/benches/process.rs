//! The process backend against hand-written serial code and `procspawn`, in the same run, so
//! that the results read as ratios (issue 3, point 8). Run it with
//! `cargo bench -p parallel-bench --bench process`; one group:
//! `cargo bench -p parallel-bench --bench process -- process/round_trip`.
//!
//! Groups, each with its baseline:
//!
//! - `process/map_100k`: `square` over 100,000 `u64`s: serial `map().collect()`, `par_map!` on
//!   two worker processes, `pool.map` on each transport, and `procspawn` (a pool of two; one spawn per chunk, since it has no
//!   map).
//! - `process/unbatched`: one call per message, `pool.map(square, items).chunk(1)`, against
//!   one `procspawn` pool spawn per item.
//! - `process/round_trip`: one spawn and join on a warm pool, `parallel` and `procspawn`.
//! - `process/cold_start`: a two-worker pool built, one result, the pool dropped.
//! - `process/payload_1mib`: `len` of 100 buffers of 1 MiB: `serde_bytes::ByteBuf`, plain
//!   `Vec<u8>` (alone, beside a second argument, and sent back as the result, alone or in a
//!   tuple: the bytes of the `there_and_back` rows cross twice), the same megabytes as
//!   `Vec<f64>`s, `procspawn` (one call per worker in flight: more deadlocks it, see
//!   `procspawn_lens`), and an in-process copy of the bytes.
//! - `process/shared_slice_8mib`: 100 calls each summing the same 8 MiB `f64` array, passed
//!   as a `SharedSlice<f64>` (the file sent to each worker once; with and without making the
//!   array in the measured time) against passed as a `Vec<f64>` (serde copies it into every
//!   request; the clone of each item is measured too, since a map takes its items by value), and
//!   the same sums in process. Throughput in bytes read: effective GB/s.
//! - `process/shared_slice_8mib_sampled`: the same 100 arrays, each task reading one value per
//!   4 KiB page: how fast arrays reach tasks when the tasks' own reading is not the limit
//!   (`SharedSlice<f64>` against `Vec<f64>`). Throughput in bytes handed over.
//! - `process/cpu_10ms`: 200 calls of a 10 ms loop, serial against two workers: the speedup.
//!
//! Rows ending in `_socket` run on a pool of the socket transport (`ProcessTransport::Socket`),
//! the others on the default, shared memory: the gain of the rings, in the same run.
//!
//! Worker processes re-enter this executable. `parallel`'s workers serve tasks from a
//! constructor that runs before `main`, so they never reach criterion's argument parsing;
//! `procspawn`'s workers take over in `procspawn::init()`, the first line of `main`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, SamplingMode, Throughput};
use parallel::{ProcessPool, ProcessTransport, SharedSlice, par_map, parallel};
use serde_bytes::ByteBuf;

/// Worker processes for every pool here: one per core of the 2-core benchmark machines.
const WORKERS: usize = 2;
/// Items of the trivial map.
const MAP_ITEMS: u64 = 100_000;
/// Calls of the unbatched groups.
const UNBATCHED_CALLS: u64 = 1_000;
/// Buffers of the payload group, and the size of each.
const PAYLOADS: usize = 100;
const PAYLOAD_BYTES: usize = 1 << 20;
/// Calls of the shared-array group, and the `f64`s of its array (8 MiB).
const SHARED_CALLS: usize = 100;
const SHARED_LEN: usize = 1 << 20;
/// Calls of the CPU-bound group, and how long each should take.
const CPU_CALLS: usize = 200;
const CPU_CALL: Duration = Duration::from_millis(10);

#[parallel]
fn square(n: u64) -> u64 {
    n * n
}

#[parallel]
fn byte_buf_len(bytes: ByteBuf) -> usize {
    bytes.len()
}

#[parallel]
fn vec_len(bytes: Vec<u8>) -> usize {
    bytes.len()
}

#[parallel]
fn f64_bytes(values: Vec<f64>) -> usize {
    values.len() * 8
}

#[parallel]
fn echo(bytes: Vec<u8>) -> Vec<u8> {
    bytes
}

#[parallel]
fn echo_tagged(bytes: Vec<u8>) -> (Vec<u8>, u32) {
    (bytes, 7)
}

#[parallel]
fn tagged_len(bytes: Vec<u8>, tag: u32) -> usize {
    bytes.len() + tag as usize
}

#[parallel]
fn sum_shared(data: SharedSlice<f64>) -> f64 {
    data.iter().sum()
}

#[parallel]
fn sum_vec(data: Vec<f64>) -> f64 {
    data.iter().sum()
}

/// Values of `f64` in a 4 KiB page.
const PAGE_VALUES: usize = 512;

#[parallel]
fn sample_shared(data: SharedSlice<f64>) -> f64 {
    data.iter().step_by(PAGE_VALUES).sum()
}

#[parallel]
fn sample_vec(data: Vec<f64>) -> f64 {
    data.iter().step_by(PAGE_VALUES).sum()
}

/// A CPU loop of `iterations` steps that the optimiser cannot shorten.
#[parallel]
fn spin(iterations: u64) -> u64 {
    let mut x = 0u64;
    for i in 0..iterations {
        x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
    }
    x
}

/// The same work for `procspawn`, which sends a function pointer and one argument.
fn squares(chunk: Vec<u64>) -> Vec<u64> {
    chunk.into_iter().map(square).collect()
}

fn procspawn_pool() -> procspawn::Pool {
    procspawn::Pool::new(WORKERS).expect("procspawn starts its pool")
}

fn map_100k(c: &mut Criterion, pools: &Pools) {
    let mut group = c.benchmark_group("process/map_100k");
    group.throughput(Throughput::Elements(MAP_ITEMS));
    group.bench_function("serial", |b| {
        b.iter(|| (0..black_box(MAP_ITEMS)).map(square).collect::<Vec<u64>>());
    });
    group.bench_function("par_map_process", |b| {
        b.iter(|| par_map!(square, 0..black_box(MAP_ITEMS); backend = process, workers = 2));
    });
    for (name, pool) in pools.both("pool_map") {
        group.bench_function(name, |b| {
            b.iter(|| {
                pool.map(square, 0..black_box(MAP_ITEMS))
                    .map(|result| result.expect("square runs"))
                    .collect::<Vec<u64>>()
            });
        });
    }
    let pool = procspawn_pool();
    // Four chunks per worker, so that one slow worker does not hold up the end.
    let chunk = usize::try_from(MAP_ITEMS).expect("fits") / (4 * WORKERS);
    let items: Vec<u64> = (0..MAP_ITEMS).collect();
    group.bench_function("procspawn_chunks", |b| {
        b.iter(|| {
            let handles: Vec<_> = items
                .chunks(chunk)
                .map(|chunk| pool.spawn(chunk.to_vec(), squares))
                .collect();
            handles
                .into_iter()
                .flat_map(|handle| handle.join().expect("procspawn task"))
                .collect::<Vec<u64>>()
        });
    });
    group.finish();
}

fn unbatched(c: &mut Criterion, pools: &Pools, peer: &procspawn::Pool) {
    let mut group = c.benchmark_group("process/unbatched");
    group.sample_size(10);
    group.throughput(Throughput::Elements(UNBATCHED_CALLS));
    for (name, pool) in pools.both("pool_map_chunk_1") {
        group.bench_function(name, |b| {
            b.iter(|| {
                pool.map(square, 0..black_box(UNBATCHED_CALLS))
                    .chunk(1)
                    .map(|result| result.expect("square runs"))
                    .sum::<u64>()
            });
        });
    }
    group.bench_function("procspawn_spawn_each", |b| {
        b.iter(|| {
            let handles: Vec<_> = (0..black_box(UNBATCHED_CALLS))
                .map(|n| peer.spawn(n, square))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("procspawn task"))
                .sum::<u64>()
        });
    });
    group.finish();
}

fn round_trip(c: &mut Criterion, pools: &Pools, peer: &procspawn::Pool) {
    let mut group = c.benchmark_group("process/round_trip");
    for (name, pool) in pools.both("pool_spawn_join") {
        group.bench_function(name, |b| {
            b.iter(|| {
                pool.spawn(square, (black_box(7),))
                    .join()
                    .expect("square runs")
            });
        });
    }
    group.bench_function("procspawn_spawn_join", |b| {
        b.iter(|| {
            peer.spawn(black_box(7), square)
                .join()
                .expect("procspawn task")
        });
    });
    group.finish();
}

/// The time `iters` runs of `run` take, each one's output dropped after its clock stops.
fn timed_apart<T>(iters: u64, mut run: impl FnMut() -> T) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        let output = black_box(run());
        total += start.elapsed();
        drop(output);
        // A cold start happens on a quiet machine: the last pool's workers finish exiting.
        std::thread::sleep(Duration::from_millis(5));
    }
    total
}

fn cold_start(c: &mut Criterion) {
    let mut group = c.benchmark_group("process/cold_start");
    group.sample_size(10);
    // About 1,300 starts, and as many pauses of 5 ms between them.
    group.measurement_time(Duration::from_secs(2));
    // Up to the first result, as the goal reads; each pool is shut down (its workers told to
    // exit and reaped) after the clock stops and before the next starts, for both libraries.
    group.bench_function("pool_build_first_result", |b| {
        b.iter_custom(|iters| {
            timed_apart(iters, || {
                let pool = ProcessPool::builder()
                    .workers(WORKERS as i64)
                    .build()
                    .expect("two workers");
                let result = pool
                    .spawn(square, (black_box(7),))
                    .join()
                    .expect("square runs");
                (pool, result)
            })
        });
    });
    group.bench_function("procspawn_pool_first_result", |b| {
        b.iter_custom(|iters| {
            timed_apart(iters, || {
                let pool = procspawn_pool();
                let result = pool
                    .spawn(black_box(7), square)
                    .join()
                    .expect("procspawn task");
                (pool, result)
            })
        });
    });
    group.finish();
}

fn payload_1mib(c: &mut Criterion, pools: &Pools, peer: &procspawn::Pool) {
    let mut group = c.benchmark_group("process/payload_1mib");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((PAYLOADS * PAYLOAD_BYTES) as u64));
    let buffers: Vec<ByteBuf> = (0..PAYLOADS)
        .map(|i| ByteBuf::from(vec![i as u8; PAYLOAD_BYTES]))
        .collect();
    let total = PAYLOADS * PAYLOAD_BYTES;
    // The buffers are cloned outside the measured time: a map takes its items by value.
    group.bench_function("copy_in_process", |b| {
        b.iter(|| {
            buffers
                .iter()
                .map(|buffer| black_box(buffer.to_vec()).len())
                .sum::<usize>()
        });
    });
    for (name, pool) in pools.both("pool_map_byte_buf") {
        group.bench_function(name, |b| {
            b.iter_batched(
                || buffers.clone(),
                |buffers| {
                    let sum: usize = pool
                        .map(byte_buf_len, buffers)
                        .map(|result| result.expect("len runs"))
                        .sum();
                    assert_eq!(sum, total);
                },
                BatchSize::PerIteration,
            );
        });
    }
    let pool = &pools.shared_memory;
    let vecs = || -> Vec<Vec<u8>> { buffers.iter().map(|buffer| buffer.to_vec()).collect() };
    // Each row maps the buffers as plain `Vec<u8>`s and gives back how many bytes returned.
    type Row<'a> = &'a dyn Fn(Vec<Vec<u8>>) -> usize;
    let rows: [(&str, Row); 4] = [
        ("pool_map_vec_u8", &|buffers| {
            pool.map(vec_len, buffers)
                .map(|result| result.expect("len runs"))
                .sum()
        }),
        ("pool_starmap_vec_u8_and_u32", &|buffers| {
            pool.starmap(tagged_len, buffers.into_iter().map(|buffer| (buffer, 0)))
                .map(|result| result.expect("len runs"))
                .sum()
        }),
        ("pool_map_vec_u8_there_and_back", &|buffers| {
            pool.map(echo, buffers)
                .map(|result| result.expect("echo runs").len())
                .sum()
        }),
        ("pool_map_vec_u8_there_and_back_in_a_tuple", &|buffers| {
            pool.map(echo_tagged, buffers)
                .map(|result| result.expect("echo runs").0.len())
                .sum()
        }),
    ];
    for (name, row) in rows {
        group.bench_function(name, |b| {
            b.iter_batched(
                vecs,
                |buffers| assert_eq!(row(buffers), total),
                BatchSize::PerIteration,
            );
        });
    }
    // The same megabytes as `f64`s: an array of fixed-width numbers, sent as its bytes.
    group.bench_function("pool_map_vec_f64", |b| {
        b.iter_batched(
            || -> Vec<Vec<f64>> {
                buffers
                    .iter()
                    .map(|buffer| buffer.chunks_exact(8).map(|_| 0.5).collect())
                    .collect()
            },
            |arrays| {
                let sum: usize = pool
                    .map(f64_bytes, arrays)
                    .map(|result| result.expect("len runs"))
                    .sum();
                assert_eq!(sum, total);
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("procspawn_byte_buf", |b| {
        b.iter_batched(
            || buffers.clone(),
            |buffers| assert_eq!(procspawn_lens(peer, buffers), total),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

fn shared_slice_8mib(c: &mut Criterion, pools: &Pools) {
    let mut group = c.benchmark_group("process/shared_slice_8mib");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Bytes((SHARED_CALLS * SHARED_LEN * 8) as u64));
    let data: Vec<f64> = (0..SHARED_LEN).map(|i| (i % 1024) as f64).collect();
    let expected: f64 = data.iter().sum::<f64>() * SHARED_CALLS as f64;
    let shared = SharedSlice::from_slice(&data).expect("a memfd");
    group.bench_function("sum_in_process", |b| {
        b.iter(|| {
            (0..SHARED_CALLS)
                .map(|_| black_box(&data).iter().sum::<f64>())
                .sum::<f64>()
        });
    });
    for (name, pool) in pools.both("pool_map_shared_slice") {
        group.bench_function(name, |b| {
            b.iter(|| {
                let sum: f64 = pool
                    .map(sum_shared, (0..SHARED_CALLS).map(|_| shared.clone()))
                    .map(|result| result.expect("sum runs"))
                    .sum();
                assert_eq!(sum, expected);
            });
        });
    }
    let pool = &pools.shared_memory;
    group.bench_function("pool_map_shared_slice_made_each_time", |b| {
        b.iter(|| {
            let shared = SharedSlice::from_slice(&data).expect("a memfd");
            let sum: f64 = pool
                .map(sum_shared, (0..SHARED_CALLS).map(|_| shared.clone()))
                .map(|result| result.expect("sum runs"))
                .sum();
            assert_eq!(sum, expected);
        });
    });
    group.bench_function("pool_map_vec_f64", |b| {
        b.iter(|| {
            let sum: f64 = pool
                .map(sum_vec, (0..SHARED_CALLS).map(|_| data.clone()))
                .map(|result| result.expect("sum runs"))
                .sum();
            assert_eq!(sum, expected);
        });
    });
    group.finish();
}

fn shared_slice_8mib_sampled(c: &mut Criterion, pools: &Pools) {
    let mut group = c.benchmark_group("process/shared_slice_8mib_sampled");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Bytes((SHARED_CALLS * SHARED_LEN * 8) as u64));
    let data: Vec<f64> = (0..SHARED_LEN).map(|i| (i % 1024) as f64).collect();
    let expected: f64 = data.iter().step_by(PAGE_VALUES).sum::<f64>() * SHARED_CALLS as f64;
    let shared = SharedSlice::from_slice(&data).expect("a memfd");
    let pool = &pools.shared_memory;
    group.bench_function("pool_map_shared_slice", |b| {
        b.iter(|| {
            let sum: f64 = pool
                .map(sample_shared, (0..SHARED_CALLS).map(|_| shared.clone()))
                .map(|result| result.expect("sample runs"))
                .sum();
            assert_eq!(sum, expected);
        });
    });
    group.bench_function("pool_map_vec_f64", |b| {
        b.iter(|| {
            let sum: f64 = pool
                .map(sample_vec, (0..SHARED_CALLS).map(|_| data.clone()))
                .map(|result| result.expect("sample runs"))
                .sum();
            assert_eq!(sum, expected);
        });
    });
    group.finish();
}

/// `len` of each buffer on a `procspawn` pool, with at most one call per worker in flight.
///
/// Spawning them all first deadlocks: a pool's worker hands its result over only when that
/// handle is joined, and the caller, blocked writing the next 1 MiB of arguments into a full
/// socket, never gets there.
fn procspawn_lens(peer: &procspawn::Pool, buffers: Vec<ByteBuf>) -> usize {
    let mut in_flight = std::collections::VecDeque::with_capacity(WORKERS);
    let mut sum = 0;
    for buffer in buffers {
        if in_flight.len() == WORKERS {
            let handle: procspawn::JoinHandle<usize> =
                in_flight.pop_front().expect("a full window");
            sum += handle.join().expect("procspawn task");
        }
        in_flight.push_back(peer.spawn(buffer, |buffer: ByteBuf| buffer.len()));
    }
    for handle in in_flight {
        sum += handle.join().expect("procspawn task");
    }
    sum
}

/// The loop count for which one `spin` call takes about [`CPU_CALL`] on this machine.
fn calibrate_spin() -> u64 {
    let mut iterations = 1_000_000u64;
    for _ in 0..3 {
        let start = Instant::now();
        black_box(spin(black_box(iterations)));
        let elapsed = start.elapsed().as_secs_f64().max(1e-6);
        iterations = ((iterations as f64) * CPU_CALL.as_secs_f64() / elapsed).max(1.0) as u64;
    }
    iterations
}

fn cpu_10ms(c: &mut Criterion, iterations: u64, peer: &procspawn::Pool) {
    let mut group = c.benchmark_group("process/cpu_10ms");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(CPU_CALLS as u64));
    let calls = vec![iterations; CPU_CALLS];
    group.bench_function("serial", |b| {
        b.iter(|| calls.iter().map(|&n| spin(n)).collect::<Vec<u64>>());
    });
    group.bench_function("par_map_process", |b| {
        b.iter(|| par_map!(spin, calls.clone(); backend = process, workers = 2));
    });
    group.bench_function("procspawn_spawn_each", |b| {
        b.iter(|| {
            let handles: Vec<_> = calls.iter().map(|&n| peer.spawn(n, spin)).collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("procspawn task"))
                .collect::<Vec<u64>>()
        });
    });
    group.finish();
}

/// A pool of each transport.
struct Pools {
    shared_memory: ProcessPool,
    socket: ProcessPool,
}

impl Pools {
    /// Each pool with its row's name: `row` for shared memory, `row_socket` for the socket.
    fn both(&self, row: &str) -> [(String, &ProcessPool); 2] {
        [
            (row.to_owned(), &self.shared_memory),
            (format!("{row}_socket"), &self.socket),
        ]
    }
}

fn pool_of(transport: ProcessTransport) -> ProcessPool {
    ProcessPool::builder()
        .workers(WORKERS as i64)
        .transport(transport)
        .build()
        .expect("two workers")
}

fn benches(c: &mut Criterion) {
    let iterations = calibrate_spin();
    let start = Instant::now();
    spin(iterations);
    eprintln!(
        "spin: {iterations} iterations take {:.2?} here (target {CPU_CALL:?})",
        start.elapsed()
    );

    let pools = Pools {
        shared_memory: pool_of(ProcessTransport::SharedMemory),
        socket: pool_of(ProcessTransport::Socket),
    };
    map_100k(c, &pools);
    let peer = procspawn_pool();
    unbatched(c, &pools, &peer);
    round_trip(c, &pools, &peer);
    cold_start(c);
    payload_1mib(c, &pools, &peer);
    shared_slice_8mib(c, &pools);
    shared_slice_8mib_sampled(c, &pools);
    drop(pools);
    cpu_10ms(c, iterations, &peer);
}

fn main() {
    // First: a `procspawn` worker serves its task from here and never returns.
    procspawn::init();
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
}
