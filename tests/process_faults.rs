//! The process backend's promise under every fault: one failure fails one call, nothing else.
//!
//! Maps of thousands of calls with faults injected at known indexes, on automatic batches and on
//! `chunk(1)`, with and without retries. Every other call must come back with its value, and
//! every fault with its index and its cause; calls that fail run once (unless retried), which
//! the faulty calls prove by logging each run.
//!
//! Scenarios that change the whole process (a resource limit, workers that die as they start)
//! run this executable again as a child, selecting one of the `#[ignore]`d `child_*` tests.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod common;

use parallel::{
    ErrorKind, ProcessPool, ProcessTransport, TaskError, WorkerExit, par_map, parallel,
};
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
enum Fault {
    None,
    Panic,
    Abort,
    Segfault,
    Exit(i32),
    /// SIGKILL, as from outside (the OOM killer, `kill -9`).
    Kill,
    /// Sleeps past any timeout.
    Hang,
    /// Returns a value whose `Serialize` fails, in the worker.
    UnencodableResult,
    /// Returns a value whose `Deserialize` fails, in the parent.
    UndecodableResult,
    /// Returns a value whose `Deserialize` panics, in the parent (on a driver thread).
    PanickingDecode,
    /// Its argument's `Serialize` fails, in the parent.
    UnencodableArgument,
    /// Its argument's `Deserialize` fails, in the worker.
    UndecodableArgument,
    /// Crashes the first time it runs (a marker file remembers), returns after.
    AbortOnce,
}

/// The faults that every map below injects, in turn.
const FAULTS: [Fault; 12] = [
    Fault::Panic,
    Fault::Abort,
    Fault::Segfault,
    Fault::Exit(3),
    Fault::Kill,
    Fault::UnencodableResult,
    Fault::UndecodableResult,
    Fault::PanickingDecode,
    Fault::UnencodableArgument,
    Fault::UndecodableArgument,
    Fault::Exit(77),
    Fault::Panic,
];

/// One call: its index, what it does, and where faulty calls log each run.
#[derive(Clone, Debug)]
struct Call {
    index: u32,
    fault: Fault,
    log: String,
}

#[derive(Serialize, Deserialize)]
struct RawCall {
    index: u32,
    fault: Fault,
    log: String,
}

