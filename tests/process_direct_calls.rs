//! Calls a caller sends to a free worker itself.
//!
//! When nothing waits in a process pool's queue and a worker is free, `spawn` writes the call to
//! that worker from the caller's thread, and `join` reads the answer there too, so that a round
//! trip takes two threads instead of three. These tests pin what that must not change: the
//! caller's thread does the reading; a task waited for in any other way than `join` (or dropped)
//! still finishes, because it hands its worker to the pool's drivers; a worker that dies under
//! such a call fails that call alone; and many threads sending at once, beside a map that fills
//! the queue, all get their own answers.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

mod common;

use common::eventually;

use parallel::{ErrorKind, ProcessPool, Task, as_completed, par_map, parallel};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A result that records which thread of the parent decoded it: the one that read the
/// worker's answer.
#[derive(Debug)]
struct DecodedOn(String);

impl Serialize for DecodedOn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(0)
    }
}

impl<'de> Deserialize<'de> for DecodedOn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u8::deserialize(deserializer)?;
        let thread = std::thread::current();
        Ok(DecodedOn(thread.name().unwrap_or("unnamed").to_owned()))
    }
}

#[parallel]
fn decoded_on(_: u32) -> DecodedOn {
    DecodedOn(String::new())
}

#[parallel]
fn decoded_on_large(_: Vec<u8>) -> DecodedOn {
    DecodedOn(String::new())
}

#[parallel]
fn square(n: u64) -> u64 {
    n * n
}

/// Returns `n` once the file `gate` exists, and writes `n` to `done` first if it is not empty
/// (and `started` as it starts, if that is not empty).
#[parallel]
fn after_gate(gate: String, done: String, n: u64, started: String) -> u64 {
    if !started.is_empty() {
        std::fs::write(&started, b"").unwrap();
    }
    while !Path::new(&gate).exists() {
        std::thread::sleep(Duration::from_millis(1));
    }
    if !done.is_empty() {
        std::fs::write(&done, n.to_string()).unwrap();
    }
    n
}

/// Aborts its worker when `n` is a multiple of 7; returns `n` otherwise.
#[parallel]
fn abort_on_sevens(n: u64) -> u64 {
    if n.is_multiple_of(7) {
        common::quiet_expected_panics();
        std::process::abort();
    }
    n
}

#[parallel]
fn abort_now(_: u32) -> u32 {
    common::quiet_expected_panics();
    std::process::abort()
}

fn temp_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "parallel-direct-{}-{name}-{:?}",
        std::process::id(),
        Instant::now()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

/// A pool of one worker, warm: its first call answered.
fn warm_pool() -> ProcessPool {
    let pool = ProcessPool::builder().workers(1).build().unwrap();
    assert_eq!(pool.spawn(square, (3,)).join().unwrap(), 9);
    pool
}

#[test]
fn the_joining_thread_reads_the_answer_of_a_free_worker() {
    let pool = warm_pool();
    let me = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_owned();
    // The worker is free once its driver lets go of it after the warm-up call, which it may
    // still be doing when the next call comes: then that call takes the queue, as it should.
    let mut by_caller = 0;
    for _ in 0..1000 {
        let DecodedOn(thread) = pool.spawn(decoded_on, (0,)).join().unwrap();
        if thread == me {
            by_caller += 1;
        } else {
            assert!(thread.starts_with("parallel-process-"), "{thread}");
        }
    }
    assert!(
        by_caller > 0,
        "no call of 1000 was read by the caller's thread"
    );
}

/// `par_map!` of one item runs it as one task, which the caller's thread can drive; it fails
/// the way a map fails at its first item.
#[test]
fn par_map_of_one_item_is_one_call_that_fails_like_a_map() {
    let me = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_owned();
    let read_here = (0..1000).any(|_| {
        let decoded = par_map!(decoded_on, [0u32]; backend = process, workers = 1);
        decoded.len() == 1 && decoded[0].0 == me
    });
    assert!(read_here, "no call of 1000 was read by the caller's thread");
    assert_eq!(par_map!(square, [7u64]; backend = process), [49]);

    let message = |items: Vec<u32>| {
        let caught = catch_unwind(AssertUnwindSafe(
            || par_map!(abort_now, items; backend = process),
        ));
        let payload = caught.expect_err("the crash was lost");
        payload.downcast_ref::<String>().unwrap().clone()
    };
    let alone = message(vec![0]);
    assert!(alone.starts_with("task 0 (`abort_now`) failed"), "{alone}");
    assert_eq!(alone, message(vec![0, 0]));
}

