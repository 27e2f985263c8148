//! The runtime without the macros: `spawn`, pools and their builders, `Task`, `as_completed`.

use std::collections::HashSet;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use parallel::{ErrorKind, RayonPool, Task, ThreadPool, as_completed};

fn threads(workers: i64) -> ThreadPool {
    ThreadPool::builder().workers(workers).build().unwrap()
}

fn checked_square(n: u32) -> u32 {
    assert!(n < 1000, "{n} is too big");
    n * n
}

fn always_fails() -> u8 {
    panic!("always fails")
}

/// The name of the thread running the caller.
fn thread_name() -> String {
    thread::current().name().unwrap_or_default().to_owned()
}

#[test]
fn spawn_runs_in_the_background_and_joins_to_the_value() {
    let (go, wait) = mpsc::channel::<u32>();
    // The task waits for a value sent after `spawn` returns: `spawn` did not run it in place.
    let task = parallel::spawn(move || wait.recv().unwrap() * 2);
    go.send(21).unwrap();
    assert_eq!(task.join().unwrap(), 42);
}

#[test]
fn a_panicking_task_joins_to_an_error_naming_the_function() {
    let err = parallel::spawn(always_fails).join().unwrap_err();
    assert_eq!(err.panic_message(), Some("always fails"));
    assert!(err.name().unwrap().ends_with("always_fails"), "{err}");
    assert_eq!(err.index(), None);
    assert!(err.to_string().contains("panicked: always fails"), "{err}");

    let err = threads(2)
        .spawn(|| -> u8 { panic!("closure failed") })
        .join()
        .unwrap_err();
    assert_eq!(err.name(), None);
    assert_eq!(err.panic_message(), Some("closure failed"));
}

#[test]
fn task_names_come_from_functions() {
    let pool = threads(1);
    assert!(
        pool.spawn(always_fails)
            .name()
            .unwrap()
            .ends_with("always_fails")
    );
    assert_eq!(pool.spawn(|| 1).name(), None);
}

#[test]
fn zero_workers_is_an_error_for_every_builder() {
    let err = ThreadPool::builder().workers(0).build().unwrap_err();
    assert_eq!(err.setting(), "workers");
    assert!(
        err.to_string().starts_with("invalid workers \"0\""),
        "{err}"
    );
    let err = RayonPool::builder().workers(0).build().unwrap_err();
    assert_eq!(err.setting(), "workers");
    assert!(
        err.to_string().starts_with("invalid workers \"0\""),
        "{err}"
    );
}

#[test]
fn builders_size_and_name_their_pools() {
    let cores = parallel::available_cores();
    assert_eq!(threads(-1).workers(), cores);
    assert_eq!(
        ThreadPool::builder().build().unwrap().workers(),
        (cores + 4).min(32)
    );
    assert_eq!(RayonPool::builder().build().unwrap().workers(), cores);

    let fetch = ThreadPool::builder()
        .workers(3)
        .name("fetch")
        .build()
        .unwrap();
    assert_eq!(fetch.workers(), 3);
    let name = fetch.spawn(thread_name).join().unwrap();
    assert!(name.starts_with("fetch-"), "{name}");
    let name = threads(1).spawn(thread_name).join().unwrap();
    assert!(name.starts_with("parallel-threads-"), "{name}");

    let crunch = RayonPool::builder()
        .workers(3)
        .name("crunch")
        .build()
        .unwrap();
    assert_eq!(crunch.workers(), 3);
    assert_eq!(crunch.install(rayon::current_num_threads), 3);
    let name = crunch.spawn(thread_name).join().unwrap();
    assert!(name.starts_with("crunch-"), "{name}");
}

#[test]
fn a_thread_pool_runs_at_most_its_workers_at_once() {
    // The first two tasks wait for each other, so two threads run at once; a third is never
    // started.
    let pool = threads(2);
    let barrier = Arc::new(Barrier::new(2));
    let tasks: Vec<Task<thread::ThreadId>> = (0..10)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            pool.spawn(move || {
                if i < 2 {
                    barrier.wait();
                }
                thread::current().id()
            })
        })
        .collect();
    let ids: HashSet<_> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(ids.len(), 2);
}

#[test]
fn a_rayon_pool_runs_tasks_on_its_own_threads() {
    let pool = RayonPool::builder().workers(2).build().unwrap();
    let inside = pool.spawn(|| (rayon::current_thread_index(), rayon::current_num_threads()));
    let (index, size) = inside.join().unwrap();
    assert!(index.is_some_and(|i| i < 2));
    assert_eq!(size, 2);
}