impl Serialize for Call {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.fault == Fault::UnencodableArgument {
            return Err(S::Error::custom(format!(
                "call {} cannot be sent",
                self.index
            )));
        }
        RawCall {
            index: self.index,
            fault: self.fault,
            log: self.log.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Call {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawCall::deserialize(d)?;
        if raw.fault == Fault::UndecodableArgument {
            return Err(D::Error::custom("this call cannot be received"));
        }
        Ok(Call {
            index: raw.index,
            fault: raw.fault,
            log: raw.log,
        })
    }
}

/// What a call returns.
#[derive(Debug, PartialEq)]
enum Out {
    Value(u64),
    /// Cannot be serialized.
    Secret(u32),
    /// Serializes, but does not deserialize.
    Picky(u32),
    /// Serializes; its `Deserialize` panics.
    Touchy(u32),
}

#[derive(Serialize, Deserialize)]
enum RawOut {
    Value(u64),
    Picky(u32),
    Touchy(u32),
}

impl Serialize for Out {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Out::Value(v) => RawOut::Value(v).serialize(s),
            Out::Secret(i) => Err(S::Error::custom(format!(
                "the answer to call {i} is secret"
            ))),
            Out::Picky(i) => RawOut::Picky(i).serialize(s),
            Out::Touchy(i) => RawOut::Touchy(i).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Out {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match RawOut::deserialize(d)? {
            RawOut::Value(v) => Ok(Out::Value(v)),
            RawOut::Picky(_) => Err(D::Error::custom("picky")),
            RawOut::Touchy(i) => panic!("call {i} is touchy"),
        }
    }
}

/// The value of a call that runs normally.
fn value_of(index: u32) -> u64 {
    u64::from(index) * 3 + 1
}

#[parallel]
fn faulty(call: Call) -> Out {
    if call.fault != Fault::None {
        log_run(&call.log, call.index);
    }
    match call.fault {
        Fault::None | Fault::UnencodableArgument | Fault::UndecodableArgument => {
            Out::Value(value_of(call.index))
        }
        Fault::Panic => {
            common::quiet_expected_panics();
            panic!("call {} panics", call.index)
        }
        Fault::Abort => std::process::abort(),
        Fault::Segfault => {
            // SAFETY: none: this writes through a null pointer on purpose, to test that a real
            // segmentation fault kills only this worker process.
            unsafe { std::ptr::null_mut::<u8>().write_volatile(1) };
            unreachable!("the write above faults")
        }
        Fault::Exit(code) => std::process::exit(code),
        Fault::Kill => kill_self(),
        Fault::Hang => loop {
            std::thread::sleep(Duration::from_secs(60));
        },
        Fault::UnencodableResult => Out::Secret(call.index),
        Fault::UndecodableResult => Out::Picky(call.index),
        Fault::PanickingDecode => Out::Touchy(call.index),
        Fault::AbortOnce => {
            let marker = format!("{}.{}.crashed", call.log, call.index);
            if std::fs::metadata(&marker).is_err() {
                std::fs::write(&marker, b"").unwrap();
                std::process::abort();
            }
            Out::Value(value_of(call.index))
        }
    }
}

fn kill_self() -> ! {
    let me = rustix::process::getpid();
    rustix::process::kill_process(me, rustix::process::Signal::KILL).unwrap();
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Appends `index` to `log`; one write per line, so that lines of two workers never mix.
fn log_run(log: &str, index: u32) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .unwrap();
    file.write_all(format!("{index}\n").as_bytes()).unwrap();
}

/// How many times each call ran, from its log.
fn runs(log: &Path) -> HashMap<u32, usize> {
    let mut runs = HashMap::new();
    for line in std::fs::read_to_string(log).unwrap_or_default().lines() {
        *runs.entry(line.parse().unwrap()).or_default() += 1;
    }
    runs
}

/// A fresh log path of this process.
fn log_path(name: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("parallel-faults-{}-{name}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// `count` calls, the fault of `FAULTS` in turn at every `every`-th call from `offset` on.
fn calls(count: u32, every: u32, offset: u32, log: &Path) -> Vec<Call> {
    let log = log.display().to_string();
    let mut next_fault = FAULTS.iter().cycle();
    (0..count)
        .map(|index| {
            let fault = if index % every == offset {
                *next_fault.next().unwrap()
            } else {
                Fault::None
            };
            Call {
                index,
                fault,
                log: log.clone(),
            }
        })
        .collect()
}

/// Checks that a failed call says what happened to it.
fn assert_cause(call: &Call, err: &TaskError) {
    assert_eq!(err.index(), Some(call.index as usize), "{err}");
    assert_eq!(err.name(), Some("faulty"), "{err}");
    let died = |exit| ErrorKind::WorkerDied { exit };
    let serialization = |expected: &str| match err.kind() {
        ErrorKind::Serialization { message } => {
            assert!(message.contains(expected), "call {}: {message}", call.index)
        }
        other => panic!(
            "call {}: {other:?}, expected a serialization error",
            call.index
        ),
    };
    match call.fault {
        Fault::Panic => {
            let message = format!("call {} panics", call.index);
            assert_eq!(err.panic_message(), Some(message.as_str()));
        }
        Fault::Abort => assert_eq!(err.kind(), &died(WorkerExit::Signal(6))),
        Fault::Segfault => assert_eq!(err.kind(), &died(WorkerExit::Signal(11))),
        Fault::Exit(code) => assert_eq!(err.kind(), &died(WorkerExit::Code(code))),
        Fault::Kill => assert_eq!(err.kind(), &died(WorkerExit::Signal(9))),
        Fault::Hang => assert!(err.is_timeout(), "{err}"),
        Fault::UnencodableResult => serialization(&format!(
            "could not encode the result: the answer to call {} is secret",
            call.index
        )),
        Fault::UndecodableResult => serialization("could not decode the result"),
        Fault::PanickingDecode => serialization(&format!(
            "its `Deserialize` panicked: call {} is touchy",
            call.index
        )),
        Fault::UnencodableArgument => serialization(&format!(
            "could not encode the arguments: call {} cannot be sent",
            call.index
        )),
        Fault::UndecodableArgument => serialization("could not decode the arguments"),
        Fault::None | Fault::AbortOnce => panic!("call {} failed: {err}", call.index),
    }
}

/// How a map sent its calls.
#[derive(Clone, Copy, PartialEq)]
enum Sent {
    /// One call per request: each call runs once.
    Alone,
    /// In batches: a call that ran before another call crashed its worker lost its outcome with
    /// the worker and runs again; the call that crashed runs once.
    Batched,
}

fn crashes(fault: Fault) -> bool {
    matches!(
        fault,
        Fault::Abort | Fault::Segfault | Fault::Exit(_) | Fault::Kill
    )
}

/// Checks every result of a map over `calls` against what each call does, and how many times
/// each faulty call ran. Returns the number of faults checked.
fn check(calls: &[Call], results: &[Result<Out, TaskError>], log: &Path, sent: Sent) -> usize {
    assert_eq!(results.len(), calls.len(), "calls were lost");
    let runs = runs(log);
    let mut faults = 0;
    for (call, result) in calls.iter().zip(results) {
        match (call.fault, result) {
            (Fault::None, Ok(value)) => assert_eq!(value, &Out::Value(value_of(call.index))),
            (_, Ok(value)) => panic!("call {} ({:?}) returned {value:?}", call.index, call.fault),
            (_, Err(err)) => {
                assert_cause(call, err);
                faults += 1;
            }
        }
        let ran = runs.get(&call.index).copied().unwrap_or(0);
        // A call whose argument never decoded never ran.
        let expected = match call.fault {
            Fault::None | Fault::UnencodableArgument | Fault::UndecodableArgument => 0..=0,
            fault if crashes(fault) || sent == Sent::Alone => 1..=1,
            _ => 1..=2,
        };
        assert!(
            expected.contains(&ran),
            "call {} ({:?}) ran {ran} times",
            call.index,
            call.fault
        );
    }
    faults
}

#[test]
fn every_fault_fails_only_its_call_in_automatic_batches() {
    let log = log_path("batches");
    // Faults far apart, so that batches grow between them; and a burst of them near the end.
    let mut calls = calls(20_000, 331, 17, &log);
    for index in 19_900..19_912 {
        calls[index].fault = FAULTS[index % FAULTS.len()];
    }
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let results: Vec<_> = pool.map(faulty, calls.clone()).collect();
    let faults = check(&calls, &results, &log, Sent::Batched);
    assert_eq!(faults, 61 + 12);
    // The pool goes on.
    let after: Vec<_> = pool
        .map(faulty, self::calls(100, 1000, 999, &log))
        .collect();
    assert!(after.iter().all(Result::is_ok));
}

#[test]
fn every_fault_fails_only_its_call_with_chunks_of_one() {
    let log = log_path("chunk1");
    let calls = calls(3_000, 25, 3, &log);
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let results: Vec<_> = pool.map(faulty, calls.clone()).chunk(1).collect();
    assert_eq!(check(&calls, &results, &log, Sent::Alone), 120);
}

/// The README's advice for crash-prone tasks, with a crash every tenth call: no clean call is
/// blamed, and each crashing call runs once.
#[test]
fn a_crash_every_tenth_call_with_chunks_of_one_blames_only_the_crashing_calls() {
    let log = path_string(&log_path("tenth"));
    let calls: Vec<Call> = (0..20_000)
        .map(|index| Call {
            index,
            fault: if index % 10 == 9 {
                Fault::Abort
            } else {
                Fault::None
            },
            log: log.clone(),
        })
        .collect();
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let results: Vec<_> = pool.map(faulty, calls.clone()).chunk(1).collect();
    assert_eq!(check(&calls, &results, Path::new(&log), Sent::Alone), 2_000);
}

#[test]
fn unordered_maps_report_every_fault_at_its_index() {
    let log = log_path("unordered");
    let calls = calls(5_000, 97, 50, &log);
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let mut results: Vec<Option<Result<Out, TaskError>>> = (0..calls.len()).map(|_| None).collect();
    for (index, result) in pool.map_unordered(faulty, calls.clone()) {
        assert!(
            results[index].replace(result).is_none(),
            "{index} came twice"
        );
    }
    let results: Vec<_> = results.into_iter().map(Option::unwrap).collect();
    assert_eq!(check(&calls, &results, &log, Sent::Batched), 52);
}

#[test]
fn retries_run_a_crashing_call_again_and_nothing_else() {
    let log = log_path("retries");
    let log_name = path_string(&log);
    // Every 50th call crashes the first time it runs; with one retry, every call succeeds.
    let calls: Vec<Call> = (0..2_000)
        .map(|index| Call {
            index,
            fault: if index % 50 == 7 {
                Fault::AbortOnce
            } else {
                Fault::None
            },
            log: log_name.clone(),
        })
        .collect();
    let pool = ProcessPool::builder()
        .workers(2)
        .retries(1)
        .build()
        .unwrap();
    for result in pool.map(faulty, calls.clone()) {
        assert!(result.is_ok(), "{}", result.unwrap_err());
    }
    let crashed_once = runs(&log);
    assert_eq!(crashed_once.len(), 40);
    assert!(crashed_once.values().all(|&n| n == 2), "{crashed_once:?}");

    // Calls that always crash run 1 + retries times, then fail with their cause.
    let log = log_path("retries-always");
    let calls: Vec<Call> = (0..500)
        .map(|index| Call {
            index,
            fault: if index % 100 == 1 {
                Fault::Exit(5)
            } else {
                Fault::None
            },
            log: path_string(&log),
        })
        .collect();
    let pool = ProcessPool::builder()
        .workers(2)
        .retries(2)
        .build()
        .unwrap();
    let results: Vec<_> = pool.map(faulty, calls.clone()).collect();
    for (call, result) in calls.iter().zip(&results) {
        match call.fault {
            Fault::None => assert_eq!(result.as_ref().unwrap(), &Out::Value(value_of(call.index))),
            _ => assert_cause(call, result.as_ref().unwrap_err()),
        }
    }
    let always = runs(&log);
    assert_eq!(always.len(), 5);
    assert!(always.values().all(|&n| n == 3), "{always:?}");
}

#[test]
fn a_timeout_fails_only_the_late_call() {
    let log = log_path("timeouts");
    let log_name = path_string(&log);
    let calls: Vec<Call> = (0..60)
        .map(|index| Call {
            index,
            fault: if index % 20 == 11 {
                Fault::Hang
            } else {
                Fault::None
            },
            log: log_name.clone(),
        })
        .collect();
    let pool = ProcessPool::builder()
        .workers(2)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let results: Vec<_> = pool.map(faulty, calls.clone()).collect();
    assert_eq!(check(&calls, &results, &log, Sent::Alone), 3);
}

#[test]
fn par_map_raises_the_earliest_fault_by_index() {
    let log = log_path("par_map");
    let mut calls = calls(4_000, 4_000, 3_999, &log);
    calls[1_234].fault = Fault::UnencodableResult;
    calls[2_345].fault = Fault::Abort;
    let caught = catch_unwind(AssertUnwindSafe(
        || par_map!(faulty, calls.clone(); backend = process, workers = 2),
    ));
    let payload = caught.expect_err("the faults were lost");
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("task 1234 (`faulty`) could not cross between processes: could not encode the result: the answer to call 1234 is secret"),
        "{message}"
    );
}

/// A task writes garbage into its worker's socket: the worker broke the protocol, so it is
/// replaced and its call fails with that cause; the others complete.
#[test]
fn a_worker_that_breaks_the_protocol_fails_its_call_and_is_replaced() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let results: Vec<_> = pool
        .map(scribble, (0..200).map(|i| (i, i == 77)))
        .chunk(1)
        .collect();
    for (index, result) in results.iter().enumerate() {
        match result {
            Ok(value) => {
                assert_ne!(index, 77);
                assert_eq!(*value, index as u32 % 2);
            }
            Err(err) => {
                assert_eq!(err.index(), Some(77));
                assert!(matches!(err.kind(), ErrorKind::Protocol { .. }), "{err}");
            }
        }
    }
    assert!(results[77].is_err());
}

/// Returns `index % 2`. With `garbage`, breaks the protocol the way the pool's transport
/// allows: on the socket transport it first writes a frame no parent expects to the protocol
/// socket of this worker (the Unix socket among its descriptors that is not a standard stream),
/// then returns as usual; on the shared-memory transport it publishes an entry of an unknown kind
/// in the reply ring and rings the parent's doorbell, then waits (to be killed) so that the worker never overwrites it.
#[parallel]
fn scribble(call: (u32, bool)) -> u32 {
    let (index, garbage) = call;
    if garbage {
        if ProcessTransport::from_env() == Ok(ProcessTransport::Socket) {
            scribble_on_the_socket();
        } else {
            scribble_in_the_reply_ring();
            // Rings the parent's doorbell (one of the worker's sockets), as a reply would.
            ring_every_socket();
            loop {
                std::thread::park();
            }
        }
    }
    index % 2
}

/// This process's descriptors beyond the standard streams, each with what it names
/// (`socket:[…]`, `/memfd:parallel-rings (deleted)`, …).
fn descriptors() -> Vec<(i32, String)> {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .map(|entry| {
            let fd: i32 = entry.file_name().to_str().unwrap().parse().unwrap();
            let target = std::fs::read_link(entry.path()).unwrap_or_default();
            (fd, target.to_string_lossy().into_owned())
        })
        .filter(|(fd, _)| *fd > 2)
        .collect()
}

fn scribble_on_the_socket() {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    for (fd, target) in descriptors() {
        if target.starts_with("socket:") {
            // SAFETY: none needed for soundness of this test: the descriptor is the worker's
            // open socket; `ManuallyDrop` keeps it open after the write.
            let socket = unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) };
            let mut socket = std::mem::ManuallyDrop::new(socket);
            // A done frame with a length of 3: too short to be anything.
            socket.write_all(&[3, 0, 0, 0, 2, 0, 0]).unwrap();
        }
    }
}

