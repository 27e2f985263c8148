//! The process backend: tasks in worker processes that re-enter this test executable.
//!
//! Tests that watch a whole program (its output, its death) run this executable again as a
//! child, selecting one of the `#[ignore]`d `child_*` tests below.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use common::eventually;

use parallel::{ErrorKind, ProcessPool, ProcessTransport, WorkerExit, par_join, par_map, parallel};

#[parallel]
fn square(n: u64) -> u64 {
    n * n
}

#[parallel]
fn pid(_: u32) -> u32 {
    std::process::id()
}

/// Fails in every way a worker can fail, on the item that asks for it.
#[parallel]
fn misbehave(how: String) -> String {
    common::quiet_expected_panics();
    match how.as_str() {
        "panic" => panic!("asked to panic"),
        "abort" => std::process::abort(),
        "exit" => std::process::exit(7),
        "segfault" => {
            // SAFETY: none: this writes through a null pointer on purpose, to test that a real
            // segmentation fault kills only this worker process.
            unsafe { std::ptr::null_mut::<u8>().write_volatile(1) };
            unreachable!("the write above faults")
        }
        _ => how,
    }
}

#[parallel]
fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// Writes this worker's pid to `path`, then waits to be killed from outside.
#[parallel]
fn wait_to_be_killed(path: String) -> u32 {
    std::fs::write(&path, std::process::id().to_string()).unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Aborts the first time it runs for `marker` (a file it creates), succeeds after.
#[parallel]
fn crash_once(marker: String) -> String {
    if std::fs::metadata(&marker).is_err() {
        std::fs::write(&marker, b"crashed").unwrap();
        std::process::abort();
    }
    "second time lucky".to_owned()
}

/// A task that is itself parallel, on threads, inside its worker.
#[parallel]
fn nested_sum(n: u64) -> u64 {
    par_map!(|i: u64| i * 2, 0..n; backend = threads, workers = 3)
        .iter()
        .sum()
}

#[parallel(backend = process, workers = 2)]
fn in_process_by_default(_: u32) -> u32 {
    std::process::id()
}

#[parallel]
fn checked_half(n: u32) -> Result<u32, String> {
    if n.is_multiple_of(2) {
        Ok(n / 2)
    } else {
        Err(format!("{n} is odd"))
    }
}

#[parallel]
fn third_panics(n: u64) -> u64 {
    common::quiet_expected_panics();
    assert!(!n.is_multiple_of(3), "{n} is a multiple of 3");
    n
}

#[parallel]
fn shout(word: String) -> usize {
    println!("worker says {word} on stdout");
    eprintln!("worker says {word} on stderr");
    word.len()
}

#[parallel]
fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[parallel(backend = process)]
fn slow_by_default(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// Says it started (a file), then waits until the test opens its gate (another file).
#[parallel]
fn gated(started: String, gate: String) -> u32 {
    std::fs::write(&started, b"started").unwrap();
    while std::fs::metadata(&gate).is_err() {
        std::thread::sleep(Duration::from_millis(5));
    }
    7
}

/// The bytes reversed: a `Vec<u8>` in and out, which cross as byte strings.
#[parallel]
fn reversed(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.reverse();
    bytes
}

/// The bytes with `salt` added to each: a `Vec<u8>` among other arguments.
#[parallel]
fn salted(bytes: Vec<u8>, salt: u8) -> (Vec<u8>, usize) {
    let len = bytes.len();
    (
        bytes.into_iter().map(|b| b.wrapping_add(salt)).collect(),
        len,
    )
}

/// A result element that refuses to be written when it is 1, and to be read when it is 2.
#[derive(Debug, PartialEq)]
struct Fussy(u8);

impl serde::Serialize for Fussy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 == 1 {
            return Err(serde::ser::Error::custom("fussy 1 will not be written"));
        }
        serializer.serialize_u8(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Fussy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match <u8 as serde::Deserialize>::deserialize(deserializer)? {
            2 => Err(serde::de::Error::custom("fussy 2 will not be read")),
            n => Ok(Fussy(n)),
        }
    }
}

/// `len` bytes and a [`Fussy`]: a tuple, which crosses element by element.
#[parallel]
fn bytes_and_fussy(len: usize, fussy: u8) -> (Vec<u8>, Fussy) {
    (vec![fussy; len], Fussy(fussy))
}

/// The numbers scaled: arrays of fixed-width numbers, alone and in tuples, both ways.
#[parallel]
fn scaled(values: Vec<f64>, by: f64) -> (Vec<f64>, usize) {
    let len = values.len();
    (values.into_iter().map(|x| x * by).collect(), len)
}

#[parallel]
fn negated(values: Vec<f32>) -> Vec<f32> {
    values.into_iter().map(|x| -x).collect()
}

#[parallel]
fn halved(values: Vec<i8>) -> Vec<i8> {
    values.into_iter().map(|x| x / 2).collect()
}

/// A pool of two workers on `transport`.
fn pool_of_two_on(transport: ProcessTransport) -> ProcessPool {
    ProcessPool::builder()
        .workers(2)
        .transport(transport)
        .build()
        .unwrap()
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("parallel-test-{}-{name}", std::process::id()))
}

/// A function forwarded by a `macro_rules!`, as a `:path` or inside an `:expr`: the macros
/// look through the invisible group the fragment arrives in.
macro_rules! join_on_processes {
    ($f:path, $call:expr) => {
        par_join!($f(3), $call; backend = process)
    };
}

macro_rules! map_on_processes {
    ($f:path) => {
        par_map!($f, 0..4u64; backend = process, workers = 2)
    };
}

#[test]
fn functions_forwarded_by_a_macro_run_in_processes() {
    let (nine, sixteen) = join_on_processes!(square, square(4));
    assert_eq!((nine, sixteen), (9, 16));
    assert_eq!(map_on_processes!(square), [0, 1, 4, 9]);
}