/// A call of a large argument goes through the pool's threads: `spawn` returns without waiting
/// for its bytes to reach the worker.
#[test]
fn a_large_call_is_sent_by_the_pool_not_the_caller() {
    let pool = warm_pool();
    let me = std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_owned();
    for _ in 0..100 {
        let DecodedOn(thread) = pool
            .spawn(decoded_on_large, (vec![7u8; 100_000],))
            .join()
            .unwrap();
        assert_ne!(thread, me);
        assert!(thread.starts_with("parallel-process-"), "{thread}");
    }
}

#[test]
fn a_call_waits_in_the_queue_behind_others_rather_than_pass_them() {
    let pool = warm_pool();
    let gate = temp_path("queue-gate");
    let gate_name = gate.display().to_string();
    // The worker is busy, and a call waits in the queue behind it.
    let busy = pool.spawn(
        after_gate,
        (gate_name.clone(), String::new(), 1, String::new()),
    );
    let queued = pool.spawn(
        after_gate,
        (gate_name.clone(), String::new(), 2, String::new()),
    );
    let last = pool.spawn(decoded_on, (0,));
    std::fs::write(&gate, b"").unwrap();
    assert_eq!(busy.join().unwrap(), 1);
    assert_eq!(queued.join().unwrap(), 2);
    let DecodedOn(thread) = last.join().unwrap();
    assert!(thread.starts_with("parallel-process-"), "{thread}");
    let _ = std::fs::remove_file(&gate);
}

/// How the owner of a task waits for it.
#[derive(Clone, Copy, Debug)]
enum Wait {
    PollIsFinished,
    TimedWaits,
    AsCompleted,
    Await,
    Drop,
    CancelThenJoin,
    JoinOnAnotherThread,
}

#[test]
fn a_call_sent_directly_finishes_however_its_task_is_waited_for() {
    for wait in [
        Wait::PollIsFinished,
        Wait::TimedWaits,
        Wait::AsCompleted,
        Wait::Await,
        Wait::Drop,
        Wait::CancelThenJoin,
        Wait::JoinOnAnotherThread,
    ] {
        let pool = warm_pool();
        let gate = temp_path("gate");
        let done = temp_path("done");
        let started = temp_path("started");
        let args = (
            gate.display().to_string(),
            done.display().to_string(),
            5,
            started.display().to_string(),
        );
        let task = pool.spawn(after_gate, args);
        // The call is in flight (it waits for the gate) when the owner starts to wait.
        let opened = || std::fs::write(&gate, b"").unwrap();
        let value = match wait {
            Wait::PollIsFinished => {
                assert!(!task.is_finished());
                opened();
                assert!(eventually(|| task.is_finished()), "{wait:?}");
                Some(task.join().unwrap())
            }
            Wait::TimedWaits => {
                assert!(!task.wait_timeout(Duration::from_millis(1)));
                opened();
                assert!(eventually(|| task.wait_timeout(Duration::from_millis(1))));
                Some(task.join().unwrap())
            }
            Wait::AsCompleted => {
                let mut finished = as_completed(vec![task]);
                opened();
                Some(finished.next().unwrap().1.unwrap())
            }
            Wait::Await => {
                let mut task = task;
                let mut context = Context::from_waker(Waker::noop());
                assert!(Pin::new(&mut task).poll(&mut context).is_pending());
                opened();
                let mut value = None;
                assert!(eventually(|| {
                    if let Poll::Ready(result) = Pin::new(&mut task).poll(&mut context) {
                        value = Some(result.unwrap());
                    }
                    value.is_some()
                }));
                value
            }
            Wait::Drop => {
                drop(task);
                opened();
                None
            }
            Wait::CancelThenJoin => {
                // Already running in its worker: too late to cancel, and it runs to its end.
                assert!(eventually(|| started.exists()));
                assert!(!task.cancel());
                opened();
                Some(task.join().unwrap())
            }
            Wait::JoinOnAnotherThread => {
                let joiner = std::thread::spawn(move || task.join().unwrap());
                opened();
                assert!(eventually(|| joiner.is_finished()), "{wait:?}");
                Some(joiner.join().unwrap())
            }
        };
        if let Some(value) = value {
            assert_eq!(value, 5, "{wait:?}");
        }
        // The call ran to its end in every case, a dropped task's too.
        assert!(
            eventually(|| std::fs::read_to_string(&done).is_ok_and(|text| text == "5")),
            "{wait:?}"
        );
        let _ = std::fs::remove_file(&gate);
        let _ = std::fs::remove_file(&done);
        let _ = std::fs::remove_file(&started);
    }
}