/// A pool with one worker, held busy until the returned sender sends (or is dropped).
fn busy_pool() -> (ThreadPool, Task<()>, mpsc::Sender<()>) {
    let pool = threads(1);
    let (started_tx, started) = mpsc::channel();
    let (release, wait) = mpsc::channel::<()>();
    let busy = pool.spawn(move || {
        started_tx.send(()).unwrap();
        let _ = wait.recv();
    });
    started.recv().unwrap();
    (pool, busy, release)
}

#[test]
fn join_timeout_times_out_and_cancels_a_task_that_has_not_started() {
    let (pool, busy, release) = busy_pool();
    let ran = Arc::new(AtomicBool::new(false));
    let queued = pool.spawn({
        let ran = Arc::clone(&ran);
        move || ran.store(true, Ordering::SeqCst)
    });
    // The only worker is busy, so `queued` cannot finish in time.
    let err = queued.join_timeout(Duration::from_millis(20)).unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(
        err.kind(),
        &ErrorKind::TimedOut {
            after: Duration::from_millis(20)
        }
    );
    release.send(()).unwrap();
    busy.join().unwrap();
    // The single worker takes tasks in order: once a later task is done, `queued` was reached.
    pool.spawn(|| ()).join().unwrap();
    assert!(
        !ran.load(Ordering::SeqCst),
        "a timed-out task started later"
    );
}

#[test]
fn join_timeout_gives_the_value_of_a_task_that_finishes() {
    let task = threads(1).spawn(|| "quick");
    assert_eq!(task.join_timeout(Duration::from_secs(60)).unwrap(), "quick");
    let err = threads(1)
        .spawn(always_fails)
        .join_timeout(Duration::from_secs(60))
        .unwrap_err();
    assert_eq!(err.panic_message(), Some("always fails"));
}

#[test]
fn wait_timeout_and_is_finished_leave_the_task_running() {
    let (go, wait) = mpsc::channel::<()>();
    let task = threads(1).spawn(move || {
        wait.recv().unwrap();
        7
    });
    assert!(!task.is_finished());
    assert!(!task.wait_timeout(Duration::from_millis(20)));
    assert!(!task.is_finished());
    // Unlike `join_timeout`, waiting did not cancel: the task still completes.
    go.send(()).unwrap();
    assert!(task.wait_timeout(Duration::from_secs(60)));
    assert!(task.is_finished());
    assert_eq!(task.join().unwrap(), 7);
}

#[test]
fn cancel_stops_a_queued_task() {
    let (pool, busy, release) = busy_pool();
    let ran = Arc::new(AtomicBool::new(false));
    let queued = pool.spawn({
        let ran = Arc::clone(&ran);
        move || ran.store(true, Ordering::SeqCst)
    });
    assert!(queued.cancel(), "a queued task counts as not started");
    release.send(()).unwrap();
    busy.join().unwrap();
    assert_eq!(queued.join().unwrap_err().kind(), &ErrorKind::Cancelled);
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn cancel_does_not_stop_a_running_or_finished_task() {
    let pool = threads(1);
    let (started_tx, started) = mpsc::channel();
    let (go, wait) = mpsc::channel::<()>();
    let running = pool.spawn(move || {
        started_tx.send(()).unwrap();
        wait.recv().unwrap();
        "finished"
    });
    started.recv().unwrap();
    assert!(
        !running.cancel(),
        "cancel claims that a running task had not started"
    );
    go.send(()).unwrap();
    assert_eq!(running.join().unwrap(), "finished");

    let done = pool.spawn(|| 1);
    assert!(done.wait_timeout(Duration::from_secs(60)));
    assert!(!done.cancel());
    assert_eq!(done.join().unwrap(), 1);
}

#[test]
fn dropping_a_task_detaches_it() {
    let (tx, rx) = mpsc::channel();
    drop(threads(1).spawn(move || tx.send("still ran").unwrap()));
    assert_eq!(rx.recv().unwrap(), "still ran");
}

/// Wakes the thread that blocks on a future, counting the wakes.
struct Unpark {
    thread: Thread,
    wakes: AtomicUsize,
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        self.thread.unpark();
    }
}

/// Runs `future` to completion on this thread, polling again only after its waker was woken.
/// Returns the output and how many times the waker was woken.
fn block_on<F: Future>(future: F) -> (F::Output, usize) {
    let mut future = std::pin::pin!(future);
    let unpark = Arc::new(Unpark {
        thread: thread::current(),
        wakes: AtomicUsize::new(0),
    });
    let waker = Waker::from(Arc::clone(&unpark));
    let mut cx = Context::from_waker(&waker);
    loop {
        let seen = unpark.wakes.load(Ordering::SeqCst);
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return (output, unpark.wakes.load(Ordering::SeqCst));
        }
        // Park until a wake; a safety net turns a lost wake into a failure instead of a hang.
        let deadline = Instant::now() + Duration::from_secs(60);
        while unpark.wakes.load(Ordering::SeqCst) == seen {
            assert!(Instant::now() < deadline, "the future was never woken");
            thread::park_timeout(Duration::from_secs(1));
        }
    }
}