fn ring_every_socket() {
    use std::os::fd::FromRawFd;
    for (fd, target) in descriptors() {
        if target.starts_with("socket:") {
            // SAFETY: none needed for soundness of this test: the descriptor is one of the
            // worker's open sockets; `ManuallyDrop` keeps it open after the write.
            let socket = unsafe { std::os::unix::net::UnixStream::from_raw_fd(fd) };
            let _ = std::io::Write::write(&mut &*std::mem::ManuallyDrop::new(socket), &[1]);
        }
    }
}

/// Publishes an entry of kind 99 at the tail of the reply ring (the rings' layout: a page of
/// words, the reply ring's tail at byte 256, then the two rings' data, the reply ring second).
fn scribble_in_the_reply_ring() {
    use std::os::fd::FromRawFd;
    use std::os::unix::fs::FileExt;
    for (fd, target) in descriptors() {
        if target.contains("parallel-rings") {
            // SAFETY: none needed for soundness of this test: the descriptor is the worker's
            // open rings file; `ManuallyDrop` keeps it open.
            let rings = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
            let capacity = (rings.metadata().unwrap().len() - 4096) / 2;
            let mut tail = [0; 8];
            rings.read_exact_at(&mut tail, 256).unwrap();
            let tail = u64::from_le_bytes(tail);
            let entry = [8, 0, 0, 0, 99, 0, 0, 0];
            rings
                .write_all_at(&entry, 4096 + capacity + tail % capacity)
                .unwrap();
            rings.write_all_at(&(tail + 8).to_le_bytes(), 256).unwrap();
            return;
        }
    }
    panic!("no rings among the worker's descriptors");
}