/// A result tuple whose element fails to be written, or read, fails its call alone, with the
/// element's own message where the format keeps it; the tuples around it arrive whole.
#[test]
fn a_tuple_result_that_does_not_cross_fails_its_call_alone() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let calls = [(70_000, 0), (5, 1), (70_000, 2), (3, 0), (0, 1)];
    for chunk in [1, calls.len()] {
        let results: Vec<_> = pool.starmap(bytes_and_fussy, calls).chunk(chunk).collect();
        assert_eq!(results[0].as_ref().unwrap(), &(vec![0; 70_000], Fussy(0)));
        assert_eq!(results[3].as_ref().unwrap(), &(vec![0; 3], Fussy(0)));
        for (at, expected) in [
            (
                1,
                "could not encode the result: fussy 1 will not be written",
            ),
            (2, "could not decode the result"),
            (
                4,
                "could not encode the result: fussy 1 will not be written",
            ),
        ] {
            let err = results[at].as_ref().unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::Serialization { .. }),
                "{err}"
            );
            assert!(err.to_string().contains(expected), "{err}");
            assert_eq!(err.index(), Some(at));
        }
    }
    let err = pool
        .spawn(bytes_and_fussy, (100_000, 2))
        .join()
        .unwrap_err();
    assert!(
        err.to_string().contains("could not decode the result"),
        "{err}"
    );
    let (bytes, fussy) = pool.spawn(bytes_and_fussy, (100_000, 7)).join().unwrap();
    assert_eq!((bytes.len(), fussy), (100_000, Fussy(7)));
}

/// Arrays of `f64`, `f32` and `i8` cross in one pass each way (their bytes are the numbers'
/// own): every size from empty to larger than a ring entry, alone and beside another value.
#[test]
fn arrays_of_fixed_width_numbers_cross_whole_on_both_transports() {
    let lens = [0, 1, 127, 128, 1 << 17, 3 << 18];
    for transport in [ProcessTransport::SharedMemory, ProcessTransport::Socket] {
        let pool = pool_of_two_on(transport);
        let doubles: Vec<Vec<f64>> = lens
            .iter()
            .map(|&len| (0..len).map(|i| i as f64 * 0.25 - 7.0).collect())
            .collect();
        let back: Vec<(Vec<f64>, usize)> = pool
            .starmap(scaled, doubles.iter().map(|values| (values.clone(), -2.0)))
            .map(Result::unwrap)
            .collect();
        for (values, (scaled, len)) in doubles.iter().zip(&back) {
            assert_eq!(*len, values.len(), "{transport}");
            assert!(scaled.iter().zip(values).all(|(s, v)| *s == v * -2.0));
        }
        let floats: Vec<Vec<f32>> = lens
            .iter()
            .map(|&len| (0..len).map(|i| i as f32 + 0.5).collect())
            .collect();
        let negated_back: Vec<Vec<f32>> = pool
            .map(negated, floats.clone())
            .map(Result::unwrap)
            .collect();
        for (values, back) in floats.iter().zip(&negated_back) {
            assert_eq!(back.len(), values.len(), "{transport}");
            assert!(back.iter().zip(values).all(|(b, v)| *b == -v));
        }
        let bytes: Vec<i8> = (0..100_000).map(|i| (i % 256) as u8 as i8).collect();
        let halved_back = pool.spawn(halved, (bytes.clone(),)).join().unwrap();
        assert!(halved_back.iter().zip(&bytes).all(|(h, b)| *h == b / 2));
    }
}

#[test]
fn byte_buffers_of_every_size_cross_whole_on_both_transports() {
    // Empty, a varint's edges, larger than a ring entry (2 MiB), and in between.
    let sizes = [0, 1, 127, 128, 65_536, 1 << 20, 3 << 20];
    let buffers: Vec<Vec<u8>> = sizes
        .iter()
        .map(|&len| (0..len).map(|i| (i % 251) as u8).collect())
        .collect();
    for transport in [ProcessTransport::SharedMemory, ProcessTransport::Socket] {
        let pool = pool_of_two_on(transport);
        let reversed_back: Vec<Vec<u8>> = pool
            .map(reversed, buffers.clone())
            .map(Result::unwrap)
            .collect();
        for (buffer, back) in buffers.iter().zip(&reversed_back) {
            let mut expected = buffer.clone();
            expected.reverse();
            assert!(*back == expected, "{transport}: {} bytes", buffer.len());
        }
        for buffer in &buffers {
            let (salted_back, len) = pool.spawn(salted, (buffer.clone(), 3)).join().unwrap();
            assert_eq!(len, buffer.len(), "{transport}");
            assert!(
                salted_back
                    .iter()
                    .zip(buffer)
                    .all(|(s, b)| *s == b.wrapping_add(3))
            );
        }
        // The same calls batched.
        let salted_all: Vec<(Vec<u8>, usize)> = pool
            .starmap(salted, buffers.iter().map(|buffer| (buffer.clone(), 5)))
            .map(Result::unwrap)
            .collect();
        for (buffer, (salted_back, len)) in buffers.iter().zip(&salted_all) {
            assert_eq!(*len, buffer.len(), "{transport}");
            assert!(
                salted_back
                    .iter()
                    .zip(buffer)
                    .all(|(s, b)| *s == b.wrapping_add(5))
            );
        }
        let one = pool.spawn(reversed, (vec![1, 2, 3],)).join().unwrap();
        assert_eq!(one, [3, 2, 1]);
    }
    let by_macro = par_map!(reversed, buffers.clone(); backend = process, workers = 2);
    assert_eq!(by_macro.len(), buffers.len());
    assert!(
        by_macro
            .iter()
            .zip(&buffers)
            .all(|(back, buffer)| back.len() == buffer.len())
    );
}

