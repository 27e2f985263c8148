//! The `parallel` side of each workload: the process backend (its pool API, and `par_map!`), with
//! rayon and threads as extra rows. Records have the shape of the Python side's.

use std::hint::black_box;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use parallel::{ProcessPool, ProcessTransport, RayonPool, ThreadPool, par_map, parallel};
use serde_bytes::ByteBuf;
use serde_json::{Value, json};

use crate::Settings;

pub const PROCESS: &str = "parallel process";
pub const PAR_MAP: &str = "par_map! process";
/// The pool API on the socket transport: what the shared-memory rings gain.
pub const SOCKET: &str = "process, socket";
pub const RAYON: &str = "rayon";
pub const THREADS: &str = "threads";

#[parallel]
fn square(x: u64) -> u64 {
    x * x
}

/// The same loop as Python's `cpu_work`.
#[parallel]
fn cpu_work(n: u64) -> u64 {
    spin(n)
}

/// The loop itself, never inlined: the serial baseline, rayon and the workers then run the same
/// machine code (an inlined copy in the serial loop was measured 6 times faster than the
/// worker's copy). `black_box` keeps the compiler from folding it.
#[inline(never)]
fn spin(n: u64) -> u64 {
    let mut sum = 0u64;
    for i in 0..n {
        let i = black_box(i);
        sum += i * i % 7;
    }
    sum
}

#[parallel]
fn nbytes(payload: ByteBuf) -> usize {
    payload.len()
}

/// The same with a plain `Vec<u8>`, which serde encodes byte by byte.
#[parallel]
fn nbytes_vec(payload: Vec<u8>) -> usize {
    payload.len()
}

/// Item 3 SIGKILLs its own worker, as Python's `tasks.die` does.
#[parallel]
fn die(x: u32) -> u32 {
    if x == 3 {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &std::process::id().to_string()])
            .status();
        // The signal is on its way.
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    x
}

/// Measures one workload.
pub fn run(workload: &str, settings: &Settings) -> Vec<Value> {
    let records = match workload {
        "overhead" => overhead(settings),
        "startup" => startup(settings),
        "cpu" => cpu(settings),
        "latency" => latency(settings),
        "payload" => payload(settings),
        "crash" => crash(),
        _ => unreachable!("unknown workload {workload}"),
    };
    records
        .into_iter()
        .map(|mut record| {
            record["lang"] = "rust".into();
            let shown = match record["seconds"].as_f64() {
                Some(s) if record["workload"] != "crash" => format!("{:.3} ms", s * 1e3),
                _ => record["outcome"].as_str().unwrap_or_default().to_owned(),
            };
            eprintln!(
                "  rust   {workload:<8} {:<55} {shown}",
                record["variant"].as_str().unwrap_or_default()
            );
            record
        })
        .collect()
}

fn record(workload: &str, tool: &str, variant: &str, headline: bool, fields: Value) -> Value {
    let mut record = json!({
        "workload": workload,
        "tool": tool,
        "variant": variant,
        "headline": headline,
    });
    if let (Some(record), Value::Object(fields)) = (record.as_object_mut(), fields) {
        record.extend(fields);
    }
    record
}

/// The median of `repeats` timed runs of `run` (after `warmup` untimed ones), each on a fresh
/// input from `setup` (made outside the timing), and the samples. `check` sees every result.
fn timed<I, T>(
    repeats: usize,
    warmup: usize,
    mut setup: impl FnMut() -> I,
    mut run: impl FnMut(I) -> T,
    check: impl Fn(&T),
) -> (f64, Vec<f64>) {
    for _ in 0..warmup {
        check(&run(setup()));
    }
    let mut samples = Vec::with_capacity(repeats);
    for _ in 0..repeats.max(1) {
        let input = setup();
        let start = Instant::now();
        let output = black_box(run(input));
        samples.push(start.elapsed().as_secs_f64());
        check(&output);
    }
    (median(&samples), samples)
}

pub fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn two_workers() -> ProcessPool {
    ProcessPool::builder()
        .workers(2)
        .build()
        .expect("2 workers")
}

