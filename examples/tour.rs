//! The main demo, serial vs parallel with timings: `cargo run --release --example tour`
//!
//! A CPU-bound and an I/O-bound workload, each run serially and in parallel, with a table of
//! times and speedups.
//!
//! - CPU-bound: counting primes by trial division, in 400 chunks, with `par_map!` on the default
//!   rayon backend (one worker per core). Python would need processes here; Rust threads run
//!   this in parallel with no GIL.
//! - I/O-bound: 32 blocking calls of 20 ms each (stand-ins for HTTP requests or file reads),
//!   with `par_map!(...; backend = threads, workers = 32)`: Python's `ThreadPoolExecutor`.
//! - The CPU-bound chunks again with `backend = process`: worker processes that re-enter this
//!   executable, Python's `multiprocessing.Pool`. The arguments (`Range<u64>`) and results cross
//!   as serde data; the pool is warm (started by an earlier call) when it is timed.
//! - Crash isolation: one chunk aborts its worker process; that task alone is reported as an
//!   error, and the pool replaces the worker while the other chunks complete.
//!
//! The parallel results must equal the serial ones; the times are only reported, never checked.
//! When other programs kept the cores busy meanwhile (read from `/proc/stat` on Linux), the
//! tour says so: its speedups are then lower than an idle machine gives.

use std::ops::Range;
use std::thread;
use std::time::{Duration, Instant};

use parallel::{ErrorKind, ProcessPool, par_map, parallel};

/// The CPU-bound workload: numbers below `LIMIT`, split into `CHUNKS` ranges.
const LIMIT: u64 = 5_000_000;
const CHUNKS: u64 = 400;

/// The I/O-bound workload: `CALLS` blocking calls of `LATENCY` each.
const CALLS: u32 = 32;
const LATENCY: Duration = Duration::from_millis(20);

/// How many primes lie in `range`, by trial division: deliberately plain CPU work.
#[parallel]
fn count_primes(range: Range<u64>) -> usize {
    range.filter(|&n| is_prime(n)).count()
}

/// `count_primes`, except that the chunk starting at `POISON` aborts its worker process.
#[parallel]
fn count_primes_or_abort(range: Range<u64>) -> usize {
    if range.start == POISON {
        std::process::abort();
    }
    count_primes(range)
}

/// The first number of the chunk that crashes in the crash-isolation run.
const POISON: u64 = 200 * (LIMIT / CHUNKS);

fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let mut d = 3;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 2;
    }
    true
}

/// A blocking call: waits like a network request, then answers.
#[parallel(backend = threads, workers = 32)]
fn fetch(id: u32) -> String {
    thread::sleep(LATENCY);
    format!("response {id}")
}

fn chunks() -> impl Iterator<Item = Range<u64>> {
    let step = LIMIT / CHUNKS;
    (0..CHUNKS).map(move |i| i * step..(i + 1) * step)
}

/// Runs `f`, returning its value and how long it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

/// One row of the table.
struct Row {
    workload: String,
    serial: Duration,
    parallel: Duration,
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<40} {:>10} {:>10} {:>8}",
        "workload", "serial", "parallel", "speedup"
    );
    for row in rows {
        let speedup = row.serial.as_secs_f64() / row.parallel.as_secs_f64().max(1e-9);
        println!(
            "{:<40} {:>7.0} ms {:>7.0} ms {:>7.1}x",
            row.workload,
            row.serial.as_secs_f64() * 1e3,
            row.parallel.as_secs_f64() * 1e3,
            speedup
        );
    }
}

