//! `PARALLEL_WORKERS` and `PARALLEL_BACKEND`. The runtime reads them once per process, so each
//! case runs this test executable again with the variables set, selecting only the ignored
//! `report` helper, which prints what the macros and functions did. The cases check that output.

use std::collections::{BTreeMap, HashSet};
use std::panic::{UnwindSafe, catch_unwind};
use std::process::Command;
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use parallel::{BACKEND_VAR, WORKERS_VAR, par_join, par_map, parallel};

/// Where the caller runs: `rayon(N)` on a rayon pool of N threads, otherwise the thread's name
/// without its number (`parallel-threads`).
fn describe() -> String {
    if rayon::current_thread_index().is_some() {
        return format!("rayon({})", rayon::current_num_threads());
    }
    let current = thread::current();
    let name = current.name().unwrap_or("<unnamed>");
    name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-')
        .to_owned()
}

/// `size` callers wait for each other. A safety net gives up after a minute, so that a backend
/// running fewer at once fails the check instead of hanging.
struct Meeting {
    size: usize,
    arrived: Mutex<usize>,
    all_here: Condvar,
}

impl Meeting {
    fn new(size: usize) -> Meeting {
        Meeting {
            size,
            arrived: Mutex::new(0),
            all_here: Condvar::new(),
        }
    }

    fn meet(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut arrived = self.arrived.lock().unwrap();
        *arrived += 1;
        self.all_here.notify_all();
        while *arrived < self.size {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            arrived = self.all_here.wait_timeout(arrived, left).unwrap().0;
        }
    }

    fn everyone_met(&self) -> bool {
        *self.arrived.lock().unwrap() >= self.size
    }
}

/// How many threads ran a `par_map!` of 32 calls, where the first `meet` calls (off rayon) wait
/// for each other.
fn par_map_threads(meet: usize, run: impl FnOnce(&(dyn Fn(usize) + Sync))) -> String {
    let meeting = Meeting::new(meet);
    let threads = Mutex::new(HashSet::new());
    run(&|i| {
        if i < meet && rayon::current_thread_index().is_none() {
            meeting.meet();
        }
        threads.lock().unwrap().insert(thread::current().id());
    });
    let count = threads.into_inner().unwrap().len();
    format!("{count} threads, met: {}", meeting.everyone_met())
}

/// Prints `observed <label>: <value>`, or the message of the panic.
fn observe(label: &str, f: impl FnOnce() -> String + UnwindSafe) {
    let value = catch_unwind(f).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("?");
        format!("panic: {message}")
    });
    println!("observed {label}: {value}");
}

/// Where a `#[parallel]` task ran: in a worker process, or in this one.
#[parallel]
fn where_it_ran(_: u32) -> String {
    format!("pid {}", std::process::id())
}

fn process_or_here(answer: String) -> String {
    if answer == format!("pid {}", std::process::id()) {
        "here".to_owned()
    } else {
        "process".to_owned()
    }
}

/// Not a test: the cases below run it in a child process with the variables set.
#[test]
#[ignore = "run by the other tests of this file in a child process"]
fn report() {
    std::panic::set_hook(Box::new(|_| {}));
    let meet: usize = std::env::var("CONFIG_ENV_MEET").map_or(1, |v| v.parse().unwrap());
    observe("par_map", || par_map!(|_: u32| describe(), 0..4).remove(0));
    observe("par_map #[parallel] fn", || {
        process_or_here(par_map!(where_it_ran, 0..4).remove(0))
    });
    observe("par_map workers = 2", || {
        par_map!(|_: u32| describe(), 0..4; workers = 2).remove(0)
    });
    observe("par_map backend = rayon", || {
        par_map!(|_: u32| describe(), 0..4; backend = rayon).remove(0)
    });
    observe("par_map backend = threads", || {
        par_map!(|_: u32| describe(), 0..4; backend = threads).remove(0)
    });
    observe("par_join", || par_join!(describe(), describe()).0);
    observe("par_join backend = rayon", || {
        par_join!(describe(), describe(); backend = rayon).0
    });
    observe("join", || parallel::join(describe, describe).0);
    observe("spawn", || parallel::spawn(describe).join().unwrap());
    observe("par_map threads", || {
        par_map_threads(meet, |f| {
            par_map!(f, 0..32);
        })
    });
    observe("par_map threads, workers = 2", || {
        par_map_threads(2, |f| {
            par_map!(f, 0..32; workers = 2);
        })
    });
    observe("par_join threads", || {
        par_map_threads(meet, |f| {
            par_join!(f(0), f(1), f(2), f(3), f(4));
        })
    });
}