#[test]
fn par_map_runs_in_other_processes_and_keeps_order() {
    let squares = par_map!(square, 0..1000u64; backend = process, workers = 2);
    assert_eq!(squares, (0..1000).map(|n| n * n).collect::<Vec<_>>());
    let pids = par_map!(pid, 0..8; backend = process, workers = 2);
    assert!(pids.iter().all(|&p| p != std::process::id()));
}

#[test]
fn par_join_runs_calls_in_processes() {
    let (a, b, c) = par_join!(square(3), pid(0), add(2, 3); backend = process);
    assert_eq!((a, c), (9, 5));
    assert_ne!(b, std::process::id());
    let single = par_join!(pid(1); backend = process);
    assert_ne!(single, std::process::id());
}

#[test]
fn a_million_trivial_items() {
    let squares = par_map!(square, 0..1_000_000u64; backend = process);
    assert_eq!(squares.len(), 1_000_000);
    assert_eq!(squares[999_999], 999_999 * 999_999);
    assert_eq!(
        squares.iter().sum::<u64>(),
        (0..1_000_000u64).map(|n| n * n).sum()
    );
}

#[test]
fn every_kind_of_failure_fails_only_its_task() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let inputs = ["ok-0", "panic", "ok-2", "abort", "exit", "segfault", "ok-6"];
    let results: Vec<_> = pool.map(misbehave, inputs.map(String::from)).collect();
    for (index, (input, result)) in inputs.iter().zip(&results).enumerate() {
        if input.starts_with("ok") {
            assert_eq!(result.as_ref().unwrap(), input);
            continue;
        }
        let err = result.as_ref().unwrap_err();
        assert_eq!(err.index(), Some(index), "{err}");
        assert_eq!(err.name(), Some("misbehave"));
        match *input {
            "panic" => assert_eq!(err.panic_message(), Some("asked to panic")),
            "abort" => assert_eq!(
                err.kind(),
                &ErrorKind::WorkerDied {
                    exit: WorkerExit::Signal(6)
                }
            ),
            "exit" => assert_eq!(
                err.kind(),
                &ErrorKind::WorkerDied {
                    exit: WorkerExit::Code(7)
                }
            ),
            "segfault" => assert_eq!(
                err.kind(),
                &ErrorKind::WorkerDied {
                    exit: WorkerExit::Signal(11)
                }
            ),
            _ => unreachable!(),
        }
    }
    // The pool replaced its workers and still works.
    let after: Vec<u64> = pool.map(square, 0..10).map(Result::unwrap).collect();
    assert_eq!(after[9], 81);
}

#[test]
fn a_crash_in_a_batch_of_small_items_fails_only_that_item() {
    // Thousands of items go in batches; the crash takes a whole batch's worker with it, and
    // the batch is re-run one item at a time to find the culprit.
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let inputs: Vec<String> = (0..5000)
        .map(|i| {
            if i == 4321 {
                "abort".into()
            } else {
                format!("ok-{i}")
            }
        })
        .collect();
    let results: Vec<_> = pool.map(misbehave, inputs.clone()).collect();
    let failed: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].is_err())
        .collect();
    assert_eq!(failed, [4321]);
    assert_eq!(results[4320].as_ref().unwrap(), &inputs[4320]);
}

#[test]
fn a_worker_killed_from_outside_fails_its_task_and_the_pool_goes_on() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let path = temp_path("killed-pid");
    let _ = std::fs::remove_file(&path);
    let doomed = pool.spawn(wait_to_be_killed, (path.display().to_string(),));
    let others = pool.spawn(square, (12,));
    let worker = wait_for_file(&path);
    let status = Command::new("kill").args(["-9", &worker]).status().unwrap();
    assert!(status.success());
    let err = doomed.join().unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::WorkerDied {
            exit: WorkerExit::Signal(9)
        }
    );
    assert_eq!(others.join().unwrap(), 144);
    assert_eq!(pool.spawn(square, (5,)).join().unwrap(), 25);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_timeout_kills_the_late_task_only() {
    let results: Vec<_> = ProcessPool::builder()
        .workers(2)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
        .map(sleep_ms, [1, 60_000, 2])
        .collect();
    assert_eq!(results[0].as_ref().unwrap(), &1);
    assert!(results[1].as_ref().unwrap_err().is_timeout());
    assert_eq!(results[2].as_ref().unwrap(), &2);

    let caught = catch_unwind(AssertUnwindSafe(
        || par_map!(sleep_ms, [1, 60_000]; backend = process, timeout = Duration::from_millis(300)),
    ));
    let payload = caught.expect_err("the timeout did not reach the caller");
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("task 1 (`sleep_ms`) timed out"),
        "{message}"
    );
}

#[test]
fn a_timeout_applies_where_the_function_chose_the_process_backend() {
    let caught = catch_unwind(AssertUnwindSafe(
        || par_map!(slow_by_default, [1, 60_000]; timeout = Duration::from_millis(300)),
    ));
    let payload = caught.expect_err("the timeout did not reach the caller");
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(message.contains("timed out"), "{message}");
}

#[test]
fn cancel_does_not_claim_a_task_already_running_in_a_worker() {
    let (started, gate) = (temp_path("cancel-started"), temp_path("cancel-gate"));
    let _ = std::fs::remove_file(&started);
    let _ = std::fs::remove_file(&gate);
    let pool = ProcessPool::builder().workers(1).build().unwrap();
    let running = pool.spawn(
        gated,
        (started.display().to_string(), gate.display().to_string()),
    );
    let queued = pool.spawn(square, (3,));
    wait_for_file(&started);
    assert!(!running.cancel(), "a running task cannot be cancelled");
    assert!(queued.cancel(), "a queued task can");
    std::fs::write(&gate, b"open").unwrap();
    assert_eq!(running.join().unwrap(), 7);
    assert_eq!(queued.join().unwrap_err().kind(), &ErrorKind::Cancelled);
    let _ = std::fs::remove_file(&started);
    let _ = std::fs::remove_file(&gate);
}

