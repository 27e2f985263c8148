//! The `threads` backend: dedicated OS threads for blocking calls, bounded by `workers`, that
//! never hold up rayon's pool.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::thread::{self, ThreadId};
use std::time::Duration;

use parallel::{ThreadPool, par_map};

/// Rayon work run from a fresh thread: `Ok` with its result if it completes within a minute
/// (it takes microseconds when rayon's pool is free).
fn rayon_work_completes() -> Result<u64, mpsc::RecvTimeoutError> {
    let (done_tx, done) = mpsc::channel();
    thread::spawn(move || {
        let doubled = par_map!(|x: u64| x * 2, 0..1000_u64; backend = rayon);
        let (a, b) = rayon::join(|| 1, || 2);
        let _ = done_tx.send(doubled.iter().sum::<u64>() + a + b);
    });
    done.recv_timeout(Duration::from_secs(60))
}

/// What a blocking call saw of the thread it ran on.
#[derive(Default)]
struct Seen {
    on_rayon: AtomicUsize,
    names: Mutex<HashSet<String>>,
    threads: Mutex<HashSet<ThreadId>>,
}

impl Seen {
    fn record(&self) {
        if rayon::current_thread_index().is_some() {
            self.on_rayon.fetch_add(1, Ordering::SeqCst);
        }
        let current = thread::current();
        let name = current.name().unwrap_or("<unnamed>");
        let name = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
        self.names.lock().unwrap().insert(name.to_owned());
        self.threads.lock().unwrap().insert(current.id());
    }
}

#[test]
fn sixty_four_blocking_calls_run_at_once_while_rayon_stays_free() {
    // Each call reports that it started, then blocks until all 64 calls and the checker meet.
    // The checker sees all 64 blocked at once, runs rayon work meanwhile, then lets them go.
    let barrier = Barrier::new(65);
    let (arrived_tx, arrived) = mpsc::channel::<usize>();
    let seen = Seen::default();
    let (out, rayon_result) = thread::scope(|s| {
        let barrier = &barrier;
        let checker = s.spawn(move || {
            for _ in 0..64 {
                arrived.recv().unwrap();
            }
            let rayon_result = rayon_work_completes();
            barrier.wait();
            rayon_result
        });
        let out = par_map!(
            |i: usize| {
                seen.record();
                arrived_tx.send(i).unwrap();
                barrier.wait();
                i
            },
            0..64;
            backend = threads, workers = 64
        );
        (out, checker.join().unwrap())
    });
    assert_eq!(out, (0..64).collect::<Vec<_>>());
    assert_eq!(
        rayon_result,
        Ok(999_000 + 3),
        "rayon could not run while the calls blocked"
    );
    assert_eq!(
        seen.on_rayon.load(Ordering::SeqCst),
        0,
        "a blocking call ran on rayon"
    );
    assert_eq!(
        *seen.names.lock().unwrap(),
        HashSet::from(["parallel-threads".to_owned()])
    );
    assert_eq!(seen.threads.lock().unwrap().len(), 64);
}

#[test]
fn a_thread_pool_of_64_runs_64_blocking_tasks_at_once_while_rayon_stays_free() {
    let pool = ThreadPool::builder().workers(64).build().unwrap();
    let barrier = Arc::new(Barrier::new(65));
    let seen = Arc::new(Seen::default());
    let (arrived_tx, arrived) = mpsc::channel::<()>();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let (barrier, seen, arrived_tx) =
                (Arc::clone(&barrier), Arc::clone(&seen), arrived_tx.clone());
            pool.spawn(move || {
                seen.record();
                arrived_tx.send(()).unwrap();
                barrier.wait();
                i
            })
        })
        .collect();
    for _ in 0..64 {
        arrived.recv().unwrap();
    }
    let rayon_result = rayon_work_completes();
    barrier.wait();
    let values: Vec<i32> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(values, (0..64).collect::<Vec<_>>());
    assert_eq!(
        rayon_result,
        Ok(999_000 + 3),
        "rayon could not run while the tasks blocked"
    );
    assert_eq!(seen.on_rayon.load(Ordering::SeqCst), 0);
    assert_eq!(
        *seen.names.lock().unwrap(),
        HashSet::from(["parallel-threads".to_owned()])
    );
}

#[test]
fn workers_bound_how_many_calls_run_at_once() {
    // The first four calls wait for each other, so four threads run at once; no fifth starts.
    let barrier = Barrier::new(4);
    let seen = Seen::default();
    let out = par_map!(
        |i: u32| {
            if i < 4 {
                barrier.wait();
            }
            seen.record();
            i * 2
        },
        0..64;
        backend = threads, workers = 4
    );
    assert_eq!(out, (0..64).map(|i| i * 2).collect::<Vec<_>>());
    assert_eq!(seen.threads.lock().unwrap().len(), 4);
    assert_eq!(seen.on_rayon.load(Ordering::SeqCst), 0);
}

#[test]
fn one_worker_runs_the_calls_one_after_another_in_order() {
    let order = Mutex::new(Vec::new());
    let seen = Seen::default();
    par_map!(
        |i: u32| {
            seen.record();
            order.lock().unwrap().push(i);
        },
        0..20;
        backend = threads, workers = 1
    );
    assert_eq!(seen.threads.lock().unwrap().len(), 1);
    assert_eq!(order.into_inner().unwrap(), (0..20).collect::<Vec<_>>());
}

