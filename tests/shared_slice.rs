//! `SharedSlice`: arrays that worker processes read in place, on both transports, and every
//! way a call that names one can fail alone.

#![cfg(any(target_os = "linux", target_os = "android"))]

use std::time::{Duration, Instant};

use parallel::{
    ErrorKind, ProcessPool, ProcessTransport, SharedSlice, WorkerExit, par_map, parallel,
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A window of an array, as the tasks below read it.
type Window = (SharedSlice<f64>, usize, usize);

#[parallel]
fn window_sum((data, start, len): Window) -> f64 {
    data[start..start + len].iter().sum()
}

fn window_sum_here((data, start, len): &Window) -> f64 {
    data[*start..*start + len].iter().sum()
}

#[parallel]
fn total(data: SharedSlice<u64>) -> u64 {
    data.iter().sum()
}

/// How many arrays this process has mapped, from `/proc/self/maps`.
#[parallel]
fn mapped_arrays(_: u32) -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|line| line.contains("parallel-shared-slice"))
        .count()
}

/// Reads the array; with `write`, writes through it first (the memory is read-only).
#[parallel]
fn read_or_write((data, write): (SharedSlice<u64>, bool)) -> u64 {
    if write {
        // SAFETY: none: this writes to read-only memory on purpose, to test that the write
        // kills this worker alone.
        unsafe { data.as_ptr().cast_mut().write_volatile(1) };
    }
    data.iter().sum()
}

/// Reads the array and this worker's pid; with `die`, is killed once it has read it.
#[parallel]
fn read_then_maybe_die((data, die): (SharedSlice<u64>, bool)) -> (u64, u32) {
    let sum = data.iter().sum();
    if die {
        let me = rustix::process::getpid();
        rustix::process::kill_process(me, rustix::process::Signal::KILL).unwrap();
        std::thread::sleep(Duration::from_secs(60));
    }
    (sum, std::process::id())
}

/// A `SharedSlice` made in a worker: it cannot come back as a result.
#[parallel]
fn make_in_worker(n: u8) -> SharedSlice<u8> {
    SharedSlice::from_slice(&[n]).unwrap()
}

fn pools() -> [(ProcessPool, &'static str); 2] {
    [
        (
            ProcessPool::builder()
                .workers(2)
                .transport(ProcessTransport::Socket)
                .build()
                .unwrap(),
            "socket",
        ),
        (
            ProcessPool::builder().workers(2).build().unwrap(),
            "shared memory",
        ),
    ]
}

fn array(len: usize) -> SharedSlice<f64> {
    SharedSlice::from_vec((0..len).map(|i| i as f64 * 0.5).collect()).unwrap()
}

#[test]
fn many_tasks_read_one_array_on_both_transports() {
    let data = array(100_000);
    let jobs: Vec<Window> = (0..400).map(|i| (data.clone(), i * 250, 250)).collect();
    let expected: Vec<f64> = jobs.iter().map(window_sum_here).collect();
    for (pool, transport) in pools() {
        // Automatic batches, then one call per request (pipelined).
        let got: Vec<f64> = pool
            .map(window_sum, jobs.clone())
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, expected, "{transport}");
        let got: Vec<f64> = pool
            .map(window_sum, jobs.clone())
            .chunk(1)
            .map(Result::unwrap)
            .collect();
        assert_eq!(got, expected, "{transport}, chunk(1)");
    }
}

#[test]
fn par_map_reads_arrays_in_processes_and_on_rayon() {
    let data = array(10_000);
    let jobs: Vec<Window> = (0..100).map(|i| (data.clone(), i * 100, 100)).collect();
    let expected: Vec<f64> = jobs.iter().map(window_sum_here).collect();
    assert_eq!(
        par_map!(window_sum, jobs.clone(); backend = process, workers = 2),
        expected
    );
    assert_eq!(par_map!(window_sum, jobs.clone()), expected);
}