/// Pending once, without arranging a wake: the next poll comes only from another wake.
struct PendingOnce(bool);

impl Future for PendingOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            Poll::Pending
        }
    }
}

#[test]
fn a_task_is_a_future_that_wakes_its_waker_when_done() {
    let (go, wait) = mpsc::channel::<()>();
    let mut task = threads(1).spawn(move || {
        wait.recv().unwrap();
        "awaited"
    });
    let (value, wakes) = block_on(async move {
        let pending = poll_fn(|cx| Poll::Ready(Pin::new(&mut task).poll(cx).is_pending())).await;
        assert!(pending, "the task finished before its gate opened");
        go.send(()).unwrap();
        // Only the task's completion wakes this future again.
        PendingOnce(false).await;
        task.await
    });
    assert_eq!(value.unwrap(), "awaited");
    assert_eq!(wakes, 1);
}

#[test]
fn awaiting_tasks_gives_their_results() {
    let pool = RayonPool::builder().workers(2).build().unwrap();
    let a = pool.spawn(|| 40);
    let b = parallel::spawn(|| 2);
    let failed = threads(1).spawn(always_fails);
    let ((sum, err), _) = block_on(async {
        let sum = a.await.unwrap() + b.await.unwrap();
        (sum, failed.await.unwrap_err())
    });
    assert_eq!(sum, 42);
    assert_eq!(err.panic_message(), Some("always fails"));
}

#[test]
fn as_completed_yields_each_task_as_it_finishes_with_its_error() {
    // Python's `for future in as_completed(futures)`: task 0 is held until the others are seen.
    let pool = threads(4);
    let (go, wait) = mpsc::channel::<()>();
    let mut tasks = vec![pool.spawn(move || {
        wait.recv().unwrap();
        checked_square(3)
    })];
    tasks.extend([2, 5000, 4].map(|n| pool.spawn(move || checked_square(n))));
    let mut done = as_completed(tasks);
    let mut first_three: Vec<(usize, Result<u32, String>)> = done
        .by_ref()
        .take(3)
        .map(|(index, result)| {
            (
                index,
                result.map_err(|e| e.panic_message().unwrap().to_owned()),
            )
        })
        .collect();
    first_three.sort_by_key(|(index, _)| *index);
    assert_eq!(
        first_three,
        [
            (1, Ok(4)),
            (2, Err("5000 is too big".to_owned())),
            (3, Ok(16))
        ]
    );
    go.send(()).unwrap();
    let (index, result) = done.next().unwrap();
    assert_eq!((index, result.unwrap()), (0, 9));
    assert!(done.next().is_none());
}

#[test]
fn thread_pool_maps_in_order_and_unordered() {
    let pool = threads(3);
    let results: Vec<_> = pool.map(checked_square, [1, 2000, 3]).collect();
    assert_eq!(results[0].as_ref().unwrap(), &1);
    let err = results[1].as_ref().unwrap_err();
    assert_eq!(err.index(), Some(1));
    assert!(err.name().unwrap().ends_with("checked_square"));
    assert_eq!(err.panic_message(), Some("2000 is too big"));
    assert_eq!(results[2].as_ref().unwrap(), &9);

    let mut unordered: Vec<(usize, u32)> = pool
        .map_unordered(checked_square, 0..20)
        .map(|(index, result)| (index, result.unwrap()))
        .collect();
    unordered.sort_unstable();
    assert_eq!(
        unordered,
        (0..20).map(|n| (n as usize, n * n)).collect::<Vec<_>>()
    );
}

#[test]
fn a_task_queued_behind_a_waiting_one_still_gets_a_thread() {
    // Task `a` waits for task `b`, spawned right after it on a pool of two. `b` must get the
    // second thread even when `a` is handed to the idle first thread at that very moment. The
    // race window is nanoseconds wide, so this repeats; it caught a pool that left `b` queued
    // about once in 5,000 rounds. The timeout only turns such a hang into a failure.
    for round in 0..10_000 {
        let pool = threads(2);
        pool.spawn(|| ()).join().unwrap(); // one thread started, and idle
        let (tx, rx) = mpsc::channel::<()>();
        let a = pool.spawn(move || rx.recv_timeout(Duration::from_secs(10)).is_ok());
        let b = pool.spawn(move || tx.send(()).unwrap());
        assert!(
            a.join().unwrap(),
            "round {round}: `b` never ran while `a` waited for it"
        );
        b.join().unwrap();
    }
}
