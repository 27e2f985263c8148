//! `parallel`'s MPI backend next to `mpi4py.futures` (Python's `MPIPoolExecutor`) and to its own
//! process backend, on this machine, in one run:
//!
//! ```sh
//! cargo run --release -p parallel-bench --features mpi --bin compare_mpi
//! ```
//!
//! For 2 and 3 ranks (one and two worker ranks), it runs itself under
//! `mpirun -n N --oversubscribe`, where rank 0 measures an `MpiPool` and a `ProcessPool` of as
//! many workers; then `mpirun -n N python -m mpi4py.futures bench/python/mpi_compare.py`
//! measures the same workloads with `MPIPoolExecutor`. It prints one table and writes
//! `bench/results/compare_mpi.md`. Workloads: one call's round trip (median of `ROUNDS`), a
//! map of `ITEMS` trivial items (batched: automatically here, `chunksize = items / (8 ×
//! workers)` for Python), `CALLS` unbatched calls (`chunk(1)`; Python's default chunk size),
//! 100 × 1 MiB payloads, and `8 × workers` calls of a 10 ms CPU loop (speedup over running them
//! one after the other; the ideal is the number of workers). Medians of `REPEATS` runs.
//!
//! Needs Open MPI's `mpirun` (root also needs `OMPI_ALLOW_RUN_AS_ROOT=1
//! OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`) and, for the Python rows, a Python with mpi4py (`PYTHON`,
//! else `bench/.venv/bin/python`, else `python3`; `pip install mpi4py`).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use parallel::{MpiPool, ProcessPool, parallel};
use serde_bytes::ByteBuf;
use serde_json::{Value, json};

/// Set in the measuring run's environment (passed on by `mpirun -x`).
const ROLE_VAR: &str = "COMPARE_MPI_ROLE";
/// The columns of the table: key, heading, and whether more is better.
const COLUMNS: [(&str, &str, bool); 5] = [
    ("round_trip_us", "round trip (µs)", false),
    ("map_us_per_item", "map, per item (µs)", false),
    ("unbatched_us_per_call", "unbatched, per call (µs)", false),
    ("payload_gb_per_s", "1 MiB payloads (GB/s)", true),
    ("cpu_speedup", "10 ms CPU calls, speedup", true),
];

#[parallel]
fn square(x: u64) -> u64 {
    x * x
}

#[parallel]
fn size_of(blob: ByteBuf) -> usize {
    blob.len()
}

#[parallel]
fn busy_10ms(_: u32) -> u64 {
    let end = Instant::now() + Duration::from_millis(10);
    let mut spins = 0;
    while Instant::now() < end {
        spins += 1;
    }
    spins
}

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::var(ROLE_VAR).as_deref() == Ok("measure") {
        measure();
    } else {
        compare();
    }
}

/// The pools measured in one run, behind one face.
enum Pool {
    Mpi(MpiPool),
    Process(ProcessPool),
}

impl Pool {
    fn workers(&self) -> usize {
        match self {
            Pool::Mpi(pool) => pool.workers(),
            Pool::Process(pool) => pool.workers(),
        }
    }

    fn square(&self, x: u64) -> u64 {
        match self {
            Pool::Mpi(pool) => pool.spawn(square, (x,)).join().unwrap(),
            Pool::Process(pool) => pool.spawn(square, (x,)).join().unwrap(),
        }
    }

    fn map_squares(&self, items: u64, chunk: Option<usize>) -> u64 {
        let map = match self {
            Pool::Mpi(pool) => pool.map(square, 0..items),
            Pool::Process(pool) => pool.map(square, 0..items),
        };
        let map = match chunk {
            Some(chunk) => map.chunk(chunk),
            None => map,
        };
        map.map(Result::unwrap).sum()
    }

    fn sizes(&self, blobs: Vec<ByteBuf>) -> usize {
        match self {
            Pool::Mpi(pool) => pool.map(size_of, blobs).map(Result::unwrap).sum(),
            Pool::Process(pool) => pool.map(size_of, blobs).map(Result::unwrap).sum(),
        }
    }