/// Runs `report` in a child process with `vars` set (and no other `PARALLEL_` variable), and
/// returns what it observed.
fn report_with(vars: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "report",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env_remove(WORKERS_VAR)
        .env_remove(BACKEND_VAR)
        .env_remove("CONFIG_ENV_MEET");
    for (name, value) in vars {
        child.env(name, value);
    }
    let output = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the report did not run with {vars:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    stdout
        .lines()
        // libtest prints `test report ... ` before the first line, without a line break.
        .filter_map(|line| line.split_once("observed ")?.1.split_once(": "))
        .map(|(label, value)| (label.to_owned(), value.to_owned()))
        .collect()
}

fn global_rayon() -> String {
    format!(
        "rayon({})",
        thread::spawn(rayon::current_num_threads).join().unwrap()
    )
}

#[track_caller]
fn assert_observed(report: &BTreeMap<String, String>, expected: &[(&str, &str)]) {
    for (label, value) in expected {
        assert_eq!(
            report.get(*label).map(String::as_str),
            Some(*value),
            "{label}; the whole report: {report:#?}"
        );
    }
}

#[test]
fn without_the_variables_everything_runs_on_rayon_s_global_pool() {
    let global = global_rayon();
    let global = global.as_str();
    for unset in [vec![], vec![(WORKERS_VAR, " "), (BACKEND_VAR, "")]] {
        let report = report_with(&unset);
        assert_observed(
            &report,
            &[
                ("par_map", global),
                ("par_map backend = threads", "parallel-threads"),
                ("par_join", global),
                ("join", global),
                ("spawn", global),
            ],
        );
    }
}

#[test]
fn parallel_backend_process_sends_parallel_functions_to_workers_and_the_rest_to_rayon() {
    let global = global_rayon();
    let report = report_with(&[(BACKEND_VAR, "process")]);
    assert_observed(
        &report,
        &[
            ("par_map #[parallel] fn", "process"),
            // A closure cannot run in a process: it stays on rayon.
            ("par_map", global.as_str()),
            ("par_join", global.as_str()),
            ("spawn", global.as_str()),
            ("par_map backend = threads", "parallel-threads"),
        ],
    );
    let report = report_with(&[]);
    assert_observed(&report, &[("par_map #[parallel] fn", "here")]);
}

#[test]
fn parallel_workers_sizes_the_rayon_pool_and_options_override_it() {
    let report = report_with(&[(WORKERS_VAR, "3")]);
    assert_observed(
        &report,
        &[
            ("par_map", "rayon(3)"),
            ("par_join", "rayon(3)"),
            ("join", "rayon(3)"),
            ("spawn", "rayon(3)"),
            ("par_map workers = 2", "rayon(2)"),
            ("par_map backend = threads", "parallel-threads"),
        ],
    );

    let cores = parallel::available_cores();
    let report = report_with(&[(WORKERS_VAR, "-1")]);
    assert_eq!(report["par_map"], format!("rayon({cores})"));
}

#[test]
fn parallel_backend_threads_moves_work_to_dedicated_threads_and_options_override_it() {
    let report = report_with(&[(BACKEND_VAR, "threads")]);
    assert_observed(
        &report,
        &[
            ("par_map", "parallel-threads"),
            ("par_join", "parallel-threads"),
            ("join", "parallel-threads"),
            ("spawn", "parallel-threads"),
            ("par_map backend = rayon", &global_rayon()),
            ("par_join backend = rayon", &global_rayon()),
            ("par_map threads, workers = 2", "2 threads, met: true"),
        ],
    );
    let report = report_with(&[(BACKEND_VAR, " rayon ")]);
    assert_eq!(report["par_map"], global_rayon());
}

#[test]
fn both_variables_bound_the_threads_backend() {
    let report = report_with(&[
        (BACKEND_VAR, "threads"),
        (WORKERS_VAR, "3"),
        ("CONFIG_ENV_MEET", "3"),
    ]);
    assert_observed(
        &report,
        &[
            ("par_map", "parallel-threads"),
            ("par_map threads", "3 threads, met: true"),
            ("par_join threads", "3 threads, met: true"),
            ("par_map threads, workers = 2", "2 threads, met: true"),
            ("par_map backend = rayon", "rayon(3)"),
        ],
    );
}

#[test]
fn an_invalid_value_panics_with_a_message_naming_the_variable() {
    let cases = [
        (
            WORKERS_VAR,
            "zero",
            "invalid PARALLEL_WORKERS \"zero\": expected a positive number of workers, or -1 for one per core",
        ),
        (
            WORKERS_VAR,
            "0",
            "invalid PARALLEL_WORKERS \"0\": expected a positive number of workers, or -1 for one per core",
        ),
        (
            BACKEND_VAR,
            "gpu",
            "invalid PARALLEL_BACKEND \"gpu\": expected one of `rayon`, `threads`, `process`",
        ),
    ];
    for (var, value, message) in cases {
        let report = report_with(&[(var, value)]);
        let panic = format!("panic: {message}");
        for probe in ["par_map", "par_join", "join", "spawn"] {
            assert_eq!(report[probe], panic, "{probe} with {var}={value}");
        }
    }
}