#[test]
fn a_worker_that_dies_under_a_direct_call_fails_that_call_alone() {
    let pool = warm_pool();
    for _ in 0..5 {
        let err = pool.spawn(abort_now, (0,)).join().unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::WorkerDied { .. }),
            "{err:?}"
        );
        assert_eq!(pool.spawn(square, (4,)).join().unwrap(), 16);
    }
}

#[test]
fn many_threads_sending_at_once_beside_a_map_all_get_their_answers() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let threads: Vec<_> = (0..4u64)
        .map(|thread| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                (0..2_000u64).all(|n| {
                    let n = thread * 10_000 + n;
                    pool.spawn(square, (n,)).join().unwrap() == n * n
                })
            })
        })
        .collect();
    let mapper = {
        let pool = pool.clone();
        std::thread::spawn(move || {
            pool.map(square, 0..20_000u64)
                .chunk(1)
                .zip(0..20_000u64)
                .all(|(result, n)| result.unwrap() == n * n)
        })
    };
    assert!(eventually(
        || threads.iter().all(|t| t.is_finished()) && mapper.is_finished()
    ));
    for thread in threads {
        assert!(thread.join().unwrap());
    }
    assert!(mapper.join().unwrap());
}

/// Tasks spawned and left to finish by themselves: none is lost when the pool goes with them.
#[test]
fn tasks_left_unjoined_finish_when_their_pool_is_dropped() {
    let pool = warm_pool();
    let done = temp_path("dropped-pool");
    let gate = temp_path("dropped-pool-gate");
    std::fs::write(&gate, b"").unwrap();
    let args = (
        gate.display().to_string(),
        done.display().to_string(),
        8,
        String::new(),
    );
    let task: Task<u64> = pool.spawn(after_gate, args);
    drop(pool);
    assert_eq!(task.join().unwrap(), 8);
    assert_eq!(std::fs::read_to_string(&done).unwrap(), "8");
    let _ = std::fs::remove_file(&gate);
    let _ = std::fs::remove_file(&done);
}

/// Direct calls, hand-overs and crashes at once: threads that join, poll or drop their tasks
/// in turn, on a pool whose workers die under every seventh call. Every call is answered with
/// its own value or its worker's death, and nothing hangs.
#[test]
fn crashes_among_direct_calls_waited_for_every_way_fail_only_their_calls() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let threads: Vec<_> = (0..3u64)
        .map(|thread| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let mut answered = 0;
                for i in 0..150u64 {
                    let n = thread * 1_000 + i;
                    let task = pool.spawn(abort_on_sevens, (n,));
                    let result = match i % 3 {
                        0 => task.join(),
                        1 => {
                            while !task.is_finished() {
                                std::thread::yield_now();
                            }
                            task.join()
                        }
                        _ => {
                            drop(task);
                            continue;
                        }
                    };
                    match result {
                        Ok(value) => assert_eq!(value, n),
                        Err(err) => {
                            assert!(n.is_multiple_of(7), "{err}");
                            assert!(
                                matches!(err.kind(), ErrorKind::WorkerDied { .. }),
                                "{err:?}"
                            );
                        }
                    }
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    assert!(eventually(|| threads.iter().all(|t| t.is_finished())));
    for thread in threads {
        assert_eq!(thread.join().unwrap(), 100);
    }
    // The pool serves on.
    assert_eq!(pool.spawn(abort_on_sevens, (8,)).join().unwrap(), 8);
}
