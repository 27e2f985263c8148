//! `parallel` next to Python's process pools, on this machine, in one run: `bash bench/compare.sh`
//! (sets up Python, then runs this), or `cargo run --release -p parallel-bench --bin compare`
//! (uses `bench/.venv` when it is there, and measures `parallel` alone otherwise).
//!
//! Five workloads, each measured first with Python's `multiprocessing.Pool`,
//! `ProcessPoolExecutor` and joblib (loky) through `bench/python/compare.py`, then with
//! `parallel`'s process backend (plus rayon and threads as extra rows):
//!
//! 1. `overhead`: map `x * x` over 100k ints on a warm 2-worker pool (µs per item);
//! 2. `startup`: build a 2-worker pool and get one trivial result (ms);
//! 3. `cpu`: 200 calls of a ~10 ms CPU loop, on 1, 2, ... workers: speedup against a serial loop
//!    in the same language;
//! 4. `latency`: one call's round trip on a warm pool (µs);
//! 5. `payload`: map `len` over 100 payloads of 1 MiB (GB/s);
//!
//! and `crash`: what the caller sees when a worker is SIGKILLed in the middle of a map.
//!
//! It prints one table (tools by workload, with `parallel`'s ratio to the best Python tool) and
//! writes `bench/results/compare.{json,md,svg}`. Figures are medians over several runs; knobs
//! are environment variables (see [`Settings`]). It is a binary of the `parallel-bench` package
//! that `cargo test` does not build (`bench/Cargo.toml` says why); clippy still checks it.

mod chart;
mod python;
mod report;
mod rust_side;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The workloads, in the order they run.
pub const WORKLOADS: [&str; 6] = ["overhead", "startup", "cpu", "latency", "payload", "crash"];

/// How much each workload measures, from the environment (the Python side gets the same).
#[derive(Clone, Debug)]
pub struct Settings {
    /// `REPEATS`: timed runs per case, of which the median counts (5).
    pub repeats: usize,
    /// `ITEMS`: items of the overhead map (100000).
    pub items: usize,
    /// `SLOW_REPEATS`: runs of the overhead map's slow Python paths, seconds each (3).
    pub slow_repeats: usize,
    /// `WORKERS`: worker counts of the CPU workload (1, 2, ... up to the cores, at least 2).
    pub workers: Vec<usize>,
    /// `CALLS`: calls of the ~10 ms loop (200).
    pub calls: usize,
    /// `CPU_REPEATS`: runs per CPU case (3).
    pub cpu_repeats: usize,
    /// `ROUNDS`: timed round trips per latency case (2000).
    pub rounds: usize,
    /// `PAYLOADS`: payloads mapped (100).
    pub payloads: usize,
    /// `PAYLOAD_MB`: MiB per payload (1).
    pub payload_mb: f64,
    /// `ONLY`: the workloads to run, comma-separated (all).
    pub only: Vec<String>,
    /// `QUIET_WAIT`: seconds to wait, before each workload, for the machine to be quiet (0).
    pub quiet_wait: u64,
}