fn two_workers_on_the_socket() -> ProcessPool {
    ProcessPool::builder()
        .workers(2)
        .transport(ProcessTransport::Socket)
        .build()
        .expect("2 workers")
}

/// Bench 1: `x * x` over `items` ints on warm 2-worker pools.
fn overhead(settings: &Settings) -> Vec<Value> {
    let n = settings.items as u64;
    let expected: Vec<u64> = (0..n).map(|x| x * x).collect();
    let pool = two_workers();
    let socket = two_workers_on_the_socket();
    // Warm: the workers, the shared pool of `par_map!`, rayon's and the threads' pools.
    let _ = pool.map(square, 0..100).count();
    let _ = socket.map(square, 0..100).count();
    let _ = par_map!(square, 0..100u64; backend = process, workers = 2);
    let _ = par_map!(square, 0..100u64; workers = 2);
    let _ = par_map!(square, 0..100u64; backend = threads, workers = 2);
    type Case<'a> = (&'a str, &'a str, bool, Box<dyn FnMut() -> Vec<u64> + 'a>);
    let cases: Vec<Case> = vec![
        (
            "serial",
            "(0..n).map(square).collect()",
            false,
            Box::new(|| (0..black_box(n)).map(square).collect()),
        ),
        (
            PROCESS,
            "ProcessPool(2).map(square, 0..n)",
            true,
            Box::new(|| pool.map(square, 0..n).map(Result::unwrap).collect()),
        ),
        (
            PAR_MAP,
            "par_map!(square, 0..n; backend = process, workers = 2)",
            true,
            Box::new(|| par_map!(square, 0..n; backend = process, workers = 2)),
        ),
        (
            SOCKET,
            "ProcessPool(2, socket transport).map(square, 0..n)",
            true,
            Box::new(|| socket.map(square, 0..n).map(Result::unwrap).collect()),
        ),
        (
            RAYON,
            "par_map!(square, 0..n; workers = 2)",
            true,
            Box::new(|| par_map!(square, 0..n; workers = 2)),
        ),
        (
            THREADS,
            "par_map!(square, 0..n; backend = threads, workers = 2)",
            true,
            Box::new(|| par_map!(square, 0..n; backend = threads, workers = 2)),
        ),
    ];
    cases
        .into_iter()
        .map(|(tool, variant, headline, mut run)| {
            let (seconds, samples) = timed(
                settings.repeats,
                1,
                || (),
                |()| run(),
                |out| assert!(*out == expected),
            );
            record(
                "overhead",
                tool,
                variant,
                headline,
                json!({"seconds": seconds, "samples": samples, "items": n, "workers": 2}),
            )
        })
        .collect()
}

/// Bench 2: build a 2-worker pool and get one trivial result; the first run apart.
fn startup(settings: &Settings) -> Vec<Value> {
    fn cold<P>(repeats: usize, mut start: impl FnMut() -> (P, u64)) -> Value {
        let mut first = None;
        let mut samples = Vec::new();
        for _ in 0..=repeats {
            let begin = Instant::now();
            let (pool, result) = start();
            let elapsed = begin.elapsed().as_secs_f64();
            assert_eq!(result, 4);
            drop(pool);
            if first.is_none() {
                first = Some(elapsed);
            } else {
                samples.push(elapsed);
            }
        }
        json!({"seconds": median(&samples), "samples": samples, "first": first, "workers": 2})
    }
    let process = cold(settings.repeats, || {
        let pool = two_workers();
        let four = pool.spawn(square, (2,)).join().unwrap();
        (pool, four)
    });
    let socket = cold(settings.repeats, || {
        let pool = two_workers_on_the_socket();
        let four = pool.spawn(square, (2,)).join().unwrap();
        (pool, four)
    });
    let rayon = cold(settings.repeats, || {
        let pool = RayonPool::builder().workers(2).build().unwrap();
        let four = pool.spawn(|| square(2)).join().unwrap();
        (pool, four)
    });
    let threads = cold(settings.repeats, || {
        let pool = ThreadPool::builder().workers(2).build().unwrap();
        let four = pool.spawn(|| square(2)).join().unwrap();
        (pool, four)
    });
    vec![
        record(
            "startup",
            PROCESS,
            "ProcessPool::builder().workers(2).build() + spawn(square, (2,)).join()",
            true,
            process,
        ),
        record(
            "startup",
            SOCKET,
            "the same, on the socket transport",
            true,
            socket,
        ),
        record(
            "startup",
            RAYON,
            "RayonPool::builder().workers(2).build() + spawn().join()",
            true,
            rayon,
        ),
        record(
            "startup",
            THREADS,
            "ThreadPool::builder().workers(2).build() + spawn().join()",
            true,
            threads,
        ),
    ]
}

