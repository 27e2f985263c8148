//! How much CPU an idle process pool uses: a pool of two workers answers a call, then idles for
//! two seconds; the CPU time its threads and its workers used meanwhile is read from
//! `/proc/*/schedstat` (nanoseconds on a CPU). Run:
//! `cargo run --release -p parallel-bench --example idle_cpu`.

use std::time::{Duration, Instant};

use parallel::{ProcessPool, ProcessTransport, parallel};

#[parallel]
fn worker_pid(_: u8) -> u32 {
    std::process::id()
}

/// Nanoseconds on a CPU of every thread of process `pid`.
fn cpu_nanos(pid: u32) -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("procfs")
        .flatten()
    {
        if let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) {
            total += stat
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

fn main() {
    for transport in [ProcessTransport::SharedMemory, ProcessTransport::Socket] {
        let pool = ProcessPool::builder()
            .workers(2)
            .transport(transport)
            .build()
            .expect("two workers");
        let mut pids: Vec<u32> = (0..8)
            .map(|_| pool.spawn(worker_pid, (0,)))
            .map(|task| task.join().expect("runs"))
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids.push(std::process::id());
        // Past the polling of the last call.
        std::thread::sleep(Duration::from_millis(1));
        let before: u64 = pids.iter().map(|&pid| cpu_nanos(pid)).sum();
        let start = Instant::now();
        std::thread::sleep(Duration::from_secs(2));
        let used: u64 = pids.iter().map(|&pid| cpu_nanos(pid)).sum::<u64>() - before;
        let share = used as f64 / start.elapsed().as_nanos() as f64;
        println!(
            "{:>13}: idle pool of 2 workers (+ this process) used {:.3} ms of CPU in {:.2?}: {:.4}% of a core",
            transport.name(),
            used as f64 / 1e6,
            start.elapsed(),
            share * 100.0
        );
    }
}