#[test]
fn a_dropped_pool_reaps_its_workers() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let pids: Vec<u32> = pool.map(pid, 0..2).map(Result::unwrap).collect();
    drop(pool);
    let deadline = Instant::now() + Duration::from_secs(5);
    for pid in pids {
        // Reaped: not even a zombie is left.
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            assert!(Instant::now() < deadline, "worker {pid} was not reaped");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

#[test]
fn retries_run_a_task_again_after_its_worker_died() {
    let marker = temp_path("crash-once");
    let _ = std::fs::remove_file(&marker);
    let marker = marker.display().to_string();
    let out = par_map!(crash_once, [marker.clone()]; backend = process, retries = 1);
    assert_eq!(out, ["second time lucky"]);

    std::fs::remove_file(&marker).unwrap();
    let pool = ProcessPool::builder().workers(1).build().unwrap();
    let err = pool
        .spawn(crash_once, (marker.clone(),))
        .join()
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::WorkerDied { .. }), "{err}");
    std::fs::remove_file(&marker).unwrap();
}

#[test]
fn a_panic_reaches_the_caller_with_its_message() {
    let caught = catch_unwind(AssertUnwindSafe(
        || par_map!(misbehave, ["ok".to_string(), "panic".to_string()]; backend = process),
    ));
    let payload = caught.expect_err("the panic was lost");
    assert_eq!(payload.downcast_ref::<String>().unwrap(), "asked to panic");

    let caught = catch_unwind(AssertUnwindSafe(
        || par_join!(misbehave("exit".to_string()), square(2); backend = process),
    ));
    let payload = caught.expect_err("the crash was lost");
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(message.contains("exited with code 7"), "{message}");
}

#[test]
fn results_collect_with_the_earliest_error() {
    let halves: Result<Vec<u32>, String> = par_map!(checked_half, [2, 4, 6]; backend = process);
    assert_eq!(halves, Ok(vec![1, 2, 3]));
    let halves: Result<Vec<u32>, String> = par_map!(checked_half, [2, 3, 4, 5]; backend = process);
    assert_eq!(halves, Err("3 is odd".to_string()));
}

#[test]
fn long_maps_keep_input_order_and_give_the_earliest_error() {
    // Long enough for batches of thousands of calls, answered out of order by two workers.
    let evens = (0..50_000u32).map(|n| 2 * n);
    let halves: Result<Vec<u32>, String> =
        par_map!(checked_half, evens; backend = process, workers = 2);
    assert_eq!(halves, Ok((0..50_000).collect()));
    let odd_at = |n: u32| {
        if n == 31_234 || n == 45_000 {
            2 * n + 1
        } else {
            2 * n
        }
    };
    let items = (0..50_000u32).map(odd_at);
    let halves: Result<Vec<u32>, String> =
        par_map!(checked_half, items; backend = process, workers = 2);
    assert_eq!(halves, Err("62469 is odd".to_string()));
    // The runtime API's ordered map, likewise.
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let squares: Vec<u64> = pool.map(square, 0..50_000).map(Result::unwrap).collect();
    assert!(
        squares
            .iter()
            .enumerate()
            .all(|(n, &s)| s == (n * n) as u64)
    );
    assert_eq!(squares.len(), 50_000);
}

#[test]
fn panics_inside_batches_fail_only_their_calls() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    // Batches of 10 calls, each with a panic every third call, and two batches with none.
    let items = (1..=80u64).map(|n| if n > 60 { 1 } else { n });
    let results: Vec<_> = pool.map(third_panics, items).chunk(10).collect();
    assert_eq!(results.len(), 80);
    for (index, result) in results.iter().enumerate() {
        let n = if index >= 60 { 1 } else { index as u64 + 1 };
        match result {
            Ok(value) => assert_eq!(*value, n),
            Err(err) => {
                assert_eq!(n % 3, 0, "call {index} failed: {err}");
                assert_eq!(err.index(), Some(index));
                let message = format!("{n} is a multiple of 3");
                assert_eq!(err.panic_message(), Some(message.as_str()));
            }
        }
    }
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 20);
}

#[test]
fn a_task_can_itself_run_in_parallel() {
    let sums = par_map!(nested_sum, [10, 100]; backend = process, workers = 2);
    assert_eq!(sums, [90, 9900]);
}

#[test]
fn the_functions_default_backend_is_used() {
    let pids = par_map!(in_process_by_default, 0..4);
    assert!(pids.iter().all(|&p| p != std::process::id()));
    // The call's own option wins.
    let here = par_map!(in_process_by_default, 0..4; backend = rayon);
    assert!(here.iter().all(|&p| p == std::process::id()));
}

#[test]
fn the_runtime_api_spawns_and_maps() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    assert_eq!(pool.spawn(add, (40, 2)).join().unwrap(), 42);
    let mut seen: Vec<usize> = pool
        .map_unordered(square, 0..50)
        .map(|(index, result)| {
            assert_eq!(result.unwrap(), (index * index) as u64);
            index
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..50).collect::<Vec<_>>());
    // An endless input streams.
    let first: Vec<u64> = pool.map(square, 0..).take(5).map(Result::unwrap).collect();
    assert_eq!(first, [0, 1, 4, 9, 16]);
}

