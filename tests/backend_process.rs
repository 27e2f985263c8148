//! The process backend: tasks in worker processes that re-enter this test executable.

use parallel::{ErrorKind, ProcessPool, WorkerExit, par_join, par_map, parallel};

#[parallel]
fn square(n: u64) -> u64 {
    n * n
}

#[parallel]
fn pid(_: u32) -> u32 {
    std::process::id()
}

#[parallel]
fn crash(n: u32) -> u32 {
    if n == 3 {
        std::process::abort();
    }
    n
}

#[test]
fn par_map_runs_in_other_processes() {
    let squares = par_map!(square, 0..1000u64; backend = process, workers = 2);
    assert_eq!(squares, (0..1000).map(|n| n * n).collect::<Vec<_>>());
    let pids = par_map!(pid, 0..8; backend = process, workers = 2);
    assert!(pids.iter().all(|&p| p != std::process::id()));
}

#[test]
fn par_join_runs_calls_in_processes() {
    let (a, b) = par_join!(square(3), pid(0); backend = process);
    assert_eq!(a, 9);
    assert_ne!(b, std::process::id());
}

#[test]
fn a_crash_fails_only_its_task() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let results: Vec<_> = pool.map(crash, 0..8).collect();
    for (i, r) in results.iter().enumerate() {
        if i == 3 {
            let err = r.as_ref().unwrap_err();
            assert_eq!(err.index(), Some(3));
            assert!(matches!(err.kind(), ErrorKind::WorkerDied { exit: WorkerExit::Signal(6) }), "{err}");
        } else {
            assert_eq!(r.as_ref().unwrap(), &(i as u32));
        }
    }
}