#[test]
fn more_arrays_than_one_attach_frame_carries() {
    // 150 arrays in each request: three attach frames (64 files each at most) before it.
    let arrays: Vec<SharedSlice<u64>> = (0..150u64)
        .map(|i| SharedSlice::from_vec((0..=i).collect()).unwrap())
        .collect();
    for (pool, transport) in pools() {
        let got: Vec<u64> = pool
            .map(total, arrays.clone())
            .chunk(150)
            .map(Result::unwrap)
            .collect();
        let expected: Vec<u64> = (0..150u64).map(|i| i * (i + 1) / 2).collect();
        assert_eq!(got, expected, "{transport}");
    }
}

#[test]
fn a_new_worker_gets_the_array_again() {
    for transport in [ProcessTransport::Socket, ProcessTransport::SharedMemory] {
        let pool = ProcessPool::builder()
            .workers(1)
            .transport(transport)
            .build()
            .unwrap();
        let data = SharedSlice::from_vec((1..=1000u64).collect()).unwrap();
        let jobs = [false, false, true, false, false].map(|die| (data.clone(), die));
        let results: Vec<_> = pool.map(read_then_maybe_die, jobs).chunk(1).collect();
        let mut pids = Vec::new();
        for (index, result) in results.into_iter().enumerate() {
            if index == 2 {
                let err = result.unwrap_err();
                assert_eq!(
                    err.kind(),
                    &ErrorKind::WorkerDied {
                        exit: WorkerExit::Signal(9)
                    },
                    "{transport:?}"
                );
            } else {
                let (sum, pid) = result.unwrap();
                assert_eq!(sum, 500_500, "{transport:?}");
                pids.push(pid);
            }
        }
        assert_eq!(pids[0], pids[1]);
        assert_eq!(pids[2], pids[3]);
        assert_ne!(
            pids[1], pids[2],
            "the calls after the kill ran on a new worker"
        );
    }
}

#[test]
fn a_task_that_writes_to_an_array_dies_alone() {
    for transport in [ProcessTransport::Socket, ProcessTransport::SharedMemory] {
        let pool = ProcessPool::builder()
            .workers(2)
            .transport(transport)
            .build()
            .unwrap();
        let data = SharedSlice::from_vec((1..=100u64).collect()).unwrap();
        let jobs: Vec<_> = (0..20).map(|i| (data.clone(), i == 7)).collect();
        for chunk in [1, 20] {
            for (index, result) in pool
                .map(read_or_write, jobs.clone())
                .chunk(chunk)
                .enumerate()
            {
                if index == 7 {
                    assert_eq!(
                        result.unwrap_err().kind(),
                        &ErrorKind::WorkerDied {
                            exit: WorkerExit::Signal(11)
                        },
                        "{transport:?}"
                    );
                } else {
                    assert_eq!(result.unwrap(), 5050, "{transport:?}, call {index}");
                }
            }
        }
        // The parent's array never changed.
        assert_eq!(data.iter().sum::<u64>(), 5050);
    }
}