#[test]
fn output_of_workers_reaches_the_terminal() {
    let output = run_child("child_prints_from_workers", &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("worker says hello on stdout"), "{stdout}");
    assert!(stderr.contains("worker says hello on stderr"), "{stderr}");
}

#[test]
fn no_worker_outlives_a_parent_that_is_killed() {
    let pids_file = temp_path("orphans-killed");
    let _ = std::fs::remove_file(&pids_file);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_runs_long_tasks",
            "--ignored",
            "--nocapture",
        ])
        .env("PARALLEL_TEST_PIDS", &pids_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let workers = wait_for_pids(&pids_file, 2);
    child.kill().unwrap(); // SIGKILL: the parent gets no chance to clean up
    child.wait().unwrap();
    assert_all_exit(&workers, Duration::from_secs(2));
    let _ = std::fs::remove_file(&pids_file);
}

#[test]
fn no_worker_outlives_a_parent_that_panics() {
    let pids_file = temp_path("orphans-panicked");
    let _ = std::fs::remove_file(&pids_file);
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_runs_long_tasks", "--ignored"])
        .env("PARALLEL_TEST_PIDS", &pids_file)
        .env("PARALLEL_TEST_PANIC", "1")
        .output()
        .unwrap();
    assert!(!output.status.success(), "the child should have panicked");
    let workers = wait_for_pids(&pids_file, 2);
    assert_all_exit(&workers, Duration::from_secs(2));
    let _ = std::fs::remove_file(&pids_file);
}

/// Writes one worker pid per line to `PARALLEL_TEST_PIDS`, then runs.
#[parallel]
fn record_then_sleep(path: String) -> u32 {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .unwrap();
    // One write per line: with O_APPEND, lines from two workers cannot interleave.
    file.write_all(format!("{}\n", std::process::id()).as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_secs(60));
    0
}

#[test]
#[ignore = "run by no_worker_outlives_*, as a child process"]
fn child_runs_long_tasks() {
    let path = std::env::var("PARALLEL_TEST_PIDS").unwrap();
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let tasks: Vec<_> = (0..2)
        .map(|_| pool.spawn(record_then_sleep, (path.clone(),)))
        .collect();
    wait_for_pids(Path::new(&path), 2);
    if std::env::var_os("PARALLEL_TEST_PANIC").is_some() {
        panic!("the parent panics while its workers run");
    }
    for task in tasks {
        let _ = task.join();
    }
}

/// Panics with its argument in the message; it does not quiet its panic.
#[parallel]
fn loud_panic(n: u8) -> u8 {
    panic!("loud {n}")
}

#[test]
fn a_worker_says_which_task_panicked_unless_its_pool_is_quiet() {
    let output = run_child("child_panics_in_a_worker", &[]);
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("in task `loud_panic` panicked at tests/backend_process.rs"),
        "{stderr}"
    );
    assert!(
        stderr.contains("parallel worker ") && stderr.contains("loud 7"),
        "{stderr}"
    );
    assert!(!stderr.contains("<unnamed>"), "{stderr}");

    let quiet = run_child("child_panics_in_a_worker", &[("PARALLEL_TEST_QUIET", "1")]);
    assert!(quiet.status.success(), "{quiet:?}");
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("loud 7"),
        "{stderr}"
    );
}

#[test]
fn a_panic_in_a_worker_keeps_where_it_happened() {
    let pool = ProcessPool::builder()
        .workers(1)
        .quiet_panics(true)
        .build()
        .unwrap();
    let err = pool.spawn(loud_panic, (3,)).join().unwrap_err();
    assert_eq!(err.panic_message(), Some("loud 3"));
    let location = err.location().expect("the worker saw where");
    assert!(
        location.starts_with("tests/backend_process.rs:"),
        "{location}"
    );
    // Then the worker's backtrace, if `RUST_BACKTRACE` asked for one.
    assert!(
        format!("{err:#}").contains(&format!("panicked: loud 3 (at {location})")),
        "{err:#}"
    );
    // The plain form stays the message alone.
    assert!(format!("{err}").ends_with("panicked: loud 3"), "{err}");
    // A batch: each panicking call has its own place, the others their values.
    let results: Vec<_> = pool.map(third_panics, 1..10u64).collect();
    for (n, result) in (1..10u64).zip(&results) {
        match result {
            Ok(value) => assert_eq!(*value, n),
            Err(err) => assert!(n % 3 == 0 && err.panic_message().is_some(), "{err}"),
        }
    }
}

#[test]
#[ignore = "run by a_worker_says_which_task_panicked_unless_its_pool_is_quiet, as a child process"]
fn child_panics_in_a_worker() {
    let quiet = std::env::var_os("PARALLEL_TEST_QUIET").is_some();
    let pool = ProcessPool::builder()
        .workers(1)
        .quiet_panics(quiet)
        .build()
        .unwrap();
    let err = pool.spawn(loud_panic, (7,)).join().unwrap_err();
    // The caller gets the message either way.
    assert_eq!(err.panic_message(), Some("loud 7"));
}

#[test]
#[ignore = "run by output_of_workers_reaches_the_terminal, as a child process"]
fn child_prints_from_workers() {
    let lengths = par_map!(shout, ["hello".to_string()]; backend = process);
    assert_eq!(lengths, [5]);
}