impl Settings {
    fn from_env() -> Settings {
        // COMPARE_QUICK=1: a smoke test of the whole pipeline in seconds; the figures mean little.
        let quick = std::env::var_os("COMPARE_QUICK").is_some_and(|v| v != "0" && !v.is_empty());
        let get = |name: &str, normal: usize, small: usize| -> usize {
            match std::env::var(name) {
                Ok(value) if !value.is_empty() => value
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}={value:?}: expected a whole number")),
                _ if quick => small,
                _ => normal,
            }
        };
        let workers = match std::env::var("WORKERS") {
            Ok(value) if !value.is_empty() => value
                .split(',')
                .map(|w| {
                    w.trim()
                        .parse()
                        .unwrap_or_else(|_| panic!("WORKERS={value:?}: expected 1,2,..."))
                })
                .collect(),
            _ => default_workers(cores()),
        };
        let payload_mb = std::env::var("PAYLOAD_MB")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1.0);
        Settings {
            repeats: get("REPEATS", 5, 2),
            items: get("ITEMS", 100_000, 5_000),
            slow_repeats: get("SLOW_REPEATS", 3, 1),
            workers,
            calls: get("CALLS", 200, 20),
            cpu_repeats: get("CPU_REPEATS", 3, 1),
            rounds: get("ROUNDS", 2000, 100),
            payloads: get("PAYLOADS", 100, 10),
            payload_mb,
            only: std::env::var("ONLY")
                .unwrap_or_default()
                .split(',')
                .map(|w| w.trim().to_owned())
                .filter(|w| !w.is_empty())
                .collect(),
            quiet_wait: get("QUIET_WAIT", 0, 0) as u64,
        }
    }

    /// The same settings as environment variables, for the Python side.
    fn to_env(&self) -> Vec<(&'static str, String)> {
        let workers: Vec<String> = self.workers.iter().map(usize::to_string).collect();
        vec![
            ("REPEATS", self.repeats.to_string()),
            ("ITEMS", self.items.to_string()),
            ("SLOW_REPEATS", self.slow_repeats.to_string()),
            ("WORKERS", workers.join(",")),
            ("CALLS", self.calls.to_string()),
            ("CPU_REPEATS", self.cpu_repeats.to_string()),
            ("ROUNDS", self.rounds.to_string()),
            ("PAYLOADS", self.payloads.to_string()),
            ("PAYLOAD_MB", self.payload_mb.to_string()),
        ]
    }
}

/// Every count from 1 to the cores when they are few, else powers of two and the cores; at
/// least 1 and 2, so that a one-core machine still shows what a second worker does.
fn default_workers(cores: usize) -> Vec<usize> {
    let mut workers: Vec<usize> = if cores <= 4 {
        (1..=cores.max(2)).collect()
    } else {
        std::iter::successors(Some(1), |w| Some(w * 2))
            .take_while(|&w| w < cores)
            .chain([cores])
            .collect()
    };
    workers.dedup();
    workers
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The folder the results go to: `bench/results`, beside this package's manifest.
fn results_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("results")
}

fn main() {
    let settings = Settings::from_env();
    let started = Instant::now();
    let python = python::Python::find();
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; run with --release for figures that mean something");
    }
    eprintln!("measuring how busy the machine is before the run (2 s)...");
    let before = machine_load(Duration::from_secs(2));
    let mut records: Vec<Value> = Vec::new();
    let python_info = python.as_ref().and_then(|py| py.info());
    for workload in WORKLOADS {
        if !settings.only.is_empty() && !settings.only.iter().any(|w| w == workload) {
            continue;
        }
        wait_quiet(Duration::from_secs(settings.quiet_wait));
        eprintln!("== {workload}");
        let start = CpuClock::now();
        if let Some(py) = &python {
            records.extend(py.run(workload, &settings));
        }
        records.extend(rust_side::run(workload, &settings));
        if let (Some(start), Some(end)) = (start, CpuClock::now()) {
            let others = start.others_until(&end);
            eprintln!("   other processes kept {others:.2} cores busy on average");
            records.push(json!({"workload": workload, "tool": report::OTHERS,
                "others_cores": others, "wall": end.wall.duration_since(start.wall).as_secs_f64()}));
        }
    }
    let after = machine_load(Duration::from_secs(1));
    let machine = machine_info(&settings, python_info, before, after, started.elapsed());

    let summary = report::Summary::new(&records);
    let table = summary.table();
    println!();
    println!("{}", report::machine_line(&machine));
    println!();
    println!("{table}");
    println!("{}", report::legend(&settings));

    let dir = results_dir();
    std::fs::create_dir_all(&dir).expect("create bench/results");
    let json = json!({
        "machine": machine,
        "summary": summary.to_json(),
        "records": records,
    });
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        println!("wrote {}", path.display());
    };
    write(
        "compare.json",
        serde_json::to_string_pretty(&json).expect("JSON") + "\n",
    );
    write(
        "compare.md",
        report::markdown(&machine, &settings, &summary, &records),
    );
    let svg = dir.join("compare.svg");
    match chart::draw(&records, &machine, &svg) {
        Ok(()) => println!("wrote {}", svg.display()),
        Err(e) => eprintln!("could not draw {}: {e}", svg.display()),
    }
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());
}