/// The `n` for which `cpu_work(n)` takes about `target` here, and its median time. Each step
/// rescales `n` by the fastest of a few runs: on a busy machine a single run may include time
/// when another process had the core.
fn calibrate(target: Duration) -> (u64, f64) {
    let time = |n: u64| {
        let start = Instant::now();
        black_box(cpu_work(black_box(n)));
        start.elapsed().as_secs_f64()
    };
    let mut n = 10_000u64;
    while time(n) < 0.002 {
        n *= 2;
    }
    for _ in 0..3 {
        let fastest = (0..5).map(|_| time(n)).fold(f64::INFINITY, f64::min);
        n = (n as f64 * target.as_secs_f64() / fastest) as u64;
    }
    let samples: Vec<f64> = (0..20).map(|_| time(n)).collect();
    (n, median(&samples))
}

/// Bench 3: `calls` calls of a ~10 ms loop, serially and on each worker count. The cases take
/// turns, one run each per round, so that a burst of load from other processes on the machine
/// does not land on one case only (the speedups compare cases with each other).
fn cpu(settings: &Settings) -> Vec<Value> {
    let (n, per_call) = calibrate(Duration::from_millis(10));
    let args = &vec![n; settings.calls];
    let expected = vec![cpu_work(n); settings.calls];
    type Run<'a> = Box<dyn FnMut() -> Vec<u64> + 'a>;
    let mut cases: Vec<(&str, String, usize, Run)> = vec![(
        "serial",
        "for loop".into(),
        1,
        Box::new(|| args.iter().map(|&n| cpu_work(n)).collect()),
    )];
    for &w in &settings.workers {
        let pool = ProcessPool::builder()
            .workers(w as i64)
            .build()
            .expect("workers");
        let warm = || vec![1000; 4 * w];
        let _ = pool.map(cpu_work, warm()).count();
        let _ = par_map!(cpu_work, warm(); workers = w);
        cases.push((
            PROCESS,
            format!("ProcessPool({w}).map(cpu_work, args)"),
            w,
            Box::new(move || {
                pool.map(cpu_work, args.clone())
                    .map(Result::unwrap)
                    .collect()
            }),
        ));
        cases.push((
            RAYON,
            format!("par_map!(cpu_work, args; workers = {w})"),
            w,
            Box::new(move || par_map!(cpu_work, args.clone(); workers = w)),
        ));
        if w == 1 {
            // The chart shows the pool API and rayon on every count; the rest at 2 and up.
            continue;
        }
        let _ = par_map!(cpu_work, warm(); backend = process, workers = w);
        cases.push((
            PAR_MAP,
            format!("par_map!(cpu_work, args; backend = process, workers = {w})"),
            w,
            Box::new(move || par_map!(cpu_work, args.clone(); backend = process, workers = w)),
        ));
        cases.push((
            THREADS,
            format!("par_map!(cpu_work, args; backend = threads, workers = {w})"),
            w,
            Box::new(move || par_map!(cpu_work, args.clone(); backend = threads, workers = w)),
        ));
    }
    let mut samples = vec![Vec::new(); cases.len()];
    for _ in 0..settings.cpu_repeats.max(1) {
        for ((_, _, _, run), times) in cases.iter_mut().zip(&mut samples) {
            let start = Instant::now();
            let result = black_box(run());
            times.push(start.elapsed().as_secs_f64());
            assert!(result == expected);
        }
    }
    cases
        .into_iter()
        .zip(samples)
        .map(|((tool, variant, workers, _), samples)| {
            let fields = json!({"seconds": median(&samples), "samples": samples,
                "workers": workers, "calls": settings.calls, "per_call": per_call, "n": n});
            record("cpu", tool, &variant, tool != "serial", fields)
        })
        .collect()
}