fn path_string(path: &Path) -> String {
    path.display().to_string()
}

/// Waits for `path` to exist, for at most 30 s.
fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::metadata(path).is_err() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Writes `started`, then waits until `gate` exists.
#[parallel]
fn gated(started: String, gate: String) -> u32 {
    std::fs::write(&started, b"").unwrap();
    wait_for(Path::new(&gate));
    7
}

#[parallel]
fn quick(n: u32) -> u32 {
    n + 1
}

/// A call written behind a long one in a worker's socket runs on the next free worker.
#[test]
fn a_fast_call_does_not_wait_behind_a_slow_one() {
    let (started, gate) = (log_path("slow-started"), log_path("slow-gate"));
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    // Warm both workers with short calls, so that the driver of the slow one pipelines.
    let warm: Vec<_> = pool.map(quick, 0..1_000).collect();
    assert_eq!(warm.len(), 1_000);
    let slow = pool.spawn(gated, (path_string(&started), path_string(&gate)));
    wait_for(&started);
    // Quick calls queued while one worker is stuck: all must come back from the other.
    let quick_ones: Vec<_> = (0..50).map(|n| pool.spawn(quick, (n,))).collect();
    for (n, task) in quick_ones.into_iter().enumerate() {
        let deadline = Duration::from_secs(20);
        assert!(
            task.wait_timeout(deadline),
            "call {n} waited behind the slow call"
        );
        assert_eq!(task.join().unwrap(), n as u32 + 1);
    }
    assert!(!slow.is_finished(), "the slow call was not slow");
    std::fs::write(&gate, b"").unwrap();
    assert_eq!(slow.join().unwrap(), 7);
}