/// How busy the machine is without this benchmark: the share of all cores busy over `window`,
/// and the load averages.
fn machine_load(window: Duration) -> Value {
    let busy = busy_share(window);
    json!({
        "busy_percent_of_all_cores": busy.map(|b| (b * 1000.0).round() / 10.0),
        "loadavg": std::fs::read_to_string("/proc/loadavg")
            .ok()
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")),
    })
}

/// CPU time so far: the whole machine's, and this benchmark's (this process, the children it
/// waited for, such as the Python side and its workers, and the worker processes it still has).
struct CpuClock {
    wall: Instant,
    machine_busy: f64,
    ours: f64,
}

/// The unit of the times in `/proc/stat` and `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

impl CpuClock {
    fn now() -> Option<CpuClock> {
        let (total, idle) = machine_ticks()?;
        let machine_busy = (total - idle) as f64 / TICKS_PER_SECOND;
        let me = std::process::id();
        let mut ours = process_ticks(me)?;
        // Direct children still there: worker processes, running or exited but not reaped.
        for entry in std::fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse().ok()) else {
                continue;
            };
            if parent_of(pid) == Some(me) {
                ours += process_ticks(pid).unwrap_or(0);
            }
        }
        Some(CpuClock {
            wall: Instant::now(),
            machine_busy,
            ours: ours as f64 / TICKS_PER_SECOND,
        })
    }

    /// How many cores other processes kept busy on average from `self` to `end`.
    fn others_until(&self, end: &CpuClock) -> f64 {
        let wall = end.wall.duration_since(self.wall).as_secs_f64().max(1e-3);
        let others = (end.machine_busy - self.machine_busy) - (end.ours - self.ours);
        (others / wall).max(0.0)
    }
}

/// The fields of `/proc/<pid>/stat` after the command name.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// User and system ticks of a process, with those of the children it waited for.
fn process_ticks(pid: u32) -> Option<u64> {
    let fields = stat_fields(pid)?;
    // utime, stime, cutime, cstime are fields 14 to 17 of the stat line: 11 to 14 here.
    fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<u64>().ok())
        .sum()
}

/// Waits up to `limit` until under 10% of all cores are busy for 3 s in a row.
fn wait_quiet(limit: Duration) {
    if limit.is_zero() {
        return;
    }
    let start = Instant::now();
    let mut quiet = 0;
    while start.elapsed() < limit {
        match busy_share(Duration::from_secs(1)) {
            Some(busy) if busy < 0.10 => quiet += 1,
            _ => quiet = 0,
        }
        if quiet >= 3 {
            return;
        }
    }
    eprintln!("the machine is still busy after {limit:?}: measuring anyway");
}

/// The machine's CPU ticks since boot, all cores together: in all, and idle (waiting for I/O
/// included), from the first line of `/proc/stat`.
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let idle = fields.get(3)? + fields.get(4)?;
    Some((fields.iter().sum(), idle))
}

fn busy_share(window: Duration) -> Option<f64> {
    let (total0, idle0) = machine_ticks()?;
    std::thread::sleep(window);
    let (total1, idle1) = machine_ticks()?;
    let total = total1.saturating_sub(total0).max(1) as f64;
    Some(1.0 - idle1.saturating_sub(idle0) as f64 / total)
}

fn machine_info(
    settings: &Settings,
    python: Option<Value>,
    before: Value,
    after: Value,
    took: Duration,
) -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into());
    let command = |program: &str, args: &[&str]| -> Option<String> {
        let output = std::process::Command::new(program)
            .args(args)
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    json!({
        "date": command("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        "cores": cores(),
        "cpu": cpu,
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|k| k.trim().to_owned()),
        "rustc": command("rustc", &["--version"]),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "python": python,
        "settings": {
            "repeats": settings.repeats,
            "items": settings.items,
            "slow_repeats": settings.slow_repeats,
            "workers": settings.workers,
            "calls": settings.calls,
            "cpu_repeats": settings.cpu_repeats,
            "rounds": settings.rounds,
            "payloads": settings.payloads,
            "payload_mb": settings.payload_mb,
            "quiet_wait": settings.quiet_wait,
        },
        "load_before": before,
        "load_after": after,
        "seconds": took.as_secs_f64().round(),
    })
}