/// How long round trips run unmeasured first, as criterion warms up: the scheduler first puts
/// a caller and the worker it has just woken on one core, where every hand-over waits for the
/// other to yield, and takes a few milliseconds to spread them (measured: a median of 4.0 µs
/// over the first 2,000 calls of some runs, 1.6 µs in every run after 200 ms).
const WARM_UP: Duration = Duration::from_millis(200);

/// Bench 4: one call's round trip on a warm 2-worker pool, `rounds` times after [`WARM_UP`] of
/// unmeasured ones.
fn latency(settings: &Settings) -> Vec<Value> {
    fn trips(rounds: usize, mut call: impl FnMut() -> u64) -> Value {
        let warming = Instant::now();
        while warming.elapsed() < WARM_UP {
            assert_eq!(call(), 4);
        }
        let mut samples: Vec<f64> = (0..rounds)
            .map(|_| {
                let start = Instant::now();
                let four = call();
                let elapsed = start.elapsed().as_secs_f64();
                assert_eq!(four, 4);
                elapsed
            })
            .collect();
        let mean = samples.iter().sum::<f64>() / rounds as f64;
        let seconds = median(&samples);
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| samples[((q * rounds as f64) as usize).min(rounds - 1)];
        json!({"seconds": seconds, "p90": at(0.9), "p99": at(0.99), "mean": mean,
               "rounds": rounds, "workers": 2})
    }
    let rounds = settings.rounds.max(1);
    let pool = two_workers();
    let socket = two_workers_on_the_socket();
    let rayon = RayonPool::builder().workers(2).build().unwrap();
    let threads = ThreadPool::builder().workers(2).build().unwrap();
    vec![
        record(
            "latency",
            PROCESS,
            "ProcessPool(2).spawn(square, (2,)).join()",
            true,
            trips(rounds, || pool.spawn(square, (2,)).join().unwrap()),
        ),
        record(
            "latency",
            PAR_MAP,
            "par_map!(square, [2]; backend = process, workers = 2)",
            true,
            trips(rounds, || {
                par_map!(square, [2u64]; backend = process, workers = 2)[0]
            }),
        ),
        record(
            "latency",
            SOCKET,
            "ProcessPool(2, socket transport).spawn(square, (2,)).join()",
            true,
            trips(rounds, || socket.spawn(square, (2,)).join().unwrap()),
        ),
        record(
            "latency",
            RAYON,
            "RayonPool(2).spawn(|| square(2)).join()",
            true,
            trips(rounds, || rayon.spawn(|| square(2)).join().unwrap()),
        ),
        record(
            "latency",
            THREADS,
            "ThreadPool(2).spawn(|| square(2)).join()",
            true,
            trips(rounds, || threads.spawn(|| square(2)).join().unwrap()),
        ),
    ]
}