    fn busy(&self, calls: u32) -> usize {
        match self {
            Pool::Mpi(pool) => pool.map(busy_10ms, 0..calls).map(Result::unwrap).count(),
            Pool::Process(pool) => pool.map(busy_10ms, 0..calls).map(Result::unwrap).count(),
        }
    }
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn median_seconds(repeats: usize, mut run: impl FnMut()) -> f64 {
    median(
        (0..repeats)
            .map(|_| {
                let start = Instant::now();
                run();
                start.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// Rank 0 of a run under `mpirun`: measures both pools, one JSON line each.
fn measure() {
    let repeats = knob("REPEATS", 3);
    let rounds = knob("ROUNDS", 2_000);
    let items = knob("ITEMS", 100_000) as u64;
    let calls = knob("CALLS", 2_000) as u64;
    let payloads = knob("PAYLOADS", 100);
    let cpu_calls = knob("CPU_CALLS_PER_WORKER", 8);
    let mpi = MpiPool::builder().build().expect("MPI worker ranks");
    let workers = mpi.workers();
    let process = ProcessPool::builder()
        .workers(workers as i64)
        .build()
        .unwrap();
    for (tool, pool) in [
        ("parallel, mpi", Pool::Mpi(mpi)),
        ("parallel, process", Pool::Process(process)),
    ] {
        pool.map_squares(1_000, None);
        // Warm-up, as criterion does: the scheduler first puts the caller and the rank or
        // worker it has just woken on one core, and takes a few milliseconds to spread them
        // (measured: medians 3x higher in one run of three without it).
        let warming = Instant::now();
        while warming.elapsed() < Duration::from_millis(200) {
            assert_eq!(pool.square(3), 9);
        }
        let round_trip = median(
            (0..rounds as u64)
                .map(|i| {
                    let start = Instant::now();
                    assert_eq!(pool.square(i), i * i);
                    start.elapsed().as_secs_f64()
                })
                .collect(),
        );
        let mapped = median_seconds(repeats, || {
            pool.map_squares(items, None);
        });
        let unbatched = median_seconds(repeats, || {
            pool.map_squares(calls, Some(1));
        });
        // The payloads are made before the clock starts, as on the Python side; one warm-up
        // run first (buffers grow to their size on both sides).
        let blobs = || -> Vec<ByteBuf> {
            (0..payloads)
                .map(|_| ByteBuf::from(vec![1; 1 << 20]))
                .collect()
        };
        assert_eq!(pool.sizes(blobs()), payloads << 20);
        let payload = median(
            (0..repeats)
                .map(|_| {
                    let blobs = blobs();
                    let start = Instant::now();
                    assert_eq!(pool.sizes(blobs), payloads << 20);
                    start.elapsed().as_secs_f64()
                })
                .collect(),
        );
        let cpu_calls = cpu_calls * pool.workers();
        let cpu = median_seconds(repeats, || {
            assert_eq!(pool.busy(cpu_calls as u32), cpu_calls);
        });
        let record = json!({
            "tool": tool,
            "workers": pool.workers(),
            "round_trip_us": round_trip * 1e6,
            "map_us_per_item": mapped / items as f64 * 1e6,
            "unbatched_us_per_call": unbatched / calls as f64 * 1e6,
            "payload_gb_per_s": (payloads << 20) as f64 / payload / 1e9,
            "cpu_speedup": cpu_calls as f64 * 0.010 / cpu,
        });
        println!("{record}");
    }
}

/// Runs `command` and returns the JSON lines it printed (none, with a message, when it fails).
fn records(mut command: Command, what: &str) -> Vec<Value> {
    command.stderr(Stdio::inherit());
    match command.output() {
        Ok(output) => {
            if !output.status.success() {
                eprintln!("{what} failed ({})", output.status);
            }
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect()
        }
        Err(e) => {
            eprintln!("{what} did not start: {e}");
            Vec::new()
        }
    }
}

fn mpirun(ranks: usize) -> Command {
    let mut command = Command::new("mpirun");
    command.args(["-n", &ranks.to_string(), "--oversubscribe"]);
    command
}

/// A Python that has mpi4py, if there is one.
fn python() -> Option<String> {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = bench.join(".venv/bin/python");
    let candidates = match std::env::var("PYTHON") {
        Ok(python) => vec![python],
        Err(_) => vec![venv.display().to_string(), "python3".to_owned()],
    };
    let found = candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import mpi4py.futures"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    });
    if found.is_none() {
        eprintln!("no Python with mpi4py: measuring `parallel` alone (`pip install mpi4py`)");
    }
    found
}

/// Runs every measurement and prints and writes the table.
fn compare() {
    let me = std::env::current_exe().expect("the path of this program");
    let python = python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/mpi_compare.py");
    let mut table = String::new();
    let _ = writeln!(
        table,
        "| ranks | tool | {} |",
        COLUMNS.map(|(_, heading, _)| heading).join(" | ")
    );
    let _ = writeln!(table, "|---|---|{}", "---:|".repeat(COLUMNS.len()));
    for ranks in [2, 3] {
        let mut command = mpirun(ranks);
        command
            .args(["-x", ROLE_VAR])
            .arg(&me)
            .env(ROLE_VAR, "measure");
        let mut rows = records(command, &format!("the parallel run on {ranks} ranks"));
        if let Some(python) = &python {
            let mut command = mpirun(ranks);
            command
                .args([python.as_str(), "-m", "mpi4py.futures"])
                .arg(&script);
            rows.extend(records(
                command,
                &format!("mpi4py.futures on {ranks} ranks"),
            ));
        }
        let best_python = |key: &str, more_is_better: bool| {
            rows.iter()
                .filter(|row| row["tool"] == "mpi4py.futures")
                .filter_map(|row| row[key].as_f64())
                .reduce(|a, b| if (a > b) == more_is_better { a } else { b })
        };
        for row in &rows {
            let cells: Vec<String> = COLUMNS
                .iter()
                .map(|&(key, _, more_is_better)| {
                    let value = row[key].as_f64().unwrap_or(f64::NAN);
                    let ratio = best_python(key, more_is_better)
                        .filter(|_| row["tool"] != "mpi4py.futures")
                        .map(|python| {
                            let better = if more_is_better {
                                value / python
                            } else {
                                python / value
                            };
                            if better < 10.0 {
                                format!(" ({better:.1}×)")
                            } else {
                                format!(" ({better:.0}×)")
                            }
                        })
                        .unwrap_or_default();
                    format!("{value:.3}{ratio}")
                })
                .collect();
            let _ = writeln!(
                table,
                "| {ranks} | {} | {} |",
                row["tool"].as_str().unwrap_or("?"),
                cells.join(" | ")
            );
        }
    }
    println!("{table}");
    let report = format!(
        "# `parallel` on MPI next to `mpi4py.futures`\n\n\
         `cargo run --release -p parallel-bench --features mpi --bin compare_mpi` on {} cores; \
         `N` ranks are rank 0 and `N - 1` worker ranks, all on this machine (shared memory). \
         Times are medians; `(k×)` is how many times better than `mpi4py.futures` in the same \
         run.\n\n{table}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/compare_mpi.md");
    if let Err(e) = std::fs::write(&path, report) {
        eprintln!("cannot write {}: {e}", path.display());
    }
}