/// Python's `map_unordered` never holds a finished call behind a slow one either.
#[test]
fn map_unordered_yields_the_fast_calls_while_a_slow_one_runs() {
    let (started, gate) = (log_path("unordered-started"), log_path("unordered-gate"));
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let warm: Vec<_> = pool.map(quick, 0..1_000).collect();
    assert_eq!(warm.len(), 1_000);
    let items = (0..10).map(|i| {
        if i == 1 {
            (path_string(&started), path_string(&gate))
        } else {
            (String::new(), String::new())
        }
    });
    let mut map = pool.map_unordered(gated_or_quick, items);
    let mut seen = Vec::new();
    for _ in 0..9 {
        let (index, result) = map.next().unwrap();
        assert_eq!(result.unwrap(), 1, "call {index}");
        seen.push(index);
    }
    assert!(!seen.contains(&1), "the slow call finished first: {seen:?}");
    std::fs::write(&gate, b"").unwrap();
    let (index, result) = map.next().unwrap();
    assert_eq!((index, result.unwrap()), (1, 7));
    assert!(map.next().is_none());
}

#[parallel]
fn gated_or_quick(paths: (String, String)) -> u32 {
    if paths.0.is_empty() {
        1
    } else {
        gated(paths.0, paths.1)
    }
}