fn run_child(test: &str, env: &[(&str, &str)]) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--ignored", "--nocapture"])
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// Polls for a file another process writes, for at most 30 s.
fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && !text.is_empty()
        {
            return text.trim().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls for `count` pids, one per line, for at most 30 s.
fn wait_for_pids(path: &Path, count: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pids: Vec<u32> = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect();
        if pids.len() >= count {
            return pids;
        }
        assert!(
            Instant::now() < deadline,
            "only {pids:?} in {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Asserts that every process exits within `limit` (a zombie counts as exited).
fn assert_all_exit(pids: &[u32], limit: Duration) {
    let deadline = Instant::now() + limit;
    for pid in pids {
        while is_running(*pid) {
            assert!(
                Instant::now() < deadline,
                "worker {pid} outlived its parent by more than {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn is_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the field after the parenthesised command name; `Z` is a zombie.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

#[parallel]
fn power(base: u64, exponent: u32) -> u64 {
    common::quiet_expected_panics();
    assert!(exponent < 64, "exponent {exponent} overflows");
    base.pow(exponent)
}

/// Python: `Pool(2).starmap(pow, [(2, 3), (3, 2), (2, 70), (10, 1)])`, and
/// `executor.map(pow, bases, exponents)`: a function of two arguments over tuples of them,
/// with a failing tuple failing alone.
#[test]
fn starmap_runs_a_function_of_several_arguments_over_tuples() {
    let pool = ProcessPool::builder()
        .workers(2)
        .quiet_panics(true)
        .build()
        .unwrap();
    let results: Vec<_> = pool
        .starmap(power, [(2, 3), (3, 2), (2, 70), (10, 1)])
        .collect();
    assert_eq!(results[0].as_ref().unwrap(), &8);
    assert_eq!(results[1].as_ref().unwrap(), &9);
    let err = results[2].as_ref().unwrap_err();
    assert_eq!(err.index(), Some(2));
    assert_eq!(err.panic_message(), Some("exponent 70 overflows"));
    assert_eq!(results[3].as_ref().unwrap(), &10);

    let bases: Vec<u64> = (0..1_000).collect();
    let exponents = std::iter::repeat_n(2, 1_000);
    let squares: Vec<u64> = pool
        .starmap(power, bases.iter().copied().zip(exponents))
        .map(Result::unwrap)
        .collect();
    assert_eq!(squares, bases.iter().map(|b| b * b).collect::<Vec<_>>());

    let mut unordered: Vec<(usize, u64)> = pool
        .starmap_unordered(power, [(2, 1), (2, 2), (2, 3)])
        .map(|(i, r)| (i, r.unwrap()))
        .collect();
    unordered.sort_unstable();
    assert_eq!(unordered, [(0, 2), (1, 4), (2, 8)]);
}

#[parallel]
fn nap_then_pid(ms: u64) -> u32 {
    std::thread::sleep(Duration::from_millis(ms));
    std::process::id()
}

/// Python: `with ProcessPoolExecutor(2) as ex: fs = [ex.submit(f, x) for x in xs]`, leaving the
/// block (`shutdown(wait=True)`): every submitted task finishes first, and a submit after it
/// fails.
#[test]
fn shutdown_waits_for_every_task_given_and_refuses_later_ones() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let tasks: Vec<_> = (0..6).map(|_| pool.spawn(nap_then_pid, (50,))).collect();
    pool.shutdown();
    // Done when `shutdown` returned: no waiting here.
    assert!(tasks.iter().all(parallel::Task::is_finished));
    let pids: Vec<u32> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
    assert_ended(&pool, &pids);
}

/// The workers `pids` are gone and reaped, and `pool` takes no more calls.
fn assert_ended(pool: &ProcessPool, pids: &[u32]) {
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "worker {pid} lives on"
        );
    }
    let late = pool.spawn(nap_then_pid, (0,)).join().unwrap_err();
    assert_eq!(late.kind(), &ErrorKind::Cancelled);
}

#[parallel]
fn mark_then_nap(mark: String, ms: u64) -> u64 {
    std::fs::write(mark, b"running").unwrap();
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// Python: `executor.shutdown(wait=True, cancel_futures=True)`: the running task finishes,
/// the queued ones are cancelled.
#[test]
fn cancel_queued_then_shutdown_finishes_the_running_task_only() {
    let pool = ProcessPool::builder().workers(1).build().unwrap();
    let mark = std::env::temp_dir().join(format!("parallel-cancel-queued-{}", std::process::id()));
    let _ = std::fs::remove_file(&mark);
    let running = pool.spawn(mark_then_nap, (mark.display().to_string(), 300));
    // Wait until the worker runs it: only then are the next ones sure to queue behind it.
    assert!(eventually(|| mark.exists()));
    let queued: Vec<_> = (0..5).map(|_| pool.spawn(nap_then_pid, (1,))).collect();
    assert_eq!(pool.cancel_queued(), 5);
    pool.shutdown();
    assert!(running.join().is_ok());
    let _ = std::fs::remove_file(&mark);
    for task in queued {
        assert_eq!(task.join().unwrap_err().kind(), &ErrorKind::Cancelled);
    }
}

/// Python: `pool.terminate()` with tasks running and queued: the workers are killed now, and
/// every unfinished task fails, saying why.
#[test]
fn terminate_kills_the_workers_and_fails_every_unfinished_task() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let pids: Vec<u32> = pool
        .map(nap_then_pid, [0, 0, 0, 0])
        .map(Result::unwrap)
        .collect();
    let started = Instant::now();
    let tasks: Vec<_> = (0..6)
        .map(|_| pool.spawn(nap_then_pid, (60_000,)))
        .collect();
    pool.terminate();
    // Long before the naps would end.
    assert!(started.elapsed() < Duration::from_secs(30));
    for task in tasks {
        assert_eq!(task.join().unwrap_err().kind(), &ErrorKind::Terminated);
    }
    assert_ended(&pool, &pids);
}

#[parallel]
fn triple(n: u64) -> u64 {
    3 * n
}

fn not_parallel(n: u64) -> u64 {
    n
}

/// Python: `run_functions_in_parallel(*fns)` over functions chosen at run time, each a plain
/// function object: here `fn` pointers of `#[parallel]` functions, found by their address in
/// the parent (a worker is sent the function's identity, never an address).
#[test]
fn function_pointers_of_parallel_functions_run_in_workers() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let chosen: Vec<fn(u64) -> u64> = std::env::args()
        .take(1)
        .flat_map(|_| [triple as fn(u64) -> u64, square])
        .collect();
    let tasks: Vec<_> = chosen.iter().map(|&f| pool.spawn(f, (5,))).collect();
    let results: Vec<u64> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(results, [15, 25]);

    let plain: fn(u64) -> u64 = not_parallel;
    let err = pool.spawn(plain, (1,)).join().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Refused { .. }), "{err}");
    assert!(
        err.to_string().contains(
            "this function pointer (`fn(u64) -> u64`) points to a function without `#[parallel]`"
        ),
        "{err}"
    );
    let closure = |n: u64| n + 1;
    let err = pool.spawn(closure, (1,)).join().unwrap_err();
    assert!(
        err.to_string()
            .contains("a closure is not a `#[parallel]` function"),
        "{err}"
    );
    // Maps take them too.
    let mapped: Vec<u64> = pool
        .map(triple as fn(u64) -> u64, 0..4)
        .map(Result::unwrap)
        .collect();
    assert_eq!(mapped, [0, 3, 6, 9]);
}

static INITIALIZED_WITH: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

#[parallel]
fn remember(value: u64) {
    assert!(value != 13, "unlucky initializer argument");
    INITIALIZED_WITH
        .set(value)
        .expect("the initializer runs once per worker");
}

#[parallel]
fn initialized_with(_: u32) -> (u32, Option<u64>) {
    (std::process::id(), INITIALIZED_WITH.get().copied())
}

/// Python: `Pool(1, initializer=remember, initargs=(42,), maxtasksperchild=3)` mapping 12
/// calls one at a time: every worker ran the initializer once, before its first task, and no
/// worker ran more than 3 tasks.
#[test]
fn an_initializer_runs_in_every_new_worker_and_workers_retire_after_their_share() {
    let pool = ProcessPool::builder()
        .workers(1)
        .initializer(remember, (42,))
        .max_tasks_per_worker(3)
        .build()
        .unwrap();
    let seen: Vec<(u32, Option<u64>)> = pool
        .map(initialized_with, 0..12)
        .chunk(1)
        .map(Result::unwrap)
        .collect();
    assert!(seen.iter().all(|&(_, value)| value == Some(42)), "{seen:?}");
    let mut per_worker = std::collections::HashMap::new();
    for (pid, _) in &seen {
        *per_worker.entry(*pid).or_insert(0) += 1;
    }
    assert_eq!(per_worker.len(), 4, "{per_worker:?}");
    assert!(
        per_worker.values().all(|&calls| calls == 3),
        "{per_worker:?}"
    );
}

/// Python's `ProcessPoolExecutor(initializer=f)` whose `f` raises breaks the pool; here the
/// task that needed the worker fails, saying why, and the pool stays usable.
#[test]
fn a_failing_initializer_fails_the_task_that_needed_the_worker() {
    let pool = ProcessPool::builder()
        .workers(1)
        .quiet_panics(true)
        .initializer(remember, (13,))
        .build()
        .unwrap();
    let err = pool.spawn(initialized_with, (0,)).join().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Refused { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("the pool's initializer `remember` failed in a new worker")
            && err.to_string().contains("unlucky initializer argument"),
        "{err}"
    );
}

#[test]
fn an_initializer_or_a_share_the_pool_cannot_use_is_a_build_error() {
    fn plain(_: u64) {}
    let err = ProcessPool::builder()
        .initializer(plain, (1,))
        .build()
        .unwrap_err();
    assert_eq!(err.setting(), "initializer");
    assert!(
        err.to_string().contains("a `#[parallel]` function"),
        "{err}"
    );
    let err = ProcessPool::builder()
        .max_tasks_per_worker(0)
        .build()
        .unwrap_err();
    assert_eq!(err.setting(), "max_tasks_per_worker");
}

/// Waits until `of` calls have written their mark in `dir`; whether they all did (within a
/// hang guard far beyond what the test needs).
#[parallel]
fn meet(dir: String, me: u32, of: u32) -> bool {
    std::fs::write(format!("{dir}/meet-{me}"), b"").unwrap();
    eventually(|| {
        let met = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|entry| {
                entry
                    .as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("meet-"))
            })
            .count();
        met as u32 >= of
    })
}