#[test]
fn an_endless_input_ends_at_the_first_error() {
    let out: Result<Vec<u64>, String> = par_map!(
        |n: u64| if n == 300 { Err(format!("item {n} failed")) } else { Ok(n) },
        0_u64..;
        backend = threads, workers = 3
    );
    assert_eq!(out, Err("item 300 failed".to_owned()));
}

#[test]
fn par_join_on_threads_runs_blocking_expressions_at_once() {
    let barrier = Barrier::new(3);
    let seen = Seen::default();
    let wait = || {
        seen.record();
        barrier.wait();
    };
    let ((), (), ()) = parallel::par_join!(wait(), wait(), wait(); backend = threads);
    assert_eq!(seen.threads.lock().unwrap().len(), 3);
    assert_eq!(seen.on_rayon.load(Ordering::SeqCst), 0);
}

/// The system refuses new threads (a container's `pids.max`, a full thread table): a call on
/// `threads` still runs, on the caller's thread, instead of panicking in the library.
#[test]
fn a_call_runs_when_the_system_refuses_threads() {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_without_threads",
            "--ignored",
            "--nocapture",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("threads were refused"), "{stdout}");
}

#[test]
#[ignore = "run by a_call_runs_when_the_system_refuses_threads, as a child process"]
fn child_without_threads() {
    use parallel::{par_join, parallel};

    #[parallel]
    fn sum_in_loop(n: u64) -> u64 {
        let mut total = 0;
        #[parallel(backend = threads, workers = 3)]
        for i in 0..n {
            total += i;
        }
        total
    }

    // Room for what this process has mapped and a little heap, not for a thread's stack.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmSize:"))
        .and_then(|size| size.split_whitespace().next()?.parse().ok())
        .unwrap();
    let limit = rustix::process::Rlimit {
        current: Some(kib * 1024 + (1 << 20)),
        maximum: Some(kib * 1024 + (1 << 20)),
    };
    rustix::process::setrlimit(rustix::process::Resource::As, limit).unwrap();
    assert!(
        thread::Builder::new().spawn(|| ()).is_err(),
        "the limit did not stop threads"
    );
    println!("threads were refused");

    let doubled = par_map!(|x: u64| x * 2, 0..100_u64; backend = threads, workers = 4);
    assert_eq!(doubled, (0..100).map(|x| x * 2).collect::<Vec<_>>());
    let (a, b) = par_join!(1 + 1, "two".len(); backend = threads);
    assert_eq!((a, b), (2, 3));
    assert_eq!(sum_in_loop(100), 4950);
    // A thread of its own cannot start: the task says why, at once.
    let err = parallel::spawn_thread_named("refused", || 1)
        .join()
        .unwrap_err();
    assert!(
        matches!(err.kind(), parallel::ErrorKind::Refused { message } if message.starts_with("the system refused a thread")),
        "{err}"
    );
    assert_eq!(err.name(), Some("refused"));
    assert!(std::error::Error::source(&err).is_some());
}

/// Python: `threads = [Thread(target=meet, args=(i,)) for i in range(12)]`, each start()ed, then
/// join()ed, where `meet` waits at a `Barrier(12)`: every task needs a thread of its own, more
/// than any pool sized for the cores has.
#[test]
fn twelve_threads_that_meet_at_a_barrier_all_run() {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(12));
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let barrier = std::sync::Arc::clone(&barrier);
            parallel::spawn_thread_named(format!("meet-{i}"), move || {
                barrier.wait();
                (i, thread::current().name().map(str::to_owned))
            })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.join().unwrap(), (i, Some(format!("meet-{i}"))));
    }
}

/// Python: `list(executor.map(f, xs, timeout=0.2))` with one item that never finishes: the
/// others come back, the stuck one as timed out at its index, and the map ends; on an endless
/// input too.
#[test]
fn a_map_deadline_times_out_the_items_not_finished() {
    let pool = parallel::ThreadPool::builder().workers(4).build().unwrap();
    let (release, stuck) = std::sync::mpsc::channel::<()>();
    let stuck = std::sync::Mutex::new(stuck);
    let results: Vec<_> = pool
        .map(
            move |n: u32| {
                if n == 2 {
                    // Held until the test is done with the map (a hang guard past that).
                    let _ = stuck.lock().unwrap().recv_timeout(Duration::from_secs(60));
                }
                n
            },
            0..5,
        )
        .timeout(Duration::from_millis(200))
        .collect();
    release.send(()).unwrap();
    for (n, result) in results.iter().enumerate() {
        if n == 2 {
            let err = result.as_ref().unwrap_err();
            assert!(err.is_timeout(), "{err}");
            assert_eq!(err.index(), Some(2));
        } else {
            assert_eq!(result.as_ref().unwrap(), &(n as u32));
        }
    }
    // An endless input stops being read at the deadline.
    let read = pool
        .map_unordered(|n: u64| n, 0..)
        .timeout(Duration::from_millis(50))
        .count();
    assert!(read > 0);
}
