//! The MPI backend with isolation: each worker rank runs its tasks in a worker process of its
//! own, so a task that kills its process fails alone and the job goes on.
//!
//! Needs the `mpi` feature; `.ci/run` runs it alone (the pool spawns its ranks) and under
//! `mpirun -n 3`. Isolation is decided by the first pool of a program: every test here builds
//! its pool with `isolate(true)`.
#![cfg(all(unix, feature = "mpi"))]

mod common;

use std::time::{Duration, Instant};

use parallel::{ErrorKind, MpiPool, WorkerExit, parallel};

fn pool() -> MpiPool {
    common::quiet_expected_panics();
    MpiPool::builder()
        .isolate(true)
        .build()
        .expect("MPI workers")
}

fn pool_with_timeout(timeout: Duration) -> MpiPool {
    MpiPool::builder()
        .isolate(true)
        .timeout(timeout)
        .build()
        .expect("MPI workers")
}

#[parallel]
fn fragile(n: u32) -> u32 {
    match n % 10 {
        3 => std::process::abort(),
        5 => std::process::exit(7),
        8 => panic!("eights panic: {n}"),
        _ => n,
    }
}

#[parallel]
fn segfault(n: u32) -> u32 {
    if n == 1 {
        // SAFETY: none: a write through a null pointer, on purpose, to crash the worker.
        #[allow(unsafe_code)]
        unsafe {
            std::ptr::null_mut::<u32>().write_volatile(n);
        }
    }
    n
}

#[parallel]
fn nap(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// Sleeps as many tenths of a second as the first byte says, then sums the bytes.
#[parallel]
fn slow_sum(bytes: Vec<u8>) -> (usize, u64) {
    let tenths = bytes.first().copied().unwrap_or(0);
    std::thread::sleep(Duration::from_millis(100 * u64::from(tenths)));
    (bytes.len(), bytes.iter().map(|&b| u64::from(b)).sum())
}

#[parallel]
fn where_am_i(_: u32) -> (u32, u32) {
    (std::process::id(), std::os::unix::process::parent_id())
}

#[test]
fn tasks_run_in_worker_processes_of_the_ranks() {
    let places: Vec<(u32, u32)> = pool().map(where_am_i, 0..32).map(Result::unwrap).collect();
    // Neither this process nor a child of it: a child of a rank.
    assert!(
        places
            .iter()
            .all(|&(pid, parent)| pid != std::process::id() && parent != std::process::id())
    );
}

#[test]
fn a_task_that_kills_its_process_fails_alone_and_the_rank_serves_on() {
    let pool = pool();
    let results: Vec<_> = pool.map(fragile, 0..40).collect();
    for (n, result) in results.iter().enumerate() {
        match n % 10 {
            3 => {
                let err = result.as_ref().unwrap_err();
                assert_eq!(
                    err.kind(),
                    &ErrorKind::WorkerDied {
                        exit: WorkerExit::Signal(6)
                    },
                    "{err}"
                );
                assert_eq!(err.index(), Some(n));
                assert_eq!(err.name(), Some("fragile"));
            }
            5 => assert_eq!(
                result.as_ref().unwrap_err().kind(),
                &ErrorKind::WorkerDied {
                    exit: WorkerExit::Code(7)
                }
            ),
            8 => {
                let err = result.as_ref().unwrap_err();
                assert_eq!(
                    err.panic_message(),
                    Some(format!("eights panic: {n}").as_str())
                );
                assert!(
                    err.location()
                        .is_some_and(|at| at.contains("mpi_isolated.rs"))
                );
            }
            _ => assert_eq!(result.as_ref().unwrap(), &(n as u32)),
        }
    }
    let segfaults: Vec<_> = pool.map(segfault, 0..4).collect();
    assert_eq!(
        segfaults[1].as_ref().unwrap_err().kind(),
        &ErrorKind::WorkerDied {
            exit: WorkerExit::Signal(11)
        }
    );
    assert_eq!(segfaults[3].as_ref().unwrap(), &3);
}

/// A large byte string crosses to the rank beside its request (as a message of its own), and
/// the rank hands the request, put back together, to its worker process with its timeout.
#[test]
fn large_byte_strings_reach_the_ranks_processes_whole_with_their_timeout() {
    let pool = pool_with_timeout(Duration::from_millis(500));
    let payload = |first: u8, len: usize| -> Vec<u8> {
        std::iter::once(first)
            .chain((1..len).map(|i| (i % 251) as u8))
            .collect()
    };
    let sum = |bytes: &[u8]| {
        (
            bytes.len(),
            bytes.iter().map(|&b| u64::from(b)).sum::<u64>(),
        )
    };
    let quick: Vec<Vec<u8>> = (0..6).map(|i| payload(0, (256 << 10) + i)).collect();
    let expected: Vec<(usize, u64)> = quick.iter().map(|b| sum(b)).collect();
    let got: Vec<(usize, u64)> = pool.map(slow_sum, quick).map(Result::unwrap).collect();
    assert_eq!(got, expected);
    // 10 s of sleep against a timeout of 0.5 s: the timeout came with the request.
    let err = pool
        .spawn(slow_sum, (payload(100, 300 << 10),))
        .join()
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    let after = payload(0, 1 << 20);
    assert_eq!(
        pool.spawn(slow_sum, (after.clone(),)).join().unwrap(),
        sum(&after)
    );
}

#[test]
fn a_timeout_kills_the_late_call_and_frees_its_rank() {
    let pool = pool_with_timeout(Duration::from_millis(300));
    common::quiet_expected_panics();
    let started = Instant::now();
    let err = pool.spawn(nap, (60_000,)).join().unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // Every rank answers long before the late call would have ended: its process was killed.
    let naps: Vec<u64> = pool
        .map(nap, vec![1; 4 * pool.workers()])
        .map(Result::unwrap)
        .collect();
    assert_eq!(naps.len(), 4 * pool.workers());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}