/// Marks that it runs, then holds its worker until `dir/release` exists.
#[parallel]
fn hold(dir: String, me: usize) -> bool {
    std::fs::write(format!("{dir}/held-{me}"), b"").unwrap();
    eventually(|| Path::new(&format!("{dir}/release")).exists())
}

/// Python: `ps = [Process(target=f) for f in (a, b, c)]`, all started, then joined: every
/// process runs at once, however many cores there are and whatever else the program runs.
/// Here three calls that wait for each other, while other work holds every worker of the
/// shared pool: `par_join!` must start all three at once, or they never meet.
#[test]
fn par_join_on_process_starts_every_call_at_once() {
    let dir = std::env::temp_dir().join(format!("parallel-join-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let dir_name = dir.display().to_string();
    let cores = parallel::available_cores();
    let shared = ProcessPool::shared(cores);
    let holds: Vec<_> = (0..cores)
        .map(|me| shared.spawn(hold, (dir_name.clone(), me)))
        .collect();
    // Every worker of the shared pool is held.
    while (0..cores).any(|me| !dir.join(format!("held-{me}")).exists()) {
        std::thread::yield_now();
    }
    let (a, b, c) = par_join!(
        meet(dir_name.clone(), 0, 3),
        meet(dir_name.clone(), 1, 3),
        meet(dir_name.clone(), 2, 3);
        backend = process
    );
    std::fs::write(dir.join("release"), b"").unwrap();
    assert!(a && b && c, "the calls did not all run at once");
    assert!(holds.into_iter().all(|hold| hold.join().unwrap()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[parallel]
fn fails_deep(depth: u32) -> u32 {
    if depth == 0 {
        panic!("deep down");
    }
    fails_deep(depth - 1) + 1
}

/// Python shows a process task's remote traceback when it re-raises; here, with
/// `RUST_BACKTRACE=1` (set for the child program this test runs), the worker's backtrace of a
/// panic is in the task's error, and `{:#}` shows it; without it, there is none.
#[test]
fn a_worker_backtrace_comes_with_the_error_when_rust_backtrace_asks() {
    for (setting, expected) in [("1", "with"), ("0", "without")] {
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "--ignored", "--nocapture", "backtrace_child"])
            .env("RUST_BACKTRACE", setting)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains(&format!("{expected} a backtrace")),
            "{stdout}"
        );
    }
}

#[test]
#[ignore = "run by a_worker_backtrace_comes_with_the_error_when_rust_backtrace_asks"]
fn backtrace_child() {
    let pool = ProcessPool::builder()
        .workers(1)
        .quiet_panics(true)
        .build()
        .unwrap();
    let err = pool.spawn(fails_deep, (3,)).join().unwrap_err();
    assert_eq!(err.panic_message(), Some("deep down"));
    match err.backtrace() {
        Some(backtrace) => {
            assert!(backtrace.contains("fails_deep"), "{backtrace}");
            let shown = format!("{err:#}");
            assert!(shown.contains("stack backtrace of the worker:"), "{shown}");
            assert!(shown.contains(backtrace));
            // The plain form stays one line.
            assert!(!err.to_string().contains('\n'));
            println!("with a backtrace");
        }
        None => println!("without a backtrace"),
    }
}

/// Python: `list(executor.map(f, xs, timeout=0.5))` on a process pool, with one call that runs
/// far longer: the rest come back, the late one as timed out at its index, and the map ends.
#[test]
fn a_process_map_deadline_times_out_the_calls_not_answered() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let results: Vec<_> = pool
        .map(nap_then_pid, [1, 1, 60_000, 1])
        .chunk(1)
        .timeout(Duration::from_millis(500))
        .collect();
    for (n, result) in results.iter().enumerate() {
        if n == 2 {
            let err = result.as_ref().unwrap_err();
            assert!(err.is_timeout(), "{err}");
            assert_eq!(err.index(), Some(2));
            assert_eq!(err.name(), Some("nap_then_pid"));
        } else {
            assert!(result.is_ok(), "{result:?}");
        }
    }
    // The late call's worker is still busy; the pool ends it when it is dropped.
    pool.terminate();
    // An endless input stops being read at the deadline.
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let read = pool
        .map_unordered(square, 0..)
        .timeout(Duration::from_millis(100))
        .count();
    assert!(read > 0);
}

/// Python: `done, pending = wait(fs, return_when=FIRST_COMPLETED)` over process tasks, then
/// `wait(pending)`: the one that can finish is done first, and the results stay for `join`.
#[test]
fn wait_returns_when_the_first_task_finishes_and_keeps_the_results() {
    use parallel::{ReturnWhen, wait};
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let base = std::env::temp_dir().join(format!("parallel-wait-{}", std::process::id()));
    let (held, free) = (base.join("held"), base.join("free"));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&held).unwrap();
    std::fs::create_dir_all(&free).unwrap();
    std::fs::write(free.join("release"), b"").unwrap();
    let tasks = vec![
        pool.spawn(hold, (held.display().to_string(), 0)),
        pool.spawn(hold, (free.display().to_string(), 1)),
    ];
    let waited = wait(&tasks, None, ReturnWhen::FirstCompleted);
    assert_eq!((waited.done, waited.pending), (vec![1], vec![0]));
    std::fs::write(held.join("release"), b"").unwrap();
    let waited = wait(&tasks, None, ReturnWhen::AllCompleted);
    assert_eq!(waited.done, [0, 1]);
    assert!(tasks.into_iter().all(|task| task.join().unwrap()));
    let _ = std::fs::remove_dir_all(&base);
}