fn main() {
    println!(
        "parallel tour on {} cores{}",
        parallel::available_cores(),
        if cfg!(debug_assertions) {
            " (debug build: use `--release` for meaningful times)"
        } else {
            ""
        }
    );
    println!();
    let busy_at_start = CpuTime::now();
    let mut rows = Vec::new();

    // CPU-bound: the same chunks, serially and with par_map! on rayon.
    let (serial_primes, serial_primes_time) =
        timed(|| chunks().map(count_primes).collect::<Vec<_>>());
    let (parallel, parallel_time) = timed(|| par_map!(count_primes, chunks()));
    assert_eq!(
        parallel, serial_primes,
        "par_map! must give the serial results"
    );
    let primes: usize = parallel.iter().sum();
    assert_eq!(primes, 348_513, "there are 348,513 primes below 5,000,000");
    rows.push(Row {
        workload: format!("cpu: primes below {LIMIT} ({CHUNKS} chunks)"),
        serial: serial_primes_time,
        parallel: parallel_time,
    });

    // I/O-bound: the same calls, serially and with par_map! on 32 dedicated threads (the
    // `#[parallel(backend = threads, workers = 32)]` defaults of `fetch`).
    let (serial, serial_time) = timed(|| (0..CALLS).map(fetch).collect::<Vec<_>>());
    let (parallel, parallel_time) = timed(|| par_map!(fetch, 0..CALLS));
    assert_eq!(parallel, serial, "par_map! must give the serial results");
    rows.push(Row {
        workload: format!("io: {CALLS} blocking calls of {LATENCY:?}"),
        serial: serial_time,
        parallel: parallel_time,
    });

    // Process: the same chunks in worker processes (one per core), like multiprocessing.Pool.
    // The first call starts the shared pool; the timed call reuses its warm workers.
    let (warm_up, pool_start) =
        timed(|| par_map!(count_primes, chunks().take(2); backend = process));
    assert_eq!(warm_up, serial_primes[..2]);
    let (in_processes, process_time) =
        timed(|| par_map!(count_primes, chunks(); backend = process));
    assert_eq!(
        in_processes, serial_primes,
        "backend = process must give the serial results"
    );
    rows.insert(
        1,
        Row {
            workload: "cpu: the same chunks, backend = process".to_owned(),
            serial: serial_primes_time,
            parallel: process_time,
        },
    );

    print_table(&rows);
    if let Some(others) = busy_at_start.and_then(|start| start.others_since())
        && others > 0.3
    {
        println!(
            "note: other programs kept {others:.1} of the {} cores busy during this tour: \
                 the speedups above are lower than on an idle machine",
            parallel::available_cores()
        );
    }
    println!();
    println!(
        "{primes} primes found; {} responses received",
        parallel.len()
    );
    println!(
        "process pool: {} workers started, and a first call answered, in {:.0} ms",
        parallel::available_cores(),
        pool_start.as_secs_f64() * 1e3
    );

    // Crash isolation: one chunk aborts its worker. That task alone fails; the pool starts a
    // new worker and every other chunk completes.
    let pool = ProcessPool::shared(parallel::available_cores());
    let results: Vec<_> = pool.map(count_primes_or_abort, chunks()).collect();
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(failed.len(), 1, "only the poisoned chunk fails");
    let crash = failed[0];
    let poisoned = usize::try_from(POISON / (LIMIT / CHUNKS)).expect("a small index");
    assert_eq!(crash.index(), Some(poisoned));
    assert!(
        matches!(crash.kind(), ErrorKind::WorkerDied { .. }),
        "{crash}"
    );
    for (index, result) in results.iter().enumerate() {
        if index != poisoned {
            assert_eq!(result.as_ref().ok(), Some(&serial_primes[index]));
        }
    }
    println!(
        "crash isolation: {crash}; the other {} chunks completed",
        results.len() - 1
    );
}

/// CPU time used by the whole machine and by this program (with its worker processes), to say
/// whether other programs competed for the cores. Linux only (`/proc`).
struct CpuTime {
    wall: Instant,
    machine: u64,
    ours: u64,
}

impl CpuTime {
    fn now() -> Option<CpuTime> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|field| field.parse().ok())
            .collect();
        // Busy: all but idle and waiting for I/O.
        let machine = fields.iter().sum::<u64>() - fields.get(3)? - fields.get(4)?;
        let me = std::process::id();
        let mut ours = ticks_of(me)?;
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            if let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse::<u32>().ok())
                && pid != me
                && parent_of(pid) == Some(me)
            {
                ours += ticks_of(pid).unwrap_or(0);
            }
        }
        Some(CpuTime {
            wall: Instant::now(),
            machine,
            ours,
        })
    }

    /// How many cores other programs kept busy on average since `self`.
    fn others_since(&self) -> Option<f64> {
        let end = CpuTime::now()?;
        let others = end.machine.saturating_sub(self.machine) as f64
            - end.ours.saturating_sub(self.ours) as f64;
        // `/proc` counts in ticks of 1/100 s.
        Some((others / 100.0 / end.wall.duration_since(self.wall).as_secs_f64()).max(0.0))
    }
}

/// The fields of `/proc/<pid>/stat` after the command name.
fn stat_of(pid: u32) -> Option<Vec<u64>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    // The state is a letter: counted as 0 so that field numbers stay those of `man proc`.
    Some(
        after_name
            .split_whitespace()
            .map(|field| field.parse().unwrap_or(0))
            .collect(),
    )
}

/// User and system ticks of process `pid`.
fn ticks_of(pid: u32) -> Option<u64> {
    let fields = stat_of(pid)?;
    Some(fields.get(11)? + fields.get(12)?)
}

fn parent_of(pid: u32) -> Option<u32> {
    u32::try_from(*stat_of(pid)?.get(1)?).ok()
}