/// Asks the one worker of `pool` how many arrays it maps, until `ok` or a few seconds pass.
fn mapped_in_worker(pool: &ProcessPool, ok: impl Fn(usize) -> bool) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mapped = pool.spawn(mapped_arrays, (0,)).join().unwrap();
        if ok(mapped) || Instant::now() > deadline {
            return mapped;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn workers_unmap_arrays_the_parent_dropped() {
    for transport in [ProcessTransport::Socket, ProcessTransport::SharedMemory] {
        let pool = ProcessPool::builder()
            .workers(1)
            .transport(transport)
            .build()
            .unwrap();
        let data = SharedSlice::from_vec(vec![3u64; 1000]).unwrap();
        assert_eq!(pool.spawn(total, (data.clone(),)).join().unwrap(), 3000);
        assert_eq!(mapped_in_worker(&pool, |n| n == 1), 1, "{transport:?}");
        drop(data);
        assert_eq!(mapped_in_worker(&pool, |n| n == 0), 0, "{transport:?}");
        // A long-running worker keeps only the arrays still alive.
        for i in 0..200u64 {
            let data = SharedSlice::from_vec(vec![i; 10]).unwrap();
            assert_eq!(pool.spawn(total, (data,)).join().unwrap(), 10 * i);
        }
        assert!(mapped_in_worker(&pool, |n| n == 0) == 0, "{transport:?}");
    }
}

/// An argument that decodes as a `SharedSlice<u64>`, and encodes as one or as a forgery.
enum Forged {
    Real(SharedSlice<u64>),
    /// An id no worker received.
    UnknownId,
    /// The real array, with one element more than it holds.
    Longer(SharedSlice<u64>),
    /// An array of bytes, where the task reads `u64`s.
    Bytes(SharedSlice<u8>),
}

impl Serialize for Forged {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Forged::Real(data) => data.serialize(serializer),
            Forged::UnknownId => (u64::MAX - 1, 1u64).serialize(serializer),
            Forged::Longer(data) => {
                // Encoded once aside, within the request, so that the array goes with it.
                postcard::to_allocvec(data).unwrap();
                (data.id(), data.len() as u64 + 1).serialize(serializer)
            }
            Forged::Bytes(data) => data.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Forged {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        SharedSlice::deserialize(deserializer).map(Forged::Real)
    }
}

#[parallel]
fn forged_total(arg: Forged) -> u64 {
    match arg {
        Forged::Real(data) => data.iter().sum(),
        _ => unreachable!("decodes as `Real`"),
    }
}

#[test]
fn a_forged_handle_fails_its_call_alone() {
    let data = SharedSlice::from_vec((1..=10u64).collect()).unwrap();
    let bytes = SharedSlice::from_vec(vec![1u8; 10]).unwrap();
    for (pool, transport) in pools() {
        for chunk in [1, 8] {
            let args = (0..8).map(|i| match i {
                2 => Forged::UnknownId,
                4 => Forged::Longer(data.clone()),
                6 => Forged::Bytes(bytes.clone()),
                _ => Forged::Real(data.clone()),
            });
            for (index, result) in pool.map(forged_total, args).chunk(chunk).enumerate() {
                let expect = match index {
                    2 => Some("no `SharedSlice`"),
                    4 | 6 => Some("do not fill"),
                    _ => None,
                };
                match expect {
                    None => assert_eq!(result.unwrap(), 55, "{transport}"),
                    Some(words) => {
                        let err = result.unwrap_err();
                        assert!(
                            matches!(err.kind(), ErrorKind::Serialization { message }
                                if message.contains(words)),
                            "{transport}, call {index}: {err}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn a_shared_slice_only_crosses_as_an_argument() {
    let data = SharedSlice::from_slice(&[1u8, 2]).unwrap();
    assert!(postcard::to_allocvec(&data).is_err());
    // A worker's result is encoded outside any request.
    let pool = ProcessPool::builder().workers(1).build().unwrap();
    let err = pool.spawn(make_in_worker, (1,)).join().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Serialization { message }
            if message.contains("only crosses to process workers")),
        "{err}"
    );
    // The pool still works.
    assert_eq!(
        pool.spawn(total, (SharedSlice::from_slice(&[5u64]).unwrap(),))
            .join()
            .unwrap(),
        5
    );
}

#[test]
fn handles_are_cheap_clones_and_debug() {
    fn send_sync<T: Send + Sync + Clone + std::fmt::Debug>(_: &T) {}
    let data = SharedSlice::from_slice(&[[1u16, 2], [3, 4]]).unwrap();
    send_sync(&data);
    let clone = data.clone();
    assert_eq!(clone.as_ptr(), data.as_ptr());
    let debug = format!("{data:?}");
    assert!(
        debug.contains("SharedSlice") && debug.contains("len: 2"),
        "{debug}"
    );
}