#[parallel(backend = process)]
fn scale(value: u64, by: u64) -> u64 {
    value * by
}

/// Python: `Pool().starmap(pow, pairs)` written as a macro: `par_map!` over tuples of a
/// `#[parallel]` function's arguments, on every backend, and a failing tuple raised as the
/// sequential code would.
#[test]
fn par_map_runs_a_function_of_several_arguments_over_tuples() {
    let pairs: Vec<(u64, u32)> = (0..100).map(|n| (n, 2)).collect();
    let squares: Vec<u64> = (0..100).map(|n| n * n).collect();
    let in_processes: Vec<u64> = par_map!(power, pairs.clone(); backend = process);
    assert_eq!(in_processes, squares);
    let on_rayon: Vec<u64> = par_map!(power, pairs.clone());
    assert_eq!(on_rayon, squares);
    let on_threads: Vec<u64> = par_map!(power, pairs; backend = threads, workers = 4);
    assert_eq!(on_threads, squares);
    // The function's own default backend, and zipped inputs.
    let scaled: Vec<u64> = par_map!(scale, (1..=3).zip([10, 100, 1000]));
    assert_eq!(scaled, [10, 200, 3000]);
    let err = catch_unwind(AssertUnwindSafe(|| {
        let _: Vec<u64> = par_map!(power, [(2, 3), (2, 70)]; backend = process);
    }))
    .unwrap_err();
    let message = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .unwrap_or_default();
    assert!(message.contains("exponent 70 overflows"), "{message}");
}