/// Bench 5: `len` over `payloads` byte buffers of `payload_mb` MiB on warm 2-worker pools. Each
/// run gets its own copy of the input, made before the clock starts (a map consumes its input).
fn payload(settings: &Settings) -> Vec<Value> {
    let size = (settings.payload_mb * f64::from(1 << 20)) as usize;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let data: Vec<ByteBuf> = (0..settings.payloads)
        .map(|_| {
            let bytes: Vec<u8> = (0..size)
                .map(|_| {
                    // xorshift: bytes that do not compress, as os.urandom's
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            ByteBuf::from(bytes)
        })
        .collect();
    let expected = vec![size; settings.payloads];
    let check = |out: &Vec<usize>| assert!(*out == expected);
    let pool = two_workers();
    let socket = two_workers_on_the_socket();
    let tiny = || vec![ByteBuf::from(vec![1u8]); 10];
    let _ = pool.map(nbytes, tiny()).count();
    let _ = socket.map(nbytes, tiny()).count();
    let _ = par_map!(nbytes, tiny(); backend = process, workers = 2);
    let fields = |(seconds, samples): (f64, Vec<f64>)| {
        json!({"seconds": seconds, "samples": samples, "items": settings.payloads,
               "bytes": size * settings.payloads, "workers": 2})
    };
    vec![
        record(
            "payload",
            PROCESS,
            "ProcessPool(2).map(nbytes, payloads)",
            true,
            fields(timed(
                settings.repeats,
                1,
                || data.clone(),
                |input| pool.map(nbytes, input).map(Result::unwrap).collect(),
                check,
            )),
        ),
        record(
            "payload",
            PAR_MAP,
            "par_map!(nbytes, payloads; backend = process, workers = 2)",
            true,
            fields(timed(
                settings.repeats,
                1,
                || data.clone(),
                |input| par_map!(nbytes, input; backend = process, workers = 2),
                check,
            )),
        ),
        record(
            "payload",
            SOCKET,
            "ProcessPool(2, socket transport).map(nbytes, payloads)",
            true,
            fields(timed(
                settings.repeats,
                1,
                || data.clone(),
                |input| socket.map(nbytes, input).map(Result::unwrap).collect(),
                check,
            )),
        ),
        // Not in the headline: a plain `Vec<u8>` instead of a `ByteBuf` (both cross as one
        // block of bytes).
        record(
            "payload",
            PROCESS,
            "ProcessPool(2).map(nbytes_vec, payloads) with Vec<u8> instead of ByteBuf",
            false,
            fields(timed(
                settings.repeats,
                1,
                || data.iter().map(|b| b.to_vec()).collect::<Vec<Vec<u8>>>(),
                |input| pool.map(nbytes_vec, input).map(Result::unwrap).collect(),
                check,
            )),
        ),
    ]
}

/// Bench 6: item 3 of 8 SIGKILLs its worker in the middle of a map.
fn crash() -> Vec<Value> {
    let pool = two_workers();
    let _ = pool.map(square, 0..4).count();
    let start = Instant::now();
    let results: Vec<_> = pool.map(die, 0..8u32).collect();
    let seconds = start.elapsed().as_secs_f64();
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(ToString::to_string))
        .collect();
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let outcome = format!(
        "{} Err + {ok} Ok: {}",
        failed.len(),
        if failed.is_empty() {
            "no error".to_owned()
        } else {
            failed.join("; ")
        }
    );
    let next: Vec<u64> = pool.map(square, 0..8).filter_map(Result::ok).collect();
    let next_job = if next.len() == 8 {
        "works".to_owned()
    } else {
        format!("{} of 8 ok", next.len())
    };
    let process = record(
        "crash",
        PROCESS,
        "ProcessPool(2).map(die, 0..8)",
        true,
        json!({"outcome": outcome, "seconds": seconds, "next_job": next_job,
               "failed": failed.len(), "ok": ok}),
    );

    // The macro, like the sequential code, panics in the caller with the task's error.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let start = Instant::now();
    let caught = catch_unwind(AssertUnwindSafe(
        || par_map!(die, 0..8u32; backend = process, workers = 2),
    ));
    let seconds = start.elapsed().as_secs_f64();
    std::panic::set_hook(hook);
    let outcome = match caught {
        Ok(values) => format!("no error: {values:?}"),
        Err(payload) => format!(
            "panics in the caller: {}",
            payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("?")
        ),
    };
    let next = par_map!(square, 0..8u64; backend = process, workers = 2);
    let next_job = if next.len() == 8 { "works" } else { "fails" };
    let par_map = record(
        "crash",
        PAR_MAP,
        "par_map!(die, 0..8; backend = process, workers = 2)",
        true,
        json!({"outcome": outcome, "seconds": seconds, "next_job": next_job}),
    );
    vec![process, par_map]
}