/// A queued task that is cancelled is finished at once, on a process pool too.
#[test]
fn a_queued_process_task_cancels_at_once() {
    let (started, gate) = (log_path("cancel-started"), log_path("cancel-gate"));
    let pool = ProcessPool::builder().workers(1).build().unwrap();
    let busy = pool.spawn(gated, (path_string(&started), path_string(&gate)));
    wait_for(&started);
    let queued = pool.spawn(quick, (1,));
    assert!(queued.cancel());
    assert!(queued.is_finished());
    let err = queued.join_timeout(Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Cancelled);
    assert!(!busy.is_finished());
    std::fs::write(&gate, b"").unwrap();
    assert_eq!(busy.join().unwrap(), 7);
    // The cancelled call never ran: the worker takes the next one.
    assert_eq!(pool.spawn(quick, (2,)).join().unwrap(), 3);
}

/// A value a call cannot carry (4 GiB or more) fails that call, in either direction, without
/// copying it and without a panic in the caller.
#[test]
fn an_argument_or_result_past_4_gib_fails_its_call_only() {
    let pool = ProcessPool::builder().workers(1).build().unwrap();
    let err = pool
        .spawn(measure, (Huge(u32::MAX as usize + 1),))
        .join()
        .unwrap_err();
    match err.kind() {
        ErrorKind::Serialization { message } => {
            assert!(
                message.contains("could not encode the arguments"),
                "{message}"
            );
            assert!(message.contains("4 GiB"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let results: Vec<_> = pool
        .map(make_huge, [10, u32::MAX as usize + 1, 20])
        .collect();
    assert_eq!(results[0].as_ref().unwrap().0, 10);
    match results[1].as_ref().unwrap_err().kind() {
        ErrorKind::Serialization { message } => {
            assert!(message.contains("could not encode the result"), "{message}");
            assert!(message.contains("4 GiB"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(results[2].as_ref().unwrap().0, 20);
}

/// Bytes that claim to be `len` long; serialized as that many zero bytes (from a zeroed
/// allocation the encoder refuses before reading when it is too large).
#[derive(Debug)]
struct Huge(usize);

impl Serialize for Huge {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&vec![0u8; self.0])
    }
}

impl<'de> Deserialize<'de> for Huge {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes: serde_bytes::ByteBuf = Deserialize::deserialize(d)?;
        Ok(Huge(bytes.len()))
    }
}

#[parallel]
fn measure(huge: Huge) -> usize {
    huge.0
}

#[parallel]
fn make_huge(len: usize) -> Huge {
    Huge(len)
}

/// Writes to a pipe whose reader is gone until a write fails, and says how it failed.
///
/// Until then it writes again: a process that another test's thread forks at the same moment
/// holds a copy of the pipe's read end until it executes its program, and while it does, a
/// write can succeed (or wait). Once that copy closes, the next write fails.
#[parallel]
fn write_to_closed_pipe(_: u8) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("true")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    child.wait().unwrap();
    loop {
        if let Err(e) = stdin.write_all(&[0; 1 << 16]) {
            return format!("{:?}", e.kind());
        }
    }
}

/// In a worker as in any Rust program, a write to a closed pipe is an error, not a `SIGPIPE`
/// that kills the process.
#[test]
fn a_broken_pipe_is_an_error_in_a_worker_as_at_home() {
    let at_home = write_to_closed_pipe(0);
    assert_eq!(at_home, "BrokenPipe");
    let pool = ProcessPool::builder().workers(1).build().unwrap();
    assert_eq!(
        pool.spawn(write_to_closed_pipe, (0,)).join().unwrap(),
        at_home
    );
}
