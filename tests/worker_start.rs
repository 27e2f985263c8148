//! How worker processes start and end, watched from outside: this test has its own `main`
//! (`harness = false`), and runs itself again as the program under test, whose `main` logs a
//! line each time it runs. A worker must never run `main`; an ordinary start must never become
//! a worker, whatever the environment says; no process of a program outlives it; workers start
//! from the very executable the program runs, even once its file is deleted or replaced; a pool
//! that cannot start a worker goes on with those it has; a worker killed as it starts is a
//! worker that died.
//!
//! Run it alone with `cargo test --test worker_start`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use parallel::{ErrorKind, ProcessPool, WorkerExit, par_map, parallel};

const ROLE: &str = "PARALLEL_TEST_ROLE";
const LOG: &str = "PARALLEL_TEST_LOG";
const MARK: &str = "PARALLEL_TEST_MARK";
const PROGRAM: &str = "PARALLEL_TEST_PROGRAM";

fn main() {
    match std::env::var(ROLE) {
        Ok(role) => program(&role),
        Err(_) => checks(),
    }
}

// ---------------------------------------------------------------------------------------------
// The program under test.

#[parallel]
fn square(n: u64) -> u64 {
    n * n
}

#[parallel]
fn pid(_: u32) -> u32 {
    std::process::id()
}

/// Aborts the first time it runs for `marker` (a file it creates), succeeds after.
#[parallel]
fn abort_once(marker: String, n: u32) -> u32 {
    if !marker.is_empty() && std::fs::metadata(&marker).is_err() {
        std::fs::write(&marker, b"").unwrap();
        std::process::abort();
    }
    n
}

#[parallel]
fn abort_if(yes: bool) -> u32 {
    if yes {
        std::process::abort();
    }
    1
}

fn program(role: &str) {
    if let Ok(log) = std::env::var(LOG) {
        append(Path::new(&log), &format!("main {}\n", std::process::id()));
    }
    match role {
        "map" => {
            let squares = par_map!(square, 0..4u64; backend = process, workers = 8);
            assert_eq!(squares, [0, 1, 4, 9]);
            println!("done");
        }
        // Starts 8 workers and returns while they start.
        "exit-while-starting" => {
            let _pool = ProcessPool::builder().workers(8).build().unwrap();
        }
        "sleep" => {
            let _pool = ProcessPool::builder().workers(8).build().unwrap();
            std::thread::sleep(Duration::from_secs(60));
        }
        "deleted" | "replaced" => survives_its_executable(role),
        "cannot-grow" => goes_on_without_a_new_worker(),
        "die-at-start" => dead_starts_are_dead_workers(),
        other => panic!("no role {other}"),
    }
}

/// The program's file is deleted or replaced while it runs: its pools go on, and new ones start.
fn survives_its_executable(how: &str) {
    let path = std::env::var(PROGRAM).unwrap();
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    let before: Vec<u32> = pool.map(pid, 0..2).map(Result::unwrap).collect();
    assert_eq!(before.len(), 2);
    if how == "deleted" {
        std::fs::remove_file(&path).unwrap();
    } else {
        let other = format!("{path}.new");
        std::fs::write(&other, "#!/bin/sh\nexit 3\n").unwrap();
        std::fs::rename(&other, &path).unwrap();
    }
    // A crash: the worker is replaced from the program's own image.
    let results: Vec<_> = pool.map(abort_if, [false, true, false]).collect();
    assert_eq!(
        results[1].as_ref().unwrap_err().kind(),
        &ErrorKind::WorkerDied {
            exit: WorkerExit::Signal(6)
        }
    );
    let calls: Vec<u64> = pool.map(square, 0..100).map(Result::unwrap).collect();
    assert_eq!(calls[99], 99 * 99);
    let fresh = ProcessPool::builder().workers(2).build().unwrap();
    assert_eq!(fresh.spawn(square, (7,)).join().unwrap(), 49);
    println!("ok");
}

/// No process can start (the program's descriptors are used up): the pool goes on with the
/// worker it has, says why once, and fails calls only when it has no worker left.
fn goes_on_without_a_new_worker() {
    let pool = ProcessPool::builder().workers(2).build().unwrap();
    wait_for_children(2);
    let refusing = refuse_new_descriptors();
    // One worker dies and cannot be replaced: the other runs every other call.
    let results: Vec<_> = pool
        .map(abort_if, (0..50).map(|i| i == 10))
        .chunk(1)
        .collect();
    for (index, result) in results.iter().enumerate() {
        match index {
            10 => assert!(matches!(
                result.as_ref().unwrap_err().kind(),
                ErrorKind::WorkerDied { .. }
            )),
            _ => assert_eq!(result.as_ref().unwrap(), &1),
        }
    }
    // The last worker dies: now calls fail, with the system's error.
    let results: Vec<_> = pool.map(abort_if, [true, false, false]).chunk(1).collect();
    assert!(results[0].is_err());
    let err = results[2].as_ref().unwrap_err();
    match err.kind() {
        ErrorKind::Refused { message } => {
            assert!(
                message.contains("could not start a worker process"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let source = std::error::Error::source(err).expect("the system's error is the source");
    assert!(
        source.to_string().contains("Too many open files"),
        "{source}"
    );
    drop(refusing);
    // Descriptors free again: the pool starts workers again.
    let squares: Vec<u64> = pool.map(square, 0..10).map(Result::unwrap).collect();
    assert_eq!(squares[9], 81);
    println!("ok");
}

/// Waits at most 10 s for this process to have `count` live children (a pool's workers start
/// as it is built; a dropped pool's drivers reap theirs).
fn wait_for_children(count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let children = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .filter(|&pid| parent_of(pid) == Some(std::process::id()) && !is_zombie(pid))
            .count();
        if (count == 0 && children == 0) || (count > 0 && children >= count) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{children} of {count} workers started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Makes the system refuse every new descriptor of this process (a socket pair for a new
/// worker, among them), until the returned guard is dropped. Descriptors already open keep
/// working.
fn refuse_new_descriptors() -> impl Drop {
    use rustix::process::{Resource, getrlimit, setrlimit};
    struct Restore(rustix::process::Rlimit);
    impl Drop for Restore {
        fn drop(&mut self) {
            setrlimit(Resource::Nofile, self.0).unwrap();
        }
    }
    let before = getrlimit(Resource::Nofile);
    let mut lowered = before;
    // A new descriptor takes the lowest free number, at least 3 with the standard streams open.
    lowered.current = Some(3);
    setrlimit(Resource::Nofile, lowered).unwrap();
    Restore(before)
}

/// Workers killed as they start count as workers that died in the call they were to run.
fn dead_starts_are_dead_workers() {
    let dir = token_dir(std::process::id());
    let pool = ProcessPool::builder()
        .workers(1)
        .retries(3)
        .build()
        .unwrap();
    assert_eq!(pool.spawn(square, (2,)).join().unwrap(), 4);
    let marker = std::env::temp_dir().join(format!("parallel-dead-start-{}", std::process::id()));
    let marker = marker.display().to_string();
    // Call 0 crashes its worker; the next two workers are killed as they start; with three
    // retries, the fourth run of call 0 succeeds.
    make_tokens(&dir, 2);
    let items = (0..10).map(|n| {
        (
            if n == 0 {
                marker.clone()
            } else {
                String::new()
            },
            n,
        )
    });
    let results: Vec<u32> = pool
        .map(abort_once_pair, items)
        .chunk(1)
        .map(Result::unwrap)
        .collect();
    assert_eq!(results, (0..10).collect::<Vec<_>>());
    assert_eq!(tokens_left(&dir), 0);
    // With two retries, the second start death is the last straw: its exit is the cause.
    std::fs::remove_file(&marker).unwrap();
    let pool = ProcessPool::builder()
        .workers(1)
        .retries(2)
        .build()
        .unwrap();
    assert_eq!(pool.spawn(square, (3,)).join().unwrap(), 9);
    make_tokens(&dir, 2);
    let items = (0..10).map(|n| {
        (
            if n == 0 {
                marker.clone()
            } else {
                String::new()
            },
            n,
        )
    });
    let results: Vec<_> = pool.map(abort_once_pair, items).chunk(1).collect();
    assert_eq!(
        results[0].as_ref().unwrap_err().kind(),
        &ErrorKind::WorkerDied {
            exit: WorkerExit::Signal(9)
        }
    );
    for (n, result) in results.iter().enumerate().skip(1) {
        assert_eq!(result.as_ref().unwrap(), &(n as u32));
    }
    let _ = std::fs::remove_file(&marker);
    let _ = std::fs::remove_dir_all(&dir);
    println!("ok");
}

#[parallel]
fn abort_once_pair(item: (String, u32)) -> u32 {
    abort_once(item.0, item.1)
}

fn token_dir(parent: u32) -> PathBuf {
    std::env::temp_dir().join(format!("parallel-test-{parent}-die-at-start"))
}

fn make_tokens(dir: &Path, count: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for n in 0..count {
        std::fs::write(dir.join(format!("token-{n}")), b"").unwrap();
    }
}

fn tokens_left(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| entries.count())
}

/// Runs in every process of this executable before the runtime's own entry (an `.init_array`
/// entry of a lower priority runs first). In a worker whose parent left tokens, it takes one and
/// kills its own process: a worker killed while it starts, at a moment no test could time.
extern "C" fn die_at_start() {
    let Some(parent) = std::env::var_os("PARALLEL_WORKER") else {
        return;
    };
    let Some(parent) = parent.to_str().and_then(|p| p.parse::<u32>().ok()) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(token_dir(parent)) else {
        return;
    };
    for entry in entries.flatten() {
        if std::fs::remove_file(entry.path()).is_ok() {
            let me = rustix::process::getpid();
            let _ = rustix::process::kill_process(me, rustix::process::Signal::KILL);
        }
    }
}

#[used]
// SAFETY: `.init_array.*` holds pointers to functions the loader calls with no arguments before
// `main`; `die_at_start` has the C ABI, ignores extra arguments and cannot unwind (it only reads
// the environment and a directory, and removes a file).
#[unsafe(link_section = ".init_array.00090")]
static DIE_AT_START: extern "C" fn() = die_at_start;

// ---------------------------------------------------------------------------------------------
// The checks.

fn checks() {
    let checks: [(&str, fn()); 8] = [
        ("a worker never runs main", a_worker_never_runs_main),
        (
            "PARALLEL_WORKER set by a user does not make a worker",
            the_variable_alone_does_not_make_a_worker,
        ),
        (
            "no process is left when the parent is killed as it starts its workers",
            no_process_outlives_a_parent_killed_early,
        ),
        (
            "no process is left when a program exits while its workers start",
            no_process_outlives_a_program_that_exits_early,
        ),
        (
            "workers start after the executable is deleted or replaced",
            workers_start_from_the_running_executable,
        ),
        (
            "a pool that cannot start a process goes on with its workers",
            a_pool_goes_on_when_it_cannot_grow,
        ),
        (
            "a worker killed as it starts is a dead worker",
            a_worker_killed_as_it_starts_is_a_dead_worker,
        ),
        (
            "pools built, used and dropped leave nothing behind",
            pools_leave_nothing_behind,
        ),
    ];
    // As libtest reads them: names to run (substrings), `--skip NAME`, other flags ignored.
    let (mut filter, mut skip) = (Vec::new(), Vec::new());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--skip" => skip.extend(args.next()),
            flag if flag.starts_with('-') => {}
            name => filter.push(name.to_owned()),
        }
    }
    let mut ran = 0;
    for (name, check) in checks {
        let wanted = filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
        if !wanted || skip.iter().any(|s| name.contains(s.as_str())) {
            continue;
        }
        let started = Instant::now();
        check();
        println!("ok: {name} ({:.1?})", started.elapsed());
        ran += 1;
    }
    println!("{ran} checks passed");
}

/// A fresh run of the program: its own marker, so that every process it starts can be found.
struct Run {
    mark: String,
    log: PathBuf,
}

impl Run {
    fn new(name: &str) -> Run {
        let mark = format!("{name}-{}-{}", std::process::id(), nanos());
        let log = std::env::temp_dir().join(format!("parallel-{mark}.log"));
        Run { mark, log }
    }

    fn command(&self, role: &str) -> Command {
        self.command_of(&std::env::current_exe().unwrap(), role)
    }

    fn command_of(&self, program: &Path, role: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env(ROLE, role)
            .env(LOG, &self.log)
            .env(MARK, &self.mark)
            .env_remove("PARALLEL_WORKER")
            .stdin(Stdio::null());
        command
    }

    /// How many times `main` ran.
    fn mains(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.starts_with("main "))
            .count()
    }

    /// Waits at most `limit` for every process of this run to be gone; the ones left.
    fn left_after(&self, limit: Duration) -> Vec<u32> {
        let deadline = Instant::now() + limit;
        loop {
            let left = processes_marked(&self.mark);
            if left.is_empty() || Instant::now() >= deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

fn succeeded(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}\n{stdout}\n{stderr}",
        output.status
    );
    stdout
}

fn a_worker_never_runs_main() {
    let run = Run::new("main");
    for _ in 0..10 {
        let output = run.command("map").output().unwrap();
        assert!(succeeded(&output).contains("done"));
    }
    assert_eq!(run.mains(), 10, "a worker ran main");
    assert_eq!(run.left_after(Duration::from_secs(1)), Vec::<u32>::new());
}

fn the_variable_alone_does_not_make_a_worker() {
    let run = Run::new("variable");
    // Set to this process, the program's parent, and to the init process.
    for value in [std::process::id().to_string(), "1".to_owned()] {
        let output = run
            .command("map")
            .env("PARALLEL_WORKER", &value)
            .output()
            .unwrap();
        assert!(
            succeeded(&output).contains("done"),
            "PARALLEL_WORKER={value}"
        );
    }
    assert_eq!(run.mains(), 2);
}

fn no_process_outlives_a_parent_killed_early() {
    let run = Run::new("killed");
    let mut random = nanos();
    let starts = 20;
    for _ in 0..starts {
        // 0 to 50 ms: before, during and after the workers start.
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        let delay = Duration::from_micros(random % 50_000);
        let mut child = run.command("sleep").spawn().unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let left = run.left_after(Duration::from_secs(1));
    assert!(left.is_empty(), "still running 1 s later: {left:?}");
    assert!(
        run.mains() <= starts,
        "a worker ran main: {} mains",
        run.mains()
    );
}

fn no_process_outlives_a_program_that_exits_early() {
    let run = Run::new("exits");
    for _ in 0..10 {
        let output = run.command("exit-while-starting").output().unwrap();
        succeeded(&output);
    }
    let left = run.left_after(Duration::from_secs(1));
    assert!(left.is_empty(), "still running 1 s later: {left:?}");
    assert_eq!(run.mains(), 10, "a worker ran main");
}

fn workers_start_from_the_running_executable() {
    for how in ["deleted", "replaced"] {
        let run = Run::new(how);
        let copy = std::env::temp_dir().join(format!("parallel-{}-program", run.mark));
        std::fs::copy(std::env::current_exe().unwrap(), &copy).unwrap();
        let output = run
            .command_of(&copy, how)
            .env(PROGRAM, &copy)
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&copy);
        assert!(succeeded(&output).contains("ok"), "{how}");
        assert_eq!(run.mains(), 1, "{how}: a worker ran main");
    }
}

fn a_pool_goes_on_when_it_cannot_grow() {
    let run = Run::new("grow");
    let output = run.command("cannot-grow").output().unwrap();
    assert!(succeeded(&output).contains("ok"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings = stderr
        .matches("could not start a worker process (Too many open files")
        .count();
    assert_eq!(warnings, 1, "{stderr}");
    assert!(
        stderr.contains("goes on with 1 of its 2 workers"),
        "{stderr}"
    );
}

fn a_worker_killed_as_it_starts_is_a_dead_worker() {
    let run = Run::new("dead-start");
    let output = run.command("die-at-start").output().unwrap();
    assert!(succeeded(&output).contains("ok"));
}

#[parallel]
fn sleep_ms(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// What this process holds: open descriptors, threads, children, and zombie children.
#[derive(Debug, PartialEq)]
struct Held {
    descriptors: usize,
    threads: usize,
    children: usize,
    zombies: usize,
}

fn held() -> Held {
    let me = std::process::id();
    let children: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| parent_of(pid) == Some(me))
        .collect();
    Held {
        descriptors: std::fs::read_dir("/proc/self/fd").unwrap().count(),
        threads: std::fs::read_dir("/proc/self/task").unwrap().count(),
        children: children.len(),
        zombies: children.iter().filter(|&&pid| is_zombie(pid)).count(),
    }
}

/// Pools built, used and dropped, ten times over: whole maps, maps dropped half-way, calls that
/// time out, workers that crash, tasks left unjoined. Once their drivers have finished, this
/// process holds what it held before. (The first pool of a program opens the program's own
/// image, once, to start workers from; the measure starts after that.)
fn pools_leave_nothing_behind() {
    let first = ProcessPool::builder().workers(1).build().unwrap();
    assert_eq!(first.spawn(square, (3,)).join().unwrap(), 9);
    drop(first);
    wait_for_children(0);
    let before = held();
    for _ in 0..10 {
        let pool = ProcessPool::builder().workers(3).build().unwrap();
        let squares: Vec<u64> = pool.map(square, 0..1_000).map(Result::unwrap).collect();
        assert_eq!(squares[999], 999 * 999);
        // Dropped half-way, with calls in flight.
        let mut map = pool.map(square, 0..100_000).chunk(10);
        assert_eq!(map.nth(10).unwrap().unwrap(), 100);
        drop(map);
        // Crashes replace workers.
        let crashed: Vec<_> = pool.map(abort_if, [false, true, false]).collect();
        assert!(crashed[1].is_err());
        // A task never joined, still running when its pool is dropped.
        let _detached = pool.spawn(sleep_ms, (20,));
        drop(pool);
        // A timeout kills a worker.
        let timed = ProcessPool::builder()
            .workers(2)
            .timeout(Duration::from_millis(50))
            .build()
            .unwrap();
        let late: Vec<_> = timed.map(sleep_ms, [1, 10_000, 1]).collect();
        assert!(late[1].as_ref().unwrap_err().is_timeout());
    }
    // The drivers end their workers and exit once the pools are gone.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = held();
        if now == before {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{now:?}, where {before:?} before"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The processes whose environment holds `PARALLEL_TEST_MARK=mark`, other than this one.
fn processes_marked(mark: &str) -> Vec<u32> {
    let needle = format!("{MARK}={mark}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || is_zombie(pid) {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        if environ
            .split(|&b| b == 0)
            .any(|var| var == needle.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state == "Z")
    })
}

fn append(path: &Path, line: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    file.write_all(line.as_bytes()).unwrap();
}

fn nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1
}
